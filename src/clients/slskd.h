/*
 * slskd.h - client of slskd's HTTP API v0 (docs/INTEGRATIONS.md, slskd).
 *
 * Every call authenticates with X-API-Key (when a key is set), sends JSON
 * with Content-Type: application/json, percent-encodes usernames in paths
 * and caps the reply body (SLSKD_LIST_MAX for the transfer list,
 * SLSKD_SEARCH_MAX for search responses, SLSKD_REPLY_MAX otherwise).
 *
 * The wire quirks are handled here once:
 *   - flag enums are comma-joined names ("Completed, Succeeded") and are
 *     parsed into bits, never compared as strings;
 *   - null properties are omitted: absent numbers read as 0 / -1 as noted;
 *   - timestamps come with and without 'Z' (both UTC), TimeSpans as
 *     "[d.]hh:mm:ss[.fffffff]";
 *   - strings carry \u escapes (surrogate pairs included);
 *   - enqueue answers 201 with {enqueued, failed} (0.24+) or an empty
 *     body (<= 0.23); 429 when slskd is busy with other enqueues.
 *
 * Results: SS_OK; SS_ENET (slskd unreachable), SS_ETIMEDOUT (no answer in
 * time); SS_ESTATE for 401/403 (API
 * key refused) and 409 (not logged in to Soulseek) - see
 * slskd_last_status(); SS_EBUSY for 429; SS_ENOTFOUND for 404; SS_ETOOBIG
 * for a reply over its cap; SS_EPROTO for a malformed reply or another
 * status.  slskd_last_error() then holds a readable reason that never
 * contains the API key.
 *
 * Threading: a struct slskd (one curl handle) belongs to one thread at a
 * time.  The parsers are pure and any-thread.
 */
#ifndef SS_SLSKD_H
#define SS_SLSKD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SLSKD_ID_MAX 40    /* GUID text + NUL */
#define SLSKD_STR_MAX 2048 /* longest name/path kept (cut beyond) */
#define SLSKD_LIST_MAX ((size_t)32 << 20)
#define SLSKD_SEARCH_MAX ((size_t)16 << 20)
#define SLSKD_REPLY_MAX ((size_t)4 << 20)
#define SLSKD_ERROR_MAX 256

/* Soulseek.NET TransferStates ([Flags]). */
enum {
  SLSKD_TS_REQUESTED = 1u << 0,
  SLSKD_TS_QUEUED = 1u << 1,
  SLSKD_TS_INITIALIZING = 1u << 2,
  SLSKD_TS_IN_PROGRESS = 1u << 3,
  SLSKD_TS_COMPLETED = 1u << 4,
  SLSKD_TS_SUCCEEDED = 1u << 5,
  SLSKD_TS_CANCELLED = 1u << 6,
  SLSKD_TS_TIMED_OUT = 1u << 7,
  SLSKD_TS_ERRORED = 1u << 8,
  SLSKD_TS_REJECTED = 1u << 9,
  SLSKD_TS_ABORTED = 1u << 10,
  SLSKD_TS_LOCALLY = 1u << 11,
  SLSKD_TS_REMOTELY = 1u << 12
};

/* SearchStates ([Flags]). */
enum {
  SLSKD_SS_REQUESTED = 1u << 0,
  SLSKD_SS_IN_PROGRESS = 1u << 1,
  SLSKD_SS_COMPLETED = 1u << 2,
  SLSKD_SS_CANCELLED = 1u << 3,
  SLSKD_SS_TIMED_OUT = 1u << 4,
  SLSKD_SS_RESPONSE_LIMIT = 1u << 5,
  SLSKD_SS_FILE_LIMIT = 1u << 6,
  SLSKD_SS_ERRORED = 1u << 7,
  SLSKD_SS_QUEUED = 1u << 8
};

/* What a transfer state means for us. */
enum slskd_phase {
  SLSKD_PHASE_QUEUED,    /* None, Requested, Queued (locally/remotely) */
  SLSKD_PHASE_ACTIVE,    /* Initializing, InProgress */
  SLSKD_PHASE_SUCCEEDED, /* Completed, Succeeded */
  SLSKD_PHASE_FAILED     /* Completed with anything else */
};

/* ---- pure parsers ---- */

/* "Completed, Succeeded" -> bits; unknown names are ignored, a number is
 * taken as bits.  NULL or "" -> 0. */
unsigned slskd_transfer_flags(const char *text);
unsigned slskd_search_flags(const char *text);
enum slskd_phase slskd_phase_of(unsigned flags);
/* Short reason for a failed state: "rejected by the peer", ... */
const char *slskd_failure_text(unsigned flags);

/* ISO 8601 "2026-08-22T18:00:01.123456" (no offset = UTC), "...Z" or
 * "...+02:00" -> ms since the epoch.  SS_OK or SS_EINVAL. */
enum ss_err slskd_parse_time(const char *s, int64_t *ms);
/* .NET TimeSpan "[-][d.]hh:mm:ss[.fffffff]" -> ms.  SS_OK or SS_EINVAL. */
enum ss_err slskd_parse_timespan(const char *s, int64_t *ms);

struct slskd_arena; /* string storage of a transfer list */

