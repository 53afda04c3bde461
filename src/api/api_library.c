/*
 * api_library.c - the library's HTTP surface: the duplicate review page and
 * its JSON API.
 *
 *   GET  /library/duplicates[?status=open|resolved|dismissed&offset=N]
 *                                       the review page
 *   GET  /library/duplicates/list?...   its list fragment (htmx)
 *   POST /library/duplicates/{id}/keep|resolve|undo|dismiss
 *                                       form actions; answer the fragment
 *                                       with a notice (always 200)
 *   GET  /api/library/duplicates[?status=&offset=&limit=]
 *                                       {"status","total","offset","limit",
 *                                        "library":{...},"groups":[...]}
 *   GET  /api/library/duplicates/{id}   one group
 *   GET  /library/unreadable[?offset=N] the files the scanner could not
 *                                       read, with the reason (page)
 *   GET  /api/library/unreadable[?offset=&limit=]
 *                                       {"total","offset","limit","tracks":
 *                                        [{"track_id","path","size",
 *                                          "unreadable","unreadable_reason"}]}
 *   POST /api/library/duplicates/{id}/keep     {"keep": track_id}
 *   POST /api/library/duplicates/{id}/resolve  [{"keep": track_id}]
 *   POST /api/library/duplicates/{id}/undo
 *   POST /api/library/duplicates/{id}/dismiss
 *                                       {"ok","message","moved","failed",
 *                                        "group"}; 404 unknown group or
 *                                       track, 409 wrong state or a taken
 *                                       path, 500 when files could not move
 * Bodies may be JSON or form-encoded (keep=ID).
 *
 * Threading: handlers run on HTTP threads; each request opens its own
 * store connection (db.h: one per thread) and closes it.  A resolution
 * moves files on the handler's thread (a rename; a copy only when the
 * quarantine is on another file system).
 *
 * Every dynamic string is escaped (json_str / html_escape).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api.h"
#include "api/pages.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/reltime.h"
#include "core/xalloc.h"
#include "db/db_library.h"
#include "library/dupes.h"
#include "library/quarantine.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define PAGE_DEFAULT 25
#define PAGE_MAX 100
#define SHOW_MEMBERS 64
#define API_PREFIX "/api/library/duplicates/"
#define PAGE_PREFIX "/library/duplicates/"

/* ---- plumbing ---- */

static int http_status_of(enum ss_err rc)
{
  switch (rc) {
  case SS_OK: return 200;
  case SS_ENOTFOUND: return 404;
  case SS_EINVAL: return 400;
  case SS_ESTATE:
  case SS_EBUSY: return 409;
  default: return 500;
  }
}

static const char *status_param(struct http_req *req)
{
  const char *s = http_req_query(req, "status");
  if (s && (!strcmp(s, "resolved") || !strcmp(s, "dismissed")))
    return s;
  return "open";
}

/* "keep" from a JSON body ({"keep": 12}) or a form body (keep=12); 0 when
 * absent, -1 when malformed. */
static int64_t body_keep(struct http_req *req)
{
  size_t len;
  const char *body = http_req_body(req, &len);
  if (!len)
    return 0;
  const char *ct = http_req_header(req, "Content-Type");
  if (ct && !strncasecmp(ct, "application/json", 16)) {
    json_t *doc = json_loadb(body, len, 0, NULL);
    json_t *v = json_object_get(doc, "keep");
    int64_t keep = !doc ? -1
                   : !v ? 0
                   : json_is_integer(v) && json_integer_value(v) > 0
                     ? json_integer_value(v)
                     : -1;
    json_decref(doc);
    return keep;
  }
  char *v = http_req_form_value(req, "keep");
  if (!v)
    return 0;
  char *end;
  long long keep = strtoll(v, &end, 10);
  bool ok = *v && !*end && keep > 0;
  free(v);
  return ok ? keep : -1;
}

/* ---- a group's members, in keep-best order ---- */

