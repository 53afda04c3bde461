/*
 * test_settings_api.c - GET/PATCH /api/settings against a real soulspotd:
 * switching every worker (and every automation sub-unit) on and off takes
 * effect within a second; bad input is rejected with the right code and
 * changes nothing; secrets are masked and never echoed or logged; settings
 * survive a restart and a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "itest.h"

#define FLIP_MS 1000 /* docs/API.md: effect within a second */
#define SECRET_A "s3cr3t-slskd-key-Zq7!x9"
#define SECRET_B "s3cr3t-client-secret-Kp2@w5"

static int start(void **state, const char *ini)
{
  struct it_fixture *f = *state;
  return daemon_start(&f->d, ini, NULL);
}

/* GET /api/settings body as a heap string. */
static char *settings_text(struct it_fixture *f)
{
  struct hc_resp r = {0};
  assert_int_equal(hc_get(it_url(f, "/api/settings"), &r), SS_OK);
  IT_ASSERT_STATUS(&r, 200);
  char *text = xstrdup(buf_cstr(&r.body));
  hc_resp_free(&r);
  return text;
}

static json_t *settings_json(struct it_fixture *f)
{
  long status = 0;
  json_t *doc = it_get_json(it_url(f, "/api/settings"), &status);
  assert_int_equal(status, 200);
  json_t *s = json_object_get(doc, "settings");
  assert_true(json_is_object(s));
  json_incref(s);
  json_decref(doc);
  return s;
}

/* ---- switching workers ---- */

struct expect_worker {
  const char *key;
  bool running;
};

static bool worker_is(json_t *doc, void *arg)
{
  const struct expect_worker *e = arg;
  json_t *w = it_worker(doc, e->key);
  json_t *st = json_object_get(w, "status");
  if (!json_is_boolean(json_object_get(w, "running")) ||
      json_is_true(json_object_get(w, "running")) != e->running ||
      !json_is_string(st))
    return false;
  const char *s = json_string_value(st);
  if (!e->running)
    return strcmp(s, "stopped") == 0;
  return strcmp(s, "idle") == 0 || strcmp(s, "active") == 0;
}

static void patch_ok(struct it_fixture *f, const char *body)
{
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
}

/* PATCH key=value, then wait at most FLIP_MS for the worker to follow. */
static void flip(struct it_fixture *f, const char *worker, const char *key,
                 bool on)
{
  char body[256];
  struct expect_worker e = {worker, on};
  int64_t took = 0;
  snprintf(body, sizeof body, "{\"%s\": %s}", key, on ? "true" : "false");
  patch_ok(f, body);
  bool ok = it_wait_json(it_url(f, "/api/workers/status"), worker_is, &e,
                         FLIP_MS, &took);
  if (!ok)
    fprintf(stderr, "error: %s did not turn %s within %d ms after %s\n",
            worker, on ? "on" : "off", FLIP_MS, body);
  assert_true(ok);
}

static void toggle(void **state, const char *worker, const char *key,
                   bool default_on)
{
  struct it_fixture *f = *state;
  struct expect_worker e = {worker, default_on};
  assert_int_equal(start(state, NULL), SS_OK);
  assert_true(
    it_wait_json(it_url(f, "/api/workers/status"), worker_is, &e, 2000, NULL));
  flip(f, worker, key, !default_on);
  flip(f, worker, key, default_on);
  flip(f, worker, key, !default_on);
}

static void test_toggle_token_refresh(void **state)
{
  toggle(state, "token_refresh", "spotify.token_refresh_enabled", true);
}

static void test_toggle_spotify_sync(void **state)
{
  toggle(state, "spotify_sync", "spotify.auto_sync_enabled", true);
}

static void test_toggle_download_monitor(void **state)
{
  toggle(state, "download_monitor", "download.monitor_enabled", true);
}

static void test_toggle_automation(void **state)
{
  toggle(state, "automation", "automation.watchlist_enabled", false);
}

static void test_toggle_cleanup(void **state)
{
  toggle(state, "cleanup", "automation.cleanup_enabled", false);
}

static void test_toggle_duplicate_detector(void **state)
{
  toggle(state, "duplicate_detector", "automation.duplicate_detection_enabled",
         false);
}

/* automation sub-units: details flags and the aggregate (docs/API.md). */
struct expect_subs {
  bool watchlist, discography, quality_upgrade;
};

