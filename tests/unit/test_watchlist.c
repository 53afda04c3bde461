/*
 * test_watchlist.c - the selection logic of the Watchlist, Discography and
 * Playlist sources (automation/watchlist.h) on a real store: release
 * types (Spotify EPs filed as singles, MusicBrainz compilations), dates
 * (precision year/month/day, absurd or mismatched dates rejected with a
 * reason, "new" at the date's own precision), the Spotify page reader
 * (null items, bad dates, malformed pages), dedupe of the same release
 * from Spotify and MusicBrainz (NFC vs NFD, deluxe suffix) into one item
 * with both ids, owned releases left out, the per-run cap over a 5 000
 * release artist (later runs reach the older ones), the watch store
 * (declined artists, watch every followed artist) and the playlist
 * switch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "automation/ownership.h"
#include "automation/watchlist.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "db/db_library.h"
#include "db/db_spotify.h"
#include "db/db_wanted.h"
#include "tstore.h"

#define NOW 1796860800000LL /* 2026-12-10 UTC */

static struct db *db_of(void **state) { return ((struct tstore *)*state)->db; }

static int setup(void **state) { return tstore_setup(state, "ss-watchlist"); }

/* A library track of artist / album. */
static void own(struct db *db, const char *artist, const char *album,
                const char *title, int n)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "/music/%s/%s/%d.flac", artist, album, n);
  snprintf(t->media.artist, sizeof t->media.artist, "%s", artist);
  snprintf(t->media.album_artist, sizeof t->media.album_artist, "%s", artist);
  snprintf(t->media.album, sizeof t->media.album, "%s", album);
  snprintf(t->media.title, sizeof t->media.title, "%s", title);
  snprintf(t->media.codec, sizeof t->media.codec, "flac");
  int64_t id;
  assert_int_equal(db_library_track_upsert(db, t, &id), SS_OK);
  free(t);
}

static struct watch_release *rel(struct watch_releases *r, const char *artist,
                                 const char *title, const char *date,
                                 unsigned type, const char *sp, const char *mb,
                                 int tracks)
{
  struct watch_release *x = watch_releases_push(r);
  snprintf(x->artist, sizeof x->artist, "%s", artist);
  snprintf(x->title, sizeof x->title, "%s", title);
  snprintf(x->date, sizeof x->date, "%s", date);
  snprintf(x->spotify_id, sizeof x->spotify_id, "%s", sp);
  snprintf(x->mb_id, sizeof x->mb_id, "%s", mb);
  x->type = type;
  x->total_tracks = tracks;
  return x;
}

static struct watch watch_of(const char *name, const char *since,
                             unsigned types)
{
  struct watch w;
  memset(&w, 0, sizeof w);
  w.id = 1;
  snprintf(w.name, sizeof w.name, "%s", name);
  snprintf(w.spotify_artist_id, sizeof w.spotify_artist_id, "7w29UYBi0qsH");
  snprintf(w.since_date, sizeof w.since_date, "%s", since);
  w.release_types = types;
  w.auto_download = true;
  return w;
}

static void test_types(void **state)
{
  (void)state;
  assert_int_equal(watch_type_spotify("single", "single", 1), WATCH_SINGLE);
  assert_int_equal(watch_type_spotify("single", "single", 5), WATCH_EP);
  assert_int_equal(watch_type_spotify("", "album", 12), WATCH_ALBUM);
  assert_int_equal(watch_type_spotify("appears_on", "album", 12),
                   WATCH_APPEARS_ON);
  assert_int_equal(watch_type_spotify("compilation", "compilation", 30),
                   WATCH_COMPILATION);
  assert_int_equal(watch_type_spotify("podcast", "", 3), 0);
  assert_int_equal(watch_type_mb("Album", "Soundtrack|Compilation"),
                   WATCH_COMPILATION);
  assert_int_equal(watch_type_mb("Album", "Live"), WATCH_ALBUM);
  assert_int_equal(watch_type_mb("EP", ""), WATCH_EP);
  assert_int_equal(watch_type_mb("Broadcast", "Live"), 0);
  assert_int_equal(watch_type_mb("", ""), 0);
  assert_int_equal(watch_type_from_name("appears_on"), WATCH_APPEARS_ON);
  assert_int_equal(watch_type_from_name("Album"), 0);
  assert_string_equal(watch_type_name(WATCH_EP), "ep");
  assert_string_equal(watch_type_name(WATCH_EP | WATCH_ALBUM), "");
}

