#include "ckernels.h"
#include "bf16_pairs.h"

/* Swift's max(x, y) on Float, y >= x ? y : x (a NaN in x is kept, one in y dropped), as MaxPool2x2 takes it. */
static inline __attribute__((always_inline)) float swift_max(float x, float y) { return y >= x ? y : x; }

// One instantiation of winograd4.inc per path: portable (baseline x86-64 or any CPU) and AVX2 + FMA.
#define SUFFIX portable
#define TARGET
#include "winograd4.inc"

#if defined(__x86_64__)
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "winograd4.inc"
#endif

int64_t unet_winograd4_scratch_floats(int64_t width) { return 48 * ((width + 3) / 4 + 1); }

void unet_winograd4_input(int vectorised, const float *input, int64_t channels, int64_t height, int64_t width,
                          int64_t tile_row_begin, int64_t tile_row_end, int64_t strip, float *v, int64_t xi_stride,
                          float *scratch) {
#if defined(__x86_64__)
    if (vectorised) {
        winograd4_input_avx2(input, channels, height, width, tile_row_begin, tile_row_end, strip, v, xi_stride, scratch);
        return;
    }
#endif
    (void)vectorised;
    winograd4_input_portable(input, channels, height, width, tile_row_begin, tile_row_end, strip, v, xi_stride, scratch);
}

void unet_winograd4_output(int vectorised, const float *products, int64_t out_channels, int64_t tiles, int64_t height,
                           int64_t width, int64_t tile_row_begin, int64_t tile_row_end, int64_t xi_stride,
                           const float *bias, int relu, const float *norm_scale, const float *norm_shift, float *output,
                           float *pooled, float *scratch) {
#if defined(__x86_64__)
    if (vectorised) {
        winograd4_output_avx2(products, out_channels, tiles, height, width, tile_row_begin, tile_row_end, xi_stride, bias, relu,
                              norm_scale, norm_shift, output, pooled, scratch);
        return;
    }
#endif
    (void)vectorised;
    winograd4_output_portable(products, out_channels, tiles, height, width, tile_row_begin, tile_row_end, xi_stride, bias, relu,
                              norm_scale, norm_shift, output, pooled, scratch);
}
