/* Deflate for filtered image rows: Huffman codes fitted to each block's bytes, plus matches at
   distance 1 for runs. Natural image rows hold few repeats for LZ77 to find, and a search that finds
   nothing is what makes general-purpose deflaters slow on them; coding each byte by its frequency
   alone comes within a few percent of their size. Runs (a flat region or a white background, zeros
   after the Sub filter) still cost next to nothing as matches of up to 258 bytes. */
#include "huffman_deflate.h"
#include <stdlib.h>
#include <string.h>

enum {
    LITERAL_LENGTH_SYMBOLS = 286, END_OF_BLOCK = 256, FIRST_LENGTH_SYMBOL = 257,
    MAX_CODE_BITS = 15, CODE_LENGTH_SYMBOLS = 19, MAX_CODE_LENGTH_BITS = 7,
    MIN_MATCH = 3, MAX_MATCH = 258,
};

/* Deflate's length symbols 257..285: the shortest length each stands for, and its extra bits. */
static const uint16_t length_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                         35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                         3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
/* The order the code-length code's own lengths are sent in. */
static const uint8_t code_length_order[CODE_LENGTH_SYMBOLS] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                                               11, 4, 12, 3, 13, 2, 14, 1, 15};

/* The length symbol (0-based, 0..28) of each match length 3..258. */
static uint8_t length_index(unsigned length) {
    uint8_t index = 28;
    while (length_base[index] > length) index--;
    return index;
}


typedef struct { uint32_t frequency; uint16_t symbol; } weighted_symbol;

static int compare_weighted(const void *a, const void *b) {
    const weighted_symbol *x = a, *y = b;
    if (x->frequency != y->frequency) return x->frequency < y->frequency ? -1 : 1;
    return x->symbol < y->symbol ? -1 : x->symbol > y->symbol;
}

/* Lengths of a complete prefix code over the symbols that occur (0 for the others), none longer
   than `limit`: Huffman's code, then the deepest leaves lifted as in JPEG's Annex K.3. */
static void huffman_lengths(const uint32_t *frequencies, int symbols, int limit, uint8_t *lengths) {
    weighted_symbol leaves[LITERAL_LENGTH_SYMBOLS];
    int used = 0;
    for (int s = 0; s < symbols; s++) {
        lengths[s] = 0;
        if (frequencies[s]) leaves[used++] = (weighted_symbol){frequencies[s], (uint16_t)s};
    }
    if (used < 2) {  /* a code needs two symbols to be complete: pair the one with another */
        const int only = used ? leaves[0].symbol : 0;
        lengths[only] = 1;
        lengths[only == 0 ? 1 : 0] = 1;
        return;
    }
    qsort(leaves, (size_t)used, sizeof leaves[0], compare_weighted);

    /* Leaves 0..used-1 in ascending weight, then the internal nodes in the order they are made,
       which is also ascending: the two lightest are always at the front of one list or the other. */
    uint64_t weight[2 * LITERAL_LENGTH_SYMBOLS];
    int parent[2 * LITERAL_LENGTH_SYMBOLS], depth[2 * LITERAL_LENGTH_SYMBOLS];
    for (int k = 0; k < used; k++) weight[k] = leaves[k].frequency;
    int leaf = 0, internal = used;
    for (int node = used; node < 2 * used - 1; node++) {
        int children[2];
        for (int c = 0; c < 2; c++)
            children[c] = leaf < used && (internal >= node || weight[leaf] <= weight[internal]) ? leaf++ : internal++;
        weight[node] = weight[children[0]] + weight[children[1]];
        parent[children[0]] = parent[children[1]] = node;
    }
    const int root = 2 * used - 2;
    depth[root] = 0;
    unsigned per_length[2 * LITERAL_LENGTH_SYMBOLS] = {0};
    int deepest = 0;
    for (int node = root - 1; node >= 0; node--) {
        depth[node] = depth[parent[node]] + 1;
        if (node < used) {
            per_length[depth[node]]++;
            if (depth[node] > deepest) deepest = depth[node];
        }
    }
    /* Two siblings below the limit become one leaf a level up and two under a shallower leaf: the
       code stays complete. */
    for (int length = deepest; length > limit; length--) {
        while (per_length[length] > 0) {
            int shallower = length - 2;
            while (per_length[shallower] == 0) shallower--;
            per_length[length] -= 2;
            per_length[length - 1] += 1;
            per_length[shallower + 1] += 2;
            per_length[shallower] -= 1;
        }
    }
    int next = used - 1;  /* the most frequent symbols take the shortest codes */
    for (int length = 1; length <= limit; length++)
        for (unsigned c = per_length[length]; c > 0; c--) lengths[leaves[next--].symbol] = (uint8_t)length;
}

