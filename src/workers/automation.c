/*
 * automation.c - the three automation units: watchlist (new releases of
 * watched artists, then the playlists' missing tracks), discography
 * (missing releases of watched artists) and quality upgrade.  Each adds
 * Wanted items (src/automation/) and then follows and dispatches the
 * Wanted list through the one dispatcher (automation/wanted.h) when slskd
 * is configured.
 *
 * Each has its own enable flag and interval; the status API aggregates them
 * into one "automation" entry (docs/API.md, Status values).  While Spotify
 * or MusicBrainz backs off (clients/backoff.h) watchlist and discography
 * runs are deferred with a note, and a run that meets a service down
 * stops with the watches still due; run now still tries.
 */
#include "workers/workers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "automation/quality_upgrade.h"
#include "automation/wanted.h"
#include "automation/watchlist.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "workers/workers_view.h"

/* Follows and dispatches the Wanted list when slskd is configured. */
static enum ss_err follow_and_dispatch(struct db *db, int64_t now,
                                       struct wanted_pass_result *p)
{
  struct wanted_dispatch_config dc;
  memset(p, 0, sizeof *p);
  if (!settings_is_set(S_SLSKD_URL))
    return SS_OK;
  enum ss_err rc = wanted_follow(db, now, p);
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
  /* Spotify or MusicBrainz backing off: wait (run now still tries). */
  if (workers_defer_for(ctx, SVC_SPOTIFY) ||
      workers_defer_for(ctx, SVC_MUSICBRAINZ))
    return UNIT_RUN_DEFERRED;
  struct watch_config cfg;
  struct watch_result r;
  struct wanted_pass_result p;
  struct db *db = unit_ctx_db(ctx);
  int64_t now = clock_wall_ms();
  watch_config_load(&cfg, mode);
  cfg.should_stop = should_stop;
  cfg.stop_arg = ctx;
  cfg.forced = unit_ctx_forced(ctx);
  enum ss_err rc = watch_run(db, mode, &cfg, now, &r);
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
  if (r.stopped && r.deferred && !r.failed) {
    /* a service backs off: no request, no new error, all stays due */
    unit_ctx_set_note(ctx, "%s: waiting; %s", what, r.error);
    return UNIT_RUN_DEFERRED;
  }
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
  enum ss_err rc = quality_upgrade_run(db, &cfg, now, &r);
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

/* ---- the automation entry of the status view (workers_view.h): its
 * three units aggregated; defined as the FIRST row's (watchlist) view ---- */

static void details_automation(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  (void)now_ms; /* no times in these details */
  enum unit_id au[UNIT__COUNT];
  size_t n = workers_view_units(VIEW_AUTOMATION, au);
  buf_putc(b, '{');
  for (size_t i = 0; i < n; i++)
    buf_printf(b, "%s\"%s_running\":%s", i ? "," : "",
               workers_unit_name(au[i]),
               m->units[au[i]].running ? "true" : "false");
  for (size_t i = 0; i < n; i++)
    buf_printf(b, ",\"%s_status\":\"%s\"", workers_unit_name(au[i]),
               workers_state_name(
                 workers_unit_status(&m->units[au[i]]).status));
  /* The first failing sub-worker's reason, named. */
  buf_puts(b, ",\"last_error\":");
  const char *err = NULL;
  size_t which = 0;
  for (size_t i = 0; i < n && !err; i++)
    if (m->units[au[i]].last_error[0]) {
      err = m->units[au[i]].last_error;
      which = i;
    }
  if (err) {
    char msg[UNIT_ERROR_MAX + 32];
    snprintf(msg, sizeof msg, "%s: %s", workers_unit_name(au[which]), err);
    json_str(b, msg);
  } else {
    buf_puts(b, "null");
  }
  view_json_reason(b, err ? m->units[au[which]].last_error_reason : SS_R_NONE);
  const struct wanted_counts *w = &m->wanted;
  buf_printf(b,
             ",\"wanted_open\":{\"watchlist\":%" PRId64
             ",\"discography\":%" PRId64 ",\"quality_upgrade\":%" PRId64
             ",\"playlist\":%" PRId64 ",\"manual\":%" PRId64
             "},\"wanted_given_up\":%" PRId64
             ",\"downloads_triggered\":%" PRId64 "}",
             w->watchlist, w->discography, w->quality_upgrade, w->playlist,
             w->manual, w->given_up, w->requests_made);
}

static void html_automation(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  (void)now_ms;
  static const char *const labels[UNIT__COUNT] =
    {[UNIT_WATCHLIST] = "Watchlist",
     [UNIT_DISCOGRAPHY] = "Diskografie",
     [UNIT_QUALITY_UPGRADE] = "Qualitäts-Upgrade"};
  enum unit_id au[UNIT__COUNT];
  size_t n = workers_view_units(VIEW_AUTOMATION, au);
  int running = 0;
  for (size_t i = 0; i < n; i++)
    running += m->units[au[i]].running;
  view_html_linef(b, "%d von %zu Workern aktiv", running, n);
  for (size_t i = 0; i < n; i++) {
    const struct unit_snapshot *s = &m->units[au[i]];
    const char *label = labels[au[i]] ? labels[au[i]]
                                      : workers_unit_name(au[i]);
    view_html_linef(b, "%s: %s", label,
                    workers_state_de(workers_unit_status(s).status));
    if (s->last_error[0]) {
      view_html_linef(b, "%s: %s", label, s->last_error);
      view_html_advice(b, s);
    }
  }
  const struct wanted_counts *w = &m->wanted;
  view_html_linef(b,
                  "Gesucht: %" PRId64 " Watchlist, %" PRId64
                  " Diskografie, %" PRId64 " Upgrades, %" PRId64
                  " Playlists, %" PRId64 " von Hand",
                  w->watchlist, w->discography, w->quality_upgrade,
                  w->playlist, w->manual);
  view_html_linef(b, "Ausgel\xc3\xb6ste Downloads: %" PRId64,
                  w->requests_made);
}

const struct worker_view watchlist_view = {
  .key = "automation",
  .name = "Automation",
  .icon = "bi bi-robot",
  .settings_url = "/settings?tab=automation",
  .json = details_automation,
  .html = html_automation,
};