static void test_dates(void **state)
{
  (void)state;
  char out[16], why[160];
  assert_int_equal(watch_date_check("2026-12-24", "day", out, why, sizeof why),
                   SS_OK);
  assert_string_equal(out, "2026-12-24");
  assert_int_equal(watch_date_check("2026-12", "month", out, why, sizeof why),
                   SS_OK);
  assert_int_equal(watch_date_check("1997", "year", out, why, sizeof why),
                   SS_OK);
  assert_string_equal(out, "1997");
  assert_int_equal(watch_date_check("", "day", out, why, sizeof why), SS_OK);
  assert_string_equal(out, "");
  static const char *const absurd[][2] = {
    {"0000", "year"},       {"2026-02-30", "day"}, {"2026-13", "month"},
    {"99999-01-01", "day"}, {"1066-10-14", "day"}, {"2026-12-24", "month"},
    {"2026", "day"},        {"tomorrow", "day"},   {"2026-12-24", "week"},
  };
  for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
    why[0] = '\0';
    assert_int_equal(watch_date_check(absurd[i][0], absurd[i][1], out, why,
                                      sizeof why),
                     SS_EINVAL);
    assert_string_equal(out, "");
    if (!strstr(why, "date"))
      fail_msg("no readable reason for %s: \"%s\"", absurd[i][0], why);
  }
  /* new = on or after since, at the date's own precision */
  assert_true(watch_date_is_new("2026-12-05", "2026-12-05"));
  assert_true(watch_date_is_new("2026-12-24", "2026-12-05"));
  assert_false(watch_date_is_new("2026-12-04", "2026-12-05"));
  assert_true(watch_date_is_new("2026-12", "2026-12-05"));
  assert_false(watch_date_is_new("2026-11", "2026-12-05"));
  assert_true(watch_date_is_new("2026", "2026-12-05"));
  assert_false(watch_date_is_new("2025", "2026-12-05"));
  assert_true(watch_date_is_new("2027-01-01", "2026-12-05"));
  assert_false(watch_date_is_new("", "2026-12-05"));
}

static void test_spotify_page(void **state)
{
  (void)state;
  const char *body =
    "{\"href\":\"x\",\"limit\":10,\"offset\":0,\"total\":5,\"previous\":null,"
    "\"next\":\"https://api.spotify.com/v1/artists/7w29/albums?offset=10\","
    "\"items\":[null,"
    "{\"id\":\"al1\",\"name\":\"Fossora\",\"album_group\":\"album\","
    "\"album_type\":\"album\",\"release_date\":\"2022-09-30\","
    "\"release_date_precision\":\"day\",\"total_tracks\":13,"
    "\"artists\":[{\"id\":\"7w29\",\"name\":\"Bj\xc3\xb6rk\"}]},"
    "{\"id\":\"al2\",\"name\":\"Atopos\",\"album_group\":\"single\","
    "\"album_type\":\"single\",\"release_date\":\"2022\","
    "\"release_date_precision\":\"year\",\"total_tracks\":5,"
    "\"artists\":[{\"id\":\"7w29\",\"name\":\"Bj\xc3\xb6rk\"}]},"
    "{\"id\":\"al3\",\"name\":\"Broken\",\"album_group\":\"album\","
    "\"release_date\":\"0000-00-00\",\"release_date_precision\":\"day\","
    "\"artists\":[]},"
    "{\"name\":\"no id\"}]}";
  json_t *doc = json_loads(body, 0, NULL);
  assert_non_null(doc);
  struct watch_releases r = {0};
  char name[WANTED_TEXT_MAX] = "", why[160] = "";
  char *next = NULL;
  assert_int_equal(watch_spotify_page(doc, "7w29", &r, name, &next, why,
                                      sizeof why),
                   SS_OK);
  json_decref(doc);
  assert_string_equal(name, "Bj\xc3\xb6rk");
  assert_non_null(next);
  assert_non_null(strstr(next, "offset=10"));
  free(next);
  assert_int_equal(r.n, 3);
  assert_string_equal(r.v[0].spotify_id, "al1");
  assert_int_equal(r.v[0].type, WATCH_ALBUM);
  assert_string_equal(r.v[0].date, "2022-09-30");
  assert_int_equal(r.v[1].type, WATCH_EP); /* a 5-track "single" */
  assert_string_equal(r.v[1].date, "2022");
  assert_true(r.v[2].bad_date);
  assert_non_null(strstr(r.note, "Broken"));
  assert_non_null(strstr(r.note, "absurd release date"));
  watch_releases_free(&r);
  /* the wrong shape is refused with a reason */
  doc = json_loads("{\"items\":{\"id\":1},\"next\":null}", 0, NULL);
  assert_int_equal(watch_spotify_page(doc, "7w29", &r, NULL, &next, why,
                                      sizeof why),
                   SS_EPROTO);
  assert_non_null(strstr(why, "items is not a list"));
  json_decref(doc);
  doc = json_loads("{\"items\":[],\"next\":42}", 0, NULL);
  assert_int_equal(watch_spotify_page(doc, "7w29", &r, NULL, &next, why,
                                      sizeof why),
                   SS_EPROTO);
  assert_non_null(strstr(why, "next is not a link"));
  json_decref(doc);
  watch_releases_free(&r);
}

