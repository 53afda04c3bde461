/*
 * db_wanted_sqlite.c - the Wanted list and the Watchlist on SQLite (see
 * db_wanted.h for the rules, schema_wanted.c for the tables).
 *
 * Identity: db_wanted_add looks for an item of the same kind with the same
 * norm_key, Spotify id or MusicBrainz id (each unique per kind) inside one
 * transaction, and merges the ids it learns into the first one found; an
 * id already held by another row is not copied (the unique indexes stay
 * true).  Every request made is logged in wanted_requests, so the hourly
 * cap and "downloads triggered" count requests, not items.
 *
 * Statements are cached in this module's slots (DB__SLOTS_WANTED ...).
 * Threading: one struct db per thread (db.h).
 */
#include "db/db_wanted.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "db/db_sqlite_internal.h"

enum {
  SW_FIND = DB__SLOTS_WANTED,
  SW_INSERT,
  SW_MERGE,
  SW_GET,
  SW_LIST,
  SW_LIST_COUNT,
  SW_DUE,
  SW_IN_FLIGHT,
  SW_REQUESTED,
  SW_REQUEST_LOG,
  SW_SET_STATE,
  SW_REQUESTS_SINCE,
  SW_RETRY,
  SW_STATE_OF,
  SW_COUNTS,
  SW_REQUESTS_ALL,
  SW_WATCH_INSERT,
  SW_WATCH_GET,
  SW_WATCH_BY_ARTIST,
  SW_WATCH_LIST,
  SW_WATCH_COUNT,
  SW_WATCH_UPDATE,
  SW_WATCH_UNLINK,
  SW_WATCH_DELETE,
  SW_WATCH_DUE,
  SW_WATCH_CHECKED,
  SW_WATCH_UNDECLINE,
  SW_WATCH_DECLINE,
  SW_WATCH_DUE_DISCO,
  SW_WATCH_DISCO_CHECKED,
  SW_WATCH_SET_NAME,
  SW_WATCH_ADD_FOLLOWED,
  SW_WATCH_ARTIST_NAME,
  SW_WATCH_IDS,
  SW_PLAYLIST_SET,
  SW_PLAYLIST_NAME,
  SW_PLAYLIST_IDS,
  SW_PLAYLIST_EACH,
  SW_END
};
_Static_assert(SW_END <= 256, "wanted statement slots are 192-255");

/* ---- wanted ---- */

#define W_COLS                                                                \
  "id, kind, source, state, norm_key, spotify_id, mb_id, artist, title,"      \
  " album, release_date, release_type, expected_tracks, auto_download,"       \
  " watch_id, track_id, current_quality, attempts, last_try_ms,"              \
  " next_try_ms, reason, request_id, created_ms, updated_ms"

static const char *const sources[] = {"watchlist",       "discography",
                                      "quality_upgrade", "playlist",
                                      "manual",          NULL};
static const char *const states[] = {"wanted",   "searching", "downloading",
                                     "imported", "given_up",  "ignored",
                                     NULL};

static bool in_list(const char *s, const char *const *list)
{
  for (int i = 0; s && list[i]; i++)
    if (!strcmp(s, list[i]))
      return true;
  return false;
}

bool db_wanted_source_valid(const char *source)
{
  return in_list(source, sources);
}

bool db_wanted_state_valid(const char *state)
{
  return in_list(state, states);
}

static const char *kind_name(enum wanted_kind k)
{
  return k == WANTED_TRACK ? "track" : "album";
}

