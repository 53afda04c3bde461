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
 * DECISIONS.md item 8 says: when its service is not configured it makes no
 * external call, returns UNIT_RUN_SKIPPED and sets a note saying why.
 */
#ifndef SS_WORKERS_H
#define SS_WORKERS_H

#include "runtime/runtime.h"

/* spotify_sync: one time and one counter per sync type */
enum spotify_sync_type {
  SYNC_ARTISTS,
  SYNC_PLAYLISTS,
  SYNC_ALBUMS, /* saved albums */
  SYNC_LIKED_SONGS,
  SYNC_ARTIST_ALBUMS,
  SYNC__COUNT
};
extern const char *const spotify_sync_type_names[SYNC__COUNT];

enum { DM_DOWNLOADS_COMPLETED, DM_DOWNLOADS_FAILED };
enum { DM_LAST_POLL };
enum { CL_FILES_DELETED, CL_BYTES_FREED, CL_DRY_RUN_FILES, CL_DRY_RUN_BYTES };
enum { CL_LAST_RUN };
enum { DD_DUPLICATES_FOUND, DD_TRACKS_SCANNED };
enum { DD_LAST_SCAN };

extern const struct unit_def token_refresh_unit;
extern const struct unit_def spotify_sync_unit;
extern const struct unit_def download_monitor_unit;
extern const struct unit_def watchlist_unit;
extern const struct unit_def discography_unit;
extern const struct unit_def quality_upgrade_unit;
extern const struct unit_def cleanup_unit;
extern const struct unit_def duplicate_detector_unit;

/* Unit definitions indexed by enum unit_id.  Static data; any thread. */
const struct unit_def *const *workers_defs(void);

/* True when a Spotify account is connected (a refresh token is stored). */
bool workers_spotify_connected(void);

#endif
