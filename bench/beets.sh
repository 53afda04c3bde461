#!/usr/bin/env bash
# bench/beets.sh BUILD_DIR - duplicate detection side by side with Debian's
# beets (issue 10).  Not part of the test suite; the table goes to
# docs/PERFORMANCE.md ("Side by side with beets").
#
# 1. Writes one synthetic library as TSV (awk below): BENCH_BEETS_ROWS
#    tracks (default 200 000); about 4 % of the songs have 2-3 copies: for
#    half of them the copies' tags are identical, for the other half each
#    copy is spelled differently - case (BJÖRK), accents dropped (Bjork,
#    Sigur Ros), NFD instead of NFC, punctuation (AC/DC, ACDC, Ac/Dc; Guns
#    N' Roses with a straight or a curly apostrophe), 坂本龍一 with and
#    without a space, "The Beatles" / "Beatles"; the third copy's title is
#    upper case.  One song in a hundred of those without copies also has a
#    live take: same artist and title, 60 s longer - not a copy.
# 2. Fills both stores from it: beets' SQLite library (schema made by beet
#    itself, rows written with the sqlite3 CLI: no files are read) and
#    soulspotd's store (BUILD_DIR/bench/library_bench load: the scanner's
#    write path, keys included).
# 3. Times `beet duplicates -k artist -k title` and soulspotd's
#    metadata-hash detection (library_bench detect: first pass and rescan)
#    in the same run, wall and user+sys CPU of each process.
# 4. Counts for each tool how many true duplicate sets (all copies of one
#    song) it reported exactly, how many partly (some copies of one song),
#    and how many groups were wrong (tracks of different songs, e.g. a song
#    and its live take).
#
# Needs beets and GNU time: scripts/bootstrap.sh --bench (make bench-beets).
# BENCH_KEEP=1 keeps the work folder.  Takes about a minute.
set -euo pipefail
export LC_ALL=C.UTF-8

BUILD_DIR=${1:?usage: bench/beets.sh BUILD_DIR}
HELPER=$BUILD_DIR/bench/library_bench
ROWS=${BENCH_BEETS_ROWS:-200000}

die() { echo "bench: $*" >&2; exit 1; }
[[ -x $HELPER ]] || die "no $HELPER (build first: cmake --build $BUILD_DIR)"
command -v beet >/dev/null || die "beet not found (scripts/bootstrap.sh --bench)"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time not found (scripts/bootstrap.sh --bench)"
command -v sqlite3 >/dev/null || die "sqlite3 not found"
[[ $ROWS =~ ^[0-9]+$ ]] || die "BENCH_BEETS_ROWS must be a number"

