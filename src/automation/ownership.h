/*
 * ownership.h - "is it already in the library?", decided in one place.
 *
 * Every automation source (watchlist, discography, playlists, quality
 * upgrade) asks this module, never the store directly.  An ownership index
 * is built once per pass from the scanned library tracks (not gone, not
 * quarantined): their normalised artist/album/title keys and the Spotify
 * and MusicBrainz ids written at import or read from tags.
 *
 * Normalised keys (ownership_*_key) are textnorm_fold() plus tolerance
 * for what differs between releases of the same thing:
 *   artist: a leading "The " or a trailing ", The" dropped ("The Beatles"
 *     = "Beatles, The" = "beatles"); featured artists dropped.
 *   title:  "(feat. X)", "[ft. X]", "feat. X", "ft. X", "featuring X"
 *     dropped; remaster/deluxe/edition/version suffixes in brackets or
 *     after " - " dropped ("Album (2011 Remaster)" = "Album").
 *   album:  as title, plus disc splits ("(Disc 1)", "CD2", "[Disc 2]").
 * So case, accents (NFC or NFD), punctuation and these suffixes never make
 * a release look missing.  The same keys are the Wanted list's norm_key.
 *
 * An album is owned when every one of its tracks is present (by id, else
 * by artist+title key); with only a track count known, when at least that
 * many library tracks carry its album key and album-artist key.  A partly
 * owned album reports which of the given tracks are missing, so only those
 * are wanted.
 *
 * Threading: an index is immutable once built: any thread may query it;
 * build it on the thread that owns the db.  Memory: ownership_load
 * allocates; the caller frees with ownership_free.
 */
#ifndef SS_AUTOMATION_OWNERSHIP_H
#define SS_AUTOMATION_OWNERSHIP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "db/db.h"

#define OWNERSHIP_KEY_MAX 512

/* Normalised keys; write at most n-1 bytes; return the length. */
size_t ownership_artist_key(const char *artist, char *out, size_t n);
size_t ownership_title_key(const char *title, char *out, size_t n);
size_t ownership_album_title_key(const char *album, char *out, size_t n);
/* The Wanted list's norm_key: "<artist key>\x1f<album/title key>". */
size_t ownership_album_key(const char *artist, const char *album, char *out,
                           size_t n);
size_t ownership_track_key(const char *artist, const char *title, char *out,
                           size_t n);

struct ownership;

/* Builds the index from the library store.  SS_OK or SS_EDB. */
enum ss_err ownership_load(struct db *db, struct ownership **out);
void ownership_free(struct ownership *o);
/* Library tracks in the index (for notes and tests). */
size_t ownership_track_count(const struct ownership *o);

/* A track: by Spotify track id or MusicBrainz recording id when given
 * (may be NULL / ""), else by artist + title key. */
bool ownership_has_track(const struct ownership *o, const char *artist,
                         const char *title, const char *spotify_track_id,
                         const char *mb_recording_id);

struct ownership_track_in {
  const char *title;
  const char *spotify_id; /* may be NULL */
  const char *mb_id;      /* may be NULL */
};

struct ownership_album_in {
  const char *artist; /* album artist */
  const char *album;
  const char *spotify_album_id;            /* may be NULL */
  const char *mb_release_group_id;         /* may be NULL */
  int total_tracks;                        /* 0 = unknown */
  const struct ownership_track_in *tracks; /* may be NULL (n_tracks 0) */
  size_t n_tracks;
};

enum ownership_state { OWN_NONE, OWN_PARTIAL, OWN_FULL };

/*
 * How much of album a the library has.  With a track list, missing[i]
 * (when missing is not NULL; n_tracks entries) is set true for each track
 * not owned.  Without one, by the count of tracks under its keys (or ids).
 */
enum ownership_state ownership_album(const struct ownership *o,
                                     const struct ownership_album_in *a,
                                     bool *missing);

#endif
