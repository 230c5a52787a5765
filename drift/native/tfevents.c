/*
 * A fast path for TensorBoard event files (TFRecord framing around Event protocol buffers), loaded
 * with ctypes (no Python API, no dependency). drift/readers/tensorboard.py holds the rules and a
 * pure-Python twin of this scanner; the two must agree on every input, damaged or not.
 *
 * One call walks whole records from buf[start] and stops at a record boundary: at the end of the
 * file, when the next record is not all in the buffer yet, when the framing cannot be trusted any
 * more, or when the caller's arrays are full (the caller then calls again from there). For every
 * scalar it appends (record number, step, value, tag id); tag ids index a table of distinct tags
 * (offsets into buf) that is rebuilt on every call, so Python decodes each tag once per call and
 * not once per point.
 *
 * Only the messages that can hold a scalar are parsed (Event, Summary, Summary.Value, TensorProto,
 * TensorShapeProto): their nesting is fixed, so nothing here recurses, whatever the bytes are.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "crc.h"
#include "protowire.h"

/* Why a call returned; the numbers are shared with tensorboard.py. */
enum { STOP_MORE = 0, STOP_END = 1, STOP_FULL = 2, STOP_LENGTH = 3, STOP_TRUNCATED = 4 };
/* A record that is skipped while the framing stays trusted. */
enum { DAMAGE_DATA = 1, DAMAGE_PROTO = 2 };
/* The fields of the res array. */
enum { R_CONSUMED, R_RECORDS, R_VALUES, R_TAGS, R_NEED, R_DAMAGED, R_FIRST_DAMAGED, R_FIRST_KIND, R_SIZE };
/* What parsing a message came to. */
enum { P_OK = 0, P_BAD = -1, P_FULL = -2 };

/* TensorFlow's DataType numbers for the element types a scalar may have. */
enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_INT64 = 9, DT_BFLOAT16 = 14, DT_HALF = 19 };

#define HEADER_BYTES 12 /* uint64 length + masked CRC of it */
#define FOOTER_BYTES 4  /* masked CRC of the data */

/* ---- CRC-32C (Castagnoli) ------------------------------------------------------------------- */

