#!/usr/bin/env bash
# Tollgate benchmark: the same load against three subjects, side by side, in one run.
#   direct    loadgen -> mock                  (the floor: what the harness itself costs)
#   tollgate  loadgen -> tollgate -> mock
#   nginx     loadgen -> nginx -> mock         (the reference: a tuned C proxy)
# Placement: mock and loadgen on CPU 0, the subject alone on CPU 1.
#
# usage: tests/bench/run_bench.sh [--quick] [--subjects "direct tollgate nginx"]
#                                 [--phases "lat tput stream hold big ..."] [BUILD_DIR]
# env:   QUICK=1, SUBJECTS, PHASES, PAIRED=0 (no side-by-side large-body pass), BUILD_DIR
#        (default: build/ at the repo root),
#        RESULTS (default: BUILD_DIR/tests/bench/results/bench-<time>.jsonl), KEEP_TMP=1,
#        MOCK_BIN, LOADGEN_BIN, TOLLGATE_BIN, NGINX_BIN to override binaries.
# Builds nothing: build the tree first (targets tollgate, tollgate_bench_mock,
# tollgate_bench_loadgen). See tests/bench/README.md for what each figure means.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

QUICK=${QUICK:-0}
SUBJECTS=${SUBJECTS:-"direct tollgate nginx"}
PHASES=${PHASES:-"lat tput stream hold big fixture session1m big8m session8m"}
BUILD_DIR=${BUILD_DIR:-$repo/build}
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --subjects) SUBJECTS=$2; shift ;;
    --phases) PHASES=$2; shift ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "run_bench: unknown option $1" >&2; exit 2 ;;
    *) BUILD_DIR=$1 ;;
    esac
    shift
done
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || { echo "run_bench: no build dir" >&2; exit 2; }

MOCK_BIN=${MOCK_BIN:-$BUILD_DIR/tests/bench/tollgate_bench_mock}
LOADGEN_BIN=${LOADGEN_BIN:-$BUILD_DIR/tests/bench/tollgate_bench_loadgen}
TOLLGATE_BIN=${TOLLGATE_BIN:-$BUILD_DIR/app/tollgate}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
VIRTUAL_KEY=tg-bench-0123456789abcdef
# A Claude Code request (75 KiB, 3 cache markers of its own): the body prompt-cache
# injection works on for every turn.
FIXTURE_BODY=${FIXTURE_BODY:-$repo/tests/fixtures/claude-code/tool-loop.turn2.body.json}

for bin in "$MOCK_BIN" "$LOADGEN_BIN"; do
    [[ -x $bin ]] || { echo "run_bench: missing $bin (build the bench targets first)" >&2; exit 2; }
done

# Mock and loadgen share CPU 0; the subject gets CPU 1 to itself.
if (($(nproc) >= 2)); then
    HARNESS_CPU=0 SUBJECT_CPU=1
else
    echo "run_bench: only one CPU; everything shares CPU 0, figures are not comparable" >&2
    HARNESS_CPU=0 SUBJECT_CPU=0
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" # 500 streams need 1000+ descriptors

TMP=$(mktemp -d /tmp/tollgate-bench.XXXXXX)

# The fixture grown into long Claude Code sessions of 1 MiB and 8 MiB (hundreds and thousands
# of tool calls): the bodies prompt-cache injection meets late in a working day. Each phase
# sends the session turn after turn (each body one tool call longer than the one before, round
# and round), as Claude Code does: every request carries the whole conversation again.
SESSION1M_ARGS=""
SESSION8M_ARGS=""
session_args() { # session_args BYTES TURNS NAME -> --body-file arguments
    python3 "$here/grow_session.py" "$FIXTURE_BODY" "$1" "$TMP/$3.json" "$2" |
        sed 's/^/--body-file /' | tr '\n' ' '
}
[[ " $PHASES " == *" session1m "* ]] && SESSION1M_ARGS=$(session_args 1048576 16 session-1m)
[[ " $PHASES " == *" session8m "* ]] && SESSION8M_ARGS=$(session_args 8388608 6 session-8m)
RESULTS=${RESULTS:-$BUILD_DIR/tests/bench/results/bench-$(date +%Y%m%d-%H%M%S).jsonl}
mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"

pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in {1..30}; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        echo "run_bench: logs kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process we started (by pid) and forgets it.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in {1..30}; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

forget_pid() { # drops a pid from the cleanup list once it is gone
    local rest=() p
    for p in "${pids[@]}"; do [[ $p == "$1" ]] || rest+=("$p"); done
    pids=("${rest[@]}")
}