/* Björk: owned, old, new, the same release from both sources, a single
 * outside the types, a compilation (off by default), a bad date. */
static void test_select_new(void **state)
{
  struct db *db = db_of(state);
  for (int i = 0; i < 10; i++)
    own(db, "Bj\xc3\xb6rk", "Homogenic", "Track", i);
  struct ownership *o;
  assert_int_equal(ownership_load(db, &o), SS_OK);
  struct watch w = watch_of("Bj\xc3\xb6rk", "2026-12-05", WATCH_DEFAULT_TYPES);
  struct watch_releases r = {0};
  rel(&r, "Bj\xc3\xb6rk", "Homogenic", "2026-12-06", WATCH_ALBUM, "sp1", "",
      10); /* a reissue dated new, but owned */
  rel(&r, "Bj\xc3\xb6rk", "Fossora", "2022-09-30", WATCH_ALBUM, "sp2", "", 13);
  rel(&r, "Bj\xc3\xb6rk", "Nova", "2026-12-20", WATCH_ALBUM, "sp3", "", 11);
  rel(&r, "Bj\xc3\xb6rk", "Ancestress", "2026-12", WATCH_SINGLE, "sp4", "", 1);
  rel(&r, "Bj\xc3\xb6rk", "Greatest Hits", "2026-12-07", WATCH_COMPILATION,
      "sp5", "", 15);
  rel(&r, "Bj\xc3\xb6rk", "Undated", "", WATCH_ALBUM, "sp6", "", 9);
  rel(&r, "Bj\xc3\xb6rk", "Broken", "", WATCH_ALBUM, "sp7", "", 9)
    ->bad_date = true;
  /* MusicBrainz: the same new album in NFD with a deluxe suffix */
  rel(&r, "Bjo\xcc\x88rk", "Nova (Deluxe Edition)", "2026-12-20", WATCH_ALBUM,
      "", "0b0c0d0e-3333-4444-8555-00000000000a", 0);
  struct watch_pick p;
  watch_select(&w, WATCH_MODE_NEW, o, &r, &p);
  assert_int_equal(p.seen, 8);
  assert_int_equal(p.bad_date, 1);
  assert_int_equal(p.wrong_type, 1); /* the compilation */
  assert_int_equal(p.too_old, 2);    /* Fossora, the undated one */
  assert_int_equal(p.duplicate, 1);  /* Nova from MusicBrainz */
  assert_int_equal(p.owned, 1);      /* Homogenic */
  assert_int_equal(p.candidates, 2);
  assert_int_equal(r.n, 2);
  /* newest first: Nova (2026-12-20), then Ancestress (2026-12) */
  assert_string_equal(r.v[0].title, "Nova");
  assert_string_equal(r.v[0].spotify_id, "sp3");
  assert_string_equal(r.v[0].mb_id, "0b0c0d0e-3333-4444-8555-00000000000a");
  assert_string_equal(r.v[1].title, "Ancestress");
  size_t added, capped;
  assert_int_equal(watch_want(db, &w, WATCH_MODE_NEW, &r, 100, NOW, &added,
                              &capped),
                   SS_OK);
  assert_int_equal(added, 2);
  assert_int_equal(capped, 0);
  struct wanted_item v[4];
  size_t n;
  int64_t total;
  assert_int_equal(db_wanted_list(db, NULL, "watchlist", 0, v, 4, &n, &total),
                   SS_OK);
  assert_int_equal(total, 2);
  for (size_t i = 0; i < n; i++) {
    assert_true(v[i].auto_download);
    assert_int_equal(v[i].watch_id, 1);
    assert_int_equal(v[i].kind, WANTED_ALBUM);
    if (!strcmp(v[i].title, "Nova")) {
      assert_string_equal(v[i].mb_id, "0b0c0d0e-3333-4444-8555-00000000000a");
      assert_string_equal(v[i].release_type, "album");
      assert_int_equal(v[i].expected_tracks, 11);
    } else {
      assert_string_equal(v[i].release_type, "single");
    }
  }
  /* the same pass again adds nothing */
  assert_int_equal(watch_want(db, &w, WATCH_MODE_NEW, &r, 100, NOW, &added,
                              &capped),
                   SS_OK);
  assert_int_equal(added, 0);
  watch_releases_free(&r);
  ownership_free(o);
}

