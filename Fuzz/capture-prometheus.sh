#!/usr/bin/env bash
# Captures a real Prometheus answer pair for the `prometheus-answer` seed corpus: a demo node
# scraped every second by a real Prometheus for ~30 s, then the two queries PrometheusView makes
# (with the target's step of 5 s and selector {job="keyviz"}), written as
# `<query_range body> NUL <query body> NUL <matrix query string>` (the target's input format).
#
# usage: Fuzz/capture-prometheus.sh KEYVIZ_DEMO_BINARY OUTPUT_FILE
set -euo pipefail
demo="$1"
out="$2"
work="$(mktemp -d -t keyviz-capture.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
node_port=$(free_port)
prom_port=$(free_port)
"$demo" --listen "127.0.0.1:$node_port" --routes 16 --buckets 8 --churn-period 4 --duration 60 --status-every 60 >/dev/null 2>&1 &
pids+=($!)
cat > "$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: keyviz
    static_configs: [{targets: ["127.0.0.1:$node_port"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
sleep 32
python3 - "$prom_port" "$out" <<'PY'
import sys, time, urllib.parse, urllib.request
port, out = sys.argv[1], sys.argv[2]
to = int(time.time()) * 1000 - 2000
frm = to - 25_000
step = 5000                       # PrometheusAnswerTarget.stepMs; (to - frm) / 1440 is smaller
start = min(frm, to - step)
first = start + step
sel = '{job="keyviz"}'
def get(path, **params):
    url = f"http://127.0.0.1:{port}{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()
rng = get("/api/v1/query_range", query=f"sum by (bucket) (increase(keyviz_bucket_writes_total{sel}[{step}ms]))",
          start=f"{first / 1000:.3f}", end=f"{to / 1000:.3f}", step=f"{step / 1000:.3f}")
info = get("/api/v1/query", query=f"max by (bucket, axis, start) (last_over_time(keyviz_bucket_info{sel}[{to - start + step}ms]))",
           time=f"{to / 1000:.3f}")
with open(out, "wb") as f:
    f.write(rng + b"\0" + info + b"\0" + f"from_unix_ms={frm}&to_unix_ms={to}&series=writes".encode())
print(f"{out}: {len(rng)} + {len(info)} bytes")
PY
