/*
 * fake_spotify.c - fake Spotify Accounts service and Web API (external-apis.md
 * sections 1, 2 and the checklist in 6).  See fake_services.h.
 */
#include "fake_services.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"


struct fake_spotify {
  struct fake_http *http;
  pthread_mutex_t mu;
  char accounts_url[FAKE_URL_MAX];
  char api_url[FAKE_URL_MAX + 8];
  char client_id[SHORT_MAX];
  char client_secret[SHORT_MAX];
  char auth_code[SHORT_MAX];
  char refresh_token[SHORT_MAX];
  char access_token[SHORT_MAX];
  unsigned seq;
  bool access_expired;
  bool refresh_revoked;
  bool rotate_refresh;
  bool code_used;
};

/* Flat OAuth error of the Accounts service. */
static void oauth_error(struct fake_reply *rep, int status, const char *err,
                        const char *desc)
{
  fake__reply_json(rep, status, "application/json",
             json_pack("{s:s, s:s}", "error", err, "error_description",
                       desc));
}

/* Nested error of the Web API. */
static void web_error(struct fake_reply *rep, int status, const char *msg)
{
  fake__reply_json(rep, status, JSON_UTF8,
             json_pack("{s:{s:i, s:s}}", "error", "status", status,
                       "message", msg));
}

/* Client credentials from Basic auth or the form; fs->mu held. */
static bool client_ok(struct fake_spotify *fs, const struct fake_req *req,
                      const char *body, const char **why)
{
  char id[SHORT_MAX] = "", secret[SHORT_MAX] = "", decoded[2 * SHORT_MAX];
  const char *auth = fake_req_header(req, "Authorization");
  if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
    char *colon;
    if (!fake__b64_decode(auth + 6, decoded, sizeof decoded) ||
        !(colon = strchr(decoded, ':'))) {
      *why = "Invalid client";
      return false;
    }
    *colon = '\0';
    fake__copy_str(id, sizeof id, decoded);
    fake__copy_str(secret, sizeof secret, colon + 1);
  } else {
    fake__form_get(body, "client_id", id, sizeof id);
    fake__form_get(body, "client_secret", secret, sizeof secret);
  }
  if (strcmp(id, fs->client_id) != 0) {
    *why = "Invalid client";
    return false;
  }
  if (strcmp(secret, fs->client_secret) != 0) {
    *why = "Invalid client secret";
    return false;
  }
  return true;
}

/* A fresh access token reply; fs->mu held. */
static void issue_token(struct fake_spotify *fs, struct fake_reply *rep,
                        bool with_refresh)
{
  snprintf(fs->access_token, sizeof fs->access_token, "BQD-fake-access-%u",
           ++fs->seq);
  fs->access_expired = false;
  json_t *v = json_pack("{s:s, s:s, s:s, s:i}", "access_token",
                        fs->access_token, "token_type", "Bearer", "scope",
                        "user-follow-read user-library-read "
                        "playlist-read-private playlist-read-collaborative "
                        "user-read-private",
                        "expires_in", 3600);
  if (with_refresh)
    json_object_set_new(v, "refresh_token", json_string(fs->refresh_token));
  fake__reply_json(rep, 200, "application/json", v);
}

static void token_grant(struct fake_spotify *fs, const char *body,
                        struct fake_reply *rep)
{
  char grant[64] = "", value[SHORT_MAX] = "";
  if (!fake__form_get(body, "grant_type", grant, sizeof grant)) {
    oauth_error(rep, 400, "unsupported_grant_type",
                "grant_type parameter is missing");
  } else if (strcmp(grant, "authorization_code") == 0) {
    fake__form_get(body, "code", value, sizeof value);
    if (fs->code_used || strcmp(value, fs->auth_code) != 0) {
      oauth_error(rep, 400, "invalid_grant", "Invalid authorization code");
    } else if (!fake__form_get(body, "redirect_uri", value, sizeof value)) {
      oauth_error(rep, 400, "invalid_grant", "Invalid redirect URI");
    } else {
      fs->code_used = true;
      issue_token(fs, rep, true);
    }
  } else if (strcmp(grant, "refresh_token") == 0) {
    fake__form_get(body, "refresh_token", value, sizeof value);
    if (strcmp(value, fs->refresh_token) != 0) {
      oauth_error(rep, 400, "invalid_grant", "Invalid refresh token");
    } else if (fs->refresh_revoked) {
      oauth_error(rep, 400, "invalid_grant", "Refresh token revoked");
    } else {
      if (fs->rotate_refresh)
        snprintf(fs->refresh_token, sizeof fs->refresh_token,
                 "AQC-fake-refresh-%u", fs->seq + 1);
      issue_token(fs, rep, fs->rotate_refresh);
    }
  } else {
    oauth_error(rep, 400, "unsupported_grant_type",
                "grant_type must be client_credentials, authorization_code "
                "or refresh_token");
  }
}

