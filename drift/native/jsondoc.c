/*
 * A fast path for whole-document JSON logs (Hugging Face's trainer_state.json), loaded with ctypes.
 *
 * json.loads on a million-entry log_history builds a million dicts before the reader looks at one
 * of them; this scans the document once, validating it, and keeps only what the reader needs:
 * (step, value, entry index) for the entries of the top-level "log_history" array, the top-level
 * "global_step", how many entries hold the metric but are not a point, and (when asked, for the
 * hint of a run without points) the names of the entries' keys.
 *
 * It never decides that a document is broken or is not a trainer state: whenever it is not sure
 * that json.loads would accept the document and read it the same way (bytes that are not ASCII,
 * nesting deeper than MAX_DEPTH, a number too long for Python's int(), an escape in a top-level key,
 * a repeated "log_history", any syntax error...) it returns DEFER and Python decides. What it
 * accepts, it reads exactly as json.loads + the reader's int()/float() rules would:
 *   - Python's grammar: RFC 8259 plus NaN, Infinity and -Infinity; whitespace is space, tab, LF, CR;
 *     strings reject control characters and unknown escapes; nothing may follow the document;
 *   - a repeated key: the last one wins, as in a Python dict;
 *   - numbers round correctly, as Python's float() does: exactly in integer arithmetic when they
 *     have at most 19 digits, else through strtod_l in the "C" locale, which glibc rounds correctly
 *     (plain strtod would follow the process's LC_NUMERIC).
 * An entry whose step or metric is a string, or whose keys hold escapes, or whose step is a whole
 * number beyond int64, is handed back to Python by its byte span: that conversion has too many
 * corners (int(" 7 "), float("1_0"), a big int kept for the oversized count) to copy here.
 */
#define _GNU_SOURCE /* strtod_l, through jsonlex.h */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlex.h"

enum { JD_OK = 0, JD_DEFER = 1 };

/* What counts[] receives, in this order (the reader names them too). */
enum { C_POINTS, C_DEFERRED, C_IGNORED, C_HAS_GLOBAL_STEP, C_GLOBAL_STEP, C_KEY_BYTES, C_COUNTS };

enum { V_NONE, V_STRING, V_INT, V_FLOAT, V_NAN, V_POS_INF, V_NEG_INF, V_TRUE, V_FALSE, V_NULL, V_CONTAINER };

/* Python's json recursion stops near 1000 levels, less what the caller's stack already holds. */
#define MAX_DEPTH 200
#define MAX_KEYS 256
#define KEY_SLOTS 1024

typedef struct {
    int kind;
    const char *start;
    int64_t len;
} value_t;

typedef struct {
    const char *end;
    const char *metric;
    int64_t metric_len;
    int64_t *steps;
    double *values;
    int64_t *entries;
    int64_t capacity, n_points;
    int64_t *deferred; /* (entry, start, end) triples */
    int64_t deferred_capacity, n_deferred;
    int64_t ignored;
    char *keys; /* NULL: no key collection */
    int64_t keys_capacity, key_bytes;
    int n_keys;
    int32_t key_slots[KEY_SLOTS]; /* offset + 1 into keys, 0 when free */
    const char *base;
} scan_t;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* A string after its opening quote (json_string_end): past the closing quote, or NULL to defer.
 * A whole document is in the buffer, so a string it cuts short is simply not JSON. */
static const char *scan_string(const char *p, const char *end, int *escaped) {
    int cut = 0;
    return json_string_end(p, end, &cut, escaped);
}

static const char *scan_value(scan_t *s, const char *p, int depth, value_t *v);

/* An object or array after its opening bracket, its contents only validated. */
static const char *scan_container(scan_t *s, const char *p, int depth, char close) {
    const char *end = s->end;
    value_t v;
    if (depth > MAX_DEPTH) return NULL;
    p = skip_ws(p, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (close == '}') {
            int escaped = 0;
            if (p >= end || *p != '"') return NULL;
            p = scan_string(p + 1, end, &escaped);
            if (!p) return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
        }
        p = scan_value(s, p, depth, &v);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == close) return p + 1;
        return NULL;
    }
}

