/*
 * spotify_auth.c - the Spotify login: PKCE, state records, code exchange.
 *
 * What: see spotify_auth.h.  Pending logins live in a small fixed table
 * (state, verifier, redirect URI, monotonic creation time); the oldest is
 * evicted when it is full.  SHA-256 comes from OpenSSL's EVP interface,
 * randomness from getrandom(2).
 *
 * Threading: the table is guarded by `mu`; network calls happen without
 * it.  Ownership: nothing escapes; verifiers are wiped after use.
 */
#include "clients/spotify_auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "clients/spotify.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define VERIFIER_BYTES 48 /* 64 base64url characters (RFC 7636: 43-128) */
#define STATE_BYTES 24    /* 32 characters */

struct pending {
  bool used;
  char state[SPOTIFY_STATE_MAX];
  char verifier[128];
  char redirect_uri[SETTING_STR_MAX];
  int64_t created_mono;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct pending table[SPOTIFY_AUTH_PENDING];

static const struct {
  const char *code, *message;
} messages[] = {
  [SPOTIFY_LOGIN_OK] = {"ok", "Spotify account connected."},
  [SPOTIFY_LOGIN_DENIED] = {"denied",
                            "You declined access on Spotify's page, so no "
                            "account was connected."},
  [SPOTIFY_LOGIN_STATE] = {"state",
                           "The login could not be verified: it was not "
                           "started from this browser, was already used, "
                           "or took longer than 10 minutes. Please click "
                           "Connect again."},
  [SPOTIFY_LOGIN_CODE] = {"code",
                          "Spotify did not accept the authorisation code "
                          "(it may have expired or been used already). "
                          "Please click Connect again."},
  [SPOTIFY_LOGIN_CLIENT] = {"client",
                            "Spotify rejected the app: check the client id "
                            "(spotify.client_id), the client secret and "
                            "that the redirect URI is registered for the "
                            "app."},
  [SPOTIFY_LOGIN_NETWORK] = {"network",
                             "Spotify's accounts service could not be "
                             "reached or failed. Please try again in a "
                             "moment."},
  [SPOTIFY_LOGIN_ERROR] = {"error",
                           "The login did not complete. Please try again."},
};

const char *spotify_login_code(enum spotify_login r)
{
  return messages[r].code;
}

const char *spotify_login_message(const char *code)
{
  for (size_t i = 0; code && i < sizeof messages / sizeof messages[0]; i++)
    if (!strcmp(messages[i].code, code))
      return messages[i].message;
  if (code && !strcmp(code, "disconnected"))
    return "Spotify account disconnected. The synced library stays.";
  return NULL;
}

void spotify_auth_reset(void)
{
  pthread_mutex_lock(&mu);
  memset(table, 0, sizeof table);
  pthread_mutex_unlock(&mu);
}

enum ss_err spotify_random_token(char *out, size_t n, size_t bytes)
{
  unsigned char raw[96];
  if (bytes > sizeof raw)
    return SS_EINVAL;
  size_t got = 0;
  while (got < bytes) {
    ssize_t r = getrandom(raw + got, bytes - got, 0);
    if (r <= 0)
      return SS_EIO;
    got += (size_t)r;
  }
  enum ss_err rc = spotify_base64(raw, bytes, true, out, n);
  memset(raw, 0, sizeof raw);
  return rc;
}

enum ss_err spotify_pkce_challenge(const char *verifier, char *out, size_t n)
{
  unsigned char md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(md, (const unsigned char *)verifier, strlen(verifier));
  return spotify_base64(md, sizeof md, true, out, n);
}

/* A free slot, or the oldest one; mu held. */
static struct pending *slot_locked(void)
{
  struct pending *oldest = &table[0];
  for (int i = 0; i < SPOTIFY_AUTH_PENDING; i++) {
    if (!table[i].used)
      return &table[i];
    if (table[i].created_mono < oldest->created_mono)
      oldest = &table[i];
  }
  return oldest;
}

static void append_param(struct buf *url, const char *name, const char *value)
{
  buf_puts(url, name);
  spotify_url_encode(url, value);
}

enum ss_err spotify_auth_begin(struct buf *url, char *state)
{
  char id[SETTING_STR_MAX], base[SETTING_STR_MAX];
  char redirect[SETTING_STR_MAX], verifier[128], challenge[64];
  settings_str(S_SPOTIFY_CLIENT_ID, id, sizeof id);
  settings_str(S_SPOTIFY_ACCOUNTS_URL, base, sizeof base);
  settings_str(S_SPOTIFY_REDIRECT_URI, redirect, sizeof redirect);
  if (!id[0] || !base[0] || !redirect[0])
    return SS_ESTATE;
  size_t bl = strlen(base);
  if (base[bl - 1] == '/')
    base[bl - 1] = '\0';
  enum ss_err rc = spotify_random_token(state, SPOTIFY_STATE_MAX, STATE_BYTES);
  if (!rc)
    rc = spotify_random_token(verifier, sizeof verifier, VERIFIER_BYTES);
  if (!rc)
    rc = spotify_pkce_challenge(verifier, challenge, sizeof challenge);
  if (rc)
    return rc;
  pthread_mutex_lock(&mu);
  struct pending *p = slot_locked();
  p->used = true;
  snprintf(p->state, sizeof p->state, "%s", state);
  snprintf(p->verifier, sizeof p->verifier, "%s", verifier);
  snprintf(p->redirect_uri, sizeof p->redirect_uri, "%s", redirect);
  p->created_mono = clock_mono_ms();
  pthread_mutex_unlock(&mu);
  memset(verifier, 0, sizeof verifier);

