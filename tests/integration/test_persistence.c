/*
 * test_persistence.c - counters and times in worker_state survive restarts
 * and show in the status JSON; run-now records history (also for a skipped
 * run, folded into an identical skip before it), refuses disabled units
 * (409) and unknown ones (404).
 *
 * Counters are seeded straight into the daemon's database with the db
 * interface (db_open / db_worker_state_store) while the daemon is stopped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "db/db.h"
#include "itest.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define BIG_BYTES 5368709120LL /* 5 GiB: needs 64 bits */

static void seed(const char *db_path, const char *unit,
                 const struct db_field *fields, size_t n)
{
  struct db *db = NULL;
  assert_int_equal(db_open(db_path, &db), SS_OK);
  assert_int_equal(db_worker_state_store(db, unit, fields, n), SS_OK);
  db_close(db);
}

/* Starts once (creating the schema), stops, seeds counters, starts again. */
static void start_seeded(struct it_fixture *f, const char *ini)
{
  int64_t now = clock_wall_ms();
  /* Half a unit past each boundary, so the text holds for 30 s. */
  const struct db_field monitor[] = {
    {"downloads_completed", 42, NULL},
    {"downloads_failed", 2, NULL},
    {"last_poll", now - 5 * MIN_MS - 30000, NULL},
  };
  const struct db_field cleanup[] = {
    {"files_deleted", 7, NULL},
    {"bytes_freed", BIG_BYTES, NULL},
    {"last_run", now - 2 * HOUR_MS - 10 * MIN_MS, NULL},
  };
  const struct db_field dupes[] = {
    {"duplicates_found", 3, NULL},
    {"tracks_scanned", 1500, NULL},
    {"last_scan", now - 3 * DAY_MS - HOUR_MS, NULL},
  };
  assert_int_equal(daemon_start(&f->d, ini, NULL), SS_OK);
  assert_int_equal(daemon_stop(&f->d), 0);
  seed(f->d.db_path, "download_monitor", monitor, 3);
  seed(f->d.db_path, "cleanup", cleanup, 3);
  seed(f->d.db_path, "duplicate_detector", dupes, 3);
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
}

static json_t *details(json_t *doc, const char *worker)
{
  json_t *d = json_object_get(it_worker(doc, worker), "details");
  assert_true(json_is_object(d));
  return d;
}

static void check_seeded(struct it_fixture *f)
{
  long status = 0;
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), &status);
  assert_int_equal(status, 200);
  json_t *dm = details(doc, "download_monitor");
  IT_ASSERT_JSON_INT(dm, "downloads_completed", 42);
  IT_ASSERT_JSON_INT(dm, "downloads_failed", 2);
  IT_ASSERT_JSON_STR(dm, "last_poll", "vor 5 min");
  json_t *cl = details(doc, "cleanup");
  IT_ASSERT_JSON_INT(cl, "files_deleted", 7);
  IT_ASSERT_JSON_INT(cl, "bytes_freed", BIG_BYTES);
  IT_ASSERT_JSON_STR(cl, "last_run", "vor 2 h");
  json_t *dd = details(doc, "duplicate_detector");
  IT_ASSERT_JSON_INT(dd, "duplicates_found", 3);
  IT_ASSERT_JSON_INT(dd, "tracks_scanned", 1500);
  IT_ASSERT_JSON_STR(dd, "last_scan", "vor 3 d");
  json_decref(doc);
}

/* ---- helpers for GET /api/workers ---- */

/* Runs recorded in a history array: consecutive identical skips share one
 * entry and count its repeats. */
static size_t recorded_runs(json_t *h)
{
  size_t n = 0, i;
  json_t *e;
  json_array_foreach(h, i, e)
  {
    json_t *r = json_object_get(e, "repeats");
    assert_true(json_is_integer(r) && json_integer_value(r) >= 1);
    n += (size_t)json_integer_value(r);
  }
  return n;
}

static size_t history_len(struct it_fixture *f, const char *unit)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *h = json_object_get(it_unit(doc, unit), "history");
  size_t n = json_is_array(h) ? recorded_runs(h) : 0;
  json_decref(doc);
  return n;
}

struct history_wait {
  const char *unit;
  size_t at_least;
};

static bool history_reaches(json_t *doc, void *arg)
{
  const struct history_wait *w = arg;
  json_t *u = it_unit(doc, w->unit);
  json_t *h = json_object_get(u, "history");
  json_t *st = json_object_get(u, "state");
  return json_is_array(h) && recorded_runs(h) >= w->at_least &&
         json_is_string(st) && strcmp(json_string_value(st), "active") != 0;
}

static bool wait_history(struct it_fixture *f, const char *unit, size_t n,
                         int timeout_ms)
{
  struct history_wait w = {unit, n};
  return it_wait_json(it_url(f, "/api/workers"), history_reaches, &w,
                      timeout_ms, NULL);
}

