/*
 * fuzz_http.c - libFuzzer target: the HTTP front door (src/http/server.c on
 * libmicrohttpd): request line and path checks, routing against the
 * daemon's real route table, Host and cross-site checks, body caps, the
 * query parser and the form decoder (http_req_form_value), and the
 * {id}/integer parameter parsers of src/api/api_common.c.
 *
 * The input is sent as raw bytes to a real server on 127.0.0.1 (one
 * connection per input, write side shut after sending, the reply read to
 * the end).  The server has the patterns and methods of api_routes() but
 * every route calls one echo handler, so no store, worker or network is
 * touched.  Host "fuzz.test" is accepted (extra_hosts) so seeds do not
 * depend on the ephemeral port.  Checks: every reply is HTTP/1.x with a
 * status; a handler sees a safe path and a body within HTTP_BODY_MAX.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/server.h"
#include "fuzz.h"

static struct http_server *srv;
static int port;

static void extra_hosts(char *out, size_t n) { snprintf(out, n, "fuzz.test"); }

static void echo(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  static const char *const query[] = {"state", "offset", "limit", "status",
                                      "tab",   "id",     "code",  "error"};
  static const char *const form[] = {"key", "value", "keep", "kind", "text"};
  const char *path = http_req_path(req);
  FUZZ_CHECK(path[0] == '/' && !strstr(path, "/../"));
  size_t len;
  const char *body = http_req_body(req, &len);
  FUZZ_CHECK(len <= HTTP_BODY_MAX && body[len] == '\0');
  buf_printf(&resp->body, "{\"cross\":%d,\"id\":%lld",
             http_req_cross_site(req),
             (long long)api_path_id(path, "/api/downloads/"));
  for (size_t i = 0; i < sizeof query / sizeof query[0]; i++) {
    const char *v = http_req_query(req, query[i]);
    buf_printf(&resp->body, ",\"%s\":%zu", query[i], v ? strlen(v) : 0);
  }
  buf_printf(&resp->body, ",\"offset_n\":%lld}",
             (long long)api_int_param(req, "offset", 0, 1000));
  for (size_t i = 0; i < sizeof form / sizeof form[0]; i++) {
    char *v = http_req_form_value(req, form[i]);
    if (v)
      FUZZ_CHECK(strlen(v) <= len);
    free(v);
  }
  const char *ref = http_req_header(req, "Referer");
  if (ref)
    http_req_url_is_ours(req, ref);
}

static void start(void)
{
  log_set_level(LOG_LVL_ERROR - 1);
  size_t n = 0;
  const struct http_route *real = api_routes(&n);
  struct http_route *routes = calloc(n, sizeof *routes);
  FUZZ_CHECK(routes);
  for (size_t i = 0; i < n; i++)
    routes[i] = (struct http_route){real[i].method, real[i].path, echo};
  struct http_server_opts o = {.host = "127.0.0.1",
                               .threads = 2,
                               .routes = routes,
                               .n_routes = n,
                               .extra_hosts = extra_hosts};
  FUZZ_CHECK(http_server_start(&o, &srv) == SS_OK);
  port = http_server_port(srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!srv)
    start();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
  /* No TIME_WAIT pile-up over millions of connections. */
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  size_t off = 0;
  while (off < size) {
    ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (w <= 0)
      break; /* the server may answer (413, 400) and close early */
    off += (size_t)w;
  }
  shutdown(fd, SHUT_WR);
  char head[16] = "", chunk[4096];
  size_t got = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, 5000) > 0) {
    ssize_t r = recv(fd, chunk, sizeof chunk, 0);
    if (r <= 0)
      break;
    for (ssize_t i = 0; i < r && got + 1 < sizeof head; i++)
      head[got++] = chunk[i];
  }
  close(fd);
  if (got >= 12)
    FUZZ_CHECK(!strncmp(head, "HTTP/1.", 7) && head[8] == ' ');
  return 0;
}