static enum ss_err item_from_row(sqlite3_stmt *row, void *arg)
{
  struct wanted_item *w = arg;
  memset(w, 0, sizeof *w);
  w->id = sqlite3_column_int64(row, 0);
  w->kind = strcmp(db__col_str(row, 1), "track") ? WANTED_ALBUM : WANTED_TRACK;
  db__col_text(row, 2, w->source, sizeof w->source);
  db__col_text(row, 3, w->state, sizeof w->state);
  db__col_text(row, 4, w->norm_key, sizeof w->norm_key);
  db__col_text(row, 5, w->spotify_id, sizeof w->spotify_id);
  db__col_text(row, 6, w->mb_id, sizeof w->mb_id);
  db__col_text(row, 7, w->artist, sizeof w->artist);
  db__col_text(row, 8, w->title, sizeof w->title);
  db__col_text(row, 9, w->album, sizeof w->album);
  db__col_text(row, 10, w->release_date, sizeof w->release_date);
  db__col_text(row, 11, w->release_type, sizeof w->release_type);
  w->expected_tracks = sqlite3_column_int(row, 12);
  w->auto_download = sqlite3_column_int(row, 13) != 0;
  w->watch_id = sqlite3_column_int64(row, 14);
  w->track_id = sqlite3_column_int64(row, 15);
  db__col_text(row, 16, w->current_quality, sizeof w->current_quality);
  w->attempts = sqlite3_column_int(row, 17);
  w->last_try_ms = sqlite3_column_int64(row, 18);
  w->next_try_ms = sqlite3_column_int64(row, 19);
  db__col_text(row, 20, w->reason, sizeof w->reason);
  w->request_id = sqlite3_column_int64(row, 21);
  w->created_ms = sqlite3_column_int64(row, 22);
  w->updated_ms = sqlite3_column_int64(row, 23);
  return SS_OK;
}

/* The existing item of w's identity: SS_OK and *id, or SS_ENOTFOUND. */
static enum ss_err find_identity(struct db *db, const struct wanted_item *w,
                                 int64_t *id)
{
  return db__get_one(db, SW_FIND,
                     "SELECT id FROM wanted WHERE kind = ?1 AND"
                     " (norm_key = ?2 OR (?3 <> '' AND spotify_id = ?3)"
                     " OR (?4 <> '' AND mb_id = ?4)) ORDER BY id LIMIT 1",
                     DB__VALS(DB__TEXT(kind_name(w->kind)),
                              DB__TEXT_MAX(w->norm_key, sizeof w->norm_key),
                              DB__TEXT_MAX(w->spotify_id,
                                           sizeof w->spotify_id),
                              DB__TEXT_MAX(w->mb_id, sizeof w->mb_id)),
                     db__row_int64, id, "wanted find");
}

/* Gives row id the ids of w it lacks (unless another row of the kind
 * holds them) and auto_download when w has it. */
static enum ss_err merge_identity(struct db *db, int64_t id,
                                  const struct wanted_item *w, int64_t now_ms)
{
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SW_MERGE,
    "UPDATE wanted SET"
    " spotify_id = CASE WHEN spotify_id = '' AND ?2 <> '' AND NOT EXISTS"
    "  (SELECT 1 FROM wanted o WHERE o.kind = wanted.kind AND"
    "  o.spotify_id = ?2) THEN ?2 ELSE spotify_id END,"
    " mb_id = CASE WHEN mb_id = '' AND ?3 <> '' AND NOT EXISTS"
    "  (SELECT 1 FROM wanted o WHERE o.kind = wanted.kind AND o.mb_id = ?3)"
    "  THEN ?3 ELSE mb_id END,"
    " auto_download = auto_download OR ?4,"
    " updated_ms = ?5 WHERE id = ?1",
    &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  db__bind_text_max(&q, 2, w->spotify_id, sizeof w->spotify_id);
  db__bind_text_max(&q, 3, w->mb_id, sizeof w->mb_id);
  db__bind_int64(&q, 4, w->auto_download);
  db__bind_int64(&q, 5, now_ms);
  return db__exec(&q, "wanted merge");
}

static enum ss_err insert_item(struct db *db, const struct wanted_item *w,
                               int64_t now_ms, int64_t *id)
{
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SW_INSERT,
    "INSERT INTO wanted (kind, source, state, norm_key, spotify_id, mb_id,"
    " artist, title, album, release_date, release_type, expected_tracks,"
    " auto_download, watch_id, track_id, current_quality, next_try_ms,"
    " reason, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
    " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19)",
    &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, kind_name(w->kind));
  db__bind_text_max(&q, 2, w->source, sizeof w->source);
  db__bind_text(&q, 3, w->state[0] ? w->state : "wanted");
  db__bind_text_max(&q, 4, w->norm_key, sizeof w->norm_key);
  db__bind_text_max(&q, 5, w->spotify_id, sizeof w->spotify_id);
  db__bind_text_max(&q, 6, w->mb_id, sizeof w->mb_id);
  db__bind_text_max(&q, 7, w->artist, sizeof w->artist);
  db__bind_text_max(&q, 8, w->title, sizeof w->title);
  db__bind_text_max(&q, 9, w->album, sizeof w->album);
  db__bind_text_max(&q, 10, w->release_date, sizeof w->release_date);
  db__bind_text_max(&q, 11, w->release_type, sizeof w->release_type);
  db__bind_int64(&q, 12, w->expected_tracks);
  db__bind_int64(&q, 13, w->auto_download);
  db__bind_int64(&q, 14, w->watch_id);
  db__bind_int64(&q, 15, w->track_id);
  db__bind_text_max(&q, 16, w->current_quality, sizeof w->current_quality);
  db__bind_int64(&q, 17, w->next_try_ms);
  db__bind_text_max(&q, 18, w->reason, sizeof w->reason);
  db__bind_int64(&q, 19, now_ms);
  if (!(rc = db__exec(&q, "wanted insert")))
    *id = db__last_id(db);
  return rc;
}

