/*
 * Unit tests: the worker runtime's transitions, driven by fake units and an
 * injectable wall clock.  Waits are on conditions with deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "db/db.h"
#include "runtime/runtime.h"

/* ---- fake clock ---- */
static atomic_llong fake_wall;
static int64_t fake_wall_fn(void) { return atomic_load(&fake_wall); }

/* ---- fake units ---- */
enum behaviour { B_OK, B_SKIP, B_FAIL, B_BLOCK, B_LONG_SLEEP };
static atomic_int behaviour[UNIT__COUNT];
static atomic_int calls[UNIT__COUNT];
static atomic_bool release_block;
static atomic_bool was_forced[UNIT__COUNT]; /* the last run's view */

static enum unit_run_result fake_run(struct unit_ctx *ctx, int id)
{
  atomic_fetch_add(&calls[id], 1);
  atomic_store(&was_forced[id], unit_ctx_forced(ctx));
  switch (atomic_load(&behaviour[id])) {
  case B_SKIP:
    unit_ctx_set_note(ctx, "not configured");
    return UNIT_RUN_SKIPPED;
  case B_FAIL:
    unit_ctx_fail(ctx, SS_R_DISK, "boom <%d>", id);
    return UNIT_RUN_ERROR;
  case B_BLOCK:
    while (!atomic_load(&release_block) && !unit_ctx_should_stop(ctx))
      unit_ctx_sleep(ctx, 5);
    return unit_ctx_should_stop(ctx) ? UNIT_RUN_CANCELED : UNIT_RUN_OK;
  case B_LONG_SLEEP:
    if (!unit_ctx_sleep(ctx, 60000))
      return UNIT_RUN_CANCELED;
    return UNIT_RUN_OK;
  default:
    unit_ctx_add(ctx, 0, 3);
    unit_ctx_set_time(ctx, 0, clock_wall_ms());
    unit_ctx_set_message(ctx, "did %d", id);
    return UNIT_RUN_OK;
  }
}

#define FAKE(n)                                                               \
  static enum unit_run_result run_##n(struct unit_ctx *c)                     \
  {                                                                           \
    return fake_run(c, n);                                                    \
  }                                                                           \
  extern int fake_unused_
/* Each FAKE(n) ends in a declaration so that the line takes a semicolon. */
FAKE(0);
FAKE(1);
FAKE(2);
FAKE(3);
FAKE(4);
FAKE(5);
FAKE(6);
FAKE(7);

static const char *const counters[] = {"things", NULL};
static const char *const times[] = {"last_thing", NULL};

/* Reuse the real enable/interval settings so settings changes reach us. */
static const struct unit_def fake_defs[UNIT__COUNT] = {
  {"u0", "U0", S_SPOTIFY_TOKEN_REFRESH_ENABLED,
   S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS, 1, counters, times, false, run_0},
  {"u1", "U1", S_SPOTIFY_AUTO_SYNC_ENABLED,
   S_SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS, 1, counters, times, false, run_1},
  {"u2", "U2", S_DOWNLOAD_MONITOR_ENABLED, S_DOWNLOAD_POLL_INTERVAL_SECONDS, 1,
   counters, times, true, run_2},
  {"u3", "U3", S_AUTOMATION_WATCHLIST_ENABLED,
   S_AUTOMATION_WATCHLIST_INTERVAL_MINUTES, 60, counters, times, false, run_3},
  {"u4", "U4", S_AUTOMATION_DISCOGRAPHY_ENABLED,
   S_AUTOMATION_DISCOGRAPHY_INTERVAL_HOURS, 3600, counters, times, false,
   run_4},
  {"u5", "U5", S_AUTOMATION_QUALITY_UPGRADE_ENABLED,
   S_AUTOMATION_QUALITY_UPGRADE_INTERVAL_HOURS, 3600, counters, times, false,
   run_5},
  {"u6", "U6", S_AUTOMATION_CLEANUP_ENABLED,
   S_AUTOMATION_CLEANUP_INTERVAL_HOURS, 3600, counters, times, false, run_6},
  {"u7", "U7", S_AUTOMATION_DUPLICATE_DETECTION_ENABLED,
   S_AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS, 3600, counters, times, false,
   run_7},
};
static const struct unit_def *defs[UNIT__COUNT];

