/*
 * test_spotify_sync.c - Spotify Sync through the real daemon and the fake:
 *
 *   a realistic library (quirks on: null items, local files, foreign
 *   playlists answering 403) stored exactly, with its pages; an unchanged
 *   second sync making only list calls, a changed playlist or liked song
 *   re-read alone; removals following the settings; malformed, truncated,
 *   wrongly shaped and huge replies failing only their type with a clear
 *   last_error and nothing half-written; a 429 deferring the other types,
 *   blocking every worker until Retry-After and shown as blocked_until;
 *   401 -> one refresh -> retry; disabling mid-sync stopping within a
 *   second; kill -9 mid-sync, restart: no duplicate, no lost row.
 *
 * The test reads the daemon's database directly (read-only) to count rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "itest.h"

/* A deadline against hangs: the 2000-artist library takes over a minute
 * under make asan on a loaded 2-core machine. */
#define WAIT_MS 180000
#define SLSKD_KEY "fake-slskd-api-key-0123456789"

/* ---- helpers ---- */

static void start_with(struct it_fixture *f,
                       const struct fake_spotify_library *l, const char *extra,
                       bool client)
{
  it_start_spotify(f, SLSKD_KEY, l, client, extra, NULL);
}

static void start(struct it_fixture *f, const struct fake_spotify_library *l,
                  const char *extra)
{
  start_with(f, l, extra, true);
}

/* Waits for a spotify_sync run after `runs` that did work: a start-up
 * run that found no login (skipped) does not count. */
static void wait_sync_after(struct it_fixture *f, long long runs)
{
  if (!it_wait_unit_runs(f, "spotify_sync", runs, IT_RUNS_WORKED, WAIT_MS,
                         false)) {
    json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
    char *text = json_dumps(it_worker(doc, "spotify_sync"), JSON_COMPACT);
    fprintf(stderr, "error: no finished sync run after %lld; last: %s\n", runs,
            text);
    free(text);
    json_decref(doc);
    fail();
  }
}

/* Logs in (which starts a sync) and waits for that first sync. */
static void login_and_sync(struct it_fixture *f)
{
  char loc[512];
  long long runs = it_unit_runs(f, "spotify_sync");
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                              false, loc, sizeof loc),
                   SS_OK);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=ok");
  wait_sync_after(f, runs);
}

/* "Sync now" and wait for it to finish. */
static void sync_now(struct it_fixture *f)
{
  long long runs = it_unit_runs(f, "spotify_sync");
  it_request_expect(f, "POST", "/api/spotify/sync", NULL, NULL, 202);
  wait_sync_after(f, runs);
}

static int64_t dbq(struct it_fixture *f, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open_v2(f->d.db_path, &db, SQLITE_OPEN_READONLY,
                                   NULL),
                   SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  else
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static json_t *sync_details(struct it_fixture *f, const char **status)
{
  static char st[16];
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  json_t *w = it_worker(doc, "spotify_sync");
  snprintf(st, sizeof st, "%s",
           json_string_value(json_object_get(w, "status")));
  if (status)
    *status = st;
  json_t *d = json_incref(json_object_get(w, "details"));
  json_decref(doc);
  return d;
}

static const char *stat_of(json_t *d, const char *type, const char *key)
{
  return json_string_value(
    json_object_get(json_object_get(json_object_get(d, "stats"), type), key));
}

/* Entries the fake serves over all owned playlists. */
static int64_t fake_entries(struct it_fixture *f, int playlists)
{
  int64_t n = 0;
  for (int p = 0; p < playlists; p++)
    n += fake_spotify_playlist_entries(f->fa.spotify, p);
  return n;
}

static void assert_no_duplicates(struct it_fixture *f)
{
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"),
                   dbq(f, "SELECT COUNT(*) FROM (SELECT DISTINCT"
                          " playlist_id, position FROM"
                          " spotify_playlist_entries)"));
  /* Each playlist holds exactly the entries its row says. */
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists p WHERE"
                          " p.entries_count <> (SELECT COUNT(*) FROM"
                          " spotify_playlist_entries e WHERE"
                          " e.playlist_id = p.id)"),
                   0);
}

static const struct fake_spotify_library realistic = {.artists = 260,
                                                      .playlists = 40,
                                                      .foreign_playlists = 5,
                                                      .entries = 1600,
                                                      .tracks = 700,
                                                      .liked = 230,
                                                      .saved_albums = 60,
                                                      .albums_per_artist = 12,
                                                      .quirks = true};

/* ---- tests ---- */

