/*
 * api_downloads.c - HTTP surface of the downloads domain.
 *
 *   POST   /api/downloads        {"query": "artist - title"} | {"album":
 *                                "artist - album"} | {"spotify_track_id":
 *                                id} | {"spotify_album_id": id} -> 201 with
 *                                the request; 400 with a reason (bad input,
 *                                a Spotify id not in the synced library)
 *   GET    /api/downloads[?state=&offset=&limit=]
 *                                {"total","offset","limit","downloads":[...]}
 *                                newest first, with state and progress
 *   GET    /api/downloads/{id}   one request with its files (requests carry
 *                                "sources": every source tried, in order,
 *                                with its state and newest failure)
 *   DELETE /api/downloads/{id}   cancel: 200 with the request; 404; 409 when
 *                                already finished
 *   GET    /downloads            the page: a request form and the list
 *   GET    /downloads/list       the list fragment (htmx polls it every 2 s)
 *   POST   /downloads            form kind=track|album&text=...: creates,
 *                                answers the list fragment with a notice
 *   POST   /downloads/{id}/cancel  cancels, answers the list fragment
 *   POST   /api/slskd/test       "Test connection": slskd's version and
 *                                whether it is logged in to Soulseek (JSON;
 *                                an HTML line for htmx requests)
 *
 * New requests and cancels wake the Download Monitor (run now), which does
 * all talking to slskd.  The one exception is the connection test, which
 * the user asks for explicitly: it makes one call (probe timeout, at most
 * 5 s) on the handler's thread, one test at a time (409 while one runs).
 *
 * Threading: handlers run on HTTP threads; each opens its own store
 * connection.  Every dynamic string is escaped (json_str / html_escape).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api.h"
#include "api/pages.h"
#include "clients/slskd.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/reltime.h"
#include "core/xalloc.h"
#include "db/db_downloads.h"
#include "downloads/requests.h"
#include "runtime/runtime.h"

#define PAGE_ROWS 50
#define LIST_MAX 200
#define FILES_MAX 200
#define API_PREFIX "/api/downloads/"
#define PAGE_PREFIX "/downloads/"
#define TEST_TIMEOUT_S 5 /* a test never holds an HTTP thread longer */

/* ---- plumbing ---- */

static const char *state_param(struct http_req *req)
{
  static const char *const states[] = {"pending",   "searching", "downloading",
                                       "completed", "failed",    "cancelled",
                                       NULL};
  const char *s = http_req_query(req, "state");
  for (const char *const *p = states; s && *p; p++)
    if (!strcmp(s, *p))
      return *p;
  return NULL;
}

static bool is_open(const char *state)
{
  return !strcmp(state, "pending") || !strcmp(state, "searching") ||
         !strcmp(state, "downloading");
}

static double progress_of(const struct dl_request_view *v)
{
  if (!strcmp(v->r.state, "completed"))
    return 100.0;
  if (v->bytes_total <= 0)
    return 0.0;
  double p = 100.0 * (double)v->bytes_done / (double)v->bytes_total;
  return p > 100.0 ? 100.0 : p;
}

static void wake_monitor(void)
{
  runtime_run_now(UNIT_DOWNLOAD_MONITOR); /* disabled: it waits */
}

/* ---- JSON ---- */

static void kv_str(struct buf *b, const char *key, const char *v, bool comma)
{
  buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
  json_str(b, v);
}

/* The request object without its closing brace. */
static void json_request_open(struct buf *b, const struct dl_request_view *v)
{
  const struct dl_request *r = &v->r;
  buf_printf(b, "{\"id\":%" PRId64 ",", r->id);
  kv_str(b, "kind", r->kind == DL_ALBUM ? "album" : "track", false);
  kv_str(b, "query", r->query, true);
  kv_str(b, "artist", r->artist, true);
  kv_str(b, "title", r->title, true);
  kv_str(b, "spotify_id", r->spotify_id, true);
  kv_str(b, "mb_release_group_id", r->mb_release_group_id, true);
  kv_str(b, "mb_release_id", r->mb_release_id, true);
  kv_str(b, "state", r->state, true);
  buf_puts(b, ",\"error\":");
  if (r->error[0])
    json_str(b, r->error);
  else
    buf_puts(b, "null");
  kv_str(b, "username", v->username, true);
  buf_printf(b,
             ",\"progress\":%.1f,\"bytes_done\":%" PRId64
             ",\"bytes_total\":%" PRId64 ",\"files_total\":%d,"
             "\"files_imported\":%d,\"files_failed\":%d,\"files_active\":%d,"
             "\"expected_tracks\":%d,\"created_ms\":%" PRId64
             ",\"updated_ms\":%" PRId64 ",\"finished_ms\":%" PRId64,
             progress_of(v), v->bytes_done, v->bytes_total, v->files_total,
             v->files_imported, v->files_failed, v->files_active,
             r->expected_tracks, r->created_ms, r->updated_ms, r->finished_ms);
}

