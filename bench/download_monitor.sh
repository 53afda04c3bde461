#!/usr/bin/env bash
# bench/download_monitor.sh BUILD_DIR - one Download Monitor poll with
# 10 000 transfers in flight (issue 4).  Not part of the test suite; the
# figures go to docs/PERFORMANCE.md ("Downloads").
#
# Runs BUILD_DIR/bench/download_monitor_bench, which serves the transfers
# from the fake slskd in a child process and calls requests_poll() - the
# monitor's whole unit of work - against a fresh store seeded with the
# matching files (see the driver's header).  Three situations, POLLS polls
# each: the first poll (every row changes state), "moving" (every transfer
# gained bytes) and "steady" (nothing changed); plus the list's GET and
# parse alone, and the same once without the allocator tuning.
#
# Knobs: BENCH_TRANSFERS (10000), BENCH_POLLS (10), BENCH_RUNS (3; the
# median of the runs' medians is printed).  Takes about a minute.
set -euo pipefail
export LC_ALL=C

BUILD_DIR=${1:?usage: bench/download_monitor.sh BUILD_DIR}
DRIVER=$BUILD_DIR/bench/download_monitor_bench
N=${BENCH_TRANSFERS:-10000}
POLLS=${BENCH_POLLS:-10}
RUNS=${BENCH_RUNS:-3}

die() { echo "bench: $*" >&2; exit 1; }
[[ -x $DRIVER ]] || die "no $DRIVER (build first: cmake --build $BUILD_DIR)"
[[ $N =~ ^[0-9]+$ && $POLLS =~ ^[0-9]+$ && $RUNS =~ ^[0-9]+$ ]] ||
  die "BENCH_TRANSFERS/POLLS/RUNS must be numbers"

WORK=$(mktemp -d /tmp/soulspot-dm-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# median NAME FILES...: the median over runs of the value of line NAME
median() {
  local name=$1; shift
  awk -v k="$name" '$1 == k { print $2 }' "$@" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "?" }'
}

for r in $(seq "$RUNS"); do
  "$DRIVER" "$N" "$POLLS" > "$WORK/run$r.txt"
done
BENCH_NO_TUNING=1 "$DRIVER" "$N" "$POLLS" > "$WORK/untuned.txt"

echo "Download Monitor, $N transfers, $POLLS polls per situation, $RUNS runs"
echo "($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| poll | wall median | wall max | monitor CPU | slskd HTTP | rows written |"
echo "|---|---|---|---|---|---|"
for s in first moving steady list_only; do
  printf '| %s | %s ms | %s ms | %s ms | %s ms | %s |\n' "$s" \
    "$(median ${s}_median "$WORK"/run*.txt)" \
    "$(median ${s}_max "$WORK"/run*.txt)" \
    "$(median ${s}_cpu_median "$WORK"/run*.txt)" \
    "$(median ${s}_http_median "$WORK"/run*.txt)" \
    "$(median ${s}_rows "$WORK"/run*.txt)"
done
echo
printf 'list reply: %s bytes; monitor RSS before the first poll %s kB, peak %s kB\n' \
  "$(median list_bytes "$WORK"/run*.txt)" \
  "$(median rss_before "$WORK"/run*.txt)" "$(median rss_peak "$WORK"/run*.txt)"
printf 'without the allocator tuning: moving %s ms (CPU %s ms), steady %s ms (CPU %s ms), peak RSS %s kB\n' \
  "$(median moving_median "$WORK/untuned.txt")" \
  "$(median moving_cpu_median "$WORK/untuned.txt")" \
  "$(median steady_median "$WORK/untuned.txt")" \
  "$(median steady_cpu_median "$WORK/untuned.txt")" \
  "$(median rss_peak "$WORK/untuned.txt")"
