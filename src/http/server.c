/*
 * server.c - routing and protocol rules on top of libmicrohttpd.
 *
 * What: one MHD daemon (internal poll thread + thread pool, never epoll)
 * fed by a listener bound to exactly the configured numeric host
 * (listener.c accepts; libmicrohttpd applies the per-address limit) and
 * watched by a connection guard (conn_guard.c: request deadline, idle
 * eviction near the cap).  Every request walks the same pipeline: read
 * the body into a capped buf, refuse a Host that is not one of the
 * daemon's own names (421; DNS rebinding), validate the path, route
 * (404 / 405 / automatic OPTIONS), reject cross-site writes (403,
 * Origin/Referer checked against the same names), ask the authorize hook
 * (authentication, src/api/api_auth.c), call the handler, then turn the
 * struct http_resp into an MHD response with the security headers added.
 *
 * Keep-alive: MHD answers with "Connection: close" when a response is queued
 * on the first access-handler call, so the first call only allocates the
 * per-request state; the response is queued on the final call
 * (upload_data_size == 0 after the first call).  The one exception is a
 * Content-Length above HTTP_BODY_MAX: that is answered 413 at once, and
 * closing the connection is then what we want.  A chunked body past the
 * cap is drained (so the 413 keeps the connection) up to HTTP_DRAIN_MAX.
 *
 * Counting: every answer bumps one relaxed atomic per (route, status
 * class) - the route the request matched, or the "unrouted" row for the
 * answers given before routing (bad Host, bad path, 404/405) - which
 * GET /metrics reads with http_server_answers().
 *
 * Threading: handlers run on MHD's pool threads; a struct http_req belongs
 * to one connection and is touched by one thread at a time.  The server
 * struct and the route table are read-only while the daemon runs (the
 * answer counters are atomics).
 *
 * Ownership: the route table and ctx are borrowed and must outlive the
 * server.  struct http_req is heap state allocated on the first call and
 * freed in the request-completed callback.  struct http_resp lives on the
 * handler thread's stack; its body memory is handed to MHD (MUST_FREE).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <xxhash.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "http/conn_guard.h"
#include "http/listener.h"

/* Idle timeout of libmicrohttpd (every byte resets it); the request
 * deadline and near-cap eviction come from conn_guard. */
#define HTTP_CONN_TIMEOUT_S 30
/* Near the connection cap a connection may wait this long for its next
 * request; the reaper looks every HTTP_GUARD_SCAN_MS. */
#define HTTP_NEAR_CAP_IDLE_MS 1000
#define HTTP_GUARD_SCAN_MS 250
/* libmicrohttpd messages (one per refused connection, under an attack)
 * are logged at most this many times per window. */
#define HTTP_MHD_LOG_BURST 5
#define HTTP_MHD_LOG_WINDOW_S 10
/* Per-connection pool for headers and buffers.  libmicrohttpd zeroes it on
 * every keep-alive reset, so it is kept small (bodies stream through
 * upload_data and never need to fit).  See docs/PERFORMANCE.md. */
#define HTTP_CONN_MEMORY (16 * 1024)
/* A chunked body past HTTP_BODY_MAX is drained so that the 413 goes out on
 * a healthy connection, but only this far; then the connection is cut. */
#define HTTP_DRAIN_MAX (16 * HTTP_BODY_MAX)
#define HTTP_MAX_THREADS 64
#define HDR_NAME_CAP sizeof(((struct http_resp *)0)->headers[0].name)
#define HDR_VALUE_CAP sizeof(((struct http_resp *)0)->headers[0].value)

#define CSP_VALUE                                                             \
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "     \
  "data:"

#define HOST_LIST_MAX 1024 /* server.allowed_hosts fits SETTING_STR_MAX */
#define BIND_HOST_MAX 64
/* At most one "unknown Host" warning per this many seconds. */
#define HOST_WARN_INTERVAL_S 10

struct http_server {
  struct MHD_Daemon *daemon;
  struct conn_guard *guard;
  struct listener *listener;
  size_t max_connections;
  /* Connections handed to libmicrohttpd and not closed yet: the cap is
   * enforced here, exactly, by the listener (see has_room). */
  atomic_size_t admitted;
  pthread_mutex_t log_mu; /* the libmicrohttpd log rate limit */
  int64_t log_window;     /* under log_mu */
  unsigned log_count;     /* under log_mu */
  const struct http_route *routes;
  size_t n_routes;
  void *ctx;
  http_extra_hosts_fn extra_hosts;
  http_authorize_fn authorize;
  char bind_host[BIND_HOST_MAX]; /* numeric, as given */
  _Atomic int port;              /* the bound port */
  _Atomic int64_t host_warned_s; /* last "unknown Host" warning */
  /* Answers by route (n_routes + 1 rows, the last one unrouted) and
   * status class: answers[row * HTTP_STATUS_CLASSES + class]. */
  atomic_uint_fast64_t *answers;
};

