#!/usr/bin/env bash
# test_backpressure.sh - a pipeline whose exporter is far slower than the
# sender. The file exporter writes into a FIFO read by slow_reader.py,
# which first does not read at all, then reads slowly. While it does not
# read, the exporter's small queue fills, tcplog stops reading its sockets
# and the sender blocks in TCP: tandem's accepted count stops growing
# with the sender still unfinished, and nothing is dropped. Then every
# line arrives exactly once.
source "$(dirname "$0")/lib.sh"

LINES=${E2E_BP_LINES:-100000}
CONNS=2

mkfifo "$T/fifo"
touch "$T/pause"
$PY "$TD_SRC/tests/e2e/slow_reader.py" "$T/fifo" "$T/out.jsonl" \
    8000000 "$T/pause" &
TD_PIDS+=($!)
READER=$!

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
exporters:
  file:
    path: $T/fifo
    sending_queue: {num_consumers: 1, queue_size: 4}
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [file]}
  telemetry:
    metrics: {address: "127.0.0.1:0"}
YAML

td_start "$T/tandem.yaml"
ADMIN=$(td_admin_port)
PORT=$(td_listen_port tcplog)

"$TD_BUILD/td_loadgen" --host 127.0.0.1 --port "$PORT" \
    --connections $CONNS --lines "$LINES" --seed 3 >"$T/loadgen.json" &
LOADGEN=$!
TD_PIDS+=("$LOADGEN")

# Wait until the pipeline is stalled: refusals seen, and the accepted
# count unchanged across one second.
rcv='tandem_receiver_accepted_log_records_total{receiver="tcplog",transport="tcp"}'
refused='tandem_receiver_refused_log_records_total{receiver="tcplog",transport="tcp"}'
stalled=0
for _ in $(seq 60); do
    a=$(td_metric "$rcv")
    sleep 1
    b=$(td_metric "$rcv")
    r=$(td_metric "$refused")
    if [ "$a" = "$b" ] && [ "$r" != 0 ] && [ "$b" != 0 ]; then
        stalled=1
        break
    fi
done
[ "$stalled" = 1 ] || fail "the pipeline never stalled (accepted $b, refused $r)"
[ "$b" -lt "$LINES" ] || fail "every line was accepted with the exporter stalled"
kill -0 "$LOADGEN" 2>/dev/null ||
    fail "the sender finished although tandem stopped reading"
echo "stalled at $b of $LINES lines accepted, $r refusals counted"
inflight=$(td_metric 'tandem_pipeline_items_in_flight{pipeline="logs"}')
[ "$inflight" -gt 0 ] || fail "nothing in flight while the exporter is stalled"

rm "$T/pause"
wait "$LOADGEN" || fail "td_loadgen failed"
td_wait_metric 'tandem_exporter_sent_log_records_total{exporter="file"}' \
    "$LINES" 120 || fail "not every line was sent"
[ "$(td_metric 'tandem_exporter_dropped_log_records_total{exporter="file"}')" = 0 ] ||
    fail "the exporter dropped lines"
td_wait_metric 'tandem_pipeline_items_in_flight{pipeline="logs"}' 0 10 ||
    fail "items still in flight after every line was sent"
td_stop
wait "$READER" || true
$PY "$TD_SRC/tests/e2e/check_output.py" "$T/out.jsonl" "$LINES" ||
    fail "the slow destination did not get every line exactly once"
echo "test_backpressure: ok"