static void sp_token(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  struct fake_spotify *fs = arg;
  const char *ctype = fake_req_header(req, "Content-Type");
  const char *body = fake_req_body(req, NULL);
  const char *why = NULL;
  if (!ctype ||
      strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
    body = ""; /* a JSON body carries no form fields */
  pthread_mutex_lock(&fs->mu);
  if (!client_ok(fs, req, body, &why))
    oauth_error(rep, 400, "invalid_client", why);
  else
    token_grant(fs, body, rep);
  pthread_mutex_unlock(&fs->mu);
}

static void sp_authorize(const struct fake_req *req, struct fake_reply *rep,
                         void *arg)
{
  struct fake_spotify *fs = arg;
  const char *id = fake_req_arg(req, "client_id");
  const char *redirect = fake_req_arg(req, "redirect_uri");
  const char *state = fake_req_arg(req, "state");
  const char *type = fake_req_arg(req, "response_type");
  struct buf loc;
  pthread_mutex_lock(&fs->mu);
  bool id_ok = id && strcmp(id, fs->client_id) == 0;
  buf_init(&loc, 4096);
  if (redirect) {
    buf_puts(&loc, redirect);
    buf_puts(&loc, "?code=");
    fake__url_encode(fs->auth_code, &loc);
    fs->code_used = false;
  }
  pthread_mutex_unlock(&fs->mu);
  if (!id_ok) {
    fake_reply_set(rep, 400, HTML_UTF8, "INVALID_CLIENT: Invalid client");
  } else if (!redirect || !type || strcmp(type, "code") != 0) {
    fake_reply_set(rep, 400, HTML_UTF8,
                   "INVALID_CLIENT: Invalid redirect URI");
  } else {
    if (state) {
      buf_puts(&loc, "&state=");
      fake__url_encode(state, &loc);
    }
    fake_reply_set(rep, 302, "", NULL);
    fake_reply_header(rep, "Location", buf_cstr(&loc));
  }
  buf_free(&loc);
}

static void sp_me(struct fake_reply *rep)
{
  fake__reply_json(rep, 200, JSON_UTF8,
             json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:[]}", "display_name",
                       "Test User", "id", "testuser", "type", "user", "uri",
                       "spotify:user:testuser", "external_urls", "spotify",
                       "https://open.spotify.com/user/testuser", "images"));
}

static void sp_api(const struct fake_req *req, struct fake_reply *rep,
                   void *arg)
{
  struct fake_spotify *fs = arg;
  const char *auth = fake_req_header(req, "Authorization");
  const char *path = fake_req_path(req);
  if (!auth || !*auth) {
    web_error(rep, 401, "No token provided");
    return;
  }
  if (strncasecmp(auth, "Bearer ", 7) != 0) {
    web_error(rep, 400, "Only valid bearer authentication supported");
    return;
  }
  pthread_mutex_lock(&fs->mu);
  bool known = fs->access_token[0] && strcmp(auth + 7, fs->access_token) == 0;
  bool expired = fs->access_expired;
  pthread_mutex_unlock(&fs->mu);
  if (!known)
    web_error(rep, 401, "Invalid access token");
  else if (expired)
    web_error(rep, 401, "The access token expired");
  else if (strcmp(fake_req_method(req), "GET") == 0 &&
           strcmp(path, "/v1/me") == 0)
    sp_me(rep);
  else
    web_error(rep, 404, "Service not found");
}

static const char *or_default(const char *v, const char *def)
{
  return v ? v : def;
}

int fake_spotify_start(struct fake_spotify **out, int port,
                       const struct fake_spotify_opts *opts)
{
  struct fake_spotify_opts none = {0};
  struct fake_spotify *fs = xcalloc(1, sizeof *fs);
  if (!opts)
    opts = &none;
  pthread_mutex_init(&fs->mu, NULL);
  fake__copy_str(fs->client_id, sizeof fs->client_id,
           or_default(opts->client_id, "test-client-id"));
  fake__copy_str(fs->client_secret, sizeof fs->client_secret,
           or_default(opts->client_secret, "test-client-secret"));
  fake__copy_str(fs->auth_code, sizeof fs->auth_code,
           or_default(opts->auth_code, "test-auth-code"));
  fake__copy_str(fs->refresh_token, sizeof fs->refresh_token,
           or_default(opts->refresh_token, "test-refresh-token"));
  int rc = fake_http_start(&fs->http, port);
  if (rc != SS_OK) {
    fake_spotify_stop(fs);
    *out = NULL;
    return rc;
  }
  fake__copy_str(fs->accounts_url, sizeof fs->accounts_url,
           fake_http_url(fs->http));
  snprintf(fs->api_url, sizeof fs->api_url, "%s/v1", fs->accounts_url);
  fake_http_route(fs->http, "POST", "/api/token", sp_token, fs);
  fake_http_route(fs->http, "GET", "/authorize", sp_authorize, fs);
  fake_http_route(fs->http, NULL, "/v1", sp_api, fs);
  fake_http_route(fs->http, NULL, "/v1/*", sp_api, fs);
  *out = fs;
  return SS_OK;
}

void fake_spotify_stop(struct fake_spotify *fs)
{
  if (!fs)
    return;
  fake_http_stop(fs->http);
  pthread_mutex_destroy(&fs->mu);
  free(fs);
}

struct fake_http *fake_spotify_http(struct fake_spotify *fs)
{
  return fs->http;
}

const char *fake_spotify_accounts_url(const struct fake_spotify *fs)
{
  return fs->accounts_url;
}

const char *fake_spotify_api_url(const struct fake_spotify *fs)
{
  return fs->api_url;
}

void fake_spotify_access_token(struct fake_spotify *fs, char *out, size_t n)
{
  pthread_mutex_lock(&fs->mu);
  fake__copy_str(out, n, fs->access_token);
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_expire_access_token(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->access_expired = true;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_revoke_refresh_token(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->refresh_revoked = true;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_set_rotate_refresh(struct fake_spotify *fs, bool on)
{
  pthread_mutex_lock(&fs->mu);
  fs->rotate_refresh = on;
  pthread_mutex_unlock(&fs->mu);
}

