/*
 * test_spotify_login.c - the Spotify login and Token Refresh through the
 * real daemon and the fake Spotify:
 *
 *   the browser login end to end (PKCE, state cookie) and the settings page
 *   saying who is connected; denial, a forged state, a missing cookie and
 *   an invalid code shown in plain words; a cross-site login refused;
 *   disconnect; no client id; Token Refresh refreshing a token near expiry
 *   and keeping a rotated refresh token across a restart; invalid_grant ->
 *   error "re-authorisation required" and no further attempt; 5xx -> error;
 *   the service probe checking the token; no secret in any page, API reply
 *   or log line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fake_http.h"
#include "itest.h"

#define WAIT_MS 5000
#define SLSKD_KEY "fake-slskd-api-key-0123456789"

/* ---- fixture helpers ---- */

static void start(struct it_fixture *f, bool with_client, const char *extra)
{
  it_start_spotify(f, SLSKD_KEY, NULL, with_client, extra, NULL);
}

static const char *login(struct it_fixture *f, bool tamper, bool no_cookie)
{
  static char loc[512];
  assert_int_equal(fake_spotify_browser_login(f->fa.spotify, f->d.url, tamper,
                                              no_cookie, loc, sizeof loc),
                   SS_OK);
  return loc;
}

static json_t *status_doc(struct it_fixture *f)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  assert_non_null(doc);
  return doc;
}

static json_t *details(json_t *doc, const char *worker)
{
  return json_object_get(it_worker(doc, worker), "details");
}

struct want {
  const char *worker;
  const char *status;    /* NULL = any */
  const char *error_has; /* NULL = any */
  int connected;         /* -1 any */
};

static bool worker_is(json_t *doc, void *arg)
{
  const struct want *w = arg;
  json_t *wk = it_worker(doc, w->worker);
  json_t *d = json_object_get(wk, "details");
  const char *st = json_string_value(json_object_get(wk, "status"));
  const char *err = json_string_value(json_object_get(d, "last_error"));
  json_t *conn = json_object_get(d, "account_connected");
  return (!w->status || (st && !strcmp(st, w->status))) &&
         (!w->error_has || (err && strstr(err, w->error_has))) &&
         (w->connected < 0 || json_is_true(conn) == (w->connected == 1));
}

static void wait_worker(struct it_fixture *f, struct want w)
{
  const char *url = it_url(f, "/api/workers/status");
  if (!it_wait_json(url, worker_is, &w, WAIT_MS, NULL)) {
    json_t *doc = it_get_json(url, NULL);
    char *text = json_dumps(it_worker(doc, w.worker), JSON_COMPACT);
    fprintf(stderr, "error: %s never became %s/%s; last: %s\n", w.worker,
            w.status ? w.status : "*", w.error_has ? w.error_has : "*",
            text ? text : "(none)");
    free(text);
    json_decref(doc);
    fail();
  }
}

