#!/usr/bin/env bash
# Every test and check, in order. Fails on the first failure. Called by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

echo "== build (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors

echo "== swift test"
swift test --skip-build

echo "== release build of the demo node"
swift build -c release --product keyviz-demo -Xswiftc -warnings-as-errors

echo "== demo node smoke run"
.build/release/keyviz-demo --duration 2 --churn-period 0.5 --status-every 1

echo "all checks passed"