enum ss_err db_wanted_add(struct db *db, const struct wanted_item *w,
                          int64_t now_ms, int64_t *id, bool *added)
{
  if (!db || !w || !id || !added || !w->norm_key[0] ||
      (w->kind != WANTED_ALBUM && w->kind != WANTED_TRACK) ||
      !db_wanted_source_valid(w->source) ||
      (w->state[0] && !db_wanted_state_valid(w->state)))
    return SS_EINVAL;
  *id = 0;
  *added = false;
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  rc = find_identity(db, w, id);
  if (rc == SS_OK) {
    rc = merge_identity(db, *id, w, now_ms);
  } else if (rc == SS_ENOTFOUND) {
    rc = insert_item(db, w, now_ms, id);
    *added = rc == SS_OK;
  }
  rc = db__tx_end(db, rc);
  if (rc) {
    *id = 0;
    *added = false;
  }
  return rc;
}

enum ss_err db_wanted_get(struct db *db, int64_t id, struct wanted_item *out)
{
  if (!out)
    return SS_EINVAL;
  return db__get_one(db, SW_GET, "SELECT " W_COLS " FROM wanted WHERE id = ?1",
                     DB__VALS(DB__INT(id)), item_from_row, out, "wanted get");
}

/* The list filter: ?1 state ("" = all, "open"), ?2 source ("" = all). */
#define LIST_WHERE                                                            \
  " WHERE (?1 = '' OR state = ?1 OR (?1 = 'open' AND state IN"                \
  " ('wanted', 'searching', 'downloading'))) AND (?2 = '' OR source = ?2"     \
  " OR (substr(?2, 1, 1) = '!' AND source <> substr(?2, 2)))"

enum ss_err db_wanted_list(struct db *db, const char *state,
                           const char *source, int64_t offset,
                           struct wanted_item *out, size_t max, size_t *n,
                           int64_t *total)
{
  if (!n || !total || (max && !out) || offset < 0 ||
      (state && strcmp(state, "open") && !db_wanted_state_valid(state)) ||
      (source &&
       !db_wanted_source_valid(source[0] == '!' ? source + 1 : source)))
    return SS_EINVAL;
  *n = 0;
  *total = 0;
  struct db__q q;
  enum ss_err rc = db__prepare(db, SW_LIST_COUNT,
                               "SELECT count(*) FROM wanted" LIST_WHERE, &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, state);
  db__bind_text(&q, 2, source);
  if ((rc = db__scalar(&q, total, "wanted count")))
    return rc;
  if ((rc = db__prepare(db, SW_LIST,
                        "SELECT " W_COLS " FROM wanted" LIST_WHERE
                        " ORDER BY id DESC LIMIT ?3 OFFSET ?4",
                        &q)))
    return rc;
  db__bind_text(&q, 1, state);
  db__bind_text(&q, 2, source);
  db__bind_int64(&q, 3, (int64_t)max);
  db__bind_int64(&q, 4, offset);
  return db__fill(&q, item_from_row, out, sizeof *out, max, n, "wanted list");
}

enum ss_err db_wanted_due(struct db *db, int64_t now_ms,
                          struct wanted_item *out, size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_DUE,
                  "SELECT " W_COLS " FROM wanted WHERE state = 'wanted'"
                  " AND auto_download <> 0 AND next_try_ms <= ?1"
                  " ORDER BY next_try_ms, id LIMIT ?2",
                  DB__VALS(DB__INT(now_ms), DB__INT((int64_t)max)),
                  item_from_row, out, sizeof *out, max, n, "wanted due");
}