struct member_list {
  struct library_track *t;
  size_t n;
};

static void collect_member(void *arg, const struct library_track *t)
{
  struct member_list *m = arg;
  if (m->n < SHOW_MEMBERS)
    m->t[m->n++] = *t;
}

static struct dupes_quality quality_of(const struct library_track *t)
{
  return (struct dupes_quality){t->id,
                                t->media.lossless,
                                t->media.bit_depth,
                                t->media.sample_rate,
                                t->media.bitrate,
                                t->media.duration_ms,
                                media_tag_score(&t->media)};
}

static int cmp_rank(const void *a, const void *b)
{
  struct dupes_quality x = quality_of(a), y = quality_of(b);
  return dupes_quality_cmp(&x, &y);
}

static enum ss_err load_members(struct db *db, int64_t gid,
                                struct member_list *m)
{
  m->t = xmalloc(SHOW_MEMBERS * sizeof *m->t);
  m->n = 0;
  enum ss_err rc = db_library_group_members(db, gid, collect_member, m);
  qsort(m->t, m->n, sizeof *m->t, cmp_rank);
  return rc;
}

static int64_t keeper_of(const struct library_group *g)
{
  return g->keep ? g->keep : g->suggested_keep;
}

/* ---- JSON ---- */

static void json_kv_str(struct buf *b, const char *key, const char *v)
{
  buf_printf(b, "\"%s\":", key);
  json_str(b, v);
}

/* ",\"unreadable\":BOOL,\"unreadable_reason\":TEXT" of a track. */
static void json_unreadable_fields(struct buf *b,
                                   const struct library_track *t)
{
  buf_printf(b, ",\"unreadable\":%s,", t->unreadable ? "true" : "false");
  json_kv_str(b, "unreadable_reason", t->unreadable_reason);
}

static void json_member(struct buf *b, const struct library_track *t,
                        const struct library_group *g)
{
  const struct media_info *m = &t->media;
  buf_printf(b, "{\"track_id\":%" PRId64 ",", t->id);
  json_kv_str(b, "path", t->path);
  buf_printf(b, ",\"size\":%" PRId64 ",", t->size);
  json_kv_str(b, "codec", m->codec);
  buf_putc(b, ',');
  json_kv_str(b, "container", m->container);
  buf_printf(b,
             ",\"lossless\":%s,\"bitrate\":%" PRId64 ",\"sample_rate\":%d,"
             "\"bit_depth\":%d,\"channels\":%d,\"duration_ms\":%" PRId64 ",",
             m->lossless ? "true" : "false", m->bitrate, m->sample_rate,
             m->bit_depth, m->channels, m->duration_ms);
  json_kv_str(b, "title", m->title);
  buf_putc(b, ',');
  json_kv_str(b, "artist", m->artist);
  buf_putc(b, ',');
  json_kv_str(b, "album", m->album);
  json_unreadable_fields(b, t);
  buf_printf(b,
             ",\"tag_score\":%d,\"gone\":%s,\"quarantined\":%s,"
             "\"suggested\":%s,\"keep\":%s}",
             media_tag_score(m), t->gone ? "true" : "false",
             t->quarantined ? "true" : "false",
             t->id == g->suggested_keep ? "true" : "false",
             t->id == keeper_of(g) ? "true" : "false");
}

static enum ss_err json_quarantine(struct buf *b, struct db *db, int64_t gid)
{
  struct library_quarantine_entry *e = xmalloc(SHOW_MEMBERS * sizeof *e);
  size_t n = 0;
  enum ss_err rc = db_library_quarantine_of_group(db, gid, e, SHOW_MEMBERS,
                                                  &n);
  buf_puts(b, "\"quarantine\":[");
  for (size_t i = 0; i < n; i++) {
    buf_printf(b, "%s{\"id\":%" PRId64 ",\"track_id\":%" PRId64 ",",
               i ? "," : "", e[i].id, e[i].track_id);
    json_kv_str(b, "original_path", e[i].original_path);
    buf_putc(b, ',');
    json_kv_str(b, "quarantine_path", e[i].quarantine_path);
    buf_printf(b, ",\"size\":%" PRId64 ",\"moved_ms\":%" PRId64 "}", e[i].size,
               e[i].moved_ms);
  }
  buf_putc(b, ']');
  free(e);
  return rc;
}

