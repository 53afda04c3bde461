/*
 * api_settings.c - GET/PATCH /api/settings and the schema.
 *
 * Validation, persistence and the all-or-nothing rule live in
 * config/settings_api.c; these handlers only map results to HTTP.
 */
#include "api/api.h"

#include "config/settings.h"
#include "core/err.h"

void api_settings_get(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req, (void)ctx;
  settings_render_json(&resp->body);
}

void api_settings_schema(struct http_req *req, struct http_resp *resp,
                         void *ctx)
{
  (void)req, (void)ctx;
  settings_render_schema_json(&resp->body);
}

void api_settings_patch(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  size_t len;
  const char *body = http_req_body(req, &len);
  struct buf errors;
  buf_init(&errors, 64 * 1024);
  enum ss_err rc = settings_patch_json(body, len, &errors);
  if (rc == SS_OK) {
    settings_render_json(&resp->body);
  } else {
    resp->status = rc == SS_EINVAL ? 400 : 500;
    buf_append(&resp->body, errors.data ? errors.data : "", errors.len);
    if (!errors.len)
      http_resp_error(resp, resp->status, "could not save settings");
  }
  buf_free(&errors);
}