static bool subs_are(json_t *doc, void *arg)
{
  const struct expect_subs *e = arg;
  json_t *a = it_worker(doc, "automation");
  json_t *d = json_object_get(a, "details");
  bool any = e->watchlist || e->discography || e->quality_upgrade;
  struct expect_worker agg = {"automation", any};
  return worker_is(doc, &agg) &&
         json_is_true(json_object_get(d, "watchlist_running")) ==
           e->watchlist &&
         json_is_true(json_object_get(d, "discography_running")) ==
           e->discography &&
         json_is_true(json_object_get(d, "quality_upgrade_running")) ==
           e->quality_upgrade;
}

static void set_sub(struct it_fixture *f, const char *key, bool on,
                    const struct expect_subs *want)
{
  char body[256];
  snprintf(body, sizeof body, "{\"%s\": %s}", key, on ? "true" : "false");
  patch_ok(f, body);
  bool ok = it_wait_json(it_url(f, "/api/workers/status"), subs_are,
                         (void *)want, FLIP_MS, NULL);
  if (!ok)
    fprintf(stderr, "error: automation details did not follow %s\n", body);
  assert_true(ok);
}

static bool unit_enabled_is(struct it_fixture *f, const char *unit, bool on)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *u = it_unit(doc, unit);
  bool ok = json_is_true(json_object_get(u, "enabled")) == on;
  json_decref(doc);
  return ok;
}

static void test_toggle_automation_subunits(void **state)
{
  struct it_fixture *f = *state;
  struct expect_subs none = {false, false, false};
  struct expect_subs w = {true, false, false};
  struct expect_subs wd = {true, true, false};
  struct expect_subs d = {false, true, false};
  struct expect_subs q = {false, false, true};
  assert_int_equal(start(state, NULL), SS_OK);
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), subs_are, &none,
                           2000, NULL));
  set_sub(f, "automation.watchlist_enabled", true, &w);
  assert_true(unit_enabled_is(f, "automation.watchlist", true));
  set_sub(f, "automation.discography_enabled", true, &wd);
  set_sub(f, "automation.watchlist_enabled", false, &d); /* still running */
  assert_true(unit_enabled_is(f, "automation.watchlist", false));
  set_sub(f, "automation.discography_enabled", false, &none);
  set_sub(f, "automation.quality_upgrade_enabled", true, &q);
  assert_true(unit_enabled_is(f, "automation.quality_upgrade", true));
  set_sub(f, "automation.quality_upgrade_enabled", false, &none);
}

/* ---- bad input changes nothing ---- */

struct bad_case {
  const char *name;
  const char *method;
  const char *path;
  const char *body;   /* NULL = none */
  const char *header; /* extra header or NULL */
  int status;
  const char *field; /* key expected in "fields", or NULL */
};

/* Runs one case; returns the number of problems (printed). */
static int run_bad_case(struct it_fixture *f, const struct bad_case *c)
{
  int bad = 0;
  char *before = settings_text(f);
  const char *headers[3] = {"Content-Type: application/json", c->header, NULL};
  if (hc_request(c->method, it_url(f, c->path), headers, c->body, &f->r) !=
      SS_OK) {
    fprintf(stderr, "error: [%s] request failed: %s\n", c->name, f->r.error);
    free(before);
    return 1;
  }
  if (f->r.status != c->status) {
    fprintf(stderr, "error: [%s] HTTP %ld, expected %d: %.300s\n", c->name,
            f->r.status, c->status, buf_cstr(&f->r.body));
    bad++;
  }
  json_t *doc = it_parse(&f->r);
  if (!json_is_string(json_object_get(doc, "error"))) {
    fprintf(stderr, "error: [%s] no {\"error\": ...} body\n", c->name);
    bad++;
  }
  json_t *fields = json_object_get(doc, "fields");
  if (c->field && !json_is_string(json_object_get(fields, c->field))) {
    fprintf(stderr, "error: [%s] \"fields\" does not name %s: %.300s\n",
            c->name, c->field, buf_cstr(&f->r.body));
    bad++;
  }
  json_decref(doc);
  char *after = settings_text(f);
  if (strcmp(before, after) != 0) {
    fprintf(stderr, "error: [%s] settings changed:\n%s\n%s\n", c->name, before,
            after);
    bad++;
  }
  free(before);
  free(after);
  return bad;
}

