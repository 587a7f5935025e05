#include "ckernels.h"

// One instantiation of conv3x3_direct.inc per path. Block shapes measured on 2-core Zen (AVX2):
// 4 channels × 2 vectors (OB × NV) beat 4 × 3, 6 × 2, 3 × 4, 8 × 1 and 2 × 4 on 16–64-channel
// layers. AVX-512 doubles the channels, within its 32 registers. The portable 16-lane copy has no
// target attribute: it is the AVX-512 block logic compiled for any CPU, so tests check it everywhere.
#define VL 16
#define OB 8
#define NV 2
#define SUFFIX portable16
#define TARGET
#include "conv3x3_direct.inc"
#undef VL
#undef OB
#undef NV
#undef SUFFIX
#undef TARGET

#if defined(__x86_64__)
#define VL 8
#define OB 4
#define NV 2
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "conv3x3_direct.inc"
#undef VL
#undef OB
#undef NV
#undef SUFFIX
#undef TARGET

#define VL 16
#define OB 8
#define NV 2
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,fma")))
#include "conv3x3_direct.inc"
#undef VL
#undef OB
#undef NV
#undef SUFFIX
#undef TARGET
#endif

int unet_conv3x3_block_channels(int path) { return path == UNET_CONV_AVX2 ? 4 : 8; }

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
