/*
 * musicbrainz.h - the MusicBrainz web service v2 client (JSON, fmt=json).
 *
 * Every request goes through the one HTTP client (http_client.c) with the
 * User-Agent "soulspotd/VERSION ( musicbrainz.contact )" (mb_user_agent,
 * shared with the prober) and through ONE process-wide pacer: strictly one
 * request at a time, each at least MB_GAP_MS after the previous reply
 * ended, whichever thread sends it.  A 503 blocks the host (the shared
 * per-host block of http_client.h, which the prober honours too) for
 * max(Retry-After, 1 s, the attempt number) seconds and is retried up to
 * MB_ATTEMPTS times; the block holds back every other caller.  A caller
 * that must not wait longer than opts.max_wait_ms gets MB_RATE_LIMITED
 * with until_ms instead of sleeping.
 *
 * Backoff: MusicBrainz has its own ladder, the shared one of
 * clients/backoff.h.  A request that ends in failure because the service
 * is down or throttling us (no answer, 5xx, a 503 after every retry)
 * climbs it once; any answer steps it back to zero.  While it lasts
 * requests fail at once with err.deferred, without a request, unless the
 * client is forced (run now) and has not failed yet.
 *
 * Replies are capped (opts.reply_limit), read in one pass by jpull into
 * plain structs with capped, UTF-8-safe string fields (names pass through
 * byte for byte: no normalisation).  Truncated, malformed, oversized or
 * wrongly typed replies fail with MB_MALFORMED and a readable reason; an
 * item with an absurd date keeps its place with date.valid = false and a
 * note.  404 on a lookup is MB_NOT_FOUND; 400 (bad MBID) and 403 (User-
 * Agent refused) are MB_REFUSED and never retried.
 *
 * Threading: the pacer and the host block are process-wide and
 * thread-safe; a struct mb_client (one curl handle) belongs to one thread.
 * Ownership: results are owned by the caller and released with the
 * matching *_free().
 */
#ifndef SS_MUSICBRAINZ_H
#define SS_MUSICBRAINZ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MB_GAP_MS 1000
#define MB_ATTEMPTS 4            /* one request plus three 503 retries */
#define MB_RETRY_AFTER_MAX_S 600 /* longer Retry-After values are capped */
#define MB_REPLY_MAX (2 * 1024 * 1024)
#define MB_TIMEOUT_MS 15000
#define MB_MAX_WAIT_MS 60000 /* default opts.max_wait_ms */
#define MB_BROWSE_LIMIT 100  /* the service's page maximum */
#define MB_RELEASE_GROUPS_MAX 5000
#define MB_TRACKS_MAX 2000
#define MB_SEARCH_MAX 25
#define MB_ID_LEN 36
#define MB_TEXT_MAX 256 /* titles and names, bytes incl. NUL */
#define MB_SHORT_MAX 64 /* types, status, country, track number */
#define MB_MSG_MAX 256
#define MB_NOTE_MAX 192

enum mb_fail {
  MB_OK = 0,
  MB_NOT_FOUND,     /* 404: no such artist / release */
  MB_RATE_LIMITED,  /* 503 after every retry, or the wait is too long */
  MB_UNAVAILABLE,   /* network error, timeout, other 5xx */
  MB_REFUSED,       /* 400 (bad MBID or parameter), 403 (User-Agent), other
                     * 4xx, or bad input before any request */
  MB_MALFORMED,     /* not JSON, truncated, wrong shape, too large */
  MB_CANCELED,      /* the cancel flag was raised */
  MB_NOT_CONFIGURED /* musicbrainz.url is empty */
};

struct mb_err {
  enum mb_fail kind;
  long status;          /* HTTP status of the last reply, 0 when none */
  int64_t until_ms;     /* MB_RATE_LIMITED: wall-clock time to try again */
  bool deferred;        /* refused before any request: MusicBrainz backs off */
  char msg[MB_MSG_MAX]; /* plain words */
};

/* "", "YYYY", "YYYY-MM" or "YYYY-MM-DD". */
struct mb_date {
  char text[16];    /* as sent when valid, "" otherwise */
  int32_t sortable; /* YYYYMMDD with missing parts 0; 0 when empty/bad */
  bool valid;       /* false: the service sent something absurd */
};

struct mb_release_group {
  char id[MB_ID_LEN + 1];
  char title[MB_TEXT_MAX];
  char primary_type[MB_SHORT_MAX];   /* "Album", "EP", ...; "" for null */
  char secondary_types[MB_TEXT_MAX]; /* "Compilation|Live", "" if none */
  char disambiguation[MB_TEXT_MAX];
  struct mb_date first_release;
};

struct mb_release_groups {
  struct mb_release_group *v;
  size_t n;
  size_t total;     /* release-group-count as last reported */
  bool truncated;   /* total exceeded the caller's maximum */
  size_t bad_dates; /* items whose date was absurd (kept, valid = false) */
  char note[MB_NOTE_MAX]; /* first such problem, plain words, or "" */
};

