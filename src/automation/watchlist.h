/*
 * watchlist.h - the Watchlist, Discography and Playlist sources of the
 * Wanted list (issue 8 points 3, 4 and 6).
 *
 * Watchlist: a run checks a few due watches (automation.
 * watchlist_artists_per_run, oldest check first).  For each it reads the
 * artist's releases from two sources - Spotify's /artists/{id}/albums (the
 * list the sync reads; include_groups from the watch's types) and, when
 * the watch has a MusicBrainz artist id, MusicBrainz release groups - and
 * wants every release that is
 *   - of one of the watch's types (album, ep, single, compilation,
 *     appears_on; Spotify files EPs under "single": a single with 4 or
 *     more tracks counts as an EP; MusicBrainz: the Compilation secondary
 *     type wins over the primary type, Broadcast/Other are skipped),
 *   - dated on or after the watch's since_date (the RELEASE date, never
 *     the day we first saw it), compared at the date's own precision: a
 *     "2026-12" release is new for a watch since 2026-12-05, a "2026"
 *     one for any watch begun in 2026 (a month or year precision release
 *     is never missed; ownership stops an old one from being fetched),
 *   - not owned (automation/ownership.h, by its album key and track
 *     count).
 * A partly owned release (some of its tracks under its album key, fewer
 * than its track count) has its track list read from Spotify
 * (/albums/{id}/tracks, WATCH_TRACKS_PAGE a page, at most
 * WATCH_TRACKS_PAGES pages) and only its missing tracks are wanted, as
 * track items (watch_want_missing); a release known only to MusicBrainz
 * (no track list here) is wanted whole.  A track list Spotify refuses or
 * garbles fails that watch with a reason; the release waits for the next
 * check.
 * A watch without a MusicBrainz artist id gets one at its first check
 * when a MusicBrainz artist search by its name has exactly one exact hit
 * (watch_find_mbid); otherwise only Spotify is read until a user sets
 * mb_artist_id (PATCH /api/watchlist/{id}).
 * A release with an absurd or malformed date (year outside 1860..2100,
 * month 13, "2026-02-30", a date that does not match its stated
 * precision) is skipped with a reason; a release without a date is never
 * "new".  The same release from both sources (same album key) is ONE
 * item carrying both ids.  Items: kind album, source watchlist, the
 * watch's auto_download; the dispatcher (wanted.h) makes the download
 * requests.
 *
 * Discography: the same for watches with discography on, every release of
 * the chosen types whatever its date (a dateless one too), newest first,
 * at most automation.discography_max_per_run NEW items per run (a release
 * already on the list does not count against the cap, so later runs
 * reach the older ones).  Source discography.
 *
 * Playlists: the stored tracks of every followed playlist whose
 * "download missing tracks" switch is on, not owned (by Spotify track id,
 * else artist + title key) -> track items, source playlist, auto
 * download on; at most WATCH_PLAYLIST_MAX_PER_RUN new items per run.
 * Run by the watchlist unit after its watches.
 *
 * Bad input: a malformed, truncated or refused reply of one source fails
 * that watch with a readable reason (watch.last_error, and the run's
 * message) while the other source and the other watches go on; Spotify
 * rate limits and outages stop the run (the rest stay due).  At most
 * WATCH_SPOTIFY_PAGES pages (WATCH_SPOTIFY_PAGES * 10 releases) and
 * MB_RELEASE_GROUPS_MAX release groups are read per artist; the rest is
 * noted, not an error.
 *
 * Threading: the unit's thread with its own db.  Memory: release lists
 * are the caller's (watch_releases_free).
 */
#ifndef SS_AUTOMATION_WATCHLIST_H
#define SS_AUTOMATION_WATCHLIST_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "automation/ownership.h"
#include "db/db.h"
#include "db/db_wanted.h"