/* Discography: every date, the types chosen, compilation / appears_on
 * only when asked, and the same release from both sources once. */
static void test_select_discography(void **state)
{
  struct db *db = db_of(state);
  own(db, "AC/DC", "Back in Black", "Hells Bells", 1);
  struct ownership *o;
  assert_int_equal(ownership_load(db, &o), SS_OK);
  struct watch w = watch_of("AC/DC", "2026-12-05", WATCH_DEFAULT_TYPES);
  w.discography = true;
  struct watch_releases r = {0};
  rel(&r, "AC/DC", "Highway to Hell", "1979-07-27", WATCH_ALBUM, "sp1", "",
      10);
  rel(&r, "AC/DC", "Back in Black", "1980-07-25", WATCH_ALBUM, "sp2", "", 0);
  rel(&r, "AC/DC", "Backtracks", "2009-11-10", WATCH_COMPILATION, "sp3", "",
      0);
  rel(&r, "Various Artists", "Iron Man 2", "2010-04-19", WATCH_APPEARS_ON,
      "sp4", "", 0);
  rel(&r, "AC/DC", "Dirty Deeds", "", WATCH_ALBUM, "sp5", "", 9);
  rel(&r, "AC/DC", "Highway to Hell (2003 Remaster)", "1979-07-27",
      WATCH_ALBUM, "", "0b0c0d0e-3333-4444-8555-0000000000ac", 0);
  struct watch_pick p;
  watch_select(&w, WATCH_MODE_DISCOGRAPHY, o, &r, &p);
  assert_int_equal(p.wrong_type, 2); /* compilation, appears_on: off */
  assert_int_equal(p.owned, 1);      /* Back in Black, track count unknown */
  assert_int_equal(p.duplicate, 1);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.v[0].title, "Highway to Hell");
  assert_string_equal(r.v[0].mb_id, "0b0c0d0e-3333-4444-8555-0000000000ac");
  assert_string_equal(r.v[1].title, "Dirty Deeds"); /* dateless last */
  watch_releases_free(&r);
  /* with compilation and appears_on chosen they are wanted too */
  w.release_types |= WATCH_COMPILATION | WATCH_APPEARS_ON;
  rel(&r, "AC/DC", "Backtracks", "2009-11-10", WATCH_COMPILATION, "sp3", "",
      0);
  rel(&r, "Various Artists", "Iron Man 2", "2010-04-19", WATCH_APPEARS_ON,
      "sp4", "", 0);
  watch_select(&w, WATCH_MODE_DISCOGRAPHY, o, &r, &p);
  assert_int_equal(r.n, 2);
  size_t added, capped;
  assert_int_equal(watch_want(db, &w, WATCH_MODE_DISCOGRAPHY, &r, 10, NOW,
                              &added, &capped),
                   SS_OK);
  assert_int_equal(added, 2);
  struct wanted_item v[4];
  size_t n;
  int64_t total;
  assert_int_equal(db_wanted_list(db, NULL, "discography", 0, v, 4, &n,
                                  &total),
                   SS_OK);
  assert_int_equal(total, 2);
  watch_releases_free(&r);
  ownership_free(o);
}

/* 5 000 releases: the cap holds per run, the next run goes on with the
 * releases not yet wanted, nothing twice. */
/* A partly owned album: watch_select marks it, the track list page reader
 * takes Spotify's simplified tracks (null items and local files skipped,
 * malformed pages refused), and only the missing tracks are wanted, as
 * track items, whatever the spelling of the owned ones (NFD, feat.). */
