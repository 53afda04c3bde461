/*
 * test_fakes.c - tests of the test infrastructure itself: fake_http
 * (routes, scripts, delay, drop, request log, waits), http_client (headers,
 * keep-alive reporting) and the wire formats of fake_all that the
 * integration tests rely on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "fake_http.h"
#include "fake_all.h"
#include "http_test_client.h"

static char url_buf[512];

static const char *url(struct fake_http *fh, const char *path)
{
  snprintf(url_buf, sizeof url_buf, "%s%s", fake_http_url(fh), path);
  return url_buf;
}

static void hello(const struct fake_req *req, struct fake_reply *rep,
                  void *arg)
{
  const char *who = fake_req_arg(req, "who");
  (void)arg;
  fake_reply_set(rep, 200, "text/plain", "hello ");
  buf_puts(&rep->body, who ? who : "nobody");
  fake_reply_header(rep, "X-Fake", "yes");
}

static void echo_body(const struct fake_req *req, struct fake_reply *rep,
                      void *arg)
{
  size_t len = 0;
  const char *body = fake_req_body(req, &len);
  (void)arg;
  fake_reply_set(rep, 201, "application/octet-stream", NULL);
  buf_append(&rep->body, body, len);
}

static int setup(void **state)
{
  struct fake_http *fh = NULL;
  if (fake_http_start(&fh, 0) != SS_OK)
    return -1;
  fake_http_route(fh, "GET", "/hello", hello, NULL);
  fake_http_route(fh, NULL, "/echo/*", echo_body, NULL);
  *state = fh;
  return 0;
}

static int teardown(void **state)
{
  fake_http_stop(*state);
  return 0;
}

/* ---- fake_http + http_client ---- */

static void test_routes_and_headers(void **state)
{
  struct fake_http *fh = *state;
  struct hc_resp r = {0};
  char v[64];
  assert_int_equal(hc_get(url(fh, "/hello?who=ada"), &r), SS_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(buf_cstr(&r.body), "hello ada");
  assert_true(hc_header(&r, "x-fake", v, sizeof v));
  assert_string_equal(v, "yes");
  assert_true(hc_header(&r, "Content-Type", v, sizeof v));
  assert_string_equal(v, "text/plain");
  assert_false(hc_header(&r, "X-Missing", v, sizeof v));

  assert_int_equal(hc_request("POST", url(fh, "/echo/x"), NULL, "abc", &r),
                   SS_OK);
  assert_int_equal(r.status, 201);
  assert_string_equal(buf_cstr(&r.body), "abc");

  /* Unmatched path and method: 404 without a body. */
  assert_int_equal(hc_get(url(fh, "/nope"), &r), SS_OK);
  assert_int_equal(r.status, 404);
  assert_int_equal(r.body.len, 0);
  assert_int_equal(hc_request("DELETE", url(fh, "/hello"), NULL, NULL, &r),
                   SS_OK);
  assert_int_equal(r.status, 404);
  hc_resp_free(&r);
}

static void test_request_log(void **state)
{
  struct fake_http *fh = *state;
  struct hc_resp r = {0};
  struct fake_logged e;
  const char *const h[] = {"X-API-Key: k1", "User-Agent: tester/1 ( t )",
                           NULL};
  uint64_t seq = fake_http_seq(fh);
  assert_int_equal(hc_request("PATCH", url(fh, "/echo/a?x=1&y=two"), h,
                              "{\"a\":1}", &r),
                   SS_OK);
  assert_int_equal(fake_http_count(fh, "PATCH", "/echo/*"), 1);
  assert_int_equal(fake_http_count(fh, "GET", "/echo/*"), 0);
  assert_true(fake_http_last(fh, NULL, "/echo/a", &e));
  assert_string_equal(e.method, "PATCH");
  assert_string_equal(e.path, "/echo/a");
  assert_string_equal(e.query, "x=1&y=two");
  assert_string_equal(e.body, "{\"a\":1}");
  assert_int_equal(e.body_len, 7);
  assert_string_equal(fake_logged_header(&e, "x-api-key"), "k1");
  assert_string_equal(fake_logged_header(&e, "User-Agent"), "tester/1 ( t )");
  assert_null(fake_logged_header(&e, "X-Nope"));
  assert_true(e.seq > seq);
  assert_true(fake_http_wait_after(fh, NULL, "*", seq, 10, NULL));
  assert_false(fake_http_wait_after(fh, NULL, "*", e.seq, 20, NULL));
  assert_false(fake_http_wait(fh, "GET", "/never", 1, 20));
  fake_http_log_clear(fh);
  assert_int_equal(fake_http_count(fh, NULL, "*"), 0);
  hc_resp_free(&r);
}

static void test_scripts(void **state)
{
  struct fake_http *fh = *state;
  struct hc_resp r = {0};
  char v[64];
  struct fake_script s = {.status = 503,
                          .content_type = "text/plain",
                          .body = "busy",
                          .headers = {"Retry-After: 7"},
                          .times = 2};
  assert_int_equal(fake_http_script(fh, "GET", "/hello", &s), SS_OK);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
    assert_int_equal(r.status, 503);
    assert_string_equal(buf_cstr(&r.body), "busy");
    assert_true(hc_header(&r, "Retry-After", v, sizeof v));
    assert_string_equal(v, "7");
  }
  /* Used up: the handler answers again. */
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
  assert_int_equal(r.status, 200);

  /* A catch-all script until cleared; the newest match wins. */
  struct fake_script all = {.status = 500, .body = "{}"};
  struct fake_script one = {.status = 418, .body = "{}"};
  fake_http_script(fh, NULL, "*", &all);
  fake_http_script(fh, NULL, "/hello", &one);
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
  assert_int_equal(r.status, 418);
  assert_int_equal(hc_get(url(fh, "/echo/z"), &r), SS_OK);
  assert_int_equal(r.status, 500);
  fake_http_unscript(fh, NULL, "/hello");
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
  assert_int_equal(r.status, 500);
  fake_http_unscript(fh, NULL, NULL);
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
  assert_int_equal(r.status, 200);
  hc_resp_free(&r);
}