struct http_req {
  struct http_server *srv;
  struct MHD_Connection *conn;
  struct conn_guard_entry *guard; /* the connection's deadline entry */
  const char *method; /* MHD's strings, valid for the whole request */
  const char *path;
  struct buf body;
  size_t drained; /* bytes received past the cap */
  bool too_big;
  bool raw_nul; /* the undecoded path carried %00 */
  bool responded;
  int auth;                       /* set by the authorize hook */
  const struct http_route *route; /* NULL until routed */
  int64_t start_us;
};

/* Returned by the URI log callback when the raw path holds "%00": the
 * decoded path MHD hands us would silently end at the NUL. */
static char nul_marker;

/* ---------------------------------------------------------------- utils */

static int64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool is_safe_method(const char *m)
{
  return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

static bool has_ctl(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* Absolute, no control characters, no ".." segment (checked after MHD's
 * percent-decoding, so "%2e%2e" is caught too). */
static bool path_is_safe(const char *path)
{
  if (path[0] != '/' || has_ctl(path))
    return false;
  for (const char *seg = path; seg; seg = strchr(seg + 1, '/')) {
    const char *s = seg + 1;
    if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
      return false;
  }
  return true;
}

/* ------------------------------------------------------- response helpers */

static void resp_init(struct http_resp *resp)
{
  memset(resp, 0, sizeof *resp);
  resp->status = 200;
  buf_init(&resp->body, HTTP_RESP_MAX);
}

static int find_header(const struct http_resp *resp, const char *name)
{
  for (size_t i = 0; i < resp->n_headers; i++)
    if (!strcasecmp(resp->headers[i].name, name))
      return (int)i;
  return -1;
}

static bool header_name_ok(const char *name)
{
  if (!name[0] || strlen(name) >= HDR_NAME_CAP)
    return false;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == ':' || *p == 0x7f)
      return false;
  return true;
}

static bool header_value_ok(const char *value)
{
  return strlen(value) < HDR_VALUE_CAP && !has_ctl(value);
}

/* Sets (or replaces, case-insensitively) one header.  Invalid or oversized
 * headers are dropped with a warning naming the header, never its value. */
void http_resp_header(struct http_resp *resp, const char *name,
                      const char *value)
{
  if (!header_name_ok(name) || !header_value_ok(value)) {
    log_warn("http", "dropping invalid response header %.47s", name);
    return;
  }
  int i = find_header(resp, name);
  if (i < 0) {
    if (resp->n_headers >= HTTP_MAX_HEADERS) {
      log_warn("http", "too many response headers, dropping %s", name);
      return;
    }
    i = (int)resp->n_headers++;
  }
  snprintf(resp->headers[i].name, HDR_NAME_CAP, "%s", name);
  snprintf(resp->headers[i].value, HDR_VALUE_CAP, "%s", value);
}

/* Bytes jansson would refuse (invalid UTF-8) become '?'. */
static json_t *json_string_lossy(const char *s)
{
  json_t *j = json_string(s);
  if (j)
    return j;
  char *copy = xstrdup(s);
  for (char *p = copy; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  j = json_string(copy);
  free(copy);
  return j;
}

void http_resp_error(struct http_resp *resp, int status, const char *message)
{
  json_t *obj = json_object();
  json_object_set_new(obj, "error", json_string_lossy(message));
  char *text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  resp->status = status;
  resp->content_type = NULL;
  resp->static_body = NULL;
  resp->static_len = 0;
  buf_reset(&resp->body);
  buf_puts(&resp->body, text ? text : "{\"error\":\"internal error\"}");
  free(text);
}

/* ------------------------------------------------------------------ ETag */

/* One If-None-Match entry against our tag.  Weak comparison (RFC 9110
 * 13.1.2): a "W/" prefix is ignored. */
static bool etag_token_matches(const char *tok, size_t n, const char *etag)
{
  if (n == 1 && tok[0] == '*')
    return true;
  if (n >= 2 && tok[0] == 'W' && tok[1] == '/') {
    tok += 2;
    n -= 2;
  }
  return n == strlen(etag) && !memcmp(tok, etag, n);
}

static bool etag_listed(const char *list, const char *etag)
{
  for (const char *p = list; *p; p += *p == ',') {
    p += strspn(p, " \t");
    size_t n = strcspn(p, ",");
    size_t len = n;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
      len--;
    if (etag_token_matches(p, len, etag))
      return true;
    p += n;
  }
  return false;
}

bool http_etag_matches(const char *if_none_match, const char *etag)
{
  return if_none_match && etag_listed(if_none_match, etag);
}

void http_resp_etag(struct http_req *req, struct http_resp *resp)
{
  const void *data = resp->static_body ? resp->static_body : resp->body.data;
  size_t len = resp->static_body ? resp->static_len : resp->body.len;
  char etag[24];
  snprintf(etag, sizeof etag, "\"%016llx\"",
           (unsigned long long)XXH3_64bits(data ? data : "", len));
  http_resp_etag_set(req, resp, etag);
}

void http_resp_etag_set(struct http_req *req, struct http_resp *resp,
                        const char *etag)
{
  http_resp_header(resp, "ETag", etag);
  bool cacheable_method = !strcmp(req->method, "GET") ||
                          !strcmp(req->method, "HEAD");
  if (resp->status != 200 || !cacheable_method)
    return;
  const char *inm = http_req_header(req, "If-None-Match");
  if (!inm || !etag_listed(inm, etag))
    return;
  resp->status = 304;
  resp->static_body = NULL;
  resp->static_len = 0;
  buf_reset(&resp->body);
}

/* ------------------------------------------------------ request accessors */

const char *http_req_method(const struct http_req *req) { return req->method; }

const char *http_req_path(const struct http_req *req) { return req->path; }

const char *http_req_header(const struct http_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(const struct http_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool http_req_has_query(const struct http_req *req, const char *name)
{
  const char *value;
  size_t len;
  return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                       strlen(name), &value, &len) == MHD_YES;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
  if (len)
    *len = req->body.len;
  return buf_cstr(&req->body);
}

void http_req_set_auth(struct http_req *req, int how) { req->auth = how; }

int http_req_auth(const struct http_req *req) { return req->auth; }

static const struct sockaddr *client_sa(const struct http_req *req)
{
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(
    req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  return info ? info->client_addr : NULL;
}

void http_req_client_addr(const struct http_req *req, char *out, size_t n)
{
  const struct sockaddr *sa = client_sa(req);
  if (n)
    out[0] = '\0';
  if (!sa || !n)
    return;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET,
              &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)n);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6,
              &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)n);
}

