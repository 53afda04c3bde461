/*
 * automation.c - the three automation units: watchlist (new releases),
 * discography (missing albums) and quality upgrade.
 *
 * Each has its own enable flag and interval; the status API aggregates them
 * into one "automation" entry (docs/API.md, Status values).
 */
#include "workers/workers.h"

#include "automation/quality_upgrade.h"
#include "automation/wanted.h"
#include "core/clock.h"
#include "core/err.h"

static enum unit_run_result run_watchlist(struct unit_ctx *ctx)
{
  if (!workers_spotify_connected()) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "watchlist not available in this build");
  return UNIT_RUN_SKIPPED;
}

static enum unit_run_result run_discography(struct unit_ctx *ctx)
{
  if (!workers_spotify_connected()) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "discography not available in this build");
  return UNIT_RUN_SKIPPED;
}

static enum unit_run_result run_quality_upgrade(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_LIBRARY_PATH)) {
    unit_ctx_set_note(ctx, "library folder not configured");
    return UNIT_RUN_SKIPPED;
  }
  if (!settings_is_set(S_SLSKD_URL)) {
    unit_ctx_set_note(ctx, "slskd not configured");
    return UNIT_RUN_SKIPPED;
  }
  struct qu_config cfg;
  struct qu_result r;
  struct wanted_dispatch_config dc;
  struct wanted_pass_result p = {0};
  int64_t now = clock_wall_ms();
  struct db *db = unit_ctx_db(ctx);
  if (qu_config_load(&cfg)) {
    unit_ctx_fail(ctx, "automation.quality_profile: unknown level");
    return UNIT_RUN_ERROR;
  }
  int rc = quality_upgrade_run(db, &cfg, now, &r);
  if (!rc)
    rc = wanted_follow(db, now, &p);
  wanted_dispatch_config_load(&dc);
  if (!rc)
    rc = wanted_dispatch(db, &dc, now, &p);
  if (rc) {
    unit_ctx_fail(ctx, "quality upgrade: %s", ss_strerror(rc));
    return UNIT_RUN_ERROR;
  }
  unit_ctx_set_message(ctx,
                       "%lld tracks, %lld below the target: %d wanted, %d "
                       "left for later; %d download request(s)",
                       (long long)r.scanned, (long long)r.below, r.added,
                       r.capped, p.requested);
  return UNIT_RUN_OK;
}

const struct unit_def watchlist_unit = {
  .key = "automation.watchlist",
  .label = "Watchlist",
  .enable_setting = S_AUTOMATION_WATCHLIST_ENABLED,
  .interval_setting = S_AUTOMATION_WATCHLIST_INTERVAL_MINUTES,
  .interval_scale = 60,
  .run = run_watchlist,
};

const struct unit_def discography_unit = {
  .key = "automation.discography",
  .label = "Discography",
  .enable_setting = S_AUTOMATION_DISCOGRAPHY_ENABLED,
  .interval_setting = S_AUTOMATION_DISCOGRAPHY_INTERVAL_HOURS,
  .interval_scale = 3600,
  .run = run_discography,
};

const struct unit_def quality_upgrade_unit = {
  .key = "automation.quality_upgrade",
  .label = "Quality Upgrade",
  .enable_setting = S_AUTOMATION_QUALITY_UPGRADE_ENABLED,
  .interval_setting = S_AUTOMATION_QUALITY_UPGRADE_INTERVAL_HOURS,
  .interval_scale = 3600,
  .run = run_quality_upgrade,
};
