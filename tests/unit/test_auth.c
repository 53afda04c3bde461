/*
 * test_auth.c - the authentication module: API key, Argon2id password in
 * the store, sessions, the login rate limit, cookie parsing and the
 * "next" check of the login redirect.
 *
 * Each test gets a fresh database in a mkdtemp() folder and a reset state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/err.h"
#include "db/db.h"
#include "tfs.h"

#define PASSWORD "Bj\xc3\xb6rk J\xc3\xb3ga 1997"
/* The same text in NFD: another byte string, another password. */
#define PASSWORD_NFD "Bjo\xcc\x88rk Jo\xcc\x81ga 1997"

struct fx {
  char dir[64];
  struct db *db;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/soulspot-auth-XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  char path[128];
  snprintf(path, sizeof path, "%s/soulspotd.db", fx->dir);
  int version;
  if (auth_init() != SS_OK || db_open(path, &fx->db) != SS_OK ||
      db_migrate(fx->db, &version) != SS_OK)
    return -1;
  auth_reset();
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  db_close(fx->db);
  tfs_rm_tree(fx->dir);
  free(fx);
  auth_reset();
  return 0;
}

static void test_key_made_once_and_kept(void **state)
{
  struct fx *fx = *state;
  char key[AUTH_KEY_LEN + 1], again[AUTH_KEY_LEN + 1];
  bool created = false;
  assert_false(auth_key_matches(""));
  assert_int_equal(auth_store_load(fx->db, &created), SS_OK);
  assert_true(created);
  auth_key_copy(key, sizeof key);
  assert_int_equal(strlen(key), AUTH_KEY_LEN);
  assert_int_equal(strspn(key, "0123456789abcdef"), AUTH_KEY_LEN);
  assert_true(auth_key_matches(key));

  /* A second start loads the same key. */
  auth_reset();
  assert_int_equal(auth_store_load(fx->db, &created), SS_OK);
  assert_false(created);
  auth_key_copy(again, sizeof again);
  assert_string_equal(again, key);
  assert_false(auth_has_password());
}

static void test_key_comparison(void **state)
{
  struct fx *fx = *state;
  char key[AUTH_KEY_LEN + 1], other[AUTH_KEY_LEN + 2];
  assert_int_equal(auth_store_load(fx->db, NULL), SS_OK);
  auth_key_copy(key, sizeof key);
  snprintf(other, sizeof other, "%s", key);
  other[AUTH_KEY_LEN - 1] = other[AUTH_KEY_LEN - 1] == 'a' ? 'b' : 'a';
  assert_false(auth_key_matches(other));
  snprintf(other, sizeof other, "%sx", key); /* longer */
  assert_false(auth_key_matches(other));
  snprintf(other, sizeof other, "%.*s", AUTH_KEY_LEN - 1, key); /* prefix */
  assert_false(auth_key_matches(other));
  assert_false(auth_key_matches(NULL));
  assert_false(auth_key_matches(""));
}

static void test_key_regenerate(void **state)
{
  struct fx *fx = *state;
  char old[AUTH_KEY_LEN + 1], now[AUTH_KEY_LEN + 1];
  assert_int_equal(auth_store_load(fx->db, NULL), SS_OK);
  auth_key_copy(old, sizeof old);
  assert_int_equal(auth_store_regenerate_key(fx->db), SS_OK);
  auth_key_copy(now, sizeof now);
  assert_string_not_equal(old, now);
  assert_false(auth_key_matches(old));
  assert_true(auth_key_matches(now));
  auth_reset();
  assert_int_equal(auth_store_load(fx->db, NULL), SS_OK);
  assert_true(auth_key_matches(now));
}

static void test_password_hash_and_verify(void **state)
{
  struct fx *fx = *state;
  char err[160] = "", hash[256];
  assert_int_equal(auth_store_check_password(fx->db, PASSWORD), SS_ENOTFOUND);
  assert_int_equal(auth_store_set_password(fx->db, PASSWORD, err, sizeof err),
                   SS_OK);
  assert_true(auth_has_password());
  /* Stored as an Argon2id string, never as the password. */
  assert_int_equal(db_secret_get(fx->db, "password_hash", hash, sizeof hash),
                   SS_OK);
  assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
  /* not the password (its first letters may occur in the random Base64) */
  assert_null(strstr(hash, PASSWORD));
  assert_null(strstr(hash, "J\xc3\xb3ga"));
  assert_int_equal(auth_store_check_password(fx->db, PASSWORD), SS_OK);
  assert_int_equal(auth_store_check_password(fx->db, PASSWORD_NFD), SS_EINVAL);
  assert_int_equal(auth_store_check_password(fx->db, "bj\xc3\xb6rk j\xc3\xb3ga"
                                                     " 1997"),
                   SS_EINVAL);
  assert_int_equal(auth_store_check_password(fx->db, ""), SS_EINVAL);
  /* A fresh load sees the password. */
  auth_reset();
  assert_int_equal(auth_store_load(fx->db, NULL), SS_OK);
  assert_true(auth_has_password());
}

