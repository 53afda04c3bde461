/*
 * test_spotify_view.c - the Spotify parts of the Workers API rendering
 * (workers_view.c) from a hand-made model: token_refresh keeps its two
 * documented keys and adds account_connected, the access-token expiry, the
 * refresh-token warning from 14 days before the 6-month end and the 429
 * block; spotify_sync has stats per type with count, last_result and
 * last_error, has_errors from any type's error, blocked_until; the sidebar
 * fragment shows the block, the warning and per-type errors, escaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "workers/workers_view.h"
#include "core/err.h"

#define NOW 1800000000000LL /* 2027-01-15 08:00:00 UTC */
#define DAY 86400000LL

static struct workers_model model(void)
{
  struct workers_model m;
  memset(&m, 0, sizeof m);
  for (int i = 0; i <= UNIT_DOWNLOAD_MONITOR; i++) {
    m.units[i].enabled = m.units[i].running = true;
    m.units[i].state = UNIT_IDLE;
  }
  m.units[UNIT_TOKEN_REFRESH].interval_s = 300;
  m.units[UNIT_SPOTIFY_SYNC].interval_s = 60;
  m.token_refresh_threshold_minutes = 10;
  strcpy(m.duplicate_method, "metadata-hash");
  return m;
}

static void connect_account(struct workers_model *m,
                            int64_t authorised_days_ago)
{
  m->spotify_connected = true;
  m->spotify.stored = m->spotify.connected = true;
  strcpy(m->spotify.display_name, "Jane <3");
  m->spotify.access_expires_ms = NOW + 45 * 60000;
  /* Six months is about 181-184 days. */
  m->spotify.refresh_expires_ms = NOW - authorised_days_ago * DAY + 182 * DAY;
}

static json_t *details(const struct workers_model *m, const char *worker)
{
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(workers_render_json(&b, m, NOW), SS_OK);
  json_t *root = json_loads(buf_cstr(&b), 0, NULL);
  assert_non_null(root);
  buf_free(&b);
  json_t *d = json_incref(
    json_object_get(json_object_get(json_object_get(root, "workers"), worker),
                    "details"));
  json_decref(root);
  return d;
}

static char *html(const struct workers_model *m)
{
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(workers_render_html(&b, m, NOW), SS_OK);
  return buf_steal(&b, NULL);
}

static void test_token_details_not_connected(void **state)
{
  (void)state;
  struct workers_model m = model();
  json_t *d = details(&m, "token_refresh");
  assert_int_equal(json_integer_value(
                     json_object_get(d, "check_interval_seconds")),
                   300);
  assert_int_equal(json_integer_value(
                     json_object_get(d, "refresh_threshold_minutes")),
                   10);
  assert_true(json_is_false(json_object_get(d, "account_connected")));
  assert_true(json_is_null(json_object_get(d, "access_token_expires_at")));
  assert_true(json_is_null(json_object_get(d, "refresh_token_warning")));
  assert_true(json_is_null(json_object_get(d, "blocked_until")));
  json_decref(d);
}

static void test_token_details_connected_and_warning(void **state)
{
  (void)state;
  struct workers_model m = model();
  connect_account(&m, 100);
  json_t *d = details(&m, "token_refresh");
  assert_true(json_is_true(json_object_get(d, "account_connected")));
  assert_string_equal(json_string_value(
                        json_object_get(d, "access_token_expires_at")),
                      "2027-01-15T08:45:00Z");
  assert_true(json_is_null(json_object_get(d, "refresh_token_warning")));
  json_decref(d);
  /* 15 days before the end: still quiet; 13 days before: the warning. */
  connect_account(&m, 182 - 15);
  d = details(&m, "token_refresh");
  assert_true(json_is_null(json_object_get(d, "refresh_token_warning")));
  json_decref(d);
  connect_account(&m, 182 - 13);
  d = details(&m, "token_refresh");
  const char *w = json_string_value(
    json_object_get(d, "refresh_token_warning"));
  assert_non_null(w);
  assert_non_null(strstr(w, "ends on 2027-01-28"));
  json_decref(d);
  char *h = html(&m);
  assert_non_null(strstr(h, "Anmeldung endet bald"));
  assert_non_null(strstr(h, "Verbunden als Jane &lt;3"));
  free(h);
  /* Past the end it says so. */
  connect_account(&m, 190);
  d = details(&m, "token_refresh");
  assert_non_null(
    strstr(json_string_value(json_object_get(d, "refresh_token_warning")),
           "expired on"));
  json_decref(d);
}

static void test_sync_stats_and_block(void **state)
{
  (void)state;
  struct workers_model m = model();
  connect_account(&m, 1);
  m.units[UNIT_SPOTIFY_SYNC].counters[SYNC_ARTISTS] = 7;
  strcpy(m.spotify.types[SYNC_ARTISTS].result, "260 followed artists");
  strcpy(m.spotify.types[SYNC_PLAYLISTS].result, "failed");
  strcpy(m.spotify.types[SYNC_PLAYLISTS].error,
         "malformed reply from /me/playlists: <b>");
  m.spotify.blocked_until_ms = NOW + 90000;
  json_t *d = details(&m, "spotify_sync");
  json_t *ls = json_object_get(d, "last_syncs");
  for (int t = 0; t < SYNC__COUNT; t++)
    assert_non_null(json_object_get(ls, spotify_sync_type_names[t]));
  json_t *stats = json_object_get(d, "stats");
  json_t *a = json_object_get(stats, "artists");
  assert_int_equal(json_integer_value(json_object_get(a, "count")), 7);
  assert_string_equal(json_string_value(json_object_get(a, "last_result")),
                      "260 followed artists");
  assert_true(json_is_null(json_object_get(a, "last_error")));
  json_t *p = json_object_get(stats, "playlists");
  assert_string_equal(json_string_value(json_object_get(p, "last_error")),
                      "malformed reply from /me/playlists: <b>");
  assert_true(json_is_null(
    json_object_get(json_object_get(stats, "albums"), "last_result")));
  /* A type's error counts even when the last run as a whole was fine. */
  assert_true(json_is_true(json_object_get(d, "has_errors")));
  assert_string_equal(json_string_value(json_object_get(d, "blocked_until")),
                      "2027-01-15T08:01:30Z");
  assert_true(json_is_true(json_object_get(d, "account_connected")));
  json_decref(d);
  d = details(&m, "token_refresh");
  assert_true(json_is_string(json_object_get(d, "blocked_until")));
  json_decref(d);
  char *h = html(&m);
  assert_non_null(strstr(h, "Spotify-Rate-Limit: pausiert, weiter in 1 min"));
  assert_non_null(strstr(h, "Playlists: malformed reply from /me/playlists: "
                            "&lt;b&gt;"));
  assert_null(strstr(h, "<b>"));
  free(h);
  /* No errors anywhere: has_errors false. */
  m.spotify.types[SYNC_PLAYLISTS].error[0] = '\0';
  d = details(&m, "spotify_sync");
  assert_true(json_is_false(json_object_get(d, "has_errors")));
  json_decref(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_token_details_not_connected),
    cmocka_unit_test(test_token_details_connected_and_warning),
    cmocka_unit_test(test_sync_stats_and_block),
  };
  return cmocka_run_group_tests_name("spotify_view", tests, NULL, NULL);
}
