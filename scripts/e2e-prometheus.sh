#!/usr/bin/env bash
# End-to-end check against a real Prometheus and Alertmanager (Debian), loopback only, ~1 minute:
#  1. start Prometheus on 127.0.0.1 (scrape and rule interval 1 s, the shipped rules with `for`
#     shortened to 15 s and keep_firing_for removed, a temp dir);
#  2. start two demo nodes with the same --seed and routes splitting and merging every 0.5 s
#     (ten times the demo's default churn; one shard group, so any two neighbours may merge):
#     one with a standing hotspot (--skew 40 --hotspot-period 86400), one uniform;
#  3. wait until both targets are up;
#  4. every dashboard panel and annotation query (variables substituted) parses and returns
#     data; every recording and alerting rule reports healthy; sum by (bucket) over both nodes
#     has as many series as one node;
#  5. KeyVizHotRoute goes pending once for the hot node and fires within `for` plus two scrape
#     intervals, and every alert of it keeps one identity and one activeAt for 30 s more of
#     churn, while the hot route is renamed; nothing fires for the uniform node;
#  6. a real Alertmanager running dashboards/prometheus/alertmanager.yml receives the alerts and
#     leaves only the critical KeyVizHotRoute alerts un-inhibited;
#  7. a query_range over the whole run of the heat map's own query returns one row per bucket
#     label, in key order, each with points in (almost) every step its bucket existed; the
#     info series number no more than the bucket labels.
#  8. a third node with --prometheus-url and --prometheus-selector '{job="keyviz"}' answers
#     ?scope=prometheus (the page's Prometheus view) with exactly Prometheus's own query_range of
#     the bucket counters summed over both nodes of job keyviz, while the same Prometheus also
#     scrapes another store (job "other", a third uniform node) whose counts must not leak in.
# Everything is stopped and removed on exit, success or failure.
# Usage: scripts/e2e-prometheus.sh [path/to/keyviz-demo]   (default: release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

DEMO=${1:-.build/release/keyviz-demo}
[ -x "$DEMO" ] || swift build -c release --traits Demo --product keyviz-demo
command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null || bash scripts/setup-debian.sh

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
  "$DEMO" --listen 127.0.0.1:0 --seed 7 --churn-period 0.5 --groups 1 --routes 64 --rate 20000 --status-every 60 "$@" \
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
start_node hot --skew 40 --hotspot-period 86400; HOT=$NODE_PORT
start_node cold --skew 1; COLD=$NODE_PORT
start_node other --skew 1 --rate 5000; OTHER=$NODE_PORT
echo "e2e: hot node on $HOT, cold node on $COLD; another store (job other) on $OTHER"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROM_PORT=$(free_port)
AM_PORT=$(free_port)
prometheus-alertmanager --config.file=dashboards/prometheus/alertmanager.yml --storage.path="$WORK/am" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= --log.level=warn >/dev/null 2>"$WORK/alertmanager.log" &
PIDS+=($!)
FOR_SECONDS=15
sed -E -e '/^ +keep_firing_for:/d' -e "s/^( +)for: [0-9]+[mh]\$/\\1for: ${FOR_SECONDS}s/" dashboards/prometheus/keyviz-alerts.yml > "$WORK/keyviz-alerts.yml"
grep -q "for: ${FOR_SECONDS}s" "$WORK/keyviz-alerts.yml" && ! grep -qE '^ +(keep_firing_)?for: [0-9]+[mh]$|^ +keep_firing_for:' "$WORK/keyviz-alerts.yml" \
  || fail "could not shorten for: in the alert rules"
cp dashboards/prometheus/keyviz-rules.yml "$WORK/"
cat > "$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}
rule_files: [keyviz-rules.yml, keyviz-alerts.yml]
alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]}]}
scrape_configs:
  - job_name: keyviz
    static_configs: [{targets: ['127.0.0.1:$HOT', '127.0.0.1:$COLD']}]
  - job_name: other
    static_configs: [{targets: ['127.0.0.1:$OTHER']}]
