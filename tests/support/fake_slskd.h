/*
 * fake_slskd.h - fake slskd HTTP API v0 (docs/INTEGRATIONS.md, slskd, quirks
 * included).  Implemented in fake_slskd.c; included by
 * fake_all.h.
 *
 * Besides health, application, version and server state it serves
 * searches, search responses, enqueue, the transfer list and cancel with
 * slskd's quirks: flag strings ("Completed, Succeeded"), omitted nulls,
 * requestedAt/enqueuedAt without 'Z' but startedAt/endedAt with it,
 * TimeSpan strings, .NET \u escapes (non-ASCII and <>&'"+`), integral
 * doubles, users -> directories -> files grouping, both enqueue reply
 * shapes, 415 without Content-Type: application/json, 429 when more than
 * two enqueues overlap, asynchronous cancel (a transfer becomes
 * "Completed, Cancelled" on the next step), remove=true only on terminal
 * transfers, search responses [] until the search completes, extension
 * always "" and audio attributes omitted when unknown.
 *
 * Progress is deterministic: every GET of the transfer list advances each
 * open transfer one step (unless auto-advance is off; fake_slskd_advance()
 * steps by hand).  Steps: "Queued, Locally" -> "Queued, Remotely" ->
 * "InProgress" (progress_steps times, bytes rising) -> "Completed,
 * Succeeded", when the file's source (if any) is copied to
 * DOWNLOAD_DIR/<remote folder>/<name> like slskd does.  Per file a test
 * can make a transfer error, be rejected, time out, stall forever, or its
 * peer be offline (enqueue answers 500).
 *
 * Threading: handlers run on the fake's connection threads; every setter
 * is safe from any thread (one mutex).
 */
#ifndef SS_TEST_FAKE_SLSKD_H
#define SS_TEST_FAKE_SLSKD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_http.h"

/* ---- slskd ---- */
struct fake_slskd;
/* api_key NULL or "" = authentication disabled (every request passes). */
int fake_slskd_start(struct fake_slskd **out, int port, const char *api_key);
void fake_slskd_stop(struct fake_slskd *fk);
struct fake_http *fake_slskd_http(struct fake_slskd *fk);
const char *fake_slskd_url(const struct fake_slskd *fk);
void fake_slskd_set_api_key(struct fake_slskd *fk, const char *api_key);
/* Soulseek network state reported by /server and /application (and
 * searches answer 409 while logged out). */
void fake_slskd_set_logged_in(struct fake_slskd *fk, bool logged_in);

enum fake_sk_behaviour {
  FAKE_SK_OK,
  FAKE_SK_ERROR,   /* "Completed, Errored" after the first progress */
  FAKE_SK_REJECT,  /* "Completed, Rejected" ("File not shared.") */
  FAKE_SK_TIMEOUT, /* "Completed, TimedOut" while remotely queued */
  FAKE_SK_STALL,   /* stays "Queued, Remotely" without progress */
  FAKE_SK_OFFLINE  /* the peer is offline: enqueue answers 500 */
};

/* A file a peer shares.  Searches find it by the words of its full path,
 * case and accents ignored (like slskd's own share index). */
struct fake_sk_file {
  const char *username;
  const char *filename; /* remote path with backslashes */
  int64_t size;
  int bitrate, bit_depth, sample_rate, length; /* 0 = omitted */
  bool vbr;
  const char *source; /* local file slskd "downloads"; NULL = none */
  enum fake_sk_behaviour behaviour;
};
void fake_slskd_add_file(struct fake_slskd *fk, const struct fake_sk_file *f);
/* Response attributes of a peer (default: free slot, queue 0, 1 MiB/s). */
void fake_slskd_set_peer(struct fake_slskd *fk, const char *username,
                         bool free_slot, int64_t queue_length,
                         int64_t upload_speed);
/* Changes the behaviour of a shared file and of its open transfers. */
void fake_slskd_set_behaviour(struct fake_slskd *fk, const char *username,
                              const char *filename, enum fake_sk_behaviour b);
/* Where finished files are written (slskd's downloads folder). */
void fake_slskd_set_download_dir(struct fake_slskd *fk, const char *dir);

/* GETs of a search before it completes (default 1; 0 = only by hand). */
void fake_slskd_set_search_polls(struct fake_slskd *fk, int polls);
void fake_slskd_complete_searches(struct fake_slskd *fk);
/* searchText of the newest search started ("" before any). */
void fake_slskd_last_search(struct fake_slskd *fk, char *out, size_t n);
/* Searches compare bytes (ASCII case ignored) like clients that do not
 * fold accents: "Bj\xc3\xb6rk" does not find "Bjork". */
void fake_slskd_set_strict_search(struct fake_slskd *fk, bool strict);

void fake_slskd_set_auto_advance(struct fake_slskd *fk, bool on);
void fake_slskd_advance(struct fake_slskd *fk, int steps);
/* InProgress steps before completion (default 1). */
void fake_slskd_set_progress_steps(struct fake_slskd *fk, int steps);

enum fake_sk_list_mode {
  FAKE_SK_LIST_OK,
  FAKE_SK_LIST_MALFORMED, /* valid JSON of the wrong shape */
  FAKE_SK_LIST_TRUNCATED, /* the real list cut in half */
  FAKE_SK_LIST_HUGE       /* a 40 MiB reply */
};
void fake_slskd_set_list_mode(struct fake_slskd *fk,
                              enum fake_sk_list_mode mode);
/* Enqueue answers an empty 201 like slskd <= 0.23. */
void fake_slskd_set_legacy_enqueue(struct fake_slskd *fk, bool legacy);
/* Each enqueue takes this long (so calls overlap). */
void fake_slskd_set_enqueue_delay(struct fake_slskd *fk, int ms);
/* Highest number of enqueues seen at once; 429s answered. */
int fake_slskd_enqueue_peak(struct fake_slskd *fk);
size_t fake_slskd_enqueue_busy(struct fake_slskd *fk);

/* Transfers known (removed ones included). */
size_t fake_slskd_transfer_count(struct fake_slskd *fk);
/* State string of the newest transfer of username/filename; false when
 * none. */
bool fake_slskd_transfer_state(struct fake_slskd *fk, const char *username,
                               const char *filename, char *out, size_t n);

/* Benchmark: n transfers "InProgress" of users "bench%03d", filenames
 * "@@bench\\Music\\Artist U\\Album A\\NN - Track.flac", ids from
 * fake_slskd_bench_id(). */
void fake_slskd_add_bench_transfers(struct fake_slskd *fk, size_t n);
void fake_slskd_bench_names(size_t i, char *id, size_t idn, char *user,
                            size_t un, char *filename, size_t fn);

#endif
