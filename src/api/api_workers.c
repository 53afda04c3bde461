/*
 * api_workers.c - the Workers API handlers.
 *
 * The three status endpoints are polled by every open browser tab, so their
 * bodies are cached: a cache entry is valid while the runtime, prober and
 * settings generations and the current wall-clock second are unchanged
 * (German relative times never outlive their second).  A miss re-renders
 * under the entry's mutex; a hit is one memcpy.  ETags let pollers get 304.
 */
#include "api/api.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "workers/workers_view.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/reltime.h"
#include "services/prober.h"
#include "runtime/runtime.h"

enum cached_view { CACHED_JSON, CACHED_HTML, CACHED_SERVICES, CACHED__COUNT };

struct render_cache {
  pthread_mutex_t mu;
  uint64_t key[4];
  bool valid;
  struct buf body;
  char etag[24]; /* of body, computed once per fill */
};

static struct render_cache caches[CACHED__COUNT] = {
  {.mu = PTHREAD_MUTEX_INITIALIZER},
  {.mu = PTHREAD_MUTEX_INITIALIZER},
  {.mu = PTHREAD_MUTEX_INITIALIZER},
};

static enum ss_err render(enum cached_view v, struct buf *out, int64_t now_ms)
{
  struct workers_model m;
  workers_model_collect(&m);
  switch (v) {
  case CACHED_JSON: return workers_render_json(out, &m, now_ms);
  case CACHED_HTML: return workers_render_html(out, &m, now_ms);
  default: return workers_render_services(out, &m);
  }
}

static void serve_cached(enum cached_view v, struct http_req *req,
                         struct http_resp *resp, const char *type)
{
  struct render_cache *c = &caches[v];
  int64_t now_ms = clock_wall_ms();
  uint64_t key[4] = {runtime_generation(), prober_generation(),
                     settings_generation(), (uint64_t)(now_ms / 1000)};
  pthread_mutex_lock(&c->mu);
  if (!c->valid || memcmp(c->key, key, sizeof key)) {
    if (!c->body.limit)
      buf_init(&c->body, HTTP_RESP_MAX);
    buf_reset(&c->body);
    c->valid = render(v, &c->body, now_ms) == SS_OK;
    snprintf(c->etag, sizeof c->etag, "\"%016llx\"",
             (unsigned long long)XXH3_64bits(c->body.data ? c->body.data : "",
                                             c->body.len));
    memcpy(c->key, key, sizeof key);
  }
  int rc = c->valid ? buf_append(&resp->body, c->body.data, c->body.len)
                    : SS_ETOOBIG;
  char etag[sizeof c->etag];
  memcpy(etag, c->etag, sizeof etag);
  pthread_mutex_unlock(&c->mu);
  if (rc != SS_OK) {
    http_resp_error(resp, 500, "could not render status");
    return;
  }
  resp->content_type = type;
  http_resp_etag_set(req, resp, etag);
}

void api_workers_status(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  serve_cached(CACHED_JSON, req, resp, "application/json; charset=utf-8");
}

void api_workers_status_html(struct http_req *req, struct http_resp *resp,
                             void *ctx)
{
  (void)ctx;
  serve_cached(CACHED_HTML, req, resp, "text/html; charset=utf-8");
}

void api_workers_services(struct http_req *req, struct http_resp *resp,
                          void *ctx)
{
  (void)ctx;
  serve_cached(CACHED_SERVICES, req, resp, "application/json; charset=utf-8");
}

void api_workers_services_detail(struct http_req *req, struct http_resp *resp,
                                 void *ctx)
{
  (void)req, (void)ctx;
  struct workers_model m;
  workers_model_collect(&m);
  workers_render_services_detail(&resp->body, &m, clock_wall_ms());
}

static void json_time_field(struct buf *b, const char *name, int64_t ms,
                            int64_t now_ms)
{
  char rel[RELTIME_MAX];
  if (ms > 0)
    buf_printf(b, ",\"%s_ms\":%" PRId64, name, ms);
  else
    buf_printf(b, ",\"%s_ms\":null", name);
  buf_printf(b, ",\"%s\":", name);
  if (ms > 0 && ms > now_ms) {
    json_str(b, reltime_until_de(now_ms, ms, rel, sizeof rel));
  } else {
    json_str(b, ms > 0 ? reltime_de(now_ms, ms, rel, sizeof rel) : "noch nie");
  }
}

