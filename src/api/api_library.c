/*
 * api_library.c - HTTP endpoints of the library domain.
 */
#include <stddef.h>

#include "api/api.h"

const struct http_route *api_library_routes(size_t *count)
{
  *count = 0;
  return NULL;
}
