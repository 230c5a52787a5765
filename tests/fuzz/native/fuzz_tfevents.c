/* libFuzzer: drift_tfevents_scan (TensorBoard event files) as tensorboard.py calls it: the whole
 * file with the wrapper's array sizes, then in chunks (records straddle them) with one-row arrays that grow as the
 * wrapper grows them; both must come to the same records, scalars and damage. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tf_totals_t whole, chunked;
    tf_file(data, (int64_t)size, 8 << 20, 1 << 17, 1 << 10, &whole);
    tf_file(data, (int64_t)size, 16 + (size ? data[size / 2] : 0) * (int64_t)(size / 1024 + 1), 1, 1, &chunked);
    CHECK(whole.records == chunked.records && whole.values == chunked.values);
    CHECK(whole.damaged == chunked.damaged && whole.stop == chunked.stop && whole.hash == chunked.hash);
    return 0;
}
