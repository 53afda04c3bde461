/*
 * http_test_client.h - a small libcurl client for the integration tests.
 *
 * hc_request() performs one request on a fresh handle (a new connection
 * every time); struct hc_session keeps one handle, so consecutive requests
 * reuse the connection when the server allows keep-alive, and reports
 * whether they did (hc_resp.new_connections, hc_resp.local_port).
 *
 * Proxies from the environment are ignored (CURLOPT_NOPROXY "*"), redirects
 * are never followed, "Expect: 100-continue" is never sent, and the body
 * read back is capped at HC_BODY_MAX.  Threading: a session belongs to one
 * thread; hc_request() may be called from any thread.
 */
#ifndef SS_TEST_HTTP_CLIENT_H
#define SS_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define HC_BODY_MAX (4 * 1024 * 1024)
#define HC_HEADERS_MAX (64 * 1024)
#define HC_ERROR_MAX 384
#define HC_TIMEOUT_MS 10000

struct hc_resp {
  long status;              /* HTTP status; 0 when no response arrived */
  struct buf body;          /* the response body, NUL-terminated */
  struct buf headers;       /* raw header lines of the final response */
  int64_t elapsed_ms;       /* wall time of the whole request */
  long new_connections;     /* connections opened for it (0 = reused) */
  long local_port;          /* client port of the connection used */
  char error[HC_ERROR_MAX]; /* transport error text, or "" */
};

/* Sets r up empty (zeroes it; does not free what it held). */
void hc_resp_init(struct hc_resp *r);
void hc_resp_free(struct hc_resp *r);

/*
 * Performs method on url with optional extra headers ("Name: value" strings,
 * NULL-terminated array or NULL) and optional body (NUL-terminated; NULL =
 * none).  resp is (re)initialised; the caller frees it with hc_resp_free().
 * Returns SS_OK when a response arrived (whatever its status), SS_ENET
 * otherwise (resp->error says why).  resp must be zero-initialised
 * (`struct hc_resp r = {0};`) or hold an earlier response: its memory is
 * released first.
 */
int hc_request(const char *method, const char *url, const char *const *headers,
               const char *body, struct hc_resp *resp);
/* Same with an explicit body length (body may contain any bytes). */
int hc_request_n(const char *method, const char *url,
                 const char *const *headers, const char *body, size_t body_len,
                 struct hc_resp *resp);
/* Shorthand for a GET without extra headers. */
int hc_get(const char *url, struct hc_resp *resp);

/*
 * Copies the value of header name (case-insensitive) of the final response
 * into out (truncated to n-1, trailing whitespace removed).  Returns false
 * when the header is absent.
 */
bool hc_header(const struct hc_resp *r, const char *name, char *out, size_t n);

/* A persistent handle: consecutive requests may reuse one connection. */
struct hc_session;
struct hc_session *hc_session_new(void);
int hc_session_request(struct hc_session *s, const char *method,
                       const char *url, const char *const *headers,
                       const char *body, struct hc_resp *resp);
void hc_session_free(struct hc_session *s);

#endif
