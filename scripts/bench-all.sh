#!/usr/bin/env bash
# Every generated figure of docs/performance.md in one run, and the doc's tables rewritten from
# it (by hand, not in CI; ~5 minutes on 2 cores, plus the first builds):
#   scripts/bench-all.sh [--quick] [--no-http] [OUTDIR]     (OUTDIR default /tmp/keyviz-bench)
# Measures from Benchmarks/Host (a host package using only KeyViz's public API, so it measures
# whatever the branch holds): the hot path with its independent-atomics ceiling and
# swift-prometheus peers, the hot-key sampler's cost on the calling thread and per drained sample,
# instructions per observation under callgrind, renders at 100 000 routes
# against swift-prometheus `emit`, the matrix API over dense histories of 10 000 to 1 M routes
# (about 4 GB resident at 100 000 x 1 440), resident bytes per route; then /metrics over HTTP against
# prometheus-cpp (scripts/bench-http.sh). Raw results stay in OUTDIR; scripts/bench-doc.py writes
# the tables between the `<!-- bench:NAME:begin/end -->` markers of docs/performance.md.
# --quick: few repetitions, 10 000-route renders, no 1M-route memory, 2 s of HTTP; writes
# OUTDIR/performance.md instead of the doc (it checks that the script works, its numbers are not
# for quoting). --no-http: skip the HTTP comparison (its table is left as it was).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
QUICK=0; HTTP=1; OUT=/tmp/keyviz-bench; ARGS="$*"
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --no-http) HTTP=0 ;;
    -*) echo "usage: scripts/bench-all.sh [--quick] [--no-http] [OUTDIR]" >&2; exit 2 ;;
    *) OUT=$a ;;
  esac
done
mkdir -p "$OUT"
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
step() { echo "bench: $* ($(( $(date +%s) - START )) s)" >&2; }

if [ "$QUICK" = 1 ]; then
  HOT_REPS=3; HOT_RUN_US=2000; RENDER_REPS=3; RENDER_ROUTES=10000; MEM_SIZES="10000 100000"; HTTP_SECONDS=2
  TOUCHED_SIZES="10000 100000 1000000"
  MATRIX_SIZES="10000x60 100000x60"; MATRIX_REPS=3
else
  HOT_REPS=101; HOT_RUN_US=10000; RENDER_REPS=101; RENDER_ROUTES=100000; MEM_SIZES="10000 100000 1000000"; HTTP_SECONDS=10
  TOUCHED_SIZES="10000 100000 1000000 10000000"
  MATRIX_SIZES="10000x1440 100000x1440 1000000x60"; MATRIX_REPS=5
fi

step "building Benchmarks/Host (release)"
(cd Benchmarks/Host && swift build -c release -Xswiftc -warnings-as-errors >/dev/null)
BIN=Benchmarks/Host/.build/release/keyviz-bench

step "hot path: $HOT_REPS repetitions, runs of ${HOT_RUN_US} µs"
"$BIN" hotpath "$HOT_REPS" "$HOT_RUN_US" > "$OUT/hotpath.json"

step "hot keys: the calling thread's cost and the drain's, apart ($HOT_REPS repetitions)"
"$BIN" hotkeys-split "$HOT_REPS" > "$OUT/hotkeys-split.json"

step "instructions per observation (callgrind)"
python3 scripts/bench-doc.py callgrind "$BIN" "$OUT/callgrind.json"

step "render: $RENDER_REPS repetitions, $RENDER_ROUTES routes"
"$BIN" render "$RENDER_REPS" "$RENDER_ROUTES" > "$OUT/render.json"

step "render with 1 000 routes touched, catalogs of $TOUCHED_SIZES routes"
# shellcheck disable=SC2086
"$BIN" render-touched 1000 "$RENDER_REPS" $TOUCHED_SIZES > "$OUT/render-touched.jsonl"

step "matrix API over dense history: $MATRIX_SIZES (routes x columns), $MATRIX_REPS requests each"
: > "$OUT/matrix.jsonl"
for size in $MATRIX_SIZES; do
  "$BIN" matrix "${size%x*}" "${size#*x}" "$MATRIX_REPS" >> "$OUT/matrix.jsonl"
done

step "memory per route: $MEM_SIZES"
: > "$OUT/memory.jsonl"
for n in $MEM_SIZES; do for kind in decorator matrix chain; do for threads in 1 2; do
  "$BIN" memory "$n" "$kind" "$threads" >> "$OUT/memory.jsonl"
done; done; done

rm -f "$OUT/http.md"
if [ "$HTTP" = 1 ]; then
  step "HTTP: wrk ${HTTP_SECONDS}s per server"
  bash scripts/bench-http.sh "$HTTP_SECONDS" > "$OUT/http.md"
fi

END=$(date +%s)
python3 - "$OUT/meta.json" <<PY
import json, os, subprocess, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
json.dump({"command": ("scripts/bench-all.sh $ARGS").strip(), "date": "$DATE", "seconds": $END - $START,
           "quick": $QUICK == 1, "commit": commit + (" + uncommitted changes" if dirty else ""),
           "nproc": os.cpu_count(), "cpu": cpu, "kernel": "Linux " + os.uname().release, "swift": swift,
           "load_start": "$LOAD_START", "load_end": " ".join(open("/proc/loadavg").read().split()[:3])},
          open(sys.argv[1], "w"), indent=2)
PY
DOC=docs/performance.md
if [ "$QUICK" = 1 ]; then cp "$DOC" "$OUT/performance.md"; DOC="$OUT/performance.md"; fi
python3 scripts/bench-doc.py write "$OUT" "$DOC"
step "done: $DOC"
