/*
 * workers_view.c - renders the Workers API contract (docs/API.md,
 * Workers) from a workers_model.
 *
 * JSON is written by hand in the contract's fixed order; every string goes
 * through json_str().  The HTML fragment writes literal markup with
 * buf_puts() and every dynamic string through html_escape().  Documented
 * detail keys are always present; extra keys (last_error, note, ...) follow
 * them.
 */
#include "api/workers_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "automation/wanted.h"
#include "config/settings.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/reltime.h"
#include "workers/workers.h"

struct entry {
  const char *key, *name, *icon, *settings_url;
};

static const struct entry entries[VIEW__COUNT] = {
  {"token_refresh", "Token Refresh", "bi bi-key", "/settings?tab=spotify"},
  {"spotify_sync", "Spotify Sync", "bi bi-spotify", "/settings?tab=spotify"},
  {"download_monitor", "Download Monitor", "bi bi-download",
   "/settings?tab=downloads"},
  {"automation", "Automation", "bi bi-robot", "/settings?tab=automation"},
  {"cleanup", "Cleanup", "bi bi-trash3", "/settings?tab=automation"},
  {"duplicate_detector", "Duplicate Detector", "bi bi-copy",
   "/settings?tab=automation"},
};

/* Which contract entry each unit is shown in (UNITS_TABLE). */
#define UNIT_VIEW_ROW(id, name, view, role) [UNIT_##id] = VIEW_##view,
static const enum view_worker unit_view[UNIT__COUNT] = {
  UNITS_TABLE(UNIT_VIEW_ROW)};
#undef UNIT_VIEW_ROW

/* Each unit's name column (the automation entry's detail keys). */
#define UNIT_NAME_ROW(id, name, view, role) [UNIT_##id] = #name,
static const char *const unit_name[UNIT__COUNT] = {UNITS_TABLE(UNIT_NAME_ROW)};
#undef UNIT_NAME_ROW

/* The units of entry w, in table order; returns how many. */
static size_t view_units(enum view_worker w, enum unit_id *out)
{
  size_t n = 0;
  for (int i = 0; i < UNIT__COUNT; i++)
    if (unit_view[i] == w)
      out[n++] = (enum unit_id)i;
  return n;
}

size_t workers_view_units(enum view_worker w, enum unit_id *out)
{
  return view_units(w, out);
}

void workers_model_collect(struct workers_model *m)
{
  for (int i = 0; i < UNIT__COUNT; i++)
    runtime_snapshot((enum unit_id)i, &m->units[i]);
  prober_get(m->services);
  for (int i = 0; i < SVC__COUNT; i++)
    backoff_get((enum service_id)i, &m->backoff[i]);
  m->token_refresh_threshold_minutes = settings_int(
    S_SPOTIFY_TOKEN_REFRESH_THRESHOLD_MINUTES);
  m->spotify_connected = workers_spotify_connected();
  workers_spotify_view(&m->spotify);
  m->slskd_configured = settings_is_set(S_SLSKD_URL);
  m->cleanup_dry_run = settings_bool(S_AUTOMATION_CLEANUP_DRY_RUN);
  m->cleanup_retention_days = settings_int(
    S_AUTOMATION_CLEANUP_RETENTION_DAYS);
  settings_str(S_AUTOMATION_DUPLICATE_DETECTION_METHOD, m->duplicate_method,
               sizeof m->duplicate_method);
  wanted_stats_get(&m->wanted); /* zeros until the first refresh */
}

const char *workers_state_name(enum unit_state s)
{
  switch (s) {
  case UNIT_IDLE: return "idle";
  case UNIT_ACTIVE: return "active";
  case UNIT_ERROR: return "error";
  default: return "stopped";
  }
}

const char *workers_state_de(enum unit_state s)
{
  switch (s) {
  case UNIT_IDLE: return "Bereit";
  case UNIT_ACTIVE: return "Läuft";
  case UNIT_ERROR: return "Fehler";
  default: return "Gestoppt";
  }
}

