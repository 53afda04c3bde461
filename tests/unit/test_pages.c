/*
 * test_pages.c - the page renderers of src/api/pages.c, without a server.
 *
 * Drives the pure renderers (settings page, one field, the apply-a-field
 * logic of POST /settings, dashboard, workers table, ETag matching) against
 * the real settings store, which every test resets to its defaults.  Units
 * for the workers table are fake definitions and hand-made snapshots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/pages.h"
#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"

/* ------------------------------------------------------------ helpers */

static int setup(void **state)
{
  (void)state;
  settings_init();
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  settings_cleanup();
  return 0;
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0, len = strlen(needle);
  for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
    n++;
  return n;
}

#define assert_has(hay, needle)                                               \
  do {                                                                        \
    if (!strstr((hay), (needle)))                                             \
      fail_msg("missing: %s", (needle));                                      \
  } while (0)
#define assert_lacks(hay, needle)                                             \
  do {                                                                        \
    if (strstr((hay), (needle)))                                              \
      fail_msg("unexpected: %s", (needle));                                   \
  } while (0)

static void set(enum setting_id id, const char *text)
{
  char err[256];
  int rc = settings_set(id, text, err, sizeof err);
  if (rc != SS_OK)
    fail_msg("settings_set %s: %s", settings_defs[id].key, err);
}

/* Renders the settings page for tab into b (reset first). */
static const char *settings_page(struct buf *b, const char *tab)
{
  buf_reset(b);
  assert_int_equal(pages_render_settings(b, tab), SS_OK);
  return buf_cstr(b);
}

static const char *field(struct buf *b, enum setting_id id, const char *shown,
                         const char *error, bool saved)
{
  buf_reset(b);
  assert_int_equal(pages_render_field(b, id, shown, error, saved), SS_OK);
  return buf_cstr(b);
}

/* ------------------------------------------------------------ tabs */

static void test_tab_named_by_query_is_open(void **state)
{
  (void)state;
  static const char *const names[] = {"spotify", "downloads", "automation"};
  static const char *const own_field[] =
    {"id=\"field-spotify-client_id\"", "id=\"field-slskd-url\"",
     "id=\"field-automation-cleanup_enabled\""};
  struct buf b;
  buf_init(&b, 0);
  for (int i = 0; i < 3; i++) {
    char want[128];
    const char *html = settings_page(&b, names[i]);
    snprintf(
      want, sizeof want,
      "<a class=\"tab\" href=\"/settings?tab=%s\" aria-current=\"page\"",
      names[i]);
    assert_has(html, want);
    /* One current tab, plus the sidebar's Settings link. */
    assert_int_equal(count(html, "aria-current=\"page\""), 2);
    snprintf(want, sizeof want, "id=\"tab-%s\"", names[i]);
    assert_has(html, want);
    for (int j = 0; j < 3; j++) {
      if (j == i)
        assert_has(html, own_field[j]);
      else
        assert_lacks(html, own_field[j]);
    }
  }
  buf_free(&b);
}

static void test_unknown_tab_falls_back_to_spotify(void **state)
{
  (void)state;
  static const char *const bad[] = {NULL,         "",
                                    "bogus",      "Spotify",
                                    "downloads ", "<script>alert(1)</script>"};
  struct buf b;
  buf_init(&b, 0);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *html = settings_page(&b, bad[i]);
    assert_has(html, "href=\"/settings?tab=spotify\" aria-current=\"page\"");
    assert_has(html, "id=\"tab-spotify\"");
    assert_lacks(html, "alert(1)");
    assert_string_equal(pages_tab_name(bad[i]), "spotify");
  }
  assert_string_equal(pages_tab_name("automation"), "automation");
  buf_free(&b);
}

static void assert_tab_has_keys(const char *tab, const char *const *keys)
{
  struct buf b;
  buf_init(&b, 0);
  const char *html = settings_page(&b, tab);
  for (; *keys; keys++) {
    char want[128];
    int id = settings_lookup(*keys);
    if (id < 0)
      fail_msg("no such setting %s", *keys);
    snprintf(want, sizeof want, "id=\"field-%s\"", *keys);
    for (char *p = want; *p; p++)
      if (*p == '.')
        *p = '-';
    assert_has(html, want);
    snprintf(want, sizeof want, "&quot;key&quot;:&quot;%s&quot;", *keys);
    assert_has(html, want);
  }
  buf_free(&b);
}

