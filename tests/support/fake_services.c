/*
 * fake_services.c - fakes of Spotify, slskd, MusicBrainz and the Cover Art
 * Archive on top of fake_http, following external-apis.md (sections 1, 2.5,
 * 3.1-3.3, 4, 5 and the checklist in 6).
 *
 * Each fake keeps its mutable state (keys, tokens, modes) under its own
 * mutex; handlers read it on the fake's connection threads.  JSON replies
 * that carry variable strings are built with jansson, so nothing a client
 * sends is echoed unescaped.  Error bodies follow each service's own style:
 * Spotify Web API nested, Accounts flat, slskd empty on 401/404,
 * MusicBrainz JSON, Cover Art Archive HTML.
 *
 * Ownership: each *_start allocates the fake and its fake_http servers;
 * *_stop stops the servers first (no handler runs afterwards) and frees.
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

#define JSON_UTF8 "application/json; charset=utf-8"
#define HTML_UTF8 "text/html; charset=utf-8"
#define SHORT_MAX 128

static void copy_str(char *dst, size_t n, const char *src)
{
  snprintf(dst, n, "%s", src ? src : "");
}

/* Sets a JSON body from a jansson value (stolen). */
static void reply_json(struct fake_reply *rep, int status,
                       const char *content_type, json_t *v)
{
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  fake_reply_set(rep, status, content_type, text ? text : "null");
  free(text);
  json_decref(v);
}

/* ---- form bodies and Basic auth ---- */

static int hex_val(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes application/x-www-form-urlencoded text of length n into out. */
static void form_decode(const char *s, size_t n, char *out, size_t cap)
{
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    if (s[i] == '+') {
      out[o++] = ' ';
    } else if (s[i] == '%' && i + 2 < n && hex_val(s[i + 1]) >= 0 &&
               hex_val(s[i + 2]) >= 0) {
      out[o++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
}

/* Finds field name in a form body; false when absent. */
static bool form_get(const char *body, const char *name, char *out,
                     size_t cap)
{
  size_t nlen = strlen(name);
  const char *p = body;
  while (p && *p) {
    size_t len = strcspn(p, "&");
    if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      form_decode(p + nlen + 1, len - nlen - 1, out, cap);
      return true;
    }
    p = p[len] ? p + len + 1 : NULL;
  }
  return false;
}

static int b64_val(char c)
{
  const char *alpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = c ? strchr(alpha, c) : NULL;
  return p ? (int)(p - alpha) : -1;
}

/* Decodes standard base64 into out (NUL-terminated); false if invalid. */
static bool b64_decode(const char *s, char *out, size_t cap)
{
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++) {
    int v = b64_val(*s);
    if (v < 0)
      return false;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o + 1 >= cap)
        return false;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = '\0';
  return true;
}

/* Percent-encodes s for a query component. */
static void url_encode(const char *s, struct buf *out)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr("-._~", c))
      buf_putc(out, (char)c);
    else
      buf_printf(out, "%%%02X", c);
  }
}

/* ======================= Spotify ======================= */

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
  reply_json(rep, status, "application/json",
             json_pack("{s:s, s:s}", "error", err, "error_description",
                       desc));
}

