/*
 * cleanup.c - removes orphaned temp files from slskd's download folder and
 * the temp folder.  Without either folder configured it stays idle.
 */
#include "workers/workers.h"

static const char *const counters[] = {"files_deleted", "bytes_freed",
                                       "dry_run_files", "dry_run_bytes", NULL};
static const char *const times[] = {"last_run", NULL};

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_DOWNLOAD_SLSKD_DOWNLOAD_PATH) &&
      !settings_is_set(S_DOWNLOAD_TEMP_PATH)) {
    unit_ctx_set_note(ctx, "no download or temp folder configured");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "cleanup not available in this build");
  return UNIT_RUN_SKIPPED;
}

const struct unit_def cleanup_unit = {
  .key = "cleanup",
  .label = "Cleanup",
  .enable_setting = S_AUTOMATION_CLEANUP_ENABLED,
  .interval_setting = S_AUTOMATION_CLEANUP_INTERVAL_HOURS,
  .interval_scale = 3600,
  .counter_names = counters,
  .time_names = times,
  .run = run,
};
