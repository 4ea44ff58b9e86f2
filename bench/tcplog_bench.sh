#!/usr/bin/env bash
# tcplog_bench.sh - tcplog -> nop throughput and cost, next to the
# physical limit: a plain newline scan of the same bytes over the same
# kind of socket (td_linescan).
#
#   bash bench/tcplog_bench.sh [LINES] [CONNECTIONS] [RUNS]
#
# defaults 2000000 lines, 8 connections, 5 runs. Builds a Release tree in
# build-bench/, then for each run sends LINES realistic NDJSON lines
# (td_loadgen, about 325 bytes each, 1 in 97 not JSON) to td_linescan, to
# tandem, and to tandem with memory_limiter -> batch in the pipeline, and prints the median of the runs: lines/s and MB/s as the
# sender saw them (until the receiver had read and closed every
# connection), the receiver's CPU seconds per million lines, lines per
# CPU-second, and peak RSS. tandem's CPU is read from /proc for the span
# of the load only (start-up excluded); td_linescan's from getrusage.
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${1:-2000000}
CONNS=${2:-8}
RUNS=${3:-5}
B=build-bench
PY=/usr/bin/python3

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j "$(nproc)" \
    --target tandem td_loadgen td_linescan td_mapbench >/dev/null

T=$(mktemp -d /tmp/tandem-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [nop]}
  telemetry:
    logs: {level: info}
    metrics: {address: "127.0.0.1:0"}
YAML

# The same with the processors of the embedded default in between; the
# limit is high enough never to refuse, so what is measured is their
# cost, not back-pressure.
cat >"$T/tandem-proc.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
processors:
  memory_limiter:
    limit_mib: 2048
  batch:
exporters:
  nop:
service:
  pipelines:
    logs:
      receivers: [tcplog]
      processors: [memory_limiter, batch]
      exporters: [nop]
  telemetry:
    logs: {level: info}
    metrics: {address: "127.0.0.1:0"}
YAML

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_for() {    # wait_for FILE REGEX
    for _ in $(seq 300); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "timed out waiting for $2 in $1" >&2
    return 1
}
metric() {
    curl -sf "http://127.0.0.1:$1/metrics" |
        awk -v s="$2" 'index($0, s) == 1 { print $2 }'
}

run_tandem() {     # run_tandem SEED CONFIG
    local log=$T/tandem.log pid port admin c0 c1 rss acc
    "$B/tandem" --config "$2" 2>"$log" &
    pid=$!
    PIDS+=("$pid")
    wait_for "$log" '"tandem [0-9.]* started'
    port=$(sed -n 's/.*"tcplog".*listening on [^"]*:\([0-9]*\)".*/\1/p' \
           "$log" | head -n 1)
    admin=$(sed -n 's/.*own metrics and health on .* (port \([0-9]*\)).*/\1/p' \
            "$log" | head -n 1)
    c0=$(cpu_ticks "$pid")
    "$B/td_loadgen" --port "$port" --connections "$CONNS" \
        --lines "$LINES" --bad-every 97 --seed "$1" >"$T/lg.json"
    acc=$(metric "$admin" \
          'tandem_receiver_accepted_log_records_total{receiver="tcplog"')
    c1=$(cpu_ticks "$pid")
    rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid"
    [ "$acc" = "$LINES" ] || {
        echo "tandem accepted $acc of $LINES lines" >&2
        exit 1
    }
    $PY - "$T/lg.json" "$c0" "$c1" "$tck" "$rss" <<'EOF'
import json, sys
lg = json.load(open(sys.argv[1]))
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
print(json.dumps({"lines_per_s": lg["lines_per_s"], "mb_per_s": lg["mb_per_s"],
                  "cpu_s": cpu, "rss_kb": int(sys.argv[5]),
                  "lines": lg["lines"], "bytes": lg["bytes"]}))
EOF
}