static void test_every_setting_is_on_its_tab(void **state)
{
  (void)state;
  static const char *const spotify[] =
    {"spotify.token_refresh_enabled",
     "spotify.token_check_interval_seconds",
     "spotify.token_refresh_threshold_minutes",
     "spotify.auto_sync_enabled",
     "spotify.sync_check_interval_seconds",
     "spotify.auto_sync_artists",
     "spotify.auto_sync_playlists",
     "spotify.auto_sync_liked_songs",
     "spotify.auto_sync_saved_albums",
     "spotify.auto_sync_artist_albums",
     "spotify.artists_sync_interval_minutes",
     "spotify.playlists_sync_interval_minutes",
     "spotify.albums_sync_interval_minutes",
     "spotify.client_id",
     "spotify.client_secret",
     "spotify.redirect_uri",
     "spotify.accounts_url",
     "spotify.api_url",
     NULL};
  static const char *const downloads[] = {"download.monitor_enabled",
                                          "download.poll_interval_seconds",
                                          "slskd.url",
                                          "slskd.api_key",
                                          "download.slskd_download_path",
                                          "download.temp_path",
                                          "library.path",
                                          NULL};
  static const char *const automation[] =
    {"automation.watchlist_enabled",
     "automation.watchlist_interval_minutes",
     "automation.discography_enabled",
     "automation.discography_interval_hours",
     "automation.quality_upgrade_enabled",
     "automation.quality_upgrade_interval_hours",
     "automation.quality_profile",
     "automation.cleanup_enabled",
     "automation.cleanup_interval_hours",
     "automation.cleanup_dry_run",
     "automation.cleanup_retention_days",
     "automation.duplicate_detection_enabled",
     "automation.duplicate_scan_interval_hours",
     "automation.duplicate_detection_method",
     "musicbrainz.url",
     "coverart.url",
     "probe.interval_seconds",
     "probe.timeout_seconds",
     NULL};
  assert_tab_has_keys("spotify", spotify);
  assert_tab_has_keys("downloads", downloads);
  assert_tab_has_keys("automation", automation);
}

/* ------------------------------------------------------------ escaping */

static void test_string_values_are_escaped(void **state)
{
  (void)state;
  static const char hostile[] = "<script>\"'&";
  static const char escaped[] = "&lt;script&gt;&quot;&#39;&amp;";
  set(S_LIBRARY_PATH, "/music/<script>\"'&");
  set(S_SPOTIFY_CLIENT_ID, hostile);
  struct buf b;
  buf_init(&b, 0);
  const char *html = settings_page(&b, "downloads");
  assert_lacks(html, "<script>\"");
  assert_has(html, escaped);
  html = settings_page(&b, "spotify");
  assert_lacks(html, "<script>\"");
  assert_has(html, escaped);
  html = field(&b, S_LIBRARY_PATH, NULL, NULL, false);
  char want[128];
  snprintf(want, sizeof want, "value=\"/music/%s\"", escaped);
  assert_has(html, want);
  buf_free(&b);
}

static void test_error_and_typed_value_are_escaped(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  const char *html = field(&b, S_AUTOMATION_CLEANUP_RETENTION_DAYS, "<b>9\"",
                           "bad <i>value</i> & more", false);
  assert_has(html, "<span class=\"field-error\" role=\"alert\"");
  assert_has(html, "bad &lt;i&gt;value&lt;/i&gt; &amp; more");
  assert_has(html, "value=\"&lt;b&gt;9&quot;\"");
  assert_has(html, "aria-invalid=\"true\"");
  assert_has(html, "class=\"field field-int has-error\"");
  assert_lacks(html, "<b>");
  assert_lacks(html, "<i>value");
  assert_lacks(html, "field-saved");
  buf_free(&b);
}

