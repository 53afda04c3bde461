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
#include "db/db_sqlite_internal.h"

#define DB_BUSY_TIMEOUT_MS 5000

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
};

struct db {
  sqlite3 *conn;
  sqlite3_stmt *stmt[ST_COUNT];
  sqlite3_stmt *extra[DB__EXTRA_STMTS]; /* domain modules */
  bool iterating; /* a load callback is running */
};

/* Logs what failed with SQLite's message (never a value); returns SS_EDB. */
static int db_fail(struct db *db, const char *what)
{
  log_error("db", "%s: %s", what, sqlite3_errmsg(db->conn));
  return SS_EDB;
}

static int stmt_get(struct db *db, enum stmt_id id, sqlite3_stmt **out)
{
  if (!db->stmt[id] &&
      sqlite3_prepare_v3(db->conn, stmt_sql[id], -1,
                         SQLITE_PREPARE_PERSISTENT, &db->stmt[id],
                         NULL) != SQLITE_OK)
    return db_fail(db, "prepare");
  *out = db->stmt[id];
  return SS_OK;
}

static void stmt_done(sqlite3_stmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* Checks the combined result of a statement's binds. */
static int bind_check(struct db *db, sqlite3_stmt *st, int brc,
                      const char *what)
{
  if (brc == SQLITE_OK)
    return SS_OK;
  stmt_done(st);
  return db_fail(db, what);
}

/* Steps a statement that returns no rows, then resets it. */
static int stmt_exec(struct db *db, sqlite3_stmt *st, const char *what)
{
  int rc = sqlite3_step(st) == SQLITE_DONE ? SS_OK : db_fail(db, what);
  stmt_done(st);
  return rc;
}

static int stmt_run(struct db *db, enum stmt_id id, const char *what)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, id, &st);
  return rc ? rc : stmt_exec(db, st, what);
}

/* Rejects use from inside a load callback (the connection is mid-read). */
static int db_usable(struct db *db)
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

static int tx_begin(struct db *db)
{
  return stmt_run(db, ST_BEGIN, "begin");
}

static void tx_rollback(struct db *db)
{
  /* Some errors (SQLITE_FULL, IOERR, BUSY) already rolled back. */
  if (!sqlite3_get_autocommit(db->conn))
    stmt_run(db, ST_ROLLBACK, "rollback");
}

/* Commits when rc is SS_OK, else rolls back; returns the final result. */
static int tx_end(struct db *db, int rc)
{
  if (rc == SS_OK)
    rc = stmt_run(db, ST_COMMIT, "commit");
  if (rc != SS_OK)
    tx_rollback(db);
  return rc;
}

/* ---- open / close ---- */

static int exec_sql(struct db *db, const char *sql, const char *what)
{
  if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, what);
  return SS_OK;
}

static int configure(struct db *db)
{
  if (sqlite3_busy_timeout(db->conn, DB_BUSY_TIMEOUT_MS) != SQLITE_OK)
    return db_fail(db, "busy_timeout");
  sqlite3_extended_result_codes(db->conn, 1);
  int rc = exec_sql(db, "PRAGMA journal_mode=WAL", "journal_mode");
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
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
                          (create ? O_CREAT : 0), 0600);
  if (fd < 0)
    return;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) &&
      fchmod(fd, st.st_mode & 0700) != 0)
    log_warn("db", "cannot make %s private: %s", path, strerror(errno));
  close(fd);
}

int db_make_private(const char *path)
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

int db_open(const char *path, struct db **out)
{
  if (!path || !out)
    return SS_EINVAL;
  *out = NULL;
  if (!sqlite3_threadsafe()) {
    log_error("db", "SQLite was built without thread support");
    return SS_EDB;
  }
  struct db *db = xcalloc(1, sizeof *db);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              SQLITE_OPEN_NOMUTEX;
  int src = sqlite3_open_v2(path, &db->conn, flags, NULL);
  if (src != SQLITE_OK) {
    log_error("db", "open %s: %s", path,
              db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(src));
    db_close(db);
    return (src & 0xff) == SQLITE_CANTOPEN ? SS_EIO : SS_EDB;
  }
  int rc = configure(db);
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
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(db->stmt[i]);
  for (int i = 0; i < DB__EXTRA_STMTS; i++)
    sqlite3_finalize(db->extra[i]);
  if (db->conn && sqlite3_close(db->conn) != SQLITE_OK)
    log_error("db", "close: %s", sqlite3_errmsg(db->conn));
  free(db);
}

