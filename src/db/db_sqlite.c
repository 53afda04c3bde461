/*
 * db_sqlite.c - the SQLite backend of db.h.
 *
 * What: one struct db wraps one sqlite3 connection opened in multi-thread
 * mode (SQLITE_OPEN_NOMUTEX), with WAL, synchronous=NORMAL, foreign keys on
 * and a 5 s busy timeout.  The statements of the hot calls are prepared
 * lazily once (SQLITE_PREPARE_PERSISTENT), cached in the struct and reset
 * after every use.  Every write runs in one BEGIN IMMEDIATE transaction
 * inside a single call; any failure rolls it back and returns SS_EDB, so a
 * caller never sees half of a write.
 *
 * Schema: migrations[] below is the numbered list of schema changes;
 * PRAGMA user_version records how many have been applied.  To change the
 * schema, APPEND a new string (it becomes migration N+1) and never edit or
 * reorder a shipped one.  db_migrate() applies each pending migration in its
 * own transaction and refuses a database newer than this code knows: it
 * never downgrades.
 *
 * Threading: a struct db is not thread-safe; each thread opens its own.
 * Callbacks of the load functions run while a statement is active and must
 * not call back into the same struct db (that returns SS_ESTATE).
 *
 * Files: db_make_private() makes the database, its WAL and SHM 0600
 * whatever the umask; it runs once at start, before any connection, never
 * from db_open(): closing any descriptor of a file drops every POSIX lock
 * the process holds on it, and SQLite's WAL locks would go with it (another
 * process then resets the shared memory under us: SIGBUS).
 *
 * Ownership: db_open() hands the caller a struct db, released by db_close().
 * Strings passed to callbacks live only for the duration of the callback.
 * Log lines carry SQLite's error text, never a stored key or value.
 */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/utf8.h"
#include "db/db_sqlite_internal.h"

#define DB_BUSY_TIMEOUT_MS 5000

static atomic_int connections_open; /* db_connections_open() */

int db_connections_open(void) { return atomic_load(&connections_open); }

/* ---- schema migrations: append only ---- */

static const char *const migrations[] = {
  /* 1: settings, per-worker state and run history */
  "CREATE TABLE app_settings ("
  "  key TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE TABLE worker_state ("
  "  unit TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  ival INTEGER NOT NULL DEFAULT 0,"
  "  text TEXT,"
  "  updated_at INTEGER NOT NULL,"
  "  PRIMARY KEY (unit, name)) WITHOUT ROWID;"
  "CREATE TABLE worker_runs ("
  "  id INTEGER PRIMARY KEY,"
  "  unit TEXT NOT NULL,"
  "  started_ms INTEGER NOT NULL,"
  "  duration_ms INTEGER NOT NULL,"
  "  result TEXT NOT NULL,"
  "  message TEXT NOT NULL DEFAULT '');"
  "CREATE INDEX worker_runs_unit_id ON worker_runs (unit, id);",
  /* 2: Spotify account and library mirror (db_spotify_sqlite.c) */
  db_schema_spotify,
  /* 3: download requests and transfers (db_downloads_sqlite.c) */
  db_schema_downloads,
  /* 4: library tracks, duplicate findings, quarantine (db_library_sqlite.c) */
  db_schema_library,
  /* 5: authentication secrets: API key, password hash (src/auth/auth.c) */
  "CREATE TABLE auth_secrets ("
  "  name TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL,"
  "  updated_at INTEGER NOT NULL);",
  /* 6: consecutive identical skipped runs collapse into one history row */
  "ALTER TABLE worker_runs ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;"
  "ALTER TABLE worker_runs ADD COLUMN last_started_ms INTEGER NOT NULL"
  " DEFAULT 0;",
  /* 7: the quarantine's move journal (schema_library.c) */
  db_schema_library_journal,
  /* 8: the Wanted list and the Watchlist (schema_wanted.c) */
  db_schema_wanted,
  /* 9: quality upgrades: what a download request replaces
   * (schema_downloads.c) */
  db_schema_downloads_upgrade,
  /* 10: watchlist discography check, unwatched artists, playlists'
   * "download missing tracks" switch (schema_wanted.c) */
  db_schema_wanted_sources,
  /* 11: why a library track is unreadable (schema_library.c) */
  db_schema_library_reason,
  /* 12: the MusicBrainz release (group) a download request is for
   * (schema_downloads.c) */
  db_schema_downloads_mbids,
  /* 13: the metadata key as a column of library_tracks (schema_library.c) */
  db_schema_library_keycol,
};