static void run_bad_cases(void **state, const struct bad_case *cases, size_t n)
{
  struct it_fixture *f = *state;
  int failures = 0;
  assert_int_equal(start(state, NULL), SS_OK);
  for (size_t i = 0; i < n; i++)
    failures += run_bad_case(f, &cases[i]);
  assert_int_equal(failures, 0);
}

#define PATCH_400(name, body, field)                                          \
  {                                                                           \
    name, "PATCH", "/api/settings", body, NULL, 400, field                    \
  }

static void test_patch_rejects_bad_json(void **state)
{
  static const struct bad_case cases[] = {
    PATCH_400("malformed", "{\"log.level\": ", NULL),
    PATCH_400("trailing garbage", "{\"log.level\": \"debug\"} x", NULL),
    PATCH_400("array", "[{\"log.level\": \"debug\"}]", NULL),
    PATCH_400("string", "\"log.level\"", NULL),
    PATCH_400("number", "42", NULL),
    PATCH_400("null", "null", NULL),
    PATCH_400("empty", "", NULL),
  };
  run_bad_cases(state, cases, sizeof cases / sizeof cases[0]);
}

static void test_patch_rejects_bad_values(void **state)
{
  static const struct bad_case cases[] = {
    PATCH_400("unknown key", "{\"nope.key\": 1}", "nope.key"),
    PATCH_400("below min", "{\"download.poll_interval_seconds\": 1}",
              "download.poll_interval_seconds"),
    PATCH_400("above max", "{\"download.poll_interval_seconds\": 301}",
              "download.poll_interval_seconds"),
    PATCH_400("string for int", "{\"download.poll_interval_seconds\": \"20\"}",
              "download.poll_interval_seconds"),
    PATCH_400("float for int", "{\"download.poll_interval_seconds\": 20.5}",
              "download.poll_interval_seconds"),
    PATCH_400("int for bool", "{\"download.monitor_enabled\": 1}",
              "download.monitor_enabled"),
    PATCH_400("string for bool", "{\"download.monitor_enabled\": \"true\"}",
              "download.monitor_enabled"),
    PATCH_400("null value", "{\"download.monitor_enabled\": null}",
              "download.monitor_enabled"),
    PATCH_400("bad enum", "{\"automation.quality_profile\": \"ultra\"}",
              "automation.quality_profile"),
    PATCH_400("bad url", "{\"slskd.url\": \"ftp://127.0.0.1\"}", "slskd.url"),
    PATCH_400("non-runtime key", "{\"server.threads\": 4}", "server.threads"),
    PATCH_400("non-runtime listen", "{\"server.listen\": \"127.0.0.1:9999\"}",
              "server.listen"),
    PATCH_400("all or nothing",
              "{\"download.poll_interval_seconds\": 20,"
              " \"automation.cleanup_retention_days\": 0}",
              "automation.cleanup_retention_days"),
  };
  run_bad_cases(state, cases, sizeof cases / sizeof cases[0]);
}

/* Folder settings: a system folder, a relative path or a folder holding
 * the library or the data folder is refused with the rule's name, and
 * nothing changes (Cleanup would delete there). */
static void expect_folder_refused(struct it_fixture *f, const char *body,
                                  const char *key, const char *rule)
{
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  json_t *doc = it_parse(&f->r);
  const char *msg = json_string_value(
    json_object_get(json_object_get(doc, "fields"), key));
  if (!msg || !strstr(msg, rule))
    fail_msg("%s: message \"%s\" lacks \"%s\"", body, msg ? msg : "(none)",
             rule);
  json_decref(doc);
}

