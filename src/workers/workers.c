/*
 * workers.c - the table of worker units and shared preconditions.
 */
#include "workers/workers.h"

static const struct unit_def *const defs[UNIT__COUNT] = {
  [UNIT_TOKEN_REFRESH] = &token_refresh_unit,
  [UNIT_SPOTIFY_SYNC] = &spotify_sync_unit,
  [UNIT_DOWNLOAD_MONITOR] = &download_monitor_unit,
  [UNIT_WATCHLIST] = &watchlist_unit,
  [UNIT_DISCOGRAPHY] = &discography_unit,
  [UNIT_QUALITY_UPGRADE] = &quality_upgrade_unit,
  [UNIT_CLEANUP] = &cleanup_unit,
  [UNIT_DUPLICATE_DETECTOR] = &duplicate_detector_unit,
};

const struct unit_def *const *workers_defs(void) { return defs; }
