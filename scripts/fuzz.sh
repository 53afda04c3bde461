#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR/fuzz for SECONDS each, starting
# from the committed seeds in fuzz/corpus/<target>/ (read only) plus what
# earlier runs found (BUILD_DIR/fuzz-corpus/<target>/, not committed).
#   fuzz.sh BUILD_DIR SECONDS [TARGET...]
# A crash leaves its input in BUILD_DIR/fuzz-crashes/ and the run goes on
# with the next target; the last line is "N targets ok, N crashed" and the
# exit status is non-zero when anything crashed.  Turn every crash into a
# unit test in tests/unit plus the fix (fuzz/fuzz.h).
set -uo pipefail
build=${1:?build dir}; seconds=${2:?seconds}; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
crashes="$build/fuzz-crashes"; mkdir -p "$crashes"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$build"/fuzz/fuzz_*; do
    [ -x "$t" ] && targets+=("$(basename "$t")")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets in $build/fuzz" >&2; exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ok=0; bad=0
for name in "${targets[@]}"; do
  seeds="$root/fuzz/corpus/${name#fuzz_}"
  work="$build/fuzz-corpus/${name#fuzz_}"; mkdir -p "$work"
  log="$build/fuzz-logs/$name.log"; mkdir -p "$(dirname "$log")"
  dirs=("$work"); [ -d "$seeds" ] && dirs+=("$seeds")
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a leak or a
  # runaway allocation; -max_len: replies are parsed from memory anyway.
  "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$crashes/$name-" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    ok=$((ok + 1))
    printf 'ok    %-28s %8s runs  %s\n' "$name" "${runs:-?}" "$cov"
  else
    bad=$((bad + 1))
    printf 'CRASH %-28s (exit %s) log: %s\n' "$name" "$rc" "$log"
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written' "$log" |
      head -5 | sed 's/^/    /'
  fi
done
echo "$ok targets ok, $bad crashed"
[ "$bad" -eq 0 ]
