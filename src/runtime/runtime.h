/*
 * runtime.h - the worker runtime: a supervisor and one thread per unit.
 *
 * A *unit* is one schedulable piece of background work with its own enable
 * flag and interval (settings), e.g. token_refresh or automation.watchlist.
 * The runtime owns one thread per unit.  Each thread waits on its own
 * condition variable and wakes on: its interval, a settings change, a
 * run-now request or shutdown, so disable / run-now / stop act within a
 * second.  A unit's real work is one call of its run function (workers/).
 *
 * States (docs/API.md): stopped = disabled; active = inside a unit of
 * work; error = the last unit of work failed (last_error says why); idle
 * otherwise.  A unit whose service is not configured returns
 * UNIT_RUN_SKIPPED with a note: it stays idle and nothing pretends to work.
 *
 * Every state change is published into a per-unit snapshot that HTTP
 * handlers copy (runtime_snapshot) under a short per-unit mutex; handlers
 * never wait on a unit's work.  Counters and timestamps are persisted
 * (db worker_state) at the end of each run, so restarts keep them.
 *
 * Threading: runtime_start/runtime_stop from the main thread only; every
 * other function from any thread.
 */
#ifndef SS_RUNTIME_H
#define SS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"
#include "core/err.h"
#include "db/db.h"
#include "runtime/units.h"

#define UNIT_ENUM_ROW(id, name, view, role) UNIT_##id,
enum unit_id { UNITS_TABLE(UNIT_ENUM_ROW) UNIT__COUNT };
#undef UNIT_ENUM_ROW

enum unit_state { UNIT_STOPPED, UNIT_IDLE, UNIT_ACTIVE, UNIT_ERROR };

/* Result of one run of a unit's work. */
enum unit_run_result {
  UNIT_RUN_OK,       /* did its work */
  UNIT_RUN_SKIPPED,  /* nothing configured / nothing to do: stays idle */
  UNIT_RUN_ERROR,    /* failed: state error, last_error set */
  UNIT_RUN_CANCELED, /* stopped at a safe point by disable or shutdown */
  UNIT_RUN_DEFERRED  /* its service is backing off (clients/backoff.h):
                        state and last error stand, no external call */
};

#define UNIT_MAX_COUNTERS 8
#define UNIT_MAX_TIMES 8
#define UNIT_ERROR_MAX 256
#define UNIT_NOTE_MAX 160

struct unit_ctx; /* handed to a unit's run function; see below */

/* Static description of a unit (workers/ define one each). */
struct unit_def {
  const char *key;   /* "token_refresh", "automation.watchlist", ... */
  const char *label; /* "Token Refresh", "Watchlist", ... */
  enum setting_id enable_setting;
  enum setting_id interval_setting;
  int interval_scale; /* seconds per interval unit: 1, 60 or 3600 */
  /* Persisted counters / wall-clock times, by slot; NULL-terminated. */
  const char *const *counter_names;
  const char *const *time_names;
  /* Active only when the run says so (unit_ctx_mark_active), e.g. a poll
   * that found transfers to update; otherwise active for the whole run. */
  bool active_on_demand;
  /* One unit of work.  Runs on the unit's thread.  Long work checks
   * unit_ctx_should_stop() at safe points. */
  enum unit_run_result (*run)(struct unit_ctx *ctx);
};

/* What the status endpoints read: a plain copy. */
struct unit_snapshot {
  enum unit_state state;
  bool enabled;
  bool running; /* enabled and its thread alive */
  int64_t interval_s;
  int64_t last_start_ms; /* wall clock; 0 = never */
  int64_t last_end_ms;
  int64_t last_duration_ms;
  int64_t next_run_ms; /* wall clock; 0 = not scheduled */
  enum unit_run_result last_result;
  uint64_t runs;                    /* runs since start-up */
  char last_error[UNIT_ERROR_MAX];  /* "" unless state is error */
  enum ss_reason last_error_reason; /* SS_R_NONE unless state is error */
  char note[UNIT_NOTE_MAX];         /* why idle without work, or "" */
  int64_t counters[UNIT_MAX_COUNTERS];
  int64_t times[UNIT_MAX_TIMES];
};

struct runtime_opts {
  const char *db_path; /* each unit thread opens its own connection */
  /* Unit definitions indexed by enum unit_id (workers_defs() in the
   * daemon; fakes in tests). */
  const struct unit_def *const *defs;
};

enum ss_err runtime_start(const struct runtime_opts *opts);
/* Asks every unit to stop at its next safe point and joins the threads. */
void runtime_stop(void);

