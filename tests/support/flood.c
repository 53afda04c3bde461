/*
 * flood.c - hostile connection load for tests and benchmarks (see
 * flood.h).
 *
 * The flood thread keeps one slot per wanted connection.  Each pass of its
 * loop starts connects for closed slots (at most FLOOD_CONNECTING in
 * flight), sends the next byte on every slowloris connection that is due,
 * then polls: a finished connect opens the slot, readable or hung-up
 * sockets are read, and end-of-stream or an error means the server closed
 * the connection.  The loop wakes at least every LOOP_MS to see the stop
 * flag.
 */
#include "flood.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"

#define LOOP_MS 50
#define RETRY_MS 100
#define GET_BUF_MAX (64 * 1024)

enum slot_state { S_CLOSED, S_CONNECTING, S_OPEN, S_DEAD };

struct slot {
  int fd;
  enum slot_state state;
  bool slow;
  int host;
  size_t sent;     /* slowloris bytes sent on this connection */
  int64_t next_ms; /* next byte (open) or next connect try (closed) */
};

struct flood {
  struct flood_opts o;
  struct slot *slots;
  int n;
  struct pollfd *pfds;
  int *pidx;
  pthread_t thread;
  atomic_bool stopping;
  pthread_mutex_t mu;
  struct flood_stats st;   /* under mu (a copy made once per pass) */
  struct flood_stats live; /* flood thread only */
};

/* The request a slowloris connection trickles: a request line and a Host,
 * then header lines forever, so the header block never ends. */
static const char
  slow_head[] = "GET /api/workers/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
static const char slow_line[] = "X-Slow: a\r\n";

static char slow_byte(size_t k)
{
  size_t head = sizeof slow_head - 1;
  if (k < head)
    return slow_head[k];
  return slow_line[(k - head) % (sizeof slow_line - 1)];
}

void flood_addr_text(int host, char *out, size_t n)
{
  snprintf(out, n, "127.%d.%d.%d", (host >> 16) & 255, (host >> 8) & 255,
           host & 255);
}

/* A non-blocking socket bound to src with a connect started; -1 when it
 * failed at once.  *done is set when the connect already completed. */
