/*
 * api_ops.c - what operators and their tools read: health and metrics.
 *
 *   GET /healthz   {"status":"ok"} while the HTTP server answers
 *   GET /livez     the scheduler's heartbeat is fresh (runtime_live); no
 *                  store, no network.  200 "ok" / 503
 *   GET /readyz    the store opens, the schema is at this build's version,
 *                  the stored settings read back, the runtime is started.
 *                  200 "ok" / 503
 *   GET /metrics   Prometheus text format 0.0.4 (docs/API.md, Operations)
 *
 * /livez and /readyz answer as Kubernetes' do: plain text; with ?verbose
 * (or on failure) one line per check, "[+]name ok" or "[-]name failed:
 * reason", then "livez check passed" / "readyz check failed".  The three
 * health routes are open (api_auth.c) so probes need no key; /metrics is
 * behind authentication like the API (loopback exempt by default; remote
 * scrapers send the API key, e.g. Prometheus' authorization: credentials).
 *
 * A scrape copies the runtime's and the prober's snapshots, reads the HTTP
 * answer counters (atomics) and opens one store connection for the
 * counts by state; it never waits on a worker or the network.  Every
 * label value is escaped as the format wants (backslash, quote, newline).
 *
 * Threading: HTTP threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "automation/wanted.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "db/db_downloads.h"
#include "db/db_library.h"
#include "db/db_wanted.h"
#include "runtime/runtime.h"
#include "clients/backoff.h"
#include "services/notify.h"
#include "services/prober.h"

#define TEXT_TYPE "text/plain; charset=utf-8"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CHECK_REASON_MAX 200

void api_healthz(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req, (void)ctx;
  buf_puts(&resp->body, "{\"status\":\"ok\"}");
}

/* ------------------------------------------------------- health checks */

struct check {
  const char *name;
  bool ok;
  char reason[CHECK_REASON_MAX];
};

/* The Kubernetes-style answer over n checks. */
static void health_answer(struct http_req *req, struct http_resp *resp,
                          const char *what, const struct check *checks,
                          size_t n)
{
  bool ok = true;
  for (size_t i = 0; i < n; i++)
    ok = ok && checks[i].ok;
  resp->status = ok ? 200 : 503;
  resp->content_type = TEXT_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
  if (ok && !http_req_has_query(req, "verbose")) {
    buf_puts(&resp->body, "ok\n");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (checks[i].ok)
      buf_printf(&resp->body, "[+]%s ok\n", checks[i].name);
    else
      buf_printf(&resp->body, "[-]%s failed: %s\n", checks[i].name,
                 checks[i].reason);
  }
  buf_printf(&resp->body, "%s check %s\n", what, ok ? "passed" : "failed");
}

static void api_livez(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct check c = {.name = "heartbeat"};
  c.ok = runtime_live(c.reason, sizeof c.reason);
  health_answer(req, resp, "livez", &c, 1);
}

static void count_setting(void *arg, const char *key, const char *value)
{
  (void)key, (void)value;
  (*(size_t *)arg)++;
}

static void api_readyz(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct check c[] = {{.name = "store"},
                      {.name = "migrations"},
                      {.name = "settings"},
                      {.name = "runtime"}};
  struct db *db = NULL;
  c[0].ok = api_open_store(&db) == SS_OK;
  if (!c[0].ok)
    snprintf(c[0].reason, sizeof c[0].reason, "cannot open the database");
  int applied = 0, known = 0;
  if (!c[0].ok) {
    snprintf(c[1].reason, sizeof c[1].reason, "the database is not open");
  } else if (db_schema_version(db, &applied, &known) != SS_OK) {
    snprintf(c[1].reason, sizeof c[1].reason,
             "cannot read the schema "
             "version");
  } else if (applied != known) {
    snprintf(c[1].reason, sizeof c[1].reason,
             "schema at version %d, this "
             "build needs %d",
             applied, known);
  } else {
    c[1].ok = true;
  }
  size_t n_settings = 0;
  if (!c[0].ok)
    snprintf(c[2].reason, sizeof c[2].reason, "the database is not open");
  else if (db_settings_load(db, count_setting, &n_settings) != SS_OK)
    snprintf(c[2].reason, sizeof c[2].reason,
             "cannot read the stored "
             "settings");
  else
    c[2].ok = true;
  db_close(db);
  bool any_thread = false;
  for (int i = 0; i < UNIT__COUNT && !any_thread; i++)
    any_thread = runtime_beat_age_ms((enum unit_id)i, NULL) >= 0;
  c[3].ok = any_thread;
  if (!any_thread)
    snprintf(c[3].reason, sizeof c[3].reason,
             "the worker runtime is not "
             "running");
  health_answer(req, resp, "readyz", c, sizeof c / sizeof c[0]);
}

