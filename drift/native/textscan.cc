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
 * A large block is searched on two threads, each through its own RE2 (scan_search_split), and
 * the two searches are joined where they agree, so the matches are the one search's.
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

#include <charconv>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#include <re2/re2.h>

namespace {

/* What a match is; shared with drift/readers/text.py. */
enum Kind : int8_t { K_POINT = 0, K_HEAD = 1, K_VALUE = 2 };
/* Flags: what Python must read from the spans. */
enum Flag : int8_t { F_VALUE = 1, F_STEP = 2 };
/* Why drift_text_scan returned (STOP_MORE: call again from res[R_RESUME]); the fields of res. */
enum { STOP_END = 0, STOP_MORE = 1, STOP_LIMIT = 2 };
enum { R_RESUME, R_STOP, R_NEWLINES, R_SIZE };
/* How the matches are found: MODE_SEARCH, RE2's unanchored search from the last match's end;
 * MODE_LINES, one anchored match at each line start (see drift/readers/lineshape.py). */
enum { MODE_SEARCH = 0, MODE_LINES = 1 };

constexpr int64_t MAX_NUMBER = 64; /* longer values go to Python */
constexpr int64_t MAX_STEP_DIGITS = 18;
constexpr int MAX_GROUPS = 64;

struct Handle {
    re2::RE2 *re;
    int groups;
    /* The same pattern compiled again for a scan's second thread (or NULL: it shares re). Each
     * RE2 keeps one DFA cache behind a lock; two threads searching through one spent two thirds
     * more time than one thread alone. */
    re2::RE2 *second;