static void get_page(struct it_fixture *f, const char *path)
{
  assert_int_equal(hc_get(it_url(f, path), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
}

static void run_now(struct it_fixture *f, const char *unit)
{
  assert_int_equal(it_run_now(f, unit), 202);
}

/* The unit's last run did its work ("ok") and it is not running. */
static bool last_ok(json_t *doc, void *arg)
{
  json_t *u = it_unit(doc, arg);
  const char *res = json_string_value(json_object_get(u, "last_result"));
  const char *state = json_string_value(json_object_get(u, "state"));
  return res && !strcmp(res, "ok") && state && strcmp(state, "active");
}

/* A login re-evaluates Token Refresh at once, which renews a token that
 * expires within the threshold: tests that count token calls start after
 * that run. */
static void wait_login_refresh(struct it_fixture *f)
{
  assert_true(it_wait_json(it_url(f, "/api/workers"), last_ok,
                           (void *)"token_refresh", WAIT_MS, NULL));
}

/* Runs unit `key` now and waits until it has ended that run. */
static void run_and_wait(struct it_fixture *f, const char *key)
{
  long long runs = it_unit_runs(f, key);
  run_now(f, key);
  assert_true(it_wait_unit_runs(f, key, runs, IT_RUNS_ENDED, WAIT_MS, false));
}

/* run_and_wait for a unit that also runs on its own every few hundred ms:
 * a run now that met one of those is asked again (itest.h). */
static void run_and_wait_forced(struct it_fixture *f, const char *key)
{
  long long runs = it_unit_runs(f, key);
  assert_int_equal(it_run_now_queued(f, key), 202);
  assert_true(it_wait_unit_runs(f, key, runs, IT_RUNS_ENDED, WAIT_MS, false));
}

/* No secret in s. */
static void assert_no_secrets(struct it_fixture *f, const char *s)
{
  char tok[128], rt[128];
  fake_spotify_access_token(f->fa.spotify, tok, sizeof tok);
  fake_spotify_refresh_token(f->fa.spotify, rt, sizeof rt);
  if (tok[0])
    assert_null(strstr(s, tok));
  assert_null(strstr(s, rt));
  assert_null(strstr(s, "test-client-secret"));
  assert_null(strstr(s, "test-auth-code"));
}

/* ---- login ---- */

static void test_login_end_to_end(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  get_page(f, "/settings?tab=spotify");
  assert_non_null(strstr(buf_cstr(&f->r.body), "No Spotify account "
                                               "connected."));
  assert_non_null(
    strstr(buf_cstr(&f->r.body), "href=\"/auth/spotify/login\""));
  const char *loc = login(f, false, false);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=ok");
  wait_worker(f, (struct want){"token_refresh", "idle", NULL, 1});
  json_t *doc = status_doc(f);
  json_t *d = details(doc, "token_refresh");
  IT_ASSERT_JSON_INT(d, "check_interval_seconds", 300);
  IT_ASSERT_JSON_INT(d, "refresh_threshold_minutes", 10);
  assert_true(json_is_string(json_object_get(d, "access_token_expires_at")));
  assert_true(json_is_null(json_object_get(d, "refresh_token_warning")));
  assert_true(json_is_null(json_object_get(d, "blocked_until")));
  IT_ASSERT_JSON_BOOL(details(doc, "spotify_sync"), "account_connected", true);
  json_decref(doc);
  /* The page says who is connected, and the outcome in plain words. */
  get_page(f, loc);
  const char *page = buf_cstr(&f->r.body);
  assert_non_null(strstr(page, "Connected as <strong>Test User</strong>"));
  assert_non_null(strstr(page, "Spotify account connected."));
  assert_non_null(strstr(page, "id=\"spotify-disconnect\""));
  assert_no_secrets(f, page);
  /* The login started a sync (empty library): it ran and is idle. */
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 1});
  assert_int_equal(hc_get(it_url(f, "/api/settings"), &f->r), SS_OK);
  assert_no_secrets(f, buf_cstr(&f->r.body));
  assert_int_equal(hc_get(it_url(f, "/api/workers/status"), &f->r), SS_OK);
  assert_no_secrets(f, buf_cstr(&f->r.body));
  assert_int_equal(hc_get(it_url(f, "/api/workers/status/html"), &f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Verbunden als Test User"));
  /* The PKCE verifier and the exact redirect URI reached Spotify. */
  struct fake_logged e;
  assert_true(fake_http_last(fake_spotify_http(f->fa.spotify), "POST",
                             "/api/token", &e));
  assert_non_null(strstr(e.body, "code_verifier="));
  struct buf log;
  buf_init(&log, 1024 * 1024);
  daemon_read_stderr(&f->d, &log);
  assert_no_secrets(f, buf_cstr(&log));
  buf_free(&log);
}

static void test_login_denied_and_forged(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  fake_spotify_set_deny(f->fa.spotify, true);
  const char *loc = login(f, false, false);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=denied");
  get_page(f, loc);
  assert_non_null(strstr(buf_cstr(&f->r.body),
                         "You declined access on Spotify&#39;s page, so no "
                         "account was connected."));
  fake_spotify_set_deny(f->fa.spotify, false);
  /* A state that the daemon did not issue. */
  loc = login(f, true, false);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=state");
  get_page(f, loc);
  assert_non_null(strstr(buf_cstr(&f->r.body), "could not be verified"));
  /* The right state from another browser (no cookie). */
  loc = login(f, false, true);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=state");
  /* A reflected code is never shown: only fixed messages exist. */
  get_page(f, "/settings?tab=spotify&spotify_login=%3Cscript%3E");
  assert_null(strstr(buf_cstr(&f->r.body), "<script>"));
  assert_null(strstr(buf_cstr(&f->r.body), "spotify-login-error"));
  wait_worker(f, (struct want){"token_refresh", NULL, NULL, 0});
}

static void test_login_invalid_code(void **state)
{
  struct it_fixture *f = *state;
  struct hc_resp r = {0};
  char url[2048], cookie[256], header[300], loc[512];
  start(f, true, NULL);
  assert_int_equal(hc_get(it_url(f, "/auth/spotify/login"), &r), SS_OK);
  assert_int_equal(r.status, 302);
  assert_true(hc_header(&r, "Location", url, sizeof url));
  assert_true(hc_header(&r, "Set-Cookie", cookie, sizeof cookie));
  assert_non_null(strstr(cookie, "HttpOnly"));
  assert_non_null(strstr(cookie, "SameSite=Lax"));
  cookie[strcspn(cookie, ";")] = '\0';
  assert_int_equal(hc_get(url, &r), SS_OK);
  assert_true(hc_header(&r, "Location", url, sizeof url));
  /* Swap the code for one Spotify never issued. */
  char *code = strstr(url, "code=");
  assert_non_null(code);
  char rest[1024];
  snprintf(rest, sizeof rest, "%s", code + 5 + strcspn(code + 5, "&"));
  snprintf(code, sizeof url - (size_t)(code - url), "code=bogus%s", rest);
  snprintf(header, sizeof header, "Cookie: %s", cookie);
  const char *const h[] = {header, NULL};
  assert_int_equal(hc_request("GET", url, h, NULL, &r), SS_OK);
  assert_int_equal(r.status, 303);
  assert_true(hc_header(&r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=code");
  hc_resp_free(&r);
  get_page(f, loc);
  assert_non_null(strstr(buf_cstr(&f->r.body),
                         "Spotify did not accept the authorisation code"));
  json_t *doc = status_doc(f);
  IT_ASSERT_JSON_BOOL(details(doc, "token_refresh"), "account_connected",
                      false);
  json_decref(doc);
}

static void test_cross_site_and_disconnect(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  const char *const cross[] = {"Sec-Fetch-Site: cross-site", NULL};
  it_request_expect(f, "GET", "/auth/spotify/login", cross, NULL, 403);
  const char *const referer[] = {"Referer: http://evil.example/page", NULL};
  it_request_expect(f, "GET", "/auth/spotify/login", referer, NULL, 403);
  assert_string_equal(login(f, false, false),
                      "/settings?tab=spotify&spotify_login=ok");
  /* Disconnect from another site is refused by the server... */
  const char *const origin[] = {"Origin: http://evil.example", NULL};
  it_request_expect(f, "POST", "/auth/spotify/disconnect", origin, NULL, 403);
  wait_worker(f, (struct want){"token_refresh", NULL, NULL, 1});
  /* ...and works from the page. */
  it_request_expect(f, "POST", "/auth/spotify/disconnect", NULL, NULL, 303);
  char loc[256];
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=disconnected");
  wait_worker(f, (struct want){"token_refresh", "idle", NULL, 0});
  get_page(f, "/settings?tab=spotify");
  assert_non_null(strstr(buf_cstr(&f->r.body), "No Spotify account "
                                               "connected."));
}

static void test_no_client_id(void **state)
{
  struct it_fixture *f = *state;
  start(f, false, NULL);
  assert_string_equal(login(f, false, false),
                      "/settings?tab=spotify&spotify_login=client");
  get_page(f, "/settings?tab=spotify&spotify_login=client");
  assert_non_null(strstr(buf_cstr(&f->r.body), "spotify.client_id"));
  json_t *doc = status_doc(f);
  json_t *d = details(doc, "token_refresh");
  assert_non_null(
    strstr(json_string_value(json_object_get(d, "note")), "client id"));
  json_decref(doc);
}

/* ---- Token Refresh ---- */

static void test_refresh_rotation_survives_restart(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  /* Tokens that expire within the 10-minute threshold. */
  fake_spotify_set_expires_in(f->fa.spotify, 300);
  fake_spotify_set_rotate_refresh(f->fa.spotify, true);
  login(f, false, false);
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 1});
  wait_login_refresh(f);
  fake_spotify_reset_counts(f->fa.spotify);
  run_and_wait(f, "token_refresh");
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN_REFRESH), 1);
  wait_worker(f, (struct want){"token_refresh", "idle", NULL, 1});
  /* After a restart the rotated refresh token (the only one the fake still
   * accepts) was kept in the store. */
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  run_and_wait(f, "token_refresh");
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN_REFRESH), 2);
  wait_worker(f, (struct want){"token_refresh", "idle", NULL, 1});
  json_t *doc = status_doc(f);
  assert_true(json_is_null(
    json_object_get(details(doc, "token_refresh"), "last_error")));
  json_decref(doc);
}

