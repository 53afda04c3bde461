/*
 * backoff.h - one backoff ladder per external service, shared by every
 * unit and client that calls it (issue 11 point 4).
 *
 * After consecutive failures that say the service is down (connection,
 * timeout, rate limited) callers wait 30 s, 2 min, 5 min, 15 min, 1 h,
 * 3 h, then 6 h for every further failure; a Retry-After that asks for
 * longer wins.  One success steps back to zero.  The clients keep the
 * ladder themselves: the Spotify client (Accounts service and Web API
 * alike) and the MusicBrainz and Cover Art Archive clients record every
 * failed and every answered call and refuse calls while their service
 * backs off (unless the caller forces one: run now); the Download
 * Monitor does the same for slskd.  A unit whose service is backing off
 * defers its run (UNIT_RUN_DEFERRED: its state and last error stand, the
 * history folds the repeats) instead of failing again; run now still
 * tries at once.  Failures the user must act on (auth, protocol, not
 * configured) do not climb the ladder: retrying sooner cannot help and
 * later cannot hurt.  The per-host Retry-After block of http_client.h
 * stays beside it and holds even a forced call.
 *
 * Threading: any thread; one mutex, held for copies.
 */
#ifndef SS_BACKOFF_H
#define SS_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The external services (the prober probes them, the ladder is kept per
 * service). */
enum service_id {
  SVC_SPOTIFY,
  SVC_SLSKD,
  SVC_MUSICBRAINZ,
  SVC_COVERART,
  SVC__COUNT
};

#define BACKOFF_STEPS 7
#define BACKOFF_REASON_MAX 160
#define BACKOFF_NOTE_MAX 320
extern const int64_t backoff_ladder_ms[BACKOFF_STEPS];

struct backoff_state {
  int failures;                    /* consecutive, since the last success */
  int64_t until_ms;                /* wall ms; no call before (0 = none) */
  enum ss_reason code;             /* of the last failure */
  char reason[BACKOFF_REASON_MAX]; /* its message */
};

/* "Spotify", "slskd", "MusicBrainz", "Cover Art Archive". */
const char *backoff_service_name(enum service_id svc);
/* True for the reasons that climb the ladder. */
bool backoff_applies(enum ss_reason code);
/* A call to svc failed at now_ms.  When code climbs the ladder: the next
 * step (retry_after_ms, wall, wins when later); returns until_ms, else 0
 * and nothing changes. */
int64_t backoff_failed(enum service_id svc, int64_t now_ms,
                       int64_t retry_after_ms, enum ss_reason code,
                       const char *reason);
void backoff_succeeded(enum service_id svc);
void backoff_get(enum service_id svc, struct backoff_state *out);
/* Wall ms svc is backing off until, 0 when it is not (now_ms passed). */
int64_t backoff_until(enum service_id svc, int64_t now_ms);
/* Whether svc is backing off at now_ms; if so, and note is not NULL, the
 * note a deferred run shows: "Spotify unavailable 2 time(s) in a row;
 * next try after 12:34:56 UTC (last: HTTP 503)".  The time comes first:
 * a caller's short buffer cuts the reason, not the time. */
bool backoff_blocked(enum service_id svc, int64_t now_ms, char *note,
                     size_t n);
/* Tests: forgets every state. */
void backoff_reset_all(void);

#endif
