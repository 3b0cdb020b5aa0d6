#!/usr/bin/env bash
# Coverage-guided fuzzing of every trust boundary (docs/fuzzing.md): builds the libFuzzer binary
# (.build-fuzz, AddressSanitizer), runs each target for N seconds over a copy of its committed
# corpus (Fuzz/Corpus/<target> and Fuzz/Regressions/<target>; new inputs go to a temp dir, never
# the repository) with memory under a bound, then replays each target's corpus, old and new, and
# validates every JSON answer of the matrix and hot-keys APIs against docs/openapi.yaml.
#
# Fails on any crash, broken invariant, leak, out-of-memory (a process over -rss_limit_mb, one
# allocation over -malloc_limit_mb) or slow input (over -timeout seconds), printing the input's
# path; and on an answer that does not match its schema.
#
# usage: scripts/fuzz.sh [--seconds-each N] [--target NAME]... [--keep DIR]
#   --seconds-each N  fuzzing time per target (default 10)
#   --target NAME     only this target (repeatable; default all, see `keyviz-fuzz --list`)
#   --keep DIR        work in DIR (kept, and reused: its corpora grow run after run) instead of
#                     a temp dir; each target's corpus is DIR/<target>/corpus
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

seconds=10
keep=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds-each) seconds="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds-each wants whole seconds" >&2; exit 2 ;; esac
# (libFuzzer reads -max_total_time=0 as "no limit")
[ "$seconds" -ge 1 ] || { echo "fuzz.sh: --seconds-each wants at least 1" >&2; exit 2; }

# Memory under a bound: the whole process (RSS) and any one allocation; and time per input.
RSS_LIMIT_MB=1024
MALLOC_LIMIT_MB=512
TIMEOUT_S=10

echo "== fuzz build: keyviz-fuzz with libFuzzer and AddressSanitizer (.build-fuzz)"
build=(swift build -c release --scratch-path .build-fuzz --product keyviz-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DKEYVIZ_LIBFUZZER)
build_log="$(mktemp -t keyviz-fuzz-build.XXXXXX)"
if ! "${build[@]}" > "$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  echo "fuzz.sh: the fuzz build failed" >&2
  exit 1
fi
# (gold's note about an ASan symbol it cannot export is harmless)
grep -v "Cannot export local symbol '__asan_extra_spill_area'" "$build_log" | tail -1
rm -f "$build_log"
bin="$("${build[@]}" --show-bin-path)/keyviz-fuzz"
[ -x "$bin" ] || { echo "fuzz.sh: the fuzz build produced no $bin" >&2; exit 1; }

# Swift's own crash backtracer would compete with the sanitizer's report (and can hang under
# it); leaks LeakSanitizer cannot see through (pointers kept only in mmap'd memory) are listed,
# with why, in the suppressions file.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:handle_abort=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}${LSAN_OPTIONS:+:}suppressions=$PWD/Fuzz/lsan-suppressions.txt:print_suppressions=0"

