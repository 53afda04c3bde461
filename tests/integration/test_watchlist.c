/*
 * test_watchlist.c - the Watchlist, Discography and Playlist sources end to
 * end against a real soulspotd and the fakes: the /api/watchlist contract
 * (create, 409, 400 reasons, PATCH, DELETE, the cross-site check), watch
 * Björk / 坂本龍一 / AC/DC -> the fake Spotify publishes new releases ->
 * the watchlist unit wants exactly the new, not owned ones (an old one
 * and an absurd date not; the latter with a reason) -> with auto download
 * a search reaches the fake slskd, without it the item waits; discography
 * over Spotify + MusicBrainz (the same release once, with both ids;
 * compilations off); a truncated MusicBrainz reply gives that watch a
 * readable reason while the others go on; the playlists' "download
 * missing tracks" switch; the watch buttons and switch cells on the
 * library pages with every name escaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "itest.h"

#define WAIT_MS 60000
#define SLSKD_KEY "fake-slskd-api-key-0123456789"
#define JSON_HDR "Content-Type: application/json"
#define BJORK_ID "7w29UYBi0qsHi5RN8CHbT7"
#define SAKAMOTO_ID "1PmSkwaM8sPJ1a7OfHbNyA"
#define ACDC_ID "711MCceyCBcFnzjGY4Q7Un"
#define SAKAMOTO "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"

static const char *const json_hdr[] = {JSON_HDR, NULL};

/* ---- helpers ---- */

struct run_wait {
  struct it_fixture *f;
  const char *unit;
  long long after;
};
static bool ran_once(void *arg);

/* env: extra environment of the daemon, which is then the test build
 * (NULL: none, the product). */
static void start_env(struct it_fixture *f,
                      const struct fake_spotify_library *l, bool login,
                      const char *const *env)
{
  struct buf ini;
  assert_int_equal(fake_all_start(&f->fa, SLSKD_KEY), SS_OK);
  if (l)
    fake_spotify_set_library(f->fa.spotify, l);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, SLSKD_KEY, &ini);
  buf_puts(&ini, "[spotify]\nclient_id = test-client-id\n"
                 "client_secret = test-client-secret\n"
                 "[musicbrainz]\ncontact = https://soulspot.test/contact\n"
                 "[probe]\ninterval_seconds = 3600\n"
                 "[automation]\nwatchlist_enabled = true\n"
                 "discography_enabled = true\n"
                 "watchlist_interval_minutes = 1440\n"
                 "discography_interval_hours = 168\n");
  f->d.test_hooks = env != NULL; /* TESTHOOK_MS lives in that build */
  int rc = daemon_start(&f->d, buf_cstr(&ini), env);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
  char body[256], loc[512];
  snprintf(body, sizeof body,
           "{\"spotify.redirect_uri\":\"%s/auth/spotify/callback\"}",
           f->d.url);
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  if (login) {
    assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, false,
                                                false, loc, sizeof loc),
                     SS_OK);
    assert_string_equal(loc, "/settings?tab=spotify&spotify_login=ok");
    /* the login re-runs both units once (no watches yet): let them end,
     * so every later run is one a test asked for */
    static const char *const units[] = {"automation.watchlist",
                                        "automation.discography"};
    for (int i = 0; i < 2; i++) {
      struct run_wait w = {f, units[i], 0};
      if (!it_wait_until(ran_once, &w, WAIT_MS))
        fail_msg("%s never ran after the login", units[i]);
    }
  }
}

static void start(struct it_fixture *f, const struct fake_spotify_library *l,
                  bool login)
{
  start_env(f, l, login, NULL);
}

