#!/usr/bin/env bash
# The demo's command line as a user meets it: every bad invocation exits 2 with exactly one
# line on stderr naming the problem; --help exits 0 and lists every flag with its default.
set -uo pipefail
demo=${1:-.build/release/keyviz-demo}
passed=0 failed=0
bad() {
  local err rc
  err=$("$demo" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 2 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ "$err" == keyviz-demo:* ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "demo-cli: FAIL: $* -> exit $rc, stderr: $err" >&2
  fi
}
bad --routes 0
bad --routes abc
bad --listen --routes 5          # a flag is never taken as a value
bad --bogus
bad --step nan
bad --duration inf
bad --churn-removals 2
bad --buckets 5000
bad --auto-split --auto-split-min-balance 0.2
bad --auto-split --auto-split-cooldown 0
bad --auto-split-min-balance 0.9            # needs --auto-split
bad --skew 0
bad --listen ""
bad extra-argument
bad --peers 127.0.0.1                 # no port
bad --peers "127.0.0.1:9478,"         # an empty entry
bad --peers "a:1,a:1"                 # listed twice
bad --peers "h:70000"
bad --peers http://127.0.0.1:9477   # a URL, not host:port
bad --peer-timeout 0
bad --peer-max-body 10
bad --tiers 60:0
bad --tiers x
bad --tiers ""                   # empty: 'none' says no tiers
bad --tiers 60:10,90:10          # not a multiple of the tier before
bad --step 7                     # the default tiers' 60 s is not a multiple of 7 s
bad --state-save-every 0
bad --state-dir ""
bad --max-connections-per-client 0
bad --node-id ""
bad --node-id "has space"
bad --peer-remember -1
bad --prometheus-url http://127.0.0.1:9090          # no --prometheus-selector
bad --prometheus-url http://127.0.0.1:9090 --prometheus-selector 'job="kv"'
bad --prometheus-selector '{job="kv"}'           # a selector without the URL it scopes
help=$("$demo" --help); rc=$?
for flag in --routes --groups --rate --keys --versions --step --buckets --hot-key-sample-every --listen --max-connections --max-connections-per-client --basic-auth-file --peers --peer-timeout --peer-max-body --peer-credentials-file --peer-remember --node-id --prometheus-url --prometheus-selector --tiers --state-dir --state-save-every --check-state --auto-split --auto-split-cooldown --auto-split-min-balance; do
  if [ "$rc" = 0 ] && grep -q -- "$flag" <<<"$help"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "demo-cli: FAIL: --help lacks $flag" >&2; fi
done
echo "demo-cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
