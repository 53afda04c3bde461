/*
 * db.h - the store interface of soulspotd.
 *
 * Callers see domain operations only (settings, worker state, run history),
 * never SQL, so a PostgreSQL backend (db_pg.c) can later implement this same
 * header without touching them.  Today db_sqlite.c implements it: SQLite in
 * WAL mode, synchronous=NORMAL, a busy timeout, foreign keys on, numbered
 * schema migrations applied by db_migrate() in one transaction each.
 *
 * Threading: a struct db is one connection and is NOT thread-safe.  Each
 * thread that touches the store opens its own (db_open) and closes it
 * (db_close).  Writes that belong together happen in one transaction inside
 * a single call, so a crash never leaves half of them.
 *
 * Errors: SS_OK, or SS_EDB / SS_EIO / SS_EINVAL with a message logged
 * (component "db") that never contains a value of a secret setting.
 */
#ifndef SS_DB_H
#define SS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct db;

/* Opens (creating if needed) the database file at path.  *out is owned by
 * the caller and released with db_close(). */
enum ss_err db_open(const char *path, struct db **out);
/* Creates the database file 0600 if missing and takes group and other
 * permissions from it and an existing WAL and SHM (they hold secrets);
 * SQLite gives a new WAL/SHM the database's mode.  Call once at start-up
 * BEFORE this process opens any connection to path (see db_sqlite.c).
 * SS_EINVAL for an in-memory or URI path. */
enum ss_err db_make_private(const char *path);
void db_close(struct db *db);
/* How many connections (struct db) this process holds open right now, over
 * all threads; for /metrics and tests.  Any thread. */
int db_connections_open(void);

/* Applies pending numbered migrations; call once at start-up before other
 * threads open connections.  Returns the schema version in *version. */
enum ss_err db_migrate(struct db *db, int *version);
/* The schema version the file is at (*applied) and the one this build
 * knows (*known); equal once db_migrate() has run (GET /readyz). */
enum ss_err db_schema_version(struct db *db, int *applied, int *known);

/* ---- app settings (key -> canonical text) ---- */

typedef void (*db_setting_fn)(void *arg, const char *key, const char *value);
/* Calls fn for every stored setting. */
enum ss_err db_settings_load(struct db *db, db_setting_fn fn, void *arg);
/* Upserts n key/value pairs in one transaction (all or nothing). */
enum ss_err db_settings_store(struct db *db, const char *const *keys,
                              const char *const *values, size_t n);

/* ---- authentication secrets (name -> text; src/auth/auth.c) ----
 * Values are never logged.  get: SS_ENOTFOUND when absent, SS_ETOOBIG when
 * it does not fit n bytes (with its NUL).  put: upsert, one statement. */
enum ss_err db_secret_get(struct db *db, const char *name, char *out,
                          size_t n);
enum ss_err db_secret_put(struct db *db, const char *name, const char *value);

/* ---- per-worker persisted state ----
 * A worker unit (e.g. "cleanup", "automation.watchlist") keeps named integer
 * and text fields: counters, last run/poll/scan times, last_error.  They are
 * what the status API shows, so they survive restarts. */

struct db_field {
  const char *name;
  int64_t ival;
  const char *text; /* NULL for integer fields; "" clears */
};

typedef void (*db_field_fn)(void *arg, const char *name, int64_t ival,
                            const char *text /* NULL if none */);
enum ss_err db_worker_state_load(struct db *db, const char *unit,
                                 db_field_fn fn, void *arg);
/* Upserts n fields of unit in one transaction. */
enum ss_err db_worker_state_store(struct db *db, const char *unit,
                                  const struct db_field *fields, size_t n);

/* ---- run history: the last DB_RUN_HISTORY runs per unit ---- */

#define DB_RUN_HISTORY 20
#define DB_RUN_MESSAGE_MAX 256

struct db_run {
  int64_t started_ms; /* wall clock, ms since epoch */
  int64_t duration_ms;
  char result[16]; /* "ok", "error", "skipped", "canceled" */
  char message[DB_RUN_MESSAGE_MAX];
  /* Consecutive identical skipped runs share one entry: how many (>= 1
   * when loaded) and when the newest of them started. */
  int64_t repeats;
  int64_t last_started_ms;
};

/* Appends run and trims the unit's history to DB_RUN_HISTORY rows, in one
 * transaction, together with the given state fields (may be n=0). */
enum ss_err db_worker_run_record(struct db *db, const char *unit,
                                 const struct db_run *run,
                                 const struct db_field *fields, size_t n);
/* Same, but folds run into the unit's newest row (its repeats,
 * last_started_ms and duration_ms; inserted when the unit has none). */
enum ss_err db_worker_run_merge(struct db *db, const char *unit,
                                const struct db_run *run,
                                const struct db_field *fields, size_t n);
/* Loads up to max runs, newest first, into out; *count gets the number. */
enum ss_err db_worker_runs_load(struct db *db, const char *unit,
                                struct db_run *out, size_t max, size_t *count);

#endif
