/*
 * db_spotify_sqlite.c - db_spotify.h on SQLite.
 *
 * What: the Spotify login, the synced library and the per-type sync status.
 * Statements are cached per connection in the spotify slots (0-63) and
 * run in the db__ dialect (db_sqlite_internal.h).  A list write stamps
 * every row it upserts with a fresh seen_stamp and then removes (or
 * unmarks) the rows of the list that were not stamped; the whole write is
 * one BEGIN IMMEDIATE transaction, so a crash keeps the previous list
 * intact.
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
  SP_ACCOUNT_LOAD = DB__SLOTS_SPOTIFY,
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

_Static_assert((int)SP__END <= (int)DB__SLOTS_DOWNLOADS,
               "spotify statement slots are 0-63");

/* ---- helpers over the db__ dialect ---- */

/* Spotify text is stored cut at SPOTIFY_TEXT_MAX bytes (db_spotify.h). */
#define SP_TEXT(s) DB__TEXT_MAX((s), SPOTIFY_TEXT_MAX)

/* The integer a statement without parameters returns (stamp, count). */
static enum ss_err query_int(struct db *db, int slot, const char *sql,
                             const char *what, int64_t *out)
{
  return db__get_one(db, slot, sql, NULL, 0, db__row_int64, out, what);
}

/* ---- the login ---- */

static enum ss_err account_row(sqlite3_stmt *row, void *out)
{
  struct db_spotify_account *a = out;
  db__col_text(row, 0, a->access_token, sizeof a->access_token);
  db__col_text(row, 1, a->refresh_token, sizeof a->refresh_token);
  a->expires_at_ms = sqlite3_column_int64(row, 2);
  db__col_text(row, 3, a->scopes, sizeof a->scopes);
  a->authorised_at_ms = sqlite3_column_int64(row, 4);
  a->refreshed_at_ms = sqlite3_column_int64(row, 5);
  db__col_text(row, 6, a->user_id, sizeof a->user_id);
  db__col_text(row, 7, a->display_name, sizeof a->display_name);
  db__col_text(row, 8, a->reauth_reason, sizeof a->reauth_reason);
  return SS_OK;
}

enum ss_err db_spotify_account_load(struct db *db,
                                    struct db_spotify_account *out)
{
  memset(out, 0, sizeof *out);
  return db__get_one(
    db, SP_ACCOUNT_LOAD,
    "SELECT access_token, refresh_token, expires_at_ms, scopes,"
    " authorised_at_ms, refreshed_at_ms, user_id, display_name,"
    " reauth_reason FROM spotify_account WHERE id = 1",
    NULL, 0, account_row, out, "spotify account load");
}

enum ss_err db_spotify_account_save(struct db *db,
                                    const struct db_spotify_account *a)
{
  return db__run(db, SP_ACCOUNT_SAVE,
                 "INSERT OR REPLACE INTO spotify_account (id, access_token,"
                 " refresh_token, expires_at_ms, scopes, authorised_at_ms,"
                 " refreshed_at_ms, user_id, display_name, reauth_reason)"
                 " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                 DB__VALS(DB__TEXT(a->access_token),
                          DB__TEXT(a->refresh_token),
                          DB__INT(a->expires_at_ms), SP_TEXT(a->scopes),
                          DB__INT(a->authorised_at_ms),
                          DB__INT(a->refreshed_at_ms), SP_TEXT(a->user_id),
                          SP_TEXT(a->display_name), SP_TEXT(a->reauth_reason)),
                 "spotify account save");
}

enum ss_err db_spotify_account_delete(struct db *db)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, SP_ACCOUNT_DELETE,
                               "DELETE FROM spotify_account", &q);
  return rc ? rc : db__exec(&q, "spotify account delete");
}

/* ---- sync status ---- */

struct status_walk {
  db_spotify_status_fn fn;
  void *arg;
};