#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- cached statements ---- */

enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_SETTINGS_LOAD,
  ST_SETTING_PUT,
  ST_STATE_LOAD,
  ST_STATE_PUT,
  ST_RUN_INSERT,
  ST_RUN_TRIM,
  ST_RUN_MERGE,
  ST_RUNS_LOAD,
  ST_SECRET_GET,
  ST_SECRET_PUT,
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
  [ST_BEGIN] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_SETTINGS_LOAD] = "SELECT key, value FROM app_settings ORDER BY key",
  [ST_SETTING_PUT] =
    "INSERT INTO app_settings (key, value, updated_at) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
    " updated_at = excluded.updated_at",
  [ST_STATE_LOAD] = "SELECT name, ival, text FROM worker_state"
                    " WHERE unit = ?1 ORDER BY name",
  [ST_STATE_PUT] =
    "INSERT INTO worker_state (unit, name, ival, text, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (unit, name) DO UPDATE SET ival = excluded.ival,"
    " text = excluded.text, updated_at = excluded.updated_at",
  [ST_RUN_INSERT] =
    "INSERT INTO worker_runs (unit, started_ms, duration_ms, result,"
    " message) VALUES (?1, ?2, ?3, ?4, ?5)",
  /* Deletes every row of the unit at or below the (N+1)-th newest id. */
  [ST_RUN_TRIM] = "DELETE FROM worker_runs WHERE unit = ?1 AND id <= ("
                  "SELECT id FROM worker_runs WHERE unit = ?1"
                  " ORDER BY id DESC LIMIT 1 OFFSET ?2)",
  /* Folds a repeat into the unit's newest row. */
  [ST_RUN_MERGE] = "UPDATE worker_runs SET repeats = ?2, last_started_ms = ?3,"
                   " duration_ms = ?4 WHERE id = (SELECT max(id) FROM"
                   " worker_runs WHERE unit = ?1)",
  [ST_RUNS_LOAD] = "SELECT started_ms, duration_ms, result, message,"
                   " repeats, last_started_ms"
                   " FROM worker_runs WHERE unit = ?1"
                   " ORDER BY id DESC LIMIT ?2",
  [ST_SECRET_GET] = "SELECT value FROM auth_secrets WHERE name = ?1",
  [ST_SECRET_PUT] = "INSERT INTO auth_secrets (name, value, updated_at)"
                    " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
                    " SET value = excluded.value,"
                    " updated_at = excluded.updated_at",
};

struct db {
  sqlite3 *conn;
  sqlite3_stmt *stmt[ST_COUNT];
  sqlite3_stmt *extra[DB__EXTRA_STMTS]; /* domain modules */
  bool iterating;                       /* a load callback is running */
};

/* Logs what failed with SQLite's message (never a value); returns SS_EDB. */
static enum ss_err db_fail(struct db *db, const char *what)
{
  log_error("db", "%s: %s", what, sqlite3_errmsg(db->conn));
  return SS_EDB;
}

/* Prepares sql into *cache once, then points q at it, reset and unbound. */
static enum ss_err prepare_cached(struct db *db, sqlite3_stmt **cache,
                                  const char *sql, struct db__q *q)
{
  if (!*cache &&
      sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, cache,
                         NULL) != SQLITE_OK)
    return db_fail(db, "prepare");
  sqlite3_reset(*cache);
  sqlite3_clear_bindings(*cache);
  *q = (struct db__q){.db = db, .st = *cache, .bind_rc = SQLITE_OK};
  return SS_OK;
}

static enum ss_err core_prepare(struct db *db, enum stmt_id id,
                                struct db__q *q)
{
  return prepare_cached(db, &db->stmt[id], stmt_sql[id], q);
}

static enum ss_err core_exec(struct db *db, enum stmt_id id, const char *what)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, id, &q);
  return rc ? rc : db__exec(&q, what);
}