WORK=$(mktemp -d /tmp/soulspot-beets-bench.XXXXXX)
cleanup() { [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT
value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
now_ms() { date +%s%3N; }

# ---- 1. the library: set, path, artist, title, album, duration_ms, lossless
# set = "s<song>" for the copies of a song, "l<song>" for a live take.
awk -v n="$ROWS" '
function pick(v, k,   a, m) { m = split(v, a, "|"); return a[(k % m) + 1] }
BEGIN {
  srand(7)
  va[0] = "Björk|BJÖRK|Bjork|Bjo\xcc\x88rk"
  va[1] = "Sigur Rós|SIGUR RÓS|Sigur Ros|Sigur Ro\xcc\x81s"
  va[2] = "AC/DC|ACDC|Ac/Dc"
  va[3] = "Guns N\x27 Roses|Guns N\xe2\x80\x99 Roses|GUNS N\x27 ROSES"
  va[4] = "坂本龍一|坂本龍一|坂本 龍一"
  va[5] = "The Beatles|Beatles|THE BEATLES"
  nw = split("love night heart fire rain dream blue city light road time " \
             "gold river star home wild Café Straße Jóga 東京 sun moon " \
             "echo ghost", words, " ")
  song = 0; i = 0
  while (i < n) {
    song++
    x = song * 2654435761 % 4294967296
    title = words[x % nw + 1] " " words[int(x / 256) % nw + 1] " " song
    if (song % 50 < 6) artists = va[song % 50]
    else artists = "Artist " song % 20000 "|ARTIST " song % 20000 "|artist " song % 20000
    copies = rand() < 0.04 ? 2 + int(rand() * 2) : 1
    v = int(song / 50) % 2 # every other block of 50: spelled differently
    dur = 120000 + (song * 7919) % 300000
    for (c = 0; c < copies && i < n; c++) {
      ll = rand() < 0.33
      printf "s%d\t/music/%d/s%d-c%d.%s\t%s\t%s\tAlbum %d\t%d\t%d\n", song,
        song % 997, song, c, ll ? "flac" : "mp3", pick(artists, v * c),
        v && c == 2 ? toupper(title) : title, song % 90000,
        dur + int(rand() * 1500), ll
      i++
    }
    if (copies == 1 && song % 100 == 7 && i < n) {
      printf "l%d\t/music/%d/l%d.mp3\t%s\t%s\tLive %d\t%d\t0\n", song,
        song % 997, song, pick(artists, 0), title, song % 90000, dur + 60000
      i++
    }
  }
}' >"$WORK/lib.tsv"

# ---- 2. both stores ----
BEETSDIR=$WORK/beets
export BEETSDIR
mkdir -p "$BEETSDIR"
cat >"$BEETSDIR/config.yaml" <<EOF
directory: $WORK/music
library: $BEETSDIR/library.db
plugins: duplicates
EOF
beet ls >/dev/null # beets creates its own schema
[[ -s $BEETSDIR/library.db ]] || die "beet made no library"
(cd "$WORK" && sqlite3 "$BEETSDIR/library.db" <<'EOF') || die "loading beets' library failed"
CREATE TEMP TABLE s (song TEXT, path TEXT, artist TEXT, title TEXT,
  album TEXT, dur INTEGER, ll INTEGER);
.mode tabs
.import lib.tsv s
BEGIN;
INSERT INTO items (path, title, artist, album, albumartist, length, format,
  bitrate, samplerate, bitdepth, channels, mtime, added, track, disc, year,
  comp)
SELECT CAST(path AS BLOB), title, artist, album, '', dur / 1000.0,
  CASE ll WHEN 1 THEN 'FLAC' ELSE 'MP3' END,
  CASE ll WHEN 1 THEN 900000 ELSE 320000 END, 44100,
  CASE ll WHEN 1 THEN 16 ELSE 0 END, 2, 0, 0, 0, 0, 0, 0 FROM s;
COMMIT;
EOF
"$HELPER" load "$WORK/ours.db" "$WORK/lib.tsv" >"$WORK/load.txt"

# ---- 3. the two detections, one after the other ----
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now_ms)
# -F: every copy, not only the extra ones; the format names the group
/usr/bin/time -f '%U %S %M' -o "$WORK/beets.time" \
  beet duplicates -k artist -k title -F -f $'$artist\t$title\t$path' \
  >"$WORK/beets.out" 2>"$WORK/beets.err" || die "beet duplicates failed: $(tail -3 "$WORK/beets.err")"
BEETS_MS=$(($(now_ms) - t0))
t0=$(now_ms)
/usr/bin/time -f '%U %S %M' -o "$WORK/ours.time" \
  "$HELPER" detect "$WORK/ours.db" metadata-hash >"$WORK/detect.txt"
OURS_MS=$(($(now_ms) - t0))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
"$HELPER" groups "$WORK/ours.db" >"$WORK/ours.out"

# ---- 4. true sets found ----
# score OUT: OUT has "group <TAB> path" lines; prints exact partial wrong groups
score() {
  awk -F'\t' -v tsv="$WORK/lib.tsv" '
    BEGIN { while ((getline l < tsv) > 0) { split(l, f, "\t")
              set[f[2]] = f[1]; size[f[1]]++ } }
    { g = $1; p = $2; n[g]++; s = set[p]
      if (!(g in first)) { first[g] = s; order[++k] = g }
      else if (first[g] != s) mixed[g] = 1 }
    END { for (i = 1; i <= k; i++) { g = order[i]; s = first[g]
            if (mixed[g] || s !~ /^s/ || size[s] < 2) wrong++
            else if (n[g] == size[s]) exact++
            else partial++ }
          printf "%d %d %d %d\n", exact, partial, wrong, k }' "$1"
}
# beets: the group is the exact (artist, title) pair
awk -F'\t' '{ print $1 "\x1f" $2 "\t" $3 }' "$WORK/beets.out" >"$WORK/beets.groups"
read -r B_EXACT B_PARTIAL B_WRONG B_GROUPS < <(score "$WORK/beets.groups")
read -r O_EXACT O_PARTIAL O_WRONG O_GROUPS < <(score "$WORK/ours.out")
TRUE_SETS=$(cut -f1 "$WORK/lib.tsv" | grep '^s' | sort | uniq -c | awk '$1 > 1' | wc -l)
read -r BU BS BM <"$WORK/beets.time"
read -r OU OS OM <"$WORK/ours.time"

echo "## duplicate detection side by side: beets $(beet version 2>/dev/null | awk '/^beets/ { print $3 }') and soulspotd"
echo "- $(wc -l <"$WORK/lib.tsv") tracks, $TRUE_SETS true duplicate sets; $(nproc) CPUs; load average $LOAD_BEFORE before, $LOAD_AFTER after"
echo "- soulspotd's store filled through the scanner's write path in $(value load_ms "$WORK/load.txt") ms (keys included)"
echo
echo "| | beets \`beet duplicates -k artist -k title\` | soulspotd metadata-hash |"
echo "|---|---|---|"
echo "| wall time of the process | $BEETS_MS ms | $OURS_MS ms (first pass $(value detect1_ms "$WORK/detect.txt") ms, rescan $(value detect2_ms "$WORK/detect.txt") ms) |"
echo "| user+sys CPU of the process | $(awk -v u="$BU" -v s="$BS" 'BEGIN { printf "%.0f", (u + s) * 1000 }') ms | $(awk -v u="$OU" -v s="$OS" 'BEGIN { printf "%.0f", (u + s) * 1000 }') ms |"
echo "| peak RSS | $BM KiB | $OM KiB |"
echo "| groups reported | $B_GROUPS | $O_GROUPS |"
echo "| true sets found whole | $B_EXACT of $TRUE_SETS | $O_EXACT of $TRUE_SETS |"
echo "| true sets found in part (some copies) | $B_PARTIAL | $O_PARTIAL |"
echo "| wrong groups (different songs together) | $B_WRONG | $O_WRONG |"
awk -v b="$BEETS_MS" -v o="$OURS_MS" -v f="$(value detect1_ms "$WORK/detect.txt")" 'BEGIN {
  printf "\nratio: beets / soulspotd = %.1f (whole processes; soulspotd'"'"'s does two passes), %.1f (beets'"'"' process / soulspotd'"'"'s first pass)\n",
    b / (o ? o : 1), b / (f ? f : 1) }'