static void test_partly_owned_album(void **state)
{
  struct db *db = db_of(state);
  own(db, "Bjo\xcc\x88rk", "Fossora", "Atopos (feat. Kasimyn)", 1);
  own(db, "Bj\xc3\xb6rk", "Fossora", "OVULE", 2);
  struct ownership *o;
  assert_int_equal(ownership_load(db, &o), SS_OK);
  struct watch w = watch_of("Bj\xc3\xb6rk", "2026-12-05", WATCH_DEFAULT_TYPES);
  struct watch_releases r = {0};
  rel(&r, "Bj\xc3\xb6rk", "Fossora", "2026-12-20", WATCH_ALBUM, "spF", "", 3);
  rel(&r, "Bj\xc3\xb6rk", "Nova", "2026-12-21", WATCH_ALBUM, "spN", "", 11);
  struct watch_pick p;
  watch_select(&w, WATCH_MODE_NEW, o, &r, &p);
  assert_int_equal(r.n, 2);
  assert_int_equal(p.owned, 0);
  assert_string_equal(r.v[1].title, "Fossora"); /* newest first */
  assert_true(r.v[1].partial);
  assert_false(r.v[0].partial); /* none of Nova is owned */

  json_error_t je;
  json_t *page = json_loads(
    "{\"href\":\"x\",\"items\":[{\"id\":\"t1\",\"name\":\"Atopos\"},null,"
    "{\"id\":null,\"name\":\"Local\",\"is_local\":true},"
    "{\"id\":\"t2\",\"name\":\"Ovule\"}],\"limit\":3,"
    "\"next\":\"https://api.spotify.com/v1/albums/spF/tracks?offset=3\","
    "\"offset\":0,\"previous\":null,\"total\":4}",
    0, &je);
  assert_non_null(page);
  struct watch_tracks t = {0};
  char *next = NULL, why[200];
  assert_int_equal(watch_tracks_page(page, &t, &next, why, sizeof why), SS_OK);
  json_decref(page);
  assert_int_equal(t.n, 2);
  assert_non_null(next);
  assert_non_null(strstr(next, "offset=3"));
  free(next);
  page = json_loads("{\"items\":[{\"id\":\"t3\",\"name\":\"Mycelia\"}],"
                    "\"next\":null}",
                    0, &je);
  assert_int_equal(watch_tracks_page(page, &t, &next, why, sizeof why), SS_OK);
  json_decref(page);
  assert_null(next);
  assert_int_equal(t.n, 3);
  static const char *const bad[] = {"[]", "{\"items\":{}}",
                                    "{\"items\":[],\"next\":5}"};
  for (size_t i = 0; i < 3; i++) {
    struct watch_tracks b = {0};
    page = json_loads(bad[i], 0, &je);
    assert_int_equal(watch_tracks_page(page, &b, &next, why, sizeof why),
                     SS_EPROTO);
    assert_non_null(strstr(why, "malformed track list"));
    json_decref(page);
    watch_tracks_free(&b);
  }

  size_t added = 0;
  assert_int_equal(watch_want_missing(db, &w, WATCH_MODE_NEW, &r.v[1], &t, o,
                                      10, NOW, &added),
                   SS_OK);
  assert_int_equal(added, 1);
  struct wanted_item v[4];
  size_t n = 0;
  int64_t total = 0;
  assert_int_equal(db_wanted_list(db, NULL, NULL, 0, v, 4, &n, &total), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].kind, WANTED_TRACK);
  assert_string_equal(v[0].title, "Mycelia");
  assert_string_equal(v[0].album, "Fossora");
  assert_string_equal(v[0].spotify_id, "t3");
  assert_string_equal(v[0].source, "watchlist");
  /* again: nothing new */
  assert_int_equal(watch_want_missing(db, &w, WATCH_MODE_NEW, &r.v[1], &t, o,
                                      10, NOW, &added),
                   SS_OK);
  assert_int_equal(added, 0);
  watch_tracks_free(&t);
  watch_releases_free(&r);
  ownership_free(o);
}

