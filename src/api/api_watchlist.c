/*
 * api_watchlist.c - HTTP surface of the Watchlist and of the playlists'
 * "download missing tracks" switch (issue 8 points 3, 4, 6).
 *
 *   GET    /api/watchlist        {"total","items":[watch...]} by name
 *   POST   /api/watchlist        {"spotify_artist_id", "auto_download",
 *                                "discography", "release_types",
 *                                "mb_artist_id", "name"} (only the first
 *                                is required): 201 with the watch and a
 *                                Location; 409 when already watched; 400
 *                                with a reason
 *   PATCH  /api/watchlist/{id}   any of auto_download, discography,
 *                                release_types, mb_artist_id: 200; 404; 400
 *   DELETE /api/watchlist/{id}   200 {"id","deleted":true}; 404 (its
 *                                Wanted items stay)
 *   PATCH  /api/playlists/{id}   {"download_missing": bool}: 200; 404; 400
 *   POST   /library/artists/{id}/watch|unwatch
 *   POST   /library/playlists/{id}/download-missing?on=1|0
 *                                the page buttons (htmx): answer the
 *                                re-rendered cell
 * Writes pass the server's cross-site check and the authorize hook like
 * every write.  A new watch gets since_date = today (UTC): only releases
 * dated from today on are "new" (the discography switch wants the rest).
 * The name of a watch comes from the body, else from the synced followed
 * artists, else from the first check's reply.
 *
 * api_watch_cell / api_playlist_cell render the cells the library pages
 * (api_spotify.c) show; every dynamic string is escaped, and an id that
 * is not plain Spotify base62 gets no button (it could not be put in a
 * URL path unescaped).
 *
 * Threading: handlers run on HTTP threads; each opens its own store
 * connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "automation/watchlist.h"
#include "clients/musicbrainz.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "db/db_wanted.h"

#define API_PREFIX "/api/watchlist/"
#define PL_API_PREFIX "/api/playlists/"
#define ARTIST_PREFIX "/library/artists/"
#define PLAYLIST_PREFIX "/library/playlists/"
#define LIST_MAX 5000

/* ---- plumbing ---- */

bool api_spotify_id_ok(const char *id)
{
  size_t n = 0;
  if (!id)
    return false;
  for (; id[n]; n++) {
    char c = id[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return false;
  }
  return n > 0 && n < WANTED_ID_MAX;
}

/* The segment after prefix up to the next '/' (or the end) into out;
 * false unless it is a plain Spotify id and, with tail, tail follows. */
static bool path_segment(const char *path, const char *prefix,
                         const char *tail, char *out, size_t n)
{
  size_t p = strlen(prefix);
  if (strncmp(path, prefix, p))
    return false;
  const char *s = path + p, *end = strchr(s, '/');
  size_t len = end ? (size_t)(end - s) : strlen(s);
  if (!len || len >= n)
    return false;
  if (tail ? !end || strcmp(end, tail) : end != NULL)
    return false;
  memcpy(out, s, len);
  out[len] = '\0';
  return api_spotify_id_ok(out);
}

/* ---- JSON ---- */

static void json_watch(struct buf *b, const struct watch *w)
{
  buf_printf(b, "{\"id\":%" PRId64 ",\"spotify_artist_id\":", w->id);
  json_str(b, w->spotify_artist_id);
  buf_puts(b, ",\"mb_artist_id\":");
  json_str(b, w->mb_artist_id);
  buf_puts(b, ",\"name\":");
  json_str(b, w->name);
  buf_printf(b,
             ",\"auto_download\":%s,\"discography\":%s,"
             "\"release_types\":[",
             w->auto_download ? "true" : "false",
             w->discography ? "true" : "false");
  bool first = true;
  for (unsigned bit = 1; bit <= WATCH_APPEARS_ON; bit <<= 1)
    if (w->release_types & bit) {
      buf_printf(b, "%s\"%s\"", first ? "" : ",", watch_type_name(bit));
      first = false;
    }
  buf_puts(b, "],\"since_date\":");
  json_str(b, w->since_date);
  buf_puts(b, ",\"last_error\":");
  json_str(b, w->last_error);
  buf_printf(b,
             ",\"last_check_ms\":%" PRId64 ",\"discography_check_ms\":%" PRId64
             ",\"created_ms\":%" PRId64 "}",
             w->last_check_ms, w->discography_check_ms, w->created_ms);
}

static void reply_watch(struct http_resp *resp, struct db *db, int64_t id,
                        int status)
{
  struct watch w;
  enum ss_err rc = db_watch_get(db, id, &w);
  if (rc) {
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such watch"
                                       : "could not read the watch");
    return;
  }
  resp->status = status;
  json_watch(&resp->body, &w);
}

