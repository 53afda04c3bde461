/*
 * test_auth.c - authentication against the real daemon (issue 9, item 2):
 * the API key (header and ?apikey=), the login form with its session
 * cookie, the login rate limit, regenerating the key, setting the password
 * from the command line and from the settings page, the refusal to listen
 * on a non-loopback address without a password, and that neither the
 * password nor the key ever reaches the log.
 *
 * Most tests turn the loopback exemption off (the tests run on 127.0.0.1),
 * so every request must authenticate like one from the network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/err.h"
#include "db/db.h"
#include "itest.h"

#define NO_EXEMPT "[server]\nauth_loopback_exempt = false\n"
/* Real-world text, markup characters included; NFC. */
#define PASSWORD                                                              \
  "Sigur R\xc3\xb3s & Bj\xc3\xb6rk <b>\"'\xe5\x9d\x82\xe6\x9c\xac"
#define WRONG "Guns N' Roses AC/DC"

/* ---- helpers ---- */

static void read_key(struct it_fixture *f, char *out, size_t n)
{
  struct db *db = NULL;
  assert_int_equal(db_open(f->d.db_path, &db), SS_OK);
  assert_int_equal(db_secret_get(db, "api_key", out, n), SS_OK);
  db_close(db);
  assert_int_equal(strlen(out), AUTH_KEY_LEN);
}

static void set_password_cli(struct it_fixture *f, const char *input,
                             int want_code)
{
  const char *const args[] = {"--data-dir",     f->d.data_dir,    "--config",
                              f->d.config_path, "--set-password", NULL};
  struct buf err;
  buf_init(&err, 1 << 16);
  int code = -1;
  assert_int_equal(daemon_run_cli_input(args, NULL, input, &code, NULL, &err),
                   SS_OK);
  if (code != want_code)
    fprintf(stderr, "error: --set-password exit %d: %s\n", code,
            buf_cstr(&err));
  assert_int_equal(code, want_code);
  assert_null(strstr(buf_cstr(&err), PASSWORD));
  buf_free(&err);
}

/* Form POST from the daemon's own origin, with an optional cookie. */
static void post_form(struct it_fixture *f, const char *path, const char *body,
                      const char *cookie)
{
  char origin[128], cookie_hdr[256];
  snprintf(origin, sizeof origin, "Origin: %s", f->d.url);
  snprintf(cookie_hdr, sizeof cookie_hdr, "Cookie: %s", cookie ? cookie : "");
  const char *const h[] = {origin,
                           "Content-Type: application/x-www-form-urlencoded",
                           cookie ? cookie_hdr : NULL, NULL};
  assert_int_equal(hc_request("POST", it_url(f, path), h, body, &f->r), SS_OK);
}

static void login(struct it_fixture *f, const char *password, const char *next)
{
  char *pw = curl_easy_escape(NULL, password, 0);
  char *nx = curl_easy_escape(NULL, next ? next : "/", 0);
  char body[1024];
  snprintf(body, sizeof body, "password=%s&next=%s", pw, nx);
  curl_free(pw);
  curl_free(nx);
  post_form(f, "/login", body, NULL);
}

/* "soulspot_session=ID" from the last response's Set-Cookie. */
static bool session_from(struct it_fixture *f, char *out, size_t n)
{
  char sc[512];
  if (!hc_header(&f->r, "Set-Cookie", sc, sizeof sc))
    return false;
  snprintf(out, n, "%.*s", (int)strcspn(sc, ";"), sc);
  return true;
}

static void get_with(struct it_fixture *f, const char *path,
                     const char *header)
{
  const char *const h[] = {header, NULL};
  assert_int_equal(hc_request("GET", it_url(f, path), header ? h : NULL, NULL,
                              &f->r),
                   SS_OK);
}

static void get_cookie(struct it_fixture *f, const char *path,
                       const char *cookie)
{
  char hdr[256];
  snprintf(hdr, sizeof hdr, "Cookie: %s", cookie);
  get_with(f, path, hdr);
}

static void assert_json_error(struct it_fixture *f, const char *part)
{
  json_t *doc = it_parse(&f->r);
  assert_non_null(doc);
  json_t *e = json_object_get(doc, "error");
  assert_true(json_is_string(e));
  assert_non_null(strstr(json_string_value(e), part));
  json_decref(doc);
}

