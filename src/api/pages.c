/*
 * pages.c - server-rendered pages: layout shell, dashboard, workers table,
 * settings tabs and fields, embedded static assets.
 *
 * What: renderers write HTML into a caller's struct buf - literal markup
 * with buf_puts(), every dynamic value through html_escape() - and check
 * buf_ok() once at the end.  Handlers gather their inputs (runtime
 * snapshots, query, form body) and render straight into resp->body.  The
 * pages need htmx for polling and saving but no inline script, so the CSP
 * can forbid inline code.
 *
 * Threading: handlers run on HTTP threads; they copy runtime snapshots and
 * settings values (both any-thread APIs) and never wait on a worker.
 *
 * Ownership: nothing survives a request.  Static assets are borrowed from
 * the embedded table (resp->static_body), never copied.
 */
#include "api/pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/workers_view.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/reltime.h"
#include "web/assets.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define FIELD_ERR_MAX 256
#define DOM_ID_MAX 96

/* ------------------------------------------------------------------ */
/* Layout shell                                                        */
/* ------------------------------------------------------------------ */

void pages_head(struct buf *out, const char *title)
{
  buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                "<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, "
                "initial-scale=1\">\n"
                "<meta name=\"color-scheme\" content=\"dark\">\n<title>");
  html_escape(out, title);
  buf_puts(out, " \xc2\xb7 SoulSpot</title>\n"
                /* Inline icon: no /favicon.ico request (CSP img-src data:) */
                "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg "
                "xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
                "%3Ccircle cx='8' cy='8' r='7' fill='%231db954'/%3E"
                "%3Ccircle cx='8' cy='8' r='2' fill='%230f1115'/%3E"
                "%3C/svg%3E\">\n"
                "<link rel=\"stylesheet\" href=\"/static/icons.css\">\n"
                "<link rel=\"stylesheet\" href=\"/static/app.css\">\n"
                "<script src=\"/static/htmx.min.js\" defer></script>\n"
                "<script src=\"/static/app.js\" defer></script>\n"
                "</head>\n");
}

static void render_nav_link(struct buf *out, const char *href,
                            const char *icon, const char *text, bool current)
{
  buf_puts(out, "<a class=\"nav-link\" href=\"");
  html_escape(out, href);
  buf_puts(out, current ? "\" aria-current=\"page\">" : "\">");
  buf_puts(out, "<i class=\"bi ");
  html_escape(out, icon);
  buf_puts(out, "\" aria-hidden=\"true\"></i><span>");
  html_escape(out, text);
  buf_puts(out, "</span></a>\n");
}

static void render_sidebar(struct buf *out, enum pages_section active)
{
  /* The aside spans the page for its background; its inner column sticks
   * to the window so the worker indicator stays in view. */
  buf_puts(out, "<aside class=\"sidebar\"><div class=\"sidebar-inner\">\n"
                "<a class=\"brand\" href=\"/\"><i class=\"bi bi-disc\" "
                "aria-hidden=\"true\"></i><span>SoulSpot</span></a>\n"
                "<nav class=\"nav\" aria-label=\"Main\">\n");
  render_nav_link(out, "/", "bi-house", "Dashboard",
                  active == PAGES_DASHBOARD);
  render_nav_link(out, "/downloads", "bi-download", "Downloads",
                  active == PAGES_DOWNLOADS);
  render_nav_link(out, "/wanted", "bi-bookmark-star", "Wanted",
                  active == PAGES_WANTED);
  render_nav_link(out, "/library/duplicates", "bi-copy", "Library",
                  active == PAGES_LIBRARY);
  render_nav_link(out, "/settings", "bi-gear", "Settings",
                  active == PAGES_SETTINGS);
  /* The worker indicator: exactly the contract's polling template. */
  buf_puts(out, "</nav>\n<div class=\"sidebar-footer\">\n"
                "<div class=\"worker-status\" "
                "hx-get=\"/api/workers/status/html\" "
                "hx-trigger=\"load, every 10s\" hx-swap=\"innerHTML\">"
                "</div>\n</div>\n</div></aside>\n");
}

static void layout_open(struct buf *out, const char *title,
                        enum pages_section active)
{
  pages_head(out, title);
  buf_puts(out, "<body>\n<div class=\"shell\">\n");
  render_sidebar(out, active);
  buf_puts(out, "<main class=\"main\" id=\"main\">\n");
}

static void layout_close(struct buf *out)
{
  buf_puts(out, "</main>\n</div>\n</body>\n</html>\n");
}

