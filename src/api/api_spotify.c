/*
 * api_spotify.c - HTTP endpoints of the spotify domain.
 *
 *   GET  /auth/spotify/login       302 to {accounts_url}/authorize (PKCE,
 *                                  state); refused (403) from another site
 *   GET  /auth/spotify/callback    finishes the login; 303 back to
 *                                  /settings?tab=spotify&spotify_login=CODE
 *   POST /auth/spotify/disconnect  forgets the login; 303 back likewise
 *   POST /api/spotify/sync         "Sync now": 202, 409 disabled or not
 *                                  connected
 *   GET  /library/artists|albums|playlists[?offset=N]
 *   GET  /library/playlists?id=ID  one playlist's stored entries
 * The artists page has a Watch column and the playlists page a "Download
 * missing tracks" switch (cells and their POST routes: api_watchlist.c).
 * plus api_spotify_account_card(), the account card of the settings tab.
 *
 * The login's outcome reaches the settings page as a fixed code
 * (spotify_login_message() turns it into plain words), never as text
 * from the request, so nothing from Spotify or an attacker is reflected.
 * The state is bound to the browser that started the login by a
 * short-lived HttpOnly SameSite=Lax cookie.
 *
 * Threading: handlers run on HTTP threads; library pages open their own
 * store connection per request.  The callback's code exchange is the one
 * handler that waits on the network (the user just clicked; 10 s cap).
 * Every dynamic string is escaped (html_escape / json_str).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/pages.h"
#include "auth/auth.h"
#include "clients/spotify.h"
#include "clients/spotify_auth.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/xalloc.h"
#include "db/db_spotify.h"
#include "db/db_wanted.h"
#include "workers/workers.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define COOKIE "ss_spotify_state"
#define SETTINGS_BACK "/settings?tab=spotify&spotify_login="
#define PAGE_ROWS 100
#define ENTRY_ROWS 500

/* ---- plumbing ---- */

static int64_t offset_param(struct http_req *req)
{
  const char *s = http_req_query(req, "offset");
  char *end;
  long long v = s && *s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || *end || v < 0)
    return 0;
  return v > INT32_MAX ? INT32_MAX : v;
}

static void redirect(struct http_resp *resp, int status, const char *to)
{
  resp->status = status;
  resp->content_type = "text/plain; charset=utf-8";
  http_resp_header(resp, "Location", to);
  http_resp_header(resp, "Cache-Control", "no-store");
}

static void back_to_settings(struct http_resp *resp, const char *code)
{
  char to[128];
  snprintf(to, sizeof to, SETTINGS_BACK "%s", code);
  redirect(resp, 303, to);
}

/* A login started by another site (a forged link or form) is refused. */
static bool cross_site(struct http_req *req)
{
  const char *site = http_req_header(req, "Sec-Fetch-Site");
  if (site && !strcasecmp(site, "cross-site"))
    return true;
  const char *from[2] = {http_req_header(req, "Origin"),
                         http_req_header(req, "Referer")};
  for (int i = 0; i < 2; i++)
    if (from[i] && strcmp(from[i], "null") &&
        !http_req_url_is_ours(req, from[i]))
      return true;
  return false;
}

/* The value of our state cookie in the Cookie header, or NULL. */
static char *cookie_state(struct http_req *req, char *out, size_t n)
{
  return auth_cookie_value(http_req_header(req, "Cookie"), COOKIE, out, n)
           ? out
           : NULL;
}

/* ---- login ---- */

static void auth_login(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  if (cross_site(req)) {
    http_resp_error(resp, 403,
                    "a Spotify login must be started from "
                    "this app's settings page");
    return;
  }
  char state[SPOTIFY_STATE_MAX], cookie[SPOTIFY_STATE_MAX + 96];
  struct buf url;
  buf_init(&url, 4096);
  enum ss_err rc = spotify_auth_begin(&url, state);
  if (rc == SS_ESTATE) {
    back_to_settings(resp, "client");
  } else if (rc != SS_OK) {
    http_resp_error(resp, 500, "could not start the Spotify login");
  } else {
    snprintf(cookie, sizeof cookie,
             COOKIE "=%s; Path=/auth/spotify; Max-Age=600; HttpOnly; "
                    "SameSite=Lax",
             state);
    redirect(resp, 302, buf_cstr(&url));
    http_resp_header(resp, "Set-Cookie", cookie);
  }
  buf_free(&url);
}

