/*
 * db_downloads_sqlite.c - db_downloads.h on SQLite.
 *
 * What: requests, candidates, files and the import journal.  Statements
 * are cached per connection in the downloads slots (64-127) and run in
 * the db__ dialect (db_sqlite_internal.h).
 * Multi-row changes run in one BEGIN IMMEDIATE transaction inside one
 * call.  Threading: as db.h, one struct db per thread.  Ownership: struct
 * dl_file strings are heap copies released by db_dl_file(s)_free.
 */
#include "db/db_downloads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "db/db_sqlite_internal.h"

enum {
  SD_REQ_ADD = DB__SLOTS_DOWNLOADS,
  SD_REQ_GET,
  SD_REQ_LIST,
  SD_REQ_COUNT,
  SD_REQ_IN,
  SD_REQ_STATE,
  SD_REQ_SEARCHING,
  SD_REQ_RETRY,
  SD_REQ_STATE_OF,
  SD_REQ_CANCEL,
  SD_FILES_CANCEL_WANT,
  SD_CAND_ADD,
  SD_CAND_FILE_ADD,
  SD_CAND_WANT,
  SD_CAND_USE,
  SD_REQ_DOWNLOADING,
  SD_FILES_OPEN,
  SD_FILE_GET,
  SD_FILES_OF,
  SD_FILE_UPDATE,
  SD_PROGRESS,
  SD_FILE_ENQUEUED,
  SD_FILE_DEFER,
  SD_FILE_FAIL,
  SD_FILE_KEY,
  SD_REPLACEMENT,
  SD_USE_ONE,
  SD_FILE_INSERT,
  SD_SUPERSEDE,
  SD_IMPORT_WAIT,
  SD_IMPORT_BEGIN,
  SD_IMPORT_DONE,
  SD_COUNTS,
  SD_LAST_ERROR,
  SD_SETTLED,
  SD_TO_CANCEL,
  SD_GAUGES,
  SD_GAUGE_REQS,
  SD_TABLE_EXISTS,
  SD_SPOTIFY_ALBUM,
  SD_SPOTIFY_TRACK,
  SD_SOURCES,
  SD_SOURCES_COUNT,
  SD_REQ_AGAIN,
  SD_REQ_STATES,
  SD_FILE_STATES,
  SD_UPGRADE_SET,
  SD_UPGRADE_GET,
  SD__END
};

_Static_assert((int)SD__END <= (int)DB__SLOTS_LIBRARY,
               "downloads statement slots are 64-127");

#define OPEN_STATES                                                           \
  "('want', 'enqueued', 'queued', 'in_progress', 'completed', 'importing')"
#define REQ_COLS                                                              \
  "r.id, r.kind, r.query, r.artist, r.title, r.spotify_id,"                   \
  " r.expected_tracks, r.state, r.search_id, r.search_started_ms,"            \
  " r.search_tries, r.next_try_ms, r.error, r.created_ms, r.updated_ms,"      \
  " r.finished_ms, r.mb_release_group_id, r.mb_release_id"
#define VIEW_COLS                                                             \
  REQ_COLS                                                                    \
  ","                                                                         \
  " COUNT(f.id),"                                                             \
  " COALESCE(SUM(f.state = 'imported'), 0),"                                  \
  " COALESCE(SUM(f.state = 'failed'), 0),"                                    \
  " COALESCE(SUM(f.state IN " OPEN_STATES "), 0),"                            \
  " COALESCE(SUM(f.size), 0),"                                                \
  " COALESCE(SUM(CASE WHEN f.state IN ('completed', 'importing',"             \
  "   'imported') THEN f.size ELSE COALESCE(p.bytes, 0) END), 0),"            \
  " (SELECT g.username FROM download_files g WHERE g.request_id = r.id"       \
  "   ORDER BY g.id DESC LIMIT 1)"
#define VIEW_FROM                                                             \
  " FROM download_requests r LEFT JOIN download_files f"                      \
  "   ON f.request_id = r.id AND f.superseded = 0"                            \
  "   AND f.state <> 'cancelled'"                                             \
  " LEFT JOIN download_progress p ON p.file_id = f.id"
#define FILE_COLS                                                             \
  "f.id, f.request_id, f.username, f.filename, f.track_key, f.import_src,"    \
  " f.import_dst, f.transfer_id, f.state, f.size, COALESCE(p.bytes, 0),"      \
  " COALESCE(p.percent, 0), f.retries, f.import_tries, f.not_before_ms,"      \
  " f.enqueued_ms, COALESCE(p.progress_ms, f.enqueued_ms), f.slskd_state,"    \
  " f.error, r.artist, r.title, r.spotify_id, r.kind, r.state,"               \
  " r.mb_release_group_id, r.mb_release_id"
#define FILE_FROM                                                             \
  " FROM download_files f JOIN download_requests r ON r.id = f.request_id"    \
  " LEFT JOIN download_progress p ON p.file_id = f.id"

/* ---- plumbing ---- */

/* max rows as a LIMIT (-1: no limit). */
static int64_t limit_of(size_t max)
{
  return max > (size_t)INT64_MAX ? -1 : (int64_t)max;
}

static bool is_terminal_request(const char *state)
{
  return !strcmp(state, "completed") || !strcmp(state, "failed") ||
         !strcmp(state, "cancelled");
}

/* ---- requests ---- */

