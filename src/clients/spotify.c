/*
 * spotify.c - Spotify Accounts + Web API client: the single-flight token
 * provider, the shared rate-limit block and backoff, and GET with JSON.
 *
 * What: see spotify.h.  The process-wide state S (the cached login, the
 * refresh in flight, the 429 block, the two backoff ladders) lives under
 * one mutex that is never held across a network call: a refresh marks
 * S.refreshing, drops the lock for the POST and for storing the result
 * (so status readers never wait on the network or the store); other
 * callers, and a login or disconnect, wait on S.cv until it is done.  A
 * login or disconnect bumps S.login_seq.
 *
 * Threading: any thread; a struct spotify_client belongs to one thread.
 * Ownership: the client owns its curl handle; json results belong to the
 * caller.  Secrets live in S.acc and in stack buffers only; they are never
 * logged or copied into an error message.
 */
#include "clients/spotify.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clients/backoff.h"
#include "clients/http_client.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/utf8.h"

#define ACCESS_MARGIN_MS 60000   /* a token this close to expiry is renewed */
#define RETRY_AFTER_DEFAULT_S 30 /* a 429 without Retry-After */
#define TOKEN_REPLY_MAX (64 * 1024)
#define URL_MAX (SETTING_STR_MAX + 2048)
#define REMOTE_TEXT_MAX 120

/* invalid_client: no refresh with the same app credentials for this long
 * (a configuration error, not the service being down: not the ladder). */
#define CONFIG_HOLD_MS (10 * 60 * 1000)

struct spotify_client {
  struct http_client *http;
  struct db *db;
  const atomic_bool *cancel;
  long timeout_ms;
  size_t reply_limit;
  bool forced; /* past the ladder until this client's first failure */
};

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool loaded;
  bool stored;
  struct db_spotify_account acc;
  uint64_t login_seq;
  uint64_t refresh_seq;
  bool refreshing;
  char token_error[SPOTIFY_MSG_MAX];
  int64_t hold_until_ms;                /* invalid_client hold */
  char hold_creds[2 * SETTING_STR_MAX]; /* ... for these credentials */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static atomic_bool loaded_flag, connected_flag;

static void cv_init(void)
{
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&S.cv, &attr);
  pthread_condattr_destroy(&attr);
}

/* ---- small helpers ---- */

const char *spotify_fmt_time(int64_t wall_ms, char *out, size_t n)
{
  time_t t = (time_t)(wall_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (!strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm) && n)
    out[0] = '\0';
  return out;
}

int64_t spotify_refresh_expires_ms(int64_t authorised_ms)
{
  if (authorised_ms <= 0)
    return 0;
  time_t t = (time_t)(authorised_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  tm.tm_mon += 6;
  return (int64_t)timegm(&tm) * 1000 + authorised_ms % 1000;
}

static void set_err(struct spotify_err *e, enum spotify_fail kind, long status,
                    const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void set_err(struct spotify_err *e, enum spotify_fail kind, long status,
                    const char *fmt, ...)
{
  e->kind = kind;
  e->status = status;
  e->timed_out = false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
}

static enum ss_err err_code(enum spotify_fail kind)
{
  switch (kind) {
  case SPOTIFY_OK: return SS_OK;
  case SPOTIFY_NOT_CONNECTED:
  case SPOTIFY_REAUTH:
  case SPOTIFY_CONFIG: return SS_ESTATE;
  case SPOTIFY_RATE_LIMITED: return SS_EBUSY;
  case SPOTIFY_UNAVAILABLE: return SS_ENET;
  case SPOTIFY_REFUSED: return SS_EINVAL;
  case SPOTIFY_MALFORMED: return SS_EPROTO;
  default: return SS_ECANCELED;
  }
}

enum ss_reason spotify_err_reason(const struct spotify_err *e)
{
  switch (e->kind) {
  case SPOTIFY_OK:
  case SPOTIFY_CANCELED: return SS_R_NONE;
  case SPOTIFY_NOT_CONNECTED:
  case SPOTIFY_REAUTH: return SS_R_AUTH;
  case SPOTIFY_CONFIG: return SS_R_NOT_CONFIGURED;
  case SPOTIFY_RATE_LIMITED: return SS_R_RATE_LIMITED;
  case SPOTIFY_UNAVAILABLE:
    return e->timed_out ? SS_R_TIMEOUT : SS_R_CONNECTION;
  case SPOTIFY_REFUSED:
    return e->status == 401 || e->status == 403 ? SS_R_AUTH : SS_R_PROTOCOL;
  default: return SS_R_PROTOCOL;
  }
}

/* Copies remote text for a message: control characters become spaces,
 * at most REMOTE_TEXT_MAX bytes, never cut inside a UTF-8 sequence. */
static void remote_text(char *out, size_t n, const char *s)
{
  if (!n)
    return;
  size_t len = utf8_cut(s, n - 1 < REMOTE_TEXT_MAX ? n - 1 : REMOTE_TEXT_MAX);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
  }
  out[len] = '\0';
}

void spotify_url_encode(struct buf *out, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
        ch == '~') {
      buf_putc(out, (char)ch);
    } else {
      char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      buf_append(out, enc, 3);
    }
  }
}