static enum ss_err json_group(struct buf *b, struct db *db,
                              const struct library_group *g)
{
  buf_printf(b, "{\"id\":%" PRId64 ",", g->id);
  json_kv_str(b, "key", g->key);
  buf_putc(b, ',');
  json_kv_str(b, "method", g->method);
  buf_putc(b, ',');
  json_kv_str(b, "label", g->label);
  buf_putc(b, ',');
  json_kv_str(b, "status", g->status);
  buf_printf(b,
             ",\"suggested_keep\":%" PRId64 ",\"keep\":%" PRId64
             ",\"first_seen_ms\":%" PRId64 ",\"last_seen_ms\":%" PRId64
             ",\"resolved_ms\":%" PRId64 ",\"member_count\":%" PRId64
             ",\"members\":[",
             g->suggested_keep, keeper_of(g), g->first_seen_ms,
             g->last_seen_ms, g->resolved_ms, g->n_members);
  struct member_list m;
  enum ss_err rc = load_members(db, g->id, &m);
  for (size_t i = 0; i < m.n; i++) {
    if (i)
      buf_putc(b, ',');
    json_member(b, &m.t[i], g);
  }
  free(m.t);
  buf_puts(b, "],");
  if (!rc)
    rc = json_quarantine(b, db, g->id);
  buf_putc(b, '}');
  return rc;
}

static void json_counts(struct buf *b, struct db *db)
{
  struct library_counts c = {0};
  db_library_counts(db, &c);
  buf_printf(b,
             "\"library\":{\"tracks\":%" PRId64 ",\"unreadable\":%" PRId64
             ",\"gone\":%" PRId64 ",\"quarantined\":%" PRId64 "}",
             c.live, c.unreadable, c.gone, c.quarantined);
}

/* ---- HTML ---- */

static const char *relative(const char *path, const char *root)
{
  size_t n = strlen(root);
  if (n && !strncmp(path, root, n) && path[n] == '/')
    return path + n + 1;
  return path;
}

static void html_quality(struct buf *b, const struct media_info *m)
{
  buf_puts(b, "<td>");
  html_escape(b, m->codec[0] ? m->codec : "?");
  buf_puts(b, m->lossless ? " <span class=\"badge badge-set\">lossless"
                            "</span>"
                          : "");
  buf_printf(b, "</td><td>%" PRId64 " kbit/s</td><td>", m->bitrate / 1000);
  if (m->bit_depth)
    buf_printf(b, "%d bit / ", m->bit_depth);
  buf_printf(b, "%.1f kHz</td><td>%" PRId64 ":%02" PRId64 "</td>",
             m->sample_rate / 1000.0, m->duration_ms / 60000,
             m->duration_ms / 1000 % 60);
}

static void html_member(struct buf *b, const struct library_track *t,
                        const struct library_group *g, const char *root,
                        bool open)
{
  buf_puts(b, "<tr><td>");
  if (open && !t->gone) {
    buf_printf(b,
               "<input type=\"radio\" name=\"keep\" value=\"%" PRId64
               "\"%s aria-label=\"Keep ",
               t->id, t->id == keeper_of(g) ? " checked" : "");
    html_escape(b, relative(t->path, root));
    buf_puts(b, "\">");
  } else if (t->id == keeper_of(g)) {
    buf_puts(b, "kept");
  }
  buf_puts(b, "</td><td class=\"msg\">");
  html_escape(b, relative(t->path, root));
  if (t->id == g->suggested_keep)
    buf_puts(b, " <span class=\"badge badge-set\">suggested</span>");
  if (t->quarantined)
    buf_puts(b, " <span class=\"msg-note\">(in quarantine)</span>");
  else if (t->gone)
    buf_puts(b, " <span class=\"msg-note\">(missing)</span>");
  buf_puts(b, "</td>");
  html_quality(b, &t->media);
  buf_printf(b, "<td>%.1f MB</td><td>%d/9</td></tr>\n", (double)t->size / 1e6,
             media_tag_score(&t->media));
}