enum ss_err db_dl_request_add(struct db *db, const struct dl_request *r,
                              int64_t *id)
{
  enum ss_err rc = db__run(
    db, SD_REQ_ADD,
    "INSERT INTO download_requests (kind, query, artist, title,"
    " spotify_id, expected_tracks, state, next_try_ms,"
    " created_ms, updated_ms, mb_release_group_id, mb_release_id)"
    " VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
    DB__VALS(DB__TEXT(r->kind == DL_ALBUM ? "album" : "track"),
             DB__TEXT(r->query), DB__TEXT(r->artist), DB__TEXT(r->title),
             DB__TEXT(r->spotify_id), DB__INT(r->expected_tracks),
             DB__INT(r->created_ms), DB__INT(r->created_ms),
             DB__TEXT(r->mb_release_group_id), DB__TEXT(r->mb_release_id)),
    "download request add");
  if (!rc && id)
    *id = db__last_id(db);
  return rc;
}

static enum ss_err request_row(sqlite3_stmt *st, void *out)
{
  struct dl_request *r = out;
  memset(r, 0, sizeof *r);
  r->id = sqlite3_column_int64(st, 0);
  const char *kind = (const char *)sqlite3_column_text(st, 1);
  r->kind = kind && !strcmp(kind, "album") ? DL_ALBUM : DL_TRACK;
  db__col_text(st, 2, r->query, sizeof r->query);
  db__col_text(st, 3, r->artist, sizeof r->artist);
  db__col_text(st, 4, r->title, sizeof r->title);
  db__col_text(st, 5, r->spotify_id, sizeof r->spotify_id);
  r->expected_tracks = sqlite3_column_int(st, 6);
  db__col_text(st, 7, r->state, sizeof r->state);
  db__col_text(st, 8, r->search_id, sizeof r->search_id);
  r->search_started_ms = sqlite3_column_int64(st, 9);
  r->search_tries = sqlite3_column_int(st, 10);
  r->next_try_ms = sqlite3_column_int64(st, 11);
  db__col_text(st, 12, r->error, sizeof r->error);
  r->created_ms = sqlite3_column_int64(st, 13);
  r->updated_ms = sqlite3_column_int64(st, 14);
  r->finished_ms = sqlite3_column_int64(st, 15);
  db__col_text(st, 16, r->mb_release_group_id, sizeof r->mb_release_group_id);
  db__col_text(st, 17, r->mb_release_id, sizeof r->mb_release_id);
  return SS_OK;
}

static enum ss_err view_row(sqlite3_stmt *st, void *out)
{
  struct dl_request_view *v = out;
  memset(v, 0, sizeof *v);
  request_row(st, &v->r);
  v->files_total = sqlite3_column_int(st, 18);
  v->files_imported = sqlite3_column_int(st, 19);
  v->files_failed = sqlite3_column_int(st, 20);
  v->files_active = sqlite3_column_int(st, 21);
  v->bytes_total = sqlite3_column_int64(st, 22);
  v->bytes_done = sqlite3_column_int64(st, 23);
  db__col_text(st, 24, v->username, sizeof v->username);
  return SS_OK;
}

enum ss_err db_dl_request_get(struct db *db, int64_t id,
                              struct dl_request_view *out)
{
  return db__get_one(db, SD_REQ_GET,
                     "SELECT " VIEW_COLS VIEW_FROM
                     " WHERE r.id = ? GROUP BY r.id",
                     DB__VALS(DB__INT(id)), view_row, out, "download get");
}

enum ss_err db_dl_request_list(struct db *db, const char *state,
                               int64_t offset, struct dl_request_view *out,
                               size_t max, size_t *n, int64_t *total)
{
  struct db__q q;
  *n = 0;
  enum ss_err rc = db__prepare(db, SD_REQ_COUNT,
                               "SELECT COUNT(*) FROM download_requests"
                               " WHERE ?1 IS NULL OR state = ?1",
                               &q);
  if (rc)
    return rc;
  if (state)
    db__bind_text(&q, 1, state);
  *total = 0;
  if ((rc = db__scalar(&q, total, "download count")) || !max)
    return rc;
  rc = db__prepare(db, SD_REQ_LIST,
                   "SELECT " VIEW_COLS VIEW_FROM
                   " WHERE ?1 IS NULL OR r.state = ?1"
                   " GROUP BY r.id ORDER BY r.id DESC LIMIT ?2 OFFSET ?3",
                   &q);
  if (rc)
    return rc;
  if (state)
    db__bind_text(&q, 1, state);
  db__bind_int64(&q, 2, (int64_t)max);
  db__bind_int64(&q, 3, offset);
  return db__fill(&q, view_row, out, sizeof *out, max, n, "download list");
}

struct state_walk {
  db_dl_state_count_fn fn;
  void *arg;
  const char *table;
};

static enum ss_err state_count_row(sqlite3_stmt *row, void *arg)
{
  const struct state_walk *w = arg;
  const char *state = (const char *)sqlite3_column_text(row, 0);
  if (state)
    w->fn(w->arg, w->table, state, sqlite3_column_int64(row, 1));
  return SS_OK;
}

enum ss_err db_dl_state_counts(struct db *db, db_dl_state_count_fn fn,
                               void *arg)
{
  struct db__q q;
  struct state_walk w = {fn, arg, "requests"};
  enum ss_err rc = db__prepare(db, SD_REQ_STATES,
                               "SELECT state, COUNT(*) FROM download_requests"
                               " GROUP BY state ORDER BY state",
                               &q);
  if (!rc)
    rc = db__each(&q, state_count_row, &w, "download request states");
  if (!rc)
    rc = db__prepare(db, SD_FILE_STATES,
                     "SELECT state, COUNT(*) FROM download_files"
                     " WHERE superseded = 0 GROUP BY state ORDER BY state",
                     &q);
  w.table = "files";
  if (!rc)
    rc = db__each(&q, state_count_row, &w, "download file states");
  return rc;
}

