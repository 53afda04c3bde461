/*
 * ownership_bench.c - the ownership figure of issue 8 (bench/run.sh step
 * 6; docs/PERFORMANCE.md "Automation"): one watchlist + discography pass
 * over a library of 100 000 scanned tracks and 500 watched artists x 40
 * releases, network excluded.
 *
 *   ownership_bench [DIR]   (DIR: where the temporary store goes; /tmp)
 *
 * The library: 500 artists x 40 albums x 5 tracks, written straight into
 * a fresh store (raw SQL, one transaction), names with accents in NFC and
 * NFD, other scripts, "The", feat. and remaster suffixes.  The pass, as a
 * unit would do it: ownership_load() over the store, then for each of the
 * 20 000 releases its Wanted key (ownership_album_key) and
 * ownership_album() with a 10-track list (the library has half of each
 * release's tracks, so every check walks all ten).  Each step's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) over REPEAT runs; prints "name value unit"
 * lines, the median of each.  Not part of the test suite.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "automation/ownership.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"

#define ARTISTS 500
#define RELEASES 40
#define LIB_TRACKS 5
#define RELEASE_TRACKS 10
#define REPEAT 5

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *const artist_names[] = {
  "Bj\xc3\xb6rk %d",          /* NFC */
  "Sigur Ro\xcc\x81s %d",     /* NFD */
  "The Beatles %d",           "坂本龍一 %d",
  "AC/DC %d",                 "Guns N' Roses %d",
  "Florence + The Machine %d", "Motörhead %d"};
#define N_NAMES (sizeof artist_names / sizeof artist_names[0])

static void artist_name(int a, char *out, size_t n)
{
  snprintf(out, n, artist_names[a % N_NAMES], a);
}

static void album_name(int a, int r, char *out, size_t n)
{
  snprintf(out, n, r % 3 ? "Álbum Número %d-%d" : "Album %d-%d (2011 Remaster)",
           a, r);
}

static void track_name(int a, int r, int t, char *out, size_t n)
{
  snprintf(out, n, t % 4 ? "Canción %d %d %d" : "Song %d %d %d (feat. Ø)", a,
           r, t);
}

static int fill(const char *path)
{
  sqlite3 *c;
  if (sqlite3_open(path, &c) != SQLITE_OK)
    return SS_EDB;
  sqlite3_exec(c, "BEGIN", NULL, NULL, NULL);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c,
                         "INSERT INTO library_tracks (path, size, mtime_ns,"
                         " title, artist, album_artist, album,"
                         " spotify_track_id) VALUES (?1, 1, 1, ?2, ?3, ?3,"
                         " ?4, ?5)",
                         -1, &st, NULL) != SQLITE_OK) {
    sqlite3_close(c);
    return SS_EDB;
  }
  char p[128], artist[64], album[96], title[96], sid[32];
  for (int a = 0; a < ARTISTS; a++) {
    artist_name(a, artist, sizeof artist);
    for (int r = 0; r < RELEASES; r++) {
      album_name(a, r, album, sizeof album);
      for (int t = 0; t < LIB_TRACKS; t++) {
        track_name(a, r, t, title, sizeof title);
        snprintf(p, sizeof p, "/music/%d/%d/%d.flac", a, r, t);
        sid[0] = '\0';
        if (t == 0) /* one track per release carries its Spotify id */
          snprintf(sid, sizeof sid, "sp%d-%d-%d", a, r, t);
        sqlite3_bind_text(st, 1, p, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, artist, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, album, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, sid, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
          sqlite3_finalize(st);
          sqlite3_close(c);
          return SS_EDB;
        }
        sqlite3_reset(st);
      }
    }
  }
  sqlite3_finalize(st);
  int rc = sqlite3_exec(c, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
             ? SS_OK : SS_EDB;
  sqlite3_close(c);
  return rc;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

/* The releases one pass checks, with their names precomputed (a unit
 * gets them from Spotify / MusicBrainz replies, outside the pass). */
struct release {
  char artist[64], album[96];
  char titles[RELEASE_TRACKS][96];
  struct ownership_track_in tracks[RELEASE_TRACKS];
};

int main(int argc, char **argv)
{
  log_set_level(LOG_LVL_WARN);
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  char tmpl[512], path[600];
  snprintf(tmpl, sizeof tmpl, "%s/ownership_bench.XXXXXX", dir);
  if (!mkdtemp(tmpl)) {
    perror("ownership_bench: mkdtemp");
    return 1;
  }
  snprintf(path, sizeof path, "%s/s.db", tmpl);
  struct db *db = NULL;
  int v, rc = db_open(path, &db);
  if (!rc)
    rc = db_migrate(db, &v);
  if (!rc)
    rc = fill(path);
  static struct release rel[ARTISTS * RELEASES];
  for (int a = 0; a < ARTISTS; a++)
    for (int r = 0; r < RELEASES; r++) {
      struct release *x = &rel[a * RELEASES + r];
      artist_name(a, x->artist, sizeof x->artist);
      album_name(a, r, x->album, sizeof x->album);
      for (int t = 0; t < RELEASE_TRACKS; t++) {
        track_name(a, r, t, x->titles[t], sizeof x->titles[t]);
        x->tracks[t].title = x->titles[t];
      }
    }
  double load[REPEAT], check[REPEAT], total[REPEAT];
  size_t tracks = 0, partial = 0;
  for (int i = 0; !rc && i < REPEAT; i++) {
    double t0 = cpu_ms();
    struct ownership *o = NULL;
    if ((rc = ownership_load(db, &o)))
      break;
    double t1 = cpu_ms();
    partial = 0;
    for (size_t k = 0; k < ARTISTS * RELEASES; k++) {
      char key[OWNERSHIP_KEY_MAX];
      bool missing[RELEASE_TRACKS];
      ownership_album_key(rel[k].artist, rel[k].album, key, sizeof key);
      struct ownership_album_in in = {
        .artist = rel[k].artist, .album = rel[k].album,
        .total_tracks = RELEASE_TRACKS, .tracks = rel[k].tracks,
        .n_tracks = RELEASE_TRACKS};
      partial += ownership_album(o, &in, missing) == OWN_PARTIAL;
    }
    double t2 = cpu_ms();
    tracks = ownership_track_count(o);
    ownership_free(o);
    load[i] = t1 - t0;
    check[i] = t2 - t1;
    total[i] = t2 - t0;
  }
  db_close(db);
  char p[700];
  const char *suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    remove(p);
  }
  rmdir(tmpl);
  if (rc) {
    fprintf(stderr, "ownership_bench: %s\n", ss_strerror(rc));
    return 1;
  }
  if (partial != ARTISTS * RELEASES) {
    fprintf(stderr, "ownership_bench: %zu of %d releases partly owned\n",
            partial, ARTISTS * RELEASES);
    return 1;
  }
  printf("library_tracks %zu tracks\n", tracks);
  printf("releases %d releases\n", ARTISTS * RELEASES);
  printf("index_cpu %.1f ms\n", median(load, REPEAT));
  printf("checks_cpu %.1f ms\n", median(check, REPEAT));
  printf("pass_cpu %.1f ms\n", median(total, REPEAT));
  return 0;
}
