#!/usr/bin/env bash
# Installs what KeyViz needs on a fresh Debian/Ubuntu machine; does nothing when all is present.
#   setup-debian.sh demo   what building and running the demo node needs (the C libraries)
#   setup-debian.sh test   that plus the tools the tests use (Prometheus, promtool, Python parser,
#                          chromium for the page's browser test, an OpenAPI validator)
# Idempotent: safe to run before every build. Needs root (or sudo) only when something is missing.
set -euo pipefail
mode=${1:-test}

# The C libraries the package links: every host that builds KeyViz needs these.
demo_packages=(
  libmicrohttpd-dev   # the embedded HTTP server
  pkg-config          # lets SwiftPM find libmicrohttpd
  zlib1g-dev          # gzip of /metrics responses
  libcrypt-dev        # crypt(3) for basic-auth password hashes
)
# Only for `make test`: real peers the tests check the output against.
test_packages=(
  prometheus          # promtool and a real Prometheus for the end-to-end checks
  prometheus-alertmanager  # amtool check-config and a real Alertmanager for the end-to-end check
  curl                # scripts talk to the demo node and Prometheus
  openssl             # test certificates for the TLS tests
  python3             # independent OpenMetrics parser in the tests
  python3-pip
  chromium            # the heatmap page's real-browser test (scripts/browser-test.py), headless
  nodejs              # node --check: the page's script parses (Sources/KeyVizHTTPHandler/Page/heatmap.js)
  valgrind            # callgrind: instructions per observation, repeatable on a loaded machine
)
# PyPI packages the test scripts import (module to check, then the package to install).
test_python=(
  "prometheus_client.openmetrics.parser prometheus_client"
  "openapi_spec_validator openapi-spec-validator"   # validates docs/openapi.yaml (scripts/check-openapi.py)
)

case "$mode" in
  demo) packages=("${demo_packages[@]}") ;;
  test) packages=("${demo_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: setup-debian.sh demo|test" >&2; exit 2 ;;
esac

command -v swift >/dev/null || { echo "setup-debian: swift not found on PATH (install Swift 6 and put it at /opt/swift/usr/bin or on PATH)" >&2; exit 1; }

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  cat >&2 <<MSG
setup-debian: this is not a Debian/Ubuntu machine (no apt-get). Install these yourself, then run
the swift commands from the README directly:
  C libraries (with headers): libmicrohttpd (>= 0.9.75), zlib, libcrypt (libxcrypt), and pkg-config
MSG
  [ "$mode" = test ] && echo "  for the tests: prometheus + promtool, curl, openssl, chromium, nodejs, python3 with prometheus_client and openapi-spec-validator" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-debian: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # policy-rc.d on build machines keeps the prometheus service from starting; we start our own.
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  for entry in "${test_python[@]}"; do
    read -r module package <<<"$entry"
    if ! python3 -c "import $module" 2>/dev/null; then
      echo "setup-debian: installing python $package" >&2
      python3 -m pip install -q --disable-pip-version-check "$package" 2>/dev/null \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages "$package"
    fi
  done
fi
