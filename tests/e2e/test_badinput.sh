#!/usr/bin/env bash
# test_badinput.sh - connections that misbehave: binary garbage, a
# connection that sends nothing, one past max_connections, a last line
# without a newline. Each gets a record or a log line with the peer and
# the reason; tandem neither crashes nor hangs, and serves normal lines
# afterwards.
source "$(dirname "$0")/lib.sh"

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
    max_log_size: 4096
    max_connections: 3
    idle_timeout: 1s
exporters:
  file:
    path: $T/out.jsonl
    flush_interval: 0s
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [file]}
  telemetry:
    metrics: {address: "127.0.0.1:0"}
YAML

td_start "$T/tandem.yaml"
ADMIN=$(td_admin_port)
PORT=$(td_listen_port tcplog)
rcv='tandem_receiver_accepted_log_records_total{receiver="tcplog",transport="tcp"}'

# 1. Binary garbage, 64 KiB with newlines here and there: every line
# becomes a record flagged as not JSON, with valid UTF-8 in the output.
head -c 65536 /dev/urandom >"$T/garbage"
nc -N 127.0.0.1 "$PORT" <"$T/garbage"
want=$($PY -c 'import sys
d=open(sys.argv[1],"rb").read()
print(sum(1 for l in d.split(b"\n") if l.rstrip(b"\r")))' "$T/garbage")
td_wait_metric "$rcv" "$want" 10 || fail "garbage lines were not all taken"

# 2. A connection that sends nothing is closed by idle_timeout, with a
# log line naming the peer.
$PY - "$PORT" <<'PYEOF' || fail "the silent connection was not closed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
assert s.recv(1) == b"", "expected EOF from tandem"
PYEOF
grep '"component":"tcplog"' "$T/tandem.log" | grep 'idle_timeout' |
    grep -q '"peer":"127.0.0.1:' || fail "no idle_timeout log line with the peer"

# 3. Past max_connections: three connections held open, the fourth is
# closed at once and logged; the three still work.
$PY - "$PORT" <<'PYEOF' || fail "max_connections was not enforced"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(5)
try:
    got = extra.recv(1)
except ConnectionResetError:
    got = b""
assert got == b"", "the fourth connection was not closed"
for i, s in enumerate(held):
    s.sendall(b'{"msg":"held %d"}\n' % i)
    s.close()
PYEOF
grep -q 'max_connections (3) are open' "$T/tandem.log" ||
    fail "no log line for the refused connection"
td_wait_metric "$rcv" $((want + 3)) 10 || fail "held connections lost lines"

# 4. A last line without a newline still becomes a record.
printf '{"msg":"no newline at the end"}' | nc -N 127.0.0.1 "$PORT"
td_wait_metric "$rcv" $((want + 4)) 10 || fail "the unterminated line was lost"

# 5. JSON nested deeper than the parser allows, an object nested 500
# deep (kept as nested maps), and an over-long line.
$PY -c 'print("x" * 100000)
print("[" * 2000 + "]" * 2000)
print("{\"msg\":\"deep\",\"a\":" + "{\"a\":" * 500 + "1" + "}" * 501)' |
    nc -N 127.0.0.1 "$PORT"
td_wait_metric "$rcv" $((want + 7)) 10 || fail "the deep lines were lost"

echo '{"msg":"still alive"}' | nc -N 127.0.0.1 "$PORT"
td_wait_metric "$rcv" $((want + 8)) 10 || fail "tandem stopped serving"
td_wait_metric 'tandem_exporter_sent_log_records_total{exporter="file"}' \
    $((want + 8)) 10 || fail "not every record was written"
td_stop

# Kept-but-flagged lines are logged with the peer and the reason (rate
# limited to one message a second, so the first of each burst).
grep '"component":"tcplog"' "$T/tandem.log" |
    grep '"peer":"127.0.0.1:' | grep -q 'tandem.parse_error: not JSON' ||
    fail "no log line for the garbage that is not JSON"
grep '"component":"tcplog"' "$T/tandem.log" |
    grep -q 'a line of 100000 bytes was cut to max_log_size (4096)' ||
    fail "no log line for the over-long line"

$PY - "$T/out.jsonl" "$want" <<'PYEOF' || fail "the output is wrong"
import json, sys
sys.setrecursionlimit(20000)    # 500 nested maps are ~2500 JSON levels
bodies, flagged = [], 0
for line in open(sys.argv[1], encoding="utf-8"):   # fails on bad UTF-8
    for rl in json.loads(line)["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for r in sl["logRecords"]:
                keys = {a["key"] for a in r.get("attributes", [])}
                body = r.get("body", {}).get("stringValue", "")
                bodies.append(body)
                if "tandem.parse_error" in keys or "tandem.truncated" in keys:
                    flagged += 1
                assert "network.peer.address" in keys, r
want = int(sys.argv[2])
assert flagged >= want + 2, f"only {flagged} records flagged"
for b in ("held 0", "held 1", "held 2", "no newline at the end",
          "deep", "still alive"):
    assert b in bodies, b
print(f"{len(bodies)} records, {flagged} flagged")
PYEOF
echo "test_badinput: ok"
