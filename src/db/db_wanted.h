/*
 * db_wanted.h - the Wanted list and the Watchlist in the store.
 *
 * The Wanted list holds what the library should have and does not: an
 * album or a track, with the source that wants it (watchlist, discography,
 * quality_upgrade, playlist, manual) and its state:
 *
 *   wanted --dispatch--> searching --request downloading--> downloading
 *      ^                     |                                  |
 *      |  (ladder: next_try) +-------- request failed ----------+
 *      |                                                        v
 *   retry (API) <---- given_up (ladder exhausted)         imported (owned)
 *   ignored (API; never dispatched, never re-added)
 *
 * One item per release identity: the Spotify id, the MusicBrainz id and
 * the normalised key (ownership_album_key / ownership_track_key) are each
 * unique among items of a kind, so the same release wanted by two sources,
 * or seen through Spotify and MusicBrainz, is one row (db_wanted_add
 * merges the ids it learns into the existing row).
 *
 * The Watchlist: artists whose new releases (and, with discography on,
 * whole discography) are wanted.  since_date is the day the watch began:
 * releases dated on or after it are "new".
 *
 * Writers: the automation units (src/automation/), the HTTP API (watch,
 * unwatch, search now, ignore, retry).  Every function that changes more
 * than one row does so in one transaction.  Same threading rules as db.h
 * (one connection per thread).  Errors: SS_OK, SS_ENOTFOUND, SS_EINVAL,
 * SS_EDB.
 */
#ifndef SS_DB_WANTED_H
#define SS_DB_WANTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define WANTED_TEXT_MAX 256
#define WANTED_KEY_MAX 512
#define WANTED_ID_MAX 64
#define WANTED_STATE_MAX 16
#define WANTED_REASON_MAX 256

enum wanted_kind { WANTED_ALBUM, WANTED_TRACK };

/* Sources, as stored and shown: "watchlist", "discography",
 * "quality_upgrade", "playlist", "manual".  States: "wanted",
 * "searching", "downloading", "imported", "given_up", "ignored". */

struct wanted_item {
  int64_t id; /* 0 for a new row */
  enum wanted_kind kind;
  char source[WANTED_STATE_MAX]; /* first source that wanted it */
  char state[WANTED_STATE_MAX];
  char norm_key[WANTED_KEY_MAX];    /* ownership_*_key(); never "" */
  char spotify_id[WANTED_ID_MAX];   /* album or track id, or "" */
  char mb_id[WANTED_ID_MAX];        /* release group / recording, or "" */
  char artist[WANTED_TEXT_MAX];     /* display */
  char title[WANTED_TEXT_MAX];      /* album or track title */
  char album[WANTED_TEXT_MAX];      /* track: its album, or "" */
  char release_date[16];            /* "YYYY", "YYYY-MM" or "YYYY-MM-DD" */
  char release_type[16];            /* album, ep, single, compilation,
                                       appears_on; "" for tracks */
  int expected_tracks;              /* album: 0 = unknown */
  bool auto_download;               /* dispatch without a user action */
  int64_t watch_id;                 /* watchlist row, 0 */
  int64_t track_id;                 /* quality_upgrade: library track
                                       to replace, else 0 */
  char current_quality[32];         /* quality_upgrade: "mp3 128k" */
  int attempts;                     /* download requests made */
  int64_t last_try_ms, next_try_ms; /* 0 = never / due now */
  char reason[WANTED_REASON_MAX];   /* last outcome, plain words */
  int64_t request_id;               /* newest download request, 0 */
  int64_t created_ms, updated_ms;
};

/*
 * Adds w (state "wanted" unless w->state is set) unless an item of the
 * same kind has the same norm_key, spotify_id or mb_id: then the existing
 * row gets the ids it lacked (and auto_download when w has it) and *added
 * is false.  *id gets the row's id.  An ignored or imported item is never
 * brought back by add.
 */
enum ss_err db_wanted_add(struct db *db, const struct wanted_item *w,
                          int64_t now_ms, int64_t *id, bool *added);
/* SS_OK and *out, or SS_ENOTFOUND. */
enum ss_err db_wanted_get(struct db *db, int64_t id, struct wanted_item *out);
/* Filtered list, newest first: state NULL = all, "open" = wanted,
 * searching or downloading; source NULL = all, "!name" = every source but
 * name.  *total gets the count. */
enum ss_err db_wanted_list(struct db *db, const char *state,
                           const char *source, int64_t offset,
                           struct wanted_item *out, size_t max, size_t *n,
                           int64_t *total);
/* Items in state wanted, auto_download set, next_try_ms <= now: oldest
 * next try first (then id). */
enum ss_err db_wanted_due(struct db *db, int64_t now_ms,
                          struct wanted_item *out, size_t max, size_t *n);
/* Items in state searching or downloading (they have a request). */
enum ss_err db_wanted_in_flight(struct db *db, struct wanted_item *out,
                                size_t max, size_t *n);
/* A download request was made for item id: request_id, attempts + 1,
 * last_try_ms = now, state searching. */
enum ss_err db_wanted_requested(struct db *db, int64_t id, int64_t request_id,
                                int64_t now_ms);
/* Moves item id to state with reason ("" keeps it) and next_try_ms
 * (-1 keeps it). */
enum ss_err db_wanted_set_state(struct db *db, int64_t id, const char *state,
                                const char *reason, int64_t next_try_ms,
                                int64_t now_ms);
/* Retry: a given_up or ignored item back to wanted, attempts 0, due now,
 * reason cleared.  SS_ENOTFOUND, SS_ESTATE in any other state. */
