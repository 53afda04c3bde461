/*
 * runtime.c - supervisor and unit threads.
 *
 * Each unit has one thread, one mutex and one condition variable (monotonic
 * clock).  The mutex guards the unit's control flags (wake, run_now, in_run)
 * and its published snapshot; it is held only for copies and flag flips,
 * never during a run, so HTTP handlers never wait on work.
 *
 * Scheduling: a unit is due when it is enabled and either was asked to run
 * now or its last start (wall clock, persisted) plus its interval has
 * passed.  A unit that never ran is due at once (staggered by 100 ms per
 * unit after start-up).  The thread sleeps until the earliest of: due time,
 * a wake-up (settings change, run-now) or shutdown.  Settings are read afresh
 * on every wake, so enable/disable/interval changes act within a second.
 *
 * Run now is a forced run (unit_ctx_forced): the unit does its whole job,
 * whatever its own schedule says is due; runtime_run_soon() starts a run at
 * once that is not forced (a unit waking another).  Re-evaluation: after a
 * settings change or runtime_reevaluate() (a login), and once at start-up,
 * a unit whose last run was skipped (not configured, nothing to do) runs
 * again at once, so its note follows the configuration instead of waiting
 * a whole interval.  Skips make no external call, so this is cheap.
 * The test build may shorten a unit's interval (TESTHOOK_MS, core/testhook.h).
 *
 * History: consecutive skipped runs with the same message share one entry
 * (repeats, last_started_ms), so they cannot push real runs out of the
 * DB_RUN_HISTORY entries kept; the store folds them the same way.
 *
 * Persistence: the unit thread owns its own db connection, opened for a run
 * and kept while the next run is due within DB_IDLE_CLOSE_MS; a unit that
 * sleeps longer (or is disabled) closes it and trims the heap, so an idle
 * daemon holds one connection per busy unit, not one per unit (about
 * 190 kB each: the parsed schema and prepared statements).  At start it loads
 * the unit's worker_state fields (counters, times, last run) and history; at
 * the end of every run it stores them together with the run record in one
 * transaction (db_worker_run_record).
 *
 * Heartbeat: every unit thread stores the monotonic time into its beat
 * atomic each time round its loop (waits are capped at RUNTIME_BEAT_MS) and
 * at each safe point of a run; runtime_live() compares those ages, so
 * /livez and the systemd watchdog see a stuck thread without taking a lock.
 * Statistics for /metrics (runs by result, a duration histogram) are kept
 * beside the snapshot under the same mutex.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/xalloc.h"

#define STAGGER_MS 100
/* A unit whose next run is further away than this closes its database
 * connection (and hands the freed memory back) until then. */
#define DB_IDLE_CLOSE_MS 60000

struct unit {
  enum unit_id id;
  const struct unit_def *def;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* control, under mu */
  bool wake;
  bool run_now;
  bool run_soon; /* at once, not forced (runtime_run_soon) */
  bool recheck;  /* re-evaluate a skipped unit (settings, login, start) */
  bool in_run;
  int64_t not_before_mono; /* start-up stagger (monotonic) */
  int64_t first_run_wall;  /* shown as next run before the first run */
  /* published, under mu */
  struct unit_snapshot snap;
  struct db_run history[DB_RUN_HISTORY]; /* newest first */
  size_t n_history;
  struct unit_stats stats;   /* under mu */
  _Atomic int64_t beat_mono; /* last heartbeat, monotonic ms; 0 = none */
  atomic_bool beat_in_run;
};

struct unit_ctx {
  struct unit *u;
  struct db *db;
  bool note_set; /* the run said why it is idle; else the old note goes */
  bool forced;   /* run now: the whole job, whatever is due */
  char error[UNIT_ERROR_MAX];
  enum ss_reason reason;
  char message[DB_RUN_MESSAGE_MAX];
  bool failed;
};

static struct unit units[UNIT__COUNT];
static char *runtime_db_path;
static atomic_bool shutting_down;
static atomic_uint_fast64_t generation = 1;
static bool started;

static void bump(void) { atomic_fetch_add(&generation, 1); }

