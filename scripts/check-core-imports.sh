#!/usr/bin/env bash
# The core module stays free of C targets, sockets, Foundation and third-party packages: it may
# import only the standard library's Synchronization and the platform's libc module.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(grep -h '^\s*\(@_exported \)\?import ' Sources/KeyViz/*.swift | sed 's/^\s*\(@_exported \)\?import //' | sort -u \
  | grep -vxE 'Synchronization|Glibc|Musl|Darwin' || true)
if [ -n "$bad" ]; then echo "core-imports: Sources/KeyViz imports $bad" >&2; exit 1; fi
echo "core-imports: Sources/KeyViz imports only Synchronization and the platform libc"