static void test_drop_and_delay(void **state)
{
  struct fake_http *fh = *state;
  struct hc_resp r = {0};
  struct fake_script drop = {.drop = true, .times = 1};
  fake_http_script(fh, NULL, "*", &drop);
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_ENET);
  assert_int_equal(r.status, 0);
  assert_true(strlen(r.error) > 0);
  assert_int_equal(fake_http_count(fh, "GET", "/hello"), 1); /* logged */

  struct fake_script slow = {.delay_ms = 200, .times = 1};
  fake_http_script(fh, NULL, "/hello", &slow);
  assert_int_equal(hc_get(url(fh, "/hello?who=z"), &r), SS_OK);
  assert_int_equal(r.status, 200); /* the handler still answers */
  assert_string_equal(buf_cstr(&r.body), "hello z");
  assert_true(r.elapsed_ms >= 200);
  hc_resp_free(&r);
}

struct bg_request {
  const char *url;
  struct hc_resp r;
  int rc;
};

static void *bg_get(void *arg)
{
  struct bg_request *b = arg;
  b->rc = hc_get(b->url, &b->r);
  return NULL;
}

/* Stopping the fake interrupts a scripted delay at once. */
static void test_stop_interrupts_delay(void **state)
{
  struct fake_http *fh = NULL;
  struct fake_script slow = {.delay_ms = 30000};
  struct bg_request b = {0};
  pthread_t t;
  char u[256];
  (void)state;
  assert_int_equal(fake_http_start(&fh, 0), SS_OK);
  fake_http_script(fh, NULL, "*", &slow);
  snprintf(u, sizeof u, "%s/x", fake_http_url(fh));
  b.url = u;
  assert_int_equal(pthread_create(&t, NULL, bg_get, &b), 0);
  assert_true(fake_http_wait(fh, "GET", "/x", 1, 2000));
  int64_t t0 = clock_mono_ms();
  fake_http_stop(fh);
  assert_true(clock_mono_ms() - t0 < 2000);
  pthread_join(t, NULL);
  assert_int_equal(b.rc, SS_ENET);
  hc_resp_free(&b.r);
}

static void test_session_reuses_connection(void **state)
{
  struct fake_http *fh = *state;
  struct hc_session *s = hc_session_new();
  struct hc_resp r = {0};
  assert_int_equal(hc_session_request(s, "GET", url(fh, "/hello"), NULL, NULL,
                                      &r),
                   SS_OK);
  assert_int_equal(r.new_connections, 1);
  long port = r.local_port;
  assert_int_equal(hc_session_request(s, "POST", url(fh, "/echo/1"), NULL, "x",
                                      &r),
                   SS_OK);
  assert_int_equal(r.status, 201);
  assert_int_equal(r.new_connections, 0);
  assert_int_equal(r.local_port, port);
  /* A fresh request never reuses. */
  assert_int_equal(hc_get(url(fh, "/hello"), &r), SS_OK);
  assert_int_equal(r.new_connections, 1);
  hc_session_free(s);
  hc_resp_free(&r);
}

