#!/usr/bin/env bash
# bench/library.sh BUILD_DIR - benchmarks of the library workers (issue 5).
# Not part of the test suite; figures go to docs/PERFORMANCE.md ("Library").
#
#   1. Metadata-hash detection over 1 000 000 synthetic track rows inserted
#      straight into a fresh store (BUILD_DIR/bench/library_bench rows),
#      each with its metadata key as the scanner writes it (issue 10): a
#      first pass, then a rescan with nothing new; then the same over rows
#      without keys (a store from before migration 13, whose first pass
#      computes them).  Wall and CPU (user+sys) per pass, peak RSS.  With
#      BENCH_BASELINE=PATH (the library_bench of an older build) the same
#      rows and passes by that build, side by side.
#   2. A scan of 5 000 real small audio files (2 s each; FLAC, MP3 and Ogg
#      made by ffmpeg's segment muxer, 50 folders; page cache warm): full,
#      incremental, and the full scan again with file hashes and with
#      fingerprints, each into a fresh store.  Files are read by the
#      media helpers (BUILD_DIR/soulspotd-probe); the last column is the
#      largest helper's peak RSS.
#   3. A cleanup walk of 100 000 files (1 000 folders, a quarter of them old
#      *.part) against find(1) on the same tree: dry run vs `find ... -mtime
#      +7` (listing), then deleting vs `find ... -delete` on fresh copies.
#
# Knobs: BENCH_ROWS (default 1000000), BENCH_FILES (5000), BENCH_TREE
# (100000), BENCH_REPEAT (3, runs per walk; the median is printed),
# BENCH_KEEP=1 keeps the work folder, BENCH_ONLY=detect runs step 1 alone
# (about a minute), BENCH_BASELINE=PATH (see 1).  Needs ffmpeg (steps 2-3)
# and /usr/bin/time (scripts/bootstrap.sh --bench).  Takes 2-4 minutes.
set -euo pipefail
export LC_ALL=C

BUILD_DIR=${1:?usage: bench/library.sh BUILD_DIR}
HELPER=$BUILD_DIR/bench/library_bench
ROWS=${BENCH_ROWS:-1000000}
FILES=${BENCH_FILES:-5000}
TREE=${BENCH_TREE:-100000}
REPEAT=${BENCH_REPEAT:-3}
ONLY=${BENCH_ONLY:-}         # "detect": step 1 alone (no ffmpeg needed)
BASELINE=${BENCH_BASELINE:-} # an older build's library_bench, side by side

die() { echo "bench: $*" >&2; exit 1; }
[[ -x $HELPER ]] || die "no $HELPER (build first: cmake --build $BUILD_DIR)"
# the scans read files through this build's media helper (issue 10)
SOULSPOT_PROBE=$(cd "$BUILD_DIR" && pwd)/soulspotd-probe
[[ -x $SOULSPOT_PROBE ]] || die "no $SOULSPOT_PROBE (build first)"
export SOULSPOT_PROBE
[[ $ONLY == detect ]] || command -v ffmpeg >/dev/null || die "ffmpeg not found"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time not found (scripts/bootstrap.sh --bench)"
[[ -z $BASELINE || -x $BASELINE ]] || die "BENCH_BASELINE $BASELINE is not executable"
[[ $ROWS =~ ^[0-9]+$ && $FILES =~ ^[0-9]+$ && $TREE =~ ^[0-9]+$ ]] ||
  die "BENCH_ROWS/FILES/TREE must be numbers"