/* Rejects use from inside a load callback (the connection is mid-read). */
static enum ss_err db_usable(struct db *db)
{
  if (!db)
    return SS_EINVAL;
  if (db->iterating) {
    log_error("db", "used from inside a load callback");
    return SS_ESTATE;
  }
  return SS_OK;
}

/* ---- transactions ---- */

static enum ss_err tx_begin(struct db *db)
{
  return core_exec(db, ST_BEGIN, "begin");
}

static void tx_rollback(struct db *db)
{
  /* Some errors (SQLITE_FULL, IOERR, BUSY) already rolled back. */
  if (!sqlite3_get_autocommit(db->conn))
    core_exec(db, ST_ROLLBACK, "rollback");
}

/* Commits when rc is SS_OK, else rolls back; returns the final result. */
static enum ss_err tx_end(struct db *db, enum ss_err rc)
{
  if (rc == SS_OK)
    rc = core_exec(db, ST_COMMIT, "commit");
  if (rc != SS_OK)
    tx_rollback(db);
  return rc;
}
/* ---- open / close ---- */

static enum ss_err exec_sql(struct db *db, const char *sql, const char *what)
{
  if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, what);
  return SS_OK;
}

static enum ss_err configure(struct db *db)
{
  if (sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS) != SQLITE_OK)
    return db_fail(db, "busy_timeout");
  sqlite3_extended_result_codes(db->conn, 1);
  enum ss_err rc = exec_sql(db, "PRAGMA journal_mode=WAL", "journal_mode");
  if (!rc)
    rc = exec_sql(db, "PRAGMA synchronous=NORMAL", "synchronous");
  if (!rc)
    rc = exec_sql(db, "PRAGMA foreign_keys=ON", "foreign_keys");
  return rc;
}

/* Opens path without following a symlink (creating it 0600 when create is
 * set) and takes group and other permissions away.  Best effort: SQLite
 * reports real problems when it opens the file. */
static void restrict_file(const char *path, bool create)
{
  int fd = open(path,
                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
                0600);
  if (fd < 0)
    return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) &&
      fchmod(fd, st.st_mode & 0700) != 0)
    log_warn("db", "cannot make %s private: %s", path, strerror(errno));
  close(fd);
}

enum ss_err db_make_private(const char *path)
{
  if (!path || path[0] == ':' || !strncmp(path, "file:", 5))
    return SS_EINVAL; /* in-memory or URI: nothing on disk to guard here */
  char side[4096 + 8];
  restrict_file(path, true);
  snprintf(side, sizeof side, "%s-wal", path);
  restrict_file(side, false);
  snprintf(side, sizeof side, "%s-shm", path);
  restrict_file(side, false);
  return SS_OK;
}

enum ss_err db_open(const char *path, struct db **out)
{
  if (!path || !out)
    return SS_EINVAL;
  *out = NULL;
  if (!sqlite3_threadsafe()) {
    log_error("db", "SQLite was built without thread support");
    return SS_EDB;
  }
  struct db *db = xcalloc(1, sizeof *db);
  atomic_fetch_add(&connections_open, 1); /* db_close() takes it back */
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int src = sqlite3_open_v2(path, &db->conn, flags, NULL);
  if (src != SQLITE_OK) {
    log_error("db", "open %s: %s", path,
              db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(src));
    db_close(db);
    return (src & 0xff) == SQLITE_CANTOPEN ? SS_EIO : SS_EDB;
  }
  enum ss_err rc = configure(db);
  if (rc) {
    db_close(db);
    return rc;
  }
  *out = db;
  return SS_OK;
}

void db_close(struct db *db)
{
  if (!db)
    return;
  atomic_fetch_sub(&connections_open, 1);
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(db->stmt[i]);
  for (int i = 0; i < DB__EXTRA_STMTS; i++)
    sqlite3_finalize(db->extra[i]);
  if (db->conn && sqlite3_close(db->conn) != SQLITE_OK)
    log_error("db", "close: %s", sqlite3_errmsg(db->conn));
  free(db);
}

/* ---- migrations ---- */

