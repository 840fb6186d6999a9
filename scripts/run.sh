#!/usr/bin/env bash
# Installs what Tollgate needs (Debian 12), builds it in build/ and runs it: the window and
# tray icon where there is a display, headless otherwise. Arguments go to tollgate, e.g.
# scripts/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target tollgate
if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]]; then
    exec build/app/tollgate "$@"
fi
exec build/app/tollgate --headless "$@"