/* ---- fake_all wire formats ---- */

static json_t *parse(const struct hc_resp *r)
{
  return json_loadb(buf_cstr(&r->body), r->body.len, 0, NULL);
}

static void test_fake_spotify(void **state)
{
  struct fake_spotify *fs = NULL;
  struct hc_resp r = {0};
  char u[256], token[128], auth[256];
  (void)state;
  assert_int_equal(fake_spotify_start(&fs, 0, NULL), SS_OK);
  snprintf(u, sizeof u, "%s/", fake_spotify_api_url(fs));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 401);
  json_t *doc = parse(&r);
  assert_int_equal(json_integer_value(
                     json_object_get(json_object_get(doc, "error"), "status")),
                   401);
  assert_string_equal(json_string_value(
                        json_object_get(json_object_get(doc, "error"),
                                        "message")),
                      "No token provided");
  json_decref(doc);

  /* Token endpoint: form body + Basic auth; flat errors. */
  const char *const form[] =
    {"Content-Type: application/x-www-form-urlencoded",
     "Authorization: Basic dGVzdC1jbGllbnQtaWQ6dGVzdC1jbGllbnQtc2VjcmV0",
     NULL};
  snprintf(u, sizeof u, "%s/api/token", fake_spotify_accounts_url(fs));
  assert_int_equal(hc_request("POST", u, form,
                              "grant_type=refresh_token&refresh_token=bad",
                              &r),
                   SS_OK);
  assert_int_equal(r.status, 400);
  doc = parse(&r);
  assert_string_equal(json_string_value(json_object_get(doc, "error")),
                      "invalid_grant");
  json_decref(doc);
  assert_int_equal(
    hc_request("POST", u, form,
               "grant_type=refresh_token&refresh_token=test-refresh-token",
               &r),
    SS_OK);
  assert_int_equal(r.status, 200);
  doc = parse(&r);
  assert_int_equal(json_integer_value(json_object_get(doc, "expires_in")),
                   3600);
  assert_null(json_object_get(doc, "refresh_token")); /* often absent */
  json_decref(doc);
  const char *const json_ct[] = {"Content-Type: application/json", NULL};
  assert_int_equal(hc_request("POST", u, json_ct,
                              "{\"grant_type\":\"refresh_token\"}", &r),
                   SS_OK);
  assert_int_equal(r.status, 400);

  /* The issued token opens /v1/me. */
  fake_spotify_access_token(fs, token, sizeof token);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  const char *const bearer[] = {auth, NULL};
  snprintf(u, sizeof u, "%s/me", fake_spotify_api_url(fs));
  assert_int_equal(hc_request("GET", u, bearer, NULL, &r), SS_OK);
  assert_int_equal(r.status, 200);
  fake_spotify_expire_access_token(fs);
  assert_int_equal(hc_request("GET", u, bearer, NULL, &r), SS_OK);
  assert_int_equal(r.status, 401);
  assert_non_null(strstr(buf_cstr(&r.body), "The access token expired"));
  fake_spotify_stop(fs);
  hc_resp_free(&r);
}

static void test_fake_slskd(void **state)
{
  struct fake_slskd *fk = NULL;
  struct hc_resp r = {0};
  char u[256];
  (void)state;
  assert_int_equal(fake_slskd_start(&fk, 0, "key-1234567890abcdef"), SS_OK);
  snprintf(u, sizeof u, "%s/health", fake_slskd_url(fk));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(buf_cstr(&r.body), "Healthy");
  snprintf(u, sizeof u, "%s/api/v0/application", fake_slskd_url(fk));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 401);
  assert_int_equal(r.body.len, 0);
  const char *const bad[] = {"X-API-Key: wrong", NULL};
  assert_int_equal(hc_request("GET", u, bad, NULL, &r), SS_OK);
  assert_int_equal(r.status, 401);
  assert_int_equal(r.body.len, 0);
  const char *const good[] = {"X-API-Key: key-1234567890abcdef", NULL};
  fake_slskd_set_logged_in(fk, false);
  assert_int_equal(hc_request("GET", u, good, NULL, &r), SS_OK);
  assert_int_equal(r.status, 200);
  json_t *doc = parse(&r);
  json_t *server = json_object_get(doc, "server");
  assert_string_equal(json_string_value(json_object_get(server, "state")),
                      "Disconnected");
  assert_null(json_object_get(server, "address")); /* omitted, not null */
  json_decref(doc);
  fake_slskd_stop(fk);
  hc_resp_free(&r);
}