static enum ss_err status_row(sqlite3_stmt *row, void *arg)
{
  const struct status_walk *w = arg;
  struct db_spotify_sync_status s;
  memset(&s, 0, sizeof s);
  db__col_text(row, 0, s.type, sizeof s.type);
  s.last_attempt_ms = sqlite3_column_int64(row, 1);
  s.last_ok_ms = sqlite3_column_int64(row, 2);
  s.items = sqlite3_column_int64(row, 3);
  db__col_text(row, 4, s.last_result, sizeof s.last_result);
  db__col_text(row, 5, s.last_error, sizeof s.last_error);
  db__col_text(row, 6, s.marker, sizeof s.marker);
  w->fn(w->arg, &s);
  return SS_OK;
}

enum ss_err db_spotify_status_load(struct db *db, db_spotify_status_fn fn,
                                   void *arg)
{
  struct status_walk w = {fn, arg};
  return db__walk(db, SP_STATUS_LOAD,
                  "SELECT type, last_attempt_ms, last_ok_ms, items,"
                  " last_result, last_error, marker FROM spotify_sync_status"
                  " ORDER BY type",
                  NULL, 0, status_row, &w, "spotify status load");
}

enum ss_err db_spotify_status_store(struct db *db,
                                    const struct db_spotify_sync_status *s)
{
  return db__run(db, SP_STATUS_STORE,
                 "INSERT OR REPLACE INTO spotify_sync_status (type,"
                 " last_attempt_ms, last_ok_ms, items, last_result,"
                 " last_error, marker) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 DB__VALS(SP_TEXT(s->type), DB__INT(s->last_attempt_ms),
                          DB__INT(s->last_ok_ms), DB__INT(s->items),
                          SP_TEXT(s->last_result), SP_TEXT(s->last_error),
                          SP_TEXT(s->marker)),
                 "spotify status store");
}

/* ---- lists written whole (followed artists, playlists, liked songs,
 * saved albums) ---- */

/* How one list is written: stamp, count, upsert every item, then drop (or
 * unmark) what was not stamped (see the top of this file). */
struct sp_list {
  const char *name; /* "artist": log context */
  int stamp_slot, count_slot, gone_slot, unmark_slot, total_slot;
  const char *stamp_sql; /* the next seen_stamp */
  const char *count_sql; /* the list's rows, before and after: added */
  /* ?1 = the stamp: removes the rows not written now; unmark_sql (when
   * set) does instead when the caller keeps missing rows */
  const char *gone_sql, *gone_what;
  const char *unmark_sql, *unmark_what;
  const char *total_sql; /* NULL: total = counted after - removed */
  /* Upserts items[i] stamped with stamp (SS_OK for an item skipped). */
  enum ss_err (*put)(struct db *db, const void *items, size_t i, int64_t stamp,
                     int64_t now_ms);
};

#define SP_STAMP_SQL(table)                                                   \
  "SELECT COALESCE(MAX(seen_stamp), 0) + 1 FROM " table

/* Runs a statement with one integer parameter; *n gets the rows changed. */
static enum ss_err exec_stamp(struct db *db, int slot, const char *sql,
                              int64_t stamp, const char *what, int64_t *n)
{
  enum ss_err rc = db__run(db, slot, sql, DB__VALS(DB__INT(stamp)), what);
  if (!rc && n)
    *n = db__changes(db);
  return rc;
}

static enum ss_err list_write(struct db *db, const struct sp_list *l,
                              const void *items, size_t n, bool keep_missing,
                              int64_t now_ms, struct sp_write_stats *st)
{
  char stamp_what[32], count_what[32];
  snprintf(stamp_what, sizeof stamp_what, "%s stamp", l->name);
  snprintf(count_what, sizeof count_what, "%s count", l->name);
  int64_t stamp = 0, before = 0, after = 0;
  enum ss_err rc = query_int(db, l->stamp_slot, l->stamp_sql, stamp_what,
                             &stamp);
  if (!rc)
    rc = query_int(db, l->count_slot, l->count_sql, count_what, &before);
  for (size_t i = 0; !rc && i < n; i++)
    rc = l->put(db, items, i, stamp, now_ms);
  if (!rc)
    rc = query_int(db, l->count_slot, l->count_sql, count_what, &after);
  st->added = after - before;
  bool unmark = keep_missing && l->unmark_sql;
  if (!rc)
    rc = exec_stamp(db, unmark ? l->unmark_slot : l->gone_slot,
                    unmark ? l->unmark_sql : l->gone_sql, stamp,
                    unmark ? l->unmark_what : l->gone_what, &st->removed);
  if (!l->total_sql)
    st->total = after - st->removed;
  else if (!rc)
    rc = query_int(db, l->total_slot, l->total_sql, count_what, &st->total);
  return rc;
}

