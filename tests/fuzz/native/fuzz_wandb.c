/* libFuzzer: drift_wandb_scan (W&B run files) as wandbrun.py calls it: the whole file in the
 * wrapper's pieces with its array sizes, then in one-block pieces with one-row arrays that grow as
 * the wrapper grows them (records split across pieces, calls resumed mid-record); both must come
 * to the same records, values, keys, damage and records handed back. The input's first byte is
 * replaced by the file's magic half the time, so mutations reach the framing. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *file = xmalloc(size + W_MAGIC_LEN);
    size_t len = size;
    if (size && (data[0] & 1)) { /* a W&B header, then the rest of the input */
        memcpy(file, ":W&B\xe1\xbe\x00", W_MAGIC_LEN);
        memcpy(file + W_MAGIC_LEN, data + 1, size - 1);
        len = size - 1 + W_MAGIC_LEN;
    } else if (size) {
        memcpy(file, data, size);
    }
    w_totals_t whole, pieces;
    w_file(file, (int64_t)len, 256, 1 << 17, 1 << 8, 1 << 14, &whole);
    w_file(file, (int64_t)len, 1, 1, 1, 1, &pieces);
    CHECK(whole.records == pieces.records && whole.values == pieces.values && whole.defers == pieces.defers);
    CHECK(whole.damaged == pieces.damaged && whole.first_damaged == pieces.first_damaged);
    CHECK(whole.hash == pieces.hash);
    free(file);
    return 0;
}
