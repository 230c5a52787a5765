/* The protocol buffer wire format and UTF-8 checking that both protobuf readers share:
 * tfevents.c (TensorBoard event files) and wandb.c (W&B run files). Each includes it into its own
 * translation unit. Every read is checked against the end of its message before it happens. */
#ifndef DRIFT_PROTOWIRE_H
#define DRIFT_PROTOWIRE_H

#include <stdint.h>

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load_le64(const uint8_t *p) { return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32; }

/* A varint of at most ten bytes; bits beyond 64 are dropped, as protobuf's decoders drop them. */
static inline int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end) return 0;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* A field's key. Keys are 32-bit and field number 0 does not exist, in protobuf as here. */
static inline int read_key(const uint8_t **pp, const uint8_t *end, uint64_t *field, int *wire) {
    uint64_t key;
    if (!read_varint(pp, end, &key) || key > 0xFFFFFFFFu || (key >> 3) == 0) return 0;
    *field = key >> 3;
    *wire = (int)(key & 7);
    return 1;
}

/* The body of a length-delimited field. The length is compared with what is left before any
 * pointer arithmetic, so a hostile length can neither overflow nor reach past the record. */
static inline int read_bytes(const uint8_t **pp, const uint8_t *end, const uint8_t **body, uint64_t *len) {
    uint64_t n;
    if (!read_varint(pp, end, &n) || n > (uint64_t)(end - *pp)) return 0;
    *body = *pp;
    *len = n;
    *pp += n;
    return 1;
}

/* Skip a field the reader does not read. Groups (wire types 3 and 4) are in none of the messages
 * read here; like the unused wire types 6 and 7 they mean damage. */
static inline int skip_field(const uint8_t **pp, const uint8_t *end, int wire) {
    uint64_t v;
    const uint8_t *body;
    switch (wire) {
        case 0: return read_varint(pp, end, &v);
        case 1:
            if (end - *pp < 8) return 0;
            *pp += 8;
            return 1;
        case 2: return read_bytes(pp, end, &body, &v);
        case 5:
            if (end - *pp < 4) return 0;
            *pp += 4;
            return 1;
        default: return 0;
    }
}

/* Proto3 strings must be UTF-8: this accepts exactly what Python's strict UTF-8 decoder accepts. */
static inline int valid_utf8(const uint8_t *s, uint64_t n) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;
        uint8_t lo = 0x80, hi = 0xBF; /* the allowed range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0) lo = 0xA0;     /* overlong */
            if (c == 0xED) hi = 0x9F;     /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0) lo = 0x90;     /* overlong */
            if (c == 0xF4) hi = 0x8F;     /* beyond U+10FFFF */
        } else {
            return 0;
        }
        if (n - i - 1 < (uint64_t)more) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (int k = 2; k <= more; k++) {
            if ((s[i + (uint64_t)k] & 0xC0) != 0x80) return 0;
        }
        i += (uint64_t)more + 1;
    }
    return 1;
}

#endif