static void html_button(struct buf *b, int64_t gid, const char *action,
                        const char *status, const char *icon, const char *text)
{
  buf_printf(b,
             "<button type=\"button\" class=\"btn btn-small\" "
             "data-action=\"%s\" hx-post=\"/library/duplicates/%" PRId64
             "/%s?status=%s\" hx-include=\"closest form\" "
             "hx-target=\"#dupes\" hx-swap=\"innerHTML\">"
             "<i class=\"bi %s\" aria-hidden=\"true\"></i> ",
             action, gid, action, status, icon);
  html_escape(b, text);
  buf_puts(b, "</button> ");
}

static bool has_quarantined(struct db *db, int64_t gid)
{
  struct library_quarantine_entry *e = xmalloc(sizeof *e);
  size_t n = 0;
  db_library_quarantine_of_group(db, gid, e, 1, &n);
  free(e);
  return n > 0;
}

static void html_group(struct buf *b, struct db *db,
                       const struct library_group *g, const char *root,
                       int64_t now_ms)
{
  bool open = !strcmp(g->status, "open");
  char rel[RELTIME_MAX];
  buf_printf(b,
             "<section class=\"card\" id=\"group-%" PRId64
             "\" data-group=\"%" PRId64 "\" data-status=\"",
             g->id, g->id);
  html_escape(b, g->status);
  buf_puts(b, "\"><div class=\"card-head\"><h2>");
  html_escape(b, g->label);
  buf_puts(b, "</h2><span class=\"muted small\">");
  html_escape(b, g->method);
  buf_printf(b, " \xc2\xb7 %" PRId64 " copies \xc2\xb7 ", g->n_members);
  html_escape(b, reltime_de(now_ms, g->first_seen_ms, rel, sizeof rel));
  buf_puts(b, "</span></div>\n<form class=\"card-body\">"
              "<div class=\"table-wrap\"><table class=\"table\"><thead><tr>"
              "<th scope=\"col\">Keep</th><th scope=\"col\">File</th>"
              "<th scope=\"col\">Codec</th><th scope=\"col\">Bitrate</th>"
              "<th scope=\"col\">Resolution</th><th scope=\"col\">Length</th>"
              "<th scope=\"col\">Size</th><th scope=\"col\">Tags</th>"
              "</tr></thead><tbody>\n");
  struct member_list m;
  load_members(db, g->id, &m);
  for (size_t i = 0; i < m.n; i++)
    html_member(b, &m.t[i], g, root, open);
  free(m.t);
  buf_puts(b, "</tbody></table></div><p>");
  if (open) {
    html_button(b, g->id, "keep", g->status, "bi-check-circle-fill",
                "Save choice");
    html_button(b, g->id, "resolve", g->status, "bi-trash3",
                "Keep selected, quarantine the others");
    html_button(b, g->id, "dismiss", g->status, "bi-x-circle-fill",
                "Not duplicates");
  }
  if (!strcmp(g->status, "dismissed"))
    html_button(b, g->id, "reopen", g->status, "bi-arrow-repeat",
                "Review again");
  else if (has_quarantined(db, g->id))
    html_button(b, g->id, "undo", g->status, "bi-arrow-repeat",
                "Undo: move the copies back");
  buf_puts(b, "</p></form></section>\n");
}

