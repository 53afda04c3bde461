/*
 * db_library_sqlite.c - db_library.h on SQLite.
 *
 * What: the library tracks, duplicate groups and quarantine queries.
 * Statements are cached per connection in the library's slots (128-191)
 * and run in the db__ dialect (db_sqlite_internal.h).  Every write happens
 * in one BEGIN IMMEDIATE transaction inside a single call; batch calls
 * (scan batches, key batches, a whole detection pass) are one transaction
 * each so the file is written once per batch.  Iterating calls hand rows
 * to callbacks while the statement is active: callbacks must not use the
 * same struct db.
 *
 * Threading: as db.h, one struct db per thread.
 *
 * Ownership: strings handed to callbacks live for the callback only.
 */
#include "db/db_library.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "db/db_sqlite_internal.h"

enum {
  SL_UPSERT = DB__SLOTS_LIBRARY,
  SL_BY_PATH,
  SL_BY_ID,
  SL_SEEN,
  SL_TOUCH,
  SL_SET_HASH,
  SL_SET_FP,
  SL_META_GET,
  SL_META_PUT,
  SL_UNSEEN,
  SL_MARK_GONE,
  SL_UNQ_TRACK,
  SL_UNQ_ENTRIES,
  SL_COUNTS,
  SL_UNREADABLE_COUNT,
  SL_UNREADABLE_LIST,
  SL_KEYS_MISSING,
  SL_KEYS_STORE,
  SL_KEYS_PENDING,
  SL_META_CANDS,
  SL_META_ROW,
  SL_META_MAXID,
  SL_META_SAMPLE,
  SL_HASH_CANDS,
  SL_FP_ROWS,
  SL_GROUP_BY_KEY,
  SL_GROUP_BY_MEMBER,
  SL_GROUP_INSERT,
  SL_GROUP_SEEN,
  SL_GROUP_TOUCH,
  SL_MEMBERS_LIST,
  SL_MEMBERS_DELETE,
  SL_MEMBERS_INSERT,
  SL_KEEP_FIX,
  SL_STALE,
  SL_OPEN_COUNT,
  SL_GROUPS_LIST,
  SL_GROUPS_COUNT,
  SL_GROUP_GET,
  SL_GROUP_MEMBERS,
  SL_IS_MEMBER,
  SL_SET_KEEP,
  SL_SET_STATUS,
  SL_Q_INSERT,
  SL_Q_TRACK,
  SL_Q_OF_GROUP,
  SL_Q_RESTORED,
  SL_Q_TRACK_BACK,
  SL_Q_OF_TRACK,
  SL_Q_COMMIT,
  SL_Q_DROP,
  SL_Q_SET_PENDING,
  SL_Q_PENDING,
  SL_Q_REOPEN,
  SL_OWN_ROWS,
  SL_UPGRADE_ROWS,
  SL_UPGRADE_MEMBER,
  SL_UPGRADE_GROUP,
  SL_UPGRADE_GROUP_ID,
  SL_UPGRADE_DONE,
  SL__END
};

_Static_assert((int)SL__END <= (int)DB__SLOTS_WANTED,
               "library statement slots are 128-191");

#define TRACK_COLS                                                            \
  "id, path, size, mtime_ns, title, artist, album_artist, album, date, year," \
  " track_no, track_total, disc_no, disc_total, duration_ms, codec,"          \
  " container, bitrate, sample_rate, bit_depth, channels, lossless,"          \
  " mb_recording_id, mb_track_id, mb_album_id, mb_artist_id,"                 \
  " mb_release_group_id, spotify_track_id, download_id, gone, unreadable,"    \
  " quarantined, unreadable_reason"

#define LIVE "gone = 0 AND quarantined = 0 AND unreadable = 0"

static const char *const sql_upsert =
  "INSERT INTO library_tracks (path, size, mtime_ns, title, artist,"
  " album_artist, album, date, year, track_no, track_total, disc_no,"
  " disc_total, duration_ms, codec, container, bitrate, sample_rate,"
  " bit_depth, channels, lossless, mb_recording_id, mb_track_id,"
  " mb_album_id, mb_artist_id, mb_release_group_id, spotify_track_id,"
  " download_id, tag_score, unreadable, gone, seen_scan, added_ms,"
  " updated_ms, unreadable_reason, norm_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
  " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,"
  " ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?33, ?34,"
  " ?35)"
  " ON CONFLICT (path) DO UPDATE SET"
  " file_hash = CASE WHEN size <> excluded.size"
  "   OR mtime_ns <> excluded.mtime_ns THEN NULL ELSE file_hash END,"
  " fingerprint = CASE WHEN size <> excluded.size"
  "   OR mtime_ns <> excluded.mtime_ns THEN NULL ELSE fingerprint END,"
  " size = excluded.size, mtime_ns = excluded.mtime_ns,"
  " title = excluded.title, artist = excluded.artist,"
  " album_artist = excluded.album_artist, album = excluded.album,"
  " date = excluded.date, year = excluded.year,"
  " track_no = excluded.track_no, track_total = excluded.track_total,"
  " disc_no = excluded.disc_no, disc_total = excluded.disc_total,"
  " duration_ms = excluded.duration_ms, codec = excluded.codec,"
  " container = excluded.container, bitrate = excluded.bitrate,"
  " sample_rate = excluded.sample_rate, bit_depth = excluded.bit_depth,"
  " channels = excluded.channels, lossless = excluded.lossless,"
  " mb_recording_id = excluded.mb_recording_id,"
  " mb_track_id = excluded.mb_track_id, mb_album_id = excluded.mb_album_id,"
  " mb_artist_id = excluded.mb_artist_id,"
  " mb_release_group_id = excluded.mb_release_group_id,"
  " spotify_track_id = CASE WHEN excluded.spotify_track_id <> ''"
  "   THEN excluded.spotify_track_id ELSE spotify_track_id END,"
  " download_id = CASE WHEN excluded.download_id <> 0"
  "   THEN excluded.download_id ELSE download_id END,"
  " tag_score = excluded.tag_score, unreadable = excluded.unreadable,"
  " unreadable_reason = excluded.unreadable_reason,"
  " norm_key = excluded.norm_key,"
  " gone = CASE WHEN quarantined = 1 THEN 1 ELSE excluded.gone END,"
  " seen_scan = max(seen_scan, excluded.seen_scan),"
  " updated_ms = excluded.updated_ms"
  " RETURNING id";

/* ---- helpers ---- */

static enum ss_err track_row(sqlite3_stmt *st, void *out)
{
  struct library_track *t = out;
  memset(t, 0, sizeof *t);
  struct media_info *m = &t->media;
  t->id = sqlite3_column_int64(st, 0);
  db__col_text(st, 1, t->path, sizeof t->path);
  t->size = sqlite3_column_int64(st, 2);
  t->mtime_ns = sqlite3_column_int64(st, 3);
  db__col_text(st, 4, m->title, sizeof m->title);
  db__col_text(st, 5, m->artist, sizeof m->artist);
  db__col_text(st, 6, m->album_artist, sizeof m->album_artist);
  db__col_text(st, 7, m->album, sizeof m->album);
  db__col_text(st, 8, m->date, sizeof m->date);
  m->year = sqlite3_column_int(st, 9);
  m->track_no = sqlite3_column_int(st, 10);
  m->track_total = sqlite3_column_int(st, 11);
  m->disc_no = sqlite3_column_int(st, 12);
  m->disc_total = sqlite3_column_int(st, 13);
  m->duration_ms = sqlite3_column_int64(st, 14);
  db__col_text(st, 15, m->codec, sizeof m->codec);
  db__col_text(st, 16, m->container, sizeof m->container);
  m->bitrate = sqlite3_column_int64(st, 17);
  m->sample_rate = sqlite3_column_int(st, 18);
  m->bit_depth = sqlite3_column_int(st, 19);
  m->channels = sqlite3_column_int(st, 20);
  m->lossless = sqlite3_column_int(st, 21) != 0;
  db__col_text(st, 22, m->mb_recording_id, sizeof m->mb_recording_id);
  db__col_text(st, 23, m->mb_track_id, sizeof m->mb_track_id);
  db__col_text(st, 24, m->mb_album_id, sizeof m->mb_album_id);
  db__col_text(st, 25, m->mb_artist_id, sizeof m->mb_artist_id);
  db__col_text(st, 26, m->mb_release_group_id, sizeof m->mb_release_group_id);
  db__col_text(st, 27, t->spotify_track_id, sizeof t->spotify_track_id);
  t->download_id = sqlite3_column_int64(st, 28);
  t->gone = sqlite3_column_int(st, 29) != 0;
  t->unreadable = sqlite3_column_int(st, 30) != 0;
  t->quarantined = sqlite3_column_int(st, 31) != 0;
  db__col_text(st, 32, t->unreadable_reason, sizeof t->unreadable_reason);
  return SS_OK;
}

