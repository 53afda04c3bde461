/*
 * token_refresh.c - keeps the Spotify OAuth login fresh.
 *
 * Every spotify.token_check_interval_seconds: when the access token
 * expires within spotify.token_refresh_threshold_minutes it is refreshed
 * through the shared single-flight provider (clients/spotify.h), the same
 * path every other Spotify call uses.  Outcomes:
 *   - no client id / no login: idle with a note, no external call;
 *   - invalid_grant: error "Spotify re-authorisation required: ..." on every
 *     run, and no further attempt until a new login (never a backoff);
 *   - invalid_client: error naming spotify.client_id;
 *   - the login needs renewal, or ends within 14 days: one notification
 *     (services/notify.h) per login resp. end of life;
 *   - 5xx / timeout: error; Spotify's backoff ladder climbs
 *     (clients/backoff.h: 30 s, 2 min, ... 6 h) and the runs that fall
 *     inside it are deferred with a note saying until when (the error
 *     stands); the next success returns the unit to idle.
 * A refresh that failed elsewhere (a sync answered 401, the token endpoint
 * 503) is retried here however long the token still looks valid, so the
 * unit shows that failure instead of "still valid"; Spotify Sync wakes this
 * unit when that happens (runtime_run_soon: not forced, so while the ladder
 * lasts the failure is reported without a second request).  Run now
 * refreshes the token whatever its expiry and the ladder say.
 * Threading: the unit's own thread.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "clients/spotify.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/reltime.h"
#include "services/notify.h"
#include "workers/workers.h"
#include "workers/workers_view.h"

#define LOGIN_WARN_DAYS 14

/* What Token Refresh already told the notification targets about (the
 * unit's own thread only): the login whose renewal was asked for, and the
 * end of life already warned about. */
static int64_t renewal_told_for_ms = -1;
static int64_t expiry_told_for_ms = -1;

/* A login needing renewal is said once per login; its end of life within
 * LOGIN_WARN_DAYS once per end of life (services/notify.h). */
static void notify_login(const struct spotify_status *st)
{
  char title[NOTIFY_TITLE_MAX], body[NOTIFY_BODY_MAX], when[40];
  if (!st->connected) {
    if (renewal_told_for_ms == st->authorised_ms)
      return;
    renewal_told_for_ms = st->authorised_ms;
    snprintf(title, sizeof title, "Spotify login needs renewal");
    snprintf(body, sizeof body,
             "%s\nConnect the account again on the "
             "settings page (Spotify tab).",
             st->reauth_reason);
    notify_event(NOTIFY_SPOTIFY_LOGIN, title, body);
    return;
  }
  int64_t left = st->refresh_expires_ms - clock_wall_ms();
  if (!st->refresh_expires_ms || left > LOGIN_WARN_DAYS * 86400000LL ||
      expiry_told_for_ms == st->refresh_expires_ms)
    return;
  expiry_told_for_ms = st->refresh_expires_ms;
  int64_t days = left > 0 ? left / 86400000LL : 0;
  snprintf(title, sizeof title, "Spotify login expires in %lld day%s",
           (long long)days, days == 1 ? "" : "s");
  snprintf(body, sizeof body,
           "The Spotify login of %s ends on %s. Connect "
           "the account again on the settings page (Spotify tab) before "
           "then.",
           st->display_name[0] ? st->display_name : st->user_id,
           spotify_fmt_time(st->refresh_expires_ms, when, sizeof when));
  notify_event(NOTIFY_SPOTIFY_LOGIN, title, body);
}

static enum unit_run_result refresh(struct unit_ctx *ctx, int64_t threshold)
{
  struct spotify_client_opts o = {.db = unit_ctx_db(ctx),
                                  .forced = unit_ctx_forced(ctx)};
  struct spotify_client *c = spotify_client_new(&o);
  struct spotify_err err;
  bool refreshed = false;
  unit_ctx_mark_active(ctx);
  enum ss_err rc = spotify_refresh_if_expiring(c, threshold, &refreshed, &err);
  spotify_client_free(c);
  if (rc != 0) {
    if (err.kind == SPOTIFY_CANCELED)
      return UNIT_RUN_CANCELED;
    if (err.kind == SPOTIFY_UNAVAILABLE && err.deferred) {
      /* Another unit's call climbed the ladder meanwhile. */
      unit_ctx_set_note(ctx, "%s", err.msg);
      return UNIT_RUN_DEFERRED;
    }
    if (err.kind == SPOTIFY_REAUTH) { /* say so now, not a run later */
      struct spotify_status st;
      spotify_status(&st);
      notify_login(&st);
    }
    unit_ctx_fail(ctx, spotify_err_reason(&err), "%s", err.msg);
    return UNIT_RUN_ERROR;
  }
  struct spotify_status st;
  char when[40];
  spotify_status(&st);
  unit_ctx_set_message(ctx, "%s; valid until %s",
                       refreshed ? "access token refreshed"
                                 : "access token still valid",
                       spotify_fmt_time(st.access_expires_ms, when,
                                        sizeof when));
  return UNIT_RUN_OK;
}

/* A refresh is due while Spotify backs off (clients/backoff.h): no
 * request.  A refresh that failed in another unit's call and that this
 * unit has not reported yet becomes its error, once; every other run
 * waits (deferred: the state and last error stand). */
static enum unit_run_result wait_for_spotify(struct unit_ctx *ctx,
                                             const struct spotify_status *st)
{
  struct unit_snapshot self;
  runtime_snapshot(UNIT_TOKEN_REFRESH, &self);
  if (!st->token_error[0] || self.state == UNIT_ERROR)
    return UNIT_RUN_DEFERRED; /* the note is set */
  struct backoff_state bo;
  char when[40];
  backoff_get(SVC_SPOTIFY, &bo);
  unit_ctx_fail(ctx, bo.code, "%s; next token refresh after %s",
                st->token_error,
                spotify_fmt_time(bo.until_ms, when, sizeof when));
  return UNIT_RUN_ERROR;
}