static void html_tabs(struct buf *b, const char *status, const int64_t *totals)
{
  static const char *const names[3] = {"open", "resolved", "dismissed"};
  static const char *const labels[3] = {"Open", "Resolved", "Dismissed"};
  buf_puts(b, "<nav class=\"tabs\" aria-label=\"Findings\">");
  for (int i = 0; i < 3; i++) {
    bool current = !strcmp(status, names[i]);
    buf_printf(b,
               "<a class=\"tab\" href=\"/library/duplicates?status=%s\"%s>"
               "%s (%" PRId64 ")</a>",
               names[i], current ? " aria-current=\"page\"" : "", labels[i],
               totals[i]);
  }
  buf_puts(b, "</nav>\n");
}

/* The library folder as the scanner stores paths (resolved), for showing
 * paths relative to it. */
static void library_root(char root[PATH_MAX])
{
  char lib[SETTING_STR_MAX];
  settings_str(S_LIBRARY_PATH, lib, sizeof lib);
  if (!lib[0] || !realpath(lib, root))
    snprintf(root, PATH_MAX, "%s", lib);
}

/* The list fragment: tabs, an optional notice, the groups of status. */
static enum ss_err render_list(struct buf *b, struct db *db,
                               const char *status, int64_t offset,
                               const char *notice, bool notice_error)
{
  static const char *const names[3] = {"open", "resolved", "dismissed"};
  int64_t totals[3] = {0}, status_total = 0;
  struct library_group *g = xmalloc(PAGE_DEFAULT * sizeof *g);
  size_t n = 0, k;
  enum ss_err rc = SS_OK;
  for (int i = 0; i < 3 && !rc; i++) /* max 0: counts only */
    rc = db_library_groups_list(db, names[i], 0, g, 0, &k, &totals[i]);
  if (!rc)
    rc = db_library_groups_list(db, status, offset, g, PAGE_DEFAULT, &n,
                                &status_total);
  html_tabs(b, status, totals);
  if (notice && notice[0]) {
    buf_printf(b, "<p class=\"%s\" role=\"status\">",
               notice_error ? "msg-error" : "msg-note");
    html_escape(b, notice);
    buf_puts(b, "</p>\n");
  }
  char root[PATH_MAX];
  library_root(root);
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < n; i++)
    html_group(b, db, &g[i], root, now);
  if (!n && !rc)
    buf_puts(b, "<p class=\"muted\">Nothing here.</p>\n");
  if (offset + (int64_t)n < status_total)
    buf_printf(b,
               "<p><a class=\"btn btn-small\" href=\"/library/duplicates"
               "?status=%s&amp;offset=%" PRId64 "\">More</a></p>\n",
               status, offset + (int64_t)n);
  free(g);
  return rc;
}

/* ---- handlers: pages ---- */

static void finish_html(struct http_resp *resp)
{
  resp->content_type = HTML_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
}

static void page_duplicates(struct http_req *req, struct http_resp *resp,
                            void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  const char *status = status_param(req);
  char qdir[SETTING_STR_MAX], lead[SETTING_STR_MAX + 160];
  quarantine_dir(qdir, sizeof qdir);
  snprintf(lead, sizeof lead,
           "Findings of the Duplicate Detector. Resolving moves the other "
           "copies to %s; every resolution can be undone.",
           qdir);
  pages_open(&resp->body, PAGES_LIBRARY, "Duplicates", lead);
  buf_puts(&resp->body,
           "<p><button type=\"button\" class=\"btn btn-small\" data-run-now "
           "hx-post=\"/api/workers/duplicate_detector/run\" hx-swap=\"none\">"
           "<i class=\"bi bi-arrow-repeat\" aria-hidden=\"true\"></i> "
           "Scan now</button>");
  size_t none;
  int64_t unreadable = 0;
  if (!db_library_unreadable_list(db, 0, NULL, 0, &none, &unreadable) &&
      unreadable > 0)
    buf_printf(&resp->body,
               " <a href=\"/library/unreadable\">%" PRId64
               " files could not be read</a>",
               unreadable);
  buf_puts(&resp->body, "</p>\n<div id=\"dupes\">\n");
  render_list(&resp->body, db, status,
              api_int_param(req, "offset", 0, INT32_MAX), NULL, false);
  buf_puts(&resp->body, "</div>\n");
  pages_close(&resp->body);
  db_close(db);
  finish_html(resp);
}