enum ss_err db_wanted_in_flight(struct db *db, struct wanted_item *out,
                                size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_IN_FLIGHT,
                  "SELECT " W_COLS " FROM wanted WHERE state IN"
                  " ('searching', 'downloading') ORDER BY last_try_ms,"
                  " id LIMIT ?1",
                  DB__VALS(DB__INT((int64_t)max)), item_from_row, out,
                  sizeof *out, max, n, "wanted in flight");
}

enum ss_err db_wanted_requested(struct db *db, int64_t id, int64_t request_id,
                                int64_t now_ms)
{
  if (request_id <= 0)
    return SS_EINVAL;
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  struct db__q q;
  if (!(rc = db__prepare(db, SW_REQUESTED,
                         "UPDATE wanted SET request_id = ?2, attempts ="
                         " attempts + 1, last_try_ms = ?3, state ="
                         " 'searching', updated_ms = ?3 WHERE id = ?1",
                         &q))) {
    db__bind_int64(&q, 1, id);
    db__bind_int64(&q, 2, request_id);
    db__bind_int64(&q, 3, now_ms);
    rc = db__exec(&q, "wanted requested");
    if (!rc && db__changes(db) == 0)
      rc = SS_ENOTFOUND;
  }
  if (!rc && !(rc = db__prepare(db, SW_REQUEST_LOG,
                                "INSERT INTO wanted_requests (wanted_id,"
                                " request_id, made_ms) VALUES (?1, ?2, ?3)",
                                &q))) {
    db__bind_int64(&q, 1, id);
    db__bind_int64(&q, 2, request_id);
    db__bind_int64(&q, 3, now_ms);
    rc = db__exec(&q, "wanted request log");
  }
  return db__tx_end(db, rc);
}

