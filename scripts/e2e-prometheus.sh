#!/usr/bin/env bash
# End-to-end check against a real Prometheus (Debian `prometheus`), loopback only, < 3 minutes:
#  1. start Prometheus on 127.0.0.1 (scrape and rule interval 1 s, the shipped rules, a temp dir);
#  2. start two demo nodes with the same --seed and --churn-period 0, one with a strong hotspot;
#  3. wait until both targets are up;
#  4. run every dashboard panel query (variables substituted): each parses and returns data;
#     every recording and alerting rule reports healthy;
#  5. sum by (bucket) over both nodes has exactly as many series as one node;
#  6. with `for:` shortened in a test copy of the alerts, KeyVizHotRoute fires for the hot node
#     naming its hot route, and not for the cold node.
# Everything is stopped and removed on exit, success or failure.
# Usage: scripts/e2e-prometheus.sh [path/to/keyviz-demo]   (default: release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

DEMO=${1:-.build/release/keyviz-demo}
[ -x "$DEMO" ] || swift build -c release --product keyviz-demo
command -v prometheus >/dev/null || bash scripts/setup-debian.sh

WORK=$(mktemp -d /tmp/keyviz-e2e.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
START=$(date +%s)
deadline() { [ $(( $(date +%s) - START )) -lt 170 ] || { echo "e2e: over the time limit" >&2; exit 1; }; }
fail() { echo "e2e: FAIL: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

NODE_PORT=
start_node() { # name, extra flags...; sets NODE_PORT (runs in this shell so cleanup sees the pid)
  local name=$1; shift
  "$DEMO" --listen 127.0.0.1:0 --seed 7 --churn-period 0 --routes 64 --rate 20000 --status-every 60 "$@" \
    >/dev/null 2>"$WORK/$name.log" &
  PIDS+=($!)
  NODE_PORT=
  for _ in $(seq 100); do
    NODE_PORT=$(grep -o 'serving http://127.0.0.1:[0-9]*' "$WORK/$name.log" | sed 's/.*://' || true)
    [ -n "$NODE_PORT" ] && return
    sleep 0.1
  done
  fail "node $name did not start"
}
start_node hot --skew 40; HOT=$NODE_PORT
start_node cold --skew 1; COLD=$NODE_PORT
echo "e2e: hot node on $HOT, cold node on $COLD"

PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -E 's/for: [0-9]+[mh]/for: 3s/' dashboards/prometheus/keyviz-alerts.yml > "$WORK/keyviz-alerts.yml"
cp dashboards/prometheus/keyviz-rules.yml "$WORK/"
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}
rule_files: [keyviz-rules.yml, keyviz-alerts.yml]
scrape_configs:
  - job_name: keyviz
    static_configs: [{targets: ['127.0.0.1:$HOT', '127.0.0.1:$COLD']}]
YAML
promtool check config "$WORK/prometheus.yml" >/dev/null || fail "generated config is invalid"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >/dev/null 2>"$WORK/prometheus.log" &
PIDS+=($!)
API="http://127.0.0.1:$PROM_PORT"

for _ in $(seq 100); do curl -sf "$API/-/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$API/-/ready" >/dev/null || fail "prometheus did not become ready"

# 3. Both targets up (the first scrape comes after service discovery, ~6 s).
for _ in $(seq 60); do
  deadline
  up=$(curl -sf "$API/api/v1/query" --data-urlencode 'query=sum(up{job="keyviz"})' | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  [ "$up" = "2" ] && break
  sleep 0.5
done
[ "$up" = "2" ] || fail "targets not up (up=$up)"
echo "e2e: both targets up after $(( $(date +%s) - START )) s"
sleep 4   # a few samples for the rates

# 4. Dashboard queries and rule health; 5. bucket labels agree; 6. the hot-route alert.
python3 - "$API" "$HOT" "$COLD" <<'PY'
import json, sys, time, urllib.parse, urllib.request
api, hot, cold = sys.argv[1], sys.argv[2], sys.argv[3]

def get(path, **params):
    url = api + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)

def query(expr):
    out = get("/api/v1/query", query=expr)
    if out.get("status") != "success":
        raise SystemExit(f"e2e: FAIL: query did not succeed: {expr}: {out}")
    return out["data"]["result"]

dash = json.load(open("dashboards/grafana/keyviz-overview.json"))
subst = {"$job": "keyviz", "$instance": ".*", "${series}": "writes", "$series": "writes", "$__rate_interval": "15s"}
n = 0
for p in dash["panels"]:
    for t in p.get("targets", []):
        expr = t["expr"]
        for k, v in subst.items():
            expr = expr.replace(k, v)
        deadline = time.time() + 20
        while True:
            result = query(expr)
            if result or time.time() > deadline:
                break
            time.sleep(1)
        if not result:
            raise SystemExit(f"e2e: FAIL: panel '{p['title']}' query returned no data: {expr}")
        n += 1
print(f"e2e: {n} dashboard queries parse and return data")

deadline = time.time() + 30
while True:
    groups = get("/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"]
    if not bad and len(rules) == 18:
        break
    if time.time() > deadline:
        raise SystemExit(f"e2e: FAIL: rules not healthy ({len(rules)} loaded): {bad}")
    time.sleep(1)
print(f"e2e: {len(rules)} rules loaded and healthy")

summed = query('count(sum by (bucket) (keyviz_bucket_writes_total{job="keyviz"}))')
one = query(f'count(keyviz_bucket_writes_total{{job="keyviz",instance="127.0.0.1:{hot}"}})')
if not summed or not one or summed[0]["value"][1] != one[0]["value"][1]:
    raise SystemExit(f"e2e: FAIL: sum by (bucket) gives {summed} series, one node has {one}")
print(f"e2e: sum by (bucket) over both nodes = {summed[0]['value'][1]} series = one node's")

deadline = time.time() + 60
while True:
    alerts = [a for a in get("/api/v1/alerts")["data"]["alerts"] if a["labels"]["alertname"] == "KeyVizHotRoute"]
    firing = [a for a in alerts if a["state"] == "firing"]
    hot_firing = [a for a in firing if a["labels"]["instance"] == f"127.0.0.1:{hot}" and a["labels"].get("route_id")]
    cold_any = [a for a in alerts if a["labels"]["instance"] == f"127.0.0.1:{cold}"]
    if cold_any:
        raise SystemExit(f"e2e: FAIL: the cold node raised KeyVizHotRoute: {cold_any}")
    if hot_firing:
        a = hot_firing[0]
        print(f"e2e: KeyVizHotRoute firing for the hot node: route {a['labels']['route_id']} "
              f"[{a['labels']['start']}, {a['labels']['end']}) ({a['labels']['severity']}): {a['annotations']['description']}")
        break
    if time.time() > deadline:
        raise SystemExit(f"e2e: FAIL: KeyVizHotRoute did not fire for the hot node: {alerts}")
    time.sleep(1)
PY
echo "e2e: passed in $(( $(date +%s) - START )) s"
