#!/usr/bin/env bash
# bench/spotify_sync.sh BUILD_DIR [ARTISTS PLAYLISTS ENTRIES] - Spotify Sync
# against the fake Spotify (issue 3).  Not part of the test suite; figures
# go to docs/PERFORMANCE.md ("Spotify").
#
# BUILD_DIR/bench/spotify_bench starts the fake with a generated library
# (default 2 000 followed artists, 500 playlists, 20 000 playlist entries),
# a real soulspotd pointed at it, logs in through the browser flow (which
# starts the first sync), then runs "Sync now" twice: unchanged, and after
# one playlist changed.  Per run it prints the Web API requests by endpoint
# (the six list and item endpoints the sync reads) and the wall time (the unit's own run time and login/POST-to-finished),
# and checks that the store holds exactly the library.  BENCH_REPEAT
# (default 3) runs it that many times.  Everything stays on 127.0.0.1.
set -euo pipefail
export LC_ALL=C

BUILD_DIR=${1:?usage: bench/spotify_sync.sh BUILD_DIR [ARTISTS PLAYLISTS ENTRIES]}
shift
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
HELPER=$BUILD_DIR/bench/spotify_bench
REPEAT=${BENCH_REPEAT:-3}
[[ -x $HELPER ]] || { echo "bench: no $HELPER (build first)" >&2; exit 1; }
export SOULSPOT_BUILD=$BUILD_DIR

echo "## Spotify sync ($(nproc) CPUs, $(date -u +%Y-%m-%d))"
for i in $(seq 1 "$REPEAT"); do
  echo
  echo "### run $i"
  timeout 600 "$HELPER" "$@"
done
