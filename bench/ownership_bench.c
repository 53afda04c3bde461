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
 * lines, the median of each.
 *
 * Then the same pass through the units' own code (automation/
 * watchlist.h): ownership_load(), and per watched artist its 40 Spotify
 * releases plus 20 MusicBrainz release groups of the same releases (NFD
 * names, "(2011 Remaster)" titles: merged, not counted twice) through
 * watch_select() twice - new releases since the watch began, and the
 * whole discography - and watch_want() into the store under the per-run
 * caps (200 new, 50 discography), as one watchlist and one discography
 * run would; the replies are parsed before the clock starts (network
 * excluded).  11 of each artist's 40 releases are wanted (the library
 * has 5 of their 10 tracks; one of them is dated after the watch began),
 * the rest owned.  Prints watch_pass_cpu, the median, and the items the
 * first pass wanted (200 new + 50 discography: the caps).
 * Not part of the test suite.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "automation/ownership.h"
#include "automation/watchlist.h"
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

static const char *const artist_names[] = {"Bj\xc3\xb6rk %d",      /* NFC */
                                           "Sigur Ro\xcc\x81s %d", /* NFD */
                                           "The Beatles %d",
                                           "坂本龍一 %d",
                                           "AC/DC %d",
                                           "Guns N' Roses %d",
                                           "Florence + The Machine %d",
                                           "Motörhead %d"};
#define N_NAMES (sizeof artist_names / sizeof artist_names[0])

static void artist_name(int a, char *out, size_t n)
{
  snprintf(out, n, artist_names[a % N_NAMES], a);
}

static void album_name(int a, int r, char *out, size_t n)
{
  snprintf(out, n,
           r % 3 ? "Álbum Número %d-%d" : "Album %d-%d (2011 Remaster)", a, r);
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
  int rc = sqlite3_exec(c, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? SS_OK
                                                                    : SS_EDB;
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

#define MB_DUPS 20 /* MusicBrainz release groups per artist */

/* The releases of artist a as the sources deliver them (Spotify, then
 * MusicBrainz in NFD for the first MB_DUPS). */
static void artist_releases(int a, struct watch_releases *r)
{
  char artist[64], nfd[80];
  artist_name(a, artist, sizeof artist);
  /* NFD of the first name's o-umlaut, as MusicBrainz-side text may come */
  if (a % N_NAMES == 0)
    snprintf(nfd, sizeof nfd, "Bjo\xcc\x88rk %d", a);
  else
    snprintf(nfd, sizeof nfd, "%s", artist);
  for (int k = 0; k < RELEASES + MB_DUPS; k++) {
    int rr = k % RELEASES;
    struct watch_release *x = watch_releases_push(r);
    bool mb = k >= RELEASES;
    snprintf(x->artist, sizeof x->artist, "%s", mb ? nfd : artist);
    album_name(a, rr, x->title, sizeof x->title);
    if (mb)
      snprintf(x->mb_id, sizeof x->mb_id, "0b0c0d0e-%04d-4000-8000-%012d", a,
               rr);
    else
      snprintf(x->spotify_id, sizeof x->spotify_id, "al%d-%d", a, rr);
    /* one release per artist is new, the rest spread over 1970-2025 */
    if (rr == 0)
      snprintf(x->date, sizeof x->date, "2026-12-24");
    else
      snprintf(x->date, sizeof x->date, "%04d-%02d-%02d", 1970 + rr,
               1 + rr % 12, 1 + rr % 28);
    x->type = rr % 5 == 4 ? WATCH_SINGLE : WATCH_ALBUM;
    x->total_tracks = rr % 4 == 1 || rr == 0 ? RELEASE_TRACKS : LIB_TRACKS;
  }
}

/* One watchlist + discography pass through watchlist.h; *wanted gets the
 * items added.  Returns the CPU ms. */
static double watch_pass(struct db *db, struct watch_releases *all,
                         size_t *wanted, int *rc)
{
  double t0 = cpu_ms();
  struct ownership *o = NULL;
  *wanted = 0;
  if ((*rc = ownership_load(db, &o)))
    return 0;
  struct watch_releases r = {0};
  size_t room_new = WATCH_NEW_MAX_PER_RUN, room_disc = 50;
  for (int mode = 0; mode < 2 && !*rc; mode++) {
    for (int a = 0; a < ARTISTS && !*rc; a++) {
      struct watch w = {.id = a + 1,
                        .auto_download = true,
                        .discography = true,
                        .release_types = WATCH_DEFAULT_TYPES};
      snprintf(w.since_date, sizeof w.since_date, "2026-12-05");
      artist_name(a, w.name, sizeof w.name);
      r.n = 0;
      for (size_t i = 0; i < all[a].n; i++)
        *watch_releases_push(&r) = all[a].v[i];
      struct watch_pick p;
      enum watch_mode m = mode ? WATCH_MODE_DISCOGRAPHY : WATCH_MODE_NEW;
      watch_select(&w, m, o, &r, &p);
      size_t *room = mode ? &room_disc : &room_new, added = 0, capped = 0;
      *rc = watch_want(db, &w, m, &r, *room, 1796860800000LL, &added, &capped);
      *room -= added;
      *wanted += added;
    }
  }
  watch_releases_free(&r);
  ownership_free(o);
  return cpu_ms() - t0;
}

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
      struct ownership_album_in in = {.artist = rel[k].artist,
                                      .album = rel[k].album,
                                      .total_tracks = RELEASE_TRACKS,
                                      .tracks = rel[k].tracks,
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
  /* the units' own pass */
  static struct watch_releases all[ARTISTS];
  for (int a = 0; a < ARTISTS; a++)
    artist_releases(a, &all[a]);
  double watch[REPEAT];
  size_t wanted = 0, wanted_first = 0;
  for (int i = 0; !rc && i < REPEAT; i++) {
    watch[i] = watch_pass(db, all, &wanted, &rc);
    if (!i)
      wanted_first = wanted;
  }
  for (int a = 0; a < ARTISTS; a++)
    watch_releases_free(&all[a]);
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
  printf("watch_wanted_first_pass %zu items\n", wanted_first);
  printf("watch_pass_cpu %.1f ms\n", median(watch, REPEAT));
  return 0;
}