enum ss_err db_dl_requests_in(struct db *db, const char *state,
                              struct dl_request *out, size_t max, size_t *n)
{
  *n = 0;
  return db__list(db, SD_REQ_IN,
                  "SELECT " REQ_COLS " FROM download_requests r"
                  " WHERE r.state = ? ORDER BY r.id LIMIT ?",
                  DB__VALS(DB__TEXT(state), DB__INT((int64_t)max)),
                  request_row, out, sizeof *out, max, n,
                  "download requests in state");
}

enum ss_err db_dl_request_set_state(struct db *db, int64_t id,
                                    const char *state, const char *error,
                                    int64_t now_ms)
{
  return db__run(db, SD_REQ_STATE,
                 "UPDATE download_requests SET state = ?1, error = ?2,"
                 " updated_ms = ?3, finished_ms = CASE WHEN ?1 IN"
                 " ('completed', 'failed', 'cancelled') THEN ?3 ELSE 0 END"
                 " WHERE id = ?4 AND state <> 'cancelled'",
                 DB__VALS(DB__TEXT(state), DB__TEXT(error), DB__INT(now_ms),
                          DB__INT(id)),
                 "download request state");
}

enum ss_err db_dl_request_searching(struct db *db, int64_t id,
                                    const char *search_id, int64_t now_ms)
{
  return db__run(db, SD_REQ_SEARCHING,
                 "UPDATE download_requests SET state = 'searching',"
                 " search_id = ?1, search_started_ms = ?2,"
                 " search_tries = search_tries + 1, error = '',"
                 " updated_ms = ?2 WHERE id = ?3 AND state = 'pending'",
                 DB__VALS(DB__TEXT(search_id), DB__INT(now_ms), DB__INT(id)),
                 "download request searching");
}

enum ss_err db_dl_request_search_again(struct db *db, int64_t id,
                                       const char *query, int64_t now_ms)
{
  return db__run(db, SD_REQ_AGAIN,
                 "UPDATE download_requests SET query = ?1, state = 'pending',"
                 " search_id = '', next_try_ms = 0, error = '',"
                 " updated_ms = ?2 WHERE id = ?3 AND state = 'searching'",
                 DB__VALS(DB__TEXT(query), DB__INT(now_ms), DB__INT(id)),
                 "download request search again");
}

enum ss_err db_dl_request_retry_search(struct db *db, int64_t id,
                                       int64_t next_ms, const char *error,
                                       int64_t now_ms)
{
  return db__run(db, SD_REQ_RETRY,
                 "UPDATE download_requests SET state = 'pending',"
                 " search_id = '', next_try_ms = ?1, error = ?2,"
                 " updated_ms = ?3 WHERE id = ?4"
                 " AND state IN ('pending', 'searching')",
                 DB__VALS(DB__INT(next_ms), DB__TEXT(error), DB__INT(now_ms),
                          DB__INT(id)),
                 "download request retry");
}

/* Reads the state column into out[DL_STATE_MAX]. */
static enum ss_err state_row(sqlite3_stmt *row, void *out)
{
  db__col_text(row, 0, out, DL_STATE_MAX);
  return SS_OK;
}

static enum ss_err request_state_of(struct db *db, int64_t id,
                                    char state[DL_STATE_MAX])
{
  return db__get_one(db, SD_REQ_STATE_OF,
                     "SELECT state FROM download_requests WHERE id = ?",
                     DB__VALS(DB__INT(id)), state_row, state, "request state");
}

static enum ss_err cancel_locked(struct db *db, int64_t id, int64_t now_ms)
{
  char state[DL_STATE_MAX];
  enum ss_err rc = request_state_of(db, id, state);
  if (rc)
    return rc;
  if (is_terminal_request(state))
    return SS_ESTATE;
  if ((rc = db__run(db, SD_REQ_CANCEL,
                    "UPDATE download_requests SET state = 'cancelled',"
                    " error = 'cancelled by the user', updated_ms = ?1,"
                    " finished_ms = ?1 WHERE id = ?2",
                    DB__VALS(DB__INT(now_ms), DB__INT(id)),
                    "download cancel")))
    return rc;
  return db__run(db, SD_FILES_CANCEL_WANT,
                 "UPDATE download_files SET state = 'cancelled',"
                 " updated_ms = ?1 WHERE request_id = ?2 AND state = 'want'",
                 DB__VALS(DB__INT(now_ms), DB__INT(id)),
                 "download cancel files");
}

enum ss_err db_dl_request_cancel(struct db *db, int64_t id, int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  return db__tx_end(db, cancel_locked(db, id, now_ms));
}

/* ---- candidates ---- */

static enum ss_err add_candidate(struct db *db, int64_t req, int rank,
                                 const struct dl_candidate *c, int64_t *cid)
{
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SD_CAND_ADD,
    "INSERT INTO download_candidates (request_id, rank, username,"
    " directory, quality, n_files, total_size, free_slot,"
    " queue_length, upload_speed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    &q);
  if (rc)
    return rc;
  db__bind_all(&q,
               DB__VALS(DB__INT(req), DB__INT(rank), DB__TEXT(c->username),
                        DB__TEXT(c->directory), DB__TEXT(c->quality),
                        DB__INT((int64_t)c->n_files), DB__INT(c->total_size),
                        DB__INT(c->free_slot), DB__INT(c->queue_length),
                        DB__INT(c->upload_speed)));
  if ((rc = db__exec(&q, "candidate add")))
    return rc;
  *cid = db__last_id(db);
  if ((rc = db__prepare(db, SD_CAND_FILE_ADD,
                        "INSERT INTO download_candidate_files (candidate_id,"
                        " request_id, filename, size, track_key)"
                        " VALUES (?, ?, ?, ?, ?)",
                        &q)))
    return rc;
  for (size_t i = 0; i < c->n_files && !rc; i++) {
    db__bind_all(&q, DB__VALS(DB__INT(*cid), DB__INT(req),
                              DB__TEXT(c->files[i].filename),
                              DB__INT(c->files[i].size),
                              DB__TEXT(c->files[i].track_key)));
    rc = db__exec(&q, "candidate file add");
  }
  return rc;
}

