#!/usr/bin/env bash
# Soak run: Tollgate under sustained mixed load on 127.0.0.1 for a fixed time.
#
#   loadgen (soak mode) -> tollgate --headless -> tollgate_bench_mock
#
# 500 SSE streams are kept open the whole time (each 100 events 100 ms apart, reopened as
# soon as one ends) beside steady non-stream traffic. Every 10 s the script samples the
# proxy's RSS and open file descriptors; at the end it stops the proxy the way a user
# does (SIGTERM, which flushes the request log) and counts the log's rows against the
# requests the load generator issued.
#
# usage: tests/bench/soak.sh [BUILD_DIR]
#   env: SOAK_SECONDS [600]  STREAMS [500]  RATE [50]  CONCURRENCY [4]  EVENTS [100]
#        DELAY_US [100000]  SAMPLE_SECONDS [10]  KEEP_TMP=1 keeps logs and the samples
# Prints the RSS curve, descriptor counts, request and row counts, and exits non-zero if
# any request failed, a row is missing, or the proxy died.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${1:-$repo/build}
SOAK_SECONDS=${SOAK_SECONDS:-600}
STREAMS=${STREAMS:-500}
RATE=${RATE:-50}
CONCURRENCY=${CONCURRENCY:-4}
EVENTS=${EVENTS:-100}
DELAY_US=${DELAY_US:-100000}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
MOCK_BIN=${MOCK_BIN:-$BUILD_DIR/tests/bench/tollgate_bench_mock}
LOADGEN_BIN=${LOADGEN_BIN:-$BUILD_DIR/tests/bench/tollgate_bench_loadgen}
TOLLGATE_BIN=${TOLLGATE_BIN:-$BUILD_DIR/app/tollgate}
VIRTUAL_KEY=tg-soak-0123456789abcdef

