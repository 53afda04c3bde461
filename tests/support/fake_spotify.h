/*
 * fake_spotify.h - fake Spotify Accounts service (GET /authorize, POST
 * /api/token with flat OAuth errors) and Web API under /v1 (nested errors).
 * Implemented in fake_spotify.c; included by fake_services.h.
 */
#ifndef SS_TEST_FAKE_SPOTIFY_H
#define SS_TEST_FAKE_SPOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_http.h"

/* ---- Spotify ---- */
struct fake_spotify_opts {
  const char *client_id;     /* NULL = "test-client-id" */
  const char *client_secret; /* NULL = "test-client-secret" */
  const char *auth_code;     /* NULL = "test-auth-code" */
  const char *refresh_token; /* NULL = "test-refresh-token" */
};
struct fake_spotify;
int fake_spotify_start(struct fake_spotify **out, int port,
                       const struct fake_spotify_opts *opts /* or NULL */);
void fake_spotify_stop(struct fake_spotify *fs);
struct fake_http *fake_spotify_http(struct fake_spotify *fs);
/* Accounts base ("http://127.0.0.1:P") and Web API base (".../v1"). */
const char *fake_spotify_accounts_url(const struct fake_spotify *fs);
const char *fake_spotify_api_url(const struct fake_spotify *fs);
/* Current access token ("" before the first token request). */
void fake_spotify_access_token(struct fake_spotify *fs, char *out, size_t n);
/* Makes the current access token answer 401 "The access token expired". */
void fake_spotify_expire_access_token(struct fake_spotify *fs);
/* Refresh token behaviour: revoke (invalid_grant "Refresh token revoked"),
 * rotate (a refresh reply carries a new refresh_token; default: omitted). */
void fake_spotify_revoke_refresh_token(struct fake_spotify *fs);
void fake_spotify_set_rotate_refresh(struct fake_spotify *fs, bool on);

#endif