/* list_write in one transaction; *st zeroed first. */
static enum ss_err list_replace(struct db *db, const struct sp_list *l,
                                const void *items, size_t n, bool keep_missing,
                                int64_t now_ms, struct sp_write_stats *st)
{
  memset(st, 0, sizeof *st);
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = list_write(db, l, items, n, keep_missing, now_ms, st);
  return db__tx_end(db, rc);
}

/* ---- followed artists ---- */

static enum ss_err artist_put(struct db *db, const void *items, size_t i,
                              int64_t stamp, int64_t now_ms)
{
  const struct sp_artist *a = (const struct sp_artist *)items + i;
  if (!a->id || !a->id[0])
    return SS_OK;
  return db__run(db, SP_ARTIST_UPSERT,
                 "INSERT INTO spotify_artists (id, name, uri, image_url,"
                 " genres, followed, seen_stamp, added_ms, updated_ms)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7)"
                 " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                 " uri = excluded.uri, image_url = excluded.image_url,"
                 " genres = excluded.genres, followed = 1,"
                 " seen_stamp = excluded.seen_stamp,"
                 " updated_ms = excluded.updated_ms",
                 DB__VALS(SP_TEXT(a->id), SP_TEXT(a->name), SP_TEXT(a->uri),
                          SP_TEXT(a->image_url), SP_TEXT(a->genres),
                          DB__INT(stamp), DB__INT(now_ms)),
                 "spotify artist upsert");
}

static const struct sp_list artists_list =
  {.name = "artist",
   .stamp_slot = SP_ARTIST_STAMP,
   .stamp_sql = SP_STAMP_SQL("spotify_artists"),
   .count_slot = SP_ARTIST_COUNT_ALL,
   .count_sql = "SELECT COUNT(*) FROM spotify_artists",
   .gone_slot = SP_ARTIST_DELETE_UNSEEN,
   .gone_sql = "DELETE FROM spotify_artists WHERE seen_stamp <> ?1"
               " AND followed = 1",
   .gone_what = "artist delete",
   .unmark_slot = SP_ARTIST_UNFOLLOW_UNSEEN,
   .unmark_sql = "UPDATE spotify_artists SET followed = 0"
                 " WHERE seen_stamp <> ?1 AND followed = 1",
   .unmark_what = "artist unfollow",
   .total_slot = SP_ARTIST_FOLLOWED,
   .total_sql = "SELECT COUNT(*) FROM spotify_artists WHERE followed = 1",
   .put = artist_put};

enum ss_err db_spotify_artists_replace(struct db *db,
                                       const struct sp_artist *a, size_t n,
                                       bool remove_missing, int64_t now_ms,
                                       struct sp_write_stats *st)
{
  return list_replace(db, &artists_list, a, n, !remove_missing, now_ms, st);
}

/* ---- playlists ---- */

static enum ss_err playlist_put(struct db *db, const void *items, size_t i,
                                int64_t stamp, int64_t now_ms)
{
  const struct sp_playlist *p = (const struct sp_playlist *)items + i;
  if (!p->id || !p->id[0])
    return SS_OK;
  return db__run(db, SP_PL_UPSERT,
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
                 DB__VALS(SP_TEXT(p->id), SP_TEXT(p->name),
                          SP_TEXT(p->owner_id), SP_TEXT(p->owner_name),
                          SP_TEXT(p->description), DB__INT(p->collaborative),
                          SP_TEXT(p->snapshot_id), DB__INT(p->total),
                          DB__INT((int64_t)i), DB__INT(stamp),
                          DB__INT(now_ms)),
                 "spotify playlist upsert");
}

