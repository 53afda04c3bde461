/*
 * api.h - HTTP handlers of the JSON API and the route table.
 *
 *   GET  /api/workers/status          contract JSON (cached, ETag)
 *   GET  /api/workers/status/html     sidebar fragment (cached, ETag)
 *   GET  /api/workers/services        four booleans (cached, ETag)
 *   GET  /api/workers/services/detail reason, latency, checked time
 *   GET  /api/workers                 every unit with schedule and history
 *   POST /api/workers/{unit}/run      run now (202, 409 disabled, 404)
 *   GET  /api/settings                values, secrets masked
 *   GET  /api/settings/schema         the settings table
 *   PATCH /api/settings               all-or-nothing update
 *   GET  /healthz, /livez, /readyz    health (open: no login needed)
 *   GET  /metrics                     Prometheus text format (api_ops.c)
 *   GET  /login, POST /login          login form, password check
 *   POST /logout                      ends the session
 *   POST /settings/security/key       new API key
 *   POST /settings/security/password  set or change the password
 *
 * Handlers run on libmicrohttpd's threads: they copy snapshots and render;
 * they never wait on a worker or the network.
 */
#ifndef SS_API_H
#define SS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "http/server.h"

/* The whole route table of the daemon (API, pages, static assets). */
const struct http_route *api_routes(size_t *count);

/* Route tables of the domain modules (api_spotify.c, api_downloads.c,
 * api_library.c); *count may be 0. */
const struct http_route *api_spotify_routes(size_t *count);
const struct http_route *api_downloads_routes(size_t *count);
const struct http_route *api_library_routes(size_t *count);
const struct http_route *api_wanted_routes(size_t *count);
const struct http_route *api_ops_routes(size_t *count);
const struct http_route *api_watchlist_routes(size_t *count);
const struct http_route *api_notify_routes(size_t *count);

/* ---- watchlist and playlist switch cells (api_watchlist.c), shown by
 * the library pages ---- */
/* True for a plain Spotify id (letters and digits, 1..63). */
bool api_spotify_id_ok(const char *id);
/* The <td> with the watch / unwatch button of an artist row. */
void api_watch_cell(struct buf *b, const char *artist_id, const char *name,
                    bool watched);
/* The <td> with the "download missing tracks" switch of a playlist row. */
void api_playlist_cell(struct buf *b, const char *playlist_id,
                       const char *name, bool on);

/* The "Spotify account" card of the settings page's spotify tab (a
 * pages_card, registered by routes.c; api_spotify.c): who is connected,
 * Connect / Disconnect / Sync now, and the plain-words outcome of a login
 * for the query value "spotify_login", a fixed code such as "denied" or
 * "state" (req NULL, absent or unknown: none). */
void api_spotify_account_card(struct buf *out, const struct http_req *req);
/* The "Send test" card of the notifications tab (api_notify.c): a button
 * per target and the status lines polled from /api/notify/status/html. */
void api_notify_card(struct buf *out, const struct http_req *req);

void api_workers_status(struct http_req *req, struct http_resp *resp,
                        void *ctx);
void api_workers_status_html(struct http_req *req, struct http_resp *resp,
                             void *ctx);
void api_workers_services(struct http_req *req, struct http_resp *resp,
                          void *ctx);
void api_workers_services_detail(struct http_req *req, struct http_resp *resp,
                                 void *ctx);
void api_workers_list(struct http_req *req, struct http_resp *resp, void *ctx);
void api_workers_run(struct http_req *req, struct http_resp *resp, void *ctx);
void api_settings_get(struct http_req *req, struct http_resp *resp, void *ctx);
void api_settings_schema(struct http_req *req, struct http_resp *resp,
                         void *ctx);
void api_settings_patch(struct http_req *req, struct http_resp *resp,
                        void *ctx);

/* ---- authentication (api_auth.c) ---- */
/* The HTTP server's authorize hook (http_authorize_fn). */
bool api_authorize(struct http_req *req, struct http_resp *resp, void *ctx);
void api_login_page(struct http_req *req, struct http_resp *resp, void *ctx);
void api_login_submit(struct http_req *req, struct http_resp *resp, void *ctx);
void api_logout(struct http_req *req, struct http_resp *resp, void *ctx);
void api_security_key(struct http_req *req, struct http_resp *resp, void *ctx);
void api_security_password(struct http_req *req, struct http_resp *resp,
                           void *ctx);
/* The Authentication card of the settings page's security tab (a
 * pages_card, registered by routes.c): the API key (only for a request let
 * in by loopback, session or key; req may be NULL), regenerate, the
 * password form, log out; the query value "security" is a fixed notice
 * code (absent or unknown: none). */
void api_auth_security_card(struct buf *out, const struct http_req *req);

/* ---- shared by the domain modules (api_common.c) ---- */
/* Opens a connection to the daemon's database (DATA_DIR/soulspotd.db) for
 * this handler; the caller closes it with db_close(). */
enum ss_err api_open_store(struct db **db);
/* api_open_store, or a 503 "store not available" in resp and false. */
bool api_store_or_503(struct http_resp *resp, struct db **db);
/* The positive {id} right after prefix in path (digits, then the end or
 * '/'), or -1. */
int64_t api_path_id(const char *path, const char *prefix);
/* Query parameter name as a non-negative integer capped at max; def when
 * absent or malformed. */
int64_t api_int_param(struct http_req *req, const char *name, int64_t def,
                      int64_t max);
/* Marks a rendered page or fragment: HTML, Cache-Control: no-store; a
 * body cut by its cap becomes a 500 JSON error. */
void api_finish_html(struct http_resp *resp);

#endif
