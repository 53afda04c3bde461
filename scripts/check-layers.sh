#!/usr/bin/env bash
# check-layers.sh - does every #include in src/ point down the layer picture?
#
# The picture is read from docs/ARCHITECTURE.md itself (the first code block
# after "## Layers"): each line names one or more folders ("api/",
# "downloads/  library/"); a line is one layer, the first line the top.  A
# file in folder A may include a header of folder B only when B's line is
# BELOW A's: never up, never sideways (two folders on one line do not see
# each other).  So the document and the code cannot drift apart: `make lint`
# (and CI's lint stage) fail on a violation or on a folder the picture lacks.
#   check-layers.sh            prints violations, exits 1 on any; quiet when clean
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/ARCHITECTURE.md

declare -A rank=()
n=0
while IFS= read -r line; do
  n=$((n + 1))
  for word in $line; do
    [[ $word =~ ^([a-z_]+)/$ ]] || break # folders come first on the line
    rank[${BASH_REMATCH[1]}]=$n
  done
done < <(awk '/^## Layers/ { on = 1; next }
              on && /^```/ { if (inside) exit; inside = 1; next }
              inside' "$doc")
((${#rank[@]} > 0)) || {
  echo "check-layers: no layer picture found in $doc" >&2
  exit 2
}

status=0
for dir in src/*/; do
  from=${dir#src/}
  from=${from%/}
  if [[ -z ${rank[$from]:-} ]]; then
    echo "check-layers: src/$from/ is not in the picture of $doc"
    status=1
    continue
  fi
  for file in "$dir"*.[ch]; do
    while IFS= read -r to; do
      [[ $to == "$from" ]] && continue
      if [[ -z ${rank[$to]:-} ]]; then
        echo "check-layers: $file includes $to/, which the picture lacks"
        status=1
      elif ((rank[$to] <= rank[$from])); then
        echo "check-layers: $file includes $to/ (same line or above $from/)"
        status=1
      fi
    done < <(sed -n 's|^#include "\([a-z_]*\)/.*|\1|p' "$file" | sort -u)
  done
done
exit $status
