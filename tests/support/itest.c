/*
 * itest.c - shared helpers of the integration tests.
 *
 * Polling helpers sleep IT_POLL_MS between checks and always check once
 * more at the deadline.  The fixture teardown is also the daemon's
 * shutdown check (see itest.h).
 *
 * Threading: main test thread only.  Ownership: the fixture is allocated by
 * it_setup and freed by it_teardown; JSON documents returned here belong to
 * the caller.
 */
#include "itest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"

#define STDERR_SCAN_MAX (1024 * 1024)

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int it_setup(void **state)
{
  *state = xcalloc(1, sizeof(struct it_fixture));
  return 0;
}

/* Sanitizer and crash reports the daemon may print on stderr. */
static bool stderr_clean(const struct test_daemon *d)
{
  static const char *const bad[] = {"AddressSanitizer",   "LeakSanitizer",
                                    "runtime error:",     "UndefinedBehavior",
                                    "Segmentation fault", "Assertion"};
  struct buf b;
  bool clean = true;
  buf_init(&b, STDERR_SCAN_MAX);
  daemon_read_stderr(d, &b);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (strstr(buf_cstr(&b), bad[i])) {
      fprintf(stderr, "error: daemon stderr contains \"%s\":\n%.4000s\n",
              bad[i], buf_cstr(&b));
      clean = false;
      break;
    }
  buf_free(&b);
  return clean;
}

int it_teardown(void **state)
{
  struct it_fixture *f = *state;
  int rc = 0;
  bool was_running = f->d.pid > 0;
  if (was_running && !daemon_alive(&f->d)) {
    fprintf(stderr, "error: teardown: the daemon died during the test\n");
    rc = -1;
  } else if (was_running) {
    int status = daemon_stop(&f->d);
    if (status != 0) {
      fprintf(stderr, "error: teardown: SIGTERM gave exit status %d\n",
              status);
      rc = -1;
    }
  }
  if (f->d.root[0] && !stderr_clean(&f->d))
    rc = -1;
  daemon_cleanup(&f->d);
  fake_all_stop(&f->fa);
  hc_resp_free(&f->r);
  free(f);
  *state = NULL;
  return rc;
}

const char *it_url(struct it_fixture *f, const char *path)
{
  return daemon_urlf(&f->d, f->url, sizeof f->url, path);
}

json_t *it_parse(const struct hc_resp *r)
{
  json_error_t err;
  json_t *doc = json_loadb(buf_cstr(&r->body), r->body.len, 0, &err);
  if (!doc)
    fprintf(stderr, "error: invalid JSON (%s at %d): %.1000s\n", err.text,
            err.position, buf_cstr(&r->body));
  return doc;
}

json_t *it_get_json(const char *url, long *status)
{
  struct hc_resp r = {0};
  json_t *doc = NULL;
  if (hc_get(url, &r) != SS_OK)
    fprintf(stderr, "error: GET %s failed: %s\n", url, r.error);
  else
    doc = it_parse(&r);
  if (status)
    *status = r.status;
  hc_resp_free(&r);
  return doc;
}

int it_patch_settings_h(struct it_fixture *f, const char *json_body,
                        const char *const *headers)
{
  const char *all[16];
  size_t n = 0;
  all[n++] = "Content-Type: application/json";
  for (size_t i = 0; headers && headers[i] && n < 15; i++)
    all[n++] = headers[i];
  all[n] = NULL;
  char url[IT_URL_MAX];
  daemon_urlf(&f->d, url, sizeof url, "/api/settings");
  return hc_request("PATCH", url, all, json_body, &f->r);
}

int it_patch_settings(struct it_fixture *f, const char *json_body)
{
  return it_patch_settings_h(f, json_body, NULL);
}

