#!/usr/bin/env bash
# test_cli.sh - the command line: version, help, components, validate
# (offline, exit codes, positioned errors), runtime failure exit code.
source "$(dirname "$0")/lib.sh"

out=$("$TD_BIN" --version) || fail "--version exited $?"
[ "$out" = "tandem 0.1.0" ] || fail "--version printed '$out'"

"$TD_BIN" --help | grep -q "tandem validate --config FILE" ||
    fail "--help does not show validate"

rc=0; "$TD_BIN" --bogus 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "unknown option exited $rc, expected 2"
grep -q 'unknown option "--bogus"' "$T/err" || fail "no message for --bogus"

rc=0; "$TD_BIN" validate 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "validate without --config exited $rc, expected 2"

"$TD_BIN" components >"$T/components"
for want in "tcplog (logs)" "endpoint" "0.0.0.0:5000" "max_log_size" \
            "debug (traces, metrics, logs)" "verbosity" "file (" "nop (" \
            "sending_queue.queue_size" "retry_on_failure.initial_interval" \
            "processors:"; do
    grep -qF -- "$want" "$T/components" ||
        fail "components does not list '$want'"
done

# Every shipped config validates.
for f in "$TD_SRC"/conf/*.yaml; do
    "$TD_BIN" validate --config "$f" >/dev/null ||
        fail "$f does not validate"
done

# An invalid config: exit 2 and a message with file:line:column.
cat >"$T/bad.yaml" <<'YAML'
receivers:
  tcplog:
    endpont: 0.0.0.0:5000
exporters:
  nop:
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [nop]}
YAML
rc=0; "$TD_BIN" validate --config "$T/bad.yaml" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "invalid config exited $rc, expected 2"
grep -q "^$T/bad.yaml:3:5: error: .*endpont.*did you mean \"endpoint\"" \
    "$T/err" || { cat "$T/err"; fail "no positioned unknown-key error"; }

# The same config makes the daemon exit 2 before it opens anything.
rc=0; "$TD_BIN" --config "$T/bad.yaml" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "run with invalid config exited $rc, expected 2"

# validate is offline: a host name that does not resolve is fine, and
# no socket is ever created.
cat >"$T/offline.yaml" <<'YAML'
receivers:
  tcplog:
    endpoint: no-such-host.invalid:5000
exporters:
  file:
    path: /nonexistent-dir/out.jsonl
service:
  pipelines:
    logs: {receivers: [tcplog], exporters: [file]}
  telemetry:
    metrics: {address: "no-such-host.invalid:8888"}
YAML
# (LeakSanitizer cannot run under ptrace: off for this one run.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
strace -f -e trace=socket,connect,bind -o "$T/trace" \
    "$TD_BIN" validate --config "$T/offline.yaml" >/dev/null ||
    fail "validate of an offline config failed"
if grep -E '^[0-9]+ +(socket|connect|bind)\(' "$T/trace"; then
    fail "validate opened a socket"
fi

# A port already in use is a runtime failure: exit 1.
$PY -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/port" &
TD_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
busy=$(cat "$T/port")
rc=0
"$TD_BIN" --set receivers::tcplog::endpoint=127.0.0.1:$busy \
    --set service::telemetry::metrics::address=127.0.0.1:0 \
    2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "port in use exited $rc, expected 1"
grep -q '"level":"error"' "$T/err" || fail "no error log for the busy port"

echo "test_cli: ok"
