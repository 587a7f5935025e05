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
    UNET_CONV_PORTABLE16 = 3, // the AVX-512 block logic in portable vector code, so tests run it on any CPU
    UNET_CONV_AVX512_BF16 = 4, // bf16 pairs through vdpbf16ps: 8 channels × 32 pixels per block
    UNET_CONV_PORTABLE_BF16 = 5 // the same block logic with the pair dot product emulated, for any CPU
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

/// bf16 paths (UNET_CONV_AVX512_BF16, UNET_CONV_PORTABLE_BF16). Input channels go in pairs: element
/// padded[p·plane + (y+1)·stride + x+1] holds bf16(in[2p][y][x]) in its low half and bf16(in[2p+1][y][x])
/// (0 past the last channel) in its high half, rounded to nearest even; plane = stride·(height + 2),
/// stride from unet_conv3x3_padded_stride. Fills pairs [pair_begin, pair_end), borders included; `path`
/// UNET_CONV_AVX512_BF16 takes an AVX-512 copy (same bits), any other the portable one.
void unet_conv3x3_pad_bf16_pairs(int path, const float *input, int64_t channels, int64_t height, int64_t width,
                                 uint32_t *padded, int64_t stride, int64_t pair_begin, int64_t pair_end);
/// Packs w[out][in][3][3] as bf16 pairs [block of 8][in pair][9][8] (zeros past out_channels and in_channels).
void unet_conv3x3_pack_weights_bf16_pairs(const float *weights, int64_t out_channels, int64_t in_channels, uint32_t *packed);
/// As unet_conv3x3, on the bf16 pair layouts, with fp32 sums, bias and output. With `norm_scale` and
/// `norm_shift` (per output channel; else NULL), each output is what the next bf16 convolution reads,
/// bf16(max(bf16(sum)·scale + shift, 0)), as PyTorch's autocast runs Conv → BatchNorm → ReLU. With
/// `pairs_out` (else NULL; needs the norm), those outputs go straight into the next bf16 convolution's
/// padded input instead of `out`: pairs of out_channels channels, as unet_conv3x3_pad_bf16_pairs lays
/// them out at this size (same stride and padded_plane); interior only, the borders are the caller's
/// (unet_conv3x3_zero_pair_borders). Saves writing the fp32 layer and the padding pass over it.
int unet_conv3x3_bf16_pairs(int path, const uint32_t *padded, int64_t stride, int64_t padded_plane, int64_t in_channels,
                            int64_t width, const uint32_t *weights, const float *bias, int64_t out_channels, float *out,
                            int64_t out_plane, int64_t row_begin, int64_t row_end, int relu, const float *norm_scale,
                            const float *norm_shift, uint32_t *pairs_out);
/// Zeroes the border of pairs [pair_begin, pair_end) of a padded bf16-pair layout (rows 0 and height + 1,
/// column 0, columns past width), what unet_conv3x3_bf16_pairs's `pairs_out` leaves alone.
void unet_conv3x3_zero_pair_borders(uint32_t *padded, int64_t stride, int64_t height, int64_t width, int64_t pair_begin,
                                    int64_t pair_end);

/// Winograd F(4×4, 3×3) transforms for rows of 4×4 output tiles [tile_row_begin, tile_row_end) of a
/// layer (tiles_per_row = ⌈width/4⌉, tiles = rows · tiles_per_row, numbered row by row from the band's
/// first). `vectorised` picks the AVX2 + FMA instantiation (x86-64 CPUs that have it), else portable code.
/// `scratch` holds unet_winograd4_scratch_floats(width) floats.
int64_t unet_winograd4_scratch_floats(int64_t width);
/// V[ξ] = (Bᵀ d B)[ξ], ξ = 0..<36, for each input channel's 6×6 patch d (zero outside the layer). With
/// `strip` 0, V[ξ][c][t] (V[ξ] is channels · tiles floats); else in strips of `strip` tiles,
/// V[ξ][t / strip][c][t % strip] (V[ξ] is ⌈tiles / strip⌉ · strip · channels floats, the last strip's
/// lanes past `tiles` zero), as unet_strip_gemm reads B with strip UNET_STRIP_GEMM_COLUMNS.
/// V[ξ] starts at v + ξ · xi_stride.
void unet_winograd4_input(int vectorised, const float *input, int64_t channels, int64_t height, int64_t width,
                          int64_t tile_row_begin, int64_t tile_row_end, int64_t strip, float *v, int64_t xi_stride,
                          float *scratch);
