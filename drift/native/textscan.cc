/*
 * The text reader's fast path (drift/readers/text.py), loaded with ctypes: RE2's C++ API run over
 * a whole block in one call, writing each match into the caller's arrays, so that no Python call
 * is made per match. Its own library (_textscan.so), since it needs C++ and libre2: a machine
 * without them keeps the C readers (_scan.so) and the pure-Python text path.
 *
 * The loop is the one text.py's _matches runs through google-re2's binding: an unanchored
 * RE2::Match from pos to the end of the buffer (the bytes before pos are context for ^ and \b),
 * the next search from the match's end, or from pos + 1 when the match ends at pos. The pattern is
 * compiled with the options recognisers.py gives google-re2 (UTF-8, max_mem, no logging), so both
 * paths see the same matches. Each search starts where the last one ended: linear in the block.
 *
 * Per match it writes what the Python path derives from it: the group spans, which kind of match
 * it is, and the value and step converted where that conversion is certainly the one Python's
 * float() and int() give (a plain decimal number or nan/inf word; a step of 1 to 18 digits). The
 * rest (a step such as 1K or 1,000, a value such as 1,234.5, an empty group) is flagged, and the
 * Python path reads those from their spans with its own rules.
 */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include <re2/re2.h>

namespace {

/* What a match is; shared with drift/readers/text.py. */
enum Kind : int8_t { K_POINT = 0, K_HEAD = 1, K_VALUE = 2 };
/* Flags: what Python must read from the spans. */
enum Flag : int8_t { F_VALUE = 1, F_STEP = 2 };
/* Why drift_text_scan returned; the fields of res. */
enum { STOP_END = 0, STOP_FULL = 1, STOP_LIMIT = 2 };
enum { R_RESUME, R_STOP, R_SIZE };

constexpr int64_t MAX_NUMBER = 64; /* longer values go to Python */
constexpr int64_t MAX_STEP_DIGITS = 18;
constexpr int MAX_GROUPS = 64;

struct Handle {
    re2::RE2 *re;
    int groups;
};

bool digit(char c) { return c >= '0' && c <= '9'; }

bool word(const char *p, const char *end, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(end - p) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != w[i]) return false;
    }
    return true;
}

/* Whether [p, end) is a number whose meaning float() and strtod share: an optional sign, then
 * digits with an optional fraction and exponent, or nan, inf, infinity in any case. */
bool plain_number(const char *p, const char *end) {
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (word(p, end, "nan") || word(p, end, "inf") || word(p, end, "infinity")) return true;
    int digits = 0;
    while (p < end && digit(*p)) p++, digits++;
    if (p < end && *p == '.') {
        p++;
        while (p < end && digit(*p)) p++, digits++;
    }
    if (digits == 0) return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || !digit(*p)) return false;
        while (p < end && digit(*p)) p++;
    }
    return p == end;
}

/* The "C" locale, once: strtod follows LC_NUMERIC, and a comma-decimal locale would stop at '.'. */
locale_t c_locale() {
    static locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    return c;
}

bool to_double(const char *p, int64_t len, double *out) {
    if (len <= 0 || len > MAX_NUMBER || !plain_number(p, p + len)) return false;
    locale_t c = c_locale();
    if (c == (locale_t)0) return false;
    char text[MAX_NUMBER + 1];
    memcpy(text, p, (size_t)len);
    text[len] = '\0';
    char *stop = nullptr;
    *out = strtod_l(text, &stop, c);
    return stop == text + len;
}

bool to_step(const char *p, int64_t len, int64_t *out) {
    if (len <= 0 || len > MAX_STEP_DIGITS) return false;
    int64_t n = 0;
    for (int64_t i = 0; i < len; i++) {
        if (!digit(p[i])) return false;
        n = n * 10 + (p[i] - '0');
    }
    *out = n;
    return true;
}

}  // namespace

