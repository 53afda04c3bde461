/*
 * spotify_bench.c - driver of bench/spotify_sync.sh (not a test).
 *
 * Starts the fake Spotify with a generated library (default 2 000 followed
 * artists, 500 playlists, 20 000 playlist entries), a real soulspotd
 * pointed at it (artist albums, liked songs and saved albums off unless
 * asked for), logs in through the browser flow, and measures:
 *   1. the first sync: requests per endpoint and wall time (the unit's own
 *      last_duration_ms, and login-to-finished as seen from outside);
 *   2. a second sync with nothing changed ("Sync now"): requests and time;
 *   3. a third after touching one playlist.
 * Then it checks the store holds exactly the library and prints Markdown.
 *
 *   spotify_bench [ARTISTS PLAYLISTS ENTRIES]
 * The soulspotd under test is $SOULSPOT_BUILD/soulspotd (daemon.c).
 * Threading: one thread; the fake serves on its own threads.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "daemon.h"
#include "fake_all.h"
#include "http_test_client.h"

#define WAIT_MS 300000

struct unit_info {
  long long runs;
  long long duration_ms;
  char state[16];
};

static int unit_info(const struct test_daemon *d, struct unit_info *out)
{
  char url[256];
  struct hc_resp r = {0};
  daemon_urlf(d, url, sizeof url, "/api/workers");
  int rc = hc_get(url, &r);
  json_t *doc = rc == SS_OK
                  ? json_loadb(buf_cstr(&r.body), r.body.len, 0, NULL)
                  : NULL;
  hc_resp_free(&r);
  json_t *units = json_object_get(doc, "units");
  if (!json_is_array(units))
    units = doc;
  size_t i;
  json_t *u;
  memset(out, 0, sizeof *out);
  json_array_foreach(units, i, u)
  {
    const char *key = json_string_value(json_object_get(u, "key"));
    if (!key || strcmp(key, "spotify_sync") != 0)
      continue;
    out->runs = json_integer_value(json_object_get(u, "runs"));
    out->duration_ms = json_integer_value(
      json_object_get(u, "last_duration_ms"));
    snprintf(out->state, sizeof out->state, "%s",
             json_string_value(json_object_get(u, "state")));
  }
  json_decref(doc);
  return doc ? SS_OK : SS_EIO;
}

static void nap(void)
{
  struct timespec ts = {0, 5 * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits until the sync unit has finished a run after `runs`. */
static int wait_run(const struct test_daemon *d, long long runs,
                    struct unit_info *out)
{
  int64_t deadline = clock_mono_ms() + WAIT_MS;
  while (clock_mono_ms() < deadline) {
    if (unit_info(d, out) == SS_OK && out->runs > runs &&
        strcmp(out->state, "active") != 0)
      return SS_OK;
    nap();
  }
  return SS_EIO;
}

struct measure {
  const char *label;
  long long unit_ms, outside_ms;
  size_t n[FSP__COUNT];
};

static void record(struct fake_spotify *fs, struct measure *m)
{
  for (int e = 0; e < FSP__COUNT; e++)
    m->n[e] = fake_spotify_count(fs, (enum fake_spotify_endpoint)e);
}

static int sync_now(const struct test_daemon *d, struct fake_spotify *fs,
                    struct measure *m)
{
  struct unit_info before, after;
  struct hc_resp r = {0};
  char url[256];
  unit_info(d, &before);
  fake_spotify_reset_counts(fs);
  daemon_urlf(d, url, sizeof url, "/api/spotify/sync");
  int64_t t0 = clock_mono_ms();
  int rc = hc_request("POST", url, NULL, NULL, &r);
  hc_resp_free(&r);
  if (rc == SS_OK)
    rc = wait_run(d, before.runs, &after);
  m->outside_ms = clock_mono_ms() - t0;
  m->unit_ms = after.duration_ms;
  record(fs, m);
  return rc;
}

