/*
 * test_spotify_client.c - unit tests of the Spotify client and login
 * (clients/spotify.c, clients/spotify_auth.c) against the in-process fake
 * (tests/support/fake_spotify.c), with an injectable wall clock:
 *
 *   PKCE (RFC 7636 vector), base64, the authorize URL, the login with a
 *   confidential and a public client, state checks (unknown, foreign
 *   cookie, reused, expired, denied, bad code); refresh timing against the
 *   threshold; a reply without refresh_token keeps the old one, rotation
 *   replaces it; invalid_grant stops all further attempts; invalid_client
 *   names spotify.client_id; 5xx backs off on the shared ladder and
 *   recovers (token refresh and Web API on one Spotify ladder, a forced
 *   client past it once, invalid_grant and 4xx never on it); 401 ->
 *   one refresh -> retry; 429 blocks every caller until Retry-After (and
 *   the QUOTA_EXCEEDED variant); nested vs flat errors, malformed,
 *   truncated, huge replies and links leaving the API base; single-flight
 *   refresh under eight concurrent callers.
 *
 * Each test: a fresh data dir with a migrated database, a fresh fake, the
 * settings pointed at it, the client's process-wide state reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/backoff.h"
#include "clients/spotify.h"
#include "clients/spotify_auth.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_spotify.h"
#include "fake_spotify.h"
#include "http_test_client.h"

#define T0 1800000000000LL /* 2027-01-15 */
#define MIN 60000LL

static _Atomic int64_t fake_now = T0;
static _Atomic int64_t fake_mono = 1000;

static int64_t wall(void) { return atomic_load(&fake_now); }
static int64_t mono(void) { return atomic_load(&fake_mono); }
static void advance(int64_t ms)
{
  atomic_fetch_add(&fake_now, ms);
  atomic_fetch_add(&fake_mono, ms);
}

struct fx {
  char dir[64];
  char path[128];
  struct db *db;
  struct fake_spotify *fs;
  struct spotify_client *c;
};

static void set(enum setting_id id, const char *v)
{
  char err[256];
  assert_int_equal(settings_set(id, v, err, sizeof err), SS_OK);
}

static int setup_with(void **state, bool secret)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ss-spcl-XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->path, sizeof fx->path, "%s/soulspotd.db", fx->dir);
  int version;
  if (db_open(fx->path, &fx->db) || db_migrate(fx->db, &version))
    return -1;
  settings_init();
  log_set_level(LOG_LVL_ERROR);
  atomic_store(&fake_now, T0);
  atomic_store(&fake_mono, 1000);
  clock_set_sources(wall, mono);
  if (fake_spotify_start(&fx->fs, 0, NULL) != SS_OK)
    return -1;
  set(S_SERVER_DATA_DIR, fx->dir);
  set(S_SPOTIFY_ACCOUNTS_URL, fake_spotify_accounts_url(fx->fs));
  set(S_SPOTIFY_API_URL, fake_spotify_api_url(fx->fs));
  set(S_SPOTIFY_CLIENT_ID, "test-client-id");
  set(S_SPOTIFY_CLIENT_SECRET, secret ? "test-client-secret" : "");
  set(S_SPOTIFY_REDIRECT_URI, "http://127.0.0.1:8765/auth/spotify/callback");
  spotify_state_reset();
  spotify_auth_reset();
  struct spotify_client_opts o = {.db = fx->db, .timeout_ms = 5000};
  fx->c = spotify_client_new(&o);
  *state = fx;
  return 0;
}

static int setup(void **state) { return setup_with(state, true); }
static int setup_public(void **state) { return setup_with(state, false); }

static int teardown(void **state)
{
  struct fx *fx = *state;
  char p[192];
  spotify_client_free(fx->c);
  fake_spotify_stop(fx->fs);
  db_close(fx->db);
  spotify_state_reset();
  clock_set_sources(NULL, NULL);
  settings_cleanup();
  const char *names[] = {"soulspotd.db", "soulspotd.db-wal",
                         "soulspotd.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", fx->dir, names[i]);
    unlink(p);
  }
  rmdir(fx->dir);
  free(fx);
  return 0;
}

/* ---- helpers ---- */

