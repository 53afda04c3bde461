/*
 * test_services.c - GET /api/workers/services against real probes of the
 * four fake services: all up when configured and reachable; slskd needs a
 * URL and the right API key; MusicBrainz gets a proper User-Agent; 503 from
 * MusicBrainz and 307/404/400 from the Cover Art Archive count as up, 5xx
 * and network errors as down; a url/api_key change re-probes at once; the
 * endpoint answers from its cache while a probe hangs.
 *
 * Unless a test is about the timer, probe.interval_seconds is 3600, so a
 * transition within the test can only come from the start-up probe or a
 * re-probe after a settings change.
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

#define SLSKD_KEY "fake-slskd-api-key-0123456789"
#define SLSKD_KEY2 "another-slskd-api-key-987654321"
#define UP_MS 5000      /* start-up probes of four local fakes */
#define REPROBE_MS 3000 /* a re-probe after a change */
#define INSTANT_MS 500

enum { ANY = -1 };

struct svc {
  int spotify, slskd, musicbrainz, coverart; /* 0, 1 or ANY */
};

static const struct svc all_up = {1, 1, 1, 1};

static bool svc_match(json_t *doc, const char *key, int want)
{
  json_t *v = json_object_get(doc, key);
  return want == ANY || (json_is_boolean(v) && json_is_true(v) == want);
}

static bool services_are(json_t *doc, void *arg)
{
  const struct svc *w = arg;
  return svc_match(doc, "spotify", w->spotify) &&
         svc_match(doc, "slskd", w->slskd) &&
         svc_match(doc, "musicbrainz", w->musicbrainz) &&
         svc_match(doc, "coverart", w->coverart);
}

static bool services_wait(struct it_fixture *f, struct svc want,
                          int timeout_ms)
{
  const char *url = it_url(f, "/api/workers/services");
  if (!it_wait_json(url, services_are, &want, timeout_ms, NULL)) {
    json_t *doc = it_get_json(url, NULL);
    char *text = json_dumps(doc, JSON_COMPACT);
    fprintf(stderr,
            "error: services never became {spotify:%d slskd:%d musicbrainz:%d "
            "coverart:%d} within %d ms; last: %s\n",
            want.spotify, want.slskd, want.musicbrainz, want.coverart,
            timeout_ms, text ? text : "(none)");
    free(text);
    json_decref(doc);
    return false;
  }
  return true;
}

static void wait_services(struct it_fixture *f, struct svc want,
                          int timeout_ms)
{
  assert_true(services_wait(f, want, timeout_ms));
}

/* Starts the fakes and a daemon pointed at them. */
static void start_with_fakes(struct it_fixture *f, const char *slskd_key,
                             int probe_interval)
{
  struct buf ini;
  assert_int_equal(fake_all_start(&f->fa, SLSKD_KEY), SS_OK);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, slskd_key, &ini);
  buf_printf(&ini, "[probe]\ninterval_seconds = %d\n", probe_interval);
  int rc = daemon_start(&f->d, buf_cstr(&ini), NULL);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
}

