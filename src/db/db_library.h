/*
 * db_library.h - the local music library in the store: one row per audio
 * file under the library root, plus duplicate findings and the quarantine.
 *
 * Writers: the library scanner (Duplicate Detector's first step), the
 * import of finished downloads (Download Monitor).  A track is identified by
 * its path below the library root; `size` and `mtime_ns` let the scanner
 * skip unchanged files.  Same threading rules as db.h.
 */
#ifndef SS_DB_LIBRARY_H
#define SS_DB_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/media_info.h"
#include "db/db.h"

#define LIBRARY_PATH_MAX 4096
#define LIBRARY_KEY_MAX 512 /* a normalised "artist|title" (DUPES_KEY_MAX) */

struct library_track {
  int64_t id;                  /* 0 for a new row */
  char path[LIBRARY_PATH_MAX]; /* absolute path */
  int64_t size;
  int64_t mtime_ns;
  struct media_info media;
  char spotify_track_id[64]; /* "" when unknown */
  int64_t download_id;       /* 0 when not from a download request */
  bool gone;                 /* vanished from disk */
  /* Added by the library scanner; zero-initialised callers are fine. */
  bool unreadable;             /* exists but could not be probed */
  char unreadable_reason[160]; /* why ("analysis crashed: signal 11") */
  bool quarantined;            /* moved to the quarantine (read only) */
  /* The metadata key (dupes_track_key()), written with the row when
   * has_norm_key; otherwise the row has none until the next detection. */
  bool has_norm_key;
  char norm_key[LIBRARY_KEY_MAX];
};

/* Inserts or updates the row with the same path, in one transaction;
 * *id gets its id (may be NULL).  A changed size or mtime forgets the
 * content hash and fingerprint.  The metadata key is t->norm_key when
 * t->has_norm_key (the scanner and the import compute it), else none: the
 * next detection computes it. */
enum ss_err db_library_track_upsert(struct db *db,
                                    const struct library_track *t,
                                    int64_t *id);
/* SS_OK and *out filled, or SS_ENOTFOUND. */
enum ss_err db_library_track_by_path(struct db *db, const char *path,
                                     struct library_track *out);
/* SS_OK and *out filled, or SS_ENOTFOUND. */
enum ss_err db_library_track_by_id(struct db *db, int64_t id,
                                   struct library_track *out);

/* ---- scanner ---- */

/* What the scanner needs to know about a path it meets again. */
struct library_seen {
  int64_t id;
  int64_t size;
  int64_t mtime_ns;
  bool has_hash;        /* file_hash computed */
  bool has_fingerprint; /* fingerprint computed (or known impossible) */
  bool quarantined;
  bool gone;
};

#define LIBRARY_HASH_HEX 33 /* XXH3-128 as 32 hex digits + NUL */

/* One file of a scan batch. */
struct library_scan_item {
  struct library_track t; /* path always; the rest when probed */
  bool probed;            /* new or changed: every field of t written */
  bool set_hash;
  char file_hash[LIBRARY_HASH_HEX];
  bool set_fingerprint; /* fp_n may be 0: cannot be fingerprinted */
  uint32_t fp[MEDIA_FP_MAX_ITEMS];
  size_t fp_n;
};

/* Starts a scan: *gen gets a new scan generation. */
enum ss_err db_library_scan_begin(struct db *db, int64_t *gen);
/* SS_OK and *out filled, or SS_ENOTFOUND. */
enum ss_err db_library_seen(struct db *db, const char *path,
                            struct library_seen *out);
/* Writes a batch in one transaction: probed items are upserted (size or
 * mtime change forgets hash and fingerprint), the others only marked seen;
 * every item is marked present in generation gen. */
enum ss_err db_library_scan_write(struct db *db, int64_t gen,
                                  const struct library_scan_item *items,
                                  size_t n);

/* A live row that the scan of generation gen did not see. */
typedef void (*db_library_path_fn)(void *arg, int64_t id, const char *path);
enum ss_err db_library_unseen(struct db *db, int64_t gen,
                              db_library_path_fn fn, void *arg);
/* Marks rows gone, in one transaction. */
enum ss_err db_library_mark_gone(struct db *db, const int64_t *ids, size_t n);
/* A file is at the path of a quarantined row again.  restored (the
 * quarantined copy is gone: moved back by hand) closes its entries;
 * otherwise a new file took the path and the entries stay (an undo will
 * refuse to overwrite it) but no longer own the row. */
enum ss_err db_library_unquarantine(struct db *db, int64_t track_id,
                                    bool restored, int64_t now_ms);

struct library_counts {
  int64_t live;       /* present and readable */
  int64_t unreadable; /* present, could not be probed */
  int64_t gone;
  int64_t quarantined;
};
enum ss_err db_library_counts(struct db *db, struct library_counts *out);

/* Present files the scanner could not read (gone = 0, unreadable = 1), by
 * id from offset: up to max into out (*n of them; max 0 only counts) and
 * *total of them in all.  unreadable_reason says why. */
enum ss_err db_library_unreadable_list(struct db *db, int64_t offset,
                                       struct library_track *out, size_t max,
                                       size_t *n, int64_t *total);