/* Value of `name=` in a URL's query (not decoded) into out. */
static bool query_value(const char *url, const char *name, char *out, size_t n)
{
  char key[64];
  snprintf(key, sizeof key, "%s=", name);
  const char *p = strstr(url, key);
  while (p && p[-1] != '?' && p[-1] != '&')
    p = strstr(p + 1, key);
  if (!p)
    return false;
  p += strlen(key);
  size_t len = strcspn(p, "&");
  if (len >= n)
    len = n - 1;
  memcpy(out, p, len);
  out[len] = '\0';
  return true;
}

/* Runs the browser's part: begin, fetch the fake's consent redirect;
 * returns the state and code the callback would get. */
static void consent(struct fx *fx, char *state, char *code, size_t n)
{
  struct buf url;
  struct hc_resp r = {0};
  char loc[2048];
  buf_init(&url, 4096);
  assert_int_equal(spotify_auth_begin(&url, state), SS_OK);
  assert_int_equal(hc_get(buf_cstr(&url), &r), SS_OK);
  assert_int_equal(r.status, 302);
  assert_true(hc_header(&r, "Location", loc, sizeof loc));
  code[0] = '\0';
  query_value(loc, "code", code, n);
  buf_free(&url);
  hc_resp_free(&r);
  (void)fx;
}

static void login(struct fx *fx)
{
  char state[SPOTIFY_STATE_MAX], code[128];
  consent(fx, state, code, sizeof code);
  assert_int_equal(spotify_auth_finish(fx->db, state, state, code, NULL),
                   SPOTIFY_LOGIN_OK);
  assert_true(spotify_connected());
}

static void stored(struct fx *fx, struct db_spotify_account *a)
{
  assert_int_equal(db_spotify_account_load(fx->db, a), SS_OK);
}

/* ---- PKCE and the authorize URL ---- */

static void test_pkce_and_base64(void **state)
{
  (void)state;
  char out[64];
  /* RFC 7636 appendix B. */
  assert_int_equal(
    spotify_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out,
                           sizeof out),
    SS_OK);
  assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  assert_int_equal(spotify_base64((const unsigned char *)"id:sec", 6, false,
                                  out, sizeof out),
                   SS_OK);
  assert_string_equal(out, "aWQ6c2Vj");
  assert_int_equal(spotify_base64((const unsigned char *)"ab", 2, false, out,
                                  sizeof out),
                   SS_OK);
  assert_string_equal(out, "YWI=");
  assert_int_equal(spotify_base64((const unsigned char *)"\xfb\xff", 2, true,
                                  out, sizeof out),
                   SS_OK);
  assert_string_equal(out, "-_8");
  assert_int_equal(spotify_base64((const unsigned char *)"abcdef", 6, false,
                                  out, 4),
                   SS_ETOOBIG);
  char a[64], b[64];
  assert_int_equal(spotify_random_token(a, sizeof a, 32), SS_OK);
  assert_int_equal(spotify_random_token(b, sizeof b, 32), SS_OK);
  assert_int_equal(strlen(a), 43);
  assert_string_not_equal(a, b);
  assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                             "tuvwxyz0123456789-_"),
                   43);
}

static void test_authorize_url(void **state)
{
  struct fx *fx = *state;
  struct buf url;
  char st[SPOTIFY_STATE_MAX], v[512];
  buf_init(&url, 4096);
  assert_int_equal(spotify_auth_begin(&url, st), SS_OK);
  const char *u = buf_cstr(&url);
  assert_int_equal(strncmp(u, fake_spotify_accounts_url(fx->fs),
                           strlen(fake_spotify_accounts_url(fx->fs))),
                   0);
  assert_non_null(strstr(u, "/authorize?client_id=test-client-id&"));
  assert_non_null(strstr(u, "&response_type=code&"));
  assert_non_null(strstr(u, "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2F"
                            "auth%2Fspotify%2Fcallback&"));
  assert_non_null(strstr(u, "&code_challenge_method=S256&"));
  assert_true(query_value(u, "scope", v, sizeof v));
  assert_non_null(strstr(v, "user-follow-read"));
  assert_non_null(strstr(v, "playlist-read-private"));
  assert_non_null(strstr(v, "user-library-read"));
  assert_true(query_value(u, "state", v, sizeof v));
  assert_string_equal(v, st);
  assert_true(query_value(u, "code_challenge", v, sizeof v));
  assert_int_equal(strlen(v), 43);
  buf_free(&url);
  /* No client id: nothing to start. */
  set(S_SPOTIFY_CLIENT_ID, "");
  buf_init(&url, 4096);
  assert_int_equal(spotify_auth_begin(&url, st), SS_ESTATE);
  buf_free(&url);
}

