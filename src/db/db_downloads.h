/*
 * db_downloads.h - download requests, their search candidates and the
 * transfers and imports of their files, in the store.
 *
 * Writers: the HTTP API (new request, cancel) and the Download Monitor
 * (everything else).  States are described in schema_downloads.c.  Every
 * function that changes more than one row does so in one transaction, so
 * a crash leaves either the old or the new state.  Same threading rules
 * as db.h (one connection per thread).
 */
#ifndef SS_DB_DOWNLOADS_H
#define SS_DB_DOWNLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DL_TEXT_MAX 256
#define DL_QUERY_MAX 512
#define DL_ID_MAX 40
#define DL_STATE_MAX 16
#define DL_ERROR_MAX 256
#define DL_MBID_MAX 40 /* 36 + NUL, rounded */

enum dl_kind { DL_TRACK, DL_ALBUM };

struct dl_request {
  int64_t id;
  enum dl_kind kind;
  char query[DL_QUERY_MAX]; /* the search text sent to slskd */
  char artist[DL_TEXT_MAX];
  char title[DL_TEXT_MAX]; /* track or album title ("" if unknown) */
  char spotify_id[64];     /* Spotify track or album id, or "" */
  int expected_tracks;     /* album: tracks known (0 = unknown) */
  char state[DL_STATE_MAX];
  char search_id[DL_ID_MAX];
  int64_t search_started_ms;
  int search_tries;
  int64_t next_try_ms;
  char error[DL_ERROR_MAX];
  int64_t created_ms, updated_ms, finished_ms;
  /* what the request is for in MusicBrainz (a Wanted item's ids), "" when
   * unknown: the import writes them into the library row when the files
   * carry none, and fetches cover.jpg with them */
  char mb_release_group_id[DL_MBID_MAX];
  char mb_release_id[DL_MBID_MAX];
};

/* A request with its files summed up (lists and the page). */
struct dl_request_view {
  struct dl_request r;
  int files_total; /* current files (replaced failures not counted) */
  int files_imported;
  int files_failed;
  int files_active; /* want .. importing */
  int64_t bytes_total, bytes_done;
  char username[128]; /* peer of the newest current file, or "" */
};

/* Inserts r (state pending); *id gets its id. */
enum ss_err db_dl_request_add(struct db *db, const struct dl_request *r,
                              int64_t *id);
/* SS_OK and *out filled, or SS_ENOTFOUND. */
enum ss_err db_dl_request_get(struct db *db, int64_t id,
                              struct dl_request_view *out);
/* Newest first; state NULL = all.  *total gets the count of matches. */
enum ss_err db_dl_request_list(struct db *db, const char *state,
                               int64_t offset, struct dl_request_view *out,
                               size_t max, size_t *n, int64_t *total);
/* How many requests ("requests") and current files ("files": not
 * superseded by a retry) are in each state; fn is called once per
 * (table, state) that has any, in state order (GET /metrics). */
typedef void (*db_dl_state_count_fn)(void *arg, const char *table,
                                     const char *state, int64_t count);
enum ss_err db_dl_state_counts(struct db *db, db_dl_state_count_fn fn,
                               void *arg);
/* Requests in state (e.g. "pending"), oldest first. */
enum ss_err db_dl_requests_in(struct db *db, const char *state,
                              struct dl_request *out, size_t max, size_t *n);
/* Sets state and error ("" clears); finished_ms when terminal. */
enum ss_err db_dl_request_set_state(struct db *db, int64_t id,
                                    const char *state, const char *error,
                                    int64_t now_ms);
/* Search started (state searching) or to be retried (state pending). */
enum ss_err db_dl_request_searching(struct db *db, int64_t id,
                                    const char *search_id, int64_t now_ms);
enum ss_err db_dl_request_retry_search(struct db *db, int64_t id,
                                       int64_t next_ms, const char *error,
                                       int64_t now_ms);
/* A finished search to repeat with another text: query set, state
 * pending (only from searching). */
enum ss_err db_dl_request_search_again(struct db *db, int64_t id,
                                       const char *query, int64_t now_ms);
