/*
 * A fast path for JSON-lines training logs, loaded with ctypes (no Python API, no dependency).
 *
 * It classifies each line of a buffer and, for the simple and common case, extracts the step and
 * the metric. What it does accept it accepts exactly as json.loads + int() + float() would:
 *   - an object of ASCII string keys without escapes, whose values are JSON numbers (RFC 8259
 *     grammar), the literals true/false/null, Python's NaN/Infinity/-Infinity, ASCII strings
 *     (escapes allowed), or objects and arrays of those (validated, never read: a step, metric
 *     or filter value that is one goes to Python);
 *   - the last occurrence of a duplicate key wins, as in a Python dict;
 *   - numbers are converted exactly, as Python's float() does, whatever the process locale.
 * Lines that need no judgement stay here and are only counted: blank lines, records that are not
 * points, records that hold the metric but no usable step or value (ignored), and lines that
 * json.loads certainly refuses (broken): one that cannot start a JSON value, such as a comment or
 * a console line, or a flat object cut off before it ends. Anything else it does not fully
 * understand (escaped keys, non-ASCII bytes, string-typed numbers, surrounding whitespace,
 * nesting deeper than MAX_DEPTH) is handed back by its byte span to Python's json module, which keeps the reference
 * semantics (the reader also hands a broken first line of a file to json.loads, for its error).
 */
#define _GNU_SOURCE /* strtod_l, through jsonlex.h */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlex.h"

/* How a line was classified. */
enum { ST_STEP, ST_OTHER, ST_IGNORED, ST_DEFER, ST_BLANK, ST_BROKEN };
/* Why drift_scan returned (a negative return is an argument that breaks its contract). */
enum { SCAN_END = 0, SCAN_FULL = 1 };
/* The fields of the res array; the numbers are shared with drift/readers/jsonl.py. */
enum {
    R_CONSUMED,      /* offset of the first line not walked */
    R_LINES,         /* lines walked */
    R_POINTS,        /* step records written to steps/values/point_lines */
    R_DEFERRED,      /* lines written to deferred as (line, start, end) */
    R_IGNORED,       /* records that hold the metric but no usable step or value */
    R_FIRST_IGNORED, /* the first one's line, start and end; line -1 for none */
    R_IGNORED_START,
    R_IGNORED_END,
    R_BROKEN,        /* lines json.loads refuses */
    R_FIRST_BROKEN,  /* the first one's line, start and end; line -1 for none */
    R_BROKEN_START,
    R_BROKEN_END,
    R_SIZE
};
/* V_ESCAPED: a string holding escapes; V_NESTED: an object or array (validated, not read). */
enum { V_NONE, V_STRING, V_INT, V_FLOAT, V_NAN, V_POS_INF, V_NEG_INF, V_OTHER, V_ESCAPED, V_NESTED };

/* Python's json recursion stops near 1000 levels, less what the caller's stack already holds. */
#define MAX_DEPTH 200

typedef struct {
    int kind;
    const char *start;
    int64_t len;
} value_t;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* What Python's str.strip() removes, among ASCII bytes. */
static int strip_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* Whether an ASCII byte can begin a value json.loads accepts. */
static int starts_value(unsigned char c) {
    return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' ||
           c == 'n' || c == 'N' || c == 'I';
}

/* Scan a string starting after its opening quote. Returns a pointer past the closing quote, or
 * NULL when the string holds something the fast path leaves to Python, or when the line ends
 * first (then *cut is set). */
static const char *scan_string(const char *p, const char *end, int *cut) {
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\' || c < 0x20 || c >= 0x80) return NULL;
        p++;
    }
    *cut = 1;
    return NULL;
}

static const char *scan_value(const char *p, const char *end, value_t *v, int *cut);

/* An object or array at p, nesting depth deep, validated as json.loads reads it; NULL to defer. */
static const char *skip_nested(const char *p, const char *end, int depth, int *cut) {
    char close = *p == '{' ? '}' : ']';
    if (depth > MAX_DEPTH) return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (p >= end) {
            *cut = 1;
            return NULL;
        }
        if (close == '}') {
            int escaped = 0;
            if (*p != '"') return NULL;
            p = json_string_end(p + 1, end, cut, &escaped);
            if (!p) return NULL;
            p = skip_ws(p, end);
            if (p >= end) {
                *cut = 1;
                return NULL;
            }
            if (*p != ':') return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end) {
                *cut = 1;
                return NULL;
            }
        }
        if (*p == '{' || *p == '[') {
            p = skip_nested(p, end, depth + 1, cut);
        } else {
            value_t v;
            p = scan_value(p, end, &v, cut);
        }
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end) {
            *cut = 1;
            return NULL;
        }
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == close) return p + 1;
        return NULL;
    }
}