/* ---- login ---- */

static void test_login_confidential_client(void **state)
{
  struct fx *fx = *state;
  login(fx);
  struct fake_logged e;
  assert_true(
    fake_http_last(fake_spotify_http(fx->fs), "POST", "/api/token", &e));
  /* Basic auth, the verifier, the exact redirect URI; no secret in the
   * body. */
  assert_non_null(fake_logged_header(&e, "Authorization"));
  assert_non_null(strstr(e.body, "grant_type=authorization_code"));
  assert_non_null(strstr(e.body, "code_verifier="));
  assert_non_null(strstr(e.body, "redirect_uri=http%3A%2F%2F127.0.0.1"));
  assert_null(strstr(e.body, "client_secret"));
  struct spotify_status st;
  spotify_status(&st);
  assert_true(st.connected);
  assert_string_equal(st.display_name, "Test User");
  assert_string_equal(st.user_id, "testuser");
  assert_int_equal(st.authorised_ms, T0);
  assert_int_equal(st.access_expires_ms, T0 + 3600 * 1000);
  assert_true(st.refresh_expires_ms > T0 + 180LL * 86400000);
  assert_true(st.refresh_expires_ms < T0 + 185LL * 86400000);
  struct db_spotify_account a;
  stored(fx, &a);
  assert_string_equal(a.refresh_token, "test-refresh-token");
  assert_non_null(strstr(a.scopes, "playlist-read-private"));
}

static void test_login_public_client(void **state)
{
  struct fx *fx = *state;
  login(fx);
  struct fake_logged e;
  assert_true(
    fake_http_last(fake_spotify_http(fx->fs), "POST", "/api/token", &e));
  assert_null(fake_logged_header(&e, "Authorization"));
  assert_non_null(strstr(e.body, "client_id=test-client-id"));
  assert_non_null(strstr(e.body, "code_verifier="));
  /* A public client refreshes with its client id alone. */
  advance(59 * MIN);
  bool refreshed = false;
  struct spotify_err err;
  assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                               &err),
                   SS_OK);
  assert_true(refreshed);
}

static void test_login_state_checks(void **state)
{
  struct fx *fx = *state;
  char st[SPOTIFY_STATE_MAX], code[128];
  /* Unknown state. */
  assert_int_equal(spotify_auth_finish(fx->db, "nope", "nope", "c", NULL),
                   SPOTIFY_LOGIN_STATE);
  /* The cookie of another browser: refused, and the record is gone. */
  consent(fx, st, code, sizeof code);
  assert_int_equal(spotify_auth_finish(fx->db, st, "other", code, NULL),
                   SPOTIFY_LOGIN_STATE);
  assert_int_equal(spotify_auth_finish(fx->db, st, st, code, NULL),
                   SPOTIFY_LOGIN_STATE);
  /* Missing cookie. */
  consent(fx, st, code, sizeof code);
  assert_int_equal(spotify_auth_finish(fx->db, st, NULL, code, NULL),
                   SPOTIFY_LOGIN_STATE);
  /* Older than ten minutes. */
  consent(fx, st, code, sizeof code);
  advance(11 * MIN);
  assert_int_equal(spotify_auth_finish(fx->db, st, st, code, NULL),
                   SPOTIFY_LOGIN_STATE);
  /* Denied on Spotify's page. */
  fake_spotify_set_deny(fx->fs, true);
  consent(fx, st, code, sizeof code);
  assert_string_equal(code, "");
  assert_int_equal(spotify_auth_finish(fx->db, st, st, NULL, "access_denied"),
                   SPOTIFY_LOGIN_DENIED);
  fake_spotify_set_deny(fx->fs, false);
  /* A code Spotify does not know. */
  consent(fx, st, code, sizeof code);
  assert_int_equal(spotify_auth_finish(fx->db, st, st, "bogus", NULL),
                   SPOTIFY_LOGIN_CODE);
  assert_false(spotify_connected());
  /* Every result has plain words; unknown codes have none. */
  for (int r = SPOTIFY_LOGIN_OK; r <= SPOTIFY_LOGIN_ERROR; r++)
    assert_non_null(
      spotify_login_message(spotify_login_code((enum spotify_login)r)));
  assert_null(spotify_login_message("<script>"));
  assert_null(spotify_login_message(NULL));
}