bool http_req_client_is_loopback(const struct http_req *req)
{
  const struct sockaddr *sa = client_sa(req);
  if (!sa)
    return false;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = (const void *)sa;
    return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family != AF_INET6)
    return false;
  const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)
                                ->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(a) ||
         (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

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

/* Decodes n bytes of form encoding into out (room for n + 1).  A malformed
 * escape is kept literally.  Returns the decoded length. */
static size_t form_decode(const char *s, size_t n, char *out)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int hi = i + 2 < n ? hex_val(s[i + 1]) : -1;
    int lo = i + 2 < n ? hex_val(s[i + 2]) : -1;
    if (s[i] == '+') {
      out[o++] = ' ';
    } else if (s[i] == '%' && hi >= 0 && lo >= 0) {
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return o;
}

/* True when the encoded key s[0..n) decodes to exactly name. */
static bool form_key_is(const char *s, size_t n, const char *name)
{
  char key[256];
  if (n >= sizeof key)
    return false;
  size_t klen = form_decode(s, n, key);
  return klen == strlen(name) && !memcmp(key, name, klen);
}

/* The first field wins.  A value that decodes to a NUL byte is refused
 * (NULL): it cannot be handed out as a C string without truncation. */
char *http_req_form_value(const struct http_req *req, const char *name)
{
  const char *p = buf_cstr(&req->body);
  const char *end = p + req->body.len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *field_end = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(field_end - p));
    const char *key_end = eq ? eq : field_end;
    if (form_key_is(p, (size_t)(key_end - p), name)) {
      const char *v = eq ? eq + 1 : field_end;
      size_t vlen = (size_t)(field_end - v);
      char *out = xmalloc(vlen + 1);
      if (form_decode(v, vlen, out) != strlen(out)) {
        free(out);
        return NULL;
      }
      return out;
    }
    p = field_end + 1;
  }
  return NULL;
}

/* ------------------------------------------------------ queuing a reply */

static bool is_html(const char *ctype)
{
  return ctype && !strncasecmp(ctype, "text/html", 9);
}

static bool status_has_body(int status)
{
  return status != 204 && status != 304;
}

static void add_headers(struct MHD_Response *r, const struct http_resp *resp)
{
  if (status_has_body(resp->status))
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type
                              ? resp->content_type
                              : "application/json; charset=utf-8");
  for (size_t i = 0; i < resp->n_headers; i++)
    MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  if (is_html(resp->content_type)) {
    MHD_add_response_header(r, "Content-Security-Policy", CSP_VALUE);
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
  }
  if (find_header(resp, "Cache-Control") < 0)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

/* Repairs what a handler may have left inconsistent. */
static void resp_sanitize(struct http_resp *resp)
{
  if (resp->status < 200 || resp->status > 599) {
    log_warn("http", "handler set invalid status %d", resp->status);
    http_resp_error(resp, 500, "internal error");
  }
  if (!resp->static_body && !buf_ok(&resp->body))
    http_resp_error(resp, 500, "response too large");
  if (!status_has_body(resp->status)) {
    resp->static_body = NULL;
    buf_reset(&resp->body);
  }
}

static struct MHD_Response *resp_to_mhd(struct http_resp *resp)
{
  if (resp->static_body)
    return MHD_create_response_from_buffer(resp->static_len,
                                           (void *)resp->static_body,
                                           MHD_RESPMEM_PERSISTENT);
  if (resp->body.len == 0)
    return MHD_create_response_from_buffer(0, (void *)"",
                                           MHD_RESPMEM_PERSISTENT);
  size_t len;
  char *data = buf_steal(&resp->body, &len);
  return MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
}

