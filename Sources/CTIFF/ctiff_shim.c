#include "ctiff_shim.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int record_error(TIFF *tiff, void *user_data, const char *module, const char *format, va_list arguments) {
    (void)tiff;
    unet_tiff_diagnostics *diagnostics = user_data;
    if (diagnostics->errors == 0) {
        diagnostics->error_number = errno;
        char message[448];
        vsnprintf(message, sizeof message, format, arguments);
        snprintf(diagnostics->first_error, sizeof diagnostics->first_error, "%s%s%s",
                 module ? module : "", module ? ": " : "", message);
    }
    diagnostics->errors++;
    return 1;  // handled: do not fall through to libtiff's global (stderr) handler
}

static int record_warning(TIFF *tiff, void *user_data, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)module; (void)format; (void)arguments;
    ((unet_tiff_diagnostics *)user_data)->warnings++;
    return 1;
}

TIFF *unet_tiff_open(const char *path, int64_t max_single_allocation, unet_tiff_diagnostics *diagnostics) {
    memset(diagnostics, 0, sizeof *diagnostics);
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)max_single_allocation);
    TIFFOpenOptionsSetErrorHandlerExtR(options, record_error, diagnostics);
    TIFFOpenOptionsSetWarningHandlerExtR(options, record_warning, diagnostics);
    TIFF *tiff = TIFFOpenExt(path, "r", options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

int unet_tiff_rgba_ok(TIFF *tiff, char *reason) {
    return TIFFRGBAImageOK(tiff, reason);
}

int unet_tiff_read_region(TIFF *tiff, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                          uint32_t *raster, char *reason) {
    TIFFRGBAImage image;
    if (!TIFFRGBAImageBegin(&image, tiff, 0, reason)) return 0;
    image.req_orientation = ORIENTATION_TOPLEFT;
    image.row_offset = (int)y;
    image.col_offset = (int)x;
    int ok = TIFFRGBAImageGet(&image, raster, width, height);
    if (!ok) snprintf(reason, 1024, "decoding rows %u-%u failed", y, y + height);
    TIFFRGBAImageEnd(&image);
    return ok;
}

int unet_tiff_prepare_rgb_tiles(TIFF *tiff) {
    uint16_t bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG, photometric = 0, compression = 0;
    uint16_t orientation = ORIENTATION_TOPLEFT, extra_count = 0;
    uint16_t *extra = NULL;
    if (!TIFFIsTiled(tiff) || !TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric)) return 0;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ORIENTATION, &orientation);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    if (bits != 8 || samples != 3 || extra_count != 0 || planar != PLANARCONFIG_CONTIG || orientation != ORIENTATION_TOPLEFT)
        return 0;
    if (photometric == PHOTOMETRIC_RGB) return 1;
    /* What TIFFRGBAImageBegin does for JPEG-compressed YCbCr: libjpeg converts to RGB. */
    if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG)
        return TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) == 1;
    return 0;
}

int unet_tiff_read_tile(TIFF *tiff, uint32_t x, uint32_t y, uint8_t *buffer, int64_t size, char *reason) {
    const tmsize_t got = TIFFReadEncodedTile(tiff, TIFFComputeTile(tiff, x, y, 0, 0), buffer, (tmsize_t)size);
    if (got == (tmsize_t)size) return 1;
    if (got < 0) snprintf(reason, 1024, "decoding the tile at (%u, %u) failed", x, y);
    else snprintf(reason, 1024, "the tile at (%u, %u) decoded to %lld bytes, not %lld", x, y, (long long)got, (long long)size);
    return 0;
}

int unet_tiff_get_uint32(TIFF *tiff, uint32_t tag, uint32_t *value) { return TIFFGetField(tiff, tag, value); }
int unet_tiff_get_uint16(TIFF *tiff, uint32_t tag, uint16_t *value) { return TIFFGetField(tiff, tag, value); }
int unet_tiff_get_float(TIFF *tiff, uint32_t tag, float *value) { return TIFFGetField(tiff, tag, value); }
int unet_tiff_get_string(TIFF *tiff, uint32_t tag, const char **value) { return TIFFGetField(tiff, tag, value); }