static void test_login_pending_table_is_bounded(void **state)
{
  struct fx *fx = *state;
  char first[SPOTIFY_STATE_MAX], st[SPOTIFY_STATE_MAX], code[128];
  consent(fx, first, code, sizeof code);
  for (int i = 0; i < SPOTIFY_AUTH_PENDING; i++) {
    advance(1000);
    struct buf url;
    buf_init(&url, 4096);
    assert_int_equal(spotify_auth_begin(&url, st), SS_OK);
    buf_free(&url);
  }
  /* The oldest record was evicted. */
  assert_int_equal(spotify_auth_finish(fx->db, first, first, code, NULL),
                   SPOTIFY_LOGIN_STATE);
}

/* ---- refresh ---- */

static void test_refresh_timing(void **state)
{
  struct fx *fx = *state;
  login(fx);
  struct spotify_err err;
  bool refreshed = true;
  fake_spotify_reset_counts(fx->fs);
  /* 49 minutes in: still 11 minutes left, more than the threshold. */
  advance(49 * MIN);
  assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                               &err),
                   SS_OK);
  assert_false(refreshed);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 0);
  /* 51 minutes in: 9 minutes left, refresh. */
  advance(2 * MIN);
  assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                               &err),
                   SS_OK);
  assert_true(refreshed);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 1);
  struct db_spotify_account a;
  stored(fx, &a);
  assert_int_equal(a.expires_at_ms, T0 + 51 * MIN + 3600 * 1000);
  assert_int_equal(a.refreshed_at_ms, T0 + 51 * MIN);
  assert_int_equal(a.authorised_at_ms, T0); /* consent time unchanged */
  /* The reply had no refresh_token: the old one is kept. */
  assert_string_equal(a.refresh_token, "test-refresh-token");
  char tok[128];
  fake_spotify_access_token(fx->fs, tok, sizeof tok);
  assert_string_equal(a.access_token, tok);
  /* A Web API call right after uses the new token without a refresh. */
  json_t *me = NULL;
  assert_int_equal(spotify_get(fx->c, "/me", &me, &err), SS_OK);
  json_decref(me);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 1);
  /* Close to expiry a Web API call refreshes on demand. */
  advance(59 * MIN + 30000);
  assert_int_equal(spotify_get(fx->c, "/me", &me, &err), SS_OK);
  json_decref(me);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 2);
}

static void test_refresh_rotation(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_set_rotate_refresh(fx->fs, true);
  struct spotify_err err;
  bool refreshed;
  char fake_rt[128];
  struct db_spotify_account a;
  for (int i = 0; i < 2; i++) {
    advance(55 * MIN);
    assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                 &err),
                     SS_OK);
    assert_true(refreshed);
    stored(fx, &a);
    fake_spotify_refresh_token(fx->fs, fake_rt, sizeof fake_rt);
    /* The rotated token replaced the stored one (the fake accepts only
     * the newest, so the second round proves it was used). */
    assert_string_equal(a.refresh_token, fake_rt);
    assert_string_not_equal(a.refresh_token, "test-refresh-token");
  }
}

static void test_invalid_grant_stops_refreshing(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_revoke_refresh_token(fx->fs);
  fake_spotify_reset_counts(fx->fs);
  advance(55 * MIN);
  struct spotify_err err;
  bool refreshed;
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REAUTH);
  assert_string_equal(err.msg, "Spotify re-authorisation required: "
                               "Refresh token revoked");
  assert_false(spotify_connected());
  struct spotify_status st;
  spotify_status(&st);
  assert_true(st.stored);
  assert_string_equal(st.reauth_reason, "Refresh token revoked");
  struct db_spotify_account a;
  stored(fx, &a);
  assert_string_equal(a.reauth_reason, "Refresh token revoked");
  /* No further attempt, whoever asks and however late. */
  advance(60 * MIN);
  json_t *me = NULL;
  assert_int_not_equal(spotify_get(fx->c, "/me", &me, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REAUTH);
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 1);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_ME), 0);
  /* A new login clears it. */
  login(fx);
  spotify_status(&st);
  assert_string_equal(st.reauth_reason, "");
}

