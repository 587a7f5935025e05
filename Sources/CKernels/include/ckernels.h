// The engine's own numeric kernels: CPU feature detection and direct 3×3 convolutions, one per
// instruction set, each compiled for its own target with function attributes (no build flag ties the
// binary to the build machine). Imported only by UNetEngine, which picks a path at start.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stdint.h>

/// What this CPU (and the OS, for the AVX-512 register state) supports.
int unet_cpu_has_avx2_fma(void);
int unet_cpu_has_avx512f(void);
int unet_cpu_has_avx512_bf16(void);

/// Output channels one block of a kernel computes, so the weights can be packed for it.
int unet_conv3x3_block_channels(int path);
/// Floats a padded input row needs for `width` pixels: the row, one zero column either side, and
/// room for a kernel's last vector block to read past the end.
int64_t unet_conv3x3_padded_stride(int64_t width);

/// Kernel paths, as `unet_conv3x3` numbers them.
enum {
    UNET_CONV_AVX2 = 1,      // 8 floats per vector, 4 channels × 16 pixels per block
    UNET_CONV_AVX512 = 2,    // 16 floats per vector, 8 channels × 32 pixels per block
    UNET_CONV_PORTABLE16 = 3 // the AVX-512 block logic in portable vector code, so tests run it on any CPU
};

/// A 3×3, stride-1 convolution over rows [row_begin, row_end) of every output channel:
///   out[o·out_plane + y·width + x] = act(bias[o] + Σ_c Σ_ky,kx w[o][c][ky][kx] · in[c][y+ky−1][x+kx−1]).
/// `padded` holds the input with a zero border: in[c][y][x] at padded[c·padded_plane + (y+1)·stride + x+1],
/// stride from unet_conv3x3_padded_stride, zero in row 0, row height+1, column 0 and columns past width.
/// `weights` are packed by unet_conv3x3_pack_weights for the same path; `bias` has one value per block channel.
/// Returns 0, or −1 when `path` is not compiled into this binary.
int unet_conv3x3(int path, const float *padded, int64_t stride, int64_t padded_plane, int64_t in_channels,
                 int64_t height, int64_t width, const float *weights, const float *bias, int64_t out_channels,
                 float *out, int64_t out_plane, int64_t row_begin, int64_t row_end, int relu);

/// Packs PyTorch-layout weights w[out][in][3][3] as [block][in][9][block_channels] (zeros past out_channels).
/// `packed` holds ceil(out/B)·B·in·9 floats, B = unet_conv3x3_block_channels(path).
void unet_conv3x3_pack_weights(int path, const float *weights, int64_t out_channels, int64_t in_channels, float *packed);

#endif
