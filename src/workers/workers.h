/*
 * workers.h - the eight worker units and the slots of their persisted state.
 *
 * Each worker lives in its own file (token_refresh.c, spotify_sync.c, ...)
 * and defines one struct unit_def.  workers_defs() returns them indexed by
 * enum unit_id.  The slot enums below name the counters and times each unit
 * persists (struct unit_snapshot.counters / .times); the status renderer
 * reads them by these names.
 *
 * Until a worker's real job is built, its run function does what
 * docs/API.md says: when its service is not configured it makes no
 * external call, returns UNIT_RUN_SKIPPED and sets a note saying why.
 */
#ifndef SS_WORKERS_H
#define SS_WORKERS_H

#include "core/err.h"
#include "clients/backoff.h" /* enum service_id */
#include "runtime/runtime.h"
#include "spotify/sync.h" /* spotify_sync: a time and a counter per type */

/* download_monitor: two cumulative counters, then two gauges (files
 * transferring now; files waiting: to enqueue, queued, being searched). */
enum {
  DM_DOWNLOADS_COMPLETED,
  DM_DOWNLOADS_FAILED,
  DM_IN_PROGRESS,
  DM_QUEUED
};
enum { DM_LAST_POLL };
enum { CL_FILES_DELETED, CL_BYTES_FREED, CL_DRY_RUN_FILES, CL_DRY_RUN_BYTES };
enum { CL_LAST_RUN };
/* duplicate_detector: the first two are cumulative; the others describe
 * the last complete scan (open findings, files met, unreadable files,
 * names that are not UTF-8). */
enum {
  DD_DUPLICATES_FOUND,
  DD_TRACKS_SCANNED,
  DD_GROUPS_OPEN,
  DD_LAST_SCAN_FILES,
  DD_UNREADABLE,
  DD_BAD_NAMES
};
enum { DD_LAST_SCAN };

#define UNIT_DEF_DECL(id, name, view, role)                                   \
  extern const struct unit_def name##_unit;
UNITS_TABLE(UNIT_DEF_DECL)
#undef UNIT_DEF_DECL

/* Unit definitions indexed by enum unit_id.  Static data; any thread. */
const struct unit_def *const *workers_defs(void);

/* Whether this run waits for svc's backoff ladder (clients/backoff.h):
 * svc is backing off and the run is not forced (run now still tries).
 * Then the run's note says until when and why, and the caller returns
 * UNIT_RUN_DEFERRED (its state and last error stand).  Unit thread. */
bool workers_defer_for(struct unit_ctx *ctx, enum service_id svc);

/* True when a Spotify account is connected (a login is stored and Spotify
 * has not refused its refresh token).  Cheap, any thread. */
bool workers_spotify_connected(void);

/* Spotify as the status view shows it (spotify_account.c): the login, the
 * shared rate-limit block and the last result/error of each sync type
 * (persisted, so they survive restarts).  Any thread; copies. */
struct spotify_view {
  bool stored;             /* a login is stored */
  bool connected;          /* ... and usable */
  char reauth_reason[256]; /* why it is not usable */
  char display_name[128];
  int64_t access_expires_ms;  /* 0 = none */
  int64_t refresh_expires_ms; /* authorised + 6 months */
  int64_t blocked_until_ms;   /* 0 = not rate limited */
  char blocked_reason[160];
  struct spotify_sync_type_status types[SYNC__COUNT];
};
void workers_spotify_view(struct spotify_view *out);
/* "Sync now": the next Spotify Sync run treats every enabled type as due
 * and is started at once.  SS_OK, SS_ESTATE (disabled), SS_EBUSY (already
 * running; the flag stays for the next run). */
enum ss_err spotify_sync_request_full(void);

#endif
