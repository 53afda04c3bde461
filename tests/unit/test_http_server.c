/*
 * test_http_server.c - the HTTP server driven over loopback with libcurl.
 *
 * One server on 127.0.0.1, ephemeral port, 2 pool threads and a small route
 * table is shared by the whole group.  Handlers count their calls with
 * atomics so tests can prove a handler did (or did not) run.  cmocka is not
 * thread-safe, so the parallel test only counts failures in its threads and
 * asserts on the main thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <xxhash.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/server.h"

/* ------------------------------------------------------------ handlers */

static atomic_int echo_calls;
static atomic_int delete_calls;
static const char static_text[] = "static asset bytes";

static void h_exact(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *q = http_req_query(req, "name");
  resp->content_type = "text/plain";
  buf_printf(&resp->body, "exact q=%s", q ? q : "(null)");
}

static void h_prefix(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  resp->content_type = "text/plain";
  buf_printf(&resp->body, "prefix:%s", http_req_path(req));
}

static void h_both_get(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  buf_puts(&resp->body, "{\"both\":\"get\"}");
}

static void h_both_post(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)req;
  (void)ctx;
  buf_puts(&resp->body, "{\"both\":\"post\"}");
}

static void h_echo(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  atomic_fetch_add(&echo_calls, 1);
  size_t len;
  const char *body = http_req_body(req, &len);
  resp->content_type = "application/octet-stream";
  buf_append(&resp->body, body, len);
  const char *x = http_req_header(req, "x-test");
  if (x)
    http_resp_header(resp, "X-Echo-Test", x);
}

static void h_delete(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  atomic_fetch_add(&delete_calls, 1);
  resp->status = 204;
}

static void h_form(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  static const char *const names[] = {"a", "b", "c", "d",       "k y",
                                      "e", "f", "g", "missing", NULL};
  resp->content_type = "text/plain";
  for (const char *const *n = names; *n; n++) {
    char *v = http_req_form_value(req, *n);
    if (v)
      buf_printf(&resp->body, "%s=[%s]\n", *n, v);
    else
      buf_printf(&resp->body, "%s=(null)\n", *n);
    free(v);
  }
}

static void h_etag(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  resp->content_type = "text/plain";
  buf_puts(&resp->body, "etag body");
  http_resp_etag(req, resp);
}

static void h_html(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  resp->content_type = "text/html; charset=utf-8";
  buf_puts(&resp->body, "<p>hi</p>");
}

static void h_cached(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  http_resp_header(resp, "Cache-Control", "max-age=60");
  http_resp_header(resp, "X-Bad", "evil\r\nInjected: yes");
  buf_puts(&resp->body, "{}");
}

static void h_static(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  resp->content_type = "text/css";
  resp->static_body = static_text;
  resp->static_len = sizeof static_text - 1;
}

static void h_big(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  static char chunk[64 * 1024];
  memset(chunk, 'x', sizeof chunk);
  for (size_t i = 0; i <= HTTP_RESP_MAX / sizeof chunk; i++)
    buf_append(&resp->body, chunk, sizeof chunk);
}

static void h_error(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  buf_puts(&resp->body, "partial output");
  if (http_req_query(req, "invalid"))
    http_resp_error(resp, 400, "bad \xff byte");
  else
    http_resp_error(resp, 422, "bad \"x\"\n\x01\xc3\xa9 \\");
}

static void h_badstatus(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)req;
  (void)ctx;
  resp->status = 42;
}

static const struct http_route routes[] = {
  {"GET", "/exact", h_exact},   {"GET", "/files/*", h_prefix},
  {"GET", "/both", h_both_get}, {"POST", "/both", h_both_post},
  {"POST", "/echo", h_echo},    {"DELETE", "/item", h_delete},
  {"POST", "/form", h_form},    {"GET", "/etag", h_etag},
  {"GET", "/html", h_html},     {"GET", "/cached", h_cached},
  {"GET", "/static", h_static}, {"GET", "/big", h_big},
  {"GET", "/error", h_error},   {"GET", "/badstatus", h_badstatus},
};

/* ------------------------------------------------------- client helpers */

static struct http_server *srv;
static int port;

/* server.allowed_hosts of the group's server. */
static void extra_hosts(char *out, size_t n)
{
  snprintf(out, n, "Example.COM:8080, proxy.example");
}

struct reply {
  CURLcode rc;
  long status;
  struct buf body;
  struct buf headers;
  long connects;
  long local_port;
  size_t sent; /* body bytes the client handed to libcurl */
};

struct request {
  const char *method; /* NULL = GET */
  const char *path;
  const char *body;
  size_t body_len;
  bool chunked;
  bool head;
  bool path_as_is;
  bool fresh;                 /* force a new connection */
  bool http10;                /* send HTTP/1.0 */
  size_t declared;            /* generated body, this Content-Length */
  const char *const *headers; /* NULL-terminated */
};