/* Parse one value; returns the pointer after it or NULL to defer (*cut set when the line ended). */
static const char *scan_value(const char *p, const char *end, value_t *v, int *cut) {
    v->start = p;
    if (p >= end) {
        *cut = 1;
        return NULL;
    }
    if (*p == '"') {
        int escaped = 0;
        const char *q = json_string_end(p + 1, end, cut, &escaped);
        if (!q) return NULL;
        v->kind = escaped ? V_ESCAPED : V_STRING;
        v->start = p + 1;
        v->len = (q - 1) - (p + 1);
        return q;
    }
    if (*p == '{' || *p == '[') {
        const char *q = skip_nested(p, end, 1, cut);
        if (!q) return NULL;
        v->kind = V_NESTED;
        v->len = q - p;
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

/* int(x) for a JSON number, as Python does it. Returns 1 with *out set, 0 when Python's int()
 * fails (NaN, infinity), or -1 when Python must decide: a whole number beyond int64, which the
 * Python side counts the way the seed does, or a number this build cannot convert. */
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
        double x;
        if (!json_to_double(v->start, v->len, &x)) return -1;
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
    return a_len == b_len && (a_len == 0 || memcmp(a, b, (size_t)a_len) == 0);
}

/* A line the flat-object scan does not take: blank, certainly broken, or Python's to read. */
static int classify_other(const char *p, const char *end) {
    while (p < end && strip_space((unsigned char)*p)) p++;
    if (p == end) return ST_BLANK;
    unsigned char c = (unsigned char)*p;
    /* Whatever the rest holds, not UTF-8 or not JSON: json.loads refuses it either way. */
    if (c < 0x80 && !starts_value(c)) return ST_BROKEN;
    /* An object, array or string that the line never closes (a record cut off): its closing byte
     * appears nowhere after it. */
    const char *close = c == '{' ? "}" : c == '[' ? "]" : c == '"' ? "\"" : NULL;
    if (close && !memchr(p + 1, close[0], (size_t)(end - p - 1))) return ST_BROKEN;
    return ST_DEFER;
}

static int scan_object(const char *p, const char *end, const keys_t *keys, int64_t *step_out, double *value_out);

/* Classify one line [p, end) (no newline). */
static int scan_line(const char *p, const char *end, const keys_t *keys, int64_t *step_out, double *value_out) {
    if (p < end && *p == '{') {
        int st = scan_object(p, end, keys, step_out, value_out);
        if (st != ST_DEFER) return st;
    }
    return classify_other(p, end);
}

/* A line that starts with '{', as a flat object. */
static int scan_object(const char *p, const char *end, const keys_t *keys, int64_t *step_out, double *value_out) {
    value_t filter = {V_NONE, 0, 0}, step = {V_NONE, 0, 0}, metric_v = {V_NONE, 0, 0};
    int cut = 0;
    /* A flat object whose line ends before it closes is broken: every token before the cut was
     * one json.loads reads the same way, and it then finds the end of its input. */
#define DEFER_OR_BROKEN return cut ? ST_BROKEN : ST_DEFER
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p >= end) { cut = 1; DEFER_OR_BROKEN; }
            if (*p != '"') return ST_DEFER;
            const char *key = p + 1;
            const char *q = scan_string(key, end, &cut);
            if (!q) DEFER_OR_BROKEN;
            int64_t key_len = (q - 1) - key;
            p = skip_ws(q, end);
            if (p >= end) { cut = 1; DEFER_OR_BROKEN; }
            if (*p != ':') return ST_DEFER;
            p = skip_ws(p + 1, end);
            value_t v;
            p = scan_value(p, end, &v, &cut);
            if (!p) DEFER_OR_BROKEN;
            if (keys->filter_key_len && same(key, key_len, keys->filter_key, keys->filter_key_len)) filter = v;
            if (same(key, key_len, keys->step, keys->step_len)) step = v;
            if (same(key, key_len, keys->metric, keys->metric_len)) metric_v = v;
            p = skip_ws(p, end);
            if (p >= end) { cut = 1; DEFER_OR_BROKEN; }
            if (*p == ',') { p = skip_ws(p + 1, end); continue; }
            if (*p == '}') { p++; break; }
            return ST_DEFER;
        }
    }
