/*
 * test_notify.c - notifications against the real daemon and a fake
 * receiver (issue 11, item 5): "Send test" to a webhook, ntfy and Gotify
 * (the wire format each receives), a receiver that answers 500, redirects
 * forever or hangs (a clear error in the status and the log, counted in
 * /metrics, the workers unaffected), setting validation, the Origin check,
 * secrets never returned or logged, and a unit entering and leaving error
 * (its last_error naming a folder <b>&"' Björk, JSON-escaped).  Real names
 * of imported downloads: test_downloads.c, test_unicode_names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "fake_http.h"
#include "itest.h"
#include "tfs.h"

#define WAIT_MS 20000
#define NTFY_TOKEN "tk_secret_ntfy_4711"
#define GOTIFY_TOKEN "AbCsecretGotify42"
#define HOOK_SECRET "hooksecret9"

struct nx {
  struct it_fixture *f;
  struct fake_http *rx;
  char dir[128];
};
static struct nx nx;

static void ok_reply(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "application/json", "{\"id\":1}");
}

static int setup(void **state)
{
  if (it_setup(state))
    return -1;
  memset(&nx, 0, sizeof nx);
  nx.f = *state;
  snprintf(nx.dir, sizeof nx.dir, "/tmp/test_notify.XXXXXX");
  if (!mkdtemp(nx.dir) || fake_http_start(&nx.rx, 0) != SS_OK)
    return -1;
  fake_http_route(nx.rx, NULL, "*", ok_reply, NULL);
  return 0;
}

static int teardown(void **state)
{
  int rc = it_teardown(state);
  fake_http_stop(nx.rx);
  tfs_rm_tree(nx.dir);
  return rc;
}

/* PATCH /api/settings; returns the HTTP status. */
static long patch(const char *body)
{
  assert_int_equal(it_patch_settings(nx.f, body), SS_OK);
  return nx.f->r.status;
}

/* Sets the three targets to the fake receiver. */
static void configure_all(void)
{
  char body[1024];
  const char *u = fake_http_url(nx.rx);
  snprintf(body, sizeof body,
           "{\"notify.webhook_url\":\"%s/hook/" HOOK_SECRET "\","
           "\"notify.ntfy_url\":\"%s/ntfy/soulspot\","
           "\"notify.ntfy_token\":\"" NTFY_TOKEN "\","
           "\"notify.gotify_url\":\"%s/gotify/\","
           "\"notify.gotify_token\":\"" GOTIFY_TOKEN "\","
           "\"notify.timeout_seconds\":1}",
           u, u, u);
  assert_int_equal(patch(body), 200);
}

/* POST /api/notify/test {"target": target}; returns the status. */
static long send_test(const char *target)
{
  char body[96], origin[IT_URL_MAX + 16];
  snprintf(body, sizeof body, "{\"target\":\"%s\"}", target);
  snprintf(origin, sizeof origin, "Origin: %s", nx.f->d.url);
  const char *const h[] = {"Content-Type: application/json", origin, NULL};
  assert_int_equal(hc_request("POST", it_url(nx.f, "/api/notify/test"), h,
                              body, &nx.f->r),
                   SS_OK);
  return nx.f->r.status;
}

struct want_last {
  const char *target;
  const char *result; /* "sent" / "error" */
};

static bool last_is(json_t *doc, void *arg)
{
  const struct want_last *w = arg;
  json_t *t = json_object_get(json_object_get(doc, "targets"), w->target);
  json_t *last = json_object_get(t, "last");
  const char *r = json_string_value(json_object_get(last, "result"));
  return r && !strcmp(r, w->result) &&
         json_is_false(json_object_get(t, "test_pending"));
}

/* Waits for target's last result and returns its "last" object (a new
 * reference). */
static json_t *wait_last(const char *target, const char *result)
{
  struct want_last w = {target, result};
  assert_true(it_wait_json(it_url(nx.f, "/api/notify/status"), last_is, &w,
                           WAIT_MS, NULL));
  json_t *doc = it_get_json(it_url(nx.f, "/api/notify/status"), NULL);
  json_t *last = json_object_get(json_object_get(json_object_get(doc,
                                                                 "targets"),
                                                 target),
                                 "last");
  json_incref(last);
  json_decref(doc);
  return last;
}

static char *daemon_log(void)
{
  struct buf b;
  buf_init(&b, 4 * 1024 * 1024);
  daemon_read_stderr(&nx.f->d, &b);
  char *s = strdup(buf_cstr(&b));
  buf_free(&b);
  return s;
}

/* ---- tests ---- */