static void test_password_rules(void **state)
{
  (void)state;
  char err[160], longpw[AUTH_PASSWORD_MAX + 2];
  assert_int_equal(auth_password_rules("1234567", err, sizeof err), SS_EINVAL);
  assert_non_null(strstr(err, "at least 8"));
  assert_int_equal(auth_password_rules("12345678", err, sizeof err), SS_OK);
  assert_int_equal(auth_password_rules("\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d"
                                       "\xe4\xb8\x80",
                                       err, sizeof err),
                   SS_OK); /* 坂本龍一: 12 bytes */
  assert_int_equal(auth_password_rules("good\tpassword", err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "control"));
  assert_int_equal(auth_password_rules("bad \xff\xfe password", err,
                                       sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "UTF-8"));
  memset(longpw, 'x', sizeof longpw - 1);
  longpw[sizeof longpw - 1] = '\0';
  assert_int_equal(auth_password_rules(longpw, err, sizeof err), SS_EINVAL);
  assert_null(strstr(err, "xxxx"));
  longpw[AUTH_PASSWORD_MAX] = '\0';
  assert_int_equal(auth_password_rules(longpw, err, sizeof err), SS_OK);
  assert_int_equal(auth_password_rules(NULL, err, sizeof err), SS_EINVAL);
}

static void test_sessions(void **state)
{
  (void)state;
  char a[AUTH_SESSION_ID_LEN + 1], b[AUTH_SESSION_ID_LEN + 1];
  int64_t t0 = 1700000000000;
  auth_session_start(t0, a, sizeof a);
  auth_session_start(t0, b, sizeof b);
  assert_int_equal(strlen(a), AUTH_SESSION_ID_LEN);
  assert_string_not_equal(a, b);
  assert_true(auth_session_valid(a, t0 + 1000));
  assert_true(auth_session_valid(b, t0 + AUTH_SESSION_TTL_MS - 1));
  assert_false(auth_session_valid(b, t0 + AUTH_SESSION_TTL_MS));
  char forged[AUTH_SESSION_ID_LEN + 1];
  memcpy(forged, a, sizeof forged);
  forged[0] = forged[0] == 'A' ? 'B' : 'A';
  assert_false(auth_session_valid(forged, t0));
  assert_false(auth_session_valid("", t0));
  assert_false(auth_session_valid(NULL, t0));
  auth_session_end(a);
  assert_false(auth_session_valid(a, t0));
  assert_true(auth_session_valid(b, t0));
  auth_sessions_clear();
  assert_false(auth_session_valid(b, t0));
}

static void test_sessions_full_drops_oldest(void **state)
{
  (void)state;
  char first[AUTH_SESSION_ID_LEN + 1], id[AUTH_SESSION_ID_LEN + 1];
  int64_t t0 = 1700000000000;
  auth_session_start(t0, first, sizeof first);
  for (int i = 1; i < AUTH_SESSIONS_MAX; i++)
    auth_session_start(t0 + i, id, sizeof id);
  assert_true(auth_session_valid(first, t0 + 100));
  auth_session_start(t0 + 1000, id, sizeof id);
  assert_false(auth_session_valid(first, t0 + 1001));
  assert_true(auth_session_valid(id, t0 + 1001));
}

static void test_password_change_ends_sessions(void **state)
{
  struct fx *fx = *state;
  char id[AUTH_SESSION_ID_LEN + 1], err[160];
  auth_session_start(1000, id, sizeof id);
  assert_true(auth_session_valid(id, 2000));
  assert_int_equal(auth_store_set_password(fx->db, PASSWORD, err, sizeof err),
                   SS_OK);
  assert_false(auth_session_valid(id, 2000));
}

