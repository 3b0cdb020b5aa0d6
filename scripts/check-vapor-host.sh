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

for i in 1 2 3; do curl -sf -X PUT --data "value-$i" "$base/kv/key%2F0000000$i" -o /dev/null; done
check "GET returns the value" '[ "$(curl -sf "$base/kv/key%2F00000002")" = value-2 ]'
check "GET of a missing key is 404" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base/kv/absent")" = 404 ]'
curl -sf "$base/metrics" >"$work/text"
check "promtool accepts /metrics" 'promtool check metrics <"$work/text"'
check "KeyViz counted 3 writes and 2 reads" 'python3 - "$work/text" <<PY
import sys
from prometheus_client.parser import text_string_to_metric_families as p
got = {f.name: sum(s.value for s in f.samples) for f in p(open(sys.argv[1]).read())}
pair = (got.get("keyviz_bucket_writes"), got.get("keyviz_bucket_reads"))
sys.exit(0 if pair == (3, 2) else "(writes, reads) = %s" % (pair,))
PY'
check "OpenMetrics when asked" '[ "$(curl -sf -H "Accept: application/openmetrics-text;version=1.0.0" "$base/metrics" | tail -n1)" = "# EOF" ]'
check "the matrix API answers JSON with its query read" 'curl -sf "$base/api/v1/keyviz/matrix?rows=4&series=reads" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"series\"]==\"reads\" and len(d[\"rows\"])<=4"'
check "a bad query value gets the handler's 400" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base/api/v1/keyviz/matrix?rows=7x")" = 400 ]'
# Every endpoint KeyViz has (the host logs KeyVizEndpoint.allCases) answers through the adapter.
endpoints=$(grep 'keyviz endpoint' "$work/log" | grep -o 'path=/[^ ]*' | sed 's/path=//')
check "the host lists KeyViz's endpoints" '[ "$(echo "$endpoints" | wc -w)" -ge 5 ]'
for p in $endpoints; do
  check "GET $p is mounted (not 404)" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base$p")" != 404 ]'
  check "HEAD $p is mounted (not 404)" '[ "$(curl -s -I -o /dev/null -w "%{http_code}" "$base$p")" != 404 ]'
done
check "the hot-keys API answers JSON through the adapter" 'curl -s "$base/api/v1/keyviz/hot-keys" | python3 -c "import json,sys; json.load(sys.stdin)"'
check "the page is mounted at /keyviz" '[ "$(curl -s -o /dev/null -w "%{http_code} %{content_type}" "$base/keyviz")" = "200 text/html; charset=utf-8" ]'
check "the Vapor host links no libmicrohttpd or libcrypt (the handler has no C)" '! ldd Examples/VaporHost/.build/release/VaporHost | grep -Eq "libmicrohttpd|libcrypt"'
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM stops Vapor with exit 0" '[ "$rc" = 0 ]'
check "the last observations were flushed at the stop" 'grep -q "stopped flushed_writes=3" "$work/log"'
echo "vapor-host: $passed passed, $failed failed"
[ "$failed" = 0 ] || { cat "$work/log" | tail -20; exit 1; }