static void test_send_test_to_each_target(void **state)
{
  (void)state;
  assert_int_equal(daemon_start(&nx.f->d, NULL, NULL), SS_OK);
  configure_all();

  /* webhook: JSON */
  assert_int_equal(send_test("webhook"), 202);
  struct fake_logged e;
  assert_true(fake_http_wait(nx.rx, "POST", "/hook/*", 1, WAIT_MS));
  assert_true(fake_http_last(nx.rx, "POST", "/hook/*", &e));
  json_t *doc = json_loads(e.body, 0, NULL);
  assert_non_null(doc);
  IT_ASSERT_JSON_STR(doc, "source", "soulspotd");
  IT_ASSERT_JSON_STR(doc, "event", "test");
  IT_ASSERT_JSON_STR(doc, "title", "soulspotd test message");
  assert_true(json_is_string(json_object_get(doc, "at")));
  json_decref(doc);
  json_t *last = wait_last("webhook", "sent");
  json_t *test_flag = json_object_get(last, "test");
  assert_true(json_is_true(test_flag));
  json_decref(last);

  /* ntfy: text body, Title, Priority, Authorization */
  assert_int_equal(send_test("ntfy"), 202);
  assert_true(fake_http_wait(nx.rx, "POST", "/ntfy/soulspot", 1, WAIT_MS));
  assert_true(fake_http_last(nx.rx, "POST", "/ntfy/soulspot", &e));
  assert_string_equal(fake_logged_header(&e, "Title"),
                      "soulspotd test message");
  assert_string_equal(fake_logged_header(&e, "Priority"), "3");
  assert_string_equal(fake_logged_header(&e, "Authorization"),
                      "Bearer " NTFY_TOKEN);
  assert_non_null(strstr(e.body, "test"));
  json_decref(wait_last("ntfy", "sent"));

  /* Gotify: /message, X-Gotify-Key, JSON */
  assert_int_equal(send_test("gotify"), 202);
  assert_true(fake_http_wait(nx.rx, "POST", "/gotify/message", 1, WAIT_MS));
  assert_true(fake_http_last(nx.rx, "POST", "/gotify/message", &e));
  assert_string_equal(fake_logged_header(&e, "X-Gotify-Key"), GOTIFY_TOKEN);
  doc = json_loads(e.body, 0, NULL);
  assert_non_null(doc);
  IT_ASSERT_JSON_STR(doc, "title", "soulspotd test message");
  IT_ASSERT_JSON_INT(doc, "priority", 5);
  json_decref(doc);
  json_decref(wait_last("gotify", "sent"));

  /* secrets: masked in the API, never in the status, page or log */
  assert_int_equal(hc_get(it_url(nx.f, "/api/settings"), &nx.f->r), SS_OK);
  const char *s = buf_cstr(&nx.f->r.body);
  assert_null(strstr(s, NTFY_TOKEN));
  assert_null(strstr(s, GOTIFY_TOKEN));
  assert_null(strstr(s, HOOK_SECRET));
  assert_int_equal(hc_get(it_url(nx.f, "/settings?tab=notifications"),
                          &nx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&nx.f->r, 200);
  s = buf_cstr(&nx.f->r.body);
  assert_non_null(strstr(s, "id=\"notify-test-ntfy\""));
  assert_null(strstr(s, NTFY_TOKEN));
  assert_null(strstr(s, HOOK_SECRET));
  assert_int_equal(hc_get(it_url(nx.f, "/api/notify/status/html"), &nx.f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&nx.f->r.body), "data-result=\"sent\""));
  char *log = daemon_log();
  assert_null(strstr(log, NTFY_TOKEN));
  assert_null(strstr(log, GOTIFY_TOKEN));
  assert_null(strstr(log, HOOK_SECRET));
  free(log);

  /* metrics move */
  assert_int_equal(hc_get(it_url(nx.f, "/metrics"), &nx.f->r), SS_OK);
  s = buf_cstr(&nx.f->r.body);
  assert_non_null(
    strstr(s, "soulspotd_notifications_sent_total{target=\"ntfy\"} 1\n"));
  assert_non_null(
    strstr(s, "soulspotd_notifications_failed_total{target=\"gotify\"} 0\n"));
  assert_non_null(strstr(s, "soulspotd_notifications_dropped_total 0\n"));
}

/* The workers status answers while a notification hangs (no speed is
 * asserted: that it answers at all while the sender waits). */