static json_t *request_json(struct it_fixture *f, const char *method,
                            const char *path, const char *body, long want)
{
  assert_int_equal(hc_request(method, it_url(f, path), json_hdr, body, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, want);
  json_t *doc = it_parse(&f->r);
  assert_non_null(doc);
  return doc;
}

static int64_t watch(struct it_fixture *f, const char *body)
{
  json_t *doc = request_json(f, "POST", "/api/watchlist", body, 201);
  int64_t id = json_integer_value(json_object_get(doc, "id"));
  assert_true(id > 0);
  json_decref(doc);
  return id;
}

static void publish(struct it_fixture *f, const char *artist_id,
                    const char *artist, const char *name, const char *date,
                    const char *precision, const char *group, int tracks)
{
  struct fake_spotify_release r = {artist_id, artist, name,  date,
                                   precision, group,  tracks};
  fake_spotify_add_release(f->fa.spotify, &r, NULL, 0);
}

/* A finished run of unit (GET /api/workers "runs") after `after`. */
static long long unit_runs(struct it_fixture *f, const char *unit,
                           const char **result, char *msg, size_t n)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *u = it_unit(doc, unit);
  long long runs = json_integer_value(json_object_get(u, "runs"));
  const char *st = json_string_value(json_object_get(u, "state"));
  static char res[32];
  snprintf(res, sizeof res, "%s",
           st && !strcmp(st, "active") ? "active"
           : json_string_value(json_object_get(u, "last_result"))
             ? json_string_value(json_object_get(u, "last_result"))
             : "");
  if (result)
    *result = res;
  if (msg) {
    json_t *h = json_object_get(u, "history");
    const char *m = json_string_value(
      json_object_get(json_array_get(h, 0), "message"));
    const char *e = json_string_value(json_object_get(u, "last_error"));
    snprintf(msg, n, "%s | %s", e ? e : "", m ? m : "");
  }
  json_decref(doc);
  return runs;
}

static bool run_done(void *arg)
{
  struct run_wait *w = arg;
  const char *res;
  long long runs = unit_runs(w->f, w->unit, &res, NULL, 0);
  return runs > w->after && strcmp(res, "active") && strcmp(res, "skipped");
}

/* The unit's first real run (after the login's re-evaluation). */
static bool ran_once(void *arg)
{
  struct run_wait *w = arg;
  const char *res;
  unit_runs(w->f, w->unit, &res, NULL, 0);
  return !strcmp(res, "ok") || !strcmp(res, "error");
}

/* Run now and wait for that run; returns its result ("ok", "error"). */
static const char *run_unit(struct it_fixture *f, const char *unit, char *msg,
                            size_t n)
{
  struct run_wait w = {f, unit, unit_runs(f, unit, NULL, NULL, 0)};
  assert_int_equal(it_run_now(f, unit), 202);
  if (!it_wait_until(run_done, &w, WAIT_MS)) {
    char m[600];
    unit_runs(f, unit, NULL, m, sizeof m);
    fail_msg("no finished %s run: %s", unit, m);
  }
  const char *res;
  unit_runs(f, unit, &res, msg, n);
  return res;
}

static json_t *wanted(struct it_fixture *f, const char *source)
{
  char path[128];
  snprintf(path, sizeof path, "/api/wanted?source=%s&limit=200", source);
  json_t *doc = it_get_json(it_url(f, path), NULL);
  assert_non_null(doc);
  return doc;
}

/* ---- the API contract ---- */

