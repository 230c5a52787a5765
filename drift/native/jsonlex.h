/* JSON lexing that both JSON fast paths share: scan.c (JSON lines) and jsondoc.c
 * (trainer_state.json). Each includes it into its own translation unit. */
#ifndef DRIFT_JSONLEX_H
#define DRIFT_JSONLEX_H

#include <stdint.h>
#include <string.h>

/* Python refuses int literals longer than 4300 digits; leave anything long to Python. */
#define MAX_NUMBER_CHARS 4000

/* JSON number grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * Returns a pointer past the number, or NULL when it is not one (or is too long). */
static const char *scan_number(const char *p, const char *end, int *is_int) {
    const char *s = p;
    *is_int = 1;
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        *is_int = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p - s > MAX_NUMBER_CHARS) return NULL;
    return p;
}

/* Whether the n bytes at p are the word w. */
static int starts_with_word(const char *p, const char *end, const char *w, int64_t n) {
    return end - p >= n && memcmp(p, w, (size_t)n) == 0;
}

#endif
