/*
 * sync.h - the Spotify sync engine (spotify/sync.c): mirrors the account's
 * followed artists, playlists (with entries), liked songs, saved albums
 * and artists' albums into the store, type by type.
 *
 * The engine knows no worker unit: the Spotify Sync unit
 * (workers/spotify_sync.c) decides when to call spotify_sync_run() and
 * passes hooks for "should I stop?" and "a type synced".  Each type's last
 * result and error are persisted and cached in memory for the status view.
 *
 * Threading: spotify_sync_run() on one thread at a time (with its own db
 * connection); spotify_sync_stats(), spotify_sync_last_ok() and
 * spotify_sync_read_page() from any thread.
 */
#ifndef SS_SPOTIFY_SYNC_H
#define SS_SPOTIFY_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

/* The sync types; also the unit's counter and time slots, in this order. */
enum spotify_sync_type {
  SYNC_ARTISTS,
  SYNC_PLAYLISTS,
  SYNC_ALBUMS, /* saved albums */
  SYNC_LIKED_SONGS,
  SYNC_ARTIST_ALBUMS,
  SYNC__COUNT
};
/* "artists", "playlists", "albums", "liked_songs", "artist_albums" */
extern const char *const spotify_sync_type_names[SYNC__COUNT];

#define SPOTIFY_SYNC_TEXT_MAX 256

/* A type's last outcome as the status view shows it. */
struct spotify_sync_type_status {
  char result[SPOTIFY_SYNC_TEXT_MAX]; /* "" = never ran */
  char error[SPOTIFY_SYNC_TEXT_MAX];  /* "" = none */
};
/* Copies each type's last result and error (loads the cache from the
 * daemon's database on first use). */
void spotify_sync_stats(struct spotify_sync_type_status out[SYNC__COUNT]);
/* Each type's last success (wall ms, 0 = never), loading the cache with
 * db (the caller's connection) on first use. */
void spotify_sync_last_ok(struct db *db, int64_t out[SYNC__COUNT]);

struct spotify_sync_hooks {
  bool (*should_stop)(void *arg); /* asked before every page and type */
  void (*started)(void *arg);     /* once, when some type is due */
  /* A type synced ok at now_ms. */
  void (*synced)(void *arg, enum spotify_sync_type t, int64_t now_ms);
  void *arg;
};

enum spotify_sync_outcome {
  SPOTIFY_SYNC_OK,      /* every due type synced or was deferred */
  SPOTIFY_SYNC_FAILED,  /* some type failed: errors, reason */
  SPOTIFY_SYNC_CANCELED /* should_stop said so; nothing half-written */
};

struct spotify_sync_result {
  enum spotify_sync_outcome outcome;
  enum ss_reason reason;               /* the first failing type's */
  char errors[SPOTIFY_SYNC_TEXT_MAX];  /* "type: error; ..." */
  char summary[SPOTIFY_SYNC_TEXT_MAX]; /* "type: result; ..." */
};

/*
 * Runs every type that is due: enabled, and its own interval passed since
 * its last success (force: every enabled type).  Artists go first (artist
 * albums work on them).  One failing type never blocks the others; a 429
 * or a missing login defers the types after it, Spotify failing (5xx,
 * timeouts, the token endpoint) fails them.  Returns false (and does
 * nothing) when no type is due.  h may be NULL.
 */
bool spotify_sync_run(struct db *db, bool force,
                      const struct spotify_sync_hooks *h,
                      struct spotify_sync_result *out);

/*
 * Test and fuzz entry: reads one Web API reply body as a sync run reads the
 * first page of a type's list (SYNC_LIKED_SONGS stands for every list of
 * playlist entries too), item parsers included; nothing is stored.  A
 * `next` link ends it with SS_ETOOBIG ("too many pages": one page only).
 * *kept and *skipped count the items taken and those without a usable id.
 * SS_OK, or SS_EPROTO / SS_ETOOBIG with a reason in err.  Any thread.
 */
enum ss_err spotify_sync_read_page(enum spotify_sync_type type,
                                   const char *body, size_t len, size_t *kept,
                                   int64_t *skipped, char *err, size_t errlen);

#endif
