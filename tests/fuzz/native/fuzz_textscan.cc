/* libFuzzer: drift_text_scan (console logs, drift/native/textscan.cc) as text.py's _Native.scan
 * calls it, with each recogniser's pattern and the fuzz targets' fixed user patterns (one per
 * input, read from the file DRIFT_TEXT_PATTERNS names; tools/fuzz_native.sh writes it). The input
 * is scanned whole with the wrapper's capacity, then with capacities of 1 to 7 matches per call,
 * and again up to a limit: the calls must resume to the same matches, every span must lie in the
 * buffer, a converted value must be what strtod reads from its span, a converted step its digits,
 * a line number the newlines before it. Every pattern is searched again on two threads, split
 * past sizes the input picks, and a line-shaped pattern (marked in the file) is scanned again one
 * line at a time (MODE_LINES), on one thread and split between two: the same matches, stops and
 * resume points as RE2's search on one thread (the fast paths against the slow one). */
#include <re2/re2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <string>
#include <vector>

extern "C" {
int64_t drift_text_abi(void);
void *drift_text_compile(const char *pattern, int64_t len, int64_t max_mem, int64_t *groups);
void drift_text_free(void *handle);
int64_t drift_text_scan(void *handle, const char *buf, int64_t len, int64_t start, int64_t limit, int64_t line0,
                        int64_t step_group, int64_t value_group, int64_t head_group, int64_t mode, int64_t split,
                        int8_t *kinds, int8_t *flags, int64_t *spans, double *values, int64_t *steps, int64_t *lines,
                        int64_t cap, int64_t *res);
}

#include "check.h"