struct view_status workers_aggregate(const struct view_status *s, size_t n)
{
  bool any_error = false, any_active = false, any_running = false;
  for (size_t i = 0; i < n; i++) {
    any_error |= s[i].status == UNIT_ERROR;
    any_active |= s[i].status == UNIT_ACTIVE;
    any_running |= s[i].running;
  }
  struct view_status r = {UNIT_STOPPED, any_running};
  if (any_error)
    r.status = UNIT_ERROR;
  else if (any_active)
    r.status = UNIT_ACTIVE;
  else if (any_running)
    r.status = UNIT_IDLE;
  return r;
}

static struct view_status unit_status(const struct unit_snapshot *u)
{
  struct view_status v = {u->enabled ? u->state : UNIT_STOPPED, u->running};
  if (!u->running && v.status != UNIT_ERROR)
    v.status = UNIT_STOPPED;
  return v;
}

struct view_status workers_view_status(const struct workers_model *m,
                                       enum view_worker w)
{
  enum unit_id ids[UNIT__COUNT];
  struct view_status subs[UNIT__COUNT];
  size_t n = view_units(w, ids);
  for (size_t i = 0; i < n; i++)
    subs[i] = unit_status(&m->units[ids[i]]);
  return n == 1 ? subs[0] : workers_aggregate(subs, n);
}

/* ---- JSON ---- */

static void json_rel(struct buf *b, const char *key, int64_t now_ms,
                     int64_t then_ms)
{
  char rel[RELTIME_MAX];
  buf_printf(b, "\"%s\":", key);
  json_str(b, reltime_de(now_ms, then_ms, rel, sizeof rel));
}

static const struct {
  const char *de, *en;
} advice[SS_REASON_COUNT] = {
  [SS_R_AUTH] = {"Anmeldung erneuern: Spotify neu verbinden bzw. den "
                 "slskd-API-Schlüssel prüfen.",
                 "Log in again: reconnect Spotify or check the slskd API "
                 "key."},
  [SS_R_CONNECTION] = {"Dienst nicht erreichbar: läuft er, und stimmt die "
                       "Adresse in den Einstellungen?",
                       "Service unreachable: is it running, and is its "
                       "address in the settings right?"},
  [SS_R_TIMEOUT] = {"Der Dienst antwortet zu langsam; es wird automatisch "
                    "erneut versucht.",
                    "The service answers too slowly; it is retried "
                    "automatically."},
  [SS_R_RATE_LIMITED] = {"Der Dienst bittet um eine Pause; es geht "
                         "automatisch weiter.",
                         "The service asked us to wait; work resumes by "
                         "itself."},
  [SS_R_NOT_CONFIGURED] = {"Einstellungen vervollständigen oder "
                           "korrigieren.",
                           "Complete or correct the settings."},
  [SS_R_PROTOCOL] = {"Unerwartete Antwort des Dienstes: Version prüfen, "
                     "Einzelheiten im Log.",
                     "Unexpected answer from the service: check its "
                     "version; details in the log."},
  [SS_R_DISK] = {"Ordner, Rechte und freien Speicher prüfen.",
                 "Check the folders, their permissions and free space."},
  [SS_R_INTERNAL] = {"Interner Fehler: Einzelheiten im Log; bitte melden.",
                     "Internal error: details in the log; please report "
                     "it."},
};

const char *workers_advice_de(enum ss_reason r)
{
  return r > SS_R_NONE && r < SS_REASON_COUNT ? advice[r].de : "";
}

const char *workers_advice_en(enum ss_reason r)
{
  return r > SS_R_NONE && r < SS_REASON_COUNT ? advice[r].en : "";
}

