#!/usr/bin/env bash
# clang-tidy and cppcheck over the product sources; quiet when clean.
#   lint.sh BUILD_DIR   (needs BUILD_DIR/compile_commands.json)
set -euo pipefail
build=${1:?build dir}
cd "$(dirname "$0")/.."
mapfile -t srcs < <(find src -name '*.c' | sort)
status=0
echo "clang-tidy (${#srcs[@]} files)"
out=$(clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option "${srcs[@]}" 2>/dev/null || true)
if grep -E "warning:|error:" <<<"$out"; then status=1; fi
echo "cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --std=c11 --inline-suppr -D_GNU_SOURCE -DSOULSPOT_VERSION='"0"' -Isrc \
  --suppress=missingIncludeSystem "${srcs[@]}" || status=1
[ $status -eq 0 ] && echo "lint: clean"
exit $status
