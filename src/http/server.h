/*
 * server.h - the HTTP server of soulspotd (libmicrohttpd underneath).
 *
 * libmicrohttpd runs an internal poll thread pool (never epoll: see
 * docs/ARCHITECTURE.md for the 128-event stall); every handler runs on one of
 * those threads and must never wait on the network or on a worker.  The
 * server owns routing and the protocol rules so that handlers stay small:
 *
 *   - routes are matched exactly on the path; a trailing '*' matches any
 *     rest (prefix route) and an inner '*' one path segment; an unknown
 *     path is 404, a known path with a
 *     wrong method is 405 with an Allow header;
 *   - request bodies are read into a capped buffer (HTTP_BODY_MAX); a larger
 *     body is 413 before the handler runs;
 *   - the Host header must name this daemon (see http_host_allowed()):
 *     any other name is 421 before routing, reads included, so a page of
 *     another site whose name resolves to us (DNS rebinding) gets nothing;
 *     a request without Host is 400;
 *   - POST, PATCH, PUT and DELETE from another site are rejected with 403
 *     (Origin, or Referer when there is no Origin, must name this daemon
 *     by the same rule; Sec-Fetch-Site must not be "cross-site");
 *   - every error is JSON {"error": "..."};
 *   - a response is queued on the second access-handler call, never the
 *     first, so keep-alive survives (libmicrohttpd's "early reply" trap);
 *   - connections are limited in number, per client address, and in the
 *     time they have to deliver a request (listener.h, conn_guard.h);
 *   - http_resp_etag() adds a strong ETag and turns the reply into 304 when
 *     If-None-Match matches.
 *
 * Handlers fill a struct http_resp that the server owns and frees.
 */
#ifndef SS_HTTP_SERVER_H
#define SS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define HTTP_BODY_MAX (64 * 1024)
#define HTTP_RESP_MAX (4 * 1024 * 1024)
#define HTTP_MAX_HEADERS 8
/* Connection limits used when the options leave them 0 (the settings
 * server.max_connections, server.max_connections_per_address and
 * server.request_timeout_seconds have the same defaults). */
#define HTTP_MAX_CONNECTIONS_DEFAULT 8192
#define HTTP_MAX_PER_ADDRESS_DEFAULT 64
#define HTTP_REQUEST_TIMEOUT_DEFAULT 10

struct http_server;
struct http_req; /* opaque; valid only during the handler call */

struct http_resp {
  int status;               /* default 200 */
  const char *content_type; /* static string; default application/json */
  struct buf body;          /* limit HTTP_RESP_MAX */
  /* Borrowed static body (e.g. an embedded asset); used when non-NULL. */
  const void *static_body;
  size_t static_len;
  size_t n_headers;
  struct {
    char name[48];
    char value[2048]; /* a Location may carry a long OAuth URL */
  } headers[HTTP_MAX_HEADERS];
};

typedef void (*http_handler_fn)(struct http_req *req, struct http_resp *resp,
                                void *ctx);

struct http_route {
  const char *method; /* "GET", "POST", "PATCH", "DELETE", ... */
  const char
    *path; /* exact; a trailing * is a prefix, an inner * one segment */
  http_handler_fn fn;
};

/* Copies the extra host names the daemon answers to (a comma-separated
 * list such as "music.example.com, nas:8765") into out; called on HTTP
 * threads for every request, so it must be thread-safe. */
typedef void (*http_extra_hosts_fn)(char *out, size_t n);

/* Decides whether a routed request may reach its handler (after the Host
 * and cross-site checks); on false the server sends resp, which the hook
 * filled (status, body, headers).  HTTP threads; must not block. */
typedef bool (*http_authorize_fn)(struct http_req *req, struct http_resp *resp,
                                  void *ctx);

struct http_server_opts {
  const char *host; /* numeric IPv4/IPv6 address, e.g. "127.0.0.1" */
  int port;         /* 0 = ephemeral */
  int threads;      /* poll-thread pool size */
  /* Open connections at most (the caller keeps it within the descriptor
   * limit), per client address (IPv4 address or whole IPv6 address,
   * loopback included), and seconds a connection has to deliver a complete
   * request after opening or after its previous response (bytes do not
   * extend it).  0 = the HTTP_*_DEFAULT above. */
  int max_connections;
  int max_per_address;
  int request_timeout_s;
  const struct http_route *routes;
  size_t n_routes;
  void *ctx;                       /* passed to every handler */
  http_extra_hosts_fn extra_hosts; /* NULL: only the daemon's own names */
  http_authorize_fn authorize;     /* NULL: every request is let in */
};

