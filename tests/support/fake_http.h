/*
 * fake_http.h - a small scriptable HTTP server for tests (libmicrohttpd).
 *
 * A fake binds 127.0.0.1 (port 0 = ephemeral) and answers from a route
 * table: each route is a method and a path (exact, or a prefix when it ends
 * in '*') with a handler that fills a struct fake_reply.  On top of the
 * handlers a test can *script* behaviour per route pattern: a fixed status,
 * headers and body, a delay before the reply, or dropping the connection
 * without any reply.  Every request is logged on arrival (method, path,
 * query, headers, body) so tests can assert what the daemon sent and wait
 * for a request to arrive.
 *
 * Threading: one thread per connection (a handler or a delay never blocks
 * other clients).  Routes should be added before traffic starts; scripts,
 * the log and the wait functions are safe from any thread.  Delays are
 * interrupted by fake_http_stop(), so stopping never hangs.
 * Ownership: fake_http_start() returns a server released by
 * fake_http_stop(); strings passed in are copied.
 */
#ifndef SS_TEST_FAKE_HTTP_H
#define SS_TEST_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define FAKE_MAX_ROUTES 64
#define FAKE_MAX_SCRIPTS 16
#define FAKE_REPLY_HEADERS 8
#define FAKE_SCRIPT_HEADERS 4
#define FAKE_LOG_MAX 256 /* ring: older entries are overwritten */
#define FAKE_LOG_HEADERS 24
#define FAKE_LOG_BODY 4096
#define FAKE_BODY_MAX (1024 * 1024) /* request and reply body cap */
#define FAKE_URL_MAX 64

struct fake_http;
struct fake_req; /* valid only during the handler call */

struct fake_reply {
  int status;            /* default 200 */
  char content_type[96]; /* default "application/json"; "" = no header */
  struct buf body;       /* limit FAKE_BODY_MAX */
  size_t n_headers;
  struct {
    char name[64];
    char value[512];
  } headers[FAKE_REPLY_HEADERS];
  bool drop; /* close the connection without replying */
  /* A body too large to build: when stream_len > body.len the reply is
   * body followed by stream_fill bytes up to stream_len, produced as the
   * client reads (with Content-Length, or chunked when stream_chunked). */
  uint64_t stream_len;
  char stream_fill;
  bool stream_chunked;
};

typedef void (*fake_handler_fn)(const struct fake_req *req,
                                struct fake_reply *reply, void *arg);

/* Behaviour scripted on a route pattern; overrides the handler. */
struct fake_script {
  int status;               /* != 0: reply with status/body/headers below */
  const char *content_type; /* NULL = "application/json" */
  const char *body;         /* NULL = empty */
  const char *headers[FAKE_SCRIPT_HEADERS]; /* "Name: value" or NULL */
  int delay_ms; /* wait this long before replying (or dropping) */
  bool drop;    /* close without any reply */
  int times;    /* apply to the next N matches; 0 = until cleared */
};

struct fake_logged {
  char method[16];
  char path[512];
  char query[512]; /* decoded args joined as k=v&k=v */
  size_t n_headers;
  struct {
    char name[64];
    char value[256];
  } headers[FAKE_LOG_HEADERS];
  char body[FAKE_LOG_BODY]; /* first bytes, NUL-terminated */
  size_t body_len;          /* full length received */
  int64_t at_ms;            /* monotonic arrival time */
  uint64_t seq;             /* 1, 2, ... in arrival order */
};

/* Starts a fake on 127.0.0.1:port (0 = ephemeral).  SS_OK or SS_EIO. */
int fake_http_start(struct fake_http **out, int port);
/* Stops (interrupting delays) and frees; NULL is fine. */
void fake_http_stop(struct fake_http *fh);
int fake_http_port(const struct fake_http *fh);
/* "http://127.0.0.1:PORT" (no trailing slash); valid until stop. */
const char *fake_http_url(const struct fake_http *fh);

/* Adds a route; method NULL matches every method.  Later routes do not
 * override earlier ones: the first match wins.  Unmatched: 404, no body. */
int fake_http_route(struct fake_http *fh, const char *method,
                    const char *pattern, fake_handler_fn fn, void *arg);

/* Scripts behaviour for requests matching method (NULL = any) and pattern
 * (NULL or "*" = every path); replaces an earlier script with the same
 * method and pattern.  The newest matching script wins. */
int fake_http_script(struct fake_http *fh, const char *method,
                     const char *pattern, const struct fake_script *s);
/* Removes the script for method/pattern (NULL pattern: all scripts). */
void fake_http_unscript(struct fake_http *fh, const char *method,
                        const char *pattern);

/* ---- request log ---- */
/* Number of logged requests matching method (NULL = any) and pattern. */
size_t fake_http_count(struct fake_http *fh, const char *method,
                       const char *pattern);
/* Copies the newest matching entry; false when none. */
bool fake_http_last(struct fake_http *fh, const char *method,
                    const char *pattern, struct fake_logged *out);
/* Waits until at least count matching requests have been logged (as
 * counted by fake_http_count); false on timeout. */
bool fake_http_wait(struct fake_http *fh, const char *method,
                    const char *pattern, size_t count, int timeout_ms);
/* Copies the entry logged as seq (1, 2, ...); false when not stored. */
bool fake_http_entry(struct fake_http *fh, uint64_t seq,
                     struct fake_logged *out);
/* Highest seq logged so far (0 = none). */
uint64_t fake_http_seq(struct fake_http *fh);
/* Bytes handed to clients so far by streamed replies (stream_len). */
uint64_t fake_http_streamed(struct fake_http *fh);
/* Waits for a matching request with seq > after_seq; copies it to out
 * (may be NULL).  false on timeout. */
bool fake_http_wait_after(struct fake_http *fh, const char *method,
                          const char *pattern, uint64_t after_seq,
                          int timeout_ms, struct fake_logged *out);
void fake_http_log_clear(struct fake_http *fh);
/* Header of a logged request (case-insensitive), or NULL. */
const char *fake_logged_header(const struct fake_logged *e, const char *name);

/* ---- handler helpers (handler thread only) ---- */
const char *fake_req_method(const struct fake_req *req);
const char *fake_req_path(const struct fake_req *req);
/* Header value or NULL (case-insensitive). */
const char *fake_req_header(const struct fake_req *req, const char *name);
/* Decoded query argument or NULL. */
const char *fake_req_arg(const struct fake_req *req, const char *name);
/* Request body, NUL-terminated ("" when none). */
const char *fake_req_body(const struct fake_req *req, size_t *len);
/* The server's own URL (for absolute links such as paging "next"). */
const char *fake_req_base_url(const struct fake_req *req);

void fake_reply_header(struct fake_reply *rep, const char *name,
                       const char *value);
/* Sets status, content type (NULL keeps the current one) and body. */
void fake_reply_set(struct fake_reply *rep, int status,
                    const char *content_type, const char *body);

/* True when pattern (exact, or prefix ending in '*') matches path. */
bool fake_path_match(const char *pattern, const char *path);

#endif
