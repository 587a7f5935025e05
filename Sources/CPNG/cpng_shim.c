#define _GNU_SOURCE  /* sync_file_range */
#include "cpng_shim.h"
#include "huffman_deflate.h"
#include <fcntl.h>
#include <png.h>
#include <isa-l/igzip_lib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

/* libpng frames the file (signature, IHDR, chunk CRCs); the image data is filtered and deflated here.
   - Labels (masks) go to ISA-L's igzip at level 1: its matches turn their runs, and rows that repeat
     the row above, into almost nothing (tia_he's mask: 72 KB).
   - Images (overlays, probabilities) take the Sub filter and huffman_deflate.c: Huffman codes fitted
     to each block, runs as matches. On a 1,952² H&E overlay that is 9 ms against igzip's 30 (whose
     match search finds little in natural images) for a 3% larger file.
   The zlib stream goes out as IDAT chunks of at most this size (labels) or one per block (images). */
enum { IDAT_BYTES = 1 << 18 };
/* Filtered image rows gather into blocks of about this many bytes: each block's Huffman codes cost
   some 150 bytes, and the block stays in L2 between counting its symbols and coding them. */
enum { IMAGE_BLOCK_BYTES = 1 << 18 };

struct unet_png_writer {
    png_structp png;
    png_infop info;
    FILE *file;
    /* labels: igzip's stream */
    struct isal_zstream stream;
    uint8_t *level_buffer;  /* igzip's level-1 working memory */
    uint8_t *idat;          /* compressed bytes waiting for their IDAT chunk */
    /* images: filtered rows, each its filter type byte then the filtered bytes, gathered into a block */
    uint8_t *block;
    size_t block_used, block_capacity;
    uint8_t *encoded;  /* a block's compressed bytes: its IDAT chunk */
    huffman_deflate_state huffman;
    uint32_t adler;  /* Adler-32 of the images' uncompressed stream so far */
    int stream_started;
    uint32_t row_bytes;
    int channels;
    int labels;
    char error[256];
    int error_number;  /* errno when the failure came from the file (ENOSPC, EDQUOT, EIO), else 0 */
};

static void on_error(png_structp png, png_const_charp message) {
    unet_png_writer *writer = png_get_error_ptr(png);
    /* libpng's default writer calls png_error right after a short fwrite: errno still names the cause. */
    writer->error_number = ferror(writer->file) ? errno : 0;
    snprintf(writer->error, sizeof writer->error, "%s", message);
    longjmp(png_jmpbuf(png), 1);
}

static void on_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

unet_png_writer *unet_png_writer_open(int fd, uint32_t width, uint32_t height, int channels,
                                      int labels, char *error) {
    unet_png_writer *writer = calloc(1, sizeof *writer);
    if (!writer) { snprintf(error, 256, "out of memory"); return NULL; }
    writer->file = fdopen(fd, "wb");
    if (!writer->file) { snprintf(error, 256, "fdopen failed"); free(writer); return NULL; }
    writer->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, writer, on_error, on_warning);
    if (writer->png) writer->info = png_create_info_struct(writer->png);
    if (!writer->png || !writer->info) {
        snprintf(error, 256, "libpng could not allocate its structures");
        unet_png_writer_close(writer);
        return NULL;
    }
    if (setjmp(png_jmpbuf(writer->png))) {
        snprintf(error, 256, "%s", writer->error);
        unet_png_writer_close(writer);
        return NULL;
    }
    writer->row_bytes = width * (uint32_t)channels;
    writer->channels = channels;
    writer->labels = labels;
    if (labels) {
        writer->level_buffer = malloc(ISAL_DEF_LVL1_DEFAULT);
        writer->block_capacity = (size_t)writer->row_bytes + 1;  /* one row at a time */
        writer->idat = malloc(IDAT_BYTES);
    } else {
        const size_t row = (size_t)writer->row_bytes + 1, rows = IMAGE_BLOCK_BYTES / row;
        writer->block_capacity = (rows > 1 ? rows : 1) * row;
        writer->encoded = malloc(HUFFMAN_DEFLATE_BOUND(writer->block_capacity) + 2 + 4);  /* + zlib header, Adler-32 */
        writer->adler = 1;
    }
    writer->block = malloc(writer->block_capacity);
    if (!writer->block || (labels ? !writer->level_buffer || !writer->idat : !writer->encoded)) {
        snprintf(error, 256, "out of memory");
        unet_png_writer_close(writer);
        return NULL;
    }
    isal_deflate_init(&writer->stream);
    writer->stream.level = 1;
    writer->stream.level_buf = writer->level_buffer;
    writer->stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    writer->stream.gzip_flag = IGZIP_ZLIB;
    writer->stream.next_out = writer->idat;
    writer->stream.avail_out = IDAT_BYTES;
    png_init_io(writer->png, writer->file);
    png_set_IHDR(writer->png, writer->info, width, height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(writer->png, writer->info);
    return writer;
}