struct mb_track {
  char id[MB_ID_LEN + 1];
  char recording_id[MB_ID_LEN + 1];
  char title[MB_TEXT_MAX];
  char number[MB_SHORT_MAX]; /* "1", "A1", ... */
  int disc;                  /* medium position, 1-based */
  int position;              /* within the medium, 1-based */
  int64_t length_ms;         /* -1 when unknown */
};

struct mb_release {
  char id[MB_ID_LEN + 1];
  char title[MB_TEXT_MAX];
  char status[MB_SHORT_MAX];
  char country[MB_SHORT_MAX];
  char artist_credit[MB_TEXT_MAX]; /* names joined with their joinphrases */
  char release_group_id[MB_ID_LEN + 1]; /* "" when not included */
  struct mb_date date;
  int discs;
  struct mb_track *tracks;
  size_t n_tracks;
  char note[MB_NOTE_MAX];
};

struct mb_artist_hit {
  char id[MB_ID_LEN + 1];
  char name[MB_TEXT_MAX];
  char sort_name[MB_TEXT_MAX];
  char type[MB_SHORT_MAX];
  char country[MB_SHORT_MAX];
  char disambiguation[MB_TEXT_MAX];
  int score; /* 0..100 */
};

struct mb_artist_hits {
  struct mb_artist_hit *v;
  size_t n;
  size_t total; /* "count": all matches, not only these */
};

struct mb_client_opts {
  const atomic_bool *cancel; /* optional */
  long timeout_ms;           /* per request; 0 = MB_TIMEOUT_MS */
  size_t reply_limit;        /* 0 = MB_REPLY_MAX */
  int64_t max_wait_ms;       /* pacing/503 wait per request; 0 = default,
                              * < 0 = no limit */
  bool forced;               /* run now: past the backoff ladder until the
                              * first failure (never past a Retry-After) */
};

struct mb_client;

/* Reads musicbrainz.url (per call) and musicbrainz.contact (here). */
struct mb_client *mb_client_new(const struct mb_client_opts *o);
void mb_client_free(struct mb_client *c);

/* The User-Agent every MusicBrainz and Cover Art Archive request sends,
 * built from musicbrainz.contact.  Any thread. */
void mb_user_agent(char *out, size_t n);

/* Release groups of an artist, paged by MB_BROWSE_LIMIT until the
 * reported count (or an empty page), at most max_items (0 =
 * MB_RELEASE_GROUPS_MAX; beyond it out->truncated).  types: "album|ep"
 * style filter (lower-case words, '|' between) or NULL for all. */
enum ss_err mb_artist_release_groups(struct mb_client *c,
                                     const char *artist_mbid,
                                     const char *types, size_t max_items,
                                     struct mb_release_groups *out,
                                     struct mb_err *err);
void mb_release_groups_free(struct mb_release_groups *g);

/* One release with its media and tracks (inc=recordings+artist-credits+
 * release-groups). */
enum ss_err mb_release_lookup(struct mb_client *c, const char *release_mbid,
                              struct mb_release *out, struct mb_err *err);
void mb_release_free(struct mb_release *r);

/* Artists whose name matches (MusicBrainz search, best score first), at
 * most limit (0 or > MB_SEARCH_MAX = MB_SEARCH_MAX). */
enum ss_err mb_artist_search(struct mb_client *c, const char *name,
                             size_t limit, struct mb_artist_hits *out,
                             struct mb_err *err);
void mb_artist_hits_free(struct mb_artist_hits *h);

/* Wall-clock ms until which MusicBrainz (musicbrainz.url's host) is
 * blocked, 0 when not; reason copied (may be NULL).  Any thread. */
int64_t mb_blocked_until(char *reason, size_t n);
/* Forgets the pacing (tests only; blocks: http_host_blocks_reset). */
void mb_pacer_reset(void);

/* ---- pure helpers, exposed for tests and other clients ---- */

/* Copies an MBID in canonical lower case into out (MB_ID_LEN + 1 bytes);
 * SS_EINVAL unless it is 8-4-4-4-12 hex (either case) and not all zero. */
enum ss_err mb_mbid_canonical(const char *in, char *out);
/* Parses a MusicBrainz date; SS_EINVAL (out->valid false, why filled)
 * for anything but "", YYYY, YYYY-MM, YYYY-MM-DD of a real day in the
 * years 1860..2100. */
enum ss_err mb_parse_date(const char *text, struct mb_date *out, char *why,
                          size_t n);
/* Parsers of one reply body.  Release groups are appended to acc (up to
 * max_items, the rest counted in *page_items only); errors: SS_EPROTO with
 * a reason in why. */
enum ss_err mb_parse_release_group_page(const char *body, size_t len,
                                        struct mb_release_groups *acc,
                                        size_t max_items, size_t *page_items,
                                        char *why, size_t n);
enum ss_err mb_parse_release(const char *body, size_t len,
                             struct mb_release *out, char *why, size_t n);
enum ss_err mb_parse_artist_search(const char *body, size_t len,
                                   size_t max_items,
                                   struct mb_artist_hits *out, char *why,
                                   size_t n);

#endif
