/*
 * workers_view.c - renders the Workers API contract (docs/API.md,
 * Workers) from a workers_model: the frame of every entry and the
 * services; each entry's details come from its unit's struct worker_view.
 *
 * JSON is written by hand in the contract's fixed order; every string goes
 * through json_str().  The HTML fragment writes literal markup with
 * buf_puts() and every dynamic string through html_escape().  Documented
 * detail keys are always present; extra keys (last_error, note, ...) follow
 * them.
 */
#include "workers/workers_view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "automation/wanted.h"
#include "config/settings.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/reltime.h"
#include "core/utf8.h"

/* Each contract entry's view, defined in its unit's file (UNITS_TABLE). */
#define ENTRY_OWN(view, name) [VIEW_##view] = &name##_view,
#define ENTRY_FIRST(view, name) ENTRY_OWN(view, name)
#define ENTRY_MEMBER(view, name)
#define ENTRY_ROW(id, name, view, role) ENTRY_##role(view, name)
static const struct worker_view *const entries[VIEW__COUNT] = {
  UNITS_TABLE(ENTRY_ROW)};
#undef ENTRY_ROW
#undef ENTRY_OWN
#undef ENTRY_FIRST
#undef ENTRY_MEMBER

/* Which contract entry each unit is shown in (UNITS_TABLE). */
#define UNIT_VIEW_ROW(id, name, view, role) [UNIT_##id] = VIEW_##view,
static const enum view_worker unit_view[UNIT__COUNT] = {
  UNITS_TABLE(UNIT_VIEW_ROW)};
#undef UNIT_VIEW_ROW

/* Each unit's name column (the automation entry's detail keys). */
#define UNIT_NAME_ROW(id, name, view, role) [UNIT_##id] = #name,
static const char *const unit_name[UNIT__COUNT] = {UNITS_TABLE(UNIT_NAME_ROW)};
#undef UNIT_NAME_ROW

size_t workers_view_units(enum view_worker w, enum unit_id *out)
{
  size_t n = 0;
  for (int i = 0; i < UNIT__COUNT; i++)
    if (unit_view[i] == w)
      out[n++] = (enum unit_id)i;
  DEBUGASSERT(n > 0); /* every entry has a row */
  return n;
}

const char *workers_unit_name(enum unit_id id)
{
  DEBUGASSERT(id >= 0 && id < UNIT__COUNT);
  return unit_name[id];
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

struct view_status workers_unit_status(const struct unit_snapshot *u)
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
  size_t n = workers_view_units(w, ids);
  for (size_t i = 0; i < n; i++)
    subs[i] = workers_unit_status(&m->units[ids[i]]);
  return n == 1 ? subs[0] : workers_aggregate(subs, n);
}

/* ---- JSON ---- */

void view_json_rel(struct buf *b, const char *key, int64_t now_ms,
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

void view_json_reason(struct buf *b, enum ss_reason r)
{
  buf_puts(b, ",\"last_error_reason\":");
  if (r == SS_R_NONE)
    buf_puts(b, "null");
  else
    buf_printf(b, "\"%s\"", ss_reason_name(r));
}

/* "last_error": "..." | null, "last_error_reason": "auth" | ... | null,
 * plus "note" when set. */
void view_json_error_note(struct buf *b, const struct unit_snapshot *u)
{
  buf_puts(b, ",\"last_error\":");
  if (u->last_error[0])
    json_str(b, u->last_error);
  else
    buf_puts(b, "null");
  view_json_reason(b, u->last_error[0] ? u->last_error_reason : SS_R_NONE);
  if (u->note[0]) {
    buf_puts(b, ",\"note\":");
    json_str(b, u->note);
  }
}

/* "key": "2026-03-01T12:34:56Z" (UTC), or null when ms is 0. */
void view_json_time(struct buf *b, const char *key, int64_t ms)
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

void view_json_str_or_null(struct buf *b, const char *s)
{
  if (s[0])
    json_str(b, s);
  else
    buf_puts(b, "null");
}

enum ss_err workers_render_json(struct buf *out, const struct workers_model *m,
                                int64_t now_ms)
{
  buf_puts(out, "{\"workers\":{");
  for (int w = 0; w < VIEW__COUNT; w++) {
    const struct worker_view *e = entries[w];
    struct view_status st = workers_view_status(m, (enum view_worker)w);
    buf_printf(out,
               "%s\"%s\":{\"name\":\"%s\",\"icon\":\"%s\","
               "\"settings_url\":\"%s\",\"running\":%s,\"status\":\"%s\","
               "\"details\":",
               w ? "," : "", e->key, e->name, e->icon, e->settings_url,
               st.running ? "true" : "false", workers_state_name(st.status));
    e->json(out, m, now_ms);
    buf_putc(out, '}');
  }
  buf_puts(out, "}}");
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

enum ss_err workers_render_services(struct buf *out,
                                    const struct workers_model *m)
{
  buf_putc(out, '{');
  for (int i = 0; i < SVC__COUNT; i++)
    buf_printf(out, "%s\"%s\":%s", i ? "," : "",
               prober_service_key((enum service_id)i),
               m->services[i].up ? "true" : "false");
  buf_putc(out, '}');
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

enum ss_err workers_render_services_detail(struct buf *out,
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
    view_json_time(out, "blocked_until", s->blocked_until_ms);
    const struct backoff_state *bo = &m->backoff[i];
    buf_printf(out, ",\"failures_in_a_row\":%d", bo->failures);
    view_json_time(out, "backoff_until",
                   bo->until_ms > now_ms ? bo->until_ms : 0);
    buf_puts(out, ",");
    view_json_rel(out, "checked_ago", now_ms, s->checked_ms);
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

void view_html_line(struct buf *b, const char *text)
{
  buf_puts(b, "<span class=\"wk-detail\">");
  html_escape(b, text);
  buf_puts(b, "</span>");
}

void view_html_linef(struct buf *b, const char *fmt, ...)
{
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (len >= (int)sizeof line) /* cut: never inside a character */
    line[utf8_fit(line, sizeof line - 1)] = '\0';
  view_html_line(b, line);
}

/* "Tipp: ..." under an error line: what to do about its reason. */
void view_html_advice(struct buf *b, const struct unit_snapshot *u)
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

void view_interval_de(char *out, size_t n, int64_t seconds)
{
  if (seconds % 3600 == 0 && seconds >= 3600)
    snprintf(out, n, "%" PRId64 " h", seconds / 3600);
  else if (seconds % 60 == 0 && seconds >= 60)
    snprintf(out, n, "%" PRId64 " min", seconds / 60);
  else
    snprintf(out, n, "%" PRId64 " s", seconds);
}

void view_html_error_note(struct buf *b, const struct unit_snapshot *u)
{
  if (u->last_error[0]) {
    view_html_linef(b, "Fehler: %s", u->last_error);
    view_html_advice(b, u);
  } else if (u->note[0] && u->running) {
    view_html_line(b, u->note);
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

enum ss_err workers_render_html(struct buf *out, const struct workers_model *m,
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
    const struct worker_view *e = entries[w];
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
    e->html(out, m, now_ms);
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
