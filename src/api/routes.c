/*
 * routes.c - the one route table of soulspotd.  Find any endpoint here.
 */
#include "api/api.h"
#include "api/pages.h"

static const struct http_route routes[] = {
  /* Workers API (workers-api.md) */
  {"GET", "/api/workers/status", api_workers_status},
  {"GET", "/api/workers/status/html", api_workers_status_html},
  {"GET", "/api/workers/services", api_workers_services},
  {"GET", "/api/workers/services/detail", api_workers_services_detail},
  {"GET", "/api/workers", api_workers_list},
  {"POST", "/api/workers/*", api_workers_run},
  /* Settings API */
  {"GET", "/api/settings", api_settings_get},
  {"PATCH", "/api/settings", api_settings_patch},
  {"GET", "/api/settings/schema", api_settings_schema},
  {"GET", "/healthz", api_healthz},
  /* Pages */
  {"GET", "/", pages_dashboard},
  {"GET", "/workers/table", pages_workers_table},
  {"GET", "/settings", pages_settings},
  {"POST", "/settings", pages_settings_save},
  {"GET", "/static/*", pages_static},
};

const struct http_route *api_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