static enum ss_err user_version(struct db *db, int *version)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db->conn, "PRAGMA user_version", -1, &st, NULL) !=
      SQLITE_OK)
    return db_fail(db, "user_version");
  enum ss_err rc = SS_OK;
  if (sqlite3_step(st) == SQLITE_ROW)
    *version = sqlite3_column_int(st, 0);
  else
    rc = db_fail(db, "user_version");
  sqlite3_finalize(st);
  return rc;
}

static enum ss_err check_known(int version)
{
  if (version >= 0 && version <= MIGRATION_COUNT)
    return SS_OK;
  log_error("db",
            "database schema version %d is newer than this program "
            "knows (%d); refusing to use it (no downgrade)",
            version, MIGRATION_COUNT);
  return SS_EDB;
}

/* Inside an open transaction: applies migration `to` and records it. */
static enum ss_err apply_migration(struct db *db, int to)
{
  char what[48], pragma[48];
  snprintf(what, sizeof what, "migration %d", to);
  enum ss_err rc = exec_sql(db, migrations[to - 1], what);
  if (!rc) {
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", to);
    rc = exec_sql(db, pragma, what);
  }
  if (!rc)
    log_info("db", "applied schema migration %d", to);
  return rc;
}

/* Applies the next pending migration, if any; *version gets the result.
 * The version is re-read under the write lock, so concurrent migrators
 * never apply the same step twice. */
static enum ss_err migrate_step(struct db *db, int *version, bool *done)
{
  enum ss_err rc = tx_begin(db);
  if (rc)
    return rc;
  rc = user_version(db, version);
  if (!rc)
    rc = check_known(*version);
  *done = rc != SS_OK || *version == MIGRATION_COUNT;
  if (!rc && !*done) {
    rc = apply_migration(db, *version + 1);
    if (!rc)
      (*version)++;
  }
  return tx_end(db, rc);
}

enum ss_err db_migrate(struct db *db, int *version)
{
  enum ss_err rc = db_usable(db);
  if (rc || !version)
    return rc ? rc : SS_EINVAL;
  int v = 0;
  bool done = false;
  while (!rc && !done)
    rc = migrate_step(db, &v, &done);
  if (!rc)
    *version = v;
  return rc;
}

enum ss_err db_schema_version(struct db *db, int *applied, int *known)
{
  enum ss_err rc = db_usable(db);
  if (!rc)
    rc = user_version(db, applied);
  *known = MIGRATION_COUNT;
  return rc;
}

/* ---- app settings ---- */

struct setting_walk {
  db_setting_fn fn;
  void *arg;
};

static enum ss_err setting_row(sqlite3_stmt *row, void *arg)
{
  const struct setting_walk *w = arg;
  const char *key = (const char *)sqlite3_column_text(row, 0);
  const char *value = (const char *)sqlite3_column_text(row, 1);
  if (key && value)
    w->fn(w->arg, key, value);
  return SS_OK;
}

/* Walks q with fn while db refuses to be used from inside it. */
static enum ss_err load_each(struct db *db, struct db__q *q, db__row_fn fn,
                             void *arg, const char *what)
{
  db->iterating = true;
  enum ss_err rc = db__each(q, fn, arg, what);
  db->iterating = false;
  return rc;
}

enum ss_err db_settings_load(struct db *db, db_setting_fn fn, void *arg)
{
  struct db__q q;
  enum ss_err rc = db_usable(db);
  if (rc || !fn)
    return rc ? rc : SS_EINVAL;
  if ((rc = core_prepare(db, ST_SETTINGS_LOAD, &q)))
    return rc;
  struct setting_walk w = {fn, arg};
  return load_each(db, &q, setting_row, &w, "settings load");
}

static enum ss_err setting_put(struct db *db, const char *key,
                               const char *value, int64_t now)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, ST_SETTING_PUT, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, key);
  db__bind_text(&q, 2, value);
  db__bind_int64(&q, 3, now);
  return db__exec(&q, "settings store");
}

enum ss_err db_settings_store(struct db *db, const char *const *keys,
                              const char *const *values, size_t n)
{
  enum ss_err rc = db_usable(db);
  if (rc)
    return rc;
  if (n && (!keys || !values))
    return SS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!keys[i] || !values[i]) {
      log_error("db", "settings store: pair %zu has no key or value", i);
      return SS_EINVAL;
    }
  if (n == 0)
    return SS_OK;
  if ((rc = tx_begin(db)))
    return rc;
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < n && !rc; i++)
    rc = setting_put(db, keys[i], values[i], now);
  return tx_end(db, rc);
}

