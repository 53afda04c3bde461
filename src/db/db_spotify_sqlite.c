/*
 * db_spotify_sqlite.c - db_spotify.h on SQLite.
 *
 * What: the Spotify login, the synced library and the per-type sync status.
 * Statements are cached per connection in the spotify slots (0-63,
 * db__stmt).  A list write stamps every row it upserts with a fresh
 * seen_stamp and then removes (or unmarks) the rows of the list that were
 * not stamped; the whole write is one BEGIN IMMEDIATE transaction, so a
 * crash keeps the previous list intact.
 *
 * Threading: as db.h, one struct db per thread.
 * Ownership: strings handed to callbacks live for the callback only.
 */
#include "db/db_spotify.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "db/db_sqlite_internal.h"

enum {
  SP_ACCOUNT_LOAD,
  SP_ACCOUNT_SAVE,
  SP_ACCOUNT_DELETE,
  SP_STATUS_LOAD,
  SP_STATUS_STORE,
  SP_ARTIST_STAMP,
  SP_ARTIST_COUNT_ALL,
  SP_ARTIST_UPSERT,
  SP_ARTIST_DELETE_UNSEEN,
  SP_ARTIST_UNFOLLOW_UNSEEN,
  SP_ARTIST_FOLLOWED,
  SP_PL_STAMP,
  SP_PL_COUNT_ALL,
  SP_PL_UPSERT,
  SP_PL_DELETE_UNSEEN,
  SP_PL_UNFOLLOW_UNSEEN,
  SP_PL_FOLLOWED,
  SP_PL_STALE,
  SP_PL_SET_ENTRIES,
  SP_PL_SET_ERROR,
  SP_ENTRIES_DELETE,
  SP_ENTRY_INSERT,
  SP_TRACK_UPSERT,
  SP_LIKED_STAMP,
  SP_LIKED_COUNT,
  SP_LIKED_UPSERT,
  SP_LIKED_DELETE_UNSEEN,
  SP_ALBUM_STAMP,
  SP_ALBUM_SAVED_COUNT,
  SP_ALBUM_SAVED_UPSERT,
  SP_ALBUM_UNSAVE_UNSEEN,
  SP_ALBUM_UPSERT,
  SP_AA_DUE,
  SP_AA_PENDING,
  SP_AA_STAMP_ARTIST,
  SP_AA_DELETE_LINKS,
  SP_AA_INSERT_LINK,
  SP_COUNTS,
  SP_LIST_ARTISTS,
  SP_LIST_ALBUMS,
  SP_LIST_PLAYLISTS,
  SP_LIST_ENTRIES,
  SP__END
};

_Static_assert(SP__END <= 64, "spotify statement slots are 0-63");

/* ---- plumbing ---- */

/* Length of s cut to at most max bytes on a UTF-8 boundary. */
static int capped_len(const char *s, size_t max)
{
  size_t n = strlen(s);
  if (n <= max)
    return (int)n;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--;
  return (int)n;
}

static int bind_text(sqlite3_stmt *st, int idx, const char *s)
{
  if (!s)
    s = "";
  return sqlite3_bind_text(st, idx, s, capped_len(s, SPOTIFY_TEXT_MAX),
                           SQLITE_TRANSIENT);
}

static int prep(struct db *db, int slot, const char *sql, sqlite3_stmt **st)
{
  return db__stmt(db, slot, sql, st);
}