/* Reads the fields of a POST (create) or PATCH body into w; *seen_id
 * tells whether spotify_artist_id was given.  SS_EINVAL with err. */
static enum ss_err parse_watch(json_t *doc, bool create, struct watch *w,
                               char *err, size_t n)
{
  if (!json_is_object(doc)) {
    snprintf(err, n, "the body must be a JSON object");
    return SS_EINVAL;
  }
  const char *key;
  json_t *v;
  bool any = false;
  json_object_foreach(doc, key, v)
  {
    any = true;
    if (!strcmp(key, "auto_download") || !strcmp(key, "discography")) {
      if (!json_is_boolean(v)) {
        snprintf(err, n, "%s must be true or false", key);
        return SS_EINVAL;
      }
      *(key[0] == 'a' ? &w->auto_download : &w->discography) = json_is_true(v);
    } else if (!strcmp(key, "release_types")) {
      size_t i;
      json_t *t;
      unsigned bits = 0;
      if (!json_is_array(v) || !json_array_size(v)) {
        snprintf(err, n,
                 "release_types must be a non-empty list of album, "
                 "ep, single, compilation, appears_on");
        return SS_EINVAL;
      }
      json_array_foreach(v, i, t)
      {
        unsigned bit = watch_type_from_name(json_string_value(t));
        if (!bit) {
          snprintf(err, n,
                   "unknown release type (use album, ep, single, "
                   "compilation, appears_on)");
          return SS_EINVAL;
        }
        bits |= bit;
      }
      w->release_types = bits;
    } else if (!strcmp(key, "mb_artist_id")) {
      const char *s = json_string_value(v);
      if (!s) {
        snprintf(err, n, "mb_artist_id must be a string");
        return SS_EINVAL;
      }
      if (!s[0])
        w->mb_artist_id[0] = '\0';
      else if (mb_mbid_canonical(s, w->mb_artist_id) != SS_OK) {
        snprintf(err, n,
                 "mb_artist_id must be a MusicBrainz id "
                 "(8-4-4-4-12 hex digits)");
        return SS_EINVAL;
      }
    } else if (create && !strcmp(key, "spotify_artist_id")) {
      const char *s = json_string_value(v);
      if (!api_spotify_id_ok(s)) {
        snprintf(err, n,
                 "spotify_artist_id must be a Spotify id (letters "
                 "and digits, at most %d)",
                 WANTED_ID_MAX - 1);
        return SS_EINVAL;
      }
      snprintf(w->spotify_artist_id, sizeof w->spotify_artist_id, "%s", s);
    } else if (create && !strcmp(key, "name")) {
      const char *s = json_string_value(v);
      if (!s || strlen(s) >= sizeof w->name) {
        snprintf(err, n, "name must be a string shorter than %zu bytes",
                 sizeof w->name);
        return SS_EINVAL;
      }
      snprintf(w->name, sizeof w->name, "%s", s);
    } else {
      snprintf(err, n, "unknown field \"%.40s\"", key);
      return SS_EINVAL;
    }
  }
  if (create && !w->spotify_artist_id[0]) {
    snprintf(err, n, "spotify_artist_id is required");
    return SS_EINVAL;
  }
  if (!any) {
    snprintf(err, n, "nothing to change");
    return SS_EINVAL;
  }
  return SS_OK;
}

static json_t *body_json(struct http_req *req, struct http_resp *resp)
{
  size_t len;
  const char *body = http_req_body(req, &len);
  json_t *doc = json_loadb(body, len, 0, NULL);
  if (!doc)
    http_resp_error(resp, 400, "the body must be JSON");
  return doc;
}

/* Watches artist (name may be ""): SS_OK and *id, SS_EBUSY (watched:
 * *id), else an error. */
static enum ss_err watch_artist(struct db *db, struct watch *w, int64_t *id)
{
  if (!w->name[0])
    db_watch_artist_name(db, w->spotify_artist_id, w->name, sizeof w->name);
  return db_watch_add(db, w, clock_wall_ms(), id);
}

/* ---- JSON handlers ---- */

