#!/usr/bin/env bash
# The layer check (scripts/check-layers.sh), then clang-tidy and cppcheck over
# the product sources and the test-side servers
# and harness (tests/support, tests/fakes); quiet when clean.
#   lint.sh BUILD_DIR   (needs BUILD_DIR/compile_commands.json)
# clang-tidy runs one file per process, JOBS (default: nproc) at a time; the
# full report of every file with a finding is printed.  Inline suppressions
# (NOLINT / cppcheck-suppress) carry a one-line reason beside them.
set -euo pipefail
build=${1:?build dir}
cd "$(dirname "$0")/.."
[ -f "$build/compile_commands.json" ] || {
  echo "lint: $build/compile_commands.json missing (configure $build first)" >&2
  exit 2
}
jobs=${JOBS:-$(nproc)}
status=0
echo "layers (docs/ARCHITECTURE.md)"
scripts/check-layers.sh || status=1
mapfile -t srcs < <(find src tests/support tests/fakes -name '*.c' | sort)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "clang-tidy (${#srcs[@]} files, $jobs at a time)"
printf '%s\n' "${srcs[@]}" | xargs -P "$jobs" -I{} sh -c \
  'clang-tidy -p "$1" --quiet --extra-arg=-Wno-unknown-warning-option "$2" \
     >"$3/$(printf %s "$2" | tr / _).log" 2>/dev/null || true' _ "$build" {} "$tmp"
for f in "${srcs[@]}"; do
  log="$tmp/$(printf %s "$f" | tr / _).log"
  if grep -qE "warning:|error:" "$log"; then cat "$log"; status=1; fi
done
echo "cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  -j "$jobs" --std=c11 --inline-suppr -D_GNU_SOURCE -DSOULSPOT_VERSION='"0"' -Isrc \
  --suppress=missingIncludeSystem "${srcs[@]}" || status=1
[ $status -eq 0 ] && echo "lint: clean"
exit $status
