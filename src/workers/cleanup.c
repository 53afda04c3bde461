/*
 * cleanup.c - the Cleanup unit: removes orphaned files from slskd's
 * download folder and the temp folder (library/cleanup_walk.c does the
 * symlink-safe walk; this file decides roots, budget and counters).
 *
 * Without either folder configured it stays idle with a note.  A
 * configured folder that does not exist, or one that contains the library
 * or the data folder (a likely misconfiguration that would delete music
 * or the database), is an error with a readable last_error; the other
 * root is still cleaned.  The caps automation.cleanup_max_files_per_run /
 * _max_mb_per_run bound one run over both roots.  A dry run sets
 * dry_run_files / dry_run_bytes to what would have gone and touches
 * nothing; a real run adds to files_deleted / bytes_freed.
 *
 * Threading: runs on the unit's thread; disable/shutdown are polled per
 * directory entry.
 */
#include "workers/workers.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/reltime.h"
#include "library/cleanup_walk.h"
#include "workers/workers_view.h"

static const char *const counters[] = {"files_deleted", "bytes_freed",
                                       "dry_run_files", "dry_run_bytes", NULL};
static const char *const times[] = {"last_run", NULL};

static bool stop_requested(void *arg) { return unit_ctx_should_stop(arg); }

static void set_counter(struct unit_ctx *ctx, int slot, int64_t value)
{
  struct unit_snapshot s;
  runtime_snapshot(UNIT_CLEANUP, &s);
  unit_ctx_add(ctx, slot, value - s.counters[slot]);
}

/* True when the folder of setting id lies inside (or is) root. */
static bool inside(const char *root_real, enum setting_id id)
{
  char path[SETTING_STR_MAX], real[PATH_MAX];
  settings_str(id, path, sizeof path);
  if (!path[0] || !realpath(path, real))
    return false;
  size_t n = strlen(root_real);
  return !strncmp(real, root_real, n) && (real[n] == '/' || !real[n]);
}

/* Refuses roots that hold the library or the database. */
static bool root_is_safe(const char *root, char *err, size_t errlen)
{
  char real[PATH_MAX];
  if (!realpath(root, real))
    return true; /* the walk reports a missing folder */
  if (inside(real, S_LIBRARY_PATH)) {
    snprintf(err, errlen,
             "%s contains the library folder; refusing to "
             "clean it",
             root);
    return false;
  }
  if (inside(real, S_SERVER_DATA_DIR)) {
    snprintf(err, errlen,
             "%s contains the data folder; refusing to clean "
             "it",
             root);
    return false;
  }
  return true;
}

struct totals {
  struct cleanup_result sum;
  char error[UNIT_ERROR_MAX];
};

static void clean_root(struct unit_ctx *ctx, enum setting_id id, bool temp,
                       struct totals *t)
{
  char root[SETTING_STR_MAX], err[UNIT_ERROR_MAX];
  settings_str(id, root, sizeof root);
  if (!root[0] || t->sum.canceled)
    return;
  if (!root_is_safe(root, err, sizeof err)) {
    snprintf(t->error, sizeof t->error, "%s", err);
    return;
  }
  int64_t days = settings_int(S_AUTOMATION_CLEANUP_RETENTION_DAYS);
  struct cleanup_opts o = {
    .cutoff_s = clock_wall_ms() / 1000 - days * 86400,
    .all_files = temp,
    .dry_run = settings_bool(S_AUTOMATION_CLEANUP_DRY_RUN),
    .max_files = settings_int(S_AUTOMATION_CLEANUP_MAX_FILES_PER_RUN) -
                 t->sum.files,
    .max_bytes = settings_int(S_AUTOMATION_CLEANUP_MAX_MB_PER_RUN) * 1024 *
                   1024 -
                 t->sum.bytes,
    .should_stop = stop_requested,
    .stop_arg = ctx,
  };
  struct cleanup_result r;
  if (cleanup_walk(root, &o, &r, err, sizeof err) != SS_OK) {
    snprintf(t->error, sizeof t->error, "%s folder: %s",
             temp ? "temp" : "download", err);
    return;
  }
  t->sum.files += r.files;
  t->sum.bytes += r.bytes;
  t->sum.dirs += r.dirs;
  t->sum.skipped_active += r.skipped_active;
  t->sum.skipped_changed += r.skipped_changed;
  t->sum.skipped_links += r.skipped_links;
  t->sum.errors += r.errors;
  t->sum.capped |= r.capped;
  t->sum.canceled |= r.canceled;
}