static long long count_rows(const char *db_path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  long long v = -1;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void print_row(const struct measure *m)
{
  size_t sync = m->n[FSP_FOLLOWING] + m->n[FSP_PLAYLISTS] + m->n[FSP_ITEMS] +
                m->n[FSP_LIKED] + m->n[FSP_SAVED_ALBUMS] +
                m->n[FSP_ARTIST_ALBUMS];
  printf("| %s | %zu | %zu | %zu | %zu | %zu | %zu | %zu | %lld | %lld |\n",
         m->label, sync, m->n[FSP_FOLLOWING], m->n[FSP_PLAYLISTS],
         m->n[FSP_ITEMS], m->n[FSP_LIKED] + m->n[FSP_SAVED_ALBUMS],
         m->n[FSP_ARTIST_ALBUMS], m->n[FSP_TOKEN], m->unit_ms, m->outside_ms);
}

int main(int argc, char **argv)
{
  struct fake_spotify_library lib = {.artists = argc > 1 ? atoi(argv[1])
                                                         : 2000,
                                     .playlists = argc > 2 ? atoi(argv[2])
                                                           : 500,
                                     .entries = argc > 3 ? atoi(argv[3])
                                                         : 20000,
                                     .tracks = 8000};
  struct fake_spotify *fs = NULL;
  struct test_daemon d = {0};
  struct buf ini;
  char body[256], url[256], loc[512];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (fake_spotify_start(&fs, 0, NULL) != SS_OK)
    return 1;
  fake_spotify_set_library(fs, &lib);
  buf_init(&ini, 4096);
  buf_printf(&ini,
             "[spotify]\naccounts_url = %s\napi_url = %s\n"
             "client_id = test-client-id\nclient_secret = test-client-secret\n"
             "auto_sync_artist_albums = false\nauto_sync_liked_songs = false\n"
             "auto_sync_saved_albums = false\n"
             "[probe]\ninterval_seconds = 3600\n[log]\nlevel = warn\n",
             fake_spotify_accounts_url(fs), fake_spotify_api_url(fs));
  int rc = daemon_start(&d, buf_cstr(&ini), NULL);
  buf_free(&ini);
  if (rc != SS_OK)
    return 1;
  struct hc_resp r = {0};
  const char *const json[] = {"Content-Type: application/json", NULL};
  snprintf(body, sizeof body,
           "{\"spotify.redirect_uri\":\"%s/auth/spotify/callback\"}", d.url);
  daemon_urlf(&d, url, sizeof url, "/api/settings");
  hc_request("PATCH", url, json, body, &r);
  hc_resp_free(&r);

  struct measure m[3] = {{.label = "first sync (login)"},
                         {.label = "second sync, unchanged"},
                         {.label = "third sync, 1 playlist changed"}};
  struct unit_info before, after;
  unit_info(&d, &before);
  fake_spotify_reset_counts(fs);
  int64_t t0 = clock_mono_ms();
  rc = fake_spotify_browser_login(fs, d.url, false, false, loc, sizeof loc);
  if (rc == SS_OK && strstr(loc, "spotify_login=ok"))
    rc = wait_run(&d, before.runs, &after);
  else
    rc = SS_EIO;
  m[0].outside_ms = clock_mono_ms() - t0;
  m[0].unit_ms = after.duration_ms;
  record(fs, &m[0]);
  if (rc == SS_OK)
    rc = sync_now(&d, fs, &m[1]);
  fake_spotify_touch_playlist(fs, 42);
  if (rc == SS_OK)
    rc = sync_now(&d, fs, &m[2]);

  long long artists = count_rows(d.db_path, "SELECT COUNT(*) FROM "
                                            "spotify_artists");
  long long playlists = count_rows(d.db_path, "SELECT COUNT(*) FROM "
                                              "spotify_playlists");
  long long entries = count_rows(d.db_path, "SELECT COUNT(*) FROM "
                                            "spotify_playlist_entries");
  long long expect = 0;
  for (int p = 0; p < lib.playlists; p++)
    expect += fake_spotify_playlist_entries(fs, p);

  printf("Library: %d followed artists, %d playlists, %d entries "
         "(%lld after the change); stored: %lld artists, %lld playlists, "
         "%lld entries -> %s\n\n",
         lib.artists, lib.playlists, lib.entries, expect, artists, playlists,
         entries,
         artists == lib.artists && playlists == lib.playlists &&
             entries == expect
           ? "exact"
           : "MISMATCH");
  printf("| run | sync requests | /me/following | /me/playlists | "
         "/playlists/{id}/items | liked+saved | artist albums | token | "
         "sync run (ms) | outside (ms) |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (int i = 0; i < 3; i++)
    print_row(&m[i]);
  daemon_stop(&d);
  daemon_cleanup(&d);
  fake_spotify_stop(fs);
  curl_global_cleanup();
  return rc == SS_OK && entries == expect ? 0 : 1;
}
