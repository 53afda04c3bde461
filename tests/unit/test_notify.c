/*
 * Unit tests: services/notify - the request each target gets (webhook
 * JSON, ntfy headers Title/Priority/Tags/Authorization, Gotify JSON with
 * its key), real names and hostile text in titles, and the rate limit +
 * digest driven by the test clock (core/clock.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "services/notify.h"

#define T0 1800000000000LL

static int64_t fake_mono;
static int64_t mono(void) { return fake_mono; }
static int64_t wall(void) { return T0 + fake_mono; }

static int setup(void **state)
{
  (void)state;
  settings_init();
  fake_mono = 1000;
  clock_set_sources(wall, mono);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  clock_set_sources(NULL, NULL);
  settings_cleanup();
  return 0;
}

static struct notify_msg msg(enum notify_kind k, const char *title,
                             const char *body)
{
  struct notify_msg m;
  memset(&m, 0, sizeof m);
  m.kind = k;
  m.at_ms = T0;
  snprintf(m.title, sizeof m.title, "%s", title);
  snprintf(m.body, sizeof m.body, "%s", body);
  return m;
}

/* The header named name ("Name: value") of h, or NULL. */
static const char *header(const struct notify_http *h, const char *name)
{
  size_t n = strlen(name);
  for (size_t i = 0; h->headers[i]; i++)
    if (!strncmp(h->headers[i], name, n) && h->headers[i][n] == ':')
      return h->headers[i] + n + 2;
  return NULL;
}

static void test_webhook_json(void **state)
{
  (void)state;
  struct notify_msg m = msg(NOTIFY_DOWNLOAD_IMPORTED,
                            "Imported: AC/DC \xe2\x80\x93 <b>&\"'",
                            "Bj\xc3\xb6rk, \xe5\x9d\x82\xe6\x9c\xac"
                            "\xe9\xbe\x8d\xe4\xb8\x80\nline 2");
  struct notify_http h;
  char err[128] = "";
  assert_int_equal(notify_format(NOTIFY_WEBHOOK, &m, "https://h.example/x?k=1",
                                 "", &h, err, sizeof err),
                   SS_OK);
  assert_string_equal(h.url, "https://h.example/x?k=1");
  assert_string_equal(header(&h, "Content-Type"), "application/json");
  json_error_t je;
  json_t *doc = json_loadb(h.body.data, h.body.len, 0, &je);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "source")),
                      "soulspotd");
  assert_string_equal(json_string_value(json_object_get(doc, "event")),
                      "download_imported");
  assert_string_equal(json_string_value(json_object_get(doc, "title")),
                      m.title);
  assert_string_equal(json_string_value(json_object_get(doc, "message")),
                      m.body);
  assert_string_equal(json_string_value(json_object_get(doc, "at")),
                      "2027-01-15T08:00:00Z");
  json_decref(doc);
  notify_http_free(&h);
}

static void test_ntfy_headers(void **state)
{
  (void)state;
  struct notify_msg m = msg(NOTIFY_UNIT_ERROR, "AC/DC \"<b>&'\r\nX-Evil: 1",
                            "Sigur R\xc3\xb3s");
  struct notify_http h;
  char err[128] = "";
  assert_int_equal(notify_format(NOTIFY_NTFY, &m, "https://ntfy.sh/topic",
                                 "tk_abc\r\nX: y", &h, err, sizeof err),
                   SS_OK);
  assert_string_equal(h.url, "https://ntfy.sh/topic");
  /* control characters never reach a header (no injected line) */
  assert_string_equal(header(&h, "Title"), "AC/DC \"<b>&'  X-Evil: 1");
  assert_string_equal(header(&h, "Priority"), "4");
  assert_string_equal(header(&h, "Tags"), "warning,unit_error");
  assert_string_equal(header(&h, "Authorization"), "Bearer tk_abc  X: y");
  assert_null(header(&h, "X-Evil"));
  assert_string_equal(h.body.data, "Sigur R\xc3\xb3s");
  notify_http_free(&h);

  /* non-ASCII title: an RFC 2047 encoded word; no token: no header */
  m = msg(NOTIFY_RELEASE_WANTED,
          "Bj\xc3\xb6rk \xe2\x80\x93 "
          "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
          "x");
  assert_int_equal(notify_format(NOTIFY_NTFY, &m, "http://n/t", "", &h, err,
                                 sizeof err),
                   SS_OK);
  const char *t = header(&h, "Title");
  assert_non_null(t);
  assert_int_equal(strncmp(t, "=?UTF-8?B?", 10), 0);
  assert_string_equal(t + strlen(t) - 2, "?=");
  unsigned char dec[256];
  size_t dec_len = 0;
  char b64[400];
  snprintf(b64, sizeof b64, "%.*s", (int)(strlen(t) - 12), t + 10);
  assert_int_equal(sodium_base642bin(dec, sizeof dec, b64, strlen(b64), NULL,
                                     &dec_len, NULL,
                                     sodium_base64_VARIANT_ORIGINAL),
                   0);
  assert_int_equal(dec_len, strlen(m.title));
  assert_memory_equal(dec, m.title, dec_len);
  assert_string_equal(header(&h, "Priority"), "3");
  assert_null(header(&h, "Authorization"));
  notify_http_free(&h);
}

