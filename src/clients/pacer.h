/*
 * pacer.h - request spacing for one external host.
 *
 * A struct pacer admits one request at a time (serial), no sooner than
 * gap_ms after the previous request *ended*, and never while the host is
 * blocked by a Retry-After (the process-wide per-host block of
 * http_client.h, which every client and the prober share).  Measuring the
 * gap from the end of the previous reply (not its start) errs on the safe
 * side: the server sees arrivals at least gap_ms apart whatever the
 * latency, which is what MusicBrainz's "1 request per second" asks for.
 *
 * Waiting: pacer_acquire() sleeps in slices of at most PACER_SLICE_MS and
 * checks the caller's cancel flag between them, so a unit thread that is
 * being stopped leaves within a slice.  A caller that must not wait long
 * passes max_wait_ms and is told how long the wait would be instead
 * (SS_EBUSY).
 *
 * Threading: every function is thread-safe.  A pacer is normally a static
 * shared by the whole process (PACER_INIT); it owns no heap memory.
 */
#ifndef SS_PACER_H
#define SS_PACER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define PACER_SLICE_MS 50

struct pacer {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t gap_ms;  /* between the end of one request and the next */
  bool busy;       /* a request is in flight */
  int64_t next_ms; /* monotonic: earliest start of the next one */
};

#define PACER_INIT(gap)                                                       \
  {                                                                           \
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, (gap), false, 0      \
  }

/* Waits for this caller's turn to send to url.  SS_OK: send now, then
 * pacer_release() exactly once.  SS_EBUSY: the wait would exceed
 * max_wait_ms (< 0 = no limit); *wait_ms (may be NULL) says how long it
 * would be.  SS_ECANCELED: *cancel was raised while waiting. */
enum ss_err pacer_acquire(struct pacer *p, const char *url,
                          const atomic_bool *cancel, int64_t max_wait_ms,
                          int64_t *wait_ms);
/* Ends the request admitted by pacer_acquire(); the next may start gap_ms
 * from now. */
void pacer_release(struct pacer *p);
/* Forgets the spacing (tests; never while a request is in flight). */
void pacer_reset(struct pacer *p);

#endif