YAML
promtool check config "$WORK/prometheus.yml" >/dev/null || fail "generated config is invalid"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >/dev/null 2>"$WORK/prometheus.log" &
PIDS+=($!)
API="http://127.0.0.1:$PROM_PORT"

for _ in $(seq 100); do curl -sf "$API/-/ready" >/dev/null && break; sleep 0.2; done
curl -sf "$API/-/ready" >/dev/null || fail "prometheus did not become ready"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null || fail "alertmanager did not become ready"

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
python3 - "$API" "$HOT" "$COLD" "$FOR_SECONDS" "$START" "http://127.0.0.1:$AM_PORT" <<'PY'
import calendar, json, re, statistics, sys, time, urllib.parse, urllib.request
api, hot, cold, for_s, started, am = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
HOT, COLD = f"127.0.0.1:{hot}", f"127.0.0.1:{cold}"
SCRAPE = 1.0

def get(path, **params):
    url = api + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)

def fail(msg):
    raise SystemExit(f"e2e: FAIL: {msg}")

def query(expr, **kw):
    out = get("/api/v1/query", query=expr, **kw)
    if out.get("status") != "success":
        fail(f"query did not succeed: {expr}: {out}")
    return out["data"]["result"]

def query_range(expr, start, end, step):
    out = get("/api/v1/query_range", query=expr, start=start, end=end, step=step)
    if out.get("status") != "success":
        fail(f"query_range did not succeed: {expr}: {out}")
    return out["data"]["result"]

def scalar(expr):
    r = query(expr)
    return float(r[0]["value"][1]) if r else 0.0

dash = json.load(open("dashboards/grafana/keyviz-overview.json"))
subst = {"${op}": "write", "$op": "write", "$job": "keyviz", "$instance": ".*", "$__rate_interval": "15s"}
def substitute(expr):
    for k, v in subst.items():
        expr = expr.replace(k, v)
    return expr
heatmap = next(p for p in dash["panels"] if p["type"] == "heatmap" and p["fieldConfig"]["defaults"]["unit"] == "ops")
heat_expr = substitute(heatmap["targets"][0]["expr"])

# 5. The hot-route alert, watched from the start: every (op, severity) alert of the hot node
#    must keep one label set and one activeAt, go pending once and fire within for + 2 scrapes.
seen = {}          # (op, severity) -> {"labels": set, "activeAt": set, "states": [..], "firing_at": t}
renames = set()
deadline = time.time() + 90
fired_at = None
while True:
    now = time.time()
    for a in get("/api/v1/alerts")["data"]["alerts"]:
        l = a["labels"]
        if l["alertname"] != "KeyVizHotRoute":
            continue
        if l["instance"] != HOT:
            fail(f"KeyVizHotRoute for a node without a hotspot: {a}")
        s = seen.setdefault((l["op"], l["severity"]), {"labels": set(), "activeAt": set(), "states": [], "firing_at": None})
        s["labels"].add(tuple(sorted(l.items())))
        s["activeAt"].add(a["activeAt"])
        if not s["states"] or s["states"][-1] != a["state"]:
            s["states"].append(a["state"])
        if a["state"] == "firing" and s["firing_at"] is None:
            s["firing_at"] = now
    for r in query(f'keyviz_hot_route_id{{instance="{HOT}",rank="1"}}'):
        renames.add((r["metric"]["op"], r["value"][1]))
    if fired_at is None and ("write", "warning") in seen and seen[("write", "warning")]["firing_at"]:
        fired_at = time.time()
    if fired_at is not None and time.time() - fired_at >= 30:
        break
    if time.time() > deadline:
        fail(f"KeyVizHotRoute did not fire for the hot node and stay firing 30 s: {seen}")
    time.sleep(0.5)