/* One value at nesting level depth (of the container holding it); NULL to defer. */
static const char *scan_value(scan_t *s, const char *p, int depth, value_t *v) {
    const char *end = s->end;
    v->start = p;
    v->len = 0;
    if (p >= end) return NULL;
    switch (*p) {
        case '"': {
            int escaped = 0;
            const char *q = scan_string(p + 1, end, &escaped);
            if (!q) return NULL;
            v->kind = V_STRING;
            return q;
        }
        case '{':
            v->kind = V_CONTAINER;
            return scan_container(s, p + 1, depth + 1, '}');
        case '[':
            v->kind = V_CONTAINER;
            return scan_container(s, p + 1, depth + 1, ']');
        case 't':
            v->kind = V_TRUE;
            return starts_with_word(p, end, "true", 4) ? p + 4 : NULL;
        case 'f':
            v->kind = V_FALSE;
            return starts_with_word(p, end, "false", 5) ? p + 5 : NULL;
        case 'n':
            v->kind = V_NULL;
            return starts_with_word(p, end, "null", 4) ? p + 4 : NULL;
        case 'N':
            v->kind = V_NAN;
            return starts_with_word(p, end, "NaN", 3) ? p + 3 : NULL;
        case 'I':
            v->kind = V_POS_INF;
            return starts_with_word(p, end, "Infinity", 8) ? p + 8 : NULL;
        default:
            break;
    }
    if (starts_with_word(p, end, "-Infinity", 9)) {
        v->kind = V_NEG_INF;
        return p + 9;
    }
    int is_int;
    const char *q = scan_number(p, end, &is_int);
    if (!q) return NULL;
    v->kind = is_int ? V_INT : V_FLOAT;
    v->len = q - p;
    return q;
}

/* A JSON integer literal as int64; 0 when it does not fit. */
static int parse_int(const value_t *v, int64_t *out) {
    const char *p = v->start, *end = v->start + v->len;
    int negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    uint64_t acc = 0;
    for (; p < end; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (acc > (UINT64_MAX - digit) / 10) return 0;
        acc = acc * 10 + digit;
    }
    if (negative) {
        if (acc > (uint64_t)INT64_MAX + 1) return 0;
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    } else {
        if (acc > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)acc;
    }
    return 1;
}

enum { CONV_OK, CONV_FAIL, CONV_BIG, CONV_PYTHON };

/* int(x), as the reader applies it to a parsed value. CONV_FAIL: int() raises; CONV_BIG: a whole
 * number beyond int64, which Python keeps for the oversized count; CONV_PYTHON: a string (or a
 * number this build cannot convert). */
static int to_step(const value_t *v, int64_t *out) {
    switch (v->kind) {
        case V_INT:
            return parse_int(v, out) ? CONV_OK : CONV_BIG;
        case V_FLOAT: {
            double x;
            if (!json_to_double(v->start, v->len, &x)) return CONV_PYTHON;
            if (!isfinite(x)) return CONV_FAIL;
            if (x < -9223372036854775808.0 || x >= 9223372036854775808.0) return CONV_BIG;
            *out = (int64_t)x; /* truncates toward zero, as int() does */
            return CONV_OK;
        }
        case V_TRUE: *out = 1; return CONV_OK;
        case V_FALSE: *out = 0; return CONV_OK;
        case V_STRING: return CONV_PYTHON;
        default: return CONV_FAIL; /* missing, null, NaN, infinities, objects, arrays */
    }
}

/* float(x), as the reader applies it to a parsed value. */
static int to_value(const value_t *v, double *out) {
    switch (v->kind) {
        case V_INT: {
            double x;
            if (!json_to_double(v->start, v->len, &x)) return CONV_PYTHON;
            /* float() of a huge int raises OverflowError; a Python int has no negative zero. */
            if (isinf(x)) return CONV_FAIL;
            *out = x == 0.0 ? 0.0 : x;
            return CONV_OK;
        }
        case V_FLOAT: return json_to_double(v->start, v->len, out) ? CONV_OK : CONV_PYTHON;
        case V_NAN: *out = NAN; return CONV_OK;
        case V_POS_INF: *out = INFINITY; return CONV_OK;
        case V_NEG_INF: *out = -INFINITY; return CONV_OK;
        case V_TRUE: *out = 1.0; return CONV_OK;
        case V_FALSE: *out = 0.0; return CONV_OK;
        case V_STRING: return CONV_PYTHON;
        default: return CONV_FAIL;
    }
}