uint64_t runtime_generation(void) { return atomic_load(&generation); }

const int64_t runtime_duration_bounds_ms[RUNTIME_DURATION_BUCKETS] =
  {10, 50, 100, 500, 1000, 5000, 30000, 60000, 300000, 1800000};

static void beat(struct unit *u)
{
  atomic_store_explicit(&u->beat_mono, clock_mono_ms(), memory_order_relaxed);
}

const struct unit_def *runtime_def(enum unit_id id)
{
  DEBUGASSERT((unsigned)id < UNIT__COUNT);
  return units[id].def;
}

int runtime_lookup(const char *key)
{
  for (int i = 0; i < UNIT__COUNT; i++)
    if (units[i].def && !strcmp(units[i].def->key, key))
      return i;
  return -1;
}

static int slot_count(const char *const *names)
{
  int n = 0;
  while (names && names[n])
    n++;
  return n;
}

static int64_t interval_seconds(const struct unit_def *def)
{
  return settings_int(def->interval_setting) * def->interval_scale;
}

/* ---- snapshot ---- */

void runtime_snapshot(enum unit_id id, struct unit_snapshot *out)
{
  DEBUGASSERT((unsigned)id < UNIT__COUNT);
  struct unit *u = &units[id];
  pthread_mutex_lock(&u->mu);
  *out = u->snap;
  pthread_mutex_unlock(&u->mu);
}

size_t runtime_history(enum unit_id id, struct db_run *out, size_t max)
{
  DEBUGASSERT((unsigned)id < UNIT__COUNT);
  struct unit *u = &units[id];
  pthread_mutex_lock(&u->mu);
  size_t n = u->n_history < max ? u->n_history : max;
  memcpy(out, u->history, n * sizeof *out);
  pthread_mutex_unlock(&u->mu);
  return n;
}

static enum ss_err request_run(enum unit_id id, bool forced)
{
  struct unit *u = &units[id];
  enum ss_err rc = SS_OK;
  pthread_mutex_lock(&u->mu);
  if (!settings_bool(u->def->enable_setting))
    rc = SS_ESTATE;
  else if (u->in_run)
    rc = SS_EBUSY;
  else {
    if (forced)
      u->run_now = true;
    else
      u->run_soon = true;
    pthread_cond_signal(&u->cv);
  }
  pthread_mutex_unlock(&u->mu);
  return rc;
}

enum ss_err runtime_run_now(enum unit_id id) { return request_run(id, true); }

enum ss_err runtime_run_soon(enum unit_id id)
{
  return request_run(id, false);
}

void runtime_stats(enum unit_id id, struct unit_stats *out)
{
  DEBUGASSERT((unsigned)id < UNIT__COUNT);
  struct unit *u = &units[id];
  pthread_mutex_lock(&u->mu);
  *out = u->stats;
  pthread_mutex_unlock(&u->mu);
}

int64_t runtime_beat_age_ms(enum unit_id id, bool *in_run)
{
  DEBUGASSERT((unsigned)id < UNIT__COUNT);
  struct unit *u = &units[id];
  int64_t at = atomic_load_explicit(&u->beat_mono, memory_order_relaxed);
  if (in_run)
    *in_run = atomic_load(&u->beat_in_run);
  if (!started || !at)
    return -1;
  int64_t age = clock_mono_ms() - at;
  return age < 0 ? 0 : age;
}

bool runtime_live(char *why, size_t cap)
{
  if (!started) {
    if (why && cap)
      snprintf(why, cap, "the worker runtime is not running");
    return false;
  }
  for (int i = 0; i < UNIT__COUNT; i++) {
    bool in_run;
    int64_t age = runtime_beat_age_ms((enum unit_id)i, &in_run);
    int64_t limit = in_run ? RUNTIME_RUN_STALE_MS : RUNTIME_IDLE_STALE_MS;
    if (age < 0 || age > limit) {
      if (why && cap) {
        if (age < 0)
          snprintf(why, cap, "%s: thread not running", units[i].def->key);
        else
          snprintf(why, cap, "%s: no heartbeat for %lld s%s",
                   units[i].def->key, (long long)(age / 1000),
                   in_run ? " inside a run" : "");
      }
      return false;
    }
  }
  if (why && cap)
    why[0] = '\0';
  return true;
}