static void auth_callback(struct http_req *req, struct http_resp *resp,
                          void *ctx)
{
  (void)ctx;
  char jar[SPOTIFY_STATE_MAX];
  struct db *db = NULL;
  if (api_open_store(&db) != SS_OK)
    db = NULL;
  enum spotify_login r = spotify_auth_finish(db, http_req_query(req, "state"),
                                             cookie_state(req, jar,
                                                          sizeof jar),
                                             http_req_query(req, "code"),
                                             http_req_query(req, "error"));
  db_close(db);
  back_to_settings(resp, spotify_login_code(r));
  http_resp_header(resp, "Set-Cookie",
                   COOKIE "=; Path=/auth/spotify; Max-Age=0; HttpOnly; "
                          "SameSite=Lax");
  if (r == SPOTIFY_LOGIN_OK && runtime_def(UNIT_SPOTIFY_SYNC)) {
    runtime_reevaluate(); /* notes such as "not connected" go at once */
    runtime_run_now(UNIT_SPOTIFY_SYNC);
  }
}

static void auth_disconnect(struct http_req *req, struct http_resp *resp,
                            void *ctx)
{
  (void)req;
  (void)ctx;
  struct spotify_client *c = spotify_client_new(NULL);
  enum ss_err rc = spotify_account_forget(c);
  spotify_client_free(c);
  if (rc != SS_OK) {
    http_resp_error(resp, 500, "could not forget the Spotify login");
  } else {
    back_to_settings(resp, "disconnected");
    runtime_reevaluate();
  }
}

static void api_sync_now(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)req;
  (void)ctx;
  if (!workers_spotify_connected()) {
    http_resp_error(resp, 409, "no Spotify account connected");
    return;
  }
  enum ss_err rc = spotify_sync_request_full();
  if (rc == SS_ESTATE) {
    http_resp_error(resp, 409, "Spotify Sync is disabled");
    return;
  }
  resp->status = 202;
  buf_puts(&resp->body, rc == SS_EBUSY ? "{\"status\":\"queued\"}"
                                       : "{\"status\":\"started\"}");
}

/* ---- the account card of the settings tab ---- */

static void render_notice(struct buf *out, const char *code)
{
  const char *msg = code ? spotify_login_message(code) : NULL;
  if (!msg)
    return;
  bool good = !strcmp(code, "ok") || !strcmp(code, "disconnected");
  buf_puts(out, good ? "<p class=\"field-saved\" role=\"status\">"
                     : "<p class=\"field-error\" role=\"alert\" "
                       "id=\"spotify-login-error\">");
  html_escape(out, msg);
  buf_puts(out, "</p>\n");
}

static void render_connected(struct buf *out, const struct spotify_view *v,
                             int64_t now)
{
  char when[40], life[40];
  buf_puts(out, "<p id=\"spotify-account-state\" data-connected=\"true\">"
                "Connected as <strong>");
  html_escape(out, v->display_name[0] ? v->display_name : "(no name)");
  buf_puts(out, "</strong>. Access token valid until ");
  html_escape(out, spotify_fmt_time(v->access_expires_ms, when, sizeof when));
  buf_puts(out, "; the login itself ends on ");
  html_escape(out, spotify_fmt_time(v->refresh_expires_ms, life, sizeof life));
  buf_puts(out, " (Spotify: 6 months after consent).</p>\n");
  if (v->refresh_expires_ms - now < SPOTIFY_REFRESH_WARN_MS)
    buf_puts(out, "<p class=\"field-error\" role=\"alert\">The login ends "
                  "soon: connect again to keep syncing.</p>\n");
}