static void render_page_head(struct buf *out, const char *title,
                             const char *lead)
{
  buf_puts(out, "<header class=\"page-head\"><h1>");
  html_escape(out, title);
  buf_puts(out, "</h1><p class=\"muted\">");
  html_escape(out, lead);
  buf_puts(out, "</p></header>\n");
}

void pages_open(struct buf *out, enum pages_section section, const char *title,
                const char *lead)
{
  layout_open(out, title, section);
  render_page_head(out, title, lead);
}

void pages_close(struct buf *out) { layout_close(out); }

/* ------------------------------------------------------------------ */
/* Workers table                                                       */
/* ------------------------------------------------------------------ */

static const char *state_word(enum unit_state s)
{
  switch (s) {
  case UNIT_IDLE: return "Bereit";
  case UNIT_ACTIVE: return "Läuft";
  case UNIT_ERROR: return "Fehler";
  case UNIT_STOPPED: break;
  }
  return "Gestoppt";
}

static const char *state_class(enum unit_state s)
{
  switch (s) {
  case UNIT_IDLE: return "idle";
  case UNIT_ACTIVE: return "active";
  case UNIT_ERROR: return "error";
  case UNIT_STOPPED: break;
  }
  return "stopped";
}

/* "alle 5 min", "alle 24 h", "alle 7 d", "alle 45 s"; "—" when unset. */
static void fmt_interval(char *out, size_t n, int64_t s)
{
  if (s <= 0)
    snprintf(out, n, "\xe2\x80\x94");
  else if (s >= 2 * 86400 && s % 86400 == 0)
    snprintf(out, n, "alle %" PRId64 " d", s / 86400);
  else if (s % 3600 == 0)
    snprintf(out, n, "alle %" PRId64 " h", s / 3600);
  else if (s % 60 == 0)
    snprintf(out, n, "alle %" PRId64 " min", s / 60);
  else
    snprintf(out, n, "alle %" PRId64 " s", s);
}

/* "350 ms", "1.5 s", "2 min 5 s". */
static void fmt_duration(char *out, size_t n, int64_t ms)
{
  if (ms < 0)
    ms = 0;
  if (ms < 1000)
    snprintf(out, n, "%" PRId64 " ms", ms);
  else if (ms < 60000)
    snprintf(out, n, "%" PRId64 ".%" PRId64 " s", ms / 1000, ms % 1000 / 100);
  else
    snprintf(out, n, "%" PRId64 " min %" PRId64 " s", ms / 60000,
             ms % 60000 / 1000);
}

/* "jetzt", "in 40 s", "in 3 min", "in 2 h", "in 6 d"; "—" when unplanned. */
static void fmt_next(char *out, size_t n, int64_t now_ms,
                     const struct unit_snapshot *s)
{
  if (!s->enabled || s->next_run_ms <= 0) {
    snprintf(out, n, "\xe2\x80\x94");
    return;
  }
  reltime_until_de(now_ms, s->next_run_ms, out, n);
}

static void render_state_cell(struct buf *out, enum unit_state st)
{
  buf_puts(out, "<td><span class=\"state state-");
  buf_puts(out, state_class(st));
  buf_puts(out, "\"><span class=\"dot\" aria-hidden=\"true\"></span>"
                "<span lang=\"de\">");
  html_escape(out, state_word(st));
  buf_puts(out, "</span></span></td>");
}

static void render_last_run_cell(struct buf *out, int64_t now_ms,
                                 const struct unit_snapshot *s)
{
  char rel[RELTIME_MAX];
  buf_puts(out, "<td lang=\"de\">");
  html_escape(out, reltime_de(now_ms, s->last_start_ms, rel, sizeof rel));
  bool finished = s->state != UNIT_ACTIVE && s->last_start_ms > 0 &&
                  s->last_end_ms >= s->last_start_ms;
  if (finished) {
    char dur[48];
    fmt_duration(dur, sizeof dur, s->last_duration_ms);
    buf_puts(out, " <span class=\"muted\">(");
    html_escape(out, dur);
    buf_puts(out, ")</span>");
  }
  buf_puts(out, "</td>");
}

static const char *result_word(const struct unit_snapshot *s)
{
  if (s->runs == 0 && s->last_end_ms <= 0)
    return "\xe2\x80\x94";
  switch (s->last_result) {
  case UNIT_RUN_OK: return "OK";
  case UNIT_RUN_SKIPPED: return "skipped";
  case UNIT_RUN_ERROR: return "failed";
  case UNIT_RUN_CANCELED: return "canceled";
  case UNIT_RUN_DEFERRED: return "deferred";
  }
  return "\xe2\x80\x94";
}

