/*
 * spotify_sync.c - the Spotify Sync unit: schedules the sync engine
 * (src/spotify/sync.c), which mirrors followed artists, playlists, liked
 * songs, saved albums and artists' albums into the store.
 *
 * Every spotify.sync_check_interval_seconds the unit runs the types that
 * are due; run now and "Sync now" (spotify_sync_request_full) make every
 * enabled type due.  A missing or unusable login skips the run with a
 * note; while Spotify backs off (clients/backoff.h) a run that is not
 * forced is deferred with a note saying until when, without a request; a
 * failing type fails the run with the engine's errors and reason,
 * and wakes Token Refresh when a token refresh was what failed.  The unit
 * keeps one counter and one time slot per type (the status API's).
 *
 * Threading: run() on the unit's thread; spotify_sync_request_full() from
 * any thread.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "clients/spotify.h"
#include "core/err.h"
#include "core/json.h"
#include "core/reltime.h"
#include "spotify/sync.h"
#include "workers/workers.h"
#include "workers/workers_view.h"

static const char *const counters[] = {
  "syncs_artists",     "syncs_playlists",     "syncs_albums",
  "syncs_liked_songs", "syncs_artist_albums", NULL,
};
static const char *const times[] = {
  "last_sync_artists",     "last_sync_playlists",     "last_sync_albums",
  "last_sync_liked_songs", "last_sync_artist_albums", NULL,
};

static atomic_bool force_full;

enum ss_err spotify_sync_request_full(void)
{
  atomic_store(&force_full, true);
  enum ss_err rc = runtime_run_now(UNIT_SPOTIFY_SYNC);
  if (rc == SS_ESTATE)
    atomic_store(&force_full, false);
  return rc;
}

/* A token refresh this run needed failed: Token Refresh says so at once
 * (its own next check may be minutes away). */
static void wake_token_refresh_on_failure(void)
{
  struct spotify_status st;
  struct unit_snapshot tr;
  spotify_status(&st);
  if (!st.token_error[0] || !runtime_def(UNIT_TOKEN_REFRESH))
    return;
  runtime_snapshot(UNIT_TOKEN_REFRESH, &tr);
  if (tr.state != UNIT_ERROR)
    runtime_run_soon(UNIT_TOKEN_REFRESH);
}

static bool stop_requested(void *arg) { return unit_ctx_should_stop(arg); }

static void started(void *arg) { unit_ctx_mark_active(arg); }

static void synced(void *arg, enum spotify_sync_type t, int64_t now_ms)
{
  unit_ctx_add(arg, (int)t, 1);
  unit_ctx_set_time(arg, (int)t, now_ms);
}

static enum unit_run_result run(struct unit_ctx *ctx)
{
  struct db *db = unit_ctx_db(ctx);
  int64_t last_ok[SYNC__COUNT];
  spotify_sync_last_ok(db, last_ok);
  /* The store's times win (a kill -9 loses the unit's, not these). */
  for (int t = 0; t < SYNC__COUNT; t++)
    if (last_ok[t])
      unit_ctx_set_time(ctx, t, last_ok[t]);

  struct spotify_status st;
  spotify_status(&st);
  if (!st.stored) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  if (!st.connected) {
    unit_ctx_set_note(ctx, "waiting for a new Spotify login "
                           "(re-authorisation required)");
    return UNIT_RUN_SKIPPED;
  }
  if (workers_defer_for(ctx, SVC_SPOTIFY))
    return UNIT_RUN_DEFERRED; /* a "Sync now" flag waits with it */
  bool force = atomic_exchange(&force_full, false) || unit_ctx_forced(ctx);
  const struct spotify_sync_hooks hooks = {.should_stop = stop_requested,
                                           .started = started,
                                           .synced = synced,
                                           .arg = ctx};
  struct spotify_sync_result res;
  if (!spotify_sync_run(db, force, &hooks, &res)) {
    unit_ctx_set_note(ctx, "nothing due");
    return UNIT_RUN_SKIPPED;
  }
  wake_token_refresh_on_failure();
  switch (res.outcome) {
  case SPOTIFY_SYNC_CANCELED: return UNIT_RUN_CANCELED;
  case SPOTIFY_SYNC_FAILED:
    unit_ctx_fail(ctx, res.reason, "%s", res.errors);
    return UNIT_RUN_ERROR;
  default: unit_ctx_set_message(ctx, "%s", res.summary); return UNIT_RUN_OK;
  }
}

