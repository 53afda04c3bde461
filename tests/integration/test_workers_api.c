/*
 * test_workers_api.c - the Workers API contract against a real soulspotd:
 * exact JSON shape of /api/workers/status, the HTML fragment, the services
 * map, GET /api/workers, ETag/304, keep-alive reuse and error replies.
 *
 * Every test starts its own daemon on a temporary folder with every
 * external service pointed at a closed local port (no Spotify login, no
 * slskd), so the default state of the contract is what we see.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "itest.h"

#define N_WORKERS 6
#define SETTLE_MS 2000

struct worker_contract {
  const char *key, *name, *icon, *icon_class, *settings_url;
  bool running; /* default */
};

static const struct worker_contract contract[N_WORKERS] = {
  {"token_refresh", "Token Refresh", "bi bi-key", "bi-key",
   "/settings?tab=spotify", true},
  {"spotify_sync", "Spotify Sync", "bi bi-spotify", "bi-spotify",
   "/settings?tab=spotify", true},
  {"download_monitor", "Download Monitor", "bi bi-download", "bi-download",
   "/settings?tab=downloads", true},
  {"automation", "Automation", "bi bi-robot", "bi-robot",
   "/settings?tab=automation", false},
  {"cleanup", "Cleanup", "bi bi-trash3", "bi-trash3",
   "/settings?tab=automation", false},
  {"duplicate_detector", "Duplicate Detector", "bi bi-copy", "bi-copy",
   "/settings?tab=automation", false},
};

/* ---- helpers ---- */

static int start(void **state, const char *ini)
{
  struct it_fixture *f = *state;
  return daemon_start(&f->d, ini, NULL);
}

/* Running workers idle, the others stopped: the default resting state. */
static bool settled(json_t *doc, void *arg)
{
  (void)arg;
  for (size_t i = 0; i < N_WORKERS; i++) {
    json_t *w = it_worker(doc, contract[i].key);
    const char *want = contract[i].running ? "idle" : "stopped";
    json_t *st = json_object_get(w, "status");
    if (!json_is_string(st) || strcmp(json_string_value(st), want) != 0)
      return false;
  }
  return true;
}

/* Every enabled unit has finished its start-up run. */
static bool first_runs_done(json_t *doc, void *arg)
{
  static const char *const enabled[] = {"token_refresh", "spotify_sync",
                                        "download_monitor"};
  (void)arg;
  for (size_t i = 0; i < 3; i++) {
    json_t *u = it_unit(doc, enabled[i]);
    json_t *h = json_object_get(u, "history");
    json_t *st = json_object_get(u, "state");
    if (!json_is_array(h) || json_array_size(h) < 1 || !json_is_string(st) ||
        strcmp(json_string_value(st), "idle") != 0)
      return false;
  }
  return true;
}

/* Waits for the resting state (so later reads see the same document). */
static json_t *settled_status(struct it_fixture *f)
{
  assert_true(it_wait_json(it_url(f, "/api/workers"), first_runs_done, NULL,
                           SETTLE_MS, NULL));
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), settled, NULL,
                           SETTLE_MS, NULL));
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  assert_non_null(doc);
  return doc;
}

static void assert_content_type(const struct hc_resp *r, const char *prefix)
{
  char ct[128] = "";
  assert_true(hc_header(r, "Content-Type", ct, sizeof ct));
  if (strncasecmp(ct, prefix, strlen(prefix)) != 0)
    fprintf(stderr, "error: Content-Type \"%s\", expected \"%s...\"\n", ct,
            prefix);
  assert_true(strncasecmp(ct, prefix, strlen(prefix)) == 0);
}

/* The keys of obj are exactly want[0..n) (any order). */
static void assert_exact_keys(json_t *obj, const char *const *want, size_t n)
{
  assert_true(json_is_object(obj));
  for (size_t i = 0; i < n; i++) {
    if (!json_object_get(obj, want[i]))
      fprintf(stderr, "error: missing key \"%s\"\n", want[i]);
    assert_non_null(json_object_get(obj, want[i]));
  }
  if (json_object_size(obj) != n) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) fprintf(stderr, "  has key %s\n", k);
  }
  assert_int_equal(json_object_size(obj), n);
}