#define WATCH_SPOTIFY_PAGE 10     /* dev-mode cap of /artists/{id}/albums */
#define WATCH_SPOTIFY_PAGES 100   /* 1 000 releases per artist at most */
#define WATCH_NEW_MAX_PER_RUN 200 /* new-release items per watchlist run */
#define WATCH_PLAYLIST_MAX_PER_RUN 500
#define WATCH_NOTE_MAX 200
#define WATCH_TRACKS_PAGE 50  /* /albums/{id}/tracks maximum */
#define WATCH_TRACKS_PAGES 20 /* 1 000 tracks per release at most */

/* ---- release types and dates (pure) ---- */

/* "album" -> WATCH_ALBUM ...; 0 for an unknown name. */
unsigned watch_type_from_name(const char *name);
/* The name of one WATCH_* bit ("" for none / several). */
const char *watch_type_name(unsigned bit);
/* Spotify album_group (album_type when empty) and total tracks -> bit; 0
 * for an unknown group. */
unsigned watch_type_spotify(const char *group, const char *album_type,
                            int total_tracks);
/* MusicBrainz primary type and "|"-joined secondary types -> bit; 0 to
 * skip (Broadcast, Other, none). */
unsigned watch_type_mb(const char *primary, const char *secondary);

/* Checks a release date against its precision ("year", "month", "day";
 * NULL or "" = from the text's form) and copies it into out (16 bytes).
 * SS_OK; SS_EINVAL with a reason in why for an absurd or malformed one;
 * "" is SS_OK (no date). */
enum ss_err watch_date_check(const char *date, const char *precision,
                             char out[16], char *why, size_t n);
/* A checked, non-empty date on or after since ("YYYY-MM-DD") at the
 * date's own precision. */
bool watch_date_is_new(const char *date, const char *since);

/* ---- releases ---- */

struct watch_release {
  char title[WANTED_TEXT_MAX];
  char artist[WANTED_TEXT_MAX];
  char spotify_id[WANTED_ID_MAX];
  char mb_id[WANTED_ID_MAX];
  char date[16];    /* checked, "" when none or bad */
  bool bad_date;    /* the source's date was absurd (why in a note) */
  unsigned type;    /* WATCH_* bit, 0 = not a wanted kind */
  int total_tracks; /* 0 = unknown */
  bool partial;     /* watch_select: some of its tracks are owned */
};

struct watch_releases {
  struct watch_release *v;
  size_t n, cap;
  char note[WATCH_NOTE_MAX]; /* first problem with an item, or "" */
};

/* Appends an empty release (zeroed) and returns it. */
struct watch_release *watch_releases_push(struct watch_releases *r);
void watch_releases_free(struct watch_releases *r);

/* Reads one parsed Spotify /artists/{id}/albums page into out (items
 * without an id are skipped; a bad date keeps the item with bad_date and
 * a note).  The watched artist's name, when it appears among an item's
 * artists, goes to name (WANTED_TEXT_MAX bytes; may be NULL).  *next
 * gets the "next" link (malloc'ed, NULL on the last page).  SS_OK, or
 * SS_EPROTO with a reason in why (not a paging object, items not a
 * list, next not a link). */
enum ss_err watch_spotify_page(json_t *page, const char *artist_id,
                               struct watch_releases *out, char *name,
                               char **next, char *why, size_t n);

/* ---- selection (pure but for ownership) ---- */

enum watch_mode { WATCH_MODE_NEW, WATCH_MODE_DISCOGRAPHY };

struct watch_pick {
  size_t seen;       /* releases read from the sources */
  size_t wrong_type; /* not one of the watch's types */
  size_t bad_date;   /* absurd date (skipped) */
  size_t too_old;    /* NEW: dated before since_date, or no date */
  size_t duplicate;  /* the same release from a second source */
  size_t owned;      /* already in the library */
  size_t candidates; /* left: to be wanted */
};

/*
 * Filters r in place to the releases mode wants for watch w (types,
 * dates, owned per o), merges the same release from both sources (the
 * Spotify entry keeps its place and gains the MusicBrainz id), and sorts
 * the rest newest first (dateless last).  r->n becomes the candidates.
 */