namespace {

struct Pattern {
    void *handle;
    int64_t step, value, head;
    bool line_shaped;
};

/* How a scan runs: drift_text_scan's mode and split. */
struct How {
    int64_t mode, split;
};

/* newlines_before[i]: the newlines in the input before offset i (set per input). */
std::vector<int64_t> &newlines_before = *new std::vector<int64_t>();

int64_t newlines(const char *buf, int64_t end) {
    (void)buf;
    return newlines_before[(size_t)end];
}

/* Never destroyed: the handles live as long as the process (LeakSanitizer checks after exit). */
std::vector<Pattern> &patterns = *new std::vector<Pattern>();

struct Match {
    int8_t kind, flag;
    int64_t span[4];
    uint64_t value_bits;
    int64_t step, line;
    bool operator==(const Match &o) const {
        return kind == o.kind && flag == o.flag && memcmp(span, o.span, sizeof span) == 0 &&
               value_bits == o.value_bits && step == o.step && line == o.line;
    }
};

void add(const std::string &text, bool line_shaped) {
    RE2::Options options;
    options.set_max_mem(64 << 20);
    options.set_log_errors(false);
    RE2 re(text, options);
    if (!re.ok()) return;
    const std::map<std::string, int> &named = re.NamedCapturingGroups();
    auto group = [&](const char *name) -> int64_t {
        auto it = named.find(name);
        return it == named.end() ? 0 : it->second;
    };
    if (!group("value")) return;
    int64_t groups = -1;
    void *handle = drift_text_compile(text.data(), (int64_t)text.size(), 64 << 20, &groups);
    CHECK(handle != nullptr && groups == re.NumberOfCapturingGroups());
    patterns.push_back({handle, group("step"), group("value"), group("head"), line_shaped});
}

/* Every match of the scan of buf[0, len) from start up to limit, in calls of cap matches; where
 * the last call stopped and why. */
std::vector<Match> scan(const Pattern &p, const char *buf, int64_t len, int64_t start, int64_t limit, int64_t cap,
                        How how, int64_t *resume, int64_t *stop) {
    std::vector<Match> out;
    static std::vector<int8_t> kinds, flags;
    static std::vector<int64_t> spans, steps, lines;
    static std::vector<double> values;
    if ((int64_t)kinds.size() < cap) {
        kinds.resize(cap), flags.resize(cap), spans.resize(4 * cap), steps.resize(cap), values.resize(cap);
        lines.resize(cap);
    }
    int64_t res[3] = {-7, -7, -7}, pos = start, line0 = newlines(buf, start), calls = 0;
    for (;;) {
        int64_t n = drift_text_scan(p.handle, buf, len, pos, limit, line0, p.step, p.value, p.head, how.mode,
                                    how.split, kinds.data(), flags.data(), spans.data(), values.data(), steps.data(),
                                    lines.data(), cap, res);
        CHECK(n >= 0 && n <= cap);
        /* A call resumes where the last stopped, or (STOP_LIMIT) at the limit: an empty match at the
         * limit leaves the search at limit + 1, and when the call was full there, the next call
         * starts past the limit and its first match ends after it (as text.py's loop reads it). */
        CHECK(res[1] >= 0 && res[1] <= 2 && res[0] <= len + 1 && (res[0] >= pos || (res[1] == 2 && res[0] == limit)));
        CHECK(res[1] != 1 || n == cap || how.mode == 1 || how.split > 0);
        CHECK(res[2] == newlines(buf, res[1] == 0 ? limit : res[0]));
        for (int64_t i = 0; i < n; i++) {
            Match m{kinds[i], flags[i], {}, 0, 0, lines[i]};
            /* the newlines up to and including the value's first byte */
            CHECK(m.line == (spans[4 * i] < 0 ? 0 : newlines(buf, spans[4 * i] + 1)));
            memcpy(m.span, &spans[4 * i], sizeof m.span);
            CHECK(m.kind >= 0 && m.kind <= 2 && m.flag >= 0 && m.flag <= 3);
            for (int k = 0; k < 4; k += 2) {
                CHECK((m.span[k] == -1 && m.span[k + 1] == -1) ||
                      (m.span[k] >= 0 && m.span[k] <= m.span[k + 1] && m.span[k + 1] <= limit));
            }
            if (m.kind != 1 && !(m.flag & 1)) { /* a value it converted: what strtod reads there */
                std::string text(buf + m.span[0], (size_t)(m.span[1] - m.span[0]));
                double x = strtod(text.c_str(), nullptr);
                CHECK(memcmp(&x, &values[i], sizeof x) == 0 || (x != x && values[i] != values[i]));
                memcpy(&m.value_bits, &values[i], sizeof m.value_bits);
            }
            if (m.kind != 2 && !(m.flag & 2)) { /* a step it converted: its 1 to 18 digits */
                int64_t digits = m.span[3] - m.span[2], check = 0;
                CHECK(digits >= 1 && digits <= 18);
                for (int64_t k = m.span[2]; k < m.span[3]; k++) {
                    CHECK(buf[k] >= '0' && buf[k] <= '9');
                    check = check * 10 + (buf[k] - '0');
                }
                CHECK(check == steps[i]);
                m.step = steps[i];
            }
            out.push_back(m);
        }
        pos = res[0];
        line0 = res[2];
        CHECK(++calls <= 2 * len + 4);
        if (res[1] != 1) break;
    }
    *resume = pos;
    *stop = res[1];
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    CHECK(drift_text_abi() == 2);
    const char *path = getenv("DRIFT_TEXT_PATTERNS");
    if (path) {
        FILE *f = fopen(path, "rb");
        CHECK(f != nullptr);
        char line[8192];
        while (fgets(line, sizeof line, f)) { /* 1 or 0 (line-shaped or not), a tab, the pattern */
            std::string text(line);
            while (!text.empty() && (text.back() == '\n')) text.pop_back();
            if (text.size() > 2 && text[1] == '\t') add(text.substr(2), text[0] == '1');
        }
        fclose(f);
    }
    add(R"(step (?P<step>\S+) loss (?P<value>\S+))", false);
    add(R"((?m)^step[ \t]+(?P<step>[0-9]+)/[0-9]+ \| loss[ \t]+(?P<value>[-+.\deE]+|(?i:nan|inf)))", true);
    add(R"((?m)\[step=(?P<head>[0-9]+)\]$|^ +loss=(?P<value>\S+))", false);
    add(R"((?m)^(?P<step>\d*)(?P<value>\d*)\b)", true); /* empty matches, found twice */
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const Pattern &p = patterns[data[0] % patterns.size()];
    int64_t len = (int64_t)size - 1;
    char *buf = (char *)malloc(len ? (size_t)len : 1); /* exactly the input: ASan sees a read past it */
    CHECK(buf != nullptr);
    memcpy(buf, data + 1, (size_t)len);
    newlines_before.assign((size_t)len + 2, 0);
    for (int64_t i = 0; i <= len; i++) newlines_before[i + 1] = newlines_before[i] + (i < len && buf[i] == '\n');
    int64_t resume, stop, resume_small, stop_small;
    const How search{0, 0};
    std::vector<Match> whole = scan(p, buf, len, 0, len, 1 << 16, search, &resume, &stop);
    CHECK(stop == 0);
    int64_t cap = 1 + (len ? (uint8_t)buf[len / 2] % 7 : 0);
    std::vector<Match> small = scan(p, buf, len, 0, len, cap, search, &resume_small, &stop_small);
    CHECK(small == whole && stop_small == 0 && resume_small == resume);
    /* Up to a limit: the matches that end by it, then a stop at the first that ends after it. */
    int64_t limit = len ? (int64_t)((uint8_t)buf[0] * (uint64_t)len / 255) : 0;
    int64_t start = len ? (int64_t)((uint8_t)buf[len - 1] * (uint64_t)len / 1024) : 0;
    std::vector<Match> upto = scan(p, buf, len, 0, limit, cap, search, &resume_small, &stop_small);
    CHECK(upto.size() <= whole.size());
    for (size_t i = 0; i < upto.size(); i++) CHECK(upto[i] == whole[i]);
    if (stop_small == 2) CHECK(resume_small <= limit);
    int64_t split = len ? (uint8_t)buf[len / 3] % 64 : 0;
    for (How how : {How{0, split}, How{0, 1}}) { /* the search on two threads */
        int64_t r, s;
        CHECK(scan(p, buf, len, 0, len, 1 << 16, how, &r, &s) == whole && s == stop && r == resume);
        CHECK(scan(p, buf, len, 0, len, 4 + cap, how, &r, &s) == whole && s == 0);
        CHECK(scan(p, buf, len, 0, limit, 4 + cap, how, &r, &s) == upto && s == stop_small &&
              (s != 2 || r == resume_small));
    }
    if (p.line_shaped) { /* one line at a time, on one thread and on two: what the search finds */
        std::vector<Match> from = scan(p, buf, len, start, len, 1 << 16, search, &resume, &stop);
        std::vector<Match> upto_from = scan(p, buf, len, start, limit < start ? start : limit, cap, search, &resume_small,
                                            &stop_small);
        for (How how : {How{1, 0}, How{1, split}, How{1, 1}}) {
            int64_t r, s;
            CHECK(scan(p, buf, len, 0, len, 1 << 16, how, &r, &s) == whole);
            CHECK(scan(p, buf, len, start, len, cap + 1, how, &r, &s) == from && s == stop);
            CHECK(scan(p, buf, len, start, limit < start ? start : limit, cap, how, &r, &s) == upto_from &&
                  s == stop_small && (s != 2 || r == resume_small)); /* the resume point text.py reads */
        }
    }
    free(buf);
    return 0;
}