/* PATCHes one string setting; asserts 200. */
static void patch_str(struct it_fixture *f, const char *key, const char *value)
{
  json_t *body = json_pack("{s:s}", key, value);
  char *text = json_dumps(body, JSON_COMPACT);
  assert_int_equal(it_patch_settings(f, text), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  free(text);
  json_decref(body);
}

/* The same URL with the host spelled the other way (127.0.0.1 <->
 * localhost): a real change of the setting that reaches the same fake. */
static void other_host(const char *url, char *out, size_t n)
{
  const char *ip = strstr(url, "127.0.0.1");
  const char *name = strstr(url, "localhost");
  if (ip)
    snprintf(out, n, "%.*slocalhost%s", (int)(ip - url), url, ip + 9);
  else if (name)
    snprintf(out, n, "%.*s127.0.0.1%s", (int)(name - url), url, name + 9);
  else
    snprintf(out, n, "%s", url);
}

/* Flips key between the two spellings of its URL; returns the new one. */
static void reprobe(struct it_fixture *f, const char *key, char *url, size_t n)
{
  char next[256];
  other_host(url, next, sizeof next);
  patch_str(f, key, next);
  snprintf(url, n, "%s", next);
}

/* ---- all up ---- */

static void test_all_four_up(void **state)
{
  struct it_fixture *f = *state;
  struct fake_logged e;
  start_with_fakes(f, SLSKD_KEY, 3600);
  wait_services(f, all_up, UP_MS);

  /* The exact shape. */
  json_t *doc = it_get_json(it_url(f, "/api/workers/services"), NULL);
  assert_int_equal(json_object_size(doc), 4);
  json_decref(doc);

  /* Spotify: GET {api_url}/ */
  assert_true(
    fake_http_last(fake_spotify_http(f->fa.spotify), "GET", "/v1*", &e));
  /* slskd: health, then the application with the key. */
  struct fake_http *sk = fake_slskd_http(f->fa.slskd);
  assert_true(fake_http_count(sk, "GET", "/health") >= 1);
  assert_true(fake_http_last(sk, "GET", "/api/v0/application", &e));
  assert_non_null(fake_logged_header(&e, "X-API-Key"));
  assert_string_equal(fake_logged_header(&e, "X-API-Key"), SLSKD_KEY);
  /* MusicBrainz: the Various Artists lookup as JSON. */
  assert_true(fake_http_last(fake_musicbrainz_http(f->fa.musicbrainz), "GET",
                             "/ws/2/artist/" FAKE_MB_VARIOUS_ARTISTS, &e));
  assert_non_null(strstr(e.query, "fmt=json"));
  /* Cover Art Archive: a release-group front, redirect not followed. */
  struct fake_http *caa = fake_coverart_http(f->fa.coverart);
  assert_true(fake_http_last(caa, NULL, "/release-group/*", &e));
  size_t plen = strlen(e.path);
  assert_true(plen > 6 && strcmp(e.path + plen - 6, "/front") == 0);
  assert_int_equal(fake_http_count(fake_coverart_archive_http(f->fa.coverart),
                                   NULL, "*"),
                   0);
}

static void test_musicbrainz_user_agent(void **state)
{
  struct it_fixture *f = *state;
  struct fake_logged mb, caa;
  const char *prefix = "soulspotd/" SOULSPOT_VERSION " ( ";
  start_with_fakes(f, SLSKD_KEY, 3600);
  wait_services(f, all_up, UP_MS);
  assert_true(fake_http_last(fake_musicbrainz_http(f->fa.musicbrainz), "GET",
                             "/ws/2/*", &mb));
  const char *ua = fake_logged_header(&mb, "User-Agent");
  assert_non_null(ua);
  if (strncmp(ua, prefix, strlen(prefix)) != 0 || !fake_musicbrainz_ua_ok(ua))
    fprintf(stderr, "error: User-Agent \"%s\"\n", ua);
  assert_true(strncmp(ua, prefix, strlen(prefix)) == 0);
  assert_true(fake_musicbrainz_ua_ok(ua));
  /* The Cover Art Archive gets the same identification (ref. 5). */
  assert_true(fake_http_last(fake_coverart_http(f->fa.coverart), NULL,
                             "/release-group/*", &caa));
  assert_non_null(fake_logged_header(&caa, "User-Agent"));
  assert_string_equal(fake_logged_header(&caa, "User-Agent"), ua);
}

/* ---- slskd ---- */

static void test_slskd_not_configured(void **state)
{
  struct it_fixture *f = *state;
  start_with_fakes(f, NULL, 3600);
  wait_services(f, (struct svc){1, 0, 1, 1}, UP_MS);
  assert_int_equal(fake_http_count(fake_slskd_http(f->fa.slskd), NULL, "*"),
                   0);

  /* Configuring it brings it up; clearing the URL takes it down again. */
  assert_int_equal(it_patch_settings(f,
                                     "{\"slskd.api_key\": \"" SLSKD_KEY "\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  patch_str(f, "slskd.url", fake_slskd_url(f->fa.slskd));
  wait_services(f, all_up, REPROBE_MS);
  patch_str(f, "slskd.url", "");
  wait_services(f, (struct svc){1, 0, 1, 1}, REPROBE_MS);
}

static void test_slskd_wrong_key(void **state)
{
  struct it_fixture *f = *state;
  struct fake_logged e;
  struct fake_http *sk;
  start_with_fakes(f, SLSKD_KEY, 3600);
  sk = fake_slskd_http(f->fa.slskd);
  wait_services(f, all_up, UP_MS);

  uint64_t seq = fake_http_seq(sk);
  patch_str(f, "slskd.api_key", "wrong-key-0123456789abcdef");
  wait_services(f, (struct svc){1, 0, 1, 1}, REPROBE_MS);
  assert_true(fake_http_wait_after(sk, "GET", "/api/v0/application", seq,
                                   REPROBE_MS, &e));
  assert_string_equal(fake_logged_header(&e, "X-API-Key"),
                      "wrong-key-0123456789abcdef");

  patch_str(f, "slskd.api_key", SLSKD_KEY);
  wait_services(f, all_up, REPROBE_MS);
}

/* A daemon that starts with a wrong key never reports slskd up. */
static void test_slskd_wrong_key_from_start(void **state)
{
  struct it_fixture *f = *state;
  start_with_fakes(f, "wrong-key-0123456789abcdef", 3600);
  struct fake_http *sk = fake_slskd_http(f->fa.slskd);
  assert_true(fake_http_wait(sk, "GET", "/api/v0/application", 1, UP_MS));
  wait_services(f, (struct svc){1, 0, 1, 1}, UP_MS);
  /* The 401 was answered; the cached result must be false now. */
  json_t *doc = it_get_json(it_url(f, "/api/workers/services"), NULL);
  assert_true(json_is_false(json_object_get(doc, "slskd")));
  json_decref(doc);
}

static void test_slskd_health_must_pass(void **state)
{
  struct it_fixture *f = *state;
  char url[256];
  struct fake_script down = {.status = 503,
                             .content_type = "text/plain",
                             .body = "Unhealthy"};
  start_with_fakes(f, SLSKD_KEY, 3600);
  snprintf(url, sizeof url, "%s", fake_slskd_url(f->fa.slskd));
  wait_services(f, all_up, UP_MS);
  fake_http_script(fake_slskd_http(f->fa.slskd), NULL, "/health", &down);
  reprobe(f, "slskd.url", url, sizeof url);
  wait_services(f, (struct svc){1, 0, 1, 1}, REPROBE_MS);
  fake_http_unscript(fake_slskd_http(f->fa.slskd), NULL, "/health");
  reprobe(f, "slskd.url", url, sizeof url);
  wait_services(f, all_up, REPROBE_MS);
}

/* A masked PATCH ("********") keeps the stored key (docs/API.md, Settings). */
static void test_slskd_masked_patch_keeps_key(void **state)
{
  struct it_fixture *f = *state;
  struct fake_logged e;
  char url[256];
  start_with_fakes(f, SLSKD_KEY, 3600);
  struct fake_http *sk = fake_slskd_http(f->fa.slskd);
  snprintf(url, sizeof url, "%s", fake_slskd_url(f->fa.slskd));
  wait_services(f, all_up, UP_MS);
  patch_str(f, "slskd.api_key", "********");
  uint64_t seq = fake_http_seq(sk);
  reprobe(f, "slskd.url", url, sizeof url);
  assert_true(fake_http_wait_after(sk, "GET", "/api/v0/application", seq,
                                   REPROBE_MS, &e));
  assert_string_equal(fake_logged_header(&e, "X-API-Key"), SLSKD_KEY);
  wait_services(f, all_up, REPROBE_MS);
}

/* ---- status rules per service ---- */

struct step {
  struct fake_script script; /* status 0 and !drop: unscripted */
  int want;
};

static void run_steps(struct it_fixture *f, struct fake_http *fake,
                      const char *key, char *url, size_t n,
                      const struct step *steps, size_t count, int which)
{
  for (size_t i = 0; i < count; i++) {
    struct svc want = {ANY, ANY, ANY, ANY};
    int *slot[] = {&want.spotify, &want.slskd, &want.musicbrainz,
                   &want.coverart};
    *slot[which] = steps[i].want;
    fake_http_unscript(fake, NULL, NULL);
    if (steps[i].script.status || steps[i].script.drop)
      fake_http_script(fake, NULL, "*", &steps[i].script);
    uint64_t seq = fake_http_seq(fake);
    reprobe(f, key, url, n);
    assert_true(fake_http_wait_after(fake, NULL, "*", seq, REPROBE_MS, NULL));
    if (!services_wait(f, want, REPROBE_MS)) {
      fprintf(stderr, "error: %s: step %zu (%s %d) should be %s\n", key, i,
              steps[i].script.drop ? "drop" : "status", steps[i].script.status,
              steps[i].want ? "up" : "down");
      fail();
    }
  }
  fake_http_unscript(fake, NULL, NULL);
}

static void test_coverart_status_rules(void **state)
{
  struct it_fixture *f = *state;
  char url[256];
  static const struct step steps[] = {
    {{.status = 503, .content_type = "text/html", .body = "<p>busy</p>"}, 0},
    {{.status = 404, .content_type = "text/html", .body = "<p>none</p>"}, 1},
    {{.status = 500, .content_type = "text/html", .body = "<p>err</p>"}, 0},
    {{.status = 400, .content_type = "text/html", .body = "<p>bad</p>"}, 1},
    {{.drop = true}, 0},
    {{.status = 307,
      .content_type = "text/plain",
      .headers = {"Location: http://localhost:1/x"}},
     1},
    {{.status = 502, .content_type = "text/html", .body = "<p>gw</p>"}, 0},
    {{0}, 1},
  };
  start_with_fakes(f, SLSKD_KEY, 3600);
  snprintf(url, sizeof url, "%s", fake_coverart_url(f->fa.coverart));
  wait_services(f, all_up, UP_MS);
  run_steps(f, fake_coverart_http(f->fa.coverart), "coverart.url", url,
            sizeof url, steps, sizeof steps / sizeof steps[0], 3);
  /* Redirects are never followed. */
  assert_int_equal(fake_http_count(fake_coverart_archive_http(f->fa.coverart),
                                   NULL, "*"),
                   0);
}

static void test_musicbrainz_status_rules(void **state)
{
  struct it_fixture *f = *state;
  char url[256];
  static const struct step steps[] = {
    {{.status = 503,
      .content_type = "application/json",
      .body = "{\"error\": \"The MusicBrainz web server is currently busy."
              " Please try again later.\"}",
      .headers = {"retry-after: 0", "x-ratelimit-zone: global"}},
     1},
    {{.status = 500, .content_type = "text/html", .body = "oops"}, 0},
    {{.status = 403,
      .content_type = "application/json",
      .body = "{\"error\": \"blocked\"}"},
     0},
    {{.drop = true}, 0},
    {{0}, 1},
  };
  start_with_fakes(f, SLSKD_KEY, 3600);
  snprintf(url, sizeof url, "%s", fake_musicbrainz_url(f->fa.musicbrainz));
  wait_services(f, all_up, UP_MS);
  run_steps(f, fake_musicbrainz_http(f->fa.musicbrainz), "musicbrainz.url",
            url, sizeof url, steps, sizeof steps / sizeof steps[0], 2);
}

/* Throttled from the very start still counts as up. */
static void test_musicbrainz_rate_limited_is_up(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(fake_all_start(&f->fa, SLSKD_KEY), SS_OK);
  fake_musicbrainz_set_mode(f->fa.musicbrainz, FAKE_MB_RATE_LIMITED);
  struct buf ini;
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, SLSKD_KEY, &ini);
  buf_puts(&ini, "[probe]\ninterval_seconds = 3600\n");
  assert_int_equal(daemon_start(&f->d, buf_cstr(&ini), NULL), SS_OK);
  buf_free(&ini);
  wait_services(f, all_up, UP_MS);
}

static void test_spotify_status_rules(void **state)
{
  struct it_fixture *f = *state;
  char url[256];
  static const struct step steps[] = {
    {{.status = 503, .content_type = "application/json", .body = "{}"}, 0},
    {{.status = 200, .content_type = "application/json", .body = "{}"}, 1},
    {{.drop = true}, 0},
    {{0}, 1}, /* 401 "No token provided" */
  };
  start_with_fakes(f, SLSKD_KEY, 3600);
  snprintf(url, sizeof url, "%s", fake_spotify_api_url(f->fa.spotify));
  wait_services(f, all_up, UP_MS);
  run_steps(f, fake_spotify_http(f->fa.spotify), "spotify.api_url", url,
            sizeof url, steps, sizeof steps / sizeof steps[0], 0);
}

/* ---- re-probe after a change; the timer ---- */

static void test_stopped_fake_and_patch_reprobes(void **state)
{
  struct it_fixture *f = *state;
  char url[256];
  start_with_fakes(f, SLSKD_KEY, 3600);
  wait_services(f, all_up, UP_MS);

  snprintf(url, sizeof url, "%s", fake_musicbrainz_url(f->fa.musicbrainz));
  fake_musicbrainz_stop(f->fa.musicbrainz);
  f->fa.musicbrainz = NULL;
  reprobe(f, "musicbrainz.url", url, sizeof url);
  wait_services(f, (struct svc){1, 1, 0, 1}, REPROBE_MS);

  snprintf(url, sizeof url, "%s", fake_coverart_url(f->fa.coverart));
  fake_coverart_stop(f->fa.coverart);
  f->fa.coverart = NULL;
  reprobe(f, "coverart.url", url, sizeof url);
  wait_services(f, (struct svc){1, 1, 0, 0}, REPROBE_MS);

  snprintf(url, sizeof url, "%s", fake_spotify_api_url(f->fa.spotify));
  fake_spotify_stop(f->fa.spotify);
  f->fa.spotify = NULL;
  reprobe(f, "spotify.api_url", url, sizeof url);
  wait_services(f, (struct svc){0, 1, 0, 0}, REPROBE_MS);

  snprintf(url, sizeof url, "%s", fake_slskd_url(f->fa.slskd));
  fake_slskd_stop(f->fa.slskd);
  f->fa.slskd = NULL;
  reprobe(f, "slskd.url", url, sizeof url);
  wait_services(f, (struct svc){0, 0, 0, 0}, REPROBE_MS);

  /* A new fake at a new URL brings the service back. */
  assert_int_equal(fake_musicbrainz_start(&f->fa.musicbrainz, 0), SS_OK);
  patch_str(f, "musicbrainz.url", fake_musicbrainz_url(f->fa.musicbrainz));
  wait_services(f, (struct svc){0, 0, 1, 0}, REPROBE_MS);
}

/*
 * A change that lands while a probe cycle runs is never lost, even when a
 * second change puts the setting back before the cycle ends: slskd.url is
 * set (and probed: up) and cleared again inside one slow cycle; the answer
 * must end as "not configured" = false.
 */
static void test_change_during_probe_cycle_not_lost(void **state)
{
  struct it_fixture *f = *state;
  struct fake_script slow = {.delay_ms = 1500};
  char sp_url[256];
  struct buf ini;
  assert_int_equal(fake_all_start(&f->fa, SLSKD_KEY), SS_OK);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, NULL, &ini);
  buf_puts(&ini, "[slskd]\napi_key = " SLSKD_KEY "\n"
                 "[probe]\ninterval_seconds = 3600\n");
  assert_int_equal(daemon_start(&f->d, buf_cstr(&ini), NULL), SS_OK);
  buf_free(&ini);
  /* The start-up cycle is over once coverart (probed last) is up. */
  wait_services(f, (struct svc){1, 0, 1, 1}, UP_MS);
  struct fake_http *sp = fake_spotify_http(f->fa.spotify);
  struct fake_http *sk = fake_slskd_http(f->fa.slskd);
  struct fake_http *mb = fake_musicbrainz_http(f->fa.musicbrainz);
  fake_http_script(sp, NULL, "*", &slow);
  fake_http_script(mb, NULL, "*", &slow);

  /* A cycle starts (spotify first) and hangs on the spotify fake... */
  uint64_t sp_seq = fake_http_seq(sp), sk_seq = fake_http_seq(sk);
  uint64_t mb_seq = fake_http_seq(mb);
  snprintf(sp_url, sizeof sp_url, "%s", fake_spotify_api_url(f->fa.spotify));
  reprobe(f, "spotify.api_url", sp_url, sizeof sp_url);
  assert_true(fake_http_wait_after(sp, NULL, "*", sp_seq, REPROBE_MS, NULL));
  /* ...slskd gets configured and probed within that cycle... */
  patch_str(f, "slskd.url", fake_slskd_url(f->fa.slskd));
  assert_true(fake_http_wait_after(sk, "GET", "/api/v0/application", sk_seq,
                                   REPROBE_MS, NULL));
  /* ...and cleared again while the cycle hangs on MusicBrainz. */
  assert_true(fake_http_wait_after(mb, NULL, "*", mb_seq, REPROBE_MS, NULL));
  patch_str(f, "slskd.url", "");
  fake_http_unscript(sp, NULL, NULL);
  fake_http_unscript(mb, NULL, NULL);
  wait_services(f, (struct svc){1, 0, 1, 1}, 2 * REPROBE_MS);
}

/* Probes repeat every probe.interval_seconds without any change. */
static void test_probes_repeat_on_timer(void **state)
{
  struct it_fixture *f = *state;
  start_with_fakes(f, SLSKD_KEY, 5);
  wait_services(f, all_up, UP_MS);
  struct fake_http *mb = fake_musicbrainz_http(f->fa.musicbrainz);
  uint64_t seq = fake_http_seq(mb);
  int64_t t0 = clock_mono_ms();
  assert_true(fake_http_wait_after(mb, "GET", "/ws/2/*", seq, 7000, NULL));
  int64_t waited = clock_mono_ms() - t0;
  assert_true(waited <= 7000);

  /* A service that goes away is noticed by the timer alone. */
  fake_coverart_stop(f->fa.coverart);
  f->fa.coverart = NULL;
  wait_services(f, (struct svc){1, 1, 1, 0}, 8000);
}

/* ---- the endpoint never waits on the network ---- */

static int64_t timed_get(struct it_fixture *f, const char *path)
{
  assert_int_equal(hc_get(it_url(f, path), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  return f->r.elapsed_ms;
}

static void test_endpoint_instant_while_probe_hangs(void **state)
{
  struct it_fixture *f = *state;
  struct fake_script slow = {.delay_ms = 3000};
  start_with_fakes(f, SLSKD_KEY, 3600);
  wait_services(f, all_up, UP_MS);
  struct fake_http *sk = fake_slskd_http(f->fa.slskd);
  fake_http_script(sk, NULL, "/health", &slow);

  /* The fake keeps SLSKD_KEY: once the hang ends, this probe fails. */
  uint64_t sk_seq = fake_http_seq(sk);
  patch_str(f, "slskd.api_key", SLSKD_KEY2);
  assert_true(f->r.elapsed_ms < INSTANT_MS); /* the PATCH did not wait */

  /* The probe has reached the fake and now hangs there for 3 s. */
  assert_true(fake_http_wait_after(sk, "GET", "/health", sk_seq, 2000, NULL));
  int64_t t_services = timed_get(f, "/api/workers/services");
  json_t *doc = it_parse(&f->r);
  assert_int_equal(json_object_size(doc), 4);
  json_decref(doc);
  int64_t t_status = timed_get(f, "/api/workers/status");
  int64_t t_html = timed_get(f, "/api/workers/status/html");
  if (t_services >= INSTANT_MS || t_status >= INSTANT_MS ||
      t_html >= INSTANT_MS)
    fprintf(stderr, "error: services %lld ms, status %lld ms, html %lld ms\n",
            (long long)t_services, (long long)t_status, (long long)t_html);
  assert_true(t_services < INSTANT_MS);
  assert_true(t_status < INSTANT_MS);
  assert_true(t_html < INSTANT_MS);

  /* The slow reply arrives within the probe timeout and is applied. */
  wait_services(f, (struct svc){1, 0, 1, 1}, 6000);
  fake_http_unscript(sk, NULL, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_all_four_up),
    T(test_musicbrainz_user_agent),
    T(test_slskd_not_configured),
    T(test_slskd_wrong_key),
    T(test_slskd_wrong_key_from_start),
    T(test_slskd_health_must_pass),
    T(test_slskd_masked_patch_keeps_key),
    T(test_coverart_status_rules),
    T(test_musicbrainz_status_rules),
    T(test_musicbrainz_rate_limited_is_up),
    T(test_spotify_status_rules),
    T(test_stopped_fake_and_patch_reprobes),
    T(test_change_during_probe_cycle_not_lost),
    T(test_probes_repeat_on_timer),
    T(test_endpoint_instant_while_probe_hangs),
  };
  return cmocka_run_group_tests_name("integration/services", tests, NULL,
                                     NULL);
}