static void count_answer(const struct http_req *req, int status)
{
  const struct http_server *srv = req->srv;
  size_t row = req->route ? (size_t)(req->route - srv->routes) : srv->n_routes;
  int cls = status / 100 - 1;
  if (cls < 0 || cls >= HTTP_STATUS_CLASSES)
    cls = HTTP_STATUS_CLASSES - 1;
  atomic_fetch_add_explicit(&srv->answers[row * HTTP_STATUS_CLASSES + cls], 1,
                            memory_order_relaxed);
}

void http_server_answers(const struct http_server *srv, http_answers_fn fn,
                         void *arg)
{
  for (size_t row = 0; row <= srv->n_routes; row++)
    for (int cls = 0; cls < HTTP_STATUS_CLASSES; cls++) {
      uint64_t n = atomic_load_explicit(
        &srv->answers[row * HTTP_STATUS_CLASSES + cls], memory_order_relaxed);
      if (n)
        fn(arg, row < srv->n_routes ? &srv->routes[row] : NULL, cls + 1, n);
    }
}

struct http_server *http_req_server(const struct http_req *req)
{
  return req->srv;
}

static enum MHD_Result queue_resp(struct http_req *req, struct http_resp *resp)
{
  resp_sanitize(resp);
  count_answer(req, resp->status);
  struct MHD_Response *r = resp_to_mhd(resp);
  buf_free(&resp->body);
  req->responded = true;
  if (!r) {
    log_error("http", "cannot create a response");
    return MHD_NO;
  }
  add_headers(r, resp);
  enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)resp->status,
                                          r);
  MHD_destroy_response(r);
  /* Hostile bytes stay out of the log. */
  log_debug("http", "%.16s %.200s %d %lldus",
            has_ctl(req->method) ? "?" : req->method,
            path_is_safe(req->path) ? req->path : "(invalid path)",
            resp->status, (long long)(now_us() - req->start_us));
  return ok;
}

static enum MHD_Result queue_error(struct http_req *req, int status,
                                   const char *message)
{
  struct http_resp resp;
  resp_init(&resp);
  http_resp_error(&resp, status, message);
  return queue_resp(req, &resp);
}

/* -------------------------------------------------------------- routing */

/* A pattern matches exactly, except that a '*' at its end matches any rest
 * of the path (prefix route) and a '*' elsewhere matches one non-empty path
 * segment (e.g. "/api/workers/STAR/run"). */
static bool route_path_matches(const char *pattern, const char *path)
{
  while (*pattern) {
    if (*pattern == '*') {
      if (!pattern[1])
        return true;
      size_t seg = strcspn(path, "/");
      if (!seg)
        return false;
      path += seg;
      pattern++;
      continue;
    }
    if (*pattern != *path)
      return false;
    pattern++;
    path++;
  }
  return !*path;
}

static const struct http_route *
find_route(const struct http_server *srv, const char *method, const char *path)
{
  for (size_t i = 0; i < srv->n_routes; i++) {
    const struct http_route *r = &srv->routes[i];
    if (!strcmp(r->method, method) && route_path_matches(r->path, path))
      return r;
  }
  return NULL;
}