static void test_api(void **state)
{
  struct it_fixture *f = *state;
  start(f, NULL, false);
  int64_t bjork = watch(f, "{\"spotify_artist_id\":\"" BJORK_ID "\","
                           "\"name\":\"Bj\xc3\xb6rk\",\"discography\":true,"
                           "\"release_types\":[\"album\",\"ep\"],"
                           "\"mb_artist_id\":\"87C5DEDD-371D-4A53-9F7F-"
                           "80522FB7F3CB\"}");
  char loc[64], want[64];
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  snprintf(want, sizeof want, "/api/watchlist/%lld", (long long)bjork);
  assert_string_equal(loc, want);
  watch(f, "{\"spotify_artist_id\":\"" SAKAMOTO_ID "\",\"name\":\"" SAKAMOTO
           "\"}");
  int64_t acdc = watch(f, "{\"spotify_artist_id\":\"" ACDC_ID "\","
                          "\"name\":\"AC/DC\",\"auto_download\":false}");
  it_expect_error(request_json(f, "POST", "/api/watchlist",
                               "{\"spotify_artist_id\":\"" ACDC_ID "\"}", 409),
                  "already watched");
  static const char *const bad[][2] = {
    {"not json", "must be JSON"},
    {"[1]", "JSON object"},
    {"{}", "spotify_artist_id is required"},
    {"{\"spotify_artist_id\":\"../../etc\"}", "Spotify id"},
    {"{\"spotify_artist_id\":\"abc\",\"release_types\":[\"mixtape\"]}",
     "unknown release type"},
    {"{\"spotify_artist_id\":\"abc\",\"release_types\":[]}", "non-empty"},
    {"{\"spotify_artist_id\":\"abc\",\"auto_download\":\"yes\"}",
     "true or false"},
    {"{\"spotify_artist_id\":\"abc\",\"mb_artist_id\":\"x\"}",
     "MusicBrainz id"},
    {"{\"spotify_artist_id\":\"abc\",\"evil\":1}", "unknown field"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    it_expect_error(request_json(f, "POST", "/api/watchlist", bad[i][0], 400),
                    bad[i][1]);
  /* the list, by name */
  json_t *doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 3);
  json_t *items = json_object_get(doc, "items");
  IT_ASSERT_JSON_STR(json_array_get(items, 0), "name", "AC/DC");
  json_t *b = json_array_get(items, 1);
  IT_ASSERT_JSON_STR(b, "name", "Bj\xc3\xb6rk");
  IT_ASSERT_JSON_STR(b, "mb_artist_id",
                     "87c5dedd-371d-4a53-9f7f-80522fb7f3cb");
  IT_ASSERT_JSON_BOOL(b, "discography", true);
  assert_int_equal(json_array_size(json_object_get(b, "release_types")), 2);
  assert_int_equal(strlen(json_string_value(json_object_get(b, "since_date"))),
                   10);
  IT_ASSERT_JSON_BOOL(json_array_get(items, 0), "auto_download", false);
  IT_ASSERT_JSON_STR(json_array_get(items, 2), "name", SAKAMOTO);
  json_decref(doc);
  /* PATCH */
  char path[64];
  snprintf(path, sizeof path, "/api/watchlist/%lld", (long long)acdc);
  doc = request_json(f, "PATCH", path,
                     "{\"discography\":true,\"release_types\":[\"album\","
                     "\"compilation\",\"appears_on\"]}",
                     200);
  IT_ASSERT_JSON_BOOL(doc, "discography", true);
  assert_string_equal(json_string_value(
                        json_array_get(json_object_get(doc, "release_types"),
                                       2)),
                      "appears_on");
  json_decref(doc);
  it_expect_error(request_json(f, "PATCH", path,
                               "{\"spotify_artist_id\":\"x\"}", 400),
                  "unknown field");
  it_expect_error(request_json(f, "PATCH", "/api/watchlist/987654",
                               "{\"discography\":true}", 404),
                  "no such watch");
  /* a cross-site write is refused and changes nothing */
  static const char *const forged[] = {JSON_HDR,
                                       "Origin: https://evil.example",
                                       "Sec-Fetch-Site: cross-site", NULL};
  assert_int_equal(hc_request("DELETE", it_url(f, path), forged, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);
  assert_int_equal(hc_request("POST", it_url(f, "/api/watchlist"), forged,
                              "{\"spotify_artist_id\":\"zzz\"}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 3);
  json_decref(doc);
  /* DELETE */
  doc = request_json(f, "DELETE", path, NULL, 200);
  IT_ASSERT_JSON_BOOL(doc, "deleted", true);
  json_decref(doc);
  it_expect_error(request_json(f, "DELETE", path, NULL, 404), "no such watch");
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 2);
  json_decref(doc);
}

/* ---- end to end ---- */

static bool searched_for(void *arg)
{
  struct it_fixture *f = arg;
  char last[512];
  fake_slskd_last_search(f->fa.slskd, last, sizeof last);
  return strstr(last, "Nova") != NULL;
}

static void test_new_releases_end_to_end(void **state)
{
  struct it_fixture *f = *state;
  start(f, NULL, true);
  watch(f, "{\"spotify_artist_id\":\"" BJORK_ID
           "\",\"mb_artist_id\":\"" FAKE_MB_BJORK "\"}");
  watch(f, "{\"spotify_artist_id\":\"" SAKAMOTO_ID "\",\"release_types\":"
           "[\"album\",\"single\"]}");
  watch(f, "{\"spotify_artist_id\":\"" ACDC_ID "\",\"auto_download\":false}");
  /* the fake publishes: new albums dated after today, old ones, junk */
  publish(f, BJORK_ID, "Bj\xc3\xb6rk", "Homogenic", "1997-09-22", "day",
          "album", 10);
  publish(f, BJORK_ID, "Bj\xc3\xb6rk", "Nova", "2099-03-01", "day", "album",
          11);
  publish(f, BJORK_ID, "Bj\xc3\xb6rk", "Broken Date", "2099-02-30", "day",
          "album", 9);
  publish(f, SAKAMOTO_ID, SAKAMOTO, "12", "2098", "year", "album", 12);
  publish(f, SAKAMOTO_ID, SAKAMOTO, "async remodels", "2098-06", "month",
          "compilation", 12);
  publish(f, ACDC_ID, "AC/DC", "Power Up", "2097-11-13", "day", "album", 12);
  publish(f, ACDC_ID, "AC/DC", "Back in Black", "1980-07-25", "day", "album",
          10);
  char msg[600];
  const char *res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s: %s", res, msg);
  json_t *doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 3);
  json_t *nova = it_item_titled(doc, "Nova"),
         *twelve = it_item_titled(doc, "12"),
         *power = it_item_titled(doc, "Power Up");
  assert_non_null(nova);
  assert_non_null(twelve);
  assert_non_null(power);
  assert_null(it_item_titled(doc, "Homogenic"));   /* old */
  assert_null(it_item_titled(doc, "Broken Date")); /* absurd date */
  assert_null(
    it_item_titled(doc, "async remodels")); /* compilation not chosen */
  IT_ASSERT_JSON_STR(nova, "artist", "Bj\xc3\xb6rk");
  IT_ASSERT_JSON_STR(nova, "release_date", "2099-03-01");
  IT_ASSERT_JSON_STR(twelve, "artist", SAKAMOTO);
  IT_ASSERT_JSON_STR(twelve, "release_date", "2098");
  IT_ASSERT_JSON_BOOL(power, "auto_download", false);
  IT_ASSERT_JSON_STR(power, "artist", "AC/DC");
  IT_ASSERT_JSON_STR(power, "state", "wanted"); /* waits for a user */
  json_decref(doc);
  /* names learnt from the replies; the absurd date is the watch's reason;
   * the MusicBrainz artists found by name at the first check (one exact
   * hit each: not "Björk Guðmundsdóttir & tríó ...") */
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  json_t *b = json_array_get(json_object_get(doc, "items"), 1);
  IT_ASSERT_JSON_STR(b, "name", "Bj\xc3\xb6rk");
  IT_ASSERT_JSON_STR(json_array_get(json_object_get(doc, "items"), 0),
                     "mb_artist_id", FAKE_MB_ACDC);
  IT_ASSERT_JSON_STR(json_array_get(json_object_get(doc, "items"), 2),
                     "mb_artist_id", FAKE_MB_SAKAMOTO);
  const char *why = json_string_value(json_object_get(b, "last_error"));
  if (!strstr(why, "Broken Date") || !strstr(why, "absurd release date"))
    fail_msg("no readable reason for the absurd date: \"%s\"", why);
  json_decref(doc);
  /* auto download: a search for the new album reaches the fake slskd */
  if (!it_wait_until(searched_for, f, WAIT_MS))
    fail_msg("no search for Nova reached slskd");
  /* a second run wants nothing again */
  res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  assert_string_equal(res, "ok");
  doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 3);
  json_decref(doc);
  /* after a restart nothing is wanted or requested again */
  doc = it_get_json(it_url(f, "/api/downloads"), NULL);
  json_int_t downloads = json_integer_value(json_object_get(doc, "total"));
  assert_true(downloads >= 1);
  json_decref(doc);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run after the restart: %s: %s", res, msg);
  doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 3);
  json_decref(doc);
  doc = it_get_json(it_url(f, "/api/downloads"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", downloads);
  json_decref(doc);
}

static void test_discography_both_sources(void **state)
{
  struct it_fixture *f = *state;
  start(f, NULL, true);
  watch(f, "{\"spotify_artist_id\":\"" ACDC_ID "\",\"discography\":true,"
           "\"auto_download\":false,\"mb_artist_id\":\"" FAKE_MB_ACDC "\"}");
  publish(f, ACDC_ID, "AC/DC", "Back in Black", "1980-07-25", "day", "album",
          10);
  publish(f, ACDC_ID, "AC/DC", "Backtracks", "2009-11-10", "day",
          "compilation", 30);
  publish(f, ACDC_ID, "AC/DC", "Rock or Bust", "2014-11-28", "day", "album",
          11);
  char msg[600];
  const char *res = run_unit(f, "automation.discography", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("discography run: %s: %s", res, msg);
  json_t *doc = wanted(f, "discography");
  /* Spotify: Back in Black, Rock or Bust; MusicBrainz: Highway to Hell,
   * Back in Black (the same: one item), Live; compilations off */
  IT_ASSERT_JSON_INT(doc, "total", 4);
  json_t *bib = it_item_titled(doc, "Back in Black");
  assert_non_null(bib);
  assert_true(strlen(json_string_value(json_object_get(bib, "spotify_id"))));
  assert_true(strlen(json_string_value(json_object_get(bib, "mb_id"))) == 36);
  assert_non_null(it_item_titled(doc, "Highway to Hell"));
  assert_non_null(it_item_titled(doc, "Rock or Bust"));
  assert_null(it_item_titled(doc, "Backtracks"));
  assert_null(it_item_titled(doc, "Iron Man 2"));
  json_decref(doc);
}

static void test_truncated_musicbrainz(void **state)
{
  struct it_fixture *f = *state;
  start(f, NULL, true);
  fake_musicbrainz_set_mode(f->fa.musicbrainz, FAKE_MB_TRUNCATED);
  watch(f, "{\"spotify_artist_id\":\"" SAKAMOTO_ID
           "\",\"mb_artist_id\":\"" FAKE_MB_SAKAMOTO "\"}");
  watch(f, "{\"spotify_artist_id\":\"" BJORK_ID "\"}");
  publish(f, SAKAMOTO_ID, SAKAMOTO, "Opus", "2099-01-17", "day", "album", 20);
  publish(f, BJORK_ID, "Bj\xc3\xb6rk", "Nova", "2099-03-01", "day", "album",
          11);
  char msg[600];
  const char *res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  assert_string_equal(res, "error");
  if (!strstr(msg, "MusicBrainz") || !strstr(msg, SAKAMOTO))
    fail_msg("no readable reason: %s", msg);
  /* the other watch, and the Spotify side of the failing one, went on */
  json_t *doc = wanted(f, "watchlist");
  assert_non_null(it_item_titled(doc, "Nova"));
  assert_non_null(it_item_titled(doc, "Opus"));
  json_decref(doc);
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  json_t *s = json_array_get(json_object_get(doc, "items"), 1);
  IT_ASSERT_JSON_STR(s, "name", SAKAMOTO);
  assert_non_null(strstr(json_string_value(json_object_get(s, "last_error")),
                         "MusicBrainz"));
  json_decref(doc);
  /* the next run after MusicBrainz recovered is clean */
  fake_musicbrainz_set_mode(f->fa.musicbrainz, FAKE_MB_OK);
  res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run after recovery: %s: %s", res, msg);
}

static void hook_ok(const struct fake_req *req, struct fake_reply *rep,
                    void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "application/json", "{}");
}

/* Eight new releases of three watched artists in one run (issue 11.5):
 * one "release wanted" message each, with the real names JSON-escaped,
 * until the rate limit (5 per window); the other three fold into one
 * digest sent when the window has room again (10 s in the test build:
 * the three artists take a MusicBrainz lookup each, 1 s apart). */
static void test_release_wanted_notifies_and_digests(void **state)
{
  struct it_fixture *f = *state;
  static const char *const env[] = {"SOULSPOT_TEST_MS=notify.window=10000",
                                    NULL};
  struct fake_http *rx = NULL;
  assert_int_equal(fake_http_start(&rx, 0), SS_OK);
  fake_http_route(rx, "POST", "*", hook_ok, NULL);
  start_env(f, NULL, true, env);
  char body[256];
  snprintf(body, sizeof body, "{\"notify.webhook_url\":\"%s/hook\"}",
           fake_http_url(rx));
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  static const struct {
    const char *id, *artist, *title, *date;
  } rel[] = {
    {BJORK_ID, "Bj\xc3\xb6rk", "Nova", "2099-03-01"},
    {BJORK_ID, "Bj\xc3\xb6rk", "Fossora <b>&\"'", "2099-04-01"},
    {BJORK_ID, "Bj\xc3\xb6rk", "Vespertine II", "2099-05-01"},
    {SAKAMOTO_ID, SAKAMOTO, "12", "2098-01-17"},
    {SAKAMOTO_ID, SAKAMOTO, "async II", "2098-03-28"},
    {ACDC_ID, "AC/DC", "Power Up", "2097-11-13"},
    {ACDC_ID, "AC/DC", "Stiff Upper Lip II", "2097-02-28"},
    {ACDC_ID, "AC/DC", "Hells Bells <b>&\"'", "2097-07-25"},
  };
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
    publish(f, rel[i].id, rel[i].artist, rel[i].title, rel[i].date, "day",
            "album", 10);
  watch(f, "{\"spotify_artist_id\":\"" BJORK_ID "\"}");
  watch(f, "{\"spotify_artist_id\":\"" SAKAMOTO_ID "\"}");
  watch(f, "{\"spotify_artist_id\":\"" ACDC_ID "\"}");
  char msg[600];
  const char *res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s: %s", res, msg);
  /* five messages and, once the window has room, one digest */
  assert_true(fake_http_wait(rx, "POST", "/hook", 6, WAIT_MS));
  struct buf all;
  buf_init(&all, 64 * 1024);
  bool escaped = false;
  for (uint64_t s = 1; s <= 6; s++) {
    struct fake_logged e;
    assert_true(fake_http_entry(rx, s, &e));
    escaped |= strstr(e.body, "<b>&\\\"'") != NULL;
    json_t *ev = json_loads(e.body, 0, NULL);
    assert_non_null(ev);
    IT_ASSERT_JSON_STR(ev, "event", s < 6 ? "release_wanted" : "digest");
    const char *t = json_string_value(json_object_get(ev, "title"));
    if (s < 6)
      assert_true(!strncmp(t, "New release wanted: ", 20));
    else
      assert_string_equal(t, "soulspotd: 3 more events");
    buf_printf(&all, "%s\n%s\n", t,
               json_string_value(json_object_get(ev, "message")));
    json_decref(ev);
  }
  assert_true(escaped);
  assert_non_null(strstr(buf_cstr(&all), "release_wanted: 3"));
  /* every release is named once, in a message or in the digest */
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    char want[160];
    snprintf(want, sizeof want, "%s \xe2\x80\x93 %s", rel[i].artist,
             rel[i].title);
    if (!strstr(buf_cstr(&all), want))
      fail_msg("\"%s\" not notified: %s", want, buf_cstr(&all));
  }
  buf_free(&all);
  /* nothing more: not a thousand messages */
  assert_false(fake_http_wait(rx, "POST", "/hook", 7, 500));
  fake_http_stop(rx);
}
/* musicbrainz of GET /api/workers/services/detail (new reference). */
static json_t *mb_service(struct it_fixture *f)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers/services/detail"), NULL);
  json_t *s = json_incref(json_object_get(doc, "musicbrainz"));
  json_decref(doc);
  assert_non_null(s);
  return s;
}