static void page_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  render_list(&resp->body, db, status_param(req),
              api_int_param(req, "offset", 0, INT32_MAX), NULL, false);
  db_close(db);
  finish_html(resp);
}

/* ---- actions (shared by the JSON API and the page) ---- */

enum action { ACT_KEEP, ACT_RESOLVE, ACT_UNDO, ACT_DISMISS, ACT_REOPEN };

static enum action action_of(const char *path)
{
  const char *last = strrchr(path, '/');
  last = last ? last + 1 : path;
  if (!strcmp(last, "keep"))
    return ACT_KEEP;
  if (!strcmp(last, "resolve"))
    return ACT_RESOLVE;
  if (!strcmp(last, "undo"))
    return ACT_UNDO;
  if (!strcmp(last, "reopen"))
    return ACT_REOPEN;
  return ACT_DISMISS;
}

static enum ss_err run_action(struct db *db, enum action a, int64_t gid,
                              int64_t keep, struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  int64_t now = clock_wall_ms();
  struct library_group g;
  char lib[SETTING_STR_MAX], qdir[SETTING_STR_MAX];
  settings_str(S_LIBRARY_PATH, lib, sizeof lib);
  quarantine_dir(qdir, sizeof qdir);
  enum ss_err rc;
  switch (a) {
  case ACT_RESOLVE:
    return quarantine_resolve(db, gid, keep, lib, qdir, now, res);
  case ACT_UNDO: return quarantine_undo(db, gid, lib, qdir, now, res);
  case ACT_KEEP:
    if (keep <= 0) {
      snprintf(res->message, sizeof res->message, "no copy chosen");
      return SS_EINVAL;
    }
    rc = db_library_group_set_keep(db, gid, keep);
    snprintf(res->message, sizeof res->message, "%s",
             rc == SS_OK ? "choice saved" : "not a copy of this group");
    return rc;
  default:
    if ((rc = db_library_group_get(db, gid, &g))) {
      snprintf(res->message, sizeof res->message, "no such group");
      return rc;
    }
    if (strcmp(g.status, a == ACT_REOPEN ? "dismissed" : "open")) {
      snprintf(res->message, sizeof res->message, "group is %s", g.status);
      return SS_ESTATE;
    }
    rc = db_library_group_set_status(db, gid,
                                     a == ACT_REOPEN ? "open" : "dismissed",
                                     now);
    snprintf(res->message, sizeof res->message, "%s",
             a == ACT_REOPEN ? "open again" : "dismissed: not reported again");
    return rc;
  }
}

static void api_action(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *path = http_req_path(req);
  bool api = !strncmp(path, API_PREFIX, strlen(API_PREFIX));
  int64_t gid = api_path_id(path, api ? API_PREFIX : PAGE_PREFIX);
  int64_t keep = body_keep(req);
  if (gid <= 0 || keep < 0) {
    http_resp_error(resp, gid <= 0 ? 404 : 400,
                    gid <= 0 ? "no such group" : "keep must be a track id");
    return;
  }
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  struct quarantine_result res;
  int rc = run_action(db, action_of(path), gid, keep, &res);
  if (!api) {
    render_list(&resp->body, db, status_param(req), 0, res.message,
                rc != SS_OK);
    finish_html(resp);
  } else {
    resp->status = http_status_of(rc);
    buf_printf(&resp->body,
               "{\"ok\":%s,\"message\":", rc == SS_OK ? "true" : "false");
    json_str(&resp->body, res.message);
    if (rc != SS_OK) { /* errors carry "error" like every other reply */
      buf_puts(&resp->body, ",\"error\":");
      json_str(&resp->body, res.message);
    }
    buf_printf(&resp->body, ",\"moved\":%zu,\"failed\":%zu", res.moved,
               res.failed);
    struct library_group g;
    if (db_library_group_get(db, gid, &g) == SS_OK) {
      buf_puts(&resp->body, ",\"group\":");
      json_group(&resp->body, db, &g);
    }
    buf_putc(&resp->body, '}');
  }
  db_close(db);
}