/* Inside a transaction: upserts t, seen in scan generation gen. */
static enum ss_err upsert_one(struct db *db, const struct library_track *t,
                              int64_t gen, int64_t now_ms, int64_t *id)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, SL_UPSERT, sql_upsert, &q);
  if (rc)
    return rc;
  const struct media_info *m = &t->media;
  db__bind_text(&q, 1, t->path);
  db__bind_int64(&q, 2, t->size);
  db__bind_int64(&q, 3, t->mtime_ns);
  db__bind_text(&q, 4, m->title);
  db__bind_text(&q, 5, m->artist);
  db__bind_text(&q, 6, m->album_artist);
  db__bind_text(&q, 7, m->album);
  db__bind_text(&q, 8, m->date);
  db__bind_int64(&q, 9, m->year);
  db__bind_int64(&q, 10, m->track_no);
  db__bind_int64(&q, 11, m->track_total);
  db__bind_int64(&q, 12, m->disc_no);
  db__bind_int64(&q, 13, m->disc_total);
  db__bind_int64(&q, 14, m->duration_ms);
  db__bind_text(&q, 15, m->codec);
  db__bind_text(&q, 16, m->container);
  db__bind_int64(&q, 17, m->bitrate);
  db__bind_int64(&q, 18, m->sample_rate);
  db__bind_int64(&q, 19, m->bit_depth);
  db__bind_int64(&q, 20, m->channels);
  db__bind_int64(&q, 21, m->lossless);
  db__bind_text(&q, 22, m->mb_recording_id);
  db__bind_text(&q, 23, m->mb_track_id);
  db__bind_text(&q, 24, m->mb_album_id);
  db__bind_text(&q, 25, m->mb_artist_id);
  db__bind_text(&q, 26, m->mb_release_group_id);
  db__bind_text(&q, 27, t->spotify_track_id);
  db__bind_int64(&q, 28, t->download_id);
  db__bind_int64(&q, 29, media_tag_score(m));
  db__bind_int64(&q, 30, t->unreadable);
  db__bind_int64(&q, 31, t->gone);
  db__bind_int64(&q, 32, gen);
  db__bind_int64(&q, 33, now_ms);
  db__bind_text(&q, 34, t->unreadable ? t->unreadable_reason : "");
  if (t->has_norm_key) /* else NULL: computed by the next detection */
    db__bind_text(&q, 35, t->norm_key);
  int64_t row = 0;
  rc = db__scalar(&q, &row, "library upsert");
  if (id)
    *id = row;
  return rc;
}

/* ---- tracks ---- */

enum ss_err db_library_track_upsert(struct db *db,
                                    const struct library_track *t, int64_t *id)
{
  if (!db || !t || !t->path[0])
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = upsert_one(db, t, 0, clock_wall_ms(), id);
  return db__tx_end(db, rc);
}

static enum ss_err track_get(struct db *db, int slot, const char *sql,
                             const char *path, int64_t id,
                             struct library_track *out)
{
  struct db__val key = path ? DB__TEXT(path) : DB__INT(id);
  return db__get_one(db, slot, sql, &key, 1, track_row, out, "library get");
}

enum ss_err db_library_track_by_path(struct db *db, const char *path,
                                     struct library_track *out)
{
  if (!db || !path || !out)
    return SS_EINVAL;
  return track_get(db, SL_BY_PATH,
                   "SELECT " TRACK_COLS " FROM library_tracks WHERE path = ?1",
                   path, 0, out);
}

enum ss_err db_library_track_by_id(struct db *db, int64_t id,
                                   struct library_track *out)
{
  if (!db || !out)
    return SS_EINVAL;
  return track_get(db, SL_BY_ID,
                   "SELECT " TRACK_COLS " FROM library_tracks WHERE id = ?1",
                   NULL, id, out);
}

/* ---- scanner ---- */

static enum ss_err meta_next(struct db *db, const char *key, int64_t *value)
{
  int64_t v = 0;
  enum ss_err rc = db__get_one(db, SL_META_GET,
                               "SELECT ival FROM library_meta WHERE key = ?1",
                               DB__VALS(DB__TEXT(key)), db__row_int64, &v,
                               "library meta");
  if (rc && rc != SS_ENOTFOUND)
    return rc;
  *value = v + 1;
  return db__run(db, SL_META_PUT,
                 "INSERT INTO library_meta (key, ival) VALUES (?1, ?2)"
                 " ON CONFLICT (key) DO UPDATE SET ival = excluded.ival",
                 DB__VALS(DB__TEXT(key), DB__INT(*value)), "library meta put");
}

enum ss_err db_library_scan_begin(struct db *db, int64_t *gen)
{
  if (!db || !gen)
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = meta_next(db, "scan_gen", gen);
  return db__tx_end(db, rc);
}

static enum ss_err seen_row(sqlite3_stmt *row, void *out)
{
  struct library_seen *s = out;
  s->id = sqlite3_column_int64(row, 0);
  s->size = sqlite3_column_int64(row, 1);
  s->mtime_ns = sqlite3_column_int64(row, 2);
  s->has_hash = sqlite3_column_int(row, 3) != 0;
  s->has_fingerprint = sqlite3_column_int(row, 4) != 0;
  s->quarantined = sqlite3_column_int(row, 5) != 0;
  s->gone = sqlite3_column_int(row, 6) != 0;
  return SS_OK;
}

enum ss_err db_library_seen(struct db *db, const char *path,
                            struct library_seen *out)
{
  if (!db || !path || !out)
    return SS_EINVAL;
  return db__get_one(db, SL_SEEN,
                     "SELECT id, size, mtime_ns, file_hash IS NOT NULL,"
                     " fingerprint IS NOT NULL, quarantined, gone"
                     " FROM library_tracks WHERE path = ?1",
                     DB__VALS(DB__TEXT(path)), seen_row, out, "library seen");
}

static enum ss_err touch(struct db *db, const char *path, int64_t gen)
{
  return db__run(db, SL_TOUCH,
                 "UPDATE library_tracks SET seen_scan = ?2,"
                 " gone = quarantined WHERE path = ?1",
                 DB__VALS(DB__TEXT(path), DB__INT(gen)), "library touch");
}

static enum ss_err set_extras(struct db *db,
                              const struct library_scan_item *it)
{
  struct db__q q;
  enum ss_err rc = SS_OK;
  if (it->set_hash &&
      !(rc = db__prepare(db, SL_SET_HASH,
                         "UPDATE library_tracks SET file_hash = ?2"
                         " WHERE path = ?1",
                         &q))) {
    db__bind_text(&q, 1, it->t.path);
    db__bind_text(&q, 2, it->file_hash);
    rc = db__exec(&q, "library hash");
  }
  if (!rc && it->set_fingerprint &&
      !(rc = db__prepare(db, SL_SET_FP,
                         "UPDATE library_tracks SET fingerprint = ?2"
                         " WHERE path = ?1",
                         &q))) {
    db__bind_text(&q, 1, it->t.path);
    size_t n = it->fp_n < MEDIA_FP_MAX_ITEMS ? it->fp_n : MEDIA_FP_MAX_ITEMS;
    db__bind_blob(&q, 2, it->fp, n * sizeof *it->fp);
    rc = db__exec(&q, "library fingerprint");
  }
  return rc;
}

enum ss_err db_library_scan_write(struct db *db, int64_t gen,
                                  const struct library_scan_item *items,
                                  size_t n)
{
  if (!db || (n && !items))
    return SS_EINVAL;
  if (!n)
    return SS_OK;
  enum ss_err rc = db__tx_begin(db);
  int64_t now = clock_wall_ms();
  for (size_t i = 0; !rc && i < n; i++) {
    const struct library_scan_item *it = &items[i];
    rc = it->probed ? upsert_one(db, &it->t, gen, now, NULL)
                    : touch(db, it->t.path, gen);
    if (!rc)
      rc = set_extras(db, it);
  }
  return db__tx_end(db, rc);
}