void it_start_spotify(struct it_fixture *f, const char *slskd_key,
                      const struct fake_spotify_library *l, bool client,
                      const char *extra, const char *const *env)
{
  struct buf ini;
  assert_int_equal(fake_all_start(&f->fa, slskd_key), SS_OK);
  if (l)
    fake_spotify_set_library(f->fa.spotify, l);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, NULL, &ini);
  if (client)
    buf_puts(&ini, "[spotify]\nclient_id = test-client-id\n"
                   "client_secret = test-client-secret\n");
  buf_puts(&ini, "[probe]\ninterval_seconds = 3600\n");
  if (extra)
    buf_puts(&ini, extra);
  f->d.test_hooks = env != NULL; /* TESTHOOK_MS lives in that build */
  int rc = daemon_start(&f->d, buf_cstr(&ini), env);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
  char body[256];
  snprintf(body, sizeof body,
           "{\"spotify.redirect_uri\":\"%s/auth/spotify/callback\"}",
           f->d.url);
  assert_int_equal(it_patch_settings(f, body), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
}

const char *const it_json_headers[] = {"Content-Type: application/json", NULL};

void it_request_expect(struct it_fixture *f, const char *method,
                       const char *path, const char *const *headers,
                       const char *body, long want)
{
  assert_int_equal(hc_request(method, it_url(f, path), headers, body, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, want);
}

int it_run_now(struct it_fixture *f, const char *unit)
{
  char path[128];
  snprintf(path, sizeof path, "/api/workers/%s/run", unit);
  int rc = hc_request("POST", it_url(f, path), NULL, NULL, &f->r);
  return rc == SS_OK ? (int)f->r.status : rc;
}

struct queue_arg {
  struct it_fixture *f;
  const char *unit;
  int status;
};

/* "queued": false means it met a run in progress and was folded into
 * it, a run that is not forced: ask again. */
static bool run_queued(void *arg)
{
  struct queue_arg *a = arg;
  a->status = it_run_now(a->f, a->unit);
  return a->status != 202 ||
         strstr(buf_cstr(&a->f->r.body), "\"queued\":true") != NULL;
}

int it_run_now_queued(struct it_fixture *f, const char *unit)
{
  struct queue_arg a = {f, unit, 0};
  return it_wait_until(run_queued, &a, 10000) ? a.status : SS_EBUSY;
}

bool it_wait_until(it_pred_fn pred, void *arg, int timeout_ms)
{
  int64_t deadline = clock_mono_ms() + timeout_ms;
  for (;;) {
    if (pred(arg))
      return true;
    if (clock_mono_ms() >= deadline)
      return pred(arg);
    sleep_ms(IT_POLL_MS);
  }
}

bool it_wait_json(const char *url, it_json_pred_fn pred, void *arg,
                  int timeout_ms, int64_t *elapsed_ms)
{
  int64_t t0 = clock_mono_ms();
  int64_t deadline = t0 + timeout_ms;
  for (;;) {
    json_t *doc = it_get_json(url, NULL);
    bool ok = doc && pred(doc, arg);
    json_decref(doc);
    if (ok) {
      if (elapsed_ms)
        *elapsed_ms = clock_mono_ms() - t0;
      return true;
    }
    if (clock_mono_ms() >= deadline)
      return false;
    sleep_ms(IT_POLL_MS);
  }
}

json_t *it_worker(json_t *status_doc, const char *key)
{
  return json_object_get(json_object_get(status_doc, "workers"), key);
}

json_t *it_units_array(json_t *units_doc)
{
  if (json_is_array(units_doc))
    return units_doc;
  json_t *a = json_object_get(units_doc, "units");
  return json_is_array(a) ? a : NULL;
}

json_t *it_unit(json_t *units_doc, const char *key)
{
  json_t *arr = it_units_array(units_doc);
  size_t i;
  json_t *u;
  json_array_foreach(arr, i, u)
  {
    json_t *k = json_object_get(u, "key");
    if (json_is_string(k) && strcmp(json_string_value(k), key) == 0)
      return u;
  }
  return NULL;
}

void it_unit_state(struct it_fixture *f, const char *unit,
                   struct it_unit_state *out)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *u = it_unit(doc, unit);
  const char *st = json_string_value(json_object_get(u, "state"));
  const char *res = json_string_value(json_object_get(u, "last_result"));
  out->runs = json_integer_value(json_object_get(u, "runs"));
  out->active = st && !strcmp(st, "active");
  out->worked = res && (!strcmp(res, "ok") || !strcmp(res, "error"));
  json_decref(doc);
}

