/*
 * conn_flood_bench.c - latency of GET /api/workers/status while a running
 * soulspotd is flooded with slowloris and idle connections (issue 9, item
 * 3), for bench/run.sh.  Not part of the test suite.
 *
 *   conn_flood_bench PORT PID [SLOWLORIS IDLE REQUESTS]
 *
 * Defaults: 600 slowloris connections (one byte every 3 s, never a whole
 * request) and 5 000 idle ones, from 127.0.0.2 upwards, 60 per address
 * (under the default server.max_connections_per_address of 64), opened
 * again whenever the daemon closes them, as an attacker would.  Once the
 * daemon (PID) holds 95 % of them, or after 60 s, REQUESTS (default 400)
 * GETs are made from 127.0.0.1, each on a new connection, one every 50 ms,
 * so the measurement spans the daemon's request deadline (10 s by
 * default) and the reconnects it causes.  Prints "name value" lines:
 * answered, p50/p90/p99/max in ms, the connections the daemon held
 * (min/max over the run) and how many it closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "flood.h"

#define PER_ADDRESS 60
#define HOLD_WAIT_MS 60000
#define GAP_MS 50
#define TIMEOUT_MS 10000

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double pct_ms(const int64_t *sorted, int n, double p)
{
  if (!n)
    return -1;
  int i = (int)(p * (n - 1) + 0.5);
  return (double)sorted[i] / 1000.0;
}

int main(int argc, char **argv)
{
  if (argc < 3)
    return fprintf(stderr, "usage: conn_flood_bench PORT PID [SLOWLORIS "
                           "IDLE REQUESTS]\n"),
           2;
  int port = atoi(argv[1]);
  pid_t pid = (pid_t)atoi(argv[2]);
  int slow = argc > 3 ? atoi(argv[3]) : 600;
  int idle = argc > 4 ? atoi(argv[4]) : 5000;
  int requests = argc > 5 ? atoi(argv[5]) : 400;
  if (port <= 0 || pid <= 0 || slow < 0 || idle < 0 || requests < 1)
    return fprintf(stderr, "conn_flood_bench: bad arguments\n"), 2;
  long limit = flood_raise_nofile(slow + idle + 256L);
  if (limit < slow + idle + 64L)
    return fprintf(stderr,
                   "conn_flood_bench: descriptor limit %ld is too "
                   "low for %d connections\n",
                   limit, slow + idle),
           1;
  int base = flood_fd_count(pid);
  if (base < 0)
    return fprintf(stderr, "conn_flood_bench: no process %d\n", (int)pid), 1;

  struct flood_opts fo = {.port = port,
                          .slowloris = slow,
                          .idle = idle,
                          .per_address = PER_ADDRESS,
                          .first_host = 2,
                          .reconnect = true};
  struct flood *fl;
  if (flood_start(&fo, &fl) != SS_OK)
    return fprintf(stderr, "conn_flood_bench: cannot start the flood\n"), 1;
  int want = (slow + idle) * 95 / 100;
  int64_t t0 = clock_mono_ms();
  while (flood_fd_count(pid) - base < want &&
         clock_mono_ms() - t0 < HOLD_WAIT_MS)
    sleep_ms(20);
  int64_t ramp_ms = clock_mono_ms() - t0;

  int64_t *us = calloc((size_t)requests, sizeof *us);
  int answered = 0, held_min = 1 << 30, held_max = 0;
  for (int i = 0; i < requests; i++) {
    int held = flood_fd_count(pid) - base;
    held_min = held < held_min ? held : held_min;
    held_max = held > held_max ? held : held_max;
    int64_t t;
    if (flood_get("127.0.0.1", port, "/api/workers/status", TIMEOUT_MS, &t) ==
        200)
      us[answered++] = t;
    sleep_ms(GAP_MS);
  }
  struct flood_stats st;
  flood_get_stats(fl, &st);
  flood_stop(fl);
  qsort(us, (size_t)answered, sizeof *us, cmp_i64);
  printf("slowloris %d\nidle %d\nramp_ms %lld\n", slow, idle,
         (long long)ramp_ms);
  printf("requests %d\nanswered %d\n", requests, answered);
  printf("p50_ms %.2f\np90_ms %.2f\np99_ms %.2f\nmax_ms %.2f\n",
         pct_ms(us, answered, 0.50), pct_ms(us, answered, 0.90),
         pct_ms(us, answered, 0.99), pct_ms(us, answered, 1.0));
  printf("held_min %d\nheld_max %d\nclosed_by_server %llu\n", held_min,
         held_max, (unsigned long long)st.closed_by_server);
  free(us);
  return answered == requests ? 0 : 1;
}