/* ---- worker state ---- */

struct field_walk {
  db_field_fn fn;
  void *arg;
};

static enum ss_err field_row(sqlite3_stmt *row, void *arg)
{
  const struct field_walk *w = arg;
  const char *name = (const char *)sqlite3_column_text(row, 0);
  const char *text = (const char *)sqlite3_column_text(row, 2);
  if (name)
    w->fn(w->arg, name, sqlite3_column_int64(row, 1), text);
  return SS_OK;
}

enum ss_err db_worker_state_load(struct db *db, const char *unit,
                                 db_field_fn fn, void *arg)
{
  struct db__q q;
  enum ss_err rc = db_usable(db);
  if (rc || !unit || !fn)
    return rc ? rc : SS_EINVAL;
  if ((rc = core_prepare(db, ST_STATE_LOAD, &q)))
    return rc;
  db__bind_text(&q, 1, unit);
  struct field_walk w = {fn, arg};
  return load_each(db, &q, field_row, &w, "state load");
}

static enum ss_err field_put(struct db *db, const char *unit,
                             const struct db_field *f, int64_t now)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, ST_STATE_PUT, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, unit);
  db__bind_text(&q, 2, f->name);
  db__bind_int64(&q, 3, f->ival);
  if (f->text)
    db__bind_text(&q, 4, f->text);
  else
    db__bind_null(&q, 4);
  db__bind_int64(&q, 5, now);
  return db__exec(&q, "state store");
}

static enum ss_err fields_valid(const struct db_field *fields, size_t n)
{
  if (n && !fields)
    return SS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fields[i].name) {
      log_error("db", "state store: field %zu has no name", i);
      return SS_EINVAL;
    }
  return SS_OK;
}

/* Inside an open transaction. */
static enum ss_err fields_put(struct db *db, const char *unit,
                              const struct db_field *fields, size_t n)
{
  int64_t now = clock_wall_ms();
  enum ss_err rc = SS_OK;
  for (size_t i = 0; i < n && !rc; i++)
    rc = field_put(db, unit, &fields[i], now);
  return rc;
}

enum ss_err db_worker_state_store(struct db *db, const char *unit,
                                  const struct db_field *fields, size_t n)
{
  enum ss_err rc = db_usable(db);
  if (rc || !unit)
    return rc ? rc : SS_EINVAL;
  if ((rc = fields_valid(fields, n)) || n == 0)
    return rc;
  if ((rc = tx_begin(db)))
    return rc;
  return tx_end(db, fields_put(db, unit, fields, n));
}

/* ---- run history ---- */

static enum ss_err run_insert(struct db *db, const char *unit,
                              const struct db_run *run)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, ST_RUN_INSERT, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, unit);
  db__bind_int64(&q, 2, run->started_ms);
  db__bind_int64(&q, 3, run->duration_ms);
  /* The fixed-size fields need not be terminated: bound by their size. */
  db__bind_text_max(&q, 4, run->result, sizeof run->result);
  db__bind_text_max(&q, 5, run->message, sizeof run->message);
  return db__exec(&q, "run record");
}

static enum ss_err run_trim(struct db *db, const char *unit)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, ST_RUN_TRIM, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, unit);
  db__bind_int64(&q, 2, DB_RUN_HISTORY);
  return db__exec(&q, "run trim");
}

static enum ss_err run_merge(struct db *db, const char *unit,
                             const struct db_run *run)
{
  struct db__q q;
  enum ss_err rc = core_prepare(db, ST_RUN_MERGE, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, unit);
  db__bind_int64(&q, 2, run->repeats);
  db__bind_int64(&q, 3, run->last_started_ms);
  db__bind_int64(&q, 4, run->duration_ms);
  rc = db__exec(&q, "run merge");
  if (!rc && db__changes(db) == 0)
    rc = run_insert(db, unit, run); /* no row yet: the entry starts now */
  return rc;
}