  buf_puts(url, base);
  append_param(url, "/authorize?client_id=", id);
  buf_puts(url, "&response_type=code");
  append_param(url, "&redirect_uri=", redirect);
  append_param(url, "&scope=", SPOTIFY_SCOPES);
  append_param(url, "&state=", state);
  buf_puts(url, "&code_challenge_method=S256");
  append_param(url, "&code_challenge=", challenge);
  return buf_ok(url) ? SS_OK : SS_ETOOBIG;
}

/* Takes the pending record for state out of the table; false if none (or
 * expired). */
static bool take_pending(const char *state, struct pending *out)
{
  bool found = false;
  int64_t now = clock_mono_ms();
  pthread_mutex_lock(&mu);
  for (int i = 0; i < SPOTIFY_AUTH_PENDING; i++) {
    struct pending *p = &table[i];
    if (p->used && now - p->created_mono > SPOTIFY_AUTH_TTL_MS)
      memset(p, 0, sizeof *p);
    if (!found && p->used && state && !strcmp(p->state, state)) {
      *out = *p;
      memset(p, 0, sizeof *p);
      found = true;
    }
  }
  pthread_mutex_unlock(&mu);
  return found;
}

static enum spotify_login login_of(const struct spotify_err *err)
{
  switch (err->kind) {
  case SPOTIFY_REAUTH: return SPOTIFY_LOGIN_CODE;
  case SPOTIFY_CONFIG: return SPOTIFY_LOGIN_CLIENT;
  case SPOTIFY_UNAVAILABLE:
  case SPOTIFY_RATE_LIMITED: return SPOTIFY_LOGIN_NETWORK;
  case SPOTIFY_REFUSED:
    return err->status == 400 ? SPOTIFY_LOGIN_CODE : SPOTIFY_LOGIN_ERROR;
  default: return SPOTIFY_LOGIN_ERROR;
  }
}

/* Exchanges the code and stores the login with the profile from /me. */
static enum spotify_login exchange(struct db *db, const struct pending *p,
                                   const char *code)
{
  struct spotify_client_opts o = {.db = db, .timeout_ms = 10000};
  struct spotify_client *c = spotify_client_new(&o);
  struct spotify_tokens t;
  struct spotify_err err;
  struct buf grant;
  buf_init(&grant, 16 * 1024);
  buf_puts(&grant, "grant_type=authorization_code");
  append_param(&grant, "&code=", code);
  append_param(&grant, "&redirect_uri=", p->redirect_uri);
  append_param(&grant, "&code_verifier=", p->verifier);
  enum ss_err rc = buf_ok(&grant)
                     ? spotify_token_post(c, buf_cstr(&grant), &t, &err)
                     : SS_ETOOBIG;
  memset(grant.data, 0, grant.len);
  buf_free(&grant);
  enum spotify_login result = SPOTIFY_LOGIN_OK;
  if (rc == SS_ETOOBIG) {
    result = SPOTIFY_LOGIN_CODE;
  } else if (rc != SS_OK) {
    log_warn("spotify", "login: code exchange failed: %s", err.msg);
    result = login_of(&err);
  } else if (!t.refresh_token[0]) {
    log_warn("spotify", "login: the token reply had no refresh token");
    result = SPOTIFY_LOGIN_ERROR;
  } else {
    json_t *me = NULL;
    const char *id = "", *name = "";
    if (spotify_get_as(c, "/me", t.access_token, &me, &err) == SS_OK) {
      id = json_string_value(json_object_get(me, "id"));
      name = json_string_value(json_object_get(me, "display_name"));
    } else {
      log_warn("spotify", "login: could not read the profile: %s", err.msg);
    }
    if (spotify_account_store(c, &t, id ? id : "", name ? name : "") != SS_OK)
      result = SPOTIFY_LOGIN_ERROR;
    else
      log_info("spotify", "account connected");
    json_decref(me);
  }
  memset(&t, 0, sizeof t);
  spotify_client_free(c);
  return result;
}

enum spotify_login spotify_auth_finish(struct db *db, const char *state,
                                       const char *cookie_state,
                                       const char *code, const char *error)
{
  struct pending p;
  memset(&p, 0, sizeof p);
  /* The record is consumed even when the browser's cookie disagrees. */
  bool known = take_pending(state, &p);
  enum spotify_login result;
  if (!known || !cookie_state || strcmp(cookie_state, state) != 0)
    result = SPOTIFY_LOGIN_STATE;
  else if (error && !strcmp(error, "access_denied"))
    result = SPOTIFY_LOGIN_DENIED;
  else if (error || !code || !code[0])
    result = SPOTIFY_LOGIN_ERROR;
  else
    result = exchange(db, &p, code);
  memset(&p, 0, sizeof p);
  if (result != SPOTIFY_LOGIN_OK)
    log_info("spotify", "login not completed: %s", spotify_login_code(result));
  return result;
}