struct path_walk {
  db_library_path_fn fn;
  void *arg;
};

static enum ss_err path_row(sqlite3_stmt *row, void *arg)
{
  const struct path_walk *w = arg;
  w->fn(w->arg, sqlite3_column_int64(row, 0), db__col_str(row, 1));
  return SS_OK;
}

enum ss_err db_library_unseen(struct db *db, int64_t gen,
                              db_library_path_fn fn, void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  struct path_walk w = {fn, arg};
  return db__walk(db, SL_UNSEEN,
                  "SELECT id, path FROM library_tracks"
                  " WHERE gone = 0 AND seen_scan < ?1",
                  DB__VALS(DB__INT(gen)), path_row, &w, "library unseen");
}

enum ss_err db_library_mark_gone(struct db *db, const int64_t *ids, size_t n)
{
  if (!db || (n && !ids))
    return SS_EINVAL;
  if (!n)
    return SS_OK;
  enum ss_err rc = db__tx_begin(db);
  for (size_t i = 0; !rc && i < n; i++) {
    struct db__q q;
    if ((rc = db__prepare(db, SL_MARK_GONE,
                          "UPDATE library_tracks SET gone = 1, updated_ms = ?2"
                          " WHERE id = ?1",
                          &q)))
      break;
    db__bind_int64(&q, 1, ids[i]);
    db__bind_int64(&q, 2, clock_wall_ms());
    rc = db__exec(&q, "library gone");
  }
  return db__tx_end(db, rc);
}

enum ss_err db_library_unquarantine(struct db *db, int64_t track_id,
                                    bool restored, int64_t now_ms)
{
  if (!db)
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (!rc) {
    rc = db__run(db, SL_UNQ_TRACK,
                 "UPDATE library_tracks SET quarantined = 0,"
                 " gone = 0 WHERE id = ?1",
                 DB__VALS(DB__INT(track_id)), "library unquarantine");
  }
  if (!rc) {
    rc = db__run(db, SL_UNQ_ENTRIES,
                 "UPDATE library_quarantine SET track_id = NULL,"
                 " restored_ms = ?2 WHERE track_id = ?1"
                 " AND restored_ms = 0 AND pending = ''",
                 DB__VALS(DB__INT(track_id), DB__INT(restored ? now_ms : 0)),
                 "library unquarantine entries");
  }
  return db__tx_end(db, rc);
}

static enum ss_err counts_row(sqlite3_stmt *row, void *out)
{
  struct library_counts *c = out;
  c->live = sqlite3_column_int64(row, 0);
  c->unreadable = sqlite3_column_int64(row, 1);
  c->gone = sqlite3_column_int64(row, 2);
  c->quarantined = sqlite3_column_int64(row, 3);
  return SS_OK;
}

enum ss_err db_library_counts(struct db *db, struct library_counts *out)
{
  if (!db || !out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  return db__get_one(db, SL_COUNTS,
                     "SELECT coalesce(sum(" LIVE "), 0),"
                     " coalesce(sum(gone = 0 AND unreadable = 1), 0),"
                     " coalesce(sum(gone = 1 AND quarantined = 0), 0),"
                     " coalesce(sum(quarantined = 1), 0) FROM library_tracks",
                     NULL, 0, counts_row, out, "library counts");
}

enum ss_err db_library_unreadable_list(struct db *db, int64_t offset,
                                       struct library_track *out, size_t max,
                                       size_t *n, int64_t *total)
{
  if (!db || !n || !total || offset < 0 || (max && !out))
    return SS_EINVAL;
  *n = 0;
  *total = 0;
  struct db__q q;
  enum ss_err rc = db__prepare(db, SL_UNREADABLE_COUNT,
                               "SELECT count(*) FROM library_tracks"
                               " WHERE gone = 0 AND unreadable = 1",
                               &q);
  if (rc || (rc = db__scalar(&q, total, "library unreadable count")) || !max)
    return rc;
  if ((rc = db__prepare(db, SL_UNREADABLE_LIST,
                        "SELECT " TRACK_COLS " FROM library_tracks"
                        " WHERE gone = 0 AND unreadable = 1"
                        " ORDER BY id LIMIT ?1 OFFSET ?2",
                        &q)))
    return rc;
  db__bind_all(&q, DB__VALS(DB__INT((int64_t)max), DB__INT(offset)));
  return db__fill(&q, track_row, out, sizeof *out, max, n,
                  "library unreadable list");
}
/* ---- metadata keys ---- */

static enum ss_err key_input_row(sqlite3_stmt *row, void *out)
{
  struct library_key_input *k = out;
  k->id = sqlite3_column_int64(row, 0);
  db__col_text(row, 1, k->artist, sizeof k->artist);
  db__col_text(row, 2, k->album_artist, sizeof k->album_artist);
  db__col_text(row, 3, k->title, sizeof k->title);
  db_library_key_file_name(db__col_str(row, 4), k->file_name,
                           sizeof k->file_name);
  return SS_OK;
}

void db_library_key_file_name(const char *path, char *out, size_t n)
{
  const char *slash = strrchr(path, '/');
  snprintf(out, n, "%s", slash ? slash + 1 : path);
}

enum ss_err db_library_keys_missing(struct db *db, int64_t after_id,
                                    struct library_key_input *out, size_t max,
                                    size_t *n)
{
  if (!db || !out || !n)
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SL_KEYS_MISSING,
                  "SELECT id, artist, album_artist, title, path"
                  " FROM library_tracks WHERE norm_key IS NULL"
                  " AND id > ?1 ORDER BY id LIMIT ?2",
                  DB__VALS(DB__INT(after_id), DB__INT((int64_t)max)),
                  key_input_row, out, sizeof *out, max, n, "library keys");
}

enum ss_err db_library_keys_pending(struct db *db, int64_t *n)
{
  if (!db || !n)
    return SS_EINVAL;
  return db__get_one(db, SL_KEYS_PENDING,
                     "SELECT count(*) FROM library_tracks"
                     " WHERE norm_key IS NULL",
                     NULL, 0, db__row_int64, n, "library keys pending");
}

enum ss_err db_library_keys_index(struct db *db, bool on)
{
  if (!db)
    return SS_EINVAL;
  /* The same definition as in schema_library.c (migration 13). */
  const char *sql = on ? "CREATE INDEX IF NOT EXISTS library_keys_norm"
                         " ON library_tracks (norm_key) WHERE norm_key <> ''"
                         " AND " LIVE
                       : "DROP INDEX IF EXISTS library_keys_norm";
  if (sqlite3_exec(db__conn(db), sql, NULL, NULL, NULL) != SQLITE_OK)
    return db__fail(db, on ? "library keys index" : "library keys unindex");
  return SS_OK;
}

enum ss_err db_library_keys_store(struct db *db, const int64_t *ids,
                                  const char *const *keys, size_t n)
{
  if (!db || (n && (!ids || !keys)))
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  for (size_t i = 0; !rc && i < n; i++) {
    struct db__q q;
    if ((rc = db__prepare(db, SL_KEYS_STORE,
                          "UPDATE library_tracks SET norm_key = ?2"
                          " WHERE id = ?1",
                          &q)))
      break;
    db__bind_int64(&q, 1, ids[i]);
    db__bind_text(&q, 2, keys[i]);
    rc = db__exec(&q, "library key");
  }
  return db__tx_end(db, rc);
}

/* ---- candidates ---- */

#define CAND_COLS                                                             \
  "id, duration_ms, lossless, bit_depth, sample_rate, bitrate, tag_score,"    \
  " artist, album_artist, title, path"

/* "Artist – Title" from columns 7-10 of a candidate row. */
static void cand_label(sqlite3_stmt *st, char *out, size_t n)
{
  const char *artist = (const char *)sqlite3_column_text(st, 7);
  const char *aartist = (const char *)sqlite3_column_text(st, 8);
  const char *title = (const char *)sqlite3_column_text(st, 9);
  const char *path = (const char *)sqlite3_column_text(st, 10);
  if (!artist || !artist[0])
    artist = aartist;
  if (!title || !title[0]) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    title = slash ? slash + 1 : path;
  }
  snprintf(out, n, "%s \xe2\x80\x93 %s", artist && artist[0] ? artist : "?",
           title ? title : "?");
}

