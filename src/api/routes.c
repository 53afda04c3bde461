/*
 * routes.c - the route table of soulspotd.  Find any endpoint here: the core
 * routes are listed below; each domain module (Spotify, downloads, library)
 * contributes its own table from its api_<domain>.c, listed in api.h.
 * api_routes() is called once by main before the server starts; it also
 * hands the pages module the settings cards of the domain modules.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/pages.h"
#include "core/xalloc.h"

static const struct http_route core_routes[] = {
  /* Workers API (docs/API.md) */
  {"GET", "/api/workers/status", api_workers_status},
  {"GET", "/api/workers/status/html", api_workers_status_html},
  {"GET", "/api/workers/services", api_workers_services},
  {"GET", "/api/workers/services/detail", api_workers_services_detail},
  {"GET", "/api/workers", api_workers_list},
  {"POST", "/api/workers/*/run", api_workers_run},
  /* Settings API */
  {"GET", "/api/settings", api_settings_get},
  {"PATCH", "/api/settings", api_settings_patch},
  {"GET", "/api/settings/schema", api_settings_schema},
  /* Authentication (api_auth.c) */
  {"GET", "/login", api_login_page},
  {"POST", "/login", api_login_submit},
  {"POST", "/logout", api_logout},
  {"POST", "/settings/security/key", api_security_key},
  {"POST", "/settings/security/password", api_security_password},
  /* Pages */
  {"GET", "/", pages_dashboard},
  {"GET", "/workers/table", pages_workers_table},
  {"GET", "/settings", pages_settings},
  {"POST", "/settings", pages_settings_save},
  {"GET", "/static/*", pages_static},
};

typedef const struct http_route *(*domain_routes_fn)(size_t *count);
static const domain_routes_fn domains[] = {api_spotify_routes,
                                           api_downloads_routes,
                                           api_library_routes,
                                           api_wanted_routes,
                                           api_ops_routes,
                                           api_watchlist_routes,
                                           api_notify_routes};

/* Cards the domain modules contribute to the settings page's tabs. */
static const struct pages_card settings_cards[] = {
  {"spotify", api_spotify_account_card},
  {"notifications", api_notify_card},
  {"security", api_auth_security_card},
};

const struct http_route *api_routes(size_t *count)
{
  static struct http_route *all;
  static size_t n_all;
  if (all) {
    *count = n_all;
    return all;
  }
  pages_set_cards(settings_cards,
                  sizeof settings_cards / sizeof settings_cards[0]);
  size_t n = sizeof core_routes / sizeof core_routes[0];
  all = xmalloc(n * sizeof *all);
  memcpy(all, core_routes, sizeof core_routes);
  for (size_t d = 0; d < sizeof domains / sizeof domains[0]; d++) {
    size_t k = 0;
    const struct http_route *r = domains[d](&k);
    if (!k)
      continue;
    all = xrealloc(all, (n + k) * sizeof *all);
    memcpy(all + n, r, k * sizeof *r);
    n += k;
  }
  n_all = n;
  *count = n_all;
  return all;
}
