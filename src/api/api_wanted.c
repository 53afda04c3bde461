/*
 * api_wanted.c - HTTP surface of the Wanted list (issue 8 point 8).
 *
 *   GET  /api/wanted[?state=&source=&offset=&limit=]
 *                              {"total","offset","limit","items":[...]},
 *                              newest first; state is a state or "open"
 *                              (wanted, searching, downloading); a bad
 *                              state, source, offset or limit is a 400
 *   GET  /api/wanted/{id}      one item; 404
 *   POST /api/wanted           {"kind":"album"|"track","artist","title"}:
 *                              wanted by hand (source manual, downloaded by
 *                              the next automation run): 201 with the item,
 *                              200 with the existing item when the release
 *                              is already on the list; 400 with a reason
 *   POST /api/wanted/{id}/search|ignore|retry
 *                              the actions of automation/wanted.h: 200 with
 *                              the item; 404; 409 with the reason (not in a
 *                              state for it, hourly cap reached)
 *   GET  /wanted[?tab=missing|upgrades|given_up]
 *                              the page: tabs, one row per item (source,
 *                              state, attempts, next try, last reason) and
 *                              its buttons
 *   GET  /wanted/list?tab=     the list fragment (htmx polls it every 5 s)
 *   POST /wanted/{id}/search|ignore|retry?tab=
 *                              the same actions from the page's buttons;
 *                              answer the list fragment with a notice
 *
 * Writes pass the server's cross-site check and the authorize hook like
 * every write (settings included).  A search wakes the Download Monitor.
 *
 * Threading: handlers run on HTTP threads; each opens its own store
 * connection.  Every dynamic string is escaped (json_str / html_escape).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/pages.h"
#include "automation/ownership.h"
#include "automation/wanted.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/reltime.h"
#include "core/xalloc.h"
#include "db/db_wanted.h"
#include "runtime/runtime.h"

#define API_PREFIX "/api/wanted/"
#define PAGE_PREFIX "/wanted/"
#define PAGE_ROWS 100
#define LIST_DEFAULT 50
#define LIST_MAX 200

/* ---- plumbing ---- */

/* A non-negative decimal query parameter: def when absent, -1 when it is
 * not a number or above max. */
static int64_t strict_int(struct http_req *req, const char *name, int64_t def,
                          int64_t max)
{
  const char *s = http_req_query(req, name);
  if (!s)
    return def;
  int64_t v = 0;
  size_t digits = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (++digits > 15)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return !digits || *s || v > max ? -1 : v;
}

/* The action named by the path's last part. */
enum action { ACT_NONE, ACT_SEARCH, ACT_IGNORE, ACT_RETRY };

static enum action action_of(const char *path)
{
  const char *last = strrchr(path, '/');
  if (!last)
    return ACT_NONE;
  if (!strcmp(last, "/search"))
    return ACT_SEARCH;
  if (!strcmp(last, "/ignore"))
    return ACT_IGNORE;
  if (!strcmp(last, "/retry"))
    return ACT_RETRY;
  return ACT_NONE;
}

/* Runs an action; err gets the reason on failure. */
static enum ss_err run_action(struct db *db, enum action a, int64_t id,
                              char *err, size_t errlen)
{
  int64_t now = clock_wall_ms();
  enum ss_err rc = a == ACT_SEARCH
                     ? wanted_search_now(db, id, now, err, errlen)
                   : a == ACT_IGNORE ? wanted_ignore(db, id, now, err, errlen)
                                     : wanted_retry(db, id, now, err, errlen);
  if (rc == SS_OK && a == ACT_SEARCH)
    runtime_run_now(UNIT_DOWNLOAD_MONITOR); /* disabled: it waits */
  return rc;
}

static int status_of(enum ss_err rc)
{
  return rc == SS_ENOTFOUND                  ? 404
         : rc == SS_ESTATE || rc == SS_EBUSY ? 409
         : rc == SS_EINVAL                   ? 400
                                             : 500;
}

/* ---- JSON ---- */

static void kv_str(struct buf *b, const char *key, const char *v)
{
  buf_printf(b, ",\"%s\":", key);
  json_str(b, v);
}

