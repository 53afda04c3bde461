/*
 * pages.h - the web pages of soulspotd (server-rendered HTML + htmx).
 *
 * Every page shares one layout shell: a left sidebar with the app name, the
 * navigation (Dashboard, Settings) and, in its footer, the worker indicator
 * that htmx loads from /api/workers/status/html every 10 s.  Pages load only
 * /static assets (icons.css, app.css, htmx.min.js, app.js); they contain no
 * inline script and no inline event handler, so they run under the CSP
 * "default-src 'self'; style-src 'self' 'unsafe-inline'".
 *
 * Every dynamic string (setting values, labels, notes, errors) is written
 * through html_escape().  Secret settings are never rendered: the page shows
 * only whether they are set.
 *
 * The handlers have the http_handler_fn signature; ctx is unused.  They run
 * on HTTP threads and only copy runtime snapshots and settings values.
 */
#ifndef SS_API_PAGES_H
#define SS_API_PAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/server.h"
#include "runtime/runtime.h"

/* GET / - the dashboard: a "Workers" card that polls /workers/table. */
void pages_dashboard(struct http_req *req, struct http_resp *resp, void *ctx);

/* GET /settings?tab=spotify|downloads|automation|security - the settings
 * page, open on the tab that `tab` names (default and fallback: spotify);
 * the security tab starts with the Authentication card (api_auth.c). */
void pages_settings(struct http_req *req, struct http_resp *resp, void *ctx);

/*
 * POST /settings - saves one setting from a form body (key, value) through
 * settings_apply_text() and answers 200 with the re-rendered field fragment:
 * a "Saved" mark on success, the error beside the field (showing the typed
 * value; the stored value is unchanged) on failure.  An unknown or
 * non-runtime key or a missing value is a 400 JSON error.  An empty value
 * for a secret means "keep the current one".
 */
void pages_settings_save(struct http_req *req, struct http_resp *resp,
                         void *ctx);

/* GET /workers/table - HTML fragment: one table row per worker unit. */
void pages_workers_table(struct http_req *req, struct http_resp *resp,
                         void *ctx);

/*
 * GET /static/... - an embedded asset (web_asset_find), borrowed as the
 * response's static body, with its strong ETag and a one-day public
 * Cache-Control.  If-None-Match matching the ETag gives an empty 304; an
 * unknown path is a 404 JSON error.
 */
void pages_static(struct http_req *req, struct http_resp *resp, void *ctx);

/* A card a domain module puts at the top of a settings tab (the Spotify
 * account card of api_spotify.c, the Authentication card of api_auth.c),
 * so this module never calls into them: render appends the card's HTML;
 * req is the page's request (NULL when rendered without one), for the
 * card's own notices. */
struct pages_card {
  const char *tab; /* settings tab name, e.g. "spotify" */
  void (*render)(struct buf *out, const struct http_req *req);
};
/* Registers the cards (borrowed: a static table).  Called once by
 * routes.c before the server starts; not thread-safe. */
void pages_set_cards(const struct pages_card *cards, size_t n);

/* The shared layout for pages of the domain modules (api_library.c,
 * api_downloads.c, api_spotify.c): document head, sidebar with `section`
 * marked current, and the page heading (title and lead, escaped).  Close
 * with pages_close(). */
enum pages_section {
  PAGES_DASHBOARD,
  PAGES_SETTINGS,
  PAGES_LIBRARY,
  PAGES_DOWNLOADS,
  PAGES_WANTED
};
void pages_open(struct buf *out, enum pages_section section, const char *title,
                const char *lead);
void pages_close(struct buf *out);
/* Only the document head (doctype to </head>) with title, for a page
 * without the layout shell (the login form). */
void pages_head(struct buf *out, const char *title);

/* ---- internal: pure renderers, exposed for tests/unit/test_pages.c ---- */

/* Names of the settings tabs; an unknown or NULL name gives "spotify". */
const char *pages_tab_name(const char *tab);

/* Appends the whole dashboard document for the given units (defs and snaps
 * indexed by enum unit_id, UNIT__COUNT entries each). */
enum ss_err pages_render_dashboard(struct buf *out,
                                   const struct unit_def *const *defs,
                                   const struct unit_snapshot *snaps,
                                   int64_t now_ms);

/* Appends the workers table fragment (same arguments as above). */
enum ss_err pages_render_workers_table(struct buf *out,
                                       const struct unit_def *const *defs,
                                       const struct unit_snapshot *snaps,
                                       int64_t now_ms);

/* Appends the whole settings document open on tab (see pages_tab_name). */
enum ss_err pages_render_settings(struct buf *out, const char *tab);

/*
 * Appends the fragment <div class="field" id="field-KEY">...</div> of one
 * setting.  shown_value is what the input shows (NULL = the stored value;
 * ignored for secrets, whose input is never pre-filled); error, when not
 * NULL, is shown beside the field; saved adds the "Saved" mark.
 */
enum ss_err pages_render_field(struct buf *out, enum setting_id id,
                               const char *shown_value, const char *error,
                               bool saved);

/*
 * What POST /settings does after reading the form: applies value to key and
 * appends the field fragment to out.  Returns SS_OK when a fragment was
 * rendered (saved or with a validation error), SS_ENOTFOUND for an unknown
 * key, SS_EINVAL for a non-runtime key or a NULL value (out untouched), or
 * SS_ETOOBIG.
 */
enum ss_err pages_apply_field(struct buf *out, const char *key,
                              const char *value);

#endif