/* ------------------------------------------------------------ metrics */

static void family(struct buf *b, const char *name, const char *type,
                   const char *help)
{
  buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Ends the label list of sample_open (a typed null pointer: plain NULL
 * may be an int in a variadic call). */
#define NO_MORE_LABELS ((const char *)NULL)

/* name{ then label="escaped value" pairs: k1, v1, k2, v2, ...,
 * NO_MORE_LABELS. */
static void sample_open(struct buf *b, const char *name, const char *k, ...)
{
  buf_puts(b, name);
  va_list ap;
  va_start(ap, k);
  bool first = true;
  for (; k; k = va_arg(ap, const char *)) {
    const char *v = va_arg(ap, const char *);
    buf_puts(b, first ? "{" : ",");
    first = false;
    buf_printf(b, "%s=\"", k);
    for (const char *p = v; *p; p++) {
      if (*p == '\\')
        buf_puts(b, "\\\\");
      else if (*p == '"')
        buf_puts(b, "\\\"");
      else if (*p == '\n')
        buf_puts(b, "\\n");
      else
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
  }
  va_end(ap);
  if (!first)
    buf_putc(b, '}');
}

static void value_int(struct buf *b, int64_t v)
{
  buf_printf(b, " %lld\n", (long long)v);
}

static void value_seconds(struct buf *b, int64_t ms)
{
  buf_printf(b, " %lld.%03lld\n", (long long)(ms / 1000),
             (long long)(ms % 1000));
}

/* A family of one unlabelled sample. */
static void single(struct buf *b, const char *name, const char *type,
                   const char *help, int64_t value)
{
  family(b, name, type, help);
  sample_open(b, name, NO_MORE_LABELS);
  value_int(b, value);
}

/* A family with one sample per value of one label: keys[i] -> values[i],
 * milliseconds written as seconds when ms is set. */
static void labelled(struct buf *b, const char *name, const char *type,
                     const char *help, const char *label,
                     const char *const *keys, const int64_t *values, int n,
                     bool ms)
{
  family(b, name, type, help);
  for (int i = 0; i < n; i++) {
    sample_open(b, name, label, keys[i], NO_MORE_LABELS);
    if (ms)
      value_seconds(b, values[i]);
    else
      value_int(b, values[i]);
  }
}

static int64_t unit_counter(enum unit_id id, const struct unit_snapshot *s,
                            const char *name)
{
  const char *const *names = runtime_def(id)->counter_names;
  for (int i = 0; names && names[i] && i < UNIT_MAX_COUNTERS; i++)
    if (!strcmp(names[i], name))
      return s->counters[i];
  return 0;
}

static const char *const state_names[] = {"stopped", "idle", "active",
                                          "error"};

static void unit_metrics(struct buf *b)
{
  struct unit_snapshot snaps[UNIT__COUNT];
  struct unit_stats stats[UNIT__COUNT];
  for (int i = 0; i < UNIT__COUNT; i++) {
    runtime_snapshot((enum unit_id)i, &snaps[i]);
    runtime_stats((enum unit_id)i, &stats[i]);
  }
#define EACH_UNIT(i) for (int i = 0; i < UNIT__COUNT; i++)
#define KEY(i) runtime_def((enum unit_id)(i))->key
  family(b, "soulspotd_unit_runs_total", "counter",
         "Runs of a worker unit since start-up, by result.");
  EACH_UNIT(i) for (int r = 0; r < UNIT_RUN_RESULTS; r++)
  {
    sample_open(b, "soulspotd_unit_runs_total", "unit", KEY(i), "result",
                runtime_result_name((enum unit_run_result)r), NO_MORE_LABELS);
    value_int(b, (int64_t)stats[i].runs[r]);
  }
  family(b, "soulspotd_unit_run_duration_seconds", "histogram",
         "How long runs of a worker unit took, since start-up.");
  EACH_UNIT(i)
  {
    char le[32];
    for (int k = 0; k <= RUNTIME_DURATION_BUCKETS; k++) {
      if (k < RUNTIME_DURATION_BUCKETS) {
        int64_t ms = runtime_duration_bounds_ms[k];
        snprintf(le, sizeof le, "%lld.%03lld", (long long)(ms / 1000),
                 (long long)(ms % 1000));
      } else {
        snprintf(le, sizeof le, "+Inf");
      }
      sample_open(b, "soulspotd_unit_run_duration_seconds_bucket", "unit",
                  KEY(i), "le", le, NO_MORE_LABELS);
      value_int(b, (int64_t)stats[i].le_counts[k]);
    }
    sample_open(b, "soulspotd_unit_run_duration_seconds_sum", "unit", KEY(i),
                NO_MORE_LABELS);
    value_seconds(b, stats[i].duration_sum_ms);
    sample_open(b, "soulspotd_unit_run_duration_seconds_count", "unit", KEY(i),
                NO_MORE_LABELS);
    value_int(b, (int64_t)stats[i].le_counts[RUNTIME_DURATION_BUCKETS]);
  }
  const char *keys[UNIT__COUNT];
  int64_t success[UNIT__COUNT], enabled[UNIT__COUNT], running[UNIT__COUNT],
    age[UNIT__COUNT];
  EACH_UNIT(i)
  {
    keys[i] = KEY(i);
    success[i] = stats[i].last_success_ms;
    enabled[i] = snaps[i].enabled;
    running[i] = stats[i].in_run;
    age[i] = runtime_beat_age_ms((enum unit_id)i, NULL);
    if (age[i] < 0)
      age[i] = 0;
  }
  labelled(b, "soulspotd_unit_last_success_timestamp_seconds", "gauge",
           "When a run of the unit last ended ok (Unix time; 0 = never).",
           "unit", keys, success, UNIT__COUNT, true);
  labelled(b, "soulspotd_unit_enabled", "gauge",
           "1 when the unit is enabled in the settings.", "unit", keys,
           enabled, UNIT__COUNT, false);
  labelled(b, "soulspotd_unit_running", "gauge",
           "1 while the unit is inside a run.", "unit", keys, running,
           UNIT__COUNT, false);
  family(b, "soulspotd_unit_state", "gauge",
         "The unit's state as in the Workers API: 1 for the current one.");
  EACH_UNIT(i) for (int st = 0; st < 4; st++)
  {
    sample_open(b, "soulspotd_unit_state", "unit", KEY(i), "state",
                state_names[st], NO_MORE_LABELS);
    value_int(b, (int)snaps[i].state == st);
  }
  family(b, "soulspotd_unit_error_reason", "gauge",
         "1 for a unit in error, labelled with the machine reason.");
  EACH_UNIT(i) if (snaps[i].state == UNIT_ERROR)
  {
    sample_open(b, "soulspotd_unit_error_reason", "unit", KEY(i), "reason",
                ss_reason_name(snaps[i].last_error_reason != SS_R_NONE
                                 ? snaps[i].last_error_reason
                                 : SS_R_INTERNAL),
                NO_MORE_LABELS);
    value_int(b, 1);
  }
  labelled(b, "soulspotd_unit_heartbeat_age_seconds", "gauge",
           "Time since the unit's thread last beat (GET /livez).", "unit",
           keys, age, UNIT__COUNT, true);

  const struct unit_snapshot *dm = &snaps[UNIT_DOWNLOAD_MONITOR];
  const struct unit_snapshot *cl = &snaps[UNIT_CLEANUP];
  const struct unit_snapshot *dd = &snaps[UNIT_DUPLICATE_DETECTOR];
  single(b, "soulspotd_downloads_completed_total", "counter",
         "Downloads the Download Monitor saw complete (persisted).",
         unit_counter(UNIT_DOWNLOAD_MONITOR, dm, "downloads_completed"));
  single(b, "soulspotd_downloads_failed_total", "counter",
         "Downloads that failed for good (persisted).",
         unit_counter(UNIT_DOWNLOAD_MONITOR, dm, "downloads_failed"));
  single(b, "soulspotd_cleanup_files_deleted_total", "counter",
         "Orphaned temporary files Cleanup removed (persisted).",
         unit_counter(UNIT_CLEANUP, cl, "files_deleted"));
  single(b, "soulspotd_cleanup_freed_bytes_total", "counter",
         "Bytes Cleanup freed (persisted).",
         unit_counter(UNIT_CLEANUP, cl, "bytes_freed"));
  single(b, "soulspotd_duplicate_groups_open", "gauge",
         "Duplicate groups waiting for a decision after the last scan.",
         unit_counter(UNIT_DUPLICATE_DETECTOR, dd, "groups_open"));
#undef EACH_UNIT
#undef KEY
}

static void service_metrics(struct buf *b)
{
  struct service_status st[SVC__COUNT];
  prober_get(st);
  const char *keys[SVC__COUNT];
  int64_t up[SVC__COUNT], configured[SVC__COUNT], probe[SVC__COUNT],
    blocked[SVC__COUNT], failures[SVC__COUNT];
  int64_t now = clock_wall_ms();
  for (int i = 0; i < SVC__COUNT; i++) {
    keys[i] = prober_service_key((enum service_id)i);
    up[i] = st[i].up;
    configured[i] = st[i].configured;
    probe[i] = st[i].checked ? st[i].latency_ms : 0;
    struct backoff_state bo;
    backoff_get((enum service_id)i, &bo);
    int64_t until = st[i].blocked_until_ms > bo.until_ms
                      ? st[i].blocked_until_ms
                      : bo.until_ms;
    blocked[i] = until > now ? until : 0;
    failures[i] = bo.failures;
  }
  labelled(b, "soulspotd_service_up", "gauge",
           "1 when the last probe reached the service (GET "
           "/api/workers/services).",
           "service", keys, up, SVC__COUNT, false);
  labelled(b, "soulspotd_service_configured", "gauge",
           "1 when the service is configured in the settings.", "service",
           keys, configured, SVC__COUNT, false);
  labelled(b, "soulspotd_service_probe_seconds", "gauge",
           "How long the last probe of the service took.", "service", keys,
           probe, SVC__COUNT, true);
  labelled(b, "soulspotd_service_blocked_until_timestamp_seconds", "gauge",
           "Until when no unit calls the service: its Retry-After or the "
           "backoff ladder (Unix time, 0 = not blocked).",
           "service", keys, blocked, SVC__COUNT, true);
  labelled(b, "soulspotd_service_failures_in_a_row", "gauge",
           "Consecutive failed calls (the backoff ladder's step).", "service",
           keys, failures, SVC__COUNT, false);
}

/* Samples of the two download families, gathered in one pass. */
struct dl_rows {
  struct buf requests, files;
};

static void dl_state_row(void *arg, const char *table, const char *state,
                         int64_t count)
{
  struct dl_rows *w = arg;
  bool files = !strcmp(table, "files");
  struct buf *b = files ? &w->files : &w->requests;
  sample_open(b,
              files ? "soulspotd_download_files"
                    : "soulspotd_download_requests",
              "state", state, NO_MORE_LABELS);
  value_int(b, count);
}

static enum ss_err store_metrics(struct buf *b)
{
  struct db *db = NULL;
  struct dl_rows w;
  buf_init(&w.requests, HTTP_RESP_MAX);
  buf_init(&w.files, HTTP_RESP_MAX);
  enum ss_err rc = api_open_store(&db);
  if (!rc)
    rc = db_dl_state_counts(db, dl_state_row, &w);
  if (!rc) {
    family(b, "soulspotd_download_requests", "gauge",
           "Download requests by state.");
    buf_puts(b, buf_cstr(&w.requests));
    family(b, "soulspotd_download_files", "gauge",
           "Files of download requests by state (retried rows excluded).");
    buf_puts(b, buf_cstr(&w.files));
  }
  buf_free(&w.requests);
  buf_free(&w.files);
  struct library_counts lc;
  if (!rc && !(rc = db_library_counts(db, &lc))) {
    const char *states[] = {"live", "unreadable", "gone", "quarantined"};
    const int64_t n[] = {lc.live, lc.unreadable, lc.gone, lc.quarantined};
    labelled(b, "soulspotd_library_tracks", "gauge",
             "Scanned library tracks by state.", "state", states, n, 4, false);
  }
  db_close(db);
  return rc;
}

static void wanted_metrics(struct buf *b)
{
  struct wanted_counts wc;
  if (!wanted_stats_get(&wc))
    return;
  const char *sources[] = {"watchlist", "discography", "quality_upgrade",
                           "playlist", "manual"};
  const int64_t open[] = {wc.watchlist, wc.discography, wc.quality_upgrade,
                          wc.playlist, wc.manual};
  labelled(b, "soulspotd_wanted_open_items", "gauge",
           "Wanted items still open (wanted, searching, downloading) by "
           "source.",
           "source", sources, open, 5, false);
  const char *states[] = {"imported", "given_up", "ignored"};
  const int64_t closed[] = {wc.imported, wc.given_up, wc.ignored};
  labelled(b, "soulspotd_wanted_closed_items", "gauge",
           "Wanted items no longer searched for, by state.", "state", states,
           closed, 3, false);
  single(b, "soulspotd_wanted_download_requests_total", "counter",
         "Download requests the Wanted list made.", wc.requests_made);
}

static void http_answer_row(void *arg, const struct http_route *route,
                            int status_class, uint64_t count)
{
  struct buf *b = arg;
  char code[4] = {(char)('0' + status_class), 'x', 'x', '\0'};
  sample_open(b, "soulspotd_http_requests_total", "method",
              route ? route->method : "", "route",
              route ? route->path : "(unrouted)", "code", code,
              NO_MORE_LABELS);
  value_int(b, (int64_t)count);
}

static void process_metrics(struct buf *b)
{
  family(b, "soulspotd_build_info", "gauge",
         "Always 1; the version of this build as a label.");
  sample_open(b, "soulspotd_build_info", "version", SOULSPOT_VERSION,
              NO_MORE_LABELS);
  value_int(b, 1);
  /* statm: "size resident shared ..." in pages. */
  char line[128] = "";
  FILE *f = fopen("/proc/self/statm", "r");
  bool ok = f && fgets(line, sizeof line, f);
  if (f)
    fclose(f);
  char *end = line;
  long resident = 0;
  if (ok) {
    strtol(line, &end, 10);
    resident = strtol(end, &end, 10);
    ok = resident > 0;
  }
  single(b, "soulspotd_db_connections", "gauge",
         "SQLite connections open now (units keep one only while their "
         "next run is due within a minute).",
         db_connections_open());
  if (ok) {
    family(b, "process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
    sample_open(b, "process_resident_memory_bytes", NO_MORE_LABELS);
    value_int(b, (int64_t)resident * sysconf(_SC_PAGESIZE));
  }
}

static void notify_metrics(struct buf *b)
{
  struct notify_target_status st[NOTIFY__TARGETS];
  uint64_t dropped = 0;
  notify_status(st, &dropped);
  family(b, "soulspotd_notifications_sent_total", "counter",
         "Notifications a target accepted (2xx) since start-up.");
  for (int t = 0; t < NOTIFY__TARGETS; t++) {
    sample_open(b, "soulspotd_notifications_sent_total", "target",
                notify_target_name((enum notify_target)t), NO_MORE_LABELS);
    value_int(b, (int64_t)st[t].sent);
  }
  family(b, "soulspotd_notifications_failed_total", "counter",
         "Notifications that failed (transport error, timeout, non-2xx, "
         "redirect) since start-up; never retried.");
  for (int t = 0; t < NOTIFY__TARGETS; t++) {
    sample_open(b, "soulspotd_notifications_failed_total", "target",
                notify_target_name((enum notify_target)t), NO_MORE_LABELS);
    value_int(b, (int64_t)st[t].failed);
  }
  single(b, "soulspotd_notifications_dropped_total", "counter",
         "Notification events dropped because the queue was full.",
         (int64_t)dropped);
}

static void api_metrics(struct http_req *req, struct http_resp *resp,
                        void *ctx)
{
  (void)ctx;
  struct buf *b = &resp->body;
  process_metrics(b);
  unit_metrics(b);
  service_metrics(b);
  wanted_metrics(b);
  notify_metrics(b);
  family(b, "soulspotd_http_requests_total", "counter",
         "HTTP answers since start-up by route and status class (route "
         "\"(unrouted)\": refused before a route matched).");
  http_server_answers(http_req_server(req), http_answer_row, b);
  /* A store that cannot be read costs only its own families. */
  struct buf store;
  buf_init(&store, HTTP_RESP_MAX);
  int rc = store_metrics(&store);
  if (!rc && store.len)
    buf_append(b, store.data, store.len);
  buf_free(&store);
  family(b, "soulspotd_metrics_store_up", "gauge",
         "1 when this scrape could read the counts from the store.");
  sample_open(b, "soulspotd_metrics_store_up", NO_MORE_LABELS);
  value_int(b, rc == SS_OK);
  resp->content_type = PROM_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
  if (!buf_ok(b))
    http_resp_error(resp, 500, "metrics did not fit the answer");
}

static const struct http_route ops_routes[] = {
  {"GET", "/healthz", api_healthz},
  {"GET", "/livez", api_livez},
  {"GET", "/readyz", api_readyz},
  {"GET", "/metrics", api_metrics},
};

const struct http_route *api_ops_routes(size_t *count)
{
  *count = sizeof ops_routes / sizeof ops_routes[0];
  return ops_routes;
}