static void done(sqlite3_stmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows; resets it. */
static int exec_st(struct db *db, sqlite3_stmt *st, int brc, const char *what)
{
  int rc = SS_OK;
  if (brc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    rc = db__fail(db, what);
  done(st);
  return rc;
}

/* Steps a statement returning one integer row. */
static int scalar_st(struct db *db, sqlite3_stmt *st, int brc,
                     const char *what, int64_t *out)
{
  int rc = SS_OK;
  if (brc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
    rc = db__fail(db, what);
  else
    *out = sqlite3_column_int64(st, 0);
  done(st);
  return rc;
}

static int run_scalar(struct db *db, int slot, const char *sql,
                      const char *what, int64_t *out)
{
  sqlite3_stmt *st;
  int rc = prep(db, slot, sql, &st);
  return rc ? rc : scalar_st(db, st, SQLITE_OK, what, out);
}

static const char *col(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *st, int i)
{
  snprintf(dst, n, "%s", col(st, i));
}

static int changes(struct db *db) { return sqlite3_changes(db__conn(db)); }

/* ---- the login ---- */

int db_spotify_account_load(struct db *db, struct db_spotify_account *out)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_ACCOUNT_LOAD,
                "SELECT access_token, refresh_token, expires_at_ms, scopes,"
                " authorised_at_ms, refreshed_at_ms, user_id, display_name,"
                " reauth_reason FROM spotify_account WHERE id = 1",
                &st);
  if (rc)
    return rc;
  memset(out, 0, sizeof *out);
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    copy_col(out->access_token, sizeof out->access_token, st, 0);
    copy_col(out->refresh_token, sizeof out->refresh_token, st, 1);
    out->expires_at_ms = sqlite3_column_int64(st, 2);
    copy_col(out->scopes, sizeof out->scopes, st, 3);
    out->authorised_at_ms = sqlite3_column_int64(st, 4);
    out->refreshed_at_ms = sqlite3_column_int64(st, 5);
    copy_col(out->user_id, sizeof out->user_id, st, 6);
    copy_col(out->display_name, sizeof out->display_name, st, 7);
    copy_col(out->reauth_reason, sizeof out->reauth_reason, st, 8);
  } else if (src == SQLITE_DONE) {
    rc = SS_ENOTFOUND;
  } else {
    rc = db__fail(db, "spotify account load");
  }
  done(st);
  return rc;
}

int db_spotify_account_save(struct db *db, const struct db_spotify_account *a)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_ACCOUNT_SAVE,
                "INSERT OR REPLACE INTO spotify_account (id, access_token,"
                " refresh_token, expires_at_ms, scopes, authorised_at_ms,"
                " refreshed_at_ms, user_id, display_name, reauth_reason)"
                " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                &st);
  if (rc)
    return rc;
  int b = sqlite3_bind_text(st, 1, a->access_token, -1, SQLITE_TRANSIENT);
  b |= sqlite3_bind_text(st, 2, a->refresh_token, -1, SQLITE_TRANSIENT);
  b |= sqlite3_bind_int64(st, 3, a->expires_at_ms);
  b |= bind_text(st, 4, a->scopes);
  b |= sqlite3_bind_int64(st, 5, a->authorised_at_ms);
  b |= sqlite3_bind_int64(st, 6, a->refreshed_at_ms);
  b |= bind_text(st, 7, a->user_id);
  b |= bind_text(st, 8, a->display_name);
  b |= bind_text(st, 9, a->reauth_reason);
  return exec_st(db, st, b, "spotify account save");
}

int db_spotify_account_delete(struct db *db)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_ACCOUNT_DELETE, "DELETE FROM spotify_account", &st);
  return rc ? rc : exec_st(db, st, SQLITE_OK, "spotify account delete");
}

/* ---- sync status ---- */

int db_spotify_status_load(struct db *db, db_spotify_status_fn fn, void *arg)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_STATUS_LOAD,
                "SELECT type, last_attempt_ms, last_ok_ms, items,"
                " last_result, last_error, marker FROM spotify_sync_status"
                " ORDER BY type",
                &st);
  if (rc)
    return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    struct db_spotify_sync_status s;
    memset(&s, 0, sizeof s);
    copy_col(s.type, sizeof s.type, st, 0);
    s.last_attempt_ms = sqlite3_column_int64(st, 1);
    s.last_ok_ms = sqlite3_column_int64(st, 2);
    s.items = sqlite3_column_int64(st, 3);
    copy_col(s.last_result, sizeof s.last_result, st, 4);
    copy_col(s.last_error, sizeof s.last_error, st, 5);
    copy_col(s.marker, sizeof s.marker, st, 6);
    fn(arg, &s);
  }
  if (src != SQLITE_DONE)
    rc = db__fail(db, "spotify status load");
  done(st);
  return rc;
}

int db_spotify_status_store(struct db *db,
                            const struct db_spotify_sync_status *s)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_STATUS_STORE,
                "INSERT OR REPLACE INTO spotify_sync_status (type,"
                " last_attempt_ms, last_ok_ms, items, last_result,"
                " last_error, marker) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, s->type);
  b |= sqlite3_bind_int64(st, 2, s->last_attempt_ms);
  b |= sqlite3_bind_int64(st, 3, s->last_ok_ms);
  b |= sqlite3_bind_int64(st, 4, s->items);
  b |= bind_text(st, 5, s->last_result);
  b |= bind_text(st, 6, s->last_error);
  b |= bind_text(st, 7, s->marker);
  return exec_st(db, st, b, "spotify status store");
}

/* ---- followed artists ---- */

