// libpng behind a small C shim: libpng's classic API reports errors by longjmp, which Swift cannot
// survive, so every call that can fail does its setjmp here and returns a status plus a message.
// The writer filters and deflates rows here (masks with ISA-L's igzip, images with the shim's own
// Huffman coder, huffman_deflate.c); libpng frames the file. Imported only by SlideIO.
#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <stdint.h>
#include <stddef.h>

typedef struct unet_png_writer unet_png_writer;

/// Starts a PNG on the open file descriptor `fd` (which the writer then owns): 8-bit, `channels`
/// 1 (gray) or 3 (RGB); `labels` 1 for few distinct values in long runs (masks), 0 for images.
/// Returns NULL with the reason in `error` (256 bytes).
unet_png_writer *unet_png_writer_open(int fd, uint32_t width, uint32_t height, int channels, int labels,
                                      char *error);
/// Appends one row of width × channels bytes. Returns 1, or 0 with the reason in unet_png_writer_error.
int unet_png_writer_write_row(unet_png_writer *writer, const uint8_t *row);
/// Writes the end of the image, flushes and fsyncs. Returns 1, or 0 with the reason.
int unet_png_writer_finish(unet_png_writer *writer);
const char *unet_png_writer_error(const unet_png_writer *writer);
/// errno of the file operation behind the last failure (ENOSPC, EDQUOT, EIO), or 0 when libpng itself failed.
int unet_png_writer_errno(const unet_png_writer *writer);
/// Releases the writer and closes its file (after finish, or to abandon a partial image).
void unet_png_writer_close(unet_png_writer *writer);

/// Reads a whole PNG as 8-bit `channels` (1 gray or 3 RGB) with libpng's simplified API.
/// On success returns 1 and a malloc'd buffer in *pixels (free with unet_png_free).
int unet_png_read(const char *path, int channels, uint8_t **pixels, uint32_t *width, uint32_t *height,
                  uint64_t max_pixels, char *error);
void unet_png_free(uint8_t *pixels);

/// Reads a gray PNG (1 to 16 bits) exactly as stored, one uint16_t per pixel: instance maps, whose
/// values are object ids, not light. Returns 1 and a malloc'd buffer (free with unet_png_free_labels),
/// or 0 with the reason in error (256 bytes).
int unet_png_read_labels(const char *path, uint16_t **labels, uint32_t *width, uint32_t *height,
                         uint64_t max_pixels, char *error);
void unet_png_free_labels(uint16_t *labels);

/// Encodes 8-bit pixels (`channels` 1 gray, 3 RGB or 4 RGBA) as a PNG in memory with libpng's
/// simplified API: small images served over HTTP (viewer tiles, thumbnails). Returns 1 and a malloc'd
/// buffer in *png of *size bytes (free with unet_png_free), or 0 with the reason in error (256 bytes).
int unet_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, uint8_t **png, size_t *size,
                    char *error);

#endif