/* Neither the password nor any key given appears on the daemon's stderr. */
static void assert_log_clean(struct it_fixture *f, const char *key1,
                             const char *key2)
{
  struct buf log;
  buf_init(&log, 4 << 20);
  assert_int_equal(daemon_read_stderr(&f->d, &log), SS_OK);
  assert_true(log.len > 0);
  assert_null(strstr(buf_cstr(&log), PASSWORD));
  assert_null(strstr(buf_cstr(&log), "Sigur R"));
  if (key1)
    assert_null(strstr(buf_cstr(&log), key1));
  if (key2)
    assert_null(strstr(buf_cstr(&log), key2));
  assert_null(strstr(buf_cstr(&log), "$argon2id$"));
  buf_free(&log);
}

/* ---- tests ---- */

static void test_api_key(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NO_EXEMPT, NULL), SS_OK);
  char key[64], hdr[96], url[160];
  read_key(f, key, sizeof key);

  get_with(f, "/api/settings", NULL);
  IT_ASSERT_STATUS(&f->r, 401);
  assert_json_error(f, "authentication required");
  assert_null(strstr(buf_cstr(&f->r.body), "spotify.accounts_url"));

  get_with(f, "/api/settings", "X-Api-Key: 0123456789abcdef0123456789abcdef");
  IT_ASSERT_STATUS(&f->r, 401);
  assert_json_error(f, "invalid API key");
  get_with(f, "/api/workers/status?apikey=wrong", NULL);
  IT_ASSERT_STATUS(&f->r, 401);

  snprintf(hdr, sizeof hdr, "X-Api-Key: %s", key);
  get_with(f, "/api/settings", hdr);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), "spotify.accounts_url"));
  /* Neither the key nor the password hash is a setting. */
  assert_null(strstr(buf_cstr(&f->r.body), key));
  assert_null(strstr(buf_cstr(&f->r.body), "argon2"));

  snprintf(url, sizeof url, "/api/workers/status?apikey=%s", key);
  get_with(f, url, NULL);
  IT_ASSERT_STATUS(&f->r, 200);

  /* A write with the key works (and is still cross-site checked). */
  char origin[128];
  snprintf(origin, sizeof origin, "Origin: %s", f->d.url);
  const char *const w[] = {hdr, origin, "Content-Type: application/json",
                           NULL};
  assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"), w,
                              "{\"log.level\": \"debug\"}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  const char *const forged[] = {hdr, "Origin: http://evil.example",
                                "Content-Type: application/json", NULL};
  assert_int_equal(hc_request("PATCH", it_url(f, "/api/settings"), forged,
                              "{\"log.level\": \"info\"}", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);

  /* Liveness stays open; pages send the browser to the login form. */
  get_with(f, "/healthz", NULL);
  IT_ASSERT_STATUS(&f->r, 200);
  get_with(f, "/settings", NULL);
  IT_ASSERT_STATUS(&f->r, 303);
  char loc[256];
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/login?next=/settings");
  get_with(f, "/login?next=/settings", NULL);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), "No password is set"));
  assert_log_clean(f, key, NULL);
}