/* ---- metadata keys ---- */

struct library_key_input {
  int64_t id;
  char artist[MEDIA_TEXT_MAX];
  char album_artist[MEDIA_TEXT_MAX];
  char title[MEDIA_TEXT_MAX];
  char file_name[MEDIA_TEXT_MAX]; /* the path's last part (truncated) */
};
/* Up to max rows whose metadata key is missing or outdated, id >
 * after_id, by id. */
enum ss_err db_library_keys_missing(struct db *db, int64_t after_id,
                                    struct library_key_input *out, size_t max,
                                    size_t *n);
/* file_name of a key input: the path's last part, cut to n - 1 bytes. */
void db_library_key_file_name(const char *path, char *out, size_t n);
/* How many tracks have no metadata key yet. */
enum ss_err db_library_keys_pending(struct db *db, int64_t *n);
/* Drops (false) or (re)creates (true) the index over the keys of live
 * tracks: filling a million keys and then indexing them once is several
 * times faster than keeping the index up to date row by row.  Creating is
 * idempotent. */
enum ss_err db_library_keys_index(struct db *db, bool on);
/* Stores keys[i] for ids[i] in one transaction. */
enum ss_err db_library_keys_store(struct db *db, const int64_t *ids,
                                  const char *const *keys, size_t n);

/* ---- duplicate candidates ---- */

/* A live track as duplicate detection sees it. */
struct library_dupe_row {
  int64_t id;
  int64_t duration_ms;
  bool lossless;
  int bit_depth;
  int sample_rate;
  int64_t bitrate;
  int tag_score;
  const char *key;    /* metadata key or file hash (valid during the call) */
  const char *label;  /* "Artist – Title" (valid during the call) */
  const uint32_t *fp; /* fingerprint rows only */
  size_t fp_n;
};
/* Returns SS_OK to go on, anything else stops the iteration (returned). */
typedef enum ss_err (*db_library_row_fn)(void *arg,
                                         const struct library_dupe_row *r);
/* Live rows sharing their metadata key with another live row, ordered by
 * key, then duration, then id.  Reads the keys in index order; a big
 * library is read by two threads (the caller's and one more, on a
 * connection of its own, for the duration of the call). */
enum ss_err db_library_meta_candidates(struct db *db, db_library_row_fn fn,
                                       void *arg);
/* Live rows sharing their file hash with another live row, by hash. */
enum ss_err db_library_hash_candidates(struct db *db, db_library_row_fn fn,
                                       void *arg);
/* Live rows with a usable fingerprint, ordered by duration. */
enum ss_err db_library_fp_rows(struct db *db, db_library_row_fn fn, void *arg);

/* ---- duplicate groups ---- */

#define LIBRARY_GROUP_KEY_MAX 600
#define LIBRARY_LABEL_MAX 520

/* One finding of a detection pass. */
struct library_group_in {
  const char *key; /* "<method>:<material>" */
  /* When set, a known group whose key starts with this prefix and that
   * shares a member is the same finding (keeps its identity when members
   * come and go); NULL = exact key only. */
  const char *match_prefix;
  const char *method; /* "metadata-hash", "file-hash", "fingerprint" */
  const char *label;
  int64_t suggested_keep;
  const int64_t *members; /* track ids, ascending */
  size_t n_members;
};

/*
 * Records one detection pass in one transaction.  A finding is matched to
 * a known group by key, else (match_prefix) by a shared member; each
 * known group matches at most one finding per pass.  A new finding is
 * inserted
 * (counted in *new_count); an open or stale group gets its members
 * refreshed and is open again; a resolved group seen again with live
 * copies is reopened (counted as new); a dismissed group stays dismissed.
 * Open groups of earlier passes not seen now become stale (hidden).
 * *open_count gets the open groups after the pass.
 */
enum ss_err db_library_groups_sync(struct db *db,
                                   const struct library_group_in *g, size_t n,
                                   int64_t now_ms, size_t *new_count,
                                   size_t *open_count);

struct library_group {
  int64_t id;
  char key[LIBRARY_GROUP_KEY_MAX];
  char method[24];
  char label[LIBRARY_LABEL_MAX];
  char status[12]; /* open, resolved, dismissed, stale */
  int64_t suggested_keep;
  int64_t keep; /* the user's choice, 0 = the suggestion */
  int64_t first_seen_ms, last_seen_ms, resolved_ms;
  int64_t n_members;
};

/* Groups with status ("open", "resolved", "dismissed"), newest first;
 * *total gets the count of all such groups. */
enum ss_err db_library_groups_list(struct db *db, const char *status,
                                   int64_t offset, struct library_group *out,
                                   size_t max, size_t *n, int64_t *total);
enum ss_err db_library_group_get(struct db *db, int64_t id,
                                 struct library_group *out);

/* Members of a group (rank order is the caller's business). */
typedef void (*db_library_member_fn)(void *arg, const struct library_track *t);
enum ss_err db_library_group_members(struct db *db, int64_t group_id,
                                     db_library_member_fn fn, void *arg);