/* A MusicBrainz 503 storm: the run that meets it fails once (its retries
 * spent) and stops with every watch still due; MusicBrainz's ladder
 * climbs; the scheduled runs inside it are deferred without a request;
 * when it answers again run now catches up and the ladder is back at
 * zero. */
static void test_musicbrainz_storm_defers(void **state)
{
  struct it_fixture *f = *state;
  /* the watchlist every 300 ms (the test build's TESTHOOK_MS) */
  static const char *const env[] =
    {"SOULSPOT_TEST_MS=automation.watchlist=300", NULL};
  start_env(f, NULL, true, env);
  fake_musicbrainz_set_mode(f->fa.musicbrainz, FAKE_MB_RATE_LIMITED);
  publish(f, SAKAMOTO_ID, SAKAMOTO, "Opus", "2099-01-17", "day", "album", 20);
  publish(f, ACDC_ID, "AC/DC", "Power Up", "2097-11-13", "day", "album", 12);
  struct fake_http *mh = fake_musicbrainz_http(f->fa.musicbrainz);
  int64_t t0 = clock_wall_ms();
  watch(f, "{\"spotify_artist_id\":\"" SAKAMOTO_ID
           "\",\"mb_artist_id\":\"" FAKE_MB_SAKAMOTO "\"}");
  watch(f, "{\"spotify_artist_id\":\"" ACDC_ID
           "\",\"mb_artist_id\":\"" FAKE_MB_ACDC "\"}");
  assert_true(it_wait_run(f, "automation.watchlist", "error",
                          "MusicBrainz is throttling us", t0, WAIT_MS));
  json_t *s = mb_service(f);
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 1);
  assert_true(json_is_string(json_object_get(s, "backoff_until")));
  json_decref(s);
  /* nothing wanted from half a check: both watches stay due */
  json_t *doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 0);
  json_decref(doc);
  uint64_t seq = fake_http_seq(mh);
  int64_t t1 = clock_wall_ms();
  assert_true(it_wait_run(f, "automation.watchlist", "deferred",
                          "MusicBrainz unavailable 1 time(s) in a row; next "
                          "try after",
                          t1, WAIT_MS));
  assert_int_equal(fake_http_seq(mh), seq);
  doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  json_t *a = it_worker(doc, "automation");
  IT_ASSERT_JSON_STR(a, "status", "error");
  IT_ASSERT_JSON_STR(json_object_get(a, "details"), "last_error_reason",
                     "rate_limited");
  json_decref(doc);
  /* MusicBrainz answers again: run now goes past the ladder */
  fake_musicbrainz_set_mode(f->fa.musicbrainz, FAKE_MB_OK);
  int64_t t2 = clock_wall_ms();
  assert_int_equal(it_run_now_queued(f, "automation.watchlist"), 202);
  assert_true(it_wait_run(f, "automation.watchlist", "ok",
                          "2 artist(s) checked", t2, WAIT_MS));
  doc = wanted(f, "watchlist");
  assert_non_null(it_item_titled(doc, "Opus"));
  assert_non_null(it_item_titled(doc, "Power Up"));
  json_decref(doc);
  s = mb_service(f);
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 0);
  assert_true(json_is_null(json_object_get(s, "backoff_until")));
  json_decref(s);
}