void watch_select(const struct watch *w, enum watch_mode mode,
                  const struct ownership *o, struct watch_releases *r,
                  struct watch_pick *out);

/* Adds up to max NEW Wanted items for the candidates (db_wanted_add; an
 * item already on the list, ignored or imported is not counted).  *added
 * and *capped (candidates left for a later run).  SS_OK or SS_EDB. */
enum ss_err watch_want(struct db *db, const struct watch *w,
                       enum watch_mode mode, const struct watch_releases *r,
                       size_t max, int64_t now_ms, size_t *added,
                       size_t *capped);

/* ---- partly owned albums ---- */

/* A track of a release (Spotify /albums/{id}/tracks). */
struct watch_track {
  char id[WANTED_ID_MAX];
  char title[WANTED_TEXT_MAX];
};

struct watch_tracks {
  struct watch_track *v;
  size_t n, cap;
};
void watch_tracks_free(struct watch_tracks *t);

/* Reads one parsed Spotify /albums/{id}/tracks page into out (items
 * without an id or a name are skipped).  *next gets the "next" link
 * (malloc'ed, NULL on the last page).  SS_OK, or SS_EPROTO with a reason
 * in why (not a paging object, items not a list, next not a link). */
enum ss_err watch_tracks_page(json_t *page, struct watch_tracks *out,
                              char **next, char *why, size_t n);

/*
 * A partly owned release x of watch w: the tracks of t that ownership o
 * does not find (by Spotify id, else artist + title key) become Wanted
 * track items (source as watch_want, album = the release's title), at
 * most max new ones; *added gets how many.  SS_OK or SS_EDB.
 */
enum ss_err watch_want_missing(struct db *db, const struct watch *w,
                               enum watch_mode mode,
                               const struct watch_release *x,
                               const struct watch_tracks *t,
                               const struct ownership *o, size_t max,
                               int64_t now_ms, size_t *added);

/* ---- runs ---- */

struct watch_config {
  int artists_per_run; /* automation.watchlist_artists_per_run */
  int max_per_run;     /* NEW: WATCH_NEW_MAX_PER_RUN; discography:
                          automation.discography_max_per_run */
  bool watch_followed; /* automation.watch_followed_artists */
  /* asked between watches; true stops the run (may be NULL) */
  bool (*should_stop)(void *arg);
  void *stop_arg;
  bool forced; /* run now: past the services' backoff ladders */
};

struct watch_result {
  int watches;  /* checked */
  int failed;   /* watches whose check failed (reason stored) */
  size_t added; /* new Wanted items */
  size_t capped;
  size_t owned, seen;
  size_t bad_dates;       /* releases skipped for an absurd date */
  int64_t followed_added; /* watches made by "watch every followed" */
  size_t playlist_added;  /* playlist tracks wanted */
  bool stopped;  /* Spotify or MusicBrainz unavailable or rate limited:
                    stop; the watch and the rest stay due */
  bool deferred; /* ... because its backoff lasted: nothing was asked */
  char error[WANTED_REASON_MAX]; /* first failure, plain words */
  enum ss_reason reason;         /* ... and its machine reason */
};

void watch_config_load(struct watch_config *cfg, enum watch_mode mode);

/* One pass of the watchlist (mode NEW, then the playlists) or of the
 * discography.  SS_OK (failures of single watches are in out), SS_EDB. */
enum ss_err watch_run(struct db *db, enum watch_mode mode,
                      const struct watch_config *cfg, int64_t now_ms,
                      struct watch_result *out);

/* The MusicBrainz artist of name: exactly one search hit with score 100
 * whose name has the same artist key (ownership_artist_key: case,
 * accents, "The").  true and out (canonical MBID); false when none or
 * several match or the search failed. */
struct mb_client;
bool watch_find_mbid(struct mb_client *c, const char *name,
                     char out[WANTED_ID_MAX]);

/* The playlist source alone (part of watch_run NEW). */
enum ss_err watch_playlists(struct db *db, const struct ownership *o,
                            size_t max, int64_t now_ms, size_t *added);

#endif
