#!/usr/bin/env bash
# Installs what the tests need (Debian 12), builds everything with warnings as errors,
# checks formatting and runs the whole suite: unit, integration and end-to-end tests.
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
cd build
ctest --output-on-failure --timeout 300 "$@"