/* Starts listening; *out is released with http_server_stop(). */
enum ss_err http_server_start(const struct http_server_opts *opts,
                              struct http_server **out);
/* The bound port (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* Stops accepting, finishes in-flight requests, frees the server. */
void http_server_stop(struct http_server *srv);

/* Answers given so far, by route and status class (GET /metrics).  fn is
 * called for every (route, class) with a non-zero count: route is an entry
 * of the route table, or NULL for answers given before a route matched
 * (refused Host, bad path, 404, 405, OPTIONS); status_class is 1..5 (1xx ..
 * 5xx).  Any thread; the counts are read without a lock, each exactly. */
#define HTTP_STATUS_CLASSES 5
typedef void (*http_answers_fn)(void *arg, const struct http_route *route,
                                int status_class, uint64_t count);
void http_server_answers(const struct http_server *srv, http_answers_fn fn,
                         void *arg);

/* ---- request accessors (handler thread only) ---- */
/* The server answering req (for http_server_answers). */
struct http_server *http_req_server(const struct http_req *req);
const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);
/* Header value or NULL; name is case-insensitive. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Decoded query argument or NULL. */
const char *http_req_query(const struct http_req *req, const char *name);
/* True when the query names the argument, with or without a value
 * ("?verbose"). */
bool http_req_has_query(const struct http_req *req, const char *name);
/* Request body (NUL-terminated) and its length; "" when none. */
const char *http_req_body(const struct http_req *req, size_t *len);
/* Decoded value of a application/x-www-form-urlencoded body field, or NULL;
 * the caller frees it. */
char *http_req_form_value(const struct http_req *req, const char *name);

/* The client's address as text ("127.0.0.1", "::1"); "" when unknown. */
void http_req_client_addr(const struct http_req *req, char *out, size_t n);
/* True when the client connected from a loopback address (127.0.0.0/8,
 * ::1, or an IPv4-mapped loopback address). */
bool http_req_client_is_loopback(const struct http_req *req);
/* How the authorize hook let the request in (its own codes; 0 = unset). */
void http_req_set_auth(struct http_req *req, int how);
int http_req_auth(const struct http_req *req);

/* True when the request comes from another site: Sec-Fetch-Site says
 * "cross-site", or its Origin (else its Referer) is "null", malformed or
 * names a host that is not this daemon's (http_host_allowed()).  A request
 * with neither header is not cross-site. */
bool http_req_cross_site(const struct http_req *req);
/* True when url ("http(s)://host[:port]..." as in Origin or Referer) names
 * this daemon. */
bool http_req_url_is_ours(const struct http_req *req, const char *url);

/* ---- response helpers ---- */
void http_resp_header(struct http_resp *resp, const char *name,
                      const char *value);
/* Sets status and a JSON body {"error": message}. */
void http_resp_error(struct http_resp *resp, int status, const char *message);
/* Computes a strong ETag over the body; if the request's If-None-Match
 * matches, turns the reply into an empty 304. */
void http_resp_etag(struct http_req *req, struct http_resp *resp);
/* The same with a tag the caller already knows (quoted, e.g. a cached
 * body's or an embedded asset's). */
void http_resp_etag_set(struct http_req *req, struct http_resp *resp,
                        const char *etag);
/* True when an If-None-Match value ("*" or a list of possibly weak tags)
 * names etag.  Pure. */
bool http_etag_matches(const char *if_none_match, const char *etag);

/*
 * The Host allow-list (pure; any thread).  authority is "name[:port]" or
 * "[v6][:port]" as in a Host header or URL; port 0 there means "none given"
 * and def_port is used instead when non-zero (80 / 443 for an Origin).
 * Allowed are, case-insensitively:
 *   - localhost, 127.0.0.1 and [::1] with the listening port;
 *   - the bound address with the listening port; when bound to a wildcard
 *     (0.0.0.0 or ::) any IP literal with that port (an IP literal cannot
 *     be rebound to another machine by DNS);
 *   - an entry of extra (comma-separated "name" = any port, or "name:port").
 * A Host without a port matches an entry whose port is 80 or 443, or none.
 */
bool http_host_allowed(const char *authority, int def_port,
                       const char *bind_host, int listen_port,
                       const char *extra);

#endif
