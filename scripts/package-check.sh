#!/usr/bin/env bash
# Checks the Debian package the way a user meets it (Debian 12, as root): makes it with
# cpack in the build directory scripts/test.sh made, installs it with apt (which resolves its
# dependencies afresh), runs the installed `tollgate --version`, sends one request through
# the installed binary, headless, to the benchmark's mock upstream, then removes the package
# and checks nothing of it stays. Prints a PASS or FAIL line per step; exits non-zero on the
# first failure.
#
#   scripts/package-check.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath "${1:-build}")

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
work=$(mktemp -d)
tollgate_pid=
mock_pid=
cleanup() {
    if [[ -n "$tollgate_pid" ]]; then kill "$tollgate_pid" 2>/dev/null || true; fi
    if [[ -n "$mock_pid" ]]; then kill "$mock_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*" >&2
    for log in "$work"/*.log; do
        [[ -s "$log" ]] && { echo "--- $(basename "$log")" >&2; tail -n 30 "$log" >&2; }
    done
    exit 1
}
elapsed() { echo "$((SECONDS - ${1}))s"; }

[[ -f "$build_dir/CPackConfig.cmake" ]] || fail "no CMake build in $build_dir (run scripts/test.sh first)"

# 1. The package. A leftover from an earlier run must not hide a missing file.
start=$SECONDS
rm -f "$build_dir"/tollgate_*.deb
(cd "$build_dir" && cpack -G DEB) >"$work/cpack.log" 2>&1 || fail "cpack -G DEB"
deb=$(find "$build_dir" -maxdepth 1 -name 'tollgate_*.deb' | head -n 1)
[[ -n "$deb" ]] || fail "cpack made no tollgate_*.deb"
pass "cpack -G DEB made $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB, $(elapsed $start))"
depends=$(dpkg-deb -f "$deb" Depends)
for needed in libsecret-1-0 libqt6sql6-sqlite libqt6svg6 libqt6keychain1 libqt6widgets6; do
    [[ "$depends" == *"$needed"* ]] || fail "Depends lacks $needed: $depends"
done
pass "Depends: $depends"

# 2. Installed with the package manager.
start=$SECONDS
if dpkg-query -W -f='${Status}' tollgate 2>/dev/null | grep -q 'install ok installed'; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q tollgate >"$work/apt.log" 2>&1 \
        || fail "removing an earlier tollgate package"
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$deb" >"$work/apt.log" 2>&1 \
    || fail "apt-get install $(basename "$deb")"
[[ -x /usr/bin/tollgate ]] || fail "the package installed no /usr/bin/tollgate"
for file in /usr/share/applications/tollgate.desktop \
            /usr/share/icons/hicolor/scalable/apps/tollgate.svg \
            /usr/share/icons/hicolor/48x48/apps/tollgate.png \
            /usr/share/doc/tollgate/copyright; do
    [[ -f "$file" ]] || fail "the package installed no $file"
done
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate /usr/share/applications/tollgate.desktop >"$work/desktop.log" 2>&1 \
        || fail "desktop-file-validate /usr/share/applications/tollgate.desktop"
fi
pass "apt-get install $(basename "$deb") ($(elapsed $start))"

# 3. The installed binary runs: every library it needs came with the dependencies.
version=$(/usr/bin/tollgate --version 2>&1) || fail "/usr/bin/tollgate --version: $version"
[[ "$version" == "tollgate $(dpkg-deb -f "$deb" Version)"* ]] \
    || fail "/usr/bin/tollgate --version printed '$version'"
pass "/usr/bin/tollgate --version: $version"

# 4. One request through the installed binary, headless, to the mock upstream, with homes of
#    its own so nothing touches the machine's settings or request log.
start=$SECONDS
mock="$build_dir/tests/bench/tollgate_bench_mock"
if [[ ! -x "$mock" ]]; then
    cmake --build "$build_dir" --target tollgate_bench_mock >"$work/mock-build.log" 2>&1 \
        || fail "building the mock upstream (tollgate_bench_mock)"
fi
"$mock" 0 --quiet >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 50); do
    mock_port=$(head -n 1 "$work/mock.log" 2>/dev/null || true)
    [[ "$mock_port" =~ ^[0-9]+$ ]] && break
    sleep 0.1
done
[[ "$mock_port" =~ ^[0-9]+$ ]] || fail "the mock upstream did not start"

virtual_key=tg-package-check-0123456789
mkdir -p "$work/home" "$work/config" "$work/data"
env -u DISPLAY -u WAYLAND_DISPLAY HOME="$work/home" XDG_CONFIG_HOME="$work/config" \
    XDG_DATA_HOME="$work/data" TOLLGATE_UPSTREAM_KEY=sk-ant-api03-package-check \
    /usr/bin/tollgate --headless --listen 127.0.0.1 --port 0 \
    --upstream "http://127.0.0.1:$mock_port" --virtual-key "$virtual_key" \
    >"$work/tollgate.log" 2>&1 &
tollgate_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's|^export ANTHROPIC_BASE_URL=http://127\.0\.0\.1:\([0-9]*\)$|\1|p' \
        "$work/tollgate.log" | head -n 1)
    [[ -n "$port" ]] && break
    kill -0 "$tollgate_pid" 2>/dev/null || fail "the installed tollgate exited at start"
    sleep 0.1
done
[[ -n "$port" ]] || fail "the installed tollgate printed no ANTHROPIC_BASE_URL within 10 s"

status=$(curl -sS --max-time 20 -o "$work/body.json" -w '%{http_code}' \
    -H "x-api-key: $virtual_key" -H 'anthropic-version: 2023-06-01' \
    -H 'content-type: application/json' \
    --data '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}' \
    "http://127.0.0.1:$port/v1/messages" 2>"$work/curl.log") || fail "curl to the installed tollgate"
[[ "$status" == 200 ]] || fail "POST /v1/messages answered $status: $(head -c 300 "$work/body.json")"
grep -q '"id":"msg_bench_' "$work/body.json" \
    || fail "the answer is not the mock's message: $(head -c 300 "$work/body.json")"
for _ in $(seq 50); do
    grep -q 'POST /v1/messages 200' "$work/tollgate.log" && break
    sleep 0.1
done
grep -q 'POST /v1/messages 200' "$work/tollgate.log" || fail "no request log line 'POST /v1/messages 200'"

kill -TERM "$tollgate_pid"
code=0
wait "$tollgate_pid" || code=$?
tollgate_pid=
[[ $code -eq 0 ]] || fail "the installed tollgate exited with $code on SIGTERM"
pass "headless smoke through /usr/bin/tollgate: 200 from the mock, request logged, clean stop ($(elapsed $start))"

# 5. Removed cleanly.
start=$SECONDS
DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q tollgate >"$work/apt.log" 2>&1 \
    || fail "apt-get remove tollgate"
[[ ! -e /usr/bin/tollgate ]] || fail "/usr/bin/tollgate is still there after removal"
[[ ! -e /usr/share/applications/tollgate.desktop ]] || fail "the desktop entry outlived the package"
! dpkg-query -W -f='${Status}' tollgate 2>/dev/null | grep -q 'install ok installed' \
    || fail "dpkg still lists tollgate as installed"
pass "apt-get remove tollgate left no /usr/bin/tollgate ($(elapsed $start))"
echo "PASS: package check"
