/*
 * A fast path for JSON-lines training logs, loaded with ctypes (no Python API, no dependency).
 *
 * It classifies each line of a buffer and, for the simple and common case, extracts the step and
 * the metric. It never decides that a line is broken: anything it does not fully understand
 * (escapes, nested values, non-ASCII bytes, string-typed numbers, surrounding whitespace, invalid
 * JSON) is deferred to Python's json module, which keeps the reference semantics. What it does
 * accept it accepts exactly as json.loads + int() + float() would:
 *   - a flat object of string keys and values that are JSON numbers (RFC 8259 grammar), the
 *     literals true/false/null, Python's NaN/Infinity/-Infinity, or plain ASCII strings;
 *   - the last occurrence of a duplicate key wins, as in a Python dict;
 *   - numbers are converted with strtod, which glibc rounds correctly, as Python's float() does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "jsonlex.h"

enum { ST_STEP = 0, ST_OTHER = 1, ST_IGNORED = 2, ST_DEFER = 3 };
enum { V_NONE, V_STRING, V_INT, V_FLOAT, V_NAN, V_POS_INF, V_NEG_INF, V_OTHER };

typedef struct {
    int kind;
    const char *start;
    int64_t len;
} value_t;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* Scan a string starting after its opening quote. Returns a pointer past the closing quote, or
 * NULL when the string holds something the fast path leaves to Python. */
static const char *scan_string(const char *p, const char *end) {
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\' || c < 0x20 || c >= 0x80) return NULL;
        p++;
    }
    return NULL;
}

/* Parse one value; returns the pointer after it or NULL to defer. */
static const char *scan_value(const char *p, const char *end, value_t *v) {
    v->start = p;
    if (p >= end) return NULL;
    if (*p == '"') {
        const char *q = scan_string(p + 1, end);
        if (!q) return NULL;
        v->kind = V_STRING;
        v->start = p + 1;
        v->len = (q - 1) - (p + 1);
        return q;
    }
    if (starts_with_word(p, end, "true", 4) || starts_with_word(p, end, "null", 4)) { v->kind = V_OTHER; v->len = 4; return p + 4; }
    if (starts_with_word(p, end, "false", 5)) { v->kind = V_OTHER; v->len = 5; return p + 5; }
    if (starts_with_word(p, end, "NaN", 3)) { v->kind = V_NAN; v->len = 3; return p + 3; }
    if (starts_with_word(p, end, "Infinity", 8)) { v->kind = V_POS_INF; v->len = 8; return p + 8; }
    if (starts_with_word(p, end, "-Infinity", 9)) { v->kind = V_NEG_INF; v->len = 9; return p + 9; }
    int is_int;
    const char *q = scan_number(p, end, &is_int);
    if (!q) return NULL;  /* objects, arrays and anything else: Python decides */
    v->kind = is_int ? V_INT : V_FLOAT;
    v->len = q - p;
    return q;
}

static double to_double(const value_t *v) {
    char small[64];
    char *text = small;
    if (v->len >= (int64_t)sizeof small) {
        text = malloc((size_t)v->len + 1);
        if (!text) return NAN;
    }
    memcpy(text, v->start, (size_t)v->len);
    text[v->len] = '\0';
    double x = strtod(text, NULL);
    if (text != small) free(text);
    return x;
}

/* int(x) for a JSON number, as Python does it. Returns 1 with *out set, 0 when Python's int()
 * fails (NaN, infinity), or -1 when the result is a whole number beyond int64, which the
 * Python side counts the way the seed does. */
static int to_step(const value_t *v, int64_t *out) {
    if (v->kind == V_INT) {
        const char *p = v->start, *end = v->start + v->len;
        int negative = 0;
        if (*p == '-') { negative = 1; p++; }
        uint64_t acc = 0;
        for (; p < end; p++) {
            uint64_t digit = (uint64_t)(*p - '0');
            if (acc > (UINT64_MAX - digit) / 10) return -1;
            acc = acc * 10 + digit;
        }
        if (negative) {
            if (acc > (uint64_t)INT64_MAX + 1) return -1;
            *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
        } else {
            if (acc > (uint64_t)INT64_MAX) return -1;
            *out = (int64_t)acc;
        }
        return 1;
    }
    if (v->kind == V_FLOAT) {
        double x = to_double(v);
        if (!isfinite(x)) return 0;
        if (x < -9223372036854775808.0 || x >= 9223372036854775808.0) return -1;
        *out = (int64_t)x;  /* C truncates toward zero, as int() does */
        return 1;
    }
    return 0;
}

/* What a line must hold to be a point: the step and metric keys, and optionally a filter
 * key whose value must be the given string (dlm: type == "step"). */
typedef struct {
    const char *step;
    int64_t step_len;
    const char *metric;
    int64_t metric_len;
    const char *filter_key;
    int64_t filter_key_len; /* 0: no filter, every record holding the metric is a point */
    const char *filter_value;
    int64_t filter_value_len;
} keys_t;