static uint32_t crc32c(const crc_tables_t *c, const uint8_t *p, uint64_t n) {
    return crc_update(c, 0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

/* TFRecord stores CRCs rotated and offset, so that a CRC of bytes that hold CRCs stays strong. */
static uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

/* ---- numbers ----------------------------------------------------------------------------------- */

static double from_f32_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return (double)f;
}

static double from_f64_bits(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* A power of two as a double, built from its exponent bits (-1022 <= e <= 1023). */
static double pow2(int e) { return from_f64_bits((uint64_t)(e + 1023) << 52); }

/* IEEE binary16, exactly (every half is a double). */
static double from_half(uint32_t h) {
    int exponent = (int)((h >> 10) & 0x1F);
    uint32_t mantissa = h & 0x3FF;
    double magnitude;
    if (exponent == 0x1F) {
        magnitude = mantissa ? NAN : INFINITY;
    } else if (exponent == 0) {
        magnitude = (double)mantissa * pow2(-24);
    } else {
        magnitude = (double)(mantissa | 0x400) * pow2(exponent - 25);
    }
    return (h & 0x8000) ? -magnitude : magnitude;
}

/* bfloat16 is the top half of a float32. */
static double from_bfloat16(uint32_t h) { return from_f32_bits((h & 0xFFFF) << 16); }

/* ---- output ---------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    int64_t n, cap;
    int64_t *steps;
    double *values;
    int32_t *tag_ids;
    int64_t *tag_start, *tag_len;
    int64_t n_tags, tag_cap;
    int32_t *slots;
    uint64_t slot_mask;
    int32_t last_tag; /* consecutive values usually share a tag: try it before hashing */
} out_t;

static int same_tag(const out_t *o, int32_t id, const uint8_t *tag, uint64_t len) {
    return (uint64_t)o->tag_len[id] == len && memcmp(o->buf + o->tag_start[id], tag, (size_t)len) == 0;
}

static int tag_id(out_t *o, const uint8_t *tag, uint64_t len, int32_t *id) {
    if (o->last_tag >= 0 && same_tag(o, o->last_tag, tag, len)) {
        *id = o->last_tag;
        return P_OK;
    }
    uint64_t h = 0xCBF29CE484222325u; /* FNV-1a */
    for (uint64_t i = 0; i < len; i++) h = (h ^ tag[i]) * 0x100000001B3u;
    uint64_t slot = h & o->slot_mask;
    while (o->slots[slot] >= 0) {
        if (same_tag(o, o->slots[slot], tag, len)) {
            *id = o->last_tag = o->slots[slot];
            return P_OK;
        }
        slot = (slot + 1) & o->slot_mask;
    }
    if (!valid_utf8(tag, len)) return P_BAD;
    if (o->n_tags >= o->tag_cap) return P_FULL;
    *id = o->last_tag = (int32_t)o->n_tags;
    o->slots[slot] = *id;
    o->tag_start[o->n_tags] = tag - o->buf;
    o->tag_len[o->n_tags] = (int64_t)len;
    o->n_tags++;
    return P_OK;
}

static int emit(out_t *o, const uint8_t *tag, uint64_t tag_len, double value) {
    int32_t id;
    int r = tag_id(o, tag, tag_len, &id);
    if (r != P_OK) return r;
    if (o->n >= o->cap) return P_FULL;
    o->values[o->n] = value;
    o->tag_ids[o->n] = id;
    o->n++;
    return P_OK;
}

/* ---- messages -------------------------------------------------------------------------------- */

/* What one repeated numeric field of a TensorProto held: how many elements, and the first. */
typedef struct {
    uint64_t count, first;
} list_t;

typedef struct {
    uint64_t dtype;
    int not_one;      /* a dimension whose size is not 1: not exactly one element */
    int unknown_rank; /* the last unknown_rank seen */
    const uint8_t *content;
    uint64_t content_len;
    list_t f32, f64, i32, i64, half;
} tensor_t;

static void add_item(list_t *l, uint64_t v) {
    if (l->count++ == 0) l->first = v;
}

/* A repeated number, in its packed form (one length-delimited run) or as a single element. */
static int read_list(const uint8_t **pp, const uint8_t *end, int wire, int element_wire, list_t *l) {
    uint64_t v;
    if (wire == element_wire) {
        switch (wire) {
            case 0:
                if (!read_varint(pp, end, &v)) return 0;
                break;
            case 1:
                if (end - *pp < 8) return 0;
                v = load_le64(*pp);
                *pp += 8;
                break;
            default:
                if (end - *pp < 4) return 0;
                v = load_le32(*pp);
                *pp += 4;
                break;
        }
        add_item(l, v);
        return 1;
    }
    if (wire != 2) return skip_field(pp, end, wire);
    const uint8_t *p, *stop;
    uint64_t len;
    if (!read_bytes(pp, end, &p, &len)) return 0;
    stop = p + len;
    if (element_wire == 0) {
        while (p < stop) {
            if (!read_varint(&p, stop, &v)) return 0;
            add_item(l, v);
        }
        return 1;
    }
    uint64_t size = element_wire == 1 ? 8 : 4;
    if (len % size) return 0;
    for (; p < stop; p += size) add_item(l, size == 8 ? load_le64(p) : load_le32(p));
    return 1;
}

static int parse_dim(const uint8_t *p, const uint8_t *end, tensor_t *t) {
    uint64_t size = 0, field, v;
    int wire;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return 0;
        if (field == 1 && wire == 0) {
            if (!read_varint(&p, end, &v)) return 0;
            size = v;
        } else if (!skip_field(&p, end, wire)) {
            return 0;
        }
    }
    if (size != 1) t->not_one = 1;
    return 1;
}

static int parse_shape(const uint8_t *p, const uint8_t *end, tensor_t *t) {
    uint64_t field, v;
    int wire;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return 0;
        if (field == 2 && wire == 2) {
            if (!read_bytes(&p, end, &body, &v) || !parse_dim(body, body + v, t)) return 0;
        } else if (field == 3 && wire == 0) {
            if (!read_varint(&p, end, &v)) return 0;
            t->unknown_rank = v != 0;
        } else if (!skip_field(&p, end, wire)) {
            return 0;
        }
    }
    return 1;
}

/* Parses into *t without clearing it: a message field that occurs twice is merged, as protobuf
 * merges it. */
static int parse_tensor(const uint8_t *p, const uint8_t *end, tensor_t *t) {
    uint64_t field, v;
    int wire, ok;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return 0;
        switch (field) {
            case 1:
                ok = wire == 0 ? read_varint(&p, end, &t->dtype) : skip_field(&p, end, wire);
                break;
            case 2:
                ok = wire == 2 ? read_bytes(&p, end, &body, &v) && parse_shape(body, body + v, t)
                               : skip_field(&p, end, wire);
                break;
            case 4:
                ok = wire == 2 ? read_bytes(&p, end, &t->content, &t->content_len) : skip_field(&p, end, wire);
                break;
            case 5: ok = read_list(&p, end, wire, 5, &t->f32); break;
            case 6: ok = read_list(&p, end, wire, 1, &t->f64); break;
            case 7: ok = read_list(&p, end, wire, 0, &t->i32); break;
            case 10: ok = read_list(&p, end, wire, 0, &t->i64); break;
            case 13: ok = read_list(&p, end, wire, 0, &t->half); break;
            default: ok = skip_field(&p, end, wire); break;
        }
        if (!ok) return 0;
    }
    return 1;
}

