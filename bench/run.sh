#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - start-up time, throughput, latency and memory of
# soulspotd (`make bench`).  See docs/PERFORMANCE.md for the figures.
#
# What it does, all on 127.0.0.1 and never touching the internet:
#   1. Writes an INI that points every external service at the closed local
#      port 9 and switches every worker unit on, so the workers really run.
#   2. Start-up: STARTS times, a fresh data folder each time, measures from
#      just before exec to the first "200" of GET /healthz.  The main probe is
#      a fork-free bash /dev/tcp request in a tight loop (1 ms steps); a
#      second series uses a curl loop, whose own process start costs tens of
#      ms on this kind of VM (measured and printed as "curl's own cost").
#      For scale it also times a bare fork+exec (/bin/true) and
#      `soulspotd --version` (exec + loading the shared libraries).
#      A third series restarts the daemon on a kept data folder (its
#      database already at the newest schema), as a service restart does.
#   3. Load: wrk (keep-alive) against the three Workers API endpoints at
#      -t1 -c1 and -t2 -c32, plus one run with If-None-Match on
#      /api/workers/status (the 304 path).  Per run it also reads from /proc
#      the CPU time of the daemon, of wrk and of every other process, and
#      how long the HTTP threads waited for a CPU, so that throughput can be
#      judged per server CPU-second and noise from other load is visible.
#   4. Memory: VmRSS/VmHWM from /proc/PID/status when idle (1 s, and
#      BENCH_IDLE_SECONDS = 60 s after start with every unit enabled, with the
#      largest resident shared libraries from /proc/PID/smaps) and after load,
#      plus PSS and Private_Dirty from smaps_rollup (clean library pages
#      count as "private" whenever no other process maps them, so USS
#      swings with whatever else runs; Private_Dirty does not).
#   5. Connection flood (issue 9): BUILD_DIR/bench/conn_flood_bench holds
#      600 slowloris connections (one byte every 3 s) and 5 000 idle ones
#      from 127.0.0.2 upwards, re-opened whenever the daemon closes them,
#      and times 400 GETs of /api/workers/status from 127.0.0.1, each on a
#      new connection, 50 ms apart (p50/p99/max; the daemon's RSS after).
#      BENCH_FLOOD=0 skips it.
#   6. Ownership (issue 8): BUILD_DIR/bench/ownership_bench builds the
#      ownership index over 100 000 library tracks and checks 500 artists x
#      40 releases against it (CPU time, median of 5), then the same pass
#      through the watchlist and discography units' own selection
#      (watch_select / watch_want; 40 Spotify + 20 MusicBrainz releases per
#      artist).  BENCH_OWNERSHIP=0 skips it.
#      Then BUILD_DIR/bench/quality_upgrade_bench finds the quality upgrade
#      candidates over 100 000 tracks (wall time, median of 5; same switch).
#   7. Prints Markdown tables (paste them into docs/PERFORMANCE.md).
#
# Pinning: by default nothing is pinned.  BENCH_PIN=1 puts the daemon on
# CPU 0 (taskset -c 0) and this script, its probes and wrk on CPU 1.  On the
# project's 2-vCPU VM, shared with other builds, pinning made 1-connection
# runs about 7x slower (every request becomes a cross-vCPU wake-up) and
# did not help at 32 connections; see docs/PERFORMANCE.md.
#
# Knobs: BENCH_DURATION (s per wrk run, default 5), BENCH_STARTS (default 5),
# BENCH_PIN (1/0), BENCH_RAW_DIR (an existing folder that receives the raw
# wrk output), BENCH_FLOOD (1/0).  A run takes about 90 s and is capped
# at 240 s; the daemon
# is always stopped on exit (trap).
set -euo pipefail
export LC_ALL=C

BUILD_DIR=${1:?usage: bench/run.sh BUILD_DIR}
BIN=$BUILD_DIR/soulspotd
DURATION=${BENCH_DURATION:-5}
STARTS=${BENCH_STARTS:-5}
PIN=${BENCH_PIN:-0}
RAW_DIR=${BENCH_RAW_DIR:-} # keep the raw wrk outputs there when set
FLOOD=${BENCH_FLOOD:-1}
OWNERSHIP=${BENCH_OWNERSHIP:-1}
TIME_CAP=330
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-60}