/* ---- /api/workers/status ---- */

static void check_top_level(json_t *doc, const char *body)
{
  static const char *const top[] = {"workers"};
  assert_exact_keys(doc, top, 1);
  json_t *workers = json_object_get(doc, "workers");
  const char *keys[N_WORKERS];
  for (size_t i = 0; i < N_WORKERS; i++)
    keys[i] = contract[i].key;
  assert_exact_keys(workers, keys, N_WORKERS);

  /* Contract order, both as parsed and as bytes on the wire. */
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(workers, k, v)
  {
    assert_string_equal(k, contract[i].key);
    i++;
  }
  const char *prev = body;
  for (i = 0; i < N_WORKERS; i++) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", contract[i].key);
    const char *at = strstr(body, quoted);
    assert_non_null(at);
    assert_true(at > prev);
    prev = at;
  }
}

static void check_worker_common(json_t *w, const struct worker_contract *c)
{
  static const char *const fields[] = {"name",    "icon",   "settings_url",
                                       "running", "status", "details"};
  assert_exact_keys(w, fields, 6);
  IT_ASSERT_JSON_STR(w, "name", c->name);
  IT_ASSERT_JSON_STR(w, "icon", c->icon);
  IT_ASSERT_JSON_STR(w, "settings_url", c->settings_url);
  IT_ASSERT_JSON_BOOL(w, "running", c->running);
  IT_ASSERT_JSON_STR(w, "status", c->running ? "idle" : "stopped");
  assert_true(json_is_object(json_object_get(w, "details")));
}

static void check_token_refresh(json_t *d)
{
  IT_ASSERT_JSON_INT(d, "check_interval_seconds", 300);
  IT_ASSERT_JSON_INT(d, "refresh_threshold_minutes", 10);
  /* No Spotify login: it says why (docs/API.md, Status values). */
  IT_ASSERT_JSON_BOOL(d, "account_connected", false);
}

static void check_spotify_sync(json_t *d)
{
  json_t *syncs = json_object_get(d, "last_syncs");
  assert_true(json_is_object(syncs));
  IT_ASSERT_JSON_STR(syncs, "artists", "noch nie");
  IT_ASSERT_JSON_STR(syncs, "playlists", "noch nie");
  IT_ASSERT_JSON_STR(syncs, "albums", "noch nie");
  IT_ASSERT_JSON_INT(d, "check_interval_seconds", 60);
  IT_ASSERT_JSON_BOOL(d, "has_errors", false);
  assert_true(json_is_object(json_object_get(d, "stats")));
  IT_ASSERT_JSON_BOOL(d, "account_connected", false);
}

/* A detail beyond the documented ones that explains the idle state: a
 * false flag or a non-empty note. */
static bool says_why(json_t *d, const char *const *documented, size_t n)
{
  const char *k;
  json_t *v;
  json_object_foreach(d, k, v)
  {
    bool doc = false;
    for (size_t i = 0; i < n; i++)
      doc = doc || strcmp(k, documented[i]) == 0;
    if (doc)
      continue;
    if (json_is_false(v) ||
        (json_is_string(v) && strlen(json_string_value(v)) > 0))
      return true;
  }
  return false;
}

static void check_download_monitor(json_t *d)
{
  static const char *const documented[] = {"poll_interval_seconds",
                                           "last_poll", "downloads_completed",
                                           "downloads_failed", "last_error"};
  IT_ASSERT_JSON_INT(d, "poll_interval_seconds", 10);
  IT_ASSERT_JSON_STR(d, "last_poll", "noch nie");
  IT_ASSERT_JSON_INT(d, "downloads_completed", 0);
  IT_ASSERT_JSON_INT(d, "downloads_failed", 0);
  assert_true(says_why(d, documented, 5));
}

static void check_automation(json_t *d)
{
  IT_ASSERT_JSON_BOOL(d, "watchlist_running", false);
  IT_ASSERT_JSON_BOOL(d, "discography_running", false);
  IT_ASSERT_JSON_BOOL(d, "quality_upgrade_running", false);
}