/* The value of a tensor that holds exactly one element of a numeric type we read; 0 otherwise.
 * As TensorBoard reads tensors: tensor_content when present, else the typed list, and an empty
 * list means zeros. */
static int tensor_scalar(const tensor_t *t, double *out) {
    uint64_t itemsize;
    const list_t *l;
    uint32_t dtype = (uint32_t)t->dtype; /* an enum: protobuf keeps its low 32 bits */
    switch (dtype) {
        case DT_FLOAT: itemsize = 4; l = &t->f32; break;
        case DT_DOUBLE: itemsize = 8; l = &t->f64; break;
        case DT_INT32: itemsize = 4; l = &t->i32; break;
        case DT_INT64: itemsize = 8; l = &t->i64; break;
        case DT_BFLOAT16:
        case DT_HALF: itemsize = 2; l = &t->half; break;
        default: return 0;
    }
    if (t->not_one || t->unknown_rank) return 0;
    uint64_t bits;
    if (t->content_len) {
        if (t->content_len != itemsize) return 0;
        bits = itemsize == 8 ? load_le64(t->content)
             : itemsize == 4 ? load_le32(t->content)
                             : (uint64_t)t->content[0] | (uint64_t)t->content[1] << 8;
    } else if (l->count <= 1) {
        bits = l->count ? l->first : 0;
    } else {
        return 0;
    }
    switch (dtype) {
        case DT_FLOAT: *out = from_f32_bits((uint32_t)bits); break;
        case DT_DOUBLE: *out = from_f64_bits(bits); break;
        case DT_INT32: *out = (double)(int32_t)(uint32_t)bits; break;
        case DT_INT64: *out = (double)(int64_t)bits; break;
        case DT_BFLOAT16: *out = from_bfloat16((uint32_t)bits & 0xFFFF); break;
        default: *out = from_half((uint32_t)bits & 0xFFFF); break;
    }
    return 1;
}

/* Summary.Value: tag=1, and the oneof simple_value=2 | histogram=3 | image=4 | histo=5 | audio=6 |
 * tensor=8, where the member read last is the one that counts. */