/* ---- handlers: JSON reads ---- */

static void api_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  const char *status = status_param(req);
  int64_t offset = api_int_param(req, "offset", 0, INT32_MAX);
  int64_t limit = api_int_param(req, "limit", PAGE_DEFAULT, PAGE_MAX);
  struct library_group *g = xmalloc((size_t)(limit ? limit : 1) * sizeof *g);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_library_groups_list(db, status, offset, g, (size_t)limit,
                                          &n, &total);
  struct buf *b = &resp->body;
  buf_printf(b,
             "{\"status\":\"%s\",\"total\":%" PRId64 ",\"offset\":%" PRId64
             ",\"limit\":%" PRId64 ",",
             status, total, offset, limit);
  json_counts(b, db);
  buf_puts(b, ",\"groups\":[");
  for (size_t i = 0; i < n && !rc; i++) {
    if (i)
      buf_putc(b, ',');
    rc = json_group(b, db, &g[i]);
  }
  buf_puts(b, "]}");
  free(g);
  db_close(db);
  if (rc) {
    buf_reset(b);
    http_resp_error(resp, 500, "could not read the findings");
  }
}

static void api_get(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  int64_t gid = api_path_id(http_req_path(req), API_PREFIX);
  const char *rest = strchr(http_req_path(req) + strlen(API_PREFIX), '/');
  if (gid <= 0 || rest) {
    http_resp_error(resp, 404, "no such group");
    return;
  }
  struct db *db = NULL;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  struct library_group g;
  enum ss_err rc = db_library_group_get(db, gid, &g);
  if (rc == SS_OK)
    rc = json_group(&resp->body, db, &g);
  if (rc) {
    buf_reset(&resp->body);
    http_resp_error(resp, http_status_of(rc),
                    rc == SS_ENOTFOUND ? "no such group"
                                       : "could not read the group");
  }
  db_close(db);
}

/* ---- unreadable files ---- */

/* One page of unreadable files: up to u->limit from the request's offset
 * into u->t (heap, the caller frees).  SS_EIO after answering 503 when the
 * store cannot be opened. */
struct unreadable_page {
  int64_t offset, limit, total;
  struct library_track *t;
  size_t n;
};

static enum ss_err load_unreadable(struct http_req *req,
                                   struct http_resp *resp,
                                   struct unreadable_page *u)
{
  struct db *db = NULL;
  u->t = NULL;
  u->n = 0;
  u->total = 0;
  if (api_open_store(&db)) {
    http_resp_error(resp, 503, "store not available");
    return SS_EIO;
  }
  u->offset = api_int_param(req, "offset", 0, INT32_MAX);
  u->t = xmalloc((size_t)(u->limit ? u->limit : 1) * sizeof *u->t);
  enum ss_err rc = db_library_unreadable_list(db, u->offset, u->t,
                                              (size_t)u->limit, &u->n,
                                              &u->total);
  db_close(db);
  return rc;
}