struct upload {
  const char *data; /* NULL: generate x bytes */
  size_t len;
  size_t off;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
  buf_append(ud, p, size * n);
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
  struct buf *h = ud;
  if (n * size >= 5 && !strncmp(p, "HTTP/", 5))
    buf_reset(h); /* only the final response's headers (not 100) */
  buf_append(h, p, size * n);
  return size * n;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
  struct upload *u = ud;
  size_t left = u->len - u->off;
  size_t take = size * n < left ? size * n : left;
  if (u->data)
    memcpy(p, u->data + u->off, take);
  else
    memset(p, 'x', take);
  u->off += take;
  return take;
}

static void reply_init(struct reply *r)
{
  memset(r, 0, sizeof *r);
  buf_init(&r->body, 8 << 20);
  buf_init(&r->headers, 64 << 10);
}

static void reply_free(struct reply *r)
{
  buf_free(&r->body);
  buf_free(&r->headers);
}

static void use_reader(CURL *h, struct upload *u)
{
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, u);
}

static void setup_body(CURL *h, const struct request *q, struct upload *u,
                       struct curl_slist **hdrs)
{
  if (q->declared) {
    u->len = q->declared;
    use_reader(h, u);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->declared);
  } else if (q->body && !q->chunked) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
  } else if (q->body) {
    u->data = q->body;
    u->len = q->body_len;
    use_reader(h, u);
    *hdrs = curl_slist_append(*hdrs, "Transfer-Encoding: chunked");
  }
}

/* Runs one request on h (which may carry a previous connection). */
static void perform(CURL *h, const struct request *q, struct reply *r)
{
  char url[512];
  struct upload u = {0};
  struct curl_slist *hdrs = NULL;
  reply_init(r);
  curl_easy_reset(h);
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, q->path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  /* Wait for "100 Continue" or an early reply however slow the server
   * is (valgrind): the default 1 s would start the upload anyway. */
  curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, q->path_as_is ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, q->fresh ? 1L : 0L);
  setup_body(h, q, &u, &hdrs);
  if (q->head)
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (q->http10)
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_0);
  if (q->method)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
  for (const char *const *p = q->headers; p && *p; p++)
    hdrs = curl_slist_append(hdrs, *p);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  r->rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
  curl_easy_getinfo(h, CURLINFO_LOCAL_PORT, &r->local_port);
  r->sent = u.off;
  curl_slist_free_all(hdrs);
}

/* One request on a fresh handle. */
static void fetch(const struct request *q, struct reply *r)
{
  CURL *h = curl_easy_init();
  perform(h, q, r);
  curl_easy_cleanup(h);
}

static void get(const char *path, struct reply *r)
{
  struct request q = {.path = path};
  fetch(&q, r);
}

/* Copies the value of header name into out; false when absent. */
static bool reply_header(const struct reply *r, const char *name, char *out,
                         size_t cap)
{
  size_t n = strlen(name);
  const char *p = buf_cstr(&r->headers);
  for (; *p; p += strcspn(p, "\n"), p += *p == '\n') {
    if (strncasecmp(p, name, n) != 0 || p[n] != ':')
      continue;
    const char *v = p + n + 1;
    v += strspn(v, " \t");
    size_t len = strcspn(v, "\r\n");
    snprintf(out, cap, "%.*s", (int)len, v);
    return true;
  }
  return false;
}

static int count_header(const struct reply *r, const char *name)
{
  int count = 0;
  size_t n = strlen(name);
  const char *p = buf_cstr(&r->headers);
  for (; *p; p += strcspn(p, "\n"), p += *p == '\n')
    if (!strncasecmp(p, name, n) && p[n] == ':')
      count++;
  return count;
}

static void assert_header(const struct reply *r, const char *name,
                          const char *want)
{
  char v[512];
  if (!reply_header(r, name, v, sizeof v))
    fail_msg("header %s missing", name);
  assert_string_equal(v, want);
}

static void assert_no_header(const struct reply *r, const char *name)
{
  char v[512];
  assert_false(reply_header(r, name, v, sizeof v));
}

static void assert_reply(const struct reply *r, long status, const char *body)
{
  assert_int_equal(r->rc, CURLE_OK);
  assert_int_equal(r->status, status);
  if (body)
    assert_string_equal(buf_cstr(&r->body), body);
}

/* ---------------------------------------------------------- group setup */

