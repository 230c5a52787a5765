/* JSON lexing that both JSON fast paths share: scan.c (JSON lines) and jsondoc.c
 * (trainer_state.json). Each includes it into its own translation unit, after defining
 * _GNU_SOURCE (for strtod_l). */
#ifndef DRIFT_JSONLEX_H
#define DRIFT_JSONLEX_H

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
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
static inline int starts_with_word(const char *p, const char *end, const char *w, int64_t n) {
    return end - p >= n && memcmp(p, w, (size_t)n) == 0;
}

/* ---- numbers to doubles, as Python's float() rounds them, whatever the process locale ---------- */

/* Powers of ten that a double holds exactly, and that a uint64 holds. */
static int is_hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* A string after its opening quote, escapes allowed as json.loads allows them (its text is then not
 * its raw bytes: *escaped is set). Returns the pointer past the closing quote, or NULL to defer to
 * Python: NULL with *cut set when the buffer ends inside the string. */
static inline const char *json_string_end(const char *p, const char *end, int *cut, int *escaped) {
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) break;
            switch (p[1]) {
                case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                    p += 2;
                    break;
                case 'u':
                    for (int i = 2; i < 6; i++) {
                        if (p + i >= end) {
                            *cut = 1;
                            return NULL;
                        }
                        if (!is_hex((unsigned char)p[i])) return NULL;
                    }
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
    *cut = 1;
    return NULL;
}

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
    if (p < end && *p == '-') {
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
        if (p < end && (*p == '+' || *p == '-')) exp_negative = *p++ == '-';
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

/* The number [p, p + len) that scan_number accepted, as a double correctly rounded; 0 when it
 * cannot be converted here (the caller leaves it to Python). The rare numbers the exact paths
 * cannot take go through strtod in the "C" locale: plain strtod follows LC_NUMERIC, and in a
 * locale whose decimal point is a comma it would stop at the '.' and misread every value. */
static int json_to_double(const char *p, int64_t len, double *out) {
    if (fast_double(p, p + len, out)) return 1;
#if defined(LC_NUMERIC_MASK)
    if (len < 0 || len > MAX_NUMBER_CHARS) return 0;
    char text[MAX_NUMBER_CHARS + 1];
    memcpy(text, p, (size_t)len);
    text[len] = '\0';
    /* glibc answers "C" from a static object, without allocating. */
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (c == (locale_t)0) return 0;
    *out = strtod_l(text, NULL, c);
    freelocale(c);
    return 1;
#else
    return 0;
#endif
}

#endif