/* Nested error of the Web API. */
static void web_error(struct fake_reply *rep, int status, const char *msg)
{
  reply_json(rep, status, JSON_UTF8,
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
    if (!b64_decode(auth + 6, decoded, sizeof decoded) ||
        !(colon = strchr(decoded, ':'))) {
      *why = "Invalid client";
      return false;
    }
    *colon = '\0';
    copy_str(id, sizeof id, decoded);
    copy_str(secret, sizeof secret, colon + 1);
  } else {
    form_get(body, "client_id", id, sizeof id);
    form_get(body, "client_secret", secret, sizeof secret);
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
  reply_json(rep, 200, "application/json", v);
}

static void token_grant(struct fake_spotify *fs, const char *body,
                        struct fake_reply *rep)
{
  char grant[64] = "", value[SHORT_MAX] = "";
  if (!form_get(body, "grant_type", grant, sizeof grant)) {
    oauth_error(rep, 400, "unsupported_grant_type",
                "grant_type parameter is missing");
  } else if (strcmp(grant, "authorization_code") == 0) {
    form_get(body, "code", value, sizeof value);
    if (fs->code_used || strcmp(value, fs->auth_code) != 0) {
      oauth_error(rep, 400, "invalid_grant", "Invalid authorization code");
    } else if (!form_get(body, "redirect_uri", value, sizeof value)) {
      oauth_error(rep, 400, "invalid_grant", "Invalid redirect URI");
    } else {
      fs->code_used = true;
      issue_token(fs, rep, true);
    }
  } else if (strcmp(grant, "refresh_token") == 0) {
    form_get(body, "refresh_token", value, sizeof value);
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
    url_encode(fs->auth_code, &loc);
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
      url_encode(state, &loc);
    }
    fake_reply_set(rep, 302, "", NULL);
    fake_reply_header(rep, "Location", buf_cstr(&loc));
  }
  buf_free(&loc);
}

static void sp_me(struct fake_reply *rep)
{
  reply_json(rep, 200, JSON_UTF8,
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
  copy_str(fs->client_id, sizeof fs->client_id,
           or_default(opts->client_id, "test-client-id"));
  copy_str(fs->client_secret, sizeof fs->client_secret,
           or_default(opts->client_secret, "test-client-secret"));
  copy_str(fs->auth_code, sizeof fs->auth_code,
           or_default(opts->auth_code, "test-auth-code"));
  copy_str(fs->refresh_token, sizeof fs->refresh_token,
           or_default(opts->refresh_token, "test-refresh-token"));
  int rc = fake_http_start(&fs->http, port);
  if (rc != SS_OK) {
    fake_spotify_stop(fs);
    *out = NULL;
    return rc;
  }
  copy_str(fs->accounts_url, sizeof fs->accounts_url,
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
  copy_str(out, n, fs->access_token);
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

/* ======================= slskd ======================= */

struct fake_slskd {
  struct fake_http *http;
  pthread_mutex_t mu;
  char api_key[FAKE_SECRET_MAX];
  bool logged_in;
};

static void sk_health(const struct fake_req *req, struct fake_reply *rep,
                      void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "text/plain", "Healthy");
}

/* Server state: null properties are omitted (address when disconnected). */
static json_t *sk_server_json(bool logged_in)
{
  if (logged_in)
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "address",
                     "vps.slsknet.org:2271", "ipEndPoint",
                     "208.76.170.59:2271", "state", "Connected, LoggedIn",
                     "isConnected", 1, "isConnecting", 0, "isLoggedIn", 1,
                     "isLoggingIn", 0, "isTransitioning", 0);
  return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "state", "Disconnected",
                   "isConnected", 0, "isConnecting", 0, "isLoggedIn", 0,
                   "isLoggingIn", 0, "isTransitioning", 0);
}

static json_t *sk_application_json(bool logged_in)
{
  json_t *app = json_pack(
      "{s:{s:s, s:s, s:s, s:b, s:b, s:b}, s:b, s:b, s:o,"
      " s:{s:b, s:b, s:b}, s:{s:b, s:b},"
      " s:{s:s, s:{s:s}, s:[]}}",
      "version", "full", "0.26.0.0", "current", "0.26.0", "latest", "0.26.0",
      "isUpdateAvailable", 0, "isCanary", 0, "isDevelopment", 0,
      "pendingReconnect", 0, "pendingRestart", 0, "server",
      sk_server_json(logged_in), "connectionWatchdog", "isEnabled", 1,
      "isAttemptingConnection", 0, "isAwaitingVpn", 0, "vpn", "isReady", 0,
      "isConnected", 0, "relay", "mode", "Controller", "controller", "state",
      "Disconnected", "agents");
  json_object_set_new(
      app, "health",
      json_pack("{s:{s:{s:i, s:i, s:i}}}", "search", "incoming", "latency", 0,
                "queueDepth", 0, "dropRate", 0));
  json_object_set_new(
      app, "user",
      json_pack("{s:s, s:{s:b, s:i}, s:{s:i, s:i, s:i, s:i}}", "username",
                "me", "privileges", "isPrivileged", 0, "privilegesRemaining",
                0, "statistics", "averageSpeed", 0, "directoryCount", 0,
                "fileCount", 0, "uploadCount", 0));
  json_object_set_new(
      app, "distributedNetwork",
      json_pack("{s:i, s:b, s:i, s:[], s:b, s:b}", "branchLevel", 0,
                "canAcceptChildren", 0, "childLimit", 0, "children",
                "hasParent", 0, "isBranchRoot", 0));
  json_object_set_new(
      app, "shares",
      json_pack("{s:b, s:b, s:b, s:b, s:b, s:i, s:[], s:i, s:i}",
                "scanPending", 0, "scanning", 0, "ready", 1, "faulted", 0,
                "cancelled", 0, "scanProgress", 1, "hosts", "directories",
                10, "files", 100));
  json_object_set_new(app, "rooms", json_array());
  json_object_set_new(app, "users", json_array());
  return app;
}