# Sets REPLY to a port from 19000 up that nothing listens on and we have not handed out.
handed_out=" "
free_port() {
    local p
    for ((p = 19000; p < 20000; p++)); do
        [[ $handed_out == *" $p "* ]] && continue
        if [[ -z $(ss -Htln "sport = :$p") ]]; then
            handed_out+="$p "
            REPLY=$p
            return 0
        fi
    done
    echo "run_bench: no free port in 19000-19999" >&2
    exit 1
}

json_field() { # json_field NAME <<<LINE -> the number after "NAME":
    sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.]*\).*/\1/p"
}

proc_kib() { # proc_kib PID VmRSS|VmHWM
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo -1
}

# Interference check: user time of the whole machine minus that of our own processes.
# The machine may be shared (a compiler running elsewhere skews every figure).
CLK_TCK=$(getconf CLK_TCK)
machine_user_s() { # user+nice time of all CPUs, seconds
    awk -v t="$CLK_TCK" '$1 == "cpu" { printf "%.2f", ($2 + $3) / t }' /proc/stat
}
proc_user_s() { # proc_user_s PID: utime of a live process, seconds (0 if gone)
    awk -v t="$CLK_TCK" '{ sub(/.*\) /, ""); printf "%.2f", $12 / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}
children_user_s() { # user time of our reaped children (the loadgen runs), seconds
    times | awk 'NR == 2 { split($1, a, /[ms]/); printf "%.2f", a[1] * 60 + a[2] }'
}
own_user_s() { # own_user_s [SUBJECT_PID]
    local total
    total=$(awk -v a="$(proc_user_s "$MOCK_PID")" -v b="$(children_user_s)" 'BEGIN { print a + b }')
    [[ -n ${1:-} ]] && total=$(awk -v a="$total" -v b="$(proc_user_s "$1")" 'BEGIN { print a + b }')
    echo "$total"
}

loadgen() {
    taskset -c "$HARNESS_CPU" "$LOADGEN_BIN" "$@"
}

# Per-phase loadgen arguments: QUICK=1 shrinks every phase to a smoke run.
phase_args() {
    if [[ $QUICK == 1 ]]; then
        case $1 in
        lat) echo --warmup 50 --requests 300 ;;
        tput) echo --concurrency 32 --warmup-seconds 0.5 --seconds 2 ;;
        stream) echo --warmup 1 --requests 5 --events 100 --bytes 200 --delay-us 2000 ;;
        hold) echo --streams 50 --ramp-ms 100 --events 20 --bytes 200 --delay-us 100000 ;;
        big) echo --warmup 1 --requests 5 --body-bytes 1048576 ;;
        fixture) echo --warmup 1 --requests 20 --body-file "$FIXTURE_BODY" --label fixture ;;
        session1m) echo --warmup 1 --requests 5 $SESSION1M_ARGS --label session1m ;;
        big8m) echo --warmup 1 --requests 3 --body-bytes 8388608 --label big8m ;;
        session8m) echo --warmup 1 --requests 3 $SESSION8M_ARGS --label session8m ;;
        esac
    else
        case $1 in
        lat) echo --warmup 200 --requests 2000 ;;
        tput) echo --concurrency 32 --warmup-seconds 2 --seconds 10 ;;
        stream) echo --warmup 2 --requests 30 --events 100 --bytes 200 --delay-us 2000 ;;
        hold) echo --streams 500 --ramp-ms 100 --events 100 --bytes 200 --delay-us 100000 ;;
        big) echo --warmup 3 --requests 30 --body-bytes 1048576 ;;
        fixture) echo --warmup 20 --requests 500 --body-file "$FIXTURE_BODY" --label fixture ;;
        session1m) echo --warmup 3 --requests 30 $SESSION1M_ARGS --label session1m ;;
        big8m) echo --warmup 2 --requests 20 --body-bytes 8388608 --label big8m ;;
        session8m) echo --warmup 2 --requests 20 $SESSION8M_ARGS --label session8m ;;
        esac
    fi
}

