/*
 * requests.h - download requests from creation to imported files.
 *
 * A request (a track or an album, free text or a Spotify id from the
 * synced library) is stored as pending.  Each poll of the Download
 * Monitor (requests_poll) then moves every request and file one step:
 *
 *   1. ONE GET /transfers/downloads; each of our open files is matched by
 *      transfer id, else by peer and remote path, and its state (flags
 *      mapped to queued / in_progress / completed / failed), bytes and
 *      percentage are written when they changed - all in one transaction.
 *      A file slskd never lists within the enqueue grace, or without byte
 *      progress for download.stall_timeout_minutes, is cancelled in slskd
 *      and failed ("stalled").  Time without a readable list (slskd down,
 *      soulspotd stopped) is nobody's stall: the first list afterwards
 *      only refreshes the progress times.
 *   2. Transfers of cancelled requests are cancelled in slskd.
 *   3. A failed file is replaced at once by the same track from the next
 *      candidate (source) in rank order whose peer has not failed it: one
 *      the request already uses, or a new one while it has used fewer
 *      than 1 + download.max_retries sources.  So a request tries up to 1 +
 * max_retries sources, best first, lower accepted qualities last, and
 * db_dl_sources_of() tells which were tried and why each failed.
 *   4. Completed transfers are imported through the import hook (which
 *      keeps its own journal); a file that is not there yet is retried on
 *      the next polls, then failed.
 *   5. Pending requests start a slskd search (our own GUID); searching
 *      requests are polled until isComplete, then the responses are ranked
 *      (candidates.h), stored, and the best candidate's files queued.
 *      When nothing matched a query with accents, the request searches
 *      once more without them (clients that do not fold accents find
 *      ASCII-folded shares only so).
 *   6. Queued files are enqueued, grouped per peer, with up to
 *      download.max_concurrent_enqueues calls in flight; a 429 is retried
 *      after a short wait, then left for the next poll.
 *   7. A request whose files are all terminal becomes completed (all or
 *      some files imported) or failed (none).
 *
 * slskd unreachable, a refused key or a malformed list make the poll fail
 * with a readable reason; nothing of that step is written.  Local imports
 * still run.  Every step is idempotent, so a crash at any point is
 * resumed by the next poll after a restart.
 *
 * Threading: requests_poll runs on the monitor's thread with its own db;
 * requests_create/requests_cancel on any thread with that thread's db.
 */
#ifndef SS_REQUESTS_H
#define SS_REQUESTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "clients/slskd.h"
#include "config/settings.h"
#include "db/db_downloads.h"
#include "downloads/quality.h"

#define REQ_MAX_CANDIDATES 12
#define REQ_IMPORT_MAX_TRIES 10 /* polls a finished file may be missing */
#define REQ_SEARCH_MAX_TRIES 3

struct dl_config {
  struct quality_profile profile;
  /* automation.quality_profile's target (quality_target_profile): what
   * an upgrade request must reach */
  struct quality_profile upgrade_target;
  int max_retries;
  int64_t stall_ms;
  int search_timeout_s;
  int max_enqueues;
  int64_t poll_interval_ms;
  char slskd_url[SETTING_STR_MAX];
  char slskd_key[SETTING_STR_MAX]; /* secret: never logged */
};

/* Reads the download.* and slskd.* settings.  SS_EINVAL with the reason
 * (e.g. a bad quality profile) in err. */
enum ss_err requests_config_load(struct dl_config *cfg, char *err,
                                 size_t errlen);

/*
 * Imports one finished file (state completed or importing).  SS_OK when
 * it is in the library (the hook marks it imported); SS_ENOTFOUND when the
 * finished file is not there yet (try again later); SS_ESTATE when the
 * configuration does not allow imports yet (library.path unset: wait,
 * err says why); anything else fails the file with err.
 */
typedef int (*dl_import_fn)(void *arg, struct db *db, const struct dl_file *f,
                            char *err, size_t errlen);

struct dl_hooks {
  void *arg;
  void (*mark_active)(void *arg); /* the poll has work; may be NULL */
  bool (*should_stop)(void *arg); /* may be NULL */
  dl_import_fn import;            /* NULL: completed files wait */
  /* Every open file at the start of the poll (for Cleanup's check). */
  void (*open_files)(void *arg, const struct dl_files *files);
  /* Raised to cut slskd calls short (shutdown, disable); may be NULL.
   * The poll's own client must already use it (slskd_set_cancel). */
  const atomic_bool *cancel;
};

struct dl_poll_result {
  int64_t completed;   /* files imported in this poll */
  int64_t failed;      /* transfers that failed in this poll */
  int64_t transfers;   /* transfers slskd listed */
  int64_t updated;     /* file rows written from the list */
  bool worked;         /* there were transfers or searches to follow */
  int64_t in_progress; /* files transferring after the poll */
  int64_t queued;      /* files waiting: to enqueue, enqueued, queued */
  int64_t searching;   /* requests pending or searching */
  enum ss_err rc;      /* SS_OK or the slskd / store failure */
  char error[SLSKD_ERROR_MAX]; /* readable reason when rc != SS_OK */
  char note[160];              /* waiting on configuration, or "" */
};

enum ss_err requests_poll(struct db *db, struct slskd *c,
                          const struct dl_config *cfg,
                          const struct dl_hooks *h,
                          struct dl_poll_result *out);

/* What POST /api/downloads asks for: exactly one field set. */
struct dl_new {
  const char *query; /* "artist - title" */
  const char *album; /* "artist - album" */
  const char *spotify_track_id;
  const char *spotify_album_id;
  /* With query: a quality upgrade of this library track.  The request
   * records the measured quality of its file and takes only candidates
   * strictly better under automation.quality_profile (candidates.h); the
   * import replaces the file in place, the old one to the quarantine
   * (import.h).  0 = a plain request. */
  int64_t upgrade_track_id;
  /* With any of the above: the MusicBrainz release group and release the
   * request is for (may be NULL or ""; else an MBID, any case).  Stored
   * on the request; the import names the album by them when its files
   * carry no MusicBrainz tags and fetches cover.jpg (import.h). */
  const char *mb_release_group_id;
  const char *mb_release_id;
};

/*
 * Validates and stores a new request.  SS_OK (*id set); SS_EINVAL (bad
 * input), SS_ENOTFOUND (Spotify id not in the synced library), SS_ESTATE
 * (no synced Spotify library to resolve ids from) - err says why.
 */
enum ss_err requests_create(struct db *db, const struct dl_new *in,
                            int64_t now_ms, int64_t *id, char *err,
                            size_t errlen);

/* The measured quality an upgrade request replaces, for the comparator. */
void requests_upgrade_input(const struct dl_upgrade *u,
                            struct quality_input *out);
/* The target profile of automation.quality_profile.  SS_OK or SS_EINVAL. */
enum ss_err requests_upgrade_target(struct quality_profile *out);

/* Soulseek search text from artist and title, in Unicode NFC: words only,
 * joined by one space ("AC/DC - Back in Black" -> "AC DC Back in Black"). */
void requests_search_text(const char *artist, const char *title, char *out,
                          size_t n);
/* Our file state for slskd flags: "queued", "in_progress", "completed"
 * or "failed". */
const char *requests_state_for(unsigned flags);

#endif