static void allow_add(struct buf *allow, const char *method)
{
  const char *s = buf_cstr(allow);
  size_t n = strlen(method);
  for (const char *p = s; (p = strstr(p, method)); p += n)
    if ((p == s || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
      return;
  if (allow->len)
    buf_puts(allow, ", ");
  buf_puts(allow, method);
}

/* The methods routed on path ("GET, HEAD, POST"); empty when none. */
static void build_allow(const struct http_server *srv, const char *path,
                        struct buf *allow)
{
  for (size_t i = 0; i < srv->n_routes; i++) {
    const struct http_route *r = &srv->routes[i];
    if (!route_path_matches(r->path, path))
      continue;
    allow_add(allow, r->method);
    if (!strcmp(r->method, "GET"))
      allow_add(allow, "HEAD");
  }
}

static enum MHD_Result queue_allow(struct http_req *req, int status,
                                   const char *allow)
{
  struct http_resp resp;
  resp_init(&resp);
  if (status == 204)
    resp.status = 204;
  else
    http_resp_error(&resp, status, "method not allowed");
  http_resp_header(&resp, "Allow", allow);
  return queue_resp(req, &resp);
}

/* ------------------------------------------------------ host names */

struct authority {
  char name[256]; /* lower-case; an IPv6 literal keeps its brackets */
  int port;       /* 0 = none given */
};

/* Splits "name[:port]" / "[v6][:port]" (n bytes).  False when malformed:
 * empty name, bad characters, a port outside 1-65535. */
static bool parse_authority(const char *s, size_t n, struct authority *a)
{
  size_t name_len;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close)
      return false;
    name_len = (size_t)(close - s) + 1;
  } else {
    const char *colon = memchr(s, ':', n);
    name_len = colon ? (size_t)(colon - s) : n;
  }
  if (name_len == 0 || name_len >= sizeof a->name)
    return false;
  for (size_t i = 0; i < name_len; i++) {
    unsigned char c = (unsigned char)s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
              (s[0] == '[' && (c == ':' || c == '[' || c == ']'));
    if (!ok)
      return false;
    a->name[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  a->name[name_len] = '\0';
  a->port = 0;
  if (name_len == n)
    return true;
  if (s[name_len] != ':' || name_len + 1 == n || n - name_len > 6)
    return false;
  long port = 0;
  for (size_t i = name_len + 1; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    port = port * 10 + (s[i] - '0');
  }
  if (port < 1 || port > 65535)
    return false;
  a->port = (int)port;
  return true;
}

/* An IPv4 literal, or a bracketed IPv6 literal. */
static bool is_ip_literal(const char *name)
{
  unsigned char bin[16];
  char v6[64];
  size_t n = strlen(name);
  if (inet_pton(AF_INET, name, bin) == 1)
    return true;
  if (n < 3 || n - 2 >= sizeof v6 || name[0] != '[' || name[n - 1] != ']')
    return false;
  memcpy(v6, name + 1, n - 2);
  v6[n - 2] = '\0';
  return inet_pton(AF_INET6, v6, bin) == 1;
}

/* want 0 = any port.  A request port of 0 (none given) matches an entry of
 * 80 or 443 (the defaults of the two schemes). */
static bool port_matches(int want, int got)
{
  if (!want)
    return true;
  if (!got)
    return want == 80 || want == 443;
  return want == got;
}

/* The bound address in Host form ("[::1]" for IPv6). */
static void bind_name(const char *bind_host, char *out, size_t n)
{
  snprintf(out, n, strchr(bind_host, ':') ? "[%s]" : "%s", bind_host);
  for (char *p = out; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p + 32);
}

static bool own_name(const struct authority *a, const char *bind_host,
                     int listen_port)
{
  static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
  if (!port_matches(listen_port, a->port))
    return false;
  for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
    if (!strcmp(a->name, loopback[i]))
      return true;
  char bound[BIND_HOST_MAX + 2];
  bind_name(bind_host, bound, sizeof bound);
  if (!strcmp(a->name, bound))
    return true;
  bool wildcard = !strcmp(bound, "0.0.0.0") || !strcmp(bound, "[::]");
  return wildcard && is_ip_literal(a->name);
}

static bool listed_name(const struct authority *a, const char *extra)
{
  for (const char *p = extra; p && *p; p += *p == ',') {
    p += strspn(p, " \t");
    size_t n = strcspn(p, ",");
    size_t len = n;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
      len--;
    struct authority entry;
    if (len && parse_authority(p, len, &entry) &&
        !strcmp(entry.name, a->name) && port_matches(entry.port, a->port))
      return true;
    p += n;
  }
  return false;
}

bool http_host_allowed(const char *authority, int def_port,
                       const char *bind_host, int listen_port,
                       const char *extra)
{
  struct authority a;
  if (!authority || !parse_authority(authority, strlen(authority), &a))
    return false;
  if (!a.port)
    a.port = def_port;
  return own_name(&a, bind_host ? bind_host : "", listen_port) ||
         listed_name(&a, extra);
}

static bool host_is_ours(const struct http_server *srv, const char *authority,
                         int def_port)
{
  char extra[HOST_LIST_MAX] = "";
  if (srv->extra_hosts)
    srv->extra_hosts(extra, sizeof extra);
  return http_host_allowed(authority, def_port, srv->bind_host,
                           atomic_load(&srv->port), extra);
}

/* "http(s)://authority[/...]" -> authority and the scheme's port. */
static bool split_origin(const char *url, char *authority, size_t n,
                         int *def_port)
{
  static const struct {
    const char *scheme;
    int port;
  } schemes[] = {{"http://", 80}, {"https://", 443}};
  for (size_t i = 0; i < 2; i++) {
    size_t k = strlen(schemes[i].scheme);
    if (strncasecmp(url, schemes[i].scheme, k))
      continue;
    size_t len = strcspn(url + k, "/?#");
    if (!len || len >= n)
      return false;
    memcpy(authority, url + k, len);
    authority[len] = '\0';
    *def_port = schemes[i].port;
    return true;
  }
  return false;
}

bool http_req_url_is_ours(const struct http_req *req, const char *url)
{
  char authority[300];
  int def_port;
  return url && split_origin(url, authority, sizeof authority, &def_port) &&
         host_is_ours(req->srv, authority, def_port);
}

/* Logs a refused Host now and then (a scanner must not flood the log);
 * only safe characters of it, capped. */
static void warn_unknown_host(struct http_server *srv, const char *host)
{
  int64_t now = now_us() / 1000000;
  int64_t last = atomic_load(&srv->host_warned_s);
  if (last && now - last < HOST_WARN_INTERVAL_S)
    return;
  if (!atomic_compare_exchange_strong(&srv->host_warned_s, &last, now))
    return;
  char safe[80];
  size_t i = 0;
  for (; host[i] && i + 1 < sizeof safe; i++)
    safe[i] = (host[i] > 0x20 && host[i] < 0x7f) ? host[i] : '?';
  safe[i] = '\0';
  log_warn("http",
           "refused a request for host name '%s': not this daemon's "
           "(add it to server.allowed_hosts if you use it)",
           safe);
}

/* ---------------------------------------------------------- cross-site */

bool http_req_cross_site(const struct http_req *req)
{
  const char *site = http_req_header(req, "Sec-Fetch-Site");
  if (site && !strcasecmp(site, "cross-site"))
    return true;
  const char *from = http_req_header(req, "Origin");
  if (!from)
    from = http_req_header(req, "Referer");
  return from && !http_req_url_is_ours(req, from);
}

/* ------------------------------------------------------------ dispatch */

static enum MHD_Result call_handler(struct http_req *req,
                                    const struct http_route *route)
{
  struct http_resp resp;
  resp_init(&resp);
  route->fn(req, &resp, req->srv->ctx);
  return queue_resp(req, &resp);
}

static enum MHD_Result dispatch_unrouted(struct http_req *req)
{
  struct buf allow;
  buf_init(&allow, 256);
  build_allow(req->srv, req->path, &allow);
  enum MHD_Result ok;
  if (!allow.len)
    ok = queue_error(req, 404, "not found");
  else if (!strcmp(req->method, "OPTIONS"))
    ok = queue_allow(req, 204, buf_cstr(&allow));
  else
    ok = queue_allow(req, 405, buf_cstr(&allow));
  buf_free(&allow);
  return ok;
}

static bool is_api_path(const char *path)
{
  return !strncmp(path, "/api/", 5) || !strcmp(path, "/api");
}

/* 400 without a Host (HTTP/1.0 may omit it), 421 for a name that is not
 * ours; JSON for the API, plain text for pages. */
static enum MHD_Result check_host(struct http_req *req, bool *refused)
{
  const char *host = http_req_header(req, "Host");
  *refused = true;
  const char *msg;
  int status;
  if (!host || !host[0]) {
    status = 400;
    msg = "missing Host header";
  } else if (host_is_ours(req->srv, host, 0)) {
    *refused = false;
    return MHD_YES;
  } else {
    warn_unknown_host(req->srv, host);
    status = 421;
    msg = "this server does not answer to that host name; add it to "
          "server.allowed_hosts to use it (e.g. behind a reverse proxy)";
  }
  struct http_resp resp;
  resp_init(&resp);
  http_resp_error(&resp, status, msg);
  if (!is_api_path(req->path)) {
    buf_reset(&resp.body);
    buf_puts(&resp.body, msg);
    buf_puts(&resp.body, "\n");
    resp.content_type = "text/plain; charset=utf-8";
  }
  return queue_resp(req, &resp);
}

static enum MHD_Result dispatch(struct http_req *req)
{
  bool refused;
  enum MHD_Result ok = check_host(req, &refused);
  if (refused)
    return ok;
  if (req->raw_nul || !path_is_safe(req->path))
    return queue_error(req, 400, "bad request path");
  if (req->too_big)
    return queue_error(req, 413, "request body too large");
  const struct http_route *route = find_route(req->srv, req->method,
                                              req->path);
  if (!route && !strcmp(req->method, "HEAD"))
    route = find_route(req->srv, "GET", req->path);
  if (!route)
    return dispatch_unrouted(req);
  req->route = route;
  if (!is_safe_method(req->method) && http_req_cross_site(req))
    return queue_error(req, 403, "cross-site request rejected");
  if (req->srv->authorize) {
    struct http_resp resp;
    resp_init(&resp);
    if (!req->srv->authorize(req, &resp, req->srv->ctx))
      return queue_resp(req, &resp);
    buf_free(&resp.body);
  }
  return call_handler(req, route);
}

/* ------------------------------------------------------ MHD callbacks */

static bool declared_too_big(struct MHD_Connection *conn)
{
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!cl)
    return false;
  char *end;
  unsigned long long n = strtoull(cl, &end, 10);
  return end != cl && n > HTTP_BODY_MAX;
}

static struct http_req *req_new(struct http_server *srv,
                                struct MHD_Connection *conn, bool raw_nul)
{
  struct http_req *req = xcalloc(1, sizeof *req);
  req->srv = srv;
  req->conn = conn;
  req->raw_nul = raw_nul;
  buf_init(&req->body, HTTP_BODY_MAX);
  if (log_threshold >= LOG_LVL_DEBUG)
    req->start_us = now_us();
  return req;
}

/* Returns false when the connection should be cut. */
static bool absorb_body(struct http_req *req, const char *data, size_t n)
{
  if (!req->too_big && buf_append(&req->body, data, n) == SS_OK)
    return true;
  req->too_big = true;
  req->drained += n;
  if (req->drained <= HTTP_DRAIN_MAX)
    return true;
  log_warn("http", "request body far over the limit, closing connection");
  return false;
}

/* The connection's deadline entry (set by on_connection). */
static struct conn_guard_entry *guard_entry(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo
    *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? info->socket_context : NULL;
}

/* Only sets up state (see the keep-alive note at the top), unless the
 * declared body is already too large. */
static enum MHD_Result on_first_call(struct http_server *srv,
                                     struct MHD_Connection *conn,
                                     const char *url, const char *method,
                                     void **con_cls)
{
  struct http_req *req = req_new(srv, conn, *con_cls == &nul_marker);
  *con_cls = req;
  req->method = method;
  req->path = url;
  req->guard = guard_entry(conn);
  if (declared_too_big(conn)) {
    conn_guard_request_received(req->guard);
    return queue_error(req, 413, "request body too large");
  }
  return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
  (void)version;
  if (!*con_cls || *con_cls == &nul_marker)
    return on_first_call(cls, conn, url, method, con_cls);
  struct http_req *req = *con_cls;
  req->method = method;
  req->path = url;
  if (*upload_data_size) {
    bool keep = req->responded ||
                absorb_body(req, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return keep ? MHD_YES : MHD_NO;
  }
  if (req->responded)
    return MHD_YES;
  conn_guard_request_received(req->guard);
  return dispatch(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)toe;
  conn_guard_request_done(guard_entry(conn));
  void *state = *con_cls;
  *con_cls = NULL;
  if (!state || state == &nul_marker)
    return;
  struct http_req *req = state;
  buf_free(&req->body);
  free(req);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
  (void)cls;
  (void)conn;
  size_t path_len = strcspn(uri, "?");
  const char *nul = strstr(uri, "%00");
  return nul && (size_t)(nul - uri) < path_len ? &nul_marker : NULL;
}

/* Registers every accepted connection with the guard, and removes it
 * before libmicrohttpd closes the socket. */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
  struct http_server *srv = cls;
  if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    conn_guard_remove(srv->guard, *socket_context);
    *socket_context = NULL;
    atomic_fetch_sub(&srv->admitted, 1);
    return;
  }
  const union MHD_ConnectionInfo
    *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  *socket_context = info ? conn_guard_add(srv->guard, info->connect_fd) : NULL;
}

