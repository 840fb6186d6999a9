#!/usr/bin/env bash
# The hardening stage: one clang build (build-fuzz/) with ASan and UBSan serves both checks.
#  1. scripts/sanitize-check.sh: the unit and integration tests, sanitized.
#  2. Each libFuzzer target of tests/fuzz for a bounded time, from its seed corpus and with
#     its dictionary. A crash, a failed property, a leak, a timeout or an out-of-memory fails
#     the stage; the input is left in build-fuzz/fuzz-artifacts/<target>/ (replay it with
#     build-fuzz/tests/fuzz/fuzz_<target> <file>, and add it to tests/fuzz/regressions/<target>/
#     once fixed).
#   FUZZ_SECONDS   seconds per target (20)
#   FUZZ_TARGETS   targets to run (all)
#   FUZZ_ONLY=1    skip the sanitized tests
# Other settings: see scripts/sanitize-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${SANITIZE_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-20}

# target:max_len:dictionary. The lengths cover the small seeds whole; bigger fixtures are cut.
all_targets=(
    http_request:16384:http
    sse_parser:8192:sse
    cache_injector:16384:json
    json_reader:8192:json
    messages_to_chat:16384:json
    chat_to_messages:8192:json
    chat_stream_to_messages:8192:sse
    messages_stream_to_chat:8192:sse
)
targets=()
for entry in "${all_targets[@]}"; do
    name=${entry%%:*}
    if [[ -z "${FUZZ_TARGETS:-}" || " $FUZZ_TARGETS " == *" $name "* ]]; then
        targets+=("$entry")
    fi
done

fuzzers=""
for entry in "${targets[@]}"; do
    fuzzers+=" fuzz_${entry%%:*}"
done
if [[ "${FUZZ_ONLY:-0}" == 1 ]]; then
    SANITIZE_TARGETS="$fuzzers" SANITIZE_SKIP_TESTS=1 scripts/sanitize-check.sh
else
    SANITIZE_TARGETS="$fuzzers" scripts/sanitize-check.sh
fi

echo "== fuzzing (${seconds} s per target)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
if command -v llvm-symbolizer >/dev/null; then
    export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
failed=()
summary=()
for entry in "${targets[@]}"; do
    IFS=: read -r name max_len dict <<<"$entry"
    work=$build/fuzz-corpus/$name # what this run found, kept for the next run
    artifacts=$build/fuzz-artifacts/$name
    log=$build/fuzz-logs/$name.log
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    rm -f "$artifacts"/*
    status=0
    "$build/tests/fuzz/fuzz_$name" "$work" "$build/tests/fuzz/corpus/$name" \
        -dict="tests/fuzz/dict/$dict.dict" -max_len="$max_len" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    line=$(printf '%-26s %10s runs in %4s s, corpus %5s inputs' "$name" "${runs:-?}" \
        "${took:-?}" "$corpus")
    if ((status != 0)) || [[ -n "$(ls -A "$artifacts")" ]]; then
        failed+=("$name")
        line+="  FAILED (exit $status, log $log)"
        grep -E 'ERROR|SUMMARY|property failed|runtime error|Test unit written' "$log" | head -20 || true
    fi
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