static char dir[64], db_path[128];

static int64_t mono_now(void) { return clock_mono_ms(); }

/* Polls cond(id) until true or deadline_ms passes. */
static bool wait_for(bool (*cond)(int), int id, int64_t deadline_ms)
{
  int64_t until = mono_now() + deadline_ms;
  struct timespec ts = {0, 1000000};
  while (!cond(id)) {
    if (mono_now() > until)
      return false;
    nanosleep(&ts, NULL);
  }
  return true;
}

static struct unit_snapshot snap(int id)
{
  struct unit_snapshot s;
  runtime_snapshot((enum unit_id)id, &s);
  return s;
}
static bool is_idle(int id) { return snap(id).state == UNIT_IDLE; }
static bool is_error(int id) { return snap(id).state == UNIT_ERROR; }
static bool is_active(int id) { return snap(id).state == UNIT_ACTIVE; }
static bool is_stopped(int id)
{
  struct unit_snapshot s = snap(id);
  return s.state == UNIT_STOPPED && !s.running;
}
static bool ran_once(int id) { return snap(id).runs >= 1; }
static bool ran_twice(int id) { return snap(id).runs >= 2; }
static bool ran_thrice(int id) { return snap(id).runs >= 3; }

static void set(const char *key, const char *value)
{
  char err[256];
  int id = settings_lookup(key);
  assert_true(id >= 0);
  assert_int_equal(settings_apply_text((enum setting_id)id, value, err,
                                       sizeof err),
                   SS_OK);
}