static void sk_api(const struct fake_req *req, struct fake_reply *rep,
                   void *arg)
{
  struct fake_slskd *fk = arg;
  const char *path = fake_req_path(req);
  const char *key = fake_req_header(req, "X-API-Key");
  bool get = strcmp(fake_req_method(req), "GET") == 0;
  pthread_mutex_lock(&fk->mu);
  bool auth_on = fk->api_key[0] != '\0';
  bool key_ok = !auth_on || (key && strcmp(key, fk->api_key) == 0);
  bool logged_in = fk->logged_in;
  pthread_mutex_unlock(&fk->mu);

  if (get && strcmp(path, "/api/v0/session/enabled") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, auth_on ? "true" : "false");
  } else if (!key_ok) {
    fake_reply_set(rep, 401, "", NULL); /* empty body, no content type */
  } else if (get && strcmp(path, "/api/v0/application") == 0) {
    reply_json(rep, 200, JSON_UTF8, sk_application_json(logged_in));
  } else if (get && strcmp(path, "/api/v0/application/version") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, "\"0.26.0\"");
  } else if (get && strcmp(path, "/api/v0/server") == 0) {
    reply_json(rep, 200, JSON_UTF8, sk_server_json(logged_in));
  } else {
    fake_reply_set(rep, 404, "", NULL);
  }
}

int fake_slskd_start(struct fake_slskd **out, int port, const char *api_key)
{
  struct fake_slskd *fk = xcalloc(1, sizeof *fk);
  pthread_mutex_init(&fk->mu, NULL);
  copy_str(fk->api_key, sizeof fk->api_key, api_key);
  fk->logged_in = true;
  int rc = fake_http_start(&fk->http, port);
  if (rc != SS_OK) {
    fake_slskd_stop(fk);
    *out = NULL;
    return rc;
  }
  fake_http_route(fk->http, "GET", "/health", sk_health, fk);
  fake_http_route(fk->http, "HEAD", "/health", sk_health, fk);
  fake_http_route(fk->http, NULL, "/api/v0/*", sk_api, fk);
  *out = fk;
  return SS_OK;
}

void fake_slskd_stop(struct fake_slskd *fk)
{
  if (!fk)
    return;
  fake_http_stop(fk->http);
  pthread_mutex_destroy(&fk->mu);
  free(fk);
}

struct fake_http *fake_slskd_http(struct fake_slskd *fk) { return fk->http; }

const char *fake_slskd_url(const struct fake_slskd *fk)
{
  return fake_http_url(fk->http);
}