static void report(struct unit_ctx *ctx, const struct totals *t, bool dry)
{
  const struct cleanup_result *s = &t->sum;
  if (dry) {
    set_counter(ctx, CL_DRY_RUN_FILES, s->files);
    set_counter(ctx, CL_DRY_RUN_BYTES, s->bytes);
  } else {
    unit_ctx_add(ctx, CL_FILES_DELETED, s->files);
    unit_ctx_add(ctx, CL_BYTES_FREED, s->bytes);
  }
  unit_ctx_set_time(ctx, CL_LAST_RUN, clock_wall_ms());
  unit_ctx_set_message(ctx,
                       "%s%lld files, %lld bytes, %lld folders%s; kept %lld "
                       "of active downloads, %lld changed, %lld links",
                       dry ? "dry run, would delete " : "deleted ",
                       (long long)s->files, (long long)s->bytes,
                       (long long)s->dirs, s->capped ? " (cap reached)" : "",
                       (long long)s->skipped_active,
                       (long long)s->skipped_changed,
                       (long long)s->skipped_links);
  log_info("cleanup", "%s%lld files, %lld bytes", dry ? "dry run: " : "",
           (long long)s->files, (long long)s->bytes);
}

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_DOWNLOAD_SLSKD_DOWNLOAD_PATH) &&
      !settings_is_set(S_DOWNLOAD_TEMP_PATH)) {
    unit_ctx_set_note(ctx, "no download or temp folder configured");
    return UNIT_RUN_SKIPPED;
  }
  bool dry = settings_bool(S_AUTOMATION_CLEANUP_DRY_RUN);
  struct totals t = {0};
  clean_root(ctx, S_DOWNLOAD_SLSKD_DOWNLOAD_PATH, false, &t);
  clean_root(ctx, S_DOWNLOAD_TEMP_PATH, true, &t);
  report(ctx, &t, dry);
  if (t.sum.canceled)
    return UNIT_RUN_CANCELED;
  if (t.error[0]) {
    unit_ctx_fail(ctx, SS_R_DISK, "%s", t.error);
    return UNIT_RUN_ERROR;
  }
  return UNIT_RUN_OK;
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

/* ---- its entry of the status view (workers_view.h) ---- */

static void details_cleanup(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_CLEANUP];
  buf_printf(b, "{\"dry_run\":%s,", m->cleanup_dry_run ? "true" : "false");
  view_json_rel(b, "last_run", now_ms, u->times[CL_LAST_RUN]);
  buf_printf(b,
             ",\"files_deleted\":%" PRId64 ",\"bytes_freed\":%" PRId64
             ",\"retention_days\":%" PRId64
             ",\"dry_run_would_free_files\":%" PRId64
             ",\"dry_run_would_free_bytes\":%" PRId64,
             u->counters[CL_FILES_DELETED], u->counters[CL_BYTES_FREED],
             m->cleanup_retention_days, u->counters[CL_DRY_RUN_FILES],
             u->counters[CL_DRY_RUN_BYTES]);
  view_json_error_note(b, u);
  buf_putc(b, '}');
}

static void html_cleanup(struct buf *b, const struct workers_model *m,
                         int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_CLEANUP];
  char r1[RELTIME_MAX];
  view_html_linef(b,
                  "%sZuletzt: %s · %" PRId64 " Dateien gelöscht · %" PRId64
                  " Bytes frei",
                  m->cleanup_dry_run ? "(Testlauf) " : "",
                  reltime_de(now_ms, u->times[CL_LAST_RUN], r1, sizeof r1),
                  u->counters[CL_FILES_DELETED], u->counters[CL_BYTES_FREED]);
  if (m->cleanup_dry_run) {
    view_html_linef(b,
                    "Testlauf würde %" PRId64 " Dateien · %" PRId64
                    " Bytes freigeben",
                    u->counters[CL_DRY_RUN_FILES],
                    u->counters[CL_DRY_RUN_BYTES]);
  }
  view_html_error_note(b, u);
}

const struct worker_view cleanup_view = {
  .key = "cleanup",
  .name = "Cleanup",
  .icon = "bi bi-trash3",
  .settings_url = "/settings?tab=automation",
  .json = details_cleanup,
  .html = html_cleanup,
};