extern "C" {

int64_t drift_text_abi(void) { return 1; }

/* The pattern compiled, or NULL when RE2 refuses it (or memory runs out); groups receives its
 * number of capturing groups. */
void *drift_text_compile(const char *pattern, int64_t len, int64_t max_mem, int64_t *groups) {
    if (!pattern || len < 0 || max_mem <= 0 || !groups) return nullptr;
    re2::RE2::Options options;
    options.set_max_mem(max_mem);
    options.set_log_errors(false);
    Handle *h = new (std::nothrow) Handle{nullptr, 0};
    if (!h) return nullptr;
    h->re = new (std::nothrow) re2::RE2(re2::StringPiece(pattern, (size_t)len), options);
    if (!h->re || !h->re->ok()) {
        delete h->re;
        delete h;
        return nullptr;
    }
    h->groups = h->re->NumberOfCapturingGroups();
    *groups = h->groups;
    return h;
}

void drift_text_free(void *handle) {
    Handle *h = static_cast<Handle *>(handle);
    if (!h) return;
    delete h->re;
    delete h;
}

/*
 * Matches of the compiled pattern in buf from start, each ending at or before limit.
 * Per match i: kinds[i] (K_POINT: a step group took part, or the pattern has no head group;
 * K_HEAD: the head group took part; K_VALUE: a value without a step), flags[i], spans[4i..4i+3]
 * (the value group's start and end, then the step's, or the head's for K_HEAD; -1 for a group
 * that did not take part), values[i] and steps[i] (the step, or the head's for K_HEAD) where the
 * flags do not send them to Python. A group number of 0 is a group the pattern does not have.
 * Returns how many matches it wrote (at most cap); res[R_RESUME] is where to call again and
 * res[R_STOP] why it stopped: STOP_END (no more matches), STOP_FULL (cap reached) or STOP_LIMIT
 * (a match ends after limit; res[R_RESUME] is then the smaller of its start and limit). Returns
 * -n when its argument n breaks the contract.
 */
int64_t drift_text_scan(void *handle, const char *buf, int64_t len, int64_t start, int64_t limit,
                        int64_t step_group, int64_t value_group, int64_t head_group, int8_t *kinds,
                        int8_t *flags, int64_t *spans, double *values, int64_t *steps, int64_t cap,
                        int64_t *res) {
    Handle *h = static_cast<Handle *>(handle);
    if (!h || !h->re) return -1;
    if (len < 0) return -3;
    if (!buf && len) return -2;
    if (start < 0 || start > len) return -4;
    if (limit < 0 || limit > len) return -5;
    if (step_group < 0 || step_group > h->groups || step_group >= MAX_GROUPS) return -6;
    if (value_group < 1 || value_group > h->groups || value_group >= MAX_GROUPS) return -7;
    if (head_group < 0 || head_group > h->groups || head_group >= MAX_GROUPS) return -8;
    if (!kinds) return -9;
    if (!flags) return -10;
    if (!spans) return -11;
    if (!values) return -12;
    if (!steps) return -13;
    if (cap < 1 || cap > INT64_MAX / 4) return -14;
    if (!res) return -15;

    int n_sub = 1 + (int)value_group;
    if (step_group + 1 > n_sub) n_sub = (int)step_group + 1;
    if (head_group + 1 > n_sub) n_sub = (int)head_group + 1;
    re2::StringPiece sub[MAX_GROUPS];
    re2::StringPiece text(buf ? buf : "", (size_t)len);
    int64_t pos = start, count = 0;
    res[R_STOP] = STOP_END;
    auto span = [&](int g, int64_t *out) {
        if (g > 0 && sub[g].data() != nullptr) {
            out[0] = sub[g].data() - buf;
            out[1] = out[0] + (int64_t)sub[g].size();
        } else {
            out[0] = out[1] = -1;
        }
    };
    while (pos <= len) {
        if (count == cap) {
            res[R_STOP] = STOP_FULL;
            break;
        }
        if (!h->re->Match(text, (size_t)pos, (size_t)len, re2::RE2::UNANCHORED, sub, n_sub)) break;
        int64_t m_start = sub[0].data() - text.data(), m_end = m_start + (int64_t)sub[0].size();
        if (m_end > limit) {
            res[R_STOP] = STOP_LIMIT;
            pos = m_start < limit ? m_start : limit;
            break;
        }
        int64_t *s = spans + 4 * count;
        int8_t kind, flag = 0;
        span((int)value_group, s);
        if (head_group && sub[head_group].data() != nullptr) {
            kind = K_HEAD;
            span((int)head_group, s + 2);
        } else {
            kind = step_group && (sub[step_group].data() != nullptr || !head_group) ? K_POINT : K_VALUE;
            span((int)step_group, s + 2);
        }
        if (kind != K_HEAD && !to_double(buf + s[0], s[1] - s[0], &values[count])) flag |= F_VALUE;
        if (kind != K_VALUE && !to_step(buf + s[2], s[3] - s[2], &steps[count])) flag |= F_STEP;
        if (kind == K_HEAD) values[count] = 0.0;
        if (kind == K_VALUE) steps[count] = 0;
        kinds[count] = kind;
        flags[count] = flag;
        count++;
        pos = m_end > pos ? m_end : pos + 1;
    }
    res[R_RESUME] = pos;
    return count;
}

}  /* extern "C" */