run_linescan() {
    local out=$T/ls.out pid
    "$B/td_linescan" --connections "$CONNS" >"$out" &
    pid=$!
    PIDS+=("$pid")
    wait_for "$out" '^listening on'
    "$B/td_loadgen" --port "$(awk '/^listening/ {print $3}' "$out")" \
        --connections "$CONNS" --lines "$LINES" --bad-every 97 \
        --seed "$1" >"$T/lg.json"
    wait "$pid"
    $PY - "$T/lg.json" "$out" "$LINES" <<'EOF'
import json, sys
lg = json.load(open(sys.argv[1]))
ls = json.loads(open(sys.argv[2]).read().splitlines()[-1])
assert ls["lines"] == int(sys.argv[3]), ls
print(json.dumps({"lines_per_s": lg["lines_per_s"], "mb_per_s": lg["mb_per_s"],
                  "cpu_s": ls["cpu_s"], "rss_kb": ls["max_rss_kb"],
                  "lines": lg["lines"], "bytes": lg["bytes"]}))
EOF
}

: >"$T/tandem.runs"
: >"$T/proc.runs"
: >"$T/scan.runs"
for r in $(seq "$RUNS"); do
    run_linescan "$r" >>"$T/scan.runs"
    run_tandem "$r" "$T/tandem.yaml" >>"$T/tandem.runs"
    run_tandem "$r" "$T/tandem-proc.yaml" >>"$T/proc.runs"
done

# The same lines from a file, without sockets: the mapping alone, and
# cJSON alone (the floor of any mapping built on it).
"$B/td_loadgen" --file "$T/lines.ndjson" --lines "$LINES" --bad-every 97 \
    --seed 1 >/dev/null
for r in $(seq "$RUNS"); do
    "$B/td_mapbench" "$T/lines.ndjson" 1
done >"$T/map.runs"

$PY - "$T/scan.runs" "$T/tandem.runs" "$LINES" "$CONNS" "$RUNS" \
    "$T/map.runs" "$T/proc.runs" <<'EOF'
import json, statistics, sys
def load(p):
    return [json.loads(l) for l in open(p)]
def med(runs, k):
    return statistics.median(r[k] for r in runs)
scan, td, proc = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[7])
lines = int(sys.argv[3])
print(f"{lines} lines, {sys.argv[4]} connections, median of {sys.argv[5]} "
      f"runs, {td[0]['bytes'] / lines:.0f} bytes/line")
print("| receiver | lines/s | MB/s | CPU s per M lines | "
      "M lines per CPU-s | peak RSS MiB |")
print("|---|---|---|---|---|---|")
for name, runs in (("td_linescan (newline scan)", scan),
                   ("tandem tcplog -> nop", td),
                   ("tandem tcplog -> memory_limiter -> batch -> nop",
                    proc)):
    cpu = med(runs, "cpu_s")
    print(f"| {name} | {med(runs, 'lines_per_s'):,.0f} | "
          f"{med(runs, 'mb_per_s'):.1f} | {cpu / lines * 1e6:.3f} | "
          f"{lines / cpu / 1e6:.2f} | {med(runs, 'rss_kb') / 1024:.1f} |")
mp = load(sys.argv[6])
for name, key in (("mapping only (td_mapbench)", "cpu_s"),
                  ("cJSON parse only (td_mapbench)", "cjson_cpu_s")):
    cpu = med(mp, key)
    print(f"| {name} | | | {cpu / lines * 1e6:.3f} | "
          f"{lines / cpu / 1e6:.2f} | |")
print(f"tandem / scan CPU per line: "
      f"{med(td, 'cpu_s') / med(scan, 'cpu_s'):.1f}x; "
      f"throughput ratio: "
      f"{med(td, 'lines_per_s') / med(scan, 'lines_per_s'):.2f}; "
      f"cJSON's share of tandem's CPU per line: "
      f"{med(mp, 'cjson_cpu_s') / med(td, 'cpu_s') * 100:.0f}%; "
      f"memory_limiter + batch add "
      f"{(med(proc, 'cpu_s') / med(td, 'cpu_s') - 1) * 100:+.1f}% CPU")
EOF