static void api_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  struct watch *v = xcalloc(LIST_MAX, sizeof *v);
  size_t n = 0;
  int64_t total = 0;
  enum ss_err rc = db_watch_list(db, v, LIST_MAX, &n, &total);
  struct buf *b = &resp->body;
  buf_printf(b, "{\"total\":%" PRId64 ",\"items\":[", total);
  for (size_t i = 0; i < n; i++) {
    if (i)
      buf_putc(b, ',');
    json_watch(b, &v[i]);
  }
  buf_puts(b, "]}");
  free(v);
  db_close(db);
  if (rc || !buf_ok(b)) {
    buf_reset(b);
    http_resp_error(resp, 500, "could not read the watchlist");
  }
}

static void api_create(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  json_t *doc = body_json(req, resp);
  if (!doc)
    return;
  struct watch w = {.auto_download = true,
                    .release_types = WATCH_DEFAULT_TYPES};
  char err[256];
  int rc = parse_watch(doc, true, &w, err, sizeof err);
  json_decref(doc);
  if (rc) {
    http_resp_error(resp, 400, err);
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  int64_t id = 0;
  rc = watch_artist(db, &w, &id);
  if (rc == SS_EBUSY) {
    snprintf(err, sizeof err, "artist already watched (watch %" PRId64 ")",
             id);
    http_resp_error(resp, 409, err);
  } else if (rc) {
    http_resp_error(resp, 500, "could not store the watch");
  } else {
    char loc[64];
    snprintf(loc, sizeof loc, API_PREFIX "%" PRId64, id);
    http_resp_header(resp, "Location", loc);
    reply_watch(resp, db, id, 201);
  }
  db_close(db);
}

static int64_t watch_id_of(struct http_req *req, struct http_resp *resp)
{
  const char *path = http_req_path(req);
  int64_t id = api_path_id(path, API_PREFIX);
  if (id <= 0 || strchr(path + strlen(API_PREFIX), '/')) {
    http_resp_error(resp, 404, "no such watch");
    return -1;
  }
  return id;
}

static void api_patch(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  int64_t id = watch_id_of(req, resp);
  struct db *db = NULL;
  if (id < 0 || !api_store_or_503(resp, &db))
    return;
  struct watch w;
  enum ss_err rc = db_watch_get(db, id, &w);
  json_t *doc = rc ? NULL : body_json(req, resp);
  char err[256];
  if (rc) {
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such watch"
                                       : "could not read the watch");
  } else if (doc) {
    rc = parse_watch(doc, false, &w, err, sizeof err);
    if (rc)
      http_resp_error(resp, 400, err);
    else if ((rc = db_watch_update(db, &w)))
      http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                      rc == SS_ENOTFOUND ? "no such watch"
                                         : "could not store the watch");
    else
      reply_watch(resp, db, id, 200);
  }
  json_decref(doc);
  db_close(db);
}

static void api_delete(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  int64_t id = watch_id_of(req, resp);
  struct db *db = NULL;
  if (id < 0 || !api_store_or_503(resp, &db))
    return;
  enum ss_err rc = db_watch_delete(db, id);
  if (rc)
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such watch"
                                       : "could not remove the watch");
  else
    buf_printf(&resp->body, "{\"id\":%" PRId64 ",\"deleted\":true}", id);
  db_close(db);
}

static void api_playlist(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)ctx;
  char id[WANTED_ID_MAX];
  if (!path_segment(http_req_path(req), PL_API_PREFIX, NULL, id, sizeof id)) {
    http_resp_error(resp, 404, "no such playlist");
    return;
  }
  json_t *doc = body_json(req, resp);
  if (!doc)
    return;
  json_t *v = json_object_get(doc, "download_missing");
  bool ok = json_is_object(doc) && json_object_size(doc) == 1 &&
            json_is_boolean(v);
  bool on = json_is_true(v);
  json_decref(doc);
  if (!ok) {
    http_resp_error(resp, 400,
                    "the body must be {\"download_missing\": "
                    "true or false}");
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  enum ss_err rc = db_playlist_set_download_missing(db, id, on, NULL, 0);
  if (rc) {
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such playlist"
                                       : "could not store the switch");
  } else {
    buf_puts(&resp->body, "{\"id\":");
    json_str(&resp->body, id);
    buf_printf(&resp->body, ",\"download_missing\":%s}",
               on ? "true" : "false");
  }
  db_close(db);
}

/* ---- page cells and their buttons ---- */

