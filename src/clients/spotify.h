/*
 * spotify.h - the one path every Spotify call goes through.
 *
 * Access tokens: one process-wide, single-flight provider.  A call that
 * needs a token gets the stored one while it is valid; when it is about to
 * expire (or a Web API call was answered 401) exactly one thread refreshes
 * it at the Accounts service while the others wait for that result.  The
 * new token is persisted (spotify_account) before anyone uses it.  A reply
 * without refresh_token keeps the stored one; a reply with one replaces it.
 * invalid_grant marks the login as needing re-authorisation and nothing
 * refreshes again until a new login; invalid_client holds refreshes with
 * the same app credentials back for 10 min (new credentials: at once).
 *
 * Web API calls (spotify_get): GET with Bearer auth, a capped reply parsed
 * by jansson, one refresh-and-retry on 401.  A 429 blocks the Web API's
 * host for every caller until Retry-After (30 s without one) has passed:
 * the per-host blocked-until of http_client.h, which the prober and every
 * other client obey too (visible in spotify_status).  Nested Web API errors
 * ({"error":{"status","message"}}) and flat OAuth errors
 * ({"error","error_description"}) are both understood.
 *
 * Backoff: Spotify is one service on the shared ladder of
 * clients/backoff.h (30 s, 2 min, ... 6 h).  A token refresh or Web API
 * call that finds Spotify down (5xx, timeout, no answer, 429 with its
 * Retry-After) climbs it; any answer steps it back to zero.  While it
 * lasts calls are refused without a request (err.deferred), except by a
 * client made with opts.forced (run now) until that client's first
 * failure.
 *
 * Secrets (client secret, tokens) never appear in logs, errors or status.
 *
 * Threading: the provider and status are process-wide and thread-safe.  A
 * struct spotify_client (one curl handle) belongs to one thread; it uses
 * that thread's struct db, or opens the daemon's database for a moment when
 * it has none (probes, HTTP handlers).
 */
#ifndef SS_SPOTIFY_H
#define SS_SPOTIFY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_spotify.h"

#define SPOTIFY_REPLY_MAX (512 * 1024)
#define SPOTIFY_TIMEOUT_MS 15000
/* What the sync needs (docs/INTEGRATIONS.md, Spotify Accounts). */
#define SPOTIFY_SCOPES                                                        \
  "user-follow-read user-library-read playlist-read-private "                 \
  "playlist-read-collaborative user-read-private"
/* Warn this long before the refresh token's 6-month lifetime ends. */
#define SPOTIFY_REFRESH_WARN_MS (14LL * 86400 * 1000)
#define SPOTIFY_MSG_MAX 256

enum spotify_fail {
  SPOTIFY_OK = 0,
  SPOTIFY_NOT_CONNECTED, /* no login stored */
  SPOTIFY_REAUTH,        /* invalid_grant: the user must log in again */
  SPOTIFY_CONFIG,        /* invalid_client or no client id */
  SPOTIFY_RATE_LIMITED,  /* 429, or blocked by an earlier 429 */
  SPOTIFY_UNAVAILABLE,   /* 5xx, timeout, network, or backing off */
  SPOTIFY_REFUSED,       /* another 4xx (403 not owned, 404, 400 ...) */
  SPOTIFY_MALFORMED,     /* not JSON, wrong shape, too large */
  SPOTIFY_CANCELED       /* the cancel flag was raised */
};

struct spotify_err {
  enum spotify_fail kind;
  long status;      /* HTTP status, 0 when none */
  int64_t until_ms; /* RATE_LIMITED / UNAVAILABLE: when to try again */
  bool deferred;    /* refused before any request: blocked or backing off */
  bool timed_out;   /* UNAVAILABLE because the call timed out */
  char msg[SPOTIFY_MSG_MAX]; /* plain words, never a secret */
};

/* The machine reason of a failure (core/err.h): reauth and a missing
 * login are auth, a bad client id not_configured, 429 rate_limited, 5xx
 * and network connection (timeout when the call timed out), a refused
 * request auth for 401/403 else protocol, a malformed reply protocol. */
enum ss_reason spotify_err_reason(const struct spotify_err *e);

struct spotify_client_opts {
  struct db *db;             /* the calling thread's connection, or NULL */
  const atomic_bool *cancel; /* optional */
  long timeout_ms;           /* per request; 0 = SPOTIFY_TIMEOUT_MS */
  size_t reply_limit;        /* 0 = SPOTIFY_REPLY_MAX */
  bool forced;               /* run now: past the backoff ladder until the
                              * first failure (never past a Retry-After) */
};

struct spotify_client;

struct spotify_client *spotify_client_new(const struct spotify_client_opts *o);
void spotify_client_free(struct spotify_client *c);

