#!/usr/bin/env bash
# prometheus-cpp's own figures (serializer per series, pre-bound and labelled increments), to set
# beside the Swift benchmarks of Benchmarks/. By hand:  scripts/bench-peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in prometheus-cpp-dev g++; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
BIN=$(mktemp /tmp/promcpp_bench.XXXXXX)
trap 'rm -f "$BIN"' EXIT
g++ -O2 -std=c++17 -o "$BIN" Benchmarks/peers/promcpp_bench.cpp -lprometheus-cpp-pull -lprometheus-cpp-core -lpthread
"$BIN" increment
"$BIN" lookup
for n in 1330 20530; do "$BIN" serialize "$n"; done
