/*
 * download_monitor.c - follows slskd transfers.
 *
 * It is active only while a poll finds transfers to update
 * (active_on_demand).  Without an slskd URL it stays idle and says so.
 */
#include "workers/workers.h"

static const char *const counters[] = {"downloads_completed",
                                       "downloads_failed", NULL};
static const char *const times[] = {"last_poll", NULL};

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_SLSKD_URL)) {
    unit_ctx_set_note(ctx, "slskd not configured");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "download tracking not available in this build");
  return UNIT_RUN_SKIPPED;
}

const struct unit_def download_monitor_unit = {
  .key = "download_monitor",
  .label = "Download Monitor",
  .enable_setting = S_DOWNLOAD_MONITOR_ENABLED,
  .interval_setting = S_DOWNLOAD_POLL_INTERVAL_SECONDS,
  .interval_scale = 1,
  .counter_names = counters,
  .time_names = times,
  .active_on_demand = true,
  .run = run,
};