static void test_realistic_library(void **state)
{
  struct it_fixture *f = *state;
  start(f, &realistic, NULL);
  login_and_sync(f);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  assert_non_null(strstr(stat_of(d, "artists", "last_result"),
                         "260 followed artists (+260"));
  assert_non_null(strstr(stat_of(d, "playlists", "last_result"),
                         "45 playlists (+45, -0); entries read for 40, 5 "
                         "not readable"));
  assert_non_null(strstr(stat_of(d, "liked_songs", "last_result"),
                         "230 liked songs (+230, -0)"));
  assert_non_null(
    strstr(stat_of(d, "albums", "last_result"), "60 saved albums (+60, -0)"));
  /* Five artists per pass (the default), 12 releases each. */
  assert_non_null(strstr(stat_of(d, "artist_albums", "last_result"),
                         "5 artists read (60 releases); 255 never read"));
  assert_string_not_equal(json_string_value(
                            json_object_get(json_object_get(d, "last_syncs"),
                                            "artists")),
                          "noch nie");
  json_decref(d);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 260);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 45);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"),
                   fake_entries(f, 40));
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 230);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_albums"
                          " WHERE saved = 1"),
                   60);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artist_albums"), 60);
  /* The quirks: local files kept without a track link, unavailable items
   * kept as empty positions, others' playlists recorded as unreadable. */
  assert_true(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"
                     " WHERE is_local = 1 AND track_id = ''") > 0);
  assert_true(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"
                     " WHERE is_local = 0 AND track_id = ''") > 0);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"
                          " WHERE entries_error LIKE '%HTTP 403%'"),
                   5);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"
                          " WHERE entries_snapshot <> snapshot_id"),
                   0);
  /* Entries that carried only the deprecated `track` key are linked. */
  assert_true(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"
                     " WHERE position % 11 = 5 AND track_id <> ''") > 0);
  assert_no_duplicates(f);
  /* The pages show it, escaped. */
  assert_int_equal(hc_get(it_url(f, "/library/artists?offset=200"), &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(
    strstr(buf_cstr(&f->r.body), "K\xc3\xbcnstler &amp; &lt;Band&gt; &quot;"));
  assert_null(strstr(buf_cstr(&f->r.body), "<Band>"));
  assert_non_null(strstr(buf_cstr(&f->r.body), "260 followed artists"));
  assert_int_equal(hc_get(it_url(f, "/library/playlists"), &f->r), SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "entries not readable"));
  assert_int_equal(hc_get(it_url(f, "/library/albums"), &f->r), SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Saved Album 1"));
  assert_int_equal(hc_get(it_url(f, "/library/playlists?id="
                                    "pl00000000000000000001"),
                          &f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Local file"));
}

/* The size of the benchmark (issue 3): 2 000 artists, 500 playlists,
 * 20 000 entries, with every quirk. */
static void test_large_library(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 2000,
                                     .playlists = 480,
                                     .foreign_playlists = 20,
                                     .entries = 20000,
                                     .tracks = 8000,
                                     .liked = 1500,
                                     .saved_albums = 300,
                                     .quirks = true};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  json_decref(d);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 2000);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 500);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"),
                   20000);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 1500);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_albums"
                          " WHERE saved = 1"),
                   300);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"
                          " WHERE entries_error <> ''"),
                   20);
  /* Cursor paging ended on the last page: 40 pages of 50. */
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_FOLLOWING), 40);
  assert_no_duplicates(f);
}

static void test_unchanged_second_sync_only_lists(void **state)
{
  struct it_fixture *f = *state;
  start(f, &realistic, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  fake_spotify_reset_counts(f->fa.spotify);
  sync_now(f);
  /* Only the list calls: ceil(260/50) artists pages, one playlist page,
   * one first page each of liked songs and saved albums. */
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_FOLLOWING), 6);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_PLAYLISTS), 1);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_LIKED), 1);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_SAVED_ALBUMS), 1);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_ITEMS), 0);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_ARTIST_ALBUMS), 0);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN), 0);
  json_t *d = sync_details(f, NULL);
  assert_non_null(
    strstr(stat_of(d, "liked_songs", "last_result"), "unchanged"));
  json_decref(d);
  /* One changed playlist and one new liked song: read alone. */
  fake_spotify_touch_playlist(f->fa.spotify, 7);
  fake_spotify_like_one(f->fa.spotify);
  fake_spotify_reset_counts(f->fa.spotify);
  sync_now(f);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_ITEMS), 1);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_LIKED), 5);
  assert_int_equal(dbq(f, "SELECT entries_count FROM spotify_playlists"
                          " WHERE id = 'pl00000000000000000007'"),
                   fake_spotify_playlist_entries(f->fa.spotify, 7));
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 231);
  assert_no_duplicates(f);
}

