/*
 * automation.c - the three automation units: watchlist (new releases of
 * watched artists, then the playlists' missing tracks), discography
 * (missing releases of watched artists) and quality upgrade.  Each adds
 * Wanted items (src/automation/) and then follows and dispatches the
 * Wanted list through the one dispatcher (automation/wanted.h) when slskd
 * is configured.
 *
 * Each has its own enable flag and interval; the status API aggregates them
 * into one "automation" entry (docs/API.md, Status values).
 */
#include "workers/workers.h"

#include <stdio.h>
#include <string.h>

#include "automation/quality_upgrade.h"
#include "automation/wanted.h"
#include "automation/watchlist.h"
#include "core/clock.h"
#include "core/err.h"

/* Follows and dispatches the Wanted list when slskd is configured. */
static int follow_and_dispatch(struct db *db, int64_t now,
                               struct wanted_pass_result *p)
{
  struct wanted_dispatch_config dc;
  memset(p, 0, sizeof *p);
  if (!settings_is_set(S_SLSKD_URL))
    return SS_OK;
  int rc = wanted_follow(db, now, p);
  wanted_dispatch_config_load(&dc);
  if (!rc)
    rc = wanted_dispatch(db, &dc, now, p);
  if (!rc && p->requested)
    runtime_run_now(UNIT_DOWNLOAD_MONITOR); /* search now, not next poll */
  return rc;
}

static bool should_stop(void *arg) { return unit_ctx_should_stop(arg); }

/* The watchlist (new releases, then the playlists' missing tracks) or the
 * discography pass (automation/watchlist.h). */
static enum unit_run_result run_watch(struct unit_ctx *ctx,
                                      enum watch_mode mode)
{
  const char *what = mode == WATCH_MODE_NEW ? "watchlist" : "discography";
  if (!workers_spotify_connected()) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  struct watch_config cfg;
  struct watch_result r;
  struct wanted_pass_result p;
  struct db *db = unit_ctx_db(ctx);
  int64_t now = clock_wall_ms();
  watch_config_load(&cfg, mode);
  cfg.should_stop = should_stop;
  cfg.stop_arg = ctx;
  int rc = watch_run(db, mode, &cfg, now, &r);
  if (!rc)
    rc = follow_and_dispatch(db, now, &p);
  wanted_stats_refresh(db);
  if (rc) {
    unit_ctx_fail(ctx, ss_reason_of(rc), "%s: %s", what, ss_strerror(rc));
    return UNIT_RUN_ERROR;
  }
  char playlists[80] = "";
  if (mode == WATCH_MODE_NEW && r.playlist_added)
    snprintf(playlists, sizeof playlists, "; %zu playlist track(s) wanted",
             r.playlist_added);
  if (r.stopped) {
    unit_ctx_fail(ctx, r.reason,
                  "%s: stopped after %d artist(s), the rest stay due: "
                  "%s (%zu release(s) wanted)",
                  what, r.watches > 0 ? r.watches - 1 : 0, r.error, r.added);
    return UNIT_RUN_ERROR;
  }
  if (r.failed) {
    unit_ctx_fail(ctx, r.reason,
                  "%s: %d of %d artist(s) could not be checked; "
                  "first: %s (%zu release(s) wanted)",
                  what, r.failed, r.watches, r.error, r.added);
    return UNIT_RUN_ERROR;
  }
  unit_ctx_set_message(ctx,
                       "%d artist(s) checked, %zu release(s) seen, %zu "
                       "owned, %zu wanted, %zu left for later, %zu with an "
                       "absurd date skipped%s; %d download request(s)",
                       r.watches, r.seen, r.owned, r.added, r.capped,
                       r.bad_dates, playlists, p.requested);
  return UNIT_RUN_OK;
}

static enum unit_run_result run_watchlist(struct unit_ctx *ctx)
{
  return run_watch(ctx, WATCH_MODE_NEW);
}

static enum unit_run_result run_discography(struct unit_ctx *ctx)
{
  return run_watch(ctx, WATCH_MODE_DISCOGRAPHY);
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
    unit_ctx_fail(ctx, SS_R_NOT_CONFIGURED,
                  "automation.quality_profile: unknown level");
    return UNIT_RUN_ERROR;
  }
  int rc = quality_upgrade_run(db, &cfg, now, &r);
  if (!rc)
    rc = wanted_follow(db, now, &p);
  wanted_dispatch_config_load(&dc);
  if (!rc)
    rc = wanted_dispatch(db, &dc, now, &p);
  if (rc) {
    unit_ctx_fail(ctx, ss_reason_of(rc), "quality upgrade: %s",
                  ss_strerror(rc));
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