    /* This handle as the second thread uses it. */
    Handle other() const { return Handle{second ? second : re, groups, nullptr}; }
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

/* strtod_l under the "C" locale: correctly rounded, as float() is, but slow. */
bool strtod_c(const char *p, int64_t len, double *out) {
    locale_t c = c_locale();
    if (c == (locale_t)0) return false;
    char text[MAX_NUMBER + 1];
    memcpy(text, p, (size_t)len);
    text[len] = '\0';
    char *stop = nullptr;
    *out = strtod_l(text, &stop, c);
    return stop == text + len;
}

bool to_double(const char *p, int64_t len, double *out) {
    if (len <= 0 || len > MAX_NUMBER || !plain_number(p, p + len)) return false;
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
    /* from_chars is correctly rounded too, and far faster; it takes no '+' and leaves a value
     * beyond double's range (inf or 0 for float()) to strtod. */
    const char *q = *p == '+' ? p + 1 : p, *end = p + len;
    auto got = std::from_chars(q, end, *out, std::chars_format::general);
    if (got.ec == std::errc() && got.ptr == end) return true;
#endif
    return strtod_c(p, len, out);
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

/* Where the matches go: the caller's arrays (see drift_text_scan). */
struct Out {
    int8_t *kinds, *flags;
    int64_t *spans;
    double *values;
    int64_t *steps, *lines;

    Out at(int64_t i) const { return Out{kinds + i, flags + i, spans + 4 * i, values + i, steps + i, lines + i}; }

    void move(int64_t to, int64_t from, int64_t n) const {
        memmove(kinds + to, kinds + from, (size_t)n * sizeof *kinds);
        memmove(flags + to, flags + from, (size_t)n * sizeof *flags);
        memmove(spans + 4 * to, spans + 4 * from, (size_t)n * 4 * sizeof *spans);
        memmove(values + to, values + from, (size_t)n * sizeof *values);
        memmove(steps + to, steps + from, (size_t)n * sizeof *steps);
        memmove(lines + to, lines + from, (size_t)n * sizeof *lines);
    }
};

struct Groups {
    int step, value, head, n_sub;
};

/* Newlines in buf before a position that moves mostly forward, counted as it moves. */
struct Newlines {
    const char *buf;
    int64_t at, count;

    static int64_t between(const char *p, const char *end) {
        int64_t n = 0;
        while ((p = (const char *)memchr(p, '\n', (size_t)(end - p))) != nullptr) n++, p++;
        return n;
    }
    int64_t before(int64_t target) {
        if (target >= at) count += between(buf + at, buf + target);
        else count -= between(buf + target, buf + at);
        at = target;
        return count;
    }
};

/* Match i's kind, flags, spans and converted numbers, from RE2's submatches; returns the start of
 * its value group (-1 when the value did not take part), whose line the caller writes. */
int64_t emit(const Groups &g, const re2::StringPiece *sub, const char *buf, const Out &o, int64_t i) {
    auto span = [&](int group, int64_t *out) {
        if (group > 0 && sub[group].data() != nullptr) {
            out[0] = sub[group].data() - buf;
            out[1] = out[0] + (int64_t)sub[group].size();
        } else {
            out[0] = out[1] = -1;
        }
    };
    int64_t *s = o.spans + 4 * i;
    int8_t kind, flag = 0;
    span(g.value, s);
    if (g.head && sub[g.head].data() != nullptr) {
        kind = K_HEAD;
        span(g.head, s + 2);
    } else {
        kind = g.step && (sub[g.step].data() != nullptr || !g.head) ? K_POINT : K_VALUE;
        span(g.step, s + 2);
    }
    if (kind != K_HEAD && !to_double(buf + s[0], s[1] - s[0], &o.values[i])) flag |= F_VALUE;
    if (kind != K_VALUE && !to_step(buf + s[2], s[3] - s[2], &o.steps[i])) flag |= F_STEP;
    if (kind == K_HEAD) o.values[i] = 0.0;
    if (kind == K_VALUE) o.steps[i] = 0;
    o.kinds[i] = kind;
    o.flags[i] = flag;
    return s[0];
}

/* Where a scan stopped: STOP_* and the position to resume from. */
struct Stop {
    int why;
    int64_t resume;
};

/* Internal: scan_search met a match that starts at or after its `before`; it met a match of
 * `join` with the same search position after it. */
constexpr int STOP_SPLIT = 3, STOP_JOINED = 4;

/* A match's bounds and the search position after it: two searches of the same text that agree on
 * these go on alike. */
struct Bound {
    int64_t start, end, next;
};

/* MODE_SEARCH: the loop text.py's _matches runs, from pos, at most cap matches. It stops before a
 * match that starts at or after `before` (STOP_SPLIT, resume: the search position); appends each
 * match's Bound to `bounds` (reserved for cap) when given; and when given `join` (another search's
 * Bounds, in order), stops after a match that is (*joined) of them (STOP_JOINED). */
int64_t scan_search(const Handle *h, const Groups &g, const char *buf, int64_t len, int64_t pos, int64_t limit,
                    Newlines &nl, const Out &o, int64_t cap, Stop *stop, int64_t before = INT64_MAX,
                    std::vector<Bound> *bounds = nullptr, const std::vector<Bound> *join = nullptr,
                    size_t *joined = nullptr) {
    re2::StringPiece sub[MAX_GROUPS];
    re2::StringPiece text(buf ? buf : "", (size_t)len);
    int64_t count = 0;
    stop->why = STOP_END;
    while (pos <= len) {
        if (count == cap) {
            stop->why = STOP_MORE;
            break;
        }
        if (!h->re->Match(text, (size_t)pos, (size_t)len, re2::RE2::UNANCHORED, sub, g.n_sub)) break;
        int64_t m_start = sub[0].data() - text.data(), m_end = m_start + (int64_t)sub[0].size();
        if (m_start >= before) {
            stop->why = STOP_SPLIT;
            break;
        }
        if (m_end > limit) {
            stop->why = STOP_LIMIT;
            pos = m_start < limit ? m_start : limit;
            break;
        }
        int64_t a = emit(g, sub, buf, o, count);
        o.lines[count] = a < 0 ? 0 : nl.before(a + 1); /* text.py's searchsorted(newlines, a, "right") */
        count++;
        pos = m_end > pos ? m_end : pos + 1;
        if (bounds) bounds->push_back(Bound{m_start, m_end, pos});
        if (join) {
            size_t &j = *joined;
            while (j < join->size() && (*join)[j].start < m_start) j++;
            if (j < join->size() && (*join)[j].start == m_start && (*join)[j].end == m_end && (*join)[j].next == pos) {
                stop->why = STOP_JOINED;
                break;
            }
        }
    }
    stop->resume = pos;
    return count;
}

/* The first line start at or after pos, or len + 1 when there is none. */
int64_t line_start(const char *buf, int64_t len, int64_t pos) {
    if (pos == 0 || buf[pos - 1] == '\n') return pos;
    const char *found = (const char *)memchr(buf + pos, '\n', (size_t)(len - pos));
    return found ? found - buf + 1 : len + 1;
}

/* MODE_SEARCH on two threads, for more than split bytes before the limit. The search from a line
 * start near the middle runs on another thread, writing from cap / 2; this one searches from pos
 * up to the first match that starts at or after the middle, then goes on from where it stopped
 * until it finds a match the other found with the same search position after it (STOP_JOINED):
 * from there the two are one search, and the other's later matches move up behind. When this
 * search stops first (the end, the limit, cap / 2 matches), what the other found is dropped. */
int64_t scan_search_split(const Handle *h, const Groups &g, const char *buf, int64_t len, int64_t pos, int64_t limit,
                          Newlines &nl, int64_t split, const Out &o, int64_t cap, Stop *stop) {
    int64_t half = cap / 2, middle = pos < len ? line_start(buf, len, pos + (len - pos) / 2) : len + 1;
    std::vector<Bound> later;
    bool apart = split > 0 && limit - pos > split && half >= 2 && middle > pos && middle < limit;
    if (apart) {
        try {
            later.reserve((size_t)(cap - half));
        } catch (...) { /* no memory for the bounds: one search */
            apart = false;
        }
    }
    if (!apart) return scan_search(h, g, buf, len, pos, limit, nl, o, cap, stop);
    Newlines nl2{buf, middle, 0};
    Stop stop2{};
    int64_t second = 0;
    const Handle h2 = h->other();
    auto run_second = [&] {
        second = scan_search(&h2, g, buf, len, middle, limit, nl2, o.at(half), cap - half, &stop2, INT64_MAX, &later);
    };
    std::thread *worker = nullptr;
    try {
        worker = new std::thread(run_second);
    } catch (...) { /* no thread to be had: the same work on this one */
        worker = nullptr;
    }
    int64_t count = scan_search(h, g, buf, len, pos, limit, nl, o, half, stop, middle);
    if (worker) {
        worker->join();
        delete worker;
    } else if (stop->why == STOP_SPLIT) {
        run_second();
    }
    if (stop->why != STOP_SPLIT) return count;
    int64_t base = nl.before(middle);
    size_t j = 0;
    count += scan_search(h, g, buf, len, stop->resume, limit, nl, o.at(count), half - count, stop, INT64_MAX, nullptr,
                         &later, &j);
    if (stop->why != STOP_JOINED) return count;
    int64_t from = (int64_t)j + 1, n = second - from;
    o.move(count, half + from, n);
    for (int64_t i = count; i < count + n; i++) {
        if (o.spans[4 * i] >= 0) o.lines[i] += base; /* the other counted from the middle */
    }
    *stop = stop2;
    nl = Newlines{buf, nl2.at, nl2.count + base};
    return count + n;
}

/* MODE_LINES over the line starts in [from, to) (from: a line start; line: its index), from the
 * search position *pos (at most from): one match anchored at each line start, within its line,
 * written from o's index at. The pattern's matches start at a line start and hold no newline
 * (lineshape.py checks it), so these are the matches scan_search finds, and *pos moves as there:
 * an empty match at a line start the search reached from before it is found again from there,
 * so it is written twice (at most two matches a line), or (go_on) not at all past the limit. After STOP_END, stop->resume is the search
 * position; after STOP_MORE, a position before the next line start from which to call again. */
int64_t scan_lines(const Handle *h, const Groups &g, const char *buf, int64_t len, int64_t from, int64_t to,
                   bool go_on, int64_t line, int64_t limit, const Out &o, int64_t at, int64_t *pos, Stop *stop) {
    re2::StringPiece sub[MAX_GROUPS];
    int64_t count = 0, start = from;
    stop->why = STOP_MORE;
    /* go_on: past the limit, walk on after to: a match there ends after the limit (STOP_LIMIT)
     * and nothing is written, and stopping there would resume after the limit */
    /* dangling: the last line walked is empty and did not match; the resume point must lie before
     * the next line start and not on a line start already walked, so the walk takes one more
     * line (at most two matches: the slack the caller leaves) */
    bool dangling = false;
    while (start < to || (start <= len && (dangling || (go_on && start > limit)))) {
        const char *found = (const char *)memchr(buf + start, '\n', (size_t)(len - start));
        int64_t end = found ? found - buf : len;
        re2::StringPiece text(buf + start, (size_t)(end - start));
        dangling = end == start;
        if (h->re->Match(text, 0, text.size(), re2::RE2::ANCHOR_START, sub, g.n_sub)) {
            dangling = false;
            int64_t m_end = start + (int64_t)sub[0].size();
            if (m_end > limit) {
                stop->why = STOP_LIMIT;
                stop->resume = start < limit ? start : limit;
                return count;
            }
            for (int twice = m_end == start && *pos < start; twice >= 0; twice--) {
                int64_t a = emit(g, sub, buf, o, at + count);
                /* an empty value at the line's end counts its newline, as searchsorted does */
                o.lines[at + count] = a < 0 ? 0 : line + (a == end && end < len);
                count++;
                *pos = m_end > *pos ? m_end : *pos + 1;
            }
        }
        line++;
        start = end + 1;
    }
    if (start > len) stop->why = STOP_END;
    /* To go on: from the search position, or from the end of the last line walked when that is
     * later (still before the next line start, so an empty match there is found twice). */
    stop->resume = stop->why == STOP_MORE && start - 1 > *pos ? start - 1 : *pos;
    return count;
}

/* A line start in (from, to) near the middle whose line before is not empty (so the first half's
 * search ends before it: the second half starts from a search position before its first line),
 * or to when there is none. */
int64_t split_point(const char *buf, int64_t len, int64_t from, int64_t to) {
    int64_t middle = line_start(buf, len, from + ((to < len ? to : len) - from) / 2);
    while (middle < to && middle <= len && (middle < 2 || buf[middle - 2] == '\n')) {
        middle = middle < len ? line_start(buf, len, middle + 1) : len + 1;
    }
    return middle < to && middle > from ? middle : to;
}

/* MODE_LINES for at most cap / 2 - 1 line starts from start (and a line's slack); they split
 * between two threads when they span more than split bytes (0: never). Each half writes from its
 * own index (two matches a line at most), and the second half's matches then move up behind the
 * first's. */
int64_t scan_lines_split(const Handle *h, const Groups &g, const char *buf, int64_t len, int64_t start,
                         int64_t limit, Newlines &nl, int64_t split, const Out &o, int64_t cap, Stop *stop) {
    int64_t from = line_start(buf, len, start), to = from, pos = start;
    if (from > len) {
        *stop = Stop{STOP_END, start};
        return 0;
    }
    for (int64_t n = 0; n < (cap - 2) / 2 && to <= len; n++) { /* the region, and a line's slack */
        const char *found = (const char *)memchr(buf + to, '\n', (size_t)(len - to));
        to = found ? found - buf + 1 : len + 1;
    }
    int64_t line = nl.before(from);
    int64_t middle = split > 0 && (to < len ? to : len) - from > split ? split_point(buf, len, from, to) : to;
    if (middle >= to) return scan_lines(h, g, buf, len, from, to, true, line, limit, o, 0, &pos, stop);
    int64_t first_lines = Newlines::between(buf + from, buf + middle), second = 0, second_pos = middle - 1;
    Stop later{};
    const Handle h2 = h->other();
    auto run_second = [&] {
        second = scan_lines(&h2, g, buf, len, middle, to, true, line + first_lines, limit, o, 2 * first_lines,
                            &second_pos, &later);
    };
    std::thread *worker = nullptr;
    try {
        worker = new std::thread(run_second);
    } catch (...) { /* no thread to be had: the same work on this one */
        worker = nullptr;
    }
    int64_t first = scan_lines(h, g, buf, len, from, middle, false, line, limit, o, 0, &pos, stop);
    if (worker) {
        worker->join();
        delete worker;
    } else {
        run_second();
    }
    if (stop->why == STOP_LIMIT) return first;
    o.move(first, 2 * first_lines, second);
    if (second == 0 && later.why != STOP_LIMIT) { /* the second half's search position was assumed */
        later.resume = later.why == STOP_MORE && to - 1 > pos ? to - 1 : pos;
    }
    *stop = later;
    return first + second;
}

}  // namespace

extern "C" {

int64_t drift_text_abi(void) { return 2; }

/* The pattern compiled, or NULL when RE2 refuses it (or memory runs out); groups receives its
 * number of capturing groups. */
void *drift_text_compile(const char *pattern, int64_t len, int64_t max_mem, int64_t *groups) {
    if (!pattern || len < 0 || max_mem <= 0 || !groups) return nullptr;
    re2::RE2::Options options;
    options.set_max_mem(max_mem);
    options.set_log_errors(false);
    Handle *h = new (std::nothrow) Handle{nullptr, 0, nullptr};
    if (!h) return nullptr;
    h->re = new (std::nothrow) re2::RE2(re2::StringPiece(pattern, (size_t)len), options);
    if (!h->re || !h->re->ok()) {
        delete h->re;
        delete h;
        return nullptr;
    }
    h->groups = h->re->NumberOfCapturingGroups();
    h->second = new (std::nothrow) re2::RE2(re2::StringPiece(pattern, (size_t)len), options);
    if (h->second && !h->second->ok()) { /* out of memory the second time: the threads share re */
        delete h->second;
        h->second = nullptr;
    }
    *groups = h->groups;
    return h;
}

void drift_text_free(void *handle) {
    Handle *h = static_cast<Handle *>(handle);
    if (!h) return;
    delete h->re;
    delete h->second;
    delete h;
}

/*
 * Matches of the compiled pattern in buf from start, each ending at or before limit (line0: the
 * newlines in buf before start). Per match i: kinds[i] (K_POINT: a step group took part, or the
 * pattern has no head group; K_HEAD: the head group took part; K_VALUE: a value without a step),
 * flags[i], spans[4i..4i+3] (the value group's start and end, then the step's, or the head's for
 * K_HEAD; -1 for a group that did not take part), values[i] and steps[i] (the step, or the head's
 * for K_HEAD) where the flags do not send them to Python, lines[i]: the newlines in buf up to and
 * including the value's first byte (0 when the value did not take part). A group number of 0 is a
 * group the pattern does not have. mode: MODE_SEARCH (on two threads when more than split bytes
 * lie between start and limit and cap is 4 or more: the same matches, at most cap / 2 of them a
 * call), or MODE_LINES for a pattern whose matches start at a line start and hold no newline (then
 * at most cap / 2 lines are walked, on two threads when they span more than split bytes; a cap
 * under 4 searches as MODE_SEARCH). split 0: one thread.
 * Returns how many matches it wrote (at most cap); res[R_STOP] is why it stopped: STOP_END (no
 * more matches), STOP_MORE (call again from res[R_RESUME]) or STOP_LIMIT (a match ends after
 * limit; res[R_RESUME] is then the smaller of its start and limit); res[R_NEWLINES]: the newlines
 * in buf before res[R_RESUME], or before limit after STOP_END. Returns -n when its argument n
 * breaks the contract.
 */
int64_t drift_text_scan(void *handle, const char *buf, int64_t len, int64_t start, int64_t limit, int64_t line0,
                        int64_t step_group, int64_t value_group, int64_t head_group, int64_t mode, int64_t split,
                        int8_t *kinds, int8_t *flags, int64_t *spans, double *values, int64_t *steps, int64_t *lines,
                        int64_t cap, int64_t *res) {
    Handle *h = static_cast<Handle *>(handle);
    if (!h || !h->re) return -1;
    if (len < 0) return -3;
    if (!buf && len) return -2;
    if (start < 0 || start > len) return -4;
    if (limit < 0 || limit > len) return -5;
    if (line0 < 0 || line0 > start) return -6;
    if (step_group < 0 || step_group > h->groups || step_group >= MAX_GROUPS) return -7;
    if (value_group < 1 || value_group > h->groups || value_group >= MAX_GROUPS) return -8;
    if (head_group < 0 || head_group > h->groups || head_group >= MAX_GROUPS) return -9;
    if (mode != MODE_SEARCH && mode != MODE_LINES) return -10;
    if (split < 0) return -11;
    if (!kinds) return -12;
    if (!flags) return -13;
    if (!spans) return -14;
    if (!values) return -15;
    if (!steps) return -16;
    if (!lines) return -17;
    if (cap < 1 || cap > INT64_MAX / 4) return -18;
    if (!res) return -19;

    Groups g{(int)step_group, (int)value_group, (int)head_group, 1 + (int)value_group};
    if (g.step + 1 > g.n_sub) g.n_sub = g.step + 1;
    if (g.head + 1 > g.n_sub) g.n_sub = g.head + 1;
    const char *text = buf ? buf : "";
    Out o{kinds, flags, spans, values, steps, lines};
    Newlines nl{text, start, line0};
    Stop stop{};
    bool lines_mode = mode == MODE_LINES && cap >= 4; /* two matches a line, and a line's slack */
    int64_t count = lines_mode ? scan_lines_split(h, g, text, len, start, limit, nl, split, o, cap, &stop)
                                       : scan_search_split(h, g, text, len, start, limit, nl, split, o, cap, &stop);
    res[R_RESUME] = stop.resume;
    res[R_STOP] = stop.why;
    res[R_NEWLINES] = nl.before(stop.why == STOP_END ? limit : stop.resume);
    return count;
}

}  /* extern "C" */
