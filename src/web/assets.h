/*
 * assets.h - static web assets embedded into the binary at build time.
 *
 * tools/embed.c generates the table from node_modules (htmx, the
 * bootstrap-icons subset built by scripts/gen-icons.sh) and web/.  Read-only
 * data; any thread.
 */
#ifndef SS_WEB_ASSETS_H
#define SS_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
  const char *path; /* "/static/htmx.min.js" */
  const char *content_type;
  const unsigned char *data;
  size_t len;
  const char *etag; /* quoted strong ETag */
};

extern const struct web_asset web_assets[];
extern const unsigned web_assets_count;

/* Returns the asset served at path, or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
