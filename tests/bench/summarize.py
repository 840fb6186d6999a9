#!/usr/bin/env python3
"""Prints one table from a run_bench.sh results file (JSON lines).

usage: summarize.py RESULTS.jsonl [--markdown]

Rows are metrics, columns are the subjects (direct | tollgate | nginx), the ratio
tollgate/nginx, the target tollgate must meet and PASS/MISS against it. "Added" rows
subtract the direct figure, so they show what the proxy itself costs.
"""

import json
import signal
import sys

SUBJECTS = ("direct", "tollgate", "nginx")
# Optional: tollgate with a named virtual key (tag, model list, limits, budget), a tag
# budget and a pool of three upstream keys. Shown with its difference from `tollgate`: what
# auth, pool, limits and budgets add.
KEYS_SUBJECT = "keys"


def load(path):
    results = {}  # (subject, mode) -> dict; a later line replaces an earlier one
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("mode") == "meta":
                meta = record
            elif record.get("mode") == "rss":  # one per phase: the peak once it ended
                results[(record.get("subject"), "rss:" + str(record.get("phase")))] = record
            else:
                results[(record.get("subject"), record.get("mode"))] = record
    return meta, results


def field(results, subject, mode, key, scale=1.0):
    """A number from one record; None when missing, failed or negative (= no data)."""
    record = results.get((subject, mode))
    if not record or record.get("failed"):
        return None
    value = record.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        return None
    return value * scale


def added(results, subject, mode, key):
    """subject's figure minus the direct one: what the proxy in between adds."""
    if subject == "direct":
        return None
    value = field(results, subject, mode, key)
    base = field(results, "direct", mode, key)
    return None if value is None or base is None else value - base


def paired_added(results, subject, mode):
    """The side-by-side pass's added latency: the median of per-round differences from direct
    (it may be below zero, and is kept so)."""
    record = results.get((subject, "paired:" + mode))
    if subject == "direct" or not record or record.get("failed") or not record.get("ok"):
        return None
    value = record.get("added_p50_us")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def peak_without(results, subject, phases):
    """The peak RSS (KiB) once every phase but `phases` had run, before they ran."""
    peaks = [r.get("peak_rss_kib") for (s, m), r in results.items()
             if s == subject and m.startswith("rss:") and m[4:] not in phases]
    peaks = [p for p in peaks if isinstance(p, (int, float)) and p >= 0]
    return max(peaks) if peaks else None


def errors_total(results, subject):
    records = [r for (s, _), r in results.items() if s == subject]
    if not records:
        return None
    total = 0
    for r in records:
        if r.get("failed"):
            total += 1  # the phase itself failed (crash, time limit)
        total += r.get("errors", 0) + r.get("warmup_errors", 0)
    return total


# Targets: each takes (tollgate value, nginx value, record context) and returns
# True (PASS), False (MISS) or None (cannot tell).
def at_most(limit):
    return lambda tg, ngx, ctx: None if tg is None else tg <= limit


def below(limit):
    return lambda tg, ngx, ctx: None if tg is None else tg < limit


def within_nginx(factor):
    def check(tg, ngx, ctx):
        if tg is None or ngx is None:
            return None
        # A proxy cannot add less than nothing; a negative nginx figure is noise.
        return tg <= factor * max(ngx, 0.0)

    return check


def all_streams(tg, ngx, ctx):
    return None if tg is None or ctx.get("streams") is None else tg >= ctx["streams"]