/* ---- migrations ---- */

static int user_version(struct db *db, int *version)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db->conn, "PRAGMA user_version", -1, &st,
                         NULL) != SQLITE_OK)
    return db_fail(db, "user_version");
  int rc = SS_OK;
  if (sqlite3_step(st) == SQLITE_ROW)
    *version = sqlite3_column_int(st, 0);
  else
    rc = db_fail(db, "user_version");
  sqlite3_finalize(st);
  return rc;
}

static int check_known(int version)
{
  if (version >= 0 && version <= MIGRATION_COUNT)
    return SS_OK;
  log_error("db", "database schema version %d is newer than this program "
            "knows (%d); refusing to use it (no downgrade)", version,
            MIGRATION_COUNT);
  return SS_EDB;
}

/* Inside an open transaction: applies migration `to` and records it. */
static int apply_migration(struct db *db, int to)
{
  char what[48], pragma[48];
  snprintf(what, sizeof what, "migration %d", to);
  int rc = exec_sql(db, migrations[to - 1], what);
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
static int migrate_step(struct db *db, int *version, bool *done)
{
  int rc = tx_begin(db);
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

int db_migrate(struct db *db, int *version)
{
  int rc = db_usable(db);
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

/* ---- app settings ---- */

int db_settings_load(struct db *db, db_setting_fn fn, void *arg)
{
  sqlite3_stmt *st = NULL;
  int rc = db_usable(db);
  if (rc || !fn)
    return rc ? rc : SS_EINVAL;
  if ((rc = stmt_get(db, ST_SETTINGS_LOAD, &st)))
    return rc;
  int src;
  db->iterating = true;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    const char *value = (const char *)sqlite3_column_text(st, 1);
    if (key && value)
      fn(arg, key, value);
  }
  db->iterating = false;
  if (src != SQLITE_DONE)
    rc = db_fail(db, "settings load");
  stmt_done(st);
  return rc;
}

static int setting_put(struct db *db, const char *key, const char *value,
                       int64_t now)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, ST_SETTING_PUT, &st);
  if (rc)
    return rc;
  int brc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 3, now);
  rc = bind_check(db, st, brc, "settings store bind");
  return rc ? rc : stmt_exec(db, st, "settings store");
}

int db_settings_store(struct db *db, const char *const *keys,
                      const char *const *values, size_t n)
{
  int rc = db_usable(db);
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

int db_worker_state_load(struct db *db, const char *unit, db_field_fn fn,
                         void *arg)
{
  sqlite3_stmt *st = NULL;
  int rc = db_usable(db);
  if (rc || !unit || !fn)
    return rc ? rc : SS_EINVAL;
  if ((rc = stmt_get(db, ST_STATE_LOAD, &st)))
    return rc;
  if ((rc = bind_check(db, st, sqlite3_bind_text(st, 1, unit, -1,
                                                 SQLITE_STATIC),
                       "state load bind")))
    return rc;
  int src;
  db->iterating = true;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *text = (const char *)sqlite3_column_text(st, 2);
    if (name)
      fn(arg, name, sqlite3_column_int64(st, 1), text);
  }
  db->iterating = false;
  if (src != SQLITE_DONE)
    rc = db_fail(db, "state load");
  stmt_done(st);
  return rc;
}

static int field_put(struct db *db, const char *unit,
                     const struct db_field *f, int64_t now)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, ST_STATE_PUT, &st);
  if (rc)
    return rc;
  int brc = sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 3, f->ival);
  if (brc == SQLITE_OK)
    brc = f->text ? sqlite3_bind_text(st, 4, f->text, -1, SQLITE_STATIC)
                  : sqlite3_bind_null(st, 4);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 5, now);
  rc = bind_check(db, st, brc, "state store bind");
  return rc ? rc : stmt_exec(db, st, "state store");
}

