/*
 * fake_http.c - a scriptable in-process HTTP server for tests.
 *
 * libmicrohttpd in thread-per-connection mode on 127.0.0.1.  The access
 * handler collects the body, logs the request (on arrival, before any
 * scripted delay, so a test can wait for "the daemon is now waiting on
 * me"), then applies the newest matching script or calls the first matching
 * route.  A reply is queued on the last handler call, never the first.
 *
 * Threading: fh->mu guards scripts, the log and the stopping flag; fh->cond
 * (monotonic clock) wakes log waiters and interrupts delays.  Routes are
 * read without the lock: add them before traffic starts.
 * Ownership: the struct fake_http and all copies live until
 * fake_http_stop(); per-request state is freed in the completion callback.
 */
#include "fake_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"

struct route {
  char *method; /* NULL = any */
  char *pattern;
  fake_handler_fn fn;
  void *arg;
};

struct script {
  char *method;
  char *pattern;
  struct fake_script s; /* strings below are owned copies */
  bool used;
};

struct fake_http {
  struct MHD_Daemon *mhd;
  int port;
  char url[FAKE_URL_MAX];
  struct route routes[FAKE_MAX_ROUTES];
  size_t n_routes;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stopping;
  struct script scripts[FAKE_MAX_SCRIPTS];
  size_t n_scripts;
  struct fake_logged *log;   /* ring of FAKE_LOG_MAX */
  size_t log_len;            /* entries stored (<= FAKE_LOG_MAX) */
  uint64_t seq;              /* total logged */
  _Atomic uint64_t streamed; /* bytes produced by streamed replies */
};

struct fake_req {
  struct fake_http *fh;
  struct MHD_Connection *conn;
  char method[16];
  char *path;
  struct buf body;
};

/* ---- small helpers ---- */

bool fake_path_match(const char *pattern, const char *path)
{
  if (!pattern || strcmp(pattern, "*") == 0)
    return true;
  size_t n = strlen(pattern);
  if (n > 0 && pattern[n - 1] == '*')
    return strncmp(pattern, path, n - 1) == 0;
  return strcmp(pattern, path) == 0;
}

static bool method_match(const char *want, const char *method)
{
  return !want || strcmp(want, method) == 0;
}

static bool str_eq_null(const char *a, const char *b)
{
  if (!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

static void copy_str(char *dst, size_t n, const char *src)
{
  snprintf(dst, n, "%s", src ? src : "");
}

/* ---- request log ---- */

static enum MHD_Result log_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
  struct fake_logged *e = cls;
  (void)kind;
  if (e->n_headers >= FAKE_LOG_HEADERS)
    return MHD_YES;
  copy_str(e->headers[e->n_headers].name, sizeof e->headers[e->n_headers].name,
           key);
  copy_str(e->headers[e->n_headers].value,
           sizeof e->headers[e->n_headers].value, value);
  e->n_headers++;
  return MHD_YES;
}

static enum MHD_Result log_arg(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value)
{
  struct fake_logged *e = cls;
  size_t used = strlen(e->query);
  (void)kind;
  snprintf(e->query + used, sizeof e->query - used, "%s%s=%s", used ? "&" : "",
           key ? key : "", value ? value : "");
  return MHD_YES;
}

static void log_request(struct fake_req *r)
{
  struct fake_logged *e = xcalloc(1, sizeof *e);
  copy_str(e->method, sizeof e->method, r->method);
  copy_str(e->path, sizeof e->path, r->path);
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, log_header, e);
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, log_arg, e);
  e->body_len = r->body.len;
  copy_str(e->body, sizeof e->body, buf_cstr(&r->body));
  e->at_ms = clock_mono_ms();

  struct fake_http *fh = r->fh;
  pthread_mutex_lock(&fh->mu);
  e->seq = ++fh->seq;
  fh->log[(e->seq - 1) % FAKE_LOG_MAX] = *e;
  if (fh->log_len < FAKE_LOG_MAX)
    fh->log_len++;
  pthread_cond_broadcast(&fh->cond);
  pthread_mutex_unlock(&fh->mu);
  free(e);
}