static const struct sp_list playlists_list =
  {.name = "playlist",
   .stamp_slot = SP_PL_STAMP,
   .stamp_sql = SP_STAMP_SQL("spotify_playlists"),
   .count_slot = SP_PL_COUNT_ALL,
   .count_sql = "SELECT COUNT(*) FROM spotify_playlists",
   .gone_slot = SP_PL_DELETE_UNSEEN,
   .gone_sql = "DELETE FROM spotify_playlists WHERE seen_stamp <> ?1",
   .gone_what = "playlist delete",
   .unmark_slot = SP_PL_UNFOLLOW_UNSEEN,
   .unmark_sql = "UPDATE spotify_playlists SET followed = 0"
                 " WHERE seen_stamp <> ?1 AND followed = 1",
   .unmark_what = "playlist unfollow",
   .total_slot = SP_PL_FOLLOWED,
   .total_sql = "SELECT COUNT(*) FROM spotify_playlists WHERE followed = 1",
   .put = playlist_put};

enum ss_err db_spotify_playlists_replace(struct db *db,
                                         const struct sp_playlist *p, size_t n,
                                         bool remove_missing, int64_t now_ms,
                                         struct sp_write_stats *st)
{
  return list_replace(db, &playlists_list, p, n, !remove_missing, now_ms, st);
}

struct stale_walk {
  db_spotify_stale_fn fn;
  void *arg;
};

static enum ss_err stale_row(sqlite3_stmt *row, void *arg)
{
  const struct stale_walk *w = arg;
  w->fn(w->arg, db__col_str(row, 0), db__col_str(row, 1), db__col_str(row, 2));
  return SS_OK;
}

enum ss_err db_spotify_playlists_stale(struct db *db, db_spotify_stale_fn fn,
                                       void *arg)
{
  struct stale_walk w = {fn, arg};
  return db__walk(db, SP_PL_STALE,
                  "SELECT id, snapshot_id, name FROM spotify_playlists"
                  " WHERE followed = 1 AND (entries_snapshot <> snapshot_id"
                  " OR snapshot_id = '') ORDER BY position",
                  NULL, 0, stale_row, &w, "spotify stale playlists");
}

static enum ss_err track_upsert(struct db *db, const struct sp_track *t,
                                int64_t now_ms)
{
  return db__run(db, SP_TRACK_UPSERT,
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
                 DB__VALS(SP_TEXT(t->id), SP_TEXT(t->name),
                          SP_TEXT(t->artist_id), SP_TEXT(t->artist_names),
                          SP_TEXT(t->album_id), SP_TEXT(t->album_name),
                          DB__INT(t->duration_ms), SP_TEXT(t->isrc),
                          DB__INT(now_ms)),
                 "spotify track upsert");
}

static bool has_id(const struct sp_track *t) { return t->id && t->id[0]; }

