#include "ckernels.h"
#include "bf16_pairs.h"

// One instantiation of conv3x3_direct.inc per path. Block shapes measured on 2-core Zen (AVX2):
// 4 channels × 2 vectors (OB × NV) was best or within noise of the best (6 × 2 at 64 channels) against
// 4 × 3, 6 × 2, 3 × 4, 8 × 1 and 2 × 4 on 16–64-channel layers. AVX-512 doubles the channels, within its 32 registers. The portable 16-lane copy has no
// target attribute: it is the AVX-512 block logic compiled for any CPU, so tests check it everywhere.
#define VL 16
#define OB 8
#define NV 2
#define SUFFIX portable16
#define TARGET
#include "conv3x3_direct.inc"

#if defined(__x86_64__)
#define VL 8
#define OB 4
#define NV 2
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "conv3x3_direct.inc"

#define VL 16
#define OB 8
#define NV 2
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,fma")))
#include "conv3x3_direct.inc"
#endif

// bf16 pairs (conv3x3_bf16.inc): the portable emulation everywhere, the instruction on x86-64. On Zen 4,
// 8 channels × 2 vectors measured best: 3 and 4 vectors ran 7% and 25% slower (width 16, 512² tile).
#define VL 16
#define OB 8
#define NV 2
#define SUFFIX portable_bf16
#define TARGET
#define DOT2 DOT2_PORTABLE
#include "conv3x3_bf16.inc"

#if defined(__x86_64__)
#define VL 16
#define OB 8
#define NV 2
#define SUFFIX avx512bf16
#define TARGET __attribute__((target("avx512f,avx512bf16")))
#define DOT2 DOT2_AVX512BF16
#include "conv3x3_bf16.inc"
#endif

int unet_conv3x3_block_channels(int path) { return path == UNET_CONV_AVX2 ? 4 : 8; }

/// Zeroes one padded pair plane's border: rows 0 and height + 1, column 0 and the columns past width.
static inline __attribute__((always_inline)) void zero_pair_border(uint32_t *target, int64_t stride, int64_t height,
                                                                   int64_t width) {
    __builtin_memset(target, 0, (size_t)stride * sizeof *target);
    __builtin_memset(target + (height + 1) * stride, 0, (size_t)stride * sizeof *target);
    for (int64_t y = 1; y <= height; y++) {
        target[y * stride] = 0;
        __builtin_memset(target + y * stride + width + 1, 0, (size_t)(stride - width - 1) * sizeof *target);
    }
}

/// Fills pairs [pair_begin, pair_end): zero borders, then each row's pixels as bf16 pairs. Inlined into
/// a portable and an AVX-512 copy; both give the same bits.
static inline __attribute__((always_inline)) void
pad_bf16_pairs(const float *input, int64_t channels, int64_t height, int64_t width, uint32_t *padded, int64_t stride,
               int64_t pair_begin, int64_t pair_end) {
    const int64_t plane = stride * (height + 2);
    for (int64_t p = pair_begin; p < pair_end; p++) {
        uint32_t *target = padded + p * plane;
        const float *low = input + 2 * p * height * width;
        const float *high = 2 * p + 1 < channels ? low + height * width : 0;
        zero_pair_border(target, stride, height, width);
        for (int64_t y = 0; y < height; y++) {
            uint32_t *row = target + (y + 1) * stride;
            const float *lows = low + y * width;
            if (high) {
                const float *highs = high + y * width;
                for (int64_t x = 0; x < width; x++) row[x + 1] = bf16_bits(lows[x]) | bf16_bits(highs[x]) << 16;
            } else {
                for (int64_t x = 0; x < width; x++) row[x + 1] = bf16_bits(lows[x]);
            }
        }
    }
}

static void pad_bf16_pairs_portable(const float *input, int64_t channels, int64_t height, int64_t width, uint32_t *padded,
                                    int64_t stride, int64_t pair_begin, int64_t pair_end) {
    pad_bf16_pairs(input, channels, height, width, padded, stride, pair_begin, pair_end);
}

#if defined(__x86_64__)
static __attribute__((target("avx512f,avx512bw"))) void
pad_bf16_pairs_avx512(const float *input, int64_t channels, int64_t height, int64_t width, uint32_t *padded,
                      int64_t stride, int64_t pair_begin, int64_t pair_end) {
    pad_bf16_pairs(input, channels, height, width, padded, stride, pair_begin, pair_end);
}
#endif

