// What the bf16-pair kernels share (conv3x3.c, strip_gemm.c): rounding to bf16, and the pair dot
// product of AVX-512 BF16's `vdpbf16ps` as the instruction and as its portable emulation. Internal to
// CKernels (not in include/).
#ifndef BF16_PAIRS_H
#define BF16_PAIRS_H
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// fp32 → bf16 bits (in the low half), round to nearest even (NaN kept a quiet NaN), as PyTorch's
/// `.to(torch.bfloat16)`. A select, not a branch, so that a row of them vectorises.
static inline __attribute__((always_inline)) uint32_t bf16_bits(float value) {
    uint32_t bits;
    __builtin_memcpy(&bits, &value, sizeof bits);
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16, quieted = (bits >> 16) | 0x0040u;
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? quieted : rounded;
}

/// fp32 → nearest bf16, kept in fp32: `bf16_bits` widened back, as Swift's `BFloat16.rounded`.
static inline __attribute__((always_inline)) float bf16_rounded(float value) {
    const uint32_t bits = bf16_bits(value) << 16;
    float rounded;
    __builtin_memcpy(&rounded, &bits, sizeof rounded);
    return rounded;
}

/// acc + hi(x)·hi(w) + lo(x)·lo(w) on vectors of pairs, in the instruction's order; each product of two
/// bf16 values is exact in fp32. (VEC: the including template's fp32 vector type.)
#define DOT2_PORTABLE(acc, x, w) \
    (((acc) + (VEC)((x) & 0xFFFF0000u) * (VEC)((w) & 0xFFFF0000u)) + (VEC)((x) << 16) * (VEC)((w) << 16))
/// The instruction itself (16 lanes).
#define DOT2_AVX512BF16(acc, x, w) ((VEC)_mm512_dpbf16_ps((__m512)(acc), (__m512bh)(x), (__m512bh)(w)))

#endif