static void test_removals_follow_settings(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 30,
                                     .playlists = 6,
                                     .entries = 60};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  lib.artists = 20;
  lib.playlists = 4;
  lib.entries = 40; /* the same 10 entries per remaining playlist */
  fake_spotify_set_library(f->fa.spotify, &lib);
  sync_now(f);
  /* Unfollowed artists are removed (default); playlists only unmarked. */
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 20);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 6);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"
                          " WHERE followed = 0"),
                   2);
  assert_int_equal(
    it_patch_settings(f, "{\"spotify.remove_unfollowed_playlists\":true,"
                         "\"spotify.remove_unfollowed_artists\":false}"),
    SS_OK);
  lib.artists = 10;
  fake_spotify_set_library(f->fa.spotify, &lib);
  sync_now(f);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 4);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"),
                   fake_entries(f, 4));
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 20);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"
                          " WHERE followed = 1"),
                   10);
}

static void test_bad_replies_fail_only_their_type(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 120,
                                     .playlists = 3,
                                     .entries = 30,
                                     .liked = 80,
                                     .saved_albums = 70};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  /* Page 2 of the artists is cut off, liked songs' first page is not JSON
   * of the right shape, saved albums' second page is far too large. */
  fake_spotify_fault(f->fa.spotify, FSP_FOLLOWING, 1, FSF_TRUNCATED, 1, 0);
  fake_spotify_fault(f->fa.spotify, FSP_LIKED, 0, FSF_SHAPE, 1, 0);
  fake_spotify_fault(f->fa.spotify, FSP_SAVED_ALBUMS, 1, FSF_HUGE, 1, 0);
  login_and_sync(f);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "error");
  IT_ASSERT_JSON_BOOL(d, "has_errors", true);
  assert_non_null(
    strstr(stat_of(d, "artists", "last_error"), "malformed reply"));
  assert_non_null(
    strstr(stat_of(d, "liked_songs", "last_error"), "items is not a list"));
  assert_non_null(
    strstr(stat_of(d, "albums", "last_error"), "larger than 512 KiB"));
  /* The type that worked is unaffected. */
  assert_null(stat_of(d, "playlists", "last_error"));
  assert_non_null(
    strstr(json_string_value(json_object_get(d, "last_error")), "artists: "));
  json_decref(d);
  /* Nothing half-written: page 1 of the artists was not stored. */
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 0);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 0);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_albums"), 0);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 3);
  /* Clean replies: everything syncs and the errors clear. */
  sync_now(f);
  d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  json_decref(d);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 120);
  /* A bad page in a re-sync keeps the previous list intact. */
  lib.artists = 160;
  fake_spotify_set_library(f->fa.spotify, &lib);
  fake_spotify_fault(f->fa.spotify, FSP_FOLLOWING, 2, FSF_MALFORMED, 1, 0);
  sync_now(f);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 120);
  d = sync_details(f, NULL);
  assert_non_null(
    strstr(stat_of(d, "artists", "last_error"), "malformed reply"));
  json_decref(d);
}

static bool not_blocked(json_t *doc, void *arg)
{
  (void)arg;
  json_t *d = json_object_get(it_worker(doc, "spotify_sync"), "details");
  return json_is_null(json_object_get(d, "blocked_until"));
}

static void test_429_honoured_by_every_worker(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 20,
                                     .playlists = 3,
                                     .entries = 30,
                                     .liked = 10,
                                     .saved_albums = 5};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  fake_spotify_fault(f->fa.spotify, FSP_PLAYLISTS, 0, FSF_429, 1, 3);
  login_and_sync(f);
  const char *status;
  json_t *d = sync_details(f, &status);
  /* Rate limited is not a failure; the types that did not run wait. */
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  assert_non_null(strstr(stat_of(d, "artists", "last_result"), "20 followed"));
  assert_non_null(strstr(stat_of(d, "playlists", "last_result"),
                         "deferred (rate limited until"));
  assert_non_null(strstr(stat_of(d, "liked_songs", "last_result"),
                         "deferred (rate limited until"));
  assert_non_null(strstr(stat_of(d, "albums", "last_result"),
                         "deferred (rate limited until"));
  assert_true(json_is_string(json_object_get(d, "blocked_until")));
  json_decref(d);
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  assert_true(json_is_string(
    json_object_get(json_object_get(it_worker(doc, "token_refresh"),
                                    "details"),
                    "blocked_until")));
  json_decref(doc);
  assert_int_equal(hc_get(it_url(f, "/api/workers/status/html"), &f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Spotify-Rate-Limit"));
  /* While blocked no worker reaches the Web API: a sync and a re-probe. */
  size_t before = fake_spotify_api_count(f->fa.spotify);
  sync_now(f);
  assert_int_equal(it_patch_settings(f, "{\"probe.timeout_seconds\":4}"),
                   SS_OK);
  doc = NULL;
  for (int64_t t = clock_mono_ms() + 3000; !doc && clock_mono_ms() < t;) {
    json_t *s = it_get_json(it_url(f, "/api/workers/services/detail"), NULL);
    const char *r = json_string_value(
      json_object_get(json_object_get(s, "spotify"), "reason"));
    if (r && strstr(r, "rate limited until"))
      doc = s;
    else
      json_decref(s);
  }
  assert_non_null(doc);
  IT_ASSERT_JSON_STR(json_object_get(doc, "spotify"), "reason_code",
                     "rate_limited");
  json_decref(doc);
  assert_int_equal(fake_spotify_api_count(f->fa.spotify), before);
  /* After Retry-After everything runs again. */
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), not_blocked, NULL,
                           6000, NULL));
  sync_now(f);
  d = sync_details(f, NULL);
  assert_non_null(
    strstr(stat_of(d, "playlists", "last_result"), "3 playlists"));
  json_decref(d);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 10);
}