static void json_file(struct buf *b, const struct dl_file *f)
{
  buf_printf(b, "{\"id\":%" PRId64 ",", f->id);
  kv_str(b, "username", f->username, false);
  kv_str(b, "filename", f->filename, true);
  kv_str(b, "state", f->state, true);
  kv_str(b, "slskd_state", f->slskd_state, true);
  kv_str(b, "error", f->error, true);
  kv_str(b, "library_path", !strcmp(f->state, "imported") ? f->import_dst : "",
         true);
  buf_printf(b,
             ",\"size\":%" PRId64 ",\"bytes\":%" PRId64
             ",\"percent\":%.1f,\"retries\":%d}",
             f->size, f->bytes, f->percent, f->retries);
}

/* ---- sources tried ---- */

#define SOURCES_MAX 12

/* "24 kB/s", "1.3 MB/s" */
static void speed_text(int64_t bytes_per_s, char *out, size_t n)
{
  if (bytes_per_s >= 1000000)
    snprintf(out, n, "%.1f MB/s", (double)bytes_per_s / 1e6);
  else
    snprintf(out, n, "%lld kB/s", (long long)(bytes_per_s / 1000));
}

static size_t load_sources(struct db *db, int64_t id, struct dl_source *s)
{
  size_t n = 0;
  if (db_dl_sources_of(db, id, s, SOURCES_MAX, &n) != SS_OK)
    return 0;
  return n;
}

/* ,"sources":[...]: every source the request asked files of, in the
 * order tried, with what became of them. */
static void json_sources(struct buf *b, struct db *db, int64_t id)
{
  struct dl_source *s = xmalloc(SOURCES_MAX * sizeof *s);
  size_t n = load_sources(db, id, s);
  buf_puts(b, ",\"sources\":[");
  for (size_t i = 0; i < n; i++) {
    buf_puts(b, i ? ",{" : "{");
    kv_str(b, "username", s[i].username, false);
    kv_str(b, "directory", s[i].directory, true);
    kv_str(b, "quality", s[i].quality, true);
    kv_str(b, "state", db_dl_source_state(&s[i]), true);
    buf_puts(b, ",\"error\":");
    if (s[i].error[0])
      json_str(b, s[i].error);
    else
      buf_puts(b, "null");
    buf_printf(b,
               ",\"rank\":%d,\"free_slot\":%s,\"queue_length\":%" PRId64
               ",\"upload_speed\":%" PRId64 ",\"files\":%d,\"imported\":%d,"
               "\"failed\":%d,\"first_tried_ms\":%" PRId64 "}",
               s[i].rank, s[i].free_slot ? "true" : "false", s[i].queue_length,
               s[i].upload_speed, s[i].files, s[i].imported, s[i].failed,
               s[i].first_ms);
  }
  buf_putc(b, ']');
  free(s);
}

static void json_request(struct buf *b, struct db *db,
                         const struct dl_request_view *v)
{
  json_request_open(b, v);
  json_sources(b, db, v->r.id);
  buf_putc(b, '}');
}

