#!/usr/bin/env bash
# test_pipelines.sh - fan-in and fan-out across pipelines: two receivers
# feed one pipeline, one of them also feeds a second pipeline, and an
# exporter listed by both pipelines is one instance (one queue, one
# series of counters) that receives each pipeline's copy of a line.
source "$(dirname "$0")/lib.sh"

NA=3000
NB=2000

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog/a:
    endpoint: 127.0.0.1:0
  tcplog/b:
    endpoint: 127.0.0.1:0
    attributes: {origin: b}
exporters:
  file/all:
    path: $T/all.jsonl
  file/shared:
    path: $T/shared.jsonl
service:
  pipelines:
    logs/one:
      receivers: [tcplog/a, tcplog/b]
      exporters: [file/all, file/shared]
    logs/two:
      receivers: [tcplog/a]
      exporters: [file/shared]
  telemetry:
    metrics: {address: "127.0.0.1:0"}
YAML

td_start "$T/tandem.yaml"
ADMIN=$(td_admin_port)
PA=$(td_listen_port 'tcplog/a')
PB=$(td_listen_port 'tcplog/b')
[ -n "$PA" ] && [ -n "$PB" ] || fail "receiver ports not logged"

"$TD_BUILD/td_loadgen" --port "$PA" --connections 2 --lines $NA \
    --seed 1 >/dev/null || fail "td_loadgen to tcplog/a failed"
"$TD_BUILD/td_loadgen" --port "$PB" --connections 1 --lines $NB \
    --seed 2 >/dev/null || fail "td_loadgen to tcplog/b failed"

acc='tandem_receiver_accepted_log_records_total'
td_wait_metric "$acc{receiver=\"tcplog/a\",transport=\"tcp\"}" $NA 20 ||
    fail "tcplog/a did not count its lines once"
td_wait_metric "$acc{receiver=\"tcplog/b\",transport=\"tcp\"}" $NB 20 ||
    fail "tcplog/b did not count its lines once"
sent='tandem_exporter_sent_log_records_total'
td_wait_metric "$sent{exporter=\"file/all\"}" $((NA + NB)) 20 ||
    fail "file/all did not get both receivers' lines"
td_wait_metric "$sent{exporter=\"file/shared\"}" $((2 * NA + NB)) 20 ||
    fail "file/shared did not get one copy per pipeline"
n=$(curl -sf "http://127.0.0.1:$ADMIN/metrics" |
    grep -c "^$sent{exporter=\"file/shared\"}")
[ "$n" = 1 ] || fail "file/shared has $n series: not one instance"
td_stop

$PY - "$T/all.jsonl" "$T/shared.jsonl" $NA $NB <<'PYEOF' ||
import collections, json, sys

def ids(path):
    seen = collections.Counter()
    for line in open(path):
        for rl in json.loads(line)["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                for r in sl["logRecords"]:
                    a = {kv["key"]: kv["value"] for kv in r["attributes"]}
                    origin = a.get("origin", {}).get("stringValue", "a")
                    seen[(origin, a["seq"]["stringValue"])] += 1
    return seen

na, nb = int(sys.argv[3]), int(sys.argv[4])
every, shared = ids(sys.argv[1]), ids(sys.argv[2])
assert len(every) == na + nb and set(every.values()) == {1}, "file/all"
assert len(shared) == na + nb, "file/shared: lines missing"
for (origin, seq), n in shared.items():
    assert n == (2 if origin == "a" else 1), (origin, seq, n)
print("file/all: every line once; file/shared: a's lines twice, b's once")
PYEOF
    fail "the exporters' files do not hold what the pipelines sent"
echo "test_pipelines: ok"