static void check_cleanup(json_t *d)
{
  IT_ASSERT_JSON_BOOL(d, "dry_run", false);
  IT_ASSERT_JSON_STR(d, "last_run", "noch nie");
  IT_ASSERT_JSON_INT(d, "files_deleted", 0);
  IT_ASSERT_JSON_INT(d, "bytes_freed", 0);
}

static void check_duplicate_detector(json_t *d)
{
  IT_ASSERT_JSON_STR(d, "detection_method", "metadata-hash");
  IT_ASSERT_JSON_STR(d, "last_scan", "noch nie");
  IT_ASSERT_JSON_INT(d, "duplicates_found", 0);
  IT_ASSERT_JSON_INT(d, "tracks_scanned", 0);
}

static void test_status_shape_and_defaults(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  json_t *settled_doc = settled_status(f);
  json_decref(settled_doc);

  assert_int_equal(hc_get(it_url(f, "/api/workers/status"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_content_type(&f->r, "application/json");
  json_t *doc = it_parse(&f->r);
  assert_non_null(doc);
  check_top_level(doc, buf_cstr(&f->r.body));
  for (size_t i = 0; i < N_WORKERS; i++)
    check_worker_common(it_worker(doc, contract[i].key), &contract[i]);

#define DETAILS(key) json_object_get(it_worker(doc, key), "details")
  check_token_refresh(DETAILS("token_refresh"));
  check_spotify_sync(DETAILS("spotify_sync"));
  check_download_monitor(DETAILS("download_monitor"));
  check_automation(DETAILS("automation"));
  check_cleanup(DETAILS("cleanup"));
  check_duplicate_detector(DETAILS("duplicate_detector"));
#undef DETAILS
  json_decref(doc);
}

/* Details come from the settings, not from constants. */
static void test_status_details_follow_settings(void **state)
{
  struct it_fixture *f = *state;
  const char *ini = "[spotify]\n"
                    "token_check_interval_seconds = 120\n"
                    "token_refresh_threshold_minutes = 20\n"
                    "sync_check_interval_seconds = 90\n"
                    "[download]\n"
                    "poll_interval_seconds = 30\n"
                    "[automation]\n"
                    "cleanup_dry_run = true\n"
                    "duplicate_detection_method = file-hash\n";
  assert_int_equal(start(state, ini), SS_OK);
  json_t *doc = settled_status(f);
  json_t *tr = json_object_get(it_worker(doc, "token_refresh"), "details");
  json_t *ss = json_object_get(it_worker(doc, "spotify_sync"), "details");
  json_t *dm = json_object_get(it_worker(doc, "download_monitor"), "details");
  json_t *cl = json_object_get(it_worker(doc, "cleanup"), "details");
  json_t *dd = json_object_get(it_worker(doc, "duplicate_detector"),
                               "details");
  IT_ASSERT_JSON_INT(tr, "check_interval_seconds", 120);
  IT_ASSERT_JSON_INT(tr, "refresh_threshold_minutes", 20);
  IT_ASSERT_JSON_INT(ss, "check_interval_seconds", 90);
  IT_ASSERT_JSON_INT(dm, "poll_interval_seconds", 30);
  IT_ASSERT_JSON_BOOL(cl, "dry_run", true);
  IT_ASSERT_JSON_STR(dd, "detection_method", "file-hash");
  json_decref(doc);
}

/* ---- /api/workers/status/html ---- */

struct html_el {
  const char *start; /* '<' of the start tag */
  size_t len;        /* through the matching end tag */
};

static bool is_void_tag(const char *name, size_t n)
{
  static const char *const voids[] = {"area",  "base", "br",     "col",
                                      "embed", "hr",   "img",    "input",
                                      "link",  "meta", "source", "track",
                                      "wbr"};
  for (size_t i = 0; i < sizeof voids / sizeof voids[0]; i++)
    if (strlen(voids[i]) == n && strncasecmp(voids[i], name, n) == 0)
      return true;
  return false;
}

/* True when the start tag [tag, end) has class token cls. */
static bool tag_has_class(const char *tag, const char *end, const char *cls)
{
  const char *a = strstr(tag, "class=\"");
  if (!a || a >= end)
    return false;
  a += 7;
  const char *q = strchr(a, '"');
  if (!q || q > end)
    return false;
  size_t n = strlen(cls);
  for (const char *p = a; p < q;) {
    size_t len = strcspn(p, " \"");
    if (len == n && strncmp(p, cls, n) == 0)
      return true;
    p += len + 1;
  }
  return false;
}

/* End (one past '>') of the element whose start tag begins at tag. */
static const char *element_end(const char *tag)
{
  int depth = 0;
  for (const char *p = tag; (p = strchr(p, '<'));) {
    const char *gt = strchr(p, '>');
    if (!gt)
      return NULL;
    if (p[1] == '/') {
      depth--;
    } else if (p[1] != '!') {
      size_t nlen = strcspn(p + 1, " \t\n/>");
      if (!is_void_tag(p + 1, nlen) && gt[-1] != '/')
        depth++;
    }
    if (depth == 0)
      return gt + 1;
    p = gt + 1;
  }
  return NULL;
}

/* Elements carrying class cls, in document order. */
static size_t find_elements(const char *html, const char *cls,
                            struct html_el *out, size_t max)
{
  size_t n = 0;
  for (const char *p = html; (p = strchr(p, '<')) && n < max;) {
    const char *gt = strchr(p, '>');
    if (!gt)
      break;
    if (p[1] != '/' && p[1] != '!' && tag_has_class(p, gt, cls)) {
      const char *end = element_end(p);
      assert_non_null(end);
      out[n].start = p;
      out[n].len = (size_t)(end - p);
      n++;
    }
    p = gt + 1;
  }
  return n;
}

/* True when any start tag inside el has class token cls. */
static bool el_has_class(const struct html_el *el, const char *cls)
{
  char *copy = xstrndup(el->start, el->len);
  bool found = false;
  for (const char *p = copy; !found && (p = strchr(p, '<'));) {
    const char *gt = strchr(p, '>');
    if (!gt)
      break;
    found = p[1] != '/' && tag_has_class(p, gt, cls);
    p = gt + 1;
  }
  free(copy);
  return found;
}

static bool el_contains_any(const struct html_el *el, const char *const *words)
{
  char *copy = xstrndup(el->start, el->len);
  bool found = false;
  for (size_t i = 0; words[i] && !found; i++)
    found = strstr(copy, words[i]) != NULL;
  free(copy);
  return found;
}

static const char *const german_idle[] = {"Bereit",   "Läuft",  "läuft",
                                          "Leerlauf", "Wartet", NULL};
static const char *const german_stopped[] = {"Gestoppt",    "gestoppt",
                                             "Angehalten",  "Deaktiviert",
                                             "deaktiviert", "Ausgeschaltet",
                                             NULL};

static void check_html_unit(const struct html_el *el,
                            const struct worker_contract *c)
{
  const char *const name[] = {c->name, NULL};
  const char *own = c->running ? "wk-idle" : "wk-stopped";
  const char *const others[] = {"wk-idle", "wk-active", "wk-error",
                                "wk-stopped"};
  if (!el_has_class(el, c->icon_class) || !el_has_class(el, own))
    fprintf(stderr, "error: unit %s: %.*s\n", c->key, (int)el->len, el->start);
  assert_true(el_has_class(el, "bi"));
  assert_true(el_has_class(el, c->icon_class));
  assert_true(el_has_class(el, own));
  for (size_t i = 0; i < 4; i++)
    if (strcmp(others[i], own) != 0)
      assert_false(el_has_class(el, others[i]));
  /* Tooltip: names the worker and says its status in German. */
  assert_true(el_contains_any(el, name));
  if (c->running) {
    assert_true(el_contains_any(el, german_idle));
    assert_false(el_contains_any(el, german_stopped));
  } else {
    assert_true(el_contains_any(el, german_stopped));
  }
}

static void test_status_html_fragment(void **state)
{
  struct it_fixture *f = *state;
  struct html_el units[16];
  assert_int_equal(start(state, NULL), SS_OK);
  json_decref(settled_status(f));

  assert_int_equal(hc_get(it_url(f, "/api/workers/status/html"), &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_content_type(&f->r, "text/html");
  const char *html = buf_cstr(&f->r.body);
  assert_false(it_contains_ci(html, "<html"));
  assert_false(it_contains_ci(html, "<body"));
  assert_false(it_contains_ci(html, "<head"));
  assert_false(it_contains_ci(html, "<!doctype"));

  size_t n = find_elements(html, "wk-unit", units, 16);
  if (n != N_WORKERS)
    fprintf(stderr, "error: %zu .wk-unit elements in:\n%s\n", n, html);
  assert_int_equal(n, N_WORKERS);
  for (size_t i = 0; i < N_WORKERS; i++)
    check_html_unit(&units[i], &contract[i]);

  /* Service connectivity is part of the fragment (docs/API.md, Workers). */
  assert_true(it_contains_ci(html, "spotify"));
  assert_true(it_contains_ci(html, "slskd") ||
              it_contains_ci(html, "soulseek"));
  assert_true(it_contains_ci(html, "musicbrainz"));
  assert_true(it_contains_ci(html, "cover art") ||
              it_contains_ci(html, "coverart"));
}

/* The fragment follows the state: enabling cleanup turns its unit idle. */
static bool cleanup_html_idle(void *arg)
{
  struct it_fixture *f = arg;
  struct html_el units[16];
  struct hc_resp r = {0};
  bool ok = false;
  if (hc_get(it_url(f, "/api/workers/status/html"), &r) == SS_OK &&
      find_elements(buf_cstr(&r.body), "wk-unit", units, 16) == N_WORKERS)
    ok = el_has_class(&units[4], "wk-idle") &&
         !el_has_class(&units[4], "wk-stopped");
  hc_resp_free(&r);
  return ok;
}

static void test_status_html_follows_state(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  json_decref(settled_status(f));
  assert_false(cleanup_html_idle(f));
  assert_int_equal(it_patch_settings(f,
                                     "{\"automation.cleanup_enabled\": true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(it_wait_until(cleanup_html_idle, f, 2000));
}

/* ---- /api/workers/services ---- */

static void test_services_shape(void **state)
{
  struct it_fixture *f = *state;
  static const char *const keys[] = {"spotify", "slskd", "musicbrainz",
                                     "coverart"};
  assert_int_equal(start(state, NULL), SS_OK);
  assert_int_equal(hc_get(it_url(f, "/api/workers/services"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_content_type(&f->r, "application/json");
  json_t *doc = it_parse(&f->r);
  assert_exact_keys(doc, keys, 4);
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(doc, k, v)
  {
    assert_string_equal(k, keys[i]);
    /* Everything points at a closed port or is not configured. */
    assert_true(json_is_false(v));
    i++;
  }
  json_decref(doc);
}

/* ---- GET /api/workers ---- */

static void test_units_list(void **state)
{
  struct it_fixture *f = *state;
  static const struct {
    const char *key;
    bool enabled;
    int64_t interval;
  } units[] = {
    {"token_refresh", true, 300},
    {"spotify_sync", true, 60},
    {"download_monitor", true, 10},
    {"automation.watchlist", false, 3600},
    {"automation.discography", false, 86400},
    {"automation.quality_upgrade", false, 86400},
    {"cleanup", false, 86400},
    {"duplicate_detector", false, 604800},
  };
  static const char *const fields[] =
    {"key",      "label",    "enabled",          "state",  "interval_seconds",
     "last_run", "next_run", "last_duration_ms", "history"};
  assert_int_equal(start(state, NULL), SS_OK);
  json_decref(settled_status(f));
  long status = 0;
  json_t *doc = it_get_json(it_url(f, "/api/workers"), &status);
  assert_int_equal(status, 200);
  json_t *arr = it_units_array(doc);
  assert_non_null(arr);
  assert_int_equal(json_array_size(arr), 8);
  for (size_t i = 0; i < 8; i++) {
    json_t *u = json_array_get(arr, i);
    for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++) {
      if (!json_object_get(u, fields[j]))
        fprintf(stderr, "error: unit %s lacks %s\n", units[i].key, fields[j]);
      assert_non_null(json_object_get(u, fields[j]));
    }
    IT_ASSERT_JSON_STR(u, "key", units[i].key);
    assert_true(json_is_string(json_object_get(u, "label")));
    IT_ASSERT_JSON_BOOL(u, "enabled", units[i].enabled);
    IT_ASSERT_JSON_STR(u, "state", units[i].enabled ? "idle" : "stopped");
    IT_ASSERT_JSON_INT(u, "interval_seconds", units[i].interval);
    assert_true(json_is_integer(json_object_get(u, "last_duration_ms")));
    assert_true(json_is_array(json_object_get(u, "history")));
    if (!units[i].enabled)
      assert_int_equal(json_array_size(json_object_get(u, "history")), 0);
  }
  json_decref(doc);
}

/* ---- ETag / 304 ---- */

static void check_etag_304(struct it_fixture *f, const char *path)
{
  char etag[256] = "", again[256] = "", inm[300];
  assert_int_equal(hc_get(it_url(f, path), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(hc_header(&f->r, "ETag", etag, sizeof etag));
  assert_true(strlen(etag) >= 3 && etag[0] == '"' &&
              etag[strlen(etag) - 1] == '"'); /* strong, quoted */

  snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
  const char *const h1[] = {inm, NULL};
  assert_int_equal(hc_request("GET", it_url(f, path), h1, NULL, &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 304);
  assert_int_equal(f->r.body.len, 0);
  assert_true(hc_header(&f->r, "ETag", again, sizeof again));
  assert_string_equal(again, etag);

  /* A list of validators (RFC 9110 13.1.2) matches too. */
  snprintf(inm, sizeof inm, "If-None-Match: \"nope\", %s", etag);
  assert_int_equal(hc_request("GET", it_url(f, path), h1, NULL, &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 304);

  const char *const h2[] = {"If-None-Match: \"0000\"", NULL};
  assert_int_equal(hc_request("GET", it_url(f, path), h2, NULL, &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(f->r.body.len > 0);
}

static void test_etag_304(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(start(state, NULL), SS_OK);
  json_decref(settled_status(f));
  check_etag_304(f, "/api/workers/status");
  check_etag_304(f, "/api/workers/status/html");
}

static bool cleanup_running(json_t *doc, void *arg)
{
  (void)arg;
  return json_is_true(json_object_get(it_worker(doc, "cleanup"), "running"));
}

static void test_etag_changes_with_state(void **state)
{
  struct it_fixture *f = *state;
  char before[256] = "", after[256] = "", inm[300];
  assert_int_equal(start(state, NULL), SS_OK);
  json_decref(settled_status(f));
  assert_int_equal(hc_get(it_url(f, "/api/workers/status"), &f->r), SS_OK);
  assert_true(hc_header(&f->r, "ETag", before, sizeof before));

  assert_int_equal(it_patch_settings(f,
                                     "{\"automation.cleanup_enabled\": true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(it_wait_json(it_url(f, "/api/workers/status"), cleanup_running,
                           NULL, 1000, NULL));

  snprintf(inm, sizeof inm, "If-None-Match: %s", before);
  const char *const h[] = {inm, NULL};
  assert_int_equal(hc_request("GET", it_url(f, "/api/workers/status"), h, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(hc_header(&f->r, "ETag", after, sizeof after));
  assert_string_not_equal(before, after);
}

/* ---- keep-alive ---- */

static void assert_reused(const struct hc_resp *r, long port)
{
  if (r->new_connections != 0)
    fprintf(stderr, "error: HTTP %ld opened a new connection\n", r->status);
  assert_int_equal(r->new_connections, 0);
  assert_int_equal(r->local_port, port);
}

static void test_keepalive_reuse(void **state)
{
  struct it_fixture *f = *state;
  struct hc_session *s = hc_session_new();
  const char *const json_ct[] = {"Content-Type: application/json", NULL};
  char url[IT_URL_MAX], settings[IT_URL_MAX];
  assert_int_equal(start(state, NULL), SS_OK);
  daemon_urlf(&f->d, url, sizeof url, "/api/workers/status");
  daemon_urlf(&f->d, settings, sizeof settings, "/api/settings");

  assert_int_equal(hc_session_request(s, "GET", url, NULL, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(f->r.new_connections, 1);
  long port = f->r.local_port;

  assert_int_equal(hc_session_request(s, "GET", url, NULL, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_reused(&f->r, port);

  /* Error replies must not close the connection either. */
  assert_int_equal(hc_session_request(s, "GET", it_url(f, "/api/nope"), NULL,
                                      NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 404);
  assert_reused(&f->r, port);
  assert_int_equal(hc_session_request(s, "DELETE", settings, NULL, NULL,
                                      &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 405);
  assert_reused(&f->r, port);
  assert_int_equal(hc_session_request(s, "PATCH", settings, json_ct,
                                      "{\"nope\": 1}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  assert_reused(&f->r, port);
  assert_int_equal(hc_session_request(s, "PATCH", settings, json_ct,
                                      "{\"log.level\": \"info\"}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_reused(&f->r, port);
  assert_int_equal(hc_session_request(s, "GET", url, NULL, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_reused(&f->r, port);
  hc_session_free(s);
}

/* ---- errors ---- */

struct error_case {
  const char *method, *path;
  int status;
  const char *allow; /* 405: a method Allow must list */
};

/* Checks one case; returns 1 (with a message) when it does not hold. */
static int check_error_case(struct it_fixture *f, const struct error_case *c)
{
  char allow[128] = "";
  int bad = 0;
  if (hc_request(c->method, it_url(f, c->path), NULL, NULL, &f->r) != SS_OK) {
    fprintf(stderr, "error: %s %s: %s\n", c->method, c->path, f->r.error);
    return 1;
  }
  if (f->r.status != c->status) {
    fprintf(stderr, "error: %s %s: HTTP %ld, expected %d: %.200s\n", c->method,
            c->path, f->r.status, c->status, buf_cstr(&f->r.body));
    bad = 1;
  }
  json_t *doc = it_parse(&f->r);
  if (!json_is_string(json_object_get(doc, "error"))) {
    fprintf(stderr, "error: %s %s: no JSON error body\n", c->method, c->path);
    bad = 1;
  }
  json_decref(doc);
  if (c->allow && (!hc_header(&f->r, "Allow", allow, sizeof allow) ||
                   !strstr(allow, c->allow) || strstr(allow, c->method))) {
    fprintf(stderr,
            "error: %s %s: Allow \"%s\", expected it to list %s only\n",
            c->method, c->path, allow, c->allow);
    bad = 1;
  }
  return bad;
}

static void run_error_cases(void **state, const struct error_case *cases,
                            size_t n)
{
  struct it_fixture *f = *state;
  int failures = 0;
  assert_int_equal(start(state, NULL), SS_OK);
  for (size_t i = 0; i < n; i++)
    failures += check_error_case(f, &cases[i]);
  assert_int_equal(failures, 0);
}

static void test_unknown_paths_404(void **state)
{
  static const struct error_case cases[] = {
    {"GET", "/api/nope", 404, NULL},
    {"GET", "/api/workers/status/xml", 404, NULL},
    {"GET", "/api/workers/nope", 404, NULL},
    {"POST", "/api/workers/nope", 404, NULL},
  };
  run_error_cases(state, cases, sizeof cases / sizeof cases[0]);
}

static void test_wrong_method_405(void **state)
{
  static const struct error_case cases[] = {
    {"DELETE", "/api/workers/services", 405, "GET"},
    {"PUT", "/api/workers", 405, "GET"},
    {"POST", "/api/workers/status", 405, "GET"},
    {"POST", "/api/workers/status/html", 405, "GET"},
  };
  run_error_cases(state, cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_status_shape_and_defaults, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_status_details_follow_settings,
                                    it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_status_html_fragment, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_status_html_follows_state, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_services_shape, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_units_list, it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_etag_304, it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_etag_changes_with_state, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_keepalive_reuse, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_unknown_paths_404, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_wrong_method_405, it_setup,
                                    it_teardown),
  };
  return cmocka_run_group_tests_name("integration/workers_api", tests, NULL,
                                     NULL);
}