static bool probe_blocked(json_t *doc, void *arg)
{
  (void)arg;
  json_t *sp = json_object_get(doc, "spotify");
  return json_is_string(json_object_get(sp, "blocked_until")) &&
         json_is_true(json_object_get(sp, "up"));
}

/* A 429 that the prober's own call receives blocks the host for every
 * worker too: from the 429 until Retry-After has passed no request of any
 * kind (probe, sync, token) reaches Spotify. */
static void test_retry_after_shared_by_prober_and_workers(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 3,
                                     .playlists = 1,
                                     .entries = 2};
  start(f, &lib,
        "[spotify]\nauto_sync_artist_albums = false\n"
        "sync_check_interval_seconds = 10\n");
  login_and_sync(f);
  struct fake_http *fh = fake_spotify_http(f->fa.spotify);
  uint64_t seq0 = fake_http_seq(fh);
  struct fake_script limited =
    {.status = 429,
     .headers = {"Retry-After: 3"},
     .body = "{\"error\":{\"status\":429,\"message\":\"API rate limit "
             "exceeded\"}}",
     .times = 1};
  fake_http_script(fh, NULL, "/v1/*", &limited);
  /* A settings change that alters the probe makes the prober call now. */
  assert_int_equal(it_patch_settings(f, "{\"probe.timeout_seconds\":4}"),
                   SS_OK);
  struct fake_logged hit;
  assert_true(fake_http_wait_after(fh, "GET", "/v1/*", seq0, 5000, &hit));
  int64_t window_end = hit.at_ms + 3000;
  /* The prober reports the block, with its end, without calling again. */
  assert_true(it_wait_json(it_url(f, "/api/workers/services/detail"),
                           probe_blocked, NULL, 3000, NULL));
  /* Every worker tries meanwhile; none may reach the fake. */
  int64_t next_push = 0;
  struct fake_logged e;
  while (clock_mono_ms() < window_end - 50) {
    if (clock_mono_ms() >= next_push) {
      assert_int_equal(it_run_now(f, "spotify_sync"), 202);
      assert_int_equal(it_run_now(f, "token_refresh"), 202);
      next_push = clock_mono_ms() + 300;
    }
    if (fake_http_wait_after(fh, NULL, "*", hit.seq, 0, &e)) {
      fprintf(stderr,
              "error: %s %s reached Spotify %lld ms after the 429 "
              "(Retry-After: 3)\n",
              e.method, e.path, (long long)(e.at_ms - hit.at_ms));
      fail();
    }
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  /* Afterwards Spotify is called again, and the sync works. */
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), not_blocked, NULL,
                           6000, NULL));
  sync_now(f);
  assert_true(fake_http_wait_after(fh, NULL, "/v1/*", hit.seq, 5000, &e));
  assert_true(e.at_ms >= window_end);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  json_decref(d);
}

static void test_401_refresh_and_retry(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 5,
                                     .playlists = 1,
                                     .entries = 5};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  fake_spotify_expire_access_token(f->fa.spotify);
  fake_spotify_reset_counts(f->fa.spotify);
  sync_now(f);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN_REFRESH), 1);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  json_decref(d);
}

/* ---- Run now, honest status, notes that follow the configuration ---- */

static void run_unit_now(struct it_fixture *f, const char *unit)
{
  assert_int_equal(it_run_now(f, unit), 202);
}

