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

#endif
