/*
 * Unit tests: the Workers API renderers and status rules, from hand-built
 * models (no threads, no network).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/workers_view.h"
#include "config/settings.h"
#include "core/err.h"
#include "workers/workers.h"

#define NOW 1800000000000LL

static struct workers_model model(void)
{
  struct workers_model m;
  memset(&m, 0, sizeof m);
  /* Defaults: the first three units on and idle, the rest stopped. */
  for (int i = 0; i < UNIT__COUNT; i++) {
    bool on = i <= UNIT_DOWNLOAD_MONITOR;
    m.units[i].enabled = on;
    m.units[i].running = on;
    m.units[i].state = on ? UNIT_IDLE : UNIT_STOPPED;
  }
  m.units[UNIT_TOKEN_REFRESH].interval_s = 300;
  m.units[UNIT_SPOTIFY_SYNC].interval_s = 60;
  m.units[UNIT_DOWNLOAD_MONITOR].interval_s = 10;
  m.token_refresh_threshold_minutes = 10;
  m.cleanup_retention_days = 7;
  strcpy(m.duplicate_method, "metadata-hash");
  return m;
}

static json_t *render_json(const struct workers_model *m)
{
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(workers_render_json(&b, m, NOW), SS_OK);
  json_error_t err;
  json_t *root = json_loads(buf_cstr(&b), 0, &err);
  if (!root)
    fail_msg("invalid JSON: %s in %s", err.text, buf_cstr(&b));
  buf_free(&b);
  return root;
}

static char *render_html(const struct workers_model *m)
{
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(workers_render_html(&b, m, NOW), SS_OK);
  return buf_steal(&b, NULL);
}

static void test_aggregate_rules(void **state)
{
  (void)state;
  struct view_status s[3] = {{UNIT_STOPPED, false},
                             {UNIT_STOPPED, false},
                             {UNIT_STOPPED, false}};
  struct view_status r = workers_aggregate(s, 3);
  assert_int_equal(r.status, UNIT_STOPPED);
  assert_false(r.running);
  s[1] = (struct view_status){UNIT_IDLE, true};
  r = workers_aggregate(s, 3);
  assert_int_equal(r.status, UNIT_IDLE);
  assert_true(r.running);
  s[2] = (struct view_status){UNIT_ACTIVE, true};
  assert_int_equal(workers_aggregate(s, 3).status, UNIT_ACTIVE);
  s[0] = (struct view_status){UNIT_ERROR, true};
  assert_int_equal(workers_aggregate(s, 3).status, UNIT_ERROR);
}

static void test_automation_aggregates_three_units(void **state)
{
  (void)state;
  struct workers_model m = model();
  struct view_status a = workers_view_status(&m, VIEW_AUTOMATION);
  assert_int_equal(a.status, UNIT_STOPPED);
  assert_false(a.running);
  m.units[UNIT_DISCOGRAPHY] = (struct unit_snapshot){.state = UNIT_IDLE,
                                                     .enabled = true,
                                                     .running = true};
  a = workers_view_status(&m, VIEW_AUTOMATION);
  assert_int_equal(a.status, UNIT_IDLE);
  assert_true(a.running);
  m.units[UNIT_QUALITY_UPGRADE] = (struct unit_snapshot){.state = UNIT_ACTIVE,
                                                         .enabled = true,
                                                         .running = true};
  assert_int_equal(workers_view_status(&m, VIEW_AUTOMATION).status,
                   UNIT_ACTIVE);
  m.units[UNIT_WATCHLIST] = (struct unit_snapshot){.state = UNIT_ERROR,
                                                   .enabled = true,
                                                   .running = true};
  strcpy(m.units[UNIT_WATCHLIST].last_error, "Spotify said no");
  m.units[UNIT_WATCHLIST].last_error_reason = SS_R_RATE_LIMITED;
  assert_int_equal(workers_view_status(&m, VIEW_AUTOMATION).status,
                   UNIT_ERROR);
  json_t *root = render_json(&m);
  json_t *d = json_object_get(json_object_get(json_object_get(root, "workers"),
                                              "automation"),
                              "details");
  assert_true(json_is_true(json_object_get(d, "watchlist_running")));
  assert_true(json_is_true(json_object_get(d, "discography_running")));
  assert_true(json_is_true(json_object_get(d, "quality_upgrade_running")));
  assert_string_equal(json_string_value(json_object_get(d, "last_error")),
                      "watchlist: Spotify said no");
  assert_string_equal(json_string_value(
                        json_object_get(d, "last_error_reason")),
                      "rate_limited");
  json_decref(root);
}