static void render_message_cell(struct buf *out, const struct unit_snapshot *s)
{
  buf_puts(out, "<td class=\"msg\">");
  if (s->state == UNIT_ERROR) {
    buf_puts(out, "<span class=\"msg-error\">");
    html_escape(out, s->last_error[0] ? s->last_error : "unknown error");
    buf_puts(out, "</span>");
    const char *what = workers_advice_en(s->last_error_reason);
    if (what[0]) {
      buf_printf(out, "<br><span class=\"msg-advice\" data-reason=\"%s\">",
                 ss_reason_name(s->last_error_reason));
      html_escape(out, what);
      buf_puts(out, "</span>");
    }
    if (s->last_result == UNIT_RUN_DEFERRED && s->note[0]) {
      /* its service backs off: until when the error stands */
      buf_puts(out, "<br><span class=\"msg-note\">");
      html_escape(out, s->note);
      buf_puts(out, "</span>");
    }
  } else if (s->note[0]) {
    buf_puts(out, "<span class=\"msg-note\">");
    html_escape(out, s->note);
    buf_puts(out, "</span>");
  } else {
    buf_puts(out, "<span class=\"muted\">");
    html_escape(out, result_word(s));
    buf_puts(out, "</span>");
  }
  buf_puts(out, "</td>");
}

static void render_run_button(struct buf *out, const struct unit_def *def,
                              bool enabled)
{
  buf_puts(out,
           "<td class=\"actions\"><button type=\"button\" "
           "class=\"btn btn-small\" data-run-now hx-post=\"/api/workers/");
  html_escape(out, def->key);
  buf_puts(out, "/run\" hx-swap=\"none\"");
  if (!enabled)
    buf_puts(out, " disabled title=\"Disabled in the settings\"");
  buf_puts(out, "><i class=\"bi bi-arrow-repeat\" aria-hidden=\"true\"></i>"
                " Run now<span class=\"sr-only\"> ");
  html_escape(out, def->label);
  buf_puts(out, "</span></button></td>");
}

static void render_unit_row(struct buf *out, const struct unit_def *def,
                            const struct unit_snapshot *s, int64_t now_ms)
{
  char text[64];
  buf_puts(out, "<tr data-unit=\"");
  html_escape(out, def->key);
  buf_puts(out, "\"><th scope=\"row\">");
  html_escape(out, def->label);
  buf_puts(out, "</th>");
  render_state_cell(out, s->state);
  fmt_interval(text, sizeof text, s->interval_s);
  buf_puts(out, "<td lang=\"de\">");
  html_escape(out, text);
  buf_puts(out, "</td>");
  render_last_run_cell(out, now_ms, s);
  fmt_next(text, sizeof text, now_ms, s);
  buf_puts(out, "<td lang=\"de\">");
  html_escape(out, text);
  buf_puts(out, "</td>");
  render_message_cell(out, s);
  render_run_button(out, def, s->enabled);
  buf_puts(out, "</tr>\n");
}

