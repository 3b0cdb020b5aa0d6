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

for i in 1 2 3; do curl -sf -X PUT --data "value-$i" "$base/kv/key%2F0000000$i" -o /dev/null; done
check "GET returns the value" '[ "$(curl -sf "$base/kv/key%2F00000002")" = value-2 ]'
check "GET of a missing key is 404" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base/kv/absent")" = 404 ]'
curl -sf "$base/metrics" >"$work/text"
curl -sf -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' "$base/metrics" >"$work/om"
check "promtool accepts the text format" 'promtool check metrics <"$work/text"'
check "the OpenMetrics body parses" 'python3 -c "import sys; from prometheus_client.openmetrics.parser import text_string_to_metric_families as p; list(p(open(sys.argv[1]).read()))" "$work/om"'
check "the host's counter: 3 puts" 'grep -qx "kv_requests_total{op=\"put\"} 3" "$work/text"'
check "the host's counter: 2 gets" 'grep -qx "kv_requests_total{op=\"get\"} 2" "$work/text"'
check "KeyViz counted 3 writes and 2 reads" 'python3 - "$work/text" <<PY
import sys
from prometheus_client.parser import text_string_to_metric_families as p
got = {f.name: sum(s.value for s in f.samples) for f in p(open(sys.argv[1]).read())}
pair = (got.get("keyviz_bucket_writes"), got.get("keyviz_bucket_reads"))
sys.exit(0 if pair == (3, 2) else "(writes, reads) = %s" % (pair,))
PY'
check "OpenMetrics body ends with # EOF" '[ "$(tail -n1 "$work/om")" = "# EOF" ]'
check "the matrix API answers JSON" 'curl -sf "$base/api/v1/keyviz/matrix?rows=4" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"series\"]==\"writes\" and len(d[\"rows\"])<=4"'
# Every endpoint KeyViz has (the host logs KeyVizEndpoint.allCases) answers through the adapter.
endpoints=$(grep 'keyviz endpoint' "$work/log" | grep -o 'path=/[^ ]*' | sed 's/path=//')
check "the host lists KeyViz's endpoints" '[ "$(echo "$endpoints" | wc -w)" -ge 5 ]'
for p in $endpoints; do
  check "GET $p is mounted (not 404)" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base$p")" != 404 ]'
  check "HEAD $p is mounted (not 404)" '[ "$(curl -s -I -o /dev/null -w "%{http_code}" "$base$p")" != 404 ]'
done
check "the hot-keys API answers JSON through the adapter" 'curl -s "$base/api/v1/keyviz/hot-keys" | python3 -c "import json,sys; json.load(sys.stdin)"'
check "the page is mounted at /keyviz" '[ "$(curl -s -o /dev/null -w "%{http_code} %{content_type}" "$base/keyviz")" = "200 text/html; charset=utf-8" ]'
check "the Hummingbird host links no libmicrohttpd, libcrypt or zlib (the handler has no C)" '! ldd Examples/HummingbirdHost/.build/release/HummingbirdHost | grep -Eq "libmicrohttpd|libcrypt|libz\."'
check "logs go through the host's Logger" 'grep -q "info hummingbird-host: .*serving" "$work/log"'
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
check "SIGTERM stops the ServiceGroup with exit 0" '[ "$rc" = 0 ]'
check "the flusher flushed at the stop" 'grep -q "flushed_writes=3 .*stopped" "$work/log"'
echo "hummingbird-host: $passed passed, $failed failed"
[ "$failed" = 0 ]