/* Adds a raw key to the distinct set; 0 when the set is full (Python then collects). */
static int add_key(scan_t *s, const char *key, int64_t len) {
    uint32_t h = 2166136261u;
    for (int64_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 16777619u;
    for (uint32_t i = h % KEY_SLOTS;; i = (i + 1) % KEY_SLOTS) {
        int32_t at = s->key_slots[i];
        if (at == 0) break;
        /* A stored key equal to this one spans len + 1 bytes of the used part (its NUL included):
         * check that before comparing, or a short key stored near the end of the buffer is read
         * past the buffer's end. */
        int64_t offset = (int64_t)at - 1;
        if (s->key_bytes - offset < len + 1) continue;
        const char *known = s->keys + offset;
        if (known[len] == '\0' && memcmp(known, key, (size_t)len) == 0) return 1;
    }
    if (s->n_keys >= MAX_KEYS || s->key_bytes + len + 1 > s->keys_capacity) return 0;
    for (uint32_t i = h % KEY_SLOTS;; i = (i + 1) % KEY_SLOTS) {
        if (s->key_slots[i] == 0) {
            s->key_slots[i] = (int32_t)s->key_bytes + 1;
            break;
        }
    }
    memcpy(s->keys + s->key_bytes, key, (size_t)len);
    s->keys[s->key_bytes + len] = '\0';
    s->key_bytes += len + 1;
    s->n_keys++;
    return 1;
}

/* One log_history entry that is an object, after its '{'. */
static const char *scan_entry(scan_t *s, const char *p, int64_t index) {
    const char *end = s->end, *start = p - 1;
    value_t step = {V_NONE, 0, 0}, metric = {V_NONE, 0, 0}, v;
    int escaped_key = 0;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            int escaped = 0;
            if (p >= end || *p != '"') return NULL;
            const char *key = p + 1;
            p = scan_string(key, end, &escaped);
            if (!p) return NULL;
            int64_t key_len = (p - 1) - key;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
            p = scan_value(s, p, 3, &v);
            if (!p) return NULL;
            if (escaped) {
                escaped_key = 1;
            } else {
                if (key_len == 4 && memcmp(key, "step", 4) == 0) step = v;
                if (key_len == s->metric_len && memcmp(key, s->metric, (size_t)key_len) == 0) metric = v;
                if (s->keys && !add_key(s, key, key_len)) return NULL;
            }
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (*p == '}') {
                p++;
                break;
            }
            return NULL;
        }
    }
    int64_t n;
    double x;
    int st = CONV_OK, sv = CONV_OK;
    if (!escaped_key) {
        if (metric.kind == V_NONE) return p; /* eval and summary entries: not a point */
        st = to_step(&step, &n);
        sv = to_value(&metric, &x);
        if (st != CONV_PYTHON && sv != CONV_PYTHON) {
            if (st == CONV_FAIL || sv == CONV_FAIL) {
                s->ignored++;
                return p;
            }
            if (st == CONV_OK) {
                if (s->n_points >= s->capacity) return NULL;
                s->steps[s->n_points] = n;
                s->values[s->n_points] = x;
                s->entries[s->n_points] = index;
                s->n_points++;
                return p;
            }
        }
    }
    if (s->n_deferred >= s->deferred_capacity) return NULL;
    int64_t *d = s->deferred + 3 * s->n_deferred++;
    d[0] = index;
    d[1] = start - s->base;
    d[2] = p - s->base;
    return p;
}

