/*
 * spotify_auth.h - connecting a Spotify account: the authorization-code
 * flow with PKCE (S256) and a state check.
 *
 *   spotify_auth_begin()   makes a random state and code verifier, keeps
 *                          them in a short-lived server-side record (10 min,
 *                          one use, at most SPOTIFY_AUTH_PENDING at once)
 *                          and builds the {accounts_url}/authorize URL;
 *   spotify_auth_finish()  checks the callback's state against that record
 *                          (and against the state cookie the browser got
 *                          with the redirect, so a callback started in
 *                          another browser is refused), exchanges the code
 *                          with the verifier, reads /me and stores the
 *                          login.
 * The verifier never leaves this module except in the token request.
 *
 * Threading: any thread (HTTP handlers); the pending records are guarded
 * by a mutex.  The exchange makes network calls on the caller's thread.
 */
#ifndef SS_SPOTIFY_AUTH_H
#define SS_SPOTIFY_AUTH_H

#include <stddef.h>

#include "core/err.h"
#include "core/buf.h"
#include "db/db.h"

#define SPOTIFY_AUTH_TTL_MS (10 * 60 * 1000)
#define SPOTIFY_AUTH_PENDING 16
#define SPOTIFY_STATE_MAX 64

enum spotify_login {
  SPOTIFY_LOGIN_OK,
  SPOTIFY_LOGIN_DENIED,  /* the user declined on Spotify's page */
  SPOTIFY_LOGIN_STATE,   /* unknown, expired, reused or foreign state */
  SPOTIFY_LOGIN_CODE,    /* Spotify refused the code (invalid_grant) */
  SPOTIFY_LOGIN_CLIENT,  /* no client id, or invalid_client */
  SPOTIFY_LOGIN_NETWORK, /* accounts service unreachable or failing */
  SPOTIFY_LOGIN_ERROR    /* anything else (Spotify's error=..., store) */
};

/* Short code for a result ("ok", "denied", "state", ...) and its plain
 * English explanation for the settings page; unknown codes give NULL. */
const char *spotify_login_code(enum spotify_login r);
const char *spotify_login_message(const char *code);

/*
 * Starts a login: appends the authorize URL to url and writes the state
 * (for the cookie) into state (SPOTIFY_STATE_MAX bytes).  SS_ESTATE when
 * spotify.client_id is empty.
 */
enum ss_err spotify_auth_begin(struct buf *url, char *state);

/*
 * Finishes a login from the callback's query (any may be NULL).  The
 * pending record is consumed whatever the outcome.  db may be NULL.
 */
enum spotify_login spotify_auth_finish(struct db *db, const char *state,
                                       const char *cookie_state,
                                       const char *code, const char *error);

/* ---- pieces, exposed for tests ---- */

/* base64url(SHA-256(verifier)) into out (at least 44 bytes). */
enum ss_err spotify_pkce_challenge(const char *verifier, char *out, size_t n);
/* base64url of `bytes` random bytes into out. */
enum ss_err spotify_random_token(char *out, size_t n, size_t bytes);
/* Forgets every pending login (tests). */
void spotify_auth_reset(void);

#endif