/* The sources tried, when there was more than one or one failed. */
static void html_sources(struct buf *b, struct db *db, int64_t id)
{
  struct dl_source *s = xmalloc(SOURCES_MAX * sizeof *s);
  size_t n = load_sources(db, id, s);
  bool show = n > 1 || (n == 1 && s[0].failed);
  if (show)
    buf_puts(b, "<ol class=\"dl-sources muted small\" "
                "aria-label=\"Sources tried\">");
  for (size_t i = 0; show && i < n; i++) {
    char speed[32];
    speed_text(s[i].upload_speed, speed, sizeof speed);
    buf_puts(b, "<li>");
    html_escape(b, s[i].username);
    buf_puts(b, " \xc2\xb7 ");
    html_escape(b, s[i].quality);
    buf_printf(b, " \xc2\xb7 %s%s \xc2\xb7 ", speed,
               s[i].free_slot ? ", free slot" : "");
    html_escape(b, db_dl_source_state(&s[i]));
    if (s[i].error[0]) {
      buf_puts(b, ": ");
      html_escape(b, s[i].error);
    }
    buf_puts(b, "</li>");
  }
  if (show)
    buf_puts(b, "</ol>");
  free(s);
}

/* ---- JSON handlers ---- */

static const char *const body_keys[] = {"query",
                                        "album",
                                        "spotify_track_id",
                                        "spotify_album_id",
                                        "mb_release_group_id",
                                        "mb_release_id"};
#define N_BODY_KEYS (sizeof body_keys / sizeof body_keys[0])

/* Reads the request body into in (strings borrowed from doc). */
static enum ss_err parse_new(json_t *doc, struct dl_new *in, char *err,
                             size_t n)
{
  const char **slots[N_BODY_KEYS] = {&in->query,
                                     &in->album,
                                     &in->spotify_track_id,
                                     &in->spotify_album_id,
                                     &in->mb_release_group_id,
                                     &in->mb_release_id};
  const char *key;
  json_t *v;
  memset(in, 0, sizeof *in);
  if (!json_is_object(doc)) {
    snprintf(err, n, "the body must be a JSON object");
    return SS_EINVAL;
  }
  json_object_foreach(doc, key, v)
  {
    size_t i = 0;
    while (i < N_BODY_KEYS && strcmp(key, body_keys[i]))
      i++;
    if (i == N_BODY_KEYS || !json_is_string(v)) {
      snprintf(err, n,
               i == N_BODY_KEYS ? "unknown field \"%.40s\""
                                : "%s must be a "
                                  "string",
               key);
      return SS_EINVAL;
    }
    *slots[i] = json_string_value(v);
  }
  return SS_OK;
}

static void reply_request(struct http_resp *resp, struct db *db, int64_t id,
                          int status)
{
  struct dl_request_view v;
  if (db_dl_request_get(db, id, &v) != SS_OK) {
    http_resp_error(resp, 500, "could not read the request");
    return;
  }
  resp->status = status;
  json_request(&resp->body, db, &v);
}

static void api_create(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  size_t len;
  const char *body = http_req_body(req, &len);
  char err[256] = "";
  struct dl_new in;
  json_t *doc = json_loadb(body, len, 0, NULL);
  int rc = doc ? parse_new(doc, &in, err, sizeof err) : SS_EINVAL;
  if (!doc)
    snprintf(err, sizeof err, "the body must be JSON");
  struct db *db = NULL;
  int64_t id = 0;
  if (!rc && api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    json_decref(doc);
    return;
  }
  if (!rc)
    rc = requests_create(db, &in, clock_wall_ms(), &id, err, sizeof err);
  if (rc == SS_OK) {
    char loc[64];
    snprintf(loc, sizeof loc, "/api/downloads/%" PRId64, id);
    http_resp_header(resp, "Location", loc);
    reply_request(resp, db, id, 201);
    wake_monitor();
  } else {
    http_resp_error(resp, rc == SS_EDB ? 500 : 400, err);
  }
  db_close(db);
  json_decref(doc);
}

static void api_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  int64_t offset = api_int_param(req, "offset", 0, INT32_MAX);
  int64_t limit = api_int_param(req, "limit", PAGE_ROWS, LIST_MAX);
  struct dl_request_view *v = xmalloc((size_t)(limit ? limit : 1) * sizeof *v);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_dl_request_list(db, state_param(req), offset, v,
                                      (size_t)limit, &n, &total);
  struct buf *b = &resp->body;
  buf_printf(b,
             "{\"total\":%" PRId64 ",\"offset\":%" PRId64 ",\"limit\":%" PRId64
             ",\"downloads\":[",
             total, offset, limit);
  for (size_t i = 0; i < n; i++) {
    if (i)
      buf_putc(b, ',');
    json_request(b, db, &v[i]);
  }
  buf_puts(b, "]}");
  free(v);
  db_close(db);
  if (rc) {
    buf_reset(b);
    http_resp_error(resp, 500, "could not read the downloads");
  }
}