static void test_login_and_logout(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_prepare(&f->d, NO_EXEMPT), SS_OK);
  set_password_cli(f, "short\n", 2);
  set_password_cli(f, PASSWORD "\n", 0);
  assert_int_equal(daemon_start(&f->d, NO_EXEMPT, NULL), SS_OK);
  char key[64], cookie[256], loc[256];
  read_key(f, key, sizeof key);

  login(f, WRONG, "/settings?tab=security");
  IT_ASSERT_STATUS(&f->r, 401);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Wrong password"));
  assert_false(session_from(f, cookie, sizeof cookie));

  login(f, PASSWORD, "/settings?tab=security");
  IT_ASSERT_STATUS(&f->r, 303);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security");
  char sc[512];
  assert_true(hc_header(&f->r, "Set-Cookie", sc, sizeof sc));
  assert_non_null(strstr(sc, "HttpOnly"));
  assert_non_null(strstr(sc, "SameSite=Strict"));
  assert_non_null(strstr(sc, "Path=/"));
  assert_true(session_from(f, cookie, sizeof cookie));
  assert_int_equal(strlen(cookie),
                   strlen(AUTH_COOKIE "=") + AUTH_SESSION_ID_LEN);

  /* The pages and the API work with the cookie; the key is shown. */
  get_cookie(f, "/settings?tab=security", cookie);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), key));
  assert_non_null(strstr(buf_cstr(&f->r.body), "id=\"logout\""));
  get_cookie(f, "/", cookie);
  IT_ASSERT_STATUS(&f->r, 200);
  get_cookie(f, "/api/workers/status", cookie);
  IT_ASSERT_STATUS(&f->r, 200);
  get_cookie(f, "/api/settings",
             "soulspot_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  IT_ASSERT_STATUS(&f->r, 401);

  /* No open redirect: only local paths are followed after a login. */
  static const char *const foreign[] = {"//evil.example/",
                                        "https://evil.example",
                                        "/\\evil.example", "javascript:x"};
  for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
    login(f, PASSWORD, foreign[i]);
    IT_ASSERT_STATUS(&f->r, 303);
    assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
    assert_string_equal(loc, "/");
  }

  /* Logout ends the session. */
  post_form(f, "/logout", "", cookie);
  IT_ASSERT_STATUS(&f->r, 303);
  get_cookie(f, "/settings", cookie);
  IT_ASSERT_STATUS(&f->r, 303);
  get_cookie(f, "/api/settings", cookie);
  IT_ASSERT_STATUS(&f->r, 401);
  assert_log_clean(f, key, cookie + strlen(AUTH_COOKIE "="));
}

static void test_login_rate_limited(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_prepare(&f->d, NO_EXEMPT), SS_OK);
  set_password_cli(f, PASSWORD "\n", 0);
  assert_int_equal(daemon_start(&f->d, NO_EXEMPT, NULL), SS_OK);
  for (int i = 0; i < AUTH_FAILS_MAX - 1; i++) {
    login(f, WRONG, "/");
    IT_ASSERT_STATUS(&f->r, 401);
    assert_non_null(strstr(buf_cstr(&f->r.body), "Wrong password"));
  }
  login(f, WRONG, "/");
  IT_ASSERT_STATUS(&f->r, 401);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Too many failed logins"));
  /* Now even the right password is refused, with a clear message. */
  login(f, PASSWORD, "/");
  IT_ASSERT_STATUS(&f->r, 429);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Too many failed logins"));
  char after[32], cookie[256];
  assert_true(hc_header(&f->r, "Retry-After", after, sizeof after));
  assert_true(atoi(after) > 0);
  assert_false(session_from(f, cookie, sizeof cookie));
  get_with(f, "/login", NULL);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), "Too many failed logins"));
}

static void key_from_page(struct it_fixture *f, char *out, size_t n)
{
  get_with(f, "/settings?tab=security", NULL);
  IT_ASSERT_STATUS(&f->r, 200);
  const char *p = strstr(buf_cstr(&f->r.body), "<code id=\"api-key\">");
  assert_non_null(p);
  p += strlen("<code id=\"api-key\">");
  snprintf(out, n, "%.*s", (int)strcspn(p, "<"), p);
  assert_int_equal(strlen(out), AUTH_KEY_LEN);
}