void api_watch_cell(struct buf *b, const char *artist_id, const char *name,
                    bool watched)
{
  if (!api_spotify_id_ok(artist_id)) {
    buf_puts(b, "<td></td>");
    return;
  }
  const char *action = watched ? "unwatch" : "watch";
  buf_printf(b, "<td class=\"actions\" id=\"watch-%s\">", artist_id);
  if (watched)
    buf_puts(b, "<span class=\"badge badge-set\">watched</span> ");
  buf_printf(b,
             "<button type=\"button\" class=\"btn btn-small\" "
             "data-action=\"%s\" hx-post=\"" ARTIST_PREFIX "%s/%s\" "
             "hx-target=\"#watch-%s\" hx-swap=\"outerHTML\" "
             "aria-label=\"%s ",
             action, artist_id, action, artist_id,
             watched ? "Unwatch" : "Watch");
  html_escape(b, name);
  buf_printf(b, "\">%s</button></td>", watched ? "Unwatch" : "Watch");
}

void api_playlist_cell(struct buf *b, const char *playlist_id,
                       const char *name, bool on)
{
  if (!api_spotify_id_ok(playlist_id)) {
    buf_puts(b, "<td></td>");
    return;
  }
  buf_printf(b,
             "<td id=\"dlm-%s\"><div class=\"field\"><input "
             "type=\"checkbox\" role=\"switch\" class=\"switch\" "
             "data-action=\"download-missing\"%s hx-post=\"" PLAYLIST_PREFIX
             "%s/download-missing?on=%d\" "
             "hx-target=\"#dlm-%s\" hx-swap=\"outerHTML\" "
             "aria-label=\"Download missing tracks of ",
             playlist_id, on ? " checked" : "", playlist_id, !on, playlist_id);
  html_escape(b, name);
  buf_puts(b, "\"></div></td>");
}

static void page_watch(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *path = http_req_path(req);
  char id[WANTED_ID_MAX];
  bool watch = path_segment(path, ARTIST_PREFIX, "/watch", id, sizeof id);
  if (!watch &&
      !path_segment(path, ARTIST_PREFIX, "/unwatch", id, sizeof id)) {
    http_resp_error(resp, 404, "no such artist");
    return;
  }
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  struct watch w = {.auto_download = true,
                    .release_types = WATCH_DEFAULT_TYPES};
  snprintf(w.spotify_artist_id, sizeof w.spotify_artist_id, "%s", id);
  int64_t wid = 0;
  int rc;
  if (watch) {
    rc = watch_artist(db, &w, &wid);
    rc = rc == SS_EBUSY ? SS_OK : rc;
  } else {
    rc = db_watch_by_artist(db, id, &w);
    if (rc == SS_OK)
      rc = db_watch_delete(db, w.id);
    rc = rc == SS_ENOTFOUND ? SS_OK : rc;
    if (!w.name[0])
      db_watch_artist_name(db, id, w.name, sizeof w.name);
  }
  db_close(db);
  if (rc) {
    http_resp_error(resp, 500, "could not store the watch");
    return;
  }
  api_watch_cell(&resp->body, id, w.name, watch);
  api_finish_html(resp);
}

static void page_playlist(struct http_req *req, struct http_resp *resp,
                          void *ctx)
{
  (void)ctx;
  char id[WANTED_ID_MAX];
  const char *on_s = http_req_query(req, "on");
  if (!path_segment(http_req_path(req), PLAYLIST_PREFIX, "/download-missing",
                    id, sizeof id) ||
      !on_s || (strcmp(on_s, "0") && strcmp(on_s, "1"))) {
    http_resp_error(resp, 404, "no such playlist or switch");
    return;
  }
  bool on = on_s[0] == '1';
  struct db *db = NULL;
  if (!api_store_or_503(resp, &db))
    return;
  char name[WANTED_TEXT_MAX] = "";
  enum ss_err rc = db_playlist_set_download_missing(db, id, on, name,
                                                    sizeof name);
  db_close(db);
  if (rc) {
    http_resp_error(resp, rc == SS_ENOTFOUND ? 404 : 500,
                    rc == SS_ENOTFOUND ? "no such playlist"
                                       : "could not store the switch");
    return;
  }
  api_playlist_cell(&resp->body, id, name, on);
  api_finish_html(resp);
}

static const struct http_route routes[] = {
  {"GET", "/api/watchlist", api_list},
  {"POST", "/api/watchlist", api_create},
  {"PATCH", "/api/watchlist/*", api_patch},
  {"DELETE", "/api/watchlist/*", api_delete},
  {"PATCH", "/api/playlists/*", api_playlist},
  {"POST", "/library/artists/*/watch", page_watch},
  {"POST", "/library/artists/*/unwatch", page_watch},
  {"POST", "/library/playlists/*/download-missing", page_playlist},
};

const struct http_route *api_watchlist_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