static void test_fake_musicbrainz(void **state)
{
  struct fake_musicbrainz *fm = NULL;
  struct hc_resp r = {0};
  char u[256], v[64];
  (void)state;
  assert_true(fake_musicbrainz_ua_ok("soulspotd/0.1.0 ( a@b.c )"));
  assert_false(fake_musicbrainz_ua_ok("soulspotd/0.1.0"));
  assert_false(fake_musicbrainz_ua_ok("curl/7.88.1"));
  assert_false(fake_musicbrainz_ua_ok("soulspotd/0.1.0 (  )"));
  assert_false(fake_musicbrainz_ua_ok(""));

  assert_int_equal(fake_musicbrainz_start(&fm, 0), SS_OK);
  snprintf(u, sizeof u, "%s/artist/" FAKE_MB_VARIOUS_ARTISTS "?fmt=json",
           fake_musicbrainz_url(fm));
  const char *const none[] = {"User-Agent:", NULL};
  assert_int_equal(hc_request("GET", u, none, NULL, &r), SS_OK);
  assert_int_equal(r.status, 403);
  assert_true(hc_header(&r, "x-ratelimit-who", v, sizeof v));
  const char *const ua[] = {"User-Agent: test/1.0 ( t@example.org )", NULL};
  assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
  assert_int_equal(r.status, 200);
  json_t *doc = parse(&r);
  assert_string_equal(json_string_value(json_object_get(doc, "name")),
                      "Various Artists");
  json_decref(doc);
  fake_musicbrainz_set_mode(fm, FAKE_MB_RATE_LIMITED);
  assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
  assert_int_equal(r.status, 503);
  assert_true(hc_header(&r, "retry-after", v, sizeof v));
  assert_string_equal(v, "1");
  fake_musicbrainz_stop(fm);
  hc_resp_free(&r);
}

/* Browse paging and limits, the real 400s, XML without fmt=json, and
 * the over-rate 503 that the client pacing tests rely on. */
static void test_fake_musicbrainz_browse(void **state)
{
  struct fake_musicbrainz *fm = NULL;
  struct hc_resp r = {0};
  char u[512], v[64];
  (void)state;
  const char *const ua[] = {"User-Agent: test/1.0 ( t@example.org )", NULL};
  assert_int_equal(fake_musicbrainz_start(&fm, 0), SS_OK);
  fake_musicbrainz_set_pacing(fm, false);
  const char *base = fake_musicbrainz_url(fm);
  static const struct {
    const char *query;
    int status;
    long count, items;
  } cases[] = {
    {"artist=" FAKE_MB_PROLIFIC "&limit=100&offset=0&fmt=json", 200, 250, 100},
    {"artist=" FAKE_MB_PROLIFIC "&limit=100&offset=200&fmt=json", 200, 250,
     50},
    {"artist=" FAKE_MB_PROLIFIC "&limit=100&offset=300&fmt=json", 200, 250, 0},
    {"artist=" FAKE_MB_PROLIFIC "&limit=500&fmt=json", 200, 250, 100},
    {"artist=" FAKE_MB_PROLIFIC "&fmt=json", 200, 250, 25},
    {"artist=" FAKE_MB_BJORK "&type=single%7Cep&fmt=json", 200, 1, 1},
    {"artist=" FAKE_MB_BJORK "&type=live&fmt=json", 200, 2, 2},
    {"artist=" FAKE_MB_BJORK "&type=bogus&fmt=json", 400, -1, -1},
    {"artist=" FAKE_MB_BJORK "&limit=abc&fmt=json", 400, -1, -1},
    {"artist=" FAKE_MB_BJORK "&offset=-1&fmt=json", 400, -1, -1},
    {"fmt=json", 400, -1, -1},
    {"artist=00000000-0000-0000-0000-000000000000&fmt=json", 400, -1, -1},
    {"artist=11111111-2222-3333-4444-555555555555&fmt=json", 404, -1, -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(u, sizeof u, "%s/release-group?%s", base, cases[i].query);
    assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
    if (r.status != cases[i].status)
      fprintf(stderr, "%s: %ld\n", cases[i].query, r.status);
    assert_int_equal(r.status, cases[i].status);
    json_t *doc = parse(&r);
    if (cases[i].count >= 0) {
      assert_int_equal(json_integer_value(
                         json_object_get(doc, "release-group-count")),
                       cases[i].count);
      assert_int_equal(json_array_size(json_object_get(doc, "release-groups")),
                       cases[i].items);
    } else {
      assert_non_null(json_string_value(json_object_get(doc, "error")));
    }
    json_decref(doc);
  }
  /* Without fmt=json the reply is XML, as the real one. */
  snprintf(u, sizeof u, "%s/release-group?artist=" FAKE_MB_BJORK, base);
  assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(buf_cstr(&r.body), "<?xml"));
  /* Pacing on: the second request within a second gets the 503. */
  fake_musicbrainz_set_pacing(fm, true);
  fake_musicbrainz_clear(fm);
  snprintf(u, sizeof u, "%s/release/" FAKE_MB_RELEASE "?fmt=json", base);
  assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(hc_request("GET", u, ua, NULL, &r), SS_OK);
  assert_int_equal(r.status, 503);
  assert_true(hc_header(&r, "retry-after", v, sizeof v));
  assert_string_equal(v, "1");
  assert_int_equal(fake_musicbrainz_overrate(fm), 1);
  int64_t at[4];
  assert_int_equal(fake_musicbrainz_arrivals(fm, at, 4), 2);
  assert_true(at[1] >= at[0]);
  fake_musicbrainz_stop(fm);
  hc_resp_free(&r);
}

