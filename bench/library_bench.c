/*
 * library_bench.c - drives the library code for bench/library.sh.
 *
 *   library_bench rows DB N [raw]  fresh store with N synthetic tracks
 *                                  (one transaction, raw SQL); about 4% of
 *                                  the songs have 2-3 copies.  Each row
 *                                  gets its metadata key as the scanner
 *                                  and the import write it; "raw" leaves
 *                                  the keys out (a store from before
 *                                  migration 13: the detection fills them)
 *   library_bench detect DB METHOD dupes_detect() twice: the first pass
 *                                  (computes missing metadata keys), the
 *                                  second is a rescan with nothing new
 *   library_bench scan DB ROOT [hash|fp]
 *                                  scanner_run() twice (full, incremental)
 *   library_bench walk ROOT [delete]
 *                                  cleanup_walk() over a tree (dry run
 *                                  unless "delete"), 10^9 files/bytes caps
 *   library_bench load DB TSV      fresh store from bench/beets.sh's TSV
 *                                  through the scanner's write path
 *   library_bench groups DB        "group id <TAB> path" of every open
 *                                  finding
 *
 * Prints one "name value unit" line per measurement (wall ms from
 * CLOCK_MONOTONIC, peak RSS from getrusage).  Not part of the test suite.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_library.h"
#include "library/cleanup_walk.h"
#include "library/dupes.h"
#include "library/scanner.h"
#include "media/media.h"

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static int die(const char *msg)
{
  fprintf(stderr, "library_bench: %s\n", msg);
  return 1;
}

/* Removes a store and its WAL files. */
static void remove_store(const char *path)
{
  char p[1024];
  remove(path);
  snprintf(p, sizeof p, "%s-wal", path);
  remove(p);
  snprintf(p, sizeof p, "%s-shm", path);
  remove(p);
}

static struct db *open_store(const char *path)
{
  struct db *db = NULL;
  int v;
  if (db_open(path, &db) || db_migrate(db, &v)) {
    db_close(db);
    return NULL;
  }
  return db;
}

/* Deterministic pseudo-random numbers (xorshift). */
static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static const char *const words[] = {"love",  "night",  "heart", "fire",
                                    "rain",  "dream",  "blue",  "city",
                                    "light", "road",   "time",  "gold",
                                    "river", "star",   "home",  "wild",
                                    "Café",  "Straße", "Jóga",  "東京",
                                    "sun",   "moon",   "echo",  "ghost"};
#define N_WORDS (sizeof words / sizeof words[0])

static void make_title(unsigned long long song, char *out, size_t n)
{
  unsigned long long x = song * 2654435761ull + 12345;
  snprintf(out, n, "%s %s %s %llu", words[x % N_WORDS],
           words[(x >> 8) % N_WORDS], words[(x >> 16) % N_WORDS], song % 1000);
}