static int artist_upsert(struct db *db, const struct sp_artist *a,
                         int64_t stamp, int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_ARTIST_UPSERT,
                "INSERT INTO spotify_artists (id, name, uri, image_url,"
                " genres, followed, seen_stamp, added_ms, updated_ms)"
                " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " uri = excluded.uri, image_url = excluded.image_url,"
                " genres = excluded.genres, followed = 1,"
                " seen_stamp = excluded.seen_stamp,"
                " updated_ms = excluded.updated_ms",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, a->id);
  b |= bind_text(st, 2, a->name);
  b |= bind_text(st, 3, a->uri);
  b |= bind_text(st, 4, a->image_url);
  b |= bind_text(st, 5, a->genres);
  b |= sqlite3_bind_int64(st, 6, stamp);
  b |= sqlite3_bind_int64(st, 7, now_ms);
  return exec_st(db, st, b, "spotify artist upsert");
}

/* Runs a statement with one integer parameter; *n gets the rows changed. */
static int exec_stamp(struct db *db, int slot, const char *sql,
                      int64_t stamp, const char *what, int64_t *n)
{
  sqlite3_stmt *st;
  int rc = prep(db, slot, sql, &st);
  if (rc)
    return rc;
  rc = exec_st(db, st, sqlite3_bind_int64(st, 1, stamp), what);
  if (!rc && n)
    *n = changes(db);
  return rc;
}

static int artists_write(struct db *db, const struct sp_artist *a, size_t n,
                         bool remove_missing, int64_t now_ms,
                         struct sp_write_stats *st)
{
  int64_t stamp = 0, before = 0, after = 0;
  int rc = run_scalar(db, SP_ARTIST_STAMP,
                      "SELECT COALESCE(MAX(seen_stamp), 0) + 1"
                      " FROM spotify_artists", "artist stamp", &stamp);
  if (!rc)
    rc = run_scalar(db, SP_ARTIST_COUNT_ALL,
                    "SELECT COUNT(*) FROM spotify_artists", "artist count",
                    &before);
  for (size_t i = 0; !rc && i < n; i++)
    if (a[i].id && a[i].id[0])
      rc = artist_upsert(db, &a[i], stamp, now_ms);
  if (!rc)
    rc = run_scalar(db, SP_ARTIST_COUNT_ALL,
                    "SELECT COUNT(*) FROM spotify_artists", "artist count",
                    &after);
  st->added = after - before;
  if (!rc && remove_missing)
    rc = exec_stamp(db, SP_ARTIST_DELETE_UNSEEN,
                    "DELETE FROM spotify_artists WHERE seen_stamp <> ?1"
                    " AND followed = 1", stamp, "artist delete",
                    &st->removed);
  else if (!rc)
    rc = exec_stamp(db, SP_ARTIST_UNFOLLOW_UNSEEN,
                    "UPDATE spotify_artists SET followed = 0"
                    " WHERE seen_stamp <> ?1 AND followed = 1", stamp,
                    "artist unfollow", &st->removed);
  if (!rc)
    rc = run_scalar(db, SP_ARTIST_FOLLOWED,
                    "SELECT COUNT(*) FROM spotify_artists"
                    " WHERE followed = 1", "artist count", &st->total);
  return rc;
}

int db_spotify_artists_replace(struct db *db, const struct sp_artist *a,
                               size_t n, bool remove_missing, int64_t now_ms,
                               struct sp_write_stats *st)
{
  memset(st, 0, sizeof *st);
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = artists_write(db, a, n, remove_missing, now_ms, st);
  return db__tx_end(db, rc);
}

/* ---- playlists ---- */

static int playlist_upsert(struct db *db, const struct sp_playlist *p,
                           int64_t position, int64_t stamp, int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_PL_UPSERT,
                "INSERT INTO spotify_playlists (id, name, owner_id,"
                " owner_name, description, collaborative, snapshot_id,"
                " total, position, followed, seen_stamp, added_ms,"
                " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1,"
                " ?10, ?11, ?11)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " owner_id = excluded.owner_id,"
                " owner_name = excluded.owner_name,"
                " description = excluded.description,"
                " collaborative = excluded.collaborative,"
                " snapshot_id = excluded.snapshot_id,"
                " total = excluded.total, position = excluded.position,"
                " followed = 1, seen_stamp = excluded.seen_stamp,"
                " updated_ms = excluded.updated_ms",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, p->id);
  b |= bind_text(st, 2, p->name);
  b |= bind_text(st, 3, p->owner_id);
  b |= bind_text(st, 4, p->owner_name);
  b |= bind_text(st, 5, p->description);
  b |= sqlite3_bind_int(st, 6, p->collaborative);
  b |= bind_text(st, 7, p->snapshot_id);
  b |= sqlite3_bind_int64(st, 8, p->total);
  b |= sqlite3_bind_int64(st, 9, position);
  b |= sqlite3_bind_int64(st, 10, stamp);
  b |= sqlite3_bind_int64(st, 11, now_ms);
  return exec_st(db, st, b, "spotify playlist upsert");
}

