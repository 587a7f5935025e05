// libtiff behind a small C shim: per-handle error capture (libtiff reports through va_list
// callbacks, which Swift cannot receive) and region reads through the TIFFRGBAImage interface, or
// straight from the tiles where they are 8-bit RGB already.
// Imported only by SlideIO.
#ifndef CTIFF_SHIM_H
#define CTIFF_SHIM_H
#include <tiffio.h>
#include <stdint.h>

/// Diagnostics collected for one TIFF handle: the first error, and counts.
typedef struct {
    char first_error[512];
    int errors;
    int warnings;
    /// errno when the first error was reported (ENOSPC, EIO... while writing), else 0.
    int error_number;
} unet_tiff_diagnostics;

/// Opens `path` read-only with libtiff's single-allocation cap; errors and warnings go to `diagnostics`
/// (never to stderr). Returns NULL on failure, with the reason in diagnostics->first_error.
TIFF *unet_tiff_open(const char *path, int64_t max_single_allocation, unet_tiff_diagnostics *diagnostics);

/// TIFFGetField for one scalar tag (TIFFGetField itself is variadic, which Swift cannot call).
int unet_tiff_get_uint32(TIFF *tiff, uint32_t tag, uint32_t *value);
int unet_tiff_get_uint16(TIFF *tiff, uint32_t tag, uint16_t *value);
int unet_tiff_get_float(TIFF *tiff, uint32_t tag, float *value);
/// ASCII tags (ImageDescription): `*value` points into libtiff's directory, valid until it changes.
int unet_tiff_get_string(TIFF *tiff, uint32_t tag, const char **value);

/// Starts a TIFF on the open descriptor `fd` for writing (`big`: BigTIFF); errors go to `diagnostics`.
/// `name` is only used in libtiff's messages. TIFFClose closes `fd`.
TIFF *unet_tiff_create(int fd, const char *name, int big, unet_tiff_diagnostics *diagnostics);
/// TIFFSetField for one value of each type the writers use.
int unet_tiff_set_uint32(TIFF *tiff, uint32_t tag, uint32_t value);
int unet_tiff_set_uint16(TIFF *tiff, uint32_t tag, uint16_t value);
int unet_tiff_set_float(TIFF *tiff, uint32_t tag, float value);
int unet_tiff_set_string(TIFF *tiff, uint32_t tag, const char *value);

/// Whether the current directory can be decoded to RGBA; on failure `reason` (1024 bytes) says why.
int unet_tiff_rgba_ok(TIFF *tiff, char *reason);

/// Decodes the region (x, y, width, height) of the current directory into `raster` (ABGR packed
/// 32-bit, as TIFFGetR/G/B read it), top row first. Returns 1 on success; on failure `reason` says why.
int unet_tiff_read_region(TIFF *tiff, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                          uint32_t *raster, char *reason);

/// Whether the current directory's tiles decode straight to 8-bit RGB with TIFFReadEncodedTile, as
/// TIFFRGBAImage would decode them: tiled, 3 contiguous 8-bit samples, top-left orientation, RGB, or
/// YCbCr in JPEG, for which it sets JPEGCOLORMODE_RGB (libjpeg converts), as TIFFRGBAImage does.
int unet_tiff_prepare_rgb_tiles(TIFF *tiff);

/// Decodes the tile holding pixel (x, y) into `buffer`, `size` bytes: a whole tile of 8-bit RGB.
/// Returns 1, or 0 with `reason` (1024 bytes) set.
int unet_tiff_read_tile(TIFF *tiff, uint32_t x, uint32_t y, uint8_t *buffer, int64_t size, char *reason);

/// Whether the current directory is high-bit-depth grayscale (12 or 16 bits, one sample, striped),
/// which TIFFRGBAImage cannot decode (12-bit) or decodes by truncation (16-bit).
int unet_tiff_is_deep_gray(TIFF *tiff);

/// Decodes full rows [y, y + count) of a deep grayscale page to 8 bits (values scaled from the
/// sample depth), one byte per pixel. Returns 1, or 0 with `reason` (1024 bytes) set.
int unet_tiff_read_deep_gray_rows(TIFF *tiff, uint32_t y, uint32_t count, uint8_t *out, char *reason);

#endif
