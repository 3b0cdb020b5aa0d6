#!/usr/bin/env bash
# /metrics over HTTP: wrk against the demo node and against prometheus-cpp's Exposer serving the
# same number of series, with the same connections and duration, in one run. Loopback only.
# By hand (not in CI):  scripts/bench-http.sh [seconds]     (default 10)
# Needs: wrk, prometheus-cpp-dev, g++ (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
DURATION=${1:-10}
missing=()
for p in wrk prometheus-cpp-dev g++; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
swift build -c release --traits Demo --product keyviz-demo >/dev/null
WORK=$(mktemp -d /tmp/keyviz-bench-http.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
g++ -O2 -std=c++17 -o "$WORK/promcpp_bench" Benchmarks/peers/promcpp_bench.cpp -lprometheus-cpp-pull -lprometheus-cpp-core -lpthread

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rps() { wrk -t1 -c8 -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }

echo "| series (KeyViz) | KeyViz req/s | prometheus-cpp req/s (same series) | ratio |"
echo "| --- | --- | --- | --- |"
for buckets in 256 4096; do
  .build/release/keyviz-demo --listen 127.0.0.1:0 --routes "$buckets" --buckets "$buckets" --rate 0 --churn-period 0 \
    --max-scrapes 64 --status-every 3600 >/dev/null 2>"$WORK/demo.log" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q serving "$WORK/demo.log" && break; sleep 0.1; done
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/demo.log" | head -1 | sed 's/.*://')
  series=$(curl -s "http://127.0.0.1:$port/metrics" | grep -vc '^#')
  keyviz=$(rps "http://127.0.0.1:$port/metrics")
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  pport=$(free_port)
  "$WORK/promcpp_bench" serve "$series" "$pport" >/dev/null &
  PIDS+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$pport/metrics" >/dev/null && break; sleep 0.1; done
  peer=$(rps "http://127.0.0.1:$pport/metrics")
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  ratio=$(python3 -c "print(f'{$keyviz / $peer:.1f}x')")
  echo "| $series | $keyviz | $peer | $ratio |"
done
