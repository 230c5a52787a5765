/*
 * A fast path for W&B run files (``run-<id>.wandb``), loaded with ctypes (no Python API, no
 * dependency). drift/readers/wandbrun.py holds the rules and the pure-Python reference this walker
 * is held equal to, on real, generated and damaged files.
 *
 * The file is LevelDB-log framing in 32 KiB blocks around protobuf Record messages. The caller
 * hands the file over in pieces that start on a block boundary and, but for the last, end on one;
 * a chunk never crosses a block, so it never crosses a piece. A record split into chunks is
 * assembled in the caller's scratch buffer, which carries it from one piece to the next (state[]).
 *
 * For every numeric value of a history item whose key could be the metric it appends (record
 * number, step, value, key id); a value in a history row without a step gets the record number
 * negated. Key ids index a table of the distinct keys met in this call (every key but _step, in the
 * order met), copied out with a flag saying whether the key could be the metric: ASCII keys are
 * compared with the caller's case-folded names here, and any other key is left to Python.
 *
 * What this walker cannot give exactly (a whole-number step beyond int64, a nested key too long
 * for its buffer, a number its converter leaves to strtod where there is none) sends the record
 * back to Python (STOP_DEFER), which reads it with the reference rules. Only the messages on the
 * way to a history item are parsed, and their nesting is fixed: nothing here recurses.
 */
#define _GNU_SOURCE /* strtod_l, through jsonlex.h */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "crc.h"
#include "jsonlex.h"
#include "protowire.h"

/* Why a call returned; the numbers are shared with wandbrun.py. */
enum { STOP_MORE = 0, STOP_END = 1, STOP_FULL = 2, STOP_DEFER = 3 };
/* What was full at STOP_FULL (bits). */
enum { FULL_VALUES = 1, FULL_KEYS = 2, FULL_KEY_BYTES = 4, FULL_SCRATCH = 8 };
/* state[], read and written: records of the file so far, and the bytes of a record being
 * assembled in scratch (-1 when none is). */
enum { S_RECORDS, S_PENDING, S_SIZE };
/* res[], written. */
enum {
    R_CONSUMED, R_VALUES, R_KEYS, R_DAMAGED, R_FIRST_DAMAGED, R_FULL, R_NEED,
    R_DEFER_IN_SCRATCH, R_DEFER_START, R_DEFER_LEN, R_DEFER_NUMBER, R_SIZE
};
/* What parsing a message came to. */
enum { P_OK = 0, P_BAD = -1, P_FULL = -2, P_DEFER = -3 };
/* Chunk types. */
enum { C_FULL = 1, C_FIRST = 2, C_MIDDLE = 3, C_LAST = 4 };

#define BLOCK 32768
#define CHUNK_HEADER 7
#define MAX_RECORD (64 << 20) /* wandbrun.py MAX_RECORD: a longer record is damage */
#define KEY_JOIN 1024         /* a nested key joined longer than this goes to Python */
#define KEY_CACHE 16          /* item places in a row whose last key is tried before hashing */

/* The checksum of a chunk: CRC-32 (zlib's) of its type byte, then its data. */
static uint32_t chunk_crc(const crc_tables_t *c, uint8_t kind, const uint8_t *p, uint64_t n) {
    return crc32_update(c, crc_update(c, 0xFFFFFFFFu, &kind, 1), p, n) ^ 0xFFFFFFFFu;
}

/* ---- output ---------------------------------------------------------------------------------- */

typedef struct {
    int64_t n, cap;
    int64_t *recs, *steps;
    double *values;
    int32_t *key_ids;
    uint8_t *key_bytes;
    int64_t key_bytes_used, key_bytes_cap;
    int64_t *key_start, *key_len;
    uint8_t *key_wanted;
    int64_t n_keys, key_cap;
    int32_t *slots;
    uint64_t slot_mask;
    const uint8_t *wanted; /* the caller's names, each ended by a NUL */
    int64_t wanted_len;
    int full; /* FULL_* of the last P_FULL */
    int position;                 /* the item's place in its row */
    int32_t by_position[KEY_CACHE]; /* the key met last at each place: rows repeat their keys */
} out_t;

/* Whether an ASCII key, lower-cased, is one of the caller's names; any other key may be (Python
 * case-folds it). */