static enum ss_err entry_insert(struct db *db, const char *playlist,
                                int64_t pos, const struct sp_entry *e)
{
  struct db__q q;
  enum ss_err
    rc = db__prepare(db, SP_ENTRY_INSERT,
                     "INSERT OR REPLACE INTO spotify_playlist_entries"
                     " (playlist_id, position, track_id, uri, name, is_local,"
                     " added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     &q);
  if (rc)
    return rc;
  bool linked = has_id(&e->track) && !e->is_local;
  /* A linked entry takes its name from spotify_tracks. */
  db__bind_all(&q,
               DB__VALS(SP_TEXT(playlist), DB__INT(pos),
                        SP_TEXT(linked ? e->track.id : ""), SP_TEXT(e->uri),
                        SP_TEXT(linked ? "" : e->track.name),
                        DB__INT(e->is_local), SP_TEXT(e->added_at)));
  return db__exec(&q, "spotify entry insert");
}

static enum ss_err entries_write(struct db *db, const char *playlist,
                                 const char *snapshot_id,
                                 const struct sp_entry *e, size_t n,
                                 int64_t now_ms)
{
  enum ss_err
    rc = db__run(db, SP_PL_SET_ENTRIES,
                 "UPDATE spotify_playlists SET entries_snapshot = ?2,"
                 " entries_count = ?3, entries_error = '', updated_ms = ?4"
                 " WHERE id = ?1",
                 DB__VALS(SP_TEXT(playlist), SP_TEXT(snapshot_id),
                          DB__INT((int64_t)n), DB__INT(now_ms)),
                 "spotify playlist entries stamp");
  if (!rc && db__changes(db) == 0)
    return SS_ENOTFOUND;
  if (!rc)
    rc = db__run(db, SP_ENTRIES_DELETE,
                 "DELETE FROM spotify_playlist_entries WHERE playlist_id = ?1",
                 DB__VALS(SP_TEXT(playlist)), "spotify entries delete");
  for (size_t i = 0; !rc && i < n; i++) {
    if (has_id(&e[i].track) && !e[i].is_local)
      rc = track_upsert(db, &e[i].track, now_ms);
    if (!rc)
      rc = entry_insert(db, playlist, (int64_t)i, &e[i]);
  }
  return rc;
}

enum ss_err db_spotify_playlist_entries_replace(struct db *db,
                                                const char *playlist,
                                                const char *snapshot_id,
                                                const struct sp_entry *e,
                                                size_t n, int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = entries_write(db, playlist, snapshot_id, e, n, now_ms);
  return db__tx_end(db, rc);
}

enum ss_err db_spotify_playlist_entries_error(struct db *db,
                                              const char *playlist,
                                              const char *snapshot_id,
                                              const char *error)
{
  return db__run(db, SP_PL_SET_ERROR,
                 "UPDATE spotify_playlists SET entries_snapshot = ?2,"
                 " entries_error = ?3 WHERE id = ?1",
                 DB__VALS(SP_TEXT(playlist), SP_TEXT(snapshot_id),
                          SP_TEXT(error)),
                 "spotify playlist error");
}

/* ---- liked songs ---- */

static enum ss_err liked_put(struct db *db, const void *items, size_t i,
                             int64_t stamp, int64_t now_ms)
{
  const struct sp_entry *e = (const struct sp_entry *)items + i;
  if (!has_id(&e->track) || e->is_local)
    return SS_OK;
  enum ss_err rc = track_upsert(db, &e->track, now_ms);
  if (rc)
    return rc;
  return db__run(db, SP_LIKED_UPSERT,
                 "INSERT INTO spotify_liked_songs (track_id, position,"
                 " added_at, seen_stamp) VALUES (?1, ?2, ?3, ?4)"
                 " ON CONFLICT (track_id) DO UPDATE SET"
                 " position = excluded.position,"
                 " added_at = excluded.added_at,"
                 " seen_stamp = excluded.seen_stamp",
                 DB__VALS(SP_TEXT(e->track.id), DB__INT((int64_t)i),
                          SP_TEXT(e->added_at), DB__INT(stamp)),
                 "spotify liked upsert");
}

static const struct sp_list liked_list =
  {.name = "liked",
   .stamp_slot = SP_LIKED_STAMP,
   .stamp_sql = SP_STAMP_SQL("spotify_liked_songs"),
   .count_slot = SP_LIKED_COUNT,
   .count_sql = "SELECT COUNT(*) FROM spotify_liked_songs",
   .gone_slot = SP_LIKED_DELETE_UNSEEN,
   .gone_sql = "DELETE FROM spotify_liked_songs WHERE seen_stamp <> ?1",
   .gone_what = "liked delete",
   .put = liked_put};

enum ss_err db_spotify_liked_replace(struct db *db, const struct sp_entry *e,
                                     size_t n, int64_t now_ms,
                                     struct sp_write_stats *st)
{
  return list_replace(db, &liked_list, e, n, false, now_ms, st);
}

/* ---- albums ---- */

#define ALBUM_INSERT_COLS                                                     \
  "INSERT INTO spotify_albums (id, name, artist_id, artist_name,"             \
  " album_type, release_date, total_tracks, image_url, upc, added_ms,"        \
  " updated_ms, saved, saved_at, seen_stamp) VALUES (?1, ?2, ?3, ?4, ?5,"     \
  " ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13)"                                 \
  " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"                     \
  " artist_id = excluded.artist_id, artist_name = excluded.artist_name,"      \
  " album_type = excluded.album_type,"                                        \
  " release_date = excluded.release_date,"                                    \
  " total_tracks = excluded.total_tracks, image_url = excluded.image_url,"    \
  " upc = CASE WHEN excluded.upc <> '' THEN excluded.upc ELSE upc END,"       \
  " updated_ms = excluded.updated_ms"

/* saved: upsert as a saved album (stamped); otherwise leave the saved
 * flag and stamp alone. */
static enum ss_err album_upsert(struct db *db, const struct sp_album *a,
                                bool saved, int64_t stamp, int64_t now_ms)
{
  struct db__q q;
  enum ss_err rc = saved
                     ? db__prepare(db, SP_ALBUM_SAVED_UPSERT,
                                   ALBUM_INSERT_COLS
                                   ", saved = 1,"
                                   " saved_at = excluded.saved_at,"
                                   " seen_stamp = excluded.seen_stamp",
                                   &q)
                     : db__prepare(db, SP_ALBUM_UPSERT, ALBUM_INSERT_COLS, &q);
  if (rc)
    return rc;
  db__bind_all(&q, DB__VALS(SP_TEXT(a->id), SP_TEXT(a->name),
                            SP_TEXT(a->artist_id), SP_TEXT(a->artist_name),
                            SP_TEXT(a->album_type), SP_TEXT(a->release_date),
                            DB__INT(a->total_tracks), SP_TEXT(a->image_url),
                            SP_TEXT(a->upc), DB__INT(now_ms), DB__INT(saved),
                            SP_TEXT(saved ? a->saved_at : ""),
                            DB__INT(saved ? stamp : 0)));
  return db__exec(&q, "spotify album upsert");
}

static enum ss_err saved_put(struct db *db, const void *items, size_t i,
                             int64_t stamp, int64_t now_ms)
{
  const struct sp_album *a = (const struct sp_album *)items + i;
  return a->id && a->id[0] ? album_upsert(db, a, true, stamp, now_ms) : SS_OK;
}

static const struct sp_list saved_list =
  {.name = "album",
   .stamp_slot = SP_ALBUM_STAMP,
   .stamp_sql = SP_STAMP_SQL("spotify_albums"),
   .count_slot = SP_ALBUM_SAVED_COUNT,
   .count_sql = "SELECT COUNT(*) FROM spotify_albums WHERE saved = 1",
   .gone_slot = SP_ALBUM_UNSAVE_UNSEEN,
   .gone_sql = "UPDATE spotify_albums SET saved = 0, saved_at = ''"
               " WHERE saved = 1 AND seen_stamp <> ?1",
   .gone_what = "album unsave",
   .put = saved_put};

enum ss_err db_spotify_saved_albums_replace(struct db *db,
                                            const struct sp_album *a, size_t n,
                                            int64_t now_ms,
                                            struct sp_write_stats *st)
{
  return list_replace(db, &saved_list, a, n, false, now_ms, st);
}

/* ---- artist albums ---- */

struct artist_walk {
  db_spotify_artist_fn fn;
  void *arg;
};

static enum ss_err artist_row(sqlite3_stmt *row, void *arg)
{
  const struct artist_walk *w = arg;
  w->fn(w->arg, db__col_str(row, 0), db__col_str(row, 1));
  return SS_OK;
}

/* Columns 0 and 1 into the int64_t[2] at out. */
static enum ss_err pair_row(sqlite3_stmt *row, void *out)
{
  int64_t *pair = out;
  pair[0] = sqlite3_column_int64(row, 0);
  pair[1] = sqlite3_column_int64(row, 1);
  return SS_OK;
}

enum ss_err db_spotify_artist_albums_due(struct db *db,
                                         int64_t resync_before_ms,
                                         size_t limit, db_spotify_artist_fn fn,
                                         void *arg)
{
  struct artist_walk w = {fn, arg};
  return db__walk(db, SP_AA_DUE,
                  "SELECT id, name FROM spotify_artists WHERE followed = 1"
                  " AND albums_synced_ms < ?1"
                  " ORDER BY albums_synced_ms, name COLLATE NOCASE LIMIT ?2",
                  DB__VALS(DB__INT(resync_before_ms), DB__INT((int64_t)limit)),
                  artist_row, &w, "spotify artist albums due");
}

enum ss_err db_spotify_artist_albums_pending(struct db *db,
                                             int64_t resync_before_ms,
                                             int64_t *never, int64_t *stale)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, SP_AA_PENDING,
                               "SELECT COALESCE(SUM(albums_synced_ms = 0), 0),"
                               " COALESCE(SUM(albums_synced_ms > 0 AND"
                               " albums_synced_ms < ?1), 0)"
                               " FROM spotify_artists WHERE followed = 1",
                               &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, resync_before_ms);
  int64_t pair[2] = {0, 0};
  rc = db__get(&q, pair_row, pair, "spotify artist albums pending");
  *never = pair[0];
  *stale = pair[1];
  return rc;
}

