/*
 * test_ops.c - what operators read, against the real daemon (issue 11,
 * items 1 and 2): /livez and /readyz as Kubernetes answers them, and
 * GET /metrics validated by Debian's promtool and moving when work
 * happens (a Cleanup run, a download request, HTTP answers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "db/db.h"
#include "itest.h"
#include "tfs.h"

#define PROMTOOL SOULSPOT_SOURCE_DIR "/.cache/prometheus/usr/bin/promtool"
#define OLD (time(NULL) - 30 * 86400)

static char tmp_dir[128];

static int setup(void **state)
{
  if (it_setup(state))
    return -1;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_ops.XXXXXX");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
  int rc = it_teardown(state);
  tfs_rm_tree(tmp_dir);
  return rc;
}

static const char *body_of(struct it_fixture *f, const char *path,
                           long want_status)
{
  assert_int_equal(hc_get(it_url(f, path), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, want_status);
  return buf_cstr(&f->r.body);
}

/* The value of the sample whose name and labels are exactly series
 * ("name{a=\"b\"}"); -1 when the scrape has no such line. */
static double sample(const char *scrape, const char *series)
{
  size_t n = strlen(series);
  for (const char *p = scrape; p && *p;
       p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, series, n) && p[n] == ' ')
      return strtod(p + n + 1, NULL);
  }
  return -1;
}

/* Sum of every sample of the family name (any labels). */
static double family_sum(const char *scrape, const char *name)
{
  double sum = 0;
  size_t n = strlen(name);
  for (const char *p = scrape; p && *p;
       p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, name, n) && p[n] == '{') {
      const char *sp = strstr(p, "} ");
      if (sp)
        sum += strtod(sp + 2, NULL);
    }
  }
  return sum;
}

