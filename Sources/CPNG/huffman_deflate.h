/* Huffman-only deflate with run-length matches, for filtered image rows (see huffman_deflate.c). */
#ifndef HUFFMAN_DEFLATE_H
#define HUFFMAN_DEFLATE_H
#include <stddef.h>
#include <stdint.h>

/* The largest output one block of `input_bytes` can take, plus room for the encoder's 8-byte stores. */
#define HUFFMAN_DEFLATE_BOUND(input_bytes) ((input_bytes) * 2 + 512)

/* Bits not yet written out as a whole byte; they carry over from one block to the next. */
typedef struct {
    uint64_t bits;
    unsigned count;
} huffman_deflate_state;

/* Appends one deflate block (dynamic Huffman codes, last block if `final`) coding `bytes` to `out`,
   which must hold HUFFMAN_DEFLATE_BOUND(count) bytes; returns the whole bytes written. After the
   final block the stream ends on a byte boundary. */
size_t huffman_deflate_block(huffman_deflate_state *state, const uint8_t *bytes, size_t count, int final,
                             uint8_t *out);

#endif