/* Deflate's canonical codes for `lengths`, bit-reversed, since the stream is written from the low
   bit up but codes are read from their high bit. */
static void canonical_codes(const uint8_t *lengths, int symbols, uint16_t *codes) {
    unsigned per_length[MAX_CODE_BITS + 1] = {0}, next_code[MAX_CODE_BITS + 1];
    for (int s = 0; s < symbols; s++) per_length[lengths[s]]++;
    per_length[0] = 0;
    unsigned code = 0;
    for (int bits = 1; bits <= MAX_CODE_BITS; bits++) {
        code = (code + per_length[bits - 1]) << 1;
        next_code[bits] = code;
    }
    for (int s = 0; s < symbols; s++) {
        codes[s] = 0;
        if (!lengths[s]) continue;
        unsigned value = next_code[lengths[s]]++, reversed = 0;
        for (int b = 0; b < lengths[s]; b++) reversed |= ((value >> b) & 1u) << (lengths[s] - 1 - b);
        codes[s] = (uint16_t)reversed;
    }
}

static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The length of the run of bytes[i - 1] from i: 0 unless the 8 bytes from i all repeat it. Checking
   8 bytes at a time keeps the scan cheap on noisy rows; shorter runs go as literals. */
static inline size_t run_at(const uint8_t *bytes, size_t i, size_t count) {
    const uint64_t repeated = 0x0101010101010101ull * bytes[i - 1];
    if (load64(bytes + i) != repeated) return 0;
    size_t end = i + 8;
    while (end + 8 <= count && load64(bytes + end) == repeated) end += 8;
    while (end < count && bytes[end] == bytes[i - 1]) end++;
    return end - i;
}

/* Splits a run into matches of MIN_MATCH..MAX_MATCH, leaving no piece shorter than MIN_MATCH
   except a final 1 or 2 bytes, which go as literals. */
static inline unsigned next_match(size_t run) {
    if (run <= MAX_MATCH) return (unsigned)run;
    return run - MAX_MATCH < MIN_MATCH ? (unsigned)(run - MIN_MATCH) : MAX_MATCH;
}

/* Counts each symbol the block codes to. */
static void count_symbols(const uint8_t *bytes, size_t count, const uint8_t *length_indices, uint32_t *frequencies) {
    uint32_t literals[4][256];
    memset(literals, 0, sizeof literals);
    size_t i = 0;
    if (count) literals[0][bytes[i++]]++;
    while (i + 8 <= count) {
        size_t run = run_at(bytes, i, count);
        if (run) {
            for (; run >= MIN_MATCH;) {
                const unsigned length = next_match(run);
                frequencies[FIRST_LENGTH_SYMBOL + length_indices[length]]++;
                run -= length;
                i += length;
            }
            for (; run > 0; run--) literals[0][bytes[i++]]++;
            continue;
        }
        for (int k = 0; k < 8; k += 4) {
            literals[0][bytes[i + k]]++;
            literals[1][bytes[i + k + 1]]++;
            literals[2][bytes[i + k + 2]]++;
            literals[3][bytes[i + k + 3]]++;
        }
        i += 8;
    }
    for (; i < count; i++) literals[0][bytes[i]]++;
    for (int b = 0; b < 256; b++) frequencies[b] += literals[0][b] + literals[1][b] + literals[2][b] + literals[3][b];
    frequencies[END_OF_BLOCK]++;
}

/* Bits go into a 64-bit register, and whole bytes out with one unaligned 8-byte store: the output
   needs 8 bytes of room past its end. */
#define PUT_BITS(value, length) (bits |= (uint64_t)(value) << filled, filled += (length))
#define FLUSH_BYTES() (memcpy(out, &bits, 8), out += filled >> 3, bits >>= (filled & ~7u), filled &= 7u)

