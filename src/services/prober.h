/*
 * prober.h - background connectivity probes of the external services.
 *
 * One thread probes Spotify, slskd, MusicBrainz and Cover Art Archive at
 * start-up, then every probe.interval_seconds, and again at once when a
 * setting that changes the answer (a base URL, the slskd key, the contact)
 * changes.  Each probe has a short timeout (probe.timeout_seconds) and the
 * results are cached, so GET /api/workers/services answers instantly and
 * never waits on the network (docs/API.md, Workers).  A service that is not
 * configured is down.  A service whose host asked us to wait (429/503 with
 * Retry-After, the per-host block of http_client.h, shared with every
 * worker) is not called until then: it counts as up, "rate limited until
 * ...", with blocked_until_ms set.
 *
 * prober_start/prober_stop: main thread only.  Readers: any thread.
 */
#ifndef SS_PROBER_H
#define SS_PROBER_H

#include <stdbool.h>
#include <stdint.h>

#include "clients/backoff.h" /* enum service_id */
#include "core/err.h"

struct service_status {
  bool up;
  bool configured;
  bool checked;       /* false until the first probe finished */
  int64_t checked_ms; /* wall clock */
  long latency_ms;
  long http_status;           /* 0 when no HTTP answer */
  int64_t blocked_until_ms;   /* wall ms its host asked us to wait until */
  char reason[160];           /* why it is down, or what answered */
  enum ss_reason reason_code; /* why it is down or blocked; SS_R_NONE up */
};

enum ss_err prober_start(void);
void prober_stop(void);
/* "spotify", "slskd", "musicbrainz", "coverart" */
const char *prober_service_key(enum service_id id);
/* Copies the cached results. */
void prober_get(struct service_status out[SVC__COUNT]);
/* Bumped whenever a cached result changes. */
uint64_t prober_generation(void);

#endif