static enum ss_err run_store(struct db *db, const char *unit,
                             const struct db_run *run, bool merge,
                             const struct db_field *fields, size_t n)
{
  enum ss_err rc = db_usable(db);
  if (rc || !unit || !run)
    return rc ? rc : SS_EINVAL;
  if ((rc = fields_valid(fields, n)))
    return rc;
  if ((rc = tx_begin(db)))
    return rc;
  rc = merge ? run_merge(db, unit, run) : run_insert(db, unit, run);
  if (!rc)
    rc = run_trim(db, unit);
  if (!rc)
    rc = fields_put(db, unit, fields, n);
  return tx_end(db, rc);
}

enum ss_err db_worker_run_record(struct db *db, const char *unit,
                                 const struct db_run *run,
                                 const struct db_field *fields, size_t n)
{
  return run_store(db, unit, run, false, fields, n);
}

enum ss_err db_worker_run_merge(struct db *db, const char *unit,
                                const struct db_run *run,
                                const struct db_field *fields, size_t n)
{
  return run_store(db, unit, run, true, fields, n);
}

static enum ss_err run_row(sqlite3_stmt *row, void *out)
{
  struct db_run *r = out;
  memset(r, 0, sizeof *r);
  r->started_ms = sqlite3_column_int64(row, 0);
  r->duration_ms = sqlite3_column_int64(row, 1);
  db__col_text(row, 2, r->result, sizeof r->result);
  db__col_text(row, 3, r->message, sizeof r->message);
  r->repeats = sqlite3_column_int64(row, 4);
  if (r->repeats < 1)
    r->repeats = 1;
  r->last_started_ms = sqlite3_column_int64(row, 5);
  if (r->last_started_ms < r->started_ms)
    r->last_started_ms = r->started_ms;
  return SS_OK;
}