enum ss_err db_wanted_retry(struct db *db, int64_t id, int64_t now_ms);
/* Download requests made since since_ms (the per-hour cap). */
enum ss_err db_wanted_requests_since(struct db *db, int64_t since_ms,
                                     int64_t *n);

/* A source / state name as listed above (false for NULL). */
bool db_wanted_source_valid(const char *source);
bool db_wanted_state_valid(const char *state);

struct wanted_counts {
  /* open items (wanted, searching, downloading) per source */
  int64_t watchlist, discography, quality_upgrade, playlist, manual;
  int64_t given_up, imported, ignored;
  int64_t requests_made; /* every download request ever made */
};
enum ss_err db_wanted_counts(struct db *db, struct wanted_counts *out);

/* ---- watchlist ---- */

/* release_types bits */
#define WATCH_ALBUM 0x01u
#define WATCH_EP 0x02u
#define WATCH_SINGLE 0x04u
#define WATCH_COMPILATION 0x08u
#define WATCH_APPEARS_ON 0x10u
#define WATCH_DEFAULT_TYPES (WATCH_ALBUM | WATCH_EP | WATCH_SINGLE)

struct watch {
  int64_t id;
  char spotify_artist_id[WANTED_ID_MAX];
  char mb_artist_id[WANTED_ID_MAX]; /* "" until known */
  char name[WANTED_TEXT_MAX];
  bool auto_download;
  bool discography;
  unsigned release_types;       /* WATCH_* bits */
  char since_date[11];          /* "YYYY-MM-DD", UTC */
  int64_t last_check_ms;        /* 0 = never */
  int64_t discography_check_ms; /* 0 = never */
  char last_error[WANTED_REASON_MAX];
  int64_t created_ms;
};

/* Inserts w (and forgets that the artist was unwatched); SS_EBUSY when
 * the artist is already watched (*id gets the existing row either way). */
enum ss_err db_watch_add(struct db *db, const struct watch *w, int64_t now_ms,
                         int64_t *id);
enum ss_err db_watch_get(struct db *db, int64_t id, struct watch *out);
enum ss_err db_watch_by_artist(struct db *db, const char *spotify_artist_id,
                               struct watch *out);
/* Every watch, by name. */
enum ss_err db_watch_list(struct db *db, struct watch *out, size_t max,
                          size_t *n, int64_t *total);
/* Writes auto_download, discography, release_types and mb_artist_id of
 * w->id.  SS_ENOTFOUND. */
enum ss_err db_watch_update(struct db *db, const struct watch *w);
/* Removes the watch; its wanted items stay (watch_id set to 0).  The
 * artist is remembered as unwatched (watch_declined), so
 * db_watch_add_followed does not watch it again. */
enum ss_err db_watch_delete(struct db *db, int64_t id);
/* Watches not checked since before_ms, oldest check first. */
enum ss_err db_watch_due(struct db *db, int64_t before_ms, struct watch *out,
                         size_t max, size_t *n);
/* A check finished: last_check_ms = now, last_error (may be ""). */
enum ss_err db_watch_checked(struct db *db, int64_t id, const char *error,
                             int64_t now_ms);
/* The discography pass's due list (discography on, its own check time
 * before before_ms, oldest first) and its "checked". */
enum ss_err db_watch_due_discography(struct db *db, int64_t before_ms,
                                     struct watch *out, size_t max, size_t *n);
enum ss_err db_watch_discography_checked(struct db *db, int64_t id,
                                         const char *error, int64_t now_ms);
/* Sets the display name of watch id (learnt from a reply). */
enum ss_err db_watch_set_name(struct db *db, int64_t id, const char *name);
/* "Watch every followed artist": a watch (default types, auto download
 * on, since today) for every followed Spotify artist that is neither
 * watched nor declined.  One statement; *added gets the new watches. */
enum ss_err db_watch_add_followed(struct db *db, int64_t now_ms,
                                  int64_t *added);
/* The Spotify ids of every watched artist, in strcmp order, at most max
 * (each WANTED_ID_MAX bytes). */
enum ss_err db_watch_artist_ids(struct db *db, char (*out)[WANTED_ID_MAX],
                                size_t max, size_t *n);
/* The name of a synced (followed) Spotify artist; SS_ENOTFOUND. */
enum ss_err db_watch_artist_name(struct db *db, const char *spotify_artist_id,
                                 char *out, size_t n);

/* ---- playlists: "download missing tracks" ---- */

/* Sets the switch of a synced playlist; its name goes to name (may be
 * NULL).  SS_ENOTFOUND. */
enum ss_err db_playlist_set_download_missing(struct db *db,
                                             const char *playlist_id, bool on,
                                             char *name, size_t n);
/* Ids of the playlists whose switch is on (followed or not), in strcmp
 * order, at most max (each WANTED_ID_MAX bytes). */
enum ss_err db_playlist_download_missing_ids(struct db *db,
                                             char (*out)[WANTED_ID_MAX],
                                             size_t max, size_t *n);
/* One stored entry of a switched-on, followed playlist (borrowed strings,
 * valid during the call). */
struct playlist_track {
  const char *playlist_name;
  const char *track_id; /* Spotify id, never "" (local files skipped) */
  const char *title, *artists, *album;
};
typedef enum ss_err (*db_playlist_track_fn)(void *arg,
                                            const struct playlist_track *t);
/* Calls fn for each such entry (a track once, in playlist order) until
 * fn returns non-SS_OK (returned).  fn must not use db. */
enum ss_err db_playlist_missing_each(struct db *db, db_playlist_track_fn fn,
                                     void *arg);

#endif