static void api_get(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  int64_t id = api_path_id(http_req_path(req), API_PREFIX);
  struct db *db = NULL;
  struct dl_request_view v;
  if (id <= 0 || strchr(http_req_path(req) + strlen(API_PREFIX), '/')) {
    http_resp_error(resp, 404, "no such download");
    return;
  }
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  if (db_dl_request_get(db, id, &v) != SS_OK) {
    http_resp_error(resp, 404, "no such download");
    db_close(db);
    return;
  }
  struct dl_files fl;
  json_request_open(&resp->body, &v);
  json_sources(&resp->body, db, id);
  buf_puts(&resp->body, ",\"files\":[");
  if (db_dl_files_of(db, id, &fl, FILES_MAX) == SS_OK) {
    for (size_t i = 0; i < fl.n; i++) {
      if (i)
        buf_putc(&resp->body, ',');
      json_file(&resp->body, &fl.v[i]);
    }
    db_dl_files_free(&fl);
  }
  buf_puts(&resp->body, "]}");
  db_close(db);
}

static enum ss_err cancel(struct db *db, int64_t id, const char **why)
{
  enum ss_err rc = db_dl_request_cancel(db, id, clock_wall_ms());
  *why = rc == SS_OK          ? "cancelled"
         : rc == SS_ENOTFOUND ? "no such download"
         : rc == SS_ESTATE    ? "the download has already finished"
                              : "could not cancel";
  if (rc == SS_OK)
    wake_monitor();
  return rc;
}

static void api_cancel(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  int64_t id = api_path_id(http_req_path(req), API_PREFIX);
  struct db *db = NULL;
  const char *why;
  if (id <= 0) {
    http_resp_error(resp, 404, "no such download");
    return;
  }
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  int rc = cancel(db, id, &why);
  if (rc == SS_OK)
    reply_request(resp, db, id, 200);
  else
    http_resp_error(resp,
                    rc == SS_ENOTFOUND ? 404
                    : rc == SS_ESTATE  ? 409
                                       : 500,
                    why);
  db_close(db);
}

/* ---- the page ---- */

static const char *state_class(const char *state)
{
  if (!strcmp(state, "completed"))
    return "state state-idle";
  if (!strcmp(state, "failed"))
    return "state state-error";
  if (!strcmp(state, "cancelled"))
    return "state state-stopped";
  return "state state-active";
}

static void html_row(struct buf *b, struct db *db,
                     const struct dl_request_view *v, int64_t now)
{
  const struct dl_request *r = &v->r;
  char rel[RELTIME_MAX];
  double pct = progress_of(v);
  buf_printf(b, "<tr id=\"dl-%" PRId64 "\"><th scope=\"row\">", r->id);
  html_escape(b, r->kind == DL_ALBUM ? "Album" : "Track");
  buf_puts(b, "</th><td class=\"msg\">");
  html_escape(b, r->artist[0] ? r->artist : r->query);
  if (r->artist[0] && r->title[0]) {
    buf_puts(b, " \xe2\x80\x93 ");
    html_escape(b, r->title);
  }
  buf_puts(b, "</td><td><span class=\"");
  buf_puts(b, state_class(r->state));
  buf_puts(b, "\"><span class=\"dot\" aria-hidden=\"true\"></span>");
  html_escape(b, r->state);
  buf_printf(b,
             "</span></td><td><progress max=\"100\" value=\"%.0f\">"
             "%.0f %%</progress> %.0f %%</td><td>%d / %d</td><td>",
             pct, pct, pct, v->files_imported, v->files_total);
  html_escape(b, v->username[0] ? v->username : "\xe2\x80\x93");
  buf_puts(b, "</td><td class=\"msg\">");
  html_escape(b, r->error);
  html_sources(b, db, r->id);
  buf_puts(b, "</td><td>");
  html_escape(b, reltime_de(now, r->created_ms, rel, sizeof rel));
  buf_puts(b, "</td><td class=\"actions\">");
  if (is_open(r->state))
    buf_printf(b,
               "<button type=\"button\" class=\"btn btn-small\" "
               "hx-post=\"/downloads/%" PRId64 "/cancel\" "
               "hx-target=\"#downloads\" hx-swap=\"innerHTML\">"
               "Cancel</button>",
               r->id);
  buf_puts(b, "</td></tr>\n");
}