/* Cancels a request that is not finished, in one transaction: state
 * cancelled, every 'want' file cancelled.  Transfers already in slskd are
 * cancelled by the monitor.  SS_ENOTFOUND, SS_ESTATE when finished. */
enum ss_err db_dl_request_cancel(struct db *db, int64_t id, int64_t now_ms);

/* ---- candidates ---- */

struct dl_cand_file {
  const char *filename;
  int64_t size;
  const char *track_key;
};

struct dl_candidate {
  const char *username;
  const char *directory;
  const char *quality; /* e.g. "flac 16/44.1" */
  int64_t total_size;
  bool free_slot;
  int64_t queue_length, upload_speed;
  const struct dl_cand_file *files;
  size_t n_files;
};

/*
 * Stores the ranked candidates of a finished search and, in the same
 * transaction, queues the files of the best one (state want) and moves the
 * request to downloading.  With n == 0 the request fails with error.
 */
enum ss_err db_dl_search_done(struct db *db, int64_t request_id,
                              const struct dl_candidate *c, size_t n,
                              const char *error, int64_t now_ms);

/* ---- files ---- */

/* A file row (and what the engine needs of its request).  The strings
 * share one heap block per row (a poll loads 10 000 rows), never NULL,
 * "" when unset; released by db_dl_file_free / db_dl_files_free. */
struct dl_file {
  int64_t id, request_id;
  char *username, *filename, *track_key;
  char *import_src, *import_dst;
  char *slskd_state, *error;
  char *req_artist, *req_title, *spotify_id; /* of the request */
  char transfer_id[DL_ID_MAX];
  char state[DL_STATE_MAX];
  char req_state[DL_STATE_MAX];
  char mb_release_group_id[DL_MBID_MAX]; /* of the request, or "" */
  char mb_release_id[DL_MBID_MAX];
  enum dl_kind kind;
  int64_t size, bytes;
  double percent;
  int retries, import_tries;
  int64_t not_before_ms, enqueued_ms, progress_ms;
  char *strings_; /* the block behind the pointers above */
};

struct dl_files {
  struct dl_file *v;
  size_t n;
};

/* Every file not yet terminal (want .. importing), in no set order. */
enum ss_err db_dl_files_open(struct db *db, struct dl_files *out);
/* One file (any state). */
enum ss_err db_dl_file_get(struct db *db, int64_t id, struct dl_file *out);
void db_dl_file_free(struct dl_file *f);
void db_dl_files_free(struct dl_files *f);
/* Files of a request (newest first), for the API; max rows. */
enum ss_err db_dl_files_of(struct db *db, int64_t request_id,
                           struct dl_files *out, size_t max);

/* A change observed by a poll; NULL strings keep the stored value. */
struct dl_file_update {
  int64_t id;
  const char *state;
  const char *slskd_state;
  const char *transfer_id;
  const char *error;
  int64_t bytes;
  double percent;
  int64_t progress_ms;
};
/* Applies n updates in one transaction. */
enum ss_err db_dl_files_update(struct db *db, const struct dl_file_update *u,
                               size_t n, int64_t now_ms);

/* Enqueue answered: state enqueued, transfer id (may be ""). */
enum ss_err db_dl_file_enqueued(struct db *db, int64_t id,
                                const char *transfer_id, int64_t now_ms);
/* Enqueue to retry later (429): not before next_ms. */
enum ss_err db_dl_file_defer(struct db *db, int64_t id, int64_t next_ms,
                             int64_t now_ms);
/* Terminal failure of one file (any open state). */
enum ss_err db_dl_file_fail(struct db *db, int64_t id, const char *error,
                            int64_t now_ms);

/*
 * A replacement for failed file id: the best unused candidate file (by
 * candidate rank) of the same request with the same track key from a
 * peer that has not failed this track yet, from a source (candidate) the
 * request already asked files of or, while it has asked fewer than
 * max_sources, from a new one.  In one transaction: marks it used,
 * inserts a want row (retries, not before not_before_ms) and marks id
 * superseded.  SS_ENOTFOUND when there is none (nothing changes).
 */
enum ss_err db_dl_file_replace(struct db *db, int64_t id, int retries,
                               int max_sources, int64_t not_before_ms,
                               int64_t now_ms);