void fake_slskd_set_api_key(struct fake_slskd *fk, const char *api_key)
{
  pthread_mutex_lock(&fk->mu);
  copy_str(fk->api_key, sizeof fk->api_key, api_key);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_logged_in(struct fake_slskd *fk, bool logged_in)
{
  pthread_mutex_lock(&fk->mu);
  fk->logged_in = logged_in;
  pthread_mutex_unlock(&fk->mu);
}

/* ======================= MusicBrainz ======================= */

struct fake_musicbrainz {
  struct fake_http *http;
  pthread_mutex_t mu;
  char url[FAKE_URL_MAX + 8];
  enum fake_mb_mode mode;
};

#define MB_PREFIX "/ws/2/"
#define MB_ARTIST MB_PREFIX "artist/"
#define MB_HELP "For usage, please see: https://musicbrainz.org/development/mmd"

bool fake_mbid_valid(const char *s, bool allow_upper)
{
  static const int groups[] = {8, 4, 4, 4, 12};
  for (size_t g = 0; g < 5; g++) {
    for (int i = 0; i < groups[g]; i++, s++) {
      char c = *s;
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                (allow_upper && c >= 'A' && c <= 'F');
      if (!ok)
        return false;
    }
    if (g < 4 && *s++ != '-')
      return false;
  }
  return *s == '\0';
}

/* "Name/Version ( contact )": no spaces in name/version, contact set. */
bool fake_musicbrainz_ua_ok(const char *ua)
{
  if (!ua)
    return false;
  size_t name = strcspn(ua, "/ ");
  if (name == 0 || ua[name] != '/')
    return false;
  const char *ver = ua + name + 1;
  size_t vlen = strcspn(ver, " ");
  if (vlen == 0 || strncmp(ver + vlen, " ( ", 3) != 0)
    return false;
  const char *contact = ver + vlen + 3;
  size_t len = strlen(contact);
  return len > 2 && strcmp(contact + len - 2, " )") == 0 &&
         strspn(contact, " ") < len - 2;
}

static void mb_error(struct fake_reply *rep, int status, const char *msg)
{
  reply_json(rep, status, JSON_UTF8,
             json_pack("{s:s, s:s}", "error", msg, "help", MB_HELP));
}

static bool mb_wants_json(const struct fake_req *req)
{
  const char *fmt = fake_req_arg(req, "fmt");
  const char *accept = fake_req_header(req, "Accept");
  if (fmt)
    return strcmp(fmt, "json") == 0;
  return accept && strstr(accept, "application/json");
}

static void mb_various_artists(const struct fake_req *req,
                               struct fake_reply *rep)
{
  char reset[32];
  snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 1);
  fake_reply_header(rep, "x-ratelimit-limit", "1200");
  fake_reply_header(rep, "x-ratelimit-remaining", "1199");
  fake_reply_header(rep, "x-ratelimit-reset", reset);
  if (!mb_wants_json(req)) {
    fake_reply_set(
        rep, 200, "application/xml; charset=utf-8",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><metadata "
        "xmlns=\"http://musicbrainz.org/ns/mmd-2.0#\"><artist id=\""
        FAKE_MB_VARIOUS_ARTISTS
        "\" type=\"Other\"><name>Various Artists</name><sort-name>Various "
        "Artists</sort-name></artist></metadata>");
    return;
  }
  reply_json(
      rep, 200, JSON_UTF8,
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{s:n, s:n, s:b},"
                " s:[], s:[], s:n, s:n, s:n, s:n, s:n}",
                "id", FAKE_MB_VARIOUS_ARTISTS, "name", "Various Artists",
                "sort-name", "Various Artists", "type", "Other", "type-id",
                "ac897045-5043-3294-97a0-c8ff05f5e5a8", "disambiguation",
                "add compilations to this artist", "country", "life-span",
                "begin", "end", "ended", 0, "isnis", "ipis", "gender",
                "gender-id", "area", "begin-area", "end-area"));
}