struct cand_walk {
  int key_col, fp_col; /* -1: the query has none */
  db_library_row_fn fn;
  void *arg;
};

/* Columns 0-6 of a candidate row (no label, key or fingerprint). */
static struct library_dupe_row cand_quality(sqlite3_stmt *row)
{
  return (struct library_dupe_row){
    .id = sqlite3_column_int64(row, 0),
    .duration_ms = sqlite3_column_int64(row, 1),
    .lossless = sqlite3_column_int(row, 2) != 0,
    .bit_depth = sqlite3_column_int(row, 3),
    .sample_rate = sqlite3_column_int(row, 4),
    .bitrate = sqlite3_column_int64(row, 5),
    .tag_score = sqlite3_column_int(row, 6),
  };
}

static enum ss_err cand_row(sqlite3_stmt *row, void *arg)
{
  const struct cand_walk *w = arg;
  char label[LIBRARY_LABEL_MAX];
  struct library_dupe_row r = cand_quality(row);
  r.label = label;
  cand_label(row, label, sizeof label);
  if (w->key_col >= 0)
    r.key = db__col_str(row, w->key_col);
  if (w->fp_col >= 0) {
    r.fp = sqlite3_column_blob(row, w->fp_col);
    r.fp_n = (size_t)sqlite3_column_bytes(row, w->fp_col) / sizeof(uint32_t);
  }
  return w->fn(w->arg, &r);
}

static enum ss_err iterate_cands(struct db *db, int slot, const char *sql,
                                 int key_col, int fp_col, db_library_row_fn fn,
                                 void *arg)
{
  struct cand_walk w = {key_col, fp_col, fn, arg};
  return db__walk(db, slot, sql, NULL, 0, cand_row, &w, "library candidates");
}

/*
 * The metadata candidates in two steps, both inside one transaction (one
 * snapshot):
 *  1. the live keyed rows in key order straight from the covering index
 *     library_keys_norm (no sort, no table access); runs of two or more
 *     rows sharing a key are kept as (id, run) - a few % of a library;
 *  2. those rows are read by id in id order (neighbouring pages), then
 *     handed out run by run in key order, each run in (duration, id)
 *     order: what "ORDER BY norm_key, duration_ms, id" gave.
 */
struct meta_row {
  struct library_dupe_row d; /* label and key set when handed out */
  size_t label;              /* offset in the arena */
};

struct meta_scan {
  int64_t *ids; /* rows of the kept runs, run after run */
  size_t n_ids, cap_ids;
  size_t *run_end; /* end (in ids) of each run */
  size_t *run_key; /* offset of each run's key in the arena */
  size_t n_runs, cap_runs;
  char *arena; /* keys and labels, NUL-terminated */
  size_t arena_len, arena_cap;
  char *cur; /* the key of the run being read */
  size_t cur_len, cur_cap, cur_from;
};

static size_t arena_put(struct meta_scan *s, const char *p, size_t len)
{
  if (s->arena_len + len + 1 > s->arena_cap) {
    s->arena_cap = (s->arena_len + len + 1) * 2;
    s->arena = xrealloc(s->arena, s->arena_cap);
  }
  size_t at = s->arena_len;
  memcpy(s->arena + at, p, len);
  s->arena[at + len] = '\0';
  s->arena_len += len + 1;
  return at;
}

/* Closes the run being read: kept when it has two rows or more. */
static void meta_close_run(struct meta_scan *s)
{
  if (s->n_ids - s->cur_from < 2) {
    s->n_ids = s->cur_from;
    return;
  }
  if (s->n_runs == s->cap_runs) {
    s->cap_runs = s->cap_runs ? 2 * s->cap_runs : 1024;
    s->run_end = xrealloc(s->run_end, s->cap_runs * sizeof *s->run_end);
    s->run_key = xrealloc(s->run_key, s->cap_runs * sizeof *s->run_key);
  }
  s->run_end[s->n_runs] = s->n_ids;
  s->run_key[s->n_runs++] = arena_put(s, s->cur, s->cur_len);
  s->cur_from = s->n_ids;
}

static enum ss_err meta_key_row(sqlite3_stmt *row, void *arg)
{
  struct meta_scan *s = arg;
  const char *key = (const char *)sqlite3_column_text(row, 0);
  size_t len = (size_t)sqlite3_column_bytes(row, 0);
  if (!key)
    return SS_OK;
  if (len != s->cur_len || memcmp(key, s->cur, len)) {
    meta_close_run(s);
    s->n_ids = s->cur_from; /* a single row of the last key is dropped */
    if (len + 1 > s->cur_cap) {
      s->cur_cap = len + 1;
      s->cur = xrealloc(s->cur, s->cur_cap);
    }
    memcpy(s->cur, key, len);
    s->cur_len = len;
  }
  if (s->n_ids == s->cap_ids) {
    s->cap_ids = s->cap_ids ? 2 * s->cap_ids : 4096;
    s->ids = xrealloc(s->ids, s->cap_ids * sizeof *s->ids);
  }
  s->ids[s->n_ids++] = sqlite3_column_int64(row, 1);
  return SS_OK;
}

struct meta_fetch {
  struct meta_scan *s;
  struct meta_row *rows;
  size_t at;
};

static enum ss_err meta_fetch_row(sqlite3_stmt *row, void *arg)
{
  struct meta_fetch *f = arg;
  char label[LIBRARY_LABEL_MAX];
  cand_label(row, label, sizeof label);
  f->rows[f->at] = (struct meta_row){
    .d = cand_quality(row),
    .label = arena_put(f->s, label, strlen(label)),
  };
  return SS_OK;
}