for bin in "$MOCK_BIN" "$LOADGEN_BIN" "$TOLLGATE_BIN"; do
    [[ -x $bin ]] || { echo "soak: missing $bin (build tollgate and the bench targets)" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

TMP=$(mktemp -d /tmp/tollgate-soak.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "soak: logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    for ((p = ${1:-19500}; p < 20000; p++)); do
        [[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return; }
    done
    return 1
}
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo -1; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# Mock and load generator share CPU 0; the proxy gets CPU 1, as in run_bench.sh.
HARNESS_CPU=0 SUBJECT_CPU=$(($(nproc) >= 2 ? 1 : 0))
MOCK_PORT=$(free_port 19500)
taskset -c "$HARNESS_CPU" "$MOCK_BIN" "$MOCK_PORT" >"$TMP/mock.log" 2>&1 &
pids+=($!)
PORT=$(free_port $((MOCK_PORT + 1)))
mkdir -p "$TMP/home"
HOME=$TMP/home XDG_CONFIG_HOME=$TMP/home/.config XDG_DATA_HOME=$TMP/home/.local/share \
    TOLLGATE_UPSTREAM_KEY=sk-soak taskset -c "$SUBJECT_CPU" "$TOLLGATE_BIN" --headless --quiet \
    --port "$PORT" --upstream "http://127.0.0.1:$MOCK_PORT" --virtual-key "$VIRTUAL_KEY" \
    --database "$TMP/requests.sqlite" >"$TMP/tollgate.log" 2>&1 &
TOLLGATE_PID=$!
pids+=("$TOLLGATE_PID")
"$LOADGEN_BIN" --mode probe --port "$PORT" --timeout-seconds 10 >/dev/null \
    || { echo "soak: tollgate did not answer; log:" >&2; cat "$TMP/tollgate.log" >&2; exit 1; }
# One request first, so the idle figures include what the first request opens for good (the
# request log's database, its WAL and shared-memory files).
"$LOADGEN_BIN" --mode lat --port "$PORT" --key "$VIRTUAL_KEY" --warmup 0 --requests 1 >/dev/null
sleep 1
rss_idle=$(kib "$TOLLGATE_PID" VmRSS)
fds_idle=$(fds "$TOLLGATE_PID")
echo "soak: tollgate pid $TOLLGATE_PID on :$PORT; idle RSS ${rss_idle} KiB, ${fds_idle} fds;" \
    "${SOAK_SECONDS}s of ${STREAMS} streams + ${RATE} req/s" >&2

: >"$TMP/samples.csv"
(
    t0=$SECONDS
    while kill -0 "$TOLLGATE_PID" 2>/dev/null; do
        echo "$((SECONDS - t0)),$(kib "$TOLLGATE_PID" VmRSS),$(fds "$TOLLGATE_PID")" >>"$TMP/samples.csv"
        sleep "$SAMPLE_SECONDS"
    done
) &
SAMPLER_PID=$!
pids+=("$SAMPLER_PID")

taskset -c "$HARNESS_CPU" "$LOADGEN_BIN" --mode soak --port "$PORT" --key "$VIRTUAL_KEY" \
    --subject tollgate --pid "$TOLLGATE_PID" --streams "$STREAMS" --events "$EVENTS" \
    --delay-us "$DELAY_US" --concurrency "$CONCURRENCY" --rate "$RATE" \
    --seconds "$SOAK_SECONDS" --progress-seconds 60 >"$TMP/soak.json"
cat "$TMP/soak.json"

# Pooled upstream connections close after 30 s idle; then descriptors should be back.
sleep 5
fds_after5=$(fds "$TOLLGATE_PID")
sleep 30
fds_after35=$(fds "$TOLLGATE_PID")
rss_end=$(kib "$TOLLGATE_PID" VmRSS)
rss_peak=$(kib "$TOLLGATE_PID" VmHWM)
alive=1
kill -0 "$TOLLGATE_PID" 2>/dev/null || alive=0
kill "$SAMPLER_PID" 2>/dev/null || true

kill -TERM "$TOLLGATE_PID" 2>/dev/null || true
for _ in {1..100}; do kill -0 "$TOLLGATE_PID" 2>/dev/null || break; sleep 0.1; done

python3 - "$TMP/soak.json" "$TMP/samples.csv" "$TMP/requests.sqlite" "$rss_idle" "$rss_end" \
    "$rss_peak" "$fds_idle" "$fds_after5" "$fds_after35" "$alive" "$SOAK_SECONDS" <<'EOF'
import json, sqlite3, sys
soak = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
samples = [tuple(int(x) for x in l.split(",")) for l in open(sys.argv[2]) if l.strip()]
db = sqlite3.connect(sys.argv[3])
# The start-up probe (HEAD /) has a row of its own; the load is every POST but the one
# warm-up request.
rows = db.execute("SELECT COUNT(*) FROM requests WHERE method = 'POST'").fetchone()[0] - 1
ok_rows = db.execute("SELECT COUNT(*) FROM requests WHERE method = 'POST' AND status = 200"
                     ).fetchone()[0] - 1
(rss_idle, rss_end, rss_peak, fds_idle, fds5, fds35, alive, seconds) = map(int, sys.argv[4:12])
print("RSS curve (KiB; one sample a minute):")
for t, rss, fd in samples:
    if t % 60 < 10 or t == samples[-1][0]:
        print(f"  t={t:4d}s  rss={rss:7d}  fds={fd}")
warm = [s for s in samples if s[0] >= 60 and s[0] <= seconds]
if warm:
    first, last = warm[0][1], warm[-1][1]
    print(f"after warm-up (t>=60s): first {first} KiB, last {last} KiB, "
          f"max {max(s[1] for s in warm)} KiB, drift {last - first:+d} KiB")
print(f"RSS idle {rss_idle} KiB, peak {rss_peak} KiB, end {rss_end} KiB")
print(f"fds idle {fds_idle}, peak {max(s[2] for s in samples)}, 5 s after {fds5}, 35 s after {fds35}")
issued = soak["total_requests"]
print(f"requests issued {issued} (streams {soak['stream_requests']}, non-stream {soak['requests']}),"
      f" failed {soak['stream_failed'] + soak['failed']}; request-log rows {rows} ({ok_rows} with 200)")
print(f"event delay p50 {soak['event_p50_us']} us p99 {soak['event_p99_us']} us;"
      f" non-stream latency p50 {soak['p50_us']} us p99 {soak['p99_us']} us")
bad = []
if not alive: bad.append("tollgate died")
if soak["stream_failed"] + soak["failed"]: bad.append("requests failed")
if rows != issued: bad.append(f"{issued - rows} rows missing")
if fds35 > fds_idle: bad.append("descriptors not back to idle")
print("soak: " + ("PASS" if not bad else "FAIL: " + ", ".join(bad)))
sys.exit(1 if bad else 0)
EOF