static void test_run_now_is_a_full_pass(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 4,
                                     .playlists = 2,
                                     .entries = 6,
                                     .liked = 3,
                                     .saved_albums = 2};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  /* Nothing is due now (intervals of 5-15 min); Run now syncs every
   * enabled type anyway. */
  fake_spotify_reset_counts(f->fa.spotify);
  long long runs = it_unit_runs(f, "spotify_sync");
  run_unit_now(f, "spotify_sync");
  wait_sync_after(f, runs);
  assert_true(fake_spotify_count(f->fa.spotify, FSP_FOLLOWING) >= 1);
  assert_true(fake_spotify_count(f->fa.spotify, FSP_PLAYLISTS) >= 1);
  assert_true(fake_spotify_count(f->fa.spotify, FSP_LIKED) >= 1);
  assert_true(fake_spotify_count(f->fa.spotify, FSP_SAVED_ALBUMS) >= 1);
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *newest = json_array_get(json_object_get(it_unit(doc, "spotify_sync"),
                                                  "history"),
                                  0);
  IT_ASSERT_JSON_STR(newest, "result", "ok");
  json_decref(doc);
}

static const char *unit_field(struct it_fixture *f, const char *unit,
                              const char *key, char *out, size_t n)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  const char *v = json_string_value(json_object_get(it_unit(doc, unit), key));
  snprintf(out, n, "%s", v ? v : "");
  json_decref(doc);
  return out;
}

/* The worker's status and details.last_error in the contract's JSON, and
 * the sidebar's data-status for it. */
static void assert_worker_error(struct it_fixture *f, const char *worker,
                                const char *needle)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  json_t *w = it_worker(doc, worker);
  IT_ASSERT_JSON_STR(w, "status", "error");
  const char *err = json_string_value(
    json_object_get(json_object_get(w, "details"), "last_error"));
  if (!err || !strstr(err, needle))
    fprintf(stderr, "error: %s last_error: %s (wanted \"%s\")\n", worker,
            err ? err : "null", needle);
  assert_non_null(err);
  assert_non_null(strstr(err, needle));
  json_decref(doc);
  char want[96];
  snprintf(want, sizeof want, "data-worker=\"%s\" data-status=\"error\"",
           worker);
  assert_int_equal(hc_get(it_url(f, "/api/workers/status/html"), &f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), want));
  assert_non_null(strstr(buf_cstr(&f->r.body), "Fehler: "));
}

static void test_ongoing_5xx_stays_error(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 4,
                                     .playlists = 2,
                                     .entries = 6};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  /* Spotify answers 500 to everything from now on. */
  struct fake_script down =
    {.status = 500,
     .body = "{\"error\":{\"status\":500,\"message\":\"Server error\"}}"};
  fake_http_script(fake_spotify_http(f->fa.spotify), NULL, "/v1/*", &down);
  long long runs = it_unit_runs(f, "spotify_sync");
  run_unit_now(f, "spotify_sync");
  wait_sync_after(f, runs);
  assert_worker_error(f, "spotify_sync", "HTTP 500");
  /* Run now goes past the backoff ladder and tries again (the scheduled
   * runs inside it: test_spotify_down_defers): still an error that says
   * why, never idle with last_error null. */
  for (int i = 0; i < 2; i++) {
    runs = it_unit_runs(f, "spotify_sync");
    run_unit_now(f, "spotify_sync");
    wait_sync_after(f, runs);
    assert_worker_error(f, "spotify_sync", "HTTP 500");
    char res[32];
    assert_string_equal(unit_field(f, "spotify_sync", "last_result", res,
                                   sizeof res),
                        "error");
  }
  /* A connection that drops without an answer is the same. */
  struct fake_script drop = {.drop = true};
  fake_http_unscript(fake_spotify_http(f->fa.spotify), NULL, "/v1/*");
  fake_http_script(fake_spotify_http(f->fa.spotify), NULL, "/v1/*", &drop);
  runs = it_unit_runs(f, "spotify_sync");
  run_unit_now(f, "spotify_sync");
  wait_sync_after(f, runs);
  assert_worker_error(f, "spotify_sync", "unreachable");
}

/* services/detail's spotify entry (new reference). */
static json_t *spotify_service(struct it_fixture *f)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers/services/detail"), NULL);
  json_t *s = json_incref(json_object_get(doc, "spotify"));
  json_decref(doc);
  assert_non_null(s);
  return s;
}

/* Runs of unit with result since since_ms in its history. */
static int runs_with(struct it_fixture *f, const char *unit,
                     const char *result, int64_t since_ms)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  size_t i;
  json_t *e;
  int n = 0;
  json_array_foreach(json_object_get(it_unit(doc, unit), "history"), i, e)
  {
    const char *r = json_string_value(json_object_get(e, "result"));
    if (r && !strcmp(r, result) &&
        json_integer_value(json_object_get(e, "last_started_ms")) >= since_ms)
      n += (int)json_integer_value(json_object_get(e, "repeats"));
  }
  json_decref(doc);
  return n;
}

