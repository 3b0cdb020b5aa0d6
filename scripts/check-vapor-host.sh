#!/usr/bin/env bash
# Builds Examples/VaporHost (a Vapor 4 app with KeyViz mounted by the KeyVizVapor adapter, the
# package's Vapor trait) and uses it as a client would: its own API, /metrics (promtool clean,
# exact counts), every endpoint KeyVizEndpoint lists reachable with GET and HEAD, the page at
# /keyviz, and a clean stop on SIGTERM with the last observations flushed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
source scripts/host-checks.sh
start_host vapor-host VaporHost VaporHost "Server started on "
host_checks
check "the Vapor host links no libmicrohttpd or libcrypt (the handler has no C)" '! ldd Examples/VaporHost/.build/release/VaporHost | grep -Eq "libmicrohttpd|libcrypt"'
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM stops Vapor with exit 0" '[ "$rc" = 0 ]'
check "the last observations were flushed at the stop" 'grep -q "stopped flushed_writes=3" "$work/log"'
echo "vapor-host: $passed passed, $failed failed"
[ "$failed" = 0 ] || { cat "$work/log" | tail -20; exit 1; }
