/*
 * dupes.h - duplicate detection: normalised keys, keep-best order,
 * fingerprint similarity, grouping, and the detection pass over the store.
 *
 * Methods (automation.duplicate_detection_method, combinable with '+'):
 *   metadata-hash  same normalised "artist|title" (dupes_norm_key) and
 *                  durations within DUPES_DURATION_GUARD_MS of each other;
 *   file-hash      identical content (XXH3-128 computed by the scanner);
 *   fingerprint    Chromaprint fingerprints at least DUPES_FP_MIN_SIMILARITY
 *                  alike, durations within the guard.
 *
 * A finding is a group of two or more live tracks with a stable identity
 * stored with the group: "file-hash:<hash>", "metadata-hash:<key>#<id>",
 * "fingerprint:#<id>" (id = the smallest member when first found; later a
 * group of the same method and key sharing a member is the same finding).
 * So a rescan that sees the same group adds nothing, a copy joining it is
 * not a new finding, and a dismissed finding is never reported again.
 * When methods are combined, a group whose members are all already in a
 * group of an earlier method (file-hash, then fingerprint, then metadata)
 * is the same finding and is not stored twice.
 *
 * Keep-best order (dupes_quality_cmp): lossless before lossy, then bit
 * depth, sample rate, bitrate (16 kbit/s steps), duration (1 s steps), tag
 * completeness, and finally the older row (smaller id).
 *
 * The pure functions are any-thread; dupes_detect() uses the caller's db
 * connection (one thread).
 */
#ifndef SS_LIBRARY_DUPES_H
#define SS_LIBRARY_DUPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

#define DUPES_KEY_MAX 512 /* normalised "artist|title" */
#define DUPES_DURATION_GUARD_MS 5000
#define DUPES_FP_MIN_SIMILARITY 0.85
#define DUPES_FP_MIN_ITEMS 16 /* ~2 s of fingerprint */

enum dupes_method {
  DUPES_METADATA = 1u << 0,
  DUPES_FILE_HASH = 1u << 1,
  DUPES_FINGERPRINT = 1u << 2
};

/* "metadata-hash+file-hash" -> bit set; 0 for an unknown name. */
unsigned dupes_methods_parse(const char *text);
/* "metadata-hash", "file-hash", "fingerprint" for one bit. */
const char *dupes_method_name(enum dupes_method m);

/*
 * Normalises free text for comparison: Unicode NFKD, case folding, marks
 * (accents) removed, punctuation and symbols become spaces, the words
 * "and" and a leading "the" dropped, whitespace collapsed.  Letters of
 * every script are kept.  Invalid UTF-8 bytes count as spaces.  Writes at
 * most n-1 bytes (cut on a word boundary) and returns the length.
 */
size_t dupes_normalize(const char *in, char *out, size_t n);

/* Removes version noise from a raw title: bracketed parts naming a
 * remaster, bonus, deluxe or anniversary edition or a featured artist,
 * a trailing " - ... remaster..." part and a trailing "feat./ft./
 * featuring ..." part.  Returns the length written (< n). */
size_t dupes_clean_title(const char *title, char *out, size_t n);
/* The same with the caller's idea of noise: noise(part, len) gets the
 * inside of each "(...)" / "[...]" and each trailing " - ..." part and
 * says whether to drop it (ownership keys drop editions and disc splits
 * too).  dupes_clean_title() uses "holds a dupes_noise_word()". */
typedef bool (*dupes_noise_fn)(const char *part, size_t len);
size_t dupes_clean_title_with(const char *title, dupes_noise_fn noise,
                              char *out, size_t n);
/* An ASCII word (len bytes, any case) that marks version noise:
 * remaster..., bonus, deluxe, anniversary, feat, ft, featuring. */
bool dupes_noise_word(const char *w, size_t len);
/* True when s[0..len) holds an ASCII word (a run of ASCII letters) that
 * pred accepts. */
bool dupes_has_word(const char *s, size_t len,
                    bool (*pred)(const char *w, size_t len));
/* Cuts a raw artist at "feat./ft./featuring" (the main artist stays). */
size_t dupes_clean_artist(const char *artist, char *out, size_t n);

/*
 * The metadata key "artist|title" of a track: artist falls back to
 * album_artist, title to the file name's stem without a leading track
 * number (path may be NULL).  Empty ("" returned, 0) when artist or title
 * stays empty: such tracks are not compared by metadata.
 */
size_t dupes_norm_key(const char *artist, const char *album_artist,
                      const char *title, const char *path, char *out,
                      size_t n);

/* The key of a track as the detection computes it (dupes_norm_key over its
 * tags and file name) into t->norm_key, and t->has_norm_key set: the
 * scanner and the import store it with the row, so a detection reads keys
 * instead of computing them. */
struct library_track;
void dupes_track_key(struct library_track *t);

/* What keep-best compares. */
struct dupes_quality {
  int64_t id;
  bool lossless;
  int bit_depth;
  int sample_rate;
  int64_t bitrate;
  int64_t duration_ms;
  int tag_score;
};

/* < 0 when a is the better copy, > 0 when b is; 0 only for equal ids. */
int dupes_quality_cmp(const struct dupes_quality *a,
                      const struct dupes_quality *b);
/* Index of the best of n (n >= 1). */
size_t dupes_best(const struct dupes_quality *q, size_t n);

/* Share of equal bits of two raw fingerprints at the best of a few small
 * offsets (0.0 - 1.0); 0 when they overlap by fewer than
 * DUPES_FP_MIN_ITEMS items. */
double dupes_fp_similarity(const uint32_t *a, size_t na, const uint32_t *b,
                           size_t nb);

/*
 * Splits n durations, sorted ascending, into runs whose neighbours differ
 * by at most DUPES_DURATION_GUARD_MS.  Unknown durations (<= 0) form their
 * own run at the start.  run_start gets the index where each run starts
 * (capacity n); returns the number of runs.
 */
size_t dupes_duration_runs(const int64_t *durations, size_t n,
                           size_t *run_start);

/* Groups the ids linked by pairs (union-find).  groups/group_len get the
 * member ids (sorted, each group sorted) and sizes; the caller frees both
 * arrays.  Returns the number of groups (each has >= 2 members). */
size_t dupes_union(const int64_t (*pairs)[2], size_t n_pairs,
                   int64_t **members, size_t **group_len);

/* ---- the detection pass ---- */

struct dupes_stats {
  size_t groups;        /* findings seen in this pass */
  size_t new_groups;    /* findings never seen before (or reopened) */
  size_t open_groups;   /* awaiting review after this pass */
  size_t keys_computed; /* metadata keys computed for new rows */
  size_t fp_pairs;      /* fingerprint comparisons made */
};

typedef bool (*dupes_stop_fn)(void *arg);

/*
 * Runs the methods over the live tracks in the store and records the
 * groups (db_library_groups_sync).  Computes missing metadata keys first.
 * should_stop (may be NULL) is polled between batches; SS_ECANCELED then.
 */
enum ss_err dupes_detect(struct db *db, unsigned methods,
                         dupes_stop_fn should_stop, void *stop_arg,
                         int64_t now_ms, struct dupes_stats *out);

#endif