static void test_invalid_client_names_the_setting(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_fault(fx->fs, FSP_TOKEN, 0, FSF_INVALID_CLIENT, 0, 0);
  fake_spotify_reset_counts(fx->fs);
  advance(55 * MIN);
  struct spotify_err err;
  bool refreshed;
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_CONFIG);
  assert_non_null(strstr(err.msg, "spotify.client_id"));
  assert_non_null(strstr(err.msg, "invalid_client"));
  assert_null(strstr(err.msg, "test-client-secret"));
  /* Backing off: no new request right away... */
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_true(err.deferred);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 1);
  /* ...unless the user changes the app credentials: then at once. */
  fake_spotify_clear_faults(fx->fs);
  set(S_SPOTIFY_CLIENT_SECRET, "wrong-secret");
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_CONFIG);
  assert_non_null(strstr(err.msg, "Invalid client secret"));
  assert_null(strstr(err.msg, "wrong-secret"));
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 2);
  set(S_SPOTIFY_CLIENT_SECRET, "test-client-secret");
  assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                               &err),
                   SS_OK);
  assert_true(refreshed);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 3);
}

static void test_5xx_backs_off_and_recovers(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_fault(fx->fs, FSP_TOKEN, 0, FSF_503, 2, 0);
  fake_spotify_reset_counts(fx->fs);
  advance(55 * MIN);
  struct spotify_err err;
  bool refreshed;
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_UNAVAILABLE);
  assert_false(err.deferred);
  assert_int_equal(err.until_ms, wall() + 30000);
  /* Within the backoff: refused without a request. */
  advance(10000);
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_true(err.deferred);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 1);
  /* The second failure climbs to the shared ladder's second step. */
  advance(21000);
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.until_ms, wall() + 2 * MIN);
  /* After it, success clears the backoff and the error. */
  advance(2 * MIN + 1000);
  assert_int_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                               &err),
                   SS_OK);
  assert_true(refreshed);
  struct spotify_status st;
  spotify_status(&st);
  assert_int_equal(st.backoff_until_ms, 0);
  assert_string_equal(st.token_error, "");
  /* A dropped connection is a failure too. */
  /* (curl retries a request once when a reused connection dies) */
  fake_spotify_fault(fx->fs, FSP_TOKEN, 0, FSF_DROP, 0, 0);
  advance(55 * MIN);
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_UNAVAILABLE);
  assert_non_null(strstr(err.msg, "unreachable"));
}

static void test_401_refreshes_once_and_retries(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_expire_access_token(fx->fs);
  fake_spotify_reset_counts(fx->fs);
  json_t *me = NULL;
  struct spotify_err err;
  assert_int_equal(spotify_get(fx->c, "/me", &me, &err), SS_OK);
  assert_string_equal(json_string_value(json_object_get(me, "id")),
                      "testuser");
  json_decref(me);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 1);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_ME), 2);
  /* A 401 that persists after the refresh is an error, not a loop. */
  fake_spotify_fault(fx->fs, FSP_ME, 0, FSF_401, 0, 0);
  fake_spotify_reset_counts(fx->fs);
  assert_int_not_equal(spotify_get(fx->c, "/me", &me, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REFUSED);
  assert_int_equal(err.status, 401);
  assert_non_null(strstr(err.msg, "The access token expired"));
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 1);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_ME), 2);
}

