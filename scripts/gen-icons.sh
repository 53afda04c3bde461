#!/usr/bin/env bash
# Builds a small CSS file with only the Bootstrap Icons soulspotd uses.
# Each `.bi-NAME` class draws its SVG through a CSS mask, so `<i class="bi
# bi-key">` works as with the icon font, without shipping the 134 KB font
# or the 1.1 MB sprite.
#   gen-icons.sh NODE_MODULES/bootstrap-icons OUT.css NAME...
set -euo pipefail
src=$1; out=$2; shift 2
mkdir -p "$(dirname "$out")"
{
  printf '/* Generated from bootstrap-icons %s (MIT); do not edit. */\n' \
    "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$src/package.json" | head -1)"
  printf '.bi{display:inline-block;width:1em;height:1em;vertical-align:-.125em}\n'
  printf '.bi::before{content:"";display:block;width:100%%;height:100%%;background-color:currentColor;'
  printf -- '-webkit-mask:var(--bi) center/contain no-repeat;mask:var(--bi) center/contain no-repeat}\n'
  for name in "$@"; do
    svg="$src/icons/$name.svg"
    [ -f "$svg" ] || { echo "gen-icons: no icon $name" >&2; exit 1; }
    # Inline the SVG as a data URI: one line, quotes and reserved characters escaped.
    data=$(tr -d '\n' < "$svg" | sed -e 's/  */ /g' -e 's/%/%25/g' -e 's/"/%27/g' \
      -e "s/'/%27/g" -e 's/#/%23/g' -e 's/</%3C/g' -e 's/>/%3E/g')
    printf '.bi-%s{--bi:url("data:image/svg+xml,%s")}\n' "$name" "$data"
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