/* 503 of the chosen kind; false when the fake is not throttling. */
static bool mb_throttle(struct fake_musicbrainz *fm, struct fake_reply *rep)
{
  pthread_mutex_lock(&fm->mu);
  enum fake_mb_mode mode = fm->mode;
  pthread_mutex_unlock(&fm->mu);
  if (mode == FAKE_MB_RATE_LIMITED) {
    mb_error(rep, 503,
             "Your requests are exceeding the allowable rate limit. Please "
             "see http://wiki.musicbrainz.org/XMLWebService for more "
             "information.");
    fake_reply_header(rep, "x-ratelimit-zone", "ws ip=127.0.0.1");
    fake_reply_header(rep, "x-ratelimit-remaining", "0");
    fake_reply_header(rep, "retry-after", "1");
    return true;
  }
  if (mode == FAKE_MB_BUSY) {
    mb_error(rep, 503,
             "The MusicBrainz web server is currently busy. Please try "
             "again later.");
    fake_reply_header(rep, "x-ratelimit-zone", "global");
    fake_reply_header(rep, "retry-after", "0");
    return true;
  }
  return false;
}

static void mb_handler(const struct fake_req *req, struct fake_reply *rep,
                       void *arg)
{
  struct fake_musicbrainz *fm = arg;
  const char *ua = fake_req_header(req, "User-Agent");
  const char *path = fake_req_path(req);
  fake_reply_header(rep, "Server", "openresty");
  if (!ua || !*ua || !fake_musicbrainz_ua_ok(ua)) {
    reply_json(rep, 403, JSON_UTF8,
               json_pack("{s:s}", "error",
                         "Your requests are being throttled by MusicBrainz "
                         "because the application you are using has not "
                         "identified itself. Please update your "
                         "application, and see "
                         "http://musicbrainz.org/doc/XML_Web_Service/"
                         "Rate_Limiting for more information."));
    fake_reply_header(rep, "x-ratelimit-who",
                      ua && *ua ? "ua-generic" : "ua-missing");
    return;
  }
  if (mb_throttle(fm, rep))
    return;
  if (strncmp(path, MB_ARTIST, strlen(MB_ARTIST)) != 0) {
    mb_error(rep, 404, "Not Found");
    return;
  }
  const char *mbid = path + strlen(MB_ARTIST);
  if (!fake_mbid_valid(mbid, true) ||
      strcmp(mbid, "00000000-0000-0000-0000-000000000000") == 0)
    mb_error(rep, 400, "Invalid mbid.");
  else if (strcasecmp(mbid, FAKE_MB_VARIOUS_ARTISTS) == 0)
    mb_various_artists(req, rep);
  else
    mb_error(rep, 404, "Not Found");
}

int fake_musicbrainz_start(struct fake_musicbrainz **out, int port)
{
  struct fake_musicbrainz *fm = xcalloc(1, sizeof *fm);
  pthread_mutex_init(&fm->mu, NULL);
  int rc = fake_http_start(&fm->http, port);
  if (rc != SS_OK) {
    fake_musicbrainz_stop(fm);
    *out = NULL;
    return rc;
  }
  snprintf(fm->url, sizeof fm->url, "%s/ws/2", fake_http_url(fm->http));
  fake_http_route(fm->http, "GET", MB_PREFIX "*", mb_handler, fm);
  fake_http_route(fm->http, "HEAD", MB_PREFIX "*", mb_handler, fm);
  *out = fm;
  return SS_OK;
}

void fake_musicbrainz_stop(struct fake_musicbrainz *fm)
{
  if (!fm)
    return;
  fake_http_stop(fm->http);
  pthread_mutex_destroy(&fm->mu);
  free(fm);
}

struct fake_http *fake_musicbrainz_http(struct fake_musicbrainz *fm)
{
  return fm->http;
}

const char *fake_musicbrainz_url(const struct fake_musicbrainz *fm)
{
  return fm->url;
}

void fake_musicbrainz_set_mode(struct fake_musicbrainz *fm,
                               enum fake_mb_mode mode)
{
  pthread_mutex_lock(&fm->mu);
  fm->mode = mode;
  pthread_mutex_unlock(&fm->mu);
}

/* ======================= Cover Art Archive ======================= */

#define CAA_MAX_KNOWN 16
#define CAA_IMAGE_BASE 30501372565LL
#define MBID_LEN 36

