#!/usr/bin/env bash
# Builds Examples/HummingbirdHost (a Hummingbird app with KeyViz inside) and uses it as a client
# would: its own API, one /metrics with its swift-metrics counters and KeyViz's families (promtool
# and the OpenMetrics parser clean, exact counts), the matrix API and the page mounted on its
# router, its Logger's lines, and a clean stop on SIGTERM through its ServiceGroup.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
(cd Examples/HummingbirdHost && swift build -c release -Xswiftc -warnings-as-errors)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
Examples/HummingbirdHost/.build/release/HummingbirdHost 0 >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'address=http://' "$work/log" && break; sleep 0.1; done
base=$(grep -o 'address=http://127.0.0.1:[0-9]*' "$work/log" | sed 's/address=//') \
  || { cat "$work/log"; echo "hummingbird-host: never logged its address" >&2; exit 1; }
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "hummingbird-host: FAIL: $1" >&2; fi; }

source scripts/host-checks.sh
host_checks
# Its own swift-metrics counter, on the same /metrics through KeyVizMetrics.
check "the host's counter: 3 puts" 'grep -qx "kv_requests_total{op=\"put\"} 3" "$work/text"'
check "the host's counter: 2 gets" 'grep -qx "kv_requests_total{op=\"get\"} 2" "$work/text"'
check "the Hummingbird host links no libmicrohttpd, libcrypt or zlib (the handler has no C)" '! ldd Examples/HummingbirdHost/.build/release/HummingbirdHost | grep -Eq "libmicrohttpd|libcrypt|libz\."'
check "logs go through the host's Logger" 'grep -q "info hummingbird-host: .*serving" "$work/log"'
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM stops the ServiceGroup with exit 0" '[ "$rc" = 0 ]'
check "the flusher flushed at the stop" 'grep -q "flushed_writes=3 .*stopped" "$work/log"'
echo "hummingbird-host: $passed passed, $failed failed"
[ "$failed" = 0 ]