write_nginx_conf() { # write_nginx_conf DIR LISTEN_PORT
    local dir=$1 port=$2 user_line=""
    mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
    ((EUID == 0)) && user_line="user root;"
    # master_process off: one process, so RSS and CPU time compare 1:1 with tollgate's.
    cat >"$dir/nginx.conf" <<EOF
$user_line
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
lock_file $dir/nginx.lock;
error_log $dir/error.log warn;
events {
    worker_connections 8192;
}
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_max_body_size 64m;
    client_body_buffer_size 2m;
    upstream mock {
        server 127.0.0.1:$MOCK_PORT;
        keepalive 128;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header x-api-key sk-bench;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
}

# Starts a subject on SUBJECT_CPU; sets SUBJECT_PID, SUBJECT_PORT, STARTUP_S.
start_subject() {
    local name=$1 t0 probe answered
    free_port
    SUBJECT_PORT=$REPLY
    case $name in
    tollgate)
        t0=${EPOCHREALTIME//[.,]/}
        TOLLGATE_UPSTREAM_KEY=sk-bench taskset -c "$SUBJECT_CPU" "$TOLLGATE_BIN" --headless \
            --port "$SUBJECT_PORT" --upstream "http://127.0.0.1:$MOCK_PORT" \
            --virtual-key "$VIRTUAL_KEY" --database "$TMP/requests.sqlite" >"$TMP/tollgate.log" 2>&1 &
        ;;
    keys)
        # The same binary with everything the key work adds on the request path switched
        # on: a named virtual key (tag, model list, limits, budget) from the environment,
        # a tag budget, and three pooled upstream keys. Limits and caps are far above the
        # load, so they are checked on every request and never refuse one.
        mkdir -p "$TMP/keys-home"
        cat >"$TMP/keys-config.json" <<EOF
{"virtual_keys": {"bench": {"billing_tag": "bench", "models": ["claude-*"],
  "limits": {"requests_per_minute": 1000000000, "input_tokens_per_minute": 1000000000,
             "output_tokens_per_minute": 1000000000, "concurrent_streams": 100000},
  "budget": {"daily_usd": 1000000, "monthly_usd": 1000000}}},
 "tag_budgets": {"bench": {"daily_usd": 1000000}}}
EOF
        t0=${EPOCHREALTIME//[.,]/}
        HOME=$TMP/keys-home XDG_CONFIG_HOME=$TMP/keys-home/.config \
            TOLLGATE_VIRTUAL_KEYS="bench=$VIRTUAL_KEY" \
            TOLLGATE_UPSTREAM_KEYS="a=sk-bench-key-a,b=sk-bench-key-b,c=sk-bench-key-c" \
            taskset -c "$SUBJECT_CPU" "$TOLLGATE_BIN" --headless --config "$TMP/keys-config.json" \
            --port "$SUBJECT_PORT" --upstream "http://127.0.0.1:$MOCK_PORT" \
            --database "$TMP/keys-requests.sqlite" >"$TMP/keys.log" 2>&1 &
        ;;
    nginx)
        write_nginx_conf "$TMP/nginx" "$SUBJECT_PORT"
        t0=${EPOCHREALTIME//[.,]/}
        taskset -c "$SUBJECT_CPU" "$NGINX_BIN" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
            -e "$TMP/nginx/error.log" >"$TMP/nginx.log" 2>&1 &
        ;;
    esac
    SUBJECT_PID=$!
    pids+=("$SUBJECT_PID")
    # Time from exec until `HEAD /` is answered (loadgen polls every 1 ms).
    probe=$(loadgen --mode probe --subject "$name" --port "$SUBJECT_PORT" --timeout-seconds 10) || true
    answered=$(json_field answered_realtime_us <<<"$probe")
    if [[ -z $answered || $answered -lt 0 ]] || ! kill -0 "$SUBJECT_PID" 2>/dev/null; then
        echo "run_bench: $name did not answer on port $SUBJECT_PORT; its log:" >&2
        tail -n 20 "$TMP/$name.log" "$TMP/nginx/error.log" 2>/dev/null >&2 || true
        return 1
    fi
    STARTUP_S=$(awk -v us=$((answered - t0)) 'BEGIN { printf "%.4f", us / 1e6 }')
}

is_big_phase() { # the phases that send one large body at a time (loadgen's big mode)
    [[ $1 == big || $1 == fixture || $1 == session* || $1 == big8m ]]
}

run_phases() { # run_phases SUBJECT PORT [PID]
    local name=$1 port=$2 pid=${3:-} phase line limit
    local pid_args=()
    [[ -n $pid ]] && pid_args=(--pid "$pid")
    for phase in $PHASES; do
        case $phase in
        tput | stream) limit=120 ;;
        *) limit=180 ;;
        esac
        echo "run_bench: $name: $phase" >&2
        # In the background plus `wait`, so Ctrl-C or a TERM reaches the cleanup trap at
        # once instead of after the phase. timeout(1) passes a TERM on to loadgen.
        local mode=$phase
        is_big_phase "$phase" && mode=big
        # shellcheck disable=SC2046 # phase_args is a word list on purpose
        timeout "$limit" taskset -c "$HARNESS_CPU" "$LOADGEN_BIN" --mode "$mode" \
            --subject "$name" --port "$port" --key "$VIRTUAL_KEY" "${pid_args[@]}" \
            $(phase_args "$phase") >"$TMP/phase.json" &
        local loadgen_pid=$! status=0
        pids+=("$loadgen_pid")
        wait "$loadgen_pid" || status=$?
        forget_pid "$loadgen_pid"
        line=$(<"$TMP/phase.json")
        if ((status == 0)) && [[ $line == "{"* ]]; then
            echo "$line" >>"$RESULTS"
            echo "  $line" >&2
        else
            echo "{\"mode\":\"$phase\",\"subject\":\"$name\",\"failed\":true}" >>"$RESULTS"
            echo "run_bench: $name: $phase failed (exit $status)" >&2
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "run_bench: $name died during $phase" >&2
            return 1
        fi
        # The peak so far (it never falls): which phases raise it shows in the summary.
        [[ -n $pid ]] && echo "{\"mode\":\"rss\",\"subject\":\"$name\",\"phase\":\"$phase\",\"peak_rss_kib\":$(proc_kib "$pid" VmHWM)}" >>"$RESULTS"
        sleep 0.5 # let sockets in TIME_WAIT and the subject's timers settle
    done
}

