/*
 * test_hosts.c - the Host allow-list against the real daemon (issue 9,
 * item 1: DNS rebinding).
 *
 * A page served from an attacker's name that resolves to 127.0.0.1 sends
 * "Host: evil.example:PORT" and "Origin: http://evil.example:PORT": the
 * two match each other, so a check comparing Origin with Host passed and
 * the page could change settings and read them.  Now every request for a
 * name that is not the daemon's own is refused (421) before any handler,
 * reads included; server.allowed_hosts adds a reverse proxy's name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "itest.h"

#define EVIL_URL "http://127.0.0.1:1/token-thief"

/* "Host: NAME:PORT" and "Origin: http://NAME:PORT" for the daemon's port. */
struct named {
  char host[160], origin[192];
  const char *hdrs[4];
};

static void named_init(struct named *n, const struct it_fixture *f,
                       const char *name)
{
  snprintf(n->host, sizeof n->host, "Host: %s:%d", name, f->d.port);
  snprintf(n->origin, sizeof n->origin, "Origin: http://%s:%d", name,
           f->d.port);
  n->hdrs[0] = n->host;
  n->hdrs[1] = n->origin;
  n->hdrs[2] = "Content-Type: application/json";
  n->hdrs[3] = NULL;
}

static const char *accounts_url(struct it_fixture *f)
{
  static char out[256];
  json_t *doc = it_get_json(it_url(f, "/api/settings"), NULL);
  assert_non_null(doc);
  json_t *v = json_object_get(json_object_get(doc, "settings"),
                              "spotify.accounts_url");
  snprintf(out, sizeof out, "%s",
           json_is_string(v) ? json_string_value(v) : "(missing)");
  json_decref(doc);
  return out;
}

static void test_rebinding_patch_refused(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  char before[256];
  snprintf(before, sizeof before, "%s", accounts_url(f));
  struct named evil;
  named_init(&evil, f, "evil.example");
  assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"), evil.hdrs,
                              "{\"spotify.accounts_url\": \"" EVIL_URL "\"}",
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 421);
  json_t *err = it_parse(&f->r);
  assert_non_null(err);
  assert_true(json_is_string(json_object_get(err, "error")));
  json_decref(err);
  assert_string_equal(accounts_url(f), before);

  /* Run-now, the second step of the attack, is refused the same way. */
  assert_int_equal(hc_request("POST",
                              it_url(f, "/api/workers/token_refresh/run"),
                              evil.hdrs, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 421);
}

static void test_rebinding_reads_refused(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  struct named evil;
  named_init(&evil, f, "evil.example");
  static const char *const paths[] = {"/api/settings", "/api/workers/status",
                                      "/settings", "/"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    assert_int_equal(hc_request("GET", it_url(f, paths[i]), evil.hdrs, NULL,
                                &f->r),
                     SS_OK);
    IT_ASSERT_STATUS(&f->r, 421);
    assert_null(strstr(buf_cstr(&f->r.body), "spotify.accounts_url"));
    assert_null(strstr(buf_cstr(&f->r.body), "<html"));
  }
  /* The daemon's own names still work, with an Origin naming either. */
  static const char *const own[] = {"127.0.0.1", "localhost", "LocalHost"};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
    struct named ok;
    named_init(&ok, f, own[i]);
    assert_int_equal(hc_request("GET", it_url(f, "/api/settings"), ok.hdrs,
                                NULL, &f->r),
                     SS_OK);
    IT_ASSERT_STATUS(&f->r, 200);
    assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"), ok.hdrs,
                                "{\"log.level\": \"info\"}", &f->r),
                     SS_OK);
    IT_ASSERT_STATUS(&f->r, 200);
  }
}

/* A reverse proxy's name works once listed, and only then; a page of
 * another site cannot use the listed name as Origin against a loopback
 * Host either unless it is that name. */
static void test_allowed_hosts_setting(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  const char *const proxied[] = {"Host: music.example.org",
                                 "X-Forwarded-Proto: https", NULL};
  assert_int_equal(hc_request("GET", it_url(f, "/api/settings"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 421);

  assert_int_equal(it_patch_settings(f, "{\"server.allowed_hosts\": "
                                        "\"music.example.org, nas:8080\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(hc_request("GET", it_url(f, "/api/settings"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);

  /* Writes through the proxy carry its https origin. */
  const char *const proxied_write[] = {"Host: music.example.org",
                                       "Origin: https://music.example.org",
                                       "Content-Type: application/json", NULL};
  assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"),
                              proxied_write, "{\"log.level\": \"info\"}",
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);

  /* A listed name with a port accepts only that port. */
  const char *const wrong_port[] = {"Host: nas:8081", NULL};
  assert_int_equal(hc_request("GET", it_url(f, "/api/settings"), wrong_port,
                              NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 421);

  /* Cross-site writes are still refused from unlisted origins. */
  char origin[128];
  snprintf(origin, sizeof origin, "Origin: http://evil.example:%d", f->d.port);
  const char *const forged[] = {origin, "Content-Type: application/json",
                                NULL};
  assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"), forged,
                              "{\"log.level\": \"debug\"}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);

  /* A malformed list is refused, the entry named by its number. */
  assert_int_equal(it_patch_settings(f, "{\"server.allowed_hosts\": "
                                        "\"ok.example, http://bad/\"}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 400);
  assert_non_null(strstr(buf_cstr(&f->r.body), "entry 2"));

  /* The setting survives a restart. */
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  assert_int_equal(hc_request("GET", it_url(f, "/api/settings"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_rebinding_patch_refused),
    T(test_rebinding_reads_refused),
    T(test_allowed_hosts_setting),
  };
  return cmocka_run_group_tests_name("integration/hosts", tests, NULL, NULL);
}
