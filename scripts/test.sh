#!/usr/bin/env bash
# Installs what the tests need (Debian 12), builds everything with warnings as errors,
# checks formatting and runs the whole suite: unit, integration, GUI and end-to-end tests;
# then the Debian package (made, installed, run, removed) and the hardening stage (the
# unit and integration tests under ASan and UBSan, and every fuzz target for a bounded time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

echo "== format"
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOLLGATE_WERROR=ON >/dev/null
cmake --build build

echo "== node clients"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

echo "== tests"
(cd build && ctest --output-on-failure --timeout 300 "$@")

echo "== package"
scripts/package-check.sh build

echo "== sanitizers and fuzzing"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz-check.sh