const struct unit_def *runtime_def(enum unit_id id);
/* Finds a unit by key; returns -1 when unknown. */
int runtime_lookup(const char *key);
void runtime_snapshot(enum unit_id id, struct unit_snapshot *out);
/* Bumped by every published change of any unit (cheap cache validation). */
uint64_t runtime_generation(void);
/* Up to max runs, newest first. */
size_t runtime_history(enum unit_id id, struct db_run *out, size_t max);
/* Run now, a forced run (unit_ctx_forced): SS_OK (scheduled), SS_ESTATE
 * (disabled), SS_EBUSY (already running; coalesced into the current run). */
enum ss_err runtime_run_now(enum unit_id id);
/* As run now, but not forced: the unit runs at once and does what its own
 * schedule would (a unit waking another: Spotify Sync wakes Token Refresh
 * after a failed token refresh).  Same results as runtime_run_now. */
enum ss_err runtime_run_soon(enum unit_id id);
/* Something the units depend on changed outside the settings (a Spotify
 * login or disconnect): every unit whose last run was skipped runs again
 * at once, as after a settings change.  Any thread. */
void runtime_reevaluate(void);
/* Called on a unit's thread, after a run moved the unit into error
 * (error true, with its last_error and reason) or out of it (a success).
 * main registers the notifications here, so the runtime never depends on
 * services/.  Set once before runtime_start; NULL: none. */
typedef void (*runtime_error_hook_fn)(const struct unit_def *def, bool error,
                                      const char *last_error,
                                      enum ss_reason reason);
void runtime_set_error_hook(runtime_error_hook_fn fn);
/* "ok", "skipped", "error", "canceled", "deferred" (as in the run
 * history). */
const char *runtime_result_name(enum unit_run_result r);
#define UNIT_RUN_RESULTS 5 /* enum unit_run_result values */

/* Run statistics since start-up (GET /metrics): runs by result, a
 * histogram of run durations over RUNTIME_DURATION_BUCKETS upper bounds (in
 * ms; le_counts are cumulative as Prometheus wants them, the last one is
 * +Inf = every run), their sum, and the wall time of the last run that
 * ended ok (persisted history included, 0 = never). */
#define RUNTIME_DURATION_BUCKETS 10
extern const int64_t runtime_duration_bounds_ms[RUNTIME_DURATION_BUCKETS];
struct unit_stats {
  uint64_t runs[UNIT_RUN_RESULTS];
  uint64_t le_counts[RUNTIME_DURATION_BUCKETS + 1];
  int64_t duration_sum_ms;
  int64_t last_success_ms;
  bool in_run;
};
void runtime_stats(enum unit_id id, struct unit_stats *out);

/*
 * Liveness (GET /livez, the systemd watchdog): every unit thread beats at
 * least every RUNTIME_BEAT_MS while it waits, and at every safe point
 * (unit_ctx_should_stop, unit_ctx_sleep) while it runs.  A thread is live
 * when its last beat is at most RUNTIME_IDLE_STALE_MS old while waiting, or
 * RUNTIME_RUN_STALE_MS old inside a run (a run may spend minutes in one
 * call: a big scan, a slow peer).  runtime_live() is true when the runtime
 * is started and every unit thread is live; otherwise false, with the
 * first stale unit and its age in why (may be NULL).  Any thread; reads
 * atomics only.
 */
#define RUNTIME_BEAT_MS 30000
#define RUNTIME_IDLE_STALE_MS 90000
#define RUNTIME_RUN_STALE_MS 600000
bool runtime_live(char *why, size_t cap);
/* One unit's heartbeat age in ms (-1 when its thread is not running) and
 * whether it is inside a run. */
int64_t runtime_beat_age_ms(enum unit_id id, bool *in_run);

/* ---- for run functions (unit thread only) ---- */
/* True when this run was asked for by run-now (the dashboard's button,
 * POST /api/workers/{unit}/run): do the whole job, whatever is due. */
bool unit_ctx_forced(struct unit_ctx *ctx);
bool unit_ctx_should_stop(struct unit_ctx *ctx);
/* Interruptible sleep; returns false when the unit must stop. */
bool unit_ctx_sleep(struct unit_ctx *ctx, int64_t ms);
struct db *unit_ctx_db(struct unit_ctx *ctx);
void unit_ctx_mark_active(struct unit_ctx *ctx);
void unit_ctx_set_note(struct unit_ctx *ctx, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* The run failed: reason for machines (SS_R_NONE counts as internal),
 * the printf-style message for people (last_error). */
void unit_ctx_fail(struct unit_ctx *ctx, enum ss_reason reason,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void unit_ctx_add(struct unit_ctx *ctx, int slot, int64_t delta);
void unit_ctx_set_time(struct unit_ctx *ctx, int slot, int64_t wall_ms);
/* Summary line recorded in the run history (e.g. "freed 1.2 GB"). */
void unit_ctx_set_message(struct unit_ctx *ctx, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