def build_rows(results):
    hold = results.get(("tollgate", "hold")) or results.get(("nginx", "hold")) or \
        results.get(("direct", "hold")) or {}
    streams = hold.get("streams")
    n = streams if streams is not None else "N"
    mib = 1.0 / 1024.0

    def f(mode, key, scale=1.0):
        return lambda s: field(results, s, mode, key, scale)

    def a(mode, key):
        return lambda s: added(results, s, mode, key)

    def proxy_only(fn):
        return lambda s: None if s == "direct" else fn(s)

    def p(mode):
        return lambda s: paired_added(results, s, mode)

    # (phase, what the body is). One user message of 1 or 8 MiB: its marker goes around its
    # first byte, so it is scanned whole once it is in.
    bodies = [("fixture", "75 KiB Claude Code body"), ("session1m", "1 MiB Claude Code session"),
              ("session8m", "8 MiB Claude Code session"), ("big", "1 MiB one-message body"),
              ("big8m", "8 MiB one-message body")]
    has_paired = any(m.startswith("paired:") for (_, m) in results)
    big_rows = []
    for mode, what in bodies:
        if has_paired:
            big_rows.append((f"added latency, {what} p50, side by side (µs)", p(mode), "int",
                             "<= 2x nginx", within_nginx(2.0)))
    for mode, what in bodies:
        big_rows.append((f"added latency, {what} p50 (µs)", a(mode, "p50_us"), "int",
                         None if has_paired else "<= 2x nginx",
                         None if has_paired else within_nginx(2.0)))

    # (label, value function, format, target text, target check)
    return [
        ("non-stream p50 c=1 (µs)", f("lat", "p50_us"), "int", "", None),
        ("non-stream p99 c=1 (µs)", f("lat", "p99_us"), "int", "", None),
        ("added latency p50 (µs)", a("lat", "p50_us"), "int", "<= 1.5x nginx", within_nginx(1.5)),
        ("added latency p99 (µs)", a("lat", "p99_us"), "int", "<= 2x nginx", within_nginx(2.0)),
        ("throughput c=32 (req/s)", f("tput", "rps"), "int", "", None),
        ("latency p99 c=32 (µs)", f("tput", "p99_us"), "int", "", None),
        ("per-event delay p50 (µs)", f("stream", "event_p50_us"), "int", "", None),
        ("per-event delay p99 (µs)", f("stream", "event_p99_us"), "int", "", None),
        ("added per-event delay p50 (µs)", a("stream", "event_p50_us"), "int", "<= 1.5x nginx",
         within_nginx(1.5)),
        ("added per-event delay p99 (µs)", a("stream", "event_p99_us"), "int", "<= 2x nginx",
         within_nginx(2.0)),
        ("stream TTFB p50 c=1 (µs)", f("stream", "ttfb_p50_us"), "int", "", None),
        (f"{n} streams completed", f("hold", "completed"), "int", f"all {n}", all_streams),
        (f"event delay p50, {n} streams (µs)", f("hold", "event_p50_us"), "int", "", None),
        (f"event delay p99, {n} streams (µs)", f("hold", "event_p99_us"), "int", "", None),
        (f"TTFB p99, {n} streams (µs)", f("hold", "ttfb_p99_us"), "int", "< 5000", below(5000)),
        ("1 MiB body p50 (µs)", f("big", "p50_us"), "int", "", None),
        ("1 MiB body p99 (µs)", f("big", "p99_us"), "int", "", None),
        # Prompt-cache injection works on these bodies: its cost shows here. Judged on the
        # side-by-side pass when the run has one (the phases one subject after the other are
        # then shown without a target).
        *big_rows,
        ("idle RSS (MiB)", proxy_only(f("proc", "idle_rss_kib", mib)), "1f", "<= 30", at_most(30)),
        ("peak RSS (MiB)", proxy_only(f("proc", "peak_rss_kib", mib)), "1f", "<= 64", at_most(64)),
        # Phases run in order and the peak never falls: this is the peak before the 8 MiB
        # bodies (the only phase that holds megabytes per request), when they ran last.
        ("peak RSS before 8 MiB bodies (MiB)",
         proxy_only(lambda s: (lambda k: None if k is None else k * mib)(
             peak_without(results, s, ("big8m", "session8m")))), "1f", "<= 64",
         at_most(64)),
        ("start-up (s)", proxy_only(f("proc", "startup_s")), "3f", "< 0.2", below(0.2)),
        ("CPU per request (µs)", proxy_only(f("tput", "cpu_per_req_us")), "1f", "<= 50",
         at_most(50)),
        ("CPU per event (µs)", proxy_only(f("hold", "cpu_per_event_us")), "1f", "<= 25",
         at_most(25)),
        ("errors, all phases", lambda s: errors_total(results, s), "int", "0", at_most(0)),
        # Not a property of the subject: CPU that other programs took during its phases.
        ("other processes' CPU (s)", f("interference", "foreign_user_s"), "2f", None, None),
    ], {"streams": streams}


def fmt(value, kind):
    if value is None:
        return "-"
    if kind == "int":
        return f"{value:.0f}"
    if kind == "1f":
        return f"{value:.1f}"
    if kind == "2f":
        return f"{value:.2f}"
    return f"{value:.3f}"


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    meta, results = load(args[0])
    rows, ctx = build_rows(results)

    has_keys = any(s == KEYS_SUBJECT for (s, _) in results)
    subjects = (*SUBJECTS, KEYS_SUBJECT) if has_keys else SUBJECTS
    header = ["metric", *subjects, *(["keys-tg"] if has_keys else []), "tg/nginx",
              "target (tollgate)", "result"]
    table = []
    for label, value_of, kind, target, check in rows:
        values = {s: value_of(s) for s in subjects}
        extra = []
        if has_keys:
            k, t = values[KEYS_SUBJECT], values["tollgate"]
            extra = [fmt(k - t, kind) if k is not None and t is not None else "-"]
        tg, ngx = values["tollgate"], values["nginx"]
        ratio = "-"
        if target is None:
            target, ratio = "", ""  # a row without a ratio
        elif tg is not None and ngx is not None and ngx > 0:
            ratio = f"{tg / ngx:.2f}"
        verdict = ""
        if check is not None:
            ok = check(tg, ngx, ctx)
            verdict = "-" if ok is None else ("PASS" if ok else "MISS")
        table.append([label, *(fmt(values[s], kind) for s in subjects), *extra, ratio, target,
                      verdict])

    if meta:
        quick = " QUICK" if meta.get("quick") else ""
        print(f"Tollgate bench{quick}, {meta.get('date', '?')}, {meta.get('cpu_model', '?')}, "
              f"{meta.get('cpus', '?')} CPUs, kernel {meta.get('kernel', '?')}")
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for row in table:
            print("| " + " | ".join(row) + " |")
    else:
        def line(row):
            cells = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                     for i, c in enumerate(row)]
            return "  ".join(cells).rstrip()

        print(line(header))
        print("  ".join("-" * w for w in widths))
        for row in table:
            print(line(row))

    # The figures are only as good as the machine is quiet.
    for subject in subjects:
        record = results.get((subject, "interference"))
        if not record:
            continue
        foreign, wall = record.get("foreign_user_s", 0), record.get("wall_s", 0)
        if wall and foreign > 0.05 * wall:
            print(f"warning: other processes used {foreign:.1f} s of CPU during the {wall:.0f} s "
                  f"of {subject}'s phases; its figures are noisy, run again on a quiet machine")
    for (subject, mode), record in sorted(results.items()):
        if record.get("failed"):
            print(f"warning: {subject}: {mode} failed (see run_bench.sh output)")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet exit when piped into head
    sys.exit(main(sys.argv))