struct fake_coverart {
  struct fake_http *http;
  struct fake_http *archive;
  pthread_mutex_t mu;
  char archive_url[FAKE_URL_MAX]; /* "http://localhost:P": another host */
  struct {
    char group[MBID_LEN + 1];
    char release[MBID_LEN + 1];
  } known[CAA_MAX_KNOWN];
  size_t n_known;
};

static void caa_html(struct fake_reply *rep, int status, const char *title,
                     const char *text)
{
  struct buf b;
  buf_init(&b, 4096);
  buf_printf(&b,
             "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
             "<body><h1>%s</h1><p>%s</p></body></html>\n",
             status, title, title, text);
  fake_reply_set(rep, status, HTML_UTF8, buf_cstr(&b));
  buf_free(&b);
}

static void caa_redirect(struct fake_coverart *fc, struct fake_reply *rep,
                         const char *release, const char *file)
{
  char loc[512];
  snprintf(loc, sizeof loc, "%s/download/mbid-%s/%s", fc->archive_url,
           release, file);
  fake_reply_set(rep, 307, "text/plain; charset=utf-8", "See: ");
  buf_puts(&rep->body, loc);
  buf_puts(&rep->body, "\n");
  fake_reply_header(rep, "Location", loc);
}

/* Index of the entry whose group (or release) is mbid; -1 if unknown. */
static int caa_find(struct fake_coverart *fc, const char *mbid, bool group)
{
  int found = -1;
  pthread_mutex_lock(&fc->mu);
  for (size_t i = 0; i < fc->n_known && found < 0; i++)
    if (strcmp(group ? fc->known[i].group : fc->known[i].release, mbid) == 0)
      found = (int)i;
  pthread_mutex_unlock(&fc->mu);
  return found;
}

/* Image file name for a type segment ("front", "front-250", "<id>..."). */
static bool caa_image_file(const char *release, long long image_id,
                           const char *seg, char *out, size_t n)
{
  static const char *const sizes[] = {"", "-250", "-500", "-1200"};
  static const char *const thumbs[] = {"", "_thumb250", "_thumb500",
                                       "_thumb1200"};
  char id[32];
  snprintf(id, sizeof id, "%lld", image_id);
  for (size_t i = 0; i < 4; i++) {
    char front[32], by_id[48], by_id_jpg[48];
    snprintf(front, sizeof front, "front%s", sizes[i]);
    snprintf(by_id, sizeof by_id, "%s%s", id, sizes[i]);
    snprintf(by_id_jpg, sizeof by_id_jpg, "%s%s.jpg", id, sizes[i]);
    if (strcmp(seg, front) == 0 || strcmp(seg, by_id) == 0 ||
        strcmp(seg, by_id_jpg) == 0) {
      snprintf(out, n, "mbid-%s-%lld%s.jpg", release, image_id, thumbs[i]);
      return true;
    }
  }
  return false;
}

static void caa_serve(struct fake_coverart *fc, struct fake_reply *rep,
                      const char *mbid, const char *seg, bool group)
{
  int idx = caa_find(fc, mbid, group);
  char file[256];
  if (idx < 0) {
    caa_html(rep, 404, "Not Found",
             group ? "No cover art found for release group"
                   : "No cover art found for release");
    return;
  }
  char release[MBID_LEN + 1];
  pthread_mutex_lock(&fc->mu);
  copy_str(release, sizeof release, fc->known[idx].release);
  pthread_mutex_unlock(&fc->mu);
  long long image_id = CAA_IMAGE_BASE + idx;
  if (!seg)
    caa_redirect(fc, rep, release, "index.json");
  else if (group && strcmp(seg, "back") == 0)
    caa_html(rep, 400, "Bad Request",
             "Requested image type not supported for release groups.");
  else if (caa_image_file(release, image_id, seg, file, sizeof file))
    caa_redirect(fc, rep, release, file);
  else
    caa_html(rep, 404, "Not Found", "No such image");
}