static void test_spotify_faults(void **state)
{
  struct it_fixture *f = *state;
  start(f, NULL, true);
  watch(f, "{\"spotify_artist_id\":\"" BJORK_ID "\"}");
  watch(f, "{\"spotify_artist_id\":\"" ACDC_ID "\"}");
  publish(f, BJORK_ID, "Bj\xc3\xb6rk", "Nova", "2099-03-01", "day", "album",
          11);
  publish(f, ACDC_ID, "AC/DC", "Power Up", "2097-11-13", "day", "album", 12);
  /* a malformed page for the first watch: its reason, the other goes on */
  fake_spotify_fault(f->fa.spotify, FSP_ARTIST_ALBUMS, 0, FSF_SHAPE, 1, 0);
  char msg[600];
  const char *res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  assert_string_equal(res, "error");
  if (!strstr(msg, "1 of 2 artist(s) could not be checked") ||
      !strstr(msg, "malformed"))
    fail_msg("reason: %s", msg);
  json_t *doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 1);
  assert_non_null(it_item_titled(doc, "Power Up"));
  json_decref(doc);
  /* rate limited: the run stops, the watches stay due */
  fake_spotify_fault(f->fa.spotify, FSP_ARTIST_ALBUMS, 0, FSF_429, 0, 1);
  res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  assert_string_equal(res, "error");
  if (!strstr(msg, "stopped after 0 artist(s)"))
    fail_msg("reason: %s", msg);
  /* Spotify back: Nova arrives (the block of the 429 may still last a
   * moment: run until a run is clean) */
  fake_spotify_clear_faults(f->fa.spotify);
  int64_t deadline = clock_mono_ms() + WAIT_MS;
  while (strcmp(run_unit(f, "automation.watchlist", msg, sizeof msg), "ok"))
    if (clock_mono_ms() > deadline)
      fail_msg("no clean run after the faults: %s", msg);
  doc = wanted(f, "watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 2);
  assert_non_null(it_item_titled(doc, "Nova"));
  json_decref(doc);
}