/* ------------------------------------------------------------ secrets */

static void test_secrets_are_never_rendered(void **state)
{
  (void)state;
  set(S_SPOTIFY_CLIENT_SECRET, "s3cr3t-CLIENT");
  set(S_SLSKD_API_KEY, "s3cr3t-SLSKD");
  struct buf b;
  buf_init(&b, 0);
  const char *html = settings_page(&b, "spotify");
  assert_lacks(html, "s3cr3t");
  assert_has(html, "type=\"password\"");
  html = settings_page(&b, "downloads");
  assert_lacks(html, "s3cr3t");
  html = field(&b, S_SLSKD_API_KEY, NULL, NULL, false);
  assert_has(html, "type=\"password\"");
  assert_has(html, "value=\"\"");
  assert_has(html, ">set</span>");
  assert_lacks(html, "not set");
  /* Even a typed value that failed is not echoed back for a secret. */
  html = field(&b, S_SLSKD_API_KEY, "typed-s3cr3t", "some error", false);
  assert_lacks(html, "s3cr3t");
  assert_has(html, "some error");
  set(S_SLSKD_API_KEY, "");
  html = field(&b, S_SLSKD_API_KEY, NULL, NULL, false);
  assert_has(html, ">not set</span>");
  buf_free(&b);
}

/* ------------------------------------------------------------ inputs */

static void test_bool_is_a_switch_with_checked_state(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  const char *html = field(&b, S_SPOTIFY_AUTO_SYNC_ENABLED, NULL, NULL, false);
  assert_has(html, "type=\"checkbox\" role=\"switch\"");
  assert_has(html, " checked");
  set(S_SPOTIFY_AUTO_SYNC_ENABLED, "false");
  html = field(&b, S_SPOTIFY_AUTO_SYNC_ENABLED, NULL, NULL, false);
  assert_has(html, "role=\"switch\"");
  assert_lacks(html, " checked");
  html = field(&b, S_SPOTIFY_AUTO_SYNC_ENABLED, "true", NULL, false);
  assert_has(html, " checked");
  buf_free(&b);
}

static void test_int_has_bounds_and_value(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  const char *html = field(&b, S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS, NULL,
                           NULL, false);
  assert_has(html, "type=\"number\"");
  assert_has(html, "min=\"30\" max=\"3600\"");
  assert_has(html, "value=\"300\"");
  html = field(&b, S_AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS, NULL, NULL,
               false);
  assert_has(html, "min=\"6\" max=\"720\"");
  assert_has(html, "value=\"168\"");
  buf_free(&b);
}

static void test_enum_is_a_select(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  const char *html = field(&b, S_AUTOMATION_QUALITY_PROFILE, NULL, NULL,
                           false);
  assert_has(html, "<select");
  assert_int_equal(count(html, "<option "), 3);
  assert_has(html, "<option value=\"high\" selected>high</option>");
  assert_has(html, "<option value=\"lossless\">lossless</option>");
  assert_int_equal(count(html, " selected"), 1);
  buf_free(&b);
}

static void test_field_htmx_wiring(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  const char *html = field(&b, S_SPOTIFY_AUTO_SYNC_ENABLED, NULL, NULL, false);
  assert_has(html, "<div class=\"field field-bool\" "
                   "id=\"field-spotify-auto_sync_enabled\">");
  assert_has(html, "name=\"value\"");
  assert_has(html, "hx-post=\"/settings\"");
  assert_has(html, "hx-vals=\"{&quot;key&quot;:&quot;"
                   "spotify.auto_sync_enabled&quot;}\"");
  assert_has(html, "hx-trigger=\"change\"");
  assert_has(html, "hx-target=\"closest .field\"");
  assert_has(html, "hx-swap=\"outerHTML\"");
  assert_has(html, "<label class=\"field-label\" "
                   "for=\"in-spotify-auto_sync_enabled\">");
  assert_has(html, "id=\"in-spotify-auto_sync_enabled\"");
  assert_lacks(html, "js:");
  assert_lacks(html, "field-saved");
  html = field(&b, S_SPOTIFY_AUTO_SYNC_ENABLED, NULL, NULL, true);
  assert_has(html, "class=\"field-saved\"");
  assert_has(html, "Saved");
  buf_free(&b);
}