die() { echo "bench: $*" >&2; exit 1; }

[[ -x $BIN ]] || die "no executable $BIN (build first)"
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 && $DURATION -le 10 ]] ||
  die "BENCH_DURATION must be 1..10"
[[ $STARTS =~ ^[0-9]+$ && $STARTS -ge 1 && $STARTS -le 9 ]] ||
  die "BENCH_STARTS must be 1..9"

# Nothing from the caller's environment may redirect the daemon elsewhere.
for var in $(compgen -e); do
  if [[ $var == SOULSPOT_* ]]; then unset "$var"; fi
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'

NPROC=$(nproc) # before pinning: nproc honours this shell's affinity
SERVER_PIN=()
WRK_PIN=()
if [[ $PIN == 1 && $NPROC -ge 2 ]] && command -v taskset >/dev/null; then
  SERVER_PIN=(taskset -c 0)
  WRK_PIN=(taskset -c 1)
  taskset -pc 1 $$ >/dev/null # the probe loops stay off the server's CPU
  PIN_NOTE="daemon on CPU 0 (taskset -c 0); wrk and probes on CPU 1"
  CPU_LINE=cpu0
else
  PIN=0
  PIN_NOTE="not pinned (daemon, wrk and probes share all CPUs)"
  CPU_LINE=cpu
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/soulspot-bench.XXXXXX")
DPID=
CURL=(curl -s --noproxy '*' --max-time 2)

alive() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}

stop_daemon() {
  [[ -n $DPID ]] || return 0
  kill -TERM "$DPID" 2>/dev/null || true
  local end=$((${EPOCHREALTIME/./} + 5000000))
  while alive "$DPID"; do
    if ((${EPOCHREALTIME/./} > end)); then
      echo "bench: daemon ignored SIGTERM for 5 s, killing" >&2
      kill -KILL "$DPID" 2>/dev/null || true
      break
    fi
    sleep_s 0.005
  done
  wait "$DPID" 2>/dev/null || true
  DPID=
}