void unet_conv3x3_pad_bf16_pairs(int path, const float *input, int64_t channels, int64_t height, int64_t width,
                                 uint32_t *padded, int64_t stride, int64_t pair_begin, int64_t pair_end) {
#if defined(__x86_64__)
    if (path == UNET_CONV_AVX512_BF16) {
        pad_bf16_pairs_avx512(input, channels, height, width, padded, stride, pair_begin, pair_end);
        return;
    }
#endif
    pad_bf16_pairs_portable(input, channels, height, width, padded, stride, pair_begin, pair_end);
}

void unet_conv3x3_zero_pair_borders(uint32_t *padded, int64_t stride, int64_t height, int64_t width, int64_t pair_begin,
                                    int64_t pair_end) {
    for (int64_t p = pair_begin; p < pair_end; p++) zero_pair_border(padded + p * stride * (height + 2), stride, height, width);
}

void unet_conv3x3_pack_weights_bf16_pairs(const float *weights, int64_t out_channels, int64_t in_channels, uint32_t *packed) {
    const int64_t block = 8, blocks = (out_channels + block - 1) / block, pairs = (in_channels + 1) / 2;
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t p = 0; p < pairs; p++)
            for (int64_t tap = 0; tap < 9; tap++)
                for (int64_t j = 0; j < block; j++) {
                    const int64_t o = b * block + j, c = 2 * p;
                    uint32_t pair = 0;
                    if (o < out_channels) {
                        pair = bf16_bits(weights[(o * in_channels + c) * 9 + tap]);
                        if (c + 1 < in_channels) pair |= (uint32_t)bf16_bits(weights[(o * in_channels + c + 1) * 9 + tap]) << 16;
                    }
                    packed[((b * pairs + p) * 9 + tap) * block + j] = pair;
                }
}

int unet_conv3x3_bf16_pairs(int path, const uint32_t *padded, int64_t stride, int64_t padded_plane, int64_t in_channels,
                            int64_t width, const uint32_t *weights, const float *bias, int64_t out_channels, float *out,
                            int64_t out_plane, int64_t row_begin, int64_t row_end, int relu, const float *norm_scale,
                            const float *norm_shift, uint32_t *pairs_out) {
    switch (path) {
    case UNET_CONV_PORTABLE_BF16:
        conv3x3_portable_bf16(padded, stride, padded_plane, in_channels, width, weights, bias, out_channels, out, out_plane,
                              row_begin, row_end, relu, norm_scale, norm_shift, pairs_out);
        return 0;
#if defined(__x86_64__)
    case UNET_CONV_AVX512_BF16:
        conv3x3_avx512bf16(padded, stride, padded_plane, in_channels, width, weights, bias, out_channels, out, out_plane,
                           row_begin, row_end, relu, norm_scale, norm_shift, pairs_out);
        return 0;
#endif
    default:
        return -1;
    }
}

int64_t unet_conv3x3_padded_stride(int64_t width) { return (width + 2 + 16 + 15) / 16 * 16; }

void unet_conv3x3_pack_weights(int path, const float *weights, int64_t out_channels, int64_t in_channels, float *packed) {
    const int64_t block = unet_conv3x3_block_channels(path), blocks = (out_channels + block - 1) / block;
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t c = 0; c < in_channels; c++)
            for (int64_t tap = 0; tap < 9; tap++)
                for (int64_t j = 0; j < block; j++) {
                    const int64_t o = b * block + j;
                    packed[((b * in_channels + c) * 9 + tap) * block + j] =
                        o < out_channels ? weights[(o * in_channels + c) * 9 + tap] : 0.0f;
                }
}

int unet_conv3x3(int path, const float *padded, int64_t stride, int64_t padded_plane, int64_t in_channels,
                 int64_t height, int64_t width, const float *weights, const float *bias, int64_t out_channels,
                 float *out, int64_t out_plane, int64_t row_begin, int64_t row_end, int relu) {
    switch (path) {
    case UNET_CONV_PORTABLE16:
        conv3x3_portable16(padded, stride, padded_plane, in_channels, height, width, weights, bias, out_channels, out,
                           out_plane, row_begin, row_end, relu);
        return 0;
#if defined(__x86_64__)
    case UNET_CONV_AVX2:
        conv3x3_avx2(padded, stride, padded_plane, in_channels, height, width, weights, bias, out_channels, out,
                     out_plane, row_begin, row_end, relu);
        return 0;
    case UNET_CONV_AVX512:
        conv3x3_avx512(padded, stride, padded_plane, in_channels, height, width, weights, bias, out_channels, out,
                       out_plane, row_begin, row_end, relu);
        return 0;
#endif
    default:
        return -1;
    }
}