/* ---- pages: watch buttons and the playlist switch ---- */

static bool synced(void *arg)
{
  struct it_fixture *f = arg;
  assert_int_equal(hc_request("GET", it_url(f, "/library/playlists"), NULL,
                              NULL, &f->r),
                   SS_OK);
  return f->r.status == 200 &&
         strstr(buf_cstr(&f->r.body), "download-missing") != NULL;
}

static void test_pages_and_playlists(void **state)
{
  struct it_fixture *f = *state;
  static const struct fake_spotify_library lib = {.artists = 5,
                                                  .playlists = 2,
                                                  .entries = 6,
                                                  .tracks = 6};
  start(f, &lib, true);
  if (!it_wait_until(synced, f, WAIT_MS))
    fail_msg("the playlists never synced");
  /* artists page: a Watch button per artist, names escaped */
  assert_int_equal(hc_request("GET", it_url(f, "/library/artists"), NULL, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  const char *html = buf_cstr(&f->r.body);
  assert_int_equal(it_count(html, "data-action=\"watch\""), 5);
  assert_null(strstr(html, "<Band>"));
  assert_non_null(strstr(html, "&lt;Band&gt;"));
  /* press Watch on artist 4 ("Künstler & <Band> "4"") */
  char id[32];
  snprintf(id, sizeof id, "ar%020d", 4);
  char path[128];
  snprintf(path, sizeof path, "/library/artists/%s/watch", id);
  assert_int_equal(hc_request("POST", it_url(f, path), NULL, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  html = buf_cstr(&f->r.body);
  assert_non_null(strstr(html, "data-action=\"unwatch\""));
  assert_null(strstr(html, "<Band>"));
  json_t *doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 1);
  IT_ASSERT_JSON_STR(json_array_get(json_object_get(doc, "items"), 0), "name",
                     "K\xc3\xbcnstler & <Band> \"4\"");
  json_decref(doc);
  snprintf(path, sizeof path, "/library/artists/%s/unwatch", id);
  assert_int_equal(hc_request("POST", it_url(f, path), NULL, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), "data-action=\"watch\""));
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 0);
  json_decref(doc);
  /* bad ids are 404, not stored */
  assert_int_equal(hc_request("POST",
                              it_url(f, "/library/artists/a%2Fb/"
                                        "watch"),
                              NULL, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 404);
  /* the playlist switch: on -> its missing tracks are wanted */
  char pl[32];
  snprintf(pl, sizeof pl, "pl%020d", 0);
  snprintf(path, sizeof path, "/library/playlists/%s/download-missing?on=1",
           pl);
  assert_int_equal(hc_request("POST", it_url(f, path), NULL, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), " checked"));
  assert_non_null(strstr(buf_cstr(&f->r.body), "download-missing?on=0"));
  assert_int_equal(hc_request("GET", it_url(f, "/library/playlists"), NULL,
                              NULL, &f->r),
                   SS_OK);
  assert_int_equal(it_count(buf_cstr(&f->r.body), " checked"), 1);
  char msg[600];
  const char *res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s: %s", res, msg);
  doc = wanted(f, "playlist");
  long long n = json_integer_value(json_object_get(doc, "total"));
  assert_true(n >= 1);
  json_t *first = json_array_get(json_object_get(doc, "items"), 0);
  IT_ASSERT_JSON_STR(first, "kind", "track");
  IT_ASSERT_JSON_BOOL(first, "auto_download", true);
  json_decref(doc);
  /* the JSON switch: off, unknown playlist 404, bad body 400 */
  snprintf(path, sizeof path, "/api/playlists/%s", pl);
  doc = request_json(f, "PATCH", path, "{\"download_missing\":false}", 200);
  IT_ASSERT_JSON_BOOL(doc, "download_missing", false);
  json_decref(doc);
  it_expect_error(request_json(f, "PATCH", path, "{\"download_missing\":1}",
                               400),
                  "download_missing");
  it_expect_error(request_json(f, "PATCH", "/api/playlists/nope",
                               "{\"download_missing\":true}", 404),
                  "no such playlist");
  /* "watch every followed artist": the four others, not the one the user
   * unwatched above */
  assert_int_equal(it_patch_settings(f, "{\"automation.watch_followed_"
                                        "artists\":true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  res = run_unit(f, "automation.watchlist", msg, sizeof msg);
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s: %s", res, msg);
  doc = it_get_json(it_url(f, "/api/watchlist"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 4);
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(doc, "items"), i, w)
  {
    assert_string_not_equal(json_string_value(
                              json_object_get(w, "spotify_artist_id")),
                            id);
    IT_ASSERT_JSON_BOOL(w, "auto_download", true);
    IT_ASSERT_JSON_STR(w, "mb_artist_id", ""); /* no exact MusicBrainz hit */
  }
  json_decref(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_api, it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_new_releases_end_to_end, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_discography_both_sources, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_truncated_musicbrainz, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_release_wanted_notifies_and_digests,
                                    it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_musicbrainz_storm_defers, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_spotify_faults, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_pages_and_playlists, it_setup,
                                    it_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
