/*
 * http_client.h - outbound HTTP for workers and probes (libcurl).
 *
 * One struct http_client wraps one curl easy handle, so connections are
 * reused between calls of the same owner.  A client belongs to one thread
 * at a time (curl's rule).  Every call has a total timeout, a capped reply
 * body and an optional cancel flag checked while the transfer runs, so a
 * shutdown or disable interrupts it within a fraction of a second.
 *
 * Return value: SS_OK when an HTTP response arrived (whatever its status),
 * SS_ENET on transport errors, SS_ETIMEDOUT when timeout_ms passed,
 * SS_ETOOBIG when the body exceeded its cap (a Content-Length above the cap is
 * refused before any body is read), SS_ECANCELED when the cancel flag was
 * raised, SS_EBUSY when the host asked us to wait (below) and no request was
 * sent.  The reason is in reply->error.  With follow_redirects at most 5
 * redirects are followed, to http and https only (reply->bad_redirect
 * otherwise); the captured headers are those of the last response.  Call
 * curl_global_init() once before threads.
 *
 * Retry-After, for the whole process: one "blocked until" per host
 * (scheme://host:port).  A 429 or 503 reply with a Retry-After header
 * (seconds or an HTTP date; capped at a day) blocks its host until then;
 * every call to a blocked host, from any client (prober, workers,
 * handlers), returns SS_EBUSY at once with reply->blocked_until_ms and
 * "rate limited until ..." in reply->error.  A client with its own rule
 * for a 429 without the header (Spotify: 30 s) adds it with
 * http_host_block().  The table is thread-safe and small (oldest entries
 * are reused).
 */
#ifndef SS_HTTP_CLIENT_H
#define SS_HTTP_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct http_client;

struct http_call {
  const char *method; /* default "GET" */
  const char *url;
  const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
  const char *body;           /* request body or NULL */
  size_t body_len;
  long timeout_ms;    /* total; default 10 s */
  size_t reply_limit; /* body cap; default 1 MiB */
  bool follow_redirects;
  const atomic_bool *cancel; /* optional */
};

struct http_reply {
  long status; /* 0 when no response */
  struct buf body;
  char content_type[128];
  char location[1024];
  char retry_after[32];
  char content_length[32]; /* as announced, "" when none */
  char error[256];         /* transport error text, "" on success */
  bool bad_redirect;       /* refused: too many redirects or not http(s) */
  long elapsed_ms;
  int64_t blocked_until_ms; /* wall ms the host is blocked until (this
                               reply's Retry-After, or SS_EBUSY), else 0 */
};

/* user_agent is copied.  The caller frees with http_client_free(). */
struct http_client *http_client_new(const char *user_agent);
void http_client_free(struct http_client *c);

/* Performs the call; reply must be released with http_reply_free(). */
enum ss_err http_client_call(struct http_client *c,
                             const struct http_call *call,
                             struct http_reply *reply);
void http_reply_free(struct http_reply *reply);

/* Wall ms until which url's host is blocked, 0 when it is not; the reason
 * ("HTTP 429", or what a client set) is copied into reason (may be NULL). */
int64_t http_host_blocked_until(const char *url, char *reason, size_t n);
/* Blocks url's host until until_ms (a later block already set stays) and
 * sets the reason shown while it lasts. */
void http_host_block(const char *url, int64_t until_ms, const char *reason);
/* Tests: forgets every block. */
void http_host_blocks_reset(void);

/* The User-Agent soulspotd sends (MusicBrainz requires app/version and a
 * contact); written into out. */
void http_client_user_agent(char *out, size_t n, const char *contact);

#endif
