/* Table-driven CRC-32, slicing by 8, for both checksums the readers verify: TFRecord's CRC-32C
 * (Castagnoli, tfevents.c) and the LevelDB-log CRC-32 of W&B run files (zlib's, wandb.c). The
 * tables live on the caller's stack: building them costs microseconds per call, and it keeps the
 * library free of shared mutable state, so concurrent calls need no locking. */
#ifndef DRIFT_CRC_H
#define DRIFT_CRC_H

#include <stdint.h>

#include "protowire.h" /* load_le32 */

#define CRC32C_POLY 0x82F63B78u /* reflected */
#define CRC32_POLY 0xEDB88320u  /* reflected; zlib's */

typedef struct {
    uint32_t t[8][256];
} crc_tables_t;

static inline void crc_init(crc_tables_t *c, uint32_t poly) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
        c->t[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        for (int k = 1; k < 8; k++) c->t[k][n] = (c->t[k - 1][n] >> 8) ^ c->t[0][c->t[k - 1][n] & 0xFF];
    }
}

/* The register after n more bytes: start from 0xFFFFFFFF, and invert the end for the checksum. */
static inline uint32_t crc_update(const crc_tables_t *c, uint32_t crc, const uint8_t *p, uint64_t n) {
    while (n >= 8) {
        uint32_t lo = load_le32(p) ^ crc, hi = load_le32(p + 4);
        crc = c->t[7][lo & 0xFF] ^ c->t[6][(lo >> 8) & 0xFF] ^ c->t[5][(lo >> 16) & 0xFF] ^ c->t[4][lo >> 24] ^
              c->t[3][hi & 0xFF] ^ c->t[2][(hi >> 8) & 0xFF] ^ c->t[1][(hi >> 16) & 0xFF] ^ c->t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ c->t[0][(crc ^ *p++) & 0xFF];
    return crc;
}

/* zlib's CRC-32 register after n more bytes, as crc_update with tables made for CRC32_POLY, but
 * folding 16 bytes at a time with carry-less multiplies where the CPU has them (x86-64 with
 * PCLMULQDQ, asked at run time): a W&B run file is checksummed whole, and the tables' byte-at-a-time
 * lookups were half of that reader's time. Each fold replaces the 128 bits in hand by a value
 * congruent to them moved 128 bits on (constants x^160 and x^96 mod P, bit-reflected), added into the
 * next 16 bytes; the last 128 bits and the tail then go through the tables from a zero register,
 * which gives the register the tables would have given for the whole input. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("pclmul,sse2"))) static uint32_t crc32_fold(const crc_tables_t *c, uint32_t crc,
                                                                   const uint8_t *p, uint64_t n) {
    const __m128i k = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL); /* high: x^96, low: x^160 */
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)crc));
    p += 16;
    n -= 16;
    for (; n >= 16; p += 16, n -= 16) {
        __m128i lo = _mm_clmulepi64_si128(x, k, 0x00), hi = _mm_clmulepi64_si128(x, k, 0x11);
        x = _mm_xor_si128(_mm_xor_si128(lo, hi), _mm_loadu_si128((const __m128i *)p));
    }
    uint8_t last[16];
    _mm_storeu_si128((__m128i *)last, x);
    return crc_update(c, crc_update(c, 0, last, 16), p, n);
}

static inline uint32_t crc32_update(const crc_tables_t *c, uint32_t crc, const uint8_t *p, uint64_t n) {
    if (n < 64) return crc_update(c, crc, p, n);
    __builtin_cpu_init(); /* idempotent and cheap; reads what the loader found, no state of ours */
    return __builtin_cpu_supports("pclmul") ? crc32_fold(c, crc, p, n) : crc_update(c, crc, p, n);
}
#else
static inline uint32_t crc32_update(const crc_tables_t *c, uint32_t crc, const uint8_t *p, uint64_t n) {
    return crc_update(c, crc, p, n);
}
#endif

#endif