/* Entry i (0 = oldest stored); caller holds the lock. */
static const struct fake_logged *log_at(const struct fake_http *fh, size_t i)
{
  uint64_t first = fh->seq - fh->log_len; /* seq of oldest minus one */
  return &fh->log[(first + i) % FAKE_LOG_MAX];
}

static bool entry_match(const struct fake_logged *e, const char *method,
                        const char *pattern)
{
  return method_match(method, e->method) && fake_path_match(pattern, e->path);
}

static size_t count_locked(struct fake_http *fh, const char *method,
                           const char *pattern)
{
  size_t n = 0;
  for (size_t i = 0; i < fh->log_len; i++)
    if (entry_match(log_at(fh, i), method, pattern))
      n++;
  return n;
}

bool fake_http_entry(struct fake_http *fh, uint64_t seq,
                     struct fake_logged *out)
{
  bool found = false;
  pthread_mutex_lock(&fh->mu);
  for (size_t i = 0; i < fh->log_len && !found; i++)
    if (log_at(fh, i)->seq == seq) {
      *out = *log_at(fh, i);
      found = true;
    }
  pthread_mutex_unlock(&fh->mu);
  return found;
}

size_t fake_http_count(struct fake_http *fh, const char *method,
                       const char *pattern)
{
  pthread_mutex_lock(&fh->mu);
  size_t n = count_locked(fh, method, pattern);
  pthread_mutex_unlock(&fh->mu);
  return n;
}

/* Newest matching entry with seq > after, or NULL; lock held. */
static const struct fake_logged *newest_locked(struct fake_http *fh,
                                               const char *method,
                                               const char *pattern,
                                               uint64_t after)
{
  for (size_t i = fh->log_len; i-- > 0;) {
    const struct fake_logged *e = log_at(fh, i);
    if (e->seq <= after)
      return NULL;
    if (entry_match(e, method, pattern))
      return e;
  }
  return NULL;
}

bool fake_http_last(struct fake_http *fh, const char *method,
                    const char *pattern, struct fake_logged *out)
{
  pthread_mutex_lock(&fh->mu);
  const struct fake_logged *e = newest_locked(fh, method, pattern, 0);
  if (e && out)
    *out = *e;
  pthread_mutex_unlock(&fh->mu);
  return e != NULL;
}

bool fake_http_wait(struct fake_http *fh, const char *method,
                    const char *pattern, size_t count, int timeout_ms)
{
  struct timespec ts = clock_mono_deadline(timeout_ms);
  pthread_mutex_lock(&fh->mu);
  bool ok = count_locked(fh, method, pattern) >= count;
  while (!ok) {
    if (pthread_cond_timedwait(&fh->cond, &fh->mu, &ts) == ETIMEDOUT) {
      ok = count_locked(fh, method, pattern) >= count;
      break;
    }
    ok = count_locked(fh, method, pattern) >= count;
  }
  pthread_mutex_unlock(&fh->mu);
  return ok;
}

uint64_t fake_http_seq(struct fake_http *fh)
{
  pthread_mutex_lock(&fh->mu);
  uint64_t s = fh->seq;
  pthread_mutex_unlock(&fh->mu);
  return s;
}

bool fake_http_wait_after(struct fake_http *fh, const char *method,
                          const char *pattern, uint64_t after_seq,
                          int timeout_ms, struct fake_logged *out)
{
  struct timespec ts = clock_mono_deadline(timeout_ms);
  pthread_mutex_lock(&fh->mu);
  const struct fake_logged *e = newest_locked(fh, method, pattern, after_seq);
  while (!e) {
    int rc = pthread_cond_timedwait(&fh->cond, &fh->mu, &ts);
    e = newest_locked(fh, method, pattern, after_seq);
    if (rc == ETIMEDOUT)
      break;
  }
  if (e && out)
    *out = *e;
  pthread_mutex_unlock(&fh->mu);
  return e != NULL;
}

void fake_http_log_clear(struct fake_http *fh)
{
  pthread_mutex_lock(&fh->mu);
  fh->log_len = 0;
  pthread_mutex_unlock(&fh->mu);
}

const char *fake_logged_header(const struct fake_logged *e, const char *name)
{
  for (size_t i = 0; i < e->n_headers; i++)
    if (strcasecmp(e->headers[i].name, name) == 0)
      return e->headers[i].value;
  return NULL;
}

