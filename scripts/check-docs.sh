#!/usr/bin/env bash
# Builds the DocC documentation of every library product with swift-docc-plugin; a broken symbol
# link, an undocumented parameter or any other DocC warning fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
for target in KeyViz KeyVizPrometheus KeyVizHTTPHandler KeyVizCluster KeyVizHTTP KeyVizMetrics KeyVizServiceLifecycle \
              KeyVizHTTPServiceLifecycle KeyVizStateFile ShardKV KeyVizTestKit; do
  swift package --traits Demo generate-documentation --target "$target" --warnings-as-errors >/tmp/keyviz-docc-$$.log 2>&1 \
    || { tail -40 /tmp/keyviz-docc-$$.log; echo "docs: $target failed" >&2; exit 1; }
  echo "docs: $target built"
done
rm -f /tmp/keyviz-docc-$$.log
