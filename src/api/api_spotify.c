/*
 * api_spotify.c - HTTP endpoints of the spotify domain.
 */
#include <stddef.h>

#include "api/api.h"

const struct http_route *api_spotify_routes(size_t *count)
{
  *count = 0;
  return NULL;
}