long long it_unit_runs(struct it_fixture *f, const char *unit)
{
  struct it_unit_state s;
  it_unit_state(f, unit, &s);
  return s.runs;
}

struct runs_want {
  struct it_fixture *f;
  const char *unit;
  long long after;
  enum it_runs_until until;
};

static bool runs_done(void *arg)
{
  const struct runs_want *w = arg;
  struct it_unit_state s;
  it_unit_state(w->f, w->unit, &s);
  if (s.runs <= w->after)
    return false;
  switch (w->until) {
  case IT_RUNS_COUNTED: return true;
  case IT_RUNS_ENDED: return !s.active;
  case IT_RUNS_WORKED: return !s.active && s.worked;
  }
  return false;
}

bool it_wait_unit_runs(struct it_fixture *f, const char *unit, long long after,
                       enum it_runs_until until, int timeout_ms, bool quiet)
{
  struct runs_want w = {f, unit, after, until};
  if (it_wait_until(runs_done, &w, timeout_ms))
    return true;
  if (!quiet) {
    json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
    char *text = json_dumps(it_unit(doc, unit), JSON_COMPACT);
    fprintf(stderr, "error: %s: no finished run after %lld; unit: %s\n", unit,
            after, text ? text : "(none)");
    free(text);
    json_decref(doc);
  }
  return false;
}

json_t *it_item_titled(json_t *doc, const char *title)
{
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(doc, "items"), i, it)
  {
    const char *t = json_string_value(json_object_get(it, "title"));
    if (t && !strcmp(t, title))
      return it;
  }
  return NULL;
}

bool it_contains_ci(const char *hay, const char *needle)
{
  return strcasestr(hay, needle) != NULL;
}

size_t it_count(const char *hay, const char *needle)
{
  size_t n = 0, len = strlen(needle);
  if (len == 0)
    return 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
    n++;
  return n;
}

void it_expect_error(json_t *doc, const char *words)
{
  json_t *e = json_object_get(doc, "error");
  assert_true(json_is_string(e));
  if (!strstr(json_string_value(e), words))
    fail_msg("error \"%s\" lacks \"%s\"", json_string_value(e), words);
  json_decref(doc);
}

struct run_want {
  const char *unit, *result, *needle;
  int64_t since_ms;
};

static bool run_seen(json_t *doc, void *arg)
{
  const struct run_want *w = arg;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(it_unit(doc, w->unit), "history"), i, e)
  {
    const char *res = json_string_value(json_object_get(e, "result"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    int64_t at = json_integer_value(json_object_get(e, "last_started_ms"));
    if (res && !strcmp(res, w->result) && at >= w->since_ms &&
        (!w->needle || (msg && strstr(msg, w->needle))))
      return true;
  }
  return false;
}

bool it_wait_run(struct it_fixture *f, const char *unit, const char *result,
                 const char *needle, int64_t since_ms, int timeout_ms)
{
  struct run_want w = {unit, result, needle, since_ms};
  if (it_wait_json(it_url(f, "/api/workers"), run_seen, &w, timeout_ms, NULL))
    return true;
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  char *text = json_dumps(json_array_get(json_object_get(it_unit(doc, unit),
                                                         "history"),
                                         0),
                          JSON_COMPACT);
  fprintf(stderr, "error: %s: no %s run with \"%s\"; newest: %s\n", unit,
          result, needle ? needle : "", text ? text : "(none)");
  free(text);
  json_decref(doc);
  return false;
}
