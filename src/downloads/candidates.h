/*
 * candidates.h - turns slskd search responses into ranked download
 * candidates.
 *
 * Matching is Unicode-aware (core/textnorm.h): names are compared folded
 * (NFKD, case folding, accents removed), so NFC, NFD and ASCII-folded
 * spellings of "Björk" are the same, and without the punctuation and
 * spaces between words ("AC/DC" matches "ACDC" and "AC-DC", "Guns N'
 * Roses" matches "Guns N Roses").  A query word "and" is not required.
 *
 * Track request: every downloadable file whose full remote path contains
 * all words of the query, whose file name contains every word of the
 * title (when known), and whose quality the profile accepts; one
 * candidate per peer (its best file), so a retry goes elsewhere.
 * An upgrade request (cand_query.upgrade_from) takes only files strictly
 * better than the library file it replaces (quality_is_upgrade): never
 * an equal, a worse or a lossy file for a lossless one.
 * Album request: one candidate per (peer, folder) holding accepted audio
 * files whose folder path contains all words of the query; a folder with
 * at least the expected number of tracks is "complete".
 *
 * Order (candidates_cmp): complete folders first (albums with a known
 * track count), then the quality profile's rank of the worst file (so a
 * lower accepted quality comes after every better one), then a free
 * upload slot; among free slots the faster upload speed, among busy
 * peers the shorter queue, then the speed; then the finer quality order
 * (bit depth, sample rate, bitrate), more files, and names for a stable
 * result.
 *
 * track_key names a track independently of its folder ("01 - Song.flac",
 * "1. song.mp3" and "01 Artist - Song.mp3" all give "song"), so a failed
 * album file can be replaced by the same track from another peer.  Track
 * requests use "".
 *
 * Pure; any thread.  Ownership: the list is freed by candidates_free().
 */
#ifndef SS_CANDIDATES_H
#define SS_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients/slskd.h"
#include "db/db_downloads.h"
#include "downloads/quality.h"

#define CAND_KEY_MAX 128
#define CAND_MAX_FILES 200 /* per folder */
#define CAND_MAX_TOKENS 16
#define CAND_WORD_MAX 128

struct cand_file {
  char *filename;
  int64_t size;
  struct quality_input q;
  int rank;
  char key[CAND_KEY_MAX];
};

struct candidate {
  char *username;
  char *directory;
  bool free_slot;
  int64_t queue_length, upload_speed;
  struct cand_file *files;
  size_t n_files;
  int rank;                   /* worst file's profile rank */
  struct quality_input worst; /* worst file's quality */
  bool complete;
  int64_t total_size;
};

struct candidate_list {
  struct candidate *v;
  size_t n;
  size_t files_seen;     /* files in all responses */
  size_t files_accepted; /* matched the query and the profile */
};

struct cand_query {
  enum dl_kind kind;
  const char *query;
  const char *title; /* track: its words must be in the file name */
  int expected_tracks;
  const char *artist; /* album: dropped from track keys; may be NULL */
  /* Quality upgrade: only files quality_is_upgrade() under upgrade_target
   * says are better than upgrade_from (the library file to replace) are
   * candidates.  NULL = any accepted file. */
  const struct quality_input *upgrade_from;
  const struct quality_profile *upgrade_target;
};

/* Builds and ranks at most max candidates from the responses. */
void candidates_build(const struct slskd_responses *r,
                      const struct cand_query *q,
                      const struct quality_profile *p, size_t max,
                      struct candidate_list *out);
void candidates_free(struct candidate_list *l);

/* < 0 when a ranks before b. */
int candidates_cmp(const struct candidate *a, const struct candidate *b,
                   const struct quality_profile *p, bool album);

struct cand_words {
  char w[CAND_MAX_TOKENS][CAND_WORD_MAX];
  size_t n;
};
/* The folded words of text (see above; longer words and words beyond
 * CAND_MAX_TOKENS are left out). */
void candidates_words(const char *text, struct cand_words *out);
/* True when every word occurs in the folded path without its spaces. */
bool candidates_path_matches(const char *path, const struct cand_words *w);
/* The track key of a remote path (see above), at most n-1 bytes of whole
 * characters; artist ("" = none) is left out when the name starts with it. */
void candidates_track_key(const char *remote, const char *artist, char *out,
                          size_t n);
/* True for extensions of audio files. */
bool candidates_is_audio(const char *ext);

#endif
