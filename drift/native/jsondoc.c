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
 *     have at most 19 digits, else through strtod, which glibc rounds correctly.
 * An entry whose step or metric is a string, or whose keys hold escapes, or whose step is a whole
 * number beyond int64, is handed back to Python by its byte span: that conversion has too many
 * corners (int(" 7 "), float("1_0"), a big int kept for the oversized count) to copy here.
 */
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

static int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string after its opening quote; returns the pointer past the closing quote, or NULL to defer.
 * *escaped is set when the string holds an escape, so its raw bytes are not its text. */
static const char *scan_string(const char *p, const char *end, int *escaped) {
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) return NULL;
            switch (p[1]) {
                case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                    p += 2;
                    break;
                case 'u':
                    if (end - p < 6) return NULL;
                    for (int i = 2; i < 6; i++)
                        if (!is_hex((unsigned char)p[i])) return NULL;
                    p += 6;
                    break;
                default:
                    return NULL;
            }
            continue;
        }
        if (c < 0x20 || c >= 0x80) return NULL;
        p++;
    }
    return NULL;
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

/* Powers of ten that a double holds exactly, and that a uint64 holds. */
static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const uint64_t POW10_INT[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull,
                                     10000000000000000000ull};

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

static int bit_length(u128 x) {
    uint64_t high = (uint64_t)(x >> 64), low = (uint64_t)x;
    if (high) return 128 - __builtin_clzll(high);
    return low ? 64 - __builtin_clzll(low) : 0;
}

/* The double nearest to (q + a fraction) * 2^scale, q of at least 54 bits; the fraction is below
 * q's last bit and is nonzero when sticky. Ties go to even, as IEEE rounding does. */
static double round_bits(u128 q, int sticky, int scale) {
    int shift = bit_length(q) - 53;
    uint64_t mantissa = (uint64_t)(q >> shift);
    u128 rest = q & (((u128)1 << shift) - 1), half = (u128)1 << (shift - 1);
    if (rest > half || (rest == half && (sticky || (mantissa & 1)))) mantissa++;
    int exponent = scale + shift + 52;
    if (mantissa >> 53) {
        mantissa >>= 1;
        exponent++;
    }
    /* Within a normal double here: the callers' values lie between 1e-19 and 1e39. */
    uint64_t bits = ((uint64_t)(exponent + 1023) << 52) | (mantissa & ((1ull << 52) - 1));
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* m * 10^exp10 for up to 19 digits, exactly rounded: integer arithmetic keeps every bit that
 * decides the rounding (the quotient's low bits and whether the remainder is zero). This is what
 * full-precision values (Python's repr: 16 or 17 digits) need, which the path above cannot take. */
static int exact_double(uint64_t m, int64_t exp10, double *out) {
    if (exp10 >= 0) {
        if (exp10 > 19) return 0;
        u128 n = (u128)m * POW10_INT[exp10];
        *out = bit_length(n) <= 53 ? (double)(uint64_t)n : round_bits(n, 0, 0);
        return 1;
    }
    if (exp10 < -19) return 0;
    int s = 127 - bit_length(m);
    u128 n = (u128)m << s, d = POW10_INT[-exp10];
    u128 q = n / d, r = n % d;
    if (bit_length(q) < 54) return 0;
    *out = round_bits(q, r != 0, -s);
    return 1;
}
#endif

/* A validated JSON number as a double, without strtod when that can be done exactly; 0 when not.
 * Clinger's fast path first: with at most 15 significant digits the digits are an exact double, as
 * is 10^e for |e| <= 22, so one multiplication or division rounds once, correctly. */
static int fast_double(const char *p, const char *end, double *out) {
    int negative = 0, significant = 0;
    uint64_t m = 0;
    int64_t exp10 = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (m == 0 && *p == '0') continue;
        if (++significant > 19) return 0;
        m = m * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            exp10--;
            if (m == 0 && *p == '0') continue;
            if (++significant > 19) return 0;
            m = m * 10 + (uint64_t)(*p - '0');
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int exp_negative = 0;
        int64_t e = 0;
        p++;
        if (*p == '+' || *p == '-') exp_negative = *p++ == '-';
        for (; p < end; p++) {
            if (e > 1000) return 0;
            e = e * 10 + (*p - '0');
        }
        exp10 += exp_negative ? -e : e;
    }
    double x = (double)m;
    if (m != 0) {
        if (significant <= 15 && exp10 >= -22 && exp10 <= 22) {
            x = exp10 < 0 ? x / POW10[-exp10] : x * POW10[exp10];
        } else {
#if defined(__SIZEOF_INT128__)
            if (!exact_double(m, exp10, &x)) return 0;
#else
            return 0;
#endif
        }
    }
    *out = negative ? -x : x;
    return 1;
}

static double to_double(const value_t *v) {
    double fast;
    if (fast_double(v->start, v->start + v->len, &fast)) return fast;
    char text[MAX_NUMBER_CHARS + 1];
    memcpy(text, v->start, (size_t)v->len);
    text[v->len] = '\0';
    return strtod(text, NULL);
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
 * number beyond int64, which Python keeps for the oversized count; CONV_PYTHON: a string. */
static int to_step(const value_t *v, int64_t *out) {
    switch (v->kind) {
        case V_INT:
            return parse_int(v, out) ? CONV_OK : CONV_BIG;
        case V_FLOAT: {
            double x = to_double(v);
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
            double x = to_double(v);
            /* float() of a huge int raises OverflowError; a Python int has no negative zero. */
            if (isinf(x)) return CONV_FAIL;
            *out = x == 0.0 ? 0.0 : x;
            return CONV_OK;
        }
        case V_FLOAT: *out = to_double(v); return CONV_OK;
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
        const char *known = s->keys + at - 1;
        if (memcmp(known, key, (size_t)len) == 0 && known[len] == '\0') return 1;
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
 * Returns JD_OK, or JD_DEFER when Python must read the whole document.
 */
int drift_jsondoc_scan(const char *buf, int64_t len, const char *metric, int64_t metric_len,
                       int64_t *steps, double *values, int64_t *entries, int64_t capacity,
                       int64_t *deferred, int64_t deferred_capacity,
                       char *keys, int64_t keys_capacity, int64_t *counts) {
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