static void caa_handler(const struct fake_req *req, struct fake_reply *rep,
                        void *arg)
{
  struct fake_coverart *fc = arg;
  const char *path = fake_req_path(req);
  bool group = strncmp(path, "/release-group/", 15) == 0;
  const char *rest = path + (group ? 15 : 9); /* after "/release/" */
  char mbid[64], seg[64];
  size_t len = strcspn(rest, "/");
  snprintf(mbid, sizeof mbid, "%.*s", (int)(len < 63 ? len : 63), rest);
  bool has_seg = rest[len] == '/' && rest[len + 1];
  snprintf(seg, sizeof seg, "%s", has_seg ? rest + len + 1 : "");
  if (len != MBID_LEN || !fake_mbid_valid(mbid, false)) {
    caa_html(rep, 400, "Bad Request", "invalid MBID specified");
    return;
  }
  caa_serve(fc, rep, mbid, has_seg ? seg : NULL, group);
}

static void caa_root(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  (void)req;
  (void)arg;
  caa_html(rep, 404, "Not Found", "The requested URL was not found.");
}

/* archive.org stand-in: /download/... 302s to /storage/..., which serves. */
static void archive_download(const struct fake_req *req,
                             struct fake_reply *rep, void *arg)
{
  char loc[1024];
  (void)arg;
  snprintf(loc, sizeof loc, "%s/storage%s", fake_req_base_url(req),
           fake_req_path(req) + 9);
  fake_reply_set(rep, 302, "text/html; charset=UTF-8", "");
  fake_reply_header(rep, "Location", loc);
}

static json_t *caa_index_json(const char *caa_url, const char *release,
                              long long image_id)
{
  char image[256], t250[256], t500[256], t1200[256], rel[128];
  snprintf(image, sizeof image, "%s/release/%s/%lld.jpg", caa_url, release,
           image_id);
  snprintf(t250, sizeof t250, "%s/release/%s/%lld-250.jpg", caa_url,
           release, image_id);
  snprintf(t500, sizeof t500, "%s/release/%s/%lld-500.jpg", caa_url,
           release, image_id);
  snprintf(t1200, sizeof t1200, "%s/release/%s/%lld-1200.jpg", caa_url,
           release, image_id);
  snprintf(rel, sizeof rel, "https://musicbrainz.org/release/%s", release);
  return json_pack(
      "{s:[{s:b, s:b, s:s, s:I, s:b, s:I, s:s,"
      " s:{s:s, s:s, s:s, s:s, s:s}, s:[s]}], s:s}",
      "images", "approved", 1, "back", 0, "comment", "", "edit",
      (json_int_t)83020150, "front", 1, "id", (json_int_t)image_id, "image",
      image, "thumbnails", "250", t250, "500", t500, "1200", t1200, "large",
      t500, "small", t250, "types", "Front", "release", rel);
}

