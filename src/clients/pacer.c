/*
 * pacer.c - see pacer.h.  Monotonic time (clock_mono_ms) decides the
 * spacing; the host block is wall time and is re-read on every slice, so
 * a block set by another thread meanwhile is honoured too.  The condition
 * variable only shortens waits when a request ends.
 */
#include "clients/pacer.h"

#include <time.h>

#include "clients/http_client.h"
#include "core/clock.h"
#include "core/err.h"

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Sleeps on p->cv for at most ms (mutex held). */
static void wait_slice(struct pacer *p, int64_t ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* PTHREAD_COND_INITIALIZER's clock */
  int64_t ns = ts.tv_nsec + ms * 1000000LL;
  ts.tv_sec += (time_t)(ns / 1000000000LL);
  ts.tv_nsec = (long)(ns % 1000000000LL);
  pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

enum ss_err pacer_acquire(struct pacer *p, const char *url,
                          const atomic_bool *cancel, int64_t max_wait_ms,
                          int64_t *wait_ms)
{
  enum ss_err rc = SS_OK;
  int64_t start = clock_mono_ms();
  pthread_mutex_lock(&p->mu);
  for (;;) {
    int64_t now = clock_mono_ms();
    int64_t blocked = http_host_blocked_until(url, NULL, 0);
    int64_t ready = p->next_ms;
    if (blocked)
      ready = max64(ready, now + (blocked - clock_wall_ms()));
    /* Strictly after: ms truncation must not shorten a gap below gap_ms. */
    if (!p->busy && now > ready)
      break;
    /* While another request runs, its end adds at least gap_ms. */
    int64_t left = p->busy ? max64(ready, now + p->gap_ms) - now + 1
                           : ready - now + 1;
    if (max_wait_ms >= 0 && now - start + left > max_wait_ms) {
      if (wait_ms)
        *wait_ms = left;
      rc = SS_EBUSY;
      break;
    }
    if (cancel && atomic_load(cancel)) {
      rc = SS_ECANCELED;
      break;
    }
    wait_slice(p, left < PACER_SLICE_MS ? left : PACER_SLICE_MS);
  }
  if (rc == SS_OK) {
    p->busy = true;
    if (wait_ms)
      *wait_ms = 0;
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

void pacer_release(struct pacer *p)
{
  pthread_mutex_lock(&p->mu);
  p->busy = false;
  p->next_ms = clock_mono_ms() + p->gap_ms;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pacer_reset(struct pacer *p)
{
  pthread_mutex_lock(&p->mu);
  p->busy = false;
  p->next_ms = 0;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}