cleanup() {
  if [[ -n ${LOAD_PID:-} ]]; then kill "$LOAD_PID" 2>/dev/null || true; fi
  stop_daemon
  if [[ -n ${SLEEP_FD:-} ]]; then exec {SLEEP_FD}>&-; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap '' PIPE # a probe writing to a closing socket must not end the run

# A sleep that does not fork: read with a timeout on a FIFO nobody writes.
mkfifo "$WORK/sleep.fifo"
exec {SLEEP_FD}<>"$WORK/sleep.fifo"
sleep_s() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# bounded SECS OUT CMD...: runs CMD under timeout in the background and
# waits for it, so that a signal to this script is handled at once (bash
# defers traps while a foreground command runs).
LOAD_PID=
bounded() {
  local secs=$1 out=$2 rc=0
  shift 2
  timeout "$secs" "$@" >"$out" 2>&1 &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  return "$rc"
}

check_time_cap() {
  ((SECONDS < TIME_CAP)) || die "time cap of ${TIME_CAP} s reached"
}

cat >"$WORK/bench.ini" <<'EOF'
; Every external service points at a closed local port; every unit is on.
[spotify]
api_url=http://127.0.0.1:9/v1
accounts_url=http://127.0.0.1:9
token_refresh_enabled=true
auto_sync_enabled=true
[musicbrainz]
url=http://127.0.0.1:9/ws/2
[coverart]
url=http://127.0.0.1:9
[download]
monitor_enabled=true
[automation]
watchlist_enabled=true
discography_enabled=true
quality_upgrade_enabled=true
cleanup_enabled=true
duplicate_detection_enabled=true
EOF

# start_daemon DATA_DIR: starts the daemon in the background, sets DPID.
start_daemon() {
  "${SERVER_PIN[@]}" "$BIN" --listen 127.0.0.1:0 --data-dir "$1" \
    --config "$WORK/bench.ini" >>"$WORK/daemon.log" 2>&1 &
  DPID=$!
}

# wait_port DATA_DIR: sets PORT once the daemon has written its port file.
wait_port() {
  local end=$((${EPOCHREALTIME/./} + 5000000))
  until [[ -s $1/soulspotd.port ]]; do
    alive "$DPID" || die "daemon exited during start-up (see log below)
$(tail -n 20 "$WORK/daemon.log")"
    ((${EPOCHREALTIME/./} < end)) || die "no port file after 5 s"
    sleep_s 0.0002
  done
  read -r PORT <"$1/soulspotd.port"
}

# tcp_get_ok PORT PATH: one HTTP/1.1 GET over bash's /dev/tcp (no fork);
# succeeds on a 200 status line.
tcp_get_ok() {
  local fd line=
  { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  { printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' \
    "$2" "$1" 1>&"$fd"; } 2>/dev/null || true
  read -r -t 2 line <&"$fd" || true
  exec {fd}>&-
  [[ $line == HTTP/1.?\ 200* ]]
}

curl_get_ok() {
  "${CURL[@]}" -f -o /dev/null "http://127.0.0.1:$1$2"
}

# wait_healthy PROBE: loops PROBE against /healthz until it sees a 200.
wait_healthy() {
  local end=$((${EPOCHREALTIME/./} + 5000000))
  until "$1" "$PORT" /healthz; do
    alive "$DPID" || die "daemon exited during start-up"
    ((${EPOCHREALTIME/./} < end)) || die "/healthz not 200 after 5 s"
    sleep_s 0.001
  done
}

# one_start PROBE N: one cold start; sets START_MS (exec to first 200).
# Runs in this shell, not a subshell, so the trap always knows DPID.
one_start() { # PROBE N [DATA_DIR]: a kept DATA_DIR makes it a restart
  local data=${3:-"$WORK/start-$1-$2"} t0 t1
  mkdir -p "$data"
  rm -f "$data/soulspotd.port" # a kept folder holds the last run's port
  t0=${EPOCHREALTIME/./}
  start_daemon "$data"
  wait_port "$data"
  wait_healthy "$1"
  t1=${EPOCHREALTIME/./}
  stop_daemon
  if [[ -z ${3:-} ]]; then rm -rf "$data"; fi
  START_MS=$(awk -v us=$((t1 - t0)) 'BEGIN { printf "%.1f", us / 1000 }')
}

# stats: reads numbers, prints "median min max".
stats() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (!NR) { print "n/a n/a n/a"; exit }
          m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
}

proc_field() { # PID FIELD -> value in kB from /proc/PID/status
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

cpu_ticks() { # PID -> utime + stime in clock ticks
  local s
  read -r s <"/proc/$1/stat"
  s=${s##*) }
  local -a f
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}

# child_ticks -> CPU ticks of this shell's waited-for children (wrk).
child_ticks() {
  local s
  read -r s <"/proc/$$/stat"
  s=${s##*) }
  local -a f
  read -r -a f <<<"$s"
  echo $((f[13] + f[14]))
}

# cpu_stat LINE -> "busy total steal tasks" ticks of /proc/stat line LINE
# (cpu0, or cpu for all CPUs).  "tasks" is user + nice + system, i.e.
# without irq/softirq time, which belongs to no process (our own loopback
# traffic included); guest time is already part of user time.
cpu_stat() {
  awk -v l="$1" '$1 == l {
    t = 0; for (i = 2; i <= 9; i++) t += $i
    print t - $5 - $6, t, $9, $2 + $3 + $4 }' /proc/stat
}

# http_wait PID -> "ns n": run-queue wait summed over libmicrohttpd's pool
# threads (named MHD-worker) and their number, from /proc/.../schedstat.
http_wait() {
  local t comm wait n=0 sum=0
  for t in "/proc/$1/task/"*; do
    { read -r comm <"$t/comm"; } 2>/dev/null || continue
    if [[ $comm != MHD-worker ]]; then continue; fi
    { read -r _ wait _ <"$t/schedstat"; } 2>/dev/null || continue
    sum=$((sum + wait))
    n=$((n + 1))
  done
  echo "$sum $n"
}

# run_wrk LABEL THREADS CONNS PATH [HEADER]: one wrk run, appends a row.
# Besides wrk's figures it records the daemon's CPU time and how busy the
# daemon's CPU (CPU 0 when pinned, else all CPUs) was in total, so load
# from other processes shows up next to the numbers it disturbed.
ROWS=()
declare -A RESULT
run_wrk() {
  local label=$1 threads=$2 conns=$3 path=$4 header=${5:-}
  local out="$WORK/wrk-${#ROWS[@]}.txt" c0 c1 k0 k1 s0 s1 w0 w1 q0 q1
  local -a hdr=()
  if [[ -n $header ]]; then hdr=(-H "$header"); fi
  check_time_cap
  c0=$(cpu_ticks "$DPID")
  k0=$(child_ticks)
  q0=$(http_wait "$DPID")
  s0=$(cpu_stat "$CPU_LINE")
  w0=${EPOCHREALTIME/./}
  bounded $((DURATION + 10)) "$out" "${WRK_PIN[@]}" wrk "-t$threads" \
    "-c$conns" "-d${DURATION}s" --latency "${hdr[@]}" \
    "http://127.0.0.1:$PORT$path" || die "wrk failed: $(cat "$out")"
  w1=${EPOCHREALTIME/./}
  c1=$(cpu_ticks "$DPID")
  k1=$(child_ticks)
  q1=$(http_wait "$DPID")
  s1=$(cpu_stat "$CPU_LINE")
  if [[ -n $RAW_DIR ]]; then cp "$out" "$RAW_DIR/"; fi
  local row
  row=$(awk -v label="$label" -v tc="-t$threads -c$conns" \
    -v ticks=$((c1 - c0)) -v wticks=$((k1 - k0)) -v pinned="$PIN" \
    -v hz="$CLK_TCK" -v wall_us=$((w1 - w0)) \
    -v s0="$s0" -v s1="$s1" -v q0="$q0" -v q1="$q1" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    function bytes(v) {
      if (v ~ /KB$/) return v * 1024
      if (v ~ /MB$/) return v * 1048576
      if (v ~ /GB$/) return v * 1073741824
      return v + 0
    }
    /^ +50% / { p50 = ms($2) }
    /^ +99% / { p99 = ms($2) }
    / requests in / { n = $1; rd = bytes($5) }
    /^Requests\/sec:/ { rps = $2 }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx/ { err += $5 }
    END {
      split(s0, a, " "); split(s1, b, " ")
      split(q0, c, " "); split(q1, d, " ")
      qw = "n/a"
      if (d[2])
        qw = sprintf("%.0f%%", 100 * (d[1] - c[1]) / d[2] / (wall_us * 1000))
      secs = wall_us / 1e6
      cpu = ticks / hz / secs
      wcpu = wticks / hz / secs
      others = (b[4] - a[4]) / hz / secs - cpu - (pinned == 1 ? 0 : wcpu)
      if (others < 0) others = 0
      per = ticks ? n / (ticks / hz) : 0
      printf "%s|%s|%.0f|%.3f|%.3f|%.0f|%d|%.0f%%|%.0f%%|%.0f%%|%s|%.0f\n", \
        label, tc, rps, p50, p99, n ? rd / n : 0, err, cpu * 100, \
        wcpu * 100, others * 100, qw, per
    }' "$out")
  ROWS+=("$row")
  RESULT["$label $conns"]=$row
  printf '  %-44s %s\n' "$label $threads/$conns" "$row" >&2
}

CLK_TCK=$(getconf CLK_TCK)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STAT_BEFORE=$(cpu_stat cpu)
echo "bench: $("$BIN" --version), $PIN_NOTE, wrk ${DURATION}s per run" >&2

# ---- 1. start-up ----
echo "bench: $STARTS cold starts with the /dev/tcp probe" >&2
TCP_MS=()
for i in $(seq "$STARTS"); do
  check_time_cap
  one_start tcp_get_ok "$i"
  TCP_MS+=("$START_MS")
done
echo "bench: $STARTS cold starts with a curl loop" >&2
CURL_MS=()
for i in $(seq "$STARTS"); do
  check_time_cap
  one_start curl_get_ok "$i"
  CURL_MS+=("$START_MS")
done
# A restart: the data folder (a database at the newest schema) is kept, as
# when systemd restarts the service; the first start creates it, uncounted.
echo "bench: $STARTS restarts on an existing data folder (/dev/tcp probe)" >&2
one_start tcp_get_ok 0 "$WORK/restart"
RESTART_MS=()
for i in $(seq "$STARTS"); do
  check_time_cap
  one_start tcp_get_ok "$i" "$WORK/restart"
  RESTART_MS+=("$START_MS")
done
rm -rf "$WORK/restart"
SELF_MS=$(sed -n 's/.*started in \([0-9][0-9]*\) ms.*/\1/p' \
  "$WORK/daemon.log" | stats)

# What the machine charges before main() runs: a bare fork+exec, and the
# daemon's own exec with its ~40 shared libraries (--version exits at once).
exec_ms() { # CMD...: prints the wall time of one run in ms
  local t0 t1
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>&1 || true
  t1=${EPOCHREALTIME/./}
  awk -v us=$((t1 - t0)) 'BEGIN { printf "%.1f\n", us / 1000 }'
}
TRUE_MS=$(for i in $(seq "$STARTS"); do exec_ms /bin/true; done | stats)
LOAD_MS=$(for i in $(seq "$STARTS"); do exec_ms "$BIN" --version; done |
  stats)

# ---- 2. load ----
mkdir -p "$WORK/data"
start_daemon "$WORK/data"
wait_port "$WORK/data"
wait_healthy tcp_get_ok
sleep_s 1 # let the workers and the service prober make their first pass
RSS_IDLE=$(proc_field "$DPID" VmRSS)
if ((IDLE_SECONDS > 0)); then
  echo "bench: ${IDLE_SECONDS} s idle, every unit enabled, before any load" >&2
  sleep_s "$((IDLE_SECONDS - 1))"
  RSS_MIN=$(proc_field "$DPID" VmRSS)
  RSS_MIN_ANON=$(proc_field "$DPID" RssAnon)
  RSS_MIN_FILE=$(proc_field "$DPID" RssFile)
  # Resident pages per mapped file (the shared libraries), largest first.
  RSS_LIBS=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 }
    /^Rss:/ && name ~ /^\// { n = name; sub(/.*\//, "", n); r[n] += $2 }
    END { for (n in r) print r[n], n }' "/proc/$DPID/smaps" | sort -rn |
    awk 'NR <= 8 { printf "%s%s %.1f", (NR > 1 ? ", " : ""), $2, $1 / 1024 }')
fi
THREADS=$(proc_field "$DPID" Threads)

# curl's own fixed cost against the running daemon (explains the curl series)
CURL_COST=()
for i in $(seq 5); do
  t0=${EPOCHREALTIME/./}
  curl_get_ok "$PORT" /healthz || die "healthz failed"
  t1=${EPOCHREALTIME/./}
  CURL_COST+=("$(awk -v us=$((t1 - t0)) 'BEGIN { printf "%.1f", us / 1000 }')")
done

echo "bench: warm-up (1 s) then wrk runs" >&2
bounded 15 "$WORK/warm-up.txt" "${WRK_PIN[@]}" wrk -t2 -c32 -d1s \
  "http://127.0.0.1:$PORT/api/workers/status" || die "warm-up wrk failed"
for path in /api/workers/status /api/workers/status/html \
  /api/workers/services; do
  run_wrk "GET $path" 1 1 "$path"
  run_wrk "GET $path" 2 32 "$path"
done

STATUS_URL="http://127.0.0.1:$PORT/api/workers/status"
ETAG=$("${CURL[@]}" -D - -o /dev/null "$STATUS_URL" |
  awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2 }')
[[ -n $ETAG ]] || die "/api/workers/status sent no ETag"
CODE_BEFORE=$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
  -H "If-None-Match: $ETAG" "$STATUS_URL")
run_wrk "GET /api/workers/status (If-None-Match)" 2 32 \
  /api/workers/status "If-None-Match: $ETAG"
CODE_AFTER=$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
  -H "If-None-Match: $ETAG" "$STATUS_URL")

RSS_LOAD=$(proc_field "$DPID" VmRSS)
HWM_LOAD=$(proc_field "$DPID" VmHWM)
RSS_ANON=$(proc_field "$DPID" RssAnon)
RSS_FILE=$(proc_field "$DPID" RssFile)
PSS_LOAD=$(awk '$1 == "Pss:" { print $2 }' "/proc/$DPID/smaps_rollup")
DIRTY_LOAD=$(awk '$1 == "Private_Dirty:" { print $2 }' \
  "/proc/$DPID/smaps_rollup")
STAT_AFTER=$(cpu_stat cpu)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 2b. connection flood (on the same daemon, after the wrk runs) ----
flood_val() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/flood.txt"; }
if [[ $FLOOD == 1 ]]; then
  FLOOD_BIN=$BUILD_DIR/bench/conn_flood_bench
  [[ -x $FLOOD_BIN ]] || die "no $FLOOD_BIN (a build with tests on has it)"
  check_time_cap
  echo "bench: connection flood (600 slowloris + 5000 idle), 400 GETs" >&2
  FLOOD_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  # Exit status 1 = some requests unanswered: reported, not fatal.
  bounded 150 "$WORK/flood.txt" "${WRK_PIN[@]}" "$FLOOD_BIN" "$PORT" \
    "$DPID" || true
  [[ -n $(flood_val p99_ms) ]] ||
    die "flood bench failed: $(tail -n 20 "$WORK/flood.txt")"
  RSS_FLOOD=$(proc_field "$DPID" VmRSS)
  if [[ -n $RAW_DIR ]]; then cp "$WORK/flood.txt" "$RAW_DIR/"; fi
fi
stop_daemon

# ---- 2c. ownership (no daemon) ----
own_val() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/ownership.txt"; }
if [[ $OWNERSHIP == 1 ]]; then
  OWN_BIN=$BUILD_DIR/bench/ownership_bench
  [[ -x $OWN_BIN ]] || die "no $OWN_BIN (build first)"
  check_time_cap
  echo "bench: ownership pass (100 000 tracks, 500 x 40 releases)" >&2
  OWN_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
  bounded 120 "$WORK/ownership.txt" "$OWN_BIN" "$WORK" ||
    die "ownership bench failed: $(tail -n 5 "$WORK/ownership.txt")"
  QU_BIN=$BUILD_DIR/bench/quality_upgrade_bench
  [[ -x $QU_BIN ]] || die "no $QU_BIN (build first)"
  bounded 120 "$WORK/qu.txt" "$QU_BIN" "$WORK" ||
    die "quality upgrade bench failed: $(tail -n 5 "$WORK/qu.txt")"
fi

# ---- 3. report ----
read -r TCP_MED TCP_MIN TCP_MAX < <(printf '%s\n' "${TCP_MS[@]}" | stats)
read -r CURL_MED CURL_MIN CURL_MAX < <(printf '%s\n' "${CURL_MS[@]}" | stats)
read -r RESTART_MED RESTART_MIN RESTART_MAX < <(printf '%s\n' \
  "${RESTART_MS[@]}" | stats)
read -r COST_MED _ _ < <(printf '%s\n' "${CURL_COST[@]}" | stats)
read -r SELF_MED _ _ <<<"$SELF_MS"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
verdict() { # VALUE OP LIMIT
  awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
    ok = op == ">=" ? v >= l : v <= l; print ok ? "met" : "**missed**" }'
}
IFS='|' read -r _ _ S32_RPS _ S32_P99 _ \
  <<<"${RESULT[GET /api/workers/status 32]}"