static uint8_t could_be_metric(const out_t *o, const uint8_t *key, uint64_t len) {
    for (uint64_t i = 0; i < len; i++) {
        if (key[i] >= 0x80) return 1;
    }
    const uint8_t *w = o->wanted, *end = o->wanted + o->wanted_len;
    while (w < end) {
        const uint8_t *stop = memchr(w, 0, (size_t)(end - w));
        if (!stop) stop = end;
        if ((uint64_t)(stop - w) == len) {
            uint64_t i = 0;
            while (i < len && (key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]) == w[i]) i++;
            if (i == len) return 1;
        }
        w = stop + 1;
    }
    return 0;
}

static int same_key(const out_t *o, int32_t id, const uint8_t *key, uint64_t len) {
    return (uint64_t)o->key_len[id] == len && memcmp(o->key_bytes + o->key_start[id], key, (size_t)len) == 0;
}

/* The id of a key (valid UTF-8, checked by the caller), registering it when new. */
static int key_lookup(out_t *o, const uint8_t *key, uint64_t len, int32_t *id) {
    uint64_t h = 0xCBF29CE484222325u; /* FNV-1a */
    for (uint64_t i = 0; i < len; i++) h = (h ^ key[i]) * 0x100000001B3u;
    uint64_t slot = h & o->slot_mask;
    while (o->slots[slot] >= 0) {
        if (same_key(o, o->slots[slot], key, len)) {
            *id = o->slots[slot];
            return P_OK;
        }
        slot = (slot + 1) & o->slot_mask;
    }
    if (o->n_keys >= o->key_cap) {
        o->full = FULL_KEYS;
        return P_FULL;
    }
    if (len > (uint64_t)(o->key_bytes_cap - o->key_bytes_used)) {
        o->full = FULL_KEY_BYTES;
        return P_FULL;
    }
    *id = (int32_t)o->n_keys;
    o->slots[slot] = *id;
    if (len) memcpy(o->key_bytes + o->key_bytes_used, key, (size_t)len);
    o->key_start[o->n_keys] = o->key_bytes_used;
    o->key_len[o->n_keys] = (int64_t)len;
    o->key_wanted[o->n_keys] = could_be_metric(o, key, len);
    o->key_bytes_used += (int64_t)len;
    o->n_keys++;
    return P_OK;
}

/* key_lookup, trying first the key met last at the item's place in its row. */
static int key_id(out_t *o, const uint8_t *key, uint64_t len, int32_t *id) {
    int32_t *cached = o->position < KEY_CACHE ? &o->by_position[o->position] : NULL;
    if (cached && *cached >= 0 && same_key(o, *cached, key, len)) {
        *id = *cached;
        return P_OK;
    }
    int r = key_lookup(o, key, len, id);
    if (r == P_OK && cached) *cached = *id;
    return r;
}

/* ---- values ---------------------------------------------------------------------------------- */

enum { V_NONE, V_INT, V_DOUBLE, V_JSON };

typedef struct {
    int kind; /* the native value (the last of integer and number) wins over value_json */
    int64_t i;
    double d;
    const uint8_t *json;
    uint64_t json_len;
    int has_json;
} value_t;

static int is_json_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* value_json as a number: JSON whitespace around a JSON number, NaN, Infinity or -Infinity
 * (what json.dumps writes); *text and *len are the number's text. 0 when it is not one. */
static int json_number(const uint8_t *p, uint64_t n, const char **text, int64_t *len, int *is_int, double *special) {
    const uint8_t *end = p + n;
    while (p < end && is_json_space(*p)) p++;
    while (end > p && is_json_space(end[-1])) end--;
    int64_t m = end - p;
    *text = (const char *)p;
    *len = m;
    *special = 0;
    if (m == 3 && memcmp(p, "NaN", 3) == 0) {
        *special = NAN;
    } else if (m == 8 && memcmp(p, "Infinity", 8) == 0) {
        *special = INFINITY;
    } else if (m == 9 && memcmp(p, "-Infinity", 9) == 0) {
        *special = -INFINITY;
    } else {
        return scan_number((const char *)p, (const char *)end, is_int) == (const char *)end && m > 0 ? 1 : 0;
    }
    *is_int = 0;
    return 2;
}