static void json_reason(struct buf *b, enum ss_reason r)
{
  buf_puts(b, ",\"last_error_reason\":");
  if (r == SS_R_NONE)
    buf_puts(b, "null");
  else
    buf_printf(b, "\"%s\"", ss_reason_name(r));
}

/* "last_error": "..." | null, "last_error_reason": "auth" | ... | null,
 * plus "note" when set. */
static void json_error_note(struct buf *b, const struct unit_snapshot *u)
{
  buf_puts(b, ",\"last_error\":");
  if (u->last_error[0])
    json_str(b, u->last_error);
  else
    buf_puts(b, "null");
  json_reason(b, u->last_error[0] ? u->last_error_reason : SS_R_NONE);
  if (u->note[0]) {
    buf_puts(b, ",\"note\":");
    json_str(b, u->note);
  }
}

/* "key": "2026-03-01T12:34:56Z" (UTC), or null when ms is 0. */
static void json_time(struct buf *b, const char *key, int64_t ms)
{
  buf_printf(b, ",\"%s\":", key);
  if (ms <= 0) {
    buf_puts(b, "null");
    return;
  }
  char iso[32];
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_str(b, iso);
}

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
  json_time(b, "access_token_expires_at",
            v->stored ? v->access_expires_ms : 0);
  json_time(b, "refresh_token_expires_at",
            v->stored ? v->refresh_expires_ms : 0);
  refresh_warning(v, now_ms, warning, sizeof warning);
  buf_puts(b, ",\"refresh_token_warning\":");
  if (warning[0])
    json_str(b, warning);
  else
    buf_puts(b, "null");
  json_time(b, "blocked_until", v->blocked_until_ms);
  json_error_note(b, u);
  buf_putc(b, '}');
}

static bool sync_has_errors(const struct workers_model *m)
{
  if (m->units[UNIT_SPOTIFY_SYNC].last_error[0])
    return true;
  for (int t = 0; t < SYNC__COUNT; t++)
    if (m->spotify.types[t].error[0])
      return true;
  return false;
}

static void json_str_or_null(struct buf *b, const char *s)
{
  if (s[0])
    json_str(b, s);
  else
    buf_puts(b, "null");
}

static void details_sync(struct buf *b, const struct workers_model *m,
                         int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_SPOTIFY_SYNC];
  buf_puts(b, "{\"last_syncs\":{");
  for (int t = 0; t < SYNC__COUNT; t++) {
    if (t)
      buf_putc(b, ',');
    json_rel(b, spotify_sync_type_names[t], now_ms, u->times[t]);
  }
  buf_printf(b,
             "},\"check_interval_seconds\":%" PRId64
             ",\"has_errors\":%s,\"stats\":{",
             u->interval_s, sync_has_errors(m) ? "true" : "false");
  for (int t = 0; t < SYNC__COUNT; t++) {
    buf_printf(b, "%s\"%s\":{\"count\":%" PRId64 ",\"last_result\":",
               t ? "," : "", spotify_sync_type_names[t], u->counters[t]);
    json_str_or_null(b, m->spotify.types[t].result);
    buf_puts(b, ",\"last_error\":");
    json_str_or_null(b, m->spotify.types[t].error);
    buf_putc(b, '}');
  }
  buf_printf(b, "},\"account_connected\":%s",
             m->spotify_connected ? "true" : "false");
  json_time(b, "blocked_until", m->spotify.blocked_until_ms);
  json_error_note(b, u);
  buf_putc(b, '}');
}

static void details_monitor(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DOWNLOAD_MONITOR];
  buf_printf(b, "{\"poll_interval_seconds\":%" PRId64 ",", u->interval_s);
  json_rel(b, "last_poll", now_ms, u->times[DM_LAST_POLL]);
  buf_printf(b,
             ",\"downloads_completed\":%" PRId64
             ",\"downloads_failed\":%" PRId64 ",\"in_progress\":%" PRId64
             ",\"queued\":%" PRId64 ",\"slskd_configured\":%s",
             u->counters[DM_DOWNLOADS_COMPLETED],
             u->counters[DM_DOWNLOADS_FAILED], u->counters[DM_IN_PROGRESS],
             u->counters[DM_QUEUED], m->slskd_configured ? "true" : "false");
  json_error_note(b, u);
  buf_putc(b, '}');
}