static const char *worker_status(struct it_fixture *f, const char *worker)
{
  static char st[16];
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  snprintf(st, sizeof st, "%s",
           json_string_value(
             json_object_get(it_worker(doc, worker), "status")));
  json_decref(doc);
  return st;
}

/* Spotify down (every call 503): the run that meets it fails once and
 * climbs Spotify's ladder, which services/detail and /metrics show; the
 * scheduled runs of Spotify Sync and Token Refresh inside it are deferred
 * (no request, no new error); run now still tries; one success steps the
 * ladder back to zero. */
static void test_spotify_down_defers(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 3,
                                     .playlists = 1,
                                     .entries = 2};
  /* both units every 300 ms (the test build's TESTHOOK_MS) */
  static const char *const env[] =
    {"SOULSPOT_TEST_MS=spotify_sync=300,token_refresh=300", NULL};
  it_start_spotify(f, SLSKD_KEY, &lib, true,
                   "[spotify]\nauto_sync_artist_albums = false\n"
                   "token_refresh_threshold_minutes = 1\n",
                   env);
  fake_spotify_set_expires_in(f->fa.spotify, 1800);
  char loc[512];
  int64_t t0 = clock_wall_ms();
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                              false, loc, sizeof loc),
                   SS_OK);
  assert_true(it_wait_run(f, "spotify_sync", "ok", NULL, t0, WAIT_MS));

  struct fake_script down =
    {.status = 503,
     .body = "{\"error\":{\"status\":503,\"message\":\"Service "
             "unavailable\"}}"};
  struct fake_http *fh = fake_spotify_http(f->fa.spotify);
  fake_http_script(fh, NULL, "/v1/*", &down);
  fake_spotify_fault(f->fa.spotify, FSP_TOKEN, 0, FSF_503, 0, 0);
  int64_t t1 = clock_wall_ms();
  assert_int_equal(it_run_now_queued(f, "spotify_sync"), 202);
  assert_true(
    it_wait_run(f, "spotify_sync", "error", "HTTP 503", t1, WAIT_MS));
  /* Usually 1; another caller (the prober's token check) may have met
   * the fault first.  From here on the count must not move on its own. */
  json_t *s = spotify_service(f);
  json_int_t n1 = json_integer_value(json_object_get(s, "failures_in_a_row"));
  assert_true(n1 >= 1 && n1 <= 2);
  assert_true(json_is_string(json_object_get(s, "backoff_until")));
  json_decref(s);
  assert_int_equal(hc_get(it_url(f, "/metrics"), &f->r), SS_OK);
  assert_null(strstr(buf_cstr(&f->r.body),
                     "soulspotd_service_blocked_until_timestamp_seconds{"
                     "service=\"spotify\"} 0\n"));
  uint64_t seq = fake_http_seq(fh); /* every request, scripted or not */

  /* Scheduled runs inside the ladder: Spotify Sync deferred, still in
   * error with its reason... */
  int64_t t2 = clock_wall_ms();
  char deferred[96];
  snprintf(deferred, sizeof deferred,
           "Spotify unavailable %lld time(s) in a row; next try after",
           (long long)n1);
  assert_true(
    it_wait_run(f, "spotify_sync", "deferred", deferred, t2, WAIT_MS));
  assert_worker_error(f, "spotify_sync", "HTTP 503");
  /* ... and Token Refresh, once a refresh is due, deferred, not error. */
  assert_int_equal(
    it_patch_settings(f, "{\"spotify.token_refresh_threshold_minutes\":55}"),
    SS_OK);
  assert_true(it_wait_run(f, "token_refresh", "deferred", "next try after", t2,
                          WAIT_MS));
  assert_string_equal(worker_status(f, "token_refresh"), "idle");
  /* No request meanwhile, no error storm: one error in the history. */
  assert_int_equal(fake_http_seq(fh), seq);
  assert_int_equal(runs_with(f, "spotify_sync", "error", t1), 1);
  assert_int_equal(runs_with(f, "token_refresh", "error", t1), 0);
  s = spotify_service(f);
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", n1);
  json_decref(s);

  /* Run now still tries: a request, the same error, one step up. */
  int64_t t3 = clock_wall_ms();
  assert_int_equal(it_run_now_queued(f, "spotify_sync"), 202);
  assert_true(it_wait_run(f, "spotify_sync", "error", NULL, t3, WAIT_MS));
  assert_true(fake_http_seq(fh) > seq);
  s = spotify_service(f);
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", n1 + 1);
  json_decref(s);

  /* Spotify back: one success steps back to zero, both units recover. */
  fake_http_unscript(fh, NULL, "/v1/*");
  fake_spotify_clear_faults(f->fa.spotify);
  int64_t t4 = clock_wall_ms();
  assert_int_equal(it_run_now_queued(f, "spotify_sync"), 202);
  assert_true(it_wait_run(f, "spotify_sync", "ok", NULL, t4, WAIT_MS));
  s = spotify_service(f);
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 0);
  assert_true(json_is_null(json_object_get(s, "backoff_until")));
  json_decref(s);
  assert_true(it_wait_run(f, "token_refresh", "ok", "refreshed", t4, WAIT_MS));
  assert_string_equal(worker_status(f, "spotify_sync"), "idle");
}

