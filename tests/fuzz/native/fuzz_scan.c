/* libFuzzer: drift_scan (JSON lines) as jsonl.py calls it: the whole file in one chunk with the
 * wrapper's array sizes, then in chunks with one-row arrays, so that every call resumes;
 * both must come to the same lines, points, deferred spans and counts. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (size_t s = 0; s < sizeof SPECS / sizeof SPECS[0]; s++) {
        jsonl_totals_t whole, chunked;
        jsonl_file(data, size, &SPECS[s], (int64_t)size + 1, 0, 0, &whole);
        /* Chunks of 1 to 256 bytes in a small input, a few chunks in a large one (each chunk costs
         * its own buffers, and libFuzzer's speed on large inputs is what lets it reach them). */
        int64_t chunk = 1 + (size ? data[size / 2] : 0) * (int64_t)(size / 1024 + 1);
        jsonl_file(data, size, &SPECS[s], chunk, 1, 1 + (int64_t)(size % 3), &chunked);
        if (whole.python_chunks || chunked.python_chunks) continue; /* a CR: Python reads those chunks */
        CHECK(whole.lines == chunked.lines && whole.points == chunked.points);
        CHECK(whole.deferred == chunked.deferred && whole.ignored == chunked.ignored);
        CHECK(whole.broken == chunked.broken && whole.hash == chunked.hash);
        CHECK(whole.first_ignored == chunked.first_ignored && whole.first_broken == chunked.first_broken);
    }
    return 0;
}
