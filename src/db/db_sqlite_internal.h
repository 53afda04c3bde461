/*
 * db_sqlite_internal.h - shared plumbing for the SQLite domain modules.
 *
 * Domain queries (Spotify library, downloads, library tracks) live in their
 * own db_<domain>.h interface with a db_<domain>_sqlite.c implementation;
 * those implementations use these helpers.  Callers outside src/db never
 * include this header: they see only the backend-neutral interfaces.
 *
 * Same threading rules as db.h: one struct db per thread.
 */
#ifndef SS_DB_SQLITE_INTERNAL_H
#define SS_DB_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "db/db.h"

/* The connection behind db (borrowed; owned by db). */
sqlite3 *db__conn(struct db *db);
/* BEGIN IMMEDIATE / COMMIT-or-ROLLBACK: db__tx_end commits when rc is
 * SS_OK, otherwise rolls back, and returns the final result. */
int db__tx_begin(struct db *db);
int db__tx_end(struct db *db, int rc);
/* Logs `what` with SQLite's message (never a value); returns SS_EDB. */
int db__fail(struct db *db, const char *what);
/* Prepares sql once per connection and caches it under slot (0 <=
 * slot < DB__EXTRA_STMTS); the statement is reset before it is returned.
 * Slots are allocated per domain: spotify 0-63, downloads 64-127,
 * library 128-191. */
#define DB__EXTRA_STMTS 192
int db__stmt(struct db *db, int slot, const char *sql, sqlite3_stmt **out);
/* Steps st once (SQLITE_DONE or SQLITE_ROW is success), then resets it;
 * failure is logged as `what` and returns SS_EDB. */
int db__step_done(struct db *db, sqlite3_stmt *st, const char *what);
/* Binds s as text (NULL binds ""), copied by SQLite. */
void db__bind_text(sqlite3_stmt *st, int i, const char *s);
/* Copies a text column into dst[cap], cut on a UTF-8 boundary. */
void db__col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* Schema migrations contributed by the domains, referenced by the
 * append-only migration list in db_sqlite.c. */
extern const char db_schema_spotify[];
extern const char db_schema_downloads[];
extern const char db_schema_library[];
extern const char db_schema_library_journal[];
extern const char db_schema_wanted[];

#endif
