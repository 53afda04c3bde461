/*
 * download_monitor_bench.c - one Download Monitor poll with N transfers in
 * flight, for bench/download_monitor.sh.  Not part of the test suite.
 *
 *   download_monitor_bench N POLLS
 *
 * A child process runs the fake slskd with N transfers "InProgress" (users
 * of 100 transfers, folders of 10), so its memory and CPU are not the
 * monitor's.  The parent seeds a fresh store with the matching requests
 * and files (as after enqueue), then calls requests_poll() - the Download
 * Monitor's whole unit of work - POLLS times in each of three situations:
 *
 *   first   every file goes enqueued -> in_progress (N rows written)
 *   moving  every transfer gained bytes since the last poll (N rows)
 *   steady  nothing changed (0 rows written)
 *
 * and, for the split, the GET + parse of the list alone.  Prints one
 * "name value unit" line per figure: wall ms from CLOCK_MONOTONIC (median
 * and max), rows written, the list's size, and the monitor process's
 * VmRSS before the first poll and VmHWM after the last.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clients/http_client.h"
#include "clients/slskd.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "db/db_downloads.h"
#include "downloads/requests.h"
#include "fake_all.h"

#define PER_REQUEST 10
#define MAX_POLLS 100

/* Per poll: this process's CPU time (the fake runs in the child) and the
 * wall time of the list's HTTP exchange. */
static double cpu[MAX_POLLS], http[MAX_POLLS];

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long status_kb(const char *field)
{
  char line[256];
  long kb = -1;
  size_t n = strlen(field);
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, n))
      kb = strtol(line + n + 1, NULL, 10);
  if (f)
    fclose(f);
  return kb;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* ---- the fake in a child process ---- */