static enum unit_run_result run(struct unit_ctx *ctx)
{
  if (!settings_is_set(S_SPOTIFY_CLIENT_ID)) {
    unit_ctx_set_note(ctx, "Spotify client id not configured "
                           "(spotify.client_id)");
    return UNIT_RUN_SKIPPED;
  }
  struct spotify_status st;
  spotify_status(&st);
  if (!st.stored) {
    unit_ctx_set_note(ctx, "Spotify account not connected");
    return UNIT_RUN_SKIPPED;
  }
  notify_login(&st);
  if (!st.connected) {
    /* Said on every run until a new login; no network call. */
    unit_ctx_fail(ctx, SS_R_AUTH, "Spotify re-authorisation required: %s",
                  st.reauth_reason);
    return UNIT_RUN_ERROR;
  }
  int64_t threshold = settings_int(S_SPOTIFY_TOKEN_REFRESH_THRESHOLD_MINUTES) *
                      60000;
  /* run now or a failed refresh: whatever the expiry says */
  bool anyway = unit_ctx_forced(ctx) || st.token_error[0];
  char when[40];
  if (!anyway && st.access_expires_ms - clock_wall_ms() > threshold) {
    unit_ctx_set_message(ctx, "access token valid until %s",
                         spotify_fmt_time(st.access_expires_ms, when,
                                          sizeof when));
    return UNIT_RUN_OK;
  }
  if (workers_defer_for(ctx, SVC_SPOTIFY))
    return wait_for_spotify(ctx, &st);
  return refresh(ctx, anyway ? INT64_MAX : threshold);
}

const struct unit_def token_refresh_unit = {
  .key = "token_refresh",
  .label = "Token Refresh",
  .enable_setting = S_SPOTIFY_TOKEN_REFRESH_ENABLED,
  .interval_setting = S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
  .interval_scale = 1,
  .active_on_demand = true,
  .run = run,
};

/* ---- its entry of the status view (workers_view.h) ---- */

/* The warning shown from 14 days before the login's 6-month end, or "". */
static void refresh_warning(const struct spotify_view *v, int64_t now_ms,
                            char *out, size_t n)
{
  char when[32];
  out[0] = '\0';
  if (!v->stored || !v->refresh_expires_ms ||
      v->refresh_expires_ms - now_ms > 14LL * 86400000)
    return;
  time_t t = (time_t)(v->refresh_expires_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%d", &tm);
  if (v->refresh_expires_ms <= now_ms)
    snprintf(out, n,
             "The Spotify login expired on %s (6 months after "
             "consent); connect again on the settings page",
             when);
  else
    snprintf(out, n,
             "The Spotify login ends on %s (6 months after "
             "consent); connect again before then",
             when);
}

static void details_token(struct buf *b, const struct workers_model *m,
                          int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_TOKEN_REFRESH];
  const struct spotify_view *v = &m->spotify;
  char warning[256];
  buf_printf(b,
             "{\"check_interval_seconds\":%" PRId64
             ",\"refresh_threshold_minutes\":%" PRId64
             ",\"account_connected\":%s",
             u->interval_s, m->token_refresh_threshold_minutes,
             m->spotify_connected ? "true" : "false");
  view_json_time(b, "access_token_expires_at",
                 v->stored ? v->access_expires_ms : 0);
  view_json_time(b, "refresh_token_expires_at",
                 v->stored ? v->refresh_expires_ms : 0);
  refresh_warning(v, now_ms, warning, sizeof warning);
  buf_puts(b, ",\"refresh_token_warning\":");
  if (warning[0])
    json_str(b, warning);
  else
    buf_puts(b, "null");
  view_json_time(b, "blocked_until", v->blocked_until_ms);
  view_json_error_note(b, u);
  buf_putc(b, '}');
}

/* German tooltip lines of the Spotify login and the rate-limit block. */
static void html_spotify_token(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  const struct spotify_view *v = &m->spotify;
  char until[RELTIME_MAX], warning[256];
  if (v->connected && v->display_name[0]) {
    view_html_linef(b, "Verbunden als %s", v->display_name);
  }
  if (v->connected && v->access_expires_ms) {
    view_html_linef(b, "Zugriffstoken läuft ab %s",
                    reltime_until_de(now_ms, v->access_expires_ms, until,
                                     sizeof until));
  }
  refresh_warning(v, now_ms, warning, sizeof warning);
  if (warning[0]) {
    view_html_linef(b, "Anmeldung endet bald: %s", warning);
  }
}

static void html_token(struct buf *b, const struct workers_model *m,
                       int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_TOKEN_REFRESH];
  char every[32];
  view_interval_de(every, sizeof every, u->interval_s);
  view_html_linef(b, "Prüfung alle %s · erneuert %" PRId64 " min vor Ablauf",
                  every, m->token_refresh_threshold_minutes);
  view_html_line(b, m->spotify_connected ? "Spotify-Konto verbunden"
                                         : "Kein Spotify-Konto verbunden");
  html_spotify_token(b, m, now_ms);
  view_html_spotify_block(b, m, now_ms);
  view_html_error_note(b, u);
}

const struct worker_view token_refresh_view = {
  .key = "token_refresh",
  .name = "Token Refresh",
  .icon = "bi bi-key",
  .settings_url = "/settings?tab=spotify",
  .json = details_token,
  .html = html_token,
};