enum ss_err db_worker_runs_load(struct db *db, const char *unit,
                                struct db_run *out, size_t max, size_t *count)
{
  struct db__q q;
  enum ss_err rc = db_usable(db);
  if (rc || !unit || !count || (max && !out))
    return rc ? rc : SS_EINVAL;
  *count = 0;
  if (max == 0)
    return SS_OK;
  if ((rc = core_prepare(db, ST_RUNS_LOAD, &q)))
    return rc;
  db__bind_text(&q, 1, unit);
  db__bind_int64(&q, 2, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
  rc = db__fill(&q, run_row, out, sizeof *out, max, count, "runs load");
  if (rc)
    *count = 0;
  return rc;
}

/* ---- authentication secrets (rare: start-up, login, a change) ---- */

struct secret_out {
  char *out;
  size_t n;
};

static enum ss_err secret_row(sqlite3_stmt *row, void *arg)
{
  const struct secret_out *s = arg;
  const char *v = db__col_str(row, 0);
  size_t len = strlen(v);
  if (len >= s->n)
    return SS_ETOOBIG;
  memcpy(s->out, v, len + 1);
  return SS_OK;
}

enum ss_err db_secret_get(struct db *db, const char *name, char *out, size_t n)
{
  struct db__q q;
  enum ss_err rc = db_usable(db);
  if (rc || !name || !out || !n)
    return rc ? rc : SS_EINVAL;
  if ((rc = core_prepare(db, ST_SECRET_GET, &q)))
    return rc;
  db__bind_text(&q, 1, name);
  struct secret_out s = {out, n};
  return db__get(&q, secret_row, &s, "secret load");
}

enum ss_err db_secret_put(struct db *db, const char *name, const char *value)
{
  struct db__q q;
  enum ss_err rc = db_usable(db);
  if (rc || !name || !value)
    return rc ? rc : SS_EINVAL;
  if ((rc = core_prepare(db, ST_SECRET_PUT, &q)))
    return rc;
  db__bind_text(&q, 1, name);
  db__bind_text(&q, 2, value);
  db__bind_int64(&q, 3, clock_wall_ms());
  return db__exec(&q, "secret store");
}

/* ---- the dialect of the domain modules (db_sqlite_internal.h) ---- */

sqlite3 *db__conn(struct db *db) { return db->conn; }

enum ss_err db__tx_begin(struct db *db)
{
  return db ? tx_begin(db) : SS_EINVAL;
}

enum ss_err db__tx_end(struct db *db, enum ss_err rc)
{
  return tx_end(db, rc);
}

enum ss_err db__fail(struct db *db, const char *what)
{
  return db_fail(db, what);
}

int64_t db__changes(struct db *db) { return sqlite3_changes(db->conn); }

int64_t db__last_id(struct db *db)
{
  return sqlite3_last_insert_rowid(db->conn);
}

enum ss_err db__prepare(struct db *db, int slot, const char *sql,
                        struct db__q *q)
{
  if (!db || !q || slot < 0 || slot >= DB__EXTRA_STMTS)
    return SS_EINVAL;
  return prepare_cached(db, &db->extra[slot], sql, q);
}

/* Records the first failed bind of q. */
static void bind_result(struct db__q *q, int i, int src)
{
  if (src != SQLITE_OK && q->bind_rc == SQLITE_OK) {
    q->bind_rc = src;
    q->bind_idx = i;
  }
}

void db__bind_text(struct db__q *q, int i, const char *s)
{
  bind_result(q, i,
              sqlite3_bind_text(q->st, i, s ? s : "", -1, SQLITE_TRANSIENT));
}

void db__bind_text_max(struct db__q *q, int i, const char *s, size_t max)
{
  if (!s)
    s = "";
  /* s may be an unterminated fixed-size field: read s[0..max) only */
  size_t n = strnlen(s, max);
  if (n == max)
    n = utf8_fit(s, n);
  bind_result(q, i,
              n > INT32_MAX
                ? SQLITE_TOOBIG
                : sqlite3_bind_text(q->st, i, s, (int)n, SQLITE_TRANSIENT));
}

void db__bind_int64(struct db__q *q, int i, int64_t v)
{
  bind_result(q, i, sqlite3_bind_int64(q->st, i, v));
}

void db__bind_double(struct db__q *q, int i, double v)
{
  bind_result(q, i, sqlite3_bind_double(q->st, i, v));
}

void db__bind_null(struct db__q *q, int i)
{
  bind_result(q, i, sqlite3_bind_null(q->st, i));
}

void db__bind_blob(struct db__q *q, int i, const void *p, size_t n)
{
  bind_result(q, i,
              n > INT32_MAX
                ? SQLITE_TOOBIG
                : sqlite3_bind_blob(q->st, i, p, (int)n, SQLITE_TRANSIENT));
}

void db__bind_all(struct db__q *q, const struct db__val *vals, size_t n)
{
  for (size_t k = 0; k < n; k++) {
    const struct db__val *v = &vals[k];
    int i = (int)k + 1;
    switch (v->type) {
    case DB__V_TEXT:
      if (v->max)
        db__bind_text_max(q, i, v->s, v->max);
      else
        db__bind_text(q, i, v->s);
      break;
    case DB__V_INT: db__bind_int64(q, i, v->i); break;
    case DB__V_DOUBLE: db__bind_double(q, i, v->d); break;
    case DB__V_NULL: db__bind_null(q, i); break;
    }
  }
}

/* Resets q for its next use: no row pending, no value bound. */
static void q_done(struct db__q *q)
{
  sqlite3_reset(q->st);
  sqlite3_clear_bindings(q->st);
  q->bind_rc = SQLITE_OK;
}

/* SS_EDB, logged, when a bind of q failed; q is then reset. */
static enum ss_err q_binds_ok(struct db__q *q, const char *what)
{
  if (q->bind_rc == SQLITE_OK)
    return SS_OK;
  log_error("db", "%s: binding parameter %d: %s", what, q->bind_idx,
            sqlite3_errstr(q->bind_rc));
  q_done(q);
  return SS_EDB;
}

enum ss_err db__exec(struct db__q *q, const char *what)
{
  enum ss_err rc = q_binds_ok(q, what);
  if (rc)
    return rc;
  int src = sqlite3_step(q->st);
  if (src != SQLITE_DONE && src != SQLITE_ROW)
    rc = db_fail(q->db, what);
  q_done(q);
  return rc;
}

/* db__prepare() and db__bind_all() in one step: the start of db__run,
 * db__get_one, db__list and db__walk. */
static enum ss_err prepare_bound(struct db *db, int slot, const char *sql,
                                 const struct db__val *vals, size_t n,
                                 struct db__q *q)
{
  enum ss_err rc = db__prepare(db, slot, sql, q);
  if (!rc)
    db__bind_all(q, vals, n);
  return rc;
}

enum ss_err db__run(struct db *db, int slot, const char *sql,
                    const struct db__val *vals, size_t n, const char *what)
{
  struct db__q q;
  enum ss_err rc = prepare_bound(db, slot, sql, vals, n, &q);
  return rc ? rc : db__exec(&q, what);
}

enum ss_err db__get(struct db__q *q, db__row_fn map, void *arg,
                    const char *what)
{
  enum ss_err rc = q_binds_ok(q, what);
  if (rc)
    return rc;
  int src = sqlite3_step(q->st);
  if (src == SQLITE_ROW)
    rc = map(q->st, arg);
  else
    rc = src == SQLITE_DONE ? SS_ENOTFOUND : db_fail(q->db, what);
  q_done(q);
  return rc;
}

enum ss_err db__get_one(struct db *db, int slot, const char *sql,
                        const struct db__val *vals, size_t n, db__row_fn map,
                        void *arg, const char *what)
{
  struct db__q q;
  enum ss_err rc = prepare_bound(db, slot, sql, vals, n, &q);
  return rc ? rc : db__get(&q, map, arg, what);
}

enum ss_err db__row_int64(sqlite3_stmt *row, void *out)
{
  *(int64_t *)out = sqlite3_column_int64(row, 0);
  return SS_OK;
}

enum ss_err db__scalar(struct db__q *q, int64_t *out, const char *what)
{
  return db__get(q, db__row_int64, out, what);
}

enum ss_err db__each(struct db__q *q, db__row_fn fn, void *arg,
                     const char *what)
{
  enum ss_err rc = q_binds_ok(q, what);
  if (rc)
    return rc;
  int src;
  while ((src = sqlite3_step(q->st)) == SQLITE_ROW)
    if ((rc = fn(q->st, arg)) != SS_OK)
      break;
  if (!rc && src != SQLITE_DONE)
    rc = db_fail(q->db, what);
  q_done(q);
  return rc;
}

enum ss_err db__fill(struct db__q *q, db__row_fn map, void *out, size_t size,
                     size_t max, size_t *n, const char *what)
{
  *n = 0;
  enum ss_err rc = q_binds_ok(q, what);
  if (rc)
    return rc;
  int src = SQLITE_DONE;
  while (!rc && *n < max && (src = sqlite3_step(q->st)) == SQLITE_ROW)
    if (!(rc = map(q->st, (char *)out + *n * size)))
      ++*n;
  if (!rc && *n < max && src != SQLITE_DONE)
    rc = db_fail(q->db, what);
  q_done(q);
  return rc;
}

enum ss_err db__list(struct db *db, int slot, const char *sql,
                     const struct db__val *vals, size_t n, db__row_fn map,
                     void *out, size_t size, size_t max, size_t *count,
                     const char *what)
{
  struct db__q q;
  enum ss_err rc = prepare_bound(db, slot, sql, vals, n, &q);
  return rc ? rc : db__fill(&q, map, out, size, max, count, what);
}

enum ss_err db__walk(struct db *db, int slot, const char *sql,
                     const struct db__val *vals, size_t n, db__row_fn fn,
                     void *arg, const char *what)
{
  struct db__q q;
  enum ss_err rc = prepare_bound(db, slot, sql, vals, n, &q);
  return rc ? rc : db__each(&q, fn, arg, what);
}

/* Copies a column's text into dst[cap], truncating at a UTF-8 character
 * boundary so a cut never leaves half a character. */
void db__col_text(sqlite3_stmt *row, int col, char *dst, size_t cap)
{
  const char *src = (const char *)sqlite3_column_text(row, col);
  size_t len = src ? (size_t)sqlite3_column_bytes(row, col) : 0;
  size_t n = len < cap - 1 ? len : cap - 1;
  if (n < len)
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

const char *db__col_str(sqlite3_stmt *row, int col)
{
  const char *s = (const char *)sqlite3_column_text(row, col);
  return s ? s : "";
}

char *db__col_dup(sqlite3_stmt *row, int col)
{
  return xstrdup(db__col_str(row, col));
}