/* ---- scripts ---- */

static void script_free(struct script *sc)
{
  free(sc->method);
  free(sc->pattern);
  free((char *)sc->s.content_type);
  free((char *)sc->s.body);
  for (size_t i = 0; i < FAKE_SCRIPT_HEADERS; i++)
    free((char *)sc->s.headers[i]);
  memset(sc, 0, sizeof *sc);
}

static void script_remove_at(struct fake_http *fh, size_t i)
{
  script_free(&fh->scripts[i]);
  memmove(&fh->scripts[i], &fh->scripts[i + 1],
          (fh->n_scripts - i - 1) * sizeof fh->scripts[0]);
  fh->n_scripts--;
  memset(&fh->scripts[fh->n_scripts], 0, sizeof fh->scripts[0]);
}

static void unscript_locked(struct fake_http *fh, const char *method,
                            const char *pattern)
{
  for (size_t i = fh->n_scripts; i-- > 0;) {
    struct script *sc = &fh->scripts[i];
    if (str_eq_null(sc->method, method) &&
        (!pattern || str_eq_null(sc->pattern, pattern)))
      script_remove_at(fh, i);
  }
}

int fake_http_script(struct fake_http *fh, const char *method,
                     const char *pattern, const struct fake_script *s)
{
  pthread_mutex_lock(&fh->mu);
  unscript_locked(fh, method, pattern ? pattern : "*");
  if (fh->n_scripts >= FAKE_MAX_SCRIPTS) {
    pthread_mutex_unlock(&fh->mu);
    return SS_ETOOBIG;
  }
  struct script *sc = &fh->scripts[fh->n_scripts++];
  sc->method = xstrdup(method);
  sc->pattern = xstrdup(pattern ? pattern : "*");
  sc->s = *s;
  sc->s.content_type = xstrdup(s->content_type);
  sc->s.body = xstrdup(s->body);
  for (size_t i = 0; i < FAKE_SCRIPT_HEADERS; i++)
    sc->s.headers[i] = xstrdup(s->headers[i]);
  pthread_mutex_unlock(&fh->mu);
  return SS_OK;
}

void fake_http_unscript(struct fake_http *fh, const char *method,
                        const char *pattern)
{
  pthread_mutex_lock(&fh->mu);
  if (pattern)
    unscript_locked(fh, method, pattern);
  else
    while (fh->n_scripts > 0)
      script_remove_at(fh, fh->n_scripts - 1);
  pthread_mutex_unlock(&fh->mu);
}

/* Takes a copy of the newest matching script (consuming one use). */
static bool take_script(struct fake_http *fh, const struct fake_req *r,
                        struct fake_script *out, struct fake_reply *rep)
{
  bool found = false;
  pthread_mutex_lock(&fh->mu);
  for (size_t i = fh->n_scripts; i-- > 0 && !found;) {
    struct script *sc = &fh->scripts[i];
    if (!method_match(sc->method, r->method) ||
        !fake_path_match(sc->pattern, r->path))
      continue;
    found = true;
    *out = sc->s;
    if (sc->s.status) {
      fake_reply_set(rep, sc->s.status,
                     sc->s.content_type ? sc->s.content_type
                                        : "application/json",
                     sc->s.body ? sc->s.body : "");
      for (size_t h = 0; h < FAKE_SCRIPT_HEADERS; h++) {
        const char *hv = sc->s.headers[h];
        const char *colon = hv ? strchr(hv, ':') : NULL;
        if (!colon)
          continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(colon - hv), hv);
        fake_reply_header(rep, name, colon + 1 + strspn(colon + 1, " "));
      }
    }
    if (sc->s.times > 0 && --sc->s.times == 0)
      script_remove_at(fh, i);
  }
  pthread_mutex_unlock(&fh->mu);
  /* The copied script's strings are not used after the lock. */
  out->content_type = NULL;
  out->body = NULL;
  memset(out->headers, 0, sizeof out->headers);
  return found;
}

/* Waits ms unless the server stops first; returns false if it stopped. */
static bool delay(struct fake_http *fh, int ms)
{
  struct timespec ts = clock_mono_deadline(ms);
  pthread_mutex_lock(&fh->mu);
  while (!fh->stopping)
    if (pthread_cond_timedwait(&fh->cond, &fh->mu, &ts) == ETIMEDOUT)
      break;
  bool ok = !fh->stopping;
  pthread_mutex_unlock(&fh->mu);
  return ok;
}

