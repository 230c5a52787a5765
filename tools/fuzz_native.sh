#!/usr/bin/env bash
# Sanitizer checks of the compiled readers (drift/native), shared by .ci/run and the nightly fuzz
# workflow. Needs Debian's clang and libFuzzer (apt-get install clang libclang-rt-14-dev).
#
#   tools/fuzz_native.sh build [OUT]               harnesses (libFuzzer + ASan + UBSan), TSan driver, seeds
#   tools/fuzz_native.sh fuzz  [OUT] [SECONDS]     each harness for SECONDS (default 30), two at a time
#   tools/fuzz_native.sh tsan  [OUT]               every entry point on two threads at once under TSan
#   tools/fuzz_native.sh all   [OUT] [SECONDS]     the three above
#
# OUT defaults to fuzz-native/ (ignored by git). A crash, a sanitizer report or a failed contract
# check makes the command fail; the input is left under OUT/crashes/. Harnesses: tests/fuzz/native/.
set -euo pipefail
cd "$(dirname "$0")/.."

step=${1:-all}
out=$(realpath -m "${2:-fuzz-native}")
seconds=${3:-30}
python=${PYTHON:-.venv/bin/python}
harnesses=(scan jsondoc tfevents wandb)
sources=(drift/native/scan.c drift/native/jsondoc.c drift/native/tfevents.c drift/native/wandb.c)
declare -A seeds_of=([scan]=jsonl [jsondoc]=jsondoc [tfevents]=tfevents [wandb]=wandb [textscan]=text)

build() {
    mkdir -p "$out/bin"
    "$python" -m tests.fuzz.native.seeds "$out/seeds"
    local flags=(-g -O1 -std=c11 -Wall -Wextra -Werror -Itests/fuzz/native)
    for h in "${harnesses[@]}"; do
        clang "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            "tests/fuzz/native/fuzz_$h.c" "${sources[@]}" -o "$out/bin/fuzz_$h" &
    done
    # The text scanner is C++ on libre2 (its own library): the same sanitizers, and the harness
    # again under TSan (a line-shaped pattern's lines are split between two threads).
    clang++ -g -O1 -std=c++17 -Wall -Wextra -Werror -pthread -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined tests/fuzz/native/fuzz_textscan.cc drift/native/textscan.cc -lre2 \
        -o "$out/bin/fuzz_textscan" &
    # (the scanner without libFuzzer's coverage counters, which the two threads would race on)
    { clang++ -g -O1 -std=c++17 -Wall -Wextra -Werror -pthread -fsanitize=thread -c drift/native/textscan.cc \
        -o "$out/bin/textscan-tsan.o" && clang++ -g -O1 -std=c++17 -Wall -Wextra -Werror -pthread \
        -fsanitize=fuzzer,thread tests/fuzz/native/fuzz_textscan.cc "$out/bin/textscan-tsan.o" -lre2 \
        -o "$out/bin/tsan_textscan"; } &
    clang "${flags[@]}" -fsanitize=thread tests/fuzz/native/tsan_threads.c "${sources[@]}" -lpthread \
        -o "$out/bin/tsan_threads" &
    clang "${flags[@]}" -fsanitize=thread -DTSAN_CONTROL tests/fuzz/native/tsan_threads.c "${sources[@]}" \
        -lpthread -o "$out/bin/tsan_control" &
    wait_all
    echo "built $out/bin: ${harnesses[*]/#/fuzz_} fuzz_textscan tsan_threads tsan_textscan"
}

wait_all() {
    local failed=0
    for job in $(jobs -p); do wait "$job" || failed=1; done
    return $failed
}

fuzz_one() {
    local h=$1 corpus="$out/corpus/$1"
    mkdir -p "$corpus" "$out/crashes"
    # The seeds go in as a second, read-only corpus; -max_len lets mutations grow past 64 KiB.
    # fuzz_textscan reads its patterns (every recogniser's, the fixed user patterns) from this file.
    if DRIFT_TEXT_PATTERNS="$out/seeds/text-patterns.txt" "$out/bin/fuzz_$h" -max_total_time="$seconds" -max_len=300000 -timeout=20 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$h-" "$corpus" "$out/seeds/${seeds_of[$h]}" \
        >"$out/fuzz_$h.log" 2>&1; then
        local runs
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz_$h.log" | grep -o '[0-9]*$' || true)
        echo "fuzz_$h: ${runs:-?} executions in ${seconds} s, no crash"
    else
        echo "fuzz_$h: FAILED (see $out/fuzz_$h.log; input under $out/crashes/)"
        grep -E 'ERROR|SUMMARY|contract check failed|runtime error' "$out/fuzz_$h.log" | head -20 || true
        return 1
    fi
}

fuzz() {
    # Two at a time: CI has two cores, and its time budget is shared with everything else.
    local failed=0
    fuzz_one scan & local a=$!
    fuzz_one jsondoc & local b=$!
    wait $a || failed=1
    wait $b || failed=1
    fuzz_one tfevents & a=$!
    fuzz_one textscan & b=$!
    wait $a || failed=1
    wait $b || failed=1
    fuzz_one wandb || failed=1
    return $failed
}

tsan() {
    local args=()
    for kind in jsonl jsondoc tfevents wandb; do
        for f in "$out/seeds/$kind"/*; do args+=("$kind" "$f"); done
    done
    # The negative control must be caught, or a clean run below proves nothing. The longest
    # history TSan keeps, so that a race with an access long before is still reported.
    local options=halt_on_error=1:history_size=7
    TSAN_OPTIONS=$options "$out/bin/tsan_control" jsonl "$out/seeds/jsonl/ordinary.jsonl" \
        >"$out/tsan_control.log" 2>&1 || true
    if ! grep -q "WARNING: ThreadSanitizer: data race" "$out/tsan_control.log"; then
        echo "tsan: the negative control's race was not reported; ThreadSanitizer is not working"
        return 1
    fi
    TSAN_OPTIONS=$options "$out/bin/tsan_threads" "${args[@]}"
    TSAN_OPTIONS=$options DRIFT_TEXT_PATTERNS="$out/seeds/text-patterns.txt" "$out/bin/tsan_textscan" -runs=0 \
        "$out/seeds/text" >"$out/tsan_textscan.log" 2>&1 || { tail -40 "$out/tsan_textscan.log"; return 1; }
    echo "tsan_textscan: the text seeds on two threads, no race"
}

case $step in
    build) build ;;
    fuzz) fuzz ;;
    tsan) tsan ;;
    all) build && fuzz && tsan ;;
    *) echo "usage: $0 build|fuzz|tsan|all [OUT] [SECONDS]" >&2; exit 2 ;;
esac
