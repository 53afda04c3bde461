/*
 * api_common.c - small helpers shared by the domain API modules
 * (api_spotify.c, api_downloads.c, api_library.c, api_wanted.c).  Handler
 * threads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "config/settings.h"
#include "core/err.h"

enum ss_err api_open_store(struct db **db)
{
  char dir[SETTING_STR_MAX], path[SETTING_STR_MAX + 32];
  settings_str(S_SERVER_DATA_DIR, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/soulspotd.db", dir);
  return db_open(path, db);
}

bool api_store_or_503(struct http_resp *resp, struct db **db)
{
  if (api_open_store(db) == SS_OK)
    return true;
  http_resp_error(resp, 503, "store not available");
  return false;
}

int64_t api_path_id(const char *path, const char *prefix)
{
  size_t n = strlen(prefix);
  if (strncmp(path, prefix, n))
    return -1;
  const char *p = path + n;
  int64_t id = 0;
  size_t digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 15) {
    id = id * 10 + (*p++ - '0');
    digits++;
  }
  return digits && (!*p || *p == '/') && id > 0 ? id : -1;
}

int64_t api_int_param(struct http_req *req, const char *name, int64_t def,
                      int64_t max)
{
  const char *s = http_req_query(req, name);
  if (!s || !*s)
    return def;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v < 0)
    return def;
  return v > max ? max : v;
}

void api_finish_html(struct http_resp *resp)
{
  resp->content_type = "text/html; charset=utf-8";
  http_resp_header(resp, "Cache-Control", "no-store");
  if (!buf_ok(&resp->body)) {
    buf_reset(&resp->body);
    http_resp_error(resp, 500, "page too large");
  }
}
