/*
 * api_downloads.c - HTTP endpoints of the downloads domain.
 */
#include <stddef.h>

#include "api/api.h"

const struct http_route *api_downloads_routes(size_t *count)
{
  *count = 0;
  return NULL;
}