static void details_automation(struct buf *b, const struct workers_model *m)
{
  enum unit_id au[UNIT__COUNT];
  size_t n = view_units(VIEW_AUTOMATION, au);
  buf_putc(b, '{');
  for (size_t i = 0; i < n; i++)
    buf_printf(b, "%s\"%s_running\":%s", i ? "," : "", unit_name[au[i]],
               m->units[au[i]].running ? "true" : "false");
  for (size_t i = 0; i < n; i++)
    buf_printf(b, ",\"%s_status\":\"%s\"", unit_name[au[i]],
               workers_state_name(unit_status(&m->units[au[i]]).status));
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
    snprintf(msg, sizeof msg, "%s: %s", unit_name[au[which]], err);
    json_str(b, msg);
  } else {
    buf_puts(b, "null");
  }
  json_reason(b, err ? m->units[au[which]].last_error_reason : SS_R_NONE);
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

static void details_cleanup(struct buf *b, const struct workers_model *m,
                            int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_CLEANUP];
  buf_printf(b, "{\"dry_run\":%s,", m->cleanup_dry_run ? "true" : "false");
  json_rel(b, "last_run", now_ms, u->times[CL_LAST_RUN]);
  buf_printf(b,
             ",\"files_deleted\":%" PRId64 ",\"bytes_freed\":%" PRId64
             ",\"retention_days\":%" PRId64
             ",\"dry_run_would_free_files\":%" PRId64
             ",\"dry_run_would_free_bytes\":%" PRId64,
             u->counters[CL_FILES_DELETED], u->counters[CL_BYTES_FREED],
             m->cleanup_retention_days, u->counters[CL_DRY_RUN_FILES],
             u->counters[CL_DRY_RUN_BYTES]);
  json_error_note(b, u);
  buf_putc(b, '}');
}

static void details_duplicates(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  const struct unit_snapshot *u = &m->units[UNIT_DUPLICATE_DETECTOR];
  buf_puts(b, "{\"detection_method\":");
  json_str(b, m->duplicate_method);
  buf_putc(b, ',');
  json_rel(b, "last_scan", now_ms, u->times[DD_LAST_SCAN]);
  buf_printf(b,
             ",\"duplicates_found\":%" PRId64 ",\"tracks_scanned\":%" PRId64
             ",\"groups_open\":%" PRId64 ",\"last_scan_files\":%" PRId64
             ",\"unreadable_files\":%" PRId64 ",\"bad_names\":%" PRId64,
             u->counters[DD_DUPLICATES_FOUND], u->counters[DD_TRACKS_SCANNED],
             u->counters[DD_GROUPS_OPEN], u->counters[DD_LAST_SCAN_FILES],
             u->counters[DD_UNREADABLE], u->counters[DD_BAD_NAMES]);
  json_error_note(b, u);
  buf_putc(b, '}');
}