# Writes the interference line for a subject: foreign user CPU seconds during its phases.
report_interference() { # report_interference NAME MACHINE0 OWN0 T0 [PID]
    local foreign wall
    foreign=$(awk -v m0="$2" -v m1="$(machine_user_s)" -v o0="$3" -v o1="$(own_user_s "${5:-}")" \
        'BEGIN { f = (m1 - m0) - (o1 - o0); printf "%.2f", f < 0 ? 0 : f }')
    wall=$(awk -v t0="$4" -v t1="${EPOCHREALTIME//[.,]/}" 'BEGIN { printf "%.1f", (t1 - t0) / 1e6 }')
    echo "{\"mode\":\"interference\",\"subject\":\"$1\",\"foreign_user_s\":$foreign,\"wall_s\":$wall}" >>"$RESULTS"
    echo "run_bench: $1: other processes used ${foreign}s of user CPU in ${wall}s" >&2
}

run_subject() {
    local name=$1 idle alive=true log_lines=0 m0 o0 t0
    case $name in
    direct)
        m0=$(machine_user_s) o0=$(own_user_s) t0=${EPOCHREALTIME//[.,]/}
        run_phases direct "$MOCK_PORT" || true
        report_interference direct "$m0" "$o0" "$t0"
        return
        ;;
    tollgate | keys)
        [[ -x $TOLLGATE_BIN ]] || { echo "run_bench: skipping $name: no $TOLLGATE_BIN" >&2; return; }
        ;;
    nginx)
        [[ -x $NGINX_BIN ]] || { echo "run_bench: skipping nginx: no $NGINX_BIN" >&2; return; }
        ;;
    *)
        echo "run_bench: unknown subject $name" >&2
        return
        ;;
    esac
    if ! start_subject "$name"; then
        echo "{\"mode\":\"proc\",\"subject\":\"$name\",\"failed\":true}" >>"$RESULTS"
        stop_pid "$SUBJECT_PID"
        return
    fi
    sleep 0.3 # idle RSS: after start-up work (and any deferred initialisation) is done
    idle=$(proc_kib "$SUBJECT_PID" VmRSS)
    echo "run_bench: $name: pid $SUBJECT_PID, start-up ${STARTUP_S}s, idle RSS ${idle} KiB" >&2
    m0=$(machine_user_s) o0=$(own_user_s "$SUBJECT_PID") t0=${EPOCHREALTIME//[.,]/}
    run_phases "$name" "$SUBJECT_PORT" "$SUBJECT_PID" || alive=false
    report_interference "$name" "$m0" "$o0" "$t0" "$SUBJECT_PID"
    local peak final
    peak=$(proc_kib "$SUBJECT_PID" VmHWM)
    final=$(proc_kib "$SUBJECT_PID" VmRSS)
    [[ -f $TMP/$name.log ]] && log_lines=$(wc -l <"$TMP/$name.log")
    echo "{\"mode\":\"proc\",\"subject\":\"$name\",\"startup_s\":$STARTUP_S,\"idle_rss_kib\":${idle:--1},\"peak_rss_kib\":${peak:--1},\"final_rss_kib\":${final:--1},\"alive\":$alive,\"log_lines\":$log_lines}" >>"$RESULTS"
    stop_pid "$SUBJECT_PID"
    sleep 1
}