/* An integer literal as an int64; 0 when it lies beyond int64. */
static int int_literal(const char *p, int64_t n, int64_t *out) {
    int negative = n > 0 && *p == '-';
    uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (int64_t i = negative; i < n; i++) {
        uint64_t digit = (uint64_t)(p[i] - '0');
        if (v > (limit - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

/* The item's value for the metric: 1 and *out, 0 when it is not a number, P_DEFER. */
static int metric_value(const value_t *v, double *out) {
    if (v->kind == V_INT) {
        *out = (double)v->i;
        return 1;
    }
    if (v->kind == V_DOUBLE) {
        *out = v->d;
        return 1;
    }
    if (!v->has_json) return 0;
    const char *text;
    int64_t len;
    int is_int;
    double special;
    int got = json_number(v->json, v->json_len, &text, &len, &is_int, &special);
    if (got == 2) *out = special;
    if (got != 1) return got ? 1 : 0;
    return json_to_double(text, len, out) ? 1 : P_DEFER;
}

/* A double that is a whole number: 1 and *out; 0 when it is not whole; P_DEFER beyond int64. */
static int whole_double(double d, int64_t *out) {
    if (!isfinite(d) || d != floor(d)) return 0;
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return P_DEFER;
    *out = (int64_t)d;
    return 1;
}

/* The item's value as a step: 1 and *out, 0 when it is not a whole number, P_DEFER. */
static int step_value(const value_t *v, int64_t *out) {
    if (v->kind == V_INT) {
        *out = v->i;
        return 1;
    }
    if (v->kind == V_DOUBLE) return whole_double(v->d, out);
    if (!v->has_json) return 0;
    const char *text;
    int64_t len;
    int is_int;
    double special, d;
    if (json_number(v->json, v->json_len, &text, &len, &is_int, &special) != 1) return 0;
    if (is_int) return int_literal(text, len, out) ? 1 : P_DEFER;
    if (!json_to_double(text, len, &d)) return P_DEFER;
    return whole_double(d, out);
}

/* ---- messages -------------------------------------------------------------------------------- */

/* The key of an item whose key is nested_key with more than one part: the parts joined with ".". */
static int join_key(const uint8_t *p, const uint8_t *end, uint8_t *joined, uint64_t *len) {
    uint64_t field, n, used = 0;
    int wire, first = 1;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if (field == 2 && wire == 2) {
            if (!read_bytes(&p, end, &body, &n)) return P_BAD;
            if (n + !first > KEY_JOIN - used) return P_DEFER;
            if (!first) joined[used++] = '.';
            if (n) memcpy(joined + used, body, (size_t)n);
            used += n;
            first = 0;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    *len = used;
    return P_OK;
}

typedef struct {
    int is_step;  /* the item is _step */
    int step_ok;  /* ...holding a whole number, *step */
    int64_t step;
} item_t;

typedef struct {
    const uint8_t *key, *nested; /* the last `key`, the first nested_key */
    uint64_t key_len, nested_len, parts;
    value_t value;
} fields_t;

/* An item's fields, each checked; every key string must be UTF-8. */
static int item_fields(const uint8_t *p, const uint8_t *end, fields_t *f) {
    const uint8_t *body;
    uint64_t field, v, len;
    int wire;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if ((field == 1 || field == 2 || field == 16) && wire == 2) {
            if (!read_bytes(&p, end, &body, &len)) return P_BAD;
            if (field == 16) {
                f->value.json = body;
                f->value.json_len = len;
                f->value.has_json = 1;
            } else if (!valid_utf8(body, len)) {
                return P_BAD;
            } else if (field == 1) {
                f->key = body;
                f->key_len = len;
            } else if (f->parts++ == 0) {
                f->nested = body;
                f->nested_len = len;
            }
        } else if (field == 5 && wire == 0) {
            if (!read_varint(&p, end, &v)) return P_BAD;
            f->value.kind = V_INT;
            f->value.i = (int64_t)v;
        } else if (field == 6 && wire == 1) {
            if (end - p < 8) return P_BAD;
            uint64_t bits = load_le64(p);
            memcpy(&f->value.d, &bits, sizeof f->value.d);
            f->value.kind = V_DOUBLE;
            p += 8;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* HistoryItem: key=1, nested_key=2 (repeated), integer=5, number=6, value_json=16. The key is
 * `key` when not empty, else nested_key joined with ".". */
static int parse_item(const uint8_t *p, const uint8_t *end, out_t *o, item_t *item) {
    fields_t f = {p, p, 0, 0, 0, {V_NONE, 0, 0.0, NULL, 0, 0}};
    int r = item_fields(p, end, &f);
    if (r != P_OK) return r;
    const uint8_t *key = f.key;
    uint64_t key_len = f.key_len;
    uint8_t joined[KEY_JOIN];
    if (key_len == 0 && f.parts == 1) {
        key = f.nested;
        key_len = f.nested_len;
    } else if (key_len == 0 && f.parts > 1) {
        if ((r = join_key(p, end, joined, &key_len)) != P_OK) return r;
        key = joined;
    }
    value_t value = f.value;
    if (key_len == 5 && memcmp(key, "_step", 5) == 0) {
        r = step_value(&value, &item->step);
        if (r == P_DEFER) return r;
        item->is_step = 1;
        item->step_ok = r == 1;
        return P_OK;
    }
    int32_t id;
    r = key_id(o, key, key_len, &id);
    if (r != P_OK || !o->key_wanted[id]) return r;
    double x;
    r = metric_value(&value, &x);
    if (r != 1) return r;
    if (o->n >= o->cap) {
        o->full = FULL_VALUES;
        return P_FULL;
    }
    o->values[o->n] = x;
    o->key_ids[o->n] = id;
    o->n++;
    return P_OK;
}

/* HistoryStep: num=1 (0 when absent). */
static int parse_history_step(const uint8_t *p, const uint8_t *end, int64_t *num) {
    uint64_t field, v;
    int wire;
    *num = 0;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if (field == 1 && wire == 0) {
            if (!read_varint(&p, end, &v)) return P_BAD;
            *num = (int64_t)v;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* HistoryRecord: item=1 (repeated), step=2. The row's step is its last _step item when that holds
 * a whole number, else its last HistoryStep's num; a row with neither has no step. */
static int parse_history(const uint8_t *p, const uint8_t *end, int64_t number, out_t *o) {
    int64_t row = o->n, num = 0, step = 0;
    int has_num = 0, r, position = 0;
    item_t last = {0, 0, 0};
    uint64_t field, len;
    int wire;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if ((field == 1 || field == 2) && wire == 2) {
            if (!read_bytes(&p, end, &body, &len)) return P_BAD;
            if (field == 1) {
                item_t item = {0, 0, 0};
                o->position = position++;
                if ((r = parse_item(body, body + len, o, &item)) != P_OK) return r;
                if (item.is_step) last = item;
            } else {
                if ((r = parse_history_step(body, body + len, &num)) != P_OK) return r;
                has_num = 1;
            }
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    int has_step = 1;
    if (last.step_ok) {
        step = last.step;
    } else if (has_num) {
        step = num;
    } else {
        has_step = 0;
    }
    for (int64_t i = row; i < o->n; i++) {
        o->recs[i] = has_step ? number : -number;
        o->steps[i] = step;
    }
    return P_OK;
}

/* RunRecord: its id (1) and display_name (8) must be UTF-8; nothing else is read. */
static int parse_run(const uint8_t *p, const uint8_t *end) {
    uint64_t field, len;
    int wire;
    const uint8_t *body;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if ((field == 1 || field == 8) && wire == 2) {
            if (!read_bytes(&p, end, &body, &len) || !valid_utf8(body, len)) return P_BAD;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* Record: num=1, history=2, run=17. A record whose first field after num is of a type from 3 to
 * 15 (the summary after every history row, output, stats...) is not read further. */
static int parse_record(const uint8_t *r, int64_t n, int64_t number, out_t *o) {
    const uint8_t *p = r, *end = r + n, *body;
    uint64_t field, len;
    int wire, rc;
    if (n > 0 && r[0] == 0x08) {
        p = r + 1;
        if (!read_varint(&p, end, &len)) return P_BAD;
    }
    if (p < end && (*p >> 3) >= 3 && (*p >> 3) <= 15) return P_OK;
    p = r;
    while (p < end) {
        if (!read_key(&p, end, &field, &wire)) return P_BAD;
        if ((field == 2 || field == 17) && wire == 2) {
            if (!read_bytes(&p, end, &body, &len)) return P_BAD;
            rc = field == 2 ? parse_history(body, body + len, number, o) : parse_run(body, body + len);
            if (rc != P_OK) return rc;
        } else if (!skip_field(&p, end, wire)) {
            return P_BAD;
        }
    }
    return P_OK;
}

/* ---- the framing ----------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    int64_t size;
    int64_t last;
    uint8_t *scratch;
    int64_t scratch_cap;
    const crc_tables_t *crc;
    int64_t records, pending, damaged, first_damaged, need;
    int64_t defer[4]; /* the record handed back: in scratch, its start, length, number */
} walk_t;

static void damage(walk_t *w, int64_t at) {
    if (w->damaged++ == 0) w->first_damaged = at;
}

/* A whole record (FULL, or assembled up to its LAST; `data` is a FULL chunk's offset in buf). On
 * P_FULL nothing changed, so its last chunk is walked again. */
static int take_record(walk_t *w, out_t *o, const uint8_t *record, int64_t len, int64_t data) {
    int64_t kept = o->n, number = w->records + 1;
    int r = parse_record(record, len, number, o);
    if (r == P_FULL) {
        o->n = kept;
        return r;
    }
    w->records++;
    w->pending = -1;
    if (r == P_BAD) {
        o->n = kept;
        damage(w, number);
    } else if (r == P_DEFER) {
        o->n = kept;
        w->defer[0] = record == w->scratch;
        w->defer[1] = record == w->scratch ? 0 : data;
        w->defer[2] = len;
        w->defer[3] = number;
    }
    return r;
}

/* One chunk whose checksum holds, at buf[data, data + length). */
static int take_chunk(walk_t *w, out_t *o, uint8_t kind, int64_t data, int64_t length) {
    if (kind == C_FIRST || kind == C_FULL) {
        if (w->pending >= 0) damage(w, w->records + 1); /* a FIRST without its LAST */
        w->pending = -1;
        if (kind == C_FULL) return take_record(w, o, w->buf + data, length, data);
        memcpy(w->scratch, w->buf + data, (size_t)length); /* scratch_cap >= BLOCK: it fits */
        w->pending = length;
        return P_OK;
    }
    if (w->pending < 0) { /* MIDDLE or LAST without a FIRST */
        damage(w, w->records + 1);
        return P_OK;
    }
    if (w->pending + length > MAX_RECORD) {
        damage(w, w->records + 1);
        w->pending = -1;
        return P_OK;
    }
    if (w->pending + length > w->scratch_cap) {
        o->full = FULL_SCRATCH;
        w->need = w->pending + length;
        return P_FULL;
    }
    memcpy(w->scratch + w->pending, w->buf + data, (size_t)length);
    if (kind == C_MIDDLE) {
        w->pending += length;
        return P_OK;
    }
    return take_record(w, o, w->scratch, w->pending + length, 0);
}

/* Where a walk ended, without a reason to stop first: at the piece's end, or the file's. */
static int64_t piece_end(walk_t *w) {
    if (!w->last) return STOP_MORE;
    if (w->pending >= 0) damage(w, w->records + 1); /* a record the file ends inside */
    w->pending = -1;
    return STOP_END;
}

/* The chunks of buf from *pp on; a STOP_* reason, and *pp where the walk stopped. */
static int64_t walk(walk_t *w, out_t *o, int64_t *pp) {
    int64_t p = *pp, stop = STOP_MORE;
    while (p < w->size) {
        int64_t room = BLOCK - p % BLOCK;
        if (room < CHUNK_HEADER) { /* the block's trailer */
            p += room;
            continue;
        }
        if (w->size - p < CHUNK_HEADER) { /* a header cut short (in the last piece): the writer was stopped */
            damage(w, w->records + 1);
            w->pending = -1;
            *pp = w->size;
            return STOP_END;
        }
        const uint8_t *h = w->buf + p;
        uint32_t checksum = load_le32(h);
        int64_t length = (int64_t)h[4] | (int64_t)h[5] << 8, data = p + CHUNK_HEADER, next = data + length;
        uint8_t kind = h[6];
        if (kind == 0 && length == 0 && checksum == 0) { /* zero padding to the block's end */
            p += room;
        } else if (length > room - CHUNK_HEADER || kind < C_FULL || kind > C_LAST) {
            damage(w, w->records + 1);
            w->pending = -1;
            p += room; /* resynchronise at the next block */
        } else if (next > w->size) { /* the data cut short (in the last piece) */
            damage(w, w->records + 1);
            w->pending = -1;
            *pp = w->size;
            return STOP_END;
        } else if (chunk_crc(w->crc, kind, w->buf + data, (uint64_t)length) != checksum) {
            damage(w, w->records + 1);
            w->pending = -1;
            p = next + (BLOCK - next % BLOCK) % BLOCK;
        } else {
            int r = take_chunk(w, o, kind, data, length);
            if (r == P_FULL) {
                stop = STOP_FULL;
                break;
            }
            p = next;
            if (r == P_DEFER) {
                stop = STOP_DEFER;
                break;
            }
        }
    }
    if (stop == STOP_MORE) { /* not stopped inside: the piece is walked */
        p = w->size;
        stop = piece_end(w);
    }
    *pp = p;
    return stop;
}

/*
 * Walk buf[start, size): a piece of the file from file offset `offset`, a multiple of BLOCK; size
 * is a multiple of BLOCK too unless `last` says the piece ends the file. state: S_* (in and out).
 * wanted: the case-folded ASCII names the metric may have, each ended by a NUL. Per value: recs,
 * steps, values, key_ids (at most cap). Distinct keys: their bytes in key_bytes (at most
 * key_bytes_cap), key_start, key_len and key_wanted (at most key_cap), found through slots (n_slots,
 * a power of two above key_cap). scratch (scratch_cap >= BLOCK bytes) holds a record being
 * assembled. res gets R_* fields; returns a STOP_* reason, or -n when argument n (1-based) breaks
 * this contract (no NULL pointer but buf when size is 0, and the sizes above).
 */
int64_t drift_wandb_scan(const uint8_t *buf, int64_t start, int64_t size, int64_t offset, int64_t last,
                         const uint8_t *wanted, int64_t wanted_len, int64_t *state, int64_t *res, int64_t *recs,
                         int64_t *steps, double *values, int32_t *key_ids, int64_t cap, uint8_t *key_bytes,
                         int64_t key_bytes_cap, int64_t *key_start, int64_t *key_len, uint8_t *key_wanted,
                         int64_t key_cap, int32_t *slots, int64_t n_slots, uint8_t *scratch, int64_t scratch_cap) {
    if (size < 0 || (!last && size % BLOCK)) return -3;
    if (!buf && size) return -1;
    if (start < 0 || start > size) return -2;
    if (offset < 0 || offset % BLOCK) return -4;
    if (last != 0 && last != 1) return -5;
    if (wanted_len < 0 || (!wanted && wanted_len)) return -7;
    if (!state || state[S_RECORDS] < 0 || state[S_PENDING] < -1 || state[S_PENDING] > scratch_cap) return -8;
    if (!res) return -9;
    if (!recs) return -10;
    if (!steps) return -11;
    if (!values) return -12;
    if (!key_ids) return -13;
    if (cap < 1) return -14;
    if (!key_bytes) return -15;
    if (key_bytes_cap < 1) return -16;
    if (!key_start) return -17;
    if (!key_len) return -18;
    if (!key_wanted) return -19;
    if (key_cap < 1 || key_cap > INT32_MAX) return -20;
    if (!slots) return -21;
    if (n_slots <= key_cap || (n_slots & (n_slots - 1)) != 0 || (uint64_t)n_slots > SIZE_MAX / sizeof *slots)
        return -22;
    if (!scratch) return -23;
    if (scratch_cap < BLOCK) return -24;
    crc_tables_t crc;
    crc_init(&crc, CRC32_POLY);
    memset(slots, 0xFF, (size_t)n_slots * sizeof *slots);
    out_t o = {0, cap, recs, steps, values, key_ids, key_bytes, 0, key_bytes_cap, key_start, key_len, key_wanted,
               0, key_cap, slots, (uint64_t)n_slots - 1, wanted, wanted_len, 0, 0, {0}};
    memset(o.by_position, 0xFF, sizeof o.by_position);
    walk_t w = {buf, size, last, scratch, scratch_cap, &crc, state[S_RECORDS], state[S_PENDING], 0, 0, 0, {0, 0, 0, 0}};
    int64_t p = start, stop = walk(&w, &o, &p);
    state[S_RECORDS] = w.records;
    state[S_PENDING] = w.pending;
    res[R_CONSUMED] = p;
    res[R_VALUES] = o.n;
    res[R_KEYS] = o.n_keys;
    res[R_DAMAGED] = w.damaged;
    res[R_FIRST_DAMAGED] = w.first_damaged;
    res[R_FULL] = stop == STOP_FULL ? o.full : 0;
    res[R_NEED] = w.need;
    res[R_DEFER_IN_SCRATCH] = w.defer[0];
    res[R_DEFER_START] = w.defer[1];
    res[R_DEFER_LEN] = w.defer[2];
    res[R_DEFER_NUMBER] = w.defer[3];
    return stop;
}
