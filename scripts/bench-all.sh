#!/usr/bin/env bash
# Every performance figure of docs/performance.md in one run, by hand (not in CI; ~6 minutes):
#   scripts/bench-all.sh [output-dir]      (default /tmp/keyviz-bench)
# Runs the Swift benchmarks (Benchmarks/), prometheus-cpp's figures, the HTTP comparison and the
# memory-per-route measurement, and prints a summary of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
OUT=${1:-/tmp/keyviz-bench}
mkdir -p "$OUT"
(cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --format markdown 2>/dev/null) \
  | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -v '%\s*\[' > "$OUT/benchmarks.md"
bash scripts/bench-peers.sh > "$OUT/peers.txt" 2>&1
bash scripts/bench-http.sh 10 > "$OUT/http.md" 2>&1
(cd Benchmarks && swift build -c release --product keyviz-memory >/dev/null \
  && for n in 10000 100000 1000000; do for k in decorator chain mem; do .build/release/keyviz-memory "$n" "$k"; done; \
     .build/release/keyviz-memory "$n" decorator 1; done) > "$OUT/memory.txt"
python3 - "$OUT/benchmarks.md" <<'PY'
import re, sys
name = None
for line in open(sys.argv[1]):
    line = line.rstrip()
    if line.startswith("### "):
        name = line[4:]
    m = re.match(r"\| (Time \(wall clock\) \((\S+)\) \*|Malloc \(total\)[^|]*?) *\|\s*(\S+) \|\s*(\S+) \|\s*(\S+) \|", line)
    if m and name:
        kind = "time " + m.group(2) if m.group(1).startswith("Time") else "mallocs"
        print(f"{name:72s} {kind:10s} p50={m.group(5)}")
PY
cat "$OUT/peers.txt" "$OUT/http.md" "$OUT/memory.txt"