static int playlists_write(struct db *db, const struct sp_playlist *p,
                           size_t n, bool remove_missing, int64_t now_ms,
                           struct sp_write_stats *st)
{
  int64_t stamp = 0, before = 0, after = 0;
  int rc = run_scalar(db, SP_PL_STAMP,
                      "SELECT COALESCE(MAX(seen_stamp), 0) + 1"
                      " FROM spotify_playlists", "playlist stamp", &stamp);
  if (!rc)
    rc = run_scalar(db, SP_PL_COUNT_ALL,
                    "SELECT COUNT(*) FROM spotify_playlists",
                    "playlist count", &before);
  for (size_t i = 0; !rc && i < n; i++)
    if (p[i].id && p[i].id[0])
      rc = playlist_upsert(db, &p[i], (int64_t)i, stamp, now_ms);
  if (!rc)
    rc = run_scalar(db, SP_PL_COUNT_ALL,
                    "SELECT COUNT(*) FROM spotify_playlists",
                    "playlist count", &after);
  st->added = after - before;
  if (!rc && remove_missing)
    rc = exec_stamp(db, SP_PL_DELETE_UNSEEN,
                    "DELETE FROM spotify_playlists WHERE seen_stamp <> ?1",
                    stamp, "playlist delete", &st->removed);
  else if (!rc)
    rc = exec_stamp(db, SP_PL_UNFOLLOW_UNSEEN,
                    "UPDATE spotify_playlists SET followed = 0"
                    " WHERE seen_stamp <> ?1 AND followed = 1", stamp,
                    "playlist unfollow", &st->removed);
  if (!rc)
    rc = run_scalar(db, SP_PL_FOLLOWED,
                    "SELECT COUNT(*) FROM spotify_playlists"
                    " WHERE followed = 1", "playlist count", &st->total);
  return rc;
}

int db_spotify_playlists_replace(struct db *db, const struct sp_playlist *p,
                                 size_t n, bool remove_missing,
                                 int64_t now_ms, struct sp_write_stats *st)
{
  memset(st, 0, sizeof *st);
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = playlists_write(db, p, n, remove_missing, now_ms, st);
  return db__tx_end(db, rc);
}

int db_spotify_playlists_stale(struct db *db, db_spotify_stale_fn fn,
                               void *arg)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_PL_STALE,
                "SELECT id, snapshot_id, name FROM spotify_playlists"
                " WHERE followed = 1 AND (entries_snapshot <> snapshot_id"
                " OR snapshot_id = '') ORDER BY position",
                &st);
  if (rc)
    return rc;
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW)
    fn(arg, col(st, 0), col(st, 1), col(st, 2));
  if (src != SQLITE_DONE)
    rc = db__fail(db, "spotify stale playlists");
  done(st);
  return rc;
}

static int track_upsert(struct db *db, const struct sp_track *t,
                        int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_TRACK_UPSERT,
                "INSERT INTO spotify_tracks (id, name, artist_id,"
                " artist_names, album_id, album_name, duration_ms, isrc,"
                " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " artist_id = excluded.artist_id,"
                " artist_names = excluded.artist_names,"
                " album_id = excluded.album_id,"
                " album_name = excluded.album_name,"
                " duration_ms = excluded.duration_ms,"
                " isrc = CASE WHEN excluded.isrc <> '' THEN excluded.isrc"
                "   ELSE isrc END, updated_ms = excluded.updated_ms",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, t->id);
  b |= bind_text(st, 2, t->name);
  b |= bind_text(st, 3, t->artist_id);
  b |= bind_text(st, 4, t->artist_names);
  b |= bind_text(st, 5, t->album_id);
  b |= bind_text(st, 6, t->album_name);
  b |= sqlite3_bind_int64(st, 7, t->duration_ms);
  b |= bind_text(st, 8, t->isrc);
  b |= sqlite3_bind_int64(st, 9, now_ms);
  return exec_st(db, st, b, "spotify track upsert");
}

static bool has_id(const struct sp_track *t) { return t->id && t->id[0]; }