enum ss_err db_wanted_set_state(struct db *db, int64_t id, const char *state,
                                const char *reason, int64_t next_try_ms,
                                int64_t now_ms)
{
  if (!db_wanted_state_valid(state) || next_try_ms < -1)
    return SS_EINVAL;
  struct db__q q;
  enum ss_err
    rc = db__prepare(db, SW_SET_STATE,
                     "UPDATE wanted SET state = ?2, reason = CASE WHEN"
                     " ?3 = '' THEN reason ELSE ?3 END, next_try_ms ="
                     " CASE WHEN ?4 < 0 THEN next_try_ms ELSE ?4 END,"
                     " updated_ms = ?5 WHERE id = ?1",
                     &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  db__bind_text(&q, 2, state);
  db__bind_text_max(&q, 3, reason ? reason : "", WANTED_REASON_MAX - 1);
  db__bind_int64(&q, 4, next_try_ms);
  db__bind_int64(&q, 5, now_ms);
  rc = db__exec(&q, "wanted set state");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_wanted_retry(struct db *db, int64_t id, int64_t now_ms)
{
  struct db__q q;
  enum ss_err
    rc = db__prepare(db, SW_RETRY,
                     "UPDATE wanted SET state = 'wanted', attempts = 0,"
                     " next_try_ms = 0, reason = '', updated_ms = ?2"
                     " WHERE id = ?1 AND state IN ('given_up', 'ignored')",
                     &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  db__bind_int64(&q, 2, now_ms);
  if ((rc = db__exec(&q, "wanted retry")) || db__changes(db) > 0)
    return rc;
  /* nothing changed: no such item, or not in a state to retry */
  if ((rc = db__prepare(db, SW_STATE_OF,
                        "SELECT count(*) FROM wanted WHERE id = ?1", &q)))
    return rc;
  db__bind_int64(&q, 1, id);
  int64_t n = 0;
  if ((rc = db__scalar(&q, &n, "wanted exists")))
    return rc;
  return n ? SS_ESTATE : SS_ENOTFOUND;
}

enum ss_err db_wanted_requests_since(struct db *db, int64_t since_ms,
                                     int64_t *n)
{
  if (!n)
    return SS_EINVAL;
  *n = 0;
  return db__get_one(db, SW_REQUESTS_SINCE,
                     "SELECT count(*) FROM wanted_requests"
                     " WHERE made_ms >= ?1",
                     DB__VALS(DB__INT(since_ms)), db__row_int64, n,
                     "wanted requests since");
}

static enum ss_err count_row(sqlite3_stmt *row, void *arg)
{
  struct wanted_counts *c = arg;
  const char *source = db__col_str(row, 0);
  const char *state = db__col_str(row, 1);
  int64_t n = sqlite3_column_int64(row, 2);
  if (!strcmp(state, "given_up"))
    c->given_up += n;
  else if (!strcmp(state, "imported"))
    c->imported += n;
  else if (!strcmp(state, "ignored"))
    c->ignored += n;
  else if (!strcmp(source, "watchlist"))
    c->watchlist += n;
  else if (!strcmp(source, "discography"))
    c->discography += n;
  else if (!strcmp(source, "quality_upgrade"))
    c->quality_upgrade += n;
  else if (!strcmp(source, "playlist"))
    c->playlist += n;
  else if (!strcmp(source, "manual"))
    c->manual += n;
  return SS_OK;
}

enum ss_err db_wanted_counts(struct db *db, struct wanted_counts *out)
{
  if (!out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  struct db__q q;
  enum ss_err rc = db__prepare(db, SW_COUNTS,
                               "SELECT source, state, count(*) FROM wanted"
                               " GROUP BY source, state",
                               &q);
  if (rc || (rc = db__each(&q, count_row, out, "wanted counts")))
    return rc;
  if ((rc = db__prepare(db, SW_REQUESTS_ALL,
                        "SELECT count(*) FROM wanted_requests", &q)))
    return rc;
  return db__scalar(&q, &out->requests_made, "wanted requests");
}

/* ---- watchlist ---- */

#define WATCH_COLS                                                            \
  "id, spotify_artist_id, mb_artist_id, name, auto_download, discography,"    \
  " release_types, since_date, last_check_ms, last_error, created_ms,"        \
  " discography_check_ms"

static enum ss_err watch_from_row(sqlite3_stmt *row, void *arg)
{
  struct watch *w = arg;
  memset(w, 0, sizeof *w);
  w->id = sqlite3_column_int64(row, 0);
  db__col_text(row, 1, w->spotify_artist_id, sizeof w->spotify_artist_id);
  db__col_text(row, 2, w->mb_artist_id, sizeof w->mb_artist_id);
  db__col_text(row, 3, w->name, sizeof w->name);
  w->auto_download = sqlite3_column_int(row, 4) != 0;
  w->discography = sqlite3_column_int(row, 5) != 0;
  w->release_types = (unsigned)sqlite3_column_int(row, 6);
  db__col_text(row, 7, w->since_date, sizeof w->since_date);
  w->last_check_ms = sqlite3_column_int64(row, 8);
  db__col_text(row, 9, w->last_error, sizeof w->last_error);
  w->created_ms = sqlite3_column_int64(row, 10);
  w->discography_check_ms = sqlite3_column_int64(row, 11);
  return SS_OK;
}

/* "YYYY-MM-DD" of now_ms in UTC. */
static void utc_date(int64_t now_ms, char out[11])
{
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
    snprintf(out, 11, "1970-01-01");
}

enum ss_err db_watch_by_artist(struct db *db, const char *spotify_artist_id,
                               struct watch *out)
{
  if (!spotify_artist_id || !out)
    return SS_EINVAL;
  return db__get_one(db, SW_WATCH_BY_ARTIST,
                     "SELECT " WATCH_COLS " FROM watchlist"
                     " WHERE spotify_artist_id = ?1",
                     DB__VALS(DB__TEXT(spotify_artist_id)), watch_from_row,
                     out, "watch by artist");
}

enum ss_err db_watch_add(struct db *db, const struct watch *w, int64_t now_ms,
                         int64_t *id)
{
  if (!db || !w || !id || !w->spotify_artist_id[0] ||
      (w->release_types & ~0x1fu))
    return SS_EINVAL;
  *id = 0;
  char since[11];
  if (w->since_date[0])
    snprintf(since, sizeof since, "%s", w->since_date);
  else
    utc_date(now_ms, since);
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  struct watch existing;
  rc = db_watch_by_artist(db, w->spotify_artist_id, &existing);
  if (rc == SS_OK) {
    *id = existing.id;
    rc = SS_EBUSY;
  } else if (rc == SS_ENOTFOUND) {
    struct db__q q;
    if (!(rc = db__prepare(db, SW_WATCH_INSERT,
                           "INSERT INTO watchlist (spotify_artist_id,"
                           " mb_artist_id, name, auto_download, discography,"
                           " release_types, since_date, created_ms) VALUES"
                           " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           &q))) {
      db__bind_text_max(&q, 1, w->spotify_artist_id,
                        sizeof w->spotify_artist_id);
      db__bind_text_max(&q, 2, w->mb_artist_id, sizeof w->mb_artist_id);
      db__bind_text_max(&q, 3, w->name, sizeof w->name);
      db__bind_int64(&q, 4, w->auto_download);
      db__bind_int64(&q, 5, w->discography);
      db__bind_int64(&q, 6,
                     w->release_types ? w->release_types
                                      : WATCH_DEFAULT_TYPES);
      db__bind_text(&q, 7, since);
      db__bind_int64(&q, 8, now_ms);
      if (!(rc = db__exec(&q, "watch insert")))
        *id = db__last_id(db);
    }
    if (!rc)
      rc = db__run(db, SW_WATCH_UNDECLINE,
                   "DELETE FROM watch_declined WHERE spotify_artist_id = ?1",
                   DB__VALS(DB__TEXT_MAX(w->spotify_artist_id,
                                         sizeof w->spotify_artist_id)),
                   "watch undecline");
  }
  /* SS_EBUSY is an answer, not a failure: nothing was written either way */
  enum ss_err end = db__tx_end(db, rc == SS_EBUSY ? SS_OK : rc);
  return end ? end : rc;
}

enum ss_err db_watch_get(struct db *db, int64_t id, struct watch *out)
{
  if (!out)
    return SS_EINVAL;
  return db__get_one(db, SW_WATCH_GET,
                     "SELECT " WATCH_COLS " FROM watchlist WHERE id = ?1",
                     DB__VALS(DB__INT(id)), watch_from_row, out, "watch get");
}

enum ss_err db_watch_list(struct db *db, struct watch *out, size_t max,
                          size_t *n, int64_t *total)
{
  if (!n || !total || (max && !out))
    return SS_EINVAL;
  *n = 0;
  *total = 0;
  struct db__q q;
  enum ss_err rc = db__prepare(db, SW_WATCH_COUNT,
                               "SELECT count(*) FROM watchlist", &q);
  if (rc || (rc = db__scalar(&q, total, "watch count")))
    return rc;
  if ((rc = db__prepare(db, SW_WATCH_LIST,
                        "SELECT " WATCH_COLS " FROM watchlist"
                        " ORDER BY name COLLATE NOCASE, id LIMIT ?1",
                        &q)))
    return rc;
  db__bind_int64(&q, 1, (int64_t)max);
  return db__fill(&q, watch_from_row, out, sizeof *out, max, n, "watch list");
}

enum ss_err db_watch_update(struct db *db, const struct watch *w)
{
  if (!w || (w->release_types & ~0x1fu))
    return SS_EINVAL;
  struct db__q q;
  enum ss_err rc = db__prepare(db, SW_WATCH_UPDATE,
                               "UPDATE watchlist SET auto_download = ?2,"
                               " discography = ?3, release_types = ?4,"
                               " mb_artist_id = ?5 WHERE id = ?1",
                               &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, w->id);
  db__bind_int64(&q, 2, w->auto_download);
  db__bind_int64(&q, 3, w->discography);
  db__bind_int64(&q, 4, w->release_types);
  db__bind_text_max(&q, 5, w->mb_artist_id, sizeof w->mb_artist_id);
  rc = db__exec(&q, "watch update");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_watch_delete(struct db *db, int64_t id)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  struct db__q q;
  rc = db__run(db, SW_WATCH_DECLINE,
               "INSERT OR REPLACE INTO watch_declined (spotify_artist_id,"
               " declined_ms) SELECT spotify_artist_id,"
               " CAST(strftime('%s', 'now') AS INTEGER) * 1000"
               " FROM watchlist WHERE id = ?1",
               DB__VALS(DB__INT(id)), "watch decline");
  if (!rc &&
      !(rc = db__prepare(db, SW_WATCH_UNLINK,
                         "UPDATE wanted SET watch_id = 0 WHERE watch_id = ?1",
                         &q))) {
    db__bind_int64(&q, 1, id);
    rc = db__exec(&q, "watch unlink");
  }
  if (!rc && !(rc = db__prepare(db, SW_WATCH_DELETE,
                                "DELETE FROM watchlist WHERE id = ?1", &q))) {
    db__bind_int64(&q, 1, id);
    rc = db__exec(&q, "watch delete");
    if (!rc && db__changes(db) == 0)
      rc = SS_ENOTFOUND;
  }
  return db__tx_end(db, rc);
}

enum ss_err db_watch_due(struct db *db, int64_t before_ms, struct watch *out,
                         size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_WATCH_DUE,
                  "SELECT " WATCH_COLS " FROM watchlist"
                  " WHERE last_check_ms < ?1"
                  " ORDER BY last_check_ms, id LIMIT ?2",
                  DB__VALS(DB__INT(before_ms), DB__INT((int64_t)max)),
                  watch_from_row, out, sizeof *out, max, n, "watch due");
}

enum ss_err db_watch_checked(struct db *db, int64_t id, const char *error,
                             int64_t now_ms)
{
  struct db__q q;
  enum ss_err rc = db__prepare(db, SW_WATCH_CHECKED,
                               "UPDATE watchlist SET last_check_ms = ?2,"
                               " last_error = ?3 WHERE id = ?1",
                               &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  db__bind_int64(&q, 2, now_ms);
  db__bind_text_max(&q, 3, error ? error : "", WANTED_REASON_MAX - 1);
  rc = db__exec(&q, "watch checked");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_watch_due_discography(struct db *db, int64_t before_ms,
                                     struct watch *out, size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_WATCH_DUE_DISCO,
                  "SELECT " WATCH_COLS " FROM watchlist"
                  " WHERE discography <> 0 AND discography_check_ms < ?1"
                  " ORDER BY discography_check_ms, id LIMIT ?2",
                  DB__VALS(DB__INT(before_ms), DB__INT((int64_t)max)),
                  watch_from_row, out, sizeof *out, max, n,
                  "watch due discography");
}

enum ss_err db_watch_discography_checked(struct db *db, int64_t id,
                                         const char *error, int64_t now_ms)
{
  enum ss_err rc = db__run(db, SW_WATCH_DISCO_CHECKED,
                           "UPDATE watchlist SET discography_check_ms = ?2,"
                           " last_error = ?3 WHERE id = ?1",
                           DB__VALS(DB__INT(id), DB__INT(now_ms),
                                    DB__TEXT_MAX(error ? error : "",
                                                 WANTED_REASON_MAX - 1)),
                           "watch discography checked");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_watch_set_name(struct db *db, int64_t id, const char *name)
{
  if (!name)
    return SS_EINVAL;
  enum ss_err rc = db__run(db, SW_WATCH_SET_NAME,
                           "UPDATE watchlist SET name = ?2 WHERE id = ?1",
                           DB__VALS(DB__INT(id),
                                    DB__TEXT_MAX(name, WANTED_TEXT_MAX - 1)),
                           "watch name");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  return rc;
}

enum ss_err db_watch_add_followed(struct db *db, int64_t now_ms,
                                  int64_t *added)
{
  if (!added)
    return SS_EINVAL;
  *added = 0;
  char since[11];
  utc_date(now_ms, since);
  enum ss_err
    rc = db__run(db, SW_WATCH_ADD_FOLLOWED,
                 "INSERT INTO watchlist (spotify_artist_id, name,"
                 " auto_download, discography, release_types, since_date,"
                 " created_ms) SELECT a.id, substr(a.name, 1, 255), 1, 0,"
                 " ?1, ?2, ?3 FROM spotify_artists a"
                 " WHERE a.followed <> 0 AND a.id <> ''"
                 " AND length(a.id) < ?4"
                 " AND NOT EXISTS (SELECT 1 FROM watchlist w"
                 "   WHERE w.spotify_artist_id = a.id)"
                 " AND NOT EXISTS (SELECT 1 FROM watch_declined d"
                 "   WHERE d.spotify_artist_id = a.id)",
                 DB__VALS(DB__INT(WATCH_DEFAULT_TYPES), DB__TEXT(since),
                          DB__INT(now_ms), DB__INT(WANTED_ID_MAX)),
                 "watch followed");
  if (!rc)
    *added = db__changes(db);
  return rc;
}

struct text_out {
  char *s;
  size_t n;
};

static enum ss_err name_from_row(sqlite3_stmt *row, void *arg)
{
  struct text_out *out = arg;
  db__col_text(row, 0, out->s, out->n);
  return SS_OK;
}

enum ss_err db_watch_artist_name(struct db *db, const char *spotify_artist_id,
                                 char *out, size_t n)
{
  if (!spotify_artist_id || !out || !n)
    return SS_EINVAL;
  out[0] = '\0';
  struct text_out to = {out, n};
  return db__get_one(db, SW_WATCH_ARTIST_NAME,
                     "SELECT name FROM spotify_artists WHERE id = ?1",
                     DB__VALS(DB__TEXT(spotify_artist_id)), name_from_row, &to,
                     "artist name");
}

/* ---- playlists: "download missing tracks" ---- */

enum ss_err db_playlist_set_download_missing(struct db *db,
                                             const char *playlist_id, bool on,
                                             char *name, size_t n)
{
  if (!playlist_id || (name && !n))
    return SS_EINVAL;
  enum ss_err rc = db__run(db, SW_PLAYLIST_SET,
                           "UPDATE spotify_playlists SET download_missing = ?2"
                           " WHERE id = ?1",
                           DB__VALS(DB__TEXT(playlist_id), DB__INT(on)),
                           "playlist switch");
  if (!rc && db__changes(db) == 0)
    rc = SS_ENOTFOUND;
  if (!rc && name) {
    struct db__q q;
    name[0] = '\0';
    if (!(rc = db__prepare(db, SW_PLAYLIST_NAME,
                           "SELECT name FROM spotify_playlists WHERE id = ?1",
                           &q))) {
      db__bind_text(&q, 1, playlist_id);
      struct text_out to = {name, n};
      rc = db__get(&q, name_from_row, &to, "playlist name");
    }
  }
  return rc;
}

static enum ss_err id_from_row(sqlite3_stmt *row, void *arg)
{
  db__col_text(row, 0, arg, WANTED_ID_MAX);
  return SS_OK;
}

enum ss_err db_watch_artist_ids(struct db *db, char (*out)[WANTED_ID_MAX],
                                size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_WATCH_IDS,
                  "SELECT spotify_artist_id FROM watchlist"
                  " ORDER BY spotify_artist_id LIMIT ?1",
                  DB__VALS(DB__INT((int64_t)max)), id_from_row, out,
                  WANTED_ID_MAX, max, n, "watched ids");
}

enum ss_err db_playlist_download_missing_ids(struct db *db,
                                             char (*out)[WANTED_ID_MAX],
                                             size_t max, size_t *n)
{
  if (!n || (max && !out))
    return SS_EINVAL;
  *n = 0;
  return db__list(db, SW_PLAYLIST_IDS,
                  "SELECT id FROM spotify_playlists"
                  " WHERE download_missing <> 0 ORDER BY id LIMIT ?1",
                  DB__VALS(DB__INT((int64_t)max)), id_from_row, out,
                  WANTED_ID_MAX, max, n, "playlist switches");
}

struct each_ctx {
  db_playlist_track_fn fn;
  void *arg;
};

static enum ss_err track_row(sqlite3_stmt *row, void *arg)
{
  struct each_ctx *c = arg;
  struct playlist_track t = {
    .playlist_name = db__col_str(row, 0),
    .track_id = db__col_str(row, 1),
    .title = db__col_str(row, 2),
    .artists = db__col_str(row, 3),
    .album = db__col_str(row, 4),
  };
  return c->fn(c->arg, &t);
}

enum ss_err db_playlist_missing_each(struct db *db, db_playlist_track_fn fn,
                                     void *arg)
{
  if (!fn)
    return SS_EINVAL;
  struct each_ctx c = {fn, arg};
  return db__walk(db, SW_PLAYLIST_EACH,
                  "SELECT p.name, t.id, t.name, t.artist_names,"
                  " t.album_name FROM spotify_playlists p"
                  " JOIN spotify_playlist_entries e"
                  "   ON e.playlist_id = p.id"
                  " JOIN spotify_tracks t ON t.id = e.track_id"
                  " WHERE p.download_missing <> 0 AND p.followed <> 0"
                  "   AND e.is_local = 0 AND e.track_id <> ''"
                  " GROUP BY t.id"
                  " ORDER BY min(p.position), min(e.position)",
                  NULL, 0, track_row, &c, "playlist tracks");
}