free_port
MOCK_PORT=$REPLY
taskset -c "$HARNESS_CPU" "$MOCK_BIN" "$MOCK_PORT" >"$TMP/mock.log" 2>&1 &
MOCK_PID=$!
pids+=("$MOCK_PID")
loadgen --mode probe --subject mock --port "$MOCK_PORT" --timeout-seconds 5 >/dev/null \
    || { echo "run_bench: mock did not start" >&2; cat "$TMP/mock.log" >&2; exit 1; }

echo "{\"mode\":\"meta\",\"date\":\"$(date -Is)\",\"quick\":$QUICK,\"phases\":\"$PHASES\",\"subjects\":\"$SUBJECTS\",\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),\"cpu_model\":\"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)\"}" >>"$RESULTS"
echo "run_bench: mock on 127.0.0.1:$MOCK_PORT (CPU $HARNESS_CPU), results in $RESULTS" >&2

for subject in $SUBJECTS; do
    run_subject "$subject"
done

# The large-body phases once more, with direct, tollgate and nginx side by side: each body
# goes to the three in turn, request by request, so that whatever else the host does
# meanwhile (its figures for the same body swing by 2x from one minute to the next) falls on
# all three alike. Added latency is then the median of per-round differences from direct.
# More rounds than the sequential phases have requests: a round costs three requests, and the
# median of per-round differences needs many of them to settle. The host drifts between
# states minutes apart, so a run must span several: for the same binaries, 150 rounds of the
# 1 MiB session gave nginx medians from 183 to 570 µs, 1,000 rounds (5 s) 329 to 521 µs.
paired_rounds() {
    [[ $QUICK == 1 ]] && return 0
    case $1 in
    fixture | big | session1m) echo --requests 1000 ;;
    big8m | session8m) echo --requests 300 ;;
    esac
}

run_paired() {
    local phases=() phase tg_pid tg_port ngx_pid ngx_port line
    for phase in $PHASES; do
        is_big_phase "$phase" && phases+=("$phase")
    done
    ((${#phases[@]})) || return 0
    start_subject tollgate || { stop_pid "$SUBJECT_PID"; return 0; }
    tg_pid=$SUBJECT_PID tg_port=$SUBJECT_PORT
    if ! start_subject nginx; then
        stop_pid "$SUBJECT_PID"
        stop_pid "$tg_pid"
        return 0
    fi
    ngx_pid=$SUBJECT_PID ngx_port=$SUBJECT_PORT
    local faults0 faults1 stat
    for phase in "${phases[@]}"; do
        echo "run_bench: paired: $phase" >&2
        read -r -a stat <"/proc/$tg_pid/stat" && faults0=${stat[9]}
        # shellcheck disable=SC2046 # phase_args is a word list on purpose
        timeout 300 taskset -c "$HARNESS_CPU" "$LOADGEN_BIN" --mode paired \
            --ports "$MOCK_PORT,$tg_port,$ngx_port" --subjects direct,tollgate,nginx \
            --key "$VIRTUAL_KEY" $(phase_args "$phase") $(paired_rounds "$phase") --label "$phase" \
            >"$TMP/paired.json" || echo "run_bench: paired $phase failed" >&2
        while IFS= read -r line; do
            [[ $line == "{"* ]] && echo "$line" >>"$RESULTS" && echo "  $line" >&2
        done <"$TMP/paired.json"
        # Page faults of tollgate's over the phase: a body buffer the allocator hands back to
        # the system between requests is faulted in again, page by page, by the next.
        read -r -a stat <"/proc/$tg_pid/stat" && faults1=${stat[9]}
        line="{\"mode\":\"paired-faults:$phase\",\"subject\":\"tollgate\",\"minor_faults\":$((faults1 - faults0))}"
        echo "$line" >>"$RESULTS" && echo "  $line" >&2
    done
    stop_pid "$ngx_pid"
    stop_pid "$tg_pid"
}
if [[ ${PAIRED:-1} == 1 && " $SUBJECTS " == *" direct "* && " $SUBJECTS " == *" tollgate "* &&
    " $SUBJECTS " == *" nginx "* && -x $TOLLGATE_BIN && -x $NGINX_BIN ]]; then
    run_paired
fi

python3 "$here/summarize.py" "$RESULTS"