static int entry_insert(struct db *db, const char *playlist, int64_t pos,
                        const struct sp_entry *e)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_ENTRY_INSERT,
                "INSERT OR REPLACE INTO spotify_playlist_entries"
                " (playlist_id, position, track_id, uri, name, is_local,"
                " added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &st);
  if (rc)
    return rc;
  bool linked = has_id(&e->track) && !e->is_local;
  int b = bind_text(st, 1, playlist);
  b |= sqlite3_bind_int64(st, 2, pos);
  b |= bind_text(st, 3, linked ? e->track.id : "");
  b |= bind_text(st, 4, e->uri);
  /* A linked entry takes its name from spotify_tracks. */
  b |= bind_text(st, 5, linked ? "" : e->track.name);
  b |= sqlite3_bind_int(st, 6, e->is_local);
  b |= bind_text(st, 7, e->added_at);
  return exec_st(db, st, b, "spotify entry insert");
}

static int entries_write(struct db *db, const char *playlist,
                         const char *snapshot_id, const struct sp_entry *e,
                         size_t n, int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_PL_SET_ENTRIES,
                "UPDATE spotify_playlists SET entries_snapshot = ?2,"
                " entries_count = ?3, entries_error = '', updated_ms = ?4"
                " WHERE id = ?1",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, playlist);
  b |= bind_text(st, 2, snapshot_id);
  b |= sqlite3_bind_int64(st, 3, (int64_t)n);
  b |= sqlite3_bind_int64(st, 4, now_ms);
  rc = exec_st(db, st, b, "spotify playlist entries stamp");
  if (!rc && changes(db) == 0)
    return SS_ENOTFOUND;
  if (!rc)
    rc = prep(db, SP_ENTRIES_DELETE,
              "DELETE FROM spotify_playlist_entries WHERE playlist_id = ?1",
              &st);
  if (!rc)
    rc = exec_st(db, st, bind_text(st, 1, playlist), "spotify entries delete");
  for (size_t i = 0; !rc && i < n; i++) {
    if (has_id(&e[i].track) && !e[i].is_local)
      rc = track_upsert(db, &e[i].track, now_ms);
    if (!rc)
      rc = entry_insert(db, playlist, (int64_t)i, &e[i]);
  }
  return rc;
}

int db_spotify_playlist_entries_replace(struct db *db, const char *playlist,
                                        const char *snapshot_id,
                                        const struct sp_entry *e, size_t n,
                                        int64_t now_ms)
{
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = entries_write(db, playlist, snapshot_id, e, n, now_ms);
  return db__tx_end(db, rc);
}

int db_spotify_playlist_entries_error(struct db *db, const char *playlist,
                                      const char *snapshot_id,
                                      const char *error)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_PL_SET_ERROR,
                "UPDATE spotify_playlists SET entries_snapshot = ?2,"
                " entries_error = ?3 WHERE id = ?1",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, playlist);
  b |= bind_text(st, 2, snapshot_id);
  b |= bind_text(st, 3, error);
  return exec_st(db, st, b, "spotify playlist error");
}

/* ---- liked songs ---- */

static int liked_upsert(struct db *db, const struct sp_entry *e, int64_t pos,
                        int64_t stamp)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_LIKED_UPSERT,
                "INSERT INTO spotify_liked_songs (track_id, position,"
                " added_at, seen_stamp) VALUES (?1, ?2, ?3, ?4)"
                " ON CONFLICT (track_id) DO UPDATE SET"
                " position = excluded.position,"
                " added_at = excluded.added_at,"
                " seen_stamp = excluded.seen_stamp",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, e->track.id);
  b |= sqlite3_bind_int64(st, 2, pos);
  b |= bind_text(st, 3, e->added_at);
  b |= sqlite3_bind_int64(st, 4, stamp);
  return exec_st(db, st, b, "spotify liked upsert");
}

static int liked_write(struct db *db, const struct sp_entry *e, size_t n,
                       int64_t now_ms, struct sp_write_stats *st)
{
  int64_t stamp = 0, before = 0;
  const char *count_sql = "SELECT COUNT(*) FROM spotify_liked_songs";
  int rc = run_scalar(db, SP_LIKED_STAMP,
                      "SELECT COALESCE(MAX(seen_stamp), 0) + 1"
                      " FROM spotify_liked_songs", "liked stamp", &stamp);
  if (!rc)
    rc = run_scalar(db, SP_LIKED_COUNT, count_sql, "liked count", &before);
  for (size_t i = 0; !rc && i < n; i++) {
    if (!has_id(&e[i].track) || e[i].is_local)
      continue;
    rc = track_upsert(db, &e[i].track, now_ms);
    if (!rc)
      rc = liked_upsert(db, &e[i], (int64_t)i, stamp);
  }
  if (!rc)
    rc = run_scalar(db, SP_LIKED_COUNT, count_sql, "liked count", &st->total);
  st->added = st->total - before;
  if (!rc)
    rc = exec_stamp(db, SP_LIKED_DELETE_UNSEEN,
                    "DELETE FROM spotify_liked_songs WHERE seen_stamp <> ?1",
                    stamp, "liked delete", &st->removed);
  st->total -= st->removed;
  return rc;
}

