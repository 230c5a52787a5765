/* libFuzzer: drift_jsondoc_scan (trainer_state.json) as trainer_state.py calls it: the whole
 * document, for the metric "loss" and for "step" (the shortest point), then again collecting key
 * names into the 64 KiB buffer when no entry is a point. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    jsondoc_file(data, size, "loss");
    jsondoc_file(data, size, "step");
    return 0;
}