struct slskd_transfer {
  char id[SLSKD_ID_MAX];
  const char *username;   /* never NULL */
  const char *filename;   /* remote path, backslashes */
  const char *state_text; /* as sent, e.g. "Queued, Remotely" */
  const char *exception;  /* NULL when omitted */
  unsigned state;         /* SLSKD_TS_* bits */
  int64_t size;
  int64_t bytes_transferred;
  double average_speed;                       /* bytes/s */
  double percent;                             /* 0-100 */
  int64_t requested_ms, started_ms, ended_ms; /* 0 when omitted */
  int64_t elapsed_ms, remaining_ms;           /* -1 when omitted */
  int64_t place_in_queue;                     /* -1 when omitted */
  bool removed;
};

struct slskd_transfers {
  struct slskd_transfer *v;
  size_t n, cap;
  struct slskd_arena *arena;
};

/* Parses GET /transfers/downloads (users -> directories -> files).  All or
 * nothing: on error *out is empty and err names the problem. */
enum ss_err slskd_transfers_parse(const char *body, size_t len,
                                  struct slskd_transfers *out, char *err,
                                  size_t errlen);
void slskd_transfers_free(struct slskd_transfers *t);

struct slskd_file {
  char *filename;
  int64_t size;
  char ext[16];    /* lower case, from the filename ("" when none) */
  int bitrate;     /* kbps; 0 when omitted */
  int bit_depth;   /* 0 when omitted */
  int sample_rate; /* Hz; 0 when omitted */
  int length;      /* seconds; 0 when omitted */
  bool vbr;        /* isVariableBitRate (false when omitted) */
};

struct slskd_response {
  char *username;
  bool free_slot;
  int64_t queue_length;
  int64_t upload_speed;     /* bytes/s */
  struct slskd_file *files; /* downloadable files only */
  size_t n_files;
  size_t n_locked; /* lockedFiles: counted, never offered */
};

struct slskd_responses {
  struct slskd_response *v;
  size_t n;
};

/* Parses a responses array (GET /searches/{id}/responses). */
enum ss_err slskd_responses_parse(const char *body, size_t len,
                                  struct slskd_responses *out, char *err,
                                  size_t errlen);
void slskd_responses_free(struct slskd_responses *r);

struct slskd_search {
  char id[SLSKD_ID_MAX];
  unsigned state; /* SLSKD_SS_* */
  bool complete;  /* isComplete */
  int64_t response_count, file_count;
};
enum ss_err slskd_search_parse(const char *body, size_t len,
                               struct slskd_search *out, char *err,
                               size_t errlen);

struct slskd_enqueued {
  char id[SLSKD_ID_MAX];
  char *filename;
};

struct slskd_enqueue_reply {
  bool legacy_empty; /* <= 0.23: 201 with no body */
  size_t n_failed;   /* count only: the entries are {} */
  struct slskd_enqueued *enqueued;
  size_t n_enqueued;
};
enum ss_err slskd_enqueue_parse(const char *body, size_t len,
                                struct slskd_enqueue_reply *out, char *err,
                                size_t errlen);
void slskd_enqueue_reply_free(struct slskd_enqueue_reply *r);

struct slskd_app {
  char version[32];      /* "0.26.0" */
  char server_state[64]; /* "Connected, LoggedIn" */
  char username[64];
  bool logged_in;
};
enum ss_err slskd_app_parse(const char *body, size_t len,
                            struct slskd_app *out, char *err, size_t errlen);

/* Percent-encodes s as one path segment (unreserved bytes kept). */
void slskd_path_escape(const char *s, char *out, size_t n);

/* ---- client ---- */

struct slskd;

struct slskd *slskd_new(const char *base_url, const char *api_key);
void slskd_free(struct slskd *c);
/* Per-call timeout (default 10 s). */
void slskd_set_timeout(struct slskd *c, long timeout_ms);
/* A flag that, once raised, cuts every call short (SS_ECANCELED); NULL
 * for none.  The flag must outlive the client's calls. */
void slskd_set_cancel(struct slskd *c, const atomic_bool *cancel);
/* Reason of the last failed call ("" after a success). */
const char *slskd_last_error(const struct slskd *c);
/* HTTP status of the last call (0 when none arrived). */
long slskd_last_status(const struct slskd *c);
/* Wall time of the last call's HTTP exchange. */
long slskd_last_elapsed_ms(const struct slskd *c);

enum ss_err slskd_application(struct slskd *c, struct slskd_app *out);
/* POST /searches with our own id; timeout_ms is slskd's inactivity
 * timeout. */
enum ss_err slskd_search_start(struct slskd *c, const char *id,
                               const char *text, int timeout_ms);
enum ss_err slskd_search_get(struct slskd *c, const char *id,
                             struct slskd_search *out);
/* PUT /searches/{id}: ask slskd to stop it (it then completes). */
enum ss_err slskd_search_stop(struct slskd *c, const char *id);
enum ss_err slskd_search_delete(struct slskd *c, const char *id);
enum ss_err slskd_search_responses(struct slskd *c, const char *id,
                                   struct slskd_responses *out);

struct slskd_want {
  const char *filename;
  int64_t size;
};
enum ss_err slskd_enqueue(struct slskd *c, const char *username,
                          const struct slskd_want *files, size_t n,
                          struct slskd_enqueue_reply *out);
enum ss_err slskd_downloads(struct slskd *c, struct slskd_transfers *out);
/* DELETE /transfers/downloads/{username}/{id}[?remove=true]. */
enum ss_err slskd_cancel(struct slskd *c, const char *username, const char *id,
                         bool remove);

/* A random GUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). */
void slskd_new_guid(char out[SLSKD_ID_MAX]);

#endif