TIFF *unet_tiff_create(int fd, const char *name, int big, unet_tiff_diagnostics *diagnostics) {
    memset(diagnostics, 0, sizeof *diagnostics);
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, record_error, diagnostics);
    TIFFOpenOptionsSetWarningHandlerExtR(options, record_warning, diagnostics);
    TIFF *tiff = TIFFFdOpenExt(fd, name, big ? "w8" : "w", options);
    TIFFOpenOptionsFree(options);
    return tiff;
}

int unet_tiff_set_uint32(TIFF *tiff, uint32_t tag, uint32_t value) { return TIFFSetField(tiff, tag, value); }
int unet_tiff_set_uint16(TIFF *tiff, uint32_t tag, uint16_t value) { return TIFFSetField(tiff, tag, (int)value); }
int unet_tiff_set_float(TIFF *tiff, uint32_t tag, float value) { return TIFFSetField(tiff, tag, (double)value); }
int unet_tiff_set_string(TIFF *tiff, uint32_t tag, const char *value) { return TIFFSetField(tiff, tag, value); }

int unet_tiff_is_deep_gray(TIFF *tiff) {
    uint16_t bits = 0, samples = 1, photometric = 0;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    if (!TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric)) return 0;
    return samples == 1 && (bits == 12 || bits == 16) && !TIFFIsTiled(tiff)
        && (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE);
}

int unet_tiff_read_deep_gray_rows(TIFF *tiff, uint32_t y, uint32_t count, uint8_t *out, char *reason) {
    uint32_t width = 0, rows_per_strip = 0;
    uint16_t bits = 0, photometric = 0;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    tmsize_t strip_size = TIFFStripSize(tiff);
    size_t row_bytes = ((size_t)width * bits + 7) / 8;
    if (strip_size <= 0 || rows_per_strip == 0) { snprintf(reason, 1024, "invalid strip layout"); return 0; }
    uint8_t *strip = _TIFFmalloc(strip_size);
    if (!strip) { snprintf(reason, 1024, "cannot allocate a strip of %lld bytes", (long long)strip_size); return 0; }
    int64_t current = -1;
    tmsize_t got = 0;
    for (uint32_t r = 0; r < count; r++) {
        uint32_t row = y + r;
        uint32_t index = row / rows_per_strip;
        if ((int64_t)index != current) {
            got = TIFFReadEncodedStrip(tiff, index, strip, strip_size);
            if (got < 0) { snprintf(reason, 1024, "cannot decode strip %u", index); _TIFFfree(strip); return 0; }
            current = index;
        }
        size_t offset = (size_t)(row % rows_per_strip) * row_bytes;
        if (offset + row_bytes > (size_t)got) { snprintf(reason, 1024, "strip %u is shorter than its rows", index); _TIFFfree(strip); return 0; }
        const uint8_t *line = strip + offset;
        uint8_t *destination = out + (size_t)r * width;
        for (uint32_t x = 0; x < width; x++) {
            uint32_t value;
            if (bits == 16) {
                value = ((const uint16_t *)line)[x] >> 8;  /* libtiff returns native byte order */
            } else {  /* 12-bit, packed most significant bit first */
                size_t bit = (size_t)x * 12, byte = bit / 8;
                value = (bit % 8 == 0) ? (line[byte] << 4 | line[byte + 1] >> 4) : ((line[byte] & 0x0F) << 8 | line[byte + 1]);
                value >>= 4;
            }
            destination[x] = (uint8_t)(photometric == PHOTOMETRIC_MINISWHITE ? 255 - value : value);
        }
    }
    _TIFFfree(strip);
    return 1;
}
