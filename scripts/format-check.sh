#!/usr/bin/env bash
# Checks that the C sources are formatted as .clang-format says.
#   format-check.sh          report files and lines that would change; exit 1
#   format-check.sh --fix    reformat them in place (clang-format -i)
# Covers src/, tests/, fuzz/, bench/ and tools/ (*.c, *.h).  Quiet when clean.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
  echo "format-check: clang-format missing (scripts/bootstrap.sh installs it)" >&2
  exit 2
}
mapfile -t files < <(find src tests fuzz bench tools -name '*.[ch]' | sort)
if [ "${1:-}" = --fix ]; then
  clang-format -i --style=file "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
changed=0; lines=0
for f in "${files[@]}"; do
  n=$(clang-format --style=file "$f" | diff --old-line-format='-%L' \
        --new-line-format='' --unchanged-line-format='' "$f" - | wc -l || true)
  if [ "$n" -gt 0 ]; then
    echo "$f: $n lines not formatted"
    changed=$((changed + 1)); lines=$((lines + n))
  fi
done
if [ $changed -gt 0 ]; then
  echo "format-check: $lines lines in $changed of ${#files[@]} files differ" \
       "from .clang-format (fix: make format)"
  exit 1
fi
echo "format-check: ${#files[@]} files clean"