/* At most HTTP_MHD_LOG_BURST lines per window: libmicrohttpd logs every
 * connection it refuses, which an attacker controls. */
static bool mhd_log_allowed(struct http_server *srv, unsigned *suppressed)
{
  int64_t window = clock_mono_ms() / (HTTP_MHD_LOG_WINDOW_S * 1000);
  pthread_mutex_lock(&srv->log_mu);
  *suppressed = 0;
  if (window != srv->log_window) {
    if (srv->log_count > HTTP_MHD_LOG_BURST)
      *suppressed = srv->log_count - HTTP_MHD_LOG_BURST;
    srv->log_window = window;
    srv->log_count = 0;
  }
  bool ok = ++srv->log_count <= HTTP_MHD_LOG_BURST;
  pthread_mutex_unlock(&srv->log_mu);
  return ok;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
  unsigned suppressed;
  if (!mhd_log_allowed(cls, &suppressed))
    return;
  if (suppressed)
    log_warn("http", "libmicrohttpd: %u message(s) suppressed", suppressed);
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  line[strcspn(line, "\r\n")] = '\0';
  log_warn("http", "libmicrohttpd: %s", line);
}

/* ------------------------------------------------------------ lifecycle */

union sock_addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
};

static enum ss_err parse_bind(const char *host, int port,
                              union sock_addr *addr, bool *ipv6)
{
  memset(addr, 0, sizeof *addr);
  if (inet_pton(AF_INET, host, &addr->in4.sin_addr) == 1) {
    addr->in4.sin_family = AF_INET;
    addr->in4.sin_port = htons((uint16_t)port);
    *ipv6 = false;
    return SS_OK;
  }
  if (inet_pton(AF_INET6, host, &addr->in6.sin6_addr) == 1) {
    addr->in6.sin6_family = AF_INET6;
    addr->in6.sin6_port = htons((uint16_t)port);
    *ipv6 = true;
    return SS_OK;
  }
  return SS_EINVAL;
}