static void render_list(struct buf *b, struct db *db, const char *notice,
                        bool notice_error)
{
  struct dl_request_view *v = xmalloc(PAGE_ROWS * sizeof *v);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_dl_request_list(db, NULL, 0, v, PAGE_ROWS, &n, &total);
  if (notice && notice[0]) {
    buf_printf(b, "<p class=\"%s\" role=\"status\">",
               notice_error ? "msg-error" : "msg-note");
    html_escape(b, notice);
    buf_puts(b, "</p>\n");
  }
  if (rc)
    buf_puts(b, "<p class=\"msg-error\">Could not read the downloads.</p>\n");
  else if (!n)
    buf_puts(b, "<p class=\"muted\">No downloads yet.</p>\n");
  else
    buf_puts(b, "<div class=\"table-wrap\"><table class=\"table\">"
                "<thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">"
                "Request</th><th scope=\"col\">State</th><th scope=\"col\">"
                "Progress</th><th scope=\"col\">Files</th><th scope=\"col\">"
                "Peer</th><th scope=\"col\">Note</th><th scope=\"col\">"
                "Asked</th><th scope=\"col\"><span class=\"sr-only\">"
                "Actions</span></th></tr></thead><tbody>\n");
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < n; i++)
    html_row(b, db, &v[i], now);
  if (n)
    buf_printf(b,
               "</tbody></table></div>\n<p class=\"muted small\">"
               "%zu of %" PRId64 " shown</p>\n",
               n, total);
  free(v);
}

static void page_downloads(struct http_req *req, struct http_resp *resp,
                           void *ctx)
{
  (void)req;
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  struct buf *b = &resp->body;
  pages_open(b, PAGES_DOWNLOADS, "Downloads",
             "Ask for a track or an album; slskd finds, downloads "
             "and soulspotd files it into the library.");
  buf_puts(b, "<section class=\"card\"><div class=\"card-head\"><h2>"
              "New download</h2></div><div class=\"card-body\">"
              "<form hx-post=\"/downloads\" hx-target=\"#downloads\" "
              "hx-swap=\"innerHTML\"><div class=\"field\"><div "
              "class=\"field-text\"><label class=\"field-label\" "
              "for=\"dl-text\">Artist \xe2\x80\x93 title (or album)</label>"
              "</div><div class=\"field-control\"><input type=\"text\" "
              "id=\"dl-text\" name=\"text\" maxlength=\"300\" required "
              "autocomplete=\"off\" placeholder=\"Artist - Title\"> "
              "<select name=\"kind\" aria-label=\"Kind\"><option "
              "value=\"track\">Track</option><option value=\"album\">"
              "Album</option></select> <button type=\"submit\" "
              "class=\"btn btn-small\"><i class=\"bi bi-download\" "
              "aria-hidden=\"true\"></i> Download</button></div></div>"
              "</form></div></section>\n"
              "<section class=\"card\"><div class=\"card-head\"><h2>"
              "Requests</h2><span class=\"muted small\">refreshes every "
              "2 s</span></div><div class=\"card-body\" id=\"downloads\" "
              "hx-get=\"/downloads/list\" hx-trigger=\"every 2s\" "
              "hx-swap=\"innerHTML\">\n");
  render_list(b, db, NULL, false);
  buf_puts(b, "</div></section>\n");
  pages_close(b);
  db_close(db);
  api_finish_html(resp);
}

static void page_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  render_list(&resp->body, db, NULL, false);
  db_close(db);
  api_finish_html(resp);
}

static void page_create(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  char *kind = http_req_form_value(req, "kind");
  char *text = http_req_form_value(req, "text");
  char err[256] = "";
  struct dl_new in = {0};
  if (kind && !strcmp(kind, "album"))
    in.album = text ? text : "";
  else
    in.query = text ? text : "";
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
  } else {
    int64_t id;
    enum ss_err rc = requests_create(db, &in, clock_wall_ms(), &id, err,
                                     sizeof err);
    if (rc == SS_OK) {
      wake_monitor();
      snprintf(err, sizeof err, "Requested: %s", text);
    }
    render_list(&resp->body, db, err, rc != SS_OK);
    api_finish_html(resp);
  }
  db_close(db);
  free(kind);
  free(text);
}