static void hook_ok(const struct fake_req *req, struct fake_reply *rep,
                    void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "application/json", "{}");
}

/* Webhook events of kind received so far; the last one's title and
 * message into title/msg (may be NULL). */
static int hook_events(struct fake_http *rx, const char *kind, char *title,
                       char *msg, size_t n)
{
  int count = 0;
  for (uint64_t s = 1; s <= fake_http_seq(rx); s++) {
    struct fake_logged e;
    if (!fake_http_entry(rx, s, &e))
      continue;
    json_t *ev = json_loads(e.body, 0, NULL);
    const char *k = json_string_value(json_object_get(ev, "event"));
    if (k && !strcmp(k, kind)) {
      count++;
      if (title)
        snprintf(title, n, "%s",
                 json_string_value(json_object_get(ev, "title")));
      if (msg)
        snprintf(msg, n, "%s",
                 json_string_value(json_object_get(ev, "message")));
    }
    json_decref(ev);
  }
  return count;
}

struct hook_wait {
  struct fake_http *rx;
  const char *kind;
};

static bool hook_seen(void *arg)
{
  struct hook_wait *w = arg;
  return hook_events(w->rx, w->kind, NULL, NULL, 0) > 0;
}

static void test_invalid_grant_needs_reauth(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  /* the renewal is notified (issue 11.5), once */
  struct fake_http *rx = NULL;
  assert_int_equal(fake_http_start(&rx, 0), SS_OK);
  fake_http_route(rx, "POST", "*", hook_ok, NULL);
  char body[256];
  snprintf(body, sizeof body, "{\"notify.webhook_url\":\"%s/hook\"}",
           fake_http_url(rx));
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  fake_spotify_set_expires_in(f->fa.spotify, 300);
  login(f, false, false);
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 1});
  wait_login_refresh(f);
  /* Let the sync that the login started finish: it may still use the
   * access token, which stays valid after its refresh token is revoked. */
  run_and_wait(f, "spotify_sync");
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 1});
  fake_spotify_revoke_refresh_token(f->fa.spotify);
  fake_spotify_reset_counts(f->fa.spotify);
  run_and_wait(f, "token_refresh");
  wait_worker(f, (struct want){"token_refresh", "error",
                               "Spotify re-authorisation required: Refresh "
                               "token revoked",
                               0});
  struct hook_wait hw = {rx, "spotify_login"};
  assert_true(it_wait_until(hook_seen, &hw, WAIT_MS));
  char title[256], msg[256];
  assert_int_equal(hook_events(rx, "spotify_login", title, msg, sizeof msg),
                   1);
  assert_string_equal(title, "Spotify login needs renewal");
  assert_non_null(strstr(msg, "Refresh token revoked"));
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN), 1);
  /* No further attempt: neither the worker nor the sync calls out. */
  run_and_wait(f, "token_refresh");
  run_and_wait(f, "spotify_sync");
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN), 1);
  assert_int_equal(fake_spotify_api_count(f->fa.spotify), 0);
  wait_worker(f,
              (struct want){"token_refresh", "error", "re-authorisation", 0});
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 0});
  get_page(f, "/settings?tab=spotify");
  assert_non_null(strstr(buf_cstr(&f->r.body), "Refresh token revoked"));
  assert_non_null(strstr(buf_cstr(&f->r.body), "id=\"spotify-connect\""));
  /* The sidebar shows it too. */
  assert_int_equal(hc_get(it_url(f, "/api/workers/status/html"), &f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&f->r.body), "re-authorisation required"));
  assert_int_equal(hook_events(rx, "spotify_login", NULL, NULL, 0), 1);
  /* A new login makes the account usable again. */
  login(f, false, false);
  wait_worker(f, (struct want){"spotify_sync", NULL, NULL, 1});
  fake_http_stop(rx);
}