/* ------------------------------------------------------------ apply */

static void test_apply_saves_and_marks(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_int_equal(pages_apply_field(&b, "automation.cleanup_enabled", "true"),
                   SS_OK);
  assert_true(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_has(buf_cstr(&b), "id=\"field-automation-cleanup_enabled\"");
  assert_has(buf_cstr(&b), " checked");
  assert_has(buf_cstr(&b), "field-saved");
  buf_free(&b);
}

static void test_apply_invalid_keeps_stored_value(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(pages_apply_field(&b,
                                     "spotify.token_check_interval_seconds",
                                     "5"),
                   SS_OK);
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 300);
  const char *html = buf_cstr(&b);
  assert_has(html, "role=\"alert\"");
  assert_has(html, "value=\"5\"");
  assert_lacks(html, "value=\"300\"");
  assert_lacks(html, "field-saved");
  buf_free(&b);
}

static void test_apply_rejects_bad_requests(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(pages_apply_field(&b, "no.such_key", "1"), SS_ENOTFOUND);
  assert_int_equal(pages_apply_field(&b, NULL, "1"), SS_ENOTFOUND);
  assert_int_equal(pages_apply_field(&b, "server.listen", "0.0.0.0:1"),
                   SS_EINVAL);
  assert_int_equal(pages_apply_field(&b, "automation.cleanup_enabled", NULL),
                   SS_EINVAL);
  assert_int_equal(b.len, 0);
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  buf_free(&b);
}

static void test_apply_empty_secret_keeps_it(void **state)
{
  (void)state;
  char val[64];
  struct buf b;
  buf_init(&b, 0);
  set(S_SLSKD_API_KEY, "old-K3Y");
  assert_int_equal(pages_apply_field(&b, "slskd.api_key", ""), SS_OK);
  settings_str(S_SLSKD_API_KEY, val, sizeof val);
  assert_string_equal(val, "old-K3Y");
  assert_lacks(buf_cstr(&b), "field-saved");
  assert_lacks(buf_cstr(&b), "K3Y");
  buf_reset(&b);
  assert_int_equal(pages_apply_field(&b, "slskd.api_key", "new-K3Y"), SS_OK);
  settings_str(S_SLSKD_API_KEY, val, sizeof val);
  assert_string_equal(val, "new-K3Y");
  assert_has(buf_cstr(&b), "field-saved");
  assert_lacks(buf_cstr(&b), "K3Y");
  buf_free(&b);
}

/* ------------------------------------------------------------ workers */

static const char *const no_names[] = {NULL};

#define FAKE_DEF(k, l)                                                        \
  {                                                                           \
    .key = k, .label = l, .counter_names = no_names, .time_names = no_names   \
  }
static const struct unit_def fake_defs[UNIT__COUNT] = {
  FAKE_DEF("token_refresh", "Token Refresh"),
  FAKE_DEF("spotify_sync", "Spotify Sync"),
  FAKE_DEF("download_monitor", "Download Monitor"),
  FAKE_DEF("automation.watchlist", "Watchlist"),
  FAKE_DEF("automation.discography", "Discography"),
  FAKE_DEF("automation.quality_upgrade", "Quality Upgrade"),
  FAKE_DEF("cleanup", "Cleanup"),
  FAKE_DEF("duplicate_detector", "Duplicate Detector"),
};

#define NOW_MS 1700000000000LL