/* Queues every file of candidate cid and marks them used. */
static enum ss_err want_candidate(struct db *db, int64_t req, int64_t cid,
                                  int64_t now_ms)
{
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SD_CAND_WANT,
    "INSERT INTO download_files (request_id, candidate_file_id,"
    " username, filename, size, track_key, state, created_ms,"
    " updated_ms) SELECT ?1, cf.id, c.username, cf.filename,"
    " cf.size, cf.track_key, 'want', ?3, ?3"
    " FROM download_candidate_files cf JOIN download_candidates c"
    " ON c.id = cf.candidate_id WHERE cf.candidate_id = ?2"
    " ORDER BY cf.id",
    &q);
  if (rc)
    return rc;
  db__bind_all(&q, DB__VALS(DB__INT(req), DB__INT(cid), DB__INT(now_ms)));
  if ((rc = db__exec(&q, "candidate want")))
    return rc;
  return db__run(db, SD_CAND_USE,
                 "UPDATE download_candidate_files SET used = 1"
                 " WHERE candidate_id = ?",
                 DB__VALS(DB__INT(cid)), "candidate use");
}

static enum ss_err search_done_locked(struct db *db, int64_t req,
                                      const struct dl_candidate *c, size_t n,
                                      const char *error, int64_t now_ms)
{
  char state[DL_STATE_MAX];
  enum ss_err rc = request_state_of(db, req, state);
  if (rc)
    return rc;
  if (strcmp(state, "searching"))
    return SS_ESTATE;
  int64_t first = 0, cid = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = add_candidate(db, req, (int)i, &c[i], &cid);
    if (i == 0)
      first = cid;
  }
  if (rc)
    return rc;
  if (!n)
    return db_dl_request_set_state(db, req, "failed", error, now_ms);
  if ((rc = want_candidate(db, req, first, now_ms)))
    return rc;
  return db__run(db, SD_REQ_DOWNLOADING,
                 "UPDATE download_requests SET state = 'downloading',"
                 " error = '', updated_ms = ? WHERE id = ?",
                 DB__VALS(DB__INT(now_ms), DB__INT(req)),
                 "request downloading");
}

enum ss_err db_dl_search_done(struct db *db, int64_t request_id,
                              const struct dl_candidate *c, size_t n,
                              const char *error, int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  return db__tx_end(db,
                    search_done_locked(db, request_id, c, n, error, now_ms));
}

/* ---- files ---- */

/* Text columns of FILE_COLS, in the order of the pointers they fill. */
static const int text_cols[] = {2, 3, 4, 5, 6, 17, 18, 19, 20, 21};
#define N_TEXT (sizeof text_cols / sizeof text_cols[0])

static enum ss_err file_row(sqlite3_stmt *st, void *out)
{
  struct dl_file *f = out;
  char **dst[N_TEXT] = {&f->username,   &f->filename,   &f->track_key,
                        &f->import_src, &f->import_dst, &f->slskd_state,
                        &f->error,      &f->req_artist, &f->req_title,
                        &f->spotify_id};
  size_t len[N_TEXT], total = 0;
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < N_TEXT; i++) {
    sqlite3_column_text(st, text_cols[i]); /* as text, then its size */
    len[i] = (size_t)sqlite3_column_bytes(st, text_cols[i]);
    total += len[i] + 1;
  }
  char *p = f->strings_ = xmalloc(total);
  for (size_t i = 0; i < N_TEXT; i++) {
    const char *s = (const char *)sqlite3_column_text(st, text_cols[i]);
    if (len[i])
      memcpy(p, s, len[i]);
    p[len[i]] = '\0';
    *dst[i] = p;
    p += len[i] + 1;
  }
  f->id = sqlite3_column_int64(st, 0);
  f->request_id = sqlite3_column_int64(st, 1);
  db__col_text(st, 7, f->transfer_id, sizeof f->transfer_id);
  db__col_text(st, 8, f->state, sizeof f->state);
  f->size = sqlite3_column_int64(st, 9);
  f->bytes = sqlite3_column_int64(st, 10);
  f->percent = sqlite3_column_double(st, 11);
  f->retries = sqlite3_column_int(st, 12);
  f->import_tries = sqlite3_column_int(st, 13);
  f->not_before_ms = sqlite3_column_int64(st, 14);
  f->enqueued_ms = sqlite3_column_int64(st, 15);
  f->progress_ms = sqlite3_column_int64(st, 16);
  const char *kind = (const char *)sqlite3_column_text(st, 22);
  f->kind = kind && !strcmp(kind, "album") ? DL_ALBUM : DL_TRACK;
  db__col_text(st, 23, f->req_state, sizeof f->req_state);
  db__col_text(st, 24, f->mb_release_group_id, sizeof f->mb_release_group_id);
  db__col_text(st, 25, f->mb_release_id, sizeof f->mb_release_id);
  return SS_OK;
}

void db_dl_file_free(struct dl_file *f)
{
  free(f->strings_);
  memset(f, 0, sizeof *f);
}

void db_dl_files_free(struct dl_files *f)
{
  for (size_t i = 0; i < f->n; i++)
    db_dl_file_free(&f->v[i]);
  free(f->v);
  memset(f, 0, sizeof *f);
}

/* Appends a row to the struct dl_files at arg. */
static enum ss_err append_file(sqlite3_stmt *row, void *arg)
{
  struct dl_files *out = arg;
  size_t n = out->n;
  /* 64 places, then twice as many whenever they are full. */
  if (n == 0 || (n >= 64 && !(n & (n - 1))))
    out->v = xrealloc(out->v, (n ? n * 2 : 64) * sizeof *out->v);
  return file_row(row, &out->v[out->n++]);
}