int db_spotify_liked_replace(struct db *db, const struct sp_entry *e,
                             size_t n, int64_t now_ms,
                             struct sp_write_stats *st)
{
  memset(st, 0, sizeof *st);
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = liked_write(db, e, n, now_ms, st);
  return db__tx_end(db, rc);
}

/* ---- albums ---- */

#define ALBUM_INSERT_COLS                                                      \
  "INSERT INTO spotify_albums (id, name, artist_id, artist_name,"            \
  " album_type, release_date, total_tracks, image_url, upc, added_ms,"      \
  " updated_ms, saved, saved_at, seen_stamp) VALUES (?1, ?2, ?3, ?4, ?5,"   \
  " ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13)"                               \
  " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"                   \
  " artist_id = excluded.artist_id, artist_name = excluded.artist_name,"   \
  " album_type = excluded.album_type,"                                      \
  " release_date = excluded.release_date,"                                  \
  " total_tracks = excluded.total_tracks, image_url = excluded.image_url,"  \
  " upc = CASE WHEN excluded.upc <> '' THEN excluded.upc ELSE upc END,"     \
  " updated_ms = excluded.updated_ms"

/* saved: upsert as a saved album (stamped); otherwise leave the saved
 * flag and stamp alone. */
static int album_upsert(struct db *db, const struct sp_album *a, bool saved,
                        int64_t stamp, int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = saved ? prep(db, SP_ALBUM_SAVED_UPSERT,
                        ALBUM_INSERT_COLS ", saved = 1,"
                        " saved_at = excluded.saved_at,"
                        " seen_stamp = excluded.seen_stamp", &st)
                 : prep(db, SP_ALBUM_UPSERT, ALBUM_INSERT_COLS, &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, a->id);
  b |= bind_text(st, 2, a->name);
  b |= bind_text(st, 3, a->artist_id);
  b |= bind_text(st, 4, a->artist_name);
  b |= bind_text(st, 5, a->album_type);
  b |= bind_text(st, 6, a->release_date);
  b |= sqlite3_bind_int64(st, 7, a->total_tracks);
  b |= bind_text(st, 8, a->image_url);
  b |= bind_text(st, 9, a->upc);
  b |= sqlite3_bind_int64(st, 10, now_ms);
  b |= sqlite3_bind_int(st, 11, saved);
  b |= bind_text(st, 12, saved ? a->saved_at : "");
  b |= sqlite3_bind_int64(st, 13, saved ? stamp : 0);
  return exec_st(db, st, b, "spotify album upsert");
}

static int saved_write(struct db *db, const struct sp_album *a, size_t n,
                       int64_t now_ms, struct sp_write_stats *st)
{
  int64_t stamp = 0, before = 0, after = 0;
  const char *count_sql = "SELECT COUNT(*) FROM spotify_albums"
                          " WHERE saved = 1";
  int rc = run_scalar(db, SP_ALBUM_STAMP,
                      "SELECT COALESCE(MAX(seen_stamp), 0) + 1"
                      " FROM spotify_albums", "album stamp", &stamp);
  if (!rc)
    rc = run_scalar(db, SP_ALBUM_SAVED_COUNT, count_sql, "album count",
                    &before);
  for (size_t i = 0; !rc && i < n; i++)
    if (a[i].id && a[i].id[0])
      rc = album_upsert(db, &a[i], true, stamp, now_ms);
  if (!rc)
    rc = run_scalar(db, SP_ALBUM_SAVED_COUNT, count_sql, "album count",
                    &after);
  st->added = after - before;
  if (!rc)
    rc = exec_stamp(db, SP_ALBUM_UNSAVE_UNSEEN,
                    "UPDATE spotify_albums SET saved = 0, saved_at = ''"
                    " WHERE saved = 1 AND seen_stamp <> ?1", stamp,
                    "album unsave", &st->removed);
  st->total = after - st->removed;
  return rc;
}