enum ss_err spotify_base64(const unsigned char *in, size_t n, bool url,
                           char *out, size_t cap)
{
  int variant = url ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                    : sodium_base64_VARIANT_ORIGINAL;
  if (cap < sodium_base64_ENCODED_LEN(n, variant))
    return SS_ETOOBIG;
  sodium_bin2base64(out, cap, in, n, variant);
  return SS_OK;
}

/* ---- the cached login ---- */

/* Opens the daemon's database if it exists (never creates one). */
static struct db *open_existing_db(void)
{
  char dir[SETTING_STR_MAX], path[SETTING_STR_MAX + 32];
  struct stat sb;
  settings_str(S_SERVER_DATA_DIR, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/soulspotd.db", dir);
  struct db *db = NULL;
  if (stat(path, &sb) != 0 || db_open(path, &db) != SS_OK)
    return NULL;
  return db;
}

static void publish_flags_locked(void)
{
  atomic_store(&loaded_flag, S.loaded);
  atomic_store(&connected_flag, S.stored && !S.acc.reauth_reason[0]);
}

/* Loads the stored login once; S.mu held. */
static void load_locked(struct db *db)
{
  if (S.loaded)
    return;
  struct db *own = db ? NULL : open_existing_db();
  struct db *use = db ? db : own;
  if (!use)
    return;
  enum ss_err rc = db_spotify_account_load(use, &S.acc);
  if (rc == SS_OK || rc == SS_ENOTFOUND) {
    S.loaded = true;
    S.stored = rc == SS_OK;
    if (!S.stored)
      memset(&S.acc, 0, sizeof S.acc);
    publish_flags_locked();
  }
  db_close(own);
}

/* Writes a login row with the caller's connection (or the daemon's store
 * opened for the moment). */
static enum ss_err persist(struct spotify_client *c,
                           const struct db_spotify_account *a)
{
  struct db *own = c->db ? NULL : open_existing_db();
  struct db *use = c->db ? c->db : own;
  enum ss_err rc = use ? db_spotify_account_save(use, a) : SS_EIO;
  db_close(own);
  if (rc != SS_OK)
    log_error("spotify", "could not store the Spotify login");
  return rc;
}

/* Waits until no refresh is in flight (S.mu held): a login or disconnect
 * must not interleave with a refresh's write. */
static void wait_no_refresh_locked(void)
{
  while (S.refreshing)
    pthread_cond_wait(&S.cv, &S.mu);
}

void spotify_state_reset(void)
{
  pthread_once(&cv_once, cv_init);
  pthread_mutex_lock(&S.mu);
  memset(&S.acc, 0, sizeof S.acc);
  S.loaded = S.stored = S.refreshing = false;
  S.login_seq++;
  S.token_error[0] = S.hold_creds[0] = '\0';
  S.hold_until_ms = 0;
  publish_flags_locked();
  pthread_mutex_unlock(&S.mu);
  http_host_blocks_reset();
  backoff_succeeded(SVC_SPOTIFY);
}

bool spotify_connected(void)
{
  if (atomic_load(&loaded_flag))
    return atomic_load(&connected_flag);
  pthread_mutex_lock(&S.mu);
  load_locked(NULL);
  bool on = S.loaded && S.stored && !S.acc.reauth_reason[0];
  pthread_mutex_unlock(&S.mu);
  return on;
}

/* The Web API host's Retry-After block (http_client's table). */
static int64_t api_blocked_until(char *reason, size_t n)
{
  char base[SETTING_STR_MAX];
  if (reason && n)
    reason[0] = '\0';
  if (!settings_str(S_SPOTIFY_API_URL, base, sizeof base))
    return 0;
  return http_host_blocked_until(base, reason, n);
}

int64_t spotify_blocked_until(void) { return api_blocked_until(NULL, 0); }

void spotify_status(struct spotify_status *out)
{
  memset(out, 0, sizeof *out);
  int64_t now = clock_wall_ms();
  pthread_mutex_lock(&S.mu);
  load_locked(NULL);
  out->stored = S.stored;
  out->connected = S.stored && !S.acc.reauth_reason[0];
  if (S.stored) {
    snprintf(out->reauth_reason, sizeof out->reauth_reason, "%s",
             S.acc.reauth_reason);
    snprintf(out->display_name, sizeof out->display_name, "%s",
             S.acc.display_name);
    snprintf(out->user_id, sizeof out->user_id, "%s", S.acc.user_id);
    snprintf(out->scopes, sizeof out->scopes, "%s", S.acc.scopes);
    out->access_expires_ms = S.acc.expires_at_ms;
    out->authorised_ms = S.acc.authorised_at_ms;
    out->refreshed_ms = S.acc.refreshed_at_ms;
    out->refresh_expires_ms = spotify_refresh_expires_ms(
      S.acc.authorised_at_ms);
  }
  out->backoff_until_ms = backoff_until(SVC_SPOTIFY, now);
  snprintf(out->token_error, sizeof out->token_error, "%s", S.token_error);
  pthread_mutex_unlock(&S.mu);
  out->blocked_until_ms = api_blocked_until(out->blocked_reason,
                                            sizeof out->blocked_reason);
}

/* ---- client ---- */

struct spotify_client *spotify_client_new(const struct spotify_client_opts *o)
{
  struct spotify_client *c = xcalloc(1, sizeof *c);
  char ua[256];
  http_client_user_agent(ua, sizeof ua, NULL);
  c->http = http_client_new(ua);
  c->db = o ? o->db : NULL;
  c->cancel = o ? o->cancel : NULL;
  c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : SPOTIFY_TIMEOUT_MS;
  c->reply_limit = o && o->reply_limit ? o->reply_limit : SPOTIFY_REPLY_MAX;
  c->forced = o && o->forced;
  pthread_once(&cv_once, cv_init);
  return c;
}

void spotify_client_free(struct spotify_client *c)
{
  if (!c)
    return;
  http_client_free(c->http);
  free(c);
}

/* ---- error bodies ---- */

/* The message of an error body: nested {"error":{"message","reason"}},
 * flat {"error","error_description"}, or nothing. */
static void error_text(const struct buf *body, char *msg, size_t n, char *code,
                       size_t cn)
{
  msg[0] = '\0';
  if (code && cn)
    code[0] = '\0';
  json_t *doc = json_loadb(buf_cstr(body), body->len, 0, NULL);
  json_t *e = json_object_get(doc, "error");
  if (json_is_object(e)) {
    remote_text(msg, n, json_string_value(json_object_get(e, "message")));
    json_t *reason = json_object_get(e, "reason");
    if (!reason)
      reason = json_object_get(doc, "reason");
    if (code && cn)
      remote_text(code, cn, json_string_value(reason));
  } else if (json_is_string(e)) {
    if (code && cn)
      remote_text(code, cn, json_string_value(e));
    remote_text(msg, n,
                json_string_value(json_object_get(doc, "error_description")));
  }
  json_decref(doc);
}

/* ---- the Accounts service ---- */

static void client_creds(char *id, char *secret)
{
  settings_str(S_SPOTIFY_CLIENT_ID, id, SETTING_STR_MAX);
  settings_str(S_SPOTIFY_CLIENT_SECRET, secret, SETTING_STR_MAX);
}

static void creds_signature(char *out, size_t n)
{
  char id[SETTING_STR_MAX], secret[SETTING_STR_MAX];
  client_creds(id, secret);
  snprintf(out, n, "%s\x1f%s", id, secret);
  memset(secret, 0, sizeof secret);
}

static enum ss_err parse_tokens(const struct http_reply *r,
                                struct spotify_tokens *t,
                                struct spotify_err *err)
{
  json_t *doc = json_loadb(buf_cstr(&r->body), r->body.len, 0, NULL);
  json_t *access = json_object_get(doc, "access_token");
  json_t *refresh = json_object_get(doc, "refresh_token");
  json_t *scope = json_object_get(doc, "scope");
  json_t *expires = json_object_get(doc, "expires_in");
  enum ss_err rc = SS_OK;
  memset(t, 0, sizeof *t);
  if (!json_is_string(access) || !json_string_length(access) ||
      json_string_length(access) >= sizeof t->access_token ||
      (refresh && !json_is_null(refresh) &&
       (!json_is_string(refresh) ||
        json_string_length(refresh) >= sizeof t->refresh_token))) {
    set_err(err, SPOTIFY_MALFORMED, r->status,
            "Spotify token endpoint sent a malformed reply");
    rc = SS_EPROTO;
  } else {
    snprintf(t->access_token, sizeof t->access_token, "%s",
             json_string_value(access));
    if (json_is_string(refresh))
      snprintf(t->refresh_token, sizeof t->refresh_token, "%s",
               json_string_value(refresh));
    if (json_is_string(scope))
      remote_text(t->scope, sizeof t->scope, json_string_value(scope));
    t->expires_in_s = json_is_integer(expires) ? json_integer_value(expires)
                                               : 3600;
    if (t->expires_in_s < 60 || t->expires_in_s > 86400)
      t->expires_in_s = t->expires_in_s < 60 ? 60 : 86400;
  }
  json_decref(doc);
  return rc;
}

static enum ss_err token_failure(const struct http_reply *r,
                                 struct spotify_err *err)
{
  char msg[REMOTE_TEXT_MAX + 1], code[64];
  error_text(&r->body, msg, sizeof msg, code, sizeof code);
  if (!strcmp(code, "invalid_grant")) {
    set_err(err, SPOTIFY_REAUTH, r->status, "%s",
            msg[0] ? msg : "invalid_grant");
  } else if (!strcmp(code, "invalid_client")) {
    set_err(err, SPOTIFY_CONFIG, r->status,
            "Spotify rejected the app (invalid_client: %s); check the "
            "setting spotify.client_id (and spotify.client_secret)",
            msg[0] ? msg : "Invalid client");
  } else if (r->status >= 500 || r->status == 429) {
    set_err(err, SPOTIFY_UNAVAILABLE, r->status,
            "Spotify token endpoint answered HTTP %ld", r->status);
  } else {
    set_err(err, SPOTIFY_REFUSED, r->status,
            "Spotify token endpoint refused the request (HTTP %ld%s%s%s%s)",
            r->status, code[0] ? ": " : "", code, msg[0] ? ": " : "", msg);
  }
  return err_code(err->kind);
}

/* 200: the tokens; anything else: the flat OAuth error. */
static void token_reply(const struct http_reply *r, struct spotify_tokens *out,
                        struct spotify_err *err)
{
  if (r->status == 200)
    parse_tokens(r, out, err);
  else
    token_failure(r, err);
}

enum ss_err spotify_token_reply_parse(long status, const char *body,
                                      size_t len, struct spotify_tokens *out,
                                      struct spotify_err *err)
{
  struct http_reply r;
  memset(&r, 0, sizeof r);
  memset(err, 0, sizeof *err);
  r.status = status;
  buf_init(&r.body, len + 1);
  buf_append(&r.body, body, len);
  token_reply(&r, out, err);
  buf_free(&r.body);
  return err_code(err->kind);
}

enum ss_err spotify_token_post(struct spotify_client *c, const char *grant,
                               struct spotify_tokens *out,
                               struct spotify_err *err)
{
  char id[SETTING_STR_MAX], secret[SETTING_STR_MAX];
  char base[SETTING_STR_MAX], url[SETTING_STR_MAX + 16];
  char basic[2 * SETTING_STR_MAX + 8], auth[2 * SETTING_STR_MAX + 64];
  memset(err, 0, sizeof *err);
  client_creds(id, secret);
  settings_str(S_SPOTIFY_ACCOUNTS_URL, base, sizeof base);
  if (!id[0] || !base[0]) {
    set_err(err, SPOTIFY_CONFIG, 0, "%s is not configured",
            !id[0] ? "spotify.client_id" : "spotify.accounts_url");
    return SS_ESTATE;
  }
  size_t bl = strlen(base);
  if (bl && base[bl - 1] == '/')
    base[bl - 1] = '\0';
  snprintf(url, sizeof url, "%s/api/token", base);
  struct buf body;
  buf_init(&body, 16 * 1024);
  buf_puts(&body, grant);
  const char *headers[4] = {"Content-Type: application/x-www-form-urlencoded",
                            "Accept: application/json", NULL, NULL};
  if (secret[0]) {
    snprintf(basic, sizeof basic, "%s:%s", id, secret);
    char b64[sizeof auth - 32];
    spotify_base64((const unsigned char *)basic, strlen(basic), false, b64,
                   sizeof b64);
    snprintf(auth, sizeof auth, "Authorization: Basic %s", b64);
    headers[2] = auth;
    memset(basic, 0, sizeof basic);
    memset(b64, 0, sizeof b64);
  } else {
    /* A public (PKCE) client identifies itself in the body. */
    buf_puts(&body, "&client_id=");
    spotify_url_encode(&body, id);
  }
  memset(secret, 0, sizeof secret);
  if (!buf_ok(&body)) {
    buf_free(&body);
    memset(auth, 0, sizeof auth);
    set_err(err, SPOTIFY_MALFORMED, 0, "token request too large");
    return SS_ETOOBIG;
  }
  struct http_call call = {.method = "POST",
                           .url = url,
                           .headers = headers,
                           .body = buf_cstr(&body),
                           .body_len = body.len,
                           .timeout_ms = c->timeout_ms,
                           .reply_limit = TOKEN_REPLY_MAX,
                           .cancel = c->cancel};
  struct http_reply r;
  enum ss_err rc = http_client_call(c->http, &call, &r);
  memset(auth, 0, sizeof auth);
  if (body.data)
    memset(body.data, 0, body.len);
  buf_free(&body);
  if (rc == SS_ECANCELED)
    set_err(err, SPOTIFY_CANCELED, 0, "canceled");
  else if (rc == SS_EBUSY) { /* the accounts host asked us to wait */
    set_err(err, SPOTIFY_RATE_LIMITED, 429, "Spotify accounts service: %s",
            r.error);
    err->until_ms = r.blocked_until_ms;
    err->deferred = true;
  } else if (rc == SS_ETOOBIG)
    set_err(err, SPOTIFY_MALFORMED, r.status,
            "Spotify token endpoint sent an oversized reply");
  else if (rc != SS_OK) {
    set_err(err, SPOTIFY_UNAVAILABLE, 0,
            "Spotify accounts service unreachable: %s", r.error);
    err->timed_out = rc == SS_ETIMEDOUT;
  } else
    token_reply(&r, out, err);
  http_reply_free(&r);
  return err_code(err->kind);
}

/* ---- the single-flight provider ---- */

/* invalid_client for the current app credentials holds refreshes back for
 * CONFIG_HOLD_MS; new credentials are tried at once (S.mu held). */
static bool config_hold_locked(struct spotify_err *err)
{
  if (S.hold_until_ms <= clock_wall_ms())
    return false;
  char sig[sizeof S.hold_creds];
  creds_signature(sig, sizeof sig);
  bool same = !strcmp(sig, S.hold_creds);
  memset(sig, 0, sizeof sig);
  if (!same) { /* the user changed the app credentials: try at once */
    S.hold_until_ms = 0;
    return false;
  }
  set_err(err, SPOTIFY_CONFIG, 0, "%s", S.token_error);
  err->until_ms = S.hold_until_ms;
  err->deferred = true;
  return true;
}

/* Applies the outcome of a refresh started under login_seq; S.mu held.
 * Returns true when the stored login must be written.  The Accounts
 * service answering at all is a success for the Spotify ladder; a
 * failure that says it is down climbs it (clients/backoff.h). */
static bool apply_refresh_locked(struct spotify_client *c, uint64_t seq,
                                 const struct spotify_tokens *t,
                                 struct spotify_err *err)
{
  bool changed = false;
  if (seq != S.login_seq)
    return false; /* cannot happen while refreshing; kept as a guard */
  int64_t now = clock_wall_ms();
  if (err->kind == SPOTIFY_OK) {
    snprintf(S.acc.access_token, sizeof S.acc.access_token, "%s",
             t->access_token);
    S.acc.expires_at_ms = now + t->expires_in_s * 1000;
    if (t->refresh_token[0])
      snprintf(S.acc.refresh_token, sizeof S.acc.refresh_token, "%s",
               t->refresh_token);
    if (t->scope[0])
      snprintf(S.acc.scopes, sizeof S.acc.scopes, "%s", t->scope);
    S.acc.refreshed_at_ms = now;
    S.token_error[0] = '\0';
    S.hold_until_ms = 0;
    backoff_succeeded(SVC_SPOTIFY);
    changed = true;
    log_info("spotify", "access token refreshed%s",
             t->refresh_token[0] ? " (new refresh token)" : "");
  } else if (err->kind == SPOTIFY_REAUTH) {
    snprintf(S.acc.reauth_reason, sizeof S.acc.reauth_reason, "%s", err->msg);
    backoff_succeeded(SVC_SPOTIFY);
    changed = true;
    log_warn("spotify",
             "refresh refused (invalid_grant: %s): "
             "re-authorisation required",
             S.acc.reauth_reason);
    set_err(err, SPOTIFY_REAUTH, err->status,
            "Spotify re-authorisation required: %s", S.acc.reauth_reason);
  } else if (err->kind != SPOTIFY_CANCELED &&
             !(err->kind == SPOTIFY_RATE_LIMITED && err->deferred)) {
    snprintf(S.token_error, sizeof S.token_error, "%s", err->msg);
    if (err->kind == SPOTIFY_CONFIG) {
      S.hold_until_ms = now + CONFIG_HOLD_MS;
      creds_signature(S.hold_creds, sizeof S.hold_creds);
      err->until_ms = S.hold_until_ms;
    } else {
      err->until_ms = backoff_failed(SVC_SPOTIFY, now, 0,
                                     spotify_err_reason(err), err->msg);
      c->forced = false;
    }
    log_warn("spotify", "token refresh failed: %s", err->msg);
  }
  publish_flags_locked();
  return changed;
}

/* Why no token can be handed out at all (S.mu held). */
static bool blocked_locked(struct spotify_err *err)
{
  if (!S.stored) {
    set_err(err, SPOTIFY_NOT_CONNECTED, 0, "Spotify account not connected");
    return true;
  }
  if (S.acc.reauth_reason[0]) {
    set_err(err, SPOTIFY_REAUTH, 0, "Spotify re-authorisation required: %s",
            S.acc.reauth_reason);
    return true;
  }
  return false;
}

/* Whether a refresh must wait: the invalid_client hold, or Spotify's
 * ladder unless this client is forced (S.mu held). */
static bool refresh_backing_off_locked(struct spotify_client *c,
                                       struct spotify_err *err)
{
  char when[40];
  if (config_hold_locked(err))
    return true;
  int64_t until = c->forced ? 0 : backoff_until(SVC_SPOTIFY, clock_wall_ms());
  if (!until)
    return false;
  struct backoff_state bo;
  backoff_get(SVC_SPOTIFY, &bo);
  set_err(err, SPOTIFY_UNAVAILABLE, 0, "%s; next token refresh after %s",
          S.token_error[0] ? S.token_error : bo.reason,
          spotify_fmt_time(until, when, sizeof when));
  err->until_ms = until;
  err->deferred = true;
  return true;
}
static bool wait_refresh_locked(struct spotify_client *c)
{
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  int64_t ms = c->timeout_ms + 2000;
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  while (S.refreshing)
    if (pthread_cond_timedwait(&S.cv, &S.mu, &until) != 0)
      return false;
  return true;
}

/* One refresh at the Accounts service; S.mu held on entry and exit (it
 * is dropped for the network call). */
static void refresh_locked(struct spotify_client *c, struct spotify_err *err)
{
  struct buf grant;
  struct spotify_tokens t;
  uint64_t seq = S.login_seq;
  S.refreshing = true;
  buf_init(&grant, 8 * 1024);
  buf_puts(&grant, "grant_type=refresh_token&refresh_token=");
  spotify_url_encode(&grant, S.acc.refresh_token);
  pthread_mutex_unlock(&S.mu);
  spotify_token_post(c, buf_cstr(&grant), &t, err);
  if (grant.data)
    memset(grant.data, 0, grant.len);
  buf_free(&grant);
  pthread_mutex_lock(&S.mu);
  bool changed = apply_refresh_locked(c, seq, &t, err);
  memset(&t, 0, sizeof t);
  if (changed) {
    /* Stored without the lock (status readers never wait on the store);
     * S.refreshing keeps logins, disconnects and other refreshes out. */
    struct db_spotify_account copy = S.acc;
    pthread_mutex_unlock(&S.mu);
    persist(c, &copy);
    memset(&copy, 0, sizeof copy);
    pthread_mutex_lock(&S.mu);
  }
  S.refreshing = false;
  S.refresh_seq++;
  pthread_cond_broadcast(&S.cv);
}

/*
 * Hands out an access token valid for more than threshold_ms and different
 * from `rejected` (a token the Web API just answered 401 to).  Refreshes
 * when needed; a token refreshed while we waited (by us or another caller)
 * is accepted as long as it has not expired.
 */
static enum ss_err obtain_token(struct spotify_client *c, const char *rejected,
                                int64_t threshold_ms, char *out, size_t n,
                                bool *refreshed, struct spotify_err *err)
{
  memset(err, 0, sizeof *err);
  pthread_mutex_lock(&S.mu);
  load_locked(c->db);
  uint64_t seen = S.refresh_seq;
  for (;;) {
    if (blocked_locked(err))
      break;
    int64_t now = clock_wall_ms();
    const char *tok = S.acc.access_token;
    bool usable = tok[0] && S.acc.expires_at_ms > now &&
                  !(rejected && !strcmp(rejected, tok)) &&
                  (S.acc.expires_at_ms - now > threshold_ms ||
                   S.refresh_seq != seen);
    if (usable) {
      snprintf(out, n, "%s", tok);
      break;
    }
    if (S.refreshing) {
      if (!wait_refresh_locked(c)) {
        set_err(err, SPOTIFY_UNAVAILABLE, 0,
                "timed out waiting for another token refresh");
        break;
      }
      continue;
    }
    if (refresh_backing_off_locked(c, err))
      break;
    refresh_locked(c, err);
    if (err->kind)
      break;
  }
  if (refreshed)
    *refreshed = S.refresh_seq != seen && err->kind == SPOTIFY_OK;
  pthread_mutex_unlock(&S.mu);
  return err_code(err->kind);
}

enum ss_err spotify_refresh_if_expiring(struct spotify_client *c,
                                        int64_t threshold_ms, bool *refreshed,
                                        struct spotify_err *err)
{
  char token[SPOTIFY_TOKEN_MAX];
  bool did = false;
  enum ss_err rc = obtain_token(c, NULL, threshold_ms, token, sizeof token,
                                &did, err);
  memset(token, 0, sizeof token);
  if (refreshed)
    *refreshed = did;
  return rc;
}

/* ---- login store ---- */

enum ss_err spotify_account_store(struct spotify_client *c,
                                  const struct spotify_tokens *t,
                                  const char *user_id,
                                  const char *display_name)
{
  struct db_spotify_account a;
  memset(&a, 0, sizeof a);
  int64_t now = clock_wall_ms();
  snprintf(a.access_token, sizeof a.access_token, "%s", t->access_token);
  snprintf(a.refresh_token, sizeof a.refresh_token, "%s", t->refresh_token);
  a.expires_at_ms = now + t->expires_in_s * 1000;
  snprintf(a.scopes, sizeof a.scopes, "%s", t->scope);
  a.authorised_at_ms = now;
  a.refreshed_at_ms = now;
  remote_text(a.user_id, sizeof a.user_id, user_id);
  snprintf(a.display_name, sizeof a.display_name, "%s",
           display_name ? display_name : "");
  pthread_mutex_lock(&S.mu);
  wait_no_refresh_locked();
  enum ss_err rc = persist(c, &a);
  if (rc == SS_OK) {
    S.acc = a;
    S.loaded = S.stored = true;
    S.login_seq++;
    S.hold_until_ms = 0;
    backoff_succeeded(SVC_SPOTIFY); /* the code exchange just worked */
    S.token_error[0] = '\0';
  }
  publish_flags_locked();
  pthread_mutex_unlock(&S.mu);
  memset(&a, 0, sizeof a);
  return rc;
}

enum ss_err spotify_account_forget(struct spotify_client *c)
{
  struct db *own = c->db ? NULL : open_existing_db();
  struct db *use = c->db ? c->db : own;
  pthread_mutex_lock(&S.mu);
  wait_no_refresh_locked();
  enum ss_err rc = use ? db_spotify_account_delete(use) : SS_EIO;
  if (rc == SS_OK) {
    memset(&S.acc, 0, sizeof S.acc);
    S.loaded = true;
    S.stored = false;
    S.login_seq++;
    S.hold_until_ms = 0;
    S.token_error[0] = '\0';
  }
  publish_flags_locked();
  pthread_mutex_unlock(&S.mu);
  db_close(own);
  return rc;
}

/* ---- the Web API ---- */

/* The request URL for target; only targets below spotify.api_url. */
static enum ss_err api_url(const char *target, char *out, size_t n,
                           struct spotify_err *err)
{
  char base[SETTING_STR_MAX];
  settings_str(S_SPOTIFY_API_URL, base, sizeof base);
  size_t bl = strlen(base);
  while (bl && base[bl - 1] == '/')
    base[--bl] = '\0';
  for (const char *p = target; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      set_err(err, SPOTIFY_MALFORMED, 0, "invalid link in a Spotify reply");
      return SS_EPROTO;
    }
  if (!bl) {
    set_err(err, SPOTIFY_CONFIG, 0, "spotify.api_url is not configured");
    return SS_ESTATE;
  }
  bool absolute = !strncmp(target, "http://", 7) ||
                  !strncmp(target, "https://", 8);
  if (absolute) {
    char after = target[strncmp(target, base, bl) ? 0 : bl];
    if (strncmp(target, base, bl) || (after && after != '/' && after != '?')) {
      set_err(err, SPOTIFY_MALFORMED, 0,
              "a Spotify reply linked outside spotify.api_url");
      return SS_EPROTO;
    }
    if ((size_t)snprintf(out, n, "%s", target) >= n) {
      set_err(err, SPOTIFY_MALFORMED, 0, "overlong link in a Spotify reply");
      return SS_EPROTO;
    }
    return SS_OK;
  }
  if ((size_t)snprintf(out, n, "%s%s%s", base, target[0] == '/' ? "" : "/",
                       target) >= n) {
    set_err(err, SPOTIFY_MALFORMED, 0, "overlong Spotify request");
    return SS_EPROTO;
  }
  return SS_OK;
}

/* "/me/playlists" of a request URL, for messages. */
static void short_path(const char *url, char *out, size_t n)
{
  char base[SETTING_STR_MAX];
  size_t bl = settings_str(S_SPOTIFY_API_URL, base, sizeof base);
  while (bl && base[bl - 1] == '/')
    bl--;
  const char *p = strncmp(url, base, bl) ? url : url + bl;
  size_t len = strcspn(p, "?");
  if (len >= n)
    len = n - 1;
  memcpy(out, p, len);
  out[len] = '\0';
}

/* err for a call refused because the host asked us to wait. */
static void rate_limited(struct spotify_err *err, int64_t until,
                         const char *reason, bool deferred)
{
  char when[40];
  set_err(err, SPOTIFY_RATE_LIMITED, 429, "rate limited until %s (%s)",
          spotify_fmt_time(until, when, sizeof when),
          reason[0] ? reason : "API rate limit exceeded");
  err->until_ms = until;
  err->deferred = deferred;
}

/* Refuses calls to url while its host's Retry-After block (shared with
 * every other client, see http_client.h) lasts, or, unless the client is
 * forced, Spotify's backoff ladder (clients/backoff.h). */
static bool host_blocked(const struct spotify_client *c, const char *url,
                         struct spotify_err *err)
{
  char when[40], reason[160];
  int64_t until = http_host_blocked_until(url, reason, sizeof reason);
  if (until) {
    rate_limited(err, until, reason, true);
    return true;
  }
  if (c->forced || !(until = backoff_until(SVC_SPOTIFY, clock_wall_ms())))
    return false;
  struct backoff_state bo;
  backoff_get(SVC_SPOTIFY, &bo);
  set_err(err, SPOTIFY_UNAVAILABLE, 0, "%s; next attempt after %s", bo.reason,
          spotify_fmt_time(until, when, sizeof when));
  err->until_ms = until;
  err->deferred = true;
  return true;
}

/* A failure that says Spotify is down (5xx, no answer, 429) climbs the
 * ladder; this client is forced no more.  Returns when to try again. */
static int64_t ladder_failed(struct spotify_client *c, int64_t retry_after_ms,
                             enum ss_reason code, const char *msg)
{
  c->forced = false;
  return backoff_failed(SVC_SPOTIFY, clock_wall_ms(), retry_after_ms, code,
                        msg);
}

/* A 429: the host is blocked until Retry-After (30 s without one) for
 * every caller, with the reason Spotify gave; the ladder climbs (a longer
 * Retry-After wins). */
static void note_rate_limit(struct spotify_client *c, const char *url,
                            const struct http_reply *r,
                            struct spotify_err *err)
{
  char msg[REMOTE_TEXT_MAX + 1], code[64], reason[160];
  error_text(&r->body, msg, sizeof msg, code, sizeof code);
  int64_t until = r->blocked_until_ms;
  size_t digits = strspn(r->retry_after, "0123456789");
  bool zero = digits && !r->retry_after[digits]; /* "0": retry soon */
  if (!until)
    until = clock_wall_ms() + (zero ? 1 : RETRY_AFTER_DEFAULT_S) * 1000;
  snprintf(reason, sizeof reason, "%s",
           !strcmp(code, "QUOTA_EXCEEDED") ? "quota exceeded (QUOTA_EXCEEDED)"
           : msg[0]                        ? msg
                                           : "API rate limit exceeded");
  http_host_block(url, until, reason);
  until = http_host_blocked_until(url, NULL, 0);
  rate_limited(err, until ? until : r->blocked_until_ms, reason, false);
  ladder_failed(c, err->until_ms, SS_R_RATE_LIMITED, err->msg);
  log_warn("spotify", "HTTP 429: Web API paused for %lld s",
           (long long)((err->until_ms - clock_wall_ms() + 999) / 1000));
}

static void note_unavailable(struct spotify_client *c, struct spotify_err *err,
                             bool timed_out, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void note_unavailable(struct spotify_client *c, struct spotify_err *err,
                             bool timed_out, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  err->kind = SPOTIFY_UNAVAILABLE;
  err->timed_out = timed_out;
  err->until_ms = ladder_failed(c, 0, spotify_err_reason(err), err->msg);
}

static enum ss_err parse_object(const struct http_reply *r, const char *path,
                                json_t **out, struct spotify_err *err)
{
  json_error_t je;
  json_t *doc = json_loadb(buf_cstr(&r->body), r->body.len, 0, &je);
  if (!doc) {
    char text[80];
    remote_text(text, sizeof text, je.text);
    set_err(err, SPOTIFY_MALFORMED, r->status,
            "malformed reply from %s: %s (at byte %zu)", path, text,
            (size_t)je.position);
    return SS_EPROTO;
  }
  if (!json_is_object(doc)) {
    json_decref(doc);
    set_err(err, SPOTIFY_MALFORMED, r->status,
            "malformed reply from %s: not a JSON object", path);
    return SS_EPROTO;
  }
  *out = doc;
  return SS_OK;
}

/* Turns one HTTP outcome into err; returns true when the caller should
 * retry once with a fresh token (401). */
static bool classify(struct spotify_client *c, enum ss_err rc,
                     const struct http_reply *r, const char *url,
                     const char *path, bool may_retry, struct spotify_err *err)
{
  char msg[REMOTE_TEXT_MAX + 1], reason[160];
  if (rc == SS_ECANCELED) {
    set_err(err, SPOTIFY_CANCELED, 0, "canceled");
  } else if (rc == SS_ETOOBIG) {
    set_err(err, SPOTIFY_MALFORMED, r->status,
            "reply from %s larger than %zu KiB", path, r->body.limit / 1024);
  } else if (rc == SS_EBUSY) { /* blocked meanwhile by another caller */
    http_host_blocked_until(url, reason, sizeof reason);
    rate_limited(err, r->blocked_until_ms, reason, true);
  } else if (rc != SS_OK) {
    note_unavailable(c, err, rc == SS_ETIMEDOUT,
                     "Spotify Web API unreachable (%s: %s)", path, r->error);
  } else if (r->status == 401 && may_retry) {
    return true;
  } else if (r->status == 429) {
    note_rate_limit(c, url, r, err);
  } else if (r->status >= 500) {
    err->status = r->status;
    note_unavailable(c, err, false, "Spotify Web API answered HTTP %ld on %s",
                     r->status, path);
  } else {
    backoff_succeeded(SVC_SPOTIFY); /* it answered: not down */
    error_text(&r->body, msg, sizeof msg, NULL, 0);
    set_err(err, SPOTIFY_REFUSED, r->status, "%s: HTTP %ld%s%s", path,
            r->status, msg[0] ? " " : "", msg);
  }
  return false;
}

static enum ss_err get_impl(struct spotify_client *c, const char *target,
                            const char *fixed_token, json_t **out,
                            struct spotify_err *err)
{
  char url[URL_MAX], path[128], token[SPOTIFY_TOKEN_MAX];
  char auth[SPOTIFY_TOKEN_MAX + 32];
  *out = NULL;
  memset(err, 0, sizeof *err);
  if (api_url(target, url, sizeof url, err) != SS_OK ||
      host_blocked(c, url, err))
    return err_code(err->kind);
  short_path(url, path, sizeof path);
  bool retried = false;
  enum ss_err rc;
  for (;;) {
    if (fixed_token)
      snprintf(token, sizeof token, "%s", fixed_token);
    else if (obtain_token(c, retried ? token : NULL, ACCESS_MARGIN_MS, token,
                          sizeof token, NULL, err) != SS_OK)
      break;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    struct http_call call = {.url = url,
                             .headers = headers,
                             .timeout_ms = c->timeout_ms,
                             .reply_limit = c->reply_limit,
                             .cancel = c->cancel};
    struct http_reply r;
    rc = http_client_call(c->http, &call, &r);
    memset(auth, 0, sizeof auth);
    if (rc == SS_OK && r.status >= 200 && r.status < 300) {
      backoff_succeeded(SVC_SPOTIFY);
      parse_object(&r, path, out, err);
    } else if (classify(c, rc, &r, url, path, !retried && !fixed_token, err)) {
      retried = true;
      http_reply_free(&r);
      log_info("spotify", "HTTP 401 on %s: refreshing the token once", path);
      continue;
    }
    http_reply_free(&r);
    break;
  }
  memset(token, 0, sizeof token);
  return err_code(err->kind);
}

enum ss_err spotify_get(struct spotify_client *c, const char *path_or_url,
                        json_t **out, struct spotify_err *err)
{
  return get_impl(c, path_or_url, NULL, out, err);
}

enum ss_err spotify_get_as(struct spotify_client *c, const char *path,
                           const char *access_token, json_t **out,
                           struct spotify_err *err)
{
  return get_impl(c, path, access_token, out, err);
}

/* ---- the probe ---- */

enum spotify_verdict spotify_probe_token(long timeout_ms,
                                         const atomic_bool *cancel,
                                         char *reason, size_t n)
{
  if (!spotify_connected()) {
    snprintf(reason, n, "no account connected");
    return SPOTIFY_TOKEN_UNKNOWN;
  }
  struct spotify_client_opts o = {.cancel = cancel,
                                  .timeout_ms = timeout_ms,
                                  .reply_limit = 64 * 1024};
  struct spotify_client *c = spotify_client_new(&o);
  json_t *me = NULL;
  struct spotify_err err;
  enum ss_err rc = spotify_get(c, "/me", &me, &err);
  enum spotify_verdict verdict;
  if (rc == SS_OK) {
    const char *name = json_string_value(json_object_get(me, "display_name"));
    char shown[96];
    remote_text(shown, sizeof shown, name ? name : "");
    snprintf(reason, n, "token accepted%s%s%s", shown[0] ? " (" : "", shown,
             shown[0] ? ")" : "");
    verdict = SPOTIFY_TOKEN_ACCEPTED;
  } else if (err.kind == SPOTIFY_REFUSED || err.kind == SPOTIFY_REAUTH ||
             err.kind == SPOTIFY_CONFIG) {
    snprintf(reason, n, "token refused: %s", err.msg);
    verdict = SPOTIFY_TOKEN_REFUSED;
  } else {
    snprintf(reason, n, "%s", err.msg);
    verdict = SPOTIFY_TOKEN_UNKNOWN;
  }
  json_decref(me);
  spotify_client_free(c);
  return verdict;
}