/* The automation entry's extra details: open Wanted items per source,
 * given up, downloads triggered - in JSON and as German lines. */
static void test_automation_wanted_counts(void **state)
{
  (void)state;
  struct workers_model m = model();
  m.wanted = (struct wanted_counts){.watchlist = 3,
                                    .discography = 12,
                                    .quality_upgrade = 5,
                                    .playlist = 2,
                                    .manual = 1,
                                    .given_up = 4,
                                    .imported = 9,
                                    .ignored = 6,
                                    .requests_made = 41};
  json_t *root = render_json(&m);
  json_t *d = json_object_get(json_object_get(json_object_get(root, "workers"),
                                              "automation"),
                              "details");
  json_t *open = json_object_get(d, "wanted_open");
  assert_int_equal(json_object_size(open), 5);
  assert_int_equal(json_integer_value(json_object_get(open, "watchlist")), 3);
  assert_int_equal(json_integer_value(json_object_get(open, "discography")),
                   12);
  assert_int_equal(json_integer_value(
                     json_object_get(open, "quality_upgrade")),
                   5);
  assert_int_equal(json_integer_value(json_object_get(open, "playlist")), 2);
  assert_int_equal(json_integer_value(json_object_get(open, "manual")), 1);
  assert_int_equal(json_integer_value(json_object_get(d, "wanted_given_up")),
                   4);
  assert_int_equal(json_integer_value(
                     json_object_get(d, "downloads_triggered")),
                   41);
  json_decref(root);
  char *html = render_html(&m);
  assert_non_null(strstr(html, "Gesucht: 3 Watchlist, 12 Diskografie, 5 "
                               "Upgrades, 2 Playlists, 1 von Hand"));
  assert_non_null(strstr(html, "Ausgelöste Downloads: 41"));
  free(html);
}

static void test_json_exact_shape_and_order(void **state)
{
  (void)state;
  struct workers_model m = model();
  struct buf b;
  buf_init(&b, 0);
  workers_render_json(&b, &m, NOW);
  const char *s = buf_cstr(&b);
  /* Keys in the contract's order. */
  const char *order[] = {"\"token_refresh\"",    "\"spotify_sync\"",
                         "\"download_monitor\"", "\"automation\"",
                         "\"cleanup\"",          "\"duplicate_detector\""};
  const char *prev = s;
  for (size_t i = 0; i < 6; i++) {
    const char *at = strstr(s, order[i]);
    assert_non_null(at);
    assert_true(at >= prev);
    prev = at;
  }
  buf_free(&b);

  json_t *root = render_json(&m);
  assert_int_equal(json_object_size(root), 1);
  json_t *w = json_object_get(root, "workers");
  assert_int_equal(json_object_size(w), 6);
  static const struct {
    const char *key, *name, *icon, *url, *status;
    bool running;
  } want[] = {
    {"token_refresh", "Token Refresh", "bi bi-key", "/settings?tab=spotify",
     "idle", true},
    {"spotify_sync", "Spotify Sync", "bi bi-spotify", "/settings?tab=spotify",
     "idle", true},
    {"download_monitor", "Download Monitor", "bi bi-download",
     "/settings?tab=downloads", "idle", true},
    {"automation", "Automation", "bi bi-robot", "/settings?tab=automation",
     "stopped", false},
    {"cleanup", "Cleanup", "bi bi-trash3", "/settings?tab=automation",
     "stopped", false},
    {"duplicate_detector", "Duplicate Detector", "bi bi-copy",
     "/settings?tab=automation", "stopped", false},
  };
  for (size_t i = 0; i < 6; i++) {
    json_t *e = json_object_get(w, want[i].key);
    assert_non_null(e);
    assert_int_equal(json_object_size(e), 6);
    assert_string_equal(json_string_value(json_object_get(e, "name")),
                        want[i].name);
    assert_string_equal(json_string_value(json_object_get(e, "icon")),
                        want[i].icon);
    assert_string_equal(json_string_value(json_object_get(e, "settings_url")),
                        want[i].url);
    assert_string_equal(json_string_value(json_object_get(e, "status")),
                        want[i].status);
    assert_int_equal(json_is_true(json_object_get(e, "running")),
                     want[i].running);
    assert_true(json_is_object(json_object_get(e, "details")));
  }
  json_decref(root);
}