static bool opts_valid(const struct http_server_opts *o)
{
  return o && o->host && o->port >= 0 && o->port <= 65535 && o->threads >= 1 &&
         o->threads <= HTTP_MAX_THREADS && (o->routes || o->n_routes == 0) &&
         o->max_connections >= 0 && o->max_per_address >= 0 &&
         o->request_timeout_s >= 0;
}

/* The connection limits with 0 replaced by the defaults. */
struct limits {
  unsigned max_connections, max_per_address;
  int request_timeout_s;
};

static struct limits limits_of(const struct http_server_opts *o)
{
  struct limits l = {
    .max_connections = o->max_connections ? (unsigned)o->max_connections
                                          : HTTP_MAX_CONNECTIONS_DEFAULT,
    .max_per_address = o->max_per_address ? (unsigned)o->max_per_address
                                          : HTTP_MAX_PER_ADDRESS_DEFAULT,
    .request_timeout_s = o->request_timeout_s ? o->request_timeout_s
                                              : HTTP_REQUEST_TIMEOUT_DEFAULT,
  };
  /* libmicrohttpd splits the cap between its threads. */
  if (l.max_connections < (unsigned)o->threads)
    l.max_connections = (unsigned)o->threads;
  return l;
}

/* libmicrohttpd runs without a listen socket: the listener accepts and
 * hands connections over (see listener.h for why). */