static void test_fake_coverart(void **state)
{
  struct fake_coverart *fc = NULL;
  struct hc_resp r = {0};
  char u[256], loc[512];
  (void)state;
  assert_int_equal(fake_coverart_start(&fc, 0), SS_OK);
  snprintf(u, sizeof u, "%s/release-group/" FAKE_CAA_RELEASE_GROUP "/front",
           fake_coverart_url(fc));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 307);
  assert_true(hc_header(&r, "Location", loc, sizeof loc));
  assert_non_null(strstr(loc, "http://localhost:")); /* another host */
  assert_non_null(strstr(loc, FAKE_CAA_RELEASE));

  snprintf(u, sizeof u,
           "%s/release-group/0B6C2DA8-AC60-4663-BEAE-BD3DC6DEA94A/front",
           fake_coverart_url(fc));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 400);
  snprintf(u, sizeof u,
           "%s/release-group/11111111-2222-3333-4444-555555555555/front",
           fake_coverart_url(fc));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_int_equal(r.status, 404);
  assert_non_null(strstr(buf_cstr(&r.body), "<html>"));

  /* Following the redirects (307 then 302) ends at the index JSON. */
  snprintf(u, sizeof u, "%s/release-group/" FAKE_CAA_RELEASE_GROUP,
           fake_coverart_url(fc));
  assert_int_equal(hc_get(u, &r), SS_OK);
  assert_true(hc_header(&r, "Location", loc, sizeof loc));
  assert_int_equal(hc_get(loc, &r), SS_OK);
  assert_int_equal(r.status, 302);
  assert_true(hc_header(&r, "Location", loc, sizeof loc));
  assert_int_equal(hc_get(loc, &r), SS_OK);
  assert_int_equal(r.status, 200);
  json_t *doc = parse(&r);
  json_t *img = json_array_get(json_object_get(doc, "images"), 0);
  assert_true(json_is_integer(json_object_get(img, "id")));
  assert_true(json_is_true(json_object_get(img, "front")));
  json_decref(doc);
  fake_coverart_stop(fc);
  hc_resp_free(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_routes_and_headers),
    T(test_request_log),
    T(test_scripts),
    T(test_drop_and_delay),
    cmocka_unit_test(test_stop_interrupts_delay),
    T(test_session_reuses_connection),
    cmocka_unit_test(test_fake_spotify),
    cmocka_unit_test(test_fake_slskd),
    cmocka_unit_test(test_fake_musicbrainz),
    cmocka_unit_test(test_fake_musicbrainz_browse),
    cmocka_unit_test(test_fake_coverart),
  };
  return cmocka_run_group_tests_name("unit/fakes", tests, NULL, NULL);
}