for key, s in sorted(seen.items()):
    if len(s["labels"]) != 1 or len(s["activeAt"]) != 1 or s["states"] not in (["pending", "firing"], ["firing"]):
        fail(f"KeyVizHotRoute {key} restarted: label sets {s['labels']}, activeAt {s['activeAt']}, states {s['states']}")
    stamp = next(iter(s["activeAt"]))        # RFC 3339, 0 to 9 fractional digits
    fraction = stamp[19:].rstrip("Z").lstrip(".")
    active = calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + (float("0." + fraction) if fraction.isdigit() else 0.0)
    late = s["firing_at"] - active - for_s if s["firing_at"] else None
    if late is None or late > 2 * SCRAPE + 1.5:     # + one rule evaluation and our 0.5 s polling
        fail(f"KeyVizHotRoute {key} fired {late} s after activeAt + for")
    print(f"e2e: KeyVizHotRoute {key[0]} {key[1]}: one alert, states {' -> '.join(s['states'])}, activeAt "
          f"{next(iter(s['activeAt']))} unchanged, firing seen {late + for_s:.1f} s after it (for = {for_s:.0f} s)")
if ("write", "warning") not in seen or ("write", "critical") not in seen:
    fail(f"expected warning and critical KeyVizHotRoute for writes: {sorted(seen)}")
ids = sorted({i for op, i in renames if op == "write"}, key=float)
if len(ids) < 2:
    fail(f"the hot write route was never renamed while the alert was watched (route {ids}): the run proves nothing about churn")
buckets = query_range(f'keyviz_hot_route_info{{instance="{HOT}",op="write",rank="1"}}', started, time.time(), 1)
min_share = scalar(f'min_over_time(keyviz_hot_route_share{{instance="{HOT}",op="write",rank="1"}}[{int(time.time() - started)}s])')
print(f"e2e: meanwhile the hot write route was route {', '.join(ids)}, in bucket(s) "
      f"{', '.join(sorted({b['metric'].get('bucket', '(left the catalog)') for b in buckets}))}; raw rank-1 share fell to {min_share:.2f}")
alerts = get("/api/v1/alerts")["data"]["alerts"]
desc = next(a["annotations"]["description"] for a in alerts if a["labels"]["alertname"] == "KeyVizHotRoute" and a["labels"]["op"] == "write")
print(f"e2e: its description now: {desc}")

# 6. Alertmanager with the shipped config: of everything the hotspot raised, only the critical
#    KeyVizHotRoute alerts (one per op) are left to notify.
def am_alerts():
    with urllib.request.urlopen(am + "/api/v2/alerts", timeout=10) as r:
        return json.load(r)
deadline = time.time() + 40
while True:
    got = am_alerts()
    names = {(a["labels"]["alertname"], a["labels"]["severity"], a["labels"].get("op")) for a in got}
    if {("KeyVizHotRoute", s, o) for s in ("warning", "critical") for o in ("read", "write")} <= names \
            and any(n[0] == "KeyVizHotBucket" for n in names):
        break
    if time.time() > deadline:
        fail(f"Alertmanager did not receive the KeyVizHotRoute and KeyVizHotBucket alerts: {sorted(names)}")
    time.sleep(1)
def short(a):
    l = a["labels"]
    return f"{l['alertname']}/{l['severity']}/{l.get('op', '')}" + (f"/{l['bucket']}" if "bucket" in l else "")
# Inhibition settles as alerts arrive: with churn on, the hot route moves between buckets and the
# KeyVizHotRouteBucket alert naming its new bucket reaches Alertmanager one rule evaluation and one
# send later than the KeyVizHotBucket alert it must hold back. So wait for the settled state
# (bounded), and fail only if it never comes.
settle = time.time() + 60
while True:
    notify = sorted(short(a) for a in got if a["status"]["state"] == "active" and a["labels"]["severity"] != "none")
    held = sorted(short(a) for a in got if a["status"]["inhibitedBy"])
    if notify == ["KeyVizHotRoute/critical/read", "KeyVizHotRoute/critical/write"]:
        break
    if time.time() > settle:
        fail(f"after inhibition Alertmanager would notify {notify} (held back: {held}), still 60 s later")
    time.sleep(1)
    got = am_alerts()