/* ---- unit context (unit thread only) ---- */

bool unit_ctx_forced(struct unit_ctx *ctx) { return ctx->forced; }

bool unit_ctx_should_stop(struct unit_ctx *ctx)
{
  beat(ctx->u);
  return atomic_load(&shutting_down) ||
         !settings_bool(ctx->u->def->enable_setting);
}

bool unit_ctx_sleep(struct unit_ctx *ctx, int64_t ms)
{
  struct unit *u = ctx->u;
  int64_t end = clock_mono_ms() + ms;
  pthread_mutex_lock(&u->mu);
  while (!unit_ctx_should_stop(ctx) && !u->wake) {
    int64_t left = end - clock_mono_ms();
    if (left <= 0)
      break;
    /* Wake at least once per heartbeat (should_stop beats). */
    struct timespec until = clock_mono_deadline(
      left < RUNTIME_BEAT_MS ? left : RUNTIME_BEAT_MS);
    pthread_cond_timedwait(&u->cv, &u->mu, &until);
  }
  u->wake = false;
  pthread_mutex_unlock(&u->mu);
  return !unit_ctx_should_stop(ctx);
}

struct db *unit_ctx_db(struct unit_ctx *ctx) { return ctx->db; }

void unit_ctx_mark_active(struct unit_ctx *ctx)
{
  struct unit *u = ctx->u;
  pthread_mutex_lock(&u->mu);
  u->snap.state = UNIT_ACTIVE;
  pthread_mutex_unlock(&u->mu);
  bump();
}

void unit_ctx_set_note(struct unit_ctx *ctx, const char *fmt, ...)
{
  struct unit *u = ctx->u;
  char note[UNIT_NOTE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note, sizeof note, fmt, ap);
  va_end(ap);
  ctx->note_set = true;
  pthread_mutex_lock(&u->mu);
  memcpy(u->snap.note, note, sizeof note);
  pthread_mutex_unlock(&u->mu);
  bump();
}

void unit_ctx_fail(struct unit_ctx *ctx, enum ss_reason reason,
                   const char *fmt, ...)
{
  ctx->reason = reason != SS_R_NONE ? reason : SS_R_INTERNAL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
  va_end(ap);
  ctx->failed = true;
}

void unit_ctx_set_message(struct unit_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
  va_end(ap);
}

void unit_ctx_add(struct unit_ctx *ctx, int slot, int64_t delta)
{
  struct unit *u = ctx->u;
  /* A unit names only the counters its definition lists. */
  DEBUGASSERT(slot >= 0 && slot < slot_count(u->def->counter_names));
  if (slot < 0 || slot >= slot_count(u->def->counter_names))
    return;
  pthread_mutex_lock(&u->mu);
  u->snap.counters[slot] += delta;
  pthread_mutex_unlock(&u->mu);
  bump();
}

void unit_ctx_set_time(struct unit_ctx *ctx, int slot, int64_t wall_ms)
{
  struct unit *u = ctx->u;
  DEBUGASSERT(slot >= 0 && slot < slot_count(u->def->time_names));
  if (slot < 0 || slot >= slot_count(u->def->time_names))
    return;
  pthread_mutex_lock(&u->mu);
  u->snap.times[slot] = wall_ms;
  pthread_mutex_unlock(&u->mu);
  bump();
}

/* ---- persistence ---- */