static bool token_refresh_error(json_t *doc, void *arg)
{
  (void)arg;
  const char *s = json_string_value(
    json_object_get(it_worker(doc, "token_refresh"), "status"));
  return s && !strcmp(s, "error");
}

static void test_token_endpoint_down_shows_on_token_refresh(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 4,
                                     .playlists = 1,
                                     .entries = 3};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  login_and_sync(f);
  /* The access token is no longer accepted and the token endpoint is
   * down: every Web API call gets 401, no refresh succeeds. */
  fake_spotify_expire_access_token(f->fa.spotify);
  fake_spotify_fault(f->fa.spotify, FSP_TOKEN, 0, FSF_503, 0, 0);
  long long runs = it_unit_runs(f, "spotify_sync");
  run_unit_now(f, "spotify_sync");
  wait_sync_after(f, runs);
  assert_worker_error(f, "spotify_sync", "503");
  /* Token Refresh says so at once, not "still valid" for its 5 min. */
  assert_true(it_wait_json(it_url(f, "/api/workers/status"),
                           token_refresh_error, NULL, 5000, NULL));
  assert_worker_error(f, "token_refresh", "503");
}

/* details.note of a worker ("" when none). */
static const char *worker_note(struct it_fixture *f, const char *worker,
                               char *out, size_t n)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  const char *v = json_string_value(
    json_object_get(json_object_get(it_worker(doc, worker), "details"),
                    "note"));
  snprintf(out, n, "%s", v ? v : "");
  json_decref(doc);
  return out;
}

struct note_wait {
  struct it_fixture *f;
  const char *worker;
  const char *needle; /* NULL: no note */
};

static bool note_is(void *arg)
{
  struct note_wait *w = arg;
  char note[256];
  worker_note(w->f, w->worker, note, sizeof note);
  return w->needle ? strstr(note, w->needle) != NULL : note[0] == '\0';
}

static void wait_note(struct it_fixture *f, const char *worker,
                      const char *needle)
{
  struct note_wait w = {f, worker, needle};
  if (!it_wait_until(note_is, &w, 3000)) {
    char note[256];
    fprintf(stderr, "error: %s note \"%s\", wanted %s%s%s\n", worker,
            worker_note(f, worker, note, sizeof note), needle ? "\"" : "",
            needle ? needle : "none", needle ? "\"" : "");
    fail();
  }
}

static void test_notes_follow_settings_and_login(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 2};
  /* Long intervals: only a re-evaluation can change the notes in time. */
  start_with(f, &lib,
             "[spotify]\ntoken_check_interval_seconds = 3600\n"
             "[download]\npoll_interval_seconds = 300\n",
             false);
  wait_note(f, "token_refresh", "client id not configured");
  wait_note(f, "download_monitor", "slskd not configured");
  assert_int_equal(it_patch_settings(f, "{\"spotify.client_id\":"
                                        "\"test-client-id\","
                                        "\"spotify.client_secret\":"
                                        "\"test-client-secret\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  wait_note(f, "token_refresh", "account not connected");
  char loc[512];
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                              false, loc, sizeof loc),
                   SS_OK);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=ok");
  wait_note(f, "token_refresh", NULL);
  char res[32];
  assert_string_equal(unit_field(f, "token_refresh", "last_result", res,
                                 sizeof res),
                      "ok");
  /* slskd configured: the Download Monitor polls it and the note goes. */
  char body[512];
  snprintf(body, sizeof body,
           "{\"slskd.url\":\"%s\",\"slskd.api_key\":"
           "\"" SLSKD_KEY "\"}",
           fake_slskd_url(f->fa.slskd));
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  wait_note(f, "download_monitor", NULL);
  assert_string_equal(unit_field(f, "download_monitor", "last_result", res,
                                 sizeof res),
                      "ok");
}

static bool stopped(json_t *doc, void *arg)
{
  (void)arg;
  const char *s = json_string_value(
    json_object_get(it_worker(doc, "spotify_sync"), "status"));
  return s && !strcmp(s, "stopped");
}