WORK=$(mktemp -d /tmp/soulspot-library-bench.XXXXXX)
cleanup() { [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT

# value NAME FILE: the number of line "NAME value unit"
value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "## environment"
echo "- $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
echo "- SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), ffmpeg $(ffmpeg -version 2>/dev/null | head -1 | cut -d' ' -f3)"
echo "- $(git -C "$(dirname "$0")" log -1 --format='commit %h' 2>/dev/null || echo 'commit ?'), build $BUILD_DIR"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- 1. detection over synthetic rows ----
# detect_run HELPER DB OUT: the helper's detect, its process user+sys CPU
detect_run() {
  /usr/bin/time -f 'detect_process_cpu_s %U %S' -o "$3.time" \
    "$1" detect "$2" metadata-hash >"$3"
  awk '{ printf "detect_process_cpu_ms %.0f ms\n", ($2 + $3) * 1000 }' \
    "$3.time" >>"$3"
}
echo "## metadata-hash detection, $ROWS rows"
"$HELPER" rows "$WORK/rows.db" "$ROWS" >"$WORK/rows.txt"
detect_run "$HELPER" "$WORK/rows.db" "$WORK/detect.txt"
STORE_MB=$(du -m "$WORK/rows.db" | cut -f1)
rm -f "$WORK"/rows.db*
# a store from before migration 13: no keys, the first pass computes them
"$HELPER" rows "$WORK/rows.db" "$ROWS" raw >"$WORK/rows_raw.txt"
detect_run "$HELPER" "$WORK/rows.db" "$WORK/detect_raw.txt"
rm -f "$WORK"/rows.db*
R=$WORK/rows.txt D=$WORK/detect.txt U=$WORK/detect_raw.txt
if [[ -n $BASELINE ]]; then # the same rows and passes by an older build
  "$BASELINE" rows "$WORK/rows.db" "$ROWS" >"$WORK/rows_base.txt"
  detect_run "$BASELINE" "$WORK/rows.db" "$WORK/detect_base.txt"
  rm -f "$WORK"/rows.db*
fi
B=$WORK/detect_base.txt
base() { [[ -n $BASELINE ]] && echo " | $1" || true; }
echo "| step | this build$(base "baseline ($BASELINE)") |"
echo "|---|---$(base "---")|"
echo "| insert rows (one transaction, raw SQL; this build writes each key as the scanner does) | $(value rows_insert_ms "$R") ms$(base "$(value rows_insert_ms "$WORK/rows_base.txt" 2>/dev/null) ms") |"
echo "| first detection | $(value detect1_ms "$D") ms, CPU $(value detect1_cpu_ms "$D") ms ($(value detect1_keys "$D") keys computed, $(value detect1_groups "$D") groups, $(value detect1_new "$D") new)$(base "$(value detect1_ms "$B") ms ($(value detect1_keys "$B") keys computed, $(value detect1_groups "$B") groups)") |"
echo "| rescan, nothing new | $(value detect2_ms "$D") ms, CPU $(value detect2_cpu_ms "$D") ms ($(value detect2_groups "$D") groups, $(value detect2_new "$D") new)$(base "$(value detect2_ms "$B") ms ($(value detect2_groups "$B") groups, $(value detect2_new "$B") new)") |"
echo "| peak RSS of the detecting process | $(value detect_peak_rss "$D") KiB$(base "$(value detect_peak_rss "$B") KiB") |"
echo "| user+sys CPU of the detecting process (both passes, open, exit) | $(value detect_process_cpu_ms "$D") ms$(base "$(value detect_process_cpu_ms "$B") ms") |"
echo "| first detection of a store from before migration 13 (keys computed by the pass) | $(value detect1_ms "$U") ms, CPU $(value detect1_cpu_ms "$U") ms ($(value detect1_keys "$U") keys, $(value detect1_groups "$U") groups); rescan $(value detect2_ms "$U") ms; peak RSS $(value detect_peak_rss "$U") KiB$(base "") |"
echo "| store size | $STORE_MB MiB$(base "") |"
echo "- $(value rows_in_groups "$R") rows in duplicate sets; targets: first <= 4000 ms, rescan <= 500 ms, peak RSS <= 102400 KiB"
echo "- load average after the detection runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
[[ $ONLY == detect ]] && exit 0

# ---- 2. scan of real audio files ----
LIB=$WORK/lib
mkdir -p "$LIB/seg"
per=$(( (FILES + 2) / 3 ))
t0=$(now_ms)
# a 30 s melody once, then looped and cut into 2 s files per format
ffmpeg -nostdin -loglevel error -f lavfi \
  -i "aevalsrc=0.3*sin(2*PI*(200+40*floor(mod(t*3\,9)))*t):s=44100:d=30" \
  -c:a pcm_s16le "$WORK/melody.wav"
for fmt in flac mp3 ogg; do
  args=()
  [[ $fmt == ogg ]] && args=(-c:a libvorbis -q:a 2)
  [[ $fmt == mp3 ]] && args=(-b:a 128k)
  ffmpeg -nostdin -loglevel error -stream_loop -1 -i "$WORK/melody.wav" \
    -t $((per * 2)) "${args[@]}" -f segment -segment_time 2 \
    -reset_timestamps 1 "$LIB/seg/${fmt}_%05d.$fmt"
done
i=0
for f in "$LIB"/seg/*; do
  d=$LIB/artist$((i % 50))
  mkdir -p "$d"
  mv "$f" "$d/"
  i=$((i + 1))
done
rmdir "$LIB/seg"
made=$(find "$LIB" -type f | wc -l)
echo "## library scan, $made files ($(du -sm "$LIB" | cut -f1) MiB, made in $(( $(now_ms) - t0 )) ms)"
echo "| scan | full | incremental (nothing changed) | peak RSS | peak RSS of a media helper |"
echo "|---|---|---|---|---|"
sync
find "$LIB" -type f -exec cat {} + >/dev/null # every scan with a warm cache
for mode in plain hash fp; do
  extra=(); [[ $mode != plain ]] && extra=("$mode")
  "$HELPER" scan "$WORK/scan.db" "$LIB" "${extra[@]}" >"$WORK/scan.txt"
  S=$WORK/scan.txt
  case $mode in
    plain) label="tags + properties" ;;
    hash) label="+ XXH3-128 of every file" ;;
    fp) label="+ Chromaprint (first 30 s)" ;;
  esac
  echo "| $label | $(value scan1_ms "$S") ms ($(value scan1_probed "$S") probed, $(value scan1_unreadable "$S") unreadable) | $(value scan2_ms "$S") ms ($(value scan2_probed "$S") probed) | $(value scan_peak_rss "$S") KiB | $(value scan_helper_peak_rss "$S") KiB |"
done
echo
rm -rf "$LIB" "$WORK"/scan.db*

# ---- 3. cleanup walk vs find ----
TREE_DIR=$WORK/tree
mkdir -p "$TREE_DIR"
dirs=1000
per_dir=$(( TREE / dirs ))
old=$(( $(date +%s) - 30 * 86400 ))
(
  cd "$TREE_DIR"
  for ((d = 0; d < dirs; d++)); do mkdir "d$d"; done
  for ((d = 0; d < dirs; d++)); do
    for ((k = 0; k < per_dir; k++)); do
      if (( k % 4 == 0 )); then printf 'd%d/f%d.flac.part\0' "$d" "$k"
      else printf 'd%d/f%d.flac\0' "$d" "$k"; fi
    done
  done | xargs -0 touch
  find . -name '*.part' -print0 | xargs -0 touch -d "@$old"
)
files=$(find "$TREE_DIR" -type f | wc -l)
walk_ms() { # walk_ms ROOT [delete]
  "$HELPER" walk "$@" | awk '$1 == "walk_ms" { print $2 }'
}
find_ms() { # find_ms ROOT [delete]
  local t=$(now_ms)
  if [[ ${2:-} == delete ]]; then
    find "$1" -type f \( -name '*.part' -o -name '*.tmp' -o -name '*.partial' \) -mtime +7 -delete
  else
    find "$1" -type f \( -name '*.part' -o -name '*.tmp' -o -name '*.partial' \) -mtime +7 >/dev/null
  fi
  echo $(( $(now_ms) - t ))
}
: >"$WORK/w" ; : >"$WORK/f"
for ((r = 0; r < REPEAT; r++)); do # alternate, warm cache
  walk_ms "$TREE_DIR" >>"$WORK/w"
  find_ms "$TREE_DIR" >>"$WORK/f"
done
dry_walk=$(median <"$WORK/w") dry_find=$(median <"$WORK/f")
: >"$WORK/w" ; : >"$WORK/f"
for ((r = 0; r < REPEAT; r++)); do
  cp -a "$TREE_DIR" "$WORK/t1"; cp -a "$TREE_DIR" "$WORK/t2"; sync
  walk_ms "$WORK/t1" delete >>"$WORK/w"
  find_ms "$WORK/t2" delete >>"$WORK/f"
  left1=$(find "$WORK/t1" -type f | wc -l) left2=$(find "$WORK/t2" -type f | wc -l)
  [[ $left1 == "$left2" ]] || die "walk left $left1 files, find $left2"
  rm -rf "$WORK/t1" "$WORK/t2"
done
del_walk=$(median <"$WORK/w") del_find=$(median <"$WORK/f")
echo "## cleanup walk, $files files in $dirs folders, $((files / 4)) old *.part (median of $REPEAT)"
echo "| | soulspotd cleanup_walk | find(1) |"
echo "|---|---|---|"
echo "| list what would go (dry run) | $dry_walk ms | $dry_find ms |"
echo "| delete it | $del_walk ms | $del_find ms |"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