static int fields_valid(const struct db_field *fields, size_t n)
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
static int fields_put(struct db *db, const char *unit,
                      const struct db_field *fields, size_t n)
{
  int64_t now = clock_wall_ms();
  int rc = SS_OK;
  for (size_t i = 0; i < n && !rc; i++)
    rc = field_put(db, unit, &fields[i], now);
  return rc;
}

int db_worker_state_store(struct db *db, const char *unit,
                          const struct db_field *fields, size_t n)
{
  int rc = db_usable(db);
  if (rc || !unit)
    return rc ? rc : SS_EINVAL;
  if ((rc = fields_valid(fields, n)) || n == 0)
    return rc;
  if ((rc = tx_begin(db)))
    return rc;
  return tx_end(db, fields_put(db, unit, fields, n));
}

/* ---- run history ---- */

static int run_insert(struct db *db, const char *unit,
                      const struct db_run *run)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, ST_RUN_INSERT, &st);
  if (rc)
    return rc;
  /* The fixed-size fields need not be terminated: bound by their size. */
  int rlen = (int)strnlen(run->result, sizeof run->result);
  int mlen = (int)strnlen(run->message, sizeof run->message);
  int brc = sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 2, run->started_ms);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 3, run->duration_ms);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_text(st, 4, run->result, rlen, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_text(st, 5, run->message, mlen, SQLITE_STATIC);
  rc = bind_check(db, st, brc, "run record bind");
  return rc ? rc : stmt_exec(db, st, "run record");
}

static int run_trim(struct db *db, const char *unit)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, ST_RUN_TRIM, &st);
  if (rc)
    return rc;
  int brc = sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int(st, 2, DB_RUN_HISTORY);
  rc = bind_check(db, st, brc, "run trim bind");
  return rc ? rc : stmt_exec(db, st, "run trim");
}

static int run_merge(struct db *db, const char *unit,
                     const struct db_run *run)
{
  sqlite3_stmt *st = NULL;
  int rc = stmt_get(db, ST_RUN_MERGE, &st);
  if (rc)
    return rc;
  int brc = sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 2, run->repeats);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 3, run->last_started_ms);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 4, run->duration_ms);
  rc = bind_check(db, st, brc, "run merge bind");
  if (!rc)
    rc = stmt_exec(db, st, "run merge");
  if (!rc && sqlite3_changes(db->conn) == 0)
    rc = run_insert(db, unit, run); /* no row yet: the entry starts now */
  return rc;
}