static void json_item(struct buf *b, const struct wanted_item *w)
{
  buf_printf(b, "{\"id\":%" PRId64, w->id);
  kv_str(b, "kind", w->kind == WANTED_TRACK ? "track" : "album");
  kv_str(b, "source", w->source);
  kv_str(b, "state", w->state);
  kv_str(b, "artist", w->artist);
  kv_str(b, "title", w->title);
  kv_str(b, "album", w->album);
  kv_str(b, "spotify_id", w->spotify_id);
  kv_str(b, "mb_id", w->mb_id);
  kv_str(b, "release_date", w->release_date);
  kv_str(b, "release_type", w->release_type);
  kv_str(b, "current_quality", w->current_quality);
  kv_str(b, "reason", w->reason);
  buf_printf(
    b,
    ",\"expected_tracks\":%d,\"auto_download\":%s,\"watch_id\":%" PRId64
    ",\"track_id\":%" PRId64 ",\"attempts\":%d,\"last_try_ms\":%" PRId64
    ",\"next_try_ms\":%" PRId64 ",\"request_id\":%" PRId64
    ",\"created_ms\":%" PRId64 ",\"updated_ms\":%" PRId64 "}",
    w->expected_tracks, w->auto_download ? "true" : "false", w->watch_id,
    w->track_id, w->attempts, w->last_try_ms, w->next_try_ms, w->request_id,
    w->created_ms, w->updated_ms);
}

static void reply_item(struct http_resp *resp, struct db *db, int64_t id,
                       int status)
{
  struct wanted_item *w = xcalloc(1, sizeof *w);
  enum ss_err rc = db_wanted_get(db, id, w);
  if (rc) {
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such wanted item"
                                       : "could not read the wanted item");
  } else {
    resp->status = status;
    json_item(&resp->body, w);
  }
  free(w);
}

/* ---- JSON handlers ---- */

static void api_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *state = http_req_query(req, "state");
  const char *source = http_req_query(req, "source");
  int64_t offset = strict_int(req, "offset", 0, INT32_MAX);
  int64_t limit = strict_int(req, "limit", LIST_DEFAULT, LIST_MAX);
  if (state &&
      (!*state || (strcmp(state, "open") && !db_wanted_state_valid(state)))) {
    http_resp_error(resp, 400,
                    "state must be open, wanted, searching, "
                    "downloading, imported, given_up or ignored");
    return;
  }
  if (source && !db_wanted_source_valid(source)) {
    http_resp_error(resp, 400,
                    "source must be watchlist, discography, "
                    "quality_upgrade, playlist or manual");
    return;
  }
  if (offset < 0 || limit < 0) {
    http_resp_error(resp, 400,
                    offset < 0 ? "offset must be a whole number "
                                 "from 0"
                               : "limit must be a whole number "
                                 "from 0 to 200");
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  struct wanted_item *v = xcalloc((size_t)(limit ? limit : 1), sizeof *v);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_wanted_list(db, state, source, offset, v, (size_t)limit,
                                  &n, &total);
  struct buf *b = &resp->body;
  buf_printf(b,
             "{\"total\":%" PRId64 ",\"offset\":%" PRId64 ",\"limit\":%" PRId64
             ",\"items\":[",
             total, offset, limit);
  for (size_t i = 0; i < n; i++) {
    if (i)
      buf_putc(b, ',');
    json_item(b, &v[i]);
  }
  buf_puts(b, "]}");
  free(v);
  db_close(db);
  if (rc || !buf_ok(b)) {
    buf_reset(b);
    http_resp_error(resp, 500, "could not read the Wanted list");
  }
}

