#!/usr/bin/env bash
# test_tcplog_e2e.sh - 8 connections send 200,000 lines in total (some not
# JSON, some longer than max_log_size) through tcplog to the file
# exporter. Every line must be in the file exactly once, the own metrics
# must count them all, promtool must accept /metrics, SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"

LINES=${E2E_LINES:-200000}
CONNS=8

cat >"$T/tandem.yaml" <<YAML
receivers:
  tcplog:
    endpoint: 127.0.0.1:0
    max_log_size: 1024
exporters:
  file:
    path: $T/out.jsonl
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [file]}
  telemetry:
    metrics: {address: "127.0.0.1:0"}
YAML

td_start "$T/tandem.yaml"
ADMIN=$(td_admin_port)
PORT=$(td_listen_port tcplog)
[ -n "$ADMIN" ] && [ -n "$PORT" ] || fail "ports not logged"

"$TD_BUILD/td_loadgen" --host 127.0.0.1 --port "$PORT" \
    --connections $CONNS --lines "$LINES" --bad-every 97 \
    --long-every 1009 --long-size 3000 --seed 7 >"$T/loadgen.json" ||
    fail "td_loadgen failed"
cat "$T/loadgen.json"

rcv='tandem_receiver_accepted_log_records_total{receiver="tcplog",transport="tcp"}'
sent='tandem_exporter_sent_log_records_total{exporter="file"}'
td_wait_metric "$rcv" "$LINES" 60 || fail "receiver did not count every line"
td_wait_metric "$sent" "$LINES" 60 || fail "exporter did not send every line"
[ "$(td_metric 'tandem_receiver_refused_log_records_total{receiver="tcplog",transport="tcp"}')" = 0 ] ||
    fail "lines were refused with no pressure"
[ "$(td_metric 'tandem_exporter_dropped_log_records_total{exporter="file"}')" = 0 ] ||
    fail "the exporter dropped lines"
td_wait_metric 'tandem_pipeline_items_in_flight{pipeline="logs"}' 0 10 ||
    fail "items still in flight after every line was sent"

curl -sf "http://127.0.0.1:$ADMIN/metrics" >"$T/metrics"
promtool check metrics <"$T/metrics" || fail "promtool check metrics failed"

td_stop

# Expected counts from what td_loadgen says it sent.
read -r trunc bad < <($PY -c 'import json,sys
s=json.load(open(sys.argv[1])); print(s["long"], s["bad"])' "$T/loadgen.json")
[ "$trunc" -gt 0 ] && [ "$bad" -gt 0 ] || fail "load had no bad or long lines"
$PY "$TD_SRC/tests/e2e/check_output.py" "$T/out.jsonl" "$LINES" \
    "$trunc" "$bad" || fail "file output does not hold every line once"
echo "test_tcplog_e2e: ok"