/* Starts writing out what the file holds so far without waiting for it: the fsync at the end then
   waits only for the last chunk (a 1952² overlay: 3.5 → 0.25 ms), and a large image never piles up
   as dirty pages. Failures surface at the closing fflush and fsync. */
static void start_writeback(unet_png_writer *writer) {
    if (fflush(writer->file) == 0) (void)sync_file_range(fileno(writer->file), 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Deflates `count` bytes (the last call: end_of_stream, no bytes), writing each full buffer as an IDAT
   chunk, and at the end the rest. libpng's chunk writer may longjmp: call under the caller's setjmp. */
static int deflate_into_idat(unet_png_writer *writer, uint8_t *bytes, uint32_t count, int end) {
    struct isal_zstream *stream = &writer->stream;
    stream->next_in = bytes;
    stream->avail_in = count;
    stream->end_of_stream = (uint16_t)end;
    do {
        const int status = isal_deflate(stream);
        if (status != COMP_OK) {
            snprintf(writer->error, sizeof writer->error, "ISA-L deflate failed (status %d)", status);
            return 0;
        }
        const int finished = end && stream->internal_state.state == ZSTATE_END;
        if (stream->avail_out == 0 || (finished && stream->avail_out < IDAT_BYTES)) {
            png_write_chunk(writer->png, (png_const_bytep) "IDAT", writer->idat, IDAT_BYTES - stream->avail_out);
            stream->next_out = writer->idat;
            stream->avail_out = IDAT_BYTES;
            start_writeback(writer);
        }
        if (finished) return 1;
    } while (stream->avail_in > 0 || end);
    return 1;
}

/* Codes the gathered image rows as one deflate block and writes it out as an IDAT chunk, the zlib
   header before the first, the Adler-32 after the last. */
static void encode_image_block(unet_png_writer *writer, int final) {
    uint8_t *out = writer->encoded;
    if (!writer->stream_started) {
        *out++ = 0x78;  /* deflate, 32 KiB window */
        *out++ = 0x01;  /* fastest; header check bits */
        writer->stream_started = 1;
    }
    writer->adler = isal_adler32(writer->adler, writer->block, writer->block_used);
    out += huffman_deflate_block(&writer->huffman, writer->block, writer->block_used, final, out);
    if (final)
        for (int shift = 24; shift >= 0; shift -= 8) *out++ = (uint8_t)(writer->adler >> shift);
    writer->block_used = 0;
    png_write_chunk(writer->png, (png_const_bytep) "IDAT", writer->encoded, (size_t)(out - writer->encoded));
    start_writeback(writer);
}

int unet_png_writer_write_row(unet_png_writer *writer, const uint8_t *row) {
    if (setjmp(png_jmpbuf(writer->png))) return 0;
    uint8_t *type = writer->block + writer->block_used, *filtered = type + 1;
    const uint32_t bytes = writer->row_bytes, left = (uint32_t)writer->channels;
    if (writer->labels) {  /* labels compress best unfiltered: runs stay runs */
        *type = PNG_FILTER_VALUE_NONE;
        memcpy(filtered, row, bytes);
        return deflate_into_idat(writer, type, bytes + 1, 0);
    }
    /* images take one cheap filter: Sub, each byte less the same channel's to its left */
    *type = PNG_FILTER_VALUE_SUB;
    for (uint32_t i = 0; i < left && i < bytes; i++) filtered[i] = row[i];
    for (uint32_t i = left; i < bytes; i++) filtered[i] = (uint8_t)(row[i] - row[i - left]);  /* vectorises */
    writer->block_used += bytes + 1;
    if (writer->block_used + bytes + 1 > writer->block_capacity) encode_image_block(writer, 0);
    return 1;
}

int unet_png_writer_finish(unet_png_writer *writer) {
    if (setjmp(png_jmpbuf(writer->png))) return 0;
    if (writer->labels) {
        if (!deflate_into_idat(writer, NULL, 0, 1)) return 0;
    } else {
        encode_image_block(writer, 1);
    }
    png_write_chunk(writer->png, (png_const_bytep) "IEND", NULL, 0);
    if (fflush(writer->file) != 0 || fsync(fileno(writer->file)) != 0) {
        writer->error_number = errno;
        snprintf(writer->error, sizeof writer->error, "flushing the file failed: %s", strerror(errno));
        return 0;
    }
    return 1;
}

const char *unet_png_writer_error(const unet_png_writer *writer) { return writer->error; }

int unet_png_writer_errno(const unet_png_writer *writer) { return writer->error_number; }

void unet_png_writer_close(unet_png_writer *writer) {
    if (!writer) return;
    if (writer->png) png_destroy_write_struct(&writer->png, writer->info ? &writer->info : NULL);
    if (writer->file) fclose(writer->file);
    free(writer->level_buffer);
    free(writer->idat);
    free(writer->block);
    free(writer->encoded);
    free(writer);
}

int unet_png_read(const char *path, int channels, uint8_t **pixels, uint32_t *width, uint32_t *height,
                  uint64_t max_pixels, char *error) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    *pixels = NULL;
    if (!png_image_begin_read_from_file(&image, path)) {
        snprintf(error, 256, "%s", image.message);
        return 0;
    }
    if ((uint64_t)image.width * image.height > max_pixels) {
        snprintf(error, 256, "%ux%u pixels exceeds the limit of %llu", image.width, image.height,
                 (unsigned long long)max_pixels);
        png_image_free(&image);
        return 0;
    }
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    size_t size = PNG_IMAGE_SIZE(image);
    uint8_t *buffer = malloc(size);
    if (!buffer) { snprintf(error, 256, "out of memory"); png_image_free(&image); return 0; }
    if (!png_image_finish_read(&image, NULL, buffer, 0, NULL)) {
        snprintf(error, 256, "%s", image.message);
        free(buffer);
        return 0;
    }
    *pixels = buffer;
    *width = image.width;
    *height = image.height;
    return 1;
}

void unet_png_free(uint8_t *pixels) { free(pixels); }

/* Instance maps (one id per nucleus, 8- or 16-bit gray) must come back as stored: the simplified API
   would treat 16-bit samples as linear light and convert them, so this reads with the classic API. */
static void on_read_error(png_structp png, png_const_charp message) {
    snprintf((char *)png_get_error_ptr(png), 256, "%s", message);
    longjmp(png_jmpbuf(png), 1);
}

int unet_png_read_labels(const char *path, uint16_t **labels, uint32_t *width, uint32_t *height,
                         uint64_t max_pixels, char *error) {
    *labels = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) { snprintf(error, 256, "%s", strerror(errno)); return 0; }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, on_read_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint16_t *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    uint8_t *volatile raw = NULL;
    if (!png || !info) {
        snprintf(error, 256, "out of memory");
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fclose(file);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(buffer);
        free(rows);
        free(raw);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return 0;
    }
    png_init_io(png, file);
    png_read_info(png, info);
    uint32_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color != PNG_COLOR_TYPE_GRAY) png_error(png, "an instance map must be a gray PNG (one id per pixel)");
    if ((uint64_t)w * h > max_pixels) png_error(png, "too many pixels");
    if (depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_swap(png);  /* PNG stores big-endian samples */
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    raw = malloc(row_bytes * (h ? h : 1));
    rows = malloc(sizeof(png_bytep) * (h ? h : 1));
    buffer = malloc(sizeof(uint16_t) * ((size_t)w * h ? (size_t)w * h : 1));
    if (!raw || !rows || !buffer) png_error(png, "out of memory");
    for (uint32_t y = 0; y < h; y++) rows[y] = raw + y * row_bytes;
    png_read_image(png, rows);
    for (size_t i = 0; i < (size_t)w * h; i++)
        buffer[i] = depth == 16 ? ((uint16_t *)raw)[i] : raw[i];
    free(raw);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    *labels = (uint16_t *)buffer;
    *width = w;
    *height = h;
    return 1;
}

void unet_png_free_labels(uint16_t *labels) { free(labels); }

int unet_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, uint8_t **png, size_t *size,
                    char *error) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    /* For the viewer's tiles, made on request and never kept: speed over size (no filter search, fast
       deflate), and one pass into a buffer of the largest size it can take, rather than libpng's sizing
       pass first (which encodes the whole image once more). */
    image.flags |= PNG_IMAGE_FLAG_FAST;
    *png = NULL;
    png_alloc_size_t bytes = PNG_IMAGE_PNG_SIZE_MAX(image);
    uint8_t *buffer = malloc(bytes);
    if (!buffer) { snprintf(error, 256, "out of memory"); return 0; }
    if (!png_image_write_to_memory(&image, buffer, &bytes, 0, pixels, 0, NULL)) {
        snprintf(error, 256, "%s", image.message);
        free(buffer);
        return 0;
    }
    *png = buffer;
    *size = bytes;
    return 1;
}
