/*
 * download_monitor.c - the Download Monitor unit: one requests_poll() per
 * download.poll_interval_seconds.
 *
 * What: reads the settings, makes one slskd client per run, polls, and
 * publishes the result: downloads_completed / downloads_failed (counters,
 * persisted by the runtime), in_progress / queued (gauges kept in counter
 * slots: set by adding the difference), last_poll (after a poll that
 * reached slskd), last_error (slskd unreachable, key refused, malformed
 * reply).  It is active only while a poll has transfers or searches to
 * follow (active_on_demand).  Without an slskd URL it stays idle and says
 * so.  It also gives Cleanup its "is this file an active download?" check
 * (a path ending in "<remote folder>/<name>" of an open file, also with
 * .part/.tmp/.partial), answered from the open files of the last poll.
 * After each poll it follows the Wanted items in flight (wanted_follow),
 * so an item is imported or climbs its ladder as soon as its download
 * request ends, whichever automation units are on.
 *
 * Threading: run() on the unit's thread, plus a small watcher thread per
 * poll that raises the slskd client's cancel flag when the unit must stop
 * (shutdown, disable), so a hanging slskd never holds up a stop.  The
 * active-download check may be called from any thread (a mutex guards the
 * sorted name list).
 * Ownership: everything a run allocates is freed before it returns.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "automation/wanted.h"
#include "clients/slskd.h"
#include "core/clock.h"
#include "core/reltime.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/fsutil.h"
#include "db/db_downloads.h"
#include "downloads/requests.h"
#include "library/cleanup_walk.h"
#include "library/import.h"
#include "clients/backoff.h"
#include "workers/workers.h"
#include "workers/workers_view.h"

#define LIST_TIMEOUT_MS 15000

static const char *const counters[] = {"downloads_completed",
                                       "downloads_failed", "in_progress",
                                       "queued", NULL};
static const char *const times[] = {"last_poll", NULL};

/* ---- Cleanup's check: "<remote folder>/<name>" of every open file ---- */

static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static char **active_names;
static size_t active_n;
static atomic_bool check_registered;

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *name_key(const char *dir, const char *base)
{
  return xasprintf("%s/%s", dir, base);
}

static void set_active(void *arg, const struct dl_files *files)
{
  (void)arg;
  char **names = xmalloc((files->n ? files->n : 1) * sizeof *names);
  char dir[SLSKD_STR_MAX], base[SLSKD_STR_MAX];
  for (size_t i = 0; i < files->n; i++) {
    fs_split_peer_path(files->v[i].filename, dir, sizeof dir, base,
                       sizeof base);
    names[i] = name_key(dir, base);
  }
  qsort(names, files->n, sizeof *names, cmp_str);
  pthread_mutex_lock(&active_mu);
  char **old = active_names;
  size_t old_n = active_n;
  active_names = names;
  active_n = files->n;
  pthread_mutex_unlock(&active_mu);
  for (size_t i = 0; i < old_n; i++)
    free(old[i]);
  free(old);
}

/* True when path ends in "<folder>/<name>" of an open download, also with
 * a .part/.tmp/.partial suffix (slskd's incomplete copy). */
static bool is_active_download(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path)
    return false;
  const char *dir = slash - 1;
  while (dir > path && *dir != '/')
    dir--;
  if (*dir == '/')
    dir++;
  char *key = xasprintf("%.*s%s", (int)(slash - dir), dir, slash);
  static const char *const suffixes[] = {".part", ".tmp", ".partial", NULL};
  bool found = false;
  pthread_mutex_lock(&active_mu);
  for (int i = -1; !found && (i < 0 || suffixes[i]); i++) {
    size_t len = strlen(key);
    if (i >= 0) {
      size_t s = strlen(suffixes[i]);
      if (len <= s || strcasecmp(key + len - s, suffixes[i]))
        continue;
      key[len - s] = '\0';
    }
    found = active_n && bsearch(&key, active_names, active_n,
                                sizeof *active_names, cmp_str);
  }
  pthread_mutex_unlock(&active_mu);
  free(key);
  return found;
}

