#!/usr/bin/env bash
# Runs every test of soulspotd and ends with one line "N passed, N failed".
#   run-tests.sh BUILD_DIR [--valgrind] [--only unit|integration|e2e]
# Counts are individual test cases: cmocka's per-binary totals and the
# summary line of each browser test (tests/e2e/*.test.js).  Exits non-zero
# when anything failed.
set -uo pipefail
build=${1:?build dir}; shift
valgrind=""; only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --valgrind) valgrind="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" ;;
    --only) only=$2; shift ;;
  esac
  shift
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
# valgrind 3.19 cannot run libhwy's start-up code (libavcodec pulls it in):
# preload the stub of tests/valgrind/hwy_shim.c.
shim="$build/tests/libvalgrind_hwy_shim.so"
if [ -n "$valgrind" ] && [ -f "$shim" ]; then valgrind="env LD_PRELOAD=$shim $valgrind"; fi
export SOULSPOT_BUILD="$build" SOULSPOT_ROOT="$root"
logdir="$build/test-logs"; rm -rf "$logdir"; mkdir -p "$logdir"

passed=0; failed=0; skipped=0

# run_binary NAME CMD...: run one test program, fold its counts in.
run_binary() {
  local name=$1; shift
  local log="$logdir/$name.log"
  mkdir -p "$(dirname "$log")"
  "$@" >"$log" 2>&1
  local rc=$?
  local p f
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | awk '{s+=$1} END{print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | awk '{s+=$1} END{print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or leaked
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then
    printf 'FAIL %-40s (%s passed, %s failed, exit %s)\n' "$name" "$p" "$f" "$rc"
    local why
    why=$(grep -E '^\[  (FAILED|ERROR) |^\[  ERROR   \]|ERROR:|error:|Assertion|failure|exception' "$log" | head -20)
    # Nothing recognisable (cmocka exits 255 without a word when a signal
    # lands outside a test): show where it stopped.  CI keeps no files.
    [ -n "$why" ] || why=$(printf 'no failure message; the log ends:\n%s' "$(tail -n 15 "$log")")
    printf '%s\n' "$why" | sed 's/^/    /'
    echo "    full log: $log"
  else
    printf 'ok   %-40s (%s passed)\n' "$name" "$p"
  fi
}

if [ -z "$only" ] || [ "$only" = unit ]; then
  for t in "$build"/tests/unit/*; do
    [ -x "$t" ] || continue
    # valgrind 3.19 stops on an instruction in libhwy's start-up code
    # (loaded with libavcodec): without the stub above, those binaries are
    # left to `make asan`.
    if [ -n "$valgrind" ] && [ ! -f "$shim" ] && ldd "$t" | grep -q libhwy; then
      echo "skip $(basename "$t") under valgrind (loads libhwy; see make asan)"
      skipped=$((skipped + 1)); continue
    fi
    run_binary "unit/$(basename "$t")" $valgrind "$t"
  done
fi
if [ -z "$valgrind" ] && { [ -z "$only" ] || [ "$only" = integration ]; }; then
  for t in "$build"/tests/integration/*; do
    [ -x "$t" ] || continue
    run_binary "integration/$(basename "$t")" "$t"
  done
fi
# Browser tests: every tests/e2e/*.test.js prints its own
# "N passed, N failed" line (harness: tests/e2e/lib.js).
if [ -z "$valgrind" ] && { [ -z "$only" ] || [ "$only" = e2e ]; }; then
  for t in "$root"/tests/e2e/*.test.js; do
    [ -f "$t" ] || continue
    name=e2e/$(basename "$t")
    log="$logdir/$name.log"
    mkdir -p "$(dirname "$log")"
    node "$t" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); p=${p:-0}
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p'); f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
      printf 'FAIL %-40s (%s passed, %s failed, exit %s)\n' "$name" "$p" "$f" "$rc"
      grep -E '^not ok' "$log" | head -20 | sed 's/^/    /'
      tail -3 "$log" | sed 's/^/    /'
      echo "    full log: $log"
    else
      printf 'ok   %-40s (%s passed)\n' "$name" "$p"
    fi
  done
fi

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