/* Idle, active, error and stopped units with known times. */
static void fake_units(const struct unit_def *defs[UNIT__COUNT],
                       struct unit_snapshot snaps[UNIT__COUNT])
{
  memset(snaps, 0, sizeof(struct unit_snapshot) * UNIT__COUNT);
  for (int i = 0; i < UNIT__COUNT; i++)
    defs[i] = &fake_defs[i];
  struct unit_snapshot *s = &snaps[UNIT_TOKEN_REFRESH];
  *s = (struct unit_snapshot){.state = UNIT_IDLE,
                              .enabled = true,
                              .running = true,
                              .interval_s = 300,
                              .last_start_ms = NOW_MS - 300000,
                              .last_end_ms = NOW_MS - 298500,
                              .last_duration_ms = 1500,
                              .next_run_ms = NOW_MS + 180000,
                              .runs = 3};
  s = &snaps[UNIT_SPOTIFY_SYNC];
  *s = (struct unit_snapshot){.state = UNIT_ACTIVE,
                              .enabled = true,
                              .running = true,
                              .interval_s = 60,
                              .last_start_ms = NOW_MS - 2000};
  s = &snaps[UNIT_DOWNLOAD_MONITOR];
  *s = (struct unit_snapshot){.state = UNIT_ERROR,
                              .enabled = true,
                              .running = true,
                              .interval_s = 10,
                              .last_start_ms = NOW_MS - 20000,
                              .last_end_ms = NOW_MS - 19650,
                              .last_duration_ms = 350,
                              .last_result = UNIT_RUN_ERROR,
                              .runs = 1};
  snprintf(s->last_error, sizeof s->last_error, "slskd said <b>\"no\"</b>");
  s = &snaps[UNIT_CLEANUP];
  *s = (struct unit_snapshot){.state = UNIT_IDLE,
                              .enabled = true,
                              .running = true,
                              .interval_s = 86400};
  snprintf(s->note, sizeof s->note, "temp path <not set> & skipped");
  snaps[UNIT_DUPLICATE_DETECTOR].interval_s = 168 * 3600;
}

static void test_workers_table(void **state)
{
  (void)state;
  const struct unit_def *defs[UNIT__COUNT];
  struct unit_snapshot snaps[UNIT__COUNT];
  fake_units(defs, snaps);
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(pages_render_workers_table(&b, defs, snaps, NOW_MS), SS_OK);
  const char *html = buf_cstr(&b);
  assert_int_equal(count(html, "<tr data-unit="), UNIT__COUNT);
  assert_has(html, "state-idle\"><span class=\"dot\"");
  assert_has(html, ">Bereit<");
  assert_has(html, ">Läuft<");
  assert_has(html, ">Fehler<");
  assert_int_equal(count(html, ">Gestoppt<"), 4);
  assert_has(html, ">alle 5 min<");
  assert_has(html, ">alle 24 h<");
  assert_has(html, ">alle 10 s<");
  assert_has(html, ">alle 7 d<");
  assert_has(html, "vor 5 min <span class=\"muted\">(1.5 s)</span>");
  assert_has(html, "(350 ms)");
  assert_has(html, ">in 3 min<");
  assert_has(html, ">noch nie<");
  assert_has(html, "slskd said &lt;b&gt;&quot;no&quot;&lt;/b&gt;");
  assert_has(html, "temp path &lt;not set&gt; &amp; skipped");
  assert_lacks(html, "<b>");
  assert_has(html, "hx-post=\"/api/workers/token_refresh/run\"");
  assert_has(html, "hx-post=\"/api/workers/automation.watchlist/run\"");
  /* Four stopped (disabled) units get a disabled button, nobody else. */
  assert_int_equal(count(html, " disabled"), 4);
  buf_free(&b);
}

/* A unit in error whose service backs off: the error stands and the
 * deferred run's note says until when (escaped); a plain error has no
 * note line. */
static void test_workers_table_deferred(void **state)
{
  (void)state;
  const struct unit_def *defs[UNIT__COUNT];
  struct unit_snapshot snaps[UNIT__COUNT];
  fake_units(defs, snaps);
  struct unit_snapshot *s = &snaps[UNIT_DOWNLOAD_MONITOR];
  snprintf(s->note, sizeof s->note,
           "slskd unavailable 2 time(s) in a row; next try after 12:00:30 "
           "UTC (last: <b>&\"')");
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(pages_render_workers_table(&b, defs, snaps, NOW_MS), SS_OK);
  assert_null(strstr(buf_cstr(&b), "next try after"));
  s->last_result = UNIT_RUN_DEFERRED;
  buf_reset(&b);
  assert_int_equal(pages_render_workers_table(&b, defs, snaps, NOW_MS), SS_OK);
  const char *html = buf_cstr(&b);
  assert_has(html, "slskd said &lt;b&gt;&quot;no&quot;&lt;/b&gt;");
  assert_has(html, "<br><span class=\"msg-note\">slskd unavailable 2 time(s) "
                   "in a row; next try after 12:00:30 UTC (last: "
                   "&lt;b&gt;&amp;&quot;&#39;)</span>");
  buf_free(&b);
}

