#!/usr/bin/env bash
# Builds the unit and integration tests with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-fuzz/, the same build as the fuzzers: scripts/fuzz-check.sh)
# and runs them; any sanitizer report fails the test that printed it. Only the targets those
# tests need are built (no GUI, no benchmarks).
#   SANITIZE_BUILD_DIR  build folder (build-fuzz)
#   SANITIZE_JOBS       parallel compile jobs (all cores)
#   SANITIZE_TARGETS    more targets to build in the same run (scripts/fuzz-check.sh's fuzzers)
#   SANITIZE_SKIP_TESTS=1  build only
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${SANITIZE_BUILD_DIR:-build-fuzz}
jobs=${SANITIZE_JOBS:-$(nproc)}

launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "== sanitized build ($build)"
start=$SECONDS
# -O1 with line tables: ASan's usual trade between compile time, run time and readable stacks.
# Debug keeps Q_ASSERT and assert() on, so broken invariants abort in the tests and fuzzers.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
    "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" \
    -DTOLLGATE_WERROR=ON -DTOLLGATE_BUILD_FUZZERS=ON -DTOLLGATE_BUILD_GUI=OFF \
    -DTOLLGATE_BUILD_BENCH=OFF >/dev/null
# The test names are their executables' target names.
mapfile -t tests < <(ctest --test-dir "$build" -N -L 'unit|integration' | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086 # SANITIZE_TARGETS is a list
cmake --build "$build" -j "$jobs" --target "${tests[@]}" tollgate_fuzz_corpus ${SANITIZE_TARGETS:-}
echo "built in $((SECONDS - start)) s"

if [[ "${SANITIZE_SKIP_TESTS:-0}" == 1 ]]; then
    exit 0
fi

echo "== sanitized tests (unit, integration)"
start=$SECONDS
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Suppressions name third-party frames only (see the file).
export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
if command -v llvm-symbolizer >/dev/null; then
    export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
ctest --test-dir "$build" -L 'unit|integration' -j "$jobs" --output-on-failure --timeout 600 "$@"
echo "tests ran in $((SECONDS - start)) s"
