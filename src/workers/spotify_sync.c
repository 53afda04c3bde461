/*
 * spotify_sync.c - mirrors followed artists, playlists and albums.
 *
 * Each sync type keeps its last sync time and a run counter (persisted).
 * Without a connected account the unit stays idle and says so.
 */
#include "workers/workers.h"

const char *const spotify_sync_type_names[SYNC__COUNT] = {
  "artists", "playlists", "albums", "liked_songs", "artist_albums",
};

static const char *const counters[] = {
  "syncs_artists", "syncs_playlists", "syncs_albums", "syncs_liked_songs",
  "syncs_artist_albums", NULL,
};
static const char *const times[] = {
  "last_sync_artists", "last_sync_playlists", "last_sync_albums",
  "last_sync_liked_songs", "last_sync_artist_albums", NULL,
};

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!workers_spotify_connected()) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "Spotify sync not available in this build");
  return UNIT_RUN_SKIPPED;
}

const struct unit_def spotify_sync_unit = {
  .key = "spotify_sync",
  .label = "Spotify Sync",
  .enable_setting = S_SPOTIFY_AUTO_SYNC_ENABLED,
  .interval_setting = S_SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS,
  .interval_scale = 1,
  .counter_names = counters,
  .time_names = times,
  .run = run,
};