void api_spotify_account_card(struct buf *out, const struct http_req *req)
{
  const char *notice = req ? http_req_query(req, "spotify_login") : NULL;
  struct spotify_view v;
  workers_spotify_view(&v);
  char redirect_uri[SETTING_STR_MAX];
  settings_str(S_SPOTIFY_REDIRECT_URI, redirect_uri, sizeof redirect_uri);
  buf_puts(out, "<section class=\"card\" id=\"spotify-account\">\n"
                "<div class=\"card-head\"><h2>Spotify account</h2></div>\n"
                "<div class=\"card-body\">\n");
  render_notice(out, notice);
  if (v.connected) {
    render_connected(out, &v, clock_wall_ms());
  } else if (v.stored) {
    buf_puts(out, "<p id=\"spotify-account-state\" data-connected=\"false\" "
                  "class=\"field-error\">Spotify no longer accepts this "
                  "login (");
    html_escape(out, v.reauth_reason);
    buf_puts(out, "). Connect again to resume syncing.</p>\n");
  } else {
    buf_puts(out, "<p id=\"spotify-account-state\" data-connected=\"false\">"
                  "No Spotify account connected.</p>\n");
  }
  buf_puts(out, "<p class=\"field-hint\">Register this redirect URI for "
                "your app in Spotify's developer dashboard: <code>");
  html_escape(out, redirect_uri);
  buf_puts(out, "</code></p>\n<p>");
  if (!settings_is_set(S_SPOTIFY_CLIENT_ID))
    buf_puts(out, "<span class=\"muted\">Set the client id "
                  "(spotify.client_id) below, then connect.</span>");
  else if (!v.connected)
    buf_puts(out, "<a class=\"btn\" id=\"spotify-connect\" "
                  "href=\"/auth/spotify/login\"><i class=\"bi bi-spotify\" "
                  "aria-hidden=\"true\"></i> Connect</a>");
  else
    buf_puts(out, "<button type=\"button\" class=\"btn\" "
                  "hx-post=\"/api/spotify/sync\" hx-swap=\"none\">"
                  "<i class=\"bi bi-arrow-repeat\" aria-hidden=\"true\"></i>"
                  " Sync now</button> <a class=\"btn\" "
                  "href=\"/library/artists\">Synced library</a>");
  buf_puts(out, "</p>\n");
  if (v.stored)
    buf_puts(out, "<form method=\"post\" action=\"/auth/spotify/disconnect\">"
                  "<button type=\"submit\" class=\"btn\" "
                  "id=\"spotify-disconnect\">Disconnect</button></form>\n");
  buf_puts(out, "</div>\n</section>\n");
}

/* ---- library pages ---- */

struct page {
  struct buf *out;
  int64_t now;
  size_t rows;
  /* artists: the watched ids; playlists: those whose "download missing
   * tracks" switch is on (sorted, db_wanted.h) */
  char (*marked)[WANTED_ID_MAX];
  size_t n_marked;
};

#define MARKED_MAX 20000

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static bool marked(const struct page *p, const char *id)
{
  return p->n_marked && id &&
         bsearch(id, p->marked, p->n_marked, WANTED_ID_MAX, cmp_id);
}

static void sub_nav(struct buf *out)
{
  buf_puts(out, "<nav class=\"tabs\" aria-label=\"Library sections\">"
                "<a class=\"tab\" href=\"/library/artists\">Artists</a>"
                "<a class=\"tab\" href=\"/library/albums\">Albums</a>"
                "<a class=\"tab\" href=\"/library/playlists\">Playlists</a>"
                "<a class=\"tab\" href=\"/library/duplicates\">Duplicates</a>"
                "<a class=\"tab\" href=\"/library/unreadable\">Unreadable</a>"
                "</nav>\n");
}

static void cell(struct buf *out, const char *text)
{
  buf_puts(out, "<td>");
  html_escape(out, text);
  buf_puts(out, "</td>");
}

static void cell_int(struct buf *out, int64_t v)
{
  buf_printf(out, "<td>%" PRId64 "</td>", v);
}

static void on_artist(void *arg, const struct db_spotify_row *r)
{
  struct page *p = arg;
  char when[40];
  p->rows++;
  buf_puts(p->out, "<tr><th scope=\"row\">");
  html_escape(p->out, r->name);
  buf_puts(p->out, "</th>");
  cell(p->out, r->sub);
  cell_int(p->out, r->n1);
  cell(p->out, r->t1 ? spotify_fmt_time(r->t1, when, sizeof when) : "never");
  cell(p->out, r->n2 ? "followed" : "no longer followed");
  api_watch_cell(p->out, r->id, r->name, marked(p, r->id));
  buf_puts(p->out, "</tr>\n");
}