static int run_now(struct it_fixture *f, const char *unit)
{
  return it_run_now(f, unit);
}

/* ---- tests ---- */

/* Runs download_monitor now and waits until the run is recorded. */
static void run_monitor_once(struct it_fixture *f)
{
  assert_true(wait_history(f, "download_monitor", 1, 2000));
  size_t before = history_len(f, "download_monitor");
  assert_int_equal(run_now(f, "download_monitor"), 202);
  assert_true(wait_history(f, "download_monitor", before + 1, 2000));
}

static void test_counters_survive_restart(void **state)
{
  struct it_fixture *f = *state;
  start_seeded(f, NULL);
  check_seeded(f);
  run_monitor_once(f); /* a (skipped) run keeps them */
  check_seeded(f);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  check_seeded(f);
  run_monitor_once(f);
  check_seeded(f);
}

/* Counters are cumulative: a run of the unit does not reset them. */
static void test_counters_survive_runs(void **state)
{
  struct it_fixture *f = *state;
  start_seeded(f, NULL);
  assert_int_equal(
    it_patch_settings(f, "{\"automation.cleanup_enabled\": true, "
                         "\"automation.duplicate_detection_enabled\": "
                         "true}"),
    SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(wait_history(f, "cleanup", 1, 2000));
  assert_true(wait_history(f, "duplicate_detector", 1, 2000));
  run_monitor_once(f);

  long status = 0;
  json_t *doc = it_get_json(it_url(f, "/api/workers/status"), &status);
  assert_int_equal(status, 200);
  json_t *dm = details(doc, "download_monitor");
  IT_ASSERT_JSON_INT(dm, "downloads_completed", 42);
  IT_ASSERT_JSON_INT(dm, "downloads_failed", 2);
  IT_ASSERT_JSON_INT(details(doc, "cleanup"), "files_deleted", 7);
  IT_ASSERT_JSON_INT(details(doc, "cleanup"), "bytes_freed", BIG_BYTES);
  IT_ASSERT_JSON_INT(details(doc, "duplicate_detector"), "duplicates_found",
                     3);
  json_decref(doc);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  doc = it_get_json(it_url(f, "/api/workers/status"), NULL);
  IT_ASSERT_JSON_INT(details(doc, "cleanup"), "files_deleted", 7);
  IT_ASSERT_JSON_INT(details(doc, "download_monitor"), "downloads_completed",
                     42);
  json_decref(doc);
}

static void test_run_now_records_history(void **state)
{
  struct it_fixture *f = *state;
  static const char *const units[] = {"token_refresh", "spotify_sync",
                                      "download_monitor"};
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  for (size_t i = 0; i < 3; i++) {
    assert_true(wait_history(f, units[i], 1, 2000)); /* start-up run */
    size_t before = history_len(f, units[i]);
    int64_t asked = clock_wall_ms();
    assert_int_equal(run_now(f, units[i]), 202);
    if (!wait_history(f, units[i], before + 1, 2000))
      fprintf(stderr, "error: %s: history stayed at %zu after run-now\n",
              units[i], before);
    assert_true(wait_history(f, units[i], before + 1, 2000));

    json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
    json_t *u = it_unit(doc, units[i]);
    json_t *newest = json_array_get(json_object_get(u, "history"), 0);
    IT_ASSERT_JSON_STR(newest, "result", "skipped"); /* nothing configured */
    json_t *started = json_object_get(newest, "last_started_ms");
    assert_true(json_is_integer(started));
    assert_true(json_integer_value(started) >= asked - 1000);
    IT_ASSERT_JSON_STR(u, "last_run", "gerade eben");
    json_decref(doc);
  }
}

static int64_t newest_started(struct it_fixture *f, const char *unit)
{
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *h = json_object_get(it_unit(doc, unit), "history");
  json_t *s = json_object_get(json_array_get(h, 0), "last_started_ms");
  int64_t v = json_is_integer(s) ? json_integer_value(s) : -1;
  json_decref(doc);
  return v;
}

static void test_run_now_history_persists(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_true(wait_history(f, "token_refresh", 1, 2000));
  assert_int_equal(run_now(f, "token_refresh"), 202);
  assert_true(wait_history(f, "token_refresh", 2, 2000));
  size_t before = history_len(f, "token_refresh");
  int64_t newest = newest_started(f, "token_refresh");
  assert_true(newest > 0);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  assert_true(history_len(f, "token_refresh") >= before);
  assert_true(newest_started(f, "token_refresh") >= newest);
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  IT_ASSERT_JSON_STR(it_unit(doc, "token_refresh"), "last_run", "gerade eben");
  json_decref(doc);
  /* And the history keeps growing after the restart. */
  assert_int_equal(run_now(f, "token_refresh"), 202);
  assert_true(wait_history(f, "token_refresh", before + 1, 2000));
}

static void test_run_now_enabled_after_patch(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_int_equal(run_now(f, "cleanup"), 409);
  assert_int_equal(it_patch_settings(f,
                                     "{\"automation.cleanup_enabled\": true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(wait_history(f, "cleanup", 1, 2000));
  size_t before = history_len(f, "cleanup");
  assert_int_equal(run_now(f, "cleanup"), 202);
  assert_true(wait_history(f, "cleanup", before + 1, 2000));
}

/* Skipped runs ("slskd not configured") do not push real runs out of the
 * 20-entry history: they share one entry, also in the store. */
static void test_skipped_runs_collapse(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_true(wait_history(f, "download_monitor", 1, 2000));
  for (int i = 0; i < 25; i++) {
    size_t before = history_len(f, "download_monitor");
    assert_int_equal(run_now(f, "download_monitor"), 202);
    assert_true(wait_history(f, "download_monitor", before + 1, 2000));
  }
  json_t *doc = it_get_json(it_url(f, "/api/workers"), NULL);
  json_t *h = json_object_get(it_unit(doc, "download_monitor"), "history");
  assert_int_equal(json_array_size(h), 1);
  json_t *e = json_array_get(h, 0);
  IT_ASSERT_JSON_STR(e, "result", "skipped");
  IT_ASSERT_JSON_STR(e, "message", "slskd not configured");
  int64_t repeats = json_integer_value(json_object_get(e, "repeats"));
  assert_true(repeats >= 26);
  assert_true(json_integer_value(json_object_get(e, "last_started_ms")) >
              json_integer_value(json_object_get(e, "started_ms")));
  json_decref(doc);
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  doc = it_get_json(it_url(f, "/api/workers"), NULL);
  h = json_object_get(it_unit(doc, "download_monitor"), "history");
  assert_int_equal(json_array_size(h), 1);
  assert_true(json_integer_value(
                json_object_get(json_array_get(h, 0), "repeats")) >= repeats);
  json_decref(doc);
}

static void assert_json_error_body(struct it_fixture *f)
{
  json_t *doc = it_parse(&f->r);
  assert_true(json_is_string(json_object_get(doc, "error")));
  json_decref(doc);
}

static void test_run_now_disabled_409(void **state)
{
  struct it_fixture *f = *state;
  static const char *const disabled[] = {"cleanup", "duplicate_detector",
                                         "automation.watchlist",
                                         "automation.discography",
                                         "automation.quality_upgrade"};
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  for (size_t i = 0; i < sizeof disabled / sizeof disabled[0]; i++) {
    assert_int_equal(run_now(f, disabled[i]), 409);
    assert_json_error_body(f);
    assert_int_equal(history_len(f, disabled[i]), 0);
  }
  /* Disabling an enabled unit makes run-now refuse it too. */
  assert_int_equal(
    it_patch_settings(f, "{\"spotify.token_refresh_enabled\": false}"), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(run_now(f, "token_refresh"), 409);
  assert_json_error_body(f);
}

static void test_run_now_unknown_404(void **state)
{
  struct it_fixture *f = *state;
  static const char *const paths[] = {"/api/workers/nope/run",
                                      "/api/workers/automation.nope/run",
                                      "/api/workers/token_refresh/run/extra",
                                      "/api/workers//run",
                                      "/api/workers/TOKEN_REFRESH/run"};
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    assert_int_equal(hc_request("POST", it_url(f, paths[i]), NULL, NULL,
                                &f->r),
                     SS_OK);
    if (f->r.status != 404)
      fprintf(stderr, "error: POST %s: HTTP %ld\n", paths[i], f->r.status);
    IT_ASSERT_STATUS(&f->r, 404);
    assert_json_error_body(f);
  }
}

static void test_run_now_wrong_method_405(void **state)
{
  struct it_fixture *f = *state;
  char allow[128] = "";
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_int_equal(hc_get(it_url(f, "/api/workers/token_refresh/run"), &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 405);
  assert_true(hc_header(&f->r, "Allow", allow, sizeof allow));
  assert_non_null(strstr(allow, "POST"));
  assert_json_error_body(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_counters_survive_restart),    T(test_counters_survive_runs),
    T(test_run_now_records_history),     T(test_run_now_history_persists),
    T(test_run_now_enabled_after_patch), T(test_skipped_runs_collapse),
    T(test_run_now_disabled_409),        T(test_run_now_unknown_404),
    T(test_run_now_wrong_method_405),
  };
  return cmocka_run_group_tests_name("integration/persistence", tests, NULL,
                                     NULL);
}