static void api_get(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *path = http_req_path(req);
  int64_t id = api_path_id(path, API_PREFIX);
  if (id <= 0 || strchr(path + strlen(API_PREFIX), '/')) {
    http_resp_error(resp, 404, "no such wanted item");
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  reply_item(resp, db, id, 200);
  db_close(db);
}

static void api_action(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *path = http_req_path(req);
  int64_t id = api_path_id(path, API_PREFIX);
  enum action a = action_of(path);
  const char *rest = path + strlen(API_PREFIX);
  /* exactly /api/wanted/{id}/{action} */
  if (id <= 0 || a == ACT_NONE || strchr(strchr(rest, '/') + 1, '/')) {
    http_resp_error(resp, 404, "no such wanted item or action");
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  char err[WANTED_REASON_MAX] = "";
  int rc = run_action(db, a, id, err, sizeof err);
  if (rc == SS_OK)
    reply_item(resp, db, id, 200);
  else
    http_resp_error(resp, status_of(rc), err[0] ? err : ss_strerror(rc));
  db_close(db);
}

/* Reads {"kind","artist","title"} into w (source manual). */
static enum ss_err parse_manual(json_t *doc, struct wanted_item *w, char *err,
                                size_t n)
{
  if (!json_is_object(doc)) {
    snprintf(err, n, "the body must be a JSON object");
    return SS_EINVAL;
  }
  const char *key;
  json_t *v;
  const char *kind = NULL, *artist = NULL, *title = NULL;
  json_object_foreach(doc, key, v)
  {
    const char **slot = !strcmp(key, "kind")     ? &kind
                        : !strcmp(key, "artist") ? &artist
                        : !strcmp(key, "title")  ? &title
                                                 : NULL;
    if (!slot) {
      snprintf(err, n, "unknown field \"%.40s\"", key);
      return SS_EINVAL;
    }
    if (!json_is_string(v)) {
      snprintf(err, n, "%s must be a string", key);
      return SS_EINVAL;
    }
    *slot = json_string_value(v);
  }
  if (!kind || (strcmp(kind, "album") && strcmp(kind, "track"))) {
    snprintf(err, n, "kind must be \"album\" or \"track\"");
    return SS_EINVAL;
  }
  if (!artist || !title || !artist[0] || !title[0]) {
    snprintf(err, n, "artist and title must not be empty");
    return SS_EINVAL;
  }
  if (strlen(artist) >= sizeof w->artist || strlen(title) >= sizeof w->title) {
    snprintf(err, n, "artist and title must be shorter than %zu bytes",
             sizeof w->title);
    return SS_EINVAL;
  }
  memset(w, 0, sizeof *w);
  w->kind = strcmp(kind, "track") ? WANTED_ALBUM : WANTED_TRACK;
  snprintf(w->source, sizeof w->source, "manual");
  snprintf(w->artist, sizeof w->artist, "%s", artist);
  snprintf(w->title, sizeof w->title, "%s", title);
  if (w->kind == WANTED_ALBUM)
    ownership_album_key(artist, title, w->norm_key, sizeof w->norm_key);
  else
    ownership_track_key(artist, title, w->norm_key, sizeof w->norm_key);
  w->auto_download = true;
  return SS_OK;
}

static void api_create(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  size_t len;
  const char *body = http_req_body(req, &len);
  char err[256] = "";
  json_t *doc = json_loadb(body, len, 0, NULL);
  struct wanted_item *w = xcalloc(1, sizeof *w);
  int rc = doc ? parse_manual(doc, w, err, sizeof err) : SS_EINVAL;
  json_decref(doc);
  if (!doc)
    snprintf(err, sizeof err, "the body must be JSON");
  struct db *db = NULL;
  if (rc) {
    http_resp_error(resp, 400, err);
  } else if (api_store_or_503(resp, &db)) {
    int64_t id = 0;
    bool added = false;
    rc = db_wanted_add(db, w, clock_wall_ms(), &id, &added);
    if (rc) {
      http_resp_error(resp, 500, "could not store the wanted item");
    } else {
      char loc[64];
      snprintf(loc, sizeof loc, API_PREFIX "%" PRId64, id);
      http_resp_header(resp, "Location", loc);
      reply_item(resp, db, id, added ? 201 : 200);
      wanted_stats_refresh(db);
    }
    db_close(db);
  }
  free(w);
}

/* ---- the page ---- */

enum tab { TAB_MISSING, TAB_UPGRADES, TAB_GIVEN_UP };
static const char *const tab_names[] = {"missing", "upgrades", "given_up"};
static const char *const tab_labels[] = {"Missing", "Upgrades", "Given up"};

static enum tab tab_of(const struct http_req *req)
{
  const char *t = http_req_query(req, "tab");
  for (int i = 0; t && i < 3; i++)
    if (!strcmp(t, tab_names[i]))
      return (enum tab)i;
  return TAB_MISSING;
}

static const char *state_class(const char *state)
{
  if (!strcmp(state, "imported"))
    return "state state-idle";
  if (!strcmp(state, "given_up"))
    return "state state-error";
  if (!strcmp(state, "ignored"))
    return "state state-stopped";
  if (!strcmp(state, "wanted"))
    return "state state-idle";
  return "state state-active";
}

/* The last reason in plain words, or what the state means. */
static const char *reason_of(const struct wanted_item *w)
{
  if (w->reason[0])
    return w->reason;
  if (!strcmp(w->state, "wanted"))
    return w->auto_download ? "waiting for its first search"
                            : "waiting for you to press Search now";
  if (!strcmp(w->state, "searching"))
    return "looking for it on Soulseek";
  if (!strcmp(w->state, "downloading"))
    return "downloading";
  return "";
}

/* "Next try" column: when the dispatcher will ask for it. */
static void next_try(struct buf *b, const struct wanted_item *w, int64_t now)
{
  char rel[RELTIME_MAX];
  if (!strcmp(w->state, "wanted") && !w->auto_download)
    html_escape(b, "auf Anfrage");
  else if (!strcmp(w->state, "wanted"))
    html_escape(b, reltime_until_de(now, w->next_try_ms, rel, sizeof rel));
  else if (!strcmp(w->state, "searching") || !strcmp(w->state, "downloading"))
    html_escape(b, "l\xc3\xa4uft");
  else
    buf_puts(b, "\xe2\x80\x93");
}

static void button(struct buf *b, int64_t id, const char *action,
                   const char *label, enum tab tab)
{
  buf_printf(b,
             "<button type=\"button\" class=\"btn btn-small\" "
             "data-action=\"%s\" hx-post=\"" PAGE_PREFIX "%" PRId64
             "/%s?tab=%s\" hx-target=\"#wanted\" hx-swap=\"innerHTML\">",
             action, id, action, tab_names[tab]);
  html_escape(b, label);
  buf_puts(b, "</button> ");
}

static void html_row(struct buf *b, const struct wanted_item *w, int64_t now,
                     enum tab tab)
{
  buf_printf(b, "<tr id=\"wanted-%" PRId64 "\"><th scope=\"row\">", w->id);
  html_escape(b, w->kind == WANTED_TRACK ? "Track" : "Album");
  buf_puts(b, "</th><td class=\"msg\">");
  html_escape(b, w->artist);
  buf_puts(b, " \xe2\x80\x93 ");
  html_escape(b, w->title);
  if (w->current_quality[0]) {
    buf_puts(b, " <span class=\"muted small\">(");
    html_escape(b, w->current_quality);
    buf_puts(b, ")</span>");
  }
  buf_puts(b, "</td><td>");
  html_escape(b, w->source);
  buf_puts(b, "</td><td><span class=\"");
  buf_puts(b, state_class(w->state));
  buf_puts(b, "\"><span class=\"dot\" aria-hidden=\"true\"></span>");
  html_escape(b, w->state);
  buf_printf(b, "</span></td><td>%d</td><td>", w->attempts);
  next_try(b, w, now);
  buf_puts(b, "</td><td class=\"msg\">");
  html_escape(b, reason_of(w));
  buf_puts(b, "</td><td class=\"actions\">");
  bool open_search = !strcmp(w->state, "wanted") ||
                     !strcmp(w->state, "given_up");
  if (open_search)
    button(b, w->id, "search", "Search now", tab);
  if (strcmp(w->state, "ignored") && strcmp(w->state, "imported"))
    button(b, w->id, "ignore", "Ignore", tab);
  if (!strcmp(w->state, "given_up") || !strcmp(w->state, "ignored"))
    button(b, w->id, "retry", "Retry", tab);
  buf_puts(b, "</td></tr>\n");
}

/* One table of items in state (and source); empty says so. */
static void render_table(struct buf *b, struct db *db, const char *state,
                         const char *source, const char *heading,
                         const char *empty, enum tab tab)
{
  struct wanted_item *v = xcalloc(PAGE_ROWS, sizeof *v);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_wanted_list(db, state, source, 0, v, PAGE_ROWS, &n,
                                  &total);
  if (heading) {
    buf_puts(b, "<h3 class=\"small muted\">");
    html_escape(b, heading);
    buf_puts(b, "</h3>\n");
  }
  if (rc)
    buf_puts(b, "<p class=\"msg-error\">Could not read the Wanted list."
                "</p>\n");
  else if (!n)
    buf_printf(b, "<p class=\"muted\">%s</p>\n", empty);
  else
    buf_printf(b,
               "<div class=\"table-wrap\"><table class=\"table\" "
               "data-state=\"%s\"><thead><tr><th scope=\"col\">Kind"
               "</th><th scope=\"col\">Release</th><th scope=\"col\">"
               "Source</th><th scope=\"col\">State</th><th scope=\"col\">"
               "Attempts</th><th scope=\"col\">Next try</th>"
               "<th scope=\"col\">Last reason</th><th scope=\"col\">"
               "<span class=\"sr-only\">Actions</span></th></tr></thead>"
               "<tbody>\n",
               state);
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < n; i++)
    html_row(b, &v[i], now, tab);
  if (n)
    buf_printf(b,
               "</tbody></table></div>\n<p class=\"muted small\">"
               "%zu of %" PRId64 " shown</p>\n",
               n, total);
  free(v);
}

/* A tab's list: Missing (open, not upgrades), Upgrades (open upgrades),
 * Given up (given up, then ignored: where they are brought back). */
static void render_list(struct buf *b, struct db *db, enum tab tab,
                        const char *notice, bool notice_error)
{
  if (notice && notice[0]) {
    buf_printf(b, "<p class=\"%s\" role=\"status\">",
               notice_error ? "msg-error" : "msg-note");
    html_escape(b, notice);
    buf_puts(b, "</p>\n");
  }
  if (tab == TAB_MISSING)
    render_table(b, db, "open", "!quality_upgrade", NULL,
                 "Nothing is missing.", tab);
  else if (tab == TAB_UPGRADES)
    render_table(b, db, "open", "quality_upgrade", NULL,
                 "No quality upgrades are wanted.", tab);
  else {
    render_table(b, db, "given_up", NULL, NULL, "Nothing was given up.", tab);
    render_table(b, db, "ignored", NULL, "Ignored", "Nothing is ignored.",
                 tab);
  }
}

static void page_wanted(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  enum tab tab = tab_of(req);
  struct buf *b = &resp->body;
  pages_open(b, PAGES_WANTED, "Wanted",
             "What the library should have and does not yet: releases of "
             "watched artists, missing albums, playlist tracks, better "
             "copies and what you asked for.");
  buf_puts(b, "<nav class=\"tabs\" aria-label=\"Wanted\">");
  for (int i = 0; i < 3; i++) {
    buf_printf(b, "<a class=\"tab\" href=\"/wanted?tab=%s\"%s>", tab_names[i],
               i == (int)tab ? " aria-current=\"page\"" : "");
    html_escape(b, tab_labels[i]);
    buf_puts(b, "</a>");
  }
  buf_printf(b,
             "</nav>\n<section class=\"card\"><div class=\"card-head\">"
             "<h2>%s</h2><span class=\"muted small\">refreshes every "
             "5 s</span></div><div class=\"card-body\" id=\"wanted\" "
             "hx-get=\"/wanted/list?tab=%s\" hx-trigger=\"every 5s\" "
             "hx-swap=\"innerHTML\">\n",
             tab_labels[tab], tab_names[tab]);
  render_list(b, db, tab, NULL, false);
  buf_puts(b, "</div></section>\n");
  pages_close(b);
  db_close(db);
  api_finish_html(resp);
}

static void page_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  render_list(&resp->body, db, tab_of(req), NULL, false);
  db_close(db);
  api_finish_html(resp);
}