/// out[o][y][x] = act(bias[o] + (Aᵀ M A)) from the products M[ξ][o][t] (M[ξ] at products + ξ · xi_stride,
/// rows `tiles` floats apart), rows past the height left alone. With `norm_scale` and `norm_shift` (per
/// output channel; else NULL), each output is then what the next bf16 convolution reads,
/// bf16(max(bf16(out)·scale + shift, 0)), as for unet_conv3x3_bf16_pairs. With `pooled` (else NULL),
/// also its 2×2 max pooling (floor: ⌊height/2⌋ × ⌊width/2⌋ per channel, as torch's MaxPool2d(2)), each
/// value max(max(a, b), max(c, d)) over the final outputs as Swift's max orders them (NaN kept only
/// where it comes first): a tile's 4 rows give 2 pooled rows, so no band needs another's outputs.
void unet_winograd4_output(int vectorised, const float *products, int64_t out_channels, int64_t tiles, int64_t height,
                           int64_t width, int64_t tile_row_begin, int64_t tile_row_end, int64_t xi_stride,
                           const float *bias, int relu, const float *norm_scale, const float *norm_shift, float *output,
                           float *pooled, float *scratch);

/// Matrix products C = A·B for the Winograd layers, on x86-64 CPUs with AVX2 + FMA. A (m × k,
/// row-major) is packed once by unet_strip_gemm_pack into unet_strip_gemm_packed_floats(m, k) floats; B
/// comes in `strips` strips of k × UNET_STRIP_GEMM_COLUMNS floats each (column j of strip s is column
/// 16·s + j of B), as unet_winograd4_input writes it. All strips · 16 columns of C are written (not
/// accumulated), row stride ldc. `avx512`: two strips at a time in 16-float vectors (CPUs with AVX-512F
/// only), the same sums. Returns 1, or 0 (doing nothing) where the kernel is not compiled in (not
/// x86-64): use BLAS there.
enum { UNET_STRIP_GEMM_COLUMNS = 16 };
int64_t unet_strip_gemm_packed_floats(int64_t m, int64_t k);
void unet_strip_gemm_pack(const float *a, int64_t m, int64_t k, float *packed);
int unet_strip_gemm(int avx512, const float *packed, int64_t m, int64_t k, const float *b, int64_t strips, float *c, int64_t ldc);

/// The same products on bf16 pairs with fp32 sums, for the bf16 Winograd layers: A rounded to bf16 by
/// unet_strip_gemm_bf16_pack (pairs of adjacent columns, unet_strip_gemm_bf16_packed_words(m, k)
/// words), each strip of B rounded to bf16 pairs of adjacent rows as it is used, into `scratch`
/// (unet_strip_gemm_bf16_scratch_words(k) words). `native` runs `vdpbf16ps` (x86-64 with AVX-512 BF16
/// only), else its portable emulation, the same bits but for denormals, which the instruction flushes.
int64_t unet_strip_gemm_bf16_packed_words(int64_t m, int64_t k);
int64_t unet_strip_gemm_bf16_scratch_words(int64_t k);
void unet_strip_gemm_bf16_pack(const float *a, int64_t m, int64_t k, uint32_t *packed);
void unet_strip_gemm_bf16(int native, const uint32_t *packed, int64_t m, int64_t k, const float *b, int64_t strips, float *c,
                          int64_t ldc, uint32_t *scratch);

#endif