static struct MHD_Daemon *start_daemon(struct http_server *srv,
                                       const struct http_server_opts *o,
                                       const struct limits *l)
{
  unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                   MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
  /* A pool of one is no pool, and MHD warns about sizes 0 and 1. */
  struct MHD_OptionItem pool[2] = {{MHD_OPTION_THREAD_POOL_SIZE, o->threads,
                                    NULL},
                                   {MHD_OPTION_END, 0, NULL}};
  if (o->threads < 2)
    pool[0] = pool[1];
  return MHD_start_daemon(
    flags, 0, NULL, NULL, &on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
    &on_mhd_log, srv, MHD_OPTION_ARRAY, pool,
    /* Above the cap (which has_room enforces), so that a full pool
     * thread never refuses while another has room. */
    MHD_OPTION_CONNECTION_LIMIT, l->max_connections * 2,
    MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->max_per_address,
    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S,
    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
    MHD_OPTION_NOTIFY_CONNECTION, &on_connection, srv,
    MHD_OPTION_NOTIFY_COMPLETED, &on_completed, NULL,
    MHD_OPTION_URI_LOG_CALLBACK, &on_uri, NULL, MHD_OPTION_END);
}

/* Listener callbacks.  libmicrohttpd closes a connection over the
 * per-address limit at once (MHD_NO); every other one is counted until
 * its CLOSED notification. */
static void take_connection(void *arg, int fd, const struct sockaddr *peer,
                            socklen_t peer_len)
{
  struct http_server *srv = arg;
  atomic_fetch_add(&srv->admitted, 1);
  if (MHD_add_connection(srv->daemon, fd, peer, peer_len) != MHD_YES)
    atomic_fetch_sub(&srv->admitted, 1);
}

/* The cap is counted here rather than left to libmicrohttpd, which splits
 * it evenly between its threads and refuses a connection when the thread
 * it picks is full although another has room, or when closes are still
 * in flight.  Until there is room the connection waits in the kernel's
 * accept queue, where the near-cap eviction of the guard makes room. */
static bool has_room(void *arg)
{
  struct http_server *srv = arg;
  return atomic_load(&srv->admitted) < srv->max_connections;
}

static enum ss_err start_listener(struct http_server *srv,
                                  union sock_addr *addr, bool ipv6)
{
  struct listener_opts lo = {
    .addr = &addr->sa,
    .addr_len = ipv6 ? sizeof addr->in6 : sizeof addr->in4,
    .backlog = SOMAXCONN,
    .take = take_connection,
    .room = has_room,
    .arg = srv,
  };
  return listener_start(&lo, &srv->listener);
}

static void server_free(struct http_server *srv)
{
  listener_stop(srv->listener); /* no new connections */
  if (srv->daemon)
    MHD_stop_daemon(srv->daemon); /* closes the rest: no guard entry left */
  conn_guard_stop(srv->guard);
  pthread_mutex_destroy(&srv->log_mu);
  free(srv->answers);
  free(srv);
}

enum ss_err http_server_start(const struct http_server_opts *opts,
                              struct http_server **out)
{
  *out = NULL;
  union sock_addr addr;
  bool ipv6;
  if (!opts_valid(opts) ||
      parse_bind(opts->host, opts->port, &addr, &ipv6) != SS_OK) {
    log_error("http", "invalid listen options");
    return SS_EINVAL;
  }
  struct limits l = limits_of(opts);
  struct conn_guard_opts gopts = {
    .max_connections = (int)l.max_connections,
    .request_timeout_ms = l.request_timeout_s * 1000,
    .near_cap_idle_ms = HTTP_NEAR_CAP_IDLE_MS,
    .scan_ms = HTTP_GUARD_SCAN_MS,
  };
  struct http_server *srv = xcalloc(1, sizeof *srv);
  srv->routes = opts->routes;
  srv->n_routes = opts->n_routes;
  srv->answers = xcalloc((opts->n_routes + 1) * HTTP_STATUS_CLASSES,
                         sizeof *srv->answers);
  srv->ctx = opts->ctx;
  srv->extra_hosts = opts->extra_hosts;
  srv->authorize = opts->authorize;
  snprintf(srv->bind_host, sizeof srv->bind_host, "%s", opts->host);
  atomic_store(&srv->port, opts->port); /* port 0: known once bound */
  srv->max_connections = l.max_connections;
  pthread_mutex_init(&srv->log_mu, NULL);
  enum ss_err rc = conn_guard_start(&gopts, &srv->guard);
  if (rc == SS_OK && !(srv->daemon = start_daemon(srv, opts, &l)))
    rc = SS_EIO;
  if (rc == SS_OK && (rc = start_listener(srv, &addr, ipv6)) != SS_OK)
    log_error("http", "cannot listen on %.64s port %d: %s", opts->host,
              opts->port, strerror(errno));
  else if (rc != SS_OK)
    log_error("http", "cannot start the HTTP server");
  if (rc != SS_OK) {
    server_free(srv);
    return SS_EIO;
  }
  atomic_store(&srv->port, http_server_port(srv));
  log_info("http",
           "listening on %s port %d (at most %u connections, %u "
           "per client address; a request must arrive within %d s)",
           opts->host, http_server_port(srv), l.max_connections,
           l.max_per_address, l.request_timeout_s);
  *out = srv;
  return SS_OK;
}

int http_server_port(const struct http_server *srv)
{
  return listener_port(srv->listener);
}

void http_server_stop(struct http_server *srv)
{
  if (srv)
    server_free(srv);
}