static char *scrape(struct it_fixture *f)
{
  assert_int_equal(hc_get(it_url(f, "/metrics"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(
    strstr(buf_cstr(&f->r.headers), "text/plain; version=0.0.4"));
  char *copy = strdup(buf_cstr(&f->r.body));
  assert_non_null(copy);
  return copy;
}

/* promtool check metrics < text: exit 0 and nothing reported. */
static void promtool_accepts(const char *text)
{
  if (access(PROMTOOL, X_OK) != 0)
    fail_msg("promtool missing at %s (scripts/bootstrap.sh installs it)",
             PROMTOOL);
  char in[256], out[256], cmd[1024];
  snprintf(in, sizeof in, "%s/scrape.txt", tmp_dir);
  snprintf(out, sizeof out, "%s/promtool.out", tmp_dir);
  FILE *fp = fopen(in, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s' > '%s' 2>&1", PROMTOOL,
           in, out);
  int rc = system(cmd);
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    char report[4096] = "";
    fp = fopen(out, "r");
    if (fp) {
      size_t n = fread(report, 1, sizeof report - 1, fp);
      report[n] = '\0';
      fclose(fp);
    }
    fail_msg("promtool check metrics failed:\n%s", report);
  }
}

static void set_user_version(const char *db_path, int v)
{
  sqlite3 *db;
  assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static int user_version(const char *db_path)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
                                      NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void test_livez_and_readyz(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_string_equal(body_of(f, "/livez", 200), "ok\n");
  assert_string_equal(body_of(f, "/livez?verbose", 200),
                      "[+]heartbeat ok\nlivez check passed\n");
  assert_string_equal(body_of(f, "/readyz", 200), "ok\n");
  assert_string_equal(body_of(f, "/readyz?verbose", 200),
                      "[+]store ok\n[+]migrations ok\n[+]settings ok\n"
                      "[+]runtime ok\nreadyz check passed\n");
  assert_string_equal(body_of(f, "/healthz", 200), "{\"status\":\"ok\"}");

  /* A file a newer build migrated: not ready, and it says why. */
  int v = user_version(f->d.db_path);
  assert_true(v > 0);
  set_user_version(f->d.db_path, v + 1);
  char want[256];
  snprintf(want, sizeof want,
           "[+]store ok\n[-]migrations failed: schema at version %d, this "
           "build needs %d\n[+]settings ok\n[+]runtime ok\n"
           "readyz check failed\n",
           v + 1, v);
  assert_string_equal(body_of(f, "/readyz", 503), want);
  /* Liveness does not look at the store. */
  assert_string_equal(body_of(f, "/livez", 200), "ok\n");
  set_user_version(f->d.db_path, v);
  assert_string_equal(body_of(f, "/readyz", 200), "ok\n");
}

static void test_health_open_metrics_authenticated(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  /* Through a reverse proxy on this machine: not loopback any more. */
  const char *const proxied[] = {"X-Forwarded-For: 203.0.113.9", NULL};
  assert_int_equal(hc_request("GET", it_url(f, "/livez"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(hc_request("GET", it_url(f, "/readyz"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(hc_request("GET", it_url(f, "/metrics"), proxied, NULL,
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 401);
  assert_null(strstr(buf_cstr(&f->r.body), "soulspotd_"));

  /* A remote Prometheus sends the API key as a bearer token. */
  char key[80], bearer[128], wrong[128];
  struct db *db = NULL;
  assert_int_equal(db_open(f->d.db_path, &db), SS_OK);
  assert_int_equal(db_secret_get(db, "api_key", key, sizeof key), SS_OK);
  db_close(db);
  snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", key);
  snprintf(wrong, sizeof wrong, "Authorization: Bearer x%s", key);
  const char *const good[] = {proxied[0], bearer, NULL};
  const char *const bad[] = {proxied[0], wrong, NULL};
  assert_int_equal(hc_request("GET", it_url(f, "/metrics"), good, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body), "soulspotd_unit_runs_total"));
  assert_null(strstr(buf_cstr(&f->r.body), key)); /* never the secret */
  assert_int_equal(hc_request("GET", it_url(f, "/metrics"), bad, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 401);
}

static void old_file(const char *name, int size)
{
  char path[512];
  snprintf(path, sizeof path, "%s/tmp/%s", tmp_dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  for (int i = 0; i < size; i++)
    fputc('z', fp);
  fclose(fp);
  struct timespec t[2] = {{OLD, 0}, {OLD, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

struct runs_arg {
  struct it_fixture *f;
  const char *series;
  double at_least;
};

static bool sample_reached(void *arg)
{
  struct runs_arg *a = arg;
  assert_int_equal(hc_get(it_url(a->f, "/metrics"), &a->f->r), SS_OK);
  return sample(buf_cstr(&a->f->r.body), a->series) >= a->at_least;
}

static void test_metrics_valid_and_moving(void **state)
{
  struct it_fixture *f = *state;
  char ini[1024], dl[256], tmp[256];
  snprintf(dl, sizeof dl, "%s/slskd", tmp_dir);
  snprintf(tmp, sizeof tmp, "%s/tmp", tmp_dir);
  assert_int_equal(mkdir(dl, 0755) | mkdir(tmp, 0755), 0);
  old_file("Björk - Jóga.flac.part", 1000);
  old_file("坂本龍一 <b>&\"'.tmp", 750);
  snprintf(ini, sizeof ini,
           "[download]\nslskd_download_path = %s\ntemp_path = %s\n"
           "[automation]\ncleanup_dry_run = false\n",
           dl, tmp);
  assert_int_equal(daemon_start(&f->d, ini, NULL), SS_OK);

  char *before = scrape(f);
  promtool_accepts(before);
  assert_true(sample(before, "soulspotd_build_info{version=\"" SOULSPOT_VERSION
                             "\"}") == 1);
  assert_true(sample(before, "process_resident_memory_bytes") > 1e6);
  /* main's connection, and the scrape's own while it renders; units add
   * theirs only while a run is due within a minute */
  assert_true(sample(before, "soulspotd_db_connections") >= 1);
  assert_true(sample(before, "soulspotd_db_connections") <= 16);
  assert_true(sample(before, "soulspotd_cleanup_freed_bytes_total") == 0);
  assert_true(sample(before, "soulspotd_unit_enabled{unit=\"cleanup\"}") == 0);
  assert_true(sample(before, "soulspotd_unit_state{unit=\"cleanup\","
                             "state=\"stopped\"}") == 1);
  assert_true(sample(before, "soulspotd_service_up{service=\"spotify\"}") ==
              0);
  assert_true(sample(before, "soulspotd_metrics_store_up") == 1);
  assert_true(family_sum(before, "soulspotd_download_requests") == 0);
  double status_before = sample(
    before, "soulspotd_http_requests_total{method=\"GET\",route="
            "\"/api/workers/status\",code=\"2xx\"}");

  /* Work happens: a Cleanup run frees the two orphans... */
  assert_int_equal(it_patch_settings(f, "{\"automation.cleanup_enabled\":"
                                        " true}"),
                   SS_OK);
  struct runs_arg ok = {f,
                        "soulspotd_unit_runs_total{unit=\"cleanup\","
                        "result=\"ok\"}",
                        1};
  assert_true(it_wait_until(sample_reached, &ok, 5000));
  /* ...a download request is made, and the API is read and missed. */
  const char *const json[] = {"Content-Type: application/json", NULL};
  assert_int_equal(hc_request("POST", it_url(f, "/api/downloads"), json,
                              "{\"query\": \"Sigur Rós - Hoppípolla\"}",
                              &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 201);
  assert_int_equal(hc_get(it_url(f, "/api/workers/status"), &f->r), SS_OK);
  assert_int_equal(hc_get(it_url(f, "/no/such/page"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 404);

  char *after = scrape(f);
  promtool_accepts(after);
  assert_true(sample(after, "soulspotd_cleanup_freed_bytes_total") == 1750);
  assert_true(sample(after, "soulspotd_cleanup_files_deleted_total") == 2);
  assert_true(sample(after, "soulspotd_unit_enabled{unit=\"cleanup\"}") == 1);
  assert_true(sample(after, "soulspotd_unit_run_duration_seconds_count{unit="
                            "\"cleanup\"}") >= 1);
  assert_true(sample(after, "soulspotd_unit_run_duration_seconds_bucket{unit="
                            "\"cleanup\",le=\"+Inf\"}") >= 1);
  assert_true(sample(after, "soulspotd_unit_last_success_timestamp_seconds{"
                            "unit=\"cleanup\"}") > (double)time(NULL) - 60);
  assert_true(family_sum(after, "soulspotd_download_requests") == 1);
  assert_true(sample(after, "soulspotd_http_requests_total{method=\"GET\","
                            "route=\"/api/workers/status\",code=\"2xx\"}") >=
              status_before + 1);
  assert_true(sample(after, "soulspotd_http_requests_total{method=\"POST\","
                            "route=\"/api/downloads\",code=\"2xx\"}") == 1);
  assert_true(sample(after, "soulspotd_http_requests_total{method=\"\","
                            "route=\"(unrouted)\",code=\"4xx\"}") >= 1);
  free(before);
  free(after);

  /* Persisted counters survive a restart; since-start ones begin again. */
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  char *restarted = scrape(f);
  assert_true(sample(restarted, "soulspotd_cleanup_freed_bytes_total") ==
              1750);
  assert_true(sample(restarted, "soulspotd_unit_last_success_timestamp_"
                                "seconds{unit=\"cleanup\"}") > 0);
  free(restarted);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_livez_and_readyz, setup, teardown),
    cmocka_unit_test_setup_teardown(test_health_open_metrics_authenticated,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_metrics_valid_and_moving, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