static void page_cancel(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  int64_t id = api_path_id(http_req_path(req), PAGE_PREFIX);
  struct db *db = NULL;
  const char *why = "no such download";
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  int rc = id > 0 ? cancel(db, id, &why) : SS_ENOTFOUND;
  render_list(&resp->body, db, why, rc != SS_OK);
  db_close(db);
  api_finish_html(resp);
}

/* ---- Test connection ---- */

static atomic_bool testing;

static void test_html(struct buf *b, enum ss_err rc,
                      const struct slskd_app *app, const char *error, long ms)
{
  if (rc) {
    buf_puts(b, "<span class=\"msg-error\">");
    html_escape(b, error);
  } else {
    buf_puts(b, app->logged_in ? "<span class=\"msg-note\">"
                               : "<span class=\"msg-error\">");
    html_escapef(b, "slskd %s answered in %ld ms \xc2\xb7 %s", app->version,
                 ms,
                 app->logged_in ? "logged in to Soulseek"
                                : "NOT logged in to Soulseek");
    if (app->server_state[0])
      html_escapef(b, " (%s)", app->server_state);
  }
  buf_puts(b, "</span>");
}

static void test_json(struct buf *b, enum ss_err rc,
                      const struct slskd_app *app, const char *error, long ms)
{
  buf_printf(b, "{\"ok\":%s,\"latency_ms\":%ld,",
             rc == SS_OK && app->logged_in ? "true" : "false", ms);
  if (rc) {
    kv_str(b, "error", error, false);
    buf_putc(b, '}');
    return;
  }
  kv_str(b, "version", app->version, false);
  buf_printf(b, ",\"logged_in\":%s", app->logged_in ? "true" : "false");
  kv_str(b, "server_state", app->server_state, true);
  kv_str(b, "username", app->username, true);
  buf_putc(b, '}');
}

static void api_slskd_test(struct http_req *req, struct http_resp *resp,
                           void *ctx)
{
  (void)ctx;
  const char *hx = http_req_header(req, "HX-Request");
  bool html = hx && !strcmp(hx, "true");
  if (atomic_exchange(&testing, true)) {
    http_resp_error(resp, 409, "a connection test is already running");
    return;
  }
  char url[SETTING_STR_MAX], key[SETTING_STR_MAX], error[SLSKD_ERROR_MAX];
  struct slskd_app app;
  memset(&app, 0, sizeof app);
  settings_str(S_SLSKD_URL, url, sizeof url);
  settings_str(S_SLSKD_API_KEY, key, sizeof key);
  int rc = SS_ESTATE;
  long ms = 0;
  if (!url[0]) {
    snprintf(error, sizeof error, "slskd.url is not set");
  } else {
    struct slskd *c = slskd_new(url, key);
    int64_t t = settings_int(S_PROBE_TIMEOUT_SECONDS);
    slskd_set_timeout(c, (t < TEST_TIMEOUT_S ? t : TEST_TIMEOUT_S) * 1000);
    rc = slskd_application(c, &app);
    ms = slskd_last_elapsed_ms(c);
    snprintf(error, sizeof error, "%s", slskd_last_error(c));
    slskd_free(c);
  }
  memset(key, 0, sizeof key);
  atomic_store(&testing, false);
  if (html) {
    test_html(&resp->body, rc, &app, error, ms);
    api_finish_html(resp);
  } else {
    test_json(&resp->body, rc, &app, error, ms);
  }
}

static const struct http_route routes[] = {
  {"POST", "/api/downloads", api_create},
  {"GET", "/api/downloads", api_list},
  {"GET", "/api/downloads/*", api_get},
  {"DELETE", "/api/downloads/*", api_cancel},
  {"GET", "/downloads", page_downloads},
  {"GET", "/downloads/list", page_list},
  {"POST", "/downloads", page_create},
  {"POST", "/downloads/*/cancel", page_cancel},
  {"POST", "/api/slskd/test", api_slskd_test},
};

const struct http_route *api_downloads_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