/* ---- import journal ---- */

/* Import must wait (finished file not there yet): import_tries + 1. */
enum ss_err db_dl_import_wait(struct db *db, int64_t id, const char *error,
                              int64_t now_ms);
/* Journals the move before it happens: state importing, src and dst. */
enum ss_err db_dl_import_begin(struct db *db, int64_t id, const char *src,
                               const char *dst, int64_t now_ms);
/* The file is in the library as track_id: state imported. */
enum ss_err db_dl_import_done(struct db *db, int64_t id, int64_t track_id,
                              int64_t now_ms);

/* ---- roll-up ---- */

struct dl_file_counts {
  int open; /* want .. importing */
  int imported;
  int failed;  /* failed and not replaced */
  int total;   /* not superseded, not cancelled */
  int sources; /* candidates the request asked files of */
  char last_error[DL_ERROR_MAX];
};
enum ss_err db_dl_request_counts(struct db *db, int64_t request_id,
                                 struct dl_file_counts *out);
/* ---- sources tried ---- */

/* A candidate the request asked files of, with what became of them. */
struct dl_source {
  int rank; /* 0 = the search's best */
  char username[128];
  char directory[DL_TEXT_MAX * 2];
  char quality[32];
  bool free_slot;
  int64_t queue_length, upload_speed;
  int files, imported, failed, active; /* files asked of it */
  int64_t first_ms;                    /* when first asked */
  char error[DL_ERROR_MAX];            /* its newest failure, or "" */
};
/* The sources of a request in the order they were tried (at most max). */
enum ss_err db_dl_sources_of(struct db *db, int64_t request_id,
                             struct dl_source *out, size_t max, size_t *n);
/* "downloading", "completed", "failed", "partly failed" or "cancelled". */
const char *db_dl_source_state(const struct dl_source *s);

/* Requests in state downloading whose files are all terminal. */
enum ss_err db_dl_requests_settled(struct db *db, int64_t *ids, size_t max,
                                   size_t *n);
/* Open files of cancelled requests that slskd still has (id, user,
 * transfer id; at most max). */
enum ss_err db_dl_files_to_cancel(struct db *db, struct dl_files *out,
                                  size_t max);

/* ---- gauges ---- */

struct dl_gauges {
  int64_t in_progress; /* in_progress */
  int64_t queued;      /* want, enqueued, queued */
  int64_t importing;   /* completed, importing */
  int64_t searching;   /* requests pending or searching */
};
enum ss_err db_dl_gauges(struct db *db, struct dl_gauges *out);

/* ---- Spotify ids (the library mirror may not exist yet) ---- */

struct dl_spotify_item {
  char artist[DL_TEXT_MAX];
  char title[DL_TEXT_MAX]; /* track or album name */
  int tracks;              /* album: track count (0 = unknown) */
};
/*
 * Looks up a Spotify track (album = false) or album id in the synced
 * library.  SS_OK; SS_ENOTFOUND when no such row; SS_ESTATE when the
 * Spotify library tables do not exist (sync not available yet).
 */
enum ss_err db_dl_spotify_lookup(struct db *db, bool album, const char *id,
                                 struct dl_spotify_item *out);

/* ---- quality upgrade ---- */

/* What an upgrade request replaces: the library track and the measured
 * quality of its file (quality.h's struct quality_input fields). */
struct dl_upgrade {
  int64_t track_id; /* 0: not an upgrade */
  char format[8];   /* canonical: "mp3", "flac", ... */
  int bitrate_kbps;
  bool vbr;
  int bit_depth;
  int sample_rate;
};
/* Inserts r (state pending) with what it upgrades (u->track_id set), in
 * one transaction; *id gets its id. */
enum ss_err db_dl_request_add_upgrade(struct db *db,
                                      const struct dl_request *r,
                                      const struct dl_upgrade *u, int64_t *id);
/* The upgrade of request id (track_id 0 for a plain request).  SS_OK or
 * SS_ENOTFOUND (no such request). */
enum ss_err db_dl_request_upgrade(struct db *db, int64_t id,
                                  struct dl_upgrade *out);

#endif