size_t huffman_deflate_block(huffman_deflate_state *state, const uint8_t *bytes, size_t count, int final,
                             uint8_t *out) {
    uint8_t length_indices[MAX_MATCH + 1];
    for (unsigned length = MIN_MATCH; length <= MAX_MATCH; length++) length_indices[length] = length_index(length);

    uint32_t frequencies[LITERAL_LENGTH_SYMBOLS] = {0};
    count_symbols(bytes, count, length_indices, frequencies);
    uint8_t lengths[LITERAL_LENGTH_SYMBOLS];
    uint16_t codes[LITERAL_LENGTH_SYMBOLS];
    huffman_lengths(frequencies, LITERAL_LENGTH_SYMBOLS, MAX_CODE_BITS, lengths);
    canonical_codes(lengths, LITERAL_LENGTH_SYMBOLS, codes);
    int literal_lengths = LITERAL_LENGTH_SYMBOLS;
    while (literal_lengths > 257 && lengths[literal_lengths - 1] == 0) literal_lengths--;
    /* Every match is at distance 1 (code 0); a second, unused code of the same length keeps the
       distance code complete, which inflaters require of any code of more than one symbol. */
    static const uint8_t distance_lengths[2] = {1, 1};

    /* The code lengths go as code-length symbols 0..15 (no repeat codes: a block's header is
       then ~150 bytes, against some 150 KB of data). */
    uint32_t code_length_frequencies[CODE_LENGTH_SYMBOLS] = {0};
    for (int s = 0; s < literal_lengths; s++) code_length_frequencies[lengths[s]]++;
    code_length_frequencies[1] += 2;
    uint8_t code_length_lengths[CODE_LENGTH_SYMBOLS];
    uint16_t code_length_codes[CODE_LENGTH_SYMBOLS];
    huffman_lengths(code_length_frequencies, CODE_LENGTH_SYMBOLS, MAX_CODE_LENGTH_BITS, code_length_lengths);
    canonical_codes(code_length_lengths, CODE_LENGTH_SYMBOLS, code_length_codes);
    int code_length_count = CODE_LENGTH_SYMBOLS;
    while (code_length_count > 4 && code_length_lengths[code_length_order[code_length_count - 1]] == 0) code_length_count--;

    uint8_t *const start = out;
    uint64_t bits = state->bits;
    unsigned filled = state->count;
    PUT_BITS(final ? 1 : 0, 1);
    PUT_BITS(2, 2);  /* dynamic Huffman codes */
    PUT_BITS(literal_lengths - 257, 5);
    PUT_BITS(2 - 1, 5);
    PUT_BITS(code_length_count - 4, 4);
    FLUSH_BYTES();
    for (int k = 0; k < code_length_count; k++) {
        PUT_BITS(code_length_lengths[code_length_order[k]], 3);
        FLUSH_BYTES();
    }
    for (int s = 0; s < literal_lengths + 2; s++) {
        const uint8_t length = s < literal_lengths ? lengths[s] : distance_lengths[s - literal_lengths];
        PUT_BITS(code_length_codes[length], code_length_lengths[length]);
        FLUSH_BYTES();
    }

    size_t i = 0;
    if (count) { PUT_BITS(codes[bytes[0]], lengths[bytes[0]]); i = 1; }
    while (i + 8 <= count) {
        size_t run = run_at(bytes, i, count);
        if (run) {
            for (; run >= MIN_MATCH;) {
                const unsigned length = next_match(run), index = length_indices[length];
                const unsigned symbol = FIRST_LENGTH_SYMBOL + index;
                PUT_BITS(codes[symbol], lengths[symbol]);
                PUT_BITS(length - length_base[index], length_extra[index]);
                PUT_BITS(0, 1);  /* distance code 0: distance 1 */
                FLUSH_BYTES();
                run -= length;
                i += length;
            }
            for (; run > 0; run--, i++) { PUT_BITS(codes[bytes[i]], lengths[bytes[i]]); FLUSH_BYTES(); }
            continue;
        }
        /* Three codes of at most 15 bits fit beside the 7 bits a flush may leave. */
        const uint8_t *b = bytes + i;
        PUT_BITS(codes[b[0]], lengths[b[0]]); PUT_BITS(codes[b[1]], lengths[b[1]]); PUT_BITS(codes[b[2]], lengths[b[2]]);
        FLUSH_BYTES();
        PUT_BITS(codes[b[3]], lengths[b[3]]); PUT_BITS(codes[b[4]], lengths[b[4]]); PUT_BITS(codes[b[5]], lengths[b[5]]);
        FLUSH_BYTES();
        PUT_BITS(codes[b[6]], lengths[b[6]]); PUT_BITS(codes[b[7]], lengths[b[7]]);
        FLUSH_BYTES();
        i += 8;
    }
    for (; i < count; i++) { PUT_BITS(codes[bytes[i]], lengths[bytes[i]]); FLUSH_BYTES(); }
    PUT_BITS(codes[END_OF_BLOCK], lengths[END_OF_BLOCK]);
    if (final) filled = (filled + 7) & ~7u;  /* the stream ends on a byte boundary */
    FLUSH_BYTES();
    state->bits = bits;
    state->count = filled;
    return (size_t)(out - start);
}