const struct unit_def spotify_sync_unit = {
  .key = "spotify_sync",
  .label = "Spotify Sync",
  .enable_setting = S_SPOTIFY_AUTO_SYNC_ENABLED,
  .interval_setting = S_SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS,
  .interval_scale = 1,
  .counter_names = counters,
  .time_names = times,
  .active_on_demand = true,
  .run = run,
};

/* ---- its entry of the status view (workers_view.h) ---- */

static bool sync_has_errors(const struct workers_model *m)
{
  if (m->units[UNIT_SPOTIFY_SYNC].last_error[0])
    return true;
  for (int t = 0; t < SYNC__COUNT; t++)
    if (m->spotify.types[t].error[0])
      return true;
  return false;
}

static void details_sync(struct buf *b, const struct workers_model *m,
                         int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_SPOTIFY_SYNC];
  buf_puts(b, "{\"last_syncs\":{");
  for (int t = 0; t < SYNC__COUNT; t++) {
    if (t)
      buf_putc(b, ',');
    view_json_rel(b, spotify_sync_type_names[t], now_ms, u->times[t]);
  }
  buf_printf(b,
             "},\"check_interval_seconds\":%" PRId64
             ",\"has_errors\":%s,\"stats\":{",
             u->interval_s, sync_has_errors(m) ? "true" : "false");
  for (int t = 0; t < SYNC__COUNT; t++) {
    buf_printf(b, "%s\"%s\":{\"count\":%" PRId64 ",\"last_result\":",
               t ? "," : "", spotify_sync_type_names[t], u->counters[t]);
    view_json_str_or_null(b, m->spotify.types[t].result);
    buf_puts(b, ",\"last_error\":");
    view_json_str_or_null(b, m->spotify.types[t].error);
    buf_putc(b, '}');
  }
  buf_printf(b, "},\"account_connected\":%s",
             m->spotify_connected ? "true" : "false");
  view_json_time(b, "blocked_until", m->spotify.blocked_until_ms);
  view_json_error_note(b, u);
  buf_putc(b, '}');
}

static void html_sync_errors(struct buf *b, const struct workers_model *m)
{
  static const char *const labels[SYNC__COUNT] = {"Künstler", "Playlists",
                                                  "Alben", "Lieblingssongs",
                                                  "Künstler-Alben"};
  for (int t = 0; t < SYNC__COUNT; t++) {
    if (!m->spotify.types[t].error[0])
      continue;
    view_html_linef(b, "%s: %s", labels[t], m->spotify.types[t].error);
  }
}

static void html_sync(struct buf *b, const struct workers_model *m,
                      int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_SPOTIFY_SYNC];
  char every[32], r1[RELTIME_MAX], r2[RELTIME_MAX], r3[RELTIME_MAX];
  view_interval_de(every, sizeof every, u->interval_s);
  view_html_linef(b, "Künstler: %s · Playlists: %s · Alben: %s",
                  reltime_de(now_ms, u->times[SYNC_ARTISTS], r1, sizeof r1),
                  reltime_de(now_ms, u->times[SYNC_PLAYLISTS], r2, sizeof r2),
                  reltime_de(now_ms, u->times[SYNC_ALBUMS], r3, sizeof r3));
  view_html_linef(b, "Prüfung alle %s", every);
  view_html_spotify_block(b, m, now_ms);
  if (!u->last_error[0])
    html_sync_errors(b, m);
  view_html_error_note(b, u);
}

const struct worker_view spotify_sync_view = {
  .key = "spotify_sync",
  .name = "Spotify Sync",
  .icon = "bi bi-spotify",
  .settings_url = "/settings?tab=spotify",
  .json = details_sync,
  .html = html_sync,
};