static void api_unreadable(struct http_req *req, struct http_resp *resp,
                           void *ctx)
{
  (void)ctx;
  struct unreadable_page u = {
    .limit = api_int_param(req, "limit", PAGE_DEFAULT, PAGE_MAX)};
  int rc = load_unreadable(req, resp, &u);
  struct library_track *t = u.t;
  size_t n = u.n;
  struct buf *b = &resp->body;
  if (rc) {
    free(t);
    if (rc != SS_EIO)
      http_resp_error(resp, 500, "could not read the library");
    return;
  }
  buf_printf(b,
             "{\"total\":%" PRId64 ",\"offset\":%" PRId64 ",\"limit\":%" PRId64
             ",\"tracks\":[",
             u.total, u.offset, u.limit);
  for (size_t i = 0; i < n; i++) {
    buf_printf(b, "%s{\"track_id\":%" PRId64 ",", i ? "," : "", t[i].id);
    json_kv_str(b, "path", t[i].path);
    buf_printf(b, ",\"size\":%" PRId64, t[i].size);
    json_unreadable_fields(b, &t[i]);
    buf_putc(b, '}');
  }
  buf_puts(b, "]}");
  free(t);
}

static void page_unreadable(struct http_req *req, struct http_resp *resp,
                            void *ctx)
{
  (void)ctx;
  struct unreadable_page u = {.limit = PAGE_MAX};
  int rc = load_unreadable(req, resp, &u);
  if (rc == SS_EIO)
    return;
  struct library_track *t = u.t;
  size_t n = u.n;
  int64_t offset = u.offset, total = u.total;
  struct buf *b = &resp->body;
  pages_open(b, PAGES_LIBRARY, "Unreadable files",
             "Files in the library folder the scanner could not read, and "
             "why. They are not compared for duplicates; a file that "
             "changes is read again by the next scan.");
  char root[PATH_MAX];
  library_root(root);
  if (rc)
    buf_puts(b, "<p class=\"msg-error\" role=\"status\">Could not read the "
                "library.</p>\n");
  else if (!n)
    buf_puts(b, "<p class=\"muted\">Nothing here.</p>\n");
  else
    buf_printf(b,
               "<p class=\"muted\">%" PRId64 " files</p>\n"
               "<div class=\"table-wrap\"><table class=\"table\" "
               "id=\"unreadable\"><thead><tr><th scope=\"col\">File</th>"
               "<th scope=\"col\">Reason</th></tr></thead><tbody>\n",
               total);
  for (size_t i = 0; i < n; i++) {
    buf_printf(b, "<tr data-track=\"%" PRId64 "\"><td class=\"msg\">",
               t[i].id);
    html_escape(b, relative(t[i].path, root));
    buf_puts(b, "</td><td>");
    html_escape(b, t[i].unreadable_reason[0] ? t[i].unreadable_reason
                                             : "unknown");
    buf_puts(b, "</td></tr>\n");
  }
  if (n)
    buf_puts(b, "</tbody></table></div>\n");
  if (offset + (int64_t)n < total)
    buf_printf(b,
               "<p><a class=\"btn btn-small\" href=\"/library/unreadable"
               "?offset=%" PRId64 "\">More</a></p>\n",
               offset + (int64_t)n);
  free(t);
  pages_close(b);
  finish_html(resp);
}

static const struct http_route routes[] = {
  {"GET", "/library/duplicates", page_duplicates},
  {"GET", "/library/duplicates/list", page_list},
  {"POST", "/library/duplicates/*/keep", api_action},
  {"POST", "/library/duplicates/*/resolve", api_action},
  {"POST", "/library/duplicates/*/undo", api_action},
  {"POST", "/library/duplicates/*/dismiss", api_action},
  {"POST", "/library/duplicates/*/reopen", api_action},
  {"GET", "/library/unreadable", page_unreadable},
  {"GET", "/api/library/unreadable", api_unreadable},
  {"GET", "/api/library/duplicates", api_list},
  {"GET", "/api/library/duplicates/*", api_get},
  {"POST", "/api/library/duplicates/*/keep", api_action},
  {"POST", "/api/library/duplicates/*/resolve", api_action},
  {"POST", "/api/library/duplicates/*/undo", api_action},
  {"POST", "/api/library/duplicates/*/dismiss", api_action},
  {"POST", "/api/library/duplicates/*/reopen", api_action},
};

const struct http_route *api_library_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