static void on_field(void *arg, const char *name, int64_t ival,
                     const char *text)
{
  struct unit *u = arg;
  struct unit_snapshot *s = &u->snap;
  for (int i = 0; u->def->counter_names && u->def->counter_names[i]; i++)
    if (!strcmp(name, u->def->counter_names[i]))
      s->counters[i] = ival;
  for (int i = 0; u->def->time_names && u->def->time_names[i]; i++)
    if (!strcmp(name, u->def->time_names[i]))
      s->times[i] = ival;
  if (!strcmp(name, "last_start_ms"))
    s->last_start_ms = ival;
  else if (!strcmp(name, "last_end_ms"))
    s->last_end_ms = ival;
  else if (!strcmp(name, "last_duration_ms"))
    s->last_duration_ms = ival;
  else if (!strcmp(name, "last_error_reason") && ival > SS_R_NONE &&
           ival < SS_REASON_COUNT)
    s->last_error_reason = (enum ss_reason)ival;
  else if (!strcmp(name, "last_result") && ival >= UNIT_RUN_OK &&
           ival <= UNIT_RUN_DEFERRED)
    s->last_result = (enum unit_run_result)ival;
  else if (!strcmp(name, "last_error") && text)
    snprintf(s->last_error, sizeof s->last_error, "%s", text);
}

static void load_state(struct unit *u, struct db *db)
{
  pthread_mutex_lock(&u->mu);
  if (db) {
    db_worker_state_load(db, u->def->key, on_field, u);
    db_worker_runs_load(db, u->def->key, u->history, DB_RUN_HISTORY,
                        &u->n_history);
  }
  if (u->snap.last_result != UNIT_RUN_ERROR) {
    u->snap.last_error[0] = '\0';
    u->snap.last_error_reason = SS_R_NONE;
  } else if (u->snap.last_error_reason == SS_R_NONE) {
    u->snap.last_error_reason = SS_R_INTERNAL; /* stored before reasons */
  }
  for (size_t i = 0; i < u->n_history; i++) {
    const struct db_run *r = &u->history[i];
    if (!strcmp(r->result, "ok")) {
      u->stats.last_success_ms = r->started_ms + r->duration_ms;
      break;
    }
  }
  pthread_mutex_unlock(&u->mu);
}

#define MAX_FIELDS (UNIT_MAX_COUNTERS + UNIT_MAX_TIMES + 6)

static void persist_run(struct unit *u, struct db *db,
                        const struct db_run *run, bool merged)
{
  struct db_field fields[MAX_FIELDS];
  size_t n = 0;
  pthread_mutex_lock(&u->mu);
  const struct unit_snapshot *s = &u->snap;
  for (int i = 0; u->def->counter_names && u->def->counter_names[i]; i++)
    fields[n++] = (struct db_field){u->def->counter_names[i], s->counters[i],
                                    NULL};
  for (int i = 0; u->def->time_names && u->def->time_names[i]; i++)
    fields[n++] = (struct db_field){u->def->time_names[i], s->times[i], NULL};
  fields[n++] = (struct db_field){"last_start_ms", s->last_start_ms, NULL};
  fields[n++] = (struct db_field){"last_end_ms", s->last_end_ms, NULL};
  fields[n++] = (struct db_field){"last_duration_ms", s->last_duration_ms,
                                  NULL};
  fields[n++] = (struct db_field){"last_result", s->last_result, NULL};
  fields[n++] = (struct db_field){"last_error_reason", s->last_error_reason,
                                  NULL};
  char *error = xstrdup(s->last_error);
  fields[n++] = (struct db_field){"last_error", 0, error};
  pthread_mutex_unlock(&u->mu);
  enum ss_err rc = SS_OK;
  if (db)
    rc = merged ? db_worker_run_merge(db, u->def->key, run, fields, n)
                : db_worker_run_record(db, u->def->key, run, fields, n);
  if (rc != SS_OK)
    log_error("runtime", "%s: could not persist run state", u->def->key);
  free(error);
}

/* ---- the unit thread ---- */

const char *runtime_result_name(enum unit_run_result r)
{
  switch (r) {
  case UNIT_RUN_OK: return "ok";
  case UNIT_RUN_SKIPPED: return "skipped";
  case UNIT_RUN_ERROR: return "error";
  case UNIT_RUN_DEFERRED: return "deferred";
  default: return "canceled";
  }
}

/* Adds run as the newest entry, or folds a skip (or a deferral) into an
 * identical newest one (*run then holds the merged entry).  Returns true
 * when folded. */