int db_spotify_saved_albums_replace(struct db *db, const struct sp_album *a,
                                    size_t n, int64_t now_ms,
                                    struct sp_write_stats *st)
{
  memset(st, 0, sizeof *st);
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = saved_write(db, a, n, now_ms, st);
  return db__tx_end(db, rc);
}

/* ---- artist albums ---- */

int db_spotify_artist_albums_due(struct db *db, int64_t resync_before_ms,
                                 size_t limit, db_spotify_artist_fn fn,
                                 void *arg)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_AA_DUE,
                "SELECT id, name FROM spotify_artists WHERE followed = 1"
                " AND albums_synced_ms < ?1"
                " ORDER BY albums_synced_ms, name COLLATE NOCASE LIMIT ?2",
                &st);
  if (rc)
    return rc;
  int b = sqlite3_bind_int64(st, 1, resync_before_ms);
  b |= sqlite3_bind_int64(st, 2, (int64_t)limit);
  if (b != SQLITE_OK) {
    done(st);
    return db__fail(db, "spotify artist albums due");
  }
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW)
    fn(arg, col(st, 0), col(st, 1));
  if (src != SQLITE_DONE)
    rc = db__fail(db, "spotify artist albums due");
  done(st);
  return rc;
}

int db_spotify_artist_albums_pending(struct db *db, int64_t resync_before_ms,
                                     int64_t *never, int64_t *stale)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_AA_PENDING,
                "SELECT COALESCE(SUM(albums_synced_ms = 0), 0),"
                " COALESCE(SUM(albums_synced_ms > 0 AND"
                " albums_synced_ms < ?1), 0)"
                " FROM spotify_artists WHERE followed = 1",
                &st);
  if (rc)
    return rc;
  if (sqlite3_bind_int64(st, 1, resync_before_ms) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    rc = db__fail(db, "spotify artist albums pending");
  } else {
    *never = sqlite3_column_int64(st, 0);
    *stale = sqlite3_column_int64(st, 1);
  }
  done(st);
  return rc;
}

static int link_insert(struct db *db, const char *artist_id,
                       const struct sp_album *a)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_AA_INSERT_LINK,
                "INSERT OR REPLACE INTO spotify_artist_albums (artist_id,"
                " album_id, album_group) VALUES (?1, ?2, ?3)",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, artist_id);
  b |= bind_text(st, 2, a->id);
  b |= bind_text(st, 3, a->album_group);
  return exec_st(db, st, b, "spotify artist album link");
}

static int artist_albums_write(struct db *db, const char *artist_id,
                               const struct sp_album *a, size_t n,
                               int64_t now_ms)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_AA_STAMP_ARTIST,
                "UPDATE spotify_artists SET albums_synced_ms = ?2,"
                " albums_count = ?3 WHERE id = ?1",
                &st);
  if (rc)
    return rc;
  int b = bind_text(st, 1, artist_id);
  b |= sqlite3_bind_int64(st, 2, now_ms);
  b |= sqlite3_bind_int64(st, 3, (int64_t)n);
  rc = exec_st(db, st, b, "spotify artist albums stamp");
  if (!rc && changes(db) == 0)
    return SS_ENOTFOUND;
  if (!rc)
    rc = prep(db, SP_AA_DELETE_LINKS,
              "DELETE FROM spotify_artist_albums WHERE artist_id = ?1", &st);
  if (!rc)
    rc = exec_st(db, st, bind_text(st, 1, artist_id),
                 "spotify artist albums delete");
  for (size_t i = 0; !rc && i < n; i++) {
    if (!a[i].id || !a[i].id[0])
      continue;
    rc = album_upsert(db, &a[i], false, 0, now_ms);
    if (!rc)
      rc = link_insert(db, artist_id, &a[i]);
  }
  return rc;
}

int db_spotify_artist_albums_replace(struct db *db, const char *artist_id,
                                     const struct sp_album *a, size_t n,
                                     int64_t now_ms)
{
  int rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = artist_albums_write(db, artist_id, a, n, now_ms);
  return db__tx_end(db, rc);
}

/* ---- reading ---- */