static void register_check(struct db *db)
{
  if (atomic_exchange(&check_registered, true))
    return;
  struct dl_files open;
  if (db && db_dl_files_open(db, &open) == SS_OK) {
    set_active(NULL, &open);
    db_dl_files_free(&open);
  }
  cleanup_set_active_download_check(is_active_download);
}

/* ---- the unit ---- */

struct hook_ctx {
  struct unit_ctx *ctx;
  struct import_config icfg;
};

static int hook_import(void *arg, struct db *db, const struct dl_file *f,
                       char *err, size_t errlen)
{
  struct hook_ctx *h = arg;
  return import_file(&h->icfg, db, f, err, errlen);
}

static void hook_mark(void *arg)
{
  unit_ctx_mark_active(((struct hook_ctx *)arg)->ctx);
}

static bool hook_stop(void *arg)
{
  return unit_ctx_should_stop(((struct hook_ctx *)arg)->ctx);
}

/* ---- stop watch: slskd calls are cut short on shutdown or disable ---- */

struct stop_watch {
  struct unit_ctx *ctx;
  atomic_bool cancel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  pthread_t thread;
  bool started;
};

#define WATCH_MS 100

static void *watch_main(void *arg)
{
  struct stop_watch *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    if (unit_ctx_should_stop(w->ctx)) {
      atomic_store(&w->cancel, true);
      break;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += WATCH_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static void watch_start(struct stop_watch *w, struct unit_ctx *ctx)
{
  pthread_condattr_t ca;
  w->ctx = ctx;
  atomic_init(&w->cancel, false);
  w->done = false;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  w->started = pthread_create(&w->thread, NULL, watch_main, w) == 0;
}

static void watch_stop(struct stop_watch *w)
{
  pthread_mutex_lock(&w->mu);
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (w->started)
    pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

/* Gauges live in counter slots: set them by adding the difference. */
static void publish_gauges(struct unit_ctx *ctx,
                           const struct dl_poll_result *res)
{
  struct unit_snapshot s;
  runtime_snapshot(UNIT_DOWNLOAD_MONITOR, &s);
  unit_ctx_add(ctx, DM_IN_PROGRESS,
               res->in_progress - s.counters[DM_IN_PROGRESS]);
  unit_ctx_add(ctx, DM_QUEUED,
               res->queued + res->searching - s.counters[DM_QUEUED]);
}

static enum unit_run_result poll_once(struct unit_ctx *ctx, struct db *db,
                                      const struct dl_config *cfg)
{
  struct hook_ctx hc = {.ctx = ctx};
  import_config_load(&hc.icfg);
  struct stop_watch *w = xmalloc(sizeof *w);
  watch_start(w, ctx);
  struct dl_hooks hooks = {&hc,         hook_mark,  hook_stop,
                           hook_import, set_active, &w->cancel};
  struct slskd *c = slskd_new(cfg->slskd_url, cfg->slskd_key);
  slskd_set_timeout(c, LIST_TIMEOUT_MS);
  slskd_set_cancel(c, &w->cancel);
  struct dl_poll_result res;
  enum ss_err rc = requests_poll(db, c, cfg, &hooks, &res);
  slskd_free(c);
  bool canceled = atomic_load(&w->cancel) || rc == SS_ECANCELED;
  watch_stop(w);
  free(w);
  unit_ctx_add(ctx, DM_DOWNLOADS_COMPLETED, res.completed);
  unit_ctx_add(ctx, DM_DOWNLOADS_FAILED, res.failed);
  if (!canceled)
    publish_gauges(ctx, &res);
  if (res.note[0])
    unit_ctx_set_note(ctx, "%s", res.note);
  if (canceled)
    return UNIT_RUN_CANCELED; /* nothing half-written: resumed next run */
  if (rc) {
    /* slskd down climbs its ladder; a refused key does not. */
    backoff_failed(SVC_SLSKD, clock_wall_ms(), 0, ss_reason_of(rc), res.error);
    unit_ctx_fail(ctx, ss_reason_of(rc), "%s", res.error);
    return UNIT_RUN_ERROR;
  }
  backoff_succeeded(SVC_SLSKD);
  unit_ctx_set_time(ctx, DM_LAST_POLL, clock_wall_ms());
  struct wanted_pass_result wr;
  if (wanted_follow(db, clock_wall_ms(), &wr) != SS_OK)
    log_warn("downloads", "could not follow the Wanted list");
  unit_ctx_set_message(ctx,
                       "%lld transfers, %lld updated, %lld imported, "
                       "%lld failed",
                       (long long)res.transfers, (long long)res.updated,
                       (long long)res.completed, (long long)res.failed);
  return UNIT_RUN_OK;
}

static enum unit_run_result run(struct unit_ctx *ctx)
{
  struct db *db = unit_ctx_db(ctx);
  register_check(db);
  if (!settings_is_set(S_SLSKD_URL)) {
    unit_ctx_set_note(ctx, "slskd not configured");
    return UNIT_RUN_SKIPPED;
  }
  if (!db) {
    unit_ctx_fail(ctx, SS_R_INTERNAL, "the database is not available");
    return UNIT_RUN_ERROR;
  }
  if (workers_defer_for(ctx, SVC_SLSKD))
    return UNIT_RUN_DEFERRED; /* no call, no new error */
  struct dl_config *cfg = xmalloc(sizeof *cfg);
  char err[200];
  enum unit_run_result r;
  if (requests_config_load(cfg, err, sizeof err) != SS_OK) {
    unit_ctx_fail(ctx, SS_R_NOT_CONFIGURED, "%s", err);
    r = UNIT_RUN_ERROR;
  } else {
    r = poll_once(ctx, db, cfg);
  }
  memset(cfg->slskd_key, 0, sizeof cfg->slskd_key);
  free(cfg);
  return r;
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

/* ---- its entry of the status view (workers_view.h) ---- */

static void details_monitor(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DOWNLOAD_MONITOR];
  buf_printf(b, "{\"poll_interval_seconds\":%" PRId64 ",", u->interval_s);
  view_json_rel(b, "last_poll", now_ms, u->times[DM_LAST_POLL]);
  buf_printf(b,
             ",\"downloads_completed\":%" PRId64
             ",\"downloads_failed\":%" PRId64 ",\"in_progress\":%" PRId64
             ",\"queued\":%" PRId64 ",\"slskd_configured\":%s",
             u->counters[DM_DOWNLOADS_COMPLETED],
             u->counters[DM_DOWNLOADS_FAILED], u->counters[DM_IN_PROGRESS],
             u->counters[DM_QUEUED], m->slskd_configured ? "true" : "false");
  view_json_error_note(b, u);
  buf_putc(b, '}');
}

static void html_monitor(struct buf *b, const struct workers_model *m,
                         int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DOWNLOAD_MONITOR];
  char every[32], r1[RELTIME_MAX];
  view_interval_de(every, sizeof every, u->interval_s);
  view_html_linef(b,
                  "Abfrage alle %s · ✓ %" PRId64 " fertig · ✕ %" PRId64
                  " fehlgeschlagen",
                  every, u->counters[DM_DOWNLOADS_COMPLETED],
                  u->counters[DM_DOWNLOADS_FAILED]);
  view_html_linef(b, "Letzte Abfrage: %s",
                  reltime_de(now_ms, u->times[DM_LAST_POLL], r1, sizeof r1));
  if (u->counters[DM_IN_PROGRESS] || u->counters[DM_QUEUED]) {
    view_html_linef(b, "Lädt: %" PRId64 " · Wartend: %" PRId64,
                    u->counters[DM_IN_PROGRESS], u->counters[DM_QUEUED]);
  }
  view_html_error_note(b, u);
}

const struct worker_view download_monitor_view = {
  .key = "download_monitor",
  .name = "Download Monitor",
  .icon = "bi bi-download",
  .settings_url = "/settings?tab=downloads",
  .json = details_monitor,
  .html = html_monitor,
};