static void test_patch_refuses_dangerous_folders(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  expect_folder_refused(f, "{\"download.temp_path\": \"/etc\"}",
                        "download.temp_path", "system folder /etc");
  expect_folder_refused(f, "{\"download.temp_path\": \"/etc/../etc/\"}",
                        "download.temp_path", "system folder /etc");
  expect_folder_refused(f, "{\"download.temp_path\": \"tmp/slskd\"}",
                        "download.temp_path", "must be an absolute path");
  expect_folder_refused(f, "{\"library.path\": \"/usr\"}", "library.path",
                        "system folder /usr");
  expect_folder_refused(f, "{\"library.quarantine_path\": \"/var\"}",
                        "library.quarantine_path", "system folder /var");
  expect_folder_refused(f, "{\"download.slskd_download_path\": \"/home/\"}",
                        "download.slskd_download_path", "system folder /home");
  char body[DAEMON_PATH_MAX + 64];
  snprintf(body, sizeof body, "{\"download.temp_path\": \"%s\"}",
           f->d.root); /* holds the data folder */
  expect_folder_refused(f, body, "download.temp_path",
                        "must not contain the data folder");
  assert_int_equal(it_patch_settings(f, "{\"library.path\": "
                                        "\"/home/user/Sigur Rós/\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  expect_folder_refused(f, "{\"download.temp_path\": \"/home/user\"}",
                        "download.temp_path",
                        "must not contain the library folder");
  json_t *doc = it_get_json(it_url(f, "/api/settings"), NULL);
  json_t *s = json_object_get(doc, "settings");
  IT_ASSERT_JSON_STR(s, "download.temp_path", "");
  IT_ASSERT_JSON_STR(s, "library.path", "/home/user/Sigur Rós");
  json_decref(doc);
}

/* The out-of-range message names the bounds (docs/API.md: never clamp). */
static void test_patch_range_message_names_bounds(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  assert_int_equal(
    it_patch_settings(f, "{\"download.poll_interval_seconds\": 1}"), SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  json_t *doc = it_parse(&f->r);
  json_t *msg = json_object_get(json_object_get(doc, "fields"),
                                "download.poll_interval_seconds");
  assert_true(json_is_string(msg));
  assert_non_null(strstr(json_string_value(msg), "2"));
  assert_non_null(strstr(json_string_value(msg), "300"));
  json_decref(doc);
}

static void test_oversized_body_413(void **state)
{
  size_t n = 70 * 1024;
  char *body = xmalloc(n + 64);
  int len = snprintf(body, 64, "{\"library.path\": \"");
  memset(body + len, 'a', n);
  strcpy(body + len + n, "\"}");
  struct bad_case cases[] = {
    {"oversized", "PATCH", "/api/settings", body, NULL, 413, NULL},
  };
  run_bad_cases(state, cases, 1);
  free(body);
}

static void test_wrong_method_and_path(void **state)
{
  struct it_fixture *f = *state;
  static const struct bad_case cases[] = {
    {"DELETE", "DELETE", "/api/settings", NULL, NULL, 405, NULL},
    {"PUT", "PUT", "/api/settings", "{\"log.level\": \"debug\"}", NULL, 405,
     NULL},
    {"POST", "POST", "/api/settings", "{\"log.level\": \"debug\"}", NULL, 405,
     NULL},
    {"unknown path", "PATCH", "/api/settings/nope",
     "{\"log.level\": \"debug\"}", NULL, 404, NULL},
    {"unknown api", "GET", "/api/nope", NULL, NULL, 404, NULL},
  };
  char allow[128] = "";
  run_bad_cases(state, cases, sizeof cases / sizeof cases[0]);
  assert_int_equal(hc_request("DELETE", it_url(f, "/api/settings"), NULL, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 405);
  assert_true(hc_header(&f->r, "Allow", allow, sizeof allow));
  assert_non_null(strstr(allow, "GET"));
  assert_non_null(strstr(allow, "PATCH"));
  assert_null(strstr(allow, "DELETE"));
}

static void test_cross_site_patch_403(void **state)
{
  struct it_fixture *f = *state;
  static const struct bad_case cases[] = {
    {"foreign origin", "PATCH", "/api/settings",
     "{\"automation.cleanup_enabled\": true}", "Origin: http://evil.example",
     403, NULL},
    {"null origin", "PATCH", "/api/settings",
     "{\"automation.cleanup_enabled\": true}", "Origin: null", 403, NULL},
    {"same host other port", "PATCH", "/api/settings",
     "{\"automation.cleanup_enabled\": true}", "Origin: http://127.0.0.1:1",
     403, NULL},
    {"sec-fetch-site", "PATCH", "/api/settings",
     "{\"automation.cleanup_enabled\": true}", "Sec-Fetch-Site: cross-site",
     403, NULL},
    {"run-now", "POST", "/api/workers/token_refresh/run", NULL,
     "Origin: http://evil.example", 403, NULL},
  };
  run_bad_cases(state, cases, sizeof cases / sizeof cases[0]);

  /* The same request from the daemon's own origin goes through. */
  char origin[128];
  snprintf(origin, sizeof origin, "Origin: %s", f->d.url);
  const char *const h[] = {origin, NULL};
  assert_int_equal(
    it_patch_settings_h(f, "{\"automation.cleanup_enabled\": true}", h),
    SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  json_t *s = settings_json(f);
  IT_ASSERT_JSON_BOOL(s, "automation.cleanup_enabled", true);
  json_decref(s);
}

/* ---- the settings documents ---- */

static void check_setting_type(json_t *v, const struct setting_def *def)
{
  bool ok;
  if (def->type == ST_BOOL)
    ok = json_is_boolean(v);
  else if (def->type == ST_INT)
    ok = json_is_integer(v);
  else
    ok = json_is_string(v);
  if (!ok)
    fprintf(stderr, "error: %s has the wrong JSON type\n", def->key);
  assert_true(ok);
}

static void test_get_lists_every_setting(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  json_t *s = settings_json(f);
  for (size_t i = 0; i < S__COUNT; i++) {
    json_t *v = json_object_get(s, settings_defs[i].key);
    if (!v)
      fprintf(stderr, "error: GET /api/settings lacks %s\n",
              settings_defs[i].key);
    assert_non_null(v);
    check_setting_type(v, &settings_defs[i]);
  }
  IT_ASSERT_JSON_BOOL(s, "spotify.token_refresh_enabled", true);
  IT_ASSERT_JSON_INT(s, "download.poll_interval_seconds", 10);
  IT_ASSERT_JSON_STR(s, "automation.duplicate_detection_method",
                     "metadata-hash");
  IT_ASSERT_JSON_STR(s, "slskd.api_key", ""); /* unset secret: empty */
  json_decref(s);

  long status = 0;
  json_t *schema = it_get_json(it_url(f, "/api/settings/schema"), &status);
  assert_int_equal(status, 200);
  json_t *arr = json_is_array(schema) ? schema
                                      : json_object_get(schema, "settings");
  assert_true(json_is_array(arr));
  assert_int_equal(json_array_size(arr), S__COUNT);
  for (size_t i = 0; i < S__COUNT; i++) {
    json_t *e = json_array_get(arr, i);
    IT_ASSERT_JSON_STR(e, "key", settings_defs[i].key);
    IT_ASSERT_JSON_BOOL(e, "runtime",
                        (settings_defs[i].flags & SF_RUNTIME) != 0);
    IT_ASSERT_JSON_BOOL(e, "secret",
                        (settings_defs[i].flags & SF_SECRET) != 0);
  }
  json_decref(schema);
}

/* ---- secrets ---- */

static void assert_no_secret(struct it_fixture *f, const char *path)
{
  assert_int_equal(hc_get(it_url(f, path), &f->r), SS_OK);
  const char *body = buf_cstr(&f->r.body);
  if (strstr(body, SECRET_A) || strstr(body, SECRET_B))
    fprintf(stderr, "error: %s reveals a secret\n", path);
  assert_null(strstr(body, SECRET_A));
  assert_null(strstr(body, SECRET_B));
}

static void test_secrets_masked_never_echoed(void **state)
{
  struct it_fixture *f = *state;
  static const char *const pages[] = {"/api/settings",
                                      "/api/settings/schema",
                                      "/api/workers/status",
                                      "/api/workers/status/html",
                                      "/api/workers",
                                      "/api/workers/services",
                                      "/settings?tab=spotify",
                                      "/settings?tab=downloads",
                                      "/settings?tab=automation",
                                      "/"};
  assert_int_equal(start(state, "[log]\nlevel = debug\n"), SS_OK);

  patch_ok(f, "{\"slskd.api_key\": \"" SECRET_A "\","
              " \"spotify.client_secret\": \"" SECRET_B "\"}");
  assert_null(strstr(buf_cstr(&f->r.body), SECRET_A));
  assert_null(strstr(buf_cstr(&f->r.body), SECRET_B));

  json_t *s = settings_json(f);
  IT_ASSERT_JSON_STR(s, "slskd.api_key", SETTING_SECRET_MASK);
  IT_ASSERT_JSON_STR(s, "spotify.client_secret", SETTING_SECRET_MASK);
  json_decref(s);
  for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
    assert_no_secret(f, pages[i]);

  /* A rejected PATCH does not echo the secret it carried either. */
  assert_int_equal(it_patch_settings(f, "{\"slskd.api_key\": \"" SECRET_A
                                        "\", \"nope\": 1}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  assert_null(strstr(buf_cstr(&f->r.body), SECRET_A));
  assert_int_equal(it_patch_settings(f, "{\"slskd.api_key\": \"" SECRET_A
                                        "\\u0001\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  assert_null(strstr(buf_cstr(&f->r.body), SECRET_A));

  /* Never logged. */
  struct buf err;
  buf_init(&err, 4 << 20);
  daemon_read_stderr(&f->d, &err);
  assert_null(strstr(buf_cstr(&err), SECRET_A));
  assert_null(strstr(buf_cstr(&err), SECRET_B));
  buf_free(&err);
}

static void test_secret_mask_keeps_and_empty_clears(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  patch_ok(f, "{\"slskd.api_key\": \"" SECRET_A "\"}");
  patch_ok(f, "{\"slskd.api_key\": \"" SETTING_SECRET_MASK "\"}");
  json_t *s = settings_json(f);
  IT_ASSERT_JSON_STR(s, "slskd.api_key", SETTING_SECRET_MASK);
  json_decref(s);
  patch_ok(f, "{\"slskd.api_key\": \"\"}");
  s = settings_json(f);
  IT_ASSERT_JSON_STR(s, "slskd.api_key", "");
  json_decref(s);
}

/* ---- persistence of settings ---- */

static void patch_many(struct it_fixture *f)
{
  patch_ok(f, "{\"automation.cleanup_enabled\": true,"
              " \"spotify.token_refresh_enabled\": false,"
              " \"spotify.token_check_interval_seconds\": 120,"
              " \"download.poll_interval_seconds\": 30,"
              " \"automation.quality_profile\": \"lossless\","
              " \"library.path\": \"/music/lib\","
              " \"slskd.api_key\": \"" SECRET_A "\"}");
}

static void check_many(struct it_fixture *f)
{
  json_t *s = settings_json(f);
  IT_ASSERT_JSON_BOOL(s, "automation.cleanup_enabled", true);
  IT_ASSERT_JSON_BOOL(s, "spotify.token_refresh_enabled", false);
  IT_ASSERT_JSON_INT(s, "spotify.token_check_interval_seconds", 120);
  IT_ASSERT_JSON_INT(s, "download.poll_interval_seconds", 30);
  IT_ASSERT_JSON_STR(s, "automation.quality_profile", "lossless");
  IT_ASSERT_JSON_STR(s, "library.path", "/music/lib");
  IT_ASSERT_JSON_STR(s, "slskd.api_key", SETTING_SECRET_MASK);
  json_decref(s);

  struct expect_worker cl = {"cleanup", true}, tr = {"token_refresh", false};
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), worker_is, &cl,
                           2000, NULL));
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), worker_is, &tr,
                           2000, NULL));
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  IT_ASSERT_JSON_INT(json_object_get(it_worker(doc, "token_refresh"),
                                     "details"),
                     "check_interval_seconds", 120);
  IT_ASSERT_JSON_INT(json_object_get(it_worker(doc, "download_monitor"),
                                     "details"),
                     "poll_interval_seconds", 30);
  json_decref(doc);
}

static void test_restart_keeps_settings(void **state)
{
  struct it_fixture *f = *state;
  /* The INI says 20; the API's later value wins, also after a restart. */
  assert_int_equal(start(state, "[download]\npoll_interval_seconds = 20\n"),
                   SS_OK);
  patch_many(f);
  check_many(f);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  check_many(f);
}

static void test_crash_keeps_settings(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  patch_many(f);
  daemon_kill9(&f->d);
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  check_many(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_toggle_token_refresh),
    T(test_toggle_spotify_sync),
    T(test_toggle_download_monitor),
    T(test_toggle_automation),
    T(test_toggle_cleanup),
    T(test_toggle_duplicate_detector),
    T(test_toggle_automation_subunits),
    T(test_patch_rejects_bad_json),
    T(test_patch_rejects_bad_values),
    T(test_patch_range_message_names_bounds),
    T(test_patch_refuses_dangerous_folders),
    T(test_oversized_body_413),
    T(test_wrong_method_and_path),
    T(test_cross_site_patch_403),
    T(test_get_lists_every_setting),
    T(test_secrets_masked_never_echoed),
    T(test_secret_mask_keeps_and_empty_clears),
    T(test_restart_keeps_settings),
    T(test_crash_keeps_settings),
  };
  return cmocka_run_group_tests_name("integration/settings_api", tests, NULL,
                                     NULL);
}