static void test_token_endpoint_5xx(void **state)
{
  struct it_fixture *f = *state;
  /* Token Refresh checks every 300 ms (the test build's TESTHOOK_MS), so
   * scheduled runs fall inside the ladder's first step (30 s). */
  static const char *const env[] = {"SOULSPOT_TEST_MS=token_refresh=300",
                                    NULL};
  it_start_spotify(f, SLSKD_KEY, NULL, true,
                   "[spotify]\ntoken_refresh_threshold_minutes = 1\n", env);
  fake_spotify_set_expires_in(f->fa.spotify, 300);
  login(f, false, false);
  wait_worker(f, (struct want){"spotify_sync", "idle", NULL, 1});
  wait_login_refresh(f);
  /* Spotify down as a whole: a Web API answer (the prober's /me) would
   * step the one Spotify ladder back to zero. */
  struct fake_script down =
    {.status = 503,
     .body =
       "{\"error\":{\"status\":503,\"message\":\"Service unavailable\"}}"};
  fake_http_script(fake_spotify_http(f->fa.spotify), NULL, "/v1/*", &down);
  fake_spotify_fault(f->fa.spotify, FSP_TOKEN, 0, FSF_503, 0, 0);
  run_and_wait_forced(f, "token_refresh");
  wait_worker(f, (struct want){"token_refresh", "error", "HTTP 503", 1});
  json_t *st = status_doc(f);
  IT_ASSERT_JSON_STR(details(st, "token_refresh"), "last_error_reason",
                     "connection");
  json_decref(st);
  /* Within the backoff the next runs say when they will try again,
   * without a request: deferred, the error stands. */
  size_t calls = fake_spotify_count(f->fa.spotify, FSP_TOKEN);
  assert_true(
    it_wait_run(f, "token_refresh", "deferred", "next try after", 0, WAIT_MS));
  wait_worker(f, (struct want){"token_refresh", "error", "HTTP 503", 1});
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN), calls);
  /* Run now still tries at once. */
  run_and_wait_forced(f, "token_refresh");
  assert_int_equal(fake_spotify_count(f->fa.spotify, FSP_TOKEN), calls + 1);
  wait_worker(f, (struct want){"token_refresh", "error", "HTTP 503", 1});
}