static int setup(void **state)
{
  (void)state;
  settings_init();
  for (int i = 0; i < UNIT__COUNT; i++) {
    defs[i] = &fake_defs[i];
    atomic_store(&behaviour[i], B_OK);
    atomic_store(&calls[i], 0);
  }
  atomic_store(&release_block, false);
  atomic_store(&fake_wall, 1800000000000LL);
  clock_set_sources(fake_wall_fn, NULL);
  snprintf(dir, sizeof dir, "/tmp/ss-runtime-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(db_path, sizeof db_path, "%s/t.db", dir);
  struct db *db;
  assert_int_equal(db_open(db_path, &db), SS_OK);
  int v;
  assert_int_equal(db_migrate(db, &v), SS_OK);
  db_close(db);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  runtime_stop();
  clock_set_sources(NULL, NULL);
  settings_cleanup();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

static void start(void)
{
  struct runtime_opts o = {.db_path = db_path, .defs = defs};
  assert_int_equal(runtime_start(&o), SS_OK);
}

static void test_defaults_enabled_run_disabled_stop(void **state)
{
  (void)state;
  start();
  /* Units 0-2 default on, 3-7 default off (docs/API.md). */
  for (int i = 0; i < 3; i++) {
    assert_true(wait_for(ran_once, i, 2000));
    assert_true(wait_for(is_idle, i, 1000));
    assert_true(snap(i).running);
  }
  for (int i = 3; i < UNIT__COUNT; i++) {
    assert_true(is_stopped(i));
    assert_int_equal(atomic_load(&calls[i]), 0);
    assert_int_equal(snap(i).next_run_ms, 0);
  }
}

static void test_timestamps_follow_injected_clock(void **state)
{
  (void)state;
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  struct unit_snapshot s = snap(0);
  assert_int_equal(s.last_start_ms, 1800000000000LL);
  assert_int_equal(s.times[0], 1800000000000LL);
  assert_int_equal(s.counters[0], 3);
  assert_int_equal(s.interval_s, 300);
  assert_int_equal(s.next_run_ms, 1800000000000LL + 300 * 1000);
  /* Time passes beyond the interval: the next wake-up runs it again. */
  atomic_store(&fake_wall, 1800000000000LL + 301 * 1000);
  set("spotify.token_check_interval_seconds", "300"); /* wakes the unit */
  assert_true(wait_for(ran_twice, 0, 2000));
  assert_int_equal(snap(0).counters[0], 6);
}

static void test_error_then_recovery(void **state)
{
  (void)state;
  atomic_store(&behaviour[1], B_FAIL);
  start();
  assert_true(wait_for(is_error, 1, 2000));
  struct unit_snapshot s = snap(1);
  assert_string_equal(s.last_error, "boom <1>");
  assert_int_equal(s.last_error_reason, SS_R_DISK);
  assert_int_equal(s.last_result, UNIT_RUN_ERROR);
  /* The reason is kept across a restart with the message. */
  runtime_stop();
  start();
  assert_int_equal(snap(1).last_error_reason, SS_R_DISK);
  assert_string_equal(snap(1).last_error, "boom <1>");
  atomic_store(&behaviour[1], B_OK);
  assert_int_equal(runtime_run_now(UNIT_SPOTIFY_SYNC), SS_OK);
  assert_true(wait_for(is_idle, 1, 2000));
  assert_string_equal(snap(1).last_error, "");
  assert_int_equal(snap(1).last_error_reason, SS_R_NONE);
  struct db_run runs[DB_RUN_HISTORY];
  size_t n = runtime_history(UNIT_SPOTIFY_SYNC, runs, DB_RUN_HISTORY);
  assert_true(n >= 2);
  assert_string_equal(runs[0].result, "ok");
  assert_string_equal(runs[n - 1].result, "error");
  assert_string_equal(runs[n - 1].message, "boom <1>");
}

/* ---- the error hook (main registers notifications there) ---- */
static atomic_int hook_calls;
static atomic_int hook_errors;              /* calls with error = true */
static char hook_last[UNIT_ERROR_MAX + 64]; /* written before hook_calls++ */

static void record_hook(const struct unit_def *def, bool error,
                        const char *last_error, enum ss_reason reason)
{
  snprintf(hook_last, sizeof hook_last, "%s|%d|%s|%s", def->key, error,
           last_error, ss_reason_name(reason));
  if (error)
    atomic_fetch_add(&hook_errors, 1);
  atomic_fetch_add(&hook_calls, 1);
}

static bool hook_called(int n) { return atomic_load(&hook_calls) >= n; }
static uint64_t runs_before;
static bool ran_again(int id) { return snap(id).runs > runs_before; }

static void test_error_hook_on_transitions_only(void **state)
{
  (void)state;
  atomic_store(&hook_calls, 0);
  atomic_store(&hook_errors, 0);
  runtime_set_error_hook(record_hook);
  atomic_store(&behaviour[1], B_FAIL);
  start();
  assert_true(wait_for(hook_called, 1, 2000));
  assert_string_equal(hook_last, "u1|1|boom <1>|disk");
  /* failing again: still in error, no second call */
  runs_before = snap(1).runs;
  assert_int_equal(runtime_run_now(UNIT_SPOTIFY_SYNC), SS_OK);
  assert_true(wait_for(ran_again, 1, 2000));
  assert_true(is_error(1));
  atomic_store(&behaviour[1], B_OK);
  assert_int_equal(runtime_run_now(UNIT_SPOTIFY_SYNC), SS_OK);
  assert_true(wait_for(hook_called, 2, 2000));
  assert_int_equal(atomic_load(&hook_errors), 1);
  assert_string_equal(hook_last, "u1|0||");
  /* units that never failed never called it */
  assert_int_equal(atomic_load(&hook_calls), 2);
  runtime_stop();
  runtime_set_error_hook(NULL);
}

static void test_skip_stays_idle_with_note(void **state)
{
  (void)state;
  atomic_store(&behaviour[0], B_SKIP);
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_true(wait_for(is_idle, 0, 1000));
  assert_string_equal(snap(0).note, "not configured");
  assert_int_equal(snap(0).last_result, UNIT_RUN_SKIPPED);
}

static void test_enable_disable_within_a_second(void **state)
{
  (void)state;
  start();
  set("automation.cleanup_enabled", "true");
  assert_true(wait_for(ran_once, UNIT_CLEANUP, 1000));
  assert_true(snap(UNIT_CLEANUP).running);
  set("automation.cleanup_enabled", "false");
  assert_true(wait_for(is_stopped, UNIT_CLEANUP, 1000));
  assert_int_equal(runtime_run_now(UNIT_CLEANUP), SS_ESTATE);
}

static void test_active_during_work_and_single_flight(void **state)
{
  (void)state;
  atomic_store(&behaviour[0], B_BLOCK);
  start();
  assert_true(wait_for(is_active, 0, 2000));
  assert_int_equal(runtime_run_now(UNIT_TOKEN_REFRESH), SS_EBUSY);
  atomic_store(&release_block, true);
  assert_true(wait_for(is_idle, 0, 2000));
  assert_int_equal(atomic_load(&calls[0]), 1);
}

static void test_active_on_demand_unit_stays_idle(void **state)
{
  (void)state;
  atomic_store(&behaviour[2], B_BLOCK);
  start();
  assert_true(wait_for(is_idle, 2, 2000));
  int64_t until = mono_now() + 50;
  while (mono_now() < until)
    assert_int_not_equal(snap(2).state, UNIT_ACTIVE);
  atomic_store(&release_block, true);
}

static void test_disable_interrupts_long_work(void **state)
{
  (void)state;
  atomic_store(&behaviour[0], B_LONG_SLEEP);
  start();
  assert_true(wait_for(is_active, 0, 2000));
  int64_t t0 = mono_now();
  set("spotify.token_refresh_enabled", "false");
  assert_true(wait_for(is_stopped, 0, 1000));
  assert_true(mono_now() - t0 < 1000);
  struct db_run runs[1];
  assert_true(wait_for(ran_once, 0, 1000));
  assert_int_equal(runtime_history(UNIT_TOKEN_REFRESH, runs, 1), 1);
  assert_string_equal(runs[0].result, "canceled");
}

static void test_stop_is_prompt_during_work(void **state)
{
  (void)state;
  atomic_store(&behaviour[0], B_LONG_SLEEP);
  start();
  assert_true(wait_for(is_active, 0, 2000));
  int64_t t0 = mono_now();
  runtime_stop();
  assert_true(mono_now() - t0 < 1000);
}

static void test_state_survives_restart(void **state)
{
  (void)state;
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_true(wait_for(is_idle, 0, 1000));
  runtime_stop();
  /* Start again "later": counters, times and history come from the db, and
   * the unit is not due before its interval elapsed. */
  atomic_store(&fake_wall, 1800000000000LL + 10 * 1000);
  start();
  assert_true(wait_for(is_idle, 0, 1000));
  struct unit_snapshot s = snap(0);
  assert_int_equal(s.counters[0], 3);
  assert_int_equal(s.times[0], 1800000000000LL);
  assert_int_equal(s.last_start_ms, 1800000000000LL);
  assert_int_equal(s.next_run_ms, 1800000000000LL + 300 * 1000);
  assert_int_equal(s.runs, 0);
  struct db_run runs[DB_RUN_HISTORY];
  assert_int_equal(runtime_history(UNIT_TOKEN_REFRESH, runs, DB_RUN_HISTORY),
                   1);
  assert_string_equal(runs[0].message, "did 0");
}

/* Waits until unit id has finished more than `after` runs (polling with a
 * 1 ms nap: a busy loop starves the unit's thread under valgrind, which
 * runs one thread at a time). */
static bool run_accepted(int id)
{
  return runtime_run_now((enum unit_id)id) == SS_OK;
}

static uint64_t runs_after;
static bool ran_after(int id) { return snap(id).runs > runs_after; }

static void run_now_and_wait(int id, uint64_t after)
{
  assert_true(wait_for(run_accepted, id, 10000));
  runs_after = after;
  assert_true(wait_for(ran_after, id, 10000));
}

static void assert_entry(const struct db_run *r, const char *result,
                         int64_t repeats)
{
  assert_string_equal(r->result, result);
  assert_int_equal(r->repeats, repeats);
}

static void test_skips_collapse_in_history(void **state)
{
  (void)state;
  start();
  assert_true(wait_for(ran_once, 0, 2000)); /* ok */
  atomic_store(&behaviour[0], B_SKIP);
  for (int i = 0; i < 25; i++) {
    atomic_store(&fake_wall, 1800000000000LL + (i + 1) * 1000);
    run_now_and_wait(0, snap(0).runs);
  }
  atomic_store(&behaviour[0], B_OK);
  run_now_and_wait(0, snap(0).runs);
  atomic_store(&behaviour[0], B_SKIP);
  for (int i = 0; i < 3; i++)
    run_now_and_wait(0, snap(0).runs);
  /* 30 runs, but the real ones are still visible: 4 entries. */
  struct db_run runs[DB_RUN_HISTORY];
  assert_int_equal(runtime_history(UNIT_TOKEN_REFRESH, runs, DB_RUN_HISTORY),
                   4);
  assert_entry(&runs[0], "skipped", 3);
  assert_entry(&runs[1], "ok", 1);
  assert_entry(&runs[2], "skipped", 25);
  assert_int_equal(runs[2].started_ms, 1800000000000LL + 1000);
  assert_int_equal(runs[2].last_started_ms, 1800000000000LL + 25 * 1000);
  assert_string_equal(runs[2].message, "not configured");
  assert_entry(&runs[3], "ok", 1);
  /* The store holds the same entries: after a restart the skipped unit
   * re-checks at once (one more skip, folded in) and nothing else
   * changed. */
  runtime_stop();
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_int_equal(runtime_history(UNIT_TOKEN_REFRESH, runs, DB_RUN_HISTORY),
                   4);
  assert_entry(&runs[0], "skipped", 4);
  assert_entry(&runs[1], "ok", 1);
  assert_entry(&runs[2], "skipped", 25);
  assert_int_equal(runs[2].last_started_ms, 1800000000000LL + 25 * 1000);
  assert_entry(&runs[3], "ok", 1);
  assert_string_equal(snap(0).note, "not configured");
}

static void test_run_now_is_forced(void **state)
{
  (void)state;
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_false(atomic_load(&was_forced[0])); /* scheduled */
  run_now_and_wait(0, 1);
  assert_true(atomic_load(&was_forced[0]));
}

static void test_settings_change_rechecks_skipped_units(void **state)
{
  (void)state;
  atomic_store(&behaviour[0], B_SKIP);
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_true(wait_for(ran_once, 1, 2000));
  assert_string_equal(snap(0).note, "not configured");
  /* Configured now: any settings change re-runs the skipped unit at once,
   * not a whole interval later; the unit that did its work waits. */
  atomic_store(&behaviour[0], B_OK);
  set("spotify.token_refresh_threshold_minutes", "20");
  assert_true(wait_for(ran_twice, 0, 1000));
  assert_true(wait_for(is_idle, 0, 1000));
  assert_string_equal(snap(0).note, "");
  assert_false(atomic_load(&was_forced[0]));
  assert_int_equal(atomic_load(&calls[1]), 1);
  /* Done: a further change does not run it again. */
  set("spotify.token_refresh_threshold_minutes", "30");
  set("spotify.token_refresh_threshold_minutes", "40");
  assert_int_equal(atomic_load(&calls[0]), 2);
  /* runtime_reevaluate() (a login) acts the same way. */
  atomic_store(&behaviour[1], B_SKIP);
  run_now_and_wait(1, 1);
  atomic_store(&behaviour[1], B_OK);
  runtime_reevaluate();
  assert_true(wait_for(ran_thrice, 1, 1000));
}

/* Monotonic source = the system's + a shift the test moves. */
static atomic_llong mono_shift;
static int64_t shifted_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
         atomic_load(&mono_shift);
}

static void test_stats_count_runs_by_result(void **state)
{
  (void)state;
  atomic_store(&behaviour[1], B_FAIL);
  start();
  assert_true(wait_for(is_error, 1, 2000));
  assert_true(wait_for(ran_once, 0, 2000));
  struct unit_stats st;
  runtime_stats(UNIT_SPOTIFY_SYNC, &st);
  assert_int_equal(st.runs[UNIT_RUN_ERROR], 1);
  assert_int_equal(st.runs[UNIT_RUN_OK], 0);
  assert_int_equal(st.last_success_ms, 0);
  assert_int_equal(st.le_counts[RUNTIME_DURATION_BUCKETS], 1);
  runtime_stats(UNIT_TOKEN_REFRESH, &st);
  assert_int_equal(st.runs[UNIT_RUN_OK], 1);
  assert_int_equal(st.last_success_ms, atomic_load(&fake_wall));
  /* Cumulative buckets: never decreasing, the last one counts all. */
  for (int i = 1; i <= RUNTIME_DURATION_BUCKETS; i++)
    assert_true(st.le_counts[i] >= st.le_counts[i - 1]);
  assert_int_equal(st.le_counts[RUNTIME_DURATION_BUCKETS], 1);
  assert_false(st.in_run);

  atomic_store(&behaviour[1], B_OK);
  atomic_fetch_add(&fake_wall, 5000);
  assert_int_equal(runtime_run_now(UNIT_SPOTIFY_SYNC), SS_OK);
  assert_true(wait_for(is_idle, 1, 2000));
  runtime_stats(UNIT_SPOTIFY_SYNC, &st);
  assert_int_equal(st.runs[UNIT_RUN_ERROR], 1);
  assert_int_equal(st.runs[UNIT_RUN_OK], 1);
  assert_int_equal(st.le_counts[RUNTIME_DURATION_BUCKETS], 2);
  assert_int_equal(st.last_success_ms, atomic_load(&fake_wall));
}

static void test_last_success_survives_restart(void **state)
{
  (void)state;
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  int64_t ok_at = atomic_load(&fake_wall);
  runtime_stop();
  atomic_fetch_add(&fake_wall, 60000);
  atomic_store(&behaviour[0], B_FAIL);
  start();
  struct unit_stats st;
  runtime_stats(UNIT_TOKEN_REFRESH, &st);
  assert_int_equal(st.last_success_ms, ok_at);
  assert_int_equal(st.runs[UNIT_RUN_OK], 0); /* counts are since start */
}

static bool all_idle_or_stopped(int unused)
{
  (void)unused;
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit_snapshot s = snap(i);
    if (s.state == UNIT_ACTIVE)
      return false;
  }
  return true;
}