static int run_store(struct db *db, const char *unit,
                     const struct db_run *run, bool merge,
                     const struct db_field *fields, size_t n)
{
  int rc = db_usable(db);
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

int db_worker_run_record(struct db *db, const char *unit,
                         const struct db_run *run,
                         const struct db_field *fields, size_t n)
{
  return run_store(db, unit, run, false, fields, n);
}

int db_worker_run_merge(struct db *db, const char *unit,
                        const struct db_run *run,
                        const struct db_field *fields, size_t n)
{
  return run_store(db, unit, run, true, fields, n);
}

/* Copies a column's text into dst[cap], truncating at a UTF-8 character
 * boundary so a cut never leaves half a character. */
static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
  const char *src = (const char *)sqlite3_column_text(st, col);
  size_t len = src ? (size_t)sqlite3_column_bytes(st, col) : 0;
  size_t n = len < cap - 1 ? len : cap - 1;
  if (n < len)
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
      n--;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

static void run_from_row(struct db_run *r, sqlite3_stmt *st)
{
  memset(r, 0, sizeof *r);
  r->started_ms = sqlite3_column_int64(st, 0);
  r->duration_ms = sqlite3_column_int64(st, 1);
  copy_text(r->result, sizeof r->result, st, 2);
  copy_text(r->message, sizeof r->message, st, 3);
  r->repeats = sqlite3_column_int64(st, 4);
  if (r->repeats < 1)
    r->repeats = 1;
  r->last_started_ms = sqlite3_column_int64(st, 5);
  if (r->last_started_ms < r->started_ms)
    r->last_started_ms = r->started_ms;
}

int db_worker_runs_load(struct db *db, const char *unit, struct db_run *out,
                        size_t max, size_t *count)
{
  sqlite3_stmt *st = NULL;
  int rc = db_usable(db);
  if (rc || !unit || !count || (max && !out))
    return rc ? rc : SS_EINVAL;
  *count = 0;
  if (max == 0)
    return SS_OK;
  if ((rc = stmt_get(db, ST_RUNS_LOAD, &st)))
    return rc;
  int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
  int brc = sqlite3_bind_text(st, 1, unit, -1, SQLITE_STATIC);
  if (brc == SQLITE_OK)
    brc = sqlite3_bind_int64(st, 2, limit);
  if ((rc = bind_check(db, st, brc, "runs load bind")))
    return rc;
  int src = SQLITE_DONE;
  size_t i = 0;
  while (i < max && (src = sqlite3_step(st)) == SQLITE_ROW)
    run_from_row(&out[i++], st);
  if (i < max && src != SQLITE_DONE)
    rc = db_fail(db, "runs load");
  stmt_done(st);
  *count = rc ? 0 : i;
  return rc;
}

/* ---- plumbing for the domain modules (db_sqlite_internal.h) ---- */

sqlite3 *db__conn(struct db *db) { return db->conn; }

int db__tx_begin(struct db *db) { return tx_begin(db); }

int db__tx_end(struct db *db, int rc) { return tx_end(db, rc); }

int db__fail(struct db *db, const char *what) { return db_fail(db, what); }

int db__stmt(struct db *db, int slot, const char *sql, sqlite3_stmt **out)
{
  if (slot < 0 || slot >= DB__EXTRA_STMTS)
    return SS_EINVAL;
  if (!db->extra[slot] &&
      sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT,
                         &db->extra[slot], NULL) != SQLITE_OK)
    return db_fail(db, "prepare");
  sqlite3_reset(db->extra[slot]);
  sqlite3_clear_bindings(db->extra[slot]);
  *out = db->extra[slot];
  return SS_OK;
}

int db__step_done(struct db *db, sqlite3_stmt *st, const char *what)
{
  int src = sqlite3_step(st);
  int rc = src == SQLITE_DONE || src == SQLITE_ROW ? SS_OK
                                                   : db_fail(db, what);
  sqlite3_reset(st);
  return rc;
}

void db__bind_text(sqlite3_stmt *st, int i, const char *s)
{
  sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

void db__col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
  copy_text(dst, cap, st, col);
}

/* ---- authentication secrets (rare: start-up, login, a change) ---- */

int db_secret_get(struct db *db, const char *name, char *out, size_t n)
{
  sqlite3_stmt *st = NULL;
  int rc = db_usable(db);
  if (rc || !name || !out || !n)
    return rc ? rc : SS_EINVAL;
  if (sqlite3_prepare_v2(db->conn,
                         "SELECT value FROM auth_secrets WHERE name = ?1",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "secret prepare");
  rc = SS_ENOTFOUND;
  int src = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (src == SQLITE_OK)
    src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(st, 0);
    size_t len = v ? strlen(v) : 0;
    rc = len < n ? SS_OK : SS_ETOOBIG;
    if (rc == SS_OK)
      memcpy(out, v ? v : "", len + 1);
  } else if (src != SQLITE_DONE) {
    rc = db_fail(db, "secret load");
  }
  sqlite3_finalize(st);
  return rc;
}

int db_secret_put(struct db *db, const char *name, const char *value)
{
  sqlite3_stmt *st = NULL;
  int rc = db_usable(db);
  if (rc || !name || !value)
    return rc ? rc : SS_EINVAL;
  if (sqlite3_prepare_v2(db->conn,
                         "INSERT INTO auth_secrets (name, value, updated_at)"
                         " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
                         " SET value = excluded.value,"
                         " updated_at = excluded.updated_at",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "secret prepare");
  int src = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (src == SQLITE_OK)
    src = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  if (src == SQLITE_OK)
    src = sqlite3_bind_int64(st, 3, clock_wall_ms());
  if (src == SQLITE_OK)
    src = sqlite3_step(st);
  rc = src == SQLITE_DONE ? SS_OK : db_fail(db, "secret store");
  sqlite3_finalize(st);
  return rc;
}
