#!/usr/bin/env bash
# No library target waits on a thread it does not own: no semaphores, condition variables,
# group waits, thread sleeps or process waits in Sources/, except in the two programs (the demo
# node and the fuzz driver own their threads). Waiting is done by suspending (continuations,
# Task.sleep); the only threads that block are ones the library started for that (OwnThread,
# the peer fetcher's socket poll) and libmicrohttpd's own.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='DispatchSemaphore|NSCondition|DispatchGroup|pthread_cond_|usleep\(|nanosleep\(|Thread\.sleep|(^|[^.[:alnum:]_])sleep\(|\.wait\(|waitUntilExit'
found=$(grep -rnE "$pattern" Sources --include=*.swift --include=*.c --include=*.h \
  | grep -v '^Sources/keyviz-demo/' | grep -v '^Sources/keyviz-fuzz/' || true)
if [ -n "$found" ]; then
  echo "no-blocking-waits: a library target waits on a thread it does not own:" >&2
  echo "$found" >&2
  exit 1
fi
echo "no-blocking-waits: no library target uses a semaphore, condition, group wait, sleep or process wait"