static bool push_history(struct unit *u, struct db_run *run)
{
  struct db_run *top = &u->history[0];
  bool foldable = !strcmp(run->result, "skipped") ||
                  !strcmp(run->result, "deferred");
  if (u->n_history && foldable && !strcmp(top->result, run->result) &&
      !strcmp(top->message, run->message)) {
    top->repeats = (top->repeats > 0 ? top->repeats : 1) + 1;
    top->last_started_ms = run->started_ms;
    top->duration_ms = run->duration_ms;
    *run = *top;
    return true;
  }
  run->repeats = 1;
  run->last_started_ms = run->started_ms;
  size_t keep = u->n_history < DB_RUN_HISTORY ? u->n_history
                                              : DB_RUN_HISTORY - 1;
  memmove(&u->history[1], &u->history[0], keep * sizeof *run);
  u->history[0] = *run;
  u->n_history = keep + 1;
  return false;
}

static void count_run(struct unit_stats *st, enum unit_run_result result,
                      int64_t duration_ms, int64_t end_wall_ms)
{
  st->runs[result]++;
  for (int i = 0; i < RUNTIME_DURATION_BUCKETS; i++)
    if (duration_ms <= runtime_duration_bounds_ms[i])
      st->le_counts[i]++;
  st->le_counts[RUNTIME_DURATION_BUCKETS]++;
  st->duration_sum_ms += duration_ms;
  if (result == UNIT_RUN_OK)
    st->last_success_ms = end_wall_ms;
  st->in_run = false;
}

static runtime_error_hook_fn error_hook;

void runtime_set_error_hook(runtime_error_hook_fn fn) { error_hook = fn; }

static void run_once(struct unit *u, struct db *db)
{
  struct unit_ctx ctx = {.u = u, .db = db};
  int64_t start_wall = clock_wall_ms();
  int64_t start_mono = clock_mono_ms();

  atomic_store(&u->beat_in_run, true);
  beat(u);
  pthread_mutex_lock(&u->mu);
  u->in_run = true;
  u->stats.in_run = true;
  ctx.forced = u->run_now;
  u->run_soon = false;
  u->run_now = false;
  u->recheck = false;
  u->snap.last_start_ms = start_wall;
  if (!u->def->active_on_demand)
    u->snap.state = UNIT_ACTIVE;
  pthread_mutex_unlock(&u->mu);
  bump();

  enum unit_run_result result = u->def->run(&ctx);
  if (ctx.failed && result != UNIT_RUN_CANCELED)
    result = UNIT_RUN_ERROR;
  if (result == UNIT_RUN_ERROR && !ctx.error[0])
    snprintf(ctx.error, sizeof ctx.error, "failed without a reason");
  if (result == UNIT_RUN_ERROR && ctx.reason == SS_R_NONE)
    ctx.reason = SS_R_INTERNAL;

  struct db_run run = {.started_ms = start_wall,
                       .duration_ms = clock_mono_ms() - start_mono};
  snprintf(run.result, sizeof run.result, "%s", runtime_result_name(result));
  if (result == UNIT_RUN_ERROR)
    snprintf(run.message, sizeof run.message, "%s", ctx.error);
  else if (ctx.message[0])
    snprintf(run.message, sizeof run.message, "%s", ctx.message);

  pthread_mutex_lock(&u->mu);
  struct unit_snapshot *s = &u->snap;
  bool was_error = s->last_error[0] != '\0';
  if (!ctx.note_set)
    s->note[0] = '\0';
  else if (!run.message[0] && result != UNIT_RUN_ERROR)
    snprintf(run.message, sizeof run.message, "%s", s->note);
  s->last_end_ms = clock_wall_ms();
  s->last_duration_ms = run.duration_ms;
  s->last_result = result;
  s->runs++;
  if (result == UNIT_RUN_ERROR) {
    s->state = UNIT_ERROR;
    snprintf(s->last_error, sizeof s->last_error, "%s", ctx.error);
    s->last_error_reason = ctx.reason;
  } else if (result == UNIT_RUN_CANCELED || result == UNIT_RUN_DEFERRED) {
    /* Interrupted, or waiting for a service: the previous error (if any)
     * still stands. */
    s->state = s->last_error[0] ? UNIT_ERROR : UNIT_IDLE;
  } else {
    s->state = UNIT_IDLE;
    s->last_error[0] = '\0';
    s->last_error_reason = SS_R_NONE;
  }
  if (!settings_bool(u->def->enable_setting))
    s->state = UNIT_STOPPED;
  if (s->state != UNIT_STOPPED)
    s->next_run_ms = s->last_start_ms + s->interval_s * 1000;
  bool is_error = result == UNIT_RUN_ERROR;
  /* Canceled and deferred runs leave the error as it was. */
  bool flipped = result != UNIT_RUN_CANCELED && result != UNIT_RUN_DEFERRED &&
                 was_error != is_error;
  enum ss_reason reason = s->last_error_reason;
  bool merged = push_history(u, &run);
  count_run(&u->stats, result, run.duration_ms, s->last_end_ms);
  u->in_run = false;
  pthread_mutex_unlock(&u->mu);
  atomic_store(&u->beat_in_run, false);
  beat(u);
  bump();

  persist_run(u, db, &run, merged);
  if (flipped && error_hook)
    error_hook(u->def, is_error, ctx.error, reason);
  log_debug("runtime", "%s: %s in %lld ms", u->def->key, run.result,
            (long long)run.duration_ms);
}