static void test_liveness_follows_the_heartbeat(void **state)
{
  (void)state;
  char why[128];
  assert_false(runtime_live(why, sizeof why)); /* not started */
  assert_string_equal(why, "the worker runtime is not running");
  atomic_store(&mono_shift, 0);
  clock_set_sources(fake_wall_fn, shifted_mono);
  start();
  assert_true(wait_for(ran_once, 0, 2000));
  assert_true(wait_for(all_idle_or_stopped, 0, 2000));
  assert_true(runtime_live(why, sizeof why));
  assert_string_equal(why, "");
  bool in_run = true;
  int64_t age = runtime_beat_age_ms(UNIT_TOKEN_REFRESH, &in_run);
  assert_true(age >= 0 && age < RUNTIME_IDLE_STALE_MS);
  assert_false(in_run);

  /* Every thread waits on the real clock (at most one beat, 30 s): moving
   * the monotonic source past the idle limit makes them all stale. */
  atomic_store(&mono_shift, RUNTIME_IDLE_STALE_MS + 5000);
  assert_false(runtime_live(why, sizeof why));
  assert_non_null(strstr(why, "no heartbeat for"));
  assert_true(runtime_beat_age_ms(UNIT_TOKEN_REFRESH, NULL) >
              RUNTIME_IDLE_STALE_MS);
  /* A run beats: that unit is fresh again. */
  assert_int_equal(runtime_run_now(UNIT_TOKEN_REFRESH), SS_OK);
  assert_true(wait_for(ran_twice, 0, 2000));
  assert_true(runtime_beat_age_ms(UNIT_TOKEN_REFRESH, NULL) <
              RUNTIME_IDLE_STALE_MS);
  atomic_store(&mono_shift, 0);
  assert_true(runtime_live(why, sizeof why));
  runtime_stop();
  assert_false(runtime_live(NULL, 0));
}