static void test_gotify_json(void **state)
{
  (void)state;
  struct notify_msg m = msg(NOTIFY_SPOTIFY_LOGIN, "Guns N' Roses <b>&\"'",
                            "renew");
  struct notify_http h;
  char err[128] = "";
  assert_int_equal(notify_format(NOTIFY_GOTIFY, &m, "https://g.example/",
                                 "AbC", &h, err, sizeof err),
                   SS_OK);
  assert_string_equal(h.url, "https://g.example/message");
  assert_string_equal(header(&h, "X-Gotify-Key"), "AbC");
  json_t *doc = json_loadb(h.body.data, h.body.len, 0, NULL);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "title")),
                      m.title);
  assert_int_equal(json_integer_value(json_object_get(doc, "priority")), 8);
  json_decref(doc);
  notify_http_free(&h);
  /* no token: refused with the setting's name */
  assert_int_equal(notify_format(NOTIFY_GOTIFY, &m, "https://g.example", "",
                                 &h, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "notify.gotify_token"));
  notify_http_free(&h);
}

static void test_names(void **state)
{
  (void)state;
  assert_string_equal(notify_kind_name(NOTIFY_DIGEST), "digest");
  assert_string_equal(notify_target_name(NOTIFY_GOTIFY), "gotify");
  assert_int_equal(notify_target_lookup("ntfy"), NOTIFY_NTFY);
  assert_int_equal(notify_target_lookup("<b>&\"'"), -1);
  assert_int_equal(notify_target_lookup(NULL), -1);
  /* not started: events and tests go nowhere, nothing is counted */
  notify_event(NOTIFY_UNIT_ERROR, "x", "y");
  assert_int_equal(notify_test(NOTIFY_NTFY), SS_ESTATE);
  struct notify_target_status st[NOTIFY__TARGETS];
  uint64_t dropped = 99;
  notify_status(st, &dropped);
  assert_int_equal(dropped, 0);
  assert_false(st[NOTIFY_NTFY].has_last);
}

static void test_burst_becomes_one_digest(void **state)
{
  (void)state;
  struct notify_limiter l;
  memset(&l, 0, sizeof l);
  struct notify_msg out;
  int sent = 0;
  assert_int_equal(notify_limit_next_ms(&l), 0);
  /* a bad night: 1000 events within a minute */
  for (int i = 0; i < 1000; i++) {
    char title[64];
    snprintf(title, sizeof title, "%s %d", i % 2 ? "Bj\xc3\xb6rk" : "AC/DC",
             i);
    struct notify_msg m = msg(i % 10 ? NOTIFY_DOWNLOAD_FAILED
                                     : NOTIFY_UNIT_ERROR,
                              title, "");
    if (notify_limit_offer(&l, clock_mono_ms(), &m))
      sent++;
    fake_mono += 50;
  }
  assert_int_equal(sent, NOTIFY_MAX_PER_WINDOW);
  assert_int_equal(l.folded_total, 1000 - NOTIFY_MAX_PER_WINDOW);
  /* no room yet: no digest */
  assert_false(
    notify_limit_digest(&l, clock_mono_ms(), clock_wall_ms(), &out));
  int64_t next = notify_limit_next_ms(&l);
  assert_int_equal(next, 1000 + NOTIFY_WINDOW_MS);
  fake_mono = next - 1;
  assert_false(
    notify_limit_digest(&l, clock_mono_ms(), clock_wall_ms(), &out));
  fake_mono = next;
  assert_true(notify_limit_digest(&l, clock_mono_ms(), clock_wall_ms(), &out));
  assert_int_equal(out.kind, NOTIFY_DIGEST);
  assert_string_equal(out.title, "soulspotd: 995 more events");
  /* counts per kind (events 5..999: every tenth a unit error) */
  assert_non_null(strstr(out.body, "unit_error: 99\n"));
  assert_non_null(strstr(out.body, "download_failed: 896\n"));
  /* the first few titles, then an ellipsis */
  assert_non_null(strstr(out.body, "First:\n- Bj\xc3\xb6rk 5\n- AC/DC 6\n"));
  assert_non_null(strstr(out.body, "- Bj\xc3\xb6rk 9\n- ..."));
  assert_null(strstr(out.body, "AC/DC 10"));
  /* emptied: one digest only */
  assert_int_equal(notify_limit_next_ms(&l), 0);
  assert_false(
    notify_limit_digest(&l, clock_mono_ms(), clock_wall_ms(), &out));
  /* later events are sent again while the window has room */
  fake_mono += NOTIFY_WINDOW_MS;
  struct notify_msg m = msg(NOTIFY_UNIT_RECOVERED, "Cleanup: recovered", "");
  assert_true(notify_limit_offer(&l, clock_mono_ms(), &m));
}

static void test_pending_digest_keeps_order(void **state)
{
  (void)state;
  struct notify_limiter l;
  memset(&l, 0, sizeof l);
  struct notify_msg m = msg(NOTIFY_RELEASE_WANTED,
                            "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
                            "");
  for (int i = 0; i < NOTIFY_MAX_PER_WINDOW; i++)
    assert_true(notify_limit_offer(&l, clock_mono_ms(), &m));
  assert_false(notify_limit_offer(&l, clock_mono_ms(), &m));
  /* a slot frees, but a digest is pending: a new event joins it rather
   * than overtaking it */
  fake_mono += NOTIFY_WINDOW_MS;
  assert_false(notify_limit_offer(&l, clock_mono_ms(), &m));
  struct notify_msg out;
  assert_true(notify_limit_digest(&l, clock_mono_ms(), clock_wall_ms(), &out));
  assert_string_equal(out.title, "soulspotd: 2 more events");
  assert_non_null(strstr(out.body, "release_wanted: 2\n"));
  assert_true(notify_limit_offer(&l, clock_mono_ms(), &m));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_webhook_json, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ntfy_headers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gotify_json, setup, teardown),
    cmocka_unit_test_setup_teardown(test_names, setup, teardown),
    cmocka_unit_test_setup_teardown(test_burst_becomes_one_digest, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_pending_digest_keeps_order, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