/* The log_history array, after its '['. */
static const char *scan_history(scan_t *s, const char *p) {
    const char *end = s->end;
    value_t v;
    p = skip_ws(p, end);
    if (p < end && *p == ']') return p + 1;
    for (int64_t index = 0;; index++) {
        if (p < end && *p == '{')
            p = scan_entry(s, p + 1, index);
        else
            p = scan_value(s, p, 2, &v);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == ']') return p + 1;
        return NULL;
    }
}

/*
 * Scan the document buf[0, len). Points go to steps/values/entries (capacity of them), entries
 * left to Python to deferred as (entry index, start, end) byte spans (deferred_capacity of them).
 * With keys non-NULL, the distinct keys of every log_history entry are collected there, each
 * followed by a NUL byte. counts[] receives C_COUNTS numbers (see the enum above).
 * Returns JD_OK, JD_DEFER when Python must read the whole document, or -n when argument n
 * (1-based) breaks this contract: lengths and capacities are not negative, a pointer is NULL only
 * when its length or capacity is 0 (keys may be NULL: no collection), keys_capacity fits the key
 * table's 32-bit offsets, and counts is there.
 */
int drift_jsondoc_scan(const char *buf, int64_t len, const char *metric, int64_t metric_len,
                       int64_t *steps, double *values, int64_t *entries, int64_t capacity,
                       int64_t *deferred, int64_t deferred_capacity,
                       char *keys, int64_t keys_capacity, int64_t *counts) {
    if (len < 0) return -2;
    if (!buf && len) return -1;
    if (metric_len < 0) return -4;
    if (!metric && metric_len) return -3;
    if (capacity < 0) return -8;
    if (!steps && capacity) return -5;
    if (!values && capacity) return -6;
    if (!entries && capacity) return -7;
    if (deferred_capacity < 0 || deferred_capacity > INT64_MAX / 3) return -10;
    if (!deferred && deferred_capacity) return -9;
    if (keys_capacity < 0 || keys_capacity >= INT32_MAX) return -12;
    if (!counts) return -13;
    scan_t *s = calloc(1, sizeof *s);
    if (!s) return JD_DEFER;
    s->base = buf;
    s->end = buf + len;
    s->metric = metric;
    s->metric_len = metric_len;
    s->steps = steps;
    s->values = values;
    s->entries = entries;
    s->capacity = capacity;
    s->deferred = deferred;
    s->deferred_capacity = deferred_capacity;
    s->keys = keys;
    s->keys_capacity = keys_capacity;

    int status = JD_DEFER, seen_history = 0, has_gs = 0;
    int64_t gs = 0;
    const char *end = s->end, *p = skip_ws(buf, end);
    value_t v;
    if (p >= end || *p != '{') goto done; /* Python says what the document is instead */
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') goto done; /* no log_history */
    for (;;) {
        int escaped = 0;
        if (p >= end || *p != '"') goto done;
        const char *key = p + 1;
        p = scan_string(key, end, &escaped);
        if (!p || escaped) goto done; /* an escaped key may spell log_history */
        int64_t key_len = (p - 1) - key;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') goto done;
        p = skip_ws(p + 1, end);
        if (key_len == 11 && memcmp(key, "log_history", 11) == 0) {
            /* A repeated log_history: Python keeps the last; not worth undoing the first here. */
            if (seen_history || p >= end || *p != '[') goto done;
            seen_history = 1;
            p = scan_history(s, p + 1);
        } else {
            p = scan_value(s, p, 1, &v);
            if (p && key_len == 11 && memcmp(key, "global_step", 11) == 0) {
                has_gs = v.kind == V_INT;
                if (has_gs && !parse_int(&v, &gs)) goto done;
            }
        }
        if (!p) goto done;
        p = skip_ws(p, end);
        if (p >= end) goto done;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p != '}') goto done;
        p = skip_ws(p + 1, end);
        break;
    }
    if (p == end && seen_history) status = JD_OK;
done:
    counts[C_POINTS] = s->n_points;
    counts[C_DEFERRED] = s->n_deferred;
    counts[C_IGNORED] = s->ignored;
    counts[C_HAS_GLOBAL_STEP] = has_gs;
    counts[C_GLOBAL_STEP] = gs;
    counts[C_KEY_BYTES] = s->key_bytes;
    free(s);
    return status;
}