static void test_cap_over_5000_releases(void **state)
{
  struct db *db = db_of(state);
  struct ownership *o;
  assert_int_equal(ownership_load(db, &o), SS_OK);
  struct watch w = watch_of("\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
                            "2026-12-05", WATCH_DEFAULT_TYPES);
  size_t total_added = 0;
  for (int run = 0; run < 3; run++) {
    struct watch_releases r = {0};
    for (int i = 0; i < 5000; i++) {
      char title[64], date[16];
      snprintf(title, sizeof title, "\xe4\xbd\x9c\xe5\x93\x81 %d", i);
      snprintf(date, sizeof date, "%04d-%02d-%02d", 1970 + i % 50, 1 + i % 12,
               1 + i % 28);
      rel(&r, w.name, title, date, WATCH_ALBUM, "", "", 10);
    }
    struct watch_pick p;
    watch_select(&w, WATCH_MODE_DISCOGRAPHY, o, &r, &p);
    assert_int_equal(p.candidates, 5000);
    size_t added, capped;
    assert_int_equal(watch_want(db, &w, WATCH_MODE_DISCOGRAPHY, &r, 50, NOW,
                                &added, &capped),
                     SS_OK);
    assert_int_equal(added, 50);
    assert_true(capped > 0 && capped <= 5000 - 50);
    total_added += added;
    watch_releases_free(&r);
  }
  struct wanted_item one;
  size_t n;
  int64_t total;
  assert_int_equal(db_wanted_list(db, NULL, "discography", 0, &one, 1, &n,
                                  &total),
                   SS_OK);
  assert_int_equal(total, (int64_t)total_added);
  assert_int_equal(total, 150);
  ownership_free(o);
}

static void test_watch_store(void **state)
{
  struct db *db = db_of(state);
  struct sp_artist a[3] =
    {{.id = "7w29UYBi0qsHi5RN8CHbT7", .name = "Bj\xc3\xb6rk"},
     {.id = "1PmSkwaM8sPJ1a7OfHbNyA",
      .name = "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"},
     {.id = "711MCceyCBcFnzjGY4Q7Un", .name = "AC/DC"}};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_artists_replace(db, a, 3, true, NOW, &st),
                   SS_OK);
  char name[WANTED_TEXT_MAX];
  assert_int_equal(db_watch_artist_name(db, a[1].id, name, sizeof name),
                   SS_OK);
  assert_string_equal(name, a[1].name);
  /* Björk watched by hand, then unwatched: declined */
  struct watch w = watch_of("Bj\xc3\xb6rk", "", WATCH_ALBUM);
  snprintf(w.spotify_artist_id, sizeof w.spotify_artist_id, "%s", a[0].id);
  int64_t id;
  assert_int_equal(db_watch_add(db, &w, NOW, &id), SS_OK);
  assert_int_equal(db_watch_delete(db, id), SS_OK);
  int64_t added;
  assert_int_equal(db_watch_add_followed(db, NOW, &added), SS_OK);
  assert_int_equal(added, 2); /* not Björk: declined */
  assert_int_equal(db_watch_add_followed(db, NOW, &added), SS_OK);
  assert_int_equal(added, 0);
  char ids[4][WANTED_ID_MAX];
  size_t n;
  assert_int_equal(db_watch_artist_ids(db, ids, 4, &n), SS_OK);
  assert_int_equal(n, 2);
  assert_string_equal(ids[0], a[1].id); /* strcmp order */
  assert_string_equal(ids[1], a[2].id);
  /* watched again by hand: no longer declined */
  assert_int_equal(db_watch_add(db, &w, NOW, &id), SS_OK);
  assert_int_equal(db_watch_delete(db, id), SS_OK);
  assert_int_equal(db_watch_add(db, &w, NOW, &id), SS_OK);
  struct watch g;
  assert_int_equal(db_watch_get(db, id, &g), SS_OK);
  assert_int_equal(g.since_date[4], '-'); /* today, UTC */
  assert_string_equal(g.since_date, "2026-12-10");
  /* discography due list: only watches with discography on */
  struct watch due[4];
  assert_int_equal(db_watch_due_discography(db, NOW + 1, due, 4, &n), SS_OK);
  assert_int_equal(n, 0);
  g.discography = true;
  assert_int_equal(db_watch_update(db, &g), SS_OK);
  assert_int_equal(db_watch_due_discography(db, NOW + 1, due, 4, &n), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(db_watch_discography_checked(db, id, "", NOW), SS_OK);
  assert_int_equal(db_watch_due_discography(db, NOW, due, 4, &n), SS_OK);
  assert_int_equal(n, 0);
  assert_int_equal(db_watch_set_name(db, id, "<b>&\"'"), SS_OK);
  assert_int_equal(db_watch_get(db, id, &g), SS_OK);
  assert_string_equal(g.name, "<b>&\"'");
}