/* (id, position in ids) pairs, sorted by id. */
static int cmp_id_pos(const void *a, const void *b)
{
  const int64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

struct run_pos {
  int64_t duration_ms, id;
  size_t pos;
};

static int cmp_run_pos(const void *a, const void *b)
{
  const struct run_pos *x = a, *y = b;
  if (x->duration_ms != y->duration_ms)
    return x->duration_ms < y->duration_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static enum ss_err meta_fetch_all(struct db *db, struct meta_scan *s,
                                  struct meta_row *rows)
{
  int64_t(*order)[2] = xmalloc((s->n_ids ? s->n_ids : 1) * sizeof *order);
  for (size_t i = 0; i < s->n_ids; i++) {
    order[i][0] = s->ids[i];
    order[i][1] = (int64_t)i;
  }
  qsort(order, s->n_ids, sizeof *order, cmp_id_pos);
  struct db__q q;
  enum ss_err rc = db__prepare(db, SL_META_ROW,
                               "SELECT " CAND_COLS " FROM library_tracks"
                               " WHERE id = ?1",
                               &q);
  struct meta_fetch f = {s, rows, 0};
  for (size_t i = 0; !rc && i < s->n_ids; i++) {
    f.at = (size_t)order[i][1];
    db__bind_int64(&q, 1, order[i][0]);
    rc = db__get(&q, meta_fetch_row, &f, "library candidate");
  }
  free(order);
  return rc;
}

static enum ss_err meta_hand_out(struct meta_scan *s,
                                 const struct meta_row *rows,
                                 db_library_row_fn fn, void *arg)
{
  struct run_pos *pos = xmalloc((s->n_ids ? s->n_ids : 1) * sizeof *pos);
  enum ss_err rc = SS_OK;
  size_t from = 0;
  for (size_t r = 0; !rc && r < s->n_runs; r++) {
    size_t n = s->run_end[r] - from;
    for (size_t i = 0; i < n; i++)
      pos[i] = (struct run_pos){rows[from + i].d.duration_ms,
                                rows[from + i].d.id, from + i};
    qsort(pos, n, sizeof *pos, cmp_run_pos);
    for (size_t i = 0; !rc && i < n; i++) {
      const struct meta_row *m = &rows[pos[i].pos];
      struct library_dupe_row d = m->d;
      d.label = s->arena + m->label;
      d.key = s->arena + s->run_key[r];
      rc = fn(arg, &d);
    }
    from = s->run_end[r];
  }
  free(pos);
  return rc;
}

/* One key range [lo, hi) of the metadata candidates: steps 1 and 2 on
 * its own connection (see above). */
struct meta_part {
  struct db *db;
  char lo[LIBRARY_KEY_MAX], hi[LIBRARY_KEY_MAX];
  struct meta_scan s;
  struct meta_row *rows;
  enum ss_err rc;
};

static enum ss_err meta_part_run(struct meta_part *p)
{
  struct db__q q;
  enum ss_err rc = db__prepare(p->db, SL_META_CANDS,
                               "SELECT norm_key, id FROM library_tracks"
                               " INDEXED BY library_keys_norm"
                               " WHERE norm_key <> '' AND " LIVE
                               " AND norm_key >= ?1 AND norm_key < ?2"
                               " ORDER BY norm_key",
                               &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, p->lo);
  db__bind_text(&q, 2, p->hi);
  if ((rc = db__each(&q, meta_key_row, &p->s, "library keys scan")))
    return rc;
  meta_close_run(&p->s);
  p->s.n_ids = p->s.cur_from;
  p->rows = xmalloc((p->s.n_ids ? p->s.n_ids : 1) * sizeof *p->rows);
  return meta_fetch_all(p->db, &p->s, p->rows);
}

/* The second part on a thread of its own, with its own connection.  Its
 * read transaction sees what the caller's sees: the caller holds the
 * write lock (BEGIN IMMEDIATE) from before this starts until it ends. */
static void *meta_part_thread(void *arg)
{
  struct meta_part *p = arg;
  p->rc = SS_OK;
  if (sqlite3_exec(db__conn(p->db), "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    p->rc = db__fail(p->db, "library keys read");
  if (!p->rc)
    p->rc = meta_part_run(p);
  sqlite3_exec(db__conn(p->db), "COMMIT", NULL, NULL, NULL);
  return NULL;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum ss_err key_sample_row(sqlite3_stmt *row, void *out)
{
  db__col_text(row, 0, out, LIBRARY_KEY_MAX);
  return SS_OK;
}

/* A key that splits the keyed live rows in about equal halves: the median
 * of the keys of evenly spaced ids.  "" when the library is too small to
 * be worth a second thread (or the store is not a file). */
#define META_SPLIT_MIN_ROWS 100000
#define META_SPLIT_SAMPLES 63

static enum ss_err meta_split_key(struct db *db, char *split)
{
  split[0] = '\0';
  const char *file = sqlite3_db_filename(db__conn(db), "main");
  struct db__q q;
  int64_t max_id = 0;
  enum ss_err rc = db__prepare(
    db, SL_META_MAXID, "SELECT coalesce(max(id), 0) FROM library_tracks", &q);
  if (rc || (rc = db__scalar(&q, &max_id, "library max id")) || !file ||
      !file[0] || max_id < META_SPLIT_MIN_ROWS)
    return rc;
  char(*keys)[LIBRARY_KEY_MAX] = xcalloc(META_SPLIT_SAMPLES, sizeof *keys);
  char **sorted = xcalloc(META_SPLIT_SAMPLES, sizeof *sorted);
  size_t n = 0;
  if (!(rc = db__prepare(db, SL_META_SAMPLE,
                         "SELECT norm_key FROM library_tracks WHERE id >= ?1"
                         " AND norm_key <> '' AND " LIVE
                         " ORDER BY id LIMIT 1",
                         &q))) {
    for (int i = 0; !rc && i < META_SPLIT_SAMPLES; i++) {
      db__bind_int64(&q, 1, max_id * (i + 1) / (META_SPLIT_SAMPLES + 1));
      keys[n][0] = '\0';
      rc = db__get(&q, key_sample_row, keys[n], "library key sample");
      if (rc == SS_ENOTFOUND)
        rc = SS_OK;
      else if (!rc && keys[n][0])
        sorted[n] = keys[n], n++;
    }
  }
  if (!rc && n >= META_SPLIT_SAMPLES / 2) {
    qsort(sorted, n, sizeof *sorted, cmp_str);
    snprintf(split, LIBRARY_KEY_MAX, "%s", sorted[n / 2]);
  }
  free(sorted);
  free(keys);
  return rc;
}

static void meta_part_free(struct meta_part *p)
{
  free(p->rows);
  free(p->s.ids);
  free(p->s.run_end);
  free(p->s.run_key);
  free(p->s.arena);
  free(p->s.cur);
}

/* Both cores: a big library's key range is split in two; the caller's
 * thread reads the lower half, a second thread the upper half on its own
 * connection; their runs are handed out in key order. */
enum ss_err db_library_meta_candidates(struct db *db, db_library_row_fn fn,
                                       void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  struct meta_part *part = xcalloc(2, sizeof *part);
  char split[LIBRARY_KEY_MAX];
  pthread_t th;
  bool two = false;
  enum ss_err rc = db__tx_begin(db);
  if (!rc)
    rc = meta_split_key(db, split);
  part[0].db = db;
  snprintf(part[0].hi, sizeof part[0].hi, "\xff"); /* above every key */
  if (!rc && split[0] &&
      db_open(sqlite3_db_filename(db__conn(db), "main"), &part[1].db) ==
        SS_OK) {
    snprintf(part[0].hi, sizeof part[0].hi, "%s", split);
    snprintf(part[1].lo, sizeof part[1].lo, "%s", split);
    snprintf(part[1].hi, sizeof part[1].hi, "\xff");
    two = pthread_create(&th, NULL, meta_part_thread, &part[1]) == 0;
    if (!two)
      snprintf(part[0].hi, sizeof part[0].hi, "\xff");
  }
  if (!rc)
    rc = meta_part_run(&part[0]);
  if (two) {
    pthread_join(th, NULL);
    if (!rc)
      rc = part[1].rc;
  }
  db_close(part[1].db);
  rc = db__tx_end(db, rc);
  for (int i = 0; !rc && i < 2; i++)
    rc = meta_hand_out(&part[i].s, part[i].rows, fn, arg);
  meta_part_free(&part[0]);
  meta_part_free(&part[1]);
  free(part);
  return rc;
}

enum ss_err db_library_hash_candidates(struct db *db, db_library_row_fn fn,
                                       void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  return iterate_cands(
    db, SL_HASH_CANDS,
    "SELECT " CAND_COLS ", file_hash FROM library_tracks"
    " WHERE gone = 0 AND quarantined = 0 AND file_hash IS NOT NULL"
    " AND file_hash IN (SELECT file_hash FROM library_tracks"
    "  WHERE gone = 0 AND quarantined = 0 AND file_hash IS NOT NULL"
    "  GROUP BY file_hash HAVING count(*) > 1)"
    " ORDER BY file_hash, id",
    11, -1, fn, arg);
}

enum ss_err db_library_fp_rows(struct db *db, db_library_row_fn fn, void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  return iterate_cands(
    db, SL_FP_ROWS,
    "SELECT " CAND_COLS ", fingerprint FROM library_tracks"
    " WHERE gone = 0 AND quarantined = 0 AND length(fingerprint) > 0"
    " ORDER BY duration_ms, id",
    -1, 11, fn, arg);
}

/* ---- groups ---- */

/* Compares stored members, in order, with g's. */
struct members_walk {
  const struct library_group_in *g;
  size_t i;
  bool same;
};

static enum ss_err member_row(sqlite3_stmt *row, void *arg)
{
  struct members_walk *w = arg;
  if (w->i >= w->g->n_members ||
      w->g->members[w->i++] != sqlite3_column_int64(row, 0))
    w->same = false;
  return SS_OK;
}

/* True when the stored members of gid are exactly g's (both by id). */
static enum ss_err same_members(struct db *db, int64_t gid,
                                const struct library_group_in *g, bool *same)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, SL_MEMBERS_LIST,
                               "SELECT track_id FROM library_group_members"
                               " WHERE group_id = ?1 ORDER BY track_id",
                               &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, gid);
  struct members_walk w = {g, 0, true};
  rc = db__each(&q, member_row, &w, "library members list");
  *same = w.same && w.i == g->n_members;
  return rc;
}

static enum ss_err replace_members(struct db *db, int64_t gid,
                                   const struct library_group_in *g)
{
  bool same = false;
  struct db__q q;
  enum ss_err rc = same_members(db, gid, g, &same);
  if (rc || same)
    return rc;
  if ((rc = db__run(db, SL_MEMBERS_DELETE,
                    "DELETE FROM library_group_members WHERE group_id = ?1",
                    DB__VALS(DB__INT(gid)), "library members delete")))
    return rc;
  for (size_t i = 0; !rc && i < g->n_members; i++) {
    if ((rc = db__prepare(db, SL_MEMBERS_INSERT,
                          "INSERT OR IGNORE INTO library_group_members"
                          " (group_id, track_id) VALUES (?1, ?2)",
                          &q)))
      break;
    db__bind_int64(&q, 1, gid);
    db__bind_int64(&q, 2, g->members[i]);
    rc = db__exec(&q, "library members insert");
  }
  /* A chosen keeper that left the group is forgotten. */
  if (!rc) {
    rc = db__run(db, SL_KEEP_FIX,
                 "UPDATE library_groups SET keep = 0"
                 " WHERE id = ?1 AND keep <> 0 AND keep NOT IN"
                 " (SELECT track_id FROM library_group_members"
                 "  WHERE group_id = ?1)",
                 DB__VALS(DB__INT(gid)), "library keep fix");
  }
  return rc;
}

/* A known group: its id (0 when none) and status. */
struct group_ref {
  int64_t id;
  char status[16];
  char label[LIBRARY_LABEL_MAX];
  int64_t suggested_keep;
};

static enum ss_err group_ref_row(sqlite3_stmt *row, void *out)
{
  struct group_ref *ref = out;
  ref->id = sqlite3_column_int64(row, 0);
  db__col_text(row, 1, ref->status, sizeof ref->status);
  db__col_text(row, 2, ref->label, sizeof ref->label);
  ref->suggested_keep = sqlite3_column_int64(row, 3);
  return SS_OK;
}

/* Runs a lookup whose row is (id, status); no row leaves ref alone. */
static enum ss_err lookup_ref(struct db__q *q, struct group_ref *ref)
{
  enum ss_err rc = db__get(q, group_ref_row, ref, "library group lookup");
  return rc == SS_ENOTFOUND ? SS_OK : rc;
}

/* Finds the known group of a finding: by key, else (match_prefix) one
 * sharing a member that this pass has not matched yet.  ref->id = 0 when
 * the finding is new. */
static enum ss_err group_lookup(struct db *db,
                                const struct library_group_in *g,
                                int64_t now_ms, struct group_ref *ref)
{
  struct db__q q;
  *ref = (struct group_ref){0};
  enum ss_err rc = db__prepare(
    db, SL_GROUP_BY_KEY,
    "SELECT id, status, label, suggested_keep FROM library_groups"
    " WHERE key = ?1",
    &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, g->key);
  if ((rc = lookup_ref(&q, ref)) || ref->id || !g->match_prefix)
    return rc;
  for (size_t i = 0; !rc && !ref->id && i < g->n_members; i++) {
    if ((rc = db__prepare(db, SL_GROUP_BY_MEMBER,
                          "SELECT g.id, g.status, g.label, g.suggested_keep"
                          " FROM library_group_members m"
                          " JOIN library_groups g ON g.id = m.group_id"
                          " WHERE m.track_id = ?1 AND g.last_seen_ms <> ?3"
                          " AND substr(g.key, 1, length(?2)) = ?2"
                          " ORDER BY g.id LIMIT 1",
                          &q)))
      break;
    db__bind_all(&q, DB__VALS(DB__INT(g->members[i]),
                              DB__TEXT(g->match_prefix), DB__INT(now_ms)));
    rc = lookup_ref(&q, ref);
  }
  return rc;
}

static enum ss_err group_insert(struct db *db,
                                const struct library_group_in *g,
                                int64_t now_ms, int64_t *gid)
{
  enum ss_err rc = db__run(
    db, SL_GROUP_INSERT,
    "INSERT INTO library_groups (key, method, label, status,"
    " suggested_keep, first_seen_ms, last_seen_ms)"
    " VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?5)",
    DB__VALS(DB__TEXT(g->key), DB__TEXT(g->method), DB__TEXT(g->label),
             DB__INT(g->suggested_keep), DB__INT(now_ms)),
    "library group insert");
  *gid = db__last_id(db);
  return rc;
}

/* Marks a known group seen: open again (members refreshed) unless it was
 * dismissed, whose members stay as the user saw them. */
static enum ss_err group_seen(struct db *db, const struct group_ref *ref,
                              const struct library_group_in *g, int64_t now_ms)
{
  bool dismissed = !strcmp(ref->status, "dismissed");
  /* Open with the same label and suggestion (a rescan): only the time
   * moves, the status index is not touched.  Dismissed: the same. */
  bool unchanged = !strcmp(ref->status, "open") &&
                   !strcmp(ref->label, g->label) &&
                   ref->suggested_keep == g->suggested_keep;
  enum ss_err rc;
  if (dismissed || unchanged)
    rc = db__run(db, SL_GROUP_TOUCH,
                 "UPDATE library_groups SET last_seen_ms = ?2"
                 " WHERE id = ?1",
                 DB__VALS(DB__INT(ref->id), DB__INT(now_ms)),
                 "library group seen");
  else
    rc = db__run(db, SL_GROUP_SEEN,
                 "UPDATE library_groups SET status = 'open',"
                 " label = ?2, suggested_keep = ?3, last_seen_ms = ?4,"
                 " resolved_ms = CASE WHEN status = 'resolved' THEN 0"
                 " ELSE resolved_ms END WHERE id = ?1",
                 DB__VALS(DB__INT(ref->id), DB__TEXT(g->label),
                          DB__INT(g->suggested_keep), DB__INT(now_ms)),
                 "library group seen");
  return rc || dismissed ? rc : replace_members(db, ref->id, g);
}

static enum ss_err count_open(struct db *db, size_t *open_count)
{
  int64_t count = 0;
  enum ss_err rc = db__get_one(db, SL_OPEN_COUNT,
                               "SELECT count(*) FROM library_groups"
                               " WHERE status = 'open'",
                               NULL, 0, db__row_int64, &count,
                               "library open count");
  *open_count = (size_t)count;
  return rc;
}

enum ss_err db_library_groups_sync(struct db *db,
                                   const struct library_group_in *g, size_t n,
                                   int64_t now_ms, size_t *new_count,
                                   size_t *open_count)
{
  if (!db || (n && !g) || !new_count || !open_count)
    return SS_EINVAL;
  *new_count = 0;
  *open_count = 0;
  enum ss_err rc = db__tx_begin(db);
  for (size_t i = 0; !rc && i < n; i++) {
    struct group_ref ref;
    if ((rc = group_lookup(db, &g[i], now_ms, &ref)))
      break;
    if (!ref.id) {
      if (!(rc = group_insert(db, &g[i], now_ms, &ref.id)))
        rc = replace_members(db, ref.id, &g[i]);
      ++*new_count;
    } else {
      if (!strcmp(ref.status, "resolved"))
        ++*new_count; /* live copies again after a resolution */
      rc = group_seen(db, &ref, &g[i], now_ms);
    }
  }
  if (!rc) {
    rc = db__run(db, SL_STALE,
                 "UPDATE library_groups SET status = 'stale'"
                 " WHERE status = 'open' AND last_seen_ms < ?1",
                 DB__VALS(DB__INT(now_ms)), "library stale");
  }
  if (!rc)
    rc = count_open(db, open_count);
  return db__tx_end(db, rc);
}

#define GROUP_COLS                                                            \
  "id, key, method, label, status, suggested_keep, keep, first_seen_ms,"      \
  " last_seen_ms, resolved_ms, (SELECT count(*) FROM library_group_members m" \
  " WHERE m.group_id = library_groups.id)"

static enum ss_err group_row(sqlite3_stmt *st, void *out)
{
  struct library_group *g = out;
  memset(g, 0, sizeof *g);
  g->id = sqlite3_column_int64(st, 0);
  db__col_text(st, 1, g->key, sizeof g->key);
  db__col_text(st, 2, g->method, sizeof g->method);
  db__col_text(st, 3, g->label, sizeof g->label);
  db__col_text(st, 4, g->status, sizeof g->status);
  g->suggested_keep = sqlite3_column_int64(st, 5);
  g->keep = sqlite3_column_int64(st, 6);
  g->first_seen_ms = sqlite3_column_int64(st, 7);
  g->last_seen_ms = sqlite3_column_int64(st, 8);
  g->resolved_ms = sqlite3_column_int64(st, 9);
  g->n_members = sqlite3_column_int64(st, 10);
  return SS_OK;
}

enum ss_err db_library_groups_list(struct db *db, const char *status,
                                   int64_t offset, struct library_group *out,
                                   size_t max, size_t *n, int64_t *total)
{
  if (!db || !status || !out || !n || !total || offset < 0)
    return SS_EINVAL;
  *n = 0;
  *total = 0;
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SL_GROUPS_COUNT,
    "SELECT count(*) FROM library_groups WHERE status = ?1", &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, status);
  rc = db__scalar(&q, total, "library groups count");
  if (rc || (rc = db__prepare(db, SL_GROUPS_LIST,
                              "SELECT " GROUP_COLS " FROM library_groups"
                              " WHERE status = ?1 ORDER BY id DESC"
                              " LIMIT ?2 OFFSET ?3",
                              &q)))
    return rc;
  db__bind_all(&q, DB__VALS(DB__TEXT(status), DB__INT((int64_t)max),
                            DB__INT(offset)));
  return db__fill(&q, group_row, out, sizeof *out, max, n,
                  "library groups list");
}

enum ss_err db_library_group_get(struct db *db, int64_t id,
                                 struct library_group *out)
{
  if (!db || !out)
    return SS_EINVAL;
  return db__get_one(db, SL_GROUP_GET,
                     "SELECT " GROUP_COLS " FROM library_groups WHERE id = ?1",
                     DB__VALS(DB__INT(id)), group_row, out, "library group");
}

struct member_walk {
  db_library_member_fn fn;
  void *arg;
  struct library_track *t; /* one row at a time (large) */
};

static enum ss_err member_track_row(sqlite3_stmt *row, void *arg)
{
  const struct member_walk *w = arg;
  track_row(row, w->t);
  w->fn(w->arg, w->t);
  return SS_OK;
}

enum ss_err db_library_group_members(struct db *db, int64_t group_id,
                                     db_library_member_fn fn, void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  struct db__q q;
  enum ss_err
    rc = db__prepare(db, SL_GROUP_MEMBERS,
                     "SELECT " TRACK_COLS " FROM library_tracks"
                     " WHERE id IN (SELECT track_id FROM library_group_members"
                     " WHERE group_id = ?1) ORDER BY id",
                     &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, group_id);
  struct member_walk w = {fn, arg, xmalloc(sizeof(struct library_track))};
  rc = db__each(&q, member_track_row, &w, "library members");
  free(w.t);
  return rc;
}

enum ss_err db_library_group_set_keep(struct db *db, int64_t group_id,
                                      int64_t track_id)
{
  if (!db)
    return SS_EINVAL;
  int64_t one = 0;
  enum ss_err rc = db__tx_begin(db);
  if (!rc)
    rc = db__get_one(db, SL_IS_MEMBER,
                     "SELECT 1 FROM library_group_members"
                     " WHERE group_id = ?1 AND track_id = ?2",
                     DB__VALS(DB__INT(group_id), DB__INT(track_id)),
                     db__row_int64, &one, "library member");
  if (!rc) {
    rc = db__run(db, SL_SET_KEEP,
                 "UPDATE library_groups SET keep = ?2"
                 " WHERE id = ?1",
                 DB__VALS(DB__INT(group_id), DB__INT(track_id)),
                 "library keep");
  }
  return db__tx_end(db, rc);
}

enum ss_err db_library_group_set_status(struct db *db, int64_t group_id,
                                        const char *status, int64_t now_ms)
{
  if (!db || !status ||
      (strcmp(status, "open") && strcmp(status, "resolved") &&
       strcmp(status, "dismissed")))
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (!rc) {
    rc = db__run(db, SL_SET_STATUS,
                 "UPDATE library_groups SET status = ?2,"
                 " resolved_ms = CASE WHEN ?2 = 'open' THEN 0"
                 " ELSE ?3 END WHERE id = ?1",
                 DB__VALS(DB__INT(group_id), DB__TEXT(status),
                          DB__INT(now_ms)),
                 "library status");
    if (!rc && db__changes(db) == 0)
      rc = SS_ENOTFOUND;
  }
  return db__tx_end(db, rc);
}

/* ---- quarantine ---- */

enum ss_err db_library_quarantine_intend(
  struct db *db, const struct library_quarantine_entry *e, int64_t *id)
{
  if (!db || !e)
    return SS_EINVAL;
  enum ss_err rc = db__run(
    db, SL_Q_INSERT,
    "INSERT INTO library_quarantine (group_id, track_id,"
    " original_path, quarantine_path, size, moved_ms,"
    " pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'resolve')",
    DB__VALS(DB__INT(e->group_id), DB__INT(e->track_id),
             DB__TEXT(e->original_path), DB__TEXT(e->quarantine_path),
             DB__INT(e->size), DB__INT(e->moved_ms)),
    "library quarantine");
  if (!rc && id)
    *id = db__last_id(db);
  return rc;
}

enum ss_err db_library_quarantine_commit(struct db *db, int64_t entry_id)
{
  if (!db)
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (!rc) {
    rc = db__run(db, SL_Q_TRACK,
                 "UPDATE library_tracks SET quarantined = 1,"
                 " gone = 1 WHERE id = (SELECT track_id FROM"
                 " library_quarantine WHERE id = ?1)",
                 DB__VALS(DB__INT(entry_id)), "library quarantine track");
  }
  if (!rc) {
    rc = db__run(db, SL_Q_COMMIT,
                 "UPDATE library_quarantine SET pending = ''"
                 " WHERE id = ?1 AND pending = 'resolve'",
                 DB__VALS(DB__INT(entry_id)), "library quarantine commit");
    if (!rc && db__changes(db) == 0)
      rc = SS_ENOTFOUND;
  }
  return db__tx_end(db, rc);
}

enum ss_err db_library_quarantine_add(struct db *db,
                                      const struct library_quarantine_entry *e)
{
  int64_t id = 0;
  enum ss_err rc = db_library_quarantine_intend(db, e, &id);
  return rc ? rc : db_library_quarantine_commit(db, id);
}

enum ss_err db_library_quarantine_drop(struct db *db, int64_t entry_id)
{
  if (!db)
    return SS_EINVAL;
  return db__run(db, SL_Q_DROP,
                 "DELETE FROM library_quarantine"
                 " WHERE id = ?1 AND pending = 'resolve'",
                 DB__VALS(DB__INT(entry_id)), "library quarantine drop");
}

enum ss_err db_library_quarantine_set_pending(struct db *db, int64_t entry_id,
                                              bool undo)
{
  if (!db)
    return SS_EINVAL;
  enum ss_err rc = db__run(db, SL_Q_SET_PENDING,
                           "UPDATE library_quarantine SET pending = ?2"
                           " WHERE id = ?1 AND restored_ms = 0"
                           " AND pending <> 'resolve'",
                           DB__VALS(DB__INT(entry_id),
                                    DB__TEXT(undo ? "undo" : "")),
                           "library quarantine pending");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_library_groups_reopen_empty(struct db *db, int64_t now_ms,
                                           size_t *n)
{
  if (!db)
    return SS_EINVAL;
  enum ss_err
    rc = db__run(db, SL_Q_REOPEN,
                 "UPDATE library_groups SET status = 'open',"
                 " last_seen_ms = ?1 WHERE status = 'resolved'"
                 " AND NOT EXISTS (SELECT 1 FROM library_quarantine q"
                 " WHERE q.group_id = library_groups.id"
                 " AND q.restored_ms = 0)",
                 DB__VALS(DB__INT(now_ms)), "library reopen groups");
  if (!rc && n)
    *n = (size_t)db__changes(db);
  return rc;
}

#define Q_COLS                                                                \
  "id, coalesce(group_id, 0), coalesce(track_id, 0), original_path,"          \
  " quarantine_path, size, moved_ms, pending"

static enum ss_err entry_row(sqlite3_stmt *st, void *out)
{
  struct library_quarantine_entry *e = out;
  memset(e, 0, sizeof *e);
  e->id = sqlite3_column_int64(st, 0);
  e->group_id = sqlite3_column_int64(st, 1);
  e->track_id = sqlite3_column_int64(st, 2);
  db__col_text(st, 3, e->original_path, sizeof e->original_path);
  db__col_text(st, 4, e->quarantine_path, sizeof e->quarantine_path);
  e->size = sqlite3_column_int64(st, 5);
  e->moved_ms = sqlite3_column_int64(st, 6);
  db__col_text(st, 7, e->pending, sizeof e->pending);
  return SS_OK;
}

enum ss_err
db_library_quarantine_of_group(struct db *db, int64_t group_id,
                               struct library_quarantine_entry *out,
                               size_t max, size_t *n)
{
  if (!db || !n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SL_Q_OF_GROUP,
                  "SELECT " Q_COLS " FROM library_quarantine"
                  " WHERE group_id = ?1 AND restored_ms = 0"
                  " AND pending <> 'resolve' ORDER BY id",
                  DB__VALS(DB__INT(group_id)), entry_row, out, sizeof *out,
                  max, n, "library quarantine list");
}

enum ss_err
db_library_quarantine_of_track(struct db *db, int64_t track_id,
                               struct library_quarantine_entry *out)
{
  if (!db || !out)
    return SS_EINVAL;
  return db__get_one(db, SL_Q_OF_TRACK,
                     "SELECT " Q_COLS " FROM library_quarantine"
                     " WHERE track_id = ?1 AND restored_ms = 0"
                     " AND pending <> 'resolve' ORDER BY id DESC LIMIT 1",
                     DB__VALS(DB__INT(track_id)), entry_row, out,
                     "library quarantine track");
}

enum ss_err db_library_quarantine_restored(struct db *db, int64_t entry_id,
                                           int64_t now_ms)
{
  if (!db)
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (!rc) {
    rc = db__run(db, SL_Q_TRACK_BACK,
                 "UPDATE library_tracks SET quarantined = 0,"
                 " gone = 0 WHERE id = (SELECT track_id FROM"
                 " library_quarantine WHERE id = ?1)",
                 DB__VALS(DB__INT(entry_id)), "library restore track");
  }
  if (!rc) {
    rc = db__run(db, SL_Q_RESTORED,
                 "UPDATE library_quarantine SET restored_ms = ?2,"
                 " pending = '' WHERE id = ?1 AND restored_ms = 0",
                 DB__VALS(DB__INT(entry_id), DB__INT(now_ms)),
                 "library restore");
    if (!rc && db__changes(db) == 0)
      rc = SS_ENOTFOUND;
  }
  return db__tx_end(db, rc);
}

enum ss_err db_library_quarantine_pending(struct db *db,
                                          struct library_quarantine_entry *out,
                                          size_t max, size_t *n)
{
  if (!db || !n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SL_Q_PENDING,
                  "SELECT " Q_COLS " FROM library_quarantine"
                  " WHERE pending <> '' ORDER BY id",
                  NULL, 0, entry_row, out, sizeof *out, max, n,
                  "library quarantine pending");
}

/* ---- ownership ---- */

struct own_walk {
  db_library_own_fn fn;
  void *arg;
};

static enum ss_err own_row(sqlite3_stmt *row, void *arg)
{
  const struct own_walk *w = arg;
  struct library_own_row r = {db__col_str(row, 0), db__col_str(row, 1),
                              db__col_str(row, 2), db__col_str(row, 3),
                              db__col_str(row, 4), db__col_str(row, 5),
                              db__col_str(row, 6)};
  return w->fn(w->arg, &r);
}

enum ss_err db_library_own_rows(struct db *db, db_library_own_fn fn, void *arg)
{
  if (!db || !fn)
    return SS_EINVAL;
  struct own_walk w = {fn, arg};
  return db__walk(db, SL_OWN_ROWS,
                  "SELECT artist, album_artist, album, title,"
                  " spotify_track_id, mb_recording_id,"
                  " mb_release_group_id FROM library_tracks"
                  " WHERE gone = 0 AND quarantined = 0",
                  NULL, 0, own_row, &w, "library own rows");
}

/* ---- quality upgrade ---- */

struct quality_walk {
  db_library_quality_fn fn;
  void *arg;
};

/* Text columns stay NULL for SQL NULL, as the callback has always seen. */
static const char *col_text_or_null(sqlite3_stmt *row, int col)
{
  return (const char *)sqlite3_column_text(row, col);
}

static enum ss_err quality_row(sqlite3_stmt *row, void *arg)
{
  const struct quality_walk *w = arg;
  struct library_quality_row r = {sqlite3_column_int64(row, 0),
                                  col_text_or_null(row, 1),
                                  sqlite3_column_int64(row, 2),
                                  sqlite3_column_int(row, 3),
                                  sqlite3_column_int(row, 4),
                                  col_text_or_null(row, 5),
                                  col_text_or_null(row, 6),
                                  col_text_or_null(row, 7),
                                  col_text_or_null(row, 8)};
  return w->fn(w->arg, &r);
}

enum ss_err db_library_upgrade_rows(struct db *db, db_library_quality_fn fn,
                                    void *arg)
{
  struct quality_walk w = {fn, arg};
  return db__walk(db, SL_UPGRADE_ROWS,
                  "SELECT t.id, t.codec, t.bitrate, t.bit_depth,"
                  " t.sample_rate, t.artist, t.album_artist, t.title,"
                  " t.album FROM library_tracks t WHERE " LIVE
                  " AND NOT EXISTS (SELECT 1 FROM wanted w"
                  " WHERE w.track_id = t.id"
                  " AND w.source = 'quality_upgrade')"
                  " ORDER BY t.id",
                  NULL, 0, quality_row, &w, "library upgrade rows");
}

/* Makes track_id a member of group_id (kept when it is one already). */
static enum ss_err upgrade_member_add(struct db *db, int64_t group_id,
                                      int64_t track_id)
{
  return db__run(db, SL_UPGRADE_MEMBER,
                 "INSERT INTO library_group_members (group_id, track_id)"
                 " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                 DB__VALS(DB__INT(group_id), DB__INT(track_id)),
                 "library upgrade group");
}

enum ss_err db_library_upgrade_group(struct db *db, int64_t old_id,
                                     const char *label, int64_t now_ms,
                                     int64_t *group_id)
{
  char key[48];
  snprintf(key, sizeof key, "upgrade:%lld", (long long)old_id);
  enum ss_err rc = db__tx_begin(db);
  if (!rc)
    rc = db__run(db, SL_UPGRADE_GROUP,
                 "INSERT INTO library_groups (key, method, label,"
                 " status, suggested_keep, keep, first_seen_ms,"
                 " last_seen_ms) VALUES (?1, 'quality-upgrade', ?2,"
                 " 'stale', 0, 0, ?3, ?3) ON CONFLICT (key) DO NOTHING",
                 DB__VALS(DB__TEXT(key), DB__TEXT(label), DB__INT(now_ms)),
                 "library upgrade group");
  if (!rc) {
    rc = db__get_one(db, SL_UPGRADE_GROUP_ID,
                     "SELECT id FROM library_groups WHERE key = ?1",
                     DB__VALS(DB__TEXT(key)), db__row_int64, group_id,
                     "library upgrade group");
    if (rc == SS_ENOTFOUND) /* just inserted or kept: cannot be missing */
      rc = db__fail(db, "library upgrade group");
  }
  if (!rc)
    rc = upgrade_member_add(db, *group_id, old_id);
  return db__tx_end(db, rc);
}

enum ss_err db_library_upgrade_group_done(struct db *db, int64_t group_id,
                                          int64_t new_id, int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (!rc && new_id)
    rc = upgrade_member_add(db, group_id, new_id);
  if (!rc)
    rc = db__run(db, SL_UPGRADE_DONE,
                 "UPDATE library_groups SET status = 'resolved',"
                 " keep = ?2, suggested_keep = ?2, resolved_ms = ?3,"
                 " last_seen_ms = ?3 WHERE id = ?1",
                 DB__VALS(DB__INT(group_id), DB__INT(new_id), DB__INT(now_ms)),
                 "library upgrade group");
  return db__tx_end(db, rc);
}