/* Collects every row of q (bound by the caller) into out. */
static enum ss_err collect_files(struct db__q *q, struct dl_files *out)
{
  enum ss_err rc = db__each(q, append_file, out, "files");
  if (rc)
    db_dl_files_free(out);
  return rc;
}

enum ss_err db_dl_files_open(struct db *db, struct dl_files *out)
{
  struct db__q q;
  memset(out, 0, sizeof *out);
  enum ss_err rc = db__prepare(db, SD_FILES_OPEN,
                               "SELECT " FILE_COLS FILE_FROM
                               " WHERE f.state IN " OPEN_STATES,
                               &q);
  return rc ? rc : collect_files(&q, out);
}

enum ss_err db_dl_file_get(struct db *db, int64_t id, struct dl_file *out)
{
  memset(out, 0, sizeof *out);
  return db__get_one(db, SD_FILE_GET,
                     "SELECT " FILE_COLS FILE_FROM " WHERE f.id = ?",
                     DB__VALS(DB__INT(id)), file_row, out, "file get");
}

enum ss_err db_dl_files_of(struct db *db, int64_t request_id,
                           struct dl_files *out, size_t max)
{
  struct db__q q;
  memset(out, 0, sizeof *out);
  enum ss_err rc = db__prepare(db, SD_FILES_OF,
                               "SELECT " FILE_COLS FILE_FROM
                               " WHERE f.request_id = ?"
                               " ORDER BY f.id DESC LIMIT ?2",
                               &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, request_id);
  db__bind_int64(&q, 2, limit_of(max));
  return collect_files(&q, out);
}

static enum ss_err update_locked(struct db *db, const struct dl_file_update *u,
                                 size_t n, int64_t now_ms)
{
  struct db__q q, pg;
  enum ss_err rc = db__prepare(
    db, SD_FILE_UPDATE,
    "UPDATE download_files SET state = COALESCE(?1, state),"
    " slskd_state = COALESCE(?2, slskd_state),"
    " transfer_id = COALESCE(?3, transfer_id),"
    " error = COALESCE(?4, error), updated_ms = ?5 WHERE id = ?6",
    &q);
  if (!rc)
    rc = db__prepare(
      db, SD_PROGRESS,
      "INSERT INTO download_progress (file_id, bytes, percent,"
      " progress_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (file_id)"
      " DO UPDATE SET bytes = ?2, percent = ?3, progress_ms = ?4",
      &pg);
  for (size_t i = 0; i < n && !rc; i++) {
    const struct dl_file_update *x = &u[i];
    if (x->state || x->slskd_state || x->transfer_id || x->error) {
      if (x->state)
        db__bind_text(&q, 1, x->state);
      if (x->slskd_state)
        db__bind_text(&q, 2, x->slskd_state);
      if (x->transfer_id)
        db__bind_text(&q, 3, x->transfer_id);
      if (x->error)
        db__bind_text(&q, 4, x->error);
      db__bind_int64(&q, 5, now_ms);
      db__bind_int64(&q, 6, x->id);
      rc = db__exec(&q, "file update");
    }
    if (rc)
      break;
    db__bind_int64(&pg, 1, x->id);
    db__bind_int64(&pg, 2, x->bytes);
    db__bind_double(&pg, 3, x->percent);
    db__bind_int64(&pg, 4, x->progress_ms);
    rc = db__exec(&pg, "file progress");
  }
  return rc;
}

enum ss_err db_dl_files_update(struct db *db, const struct dl_file_update *u,
                               size_t n, int64_t now_ms)
{
  if (!n)
    return SS_OK;
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  return db__tx_end(db, update_locked(db, u, n, now_ms));
}

enum ss_err db_dl_file_enqueued(struct db *db, int64_t id,
                                const char *transfer_id, int64_t now_ms)
{
  return db__run(db, SD_FILE_ENQUEUED,
                 "UPDATE download_files SET state = 'enqueued',"
                 " transfer_id = ?1, enqueued_ms = ?2,"
                 " error = '', updated_ms = ?2 WHERE id = ?3"
                 " AND state = 'want'",
                 DB__VALS(DB__TEXT(transfer_id), DB__INT(now_ms), DB__INT(id)),
                 "file enqueued");
}

enum ss_err db_dl_file_defer(struct db *db, int64_t id, int64_t next_ms,
                             int64_t now_ms)
{
  return db__run(db, SD_FILE_DEFER,
                 "UPDATE download_files SET not_before_ms = ?1,"
                 " updated_ms = ?2 WHERE id = ?3",
                 DB__VALS(DB__INT(next_ms), DB__INT(now_ms), DB__INT(id)),
                 "file defer");
}

enum ss_err db_dl_file_fail(struct db *db, int64_t id, const char *error,
                            int64_t now_ms)
{
  return db__run(db, SD_FILE_FAIL,
                 "UPDATE download_files SET state = 'failed', error = ?1,"
                 " updated_ms = ?2 WHERE id = ?3 AND state IN " OPEN_STATES,
                 DB__VALS(DB__TEXT(error), DB__INT(now_ms), DB__INT(id)),
                 "file fail");
}

struct replacement {
  int64_t cf_id;
  char *username, *filename;
  int64_t size;
};

/* Candidates (sources) the request has asked files of. */
#define SOURCES_TRIED                                                         \
  " FROM download_files tf JOIN download_candidate_files tcf"                 \
  " ON tcf.id = tf.candidate_file_id WHERE tf.request_id = ?1"