static void on_album(void *arg, const struct db_spotify_row *r)
{
  struct page *p = arg;
  p->rows++;
  buf_puts(p->out, "<tr><th scope=\"row\">");
  html_escape(p->out, r->name);
  buf_puts(p->out, "</th>");
  cell(p->out, r->sub);
  cell(p->out, r->extra);
  cell(p->out, r->kind);
  cell_int(p->out, r->n1);
  cell(p->out, r->n2 ? "saved" : "");
  buf_puts(p->out, "</tr>\n");
}

static void on_playlist(void *arg, const struct db_spotify_row *r)
{
  struct page *p = arg;
  p->rows++;
  buf_puts(p->out, "<tr><th scope=\"row\"><a href=\"/library/playlists?id=");
  spotify_url_encode(p->out, r->id);
  buf_puts(p->out, "\">");
  html_escape(p->out, r->name);
  buf_puts(p->out, "</a></th>");
  cell(p->out, r->sub);
  cell_int(p->out, r->n1);
  cell_int(p->out, r->n2);
  buf_puts(p->out, "<td class=\"msg\">");
  html_escape(p->out, r->kind[0] ? "no longer followed" : r->extra);
  buf_puts(p->out, "</td>");
  api_playlist_cell(p->out, r->id, r->name, marked(p, r->id));
  buf_puts(p->out, "</tr>\n");
}

static void on_entry(void *arg, const struct db_spotify_row *r)
{
  struct page *p = arg;
  char len[16];
  p->rows++;
  snprintf(len, sizeof len, "%" PRId64 ":%02" PRId64, r->n2 / 60000,
           r->n2 / 1000 % 60);
  buf_puts(p->out, "<tr>");
  cell_int(p->out, r->n1 + 1);
  cell(p->out, r->name);
  cell(p->out, r->sub);
  cell(p->out, r->extra);
  cell(p->out, r->n2 ? len : "");
  cell(p->out, r->kind);
  buf_puts(p->out, "</tr>\n");
}

static void table_open(struct buf *out, const char *const *heads)
{
  buf_puts(out, "<section class=\"card\"><div class=\"table-wrap\">"
                "<table class=\"table\"><thead><tr>");
  for (; *heads; heads++) {
    buf_puts(out, "<th scope=\"col\">");
    html_escape(out, *heads);
    buf_puts(out, "</th>");
  }
  buf_puts(out, "</tr></thead><tbody>\n");
}

static void table_close(struct buf *out, const char *base, int64_t offset,
                        size_t rows, int64_t limit)
{
  buf_puts(out, "</tbody></table></div></section>\n<p>");
  if (offset > 0)
    buf_printf(out,
               "<a class=\"btn btn-small\" href=\"%s%" PRId64
               "\">Previous</a> ",
               base, offset > limit ? offset - limit : 0);
  if ((int64_t)rows == limit)
    buf_printf(out,
               "<a class=\"btn btn-small\" href=\"%s%" PRId64 "\">Next</a>",
               base, offset + limit);
  buf_puts(out, "</p>\n");
}

static void finish(struct http_resp *resp)
{
  if (!buf_ok(&resp->body)) {
    buf_reset(&resp->body);
    http_resp_error(resp, 500, "page too large");
    return;
  }
  resp->content_type = HTML_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
}

static void lead_text(char *out, size_t n, const struct db_spotify_counts *c)
{
  snprintf(out, n,
           "Synced from Spotify: %" PRId64 " followed artists, %" PRId64
           " albums (%" PRId64 " saved), %" PRId64 " playlists with %" PRId64
           " entries, %" PRId64 " liked songs.",
           c->artists, c->albums, c->saved_albums, c->playlists, c->entries,
           c->liked);
}

enum list_kind { LIST_ARTISTS, LIST_ALBUMS, LIST_PLAYLISTS };

