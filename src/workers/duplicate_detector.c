/*
 * duplicate_detector.c - finds duplicate tracks in the library.
 * Without a library folder configured it stays idle.
 */
#include "workers/workers.h"

static const char *const counters[] = {"duplicates_found", "tracks_scanned",
                                       NULL};
static const char *const times[] = {"last_scan", NULL};

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_LIBRARY_PATH)) {
    unit_ctx_set_note(ctx, "library folder not configured");
    return UNIT_RUN_SKIPPED;
  }
  unit_ctx_set_note(ctx, "duplicate detection not available in this build");
  return UNIT_RUN_SKIPPED;
}

const struct unit_def duplicate_detector_unit = {
  .key = "duplicate_detector",
  .label = "Duplicate Detector",
  .enable_setting = S_AUTOMATION_DUPLICATE_DETECTION_ENABLED,
  .interval_setting = S_AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS,
  .interval_scale = 3600,
  .counter_names = counters,
  .time_names = times,
  .run = run,
};