print(f"e2e: Alertmanager got {len(got)} alerts, holds back {len(held)} ({', '.join(held)}); notifies {', '.join(notify)}")

# 4. Dashboard queries (panels and annotations) and rule health.
exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
exprs += [(a["name"], a["expr"]) for a in dash["annotations"]["list"] if a.get("expr")]
for title, expr in exprs:
    expr = substitute(expr)
    deadline = time.time() + 20
    while not query(expr) and time.time() < deadline:
        time.sleep(1)
    if not query(expr):
        fail(f"panel '{title}' query returned no data: {expr}")
print(f"e2e: {len(exprs)} dashboard panel and annotation queries parse and return data")

want = sum(len(re.findall(r"^\s*- (record|alert):", open(f).read(), re.M))
           for f in ("dashboards/prometheus/keyviz-rules.yml", "dashboards/prometheus/keyviz-alerts.yml"))
groups = get("/api/v1/rules")["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"]
if bad or len(rules) != want:
    fail(f"rules not healthy ({len(rules)} of {want} loaded): {bad}")
print(f"e2e: {len(rules)} rules loaded and healthy")

# Both nodes churn the same seeded way, a little apart in time: their labels agree between changes.
for _ in range(20):
    summed = scalar('count(sum by (bucket) (keyviz_bucket_writes_total{job="keyviz"}))')
    one = scalar(f'count(keyviz_bucket_writes_total{{instance="{HOT}"}})')
    if summed == one:
        break
    time.sleep(0.25)
else:
    fail(f"sum by (bucket) over both nodes gives {summed} series, one node has {one}")
print(f"e2e: sum by (bucket) over both nodes = {summed:.0f} series = one node's")

# 6. The heat map over the whole run: one row per bucket label, in key order, no fragments.
end = time.time()
window = f"{int(end - started) + 1}s"
heat = query_range(heat_expr, started, end, 1)
alive = query_range('group by (bucket) (keyviz_bucket_writes_total{job="keyviz"})', started, end, 1)
steps_alive = {r["metric"]["bucket"]: len(r["values"]) for r in alive}
labels_seen = len(steps_alive)
rows = [r["metric"]["bucket"] for r in heat]
if len(rows) > labels_seen or len(set(rows)) != len(rows):
    fail(f"heat map has {len(rows)} rows ({len(set(rows))} distinct) for {labels_seen} bucket labels seen")
starts = {r["metric"]["bucket"]: r["metric"]["start"] for r in query(f'last_over_time(keyviz_bucket_info{{job="keyviz"}}[{window}])')}
order = [starts[b] for b in rows]
if order != sorted(order):
    fail(f"heat map rows are not in key order: {order}")
coverage, short = [], []
steps = max(steps_alive.values())
for r in heat:
    b, n = r["metric"]["bucket"], len(r["values"])
    lived = steps_alive[b]
    coverage.append(n / lived)
    # rate() over 1m needs two scrapes and the rule one evaluation: a new label misses its first steps.
    if n < lived - 3:
        short.append((b, n, lived))
if short:
    fail(f"heat map rows with gaps (bucket, points, steps alive): {short}")
full = [c for r, c in zip(heat, coverage) if steps_alive[r["metric"]["bucket"]] == steps]
print(f"e2e: heat map query_range over {steps} steps: {len(rows)} rows for {labels_seen} bucket labels seen, "
      f"in key order; points per step alive: median {statistics.median(coverage):.2f}, min {min(coverage):.2f}; "
      f"{len(full)} rows alive all run")

info = scalar(f'count(last_over_time(keyviz_bucket_info{{job="keyviz"}}[{window}]))')
counters = scalar(f'count(last_over_time(keyviz_bucket_writes_total{{job="keyviz"}}[{window}]))')
hot_info = scalar(f'count(last_over_time(keyviz_hot_route_info{{job="keyviz"}}[{window}]))')
changes = scalar(f'sum(increase(keyviz_layout_changes_total{{job="keyviz"}}[{window}]))')
if info > counters:
    fail(f"{info:.0f} bucket info series for {counters:.0f} bucket counter series")