static int same(const char *a, int64_t a_len, const char *b, int64_t b_len) {
    return a_len == b_len && memcmp(a, b, (size_t)a_len) == 0;
}

/* Classify one line [p, end) (no newline). */
static int scan_line(const char *p, const char *end, const keys_t *keys, int64_t *step_out, double *value_out) {
    value_t filter = {V_NONE, 0, 0}, step = {V_NONE, 0, 0}, metric_v = {V_NONE, 0, 0};
    if (p >= end || *p != '{' || end[-1] != '}') return ST_DEFER;
    p = skip_ws(p + 1, end);
    if (*p == '}') {
        p++;
    } else {
        for (;;) {
            if (p >= end || *p != '"') return ST_DEFER;
            const char *key = p + 1;
            const char *q = scan_string(key, end);
            if (!q) return ST_DEFER;
            int64_t key_len = (q - 1) - key;
            p = skip_ws(q, end);
            if (p >= end || *p != ':') return ST_DEFER;
            p = skip_ws(p + 1, end);
            value_t v;
            p = scan_value(p, end, &v);
            if (!p) return ST_DEFER;
            if (keys->filter_key_len && same(key, key_len, keys->filter_key, keys->filter_key_len)) filter = v;
            if (same(key, key_len, keys->step, keys->step_len)) step = v;
            if (same(key, key_len, keys->metric, keys->metric_len)) metric_v = v;
            p = skip_ws(p, end);
            if (p >= end) return ST_DEFER;
            if (*p == ',') { p = skip_ws(p + 1, end); continue; }
            if (*p == '}') { p++; break; }
            return ST_DEFER;
        }
    }
    if (p != end) return ST_DEFER;  /* extra data after the object */

    if (keys->filter_key_len) {
        /* A number or literal matches by its JSON text, which Python decides. */
        if (filter.kind != V_NONE && filter.kind != V_STRING) return ST_DEFER;
        if (!(filter.kind == V_STRING && same(filter.start, filter.len, keys->filter_value, keys->filter_value_len)))
            return ST_OTHER;
    } else if (metric_v.kind == V_NONE) {
        return ST_OTHER;  /* without a filter, a record is a point only when it holds the metric */
    }
    /* Strings, booleans and null go through Python's int()/float() rules. */
    if (step.kind == V_STRING || step.kind == V_OTHER) return ST_DEFER;
    if (metric_v.kind == V_STRING || metric_v.kind == V_OTHER) return ST_DEFER;
    if (step.kind == V_NONE || metric_v.kind == V_NONE) return ST_IGNORED;
    int ok = to_step(&step, step_out);
    if (ok < 0) return ST_DEFER;
    if (ok == 0) return ST_IGNORED;
    switch (metric_v.kind) {
        case V_NAN: *value_out = NAN; break;
        case V_POS_INF: *value_out = INFINITY; break;
        case V_NEG_INF: *value_out = -INFINITY; break;
        default: {
            double x = to_double(&metric_v);
            /* float() of a huge *integer* raises OverflowError in Python; a float literal is inf.
             * A Python int has no negative zero: the literal -0 is the float 0.0. */
            if (metric_v.kind == V_INT && isinf(x)) return ST_IGNORED;
            if (metric_v.kind == V_INT && x == 0.0) x = 0.0;
            *value_out = x;
        }
    }
    return ST_STEP;
}

/*
 * Scan buf[0, len), split at '\n'; the last line may lack its newline. For line i, status[i] is
 * one of ST_* and line_start[i] its offset (line_start[lines] = len); each ST_STEP line appends
 * (steps, values, line_index). Returns the number of lines, or -1 when max_lines is too small.
 * *n_points receives the number of step records.
 */
int64_t drift_scan(const char *buf, int64_t len, const char *step_key, int64_t step_len, const char *metric,
                   int64_t metric_len, const char *filter_key, int64_t filter_key_len, const char *filter_value,
                   int64_t filter_value_len, uint8_t *status, int64_t *line_start, int64_t max_lines,
                   int64_t *steps, double *values, int64_t *line_index, int64_t *n_points) {
    keys_t keys = {step_key, step_len, metric, metric_len, filter_key, filter_key_len, filter_value, filter_value_len};
    int64_t line = 0, k = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (line >= max_lines) return -1;
        line_start[line] = p - buf;
        int64_t step = 0;
        double value = 0.0;
        int st = scan_line(p, stop, &keys, &step, &value);
        status[line] = (uint8_t)st;
        if (st == ST_STEP) {
            steps[k] = step;
            values[k] = value;
            line_index[k] = line;
            k++;
        }
        line++;
        p = nl ? nl + 1 : end;
    }
    line_start[line] = len;
    *n_points = k;
    return line;
}

/* Number of lines in buf[0, len) as drift_scan counts them (a last line may lack its newline). */
int64_t drift_count_lines(const char *buf, int64_t len) {
    int64_t lines = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines++;
        p = nl ? nl + 1 : end;
    }
    return lines;
}