static enum ss_err replacement_row(sqlite3_stmt *row, void *out)
{
  struct replacement *r = out;
  r->cf_id = sqlite3_column_int64(row, 0);
  r->username = db__col_dup(row, 1);
  r->filename = db__col_dup(row, 2);
  r->size = sqlite3_column_int64(row, 3);
  return SS_OK;
}

static enum ss_err find_replacement(struct db *db, int64_t req,
                                    const char *key, int max_sources,
                                    struct replacement *r)
{
  /* The best unused file of the track from a peer that has not failed
   * it, from a source already tried or, while fewer than max_sources
   * were, from a new one. */
  return db__get_one(
    db, SD_REPLACEMENT,
    "SELECT cf.id, c.username, cf.filename, cf.size"
    " FROM download_candidate_files cf JOIN download_candidates c"
    " ON c.id = cf.candidate_id WHERE cf.request_id = ?1"
    " AND cf.track_key = ?2 AND cf.used = 0 AND NOT EXISTS"
    " (SELECT 1 FROM download_files f WHERE f.request_id = ?1"
    "  AND f.track_key = ?2 AND f.username = c.username"
    "  AND f.state IN ('failed', 'cancelled'))"
    " AND (c.id IN (SELECT tcf.candidate_id" SOURCES_TRIED ")"
    "  OR (SELECT COUNT(DISTINCT tcf.candidate_id)" SOURCES_TRIED "  ) < ?3)"
    " ORDER BY c.rank, cf.id LIMIT 1",
    DB__VALS(DB__INT(req), DB__TEXT(key), DB__INT(max_sources)),
    replacement_row, r, "replacement");
}

static enum ss_err insert_replacement(struct db *db, int64_t req,
                                      const char *key,
                                      const struct replacement *r, int retries,
                                      int64_t not_before_ms, int64_t now_ms)
{
  struct db__q q;
  enum ss_err rc = db__prepare(
    db, SD_USE_ONE,
    "UPDATE download_candidate_files SET used = 1 WHERE id = ?", &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, r->cf_id);
  if ((rc = db__exec(&q, "candidate file use")))
    return rc;
  return db__run(db, SD_FILE_INSERT,
                 "INSERT INTO download_files (request_id, candidate_file_id,"
                 " username, filename, size, track_key, state, retries,"
                 " not_before_ms, created_ms, updated_ms)"
                 " VALUES (?, ?, ?, ?, ?, ?, 'want', ?, ?, ?, ?)",
                 DB__VALS(DB__INT(req), DB__INT(r->cf_id),
                          DB__TEXT(r->username), DB__TEXT(r->filename),
                          DB__INT(r->size), DB__TEXT(key), DB__INT(retries),
                          DB__INT(not_before_ms), DB__INT(now_ms),
                          DB__INT(now_ms)),
                 "replacement insert");
}

/* The request and track key of a file. */
struct file_key {
  int64_t req;
  char key[DL_TEXT_MAX * 2];
};

static enum ss_err file_key_row(sqlite3_stmt *row, void *out)
{
  struct file_key *k = out;
  k->req = sqlite3_column_int64(row, 0);
  db__col_text(row, 1, k->key, sizeof k->key);
  return SS_OK;
}

