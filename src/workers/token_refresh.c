/*
 * token_refresh.c - keeps the Spotify OAuth login fresh.
 *
 * Without a connected account there is nothing to refresh: the unit stays
 * idle and says so (DECISIONS.md 8).
 */
#include "workers/workers.h"

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_SPOTIFY_CLIENT_ID)) {
    unit_ctx_set_note(ctx, "Spotify client id not configured");
    return UNIT_RUN_SKIPPED;
  }
  if (!workers_spotify_connected()) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "token refresh not available in this build");
  return UNIT_RUN_SKIPPED;
}

const struct unit_def token_refresh_unit = {
  .key = "token_refresh",
  .label = "Token Refresh",
  .enable_setting = S_SPOTIFY_TOKEN_REFRESH_ENABLED,
  .interval_setting = S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
  .interval_scale = 1,
  .run = run,
};
