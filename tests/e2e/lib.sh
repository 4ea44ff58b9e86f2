# lib.sh - helpers shared by the end-to-end tests. Sourced, not run.
#
# Every test runs the real tandem binary ($TD_BIN) on 127.0.0.1 with port
# 0 everywhere, learns the bound ports from tandem's own JSON log lines,
# and cleans up its processes and files on exit.

set -euo pipefail

TD_BIN=${TD_BIN:-$(pwd)/build/tandem}
TD_BUILD=${TD_BUILD:-$(dirname "$TD_BIN")}
TD_SRC=${TD_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PY=/usr/bin/python3

T=$(mktemp -d /tmp/tandem-e2e.XXXXXX)
TD_PIDS=()

td_cleanup() {
    local pid
    for pid in "${TD_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "${TD_KEEP:-0}" = 1 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
}
trap td_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$T/tandem.log" ]; then
        echo "--- last lines of tandem's log:" >&2
        tail -n 20 "$T/tandem.log" >&2
    fi
    exit 1
}

# td_start CONFIG [ARGS...]: starts tandem in the background, logging to
# $T/tandem.log; sets TD_PID. Waits until it logs that it started.
td_start() {
    local cfg=$1
    shift
    "$TD_BIN" --config "$cfg" "$@" 2>"$T/tandem.log" &
    TD_PID=$!
    TD_PIDS+=("$TD_PID")
    td_wait_log '"tandem [0-9.]* started' 30 ||
        fail "tandem did not start"
}

# td_wait_log REGEX SECONDS: waits for a line of tandem's log to match.
td_wait_log() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q -- "$1" "$T/tandem.log" 2>/dev/null && return 0
        kill -0 "$TD_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# td_admin_port: the own-metrics port tandem logged.
td_admin_port() {
    sed -n 's/.*own metrics and health on .* (port \([0-9]*\)).*/\1/p' \
        "$T/tandem.log" | head -n 1
}

# td_listen_port COMPONENT: the port a receiver logged as listening on.
td_listen_port() {
    grep "\"component\":\"$1\"" "$T/tandem.log" |
        sed -n 's/.*listening on [^"]*:\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# td_metric NAME_AND_LABELS: the value of one series on /metrics, or 0.
td_metric() {
    curl -sf "http://127.0.0.1:$ADMIN/metrics" |
        awk -v s="$1" 'index($0, s) == 1 && substr($0, length(s) + 1, 1) == " " {
            print $2; found = 1 } END { if (!found) print 0 }'
}

# td_wait_metric SERIES VALUE SECONDS: waits for a series to reach VALUE.
td_wait_metric() {
    local i v
    for ((i = 0; i < $3 * 10; i++)); do
        v=$(td_metric "$1")
        [ "$v" = "$2" ] && return 0
        sleep 0.1
    done
    echo "series $1 is $v, expected $2" >&2
    return 1
}

# td_stop: SIGTERM, then checks that tandem exits 0 within 60 s.
td_stop() {
    local rc=0 i
    kill -TERM "$TD_PID"
    for ((i = 0; i < 600; i++)); do
        kill -0 "$TD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$TD_PID" 2>/dev/null && fail "tandem still running 60 s after SIGTERM"
    wait "$TD_PID" || rc=$?
    [ "$rc" = 0 ] || fail "tandem exited $rc after SIGTERM, expected 0"
}
