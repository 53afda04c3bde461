/*
 * db_sqlite_internal.h - the one SQLite dialect of the domain stores.
 *
 * Domain queries (Spotify library, downloads, library tracks, wanted)
 * live in their own db_<domain>.h interface with a db_<domain>_sqlite.c
 * implementation; those implementations talk to SQLite only through the
 * helpers below.  Callers outside src/db never include this header: they
 * see only the backend-neutral interfaces.
 *
 * The shape of every query:
 *
 *   struct db__q q;
 *   enum ss_err rc = db__prepare(db, SD_REQ_GET, "SELECT ... WHERE id = ?1",
 * &q); if (rc) return rc; db__bind_int64(&q, 1, id); return db__get(&q,
 * view_row, out, "download get");
 *
 * or, for the common one-shot cases, db__run (a write), db__get_one (a
 * lookup of one row), db__list (rows into an array) and db__walk (a
 * callback per row), which prepare, bind and run in one call.
 *
 * db__prepare hands out the statement cached under a slot; the binds
 * record the first failure in q and are checked once by the call that
 * runs q (db__exec, db__get, db__scalar, db__each, db__fill): a failed
 * bind is SS_EDB, never a query run with a missing value.  Every running
 * call resets q's statement and clears its bindings, so q can be bound
 * and run again (loops) without another db__prepare.
 *
 * Row callbacks (db__row_fn) get the statement positioned on a row: read it
 * with sqlite3_column_*, db__col_text, db__col_str or db__col_dup.
 * Strings read from a row live until the next step: copy what you keep.
 *
 * Threading: as db.h, one struct db per thread.  A row callback must not
 * use the same struct db (the statement is mid-read).
 */
#ifndef SS_DB_SQLITE_INTERNAL_H
#define SS_DB_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* Statement cache slots, one range per domain module:
 * db_spotify_sqlite.c 0-63, db_downloads_sqlite.c 64-127,
 * db_library_sqlite.c 128-191, db_wanted_sqlite.c (wanted and watchlist)
 * 192-255.  A module's enum of slots starts at its base and asserts that
 * it stays below the next one. */
enum {
  DB__SLOTS_SPOTIFY = 0,
  DB__SLOTS_DOWNLOADS = 64,
  DB__SLOTS_LIBRARY = 128,
  DB__SLOTS_WANTED = 192,
  DB__EXTRA_STMTS = 256
};

/* A cached statement being bound and run (see the top of this file). */
struct db__q {
  struct db *db;
  sqlite3_stmt *st;
  int bind_rc;  /* SQLITE_OK, or the result of the first failed bind */
  int bind_idx; /* that bind's parameter index */
};

/* Called with the statement on a row; returns SS_OK to go on, anything
 * else stops the walk and becomes the result. */
typedef enum ss_err (*db__row_fn)(sqlite3_stmt *row, void *arg);

/* ---- connection and transactions ---- */

/* The connection behind db (borrowed; owned by db). */
sqlite3 *db__conn(struct db *db);
/* BEGIN IMMEDIATE (SS_EINVAL for a NULL db) / COMMIT-or-ROLLBACK:
 * db__tx_end commits when rc is SS_OK, otherwise rolls back, and returns
 * the final result. */
enum ss_err db__tx_begin(struct db *db);
enum ss_err db__tx_end(struct db *db, enum ss_err rc);
/* Logs `what` with SQLite's message (never a value); returns SS_EDB. */
enum ss_err db__fail(struct db *db, const char *what);
/* Rows changed by the last INSERT/UPDATE/DELETE; id of the last INSERT. */
int64_t db__changes(struct db *db);
int64_t db__last_id(struct db *db);

/* ---- statements ---- */

/* Prepares sql once per connection, caches it under slot (0 <= slot <
 * DB__EXTRA_STMTS) and points q at it, reset and unbound.  SS_EINVAL for
 * a NULL db or a bad slot, SS_EDB when SQLite rejects the SQL. */
enum ss_err db__prepare(struct db *db, int slot, const char *sql,
                        struct db__q *q);

/* Binds (parameter i, from 1).  Text is copied by SQLite; NULL text binds
 * "" (use db__bind_null for SQL NULL).  db__bind_text_max binds at most
 * max bytes, cut on a UTF-8 boundary, and reads no byte past s[max - 1]
 * (fit for fixed-size fields that need not be terminated). */
void db__bind_text(struct db__q *q, int i, const char *s);
void db__bind_text_max(struct db__q *q, int i, const char *s, size_t max);
void db__bind_int64(struct db__q *q, int i, int64_t v);
void db__bind_double(struct db__q *q, int i, double v);
void db__bind_null(struct db__q *q, int i);
void db__bind_blob(struct db__q *q, int i, const void *p, size_t n);