static int cmd_rows(const char *path, long n, bool keyed)
{
  remove_store(path);
  struct db *db = open_store(path);
  if (!db)
    return die("cannot create the store");
  db_close(db);
  sqlite3 *c;
  if (sqlite3_open(path, &c) != SQLITE_OK)
    return die("sqlite open");
  sqlite3_exec(c,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               " BEGIN",
               NULL, NULL, NULL);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(c,
                     "INSERT INTO library_tracks (path, size, mtime_ns,"
                     " title, artist, album, duration_ms, codec, bitrate,"
                     " sample_rate, bit_depth, lossless, tag_score, norm_key)"
                     " VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, 44100,"
                     " ?9, ?10, 5, ?11)",
                     -1, &st, NULL);
  double t0 = now_ms();
  long song = 0, copies_left = 0, rows_in_groups = 0;
  struct library_track *t = calloc(1, sizeof *t);
  char p[256], title[128], artist[64], album[64];
  for (long i = 0; i < n; i++) {
    if (copies_left == 0) {
      song++;
      copies_left = next() % 100 < 4 ? 2 + (long)(next() % 2) : 1;
      if (copies_left > 1)
        rows_in_groups += copies_left;
    }
    copies_left--;
    bool lossless = next() % 3 == 0;
    make_title((unsigned long long)song, title, sizeof title);
    snprintf(artist, sizeof artist, "Artist %ld", song % 20000);
    snprintf(album, sizeof album, "Album %ld", song % 90000);
    snprintf(p, sizeof p, "/music/%s/%s/%ld %s.%s", artist, album, i, title,
             lossless ? "flac" : "mp3");
    sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, 3000000 + (long)(next() % 30000000));
    sqlite3_bind_text(st, 3, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, artist, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, album, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6,
                       120000 + (song * 7919) % 300000 +
                         (long)(next() % 1500));
    sqlite3_bind_text(st, 7, lossless ? "flac" : "mp3", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, lossless ? 900000 : 320000);
    sqlite3_bind_int(st, 9, lossless ? 16 : 0);
    sqlite3_bind_int(st, 10, lossless);
    if (keyed) { /* as the scanner and the import store it */
      snprintf(t->path, sizeof t->path, "%s", p);
      snprintf(t->media.artist, sizeof t->media.artist, "%s", artist);
      snprintf(t->media.title, sizeof t->media.title, "%s", title);
      dupes_track_key(t);
      sqlite3_bind_text(st, 11, t->norm_key, -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
      return die(sqlite3_errmsg(c));
    sqlite3_reset(st);
  }
  free(t);
  sqlite3_finalize(st);
  sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
  printf("rows_insert_ms %.0f ms\nrows %ld rows\nrows_in_groups %ld rows\n",
         now_ms() - t0, n, rows_in_groups);
  sqlite3_close(c);
  return 0;
}

/* CPU seconds (user + system, every thread) of this process, in ms. */
static double cpu_ms(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

#define LOAD_BATCH 500

/* One TSV line "set path artist title album duration_ms lossless" into a
 * scan item as the scanner fills it (key included). */
static bool load_line(char *line, struct library_scan_item *it)
{
  char *f[7];
  int n = 0;
  for (char *p = line; n < 7; n++) {
    f[n] = p;
    char *tab = strchr(p, '\t');
    if (!tab) {
      p[strcspn(p, "\n")] = '\0';
      n++;
      break;
    }
    *tab = '\0';
    p = tab + 1;
  }
  if (n < 7)
    return false;
  memset(it, 0, sizeof *it);
  struct library_track *t = &it->t;
  struct media_info *m = &t->media;
  bool lossless = atoi(f[6]) != 0;
  snprintf(t->path, sizeof t->path, "%s", f[1]);
  snprintf(m->artist, sizeof m->artist, "%s", f[2]);
  snprintf(m->title, sizeof m->title, "%s", f[3]);
  snprintf(m->album, sizeof m->album, "%s", f[4]);
  snprintf(m->codec, sizeof m->codec, "%s", lossless ? "flac" : "mp3");
  m->duration_ms = atoll(f[5]);
  m->lossless = lossless;
  m->bit_depth = lossless ? 16 : 0;
  m->sample_rate = 44100;
  m->bitrate = lossless ? 900000 : 320000;
  t->size = 3000000;
  t->mtime_ns = 1;
  it->probed = true;
  dupes_track_key(t);
  return true;
}

/* A fresh store filled from a TSV (bench/beets.sh) through the scanner's
 * own write path: batches of LOAD_BATCH rows, each with its key. */
static int cmd_load(const char *path, const char *tsv)
{
  remove_store(path);
  struct db *db = open_store(path);
  FILE *in = fopen(tsv, "r");
  if (!db || !in)
    return die("cannot open the store or the TSV");
  struct library_scan_item *batch = calloc(LOAD_BATCH, sizeof *batch);
  char line[4096];
  int64_t gen;
  size_t n = 0, rows = 0;
  double t0 = now_ms();
  int rc = db_library_scan_begin(db, &gen);
  while (!rc && fgets(line, sizeof line, in)) {
    if (!load_line(line, &batch[n]))
      continue;
    rows++;
    if (++n == LOAD_BATCH) {
      rc = db_library_scan_write(db, gen, batch, n);
      n = 0;
    }
  }
  if (!rc && n)
    rc = db_library_scan_write(db, gen, batch, n);
  fclose(in);
  free(batch);
  db_close(db);
  if (rc)
    return die(ss_strerror(rc));
  printf("load_ms %.0f ms\nload_rows %zu rows\n", now_ms() - t0, rows);
  return 0;
}

static void print_member(void *arg, const struct library_track *t)
{
  printf("%lld\t%s\n", (long long)*(const int64_t *)arg, t->path);
}

/* Every open finding as "group id <TAB> path" lines. */
static int cmd_groups(const char *path)
{
  struct db *db = open_store(path);
  if (!db)
    return die("cannot open the store");
  struct library_group *g = calloc(100, sizeof *g);
  int64_t offset = 0, total = 0;
  size_t n;
  int rc;
  do {
    rc = db_library_groups_list(db, "open", offset, g, 100, &n, &total);
    for (size_t i = 0; !rc && i < n; i++)
      rc = db_library_group_members(db, g[i].id, print_member, &g[i].id);
    offset += (int64_t)n;
  } while (!rc && n);
  free(g);
  db_close(db);
  return rc ? die(ss_strerror(rc)) : 0;
}

static int cmd_detect(const char *path, const char *method)
{
  struct db *db = open_store(path);
  unsigned m = dupes_methods_parse(method);
  if (!db || !m)
    return die("bad store or method");
  for (int pass = 1; pass <= 2; pass++) {
    struct dupes_stats st;
    double t0 = now_ms(), c0 = cpu_ms();
    int rc = dupes_detect(db, m, NULL, NULL, 1000 * pass, &st);
    if (rc)
      return die(ss_strerror(rc));
    printf("detect%d_cpu_ms %.0f ms\n", pass, cpu_ms() - c0);
    printf("detect%d_ms %.0f ms\ndetect%d_keys %zu keys\n"
           "detect%d_groups %zu groups\ndetect%d_new %zu groups\n",
           pass, now_ms() - t0, pass, st.keys_computed, pass, st.groups, pass,
           st.new_groups);
  }
  printf("detect_peak_rss %ld KiB\n", peak_rss_kb());
  db_close(db);
  return 0;
}

static int cmd_scan(const char *path, const char *root, const char *extra)
{
  remove_store(path);
  struct db *db = open_store(path);
  if (!db)
    return die("cannot create the store");
  media_init();
  struct scanner_opts o = {
    .root = root,
    .want_hash = extra && !strcmp(extra, "hash"),
    .want_fingerprint = extra && !strcmp(extra, "fp"),
  };
  for (int pass = 1; pass <= 2; pass++) {
    struct scanner_stats st;
    char err[256];
    double t0 = now_ms();
    int rc = scanner_run(db, &o, &st, err, sizeof err);
    if (rc)
      return die(err);
    printf("scan%d_ms %.0f ms\nscan%d_files %zu files\n"
           "scan%d_probed %zu files\nscan%d_unreadable %zu files\n",
           pass, now_ms() - t0, pass, st.files, pass, st.probed, pass,
           st.unreadable);
  }
  printf("scan_peak_rss %ld KiB\n", peak_rss_kb());
  /* the media helpers (issue 10): reaped here, so RUSAGE_CHILDREN has the
   * largest one's peak */
  media_pool_shutdown();
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  printf("scan_helper_peak_rss %ld KiB\n", ru.ru_maxrss);
  db_close(db);
  return 0;
}

static int cmd_walk(const char *root, const char *mode)
{
  struct cleanup_opts o = {.cutoff_s = time(NULL) - 7 * 86400,
                           .dry_run = !(mode && !strcmp(mode, "delete")),
                           .max_files = 1000000000,
                           .max_bytes = 1000000000000ll};
  struct cleanup_result r;
  char err[256];
  double t0 = now_ms();
  if (cleanup_walk(root, &o, &r, err, sizeof err))
    return die(err);
  printf("walk_ms %.0f ms\nwalk_files %lld files\nwalk_dirs %lld dirs\n",
         now_ms() - t0, (long long)r.files, (long long)r.dirs);
  return 0;
}

int main(int argc, char **argv)
{
  log_set_level(LOG_LVL_WARN);
  if (argc >= 4 && !strcmp(argv[1], "rows"))
    return cmd_rows(argv[2], atol(argv[3]),
                    !(argc > 4 && !strcmp(argv[4], "raw")));
  if (argc >= 4 && !strcmp(argv[1], "detect"))
    return cmd_detect(argv[2], argv[3]);
  if (argc >= 4 && !strcmp(argv[1], "scan"))
    return cmd_scan(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
  if (argc >= 4 && !strcmp(argv[1], "load"))
    return cmd_load(argv[2], argv[3]);
  if (argc >= 3 && !strcmp(argv[1], "groups"))
    return cmd_groups(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "walk"))
    return cmd_walk(argv[2], argc > 3 ? argv[3] : NULL);
  fprintf(stderr,
          "usage: library_bench rows DB N [raw] | detect DB METHOD | "
          "scan DB ROOT [hash|fp] | walk ROOT [delete] | load DB TSV | "
          "groups DB\n");
  return 2;
}