static void test_429_blocks_every_caller(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_fault(fx->fs, FSP_ME, 0, FSF_429, 1, 120);
  json_t *doc = NULL;
  struct spotify_err err;
  assert_int_not_equal(spotify_get(fx->c, "/me", &doc, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_RATE_LIMITED);
  assert_int_equal(err.until_ms, T0 + 120000);
  assert_false(err.deferred);
  assert_int_equal(spotify_blocked_until(), T0 + 120000);
  struct spotify_status st;
  spotify_status(&st);
  assert_int_equal(st.blocked_until_ms, T0 + 120000);
  /* Another client, another endpoint: refused without a request. */
  size_t before = fake_spotify_api_count(fx->fs);
  struct spotify_client *other = spotify_client_new(NULL);
  assert_int_not_equal(spotify_get(other, "/me/playlists", &doc, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_RATE_LIMITED);
  assert_true(err.deferred);
  assert_int_equal(fake_spotify_api_count(fx->fs), before);
  char reason[160];
  assert_int_equal(spotify_probe_token(1000, NULL, reason, sizeof reason),
                   SPOTIFY_TOKEN_UNKNOWN);
  assert_int_equal(fake_spotify_api_count(fx->fs), before);
  /* Once Retry-After has passed, calls go through again. */
  advance(121000);
  assert_int_equal(spotify_blocked_until(), 0);
  assert_int_equal(spotify_get(other, "/me", &doc, &err), SS_OK);
  json_decref(doc);
  spotify_client_free(other);
  /* The quota variant says so. */
  fake_spotify_fault(fx->fs, FSP_PLAYLISTS, 0, FSF_429_QUOTA, 1, 3600);
  assert_int_not_equal(spotify_get(fx->c, "/me/playlists", &doc, &err), SS_OK);
  assert_non_null(strstr(err.msg, "QUOTA_EXCEEDED"));
  assert_int_equal(err.until_ms, wall() + 3600000);
}

static void test_api_5xx_backoff(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_fault(fx->fs, FSP_PLAYLISTS, 0, FSF_500, 1, 0);
  json_t *doc = NULL;
  struct spotify_err err;
  assert_int_not_equal(spotify_get(fx->c, "/me/playlists", &doc, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_UNAVAILABLE);
  assert_int_equal(err.status, 500);
  assert_false(err.deferred);
  size_t before = fake_spotify_api_count(fx->fs);
  assert_int_not_equal(spotify_get(fx->c, "/me", &doc, &err), SS_OK);
  assert_true(err.deferred);
  assert_int_equal(fake_spotify_api_count(fx->fs), before);
  advance(31000);
  assert_int_equal(spotify_get(fx->c, "/me/playlists", &doc, &err), SS_OK);
  json_decref(doc);
}

/* Spotify is one service on the shared ladder (clients/backoff.h): a Web
 * API 5xx holds back token refreshes too, a forced client (run now) goes
 * past it until its own first failure, any answer steps it back to zero,
 * and invalid_grant or a 404 never climb it. */
static void test_one_ladder_for_spotify(void **state)
{
  struct fx *fx = *state;
  login(fx);
  fake_spotify_fault(fx->fs, FSP_PLAYLISTS, 0, FSF_500, 0, 0);
  json_t *doc = NULL;
  struct spotify_err err;
  assert_int_not_equal(spotify_get(fx->c, "/me/playlists", &doc, &err), SS_OK);
  struct backoff_state bo;
  backoff_get(SVC_SPOTIFY, &bo);
  assert_int_equal(bo.failures, 1);
  assert_int_equal(bo.until_ms, wall() + 30000);
  assert_int_equal(bo.code, SS_R_CONNECTION);
  assert_non_null(strstr(bo.reason, "HTTP 500"));
  /* The token refresh waits for the same ladder, without a request. */
  fake_spotify_reset_counts(fx->fs);
  advance(59 * MIN + 10000); /* the token too needs renewing */
  backoff_failed(SVC_SPOTIFY, wall(), 0, SS_R_CONNECTION, "HTTP 500");
  bool refreshed;
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_true(err.deferred);
  assert_non_null(strstr(err.msg, "next token refresh after"));
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 0);
  /* A forced client tries once: the refresh works (an answer: zero), the
   * playlists fail again (one step up) and its next call waits. */
  struct spotify_client_opts o = {.forced = true};
  struct spotify_client *forced = spotify_client_new(&o);
  assert_int_not_equal(spotify_get(forced, "/me/playlists", &doc, &err),
                       SS_OK);
  assert_false(err.deferred);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN), 1);
  backoff_get(SVC_SPOTIFY, &bo);
  assert_int_equal(bo.failures, 1);
  size_t calls = fake_spotify_api_count(fx->fs);
  assert_int_not_equal(spotify_get(forced, "/me", &doc, &err), SS_OK);
  assert_true(err.deferred);
  assert_non_null(strstr(err.msg, "next attempt after"));
  assert_int_equal(fake_spotify_api_count(fx->fs), calls);
  spotify_client_free(forced);
  /* After the step an answer, even a 404, steps back to zero. */
  fake_spotify_clear_faults(fx->fs);
  advance(31000);
  assert_int_not_equal(spotify_get(fx->c, "/artists/nonexistent0000000000000",
                                   &doc, &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REFUSED);
  backoff_get(SVC_SPOTIFY, &bo);
  assert_int_equal(bo.failures, 0);
  assert_int_equal(backoff_until(SVC_SPOTIFY, wall()), 0);
  /* invalid_grant is the user's to fix: an error, never the ladder. */
  fake_spotify_revoke_refresh_token(fx->fs);
  advance(55 * MIN);
  assert_int_not_equal(spotify_refresh_if_expiring(fx->c, 10 * MIN, &refreshed,
                                                   &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REAUTH);
  assert_int_equal(spotify_err_reason(&err), SS_R_AUTH);
  backoff_get(SVC_SPOTIFY, &bo);
  assert_int_equal(bo.failures, 0);
}

static void test_error_shapes_and_bad_replies(void **state)
{
  struct fx *fx = *state;
  struct fake_spotify_library lib = {.artists = 3,
                                     .playlists = 1,
                                     .foreign_playlists = 1,
                                     .entries = 5};
  fake_spotify_set_library(fx->fs, &lib);
  login(fx);
  json_t *doc = NULL;
  struct spotify_err err;
  /* Nested Web API error: 403 on another user's playlist. */
  assert_int_not_equal(spotify_get(fx->c,
                                   "/playlists/pf00000000000000000000"
                                   "/items",
                                   &doc, &err),
                       SS_OK);
  assert_int_equal(err.kind, SPOTIFY_REFUSED);
  assert_int_equal(err.status, 403);
  assert_non_null(strstr(err.msg, "Forbidden"));
  /* The removed /tracks endpoint is 403 too; a limit over the cap 400. */
  assert_int_not_equal(spotify_get(fx->c, "/me/playlists?limit=51", &doc,
                                   &err),
                       SS_OK);
  assert_int_equal(err.status, 400);
  assert_non_null(strstr(err.msg, "Invalid limit"));
  const enum fake_spotify_fault bad[] = {FSF_MALFORMED, FSF_TRUNCATED,
                                         FSF_HUGE, FSF_SHAPE};
  const char *const says[] = {"malformed reply", "malformed reply",
                              "larger than 512 KiB", NULL};
  for (size_t i = 0; i < 4; i++) {
    fake_spotify_fault(fx->fs, FSP_FOLLOWING, 0, bad[i], 1, 0);
    int rc = spotify_get(fx->c, "/me/following?type=artist&limit=50", &doc,
                         &err);
    if (!says[i]) { /* valid JSON: the shape is the caller's to judge */
      assert_int_equal(rc, SS_OK);
      json_decref(doc);
      continue;
    }
    assert_int_not_equal(rc, SS_OK);
    assert_int_equal(err.kind, SPOTIFY_MALFORMED);
    assert_non_null(strstr(err.msg, says[i]));
    assert_null(doc);
  }
  /* A link to another host is never followed. */
  size_t before = fake_spotify_api_count(fx->fs);
  assert_int_not_equal(spotify_get(fx->c, "http://example.invalid/v1/me", &doc,
                                   &err),
                       SS_OK);
  assert_non_null(strstr(err.msg, "outside spotify.api_url"));
  char tricky[256];
  snprintf(tricky, sizeof tricky, "%s.evil/me", fake_spotify_api_url(fx->fs));
  assert_int_not_equal(spotify_get(fx->c, tricky, &doc, &err), SS_OK);
  assert_int_equal(fake_spotify_api_count(fx->fs), before);
  /* An absolute link under the base is fine (paging `next`). */
  snprintf(tricky, sizeof tricky, "%s/me", fake_spotify_api_url(fx->fs));
  assert_int_equal(spotify_get(fx->c, tricky, &doc, &err), SS_OK);
  json_decref(doc);
}

/* spotify_token_reply_parse: what the token endpoint's replies become. */
static void test_token_reply_parse(void **state)
{
  (void)state;
  struct spotify_tokens t;
  struct spotify_err e;
  const char *ok = "{\"access_token\":\"BQD\",\"token_type\":\"Bearer\","
                   "\"scope\":\"\",\"expires_in\":3600}";
  assert_int_equal(spotify_token_reply_parse(200, ok, strlen(ok), &t, &e),
                   SS_OK);
  assert_string_equal(t.access_token, "BQD");
  assert_string_equal(t.refresh_token, ""); /* absent: keep the old one */
  assert_int_equal(t.expires_in_s, 3600);
  const char *odd = "{\"access_token\":\"A\",\"refresh_token\":\"R\","
                    "\"expires_in\":5}";
  assert_int_equal(spotify_token_reply_parse(200, odd, strlen(odd), &t, &e),
                   SS_OK);
  assert_string_equal(t.refresh_token, "R");
  assert_int_equal(t.expires_in_s, 60); /* clamped, never 5 s */
  const char *bad[] = {"", "[]", "{\"access_token\":\"\"}",
                       "{\"access_token\":\"A\",\"refresh_token\":7}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_not_equal(spotify_token_reply_parse(200, bad[i], strlen(bad[i]),
                                                   &t, &e),
                         SS_OK);
    assert_int_equal(e.kind, SPOTIFY_MALFORMED);
  }
  const char *grant = "{\"error\":\"invalid_grant\","
                      "\"error_description\":\"Refresh token revoked\"}";
  spotify_token_reply_parse(400, grant, strlen(grant), &t, &e);
  assert_int_equal(e.kind, SPOTIFY_REAUTH);
  assert_non_null(strstr(e.msg, "Refresh token revoked"));
  const char *client = "{\"error\":\"invalid_client\"}";
  spotify_token_reply_parse(400, client, strlen(client), &t, &e);
  assert_int_equal(e.kind, SPOTIFY_CONFIG);
  spotify_token_reply_parse(503, "<html>", 6, &t, &e);
  assert_int_equal(e.kind, SPOTIFY_UNAVAILABLE);
}

