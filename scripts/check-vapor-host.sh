#!/usr/bin/env bash
# Builds Examples/VaporHost (a Vapor 4 app with KeyViz mounted by the KeyVizVapor adapter, the
# package's Vapor trait) and uses it as a client would: its own API, /metrics (promtool clean,
# exact counts), every endpoint KeyVizEndpoint lists reachable with GET and HEAD, the page at
# /keyviz, and a clean stop on SIGTERM with the last observations flushed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
(cd Examples/VaporHost && swift build -c release -Xswiftc -warnings-as-errors)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
Examples/VaporHost/.build/release/VaporHost 0 >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q 'Server started on http://' "$work/log" && break; sleep 0.1; done
base=$(grep -o 'Server started on http://127.0.0.1:[0-9]*' "$work/log" | sed 's/Server started on //') \
  || { cat "$work/log"; echo "vapor-host: never logged its address" >&2; exit 1; }
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "vapor-host: FAIL: $1" >&2; fi; }

source scripts/host-checks.sh
host_checks
check "the Vapor host links no libmicrohttpd or libcrypt (the handler has no C)" '! ldd Examples/VaporHost/.build/release/VaporHost | grep -Eq "libmicrohttpd|libcrypt"'
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM stops Vapor with exit 0" '[ "$rc" = 0 ]'
check "the last observations were flushed at the stop" 'grep -q "stopped flushed_writes=3" "$work/log"'
echo "vapor-host: $passed passed, $failed failed"
[ "$failed" = 0 ] || { cat "$work/log" | tail -20; exit 1; }