STEAL=$(awk -v a="$STAT_BEFORE" -v b="$STAT_AFTER" 'BEGIN {
  split(a, x, " "); split(b, y, " "); dt = y[2] - x[2]
  printf "busy %.0f%%, steal %.0f%%", dt ? 100 * (y[1] - x[1]) / dt : 0,
    dt ? 100 * (y[3] - x[3]) / dt : 0 }')
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' \
  "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
DEBIAN=$(cat /etc/debian_version 2>/dev/null || echo '?')
WRK_VERSION=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true) # exits 1
DAEMON=$("$BIN" --version)

cat <<EOF

### Environment

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $NPROC vCPU ($CPU_MODEL), kernel $(uname -r), Debian $DEBIAN
- wrk: $WRK_VERSION, keep-alive, ${DURATION} s per run, \`--latency\`
- Daemon: $DAEMON from \`$BUILD_DIR\` (build type ${BUILD_TYPE:-?}),
  ${THREADS} threads; every worker unit enabled; external services on the
  closed port 127.0.0.1:9
- Pinning: $PIN_NOTE
- Load average (1/5/15 min): before $LOAD_BEFORE, after $LOAD_AFTER;
  whole machine during the run: $STEAL

### Throughput and latency

CPU columns are in % of one vCPU over the run's wall time: the daemon, wrk,
and every other process on the CPUs the daemon could use (CPU 0 when
pinned, all CPUs otherwise): other engineers' builds (user + system
time; softirq time, which includes our own loopback traffic, is left
out). "HTTP thread wait" is how long an HTTP pool thread sat runnable
without a CPU (run queue, /proc/PID/task/*/schedstat), per thread, as a
share of wall time.

| Endpoint | wrk | req/s | p50 ms | p99 ms | bytes/resp | errors | server CPU | wrk CPU | other processes | HTTP thread wait | req per server CPU-s |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
for row in "${ROWS[@]}"; do
  IFS='|' read -r a b c d e f g h i j k l <<<"$row"
  echo "| $a | \`$b\` | $c | $d | $e | $f | $g | $h | $i | $j | $k | $l |"
done
cat <<EOF

If-None-Match check with curl: $CODE_BEFORE before the run, $CODE_AFTER after
(304 expected; bytes/resp above shows what the run really got).

### Start-up and memory

| Metric | Value |
|---|---|
| Start-up to first 200, bash /dev/tcp probe (median of $STARTS, min-max) | $TCP_MED ms ($TCP_MIN-$TCP_MAX) |
| Start-up to first 200, curl loop (median of $STARTS, min-max) | $CURL_MED ms ($CURL_MIN-$CURL_MAX) |
| Restart to first 200 on an existing data folder, bash probe (median of $STARTS, min-max) | $RESTART_MED ms ($RESTART_MIN-$RESTART_MAX) |
| curl's own cost per request on a running daemon (median of 5) | $COST_MED ms |
| Daemon's "started in" log figure (workers + HTTP only, median) | $SELF_MED ms |
| Bare fork+exec of /bin/true at the same time (median of $STARTS) | ${TRUE_MS%% *} ms |
| \`soulspotd --version\` (exec + loading its shared libraries, median) | ${LOAD_MS%% *} ms |
| VmRSS idle (1 s after start) | $(mib "$RSS_IDLE") ($RSS_IDLE kB) |
| VmRSS idle ${IDLE_SECONDS} s after start, before any load (RssAnon / RssFile) | $(mib "${RSS_MIN:-0}") ($(mib "${RSS_MIN_ANON:-0}") / $(mib "${RSS_MIN_FILE:-0}")) |
| Largest resident mapped files then (MiB) | ${RSS_LIBS:-not measured (BENCH_IDLE_SECONDS=0)} |
| VmRSS after the wrk runs | $(mib "$RSS_LOAD") ($RSS_LOAD kB) |
| of which RssAnon / RssFile | $(mib "$RSS_ANON") / $(mib "$RSS_FILE") |
| VmHWM after the wrk runs | $(mib "$HWM_LOAD") ($HWM_LOAD kB) |
| PSS / Private_Dirty after the wrk runs | $(mib "$PSS_LOAD") / $(mib "$DIRTY_LOAD") |

### Targets

| Target | Measured | Verdict |
|---|---|---|
| /api/workers/status at 32 connections >= 50 000 req/s | $S32_RPS req/s | $(verdict "$S32_RPS" ">=" 50000) |
| p99 <= 2 ms (/api/workers/status, 32 connections) | $S32_P99 ms | $(verdict "$S32_P99" "<=" 2) |
| RSS <= 10 MiB (VmRSS after load) | $(mib "$RSS_LOAD") | $(verdict "$RSS_LOAD" "<=" 10240) |
| Start-up <= 100 ms (bash probe median) | $TCP_MED ms | $(verdict "$TCP_MED" "<=" 100) |
| Issue 10: RSS idle, every unit enabled, after ${IDLE_SECONDS} s <= 10 MiB | $(mib "${RSS_MIN:-0}") | $(verdict "${RSS_MIN:-999999}" "<=" 10240) |
| Issue 10: start-up to first 200 <= 40 ms, new data folder | $TCP_MED ms | $(verdict "$TCP_MED" "<=" 40) |
| Issue 10: start-up to first 200 <= 40 ms, restart | $RESTART_MED ms | $(verdict "$RESTART_MED" "<=" 40) |
EOF
if [[ $OWNERSHIP == 1 ]]; then
  O_PASS=$(own_val pass_cpu)
  cat <<EOF
| Ownership: one watchlist + discography pass, 100 000 tracks, 500 x 40 releases, <= 500 ms CPU | $O_PASS ms (index $(own_val index_cpu) ms, checks $(own_val checks_cpu) ms; load $OWN_LOAD) | $(verdict "$O_PASS" "<=" 500) |
| Watchlist + discography units (watch_select, watch_want): 500 watches x (40 Spotify + 20 MusicBrainz) releases, 100 000 tracks, <= 500 ms CPU | $(own_val watch_pass_cpu) ms ($(own_val watch_wanted_first_pass) items wanted by the first pass) | $(verdict "$(own_val watch_pass_cpu)" "<=" 500) |
| Quality Upgrade: candidates over 100 000 tracks, <= 300 ms | $(awk '$1 == "qu_find_ms" { print $2 }' "$WORK/qu.txt") ms ($(awk '$1 == "qu_below" { print $2 }' "$WORK/qu.txt") below the target) | $(verdict "$(awk '$1 == "qu_find_ms" { print $2 }' "$WORK/qu.txt")" "<=" 300) |
EOF
fi
if [[ $FLOOD == 1 ]]; then
  F_REQ=$(flood_val requests)
  F_ANS=$(flood_val answered)
  F_P99=$(flood_val p99_ms)
  F_OK=$(verdict "$F_P99" "<=" 100)
  if [[ $F_ANS != "$F_REQ" ]]; then F_OK="**missed**"; fi
  cat <<EOF
| p99 <= 100 ms, /api/workers/status under 600 slowloris + 5 000 idle connections | $F_P99 ms ($F_ANS of $F_REQ answered) | $F_OK |

### Under a connection flood

$(flood_val slowloris) slowloris connections (one byte every 3 s) and
$(flood_val idle) idle ones from 127.0.0.2 upwards (60 per address), each
re-opened as soon as the daemon closes it; $F_REQ GETs of
/api/workers/status from 127.0.0.1, each on a new connection, 50 ms apart,
starting once the daemon held 95 % of the flood ($(flood_val ramp_ms) ms
after it began). Load average before: $FLOOD_LOAD.

| answered | p50 ms | p90 ms | p99 ms | max ms | flood connections held by the daemon (min-max) | closed by the daemon | VmRSS after |
|---:|---:|---:|---:|---:|---:|---:|---:|
| $F_ANS of $F_REQ | $(flood_val p50_ms) | $(flood_val p90_ms) | $F_P99 | $(flood_val max_ms) | $(flood_val held_min)-$(flood_val held_max) | $(flood_val closed_by_server) | $(mib "$RSS_FLOOD") |
EOF
fi