#undef DEFER_OR_BROKEN
    if (p != end) return ST_DEFER;  /* extra data (or whitespace) after the object */

    if (keys->filter_key_len) {
        /* A number, literal, escaped string or container matches by its JSON text: Python decides. */
        if (filter.kind != V_NONE && filter.kind != V_STRING) return ST_DEFER;
        if (!(filter.kind == V_STRING && same(filter.start, filter.len, keys->filter_value, keys->filter_value_len)))
            return ST_OTHER;
    } else if (metric_v.kind == V_NONE) {
        return ST_OTHER;  /* without a filter, a record is a point only when it holds the metric */
    }
    /* Strings, booleans, null, objects and arrays go through Python's int()/float() rules. */
    if (step.kind == V_STRING || step.kind >= V_OTHER) return ST_DEFER;
    if (metric_v.kind == V_STRING || metric_v.kind >= V_OTHER) return ST_DEFER;
    if (step.kind == V_NONE || metric_v.kind == V_NONE) return ST_IGNORED;
    int ok = to_step(&step, step_out);
    if (ok < 0) return ST_DEFER;
    if (ok == 0) return ST_IGNORED;
    switch (metric_v.kind) {
        case V_NAN: *value_out = NAN; break;
        case V_POS_INF: *value_out = INFINITY; break;
        case V_NEG_INF: *value_out = -INFINITY; break;
        default: {
            double x;
            if (!json_to_double(metric_v.start, metric_v.len, &x)) return ST_DEFER;
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
 * Walk the lines of buf[start, len), split at '\n' (the last line may lack its newline); the
 * line at start is line number line0. Step records go to (steps, values, point_lines), at most
 * point_cap of them; lines left to Python go to deferred as (line, start offset, end offset)
 * triples, at most deferred_cap; everything else is only counted, into res (R_SIZE fields).
 * Returns SCAN_END when the buffer is walked, SCAN_FULL when an output array is full (the caller
 * calls again from res[R_CONSUMED]), or -n when argument n (1-based) breaks this contract:
 * lengths, offsets and line numbers are not negative, start <= len, both capacities are at least
 * one (so each call makes progress), a pointer is NULL only when its length is 0 (the filter key
 * and value may be NULL when filter_key_len is 0: no filter), and res is there.
 */
int64_t drift_scan(const char *buf, int64_t len, int64_t start, int64_t line0, const char *step_key,
                   int64_t step_len, const char *metric, int64_t metric_len, const char *filter_key,
                   int64_t filter_key_len, const char *filter_value, int64_t filter_value_len, int64_t *steps,
                   double *values, int64_t *point_lines, int64_t point_cap, int64_t *deferred,
                   int64_t deferred_cap, int64_t *res) {
    if (len < 0) return -2;
    if (!buf && len) return -1;
    if (start < 0 || start > len) return -3;
    if (line0 < 0) return -4;
    if (step_len < 0) return -6;
    if (!step_key && step_len) return -5;
    if (metric_len < 0) return -8;
    if (!metric && metric_len) return -7;
    if (filter_key_len < 0) return -10;
    if (!filter_key && filter_key_len) return -9;
    if (filter_value_len < 0) return -12;
    if (!filter_value && filter_value_len && filter_key_len) return -11;
    if (point_cap < 1) return -16;
    if (!steps) return -13;
    if (!values) return -14;
    if (!point_lines) return -15;
    if (deferred_cap < 1 || deferred_cap > INT64_MAX / 3) return -18;
    if (!deferred) return -17;
    if (!res) return -19;

    keys_t keys = {step_key, step_len, metric, metric_len, filter_key, filter_key_len, filter_value, filter_value_len};
    int64_t line = line0, k = 0, d = 0, ignored = 0, broken = 0;
    int64_t first_ignored = -1, ignored_start = 0, ignored_end = 0;
    int64_t first_broken = -1, broken_start = 0, broken_end = 0;
    int64_t stop = SCAN_END;
    const char *p = buf + start, *end = buf + len;
    while (p < end) {
        if (*p == '\n') { /* a blank line, the cheapest case a log can repeat */
            p++;
            line++;
            continue;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop_at = nl ? nl : end;
        int64_t step = 0;
        double value = 0.0;
        switch (scan_line(p, stop_at, &keys, &step, &value)) {
            case ST_STEP:
                if (k == point_cap) {
                    stop = SCAN_FULL;
                    goto done;
                }
                steps[k] = step;
                values[k] = value;
                point_lines[k] = line;
                k++;
                break;
            case ST_DEFER:
                if (d == deferred_cap) {
                    stop = SCAN_FULL;
                    goto done;
                }
                deferred[3 * d] = line;
                deferred[3 * d + 1] = p - buf;
                deferred[3 * d + 2] = stop_at - buf;
                d++;
                break;
            case ST_IGNORED:
                if (ignored++ == 0) {
                    first_ignored = line;
                    ignored_start = p - buf;
                    ignored_end = stop_at - buf;
                }
                break;
            case ST_BROKEN:
                if (broken++ == 0) {
                    first_broken = line;
                    broken_start = p - buf;
                    broken_end = stop_at - buf;
                }
                break;
            default: /* ST_OTHER, ST_BLANK */
                break;
        }
        line++;
        p = nl ? nl + 1 : end;
    }
done:
    res[R_CONSUMED] = p - buf;
    res[R_LINES] = line - line0;
    res[R_POINTS] = k;
    res[R_DEFERRED] = d;
    res[R_IGNORED] = ignored;
    res[R_FIRST_IGNORED] = first_ignored;
    res[R_IGNORED_START] = ignored_start;
    res[R_IGNORED_END] = ignored_end;
    res[R_BROKEN] = broken;
    res[R_FIRST_BROKEN] = first_broken;
    res[R_BROKEN_START] = broken_start;
    res[R_BROKEN_END] = broken_end;
    return stop;
}

/* The calling convention of this library's entry points (drift/native/__init__.py: ABI). */
int64_t drift_abi(void) { return 3; }
