/*
 * quality_upgrade_bench.c - the Quality Upgrade's candidate search over a
 * library of 100 000 scanned tracks (issue 8: <= 300 ms), for bench/run.sh.
 *
 *   quality_upgrade_bench DIR   fresh store DIR/qu.db with 100 000 tracks
 *                               (raw SQL, one transaction; a third MP3s
 *                               at 128-320 kbit/s, the rest FLAC), then
 *                               quality_upgrade_find() at level "high" 5
 *                               times
 *
 * Prints "name value unit" lines (wall ms, CLOCK_MONOTONIC): every run,
 * the median, and the tracks scanned / below the target.  Not a test.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "automation/quality_upgrade.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"

#define TRACKS 100000
#define RUNS 5

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fill(const char *path)
{
  sqlite3 *s;
  sqlite3_stmt *st;
  if (sqlite3_open(path, &s) != SQLITE_OK)
    return -1;
  sqlite3_exec(s, "BEGIN", NULL, NULL, NULL);
  sqlite3_prepare_v2(s,
                     "INSERT INTO library_tracks (path, artist, title,"
                     " codec, bitrate, bit_depth, sample_rate)"
                     " VALUES (?1, 'Artist', ?1, ?2, ?3, ?4, 44100)",
                     -1, &st, NULL);
  for (int i = 0; i < TRACKS; i++) {
    char p[64];
    bool mp3 = i % 3 == 0;
    snprintf(p, sizeof p, "/music/a%d/t%d.%s", i / 12, i,
             mp3 ? "mp3" : "flac");
    sqlite3_bind_text(st, 1, p, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, mp3 ? "mp3" : "flac", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, mp3 ? 128000 + (i % 7) * 32000 : 900000);
    sqlite3_bind_int(st, 4, mp3 ? 0 : 16);
    sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  int rc = sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(s);
  return rc == SQLITE_OK ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  char path[512];
  struct db *db;
  int version;
  if (argc != 2) {
    fprintf(stderr, "usage: quality_upgrade_bench DIR\n");
    return 2;
  }
  log_set_level(LOG_LVL_WARN);
  snprintf(path, sizeof path, "%s/qu.db", argv[1]);
  remove(path);
  if (db_open(path, &db) || db_migrate(db, &version) || fill(path))
    return 1;
  struct qu_config cfg = {.max_per_run = 50};
  if (qu_config_level(&cfg, "high"))
    return 1;
  double ms[RUNS];
  int64_t scanned = 0, below = 0;
  for (int i = 0; i < RUNS; i++) {
    struct qu_candidate *c;
    size_t n;
    double t0 = now_ms();
    if (quality_upgrade_find(db, &cfg.target, 50, &c, &n, &scanned, &below))
      return 1;
    ms[i] = now_ms() - t0;
    free(c);
    printf("qu_find_run_ms %.1f ms\n", ms[i]);
  }
  qsort(ms, RUNS, sizeof ms[0], cmp_double);
  printf("qu_find_ms %.1f ms\nqu_scanned %lld tracks\nqu_below %lld tracks\n",
         ms[RUNS / 2], (long long)scanned, (long long)below);
  db_close(db);
  return 0;
}