static pid_t start_fake(size_t n, int *port)
{
  int fd[2];
  if (pipe(fd))
    return -1;
  pid_t pid = fork();
  if (pid != 0) {
    close(fd[1]);
    if (read(fd[0], port, sizeof *port) != sizeof *port)
      pid = -1;
    close(fd[0]);
    return pid;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  struct fake_slskd *fk;
  if (fake_slskd_start(&fk, 0, NULL))
    _exit(1);
  fake_slskd_set_progress_steps(fk, 1000000); /* never completes */
  fake_slskd_add_bench_transfers(fk, n);
  int p = fake_http_port(fake_slskd_http(fk));
  if (write(fd[1], &p, sizeof p) != sizeof p)
    _exit(1);
  close(fd[1]);
  for (int sig = 0; sig != SIGTERM;) {
    sigwait(&set, &sig);
    if (sig == SIGUSR1) /* the parent's "steady" phase */
      fake_slskd_set_auto_advance(fk, false);
  }
  fake_slskd_stop(fk);
  _exit(0);
}

/* ---- the store, as after N enqueues ---- */

static int seed(struct db *db, size_t n)
{
  char user[32];
  struct dl_cand_file cf[PER_REQUEST];
  char names[PER_REQUEST][160], ids[PER_REQUEST][48];
  for (size_t r = 0; r < n / PER_REQUEST; r++) {
    struct dl_request q = {.kind = DL_ALBUM, .created_ms = 1};
    int64_t rid;
    snprintf(q.query, sizeof q.query, "album %zu", r);
    if (db_dl_request_add(db, &q, &rid) ||
        db_dl_request_searching(db, rid, "s", 1))
      return -1;
    for (size_t k = 0; k < PER_REQUEST; k++) {
      fake_slskd_bench_names(r * PER_REQUEST + k, ids[k], sizeof ids[k], user,
                             sizeof user, names[k], sizeof names[k]);
      cf[k] = (struct dl_cand_file){names[k], 1000000000, ""};
    }
    struct dl_candidate c = {user, "dir", "flac", 0,          true,
                             0,    0,     cf,     PER_REQUEST};
    struct dl_files fl;
    if (db_dl_search_done(db, rid, &c, 1, "", 1) ||
        db_dl_files_of(db, rid, &fl, PER_REQUEST))
      return -1;
    for (size_t i = 0; i < fl.n; i++) /* newest first */
      db_dl_file_enqueued(db, fl.v[i].id, ids[fl.n - 1 - i], 1);
    db_dl_files_free(&fl);
  }
  return 0;
}

static void report(const char *name, double *ms, int n, int64_t rows)
{
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  qsort(cpu, (size_t)n, sizeof *cpu, cmp_double);
  qsort(http, (size_t)n, sizeof *http, cmp_double);
  printf("%s_median %.1f ms\n%s_max %.1f ms\n%s_cpu_median %.1f ms\n"
         "%s_http_median %.1f ms\n%s_rows %lld rows\n",
         name, ms[n / 2], name, ms[n - 1], name, cpu[n / 2], name, http[n / 2],
         name, (long long)rows);
}

/* Size of one transfer list reply. */
static size_t list_bytes(const char *base)
{
  char u[128];
  struct http_reply r;
  struct http_client *hc = http_client_new("bench");
  snprintf(u, sizeof u, "%s/api/v0/transfers/downloads", base);
  struct http_call call = {.url = u, .reply_limit = SLSKD_LIST_MAX};
  http_client_call(hc, &call, &r);
  size_t n = r.body.len;
  http_reply_free(&r);
  http_client_free(hc);
  return n;
}

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double one_poll(struct db *db, struct slskd *c,
                       const struct dl_config *cfg, int64_t *rows, int i)
{
  struct dl_hooks h = {0};
  struct dl_poll_result res;
  double t0 = now_ms(), c0 = cpu_ms();
  if (requests_poll(db, c, cfg, &h, &res) != SS_OK) {
    fprintf(stderr, "poll failed: %s\n", res.error);
    exit(1);
  }
  *rows = res.updated;
  cpu[i] = cpu_ms() - c0;
  http[i] = (double)slskd_last_elapsed_ms(c);
  return now_ms() - t0;
}

int main(int argc, char **argv)
{
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
  int polls = argc > 2 ? atoi(argv[2]) : 10;
  if (polls < 1 || polls > MAX_POLLS || n < PER_REQUEST)
    return fprintf(stderr, "usage: download_monitor_bench N POLLS\n"), 2;
  log_set_level(LOG_LVL_WARN);
  if (!getenv("BENCH_NO_TUNING")) /* as soulspotd's main() does */
    xalloc_tune_process();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int port = 0;
  pid_t child = start_fake(n, &port);
  if (child <= 0)
    return fprintf(stderr, "cannot start the fake slskd\n"), 1;
  char dir[] = "/tmp/dm-bench-XXXXXX", path[64], url[64];
  struct db *db = NULL;
  int v;
  snprintf(path, sizeof path, "%s/t.db", mkdtemp(dir));
  if (db_open(path, &db) || db_migrate(db, &v) || seed(db, n))
    return fprintf(stderr, "cannot seed the store\n"), 1;
  struct dl_config cfg = {.max_retries = 3,
                          .stall_ms = 3600000,
                          .search_timeout_s = 30,
                          .max_enqueues = 2,
                          .poll_interval_ms = 10000};
  char err[128];
  quality_profile_parse("flac,mp3-320", &cfg.profile, err, sizeof err);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  snprintf(cfg.slskd_url, sizeof cfg.slskd_url, "%s", url);
  struct slskd *c = slskd_new(url, NULL);
  printf("transfers %zu count\nrss_before %ld kB\n", n, status_kb("VmRSS"));

  double ms[MAX_POLLS];
  int64_t rows = 0, total = 0;
  ms[0] = one_poll(db, c, &cfg, &rows, 0);
  report("first", ms, 1, rows);
  for (int i = 0; i < polls; i++, total += rows)
    ms[i] = one_poll(db, c, &cfg, &rows, i);
  report("moving", ms, polls, total / polls);
  kill(child, SIGUSR1);
  for (int i = 0; i < 20 && (i < 2 || rows); i++)
    one_poll(db, c, &cfg, &rows, 0); /* until the fake stops moving */
  total = 0;
  for (int i = 0; i < polls; i++, total += rows)
    ms[i] = one_poll(db, c, &cfg, &rows, i);
  report("steady", ms, polls, total);
  struct slskd_transfers t;
  for (int i = 0; i < polls; i++) {
    double t0 = now_ms(), c0 = cpu_ms();
    slskd_downloads(c, &t);
    ms[i] = now_ms() - t0;
    cpu[i] = cpu_ms() - c0;
    http[i] = (double)slskd_last_elapsed_ms(c);
    slskd_transfers_free(&t);
  }
  report("list_only", ms, polls, 0);
  printf("list_bytes %zu bytes\n", list_bytes(url));
  printf("rss_peak %ld kB\n", status_kb("VmHWM"));

  slskd_free(c);
  db_close(db);
  kill(child, SIGTERM);
  waitpid(child, NULL, 0);
  if (getenv("BENCH_KEEP")) {
    fprintf(stderr, "kept %s\n", dir);
    return 0;
  }
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) ? 1 : 0;
}