static bool probe_says(json_t *doc, void *arg)
{
  const char *reason = json_string_value(
    json_object_get(json_object_get(doc, "spotify"), "reason"));
  return reason && strstr(reason, (const char *)arg);
}

static void test_probe_checks_the_token(void **state)
{
  struct it_fixture *f = *state;
  start(f, true, NULL);
  login(f, false, false);
  /* A probe setting change re-probes at once: connected, the probe asks
   * /me with the token. */
  assert_int_equal(it_patch_settings(f, "{\"probe.timeout_seconds\":4}"),
                   SS_OK);
  assert_true(it_wait_json(it_url(f, "/api/workers/services/detail"),
                           probe_says, "token accepted (Test User)", WAIT_MS,
                           NULL));
  json_t *doc = it_get_json(it_url(f, "/api/workers/services"), NULL);
  IT_ASSERT_JSON_BOOL(doc, "spotify", true);
  json_decref(doc);
  /* A token the Web API keeps refusing makes the service down. */
  fake_spotify_fault(f->fa.spotify, FSP_ME, 0, FSF_401, 0, 0);
  assert_int_equal(it_patch_settings(f, "{\"probe.timeout_seconds\":3}"),
                   SS_OK);
  assert_true(it_wait_json(it_url(f, "/api/workers/services/detail"),
                           probe_says, "token refused", WAIT_MS, NULL));
  doc = it_get_json(it_url(f, "/api/workers/services/detail"), NULL);
  IT_ASSERT_JSON_STR(json_object_get(doc, "spotify"), "reason_code", "auth");
  json_decref(doc);
  doc = it_get_json(it_url(f, "/api/workers/services"), NULL);
  IT_ASSERT_JSON_BOOL(doc, "spotify", false);
  json_decref(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, it_teardown)
    T(test_login_end_to_end),
    T(test_login_denied_and_forged),
    T(test_login_invalid_code),
    T(test_cross_site_and_disconnect),
    T(test_no_client_id),
    T(test_refresh_rotation_survives_restart),
    T(test_invalid_grant_needs_reauth),
    T(test_token_endpoint_5xx),
    T(test_probe_checks_the_token),
#undef T
  };
  return cmocka_run_group_tests_name("integration/spotify_login", tests, NULL,
                                     NULL);
}