static void page_action(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  static const char *const done[] = {"", "Search started.", "Ignored.",
                                     "Back on the list."};
  const char *path = http_req_path(req);
  int64_t id = api_path_id(path, PAGE_PREFIX);
  enum action a = action_of(path);
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  char err[WANTED_REASON_MAX] = "no such wanted item";
  int rc = id > 0 && a != ACT_NONE ? run_action(db, a, id, err, sizeof err)
                                   : SS_ENOTFOUND;
  render_list(&resp->body, db, tab_of(req), rc == SS_OK ? done[a] : err,
              rc != SS_OK);
  db_close(db);
  api_finish_html(resp);
}

static const struct http_route routes[] = {
  {"GET", "/api/wanted", api_list},
  {"POST", "/api/wanted", api_create},
  {"GET", "/api/wanted/*", api_get},
  {"POST", "/api/wanted/*/search", api_action},
  {"POST", "/api/wanted/*/ignore", api_action},
  {"POST", "/api/wanted/*/retry", api_action},
  {"GET", "/wanted", page_wanted},
  {"GET", "/wanted/list", page_list},
  {"POST", "/wanted/*/search", page_action},
  {"POST", "/wanted/*/ignore", page_action},
  {"POST", "/wanted/*/retry", page_action},
};

const struct http_route *api_wanted_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