/* Sets the keeper; SS_ENOTFOUND when track_id is not a member. */
enum ss_err db_library_group_set_keep(struct db *db, int64_t group_id,
                                      int64_t track_id);
/* "open", "resolved" or "dismissed". */
enum ss_err db_library_group_set_status(struct db *db, int64_t group_id,
                                        const char *status, int64_t now_ms);

/* ---- quarantine ---- */

struct library_quarantine_entry {
  int64_t id;
  int64_t group_id;
  int64_t track_id;
  char original_path[LIBRARY_PATH_MAX];
  char quarantine_path[LIBRARY_PATH_MAX];
  int64_t size;
  int64_t moved_ms;
  char pending[8]; /* "" settled, "resolve" / "undo": a journaled move */
};

/*
 * The journal of quarantine moves (see schema_library.c): a resolve
 * journals its intent (_intend: pending "resolve", the track untouched),
 * moves, then commits (_commit: pending "", the track quarantined, in one
 * transaction) or drops the intent (_drop).  An undo marks the entry
 * pending "undo" (_set_pending true), moves back, then records it
 * (_restored) or clears the mark (_set_pending false).
 */
enum ss_err db_library_quarantine_intend(
  struct db *db, const struct library_quarantine_entry *e, int64_t *id);
/* SS_ENOTFOUND when entry_id is not a pending resolve. */
enum ss_err db_library_quarantine_commit(struct db *db, int64_t entry_id);
enum ss_err db_library_quarantine_drop(struct db *db, int64_t entry_id);
/* SS_ENOTFOUND when entry_id is not in the quarantine. */
enum ss_err db_library_quarantine_set_pending(struct db *db, int64_t entry_id,
                                              bool undo);
/* Every pending entry (max), oldest first. */
enum ss_err db_library_quarantine_pending(struct db *db,
                                          struct library_quarantine_entry *out,
                                          size_t max, size_t *n);
/* Resolved groups with nothing left in the quarantine are open again;
 * *n (may be NULL) gets how many. */
enum ss_err db_library_groups_reopen_empty(struct db *db, int64_t now_ms,
                                           size_t *n);

/* Records a settled move into the quarantine (intend + commit). */
enum ss_err
db_library_quarantine_add(struct db *db,
                          const struct library_quarantine_entry *e);
/* Entries of a group in the quarantine (max entries; not those of a
 * pending resolve). */
enum ss_err
db_library_quarantine_of_group(struct db *db, int64_t group_id,
                               struct library_quarantine_entry *out,
                               size_t max, size_t *n);
/* Entry id is back at its original path: marks it restored (no longer
 * pending) and its track present again, in one transaction. */
enum ss_err db_library_quarantine_restored(struct db *db, int64_t entry_id,
                                           int64_t now_ms);
/* The active entry of a track (SS_ENOTFOUND when none). */
enum ss_err
db_library_quarantine_of_track(struct db *db, int64_t track_id,
                               struct library_quarantine_entry *out);

/* ---- ownership (automation) ---- */

/* What ownership (src/automation/ownership.c) reads of a track; the
 * strings are valid during the call only. */
struct library_own_row {
  const char *artist, *album_artist, *album, *title;
  const char *spotify_track_id, *mb_recording_id, *mb_release_group_id;
};
/* Calls fn for every track present (not gone, not quarantined); fn
 * returns SS_OK to go on, anything else stops the walk (returned). */
typedef enum ss_err (*db_library_own_fn)(void *arg,
                                         const struct library_own_row *r);
enum ss_err db_library_own_rows(struct db *db, db_library_own_fn fn,
                                void *arg);

/* ---- quality upgrade ---- */

/* A live track as the quality upgrade sees it (strings valid during the
 * call). */
struct library_quality_row {
  int64_t id;
  const char *codec; /* measured by the scanner, never the extension */
  int64_t bitrate;   /* bit/s */
  int bit_depth;
  int sample_rate;
  const char *artist, *album_artist, *title, *album;
};
typedef enum ss_err (*db_library_quality_fn)(
  void *arg, const struct library_quality_row *r);
/* Every present, readable, not quarantined track that no quality_upgrade
 * item of the Wanted list names (whatever its state: the item's ladder
 * decides when it is tried again), by id.  fn returns SS_OK to go on. */
enum ss_err db_library_upgrade_rows(struct db *db, db_library_quality_fn fn,
                                    void *arg);
/*
 * The duplicate group of a quality upgrade of track old_id (key
 * "upgrade:<old_id>", method "quality-upgrade", the old track a member):
 * created hidden (status stale) when new, so that the file moved into the
 * quarantine under it can be restored by the duplicates undo.  *group_id
 * gets its id.
 */
enum ss_err db_library_upgrade_group(struct db *db, int64_t old_id,
                                     const char *label, int64_t now_ms,
                                     int64_t *group_id);
/* The upgrade is in place: new_id (may be 0: not recorded yet) becomes a
 * member and the keeper, the group resolved, in one transaction. */
enum ss_err db_library_upgrade_group_done(struct db *db, int64_t group_id,
                                          int64_t new_id, int64_t now_ms);

#endif
