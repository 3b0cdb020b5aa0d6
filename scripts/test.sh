#!/usr/bin/env bash
# Every test and check, in order. Fails on the first failure. Called by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

# The Demo trait builds the demo node (its command line); the libraries are the same with or
# without it. Every build here passes it, so no step rebuilds for another trait set.
echo "== build (warnings are errors)"
swift build --traits Demo --build-tests -Xswiftc -warnings-as-errors

echo "== the core imports no C target, Foundation, swift-log, swift-metrics or NIO"
bash scripts/check-core-imports.sh

echo "== DocC: every library's documentation builds, warnings are errors"
bash scripts/check-docs.sh

echo "== the heatmap page's script parses (node --check Page/heatmap.js; the browser test runs it)"
node --check Sources/KeyVizHTTPHandler/Page/heatmap.js

echo "== swift test (every tool installed above: a missing one fails here instead of cancelling its tests)"
# The model-based test at 3 000 sequences here (1 000 in a plain `swift test`, to keep it quick).
KEYVIZ_REQUIRE_TOOLS=1 KEYVIZ_MODEL_SEQUENCES=3000 swift test --traits Demo --skip-build

echo "== fuzzing: each trust boundary's libFuzzer target 10 s (sanitized), its corpus's answers against docs/openapi.yaml (docs/fuzzing.md)"
bash scripts/fuzz.sh --seconds-each 10

echo "== release build of the demo node"
swift build -c release --traits Demo --product keyviz-demo -Xswiftc -warnings-as-errors

echo "== demo node smoke run"
.build/release/keyviz-demo --listen 127.0.0.1:0 --duration 2 --churn-period 0.5 --status-every 1

echo "== Examples/HummingbirdHost: its routes, its swift-metrics and KeyViz on one /metrics, ServiceGroup stop"
bash scripts/check-hummingbird-host.sh

echo "== Examples/VaporHost: KeyViz mounted by the KeyVizVapor adapter: every endpoint, GET and HEAD, exact counts, SIGTERM stop"
bash scripts/check-vapor-host.sh

echo "== demo command line: bad flags exit 2 with one line, --help lists every flag"
bash scripts/check-demo-cli.sh .build/release/keyviz-demo

echo "== demo node under a fast flush and status line (a status line never mixes two columns)"
.build/release/keyviz-demo --listen 127.0.0.1:0 --duration 5 --step 0.001 --status-every 0.1 --churn-period 0.01 >/dev/null 2>&1 \
  || { echo "keyviz-demo crashed or failed with --step 0.001 --status-every 0.1" >&2; exit 1; }

echo "== the README's snippet: Examples/MinimalHost built as a host package, run, scraped, stopped"
bash scripts/check-example-host.sh

echo "== every other Swift block of the docs compiles as a host's code (scripts/doc-snippets.json says how)"
python3 scripts/check-doc-snippets.py

echo "== API description: docs/openapi.yaml is valid and a live node answers as it says"
python3 scripts/check-openapi.py --demo .build/release/keyviz-demo

echo "== --state-dir: 20 SIGKILLs at random moments leave the old or the new state, a SIGTERM restart keeps the columns, corrupt files are set aside"
python3 scripts/check-state-dir.py --demo .build/release/keyviz-demo

echo "== heatmap page in headless chromium (screenshots kept in a temp dir, path printed)"
python3 scripts/browser-test.py --demo .build/release/keyviz-demo

echo "== split advice end to end: --auto-split splits the hot range at the advised key and spreads its load; a single hot key is unsplittable"
python3 scripts/check-auto-split.py .build/release/keyviz-demo

echo "== hostile inputs: a real node against bad peers, a bad Prometheus, extreme queries and a bad state file: it answers, stays up, memory bounded"
python3 scripts/check-hostile-inputs.py --demo .build/release/keyviz-demo

echo "== cluster view: three demo nodes with the same --peers (all three and a dead port): each node counted once, exact totals, a stopped node stale and in a banner, merged page"
python3 scripts/cluster-test.py --demo .build/release/keyviz-demo

echo "== Prometheus rules, rule unit tests and example config; Alertmanager config and its routing"
(cd dashboards/prometheus \
  && promtool check rules keyviz-rules.yml keyviz-alerts.yml \
  && promtool test rules keyviz-alerts.test.yml \
  && promtool check config prometheus.yml \
  && amtool check-config alertmanager.yml \
  && amtool config routes test --config.file=alertmanager.yml --verify.receivers=blackhole alertname=KeyVizHotRouteBucket severity=none \
  && amtool config routes test --config.file=alertmanager.yml --verify.receivers=keyviz-oncall alertname=KeyVizHotRoute severity=critical)

echo "== dashboard lint"
python3 scripts/lint-dashboard.py dashboards/grafana/*.json

echo "== end to end: real Prometheus and Alertmanager, two churning demo nodes: dashboard queries, rules, hot-route alert through renames, inhibition, heat map rows"
bash scripts/e2e-prometheus.sh .build/release/keyviz-demo

echo "== hot path: instructions per observation (callgrind), at most 10% over the record"
python3 scripts/check-instructions.py

echo "== soak: observers on both cores, churn with removals, continuous scrapes, exact totals, flat memory (30 s)"
python3 scripts/soak.py --seconds 30 --demo .build/release/keyviz-demo

echo "== soak variants: scrapes a second apart with route changes or status lines folding between them, exact totals (10 s each)"
python3 scripts/soak.py --seconds 10 --variant spaced --demo .build/release/keyviz-demo
python3 scripts/soak.py --seconds 10 --variant busy-status --demo .build/release/keyviz-demo

echo "all checks passed"
