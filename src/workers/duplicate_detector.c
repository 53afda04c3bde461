/*
 * duplicate_detector.c - the Duplicate Detector unit: scans the library
 * (library/scanner.c), then runs the configured detection methods
 * (library/dupes.c) and records the findings for review on
 * /library/duplicates.
 *
 * Without a library folder configured it stays idle with a note.  A
 * configured folder that is missing, or an unknown method, is an error
 * with a readable last_error.  Disable and shutdown are honoured between
 * files and between detection steps (UNIT_RUN_CANCELED; rows written so
 * far stay, nothing is marked gone).
 *
 * Counters: duplicates_found and tracks_scanned are cumulative; the others
 * describe the last complete scan.  Threading: runs on the unit's thread
 * with the unit's db connection.
 */
#include "workers/workers.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/reltime.h"
#include "db/db_library.h"
#include "library/dupes.h"
#include "library/quarantine.h"
#include "library/scanner.h"
#include "workers/workers_view.h"

static const char *const counters[] =
  {"duplicates_found", "tracks_scanned", "groups_open", "last_scan_files",
   "unreadable_files", "bad_names",      NULL};
static const char *const times[] = {"last_scan", NULL};

static bool stop_requested(void *arg) { return unit_ctx_should_stop(arg); }

/* Counters only add: set a "last scan" value through its difference. */
static void set_counter(struct unit_ctx *ctx, int slot, int64_t value)
{
  struct unit_snapshot s;
  runtime_snapshot(UNIT_DUPLICATE_DETECTOR, &s);
  unit_ctx_add(ctx, slot, value - s.counters[slot]);
}

static enum unit_run_result scan(struct unit_ctx *ctx, const char *root,
                                 unsigned methods, struct scanner_stats *ss)
{
  char qdir[SETTING_STR_MAX], err[UNIT_ERROR_MAX];
  struct scanner_opts o = {
    .root = root,
    .quarantine = quarantine_dir(qdir, sizeof qdir),
    .want_hash = methods & DUPES_FILE_HASH,
    .want_fingerprint = methods & DUPES_FINGERPRINT,
    .should_stop = stop_requested,
    .stop_arg = ctx,
  };
  enum ss_err rc = scanner_run(unit_ctx_db(ctx), &o, ss, err, sizeof err);
  unit_ctx_add(ctx, DD_TRACKS_SCANNED, (int64_t)ss->files);
  if (rc == SS_ECANCELED)
    return UNIT_RUN_CANCELED;
  if (rc) {
    /* The scan's failures are the library folder's, but for the store. */
    unit_ctx_fail(ctx, rc == SS_EDB ? SS_R_INTERNAL : SS_R_DISK, "%s",
                  err[0] ? err : ss_strerror(rc));
    return UNIT_RUN_ERROR;
  }
  return UNIT_RUN_OK;
}

static void publish(struct unit_ctx *ctx, const struct scanner_stats *ss,
                    const struct dupes_stats *ds)
{
  struct library_counts c = {0};
  db_library_counts(unit_ctx_db(ctx), &c);
  unit_ctx_add(ctx, DD_DUPLICATES_FOUND, (int64_t)ds->new_groups);
  set_counter(ctx, DD_GROUPS_OPEN, (int64_t)ds->open_groups);
  set_counter(ctx, DD_LAST_SCAN_FILES, (int64_t)ss->files);
  set_counter(ctx, DD_UNREADABLE, c.unreadable);
  set_counter(ctx, DD_BAD_NAMES, (int64_t)ss->bad_names);
  unit_ctx_set_time(ctx, DD_LAST_SCAN, clock_wall_ms());
  char crashed[64] = "";
  if (ss->analysis_failed)
    snprintf(crashed, sizeof crashed, ", %zu crashed or timed out",
             ss->analysis_failed);
  unit_ctx_set_message(ctx,
                       "%zu files (%zu new or changed, %lld unreadable%s, "
                       "%zu bad names), %zu findings (%zu new), %zu open",
                       ss->files, ss->probed, (long long)c.unreadable, crashed,
                       ss->bad_names, ds->groups, ds->new_groups,
                       ds->open_groups);
}