/* ---- request handling ---- */

const char *fake_req_method(const struct fake_req *req) { return req->method; }
const char *fake_req_path(const struct fake_req *req) { return req->path; }
const char *fake_req_base_url(const struct fake_req *req)
{
  return req->fh->url;
}

const char *fake_req_header(const struct fake_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *fake_req_arg(const struct fake_req *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *fake_req_body(const struct fake_req *req, size_t *len)
{
  if (len)
    *len = req->body.len;
  return buf_cstr(&req->body);
}

void fake_reply_header(struct fake_reply *rep, const char *name,
                       const char *value)
{
  if (rep->n_headers >= FAKE_REPLY_HEADERS)
    return;
  copy_str(rep->headers[rep->n_headers].name,
           sizeof rep->headers[rep->n_headers].name, name);
  copy_str(rep->headers[rep->n_headers].value,
           sizeof rep->headers[rep->n_headers].value, value);
  rep->n_headers++;
}

void fake_reply_set(struct fake_reply *rep, int status,
                    const char *content_type, const char *body)
{
  rep->status = status;
  if (content_type)
    copy_str(rep->content_type, sizeof rep->content_type, content_type);
  buf_reset(&rep->body);
  if (body)
    buf_puts(&rep->body, body);
}

static const struct route *find_route(const struct fake_http *fh,
                                      const struct fake_req *r)
{
  for (size_t i = 0; i < fh->n_routes; i++)
    if (method_match(fh->routes[i].method, r->method) &&
        fake_path_match(fh->routes[i].pattern, r->path))
      return &fh->routes[i];
  return NULL;
}

struct stream {
  struct fake_http *fh;
  char *head; /* the reply body: the first bytes */
  size_t head_len;
  uint64_t len;
  char fill;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
  struct stream *s = cls;
  if (pos >= s->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = s->len - pos < max ? (size_t)(s->len - pos) : max;
  for (size_t i = 0; i < n; i++)
    out[i] = pos + i < s->head_len ? s->head[pos + i] : s->fill;
  atomic_fetch_add(&s->fh->streamed, n);
  return (ssize_t)n;
}

static void stream_free(void *cls)
{
  struct stream *s = cls;
  free(s->head);
  free(s);
}

uint64_t fake_http_streamed(struct fake_http *fh)
{
  return atomic_load(&fh->streamed);
}

static struct MHD_Response *streamed_response(struct fake_http *fh,
                                              const struct fake_reply *rep)
{
  struct stream *s = xcalloc(1, sizeof *s);
  s->fh = fh;
  s->head = xmalloc(rep->body.len + 1);
  memcpy(s->head, buf_cstr(&rep->body), rep->body.len);
  s->head_len = rep->body.len;
  s->len = rep->stream_len;
  s->fill = rep->stream_fill;
  struct MHD_Response *resp = MHD_create_response_from_callback(
    rep->stream_chunked ? MHD_SIZE_UNKNOWN : rep->stream_len, 64 * 1024,
    stream_read, s, stream_free);
  if (!resp)
    stream_free(s);
  return resp;
}

static enum MHD_Result send_reply(struct fake_http *fh,
                                  struct MHD_Connection *conn,
                                  const struct fake_reply *rep)
{
  struct MHD_Response
    *resp = rep->stream_len > rep->body.len
              ? streamed_response(fh, rep)
              : MHD_create_response_from_buffer(rep->body.len,
                                                (void *)buf_cstr(&rep->body),
                                                MHD_RESPMEM_MUST_COPY);
  if (!resp)
    return MHD_NO;
  if (rep->content_type[0])
    MHD_add_response_header(resp, "Content-Type", rep->content_type);
  for (size_t i = 0; i < rep->n_headers; i++)
    MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result handle(struct fake_req *r)
{
  struct fake_http *fh = r->fh;
  struct fake_reply rep;
  struct fake_script sc;
  memset(&rep, 0, sizeof rep);
  buf_init(&rep.body, FAKE_BODY_MAX);
  fake_reply_set(&rep, 200, "application/json", NULL);

  log_request(r);
  bool scripted = take_script(fh, r, &sc, &rep);
  if (scripted && sc.delay_ms > 0 && !delay(fh, sc.delay_ms)) {
    buf_free(&rep.body);
    return MHD_NO;
  }
  if (!scripted || (!sc.status && !sc.drop)) {
    const struct route *rt = find_route(fh, r);
    if (rt)
      rt->fn(r, &rep, rt->arg);
    else
      fake_reply_set(&rep, 404, "", NULL);
  }
  bool drop = rep.drop || (scripted && sc.drop);
  enum MHD_Result ret = drop ? MHD_NO : send_reply(fh, r->conn, &rep);
  buf_free(&rep.body);
  return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
  struct fake_req *r = *con_cls;
  (void)version;
  if (!r) {
    r = xcalloc(1, sizeof *r);
    r->fh = cls;
    r->conn = conn;
    copy_str(r->method, sizeof r->method, method);
    r->path = xstrdup(url);
    buf_init(&r->body, FAKE_BODY_MAX);
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    buf_append(&r->body, upload, *upload_size); /* overflow: sticky */
    *upload_size = 0;
    return MHD_YES;
  }
  if (!buf_ok(&r->body)) {
    struct fake_reply rep;
    memset(&rep, 0, sizeof rep);
    buf_init(&rep.body, 64);
    fake_reply_set(&rep, 413, "", NULL);
    enum MHD_Result ret = send_reply(r->fh, conn, &rep);
    buf_free(&rep.body);
    return ret;
  }
  return handle(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode tc)
{
  struct fake_req *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)tc;
  if (!r)
    return;
  buf_free(&r->body);
  free(r->path);
  free(r);
  *con_cls = NULL;
}

/* ---- lifecycle ---- */

int fake_http_start(struct fake_http **out, int port)
{
  struct fake_http *fh = xcalloc(1, sizeof *fh);
  pthread_condattr_t ca;
  struct sockaddr_in sa;

  pthread_mutex_init(&fh->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&fh->cond, &ca);
  pthread_condattr_destroy(&ca);
  fh->log = xcalloc(FAKE_LOG_MAX, sizeof *fh->log);

  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fh->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
                               MHD_USE_POLL_INTERNAL_THREAD,
                             (uint16_t)port, NULL, NULL, on_access, fh,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, fh,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_END);
  if (!fh->mhd) {
    fake_http_stop(fh);
    *out = NULL;
    return SS_EIO;
  }
  const union MHD_DaemonInfo
    *info = MHD_get_daemon_info(fh->mhd, MHD_DAEMON_INFO_BIND_PORT);
  fh->port = info ? info->port : port;
  snprintf(fh->url, sizeof fh->url, "http://127.0.0.1:%d", fh->port);
  *out = fh;
  return SS_OK;
}

int fake_http_route(struct fake_http *fh, const char *method,
                    const char *pattern, fake_handler_fn fn, void *arg)
{
  if (fh->n_routes >= FAKE_MAX_ROUTES)
    return SS_ETOOBIG;
  struct route *rt = &fh->routes[fh->n_routes++];
  rt->method = xstrdup(method);
  rt->pattern = xstrdup(pattern);
  rt->fn = fn;
  rt->arg = arg;
  return SS_OK;
}

int fake_http_port(const struct fake_http *fh) { return fh->port; }
const char *fake_http_url(const struct fake_http *fh) { return fh->url; }

void fake_http_stop(struct fake_http *fh)
{
  if (!fh)
    return;
  pthread_mutex_lock(&fh->mu);
  fh->stopping = true;
  pthread_cond_broadcast(&fh->cond);
  pthread_mutex_unlock(&fh->mu);
  if (fh->mhd)
    MHD_stop_daemon(fh->mhd);
  for (size_t i = 0; i < fh->n_routes; i++) {
    free(fh->routes[i].method);
    free(fh->routes[i].pattern);
  }
  while (fh->n_scripts > 0)
    script_remove_at(fh, fh->n_scripts - 1);
  free(fh->log);
  pthread_cond_destroy(&fh->cond);
  pthread_mutex_destroy(&fh->mu);
  free(fh);
}
