#!/usr/bin/env bash
# Builds Examples/MinimalHost as a separate package (a host that depends on KeyViz), runs it,
# scrapes its /metrics and checks that the README snippet's one write and one read are exported
# exactly (promtool clean too) and that the matrix API shows them while it serves, then stops it
# with SIGTERM and checks the clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
python3 scripts/check-readme-snippet.py

(cd Examples/MinimalHost && swift build -c release -Xswiftc -warnings-as-errors)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
Examples/MinimalHost/.build/release/MinimalHost >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '^serving ' "$work/out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/out") || { cat "$work/out"; echo "example-host: never printed its address" >&2; exit 1; }
curl -sf "$url" >"$work/metrics"
promtool check metrics <"$work/metrics"
python3 - "$work/metrics" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
want = {"keyviz_bucket_writes": 1, "keyviz_bucket_reads": 1,
        "keyviz_bucket_write_bytes": len("key/00000042") + len("hello"),
        "keyviz_bucket_read_bytes": len("key/00000042") + len("hello")}
got = {name: 0 for name in want}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    if fam.name in got:
        got[fam.name] = sum(s.value for s in fam.samples if s.name.endswith("_total"))
if got != want:
    sys.exit(f"example-host: /metrics exported {got}, the snippet did {want}")
print(f"example-host: /metrics exports the snippet's traffic exactly: {got}")
PY
# The matrix API: the flusher runs while the host serves (not only at its last flush), so the
# snippet's read and write show up in time columns within a few 1 s steps.
cat >"$work/matrix.py" <<'PY'
import json, sys
answers = [json.load(open(p)) for p in sys.argv[1:]]
sums = [sum(sum(r["values"]) for r in a["rows"]) for a in answers]
columns = len(answers[0]["column_unix_ms"])
if sums != [1, 1]:
    sys.exit(f"example-host: the matrix API shows reads, writes = {sums} in {columns} columns "
             "while serving; the snippet did 1 and 1 (is the flusher running?)")
print(f"example-host: the matrix API shows the snippet's read and write while serving ({columns} columns)")
PY
base=${url%/metrics}
matrix_shows_snippet() {
    curl -sf "$base/api/v1/keyviz/matrix?series=reads" >"$work/reads" \
        && curl -sf "$base/api/v1/keyviz/matrix?series=writes" >"$work/writes" \
        && python3 "$work/matrix.py" "$work/reads" "$work/writes"
}
for _ in $(seq 100); do matrix_shows_snippet >/dev/null 2>&1 && break; sleep 0.1; done
matrix_shows_snippet || { echo "example-host: no matrix answer showing the snippet's traffic" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid" || { echo "example-host: exited non-zero on SIGTERM" >&2; cat "$work/out"; exit 1; }
grep -q '^stopped on signal 15; value was hello$' "$work/out" || { cat "$work/out"; echo "example-host: no clean stop line" >&2; exit 1; }
echo "example-host: built, served, exported exactly, stopped cleanly on SIGTERM"