static enum unit_run_result run(struct unit_ctx *ctx)
{
  char root[SETTING_STR_MAX], method[64];
  settings_str(S_LIBRARY_PATH, root, sizeof root);
  if (!root[0]) {
    unit_ctx_set_note(ctx, "library folder not configured");
    return UNIT_RUN_SKIPPED;
  }
  settings_str(S_AUTOMATION_DUPLICATE_DETECTION_METHOD, method, sizeof method);
  unsigned methods = dupes_methods_parse(method);
  if (!methods) {
    unit_ctx_fail(ctx, SS_R_NOT_CONFIGURED, "unknown detection method \"%s\"",
                  method);
    return UNIT_RUN_ERROR;
  }
  struct scanner_stats ss;
  enum unit_run_result r = scan(ctx, root, methods, &ss);
  if (r != UNIT_RUN_OK)
    return r;
  struct dupes_stats ds;
  enum ss_err rc = dupes_detect(unit_ctx_db(ctx), methods, stop_requested, ctx,
                                clock_wall_ms(), &ds);
  if (rc == SS_ECANCELED)
    return UNIT_RUN_CANCELED;
  if (rc) {
    unit_ctx_fail(ctx, ss_reason_of(rc), "duplicate detection failed: %s",
                  ss_strerror(rc));
    return UNIT_RUN_ERROR;
  }
  publish(ctx, &ss, &ds);
  return UNIT_RUN_OK;
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

/* ---- its entry of the status view (workers_view.h) ---- */

static void details_duplicates(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DUPLICATE_DETECTOR];
  buf_puts(b, "{\"detection_method\":");
  json_str(b, m->duplicate_method);
  buf_putc(b, ',');
  view_json_rel(b, "last_scan", now_ms, u->times[DD_LAST_SCAN]);
  buf_printf(b,
             ",\"duplicates_found\":%" PRId64 ",\"tracks_scanned\":%" PRId64
             ",\"groups_open\":%" PRId64 ",\"last_scan_files\":%" PRId64
             ",\"unreadable_files\":%" PRId64 ",\"bad_names\":%" PRId64,
             u->counters[DD_DUPLICATES_FOUND], u->counters[DD_TRACKS_SCANNED],
             u->counters[DD_GROUPS_OPEN], u->counters[DD_LAST_SCAN_FILES],
             u->counters[DD_UNREADABLE], u->counters[DD_BAD_NAMES]);
  view_json_error_note(b, u);
  buf_putc(b, '}');
}

static void html_duplicates(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DUPLICATE_DETECTOR];
  char r1[RELTIME_MAX];
  view_html_linef(b, "Methode: %s · Gefunden: %" PRId64 " · Geprüft: %" PRId64,
                  m->duplicate_method, u->counters[DD_DUPLICATES_FOUND],
                  u->counters[DD_TRACKS_SCANNED]);
  view_html_linef(b, "Letzter Scan: %s",
                  reltime_de(now_ms, u->times[DD_LAST_SCAN], r1, sizeof r1));
  if (u->counters[DD_GROUPS_OPEN] || u->counters[DD_UNREADABLE]) {
    view_html_linef(b, "Offen: %" PRId64 " · Unlesbar: %" PRId64,
                    u->counters[DD_GROUPS_OPEN], u->counters[DD_UNREADABLE]);
  }
  view_html_error_note(b, u);
}

const struct worker_view duplicate_detector_view = {
  .key = "duplicate_detector",
  .name = "Duplicate Detector",
  .icon = "bi bi-copy",
  .settings_url = "/settings?tab=automation",
  .json = details_duplicates,
  .html = html_duplicates,
};