static void library_page(struct http_req *req, struct http_resp *resp,
                         enum list_kind kind)
{
  static const char *const titles[] = {"Artists", "Albums", "Playlists"};
  static const char *const bases[] = {"/library/artists?offset=",
                                      "/library/albums?offset=",
                                      "/library/playlists?offset="};
  static const char *const heads[3][7] =
    {{"Artist", "Genres", "Albums", "Albums read", "Status", "Watch", NULL},
     {"Album", "Artist", "Released", "Type", "Tracks", "Saved", NULL},
     {"Playlist", "Owner", "Tracks", "Stored entries", "Note",
      "Download missing tracks", NULL}};
  struct db *db = NULL;
  struct db_spotify_counts counts;
  char lead[400];
  if (api_open_store(&db) != SS_OK ||
      db_spotify_counts(db, &counts) != SS_OK) {
    db_close(db);
    http_resp_error(resp, 503, "store not available");
    return;
  }
  int64_t offset = offset_param(req);
  struct page p = {.out = &resp->body, .now = clock_wall_ms()};
  if (kind != LIST_ALBUMS) {
    p.marked = xcalloc(MARKED_MAX, WANTED_ID_MAX);
    if (kind == LIST_ARTISTS)
      db_watch_artist_ids(db, p.marked, MARKED_MAX, &p.n_marked);
    else
      db_playlist_download_missing_ids(db, p.marked, MARKED_MAX, &p.n_marked);
  }
  lead_text(lead, sizeof lead, &counts);
  pages_open(&resp->body, PAGES_LIBRARY, titles[kind], lead);
  sub_nav(&resp->body);
  table_open(&resp->body, heads[kind]);
  if (kind == LIST_ARTISTS)
    db_spotify_list_artists(db, offset, PAGE_ROWS, on_artist, &p);
  else if (kind == LIST_ALBUMS)
    db_spotify_list_albums(db, offset, PAGE_ROWS, on_album, &p);
  else
    db_spotify_list_playlists(db, offset, PAGE_ROWS, on_playlist, &p);
  table_close(&resp->body, bases[kind], offset, p.rows, PAGE_ROWS);
  pages_close(&resp->body);
  free(p.marked);
  db_close(db);
  finish(resp);
}

static void page_artists(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)ctx;
  library_page(req, resp, LIST_ARTISTS);
}

static void page_albums(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  library_page(req, resp, LIST_ALBUMS);
}

static void page_entries(struct http_req *req, struct http_resp *resp,
                         const char *id)
{
  static const char *const heads[] = {"#",      "Title", "Artists", "Album",
                                      "Length", "Note",  NULL};
  struct db *db = NULL;
  if (api_open_store(&db) != SS_OK) {
    http_resp_error(resp, 503, "store not available");
    return;
  }
  int64_t offset = offset_param(req);
  struct page p = {.out = &resp->body, .now = clock_wall_ms()};
  struct buf base;
  buf_init(&base, 1024);
  buf_puts(&base, "/library/playlists?id=");
  spotify_url_encode(&base, id);
  buf_puts(&base, "&amp;offset=");
  pages_open(&resp->body, PAGES_LIBRARY, "Playlist entries",
             "The entries stored at the playlist's last snapshot.");
  sub_nav(&resp->body);
  table_open(&resp->body, heads);
  db_spotify_list_entries(db, id, offset, ENTRY_ROWS, on_entry, &p);
  table_close(&resp->body, buf_cstr(&base), offset, p.rows, ENTRY_ROWS);
  pages_close(&resp->body);
  buf_free(&base);
  db_close(db);
  finish(resp);
}

static void page_playlists(struct http_req *req, struct http_resp *resp,
                           void *ctx)
{
  (void)ctx;
  const char *id = http_req_query(req, "id");
  if (id && *id)
    page_entries(req, resp, id);
  else
    library_page(req, resp, LIST_PLAYLISTS);
}

static const struct http_route routes[] = {
  {"GET", "/auth/spotify/login", auth_login},
  {"GET", "/auth/spotify/callback", auth_callback},
  {"POST", "/auth/spotify/disconnect", auth_disconnect},
  {"POST", "/api/spotify/sync", api_sync_now},
  {"GET", "/library/artists", page_artists},
  {"GET", "/library/albums", page_albums},
  {"GET", "/library/playlists", page_playlists},
};

const struct http_route *api_spotify_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