static void workers_answer_quickly(void)
{
  assert_int_equal(hc_get(it_url(nx.f, "/api/workers/status"), &nx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&nx.f->r, 200);
}

static void test_bad_receivers(void **state)
{
  (void)state;
  assert_int_equal(daemon_start(&nx.f->d, NULL, NULL), SS_OK);
  configure_all();
  /* 500 */
  struct fake_script s500 = {.status = 500, .body = "{\"error\":\"boom\"}"};
  fake_http_script(nx.rx, "POST", "/ntfy/*", &s500);
  /* a redirect to itself, forever */
  char loc[256];
  snprintf(loc, sizeof loc, "Location: %s/hook/" HOOK_SECRET,
           fake_http_url(nx.rx));
  struct fake_script s302 = {.status = 302, .headers = {loc}};
  fake_http_script(nx.rx, "POST", "/hook/*", &s302);
  /* hangs far beyond notify.timeout_seconds = 1 */
  struct fake_script hang = {.status = 200, .delay_ms = 15000};
  fake_http_script(nx.rx, "POST", "/gotify/*", &hang);

  assert_int_equal(send_test("gotify"), 202);
  assert_int_equal(send_test("ntfy"), 202);
  assert_int_equal(send_test("webhook"), 202);
  assert_true(fake_http_wait(nx.rx, "POST", "/gotify/*", 1, WAIT_MS));
  workers_answer_quickly();

  json_t *last = wait_last("gotify", "error");
  const char *err = json_string_value(json_object_get(last, "error"));
  assert_non_null(err);
  if (!it_contains_ci(err, "timed out") && !it_contains_ci(err, "timeout"))
    fail_msg("gotify error \"%s\" does not say timeout", err);
  json_decref(last);
  last = wait_last("ntfy", "error");
  assert_string_equal(json_string_value(json_object_get(last, "error")),
                      "HTTP 500");
  json_decref(last);
  last = wait_last("webhook", "error");
  assert_string_equal(json_string_value(json_object_get(last, "error")),
                      "HTTP 302: redirect not followed");
  json_decref(last);
  /* one request each: no retry, no redirect followed */
  assert_int_equal(fake_http_count(nx.rx, "POST", "/hook/*"), 1);
  assert_int_equal(fake_http_count(nx.rx, "POST", "/ntfy/*"), 1);

  char *log = daemon_log();
  assert_int_equal(it_count(log, "ntfy: test not sent: HTTP 500"), 1);
  assert_int_equal(
    it_count(log, "webhook: test not sent: HTTP 302: redirect not followed"),
    1);
  assert_null(strstr(log, HOOK_SECRET));
  free(log);
  assert_int_equal(hc_get(it_url(nx.f, "/metrics"), &nx.f->r), SS_OK);
  const char *m = buf_cstr(&nx.f->r.body);
  assert_non_null(
    strstr(m, "soulspotd_notifications_failed_total{target=\"ntfy\"} 1\n"));
  assert_non_null(
    strstr(m, "soulspotd_notifications_failed_total{target=\"gotify\"} 1\n"));
  assert_non_null(
    strstr(m, "soulspotd_notifications_sent_total{target=\"webhook\"} 0\n"));
  workers_answer_quickly();
  fake_http_unscript(nx.rx, NULL, NULL);
}

static void test_requests_checked(void **state)
{
  (void)state;
  assert_int_equal(daemon_start(&nx.f->d, NULL, NULL), SS_OK);
  /* not http(s): a clear field error, nothing changes */
  assert_int_equal(patch("{\"notify.ntfy_url\":\"ftp://ntfy.example/x\"}"),
                   400);
  json_t *doc = it_parse(&nx.f->r);
  assert_non_null(doc);
  assert_true(json_is_string(
    json_object_get(json_object_get(doc, "fields"), "notify.ntfy_url")));
  json_decref(doc);
  assert_int_equal(patch("{\"notify.webhook_url\":\"javascript:alert(1)\"}"),
                   400);
  /* not configured: 409; unknown: 400 */
  assert_int_equal(send_test("ntfy"), 409);
  it_expect_error(it_parse(&nx.f->r), "not configured");
  assert_int_equal(send_test("<b>&\"'"), 400);
  it_expect_error(it_parse(&nx.f->r), "target must be");
  /* a cross-site POST is refused before the handler */
  configure_all();
  const char *const h[] = {"Content-Type: application/json",
                           "Origin: http://evil.example", NULL};
  assert_int_equal(hc_request("POST", it_url(nx.f, "/api/notify/test"), h,
                              "{\"target\":\"ntfy\"}", &nx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&nx.f->r, 403);
  assert_int_equal(fake_http_count(nx.rx, NULL, NULL), 0);
  /* a form post (the page's button) works too */
  char origin[IT_URL_MAX + 16];
  snprintf(origin, sizeof origin, "Origin: %s", nx.f->d.url);
  const char *const hf[] = {"Content-Type: application/x-www-form-urlencoded",
                            "HX-Request: true", origin, NULL};
  assert_int_equal(hc_request("POST", it_url(nx.f, "/api/notify/test"), hf,
                              "target=webhook", &nx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&nx.f->r, 202);
  assert_non_null(
    strstr(buf_cstr(&nx.f->r.body), "id=\"notify-status-webhook\""));
  assert_true(fake_http_wait(nx.rx, "POST", "/hook/*", 1, WAIT_MS));
}

/* Waits for a webhook event of kind; copies its title/message. */
static bool wait_event(const char *kind, uint64_t after, char *title,
                       size_t tn, char *message, size_t mn)
{
  int64_t end = clock_mono_ms() + WAIT_MS;
  while (clock_mono_ms() < end) {
    struct fake_logged e;
    if (!fake_http_wait_after(nx.rx, "POST", "/hook/*", after, 200, &e))
      continue;
    after = e.seq;
    json_t *doc = json_loads(e.body, 0, NULL);
    const char *ev = json_string_value(json_object_get(doc, "event"));
    bool hit = ev && !strcmp(ev, kind);
    if (hit) {
      snprintf(title, tn, "%s",
               json_string_value(json_object_get(doc, "title")));
      snprintf(message, mn, "%s",
               json_string_value(json_object_get(doc, "message")));
    }
    json_decref(doc);
    if (hit)
      return true;
  }
  return false;
}

static bool cleanup_failed(json_t *doc, void *arg)
{
  (void)arg;
  const char *st = json_string_value(
    json_object_get(it_worker(doc, "cleanup"), "status"));
  return st && !strcmp(st, "error");
}

static void test_unit_error_and_recovery(void **state)
{
  (void)state;
  char ini[1024], missing[200];
  snprintf(missing, sizeof missing, "%s/gone <b>&\"' Bj\xc3\xb6rk", nx.dir);
  snprintf(ini, sizeof ini,
           "[download]\nslskd_download_path = %s\n"
           "[automation]\ncleanup_enabled = true\n"
           "[notify]\nwebhook_url = %s/hook/" HOOK_SECRET "\n",
           missing, fake_http_url(nx.rx));
  assert_int_equal(daemon_start(&nx.f->d, ini, NULL), SS_OK);
  char title[256], message[1400];
  assert_true(
    wait_event("unit_error", 0, title, sizeof title, message, sizeof message));
  if (strncmp(title, "Cleanup: error (", 16) != 0)
    fail_msg("title \"%s\"", title);
  /* the reason named in the title is the one the status API shows */
  json_t *st = it_get_json(it_url(nx.f, "/api/workers/status"), NULL);
  json_t *d = json_object_get(it_worker(st, "cleanup"), "details");
  const char *reason = json_string_value(
    json_object_get(d, "last_error_reason"));
  const char *last_error = json_string_value(json_object_get(d, "last_error"));
  assert_non_null(reason);
  assert_non_null(last_error);
  char want[160];
  snprintf(want, sizeof want, "Cleanup: error (%s)", reason);
  assert_string_equal(title, want);
  assert_non_null(strstr(message, last_error));
  assert_non_null(strstr(message, "gone <b>&\"' Bj\xc3\xb6rk"));
  json_decref(st);
  /* the folder appears: the next run succeeds and says so, once */
  uint64_t seq = fake_http_seq(nx.rx);
  assert_int_equal(mkdir(missing, 0700), 0);
  assert_int_equal(it_run_now(nx.f, "cleanup"), 202);
  assert_true(wait_event("unit_recovered", seq, title, sizeof title, message,
                         sizeof message));
  assert_string_equal(title, "Cleanup: recovered");
  /* switched off: no event */
  assert_int_equal(patch("{\"notify.on_unit_errors\":false,"
                         "\"download.slskd_download_path\":"
                         "\"/nonexistent/soulspot\"}"),
                   200);
  seq = fake_http_seq(nx.rx);
  assert_int_equal(it_run_now(nx.f, "cleanup"), 202);
  assert_true(it_wait_json(it_url(nx.f, "/api/workers/status"), cleanup_failed,
                           NULL, WAIT_MS, NULL));
  /* a test afterwards arrives, and it is the only request since */
  assert_int_equal(send_test("webhook"), 202);
  assert_true(
    wait_event("test", seq, title, sizeof title, message, sizeof message));
  assert_int_equal(fake_http_seq(nx.rx), seq + 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_send_test_to_each_target, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_bad_receivers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_requests_checked, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unit_error_and_recovery, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