static void test_not_connected(void **state)
{
  struct fx *fx = *state;
  json_t *doc = NULL;
  struct spotify_err err;
  assert_false(spotify_connected());
  assert_int_not_equal(spotify_get(fx->c, "/me", &doc, &err), SS_OK);
  assert_int_equal(err.kind, SPOTIFY_NOT_CONNECTED);
  assert_int_equal(fake_spotify_api_count(fx->fs), 0);
  login(fx);
  assert_int_equal(spotify_account_forget(fx->c), SS_OK);
  assert_false(spotify_connected());
  struct db_spotify_account a;
  assert_int_equal(db_spotify_account_load(fx->db, &a), SS_ENOTFOUND);
}

/* ---- single flight ---- */

struct racer {
  pthread_t t;
  int rc;
};

static void *race(void *arg)
{
  struct racer *r = arg;
  struct spotify_client *c = spotify_client_new(NULL);
  json_t *doc = NULL;
  struct spotify_err err;
  r->rc = spotify_get(c, "/me", &doc, &err);
  json_decref(doc);
  spotify_client_free(c);
  return NULL;
}

static void test_single_flight_refresh(void **state)
{
  struct fx *fx = *state;
  login(fx);
  struct fake_script slow = {.delay_ms = 300};
  fake_http_script(fake_spotify_http(fx->fs), "POST", "/api/token", &slow);
  fake_spotify_reset_counts(fx->fs);
  advance(60 * MIN); /* every caller finds the token expired */
  struct racer r[8];
  for (int i = 0; i < 8; i++)
    assert_int_equal(pthread_create(&r[i].t, NULL, race, &r[i]), 0);
  for (int i = 0; i < 8; i++) {
    pthread_join(r[i].t, NULL);
    assert_int_equal(r[i].rc, SS_OK);
  }
  assert_int_equal(fake_spotify_count(fx->fs, FSP_TOKEN_REFRESH), 1);
  assert_int_equal(fake_spotify_count(fx->fs, FSP_ME), 8);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    T(test_pkce_and_base64),
    T(test_authorize_url),
    T(test_login_confidential_client),
    cmocka_unit_test_setup_teardown(test_login_public_client, setup_public,
                                    teardown),
    T(test_login_state_checks),
    T(test_login_pending_table_is_bounded),
    T(test_refresh_timing),
    T(test_refresh_rotation),
    T(test_invalid_grant_stops_refreshing),
    T(test_invalid_client_names_the_setting),
    T(test_5xx_backs_off_and_recovers),
    T(test_401_refreshes_once_and_retries),
    T(test_429_blocks_every_caller),
    T(test_api_5xx_backoff),
    T(test_one_ladder_for_spotify),
    T(test_error_shapes_and_bad_replies),
    T(test_not_connected),
    cmocka_unit_test(test_token_reply_parse),
    T(test_single_flight_refresh),
#undef T
  };
  int rc = cmocka_run_group_tests_name("spotify_client", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
