#!/usr/bin/env bash
# Builds Examples/HummingbirdHost (a Hummingbird app with KeyViz inside) and uses it as a client
# would: its own API, one /metrics with its swift-metrics counters and KeyViz's families (promtool
# and the OpenMetrics parser clean, exact counts), the matrix API and the page mounted on its
# router, its Logger's lines, and a clean stop on SIGTERM through its ServiceGroup.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
source scripts/host-checks.sh
start_host hummingbird-host HummingbirdHost HummingbirdHost "address="
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