static int parse_value(const uint8_t *p, const uint8_t *end, out_t *o) {
    const uint8_t *tag = p, *body; /* no tag field: the empty tag */
    uint64_t tag_len = 0, field, v, kind = 0;
    uint32_t simple = 0;
    tensor_t t;
    int wire;
    memset(&t, 0, sizeof t);
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if (field == 1 && wire == 2) {
            if (!read_bytes(&p, end, &tag, &tag_len)) return P_BAD;
        } else if (field == 2 && wire == 5) {
            if (end - p < 4) return P_BAD;
            simple = load_le32(p);
            p += 4;
            kind = 2;
        } else if (field >= 3 && field <= 6 && wire == 2) {
            if (!skip_field(&p, end, wire)) return P_BAD;
            kind = field;
        } else if (field == 8 && wire == 2) {
            if (kind != 8) memset(&t, 0, sizeof t);
            kind = 8;
            if (!read_bytes(&p, end, &body, &v) || !parse_tensor(body, body + v, &t)) return P_BAD;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    double value;
    if (kind == 2) return emit(o, tag, tag_len, from_f32_bits(simple));
    if (kind == 8 && tensor_scalar(&t, &value)) return emit(o, tag, tag_len, value);
    /* protobuf refuses a tag that is not UTF-8 whatever the value is */
    return valid_utf8(tag, tag_len) ? P_OK : P_BAD;
}

static int parse_summary(const uint8_t *p, const uint8_t *end, out_t *o) {
    uint64_t field, v;
    int wire, r;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if (field == 1 && wire == 2) {
            if (!read_bytes(&p, end, &body, &v)) return P_BAD;
            if ((r = parse_value(body, body + v, o)) != P_OK) return r;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* Event: step=2, and the oneof file_version=3 | graph_def=4 | summary=5 | log_message=6 |
 * session_log=7 | tagged_run_metadata=8 | meta_graph_def=9. Only a summary that is still the
 * oneof's member at the end of the record counts; its values take the step wherever it comes. */
static int parse_event(const uint8_t *p, const uint8_t *end, out_t *o, int64_t *step) {
    int64_t first = o->n;
    uint64_t field, v;
    int wire, r;
    const uint8_t *body;
    *step = 0;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if (field == 2 && wire == 0) {
            if (!read_varint(&p, end, &v)) return P_BAD;
            *step = (int64_t)v;
        } else if (field == 5 && wire == 2) {
            if (!read_bytes(&p, end, &body, &v)) return P_BAD;
            if ((r = parse_summary(body, body + v, o)) != P_OK) return r;
        } else if (field >= 3 && field <= 9 && wire == 2) {
            o->n = first; /* another member of the oneof replaces the summary */
            if (!skip_field(&p, end, wire)) return P_BAD;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* ---- records --------------------------------------------------------------------------------- */

/*
 * Walk the records of buf[start, size). avail counts the bytes from buf[0] to the end of the file
 * (avail >= size); record_base is the number of records of this file before buf[start]. Per
 * scalar: recs, steps, values, tag_ids (at most cap). Distinct tags: tag_start, tag_len (at most
 * tag_cap), found through slots (n_slots, a power of two above tag_cap). res gets R_* fields;
 * returns a STOP_* reason, or -n when argument n (1-based) breaks this contract: 0 <= start <=
 * size <= avail, record_base >= 0, cap >= 1, 1 <= tag_cap <= INT32_MAX (tag ids are 32-bit),
 * n_slots a power of two above tag_cap (else the probe for a free slot would never end), and no
 * NULL pointer (buf only when size is 0).
 */
int64_t drift_tfevents_scan(const uint8_t *buf, int64_t start, int64_t size, int64_t avail, int64_t record_base,
                            int64_t *res, int64_t *recs, int64_t *steps, double *values, int32_t *tag_ids,
                            int64_t cap, int64_t *tag_start, int64_t *tag_len, int64_t tag_cap, int32_t *slots,
                            int64_t n_slots) {
    if (size < 0) return -3;
    if (!buf && size) return -1;
    if (start < 0 || start > size) return -2;
    if (avail < size) return -4;
    if (record_base < 0) return -5;
    if (!res) return -6;
    if (!recs) return -7;
    if (!steps) return -8;
    if (!values) return -9;
    if (!tag_ids) return -10;
    if (cap < 1) return -11;
    if (!tag_start) return -12;
    if (!tag_len) return -13;
    if (tag_cap < 1 || tag_cap > INT32_MAX) return -14;
    if (!slots) return -15;
    if (n_slots <= tag_cap || (n_slots & (n_slots - 1)) != 0 || (uint64_t)n_slots > SIZE_MAX / sizeof *slots)
        return -16;
    crc_tables_t crc;
    crc_init(&crc, CRC32C_POLY);
    memset(slots, 0xFF, (size_t)n_slots * sizeof *slots);
    out_t o = {buf, 0, cap, steps, values, tag_ids, tag_start, tag_len, 0, tag_cap, slots, (uint64_t)n_slots - 1, -1};
    int64_t p = start, records = 0, damaged = 0, first_damaged = 0, first_kind = 0, need = 0;
    int64_t stop;
    for (;;) {
        int64_t left = avail - p, in_buf = size - p;
        if (left == 0) {
            stop = STOP_END;
            break;
        }
        if (left < HEADER_BYTES) {
            stop = STOP_TRUNCATED;
            break;
        }
        if (in_buf < HEADER_BYTES) {
            need = HEADER_BYTES;
            stop = STOP_MORE;
            break;
        }
        const uint8_t *header = buf + p;
        if (masked(crc32c(&crc, header, 8)) != load_le32(header + 8)) {
            stop = STOP_LENGTH;
            break;
        }
        uint64_t len = load_le64(header);
        if (left < HEADER_BYTES + FOOTER_BYTES || len > (uint64_t)(left - HEADER_BYTES - FOOTER_BYTES)) {
            stop = STOP_TRUNCATED;
            break;
        }
        int64_t whole = HEADER_BYTES + (int64_t)len + FOOTER_BYTES;
        if (in_buf < whole) {
            need = whole;
            stop = STOP_MORE;
            break;
        }
        const uint8_t *data = header + HEADER_BYTES;
        int64_t number = record_base + records + 1, kept = o.n, kind = 0;
        if (masked(crc32c(&crc, data, len)) != load_le32(data + len)) {
            kind = DAMAGE_DATA;
        } else {
            int64_t step;
            int r = parse_event(data, data + len, &o, &step);
            if (r == P_FULL) {
                o.n = kept;
                stop = STOP_FULL;
                break;
            }
            if (r == P_BAD) {
                o.n = kept;
                kind = DAMAGE_PROTO;
            } else {
                for (int64_t i = kept; i < o.n; i++) {
                    recs[i] = number;
                    steps[i] = step;
                }
            }
        }
        if (kind) {
            if (damaged++ == 0) {
                first_damaged = number;
                first_kind = kind;
            }
        }
        records++;
        p += whole;
    }
    res[R_CONSUMED] = p;
    res[R_RECORDS] = records;
    res[R_VALUES] = o.n;
    res[R_TAGS] = o.n_tags;
    res[R_NEED] = need;
    res[R_DAMAGED] = damaged;
    res[R_FIRST_DAMAGED] = first_damaged;
    res[R_FIRST_KIND] = first_kind;
    return stop;
}