static void test_documented_details(void **state)
{
  (void)state;
  struct workers_model m = model();
  m.units[UNIT_SPOTIFY_SYNC].times[SYNC_ARTISTS] = NOW - 5 * 60000;
  m.units[UNIT_SPOTIFY_SYNC].times[SYNC_PLAYLISTS] = NOW - 12 * 60000;
  m.units[UNIT_SPOTIFY_SYNC].times[SYNC_ALBUMS] = NOW - 3600000;
  m.units[UNIT_DOWNLOAD_MONITOR].times[DM_LAST_POLL] = NOW - 3000;
  m.units[UNIT_DOWNLOAD_MONITOR].counters[DM_DOWNLOADS_COMPLETED] = 42;
  m.units[UNIT_DOWNLOAD_MONITOR].counters[DM_DOWNLOADS_FAILED] = 2;
  m.units[UNIT_CLEANUP].counters[CL_BYTES_FREED] = 5000000000LL;
  m.units[UNIT_DUPLICATE_DETECTOR].times[DD_LAST_SCAN] = NOW - 3 * 86400000LL;
  json_t *root = render_json(&m);
  json_t *w = json_object_get(root, "workers");
#define DET(k) json_object_get(json_object_get(w, k), "details")
  json_t *d = DET("token_refresh");
  assert_int_equal(json_integer_value(
                     json_object_get(d, "check_interval_seconds")),
                   300);
  assert_int_equal(json_integer_value(
                     json_object_get(d, "refresh_threshold_minutes")),
                   10);
  d = DET("spotify_sync");
  json_t *ls = json_object_get(d, "last_syncs");
  assert_string_equal(json_string_value(json_object_get(ls, "artists")),
                      "vor 5 min");
  assert_string_equal(json_string_value(json_object_get(ls, "playlists")),
                      "vor 12 min");
  assert_string_equal(json_string_value(json_object_get(ls, "albums")),
                      "vor 1 h");
  assert_int_equal(json_integer_value(
                     json_object_get(d, "check_interval_seconds")),
                   60);
  assert_true(json_is_false(json_object_get(d, "has_errors")));
  assert_true(json_is_object(json_object_get(d, "stats")));
  d = DET("download_monitor");
  assert_int_equal(json_integer_value(
                     json_object_get(d, "poll_interval_seconds")),
                   10);
  assert_string_equal(json_string_value(json_object_get(d, "last_poll")),
                      "gerade eben");
  assert_int_equal(json_integer_value(
                     json_object_get(d, "downloads_completed")),
                   42);
  assert_int_equal(json_integer_value(json_object_get(d, "downloads_failed")),
                   2);
  d = DET("cleanup");
  assert_true(json_is_false(json_object_get(d, "dry_run")));
  assert_string_equal(json_string_value(json_object_get(d, "last_run")),
                      "noch nie");
  assert_int_equal(json_integer_value(json_object_get(d, "files_deleted")), 0);
  assert_int_equal(json_integer_value(json_object_get(d, "bytes_freed")),
                   5000000000LL);
  d = DET("duplicate_detector");
  assert_string_equal(json_string_value(
                        json_object_get(d, "detection_method")),
                      "metadata-hash");
  assert_string_equal(json_string_value(json_object_get(d, "last_scan")),
                      "vor 3 d");
  assert_true(json_is_integer(json_object_get(d, "duplicates_found")));
  assert_true(json_is_integer(json_object_get(d, "tracks_scanned")));
#undef DET
  json_decref(root);
}

