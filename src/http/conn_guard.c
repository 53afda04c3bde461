/*
 * conn_guard.c - request deadlines and idle eviction (see conn_guard.h).
 *
 * Each connection has an entry in one doubly linked list.  An entry holds
 * the socket and "waiting since": the monotonic time at which the
 * connection began waiting for its next request (accept, or the end of the
 * previous response), or 0 while a received request is being handled.  The
 * reaper wakes every scan_ms, walks the list under the mutex and cuts every
 * connection that has waited longer than the request deadline, or, near
 * the cap, longer than the idle allowance.  "Cut" is shutdown(SHUT_RDWR):
 * the client gets end-of-stream and libmicrohttpd's poll loop sees it at
 * once and closes the connection itself, which is the only thread allowed
 * to.  A cut entry stays in the list, marked, until libmicrohttpd removes
 * it.  Cuts are logged as one summary line at most every
 * CONN_GUARD_LOG_MS, so that an attack cannot flood the log.
 */
#include "http/conn_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define CONN_GUARD_LOG_MS (10 * 1000)

struct conn_guard_entry {
  struct conn_guard_entry *prev, *next; /* under mu */
  int fd;
  bool cut;                         /* under mu */
  _Atomic int64_t waiting_since_ms; /* 0 = a request is being handled */
};

struct conn_guard {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct conn_guard_entry *head; /* under mu */
  atomic_size_t open;            /* written under mu */
  bool stopping;                 /* under mu */
  pthread_t thread;
  struct conn_guard_opts opts;
  /* Totals, and what has not been logged yet (reaper thread; the totals
   * are read under mu). */
  uint64_t cut_deadline, cut_idle;
  uint64_t unlogged_deadline, unlogged_idle;
  int64_t last_log_ms;
};

/* Never 0: 0 means "not waiting". */
static int64_t stamp_now(void)
{
  int64_t now = clock_mono_ms();
  return now > 0 ? now : 1;
}

/* Cuts the connections past their limit; called with mu held. */
static void scan_locked(struct conn_guard *g, int64_t now)
{
  const struct conn_guard_opts *o = &g->opts;
  bool near_cap = atomic_load(&g->open) * 4 >= (size_t)o->max_connections * 3;
  for (struct conn_guard_entry *e = g->head; e; e = e->next) {
    int64_t since = atomic_load_explicit(&e->waiting_since_ms,
                                         memory_order_relaxed);
    if (e->cut || !since)
      continue;
    int64_t waited = now - since;
    bool late = waited > o->request_timeout_ms;
    bool idle = near_cap && waited > o->near_cap_idle_ms;
    if (!late && !idle)
      continue;
    /* ENOTCONN: the client is gone already; libmicrohttpd will notice. */
    (void)shutdown(e->fd, SHUT_RDWR);
    e->cut = true;
    if (late) {
      g->cut_deadline++;
      g->unlogged_deadline++;
    } else {
      g->cut_idle++;
      g->unlogged_idle++;
    }
  }
}

static void log_cuts(struct conn_guard *g, int64_t now, size_t open)
{
  if (!g->unlogged_deadline && !g->unlogged_idle)
    return;
  if (g->last_log_ms && now - g->last_log_ms < CONN_GUARD_LOG_MS)
    return;
  if (g->unlogged_deadline)
    log_warn("http",
             "closed %llu connection(s) that sent no complete "
             "request within %d s (%zu of %d open)",
             (unsigned long long)g->unlogged_deadline,
             g->opts.request_timeout_ms / 1000, open, g->opts.max_connections);
  if (g->unlogged_idle)
    log_warn("http",
             "closed %llu idle connection(s) near the connection "
             "limit (%zu of %d open)",
             (unsigned long long)g->unlogged_idle, open,
             g->opts.max_connections);
  g->unlogged_deadline = 0;
  g->unlogged_idle = 0;
  g->last_log_ms = now;
}

static void *reaper_main(void *arg)
{
  struct conn_guard *g = arg;
  pthread_setname_np(pthread_self(), "ss-http-guard");
  pthread_mutex_lock(&g->mu);
  while (!g->stopping) {
    struct timespec ts = clock_mono_deadline(g->opts.scan_ms);
    int rc = pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    if (g->stopping)
      break;
    if (rc != ETIMEDOUT)
      continue;
    int64_t now = clock_mono_ms();
    scan_locked(g, now);
    log_cuts(g, now, atomic_load(&g->open));
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

enum ss_err conn_guard_start(const struct conn_guard_opts *opts,
                             struct conn_guard **out)
{
  struct conn_guard *g = xcalloc(1, sizeof *g);
  g->opts = *opts;
  pthread_mutex_init(&g->mu, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&g->cv, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&g->thread, NULL, reaper_main, g) != 0) {
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    *out = NULL;
    return SS_EIO;
  }
  *out = g;
  return SS_OK;
}

void conn_guard_stop(struct conn_guard *g)
{
  if (!g)
    return;
  pthread_mutex_lock(&g->mu);
  g->stopping = true;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->thread, NULL);
  /* The daemon has stopped, so every entry has been removed; free any
   * left over all the same. */
  while (g->head) {
    struct conn_guard_entry *e = g->head;
    g->head = e->next;
    free(e);
  }
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

struct conn_guard_entry *conn_guard_add(struct conn_guard *g, int fd)
{
  struct conn_guard_entry *e = xcalloc(1, sizeof *e);
  e->fd = fd;
  atomic_init(&e->waiting_since_ms, stamp_now());
  pthread_mutex_lock(&g->mu);
  e->next = g->head;
  if (g->head)
    g->head->prev = e;
  g->head = e;
  atomic_fetch_add(&g->open, 1);
  pthread_mutex_unlock(&g->mu);
  return e;
}

void conn_guard_remove(struct conn_guard *g, struct conn_guard_entry *e)
{
  if (!e)
    return;
  pthread_mutex_lock(&g->mu);
  if (e->prev)
    e->prev->next = e->next;
  else
    g->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  atomic_fetch_sub(&g->open, 1);
  pthread_mutex_unlock(&g->mu);
  free(e);
}

void conn_guard_request_received(struct conn_guard_entry *e)
{
  if (e)
    atomic_store_explicit(&e->waiting_since_ms, 0, memory_order_relaxed);
}

void conn_guard_request_done(struct conn_guard_entry *e)
{
  if (e)
    atomic_store_explicit(&e->waiting_since_ms, stamp_now(),
                          memory_order_relaxed);
}

size_t conn_guard_open(struct conn_guard *g) { return atomic_load(&g->open); }

void conn_guard_get_stats(struct conn_guard *g, struct conn_guard_stats *st)
{
  pthread_mutex_lock(&g->mu);
  st->open = atomic_load(&g->open);
  st->cut_deadline = g->cut_deadline;
  st->cut_idle = g->cut_idle;
  pthread_mutex_unlock(&g->mu);
}