/* Values bound by position (parameter i + 1 gets vals[i]), without
 * varargs: DB__VALS(DB__TEXT(name), DB__INT(now_ms)) expands to an array
 * and its length, the last two arguments of db__bind_all and db__run.
 * DB__TEXT_MAX cuts as db__bind_text_max. */
struct db__val {
  enum { DB__V_TEXT, DB__V_INT, DB__V_DOUBLE, DB__V_NULL } type;
  const char *s;
  size_t max; /* DB__V_TEXT: 0, or the cut of db__bind_text_max */
  int64_t i;
  double d;
};
#define DB__TEXT(x) ((struct db__val){.type = DB__V_TEXT, .s = (x)})
#define DB__TEXT_MAX(x, m)                                                    \
  ((struct db__val){.type = DB__V_TEXT, .s = (x), .max = (m)})
#define DB__INT(x) ((struct db__val){.type = DB__V_INT, .i = (x)})
#define DB__DOUBLE(x) ((struct db__val){.type = DB__V_DOUBLE, .d = (x)})
#define DB__NULL ((struct db__val){.type = DB__V_NULL})
#define DB__VALS(...)                                                         \
  (const struct db__val[]){__VA_ARGS__},                                      \
    sizeof((const struct db__val[]){__VA_ARGS__}) / sizeof(struct db__val)

/* Binds vals[0..n) to parameters 1..n (checked as the single binds). */
void db__bind_all(struct db__q *q, const struct db__val *vals, size_t n);

/* ---- running ---- */

/* Prepares sql under slot, binds vals and runs it for its effect: the
 * whole of a simple write (db__changes tells the rows it changed). */
enum ss_err db__run(struct db *db, int slot, const char *sql,
                    const struct db__val *vals, size_t n, const char *what);

/* Runs a statement for its effect (a row, if any, is ignored). */
enum ss_err db__exec(struct db__q *q, const char *what);
/* Maps the first row with map(row, arg): its result, or SS_ENOTFOUND
 * when there is no row. */
enum ss_err db__get(struct db__q *q, db__row_fn map, void *arg,
                    const char *what);
/* Prepares sql under slot, binds vals and maps the first row as db__get:
 * the whole of a "get one row" lookup. */
enum ss_err db__get_one(struct db *db, int slot, const char *sql,
                        const struct db__val *vals, size_t n, db__row_fn map,
                        void *arg, const char *what);
/* The integer in column 0 of the first row; SS_ENOTFOUND when none. */
enum ss_err db__scalar(struct db__q *q, int64_t *out, const char *what);
/* Calls fn(row, arg) for every row until fn returns non-SS_OK (that
 * result is returned) or the rows end (SS_OK). */
enum ss_err db__each(struct db__q *q, db__row_fn fn, void *arg,
                     const char *what);
/* Fills out[0..max) (elements of size bytes) with map(row, &out[i]),
 * stepping no further than max rows; *n gets the rows filled (also those
 * before an error). */
enum ss_err db__fill(struct db__q *q, db__row_fn map, void *out, size_t size,
                     size_t max, size_t *n, const char *what);

/* Prepare sql under slot, bind vals, then db__fill / db__each: the whole
 * of a list read (db__list: *count gets the rows filled; db__walk: fn
 * for every row). */
enum ss_err db__list(struct db *db, int slot, const char *sql,
                     const struct db__val *vals, size_t n, db__row_fn map,
                     void *out, size_t size, size_t max, size_t *count,
                     const char *what);
enum ss_err db__walk(struct db *db, int slot, const char *sql,
                     const struct db__val *vals, size_t n, db__row_fn fn,
                     void *arg, const char *what);

/* ---- reading a row ---- */

/* A db__row_fn storing column 0 at the int64_t *out (id lists with
 * db__fill). */
enum ss_err db__row_int64(sqlite3_stmt *row, void *out);
/* Copies a text column into dst[cap], cut on a UTF-8 boundary. */
void db__col_text(sqlite3_stmt *row, int col, char *dst, size_t cap);
/* A text column, "" for NULL (borrowed: valid until the next step). */
const char *db__col_str(sqlite3_stmt *row, int col);
/* A heap copy of a text column ("" for NULL); the caller frees it. */
char *db__col_dup(sqlite3_stmt *row, int col);

/* Schema migrations contributed by the domains, referenced by the
 * append-only migration list in db_sqlite.c. */
extern const char db_schema_spotify[];
extern const char db_schema_downloads[];
extern const char db_schema_library[];
extern const char db_schema_library_journal[];
extern const char db_schema_wanted[];
extern const char db_schema_downloads_upgrade[];
extern const char db_schema_wanted_sources[];
extern const char db_schema_library_reason[];
extern const char db_schema_downloads_mbids[];
extern const char db_schema_library_keycol[];

#endif