enum ss_err pages_render_workers_table(struct buf *out,
                                       const struct unit_def *const *defs,
                                       const struct unit_snapshot *snaps,
                                       int64_t now_ms)
{
  buf_puts(out,
           "<div class=\"table-wrap\"><table class=\"table\">\n"
           "<thead><tr><th scope=\"col\">Worker</th>"
           "<th scope=\"col\">State</th><th scope=\"col\">Interval</th>"
           "<th scope=\"col\">Last run</th><th scope=\"col\">Next run</th>"
           "<th scope=\"col\">Result</th><th scope=\"col\">"
           "<span class=\"sr-only\">Actions</span></th></tr></thead>\n"
           "<tbody>\n");
  for (int i = 0; i < UNIT__COUNT; i++)
    if (defs[i])
      render_unit_row(out, defs[i], &snaps[i], now_ms);
  buf_puts(out, "</tbody></table></div>\n");
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

enum ss_err pages_render_dashboard(struct buf *out,
                                   const struct unit_def *const *defs,
                                   const struct unit_snapshot *snaps,
                                   int64_t now_ms)
{
  layout_open(out, "Dashboard", PAGES_DASHBOARD);
  render_page_head(out, "Dashboard",
                   "What the background workers of this soulspotd do.");
  buf_puts(out, "<section class=\"card\" aria-labelledby=\"workers-title\">\n"
                "<div class=\"card-head\"><h2 id=\"workers-title\">Workers"
                "</h2><span class=\"muted small\">refreshes every 5 s</span>"
                "</div>\n<div id=\"workers-table\" class=\"card-body\" "
                "hx-get=\"/workers/table\" hx-trigger=\"load, every 5s\" "
                "hx-swap=\"innerHTML\">\n");
  pages_render_workers_table(out, defs, snaps, now_ms);
  buf_puts(out, "</div>\n</section>\n");
  layout_close(out);
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

/* ------------------------------------------------------------------ */
/* Settings: tabs and groups                                           */
/* ------------------------------------------------------------------ */

/* Groups list their settings, ended by S__COUNT. */
struct field_group {
  const char *title;
  const enum setting_id *ids;
};

struct settings_tab {
  const char *name;
  const char *label;
  const char *icon;
  const struct field_group *groups; /* ended by a NULL title */
};

static const enum setting_id g_token[] =
  {S_SPOTIFY_TOKEN_REFRESH_ENABLED, S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
   S_SPOTIFY_TOKEN_REFRESH_THRESHOLD_MINUTES, S__COUNT};
static const enum setting_id g_sync[] =
  {S_SPOTIFY_AUTO_SYNC_ENABLED,
   S_SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS,
   S_SPOTIFY_AUTO_SYNC_ARTISTS,
   S_SPOTIFY_AUTO_SYNC_PLAYLISTS,
   S_SPOTIFY_AUTO_SYNC_LIKED_SONGS,
   S_SPOTIFY_AUTO_SYNC_SAVED_ALBUMS,
   S_SPOTIFY_AUTO_SYNC_ARTIST_ALBUMS,
   S_SPOTIFY_ARTISTS_SYNC_INTERVAL_MINUTES,
   S_SPOTIFY_PLAYLISTS_SYNC_INTERVAL_MINUTES,
   S_SPOTIFY_ALBUMS_SYNC_INTERVAL_MINUTES,
   S_SPOTIFY_ARTIST_ALBUMS_SYNC_INTERVAL_MINUTES,
   S_SPOTIFY_ARTIST_ALBUMS_PER_PASS,
   S_SPOTIFY_ARTIST_ALBUMS_RESYNC_HOURS,
   S_SPOTIFY_REMOVE_UNFOLLOWED_ARTISTS,
   S_SPOTIFY_REMOVE_UNFOLLOWED_PLAYLISTS,
   S__COUNT};
static const enum setting_id g_spotify_app[] = {S_SPOTIFY_CLIENT_ID,
                                                S_SPOTIFY_CLIENT_SECRET,
                                                S_SPOTIFY_REDIRECT_URI,
                                                S_SPOTIFY_ACCOUNTS_URL,
                                                S_SPOTIFY_API_URL,
                                                S__COUNT};
static const enum setting_id g_monitor[] = {S_DOWNLOAD_MONITOR_ENABLED,
                                            S_DOWNLOAD_POLL_INTERVAL_SECONDS,
                                            S_DOWNLOAD_MAX_RETRIES,
                                            S_DOWNLOAD_STALL_TIMEOUT_MINUTES,
                                            S_DOWNLOAD_SEARCH_TIMEOUT_SECONDS,
                                            S_DOWNLOAD_MAX_CONCURRENT_ENQUEUES,
                                            S__COUNT};
static const enum setting_id g_dl_quality[] = {S_DOWNLOAD_QUALITY_PROFILE,
                                               S_DOWNLOAD_NAMING_TEMPLATE,
                                               S__COUNT};
static const enum setting_id g_slskd[] = {S_SLSKD_URL, S_SLSKD_API_KEY,
                                          S__COUNT};
static const enum setting_id g_folders[] = {S_DOWNLOAD_SLSKD_DOWNLOAD_PATH,
                                            S_DOWNLOAD_TEMP_PATH,
                                            S_LIBRARY_PATH, S__COUNT};
static const enum setting_id g_watchlist[] =
  {S_AUTOMATION_WATCHLIST_ENABLED, S_AUTOMATION_WATCHLIST_INTERVAL_MINUTES,
   S__COUNT};
static const enum setting_id g_discography[] =
  {S_AUTOMATION_DISCOGRAPHY_ENABLED, S_AUTOMATION_DISCOGRAPHY_INTERVAL_HOURS,
   S__COUNT};
static const enum setting_id g_quality[] =
  {S_AUTOMATION_QUALITY_UPGRADE_ENABLED,
   S_AUTOMATION_QUALITY_UPGRADE_INTERVAL_HOURS, S_AUTOMATION_QUALITY_PROFILE,
   S_AUTOMATION_QUALITY_UPGRADE_MAX_PER_RUN, S__COUNT};
static const enum setting_id g_cleanup[] =
  {S_AUTOMATION_CLEANUP_ENABLED,
   S_AUTOMATION_CLEANUP_INTERVAL_HOURS,
   S_AUTOMATION_CLEANUP_DRY_RUN,
   S_AUTOMATION_CLEANUP_RETENTION_DAYS,
   S_AUTOMATION_CLEANUP_MAX_FILES_PER_RUN,
   S_AUTOMATION_CLEANUP_MAX_MB_PER_RUN,
   S_DOWNLOAD_SLSKD_DOWNLOAD_PATH,
   S_DOWNLOAD_TEMP_PATH,
   S__COUNT};
static const enum setting_id g_duplicates[] =
  {S_AUTOMATION_DUPLICATE_DETECTION_ENABLED,
   S_AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS,
   S_AUTOMATION_DUPLICATE_DETECTION_METHOD,
   S_LIBRARY_PATH,
   S_LIBRARY_QUARANTINE_PATH,
   S__COUNT};
static const enum setting_id g_services[] = {S_MUSICBRAINZ_URL,
                                             S_MUSICBRAINZ_CONTACT,
                                             S_COVERART_URL,
                                             S_PROBE_INTERVAL_SECONDS,
                                             S_PROBE_TIMEOUT_SECONDS,
                                             S__COUNT};

static const enum setting_id g_access[] = {S_SERVER_ALLOWED_HOSTS, S__COUNT};
static const enum setting_id g_notify_targets[] = {S_NOTIFY_WEBHOOK_URL,
                                                   S_NOTIFY_NTFY_URL,
                                                   S_NOTIFY_NTFY_TOKEN,
                                                   S_NOTIFY_GOTIFY_URL,
                                                   S_NOTIFY_GOTIFY_TOKEN,
                                                   S_NOTIFY_TIMEOUT_SECONDS,
                                                   S__COUNT};
static const enum setting_id g_notify_events[] = {S_NOTIFY_ON_UNIT_ERRORS,
                                                  S_NOTIFY_ON_DOWNLOADS,
                                                  S_NOTIFY_ON_RELEASES,
                                                  S_NOTIFY_ON_SPOTIFY_LOGIN,
                                                  S__COUNT};

static const struct field_group spotify_groups[] = {{"Token Refresh", g_token},
                                                    {"Spotify Sync", g_sync},
                                                    {"Spotify app",
                                                     g_spotify_app},
                                                    {NULL, NULL}};
static const struct field_group downloads_groups[] = {{"Download Monitor",
                                                       g_monitor},
                                                      {"slskd", g_slskd},
                                                      {"Quality and naming",
                                                       g_dl_quality},
                                                      {"Folders", g_folders},
                                                      {NULL, NULL}};
static const struct field_group automation_groups[] =
  {{"Watchlist", g_watchlist},
   {"Discography", g_discography},
   {"Quality Upgrade", g_quality},
   {"Cleanup", g_cleanup},
   {"Duplicate Detector", g_duplicates},
   {"Services", g_services},
   {NULL, NULL}};

static const struct field_group notify_groups[] = {{"Targets",
                                                    g_notify_targets},
                                                   {"Events", g_notify_events},
                                                   {NULL, NULL}};

static const struct field_group security_groups[] = {{"Host names", g_access},
                                                     {NULL, NULL}};

static const struct settings_tab tabs[] = {
  {"spotify", "Spotify", "bi-spotify", spotify_groups},
  {"downloads", "Downloads", "bi-download", downloads_groups},
  {"automation", "Automation", "bi-robot", automation_groups},
  {"notifications", "Notifications", "bi-bell", notify_groups},
  {"security", "Security", "bi-key", security_groups},
};
#define N_TABS (sizeof tabs / sizeof tabs[0])

static const struct settings_tab *find_tab(const char *name)
{
  for (size_t i = 0; name && i < N_TABS; i++)
    if (!strcmp(tabs[i].name, name))
      return &tabs[i];
  return &tabs[0];
}

const char *pages_tab_name(const char *tab) { return find_tab(tab)->name; }

/* ------------------------------------------------------------------ */
/* Settings: one field                                                 */
/* ------------------------------------------------------------------ */

/* "spotify.auto_sync_enabled" -> "spotify-auto_sync_enabled". */
static void dom_id(const char *key, char *out, size_t n)
{
  size_t i = 0;
  for (; key[i] && i + 1 < n; i++)
    out[i] = key[i] == '.' ? '-' : key[i];
  out[i] = '\0';
}

static const char *type_class(enum setting_type t)
{
  switch (t) {
  case ST_BOOL: return "bool";
  case ST_INT: return "int";
  case ST_ENUM: return "enum";
  case ST_URL: return "url";
  case ST_STRING:
  case ST_LISTEN: break;
  }
  return "string"; /* not "text": .field-text is the label column */
}

/* The attributes every input shares: id, name and the htmx save wiring
 * (the key travels as static JSON in hx-vals, which the CSP allows). */
static void render_input_attrs(struct buf *out, const char *key,
                               const char *dom, bool invalid)
{
  char vals[160];
  buf_puts(out, " id=\"in-");
  html_escape(out, dom);
  buf_puts(out, "\" name=\"value\" hx-post=\"/settings\" hx-vals=\"");
  snprintf(vals, sizeof vals, "{\"key\":\"%s\"}", key);
  html_escape(out, vals);
  buf_puts(out, "\" hx-trigger=\"change\" hx-target=\"closest .field\" "
                "hx-swap=\"outerHTML\"");
  if (invalid) {
    buf_puts(out, " aria-invalid=\"true\" aria-describedby=\"err-");
    html_escape(out, dom);
    buf_puts(out, "\"");
  }
}

static void render_bool_input(struct buf *out, const char *key,
                              const char *dom, const char *shown, bool invalid)
{
  buf_puts(out, "<input type=\"checkbox\" role=\"switch\" class=\"switch\" "
                "value=\"true\"");
  if (!strcmp(shown, "true"))
    buf_puts(out, " checked");
  render_input_attrs(out, key, dom, invalid);
  buf_puts(out, ">");
}

static void render_int_input(struct buf *out, const struct setting_def *d,
                             const char *dom, const char *shown, bool invalid)
{
  buf_printf(out,
             "<input type=\"number\" inputmode=\"numeric\" step=\"1\" "
             "min=\"%" PRId64 "\" max=\"%" PRId64 "\" value=\"",
             d->min, d->max);
  html_escape(out, shown);
  buf_puts(out, "\"");
  render_input_attrs(out, d->key, dom, invalid);
  buf_printf(out,
             "><span class=\"field-hint\">%" PRId64 "\xe2\x80\x93%" PRId64
             "</span>",
             d->min, d->max);
}

static void render_enum_input(struct buf *out, const struct setting_def *d,
                              const char *dom, const char *shown, bool invalid)
{
  buf_puts(out, "<select");
  render_input_attrs(out, d->key, dom, invalid);
  buf_puts(out, ">");
  const char *p = d->choices ? d->choices : "";
  while (*p) {
    size_t n = strcspn(p, "|");
    char choice[64];
    snprintf(choice, sizeof choice, "%.*s", (int)n, p);
    buf_puts(out, "<option value=\"");
    html_escape(out, choice);
    buf_puts(out, strcmp(choice, shown) ? "\">" : "\" selected>");
    html_escape(out, choice);
    buf_puts(out, "</option>");
    p += n + (p[n] == '|');
  }
  buf_puts(out, "</select>");
}

static void render_text_input(struct buf *out, const struct setting_def *d,
                              const char *dom, const char *shown, bool invalid)
{
  buf_printf(out,
             "<input type=\"text\" spellcheck=\"false\" "
             "autocomplete=\"off\" maxlength=\"%d\"%s value=\"",
             SETTING_STR_MAX - 1,
             d->type == ST_URL ? " inputmode=\"url\"" : "");
  html_escape(out, shown);
  buf_puts(out, "\"");
  render_input_attrs(out, d->key, dom, invalid);
  buf_puts(out, ">");
}

/* A secret is never pre-filled: the page only says whether it is set. */
static void render_secret_input(struct buf *out, const struct setting_def *d,
                                const char *dom, bool is_set, bool invalid)
{
  buf_puts(out, "<input type=\"password\" autocomplete=\"new-password\" "
                "spellcheck=\"false\" value=\"\" placeholder=\"");
  buf_puts(out, is_set ? "Type to replace; empty keeps it" : "Not set");
  buf_puts(out, "\"");
  render_input_attrs(out, d->key, dom, invalid);
  buf_puts(out, is_set ? "><span class=\"badge badge-set\">set</span>"
                       : "><span class=\"badge\">not set</span>");
}

static void render_field_status(struct buf *out, const char *dom,
                                const char *error, bool saved)
{
  if (error) {
    buf_puts(out, "<span class=\"field-error\" role=\"alert\" id=\"err-");
    html_escape(out, dom);
    buf_puts(out, "\"><i class=\"bi bi-exclamation-triangle-fill\" "
                  "aria-hidden=\"true\"></i> ");
    html_escape(out, error);
    buf_puts(out, "</span>");
  } else if (saved) {
    buf_puts(out, "<span class=\"field-saved\" role=\"status\">"
                  "<i class=\"bi bi-check-circle-fill\" aria-hidden=\"true\">"
                  "</i> Saved</span>");
  }
}

static void render_control(struct buf *out, enum setting_id id,
                           const char *dom, const char *shown, bool invalid)
{
  const struct setting_def *d = &settings_defs[id];
  if (d->flags & SF_SECRET) {
    render_secret_input(out, d, dom, settings_is_set(id), invalid);
    return;
  }
  switch (d->type) {
  case ST_BOOL: render_bool_input(out, d->key, dom, shown, invalid); break;
  case ST_INT: render_int_input(out, d, dom, shown, invalid); break;
  case ST_ENUM: render_enum_input(out, d, dom, shown, invalid); break;
  case ST_STRING:
  case ST_URL:
  case ST_LISTEN: render_text_input(out, d, dom, shown, invalid); break;
  }
}

enum ss_err pages_render_field(struct buf *out, enum setting_id id,
                               const char *shown_value, const char *error,
                               bool saved)
{
  if ((int)id < 0 || id >= S__COUNT)
    return SS_EINVAL;
  const struct setting_def *d = &settings_defs[id];
  char dom[DOM_ID_MAX];
  char *stored = NULL;
  dom_id(d->key, dom, sizeof dom);
  if (d->flags & SF_SECRET)
    shown_value = ""; /* never read, let alone render, a secret */
  else if (!shown_value)
    shown_value = stored = settings_strdup(id);
  if (!shown_value)
    shown_value = "";
  buf_printf(out, "<div class=\"field field-%s%s\" id=\"field-",
             type_class(d->type), error ? " has-error" : "");
  html_escape(out, dom);
  buf_puts(out, "\">\n<div class=\"field-text\"><label class=\"field-label\" "
                "for=\"in-");
  html_escape(out, dom);
  buf_puts(out, "\">");
  html_escape(out, d->help);
  buf_puts(out, "</label><code class=\"field-key\">");
  html_escape(out, d->key);
  buf_puts(out, "</code></div>\n<div class=\"field-control\">");
  render_control(out, id, dom, shown_value, error != NULL);
  render_field_status(out, dom, error, saved);
  buf_puts(out, "</div>\n</div>\n");
  free(stored);
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

enum ss_err pages_apply_field(struct buf *out, const char *key,
                              const char *value)
{
  int found = key ? settings_lookup(key) : -1;
  if (found < 0)
    return SS_ENOTFOUND;
  enum setting_id id = (enum setting_id)found;
  const struct setting_def *d = &settings_defs[id];
  if (!(d->flags & SF_RUNTIME) || !value)
    return SS_EINVAL;
  if ((d->flags & SF_SECRET) && !value[0]) /* empty secret = keep */
    return pages_render_field(out, id, NULL, NULL, false);
  char err[FIELD_ERR_MAX] = "";
  enum ss_err rc = settings_apply_text(id, value, err, sizeof err);
  if (rc == SS_OK)
    return pages_render_field(out, id, NULL, NULL, true);
  if (!err[0])
    snprintf(err, sizeof err, "Could not save: %s", ss_strerror(rc));
  return pages_render_field(out, id, value, err, false);
}

/* ------------------------------------------------------------------ */
/* Settings: the page                                                  */
/* ------------------------------------------------------------------ */

static void render_tabs_nav(struct buf *out, const struct settings_tab *cur)
{
  buf_puts(out, "<nav class=\"tabs\" aria-label=\"Settings sections\">\n");
  for (size_t i = 0; i < N_TABS; i++) {
    buf_puts(out, "<a class=\"tab\" href=\"/settings?tab=");
    html_escape(out, tabs[i].name);
    buf_puts(out, &tabs[i] == cur ? "\" aria-current=\"page\">" : "\">");
    buf_puts(out, "<i class=\"bi ");
    html_escape(out, tabs[i].icon);
    buf_puts(out, "\" aria-hidden=\"true\"></i><span>");
    html_escape(out, tabs[i].label);
    buf_puts(out, "</span></a>\n");
  }
  buf_puts(out, "</nav>\n");
}

/* The slskd card's "Test connection" button; POST /api/slskd/test answers
 * htmx with the result line (version, Soulseek login) for #slskd-test. */
static void render_slskd_test(struct buf *out)
{
  buf_puts(out, "<div class=\"field\" id=\"field-slskd-test\">\n"
                "<div class=\"field-text\"><span class=\"field-label\">"
                "Check the URL and key against slskd</span></div>\n"
                "<div class=\"field-control\"><button type=\"button\" "
                "class=\"btn btn-small\" hx-post=\"/api/slskd/test\" "
                "hx-target=\"#slskd-test\" hx-swap=\"innerHTML\">"
                "<i class=\"bi bi-cloud-check\" aria-hidden=\"true\"></i> "
                "Test connection</button> <span id=\"slskd-test\" "
                "class=\"msg\" role=\"status\" aria-live=\"polite\">"
                "</span></div>\n</div>\n");
}

static void render_group(struct buf *out, const struct field_group *g)
{
  buf_puts(out, "<section class=\"card\">\n<div class=\"card-head\"><h2>");
  html_escape(out, g->title);
  buf_puts(out, "</h2></div>\n<div class=\"card-body fields\">\n");
  for (const enum setting_id *id = g->ids; *id != S__COUNT; id++)
    pages_render_field(out, *id, NULL, NULL, false);
  if (g->ids == g_slskd)
    render_slskd_test(out);
  buf_puts(out, "</div>\n</section>\n");
}

/* Cards the domain modules put at the top of a settings tab (borrowed;
 * set once by routes.c before the server starts, read-only afterwards). */
static const struct pages_card *cards;
static size_t n_cards;

void pages_set_cards(const struct pages_card *c, size_t n)
{
  cards = c;
  n_cards = n;
}

/* The whole settings document; a tab starts with its cards (the Spotify
 * account card, the Authentication card), then its fields. */
static enum ss_err render_settings(struct buf *out, const char *tab,
                                   const struct http_req *req)
{
  const struct settings_tab *cur = find_tab(tab);
  layout_open(out, "Settings", PAGES_SETTINGS);
  render_page_head(out, "Settings",
                   "Changes are saved at once and take effect within a "
                   "second.");
  render_tabs_nav(out, cur);
  buf_puts(out, "<div class=\"tab-panel\" id=\"tab-");
  html_escape(out, cur->name);
  buf_puts(out, "\" data-tab=\"");
  html_escape(out, cur->name);
  buf_puts(out, "\">\n");
  for (size_t i = 0; i < n_cards; i++)
    if (!strcmp(cur->name, cards[i].tab))
      cards[i].render(out, req);
  for (const struct field_group *g = cur->groups; g->title; g++)
    render_group(out, g);
  buf_puts(out, "</div>\n");
  layout_close(out);
  return buf_ok(out) ? SS_OK : SS_ETOOBIG;
}

enum ss_err pages_render_settings(struct buf *out, const char *tab)
{
  return render_settings(out, tab, NULL);
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

static void finish_html(struct http_resp *resp, enum ss_err rc)
{
  if (rc != SS_OK) {
    buf_reset(&resp->body);
    http_resp_error(resp, 500, "page too large");
    return;
  }
  resp->content_type = HTML_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
}

static void gather_units(const struct unit_def *defs[UNIT__COUNT],
                         struct unit_snapshot snaps[UNIT__COUNT])
{
  for (int i = 0; i < UNIT__COUNT; i++) {
    defs[i] = runtime_def((enum unit_id)i);
    runtime_snapshot((enum unit_id)i, &snaps[i]);
  }
}

void pages_dashboard(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  const struct unit_def *defs[UNIT__COUNT];
  struct unit_snapshot snaps[UNIT__COUNT];
  gather_units(defs, snaps);
  finish_html(resp, pages_render_dashboard(&resp->body, defs, snaps,
                                           clock_wall_ms()));
}

void pages_workers_table(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)req;
  (void)ctx;
  const struct unit_def *defs[UNIT__COUNT];
  struct unit_snapshot snaps[UNIT__COUNT];
  gather_units(defs, snaps);
  finish_html(resp, pages_render_workers_table(&resp->body, defs, snaps,
                                               clock_wall_ms()));
}

void pages_settings(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  finish_html(resp,
              render_settings(&resp->body, http_req_query(req, "tab"), req));
}

void pages_settings_save(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)ctx;
  char *key = http_req_form_value(req, "key");
  char *value = http_req_form_value(req, "value");
  enum ss_err rc = pages_apply_field(&resp->body, key, value);
  if (rc == SS_ENOTFOUND)
    http_resp_error(resp, 400, "unknown setting");
  else if (rc == SS_EINVAL)
    http_resp_error(resp, 400,
                    value ? "setting cannot be changed here"
                          : "missing value");
  else
    finish_html(resp, rc);
  free(key);
  free(value);
}

void pages_static(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const struct web_asset *a = web_asset_find(http_req_path(req));
  if (!a) {
    http_resp_error(resp, 404, "not found");
    return;
  }
  http_resp_header(resp, "Cache-Control", "public, max-age=86400");
  resp->content_type = a->content_type;
  resp->static_body = a->data;
  resp->static_len = a->len;
  http_resp_etag_set(req, resp, a->etag);
}