int workers_render_json(struct buf *out, const struct workers_model *m,
                        int64_t now_ms)
{
  buf_puts(out, "{\"workers\":{");
  for (int w = 0; w < VIEW__COUNT; w++) {
    const struct entry *e = &entries[w];
    struct view_status st = workers_view_status(m, (enum view_worker)w);
    buf_printf(out,
               "%s\"%s\":{\"name\":\"%s\",\"icon\":\"%s\","
               "\"settings_url\":\"%s\",\"running\":%s,\"status\":\"%s\","
               "\"details\":",
               w ? "," : "", e->key, e->name, e->icon, e->settings_url,
               st.running ? "true" : "false", workers_state_name(st.status));
    switch ((enum view_worker)w) {
    case VIEW_TOKEN_REFRESH: details_token(out, m, now_ms); break;
    case VIEW_SPOTIFY_SYNC: details_sync(out, m, now_ms); break;
    case VIEW_DOWNLOAD_MONITOR: details_monitor(out, m, now_ms); break;
    case VIEW_AUTOMATION: details_automation(out, m); break;
    case VIEW_CLEANUP: details_cleanup(out, m, now_ms); break;
    default: details_duplicates(out, m, now_ms); break;
    }
    buf_putc(out, '}');
  }
  buf_puts(out, "}}");
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

int workers_render_services(struct buf *out, const struct workers_model *m)
{
  buf_putc(out, '{');
  for (int i = 0; i < SVC__COUNT; i++)
    buf_printf(out, "%s\"%s\":%s", i ? "," : "",
               prober_service_key((enum service_id)i),
               m->services[i].up ? "true" : "false");
  buf_putc(out, '}');
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

int workers_render_services_detail(struct buf *out,
                                   const struct workers_model *m,
                                   int64_t now_ms)
{
  buf_putc(out, '{');
  for (int i = 0; i < SVC__COUNT; i++) {
    const struct service_status *s = &m->services[i];
    buf_printf(out,
               "%s\"%s\":{\"up\":%s,\"configured\":%s,\"checked\":%s,"
               "\"latency_ms\":%ld,\"http_status\":%ld,\"reason\":",
               i ? "," : "", prober_service_key((enum service_id)i),
               s->up ? "true" : "false", s->configured ? "true" : "false",
               s->checked ? "true" : "false", s->latency_ms, s->http_status);
    json_str(out, s->reason);
    buf_puts(out, ",\"reason_code\":");
    if (s->checked && s->reason_code != SS_R_NONE)
      buf_printf(out, "\"%s\"", ss_reason_name(s->reason_code));
    else
      buf_puts(out, "null");
    json_time(out, "blocked_until", s->blocked_until_ms);
    const struct backoff_state *bo = &m->backoff[i];
    buf_printf(out, ",\"failures_in_a_row\":%d", bo->failures);
    json_time(out, "backoff_until", bo->until_ms > now_ms ? bo->until_ms : 0);
    buf_puts(out, ",");
    json_rel(out, "checked_ago", now_ms, s->checked_ms);
    buf_printf(out, ",\"checked_at_ms\":%" PRId64 "}", s->checked_ms);
  }
  buf_putc(out, '}');
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

/* ---- HTML fragment ---- */

static const char *status_class(enum unit_state s)
{
  switch (s) {
  case UNIT_IDLE: return "wk-idle";
  case UNIT_ACTIVE: return "wk-active";
  case UNIT_ERROR: return "wk-error";
  default: return "wk-stopped";
  }
}

static void html_line(struct buf *b, const char *text)
{
  buf_puts(b, "<span class=\"wk-detail\">");
  html_escape(b, text);
  buf_puts(b, "</span>");
}

/* "Tipp: ..." under an error line: what to do about its reason. */
static void html_advice(struct buf *b, const struct unit_snapshot *u)
{
  const char *what = workers_advice_de(u->last_error_reason);
  if (!what[0])
    return;
  buf_printf(b,
             "<span class=\"wk-detail wk-advice\" data-reason=\"%s\">"
             "Tipp: ",
             ss_reason_name(u->last_error_reason));
  html_escape(b, what);
  buf_puts(b, "</span>");
}

static void html_interval(char *out, size_t n, int64_t seconds)
{
  if (seconds % 3600 == 0 && seconds >= 3600)
    snprintf(out, n, "%" PRId64 " h", seconds / 3600);
  else if (seconds % 60 == 0 && seconds >= 60)
    snprintf(out, n, "%" PRId64 " min", seconds / 60);
  else
    snprintf(out, n, "%" PRId64 " s", seconds);
}

static void html_automation(struct buf *b, const struct workers_model *m)
{
  char line[512];
  static const char *const labels[UNIT__COUNT] =
    {[UNIT_WATCHLIST] = "Watchlist",
     [UNIT_DISCOGRAPHY] = "Diskografie",
     [UNIT_QUALITY_UPGRADE] = "Qualitäts-Upgrade"};
  enum unit_id au[UNIT__COUNT];
  size_t n = view_units(VIEW_AUTOMATION, au);
  int running = 0;
  for (size_t i = 0; i < n; i++)
    running += m->units[au[i]].running;
  snprintf(line, sizeof line, "%d von %zu Workern aktiv", running, n);
  html_line(b, line);
  for (size_t i = 0; i < n; i++) {
    const struct unit_snapshot *s = &m->units[au[i]];
    const char *label = labels[au[i]] ? labels[au[i]] : unit_name[au[i]];
    snprintf(line, sizeof line, "%s: %s", label,
             workers_state_de(unit_status(s).status));
    html_line(b, line);
    if (s->last_error[0]) {
      snprintf(line, sizeof line, "%s: %s", label, s->last_error);
      html_line(b, line);
      html_advice(b, s);
    }
  }
  const struct wanted_counts *w = &m->wanted;
  snprintf(line, sizeof line,
           "Gesucht: %" PRId64 " Watchlist, %" PRId64 " Diskografie, %" PRId64
           " Upgrades, %" PRId64 " Playlists, %" PRId64 " von Hand",
           w->watchlist, w->discography, w->quality_upgrade, w->playlist,
           w->manual);
  html_line(b, line);
  snprintf(line, sizeof line, "Ausgel\xc3\xb6ste Downloads: %" PRId64,
           w->requests_made);
  html_line(b, line);
}

/* German tooltip lines of the Spotify login and the rate-limit block. */
static void html_spotify_token(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  const struct spotify_view *v = &m->spotify;
  char line[512], until[RELTIME_MAX], warning[256];
  if (v->connected && v->display_name[0]) {
    snprintf(line, sizeof line, "Verbunden als %s", v->display_name);
    html_line(b, line);
  }
  if (v->connected && v->access_expires_ms) {
    snprintf(line, sizeof line, "Zugriffstoken läuft ab %s",
             reltime_until_de(now_ms, v->access_expires_ms, until,
                              sizeof until));
    html_line(b, line);
  }
  refresh_warning(v, now_ms, warning, sizeof warning);
  if (warning[0]) {
    snprintf(line, sizeof line, "Anmeldung endet bald: %s", warning);
    html_line(b, line);
  }
}

static void html_spotify_block(struct buf *b, const struct workers_model *m,
                               int64_t now_ms)
{
  char line[512], until[RELTIME_MAX];
  if (!m->spotify.blocked_until_ms)
    return;
  snprintf(line, sizeof line, "Spotify-Rate-Limit: pausiert, weiter %s",
           reltime_until_de(now_ms, m->spotify.blocked_until_ms, until,
                            sizeof until));
  html_line(b, line);
}

static void html_sync_errors(struct buf *b, const struct workers_model *m)
{
  static const char *const labels[SYNC__COUNT] = {"Künstler", "Playlists",
                                                  "Alben", "Lieblingssongs",
                                                  "Künstler-Alben"};
  char line[512];
  for (int t = 0; t < SYNC__COUNT; t++) {
    if (!m->spotify.types[t].error[0])
      continue;
    snprintf(line, sizeof line, "%s: %s", labels[t],
             m->spotify.types[t].error);
    html_line(b, line);
  }
}

/* The worker's key details as German lines. */
static void html_details(struct buf *b, const struct workers_model *m,
                         enum view_worker w, int64_t now_ms)
{
  char line[512], every[32], r1[RELTIME_MAX], r2[RELTIME_MAX], r3[RELTIME_MAX];
  if (w == VIEW_AUTOMATION) {
    html_automation(b, m);
    return;
  }
  enum unit_id ids[UNIT__COUNT];
  view_units(w, ids);
  const struct unit_snapshot *u = &m->units[ids[0]];
  html_interval(every, sizeof every, u->interval_s);
  switch (w) {
  case VIEW_TOKEN_REFRESH:
    snprintf(line, sizeof line,
             "Prüfung alle %s · erneuert %" PRId64 " min vor Ablauf", every,
             m->token_refresh_threshold_minutes);
    html_line(b, line);
    html_line(b, m->spotify_connected ? "Spotify-Konto verbunden"
                                      : "Kein Spotify-Konto verbunden");
    html_spotify_token(b, m, now_ms);
    html_spotify_block(b, m, now_ms);
    break;
  case VIEW_SPOTIFY_SYNC:
    snprintf(line, sizeof line, "Künstler: %s · Playlists: %s · Alben: %s",
             reltime_de(now_ms, u->times[SYNC_ARTISTS], r1, sizeof r1),
             reltime_de(now_ms, u->times[SYNC_PLAYLISTS], r2, sizeof r2),
             reltime_de(now_ms, u->times[SYNC_ALBUMS], r3, sizeof r3));
    html_line(b, line);
    snprintf(line, sizeof line, "Prüfung alle %s", every);
    html_line(b, line);
    html_spotify_block(b, m, now_ms);
    if (!u->last_error[0])
      html_sync_errors(b, m);
    break;
  case VIEW_DOWNLOAD_MONITOR:
    snprintf(line, sizeof line,
             "Abfrage alle %s · ✓ %" PRId64 " fertig · ✕ %" PRId64
             " fehlgeschlagen",
             every, u->counters[DM_DOWNLOADS_COMPLETED],
             u->counters[DM_DOWNLOADS_FAILED]);
    html_line(b, line);
    snprintf(line, sizeof line, "Letzte Abfrage: %s",
             reltime_de(now_ms, u->times[DM_LAST_POLL], r1, sizeof r1));
    html_line(b, line);
    if (u->counters[DM_IN_PROGRESS] || u->counters[DM_QUEUED]) {
      snprintf(line, sizeof line, "Lädt: %" PRId64 " · Wartend: %" PRId64,
               u->counters[DM_IN_PROGRESS], u->counters[DM_QUEUED]);
      html_line(b, line);
    }
    break;
  case VIEW_CLEANUP:
    snprintf(line, sizeof line,
             "%sZuletzt: %s · %" PRId64 " Dateien gelöscht · %" PRId64
             " Bytes frei",
             m->cleanup_dry_run ? "(Testlauf) " : "",
             reltime_de(now_ms, u->times[CL_LAST_RUN], r1, sizeof r1),
             u->counters[CL_FILES_DELETED], u->counters[CL_BYTES_FREED]);
    html_line(b, line);
    if (m->cleanup_dry_run) {
      snprintf(line, sizeof line,
               "Testlauf würde %" PRId64 " Dateien · %" PRId64
               " Bytes freigeben",
               u->counters[CL_DRY_RUN_FILES], u->counters[CL_DRY_RUN_BYTES]);
      html_line(b, line);
    }
    break;
  default:
    snprintf(line, sizeof line,
             "Methode: %s · Gefunden: %" PRId64 " · Geprüft: %" PRId64,
             m->duplicate_method, u->counters[DD_DUPLICATES_FOUND],
             u->counters[DD_TRACKS_SCANNED]);
    html_line(b, line);
    snprintf(line, sizeof line, "Letzter Scan: %s",
             reltime_de(now_ms, u->times[DD_LAST_SCAN], r1, sizeof r1));
    html_line(b, line);
    if (u->counters[DD_GROUPS_OPEN] || u->counters[DD_UNREADABLE]) {
      snprintf(line, sizeof line, "Offen: %" PRId64 " · Unlesbar: %" PRId64,
               u->counters[DD_GROUPS_OPEN], u->counters[DD_UNREADABLE]);
      html_line(b, line);
    }
    break;
  }
  if (u->last_error[0]) {
    snprintf(line, sizeof line, "Fehler: %s", u->last_error);
    html_line(b, line);
    html_advice(b, u);
  } else if (u->note[0] && u->running) {
    html_line(b, u->note);
  }
}

static const char *const service_labels[SVC__COUNT] = {"Spotify",
                                                       "Soulseek (slskd)",
                                                       "MusicBrainz",
                                                       "Cover Art Archive"};
static const char *const service_icons[SVC__COUNT] = {"bi bi-spotify",
                                                      "bi bi-download",
                                                      "bi bi-music-note-list",
                                                      "bi bi-disc"};

int workers_render_html(struct buf *out, const struct workers_model *m,
                        int64_t now_ms)
{
  struct view_status st[VIEW__COUNT];
  for (int w = 0; w < VIEW__COUNT; w++)
    st[w] = workers_view_status(m, (enum view_worker)w);
  struct view_status overall = workers_aggregate(st, VIEW__COUNT);
  const char *ov = workers_state_name(overall.status);

  buf_printf(out, "<div class=\"wk\" data-overall=\"%s\">", ov);
  buf_printf(out,
             "<span class=\"wk-overall %s\" tabindex=\"0\" role=\"status\" "
             "aria-label=\"Hintergrund-Worker: %s\">"
             "<i class=\"bi bi-disc\" aria-hidden=\"true\"></i>"
             "<span class=\"wk-tip\" role=\"tooltip\">"
             "<strong>Hintergrund-Worker</strong> "
             "<span class=\"wk-state\">%s</span>",
             status_class(overall.status), workers_state_de(overall.status),
             workers_state_de(overall.status));
  for (int i = 0; i < SVC__COUNT; i++) {
    const struct service_status *s = &m->services[i];
    buf_printf(out, "<span class=\"wk-detail\">%s %s: %s</span>",
               s->up ? "✓" : "✕", service_labels[i],
               s->up ? "erreichbar" : "nicht erreichbar");
  }
  buf_puts(out, "</span></span>");

  for (int w = 0; w < VIEW__COUNT; w++) {
    const struct entry *e = &entries[w];
    const char *cls = status_class(st[w].status);
    buf_printf(out,
               "<a class=\"wk-unit %s\" data-worker=\"%s\" data-status=\"%s\" "
               "href=\"%s\" aria-label=\"%s: %s\">"
               "<i class=\"%s\" aria-hidden=\"true\"></i>"
               "<span class=\"wk-tip\" role=\"tooltip\"><strong>%s</strong> "
               "<span class=\"wk-state\">%s</span>",
               cls, e->key, workers_state_name(st[w].status), e->settings_url,
               e->name, workers_state_de(st[w].status), e->icon, e->name,
               workers_state_de(st[w].status));
    html_details(out, m, (enum view_worker)w, now_ms);
    buf_puts(out, "</span></a>");
  }

  buf_puts(out, "<span class=\"wk-services\">");
  for (int i = 0; i < SVC__COUNT; i++) {
    const struct service_status *s = &m->services[i];
    buf_printf(out,
               "<span class=\"wk-svc %s\" data-service=\"%s\" "
               "title=\"%s: %s\" aria-label=\"%s: %s\">"
               "<i class=\"%s\" aria-hidden=\"true\"></i></span>",
               s->up ? "wk-svc-up" : "wk-svc-down",
               prober_service_key((enum service_id)i), service_labels[i],
               s->up ? "erreichbar" : "nicht erreichbar", service_labels[i],
               s->up ? "erreichbar" : "nicht erreichbar", service_icons[i]);
  }
  buf_puts(out, "</span></div>");
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}