static enum ss_err link_insert(struct db *db, const char *artist_id,
                               const struct sp_album *a)
{
  return db__run(db, SP_AA_INSERT_LINK,
                 "INSERT OR REPLACE INTO spotify_artist_albums (artist_id,"
                 " album_id, album_group) VALUES (?1, ?2, ?3)",
                 DB__VALS(SP_TEXT(artist_id), SP_TEXT(a->id),
                          SP_TEXT(a->album_group)),
                 "spotify artist album link");
}

static enum ss_err artist_albums_write(struct db *db, const char *artist_id,
                                       const struct sp_album *a, size_t n,
                                       int64_t now_ms)
{
  enum ss_err rc = db__run(db, SP_AA_STAMP_ARTIST,
                           "UPDATE spotify_artists SET albums_synced_ms = ?2,"
                           " albums_count = ?3 WHERE id = ?1",
                           DB__VALS(SP_TEXT(artist_id), DB__INT(now_ms),
                                    DB__INT((int64_t)n)),
                           "spotify artist albums stamp");
  if (!rc && db__changes(db) == 0)
    return SS_ENOTFOUND;
  if (!rc)
    rc = db__run(db, SP_AA_DELETE_LINKS,
                 "DELETE FROM spotify_artist_albums WHERE artist_id = ?1",
                 DB__VALS(SP_TEXT(artist_id)), "spotify artist albums delete");
  for (size_t i = 0; !rc && i < n; i++) {
    if (!a[i].id || !a[i].id[0])
      continue;
    rc = album_upsert(db, &a[i], false, 0, now_ms);
    if (!rc)
      rc = link_insert(db, artist_id, &a[i]);
  }
  return rc;
}