static void archive_storage(const struct fake_req *req,
                            struct fake_reply *rep, void *arg)
{
  struct fake_coverart *fc = arg;
  const char *path = fake_req_path(req); /* /storage/mbid-<rel>/<file> */
  const char *mb = strstr(path, "/mbid-");
  char release[MBID_LEN + 1] = "";
  if (mb)
    snprintf(release, sizeof release, "%.36s", mb + 6);
  int idx = caa_find(fc, release, false);
  size_t plen = strlen(path);
  if (idx < 0) {
    fake_reply_set(rep, 404, "text/html; charset=UTF-8", "Not found");
  } else if (plen > 11 && strcmp(path + plen - 11, "/index.json") == 0) {
    reply_json(rep, 200, "application/json",
               caa_index_json(fake_http_url(fc->http), release,
                              CAA_IMAGE_BASE + idx));
  } else {
    static const char jpeg[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00";
    fake_reply_set(rep, 200, "image/jpeg", NULL);
    buf_append(&rep->body, jpeg, sizeof jpeg - 1);
  }
}

int fake_coverart_add(struct fake_coverart *fc, const char *group_mbid,
                      const char *release_mbid)
{
  if (!fake_mbid_valid(group_mbid, false) ||
      !fake_mbid_valid(release_mbid, false))
    return SS_EINVAL;
  pthread_mutex_lock(&fc->mu);
  int rc = SS_ETOOBIG;
  if (fc->n_known < CAA_MAX_KNOWN) {
    copy_str(fc->known[fc->n_known].group, MBID_LEN + 1, group_mbid);
    copy_str(fc->known[fc->n_known].release, MBID_LEN + 1, release_mbid);
    fc->n_known++;
    rc = SS_OK;
  }
  pthread_mutex_unlock(&fc->mu);
  return rc;
}

static void caa_routes(struct fake_coverart *fc)
{
  static const char *const methods[] = {"GET", "HEAD"};
  for (size_t i = 0; i < 2; i++) {
    fake_http_route(fc->http, methods[i], "/release-group/*", caa_handler,
                    fc);
    fake_http_route(fc->http, methods[i], "/release/*", caa_handler, fc);
    fake_http_route(fc->http, methods[i], "*", caa_root, fc);
    fake_http_route(fc->archive, methods[i], "/download/*", archive_download,
                    fc);
    fake_http_route(fc->archive, methods[i], "/storage/*", archive_storage,
                    fc);
  }
}

int fake_coverart_start(struct fake_coverart **out, int port)
{
  struct fake_coverart *fc = xcalloc(1, sizeof *fc);
  pthread_mutex_init(&fc->mu, NULL);
  int rc = fake_http_start(&fc->http, port);
  if (rc == SS_OK)
    rc = fake_http_start(&fc->archive, 0);
  if (rc != SS_OK) {
    fake_coverart_stop(fc);
    *out = NULL;
    return rc;
  }
  snprintf(fc->archive_url, sizeof fc->archive_url, "http://localhost:%d",
           fake_http_port(fc->archive));
  caa_routes(fc);
  fake_coverart_add(fc, FAKE_CAA_RELEASE_GROUP, FAKE_CAA_RELEASE);
  *out = fc;
  return SS_OK;
}

void fake_coverart_stop(struct fake_coverart *fc)
{
  if (!fc)
    return;
  fake_http_stop(fc->http);
  fake_http_stop(fc->archive);
  pthread_mutex_destroy(&fc->mu);
  free(fc);
}

struct fake_http *fake_coverart_http(struct fake_coverart *fc)
{
  return fc->http;
}

struct fake_http *fake_coverart_archive_http(struct fake_coverart *fc)
{
  return fc->archive;
}

const char *fake_coverart_url(const struct fake_coverart *fc)
{
  return fake_http_url(fc->http);
}

/* ======================= all four ======================= */

int fake_all_start(struct fake_all *fa, const char *slskd_key)
{
  memset(fa, 0, sizeof *fa);
  int rc = fake_spotify_start(&fa->spotify, 0, NULL);
  if (rc == SS_OK)
    rc = fake_slskd_start(&fa->slskd, 0, slskd_key);
  if (rc == SS_OK)
    rc = fake_musicbrainz_start(&fa->musicbrainz, 0);
  if (rc == SS_OK)
    rc = fake_coverart_start(&fa->coverart, 0);
  if (rc != SS_OK)
    fake_all_stop(fa);
  return rc;
}

void fake_all_stop(struct fake_all *fa)
{
  fake_spotify_stop(fa->spotify);
  fake_slskd_stop(fa->slskd);
  fake_musicbrainz_stop(fa->musicbrainz);
  fake_coverart_stop(fa->coverart);
  memset(fa, 0, sizeof *fa);
}

void fake_all_ini(const struct fake_all *fa, const char *slskd_key,
                  struct buf *out)
{
  buf_printf(out, "[spotify]\naccounts_url = %s\napi_url = %s\n",
             fake_spotify_accounts_url(fa->spotify),
             fake_spotify_api_url(fa->spotify));
  buf_printf(out, "[musicbrainz]\nurl = %s\n",
             fake_musicbrainz_url(fa->musicbrainz));
  buf_printf(out, "[coverart]\nurl = %s\n",
             fake_coverart_url(fa->coverart));
  if (slskd_key)
    buf_printf(out, "[slskd]\nurl = %s\napi_key = %s\n",
               fake_slskd_url(fa->slskd), slskd_key);
}
