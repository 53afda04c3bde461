/*
 * notify.h - notifications to a JSON webhook, ntfy and Gotify.
 *
 * Producers (unit state changes through main, the download poll, the
 * watchlist, Token Refresh) call notify_event(), which never blocks: it
 * copies the event into a bounded queue (NOTIFY_QUEUE_MAX) and returns;
 * when the queue is full the event is dropped and counted.  One sender
 * thread (started and stopped by main, like the prober) sends each event
 * to every configured target (notify.webhook_url, notify.ntfy_url,
 * notify.gotify_url), one call each with a total timeout
 * (notify.timeout_seconds), no redirects followed and no retry: a failure
 * (transport error, timeout, a status other than 2xx, a redirect) is
 * logged once, counted and shown in the target's status.
 *
 * Rate limit and digest, per target: at most NOTIFY_MAX_PER_WINDOW
 * messages per NOTIFY_WINDOW_MS.  Events past that (and every event while
 * a digest is pending) are folded into one digest - counts per event kind
 * and the first NOTIFY_DIGEST_TITLES titles - sent as soon as the window
 * has room again.  A bad night thus sends a handful of messages and one
 * digest, not a thousand.  "Send test" (notify_test) bypasses the limit.
 *
 * Each event kind group can be switched off (notify.on_*).  Secrets (the
 * webhook URL, the tokens) are never logged or returned; log lines name
 * the target only.
 *
 * Threading: notify_start/notify_stop: main thread only.  notify_event,
 * notify_unit_state, notify_test and notify_status: any thread.  The pure
 * helpers (notify_format, notify_limit_*) touch only their arguments.
 */
#ifndef SS_NOTIFY_H
#define SS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum notify_kind {
  NOTIFY_UNIT_ERROR,        /* a unit entered error */
  NOTIFY_UNIT_RECOVERED,    /* a unit left error */
  NOTIFY_DOWNLOAD_IMPORTED, /* a download request completed */
  NOTIFY_DOWNLOAD_FAILED,   /* a download request failed for good */
  NOTIFY_RELEASE_WANTED,    /* the watchlist wanted new releases */
  NOTIFY_SPOTIFY_LOGIN,     /* the Spotify login needs renewal (or soon) */
  NOTIFY_TEST,              /* "Send test" */
  NOTIFY_DIGEST,            /* events folded by the rate limit */
  NOTIFY__KINDS
};

enum notify_target {
  NOTIFY_WEBHOOK,
  NOTIFY_NTFY,
  NOTIFY_GOTIFY,
  NOTIFY__TARGETS
};

#define NOTIFY_TITLE_MAX 200
#define NOTIFY_BODY_MAX 1200
#define NOTIFY_QUEUE_MAX 64
#define NOTIFY_WINDOW_MS (10 * 60 * 1000)
#define NOTIFY_MAX_PER_WINDOW 5
#define NOTIFY_DIGEST_TITLES 5
#define NOTIFY_ERROR_MAX 256

/* "unit_error", "unit_recovered", "download_imported", "download_failed",
 * "release_wanted", "spotify_login", "test", "digest". */
const char *notify_kind_name(enum notify_kind k);
/* "webhook", "ntfy", "gotify". */
const char *notify_target_name(enum notify_target t);
/* Target by name; -1 when unknown. */
int notify_target_lookup(const char *name);

enum ss_err notify_start(void);
void notify_stop(void);

/* Queues an event for every configured target (copied, truncated to the
 * caps).  A no-op before notify_start, when no target is set or the kind
 * is switched off; a full queue drops it (counted).  Never blocks. */
void notify_event(enum notify_kind kind, const char *title, const char *body);
/* A unit entered (error) or left error: label, its last_error and the
 * reason's name (core/err.h) make the message. */
void notify_unit_state(const char *label, bool error, const char *last_error,
                       enum ss_reason reason);
/* Queues a test message for one target: SS_OK, SS_ESTATE (not
 * configured, or not started), SS_EBUSY (queue full). */
enum ss_err notify_test(enum notify_target t);

struct notify_target_status {
  bool configured;
  uint64_t sent, failed;
  bool has_last; /* a send was attempted since start-up */
  bool last_ok;
  bool last_test;                    /* the last attempt was "Send test" */
  int64_t last_ms;                   /* wall clock of the last attempt */
  bool test_pending;                 /* a test is queued or being sent */
  char last_error[NOTIFY_ERROR_MAX]; /* "" when it was sent */
  char last_title[NOTIFY_TITLE_MAX];
};

/* Copies the status of every target and the dropped-event count. */
void notify_status(struct notify_target_status out[NOTIFY__TARGETS],
                   uint64_t *dropped);

/* ---- pure helpers (tests) ---- */

struct notify_msg {
  enum notify_kind kind;
  char title[NOTIFY_TITLE_MAX];
  char body[NOTIFY_BODY_MAX];
  int64_t at_ms; /* wall clock */
};

#define NOTIFY_URL_MAX 1100
#define NOTIFY_HEADERS 6
#define NOTIFY_HEADER_MAX 640

/* One outgoing POST.  headers[] is NULL-terminated, pointing into hbuf. */
struct notify_http {
  char url[NOTIFY_URL_MAX];
  char hbuf[NOTIFY_HEADERS][NOTIFY_HEADER_MAX];
  const char *headers[NOTIFY_HEADERS + 1];
  struct buf body; /* owned; released by notify_http_free */
};

/*
 * Builds the request for target t (url and token as set; token may be
 * ""):
 *   webhook  POST url, application/json
 *            {"source":"soulspotd","event":kind,"title","message","at"}
 *   ntfy     POST url (server/topic), text body, headers Title (RFC 2047
 *            base64 when not plain ASCII), Priority (4 for an error, a
 *            failure or a login warning, else 3), Tags, and
 *            Authorization: Bearer token when a token is set
 *   gotify   POST url/message, X-Gotify-Key: token, application/json
 *            {"title","message","priority"} (8 resp. 5)
 * Control characters never reach a header.  SS_OK, or SS_EINVAL with the
 * reason in err when the target cannot be called (gotify without token).
 */
enum ss_err notify_format(enum notify_target t, const struct notify_msg *m,
                          const char *url, const char *token,
                          struct notify_http *out, char *err, size_t errlen);
void notify_http_free(struct notify_http *h);

struct notify_limiter {
  int64_t sent_ms[NOTIFY_MAX_PER_WINDOW]; /* monotonic send times */
  bool used[NOTIFY_MAX_PER_WINDOW];
  uint32_t folded[NOTIFY__KINDS]; /* events in the pending digest */
  uint32_t folded_total;
  size_t n_titles;
  char titles[NOTIFY_DIGEST_TITLES][NOTIFY_TITLE_MAX];
};

/* Offers m at monotonic now: true when it may be sent (a slot is taken),
 * false when it was folded into the digest. */
bool notify_limit_offer(struct notify_limiter *l, int64_t now,
                        const struct notify_msg *m);
/* When a digest is pending and the window has room: takes a slot, fills
 * out (kind NOTIFY_DIGEST, at_ms = wall) and empties the digest; true. */
bool notify_limit_digest(struct notify_limiter *l, int64_t now, int64_t wall,
                         struct notify_msg *out);
/* Monotonic ms when the pending digest may go; 0 when none is pending. */
int64_t notify_limit_next_ms(const struct notify_limiter *l);

#endif