static void test_playlists(void **state)
{
  struct db *db = db_of(state);
  struct sp_playlist p[2] = {{.id = "37i9dQZF1DXcBWIGoYBM5M",
                              .name = "Sigur R\xc3\xb3s mix",
                              .snapshot_id = "s1",
                              .total = 3},
                             {.id = "5ABHKGoOzxkaa28ttQV9sE",
                              .name = "Off",
                              .snapshot_id = "s1",
                              .total = 1}};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_playlists_replace(db, p, 2, true, NOW, &st),
                   SS_OK);
  struct sp_entry e[3];
  memset(e, 0, sizeof e);
  e[0].track = (struct sp_track){.id = "tr0000000000000000001a",
                                 .name = "Hopp\xc3\xadpolla",
                                 .artist_names = "Sigur R\xc3\xb3s",
                                 .album_name = "Takk..."};
  e[1].track = (struct sp_track){.id = "tr0000000000000000002a",
                                 .name = "Gl\xc3\xb3s\xc3\xb3li",
                                 .artist_names = "Sigur R\xc3\xb3s, Bj\xc3"
                                                 "\xb6rk",
                                 .album_name = "\xc3\x81g\xc3\xa6tis"};
  e[2].is_local = true;
  e[2].track = (struct sp_track){.name = "Local", .artist_names = "Me"};
  assert_int_equal(db_spotify_playlist_entries_replace(db, p[0].id, "s1", e, 3,
                                                       NOW),
                   SS_OK);
  assert_int_equal(db_spotify_playlist_entries_replace(db, p[1].id, "s1", e, 1,
                                                       NOW),
                   SS_OK);
  own(db, "Sigur Ro\xcc\x81s", "Takk...", "Hoppi\xcc\x81polla", 1); /* NFD */
  char name[WANTED_TEXT_MAX];
  assert_int_equal(db_playlist_set_download_missing(db, "nope", true, NULL, 0),
                   SS_ENOTFOUND);
  struct ownership *o;
  assert_int_equal(ownership_load(db, &o), SS_OK);
  size_t added;
  assert_int_equal(watch_playlists(db, o, 10, NOW, &added), SS_OK);
  assert_int_equal(added, 0); /* no switch on yet */
  assert_int_equal(db_playlist_set_download_missing(db, p[0].id, true, name,
                                                    sizeof name),
                   SS_OK);
  assert_string_equal(name, p[0].name);
  char ids[4][WANTED_ID_MAX];
  size_t n;
  assert_int_equal(db_playlist_download_missing_ids(db, ids, 4, &n), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(watch_playlists(db, o, 10, NOW, &added), SS_OK);
  assert_int_equal(added, 1); /* Glósóli; Hoppípolla is owned (NFD) */
  struct wanted_item v[4];
  int64_t total;
  assert_int_equal(db_wanted_list(db, NULL, "playlist", 0, v, 4, &n, &total),
                   SS_OK);
  assert_int_equal(total, 1);
  assert_string_equal(v[0].title, "Gl\xc3\xb3s\xc3\xb3li");
  assert_string_equal(v[0].artist, "Sigur R\xc3\xb3s");
  assert_string_equal(v[0].spotify_id, "tr0000000000000000002a");
  assert_int_equal(v[0].kind, WANTED_TRACK);
  assert_true(v[0].auto_download);
  assert_int_equal(watch_playlists(db, o, 10, NOW, &added), SS_OK);
  assert_int_equal(added, 0); /* already on the list */
  ownership_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_types),
    cmocka_unit_test(test_dates),
    cmocka_unit_test(test_spotify_page),
    cmocka_unit_test_setup_teardown(test_select_new, setup, tstore_teardown),
    cmocka_unit_test_setup_teardown(test_select_discography, setup,
                                    tstore_teardown),
    cmocka_unit_test_setup_teardown(test_partly_owned_album, setup,
                                    tstore_teardown),
    cmocka_unit_test_setup_teardown(test_cap_over_5000_releases, setup,
                                    tstore_teardown),
    cmocka_unit_test_setup_teardown(test_watch_store, setup, tstore_teardown),
    cmocka_unit_test_setup_teardown(test_playlists, setup, tstore_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