static void test_rate_limit(void **state)
{
  (void)state;
  const char *ip = "192.0.2.7", *other = "2001:db8::1";
  int64_t t = 1700000000000;
  for (int i = 0; i < AUTH_FAILS_MAX - 1; i++) {
    assert_int_equal(auth_login_blocked_for(ip, t), 0);
    auth_login_failed(ip, t + i);
  }
  assert_int_equal(auth_login_blocked_for(ip, t + 10), 0);
  auth_login_failed(ip, t + 10);
  assert_int_equal(auth_login_blocked_for(ip, t + 10), AUTH_BLOCK_MS / 1000);
  assert_int_equal(auth_login_blocked_for(other, t + 10), 0);
  assert_true(auth_login_blocked_for(ip, t + 10 + AUTH_BLOCK_MS - 1000) > 0);
  assert_int_equal(auth_login_blocked_for(ip, t + 10 + AUTH_BLOCK_MS), 0);

  /* Failures spread wider than the window never block. */
  for (int i = 0; i < 3 * AUTH_FAILS_MAX; i++) {
    int64_t at = t + 2 * AUTH_BLOCK_MS + i * (AUTH_FAIL_WINDOW_MS / 2);
    auth_login_failed(other, at);
    if (i % 2)
      assert_int_equal(auth_login_blocked_for(other, at), 0);
  }

  /* A success clears the count. */
  const char *third = "198.51.100.3";
  for (int i = 0; i < AUTH_FAILS_MAX - 1; i++)
    auth_login_failed(third, t + i);
  auth_login_succeeded(third);
  auth_login_failed(third, t + 100);
  assert_int_equal(auth_login_blocked_for(third, t + 100), 0);
}

static void test_rate_limit_table_full(void **state)
{
  (void)state;
  int64_t t = 1700000000000;
  char addr[32];
  for (int i = 0; i < AUTH_FAILS_MAX; i++)
    auth_login_failed("203.0.113.9", t);
  /* Many more other addresses than slots, one failure each, do not wash
   * the block out of the table. */
  for (int i = 0; i < 3 * AUTH_RATE_SLOTS; i++) {
    snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
    auth_login_failed(addr, t + 1 + i);
  }
  assert_true(auth_login_blocked_for("203.0.113.9", t + 1000) > 0);
}

static void test_cookie_value(void **state)
{
  (void)state;
  char v[64];
  assert_true(auth_cookie_value("a=1; soulspot_session=abc; b=2", AUTH_COOKIE,
                                v, sizeof v));
  assert_string_equal(v, "abc");
  assert_true(
    auth_cookie_value("soulspot_session=xyz", AUTH_COOKIE, v, sizeof v));
  assert_string_equal(v, "xyz");
  assert_false(
    auth_cookie_value("xsoulspot_session=abc", AUTH_COOKIE, v, sizeof v));
  assert_false(
    auth_cookie_value("soulspot_sessionx=abc", AUTH_COOKIE, v, sizeof v));
  assert_false(auth_cookie_value(NULL, AUTH_COOKIE, v, sizeof v));
  assert_false(auth_cookie_value("", AUTH_COOKIE, v, sizeof v));
  char big[200];
  snprintf(big, sizeof big, "soulspot_session=%0100d", 7);
  assert_false(auth_cookie_value(big, AUTH_COOKIE, v, sizeof v));
}

static void test_next_is_local(void **state)
{
  (void)state;
  assert_true(auth_next_is_local("/"));
  assert_true(auth_next_is_local("/settings?tab=security"));
  assert_true(auth_next_is_local("/library/artists?offset=100"));
  assert_false(auth_next_is_local("//evil.example/"));
  assert_false(auth_next_is_local("/\\evil.example"));
  assert_false(auth_next_is_local("https://evil.example/"));
  assert_false(auth_next_is_local("javascript:alert(1)"));
  assert_false(auth_next_is_local("/ok\r\nSet-Cookie: x=1"));
  assert_false(auth_next_is_local(""));
  assert_false(auth_next_is_local(NULL));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_key_made_once_and_kept),
    T(test_key_comparison),
    T(test_key_regenerate),
    T(test_password_hash_and_verify),
    T(test_password_rules),
    T(test_sessions),
    T(test_sessions_full_drops_oldest),
    T(test_password_change_ends_sessions),
    T(test_rate_limit),
    T(test_rate_limit_table_full),
    T(test_cookie_value),
    T(test_next_is_local),
  };
  return cmocka_run_group_tests_name("unit/auth", tests, NULL, NULL);
}
