#!/usr/bin/env bash
# Screenshots of the real app: starts Xvfb with trayer as the tray host, runs the tour
# program (real DesktopApp, mock upstream, traffic) and leaves PNGs of every page, the tray
# menu and the whole screen in the given folder (default: screenshots/ in the build dir).
# Needs: xvfb, trayer (scripts/install-deps.sh --test installs them).
set -euo pipefail
build="${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}"
out="${1:-$build/screenshots}"
tour="$build/tests/gui/tollgate_screenshot_tour"
[[ -x "$tour" ]] || { echo "build the tollgate_screenshot_tour target first" >&2; exit 2; }
mkdir -p "$out"
xvfb-run -a -s "-screen 0 1440x900x24" bash -c '
    trayer --edge top --align right --widthtype request --height 24 --transparent false \
           --tint 0x303030 --SetDockType true >/dev/null 2>&1 &
    tray=$!
    sleep 1
    QT_QPA_PLATFORM=xcb "$0" "$1"
    status=$?
    kill $tray 2>/dev/null || true
    exit $status
' "$tour" "$out"
echo "screenshots in $out"