static void test_error_shows_last_error_everywhere(void **state)
{
  (void)state;
  struct workers_model m = model();
  m.units[UNIT_SPOTIFY_SYNC].state = UNIT_ERROR;
  strcpy(m.units[UNIT_SPOTIFY_SYNC].last_error,
         "<script>alert(\"x\")</script> & 'quotes'");
  m.units[UNIT_SPOTIFY_SYNC].last_error_reason = SS_R_AUTH;
  json_t *root = render_json(&m);
  json_t *e = json_object_get(json_object_get(root, "workers"),
                              "spotify_sync");
  assert_string_equal(json_string_value(json_object_get(e, "status")),
                      "error");
  json_t *d = json_object_get(e, "details");
  assert_true(json_is_true(json_object_get(d, "has_errors")));
  assert_string_equal(json_string_value(json_object_get(d, "last_error")),
                      m.units[UNIT_SPOTIFY_SYNC].last_error);
  assert_string_equal(json_string_value(
                        json_object_get(d, "last_error_reason")),
                      "auth");
  /* A unit without an error has no reason. */
  d = json_object_get(json_object_get(json_object_get(root, "workers"),
                                      "cleanup"),
                      "details");
  assert_true(json_is_null(json_object_get(d, "last_error_reason")));
  json_decref(root);

  char *html = render_html(&m);
  assert_null(strstr(html, "<script>"));
  assert_non_null(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)"));
  assert_non_null(strstr(html, "&amp; &#39;quotes&#39;"));
  assert_non_null(strstr(html, "data-overall=\"error\""));
  /* ... and what to do about it, in German. */
  assert_non_null(strstr(html, "data-reason=\"auth\">Tipp: Anmeldung "
                               "erneuern: Spotify neu verbinden"));
  assert_non_null(strstr(html, "class=\"wk-unit wk-error\" "
                               "data-worker=\"spotify_sync\""));
  free(html);
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static void test_html_fragment(void **state)
{
  (void)state;
  struct workers_model m = model();
  m.units[UNIT_DOWNLOAD_MONITOR].state = UNIT_ACTIVE;
  m.services[SVC_MUSICBRAINZ].up = true;
  char *html = render_html(&m);
  assert_null(strstr(html, "<html"));
  assert_null(strstr(html, "<body"));
  assert_int_equal(count(html, "class=\"wk-unit "), 6);
  assert_int_equal(count(html, "role=\"tooltip\""), 7);
  assert_non_null(strstr(html, "data-overall=\"active\""));
  static const char *const icons[] = {"bi bi-key",      "bi bi-spotify",
                                      "bi bi-download", "bi bi-robot",
                                      "bi bi-trash3",   "bi bi-copy"};
  const char *prev = html;
  for (int i = 0; i < 6; i++) {
    char needle[64];
    snprintf(needle, sizeof needle, "<i class=\"%s\"", icons[i]);
    const char *at = strstr(prev, needle);
    assert_non_null(at);
    prev = at;
  }
  assert_non_null(strstr(html, "class=\"wk-unit wk-active\" "
                               "data-worker=\"download_monitor\""));
  assert_non_null(strstr(html, "class=\"wk-unit wk-stopped\" "
                               "data-worker=\"cleanup\""));
  assert_non_null(strstr(html, "<strong>Cleanup</strong> <span "
                               "class=\"wk-state\">Gestoppt</span>"));
  assert_non_null(strstr(html, "<strong>Token Refresh</strong> <span "
                               "class=\"wk-state\">Bereit</span>"));
  assert_non_null(strstr(html, "Prüfung alle 5 min"));
  assert_non_null(strstr(html, "0 von 3 Workern aktiv"));
  assert_non_null(strstr(html, "Methode: metadata-hash"));
  assert_non_null(strstr(html, "data-service=\"musicbrainz\" "
                               "title=\"MusicBrainz: erreichbar\""));
  assert_int_equal(count(html, "wk-svc wk-svc-down"), 3);
  free(html);
}

static void test_services_exact_shape(void **state)
{
  (void)state;
  struct workers_model m = model();
  m.services[SVC_SPOTIFY].up = true;
  m.services[SVC_COVERART].up = true;
  struct buf b;
  buf_init(&b, 0);
  workers_render_services(&b, &m);
  assert_string_equal(buf_cstr(&b),
                      "{\"spotify\":true,\"slskd\":false,"
                      "\"musicbrainz\":false,\"coverart\":true}");
  buf_reset(&b);
  strcpy(m.services[SVC_SLSKD].reason, "API key \"refused\"");
  workers_render_services_detail(&b, &m, NOW);
  json_error_t err;
  json_t *root = json_loads(buf_cstr(&b), JSON_REJECT_DUPLICATES, &err);
  assert_non_null(root);
  /* each key once: "checked" is the boolean, "checked_ago" the time */
  assert_true(json_is_boolean(
    json_object_get(json_object_get(root, "slskd"), "checked")));
  assert_true(json_is_string(
    json_object_get(json_object_get(root, "slskd"), "checked_ago")));
  assert_string_equal(json_string_value(
                        json_object_get(json_object_get(root, "slskd"),
                                        "reason")),
                      "API key \"refused\"");
  json_decref(root);
  buf_free(&b);
}

static void test_disabled_error_unit_is_stopped(void **state)
{
  (void)state;
  struct workers_model m = model();
  /* Disabled while its last run had failed: stopped wins (docs/API.md). */
  m.units[UNIT_TOKEN_REFRESH].enabled = false;
  m.units[UNIT_TOKEN_REFRESH].running = false;
  m.units[UNIT_TOKEN_REFRESH].state = UNIT_ERROR;
  struct view_status s = workers_view_status(&m, VIEW_TOKEN_REFRESH);
  assert_int_equal(s.status, UNIT_STOPPED);
  assert_false(s.running);
}

/* A tooltip line cut at its 511 bytes ends on a whole character. */
static void test_long_line_cut_on_a_character(void **state)
{
  (void)state;
  char text[700] = "xy"; /* so that byte 511 is the first half of an ö */
  for (int i = 0; i < 300; i++)
    strcat(text, "\xc3\xb6");
  struct buf b;
  buf_init(&b, 0);
  view_html_linef(&b, "%s", text);
  const char *open = "<span class=\"wk-detail\">";
  const char *s = buf_cstr(&b);
  assert_memory_equal(s, open, strlen(open));
  const char *inner = s + strlen(open);
  const char *end = strstr(inner, "</span>");
  assert_non_null(end);
  assert_int_equal(end - inner, 510); /* "xy" and 254 whole ö */
  assert_memory_equal(end - 2, "\xc3\xb6", 2);
  buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_aggregate_rules),
    cmocka_unit_test(test_automation_aggregates_three_units),
    cmocka_unit_test(test_automation_wanted_counts),
    cmocka_unit_test(test_json_exact_shape_and_order),
    cmocka_unit_test(test_documented_details),
    cmocka_unit_test(test_error_shows_last_error_everywhere),
    cmocka_unit_test(test_html_fragment),
    cmocka_unit_test(test_services_exact_shape),
    cmocka_unit_test(test_disabled_error_unit_is_stopped),
    cmocka_unit_test(test_long_line_cut_on_a_character),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