/*
 * GET a Web API path ("/me/playlists?limit=50", appended to spotify.api_url)
 * or an absolute URL below spotify.api_url (a paging "next"; any other host
 * is refused).  On SS_OK *out is the parsed JSON object (caller decrefs);
 * otherwise err says why and the return value is an SS_E* code.
 */
enum ss_err spotify_get(struct spotify_client *c, const char *path_or_url,
                        json_t **out, struct spotify_err *err);

/* Refreshes the access token when it expires within threshold_ms (or is
 * missing), single-flight.  *refreshed: whether a refresh happened (by this
 * or a concurrent caller). */
enum ss_err spotify_refresh_if_expiring(struct spotify_client *c,
                                        int64_t threshold_ms, bool *refreshed,
                                        struct spotify_err *err);

/* ---- used by the login (spotify_auth.c) ---- */

struct spotify_tokens {
  char access_token[SPOTIFY_TOKEN_MAX];
  char refresh_token[SPOTIFY_TOKEN_MAX]; /* "" when the reply had none */
  char scope[512];
  int64_t expires_in_s;
};

/* POSTs a grant (form body without client credentials, e.g.
 * "grant_type=authorization_code&code=...") to {accounts_url}/api/token
 * with the configured client id (and secret, as Basic auth). */
enum ss_err spotify_token_post(struct spotify_client *c, const char *grant,
                               struct spotify_tokens *out,
                               struct spotify_err *err);
/* What spotify_token_post() makes of a reply with this status and body
 * (tests and fuzzing): 200 parses the tokens, anything else the flat OAuth
 * error.  Returns what spotify_token_post() would; err says why. */
enum ss_err spotify_token_reply_parse(long status, const char *body,
                                      size_t len, struct spotify_tokens *out,
                                      struct spotify_err *err);
/* GET with an explicit access token (no refresh, no retry). */
enum ss_err spotify_get_as(struct spotify_client *c, const char *path,
                           const char *access_token, json_t **out,
                           struct spotify_err *err);
/* Stores a new login (authorised now) and makes it the current one. */
enum ss_err spotify_account_store(struct spotify_client *c,
                                  const struct spotify_tokens *t,
                                  const char *user_id,
                                  const char *display_name);
/* Forgets the login (tokens deleted; the synced library stays). */
enum ss_err spotify_account_forget(struct spotify_client *c);

/* ---- status: any thread, cheap ---- */

struct spotify_status {
  bool stored;    /* a login is stored */
  bool connected; /* stored and not awaiting re-authorisation */
  char reauth_reason[256];
  char display_name[256];
  char user_id[SPOTIFY_ID_MAX];
  char scopes[512];
  int64_t access_expires_ms;
  int64_t authorised_ms;
  int64_t refreshed_ms;
  int64_t refresh_expires_ms; /* authorised + 6 months */
  int64_t blocked_until_ms;   /* Web API blocked by a 429 until then */
  char blocked_reason[160];
  int64_t backoff_until_ms;          /* Spotify's ladder (clients/backoff.h) */
  char token_error[SPOTIFY_MSG_MAX]; /* the last failed refresh */
};

void spotify_status(struct spotify_status *out);
bool spotify_connected(void);
/* Wall ms until which the Web API is blocked (0 = not blocked). */
int64_t spotify_blocked_until(void);
/* The refresh token's end of life for a consent given at authorised_ms
 * (six calendar months later, UTC). */
int64_t spotify_refresh_expires_ms(int64_t authorised_ms);
/* Formats a wall time as "2026-03-01 12:34:56 UTC" into out. */
const char *spotify_fmt_time(int64_t wall_ms, char *out, size_t n);

/* The service probe's verdict on the stored token. */
enum spotify_verdict {
  SPOTIFY_TOKEN_UNKNOWN, /* could not tell (rate limited, unreachable,
                            not connected) */
  SPOTIFY_TOKEN_REFUSED, /* refused (reason says why) */
  SPOTIFY_TOKEN_ACCEPTED
};
/* The service probe: checks that the Web API accepts the stored token
 * (GET /me); reason says what was seen. */
enum spotify_verdict spotify_probe_token(long timeout_ms,
                                         const atomic_bool *cancel,
                                         char *reason, size_t n);

/* ---- helpers shared with spotify_auth.c ---- */

/* Percent-encodes s (RFC 3986 unreserved kept) onto out. */
void spotify_url_encode(struct buf *out, const char *s);
/* Base64 (url: the URL-safe alphabet without padding) of n bytes into
 * out; SS_ETOOBIG when out is too small. */
enum ss_err spotify_base64(const unsigned char *in, size_t n, bool url,
                           char *out, size_t cap);

/* Tests: forgets the cached login, blocks (every host's) and backoffs (not
 * the DB). */
void spotify_state_reset(void);

#endif