static enum ss_err replace_locked(struct db *db, int64_t id, int retries,
                                  int max_sources, int64_t not_before_ms,
                                  int64_t now_ms)
{
  struct db__q q;
  struct file_key k = {0, ""};
  enum ss_err
    rc = db__prepare(db, SD_FILE_KEY,
                     "SELECT request_id, track_key FROM download_files"
                     " WHERE id = ?",
                     &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  if ((rc = db__get(&q, file_key_row, &k, "file key")))
    return rc;
  struct replacement r = {0};
  rc = find_replacement(db, k.req, k.key, max_sources, &r);
  if (!rc)
    rc = insert_replacement(db, k.req, k.key, &r, retries, not_before_ms,
                            now_ms);
  free(r.username);
  free(r.filename);
  if (rc)
    return rc;
  return db__run(db, SD_SUPERSEDE,
                 "UPDATE download_files SET superseded = 1, updated_ms = ?"
                 " WHERE id = ?",
                 DB__VALS(DB__INT(now_ms), DB__INT(id)), "supersede");
}

enum ss_err db_dl_file_replace(struct db *db, int64_t id, int retries,
                               int max_sources, int64_t not_before_ms,
                               int64_t now_ms)
{
  enum ss_err rc = db__tx_begin(db);
  if (rc)
    return rc;
  return db__tx_end(db, replace_locked(db, id, retries, max_sources,
                                       not_before_ms, now_ms));
}

/* ---- import journal ---- */

enum ss_err db_dl_import_wait(struct db *db, int64_t id, const char *error,
                              int64_t now_ms)
{
  return db__run(db, SD_IMPORT_WAIT,
                 "UPDATE download_files SET import_tries = import_tries + 1,"
                 " error = ?1, updated_ms = ?2 WHERE id = ?3",
                 DB__VALS(DB__TEXT(error), DB__INT(now_ms), DB__INT(id)),
                 "import wait");
}

enum ss_err db_dl_import_begin(struct db *db, int64_t id, const char *src,
                               const char *dst, int64_t now_ms)
{
  return db__run(db, SD_IMPORT_BEGIN,
                 "UPDATE download_files SET state = 'importing',"
                 " import_src = ?1, import_dst = ?2, updated_ms = ?3"
                 " WHERE id = ?4 AND state IN ('completed', 'importing')",
                 DB__VALS(DB__TEXT(src), DB__TEXT(dst), DB__INT(now_ms),
                          DB__INT(id)),
                 "import begin");
}

enum ss_err db_dl_import_done(struct db *db, int64_t id, int64_t track_id,
                              int64_t now_ms)
{
  return db__run(db, SD_IMPORT_DONE,
                 "UPDATE download_files SET state = 'imported',"
                 " track_id = ?1, error = '', updated_ms = ?2 WHERE id = ?3",
                 DB__VALS(DB__INT(track_id), DB__INT(now_ms), DB__INT(id)),
                 "import done");
}

/* ---- roll-up ---- */

static enum ss_err counts_row(sqlite3_stmt *row, void *out)
{
  struct dl_file_counts *c = out;
  c->open = sqlite3_column_int(row, 0);
  c->imported = sqlite3_column_int(row, 1);
  c->failed = sqlite3_column_int(row, 2);
  c->total = sqlite3_column_int(row, 3);
  return SS_OK;
}

static enum ss_err last_error_row(sqlite3_stmt *row, void *out)
{
  struct dl_file_counts *c = out;
  db__col_text(row, 0, c->last_error, sizeof c->last_error);
  return SS_OK;
}

enum ss_err db_dl_request_counts(struct db *db, int64_t request_id,
                                 struct dl_file_counts *out)
{
  memset(out, 0, sizeof *out);
  enum ss_err rc = db__get_one(db, SD_COUNTS,
                               "SELECT COALESCE(SUM(state IN " OPEN_STATES
                               "), 0),"
                               " COALESCE(SUM(state = 'imported'), 0),"
                               " COALESCE(SUM(state = 'failed'), 0), COUNT(*)"
                               " FROM download_files WHERE request_id = ?"
                               " AND superseded = 0 AND state <> 'cancelled'",
                               DB__VALS(DB__INT(request_id)), counts_row, out,
                               "request counts");
  if (rc)
    return rc;
  rc = db__get_one(db, SD_LAST_ERROR,
                   "SELECT error FROM download_files WHERE request_id = ?"
                   " AND state = 'failed' ORDER BY updated_ms DESC, id DESC"
                   " LIMIT 1",
                   DB__VALS(DB__INT(request_id)), last_error_row, out,
                   "request last error");
  if (rc && rc != SS_ENOTFOUND)
    return rc;
  int64_t sources = 0;
  rc = db__get_one(db, SD_SOURCES_COUNT,
                   "SELECT COUNT(DISTINCT tcf.candidate_id)" SOURCES_TRIED,
                   DB__VALS(DB__INT(request_id)), db__row_int64, &sources,
                   "request sources");
  out->sources = (int)sources;
  return rc;
}

/* ---- sources tried ---- */

static enum ss_err source_row(sqlite3_stmt *st, void *out)
{
  struct dl_source *s = out;
  memset(s, 0, sizeof *s);
  s->rank = sqlite3_column_int(st, 0);
  db__col_text(st, 1, s->username, sizeof s->username);
  db__col_text(st, 2, s->directory, sizeof s->directory);
  db__col_text(st, 3, s->quality, sizeof s->quality);
  s->free_slot = sqlite3_column_int(st, 4) != 0;
  s->queue_length = sqlite3_column_int64(st, 5);
  s->upload_speed = sqlite3_column_int64(st, 6);
  s->files = sqlite3_column_int(st, 7);
  s->imported = sqlite3_column_int(st, 8);
  s->failed = sqlite3_column_int(st, 9);
  s->active = sqlite3_column_int(st, 10);
  s->first_ms = sqlite3_column_int64(st, 11);
  db__col_text(st, 12, s->error, sizeof s->error);
  return SS_OK;
}

enum ss_err db_dl_sources_of(struct db *db, int64_t request_id,
                             struct dl_source *out, size_t max, size_t *n)
{
  *n = 0;
  return db__list(db, SD_SOURCES,
                  "SELECT c.rank, c.username, c.directory, c.quality,"
                  " c.free_slot, c.queue_length, c.upload_speed, COUNT(*),"
                  " COALESCE(SUM(f.state = 'imported'), 0),"
                  " COALESCE(SUM(f.state = 'failed'), 0),"
                  " COALESCE(SUM(f.state IN " OPEN_STATES "), 0),"
                  " MIN(f.created_ms),"
                  " COALESCE((SELECT e.error FROM download_files e"
                  "  JOIN download_candidate_files ecf"
                  "  ON ecf.id = e.candidate_file_id"
                  "  WHERE ecf.candidate_id = c.id AND e.request_id = ?1"
                  "  AND e.state = 'failed' ORDER BY e.id DESC LIMIT 1), '')"
                  " FROM download_files f JOIN download_candidate_files cf"
                  " ON cf.id = f.candidate_file_id JOIN download_candidates c"
                  " ON c.id = cf.candidate_id WHERE f.request_id = ?1"
                  " GROUP BY c.id ORDER BY MIN(f.id) LIMIT ?2",
                  DB__VALS(DB__INT(request_id), DB__INT((int64_t)max)),
                  source_row, out, sizeof *out, max, n, "sources");
}

const char *db_dl_source_state(const struct dl_source *s)
{
  if (s->active)
    return "downloading";
  if (!s->failed)
    return s->imported ? "completed" : "cancelled";
  return s->imported ? "partly failed" : "failed";
}

enum ss_err db_dl_requests_settled(struct db *db, int64_t *ids, size_t max,
                                   size_t *n)
{
  *n = 0;
  return db__list(db, SD_SETTLED,
                  "SELECT r.id FROM download_requests r"
                  " WHERE r.state = 'downloading' AND NOT EXISTS"
                  " (SELECT 1 FROM download_files f WHERE f.request_id = r.id"
                  "  AND f.state IN " OPEN_STATES ") ORDER BY r.id LIMIT ?",
                  DB__VALS(DB__INT((int64_t)max)), db__row_int64, ids,
                  sizeof *ids, max, n, "settled requests");
}

enum ss_err db_dl_files_to_cancel(struct db *db, struct dl_files *out,
                                  size_t max)
{
  struct db__q q;
  memset(out, 0, sizeof *out);
  enum ss_err rc = db__prepare(
    db, SD_TO_CANCEL,
    "SELECT " FILE_COLS FILE_FROM " WHERE r.state = 'cancelled'"
    " AND f.state IN ('enqueued', 'queued', 'in_progress')"
    " ORDER BY f.id LIMIT ?1",
    &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, limit_of(max));
  return collect_files(&q, out);
}

/* ---- gauges ---- */

static enum ss_err gauges_row(sqlite3_stmt *row, void *out)
{
  struct dl_gauges *g = out;
  g->in_progress = sqlite3_column_int64(row, 0);
  g->queued = sqlite3_column_int64(row, 1);
  g->importing = sqlite3_column_int64(row, 2);
  return SS_OK;
}

enum ss_err db_dl_gauges(struct db *db, struct dl_gauges *out)
{
  struct db__q q;
  memset(out, 0, sizeof *out);
  enum ss_err rc = db__prepare(
    db, SD_GAUGES,
    "SELECT COALESCE(SUM(state = 'in_progress'), 0),"
    " COALESCE(SUM(state IN ('want', 'enqueued', 'queued')), 0),"
    " COALESCE(SUM(state IN ('completed', 'importing')), 0)"
    " FROM download_files WHERE state IN " OPEN_STATES,
    &q);
  if (!rc)
    rc = db__get(&q, gauges_row, out, "download gauges");
  if (!rc)
    rc = db__prepare(db, SD_GAUGE_REQS,
                     "SELECT COUNT(*) FROM download_requests"
                     " WHERE state IN ('pending', 'searching')",
                     &q);
  return rc ? rc : db__scalar(&q, &out->searching, "searching gauge");
}

/* ---- Spotify ids ---- */

static bool table_exists(struct db *db, const char *name)
{
  int64_t one = 0;
  return db__get_one(
           db, SD_TABLE_EXISTS,
           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
           DB__VALS(DB__TEXT(name)), db__row_int64, &one,
           "table exists") == SS_OK;
}

static enum ss_err spotify_item_row(sqlite3_stmt *row, void *out)
{
  struct dl_spotify_item *s = out;
  db__col_text(row, 0, s->title, sizeof s->title);
  db__col_text(row, 1, s->artist, sizeof s->artist);
  s->tracks = sqlite3_column_int(row, 2);
  return SS_OK;
}

enum ss_err db_dl_spotify_lookup(struct db *db, bool album, const char *id,
                                 struct dl_spotify_item *out)
{
  static const char album_sql[] = "SELECT name, artist_name, total_tracks"
                                  " FROM spotify_albums WHERE id = ?";
  static const char track_sql[] = "SELECT name, artist_names, 0"
                                  " FROM spotify_tracks WHERE id = ?";
  struct db__q q;
  memset(out, 0, sizeof *out);
  if (!table_exists(db, album ? "spotify_albums" : "spotify_tracks"))
    return SS_ESTATE;
  if (db__prepare(db, album ? SD_SPOTIFY_ALBUM : SD_SPOTIFY_TRACK,
                  album ? album_sql : track_sql, &q))
    return SS_ESTATE; /* a library of another shape */
  db__bind_text(&q, 1, id);
  return db__get(&q, spotify_item_row, out, "spotify lookup");
}

/* ---- quality upgrade ---- */

enum ss_err db_dl_request_add_upgrade(struct db *db,
                                      const struct dl_request *r,
                                      const struct dl_upgrade *u, int64_t *id)
{
  int64_t rid = 0;
  enum ss_err rc = db__tx_begin(db);
  if (!rc)
    rc = db_dl_request_add(db, r, &rid);
  if (!rc)
    rc = db__run(db, SD_UPGRADE_SET,
                 "UPDATE download_requests SET"
                 " upgrade_track_id = ?2, upgrade_format = ?3,"
                 " upgrade_kbps = ?4, upgrade_vbr = ?5,"
                 " upgrade_bit_depth = ?6,"
                 " upgrade_sample_rate = ?7 WHERE id = ?1",
                 DB__VALS(DB__INT(rid), DB__INT(u->track_id),
                          DB__TEXT(u->format), DB__INT(u->bitrate_kbps),
                          DB__INT(u->vbr), DB__INT(u->bit_depth),
                          DB__INT(u->sample_rate)),
                 "download request upgrade");
  rc = db__tx_end(db, rc);
  if (!rc && id)
    *id = rid;
  return rc;
}

static enum ss_err upgrade_row(sqlite3_stmt *st, void *arg)
{
  struct dl_upgrade *out = arg;
  out->track_id = sqlite3_column_int64(st, 0);
  db__col_text(st, 1, out->format, sizeof out->format);
  out->bitrate_kbps = sqlite3_column_int(st, 2);
  out->vbr = sqlite3_column_int(st, 3) != 0;
  out->bit_depth = sqlite3_column_int(st, 4);
  out->sample_rate = sqlite3_column_int(st, 5);
  return SS_OK;
}

enum ss_err db_dl_request_upgrade(struct db *db, int64_t id,
                                  struct dl_upgrade *out)
{
  memset(out, 0, sizeof *out);
  return db__get_one(db, SD_UPGRADE_GET,
                     "SELECT upgrade_track_id, upgrade_format,"
                     " upgrade_kbps, upgrade_vbr, upgrade_bit_depth,"
                     " upgrade_sample_rate FROM download_requests"
                     " WHERE id = ?1",
                     DB__VALS(DB__INT(id)), upgrade_row, out,
                     "download request upgrade get");
}
