# Sourced by scripts/check-hummingbird-host.sh and scripts/check-vapor-host.sh: starting an example
# host that mounts KeyViz through a framework adapter, and what every such host must do for a
# client.

# start_host NAME DIR PRODUCT MARKER: builds Examples/DIR, starts PRODUCT on a free port with its
# log in $work/log, and waits for the line "MARKER<http://127.0.0.1:PORT>", which sets $base.
# Defines check NAME CONDITION (counted in $passed and $failed) and stops the host at exit.
start_host() {
  local name=$1 dir=$2 product=$3 marker=$4
  (cd "Examples/$dir" && swift build -c release -Xswiftc -warnings-as-errors)
  work=$(mktemp -d)
  trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
  "Examples/$dir/.build/release/$product" 0 >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q "${marker}http://" "$work/log" && break; sleep 0.1; done
  base=$(grep -o "${marker}http://127.0.0.1:[0-9]*" "$work/log" | sed "s/^${marker}//") \
    || { cat "$work/log"; echo "$name: never logged its address" >&2; exit 1; }
  passed=0 failed=0
  host_name=$name
}

check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "$host_name: FAIL: $1" >&2; fi; }

# host_checks: needs $base and $work/log, whose lines list KeyVizEndpoint.allCases as
# "keyviz endpoint ... path=/...".
host_checks() {
  for i in 1 2 3; do curl -sf -X PUT --data "value-$i" "$base/kv/key%2F0000000$i" -o /dev/null; done
  check "GET returns the value" '[ "$(curl -sf "$base/kv/key%2F00000002")" = value-2 ]'
  check "GET of a missing key is 404" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$base/kv/absent")" = 404 ]'
  curl -sf "$base/metrics" >"$work/text"
  curl -sf -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' "$base/metrics" >"$work/om"
  check "promtool accepts the text format" 'promtool check metrics <"$work/text"'
  check "the OpenMetrics body parses" 'python3 -c "import sys; from prometheus_client.openmetrics.parser import text_string_to_metric_families as p; list(p(open(sys.argv[1]).read()))" "$work/om"'
  check "OpenMetrics body ends with # EOF" '[ "$(tail -n1 "$work/om")" = "# EOF" ]'
  check "KeyViz counted 3 writes and 2 reads" 'python3 - "$work/text" <<PY
import sys
from prometheus_client.parser import text_string_to_metric_families as p
got = {f.name: sum(s.value for s in f.samples) for f in p(open(sys.argv[1]).read())}
pair = (got.get("keyviz_bucket_writes"), got.get("keyviz_bucket_reads"))
sys.exit(0 if pair == (3, 2) else "(writes, reads) = %s" % (pair,))
PY'
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
}