int db_spotify_counts(struct db *db, struct db_spotify_counts *out)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_COUNTS,
                "SELECT (SELECT COUNT(*) FROM spotify_artists"
                "  WHERE followed = 1),"
                " (SELECT COUNT(*) FROM spotify_albums),"
                " (SELECT COUNT(*) FROM spotify_albums WHERE saved = 1),"
                " (SELECT COUNT(*) FROM spotify_playlists"
                "  WHERE followed = 1),"
                " (SELECT COUNT(*) FROM spotify_playlist_entries),"
                " (SELECT COUNT(*) FROM spotify_liked_songs),"
                " (SELECT COUNT(*) FROM spotify_tracks)",
                &st);
  if (rc)
    return rc;
  memset(out, 0, sizeof *out);
  if (sqlite3_step(st) != SQLITE_ROW) {
    rc = db__fail(db, "spotify counts");
  } else {
    int64_t *f[] = {&out->artists, &out->albums, &out->saved_albums,
                    &out->playlists, &out->entries, &out->liked,
                    &out->tracks};
    for (int i = 0; i < 7; i++)
      *f[i] = sqlite3_column_int64(st, i);
  }
  done(st);
  return rc;
}

/* Column layout of every list query: id, name, sub, extra, kind, n1, n2,
 * t1. */
static int list_rows(struct db *db, sqlite3_stmt *st, int brc,
                     db_spotify_row_fn fn, void *arg)
{
  if (brc != SQLITE_OK) {
    done(st);
    return db__fail(db, "spotify list");
  }
  int src, rc = SS_OK;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    struct db_spotify_row r = {
      .id = col(st, 0), .name = col(st, 1), .sub = col(st, 2),
      .extra = col(st, 3), .kind = col(st, 4),
      .n1 = sqlite3_column_int64(st, 5), .n2 = sqlite3_column_int64(st, 6),
      .t1 = sqlite3_column_int64(st, 7)};
    fn(arg, &r);
  }
  if (src != SQLITE_DONE)
    rc = db__fail(db, "spotify list");
  done(st);
  return rc;
}

static int list_paged(struct db *db, int slot, const char *sql,
                      int64_t offset, int64_t limit, db_spotify_row_fn fn,
                      void *arg)
{
  sqlite3_stmt *st;
  int rc = prep(db, slot, sql, &st);
  if (rc)
    return rc;
  int b = sqlite3_bind_int64(st, 1, limit);
  b |= sqlite3_bind_int64(st, 2, offset);
  return list_rows(db, st, b, fn, arg);
}

int db_spotify_list_artists(struct db *db, int64_t offset, int64_t limit,
                            db_spotify_row_fn fn, void *arg)
{
  return list_paged(db, SP_LIST_ARTISTS,
                    "SELECT id, name, genres, '', '', albums_count,"
                    " followed, albums_synced_ms FROM spotify_artists"
                    " ORDER BY followed DESC, name COLLATE NOCASE, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

int db_spotify_list_albums(struct db *db, int64_t offset, int64_t limit,
                           db_spotify_row_fn fn, void *arg)
{
  return list_paged(db, SP_LIST_ALBUMS,
                    "SELECT id, name, artist_name, release_date, album_type,"
                    " total_tracks, saved, 0 FROM spotify_albums"
                    " ORDER BY saved DESC, name COLLATE NOCASE, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

int db_spotify_list_playlists(struct db *db, int64_t offset, int64_t limit,
                              db_spotify_row_fn fn, void *arg)
{
  return list_paged(db, SP_LIST_PLAYLISTS,
                    "SELECT id, name, owner_name, entries_error,"
                    " CASE WHEN followed = 1 THEN '' ELSE 'unfollowed' END,"
                    " total, entries_count, 0 FROM spotify_playlists"
                    " ORDER BY followed DESC, position, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

int db_spotify_list_entries(struct db *db, const char *playlist,
                            int64_t offset, int64_t limit,
                            db_spotify_row_fn fn, void *arg)
{
  sqlite3_stmt *st;
  int rc = prep(db, SP_LIST_ENTRIES,
                "SELECT e.track_id, CASE WHEN t.id IS NULL THEN e.name"
                " ELSE t.name END, COALESCE(t.artist_names, ''),"
                " COALESCE(t.album_name, ''),"
                " CASE WHEN e.is_local THEN 'local'"
                "  WHEN t.id IS NULL THEN 'unavailable' ELSE '' END,"
                " e.position, COALESCE(t.duration_ms, 0), 0"
                " FROM spotify_playlist_entries e"
                " LEFT JOIN spotify_tracks t ON t.id = e.track_id"
                " WHERE e.playlist_id = ?3 ORDER BY e.position"
                " LIMIT ?1 OFFSET ?2",
                &st);
  if (rc)
    return rc;
  int b = sqlite3_bind_int64(st, 1, limit);
  b |= sqlite3_bind_int64(st, 2, offset);
  b |= bind_text(st, 3, playlist);
  return list_rows(db, st, b, fn, arg);
}