static int group_setup(void **state)
{
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct http_server_opts o = {
    .host = "127.0.0.1",
    .port = 0,
    .threads = 2,
    .routes = routes,
    .n_routes = sizeof routes / sizeof routes[0],
    .extra_hosts = extra_hosts,
  };
  if (http_server_start(&o, &srv) != SS_OK)
    return -1;
  port = http_server_port(srv);
  return port > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  http_server_stop(srv);
  curl_global_cleanup();
  return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_exact_and_prefix_routing(void **state)
{
  (void)state;
  struct reply r;
  get("/exact", &r);
  assert_reply(&r, 200, "exact q=(null)");
  assert_header(&r, "Content-Type", "text/plain");
  reply_free(&r);

  get("/exact?name=x%20y+z", &r);
  assert_reply(&r, 200, "exact q=x y z");
  reply_free(&r);

  get("/files/a/b.txt", &r);
  assert_reply(&r, 200, "prefix:/files/a/b.txt");
  reply_free(&r);

  get("/files/", &r);
  assert_reply(&r, 200, "prefix:/files/");
  reply_free(&r);

  get("/files/a..b", &r); /* ".." inside a segment is fine */
  assert_reply(&r, 200, "prefix:/files/a..b");
  reply_free(&r);

  get("/static", &r);
  assert_reply(&r, 200, static_text);
  assert_header(&r, "Content-Type", "text/css");
  reply_free(&r);
}

static void test_not_found(void **state)
{
  (void)state;
  static const char *const paths[] = {"/nowhere", "/exact/more", "/files",
                                      "/EXACT", NULL};
  for (const char *const *p = paths; *p; p++) {
    struct reply r;
    get(*p, &r);
    assert_reply(&r, 404, "{\"error\":\"not found\"}");
    assert_header(&r, "Content-Type", "application/json; charset=utf-8");
    reply_free(&r);
  }
}

static void test_method_not_allowed(void **state)
{
  (void)state;
  struct reply r;
  struct request q = {.path = "/exact", .body = "x", .body_len = 1};
  fetch(&q, &r);
  assert_reply(&r, 405, "{\"error\":\"method not allowed\"}");
  assert_header(&r, "Allow", "GET, HEAD");
  reply_free(&r);

  q = (struct request){.method = "PUT", .path = "/both"};
  fetch(&q, &r);
  assert_reply(&r, 405, "{\"error\":\"method not allowed\"}");
  assert_header(&r, "Allow", "GET, HEAD, POST");
  reply_free(&r);

  q = (struct request){.path = "/both", .body = "x", .body_len = 1};
  fetch(&q, &r);
  assert_reply(&r, 200, "{\"both\":\"post\"}");
  reply_free(&r);

  get("/both", &r);
  assert_reply(&r, 200, "{\"both\":\"get\"}");
  reply_free(&r);
}

static void test_options(void **state)
{
  (void)state;
  struct reply r;
  struct request q = {.method = "OPTIONS", .path = "/both"};
  fetch(&q, &r);
  assert_reply(&r, 204, "");
  assert_header(&r, "Allow", "GET, HEAD, POST");
  reply_free(&r);

  q.path = "/files/x";
  fetch(&q, &r);
  assert_reply(&r, 204, "");
  assert_header(&r, "Allow", "GET, HEAD");
  reply_free(&r);

  q.path = "/nowhere";
  fetch(&q, &r);
  assert_reply(&r, 404, "{\"error\":\"not found\"}");
  reply_free(&r);
}

static void test_post_echo(void **state)
{
  (void)state;
  static const char *const hdrs[] = {"X-Test: hello header", NULL};
  static const char body[] = "hello\0world";
  int before = atomic_load(&echo_calls);
  struct reply r;
  struct request q = {.path = "/echo",
                      .body = body,
                      .body_len = sizeof body - 1,
                      .headers = hdrs};
  fetch(&q, &r);
  assert_reply(&r, 200, NULL);
  assert_int_equal(r.body.len, sizeof body - 1);
  assert_memory_equal(r.body.data, body, sizeof body - 1);
  assert_header(&r, "X-Echo-Test", "hello header");
  assert_header(&r, "Content-Type", "application/octet-stream");
  assert_int_equal(atomic_load(&echo_calls), before + 1);
  reply_free(&r);

  q = (struct request){.path = "/echo", .body = "", .body_len = 0};
  fetch(&q, &r);
  assert_reply(&r, 200, "");
  reply_free(&r);
}

static char *filled(size_t n, char c)
{
  char *p = malloc(n);
  memset(p, c, n);
  return p;
}

static void test_body_at_limit_accepted(void **state)
{
  (void)state;
  char *body = filled(HTTP_BODY_MAX, 'b');
  for (int chunked = 0; chunked <= 1; chunked++) {
    struct reply r;
    struct request q = {.path = "/echo",
                        .body = body,
                        .body_len = HTTP_BODY_MAX,
                        .chunked = chunked};
    fetch(&q, &r);
    assert_reply(&r, 200, NULL);
    assert_int_equal(r.body.len, HTTP_BODY_MAX);
    assert_memory_equal(r.body.data, body, HTTP_BODY_MAX);
    reply_free(&r);
  }
  free(body);
}

static void test_body_too_large_content_length(void **state)
{
  (void)state;
  static const char *const no_expect[] = {"Expect:", NULL};
  char *body = filled(HTTP_BODY_MAX + 1, 'x');
  int before = atomic_load(&echo_calls);
  struct reply r;
  struct request q = {.path = "/echo",
                      .body = body,
                      .body_len = HTTP_BODY_MAX + 1};
  fetch(&q, &r);
  assert_reply(&r, 413, "{\"error\":\"request body too large\"}");
  reply_free(&r);

  /* Without "Expect: 100-continue" the client sends the body at once. */
  q.headers = no_expect;
  fetch(&q, &r);
  if (r.rc == CURLE_OK) /* or the peer reset the half-sent upload */
    assert_reply(&r, 413, "{\"error\":\"request body too large\"}");
  reply_free(&r);

  /* A declared 64 MiB body is refused before it is read. */
  q = (struct request){.path = "/echo", .declared = 64 << 20};
  fetch(&q, &r);
  assert_reply(&r, 413, "{\"error\":\"request body too large\"}");
  assert_true(r.sent < HTTP_BODY_MAX);
  reply_free(&r);
  assert_int_equal(atomic_load(&echo_calls), before);
  free(body);
}

static void test_body_too_large_chunked(void **state)
{
  (void)state;
  size_t n = HTTP_BODY_MAX + 40000;
  char *body = filled(n, 'y');
  int before = atomic_load(&echo_calls);
  CURL *h = curl_easy_init();
  struct reply r;
  struct request q = {.path = "/echo",
                      .body = body,
                      .body_len = n,
                      .chunked = true};
  perform(h, &q, &r);
  assert_reply(&r, 413, "{\"error\":\"request body too large\"}");
  long first_port = r.local_port;
  reply_free(&r);
  /* The excess was drained, so the connection is still good. */
  struct request g = {.path = "/exact"};
  perform(h, &g, &r);
  assert_reply(&r, 200, "exact q=(null)");
  assert_int_equal(r.connects, 0);
  assert_int_equal(r.local_port, first_port);
  reply_free(&r);
  curl_easy_cleanup(h);
  assert_int_equal(atomic_load(&echo_calls), before);
  free(body);
}

static void test_endless_chunked_body_is_cut(void **state)
{
  (void)state;
  size_t n = 24 * HTTP_BODY_MAX; /* past the server's drain allowance */
  char *body = filled(n, 'z');
  int before = atomic_load(&echo_calls);
  struct reply r;
  struct request q = {.path = "/echo",
                      .body = body,
                      .body_len = n,
                      .chunked = true};
  fetch(&q, &r);
  assert_int_not_equal(r.rc, CURLE_OK); /* cut, no reply */
  reply_free(&r);
  assert_int_equal(atomic_load(&echo_calls), before);
  get("/exact", &r); /* the server is still fine */
  assert_reply(&r, 200, "exact q=(null)");
  reply_free(&r);
  free(body);
}

static void expect_echo_status(const char *const *hdrs, long status)
{
  int before = atomic_load(&echo_calls);
  struct reply r;
  struct request q = {.path = "/echo",
                      .body = "data",
                      .body_len = 4,
                      .headers = hdrs};
  fetch(&q, &r);
  assert_reply(&r, status, status == 200 ? "data" : NULL);
  if (status == 403)
    assert_string_equal(buf_cstr(&r.body),
                        "{\"error\":\"cross-site request rejected\"}");
  assert_int_equal(atomic_load(&echo_calls), before + (status == 200));
  reply_free(&r);
}

static void test_cross_site_origin(void **state)
{
  (void)state;
  char same[128], tricky[160];
  snprintf(same, sizeof same, "Origin: http://127.0.0.1:%d", port);
  snprintf(tricky, sizeof tricky, "Origin: http://127.0.0.1:%d.evil.example",
           port);
  const char *const foreign[] = {"Origin: http://evil.example", NULL};
  const char *const null_origin[] = {"Origin: null", NULL};
  const char *const prefix[] = {tricky, NULL};
  const char *const same_origin[] = {same, NULL};
  const char *const other_host[] = {"Host: Example.COM:8080",
                                    "Origin: https://example.com:8080", NULL};
  char localhost[128], proxy_referer[128], foreign_referer[160];
  snprintf(localhost, sizeof localhost, "Origin: http://LOCALHOST:%d", port);
  snprintf(proxy_referer, sizeof proxy_referer,
           "Referer: https://proxy.example/settings?tab=spotify");
  snprintf(foreign_referer, sizeof foreign_referer,
           "Referer: http://evil.example:%d/attack", port);
  const char *const by_localhost[] = {localhost, NULL};
  const char *const via_proxy[] = {"Host: proxy.example", proxy_referer, NULL};
  const char *const referer_foreign[] = {foreign_referer, NULL};
  /* DNS rebinding: the Origin matches the Host, but neither is ours. */
  char rebind_host[128], rebind_origin[128];
  snprintf(rebind_host, sizeof rebind_host, "Host: evil.example:%d", port);
  snprintf(rebind_origin, sizeof rebind_origin,
           "Origin: http://evil.example:%d", port);
  const char *const rebinding[] = {rebind_host, rebind_origin, NULL};
  /* A listed name as Origin while the Host is a loopback literal. */
  const char *const listed_origin[] = {"Origin: http://example.com:8080",
                                       NULL};
  const char *const listed_wrong_port[] = {"Origin: http://example.com:8081",
                                           NULL};
  expect_echo_status(foreign, 403);
  expect_echo_status(null_origin, 403);
  expect_echo_status(prefix, 403);
  expect_echo_status(referer_foreign, 403);
  expect_echo_status(listed_wrong_port, 403);
  expect_echo_status(rebinding, 421);
  expect_echo_status(same_origin, 200);
  expect_echo_status(by_localhost, 200);
  expect_echo_status(other_host, 200);
  expect_echo_status(listed_origin, 200);
  expect_echo_status(via_proxy, 200);
  expect_echo_status(NULL, 200);
}

/* The pure rule: loopback names with the listening port, the bound
 * address, IP literals on a wildcard bind, listed names. */
static void test_host_allowed_rule(void **state)
{
  (void)state;
  static const struct {
    const char *authority;
    int def_port;
    const char *bind;
    int listen;
    const char *extra;
    bool want;
  } cases[] = {
    {"127.0.0.1:8765", 0, "127.0.0.1", 8765, "", true},
    {"LocalHost:8765", 0, "127.0.0.1", 8765, "", true},
    {"[::1]:8765", 0, "127.0.0.1", 8765, "", true},
    {"[::1]", 80, "::1", 80, "", true},
    {"127.0.0.1:8766", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1", 80, "127.0.0.1", 80, "", true},
    {"localhost.:8765", 0, "127.0.0.1", 8765, "", false},
    {"evil.example:8765", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1.nip.io:8765", 0, "127.0.0.1", 8765, "", false},
    {"192.168.1.10:8765", 0, "127.0.0.1", 8765, "", false},
    {"192.168.1.10:8765", 0, "192.168.1.10", 8765, "", true},
    {"192.168.1.11:8765", 0, "192.168.1.10", 8765, "", false},
    {"192.168.1.11:8765", 0, "0.0.0.0", 8765, "", true},
    {"[fe80::1]:8765", 0, "::", 8765, "", true},
    {"nas:8765", 0, "0.0.0.0", 8765, "", false},
    {"nas:8765", 0, "0.0.0.0", 8765, "nas", true},
    {"NAS:1234", 0, "0.0.0.0", 8765, " music.example , nas ", true},
    {"music.example", 0, "0.0.0.0", 8765, "music.example:443", true},
    {"music.example:444", 0, "0.0.0.0", 8765, "music.example:443", false},
    {"music.example", 443, "0.0.0.0", 8765, "music.example:443", true},
    {"music.example.evil", 0, "0.0.0.0", 8765, "music.example", false},
    {"xmusic.example", 0, "0.0.0.0", 8765, "music.example", false},
    {"", 0, "127.0.0.1", 8765, "", false},
    {":8765", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1:", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1:0", 0, "127.0.0.1", 0, "", false},
    {"127.0.0.1:99999", 0, "127.0.0.1", 8765, "", false},
    {"127.0.0.1:8765x", 0, "127.0.0.1", 8765, "", false},
    {"a b:8765", 0, "0.0.0.0", 8765, "a b", false},
    {"user@127.0.0.1:8765", 0, "127.0.0.1", 8765, "", false},
    {"[::1:8765", 0, "127.0.0.1", 8765, "", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool got = http_host_allowed(cases[i].authority, cases[i].def_port,
                                 cases[i].bind, cases[i].listen,
                                 cases[i].extra);
    if (got != cases[i].want)
      fail_msg("case %zu: '%s' (bind %s:%d, extra '%s') gave %d", i,
               cases[i].authority, cases[i].bind, cases[i].listen,
               cases[i].extra, got);
  }
  assert_false(http_host_allowed(NULL, 0, "127.0.0.1", 8765, NULL));
}

/* Every request for another name is refused before routing, reads
 * included, with JSON for /api paths. */
static void test_host_refused(void **state)
{
  (void)state;
  char evil[128];
  snprintf(evil, sizeof evil, "Host: evil.example:%d", port);
  const char *const foreign[] = {evil, NULL};
  int before = atomic_load(&echo_calls);
  struct reply r;
  struct request q = {.path = "/exact", .headers = foreign};
  fetch(&q, &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 421);
  assert_null(strstr(buf_cstr(&r.body), "exact"));
  assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
  reply_free(&r);

  struct request api = {.path = "/api/none", .headers = foreign};
  fetch(&api, &r);
  assert_int_equal(r.status, 421);
  assert_non_null(strstr(buf_cstr(&r.body), "{\"error\":\""));
  assert_non_null(strstr(buf_cstr(&r.body), "server.allowed_hosts"));
  reply_free(&r);

  struct request post = {.method = "POST",
                         .path = "/echo",
                         .body = "x",
                         .body_len = 1,
                         .headers = foreign};
  fetch(&post, &r);
  assert_int_equal(r.status, 421);
  assert_int_equal(atomic_load(&echo_calls), before);
  reply_free(&r);

  const char *const listed[] = {"Host: proxy.example", NULL};
  struct request ok = {.path = "/exact", .headers = listed};
  fetch(&ok, &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);
}

/* HTTP/1.0 may omit Host: a clear 400, and the server keeps serving. */
static void test_missing_host(void **state)
{
  (void)state;
  const char *const none[] = {"Host:", NULL};
  struct reply r;
  struct request q = {.path = "/exact", .headers = none, .http10 = true};
  fetch(&q, &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(buf_cstr(&r.body), "missing Host header"));
  reply_free(&r);

  struct request api = {.path = "/api/x", .headers = none, .http10 = true};
  fetch(&api, &r);
  assert_int_equal(r.status, 400);
  assert_string_equal(buf_cstr(&r.body),
                      "{\"error\":\"missing Host header\"}");
  reply_free(&r);

  get("/exact", &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);
}

static void test_cross_site_fetch_metadata(void **state)
{
  (void)state;
  const char *const cross[] = {"Sec-Fetch-Site: cross-site", NULL};
  const char *const same[] = {"Sec-Fetch-Site: same-origin", NULL};
  expect_echo_status(cross, 403);
  expect_echo_status(same, 200);
}

static void test_cross_site_other_methods(void **state)
{
  (void)state;
  const char *const foreign[] = {"Origin: http://evil.example", NULL};
  int before = atomic_load(&delete_calls);
  struct reply r;
  struct request q = {.method = "DELETE", .path = "/item", .headers = foreign};
  fetch(&q, &r);
  assert_reply(&r, 403, "{\"error\":\"cross-site request rejected\"}");
  assert_int_equal(atomic_load(&delete_calls), before);
  reply_free(&r);

  q.headers = NULL;
  fetch(&q, &r);
  assert_reply(&r, 204, "");
  assert_int_equal(atomic_load(&delete_calls), before + 1);
  reply_free(&r);

  /* Safe methods are not checked. */
  q = (struct request){.path = "/exact", .headers = foreign};
  fetch(&q, &r);
  assert_reply(&r, 200, "exact q=(null)");
  reply_free(&r);
}

static void etag_request(const char *inm, struct reply *r)
{
  char hdr[256];
  const char *const hdrs[] = {hdr, NULL};
  snprintf(hdr, sizeof hdr, "If-None-Match: %s", inm ? inm : "");
  struct request q = {.path = "/etag", .headers = inm ? hdrs : NULL};
  fetch(&q, r);
}

static void test_etag(void **state)
{
  (void)state;
  char want[32], list[128], weak[64], mid[128];
  snprintf(want, sizeof want, "\"%016llx\"",
           (unsigned long long)XXH3_64bits("etag body", 9));
  struct reply r;
  etag_request(NULL, &r);
  assert_reply(&r, 200, "etag body");
  assert_header(&r, "ETag", want);
  reply_free(&r);

  snprintf(list, sizeof list, "\"abc\" , W/%s", want);
  snprintf(weak, sizeof weak, "W/%s", want);
  snprintf(mid, sizeof mid, "\"a\",  %s \t, \"b\"", want);
  const char *const matching[] = {want, list, weak, mid, "*", NULL};
  for (const char *const *m = matching; *m; m++) {
    etag_request(*m, &r);
    assert_reply(&r, 304, "");
    assert_header(&r, "ETag", want);
    reply_free(&r);
  }

  const char *const other[] =
    {"\"0000000000000000\"", "\"abc\", W/\"x\"", ", ,", "W/", "**", NULL};
  for (const char *const *m = other; *m; m++) {
    etag_request(*m, &r);
    assert_reply(&r, 200, "etag body");
    assert_header(&r, "ETag", want);
    reply_free(&r);
  }
}

static void test_head(void **state)
{
  (void)state;
  struct reply r;
  struct request q = {.path = "/exact", .head = true};
  fetch(&q, &r);
  assert_reply(&r, 200, "");
  assert_header(&r, "Content-Length", "14"); /* strlen("exact q=(null)") */
  assert_header(&r, "Content-Type", "text/plain");
  reply_free(&r);

  q.path = "/nowhere";
  fetch(&q, &r);
  assert_reply(&r, 404, "");
  reply_free(&r);
}

static void test_keep_alive(void **state)
{
  (void)state;
  static const struct request seq[] = {
    {.path = "/exact"},
    {.path = "/exact?name=again"},
    {.path = "/echo", .body = "abc", .body_len = 3},
    {.path = "/nowhere"},
    {.path = "/echo", .body = "chunky", .body_len = 6, .chunked = true},
    {.method = "OPTIONS", .path = "/both"},
    {.path = "/exact"},
  };
  CURL *h = curl_easy_init();
  struct reply r;
  perform(h, &seq[0], &r);
  assert_reply(&r, 200, "exact q=(null)");
  assert_int_equal(r.connects, 1);
  long first_port = r.local_port;
  reply_free(&r);
  for (size_t i = 1; i < sizeof seq / sizeof seq[0]; i++) {
    perform(h, &seq[i], &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.connects, 0);
    assert_int_equal(r.local_port, first_port);
    assert_int_equal(count_header(&r, "Connection"), 0);
    reply_free(&r);
  }
  curl_easy_cleanup(h);
}

static void form_post(const char *body, struct reply *r)
{
  struct request q = {.path = "/form", .body = body, .body_len = strlen(body)};
  fetch(&q, r);
}

static void test_form_values(void **state)
{
  (void)state;
  struct reply r;
  form_post("a=1&b=x+y%21&c=%zz%4&d=%00x&k%20y=v&e=&f&a=2&g=%41%", &r);
  assert_reply(&r, 200,
               "a=[1]\n"
               "b=[x y!]\n"
               "c=[%zz%4]\n"
               "d=(null)\n"
               "k y=[v]\n"
               "e=[]\n"
               "f=[]\n"
               "g=[A%]\n"
               "missing=(null)\n");
  reply_free(&r);

  form_post("", &r);
  assert_reply(&r, 200,
               "a=(null)\nb=(null)\nc=(null)\nd=(null)\nk y=(null)\n"
               "e=(null)\nf=(null)\ng=(null)\nmissing=(null)\n");
  reply_free(&r);

  form_post("&&=x&b=%e2%82%ac&a=%", &r);
  assert_reply(&r, 200,
               "a=[%]\nb=[\xe2\x82\xac]\nc=(null)\nd=(null)\nk y=(null)\n"
               "e=(null)\nf=(null)\ng=(null)\nmissing=(null)\n");
  reply_free(&r);
}

struct worker_result {
  int ok;
  int failed;
};

static void *parallel_worker(void *arg)
{
  struct worker_result *res = arg;
  CURL *h = curl_easy_init();
  for (int i = 0; i < 25; i++) {
    char path[64], want[64];
    snprintf(path, sizeof path, "/exact?name=t%p-%d", arg, i);
    snprintf(want, sizeof want, "exact q=t%p-%d", arg, i);
    struct request q = {.path = path, .fresh = i % 2}; /* half fresh */
    struct reply r;
    perform(h, &q, &r);
    bool good = r.rc == CURLE_OK && r.status == 200 &&
                !strcmp(buf_cstr(&r.body), want);
    good ? res->ok++ : res->failed++;
    reply_free(&r);
  }
  curl_easy_cleanup(h);
  return NULL;
}

static void test_parallel_requests(void **state)
{
  (void)state;
  pthread_t t[4];
  struct worker_result res[4] = {{0}};
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, parallel_worker, &res[i]), 0);
  int ok = 0, failed = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ok += res[i].ok;
    failed += res[i].failed;
  }
  assert_int_equal(failed, 0);
  assert_int_equal(ok, 100);
}

static void test_security_headers(void **state)
{
  (void)state;
  struct reply r;
  get("/html", &r);
  assert_reply(&r, 200, "<p>hi</p>");
  assert_header(&r, "Content-Type", "text/html; charset=utf-8");
  assert_header(&r, "Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:");
  assert_header(&r, "X-Frame-Options", "DENY");
  assert_header(&r, "Referrer-Policy", "same-origin");
  assert_header(&r, "X-Content-Type-Options", "nosniff");
  assert_header(&r, "Cache-Control", "no-cache");
  reply_free(&r);

  get("/exact", &r);
  assert_header(&r, "X-Content-Type-Options", "nosniff");
  assert_header(&r, "Cache-Control", "no-cache");
  assert_no_header(&r, "Content-Security-Policy");
  assert_no_header(&r, "X-Frame-Options");
  reply_free(&r);

  get("/cached", &r);
  assert_reply(&r, 200, "{}");
  assert_header(&r, "Cache-Control", "max-age=60");
  assert_int_equal(count_header(&r, "Cache-Control"), 1);
  assert_no_header(&r, "X-Bad"); /* CR/LF in a value: dropped */
  assert_no_header(&r, "Injected");
  reply_free(&r);
}

static void test_error_bodies(void **state)
{
  (void)state;
  struct reply r;
  get("/error", &r);
  assert_reply(&r, 422,
               "{\"error\":\"bad \\\"x\\\"\\n\\u0001\xc3\xa9 \\\\\"}");
  assert_header(&r, "Content-Type", "application/json; charset=utf-8");
  reply_free(&r);

  get("/error?invalid=1", &r);
  assert_reply(&r, 400, "{\"error\":\"bad ? byte\"}");
  reply_free(&r);

  get("/big", &r);
  assert_reply(&r, 500, "{\"error\":\"response too large\"}");
  reply_free(&r);

  get("/badstatus", &r);
  assert_reply(&r, 500, "{\"error\":\"internal error\"}");
  reply_free(&r);
}

static void test_bad_paths(void **state)
{
  (void)state;
  static const char *const bad[] =
    {"/files/../exact", "/files/%2e%2e/x", "/files/a/..", "/exact%00",
     "/files/%00/x",    "/files/a%0ab",    NULL};
  for (const char *const *p = bad; *p; p++) {
    struct reply r;
    struct request q = {.path = *p, .path_as_is = true};
    fetch(&q, &r);
    assert_reply(&r, 400, "{\"error\":\"bad request path\"}");
    reply_free(&r);
  }
  struct reply r;
  get("/exact?x=%00", &r); /* %00 in the query is not the path's concern */
  assert_reply(&r, 200, "exact q=(null)");
  reply_free(&r);
}

static void test_debug_log_line(void **state)
{
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  log_set_fd(fds[1]);
  log_set_level(LOG_LVL_DEBUG);
  struct reply r;
  get("/exact", &r);
  assert_reply(&r, 200, NULL);
  reply_free(&r);
  log_set_level(LOG_LVL_INFO);
  get("/nowhere", &r); /* not logged at info */
  reply_free(&r);
  log_set_fd(2);
  char text[4096];
  ssize_t n = read(fds[0], text, sizeof text - 1);
  close(fds[0]);
  close(fds[1]);
  assert_true(n > 0);
  text[n] = '\0';
  assert_non_null(strstr(text, "<7>debug http: GET /exact 200 "));
  assert_null(strstr(text, "/nowhere"));
  assert_non_null(strstr(text, "us\n"));
}

static void test_start_options(void **state)
{
  (void)state;
  struct http_server *s = NULL;
  struct http_server_opts o = {.host = "localhost", .port = 0, .threads = 1};
  assert_int_equal(http_server_start(&o, &s), SS_EINVAL);
  assert_null(s);
  o.host = "127.0.0.1";
  o.threads = 0;
  assert_int_equal(http_server_start(&o, &s), SS_EINVAL);
  o.threads = 1;
  o.port = 70000;
  assert_int_equal(http_server_start(&o, &s), SS_EINVAL);
  o.port = port; /* already taken by the group's server */
  assert_int_equal(http_server_start(&o, &s), SS_EIO);
  assert_null(s);
}

static void test_ipv6(void **state)
{
  (void)state;
  struct http_server *s = NULL;
  struct http_server_opts o = {.host = "::1",
                               .port = 0,
                               .threads = 1,
                               .routes = routes,
                               .n_routes = 1};
  if (http_server_start(&o, &s) != SS_OK)
    skip(); /* no IPv6 loopback on this machine */
  char url[128];
  snprintf(url, sizeof url, "http://[::1]:%d/exact", http_server_port(s));
  struct buf body;
  buf_init(&body, 4096);
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  assert_int_equal(curl_easy_perform(h), CURLE_OK);
  curl_easy_cleanup(h);
  http_server_stop(s);
  assert_string_equal(buf_cstr(&body), "exact q=(null)");
  buf_free(&body);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_exact_and_prefix_routing),
    cmocka_unit_test(test_not_found),
    cmocka_unit_test(test_method_not_allowed),
    cmocka_unit_test(test_options),
    cmocka_unit_test(test_post_echo),
    cmocka_unit_test(test_body_at_limit_accepted),
    cmocka_unit_test(test_body_too_large_content_length),
    cmocka_unit_test(test_body_too_large_chunked),
    cmocka_unit_test(test_endless_chunked_body_is_cut),
    cmocka_unit_test(test_cross_site_origin),
    cmocka_unit_test(test_host_allowed_rule),
    cmocka_unit_test(test_host_refused),
    cmocka_unit_test(test_missing_host),
    cmocka_unit_test(test_cross_site_fetch_metadata),
    cmocka_unit_test(test_cross_site_other_methods),
    cmocka_unit_test(test_etag),
    cmocka_unit_test(test_head),
    cmocka_unit_test(test_keep_alive),
    cmocka_unit_test(test_form_values),
    cmocka_unit_test(test_parallel_requests),
    cmocka_unit_test(test_security_headers),
    cmocka_unit_test(test_error_bodies),
    cmocka_unit_test(test_bad_paths),
    cmocka_unit_test(test_debug_log_line),
    cmocka_unit_test(test_start_options),
    cmocka_unit_test(test_ipv6),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