/* Only the Download Monitor stand-in (u2, polling every 10 s) holds one. */
static bool one_connection(int id)
{
  (void)id;
  return db_connections_open() == 1;
}

/* A unit whose next run is more than a minute away closes its connection;
 * one polling every 10 s keeps it; a run after the close opens it again
 * and still records its state. */
static void test_idle_unit_closes_its_connection(void **state)
{
  (void)state;
  set("spotify.token_check_interval_seconds", "3600");
  set("spotify.sync_check_interval_seconds", "3600");
  set("download.poll_interval_seconds", "10");
  start();
  for (int i = 0; i < 3; i++) {
    assert_true(wait_for(ran_once, i, 2000));
    assert_true(wait_for(is_idle, i, 1000));
  }
  /* u0 and u1 wait an hour: closed; u2 polls every 10 s: open. */
  assert_true(wait_for(one_connection, 0, 2000));
  assert_int_equal(runtime_run_now((enum unit_id)0), SS_OK);
  assert_true(wait_for(ran_twice, 0, 2000));
  assert_true(wait_for(one_connection, 0, 2000));
  assert_int_equal(snap(0).runs, 2);
  runtime_stop();
  assert_int_equal(db_connections_open(), 0);
  start(); /* both runs were stored, the second by a reopened connection */
  struct db_run runs[DB_RUN_HISTORY];
  assert_int_equal(runtime_history(UNIT_TOKEN_REFRESH, runs, DB_RUN_HISTORY),
                   2);
}

static void test_lookup(void **state)
{
  (void)state;
  start();
  assert_int_equal(runtime_lookup("u3"), 3);
  assert_int_equal(runtime_lookup("nope"), -1);
  assert_string_equal(runtime_def(UNIT_CLEANUP)->label, "U6");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_defaults_enabled_run_disabled_stop,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_timestamps_follow_injected_clock,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_error_then_recovery, setup, teardown),
    cmocka_unit_test_setup_teardown(test_error_hook_on_transitions_only, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_skip_stays_idle_with_note, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_enable_disable_within_a_second, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_active_during_work_and_single_flight,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_active_on_demand_unit_stays_idle,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_disable_interrupts_long_work, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_stop_is_prompt_during_work, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_state_survives_restart, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idle_unit_closes_its_connection,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_stats_count_runs_by_result, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_last_success_survives_restart, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_liveness_follows_the_heartbeat, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_skips_collapse_in_history, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_run_now_is_forced, setup, teardown),
    cmocka_unit_test_setup_teardown(
      test_settings_change_rechecks_skipped_units, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