static bool items_started(void *arg)
{
  struct it_fixture *f = arg;
  return fake_spotify_count(f->fa.spotify, FSP_ITEMS) >= 5;
}

/* The first spotify_sync run has ended, canceled. */
static bool first_run_canceled(json_t *doc, void *arg)
{
  (void)arg;
  json_t *u = it_unit(doc, "spotify_sync");
  const char *r = json_string_value(json_object_get(u, "last_result"));
  return json_integer_value(json_object_get(u, "runs")) >= 1 && r &&
         !strcmp(r, "canceled");
}

static void test_disable_mid_sync(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 5,
                                     .playlists = 60,
                                     .entries = 1200};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  struct fake_script slow = {.delay_ms = 40};
  fake_http_script(fake_spotify_http(f->fa.spotify), "GET", "/v1/playlists/*",
                   &slow);
  char loc[512];
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                              false, loc, sizeof loc),
                   SS_OK);
  assert_true(it_wait_until(items_started, f, WAIT_MS));
  int64_t elapsed = 0;
  assert_int_equal(it_patch_settings(f, "{\"spotify.auto_sync_enabled\":"
                                        "false}"),
                   SS_OK);
  assert_true(
    it_wait_json(it_url(f, "/api/workers/status"), stopped, NULL, 3000, NULL));
  /* The run itself ends at the next page boundary, well within 1 s. */
  assert_true(it_wait_json(it_url(f, "/api/workers"), first_run_canceled, NULL,
                           3000, &elapsed));
  assert_true(elapsed < 1000);
  size_t items = fake_spotify_count(f->fa.spotify, FSP_ITEMS);
  assert_true(items < 60);
  assert_no_duplicates(f);
  /* Nothing runs while disabled. */
  it_request_expect(f, "POST", "/api/spotify/sync", NULL, NULL, 409);
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_ITEMS), items);
}

static bool entries_between(void *arg)
{
  struct it_fixture *f = arg;
  int64_t n = dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries");
  return n > 400;
}

static void test_kill9_mid_sync_then_restart(void **state)
{
  struct it_fixture *f = *state;
  struct fake_spotify_library lib = {.artists = 50,
                                     .playlists = 120,
                                     .entries = 4800,
                                     .tracks = 2000,
                                     .liked = 40};
  start(f, &lib, "[spotify]\nauto_sync_artist_albums = false\n");
  struct fake_script slow = {.delay_ms = 15};
  fake_http_script(fake_spotify_http(f->fa.spotify), "GET", "/v1/playlists/*",
                   &slow);
  char loc[512];
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                              false, loc, sizeof loc),
                   SS_OK);
  assert_true(it_wait_until(entries_between, f, WAIT_MS));
  daemon_kill9(&f->d);
  int64_t partial = dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries");
  assert_true(partial < fake_entries(f, 120));
  assert_no_duplicates(f);
  fake_http_unscript(fake_spotify_http(f->fa.spotify), "GET",
                     "/v1/playlists/*");
  /* The login survived; the unfinished types are due at once. */
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  char body[256];
  snprintf(body, sizeof body,
           "{\"spotify.redirect_uri\":\"%s/auth/spotify/callback\"}",
           f->d.url);
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  /* The interrupted run is due again within the check interval; "Sync
   * now" saves the wait. */
  sync_now(f);
  const char *status;
  json_t *d = sync_details(f, &status);
  assert_string_equal(status, "idle");
  IT_ASSERT_JSON_BOOL(d, "account_connected", true);
  json_decref(d);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"), 120);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlist_entries"),
                   fake_entries(f, 120));
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_artists"), 50);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_liked_songs"), 40);
  assert_int_equal(dbq(f, "SELECT COUNT(*) FROM spotify_playlists"
                          " WHERE entries_snapshot <> snapshot_id"),
                   0);
  assert_no_duplicates(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, it_teardown)
    T(test_realistic_library),
    T(test_large_library),
    T(test_unchanged_second_sync_only_lists),
    T(test_removals_follow_settings),
    T(test_bad_replies_fail_only_their_type),
    T(test_429_honoured_by_every_worker),
    T(test_retry_after_shared_by_prober_and_workers),
    T(test_401_refresh_and_retry),
    T(test_disable_mid_sync),
    T(test_kill9_mid_sync_then_restart),
    T(test_run_now_is_a_full_pass),
    T(test_ongoing_5xx_stays_error),
    T(test_spotify_down_defers),
    T(test_token_endpoint_down_shows_on_token_refresh),
    T(test_notes_follow_settings_and_login),
#undef T
  };
  return cmocka_run_group_tests_name("integration/spotify_sync", tests, NULL,
                                     NULL);
}