#define WAIT_FOREVER INT64_MAX

/* Refreshes enabled/interval/state from settings and returns how many ms
 * until the next run is due (<= 0: due now; WAIT_FOREVER when disabled).
 * Caller holds u->mu. */
static int64_t refresh_locked(struct unit *u)
{
  struct unit_snapshot *s = &u->snap;
  bool enabled = settings_bool(u->def->enable_setting);
  int64_t interval = interval_seconds(u->def);
  bool changed = s->enabled != enabled || s->interval_s != interval;
  s->enabled = enabled;
  s->running = enabled && !atomic_load(&shutting_down);
  s->interval_s = interval;
  enum unit_state want = s->state;
  if (!enabled)
    want = UNIT_STOPPED;
  else if (s->state == UNIT_STOPPED)
    want = s->last_error[0] ? UNIT_ERROR : UNIT_IDLE;
  if (want != s->state) {
    s->state = want;
    changed = true;
  }
  int64_t wait = WAIT_FOREVER, next = 0;
  if (enabled) {
    /* Due when the interval since the last start has passed (wall clock,
     * persisted across restarts), and never before the start-up stagger. */
    int64_t stagger = u->not_before_mono - clock_mono_ms();
    if (s->last_start_ms) {
      next = s->last_start_ms + TESTHOOK_MS(u->def->key, interval * 1000);
      wait = next - clock_wall_ms();
    } else {
      next = u->first_run_wall;
      wait = stagger;
    }
    if (stagger > wait)
      wait = stagger;
  }
  if (s->next_run_ms != next) {
    s->next_run_ms = next;
    changed = true;
  }
  if (changed)
    bump();
  return wait;
}

/* NULL (logged) when the database cannot be opened: the run goes on and
 * keeps its state in memory only. */
static struct db *open_unit_db(struct unit *u)
{
  struct db *db = NULL;
  if (runtime_db_path && db_open(runtime_db_path, &db) != SS_OK) {
    log_error("runtime", "%s: cannot open the database", u->def->key);
    db = NULL;
  }
  return db;
}

