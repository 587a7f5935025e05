#include "ckernels.h"
#include "bf16_pairs.h"

// The Winograd layers' products, C = A·B, with A (the transformed weights) packed once and B (the
// transformed inputs) written by the input transform straight in strips of 16 columns, each k × 16
// contiguous: no packing of B per call and no pass to clear C, which OpenBLAS spends 15–20% of a
// width-16 network in. Blocks of 6 rows × 16 columns keep twelve 8-float sums in registers; a strip
// stays in L1 while every block of rows passes over it, its loads sequential whatever k is.

enum { ROWS = 6, COLUMNS = UNET_STRIP_GEMM_COLUMNS };

int64_t unet_strip_gemm_packed_floats(int64_t m, int64_t k) { return (m + ROWS - 1) / ROWS * ROWS * k; }

void unet_strip_gemm_pack(const float *a, int64_t m, int64_t k, float *packed) {
    for (int64_t block = 0; block < (m + ROWS - 1) / ROWS; block++)
        for (int64_t p = 0; p < k; p++)
            for (int64_t r = 0; r < ROWS; r++) {
                const int64_t row = block * ROWS + r;
                packed[(block * k + p) * ROWS + r] = row < m ? a[row * k + p] : 0;
            }
}

#if defined(__x86_64__)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VL 8
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#define VEC __m256
#define ZERO _mm256_setzero_ps
#define LOAD _mm256_loadu_ps
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#include "strip_gemm_fp32.inc"
#define VL 16
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,fma")))
#define VEC __m512
#define ZERO _mm512_setzero_ps
#define LOAD _mm512_loadu_ps
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#include "strip_gemm_fp32.inc"
#undef CAT
#undef CAT_

static __attribute__((target("avx2,fma"))) void strip_gemm_avx2(const float *packed, int64_t m, int64_t k, const float *b,
                                                                 int64_t strips, float *c, int64_t ldc) {
    const int64_t blocks = (m + ROWS - 1) / ROWS;
    for (int64_t s = 0; s < strips; s++)
        for (int64_t block = 0; block < blocks; block++) {
            const int64_t rows = m - block * ROWS < ROWS ? m - block * ROWS : ROWS;
            const float *strip = b + s * k * COLUMNS;
            block_avx2(packed + block * k * ROWS, strip, strip + 8, k, c + block * ROWS * ldc + s * COLUMNS, ldc, rows);
        }
}

static __attribute__((target("avx512f,fma"))) void strip_gemm_avx512(const float *packed, int64_t m, int64_t k, const float *b,
                                                                      int64_t strips, float *c, int64_t ldc) {
    const int64_t blocks = (m + ROWS - 1) / ROWS;
    for (int64_t s = 0; s + 1 < strips; s += 2)
        for (int64_t block = 0; block < blocks; block++) {
            const int64_t rows = m - block * ROWS < ROWS ? m - block * ROWS : ROWS;
            const float *strip = b + s * k * COLUMNS;
            block_avx512(packed + block * k * ROWS, strip, strip + k * COLUMNS, k, c + block * ROWS * ldc + s * COLUMNS, ldc, rows);
        }
    if (strips % 2) strip_gemm_avx2(packed, m, k, b + (strips - 1) * k * COLUMNS, 1, c + (strips - 1) * COLUMNS, ldc);
}
#endif

int unet_strip_gemm(int avx512, const float *packed, int64_t m, int64_t k, const float *b, int64_t strips, float *c, int64_t ldc) {
#if defined(__x86_64__)
    if (avx512) strip_gemm_avx512(packed, m, k, b, strips, c, ldc);
    else strip_gemm_avx2(packed, m, k, b, strips, c, ldc);
    return 1;
#else
    (void)avx512, (void)packed, (void)m, (void)k, (void)b, (void)strips, (void)c, (void)ldc;
    return 0;
#endif
}

// bf16 pairs (strip_gemm_bf16.inc): the portable emulation everywhere, the instruction on x86-64.
#define SUFFIX portable_bf16
#define TARGET
#define DOT2 DOT2_PORTABLE
#include "strip_gemm_bf16.inc"

#if defined(__x86_64__)
#define SUFFIX avx512bf16
#define TARGET __attribute__((target("avx512f,avx512bf16")))
#define DOT2 DOT2_AVX512BF16
#include "strip_gemm_bf16.inc"
#endif

enum { BF16_ROWS = 8 };  // strip_gemm_bf16.inc's OB: rows per block of packed A

int64_t unet_strip_gemm_bf16_packed_words(int64_t m, int64_t k) { return (m + BF16_ROWS - 1) / BF16_ROWS * BF16_ROWS * ((k + 1) / 2); }

// Two strips (the .inc's NV) of k/2 pairs.
int64_t unet_strip_gemm_bf16_scratch_words(int64_t k) { return (k + 1) / 2 * 2 * UNET_STRIP_GEMM_COLUMNS; }

void unet_strip_gemm_bf16_pack(const float *a, int64_t m, int64_t k, uint32_t *packed) {
    const int64_t pair_count = (k + 1) / 2;
    for (int64_t block = 0; block < (m + BF16_ROWS - 1) / BF16_ROWS; block++)
        for (int64_t p = 0; p < pair_count; p++)
            for (int64_t r = 0; r < BF16_ROWS; r++) {
                const int64_t row = block * BF16_ROWS + r;
                uint32_t pair = 0;
                if (row < m) {
                    pair = bf16_bits(a[row * k + 2 * p]);
                    if (2 * p + 1 < k) pair |= bf16_bits(a[row * k + 2 * p + 1]) << 16;
                }
                packed[(block * pair_count + p) * BF16_ROWS + r] = pair;
            }
}

void unet_strip_gemm_bf16(int native, const uint32_t *packed, int64_t m, int64_t k, const float *b, int64_t strips, float *c,
                          int64_t ldc, uint32_t *scratch) {
#if defined(__x86_64__)
    if (native) {
        strip_gemm_bf16_avx512bf16(packed, m, k, b, strips, c, ldc, scratch);
        return;
    }
#endif
    (void)native;
    strip_gemm_bf16_portable_bf16(packed, m, k, b, strips, c, ldc, scratch);
}
