#!/usr/bin/env bash
# test_default.sh - the embedded default config: a line sent with nc goes
# through memory_limiter and batch and comes out of the debug exporter,
# /health answers, /metrics counts the line and passes promtool, SIGTERM
# exits 0.
source "$(dirname "$0")/lib.sh"

"$TD_BIN" --set receivers::tcplog::endpoint=127.0.0.1:0 \
    --set service::telemetry::metrics::address=127.0.0.1:0 \
    --set exporters::debug::verbosity=detailed 2>"$T/tandem.log" &
TD_PID=$!
TD_PIDS+=("$TD_PID")
td_wait_log '"tandem [0-9.]* started' 30 || fail "tandem did not start"
ADMIN=$(td_admin_port)
PORT=$(td_listen_port tcplog)
[ -n "$ADMIN" ] && [ -n "$PORT" ] || fail "ports not logged"

[ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$ADMIN/health/live")" = 200 ] || fail "live not 200"
[ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$ADMIN/health/ready")" = 200 ] || fail "ready not 200"

echo '{"level":"warn","msg":"hello from nc","service":"shop","user":42}' |
    nc -N 127.0.0.1 "$PORT"

td_wait_log 'hello from nc' 10 || fail "the line did not reach the debug exporter"
td_wait_metric 'tandem_receiver_accepted_log_records_total{receiver="tcplog",transport="tcp"}' 1 10 ||
    fail "accepted counter is not 1"
td_wait_metric 'tandem_exporter_sent_log_records_total{exporter="debug"}' 1 10 ||
    fail "sent counter is not 1"
grep 'hello from nc' "$T/tandem.log" | grep -q 'shop' ||
    fail "service.name missing from the detailed output"

curl -sf "http://127.0.0.1:$ADMIN/metrics" >"$T/metrics"
promtool check metrics <"$T/metrics" || fail "promtool check metrics failed"
grep -q '^tandem_process_resident_memory_bytes ' "$T/metrics" ||
    fail "no process memory metric"

# The default runs memory_limiter (512 MiB, spike 128) then batch; the
# line went out through batch, on its timeout.
grep -q '^tandem_memory_budget_limit_bytes{limit="soft"} 402653184$' \
    "$T/metrics" || fail "the default has no 384 MiB soft limit"
grep -q '^tandem_processor_batch_batches_sent_total{processor="batch",pipeline="logs",trigger="timeout"} 1$' \
    "$T/metrics" || fail "the line did not go through the batch processor"

td_stop
grep -q '"shutdown complete"' "$T/tandem.log" || fail "no shutdown log line"

# The default log level is info: no debug lines. At debug, the receiver
# says when a connection opens, with the peer.
if grep -q '"level":"debug"' "$T/tandem.log"; then
    fail "debug lines at the default level"
fi
"$TD_BIN" --set receivers::tcplog::endpoint=127.0.0.1:0 \
    --set service::telemetry::metrics::address=127.0.0.1:0 \
    --set service::telemetry::logs::level=debug 2>"$T/tandem.log" &
TD_PID=$!
TD_PIDS+=("$TD_PID")
td_wait_log '"tandem [0-9.]* started' 30 || fail "tandem did not start"
PORT=$(td_listen_port tcplog)
echo '{"msg":"at debug"}' | nc -N 127.0.0.1 "$PORT"
td_wait_log '"level":"debug","component":"tcplog","msg":"connection opened","peer":"127.0.0.1:' 10 ||
    fail "no debug line for the connection at level debug"
td_stop
echo "test_default: ok"
