/*
 * db_spotify.h - the Spotify domain in the store: the connected login, the
 * synced library (followed artists, albums, playlists with their entries,
 * liked songs) and the per-type sync status.
 *
 * Callers hand plain structs whose strings they own (borrowed for the call;
 * NULL reads as "").  Text is cut at SPOTIFY_TEXT_MAX bytes on a UTF-8
 * boundary, so a hostile reply cannot grow a row without bound.  Every
 * write that belongs together is one transaction inside one call: a crash
 * leaves either the old or the new state of a list, never half of it, and
 * rows are keyed by Spotify id so a repeated write never duplicates.
 *
 * Same threading rules as db.h: one struct db per thread.  List callbacks
 * run while a statement is active and must not use the same struct db.
 */
#ifndef SS_DB_SPOTIFY_H
#define SS_DB_SPOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define SPOTIFY_TEXT_MAX 1024
#define SPOTIFY_TOKEN_MAX 1024
#define SPOTIFY_ID_MAX 128

/* ---- the login ---- */

struct db_spotify_account {
  char access_token[SPOTIFY_TOKEN_MAX];  /* secret */
  char refresh_token[SPOTIFY_TOKEN_MAX]; /* secret */
  int64_t expires_at_ms;                 /* wall clock */
  char scopes[512];
  int64_t authorised_at_ms; /* the consent; the refresh token dies 6 months
                               later whatever refreshes happen */
  int64_t refreshed_at_ms;
  char user_id[SPOTIFY_ID_MAX];
  char display_name[256];
  char reauth_reason[256]; /* non-empty: Spotify refused the refresh token */
};

/* SS_OK and *out filled, or SS_ENOTFOUND when no login is stored. */
enum ss_err db_spotify_account_load(struct db *db,
                                    struct db_spotify_account *out);
/* Replaces the stored login. */
enum ss_err db_spotify_account_save(struct db *db,
                                    const struct db_spotify_account *a);
enum ss_err db_spotify_account_delete(struct db *db);

/* ---- sync status per type ("artists", "playlists", ...) ---- */

struct db_spotify_sync_status {
  char type[32];
  int64_t last_attempt_ms;
  int64_t last_ok_ms;
  int64_t items;
  char last_result[256];
  char last_error[256];
  char marker[256]; /* what the type remembers to detect "unchanged" */
};

typedef void (*db_spotify_status_fn)(void *arg,
                                     const struct db_spotify_sync_status *s);
enum ss_err db_spotify_status_load(struct db *db, db_spotify_status_fn fn,
                                   void *arg);
enum ss_err db_spotify_status_store(struct db *db,
                                    const struct db_spotify_sync_status *s);

/* ---- library rows as read from the Web API ---- */

struct sp_artist {
  const char *id, *name, *uri, *image_url, *genres;
};

struct sp_album {
  const char *id, *name, *artist_id, *artist_name, *album_type;
  const char *release_date, *image_url, *upc;
  const char *saved_at;    /* saved albums */
  const char *album_group; /* artist albums */
  int64_t total_tracks;
};

struct sp_track {
  const char *id; /* NULL/"" for a local file or an unavailable item */
  const char *name, *artist_id, *artist_names, *album_id, *album_name;
  const char *isrc;
  int64_t duration_ms;
};

struct sp_playlist {
  const char *id, *name, *owner_id, *owner_name, *description;
  const char *snapshot_id;
  int64_t total;
  bool collaborative;
};

struct sp_entry {
  struct sp_track track;
  const char *uri; /* spotify:track:..., spotify:local:... or "" */
  const char *added_at;
  bool is_local;
};

/* What a list write changed. */
struct sp_write_stats {
  int64_t total;   /* rows in the list now */
  int64_t added;   /* new rows */
  int64_t removed; /* rows deleted (or unmarked) because they left the list */
};

/*
 * Followed artists: upserts all n, then deletes the followed artists not in
 * the list (remove_missing; their album links go too) or marks them as no
 * longer followed.  One transaction.
 */
enum ss_err db_spotify_artists_replace(struct db *db,
                                       const struct sp_artist *a, size_t n,
                                       bool remove_missing, int64_t now_ms,
                                       struct sp_write_stats *st);

/*
 * The user's playlists (list order = position): upserts all n, then deletes
 * those not in the list with their entries (remove_missing) or marks them
 * as no longer followed.  One transaction.  Entries are untouched.
 */
