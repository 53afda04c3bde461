/*
 * fake_receiver - a notification receiver for the browser test
 * (tests/e2e/notify.test.js): accepts every POST with 200 and lists what
 * arrived at GET /_received as JSON
 * [{"method","path","title","authorization","gotify_key","body"}]
 * (tests/support/fake_http.c's request log).
 *
 *   fake_receiver
 *
 * Prints "url=http://127.0.0.1:PORT" once listening; stops on
 * SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "fake_http.h"

static void field(struct buf *b, const char *name, const char *value,
                  bool first)
{
  if (!first)
    buf_putc(b, ',');
  json_str(b, name);
  buf_putc(b, ':');
  json_str(b, value ? value : "");
}

static void received(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  (void)req;
  struct fake_http *fh = *(struct fake_http **)arg;
  struct buf *b = &rep->body;
  buf_putc(b, '[');
  uint64_t last = fake_http_seq(fh);
  bool first = true;
  for (uint64_t s = 1; s <= last; s++) {
    struct fake_logged *e = calloc(1, sizeof *e);
    if (e && fake_http_entry(fh, s, e) && !strcmp(e->method, "POST")) {
      if (!first)
        buf_putc(b, ',');
      first = false;
      buf_putc(b, '{');
      field(b, "method", e->method, true);
      field(b, "path", e->path, false);
      field(b, "title", fake_logged_header(e, "Title"), false);
      field(b, "authorization", fake_logged_header(e, "Authorization"), false);
      field(b, "gotify_key", fake_logged_header(e, "X-Gotify-Key"), false);
      field(b, "body", e->body, false);
      buf_putc(b, '}');
    }
    free(e);
  }
  buf_putc(b, ']');
  rep->status = 200;
}

static void accept_post(const struct fake_req *req, struct fake_reply *rep,
                        void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "application/json", "{}");
}

int main(int argc, char **argv)
{
  (void)argv;
  if (argc > 1) {
    fprintf(stderr, "usage: fake_receiver\n");
    return 2;
  }
  sigset_t set;
  int sig = 0;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  static struct fake_http *fh;
  if (fake_http_start(&fh, 0) != SS_OK) {
    fprintf(stderr, "fake_receiver: cannot bind a port\n");
    return 1;
  }
  fake_http_route(fh, "GET", "/_received", received, &fh);
  fake_http_route(fh, "POST", "*", accept_post, NULL);
  printf("url=%s\n", fake_http_url(fh));
  fflush(stdout);
  sigwait(&set, &sig);
  fake_http_stop(fh);
  return 0;
}