enum ss_err db_spotify_artist_albums_replace(struct db *db,
                                             const char *artist_id,
                                             const struct sp_album *a,
                                             size_t n, int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = artist_albums_write(db, artist_id, a, n, now_ms);
  return db__tx_end(db, rc);
}

/* ---- reading ---- */

static enum ss_err counts_row(sqlite3_stmt *row, void *out)
{
  struct db_spotify_counts *c = out;
  int64_t *f[] = {&c->artists, &c->albums, &c->saved_albums, &c->playlists,
                  &c->entries, &c->liked,  &c->tracks};
  for (int i = 0; i < 7; i++)
    *f[i] = sqlite3_column_int64(row, i);
  return SS_OK;
}

enum ss_err db_spotify_counts(struct db *db, struct db_spotify_counts *out)
{
  memset(out, 0, sizeof *out);
  return db__get_one(db, SP_COUNTS,
                     "SELECT (SELECT COUNT(*) FROM spotify_artists"
                     "  WHERE followed = 1),"
                     " (SELECT COUNT(*) FROM spotify_albums),"
                     " (SELECT COUNT(*) FROM spotify_albums WHERE saved = 1),"
                     " (SELECT COUNT(*) FROM spotify_playlists"
                     "  WHERE followed = 1),"
                     " (SELECT COUNT(*) FROM spotify_playlist_entries),"
                     " (SELECT COUNT(*) FROM spotify_liked_songs),"
                     " (SELECT COUNT(*) FROM spotify_tracks)",
                     NULL, 0, counts_row, out, "spotify counts");
}

