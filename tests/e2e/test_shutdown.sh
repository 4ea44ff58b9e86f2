#!/usr/bin/env bash
# test_shutdown.sh - SIGTERM while the exporter is behind: every line
# tandem accepted before the signal must still be written, because the
# destination can take it, and tandem must exit 0.
#
# The file exporter writes into a FIFO that slow_reader.py drains at a
# fixed rate, so when the sender has finished (tandem has read and taken
# every line) the exporter's queue still holds thousands of records; the
# signal arrives then.
source "$(dirname "$0")/lib.sh"

LINES=${E2E_SHUTDOWN_LINES:-30000}

mkfifo "$T/fifo"
$PY "$TD_SRC/tests/e2e/slow_reader.py" "$T/fifo" "$T/out.jsonl" \
    4000000 "$T/no-pause" &
TD_PIDS+=($!)
READER=$!

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
exporters:
  file:
    path: $T/fifo
    sending_queue: {num_consumers: 1, queue_size: 200}
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [file]}
  telemetry:
    metrics: {address: "127.0.0.1:0"}
  shutdown_timeout: 60s
YAML

td_start "$T/tandem.yaml"
ADMIN=$(td_admin_port)
PORT=$(td_listen_port tcplog)

"$TD_BUILD/td_loadgen" --host 127.0.0.1 --port "$PORT" --connections 4 \
    --lines "$LINES" --seed 11 >"$T/loadgen.json" ||
    fail "td_loadgen failed"

rcv='tandem_receiver_accepted_log_records_total{receiver="tcplog",transport="tcp"}'
[ "$(td_metric "$rcv")" = "$LINES" ] ||
    fail "tandem closed the connections before taking every line"
inflight=$(td_metric 'tandem_pipeline_items_in_flight{pipeline="logs"}')
[ "$inflight" -gt 0 ] ||
    fail "nothing was in flight at the signal: the test proves nothing"
echo "SIGTERM with $inflight of $LINES records still in flight"

td_stop
grep -q '"shutdown complete"' "$T/tandem.log" || fail "no shutdown log line"
if grep -q '"level":"warn"' "$T/tandem.log"; then
    grep '"level":"warn"' "$T/tandem.log" >&2
    fail "shutdown warned (dropped or abandoned records?)"
fi
wait "$READER" || true
$PY "$TD_SRC/tests/e2e/check_output.py" "$T/out.jsonl" "$LINES" ||
    fail "a record accepted before SIGTERM is missing or doubled"
echo "test_shutdown: ok"
