/*
 * listener.c - listening socket and accept thread (see listener.h).
 *
 * The thread polls the listening socket and an eventfd (the stop signal).
 * When the socket is readable it accepts until the queue is empty, asking
 * room() before each accept.  A full server, or a process out of
 * descriptors (EMFILE/ENFILE: the socket stays readable, so retrying at
 * once would spin), makes it wait LISTENER_FULL_WAIT_MS on the eventfd
 * alone.  Out-of-descriptor errors are logged at most every
 * LISTENER_LOG_MS.
 */
#include "http/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define LISTENER_LOG_MS (10 * 1000)

struct listener {
  struct listener_opts o;
  int fd;
  int wake_fd;
  int port;
  atomic_bool stopping;
  pthread_t thread;
  int64_t last_log_ms;
};

/* Waits until the stop signal or ms pass; true when stopping. */
static bool wait_stop(struct listener *l, int ms)
{
  struct pollfd p = {.fd = l->wake_fd, .events = POLLIN};
  if (poll(&p, 1, ms) < 0 && errno != EINTR)
    log_warn("http", "accept thread: poll: %s", strerror(errno));
  return atomic_load(&l->stopping);
}

/* Accepts until the queue is empty; false when it must back off. */
static bool drain(struct listener *l)
{
  for (;;) {
    if (!l->o.room(l->o.arg))
      return false;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      l->o.take(l->o.arg, fd, (struct sockaddr *)&peer, len);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return true;
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
      continue;
    int64_t now = clock_mono_ms();
    if (!l->last_log_ms || now - l->last_log_ms >= LISTENER_LOG_MS) {
      log_warn("http", "cannot accept connections: %s", strerror(errno));
      l->last_log_ms = now;
    }
    return false;
  }
}

static void *listener_main(void *arg)
{
  struct listener *l = arg;
  pthread_setname_np(pthread_self(), "ss-http-accept");
  while (!atomic_load(&l->stopping)) {
    struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN},
                          {.fd = l->wake_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno != EINTR && wait_stop(l, LISTENER_FULL_WAIT_MS))
        break;
      continue;
    }
    if (p[1].revents)
      break;
    if (p[0].revents && !drain(l) && wait_stop(l, LISTENER_FULL_WAIT_MS))
      break;
  }
  return NULL;
}

static int open_socket(const struct listener_opts *o, int *port)
{
  int fd = socket(o->addr->sa_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (o->addr->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } bound;
  memset(&bound, 0, sizeof bound);
  socklen_t len = sizeof bound;
  if (bind(fd, o->addr, o->addr_len) != 0 || listen(fd, o->backlog) != 0 ||
      getsockname(fd, &bound.sa, &len) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  *port = ntohs(o->addr->sa_family == AF_INET6 ? bound.in6.sin6_port
                                               : bound.in4.sin_port);
  return fd;
}

enum ss_err listener_start(const struct listener_opts *opts,
                           struct listener **out)
{
  *out = NULL;
  struct listener *l = xcalloc(1, sizeof *l);
  l->o = *opts;
  l->fd = open_socket(opts, &l->port);
  if (l->fd < 0) {
    int saved = errno;
    free(l);
    errno = saved;
    return SS_EIO;
  }
  l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->wake_fd < 0 ||
      pthread_create(&l->thread, NULL, listener_main, l) != 0) {
    int saved = errno;
    if (l->wake_fd >= 0)
      close(l->wake_fd);
    close(l->fd);
    free(l);
    errno = saved;
    return SS_EIO;
  }
  *out = l;
  return SS_OK;
}

int listener_port(const struct listener *l) { return l->port; }

void listener_stop(struct listener *l)
{
  if (!l)
    return;
  atomic_store(&l->stopping, true);
  uint64_t one = 1;
  if (write(l->wake_fd, &one, sizeof one) != (ssize_t)sizeof one)
    log_warn("http", "cannot wake the accept thread: %s", strerror(errno));
  pthread_join(l->thread, NULL);
  close(l->wake_fd);
  close(l->fd);
  free(l);
}
