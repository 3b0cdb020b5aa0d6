#!/usr/bin/env bash
# Installs what KeyViz needs on a fresh Debian machine; does nothing when all is present.
# Idempotent: safe to run before every build. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  libmicrohttpd-dev   # the embedded HTTP server
  pkg-config          # lets SwiftPM find libmicrohttpd
  zlib1g-dev          # gzip of /metrics responses
  prometheus          # promtool and a real Prometheus for the end-to-end checks
  curl                # scripts talk to the demo node and Prometheus
  openssl             # test certificates for the TLS tests
  libcrypt-dev        # crypt(3) for basic-auth password hashes
  python3             # independent OpenMetrics parser in the tests
  python3-pip
)

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

# The OpenMetrics parser used to cross-check our output (PyPI prometheus_client).
if ! python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
  echo "setup-debian: installing python prometheus_client" >&2
  python3 -m pip install -q --disable-pip-version-check prometheus_client 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages prometheus_client
fi

command -v swift >/dev/null || { echo "setup-debian: swift not found on PATH (expected at /opt/swift/usr/bin)" >&2; exit 1; }