enum ss_err db_spotify_playlists_replace(struct db *db,
                                         const struct sp_playlist *p, size_t n,
                                         bool remove_missing, int64_t now_ms,
                                         struct sp_write_stats *st);

/* Followed playlists whose stored entries do not belong to their current
 * snapshot_id, in list order. */
typedef void (*db_spotify_stale_fn)(void *arg, const char *id,
                                    const char *snapshot_id, const char *name);
enum ss_err db_spotify_playlists_stale(struct db *db, db_spotify_stale_fn fn,
                                       void *arg);

/* Replaces a playlist's entries (and upserts their tracks) and records
 * snapshot_id as the one they belong to; one transaction. */
enum ss_err db_spotify_playlist_entries_replace(struct db *db,
                                                const char *playlist,
                                                const char *snapshot_id,
                                                const struct sp_entry *e,
                                                size_t n, int64_t now_ms);
/* Records that the entries of snapshot_id cannot be read (e.g. 403 on a
 * playlist the user does not own); they are not retried until the
 * snapshot changes.  Stored entries are kept. */
enum ss_err db_spotify_playlist_entries_error(struct db *db,
                                              const char *playlist,
                                              const char *snapshot_id,
                                              const char *error);

/* Liked songs: replaces the whole list (newest first); one transaction. */
enum ss_err db_spotify_liked_replace(struct db *db, const struct sp_entry *e,
                                     size_t n, int64_t now_ms,
                                     struct sp_write_stats *st);

/* Saved albums: upserts all n with saved = 1 and clears the flag on
 * albums no longer saved; one transaction. */
enum ss_err db_spotify_saved_albums_replace(struct db *db,
                                            const struct sp_album *a, size_t n,
                                            int64_t now_ms,
                                            struct sp_write_stats *st);

/* Followed artists whose albums were never read, then (oldest first) those
 * read before resync_before_ms; at most limit. */
typedef void (*db_spotify_artist_fn)(void *arg, const char *id,
                                     const char *name);
enum ss_err db_spotify_artist_albums_due(struct db *db,
                                         int64_t resync_before_ms,
                                         size_t limit, db_spotify_artist_fn fn,
                                         void *arg);
/* How many followed artists are still due (never read / stale). */
enum ss_err db_spotify_artist_albums_pending(struct db *db,
                                             int64_t resync_before_ms,
                                             int64_t *never, int64_t *stale);
/* Replaces an artist's album links, upserts the albums and stamps the
 * artist as read at now_ms; one transaction.  SS_ENOTFOUND when the artist
 * is gone (unfollowed meanwhile). */
enum ss_err db_spotify_artist_albums_replace(struct db *db,
                                             const char *artist_id,
                                             const struct sp_album *a,
                                             size_t n, int64_t now_ms);

/* ---- reading for the pages and tests ---- */

struct db_spotify_counts {
  int64_t artists; /* followed */
  int64_t albums;  /* every album row */
  int64_t saved_albums;
  int64_t playlists; /* followed */
  int64_t entries;
  int64_t liked;
  int64_t tracks;
};
enum ss_err db_spotify_counts(struct db *db, struct db_spotify_counts *out);

struct db_spotify_row {
  const char *id, *name;
  const char *sub;   /* artist: genres; album: artist name; playlist:
                        owner name; entry: artists */
  const char *extra; /* album: release date; playlist: entries_error;
                        entry: album name */
  const char *kind;  /* album: album type; entry: "local" / "" */
  int64_t n1;        /* artist: albums; album: total tracks;
                        playlist: total; entry: position */
  int64_t n2;        /* artist: followed; album: saved;
                        playlist: stored entries; entry: duration_ms */
  int64_t t1;        /* artist: albums_synced_ms */
};
typedef void (*db_spotify_row_fn)(void *arg, const struct db_spotify_row *r);
/* Pages of the library, ordered by name (entries by position). */
enum ss_err db_spotify_list_artists(struct db *db, int64_t offset,
                                    int64_t limit, db_spotify_row_fn fn,
                                    void *arg);
enum ss_err db_spotify_list_albums(struct db *db, int64_t offset,
                                   int64_t limit, db_spotify_row_fn fn,
                                   void *arg);
enum ss_err db_spotify_list_playlists(struct db *db, int64_t offset,
                                      int64_t limit, db_spotify_row_fn fn,
                                      void *arg);
enum ss_err db_spotify_list_entries(struct db *db, const char *playlist,
                                    int64_t offset, int64_t limit,
                                    db_spotify_row_fn fn, void *arg);

#endif
