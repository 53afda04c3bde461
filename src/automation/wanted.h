/*
 * wanted.h - the one place that turns Wanted items into download requests
 * and follows them to the end.
 *
 * The automation units only add items (db_wanted_add).  wanted_dispatch()
 * then, for each due item (state wanted, auto_download, next try reached),
 * oldest first, creates a download request (downloads/requests.h: album by
 * Spotify id when the synced library knows it, else "artist - album"
 * text) and marks the item searching - at most
 * automation.max_requests_per_run per call and
 * automation.max_requests_per_hour over any hour, so a first pass over a
 * big library cannot flood slskd.  wanted_follow() reads the requests of
 * items in flight: downloading while the request downloads; imported when
 * it completed (and ownership agrees); on failure the item goes back to
 * wanted with the next try from the ladder, or given_up when the ladder is
 * exhausted.
 *
 * Retry ladder (attempts already made -> wait before the next): 1 h, 6 h,
 * 1 d, 3 d, 7 d, then given_up until a user presses retry.
 *
 * API actions: search now (dispatch this one item now, whatever its
 * auto_download and next try, within the hourly cap), ignore (never
 * dispatched or re-added), retry (given_up/ignored -> wanted, attempts
 * reset, due now).
 *
 * Threading: any thread with its own db.  Errors: SS_OK, SS_ENOTFOUND,
 * SS_ESTATE (action not allowed in the item's state; err says why),
 * SS_EDB.
 */
#ifndef SS_AUTOMATION_WANTED_H
#define SS_AUTOMATION_WANTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

struct wanted_counts; /* db/db_wanted.h */

#define WANTED_LADDER_STEPS 5

/* Wait after `attempts` failed attempts (1-based), or -1: give up. */
int64_t wanted_ladder_delay_ms(int attempts);

struct wanted_dispatch_config {
  int max_per_run;  /* automation.max_requests_per_run */
  int max_per_hour; /* automation.max_requests_per_hour */
};

struct wanted_pass_result {
  int requested; /* download requests made */
  int capped;    /* due items left for later by a cap */
  int failed;    /* items whose request could not be made (reason set) */
  int imported;  /* items that reached imported */
  int retrying;  /* items sent back to wanted by the ladder */
  int given_up;
  char note[160]; /* e.g. "hourly cap reached (20 requests)" */
};

/* Reads the two caps from settings. */
void wanted_dispatch_config_load(struct wanted_dispatch_config *cfg);
enum ss_err wanted_dispatch(struct db *db,
                            const struct wanted_dispatch_config *cfg,
                            int64_t now_ms, struct wanted_pass_result *out);
enum ss_err wanted_follow(struct db *db, int64_t now_ms,
                          struct wanted_pass_result *out);

/*
 * The open counts per source and the requests made (db_wanted_counts), as
 * the status API shows them: a process-wide copy that the dispatcher, the
 * follow, the actions and a manual add refresh after writing (and main
 * once at start), so a status render never reads the store.
 * wanted_stats_refresh: any thread with its own db; wanted_stats_get: any
 * thread, false while never refreshed.
 */
void wanted_stats_refresh(struct db *db);
bool wanted_stats_get(struct wanted_counts *out);

enum ss_err wanted_search_now(struct db *db, int64_t id, int64_t now_ms,
                              char *err, size_t errlen);
enum ss_err wanted_ignore(struct db *db, int64_t id, int64_t now_ms, char *err,
                          size_t errlen);
enum ss_err wanted_retry(struct db *db, int64_t id, int64_t now_ms, char *err,
                         size_t errlen);

#endif