static void *unit_main(void *arg)
{
  struct unit *u = arg;
  char name[16];
  snprintf(name, sizeof name, "ss-%.12s", u->def->key);
  pthread_setname_np(pthread_self(), name);

  struct db *db = NULL; /* opened for a run, closed when idle for long */
  pthread_mutex_lock(&u->mu);
  while (!atomic_load(&shutting_down)) {
    beat(u);
    int64_t wait = refresh_locked(u);
    /* A skipped unit re-checks its configuration at once (after the
     * start-up stagger). */
    bool recheck = u->recheck && u->snap.last_start_ms &&
                   u->snap.last_result == UNIT_RUN_SKIPPED &&
                   u->not_before_mono <= clock_mono_ms();
    if (u->recheck && !recheck && u->not_before_mono <= clock_mono_ms())
      u->recheck = false;
    if (wait != WAIT_FOREVER &&
        (u->run_now || u->run_soon || wait <= 0 || recheck)) {
      pthread_mutex_unlock(&u->mu);
      if (!db)
        db = open_unit_db(u);
      run_once(u, db);
      pthread_mutex_lock(&u->mu);
      continue;
    }
    if (db && wait > DB_IDLE_CLOSE_MS) { /* WAIT_FOREVER too */
      pthread_mutex_unlock(&u->mu);
      db_close(db);
      db = NULL;
      xalloc_release_free();
      pthread_mutex_lock(&u->mu);
      continue;
    }
    /* a run-now for a disabled unit is dropped */
    u->run_now = u->run_soon = false;
    if (u->wake) {
      u->wake = false;
      continue;
    }
    /* Never longer than a heartbeat: the loop comes round to beat. */
    struct timespec until = clock_mono_deadline(
      wait < RUNTIME_BEAT_MS ? wait : RUNTIME_BEAT_MS);
    pthread_cond_timedwait(&u->cv, &u->mu, &until);
  }
  u->snap.running = false;
  pthread_mutex_unlock(&u->mu);
  bump();
  db_close(db);
  return NULL;
}

void runtime_reevaluate(void)
{
  if (!started)
    return;
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit *u = &units[i];
    pthread_mutex_lock(&u->mu);
    refresh_locked(u); /* publish enabled/stopped at once */
    u->wake = true;
    u->recheck = true;
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
  }
}

static void on_settings_changed(void *arg)
{
  (void)arg;
  runtime_reevaluate();
}

enum ss_err runtime_start(const struct runtime_opts *opts)
{
  const struct unit_def *const *defs = opts->defs;
  atomic_store(&shutting_down, false);
  runtime_db_path = opts->db_path ? xstrdup(opts->db_path) : NULL;
  /* Load persisted state before any thread or reader sees the units. */
  struct db *db = NULL;
  if (runtime_db_path && db_open(runtime_db_path, &db) != SS_OK)
    db = NULL;
  int64_t now = clock_wall_ms();
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit *u = &units[i];
    memset(u, 0, sizeof *u);
    u->id = (enum unit_id)i;
    u->def = defs[i];
    u->not_before_mono = clock_mono_ms() + (int64_t)i * STAGGER_MS;
    u->first_run_wall = now + (int64_t)i * STAGGER_MS;
    u->snap.state = UNIT_STOPPED;
    atomic_store(&u->beat_mono, clock_mono_ms()); /* live from the start */
    u->recheck = true; /* a skip's note is not stored: say it again */
    pthread_mutex_init(&u->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&u->cv, &attr);
    pthread_condattr_destroy(&attr);
    load_state(u, db);
    pthread_mutex_lock(&u->mu);
    refresh_locked(u);
    pthread_mutex_unlock(&u->mu);
  }
  db_close(db);
  settings_subscribe(on_settings_changed, NULL);
  for (int i = 0; i < UNIT__COUNT; i++) {
    if (pthread_create(&units[i].thread, NULL, unit_main, &units[i]) != 0) {
      log_error("runtime", "cannot start thread for %s", units[i].def->key);
      runtime_stop();
      return SS_EIO;
    }
    units[i].thread_started = true;
  }
  started = true;
  return SS_OK;
}

void runtime_stop(void)
{
  settings_unsubscribe(on_settings_changed, NULL);
  atomic_store(&shutting_down, true);
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit *u = &units[i];
    if (!u->thread_started)
      continue;
    pthread_mutex_lock(&u->mu);
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
  }
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit *u = &units[i];
    if (!u->thread_started)
      continue;
    pthread_join(u->thread, NULL);
    u->thread_started = false;
    pthread_cond_destroy(&u->cv);
    pthread_mutex_destroy(&u->mu);
  }
  free(runtime_db_path);
  runtime_db_path = NULL;
  started = false;
}