static void test_dashboard_layout_shell(void **state)
{
  (void)state;
  const struct unit_def *defs[UNIT__COUNT];
  struct unit_snapshot snaps[UNIT__COUNT];
  fake_units(defs, snaps);
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(pages_render_dashboard(&b, defs, snaps, NOW_MS), SS_OK);
  const char *html = buf_cstr(&b);
  assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
  assert_has(html, "<div class=\"worker-status\" "
                   "hx-get=\"/api/workers/status/html\" "
                   "hx-trigger=\"load, every 10s\" hx-swap=\"innerHTML\">"
                   "</div>");
  assert_has(html, "<div id=\"workers-table\" class=\"card-body\" "
                   "hx-get=\"/workers/table\" hx-trigger=\"load, every 5s\" "
                   "hx-swap=\"innerHTML\">");
  assert_has(html, "href=\"/static/icons.css\"");
  assert_has(html, "href=\"/static/app.css\"");
  assert_has(html, "<script src=\"/static/htmx.min.js\"");
  assert_has(html, "<script src=\"/static/app.js\"");
  /* No inline script or handler (CSP). */
  assert_int_equal(count(html, "<script"), count(html, "<script src="));
  assert_lacks(html, " onclick=");
  assert_lacks(html, " onload=");
  assert_lacks(html, "hx-on");
  assert_has(html, "SoulSpot");
  assert_has(html, "<a class=\"nav-link\" href=\"/\" aria-current=\"page\">");
  assert_has(html, "<a class=\"nav-link\" href=\"/settings\">");
  assert_has(html, "</html>");
  buf_free(&b);
}

static void test_render_fails_cleanly_when_too_big(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 512);
  assert_int_equal(pages_render_settings(&b, "spotify"), SS_ETOOBIG);
  assert_true(b.len <= 512);
  buf_free(&b);
}

/* ------------------------------------------------------------ etag */

static void test_etag_matches(void **state)
{
  (void)state;
  const char *tag = "\"abc123\"";
  assert_false(http_etag_matches(NULL, tag));
  assert_false(http_etag_matches("", tag));
  assert_true(http_etag_matches("\"abc123\"", tag));
  assert_true(http_etag_matches("W/\"abc123\"", tag));
  assert_true(http_etag_matches("\"x\", \"abc123\" ", tag));
  assert_true(http_etag_matches("*", tag));
  assert_false(http_etag_matches("\"abc12\"", tag));
  assert_false(http_etag_matches("\"abc1234\"", tag));
  assert_false(http_etag_matches("abc123", tag));
  assert_false(http_etag_matches(" , ,", tag));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_tab_named_by_query_is_open),
    T(test_unknown_tab_falls_back_to_spotify),
    T(test_every_setting_is_on_its_tab),
    T(test_string_values_are_escaped),
    T(test_error_and_typed_value_are_escaped),
    T(test_secrets_are_never_rendered),
    T(test_bool_is_a_switch_with_checked_state),
    T(test_int_has_bounds_and_value),
    T(test_enum_is_a_select),
    T(test_field_htmx_wiring),
    T(test_apply_saves_and_marks),
    T(test_apply_invalid_keeps_stored_value),
    T(test_apply_rejects_bad_requests),
    T(test_apply_empty_secret_keeps_it),
    T(test_workers_table),
    T(test_workers_table_deferred),
    T(test_dashboard_layout_shell),
    T(test_render_fails_cleanly_when_too_big),
    T(test_etag_matches),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