all=$("$bin" --list | cut -f1)
if [ ${#targets[@]} -eq 0 ]; then
  # shellcheck disable=SC2206
  targets=($all)
fi
for t in "${targets[@]}"; do
  grep -qx -- "$t" <<<"$all" || { echo "fuzz.sh: no target '$t' (targets: $(echo $all))" >&2; exit 2; }
done

if [ -n "$keep" ]; then
  work="$keep"
  mkdir -p "$work"
else
  work="$(mktemp -d -t keyviz-fuzz.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
echo "== work directory: $work"

failed=0
summary=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  for src in "Fuzz/Corpus/$t" "Fuzz/Regressions/$t"; do
    [ -d "$src" ] && find "$src" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$dir/corpus/" \;
  done
  dict=()
  [ -f "Fuzz/Dictionaries/$t.dict" ] && dict=("-dict=Fuzz/Dictionaries/$t.dict")
  # Leaks: libFuzzer checks after every input that allocated more than it freed. The cluster
  # view fans out on Dispatch worker threads, whose start and caches make every such input look
  # unbalanced, and a full leak check per input (tens of ms) would cut these two targets to a
  # tenth of their speed: they are checked for leaks when the run ends (and by the replay).
  leaks=1
  case "$t" in peer-answer|query) leaks=0 ;; esac
  echo "== fuzz $t for ${seconds}s ($(find "$dir/corpus" -type f | wc -l) inputs to start from)"
  rc=0
  # The outer timeout only guards against a hung process: libFuzzer stops itself after
  # -max_total_time, and flags an input slower than -timeout.
  KEYVIZ_FUZZ_TARGET="$t" timeout --kill-after=10 $((seconds + 300)) \
    "$bin" "$dir/corpus" "${dict[@]}" \
      -max_total_time="$seconds" -timeout="$TIMEOUT_S" -detect_leaks="$leaks" \
      -rss_limit_mb="$RSS_LIMIT_MB" -malloc_limit_mb="$MALLOC_LIMIT_MB" \
      -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
      > "$dir/fuzz.log" 2>&1 || rc=$?
  final_stat() { grep -h "^stat::$1:" "$dir/fuzz.log" | awk '{s += $2} END {print s + 0}'; }
  execs=$(final_stat number_of_executed_units)
  per_sec=$(final_stat average_exec_per_sec)
  added=$(final_stat new_units_added)
  rss=$(grep -h "^stat::peak_rss_mb:" "$dir/fuzz.log" | awk '$2 > m {m = $2} END {print m + 0}')
  artifacts=$(find "$dir/artifacts" -type f | sort)
  if [ "$rc" -ne 0 ] || [ -n "$artifacts" ]; then
    failed=1
    summary+=("$(printf '%-18s FAILED (exit %s)' "$t" "$rc")")
    echo "!! $t: libFuzzer exited with $rc; the end of its log ($dir/fuzz.log):"
    grep -v '^#[0-9]' "$dir/fuzz.log" | grep -v '^INFO:' | tail -60 | sed 's/^/   /'
    for a in $artifacts; do
      echo "!! $t: failing input saved as $a"
      echo "   reproduce: KEYVIZ_FUZZ_TARGET=$t $bin $a"
      echo "   keep it:   cp $a Fuzz/Regressions/$t/   (then swift test replays it)"
    done
  else
    summary+=("$(printf '%-18s %9s execs %7s/s %5s new inputs  peak RSS %4s MB' "$t" "$execs" "$per_sec" "$added" "$rss")")
  fi
done

echo "== replay each corpus (committed + new), sanitized, and validate the JSON answers against docs/openapi.yaml"
for t in "${targets[@]}"; do
  dir="$work/$t"
  rm -rf "$dir/answers"
  if ! "$bin" --replay "$t" --emit "$dir/answers" "$dir/corpus" > "$dir/replay.log" 2>&1; then
    failed=1
    echo "!! $t: the replay broke an invariant or crashed ($dir/replay.log):"
    grep -v '^    #' "$dir/replay.log" | tail -30 | sed 's/^/   /'
  else
    tail -1 "$dir/replay.log" | sed 's/^/   /'
  fi
done
answer_dirs=()
for t in "${targets[@]}"; do [ -d "$work/$t/answers" ] && answer_dirs+=("$work/$t/answers"); done
if [ ${#answer_dirs[@]} -gt 0 ]; then
  if ! python3 Fuzz/validate-answers.py "${answer_dirs[@]}" > "$work/validate.log"; then
    failed=1
    echo "!! answers that do not match docs/openapi.yaml (each is <n>-<input>.<k>.<Schema>.<status>.json; the input is $work/<target>/corpus/<input>):"
    head -40 "$work/validate.log" | sed 's/^/   /'
  fi
  tail -1 "$work/validate.log" | sed 's/^/   /'
fi

echo "== fuzz summary (${seconds}s each)"
for line in "${summary[@]}"; do echo "   $line"; done
if [ "$failed" -ne 0 ]; then
  if [ -z "$keep" ]; then
    trap - EXIT
    echo "fuzz.sh: FAILED; inputs and logs kept in $work" >&2
  else
    echo "fuzz.sh: FAILED" >&2
  fi
  exit 1
fi
echo "fuzz.sh: every target held"