static void test_regenerate_key(void **state)
{
  struct it_fixture *f = *state;
  /* Default: loopback exempt, so this test is the local user. */
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  char old_key[64], new_key[64], db_key[64], hdr[96], loc[256];
  key_from_page(f, old_key, sizeof old_key);
  read_key(f, db_key, sizeof db_key);
  assert_string_equal(old_key, db_key);

  /* From another site: refused, key unchanged. */
  const char *const forged[] = {"Origin: http://evil.example",
                                "Content-Type: application/x-www-form-"
                                "urlencoded",
                                NULL};
  assert_int_equal(hc_request("POST", it_url(f, "/settings/security/key"),
                              forged, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);
  key_from_page(f, new_key, sizeof new_key);
  assert_string_equal(new_key, old_key);

  post_form(f, "/settings/security/key", "", NULL);
  IT_ASSERT_STATUS(&f->r, 303);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security&security=key");
  key_from_page(f, new_key, sizeof new_key);
  assert_string_not_equal(new_key, old_key);
  read_key(f, db_key, sizeof db_key);
  assert_string_equal(new_key, db_key);

  snprintf(hdr, sizeof hdr, "X-Api-Key: %s", old_key);
  get_with(f, "/api/settings", hdr);
  IT_ASSERT_STATUS(&f->r, 401);
  snprintf(hdr, sizeof hdr, "X-Api-Key: %s", new_key);
  get_with(f, "/api/settings", hdr);
  IT_ASSERT_STATUS(&f->r, 200);
  /* The new key survives a restart. */
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  get_with(f, "/api/settings", hdr);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_log_clean(f, old_key, new_key);
}

static void test_password_from_settings_page(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  char loc[256], body[1024];
  char *pw = curl_easy_escape(NULL, PASSWORD, 0);
  get_with(f, "/settings?tab=security", NULL);
  assert_non_null(strstr(buf_cstr(&f->r.body), "No password is set"));

  snprintf(body, sizeof body, "password=%s&confirm=x%s", pw, pw);
  post_form(f, "/settings/security/password", body, NULL);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security&security=mismatch");
  post_form(f, "/settings/security/password", "password=short&confirm=short",
            NULL);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security&security=rules");

  snprintf(body, sizeof body, "password=%s&confirm=%s", pw, pw);
  post_form(f, "/settings/security/password", body, NULL);
  IT_ASSERT_STATUS(&f->r, 303);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security&security=password");
  get_with(f, "/settings?tab=security&security=password", NULL);
  assert_non_null(strstr(buf_cstr(&f->r.body), "A password is set"));
  assert_non_null(strstr(buf_cstr(&f->r.body), "The password was saved"));

  /* Changing it needs the current one. */
  snprintf(body, sizeof body,
           "current=wrong-one&password=new-password-1&confirm=new-password-1");
  post_form(f, "/settings/security/password", body, NULL);
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  assert_string_equal(loc, "/settings?tab=security&security=current");

  login(f, PASSWORD, "/");
  IT_ASSERT_STATUS(&f->r, 303);
  curl_free(pw);
  assert_log_clean(f, NULL, NULL);
}

static void test_remote_bind_needs_password(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_prepare(&f->d, NULL), SS_OK);
  const char *const args[] = {"--listen",    "0.0.0.0:0", "--data-dir",
                              f->d.data_dir, "--config",  f->d.config_path,
                              NULL};
  struct buf err;
  buf_init(&err, 1 << 16);
  int code = -1;
  assert_int_equal(daemon_run_cli(args, NULL, &code, NULL, &err), SS_OK);
  assert_int_equal(code, 2);
  assert_non_null(strstr(buf_cstr(&err), "refusing to listen on 0.0.0.0:0 "
                                         "without a password"));
  assert_int_equal(it_count(buf_cstr(&err), "soulspotd: "), 1);
  buf_free(&err);

  /* The explicit override starts, with a warning. */
  f->d.listen = "0.0.0.0:0";
  assert_int_equal(daemon_start(&f->d,
                                "[server]\n"
                                "allow_unauthenticated_remote = true\n",
                                NULL),
                   SS_OK);
  get_with(f, "/api/settings", NULL);
  IT_ASSERT_STATUS(&f->r, 200);
  struct buf log;
  buf_init(&log, 4 << 20);
  daemon_read_stderr(&f->d, &log);
  assert_non_null(strstr(buf_cstr(&log), "warn main: server.allow_"
                                         "unauthenticated_remote is on"));
  buf_free(&log);
  assert_int_equal(daemon_stop(&f->d), 0);

  /* With a password set, a remote address needs no override. */
  assert_int_equal(daemon_write_config(&f->d, NO_EXEMPT), SS_OK);
  set_password_cli(f, PASSWORD "\n", 0);
  assert_int_equal(daemon_start(&f->d, NO_EXEMPT, NULL), SS_OK);
  get_with(f, "/api/settings", NULL);
  IT_ASSERT_STATUS(&f->r, 401);
  assert_log_clean(f, NULL, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_api_key),
    T(test_login_and_logout),
    T(test_login_rate_limited),
    T(test_regenerate_key),
    T(test_password_from_settings_page),
    T(test_remote_bind_needs_password),
  };
  return cmocka_run_group_tests_name("integration/auth", tests, NULL, NULL);
}