void api_workers_list(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req, (void)ctx;
  struct buf *b = &resp->body;
  int64_t now = clock_wall_ms();
  buf_puts(b, "{\"units\":[");
  for (int i = 0; i < UNIT__COUNT; i++) {
    const struct unit_def *def = runtime_def((enum unit_id)i);
    struct unit_snapshot s;
    runtime_snapshot((enum unit_id)i, &s);
    buf_printf(b,
               "%s{\"key\":\"%s\",\"label\":\"%s\",\"enabled\":%s,"
               "\"running\":%s,\"state\":\"%s\",\"interval_seconds\":%" PRId64,
               i ? "," : "", def->key, def->label,
               s.enabled ? "true" : "false", s.running ? "true" : "false",
               workers_state_name(s.state), s.interval_s);
    json_time_field(b, "last_run", s.last_start_ms, now);
    json_time_field(b, "next_run", s.next_run_ms > 1 ? s.next_run_ms : 0, now);
    buf_printf(b,
               ",\"last_duration_ms\":%" PRId64 ",\"last_result\":\"%s\","
               "\"runs\":%" PRIu64 ",\"last_error\":",
               s.last_duration_ms,
               s.last_start_ms ? runtime_result_name(s.last_result) : "none",
               (uint64_t)s.runs);
    if (s.last_error[0])
      json_str(b, s.last_error);
    else
      buf_puts(b, "null");
    buf_puts(b, ",\"last_error_reason\":");
    if (s.last_error[0] && s.last_error_reason != SS_R_NONE)
      buf_printf(b, "\"%s\"", ss_reason_name(s.last_error_reason));
    else
      buf_puts(b, "null");
    buf_puts(b, ",\"note\":");
    json_str(b, s.note);
    buf_puts(b, ",\"history\":[");
    struct db_run runs[DB_RUN_HISTORY];
    size_t n = runtime_history((enum unit_id)i, runs, DB_RUN_HISTORY);
    for (size_t r = 0; r < n; r++) {
      buf_printf(b,
                 "%s{\"started_ms\":%" PRId64 ",\"duration_ms\":%" PRId64
                 ",\"repeats\":%" PRId64 ",\"last_started_ms\":%" PRId64
                 ",\"result\":",
                 r ? "," : "", runs[r].started_ms, runs[r].duration_ms,
                 runs[r].repeats > 1 ? runs[r].repeats : 1,
                 runs[r].last_started_ms > runs[r].started_ms
                   ? runs[r].last_started_ms
                   : runs[r].started_ms);
      json_str(b, runs[r].result);
      buf_puts(b, ",\"message\":");
      json_str(b, runs[r].message);
      buf_putc(b, '}');
    }
    buf_puts(b, "]}");
  }
  buf_puts(b, "]}");
}

/* Run now of the contract's "automation" entry: every enabled part once.
 * SS_OK when one was queued, SS_EBUSY when every enabled part is already
 * running, SS_ESTATE when none is enabled. */
static enum ss_err run_automation(void)
{
  enum unit_id parts[UNIT__COUNT];
  size_t n = workers_view_units(VIEW_AUTOMATION, parts);
  enum ss_err rc = SS_ESTATE;
  for (size_t i = 0; i < n; i++) {
    enum ss_err r = runtime_run_now(parts[i]);
    if (r == SS_OK || (r == SS_EBUSY && rc == SS_ESTATE))
      rc = r;
  }
  return rc;
}

void api_workers_run(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  /* /api/workers/{unit}/run */
  const char *path = http_req_path(req);
  const char *prefix = "/api/workers/";
  size_t plen = strlen(prefix), len = strlen(path);
  const char *suffix = "/run";
  if (len <= plen + strlen(suffix) ||
      strcmp(path + len - strlen(suffix), suffix) != 0) {
    http_resp_error(resp, 404, "not found");
    return;
  }
  char key[64];
  size_t klen = len - plen - strlen(suffix);
  if (klen >= sizeof key) {
    http_resp_error(resp, 404, "unknown worker");
    return;
  }
  memcpy(key, path + plen, klen);
  key[klen] = '\0';
  bool automation = !strcmp(key, "automation");
  int id = automation ? 0 : runtime_lookup(key);
  if (id < 0) {
    http_resp_error(resp, 404, "unknown worker");
    return;
  }
  int rc = automation ? run_automation() : runtime_run_now((enum unit_id)id);
  if (rc == SS_ESTATE) {
    http_resp_error(resp, 409,
                    "worker is disabled; enable it in the settings");
    return;
  }
  resp->status = 202;
  buf_printf(&resp->body,
             "{\"worker\":\"%s\",\"queued\":%s,"
             "\"already_running\":%s}",
             automation ? "automation" : runtime_def((enum unit_id)id)->key,
             rc == SS_OK ? "true" : "false",
             rc == SS_EBUSY ? "true" : "false");
}