print(f"e2e: over the run, {info:.0f} bucket info series for {counters:.0f} counter series (one per bucket label and node; "
      f"~{changes:.0f} layout changes); {hot_info:.0f} hot-route info series")
PY
# 8. The page's Prometheus view: a node with --prometheus-url answers ?scope=prometheus with
#    the same numbers Prometheus gives for the same query, one row per bucket, in axis order.
start_node viewer --rate 0 --churn-period 0 --prometheus-url "$API" --prometheus-selector '{job="keyviz"}' --prometheus-step 2; VIEWER=$NODE_PORT
python3 - "$API" "$VIEWER" <<'PY'
import json, math, sys, time, urllib.parse, urllib.request
api, viewer = sys.argv[1], sys.argv[2]
def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)
def fail(msg):
    print("e2e: FAIL: " + msg, file=sys.stderr); sys.exit(1)
end = int(time.time()) - 5
frm = end - 30
m = get(f"http://127.0.0.1:{viewer}/api/v1/keyviz/matrix?scope=prometheus&series=writes&from_unix_ms={frm * 1000}&to_unix_ms={end * 1000}")
if m.get("scope") != "prometheus" or not m["nodes"][0]["ok"]:
    fail(f"the Prometheus view failed: {m.get('nodes')}")
def cells(selector):
    return get(api + "/api/v1/query_range?" + urllib.parse.urlencode({"query": f"sum by (bucket) (increase(keyviz_bucket_writes_total{selector}[2000ms]))",
                                                                       "start": frm + 2, "end": end, "step": 2}))["data"]["result"]
want = cells('{job="keyviz"}')
everything = cells("")
other = cells('{job="other"}')
info = get(api + "/api/v1/query?" + urllib.parse.urlencode({"query": f'max by (bucket, axis, start) (last_over_time(keyviz_bucket_info{{job="keyviz"}}[{(end - frm + 2) * 1000}ms]))', "time": end}))["data"]["result"]
def summed(result):
    return sum(math.floor(float(v) + 0.5) for r in result for _, v in r["values"] if math.isfinite(float(v)) and float(v) > 0)
if summed(other) <= 0:
    fail("the other store (job other) has no writes in Prometheus, so the scope check would prove nothing")
axis = {r["metric"]["bucket"]: r["metric"].get("axis", "") for r in info}
want.sort(key=lambda r: (axis.get(r["metric"]["bucket"], "~"), r["metric"]["bucket"]))
cols = sorted({int(round(float(t) * 1000)) for r in want for t, _ in r["values"]})
if m["column_unix_ms"] != cols:
    fail(f"Prometheus view columns {m['column_unix_ms'][:3]}… != Prometheus's {cols[:3]}…")
rows = []
for r in want:
    # As the view rounds: half away from zero, non-finite and negative as 0.
    vals = dict((int(round(float(t) * 1000)), math.floor(float(v) + 0.5) if math.isfinite(float(v)) and float(v) > 0 else 0)
                for t, v in r["values"])
    rows.append([vals.get(c, 0) for c in cols])
got = [r["values"] for r in m["rows"]]
if got != rows:
    fail(f"Prometheus view rows differ from Prometheus's own answer ({len(got)} vs {len(rows)} rows)")
total = sum(map(sum, got))
if total <= 0 or len(got) < 2:
    fail(f"the Prometheus view is empty ({len(got)} rows, total {total})")
if total >= summed(everything):
    fail(f"the Prometheus view's {total} writes are not fewer than every job's {summed(everything)}: the other store leaked in")
print(f"e2e: Prometheus view: {len(got)} bucket rows x {len(cols)} columns of 2 s, summed over both nodes of job keyviz ({total} writes), "
      f"equal to Prometheus's own query_range, rows in axis order; the other store's {summed(other)} writes (job other) are not in it")
PY

echo "e2e: passed in $(( $(date +%s) - START )) s"