struct list_walk {
  db_spotify_row_fn fn;
  void *arg;
};

/* Column layout of every list query: id, name, sub, extra, kind, n1, n2,
 * t1. */
static enum ss_err list_row(sqlite3_stmt *row, void *arg)
{
  const struct list_walk *w = arg;
  struct db_spotify_row r = {.id = db__col_str(row, 0),
                             .name = db__col_str(row, 1),
                             .sub = db__col_str(row, 2),
                             .extra = db__col_str(row, 3),
                             .kind = db__col_str(row, 4),
                             .n1 = sqlite3_column_int64(row, 5),
                             .n2 = sqlite3_column_int64(row, 6),
                             .t1 = sqlite3_column_int64(row, 7)};
  w->fn(w->arg, &r);
  return SS_OK;
}

static enum ss_err list_rows(struct db__q *q, db_spotify_row_fn fn, void *arg)
{
  struct list_walk w = {fn, arg};
  return db__each(q, list_row, &w, "spotify list");
}

static enum ss_err list_paged(struct db *db, int slot, const char *sql,
                              int64_t offset, int64_t limit,
                              db_spotify_row_fn fn, void *arg)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, slot, sql, &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, limit);
  db__bind_int64(&q, 2, offset);
  return list_rows(&q, fn, arg);
}

enum ss_err db_spotify_list_artists(struct db *db, int64_t offset,
                                    int64_t limit, db_spotify_row_fn fn,
                                    void *arg)
{
  return list_paged(db, SP_LIST_ARTISTS,
                    "SELECT id, name, genres, '', '', albums_count,"
                    " followed, albums_synced_ms FROM spotify_artists"
                    " ORDER BY followed DESC, name COLLATE NOCASE, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

enum ss_err db_spotify_list_albums(struct db *db, int64_t offset,
                                   int64_t limit, db_spotify_row_fn fn,
                                   void *arg)
{
  return list_paged(db, SP_LIST_ALBUMS,
                    "SELECT id, name, artist_name, release_date, album_type,"
                    " total_tracks, saved, 0 FROM spotify_albums"
                    " ORDER BY saved DESC, name COLLATE NOCASE, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

enum ss_err db_spotify_list_playlists(struct db *db, int64_t offset,
                                      int64_t limit, db_spotify_row_fn fn,
                                      void *arg)
{
  return list_paged(db, SP_LIST_PLAYLISTS,
                    "SELECT id, name, owner_name, entries_error,"
                    " CASE WHEN followed = 1 THEN '' ELSE 'unfollowed' END,"
                    " total, entries_count, 0 FROM spotify_playlists"
                    " ORDER BY followed DESC, position, id"
                    " LIMIT ?1 OFFSET ?2",
                    offset, limit, fn, arg);
}

enum ss_err db_spotify_list_entries(struct db *db, const char *playlist,
                                    int64_t offset, int64_t limit,
                                    db_spotify_row_fn fn, void *arg)
{
  struct db__q q;
  enum ss_err
    rc = db__prepare(db, SP_LIST_ENTRIES,
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
                     &q);
  if (rc)
    return rc;
  db__bind_all(&q,
               DB__VALS(DB__INT(limit), DB__INT(offset), SP_TEXT(playlist)));
  return list_rows(&q, fn, arg);
}