static int start_connect(const char *src, int port, bool *done)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (src) {
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      close(fd);
      return -1;
    }
  }
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  *done = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (!*done && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool connect_ok(int fd)
{
  int err = 0;
  socklen_t len = sizeof err;
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

/* ------------------------------------------------------------ the thread */

static void slot_lost(struct flood *f, struct slot *s, int64_t now)
{
  close(s->fd);
  s->fd = -1;
  s->sent = 0;
  s->state = f->o.reconnect ? S_CLOSED : S_DEAD;
  s->next_ms = now;
}

static void slot_opened(struct flood *f, struct slot *s, int64_t now)
{
  s->state = S_OPEN;
  s->next_ms = now; /* a slowloris sends its first byte at once */
  f->live.open++;
}

static void open_slots(struct flood *f, int64_t now)
{
  for (int i = 0; i < f->n && f->live.connecting < FLOOD_CONNECTING; i++) {
    struct slot *s = &f->slots[i];
    if (s->state != S_CLOSED || s->next_ms > now)
      continue;
    char src[32];
    bool done;
    flood_addr_text(s->host, src, sizeof src);
    s->fd = start_connect(src, f->o.port, &done);
    if (s->fd < 0) {
      f->live.connect_failures++;
      s->next_ms = now + RETRY_MS;
      continue;
    }
    if (done) {
      slot_opened(f, s, now);
    } else {
      s->state = S_CONNECTING;
      f->live.connecting++;
    }
  }
}

static void trickle(struct flood *f, int64_t now)
{
  for (int i = 0; i < f->n; i++) {
    struct slot *s = &f->slots[i];
    if (s->state != S_OPEN || !s->slow || s->next_ms > now)
      continue;
    char c = slow_byte(s->sent);
    if (send(s->fd, &c, 1, MSG_NOSIGNAL) == 1) {
      s->sent++;
      f->live.bytes_sent++;
    }
    s->next_ms = now + f->o.trickle_ms;
  }
}

static void handle_events(struct flood *f, int npfd, int64_t now)
{
  for (int k = 0; k < npfd; k++) {
    if (!f->pfds[k].revents)
      continue;
    struct slot *s = &f->slots[f->pidx[k]];
    if (s->state == S_CONNECTING) {
      f->live.connecting--;
      if (connect_ok(s->fd)) {
        slot_opened(f, s, now);
      } else {
        f->live.connect_failures++;
        slot_lost(f, s, now);
        s->next_ms = now + RETRY_MS;
      }
      continue;
    }
    char buf[4096];
    ssize_t r = recv(s->fd, buf, sizeof buf, 0);
    if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
      continue;
    f->live.open--;
    f->live.closed_by_server++;
    slot_lost(f, s, now);
  }
}

static int build_pollset(struct flood *f)
{
  int n = 0;
  for (int i = 0; i < f->n; i++) {
    struct slot *s = &f->slots[i];
    if (s->state != S_CONNECTING && s->state != S_OPEN)
      continue;
    f->pfds[n].fd = s->fd;
    f->pfds[n].events = s->state == S_CONNECTING ? POLLOUT : POLLIN;
    f->pfds[n].revents = 0;
    f->pidx[n++] = i;
  }
  return n;
}

static void *flood_main(void *arg)
{
  struct flood *f = arg;
  while (!atomic_load(&f->stopping)) {
    int64_t now = clock_mono_ms();
    open_slots(f, now);
    trickle(f, now);
    int npfd = build_pollset(f);
    if (poll(f->pfds, (nfds_t)npfd, LOOP_MS) < 0 && errno != EINTR)
      break;
    handle_events(f, npfd, clock_mono_ms());
    pthread_mutex_lock(&f->mu);
    f->st = f->live;
    pthread_mutex_unlock(&f->mu);
  }
  return NULL;
}

int flood_start(const struct flood_opts *opts, struct flood **out)
{
  *out = NULL;
  if (opts->port <= 0 || opts->slowloris < 0 || opts->idle < 0 ||
      opts->per_address < 1 || opts->first_host < 2)
    return SS_EINVAL;
  struct flood *f = xcalloc(1, sizeof *f);
  f->o = *opts;
  if (!f->o.trickle_ms)
    f->o.trickle_ms = FLOOD_TRICKLE_MS;
  f->n = opts->slowloris + opts->idle;
  f->slots = xcalloc((size_t)f->n + 1, sizeof *f->slots);
  f->pfds = xcalloc((size_t)f->n + 1, sizeof *f->pfds);
  f->pidx = xcalloc((size_t)f->n + 1, sizeof *f->pidx);
  for (int i = 0; i < f->n; i++) {
    f->slots[i].fd = -1;
    f->slots[i].slow = i < opts->slowloris;
    f->slots[i].host = opts->first_host + i / opts->per_address;
  }
  pthread_mutex_init(&f->mu, NULL);
  if (pthread_create(&f->thread, NULL, flood_main, f) != 0) {
    pthread_mutex_destroy(&f->mu);
    free(f->slots);
    free(f->pfds);
    free(f->pidx);
    free(f);
    return SS_EIO;
  }
  *out = f;
  return SS_OK;
}

void flood_get_stats(struct flood *f, struct flood_stats *st)
{
  pthread_mutex_lock(&f->mu);
  *st = f->st;
  pthread_mutex_unlock(&f->mu);
}

void flood_stop(struct flood *f)
{
  if (!f)
    return;
  atomic_store(&f->stopping, true);
  pthread_join(f->thread, NULL);
  for (int i = 0; i < f->n; i++)
    if (f->slots[i].fd >= 0)
      close(f->slots[i].fd);
  pthread_mutex_destroy(&f->mu);
  free(f->slots);
  free(f->pfds);
  free(f->pidx);
  free(f);
}

/* --------------------------------------------------------- single client */

static int poll_one(int fd, short events, int64_t deadline_ms)
{
  for (;;) {
    int64_t left = deadline_ms - clock_mono_ms();
    if (left <= 0)
      return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

int flood_connect(const char *src, int port, int timeout_ms)
{
  int64_t deadline = clock_mono_ms() + timeout_ms;
  bool done;
  int fd = start_connect(src, port, &done);
  if (fd < 0 || done)
    return fd;
  if (poll_one(fd, POLLOUT, deadline) <= 0 || !connect_ok(fd)) {
    close(fd);
    return -1;
  }
  return fd;
}

bool flood_wait_closed(int fd, int timeout_ms)
{
  int64_t deadline = clock_mono_ms() + timeout_ms;
  char buf[4096];
  while (poll_one(fd, POLLIN, deadline) > 0) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
  return false;
}

static bool send_all(int fd, const char *data, size_t len, int64_t deadline_ms)
{
  while (len) {
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    if (w > 0) {
      data += w;
      len -= (size_t)w;
    } else if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
               poll_one(fd, POLLOUT, deadline_ms) <= 0) {
      return false; /* a hard error, or no room before the deadline */
    }
  }
  return true;
}

/* Reads until end-of-stream; false on timeout, reset or overflow. */
static bool recv_all(int fd, char *buf, size_t cap, size_t *len,
                     int64_t deadline_ms)
{
  *len = 0;
  for (;;) {
    if (*len + 1 >= cap)
      return false;
    ssize_t r = recv(fd, buf + *len, cap - *len - 1, 0);
    if (r > 0) {
      *len += (size_t)r;
      continue;
    }
    if (r == 0)
      break;
    if (errno != EAGAIN && errno != EINTR)
      return false;
    if (poll_one(fd, POLLIN, deadline_ms) <= 0)
      return false;
  }
  buf[*len] = '\0';
  return true;
}

static int read_status(int fd, int64_t deadline_ms)
{
  char *buf = xmalloc(GET_BUF_MAX);
  size_t len = 0;
  int status = -1;
  if (recv_all(fd, buf, GET_BUF_MAX, &len, deadline_ms) && len > 12 &&
      !strncmp(buf, "HTTP/1.", 7) && buf[8] == ' ') {
    char *end;
    long code = strtol(buf + 9, &end, 10); /* "HTTP/1.1 200 OK" */
    if (end == buf + 12 && code >= 100 && code <= 599)
      status = (int)code;
  }
  free(buf);
  return status;
}

int flood_read_status(int fd, int timeout_ms)
{
  return read_status(fd, clock_mono_ms() + timeout_ms);
}

/* GET path on fd, read to the end; the status or -1. */
static int get_on(int fd, int port, const char *path, int64_t deadline_ms)
{
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Connection: close\r\n\r\n",
                   path, port);
  return send_all(fd, req, (size_t)n, deadline_ms)
           ? read_status(fd, deadline_ms)
           : -1;
}

int flood_get(const char *src, int port, const char *path, int timeout_ms,
              int64_t *elapsed_us)
{
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int64_t deadline = clock_mono_ms() + timeout_ms;
  int status = -1;
  int fd = flood_connect(src, port, timeout_ms);
  if (fd >= 0) {
    status = get_on(fd, port, path, deadline);
    close(fd);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (elapsed_us)
    *elapsed_us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                  (t1.tv_nsec - t0.tv_nsec) / 1000;
  return status;
}

/* ---------------------------------------------------------- descriptors */

int flood_fd_count(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *dir = opendir(path);
  if (!dir)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    if (e->d_name[0] != '.')
      n++;
  closedir(dir);
  return n;
}

long flood_raise_nofile(long want)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  rlim_t target = (rlim_t)want;
  if (target > rl.rlim_max)
    target = rl.rlim_max;
  if (target > rl.rlim_cur) {
    rl.rlim_cur = target;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return (long)rl.rlim_cur;
}
