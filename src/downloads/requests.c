/*
 * requests.c - the download request engine (see requests.h).
 *
 * What: one poll = match slskd's transfer list against our open files,
 * cancel, replace failures, import, search, enqueue, settle.  Each step
 * reads the store, talks to slskd, and writes its result in one
 * transaction per row group, so a crash between steps is resumed by the
 * next poll.
 *
 * Threading: requests_poll runs on the monitor's thread (one per process:
 * it keeps two flags between polls - "no list read since start-up or an
 * outage" and a settle counter); enqueues fan out to at most
 * download.max_concurrent_enqueues short-lived threads, each with its own
 * slskd client, which touch no shared state but their job.
 * Ownership: everything allocated in a poll is freed before it returns.
 */
#include "downloads/requests.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/textnorm.h"
#include "clients/musicbrainz.h"
#include "core/xalloc.h"
#include "core/utf8.h"
#include "db/db_library.h"
#include "downloads/candidates.h"
#include "services/notify.h"

#define ENQUEUE_GRACE_MIN_MS (60 * 1000)
#define BUSY_TRIES 4
#define BUSY_WAIT_MS 250
#define MAX_JOBS 32
#define MAX_JOB_FILES 200
#define MAX_SEARCHES_PER_POLL 4
#define MAX_OPEN_REQUESTS 64
#define TEXT_MAX 300
#define SETTLE_EVERY 30

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

const char *requests_state_for(unsigned flags)
{
  switch (slskd_phase_of(flags)) {
  case SLSKD_PHASE_ACTIVE: return "in_progress";
  case SLSKD_PHASE_SUCCEEDED: return "completed";
  case SLSKD_PHASE_FAILED: return "failed";
  case SLSKD_PHASE_QUEUED: break;
  }
  return "queued";
}

static bool stop_now(const struct dl_hooks *h)
{
  return h->should_stop && h->should_stop(h->arg);
}

static void set_error(struct dl_poll_result *out, enum ss_err rc,
                      const char *msg)
{
  if (out->rc)
    return; /* the first failure is the root cause */
  out->rc = rc;
  snprintf(out->error, sizeof out->error, "%s", msg);
}

/* True for failures of slskd itself (every further call would fail). */
static bool fatal_slskd(enum ss_err rc)
{
  return rc == SS_ENET || rc == SS_ETIMEDOUT || rc == SS_ESTATE ||
         rc == SS_ETOOBIG || rc == SS_ECANCELED;
}

enum ss_err requests_config_load(struct dl_config *cfg, char *err,
                                 size_t errlen)
{
  char profile[SETTING_STR_MAX], perr[160];
  memset(cfg, 0, sizeof *cfg);
  settings_str(S_DOWNLOAD_QUALITY_PROFILE, profile, sizeof profile);
  if (quality_profile_parse(profile, &cfg->profile, perr, sizeof perr)) {
    snprintf(err, errlen, "download.quality_profile: %s", perr);
    return SS_EINVAL;
  }
  if (requests_upgrade_target(&cfg->upgrade_target)) {
    snprintf(err, errlen, "automation.quality_profile: unknown level");
    return SS_EINVAL;
  }
  cfg->max_retries = (int)settings_int(S_DOWNLOAD_MAX_RETRIES);
  cfg->stall_ms = settings_int(S_DOWNLOAD_STALL_TIMEOUT_MINUTES) * 60000;
  cfg->search_timeout_s = (int)settings_int(S_DOWNLOAD_SEARCH_TIMEOUT_SECONDS);
  cfg->max_enqueues = (int)settings_int(S_DOWNLOAD_MAX_CONCURRENT_ENQUEUES);
  cfg->poll_interval_ms = settings_int(S_DOWNLOAD_POLL_INTERVAL_SECONDS) *
                          1000;
  settings_str(S_SLSKD_URL, cfg->slskd_url, sizeof cfg->slskd_url);
  settings_str(S_SLSKD_API_KEY, cfg->slskd_key, sizeof cfg->slskd_key);
  return SS_OK;
}

/* ------------------------------------------------------------------ */
/* Transfer lookup                                                     */
/* ------------------------------------------------------------------ */

struct tmap {
  size_t mask;
  int32_t *slot; /* index into the transfer list, -1 = empty */
};

static uint64_t fnv(uint64_t h, const char *s)
{
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static uint64_t hash_name(const char *user, const char *file)
{
  return fnv(fnv(14695981039346656037ull, user) * 31 + 0x1f, file);
}

static void tmap_init(struct tmap *m, size_t n)
{
  size_t cap = 16;
  while (cap < n * 2)
    cap *= 2;
  m->mask = cap - 1;
  m->slot = xmalloc(cap * sizeof *m->slot);
  memset(m->slot, 0xff, cap * sizeof *m->slot);
}

static bool same_name(const struct slskd_transfer *t, const char *user,
                      const char *file)
{
  return !strcmp(t->username, user) && !strcmp(t->filename, file);
}

/* Index by id, and by name keeping the newest request of a name. */
static void tmap_build(struct tmap *by_id, struct tmap *by_name,
                       const struct slskd_transfers *t)
{
  tmap_init(by_id, t->n);
  tmap_init(by_name, t->n);
  for (size_t i = 0; i < t->n; i++) {
    const struct slskd_transfer *x = &t->v[i];
    size_t s = fnv(14695981039346656037ull, x->id) & by_id->mask;
    while (by_id->slot[s] >= 0)
      s = (s + 1) & by_id->mask;
    by_id->slot[s] = (int32_t)i;
    s = hash_name(x->username, x->filename) & by_name->mask;
    while (by_name->slot[s] >= 0 &&
           !same_name(&t->v[by_name->slot[s]], x->username, x->filename))
      s = (s + 1) & by_name->mask;
    if (by_name->slot[s] < 0 ||
        t->v[by_name->slot[s]].requested_ms <= x->requested_ms)
      by_name->slot[s] = (int32_t)i;
  }
}

static const struct slskd_transfer *tmap_find(const struct tmap *by_id,
                                              const struct tmap *by_name,
                                              const struct slskd_transfers *t,
                                              const struct dl_file *f)
{
  size_t s;
  if (f->transfer_id[0]) {
    s = fnv(14695981039346656037ull, f->transfer_id) & by_id->mask;
    for (; by_id->slot[s] >= 0; s = (s + 1) & by_id->mask)
      if (!strcmp(t->v[by_id->slot[s]].id, f->transfer_id))
        return &t->v[by_id->slot[s]];
  }
  s = hash_name(f->username, f->filename) & by_name->mask;
  for (; by_name->slot[s] >= 0; s = (s + 1) & by_name->mask)
    if (same_name(&t->v[by_name->slot[s]], f->username, f->filename))
      return &t->v[by_name->slot[s]];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Step 1: the transfer list                                           */
/* ------------------------------------------------------------------ */

static bool is_transfer_state(const char *s)
{
  return !strcmp(s, "enqueued") || !strcmp(s, "queued") ||
         !strcmp(s, "in_progress");
}

struct apply {
  struct dl_file_update *u;
  char **errors; /* per update, heap, NULL when none */
  size_t n;
  int64_t *failed; /* indexes into the open files */
  size_t n_failed;
  struct slskd *c;
  bool fresh; /* first list after start-up or an outage: no stalls */
};

static void push_update(struct apply *a, struct dl_file *f,
                        const struct slskd_transfer *t, const char *state,
                        const char *error, int64_t now)
{
  struct dl_file_update *u = &a->u[a->n];
  memset(u, 0, sizeof *u);
  u->id = f->id; /* NULL strings: unchanged, only progress is written */
  u->state = strcmp(state, f->state) ? state : NULL;
  u->bytes = t ? t->bytes_transferred : f->bytes;
  u->percent = t ? t->percent : f->percent;
  u->progress_ms = a->fresh || (t && t->bytes_transferred != f->bytes)
                     ? now
                     : f->progress_ms;
  if (t && strcmp(t->state_text, f->slskd_state))
    u->slskd_state = t->state_text;
  if (t && strcmp(t->id, f->transfer_id))
    u->transfer_id = t->id;
  if (error)
    u->error = a->errors[a->n] = xstrdup(error);
  a->n++;
  /* later steps of this poll see the new state */
  snprintf(f->state, sizeof f->state, "%s", state);
  f->bytes = u->bytes;
  f->percent = u->percent;
  f->progress_ms = u->progress_ms;
  if (t && !f->transfer_id[0])
    snprintf(f->transfer_id, sizeof f->transfer_id, "%s", t->id);
}

static void fail_transfer(struct apply *a, struct dl_file *f, size_t idx,
                          const struct slskd_transfer *t, const char *why,
                          int64_t now)
{
  push_update(a, f, t, "failed", why, now);
  a->failed[a->n_failed++] = (int64_t)idx;
}

static void transfer_failed(struct apply *a, struct dl_file *f, size_t idx,
                            const struct slskd_transfer *t, int64_t now)
{
  char why[DL_ERROR_MAX];
  if (t->exception && t->exception[0])
    snprintf(why, sizeof why, "%s: %s", slskd_failure_text(t->state),
             t->exception);
  else
    snprintf(why, sizeof why, "%s", slskd_failure_text(t->state));
  fail_transfer(a, f, idx, t, why, now);
}

/* Cancels a stalled or lost transfer in slskd (best effort). */
static void stall(struct apply *a, struct dl_file *f, size_t idx,
                  const struct slskd_transfer *t, const struct dl_config *cfg,
                  int64_t now)
{
  char why[DL_ERROR_MAX];
  const char *tid = t ? t->id : f->transfer_id;
  if (tid[0] && slskd_cancel(a->c, f->username, tid, false) != SS_OK)
    log_warn("downloads", "cancel of a stalled transfer failed: %s",
             slskd_last_error(a->c));
  snprintf(why, sizeof why, "stalled: no progress for %lld min",
           (long long)(cfg->stall_ms / 60000));
  fail_transfer(a, f, idx, t, why, now);
}

static void match_one(struct apply *a, struct dl_file *f, size_t idx,
                      const struct slskd_transfer *t,
                      const struct dl_config *cfg, int64_t now)
{
  int64_t grace = cfg->poll_interval_ms * 3;
  if (grace < ENQUEUE_GRACE_MIN_MS)
    grace = ENQUEUE_GRACE_MIN_MS;
  if (!t && a->fresh) { /* time without a list is nobody's stall */
    push_update(a, f, NULL, f->state, NULL, now);
    return;
  }
  if (!t) {
    if (!strcmp(f->state, "enqueued") && now - f->enqueued_ms > grace)
      fail_transfer(a, f, idx, NULL, "slskd does not list the transfer", now);
    else if (now - f->progress_ms > cfg->stall_ms)
      stall(a, f, idx, NULL, cfg, now);
    return;
  }
  const char *state = requests_state_for(t->state);
  if (!strcmp(state, "failed")) {
    transfer_failed(a, f, idx, t, now);
    return;
  }
  bool moved = t->bytes_transferred != f->bytes;
  if (!moved && !a->fresh && strcmp(state, "completed") &&
      now - f->progress_ms > cfg->stall_ms) {
    stall(a, f, idx, t, cfg, now);
    return;
  }
  if (moved || a->fresh || strcmp(state, f->state) ||
      strcmp(t->id, f->transfer_id) || t->percent != f->percent)
    push_update(a, f, t, state, strcmp(state, "completed") ? NULL : "", now);
}

static enum ss_err apply_transfers(struct db *db, struct dl_files *open,
                                   const struct slskd_transfers *t,
                                   const struct dl_config *cfg,
                                   struct apply *a, struct dl_poll_result *out)
{
  struct tmap by_id, by_name;
  int64_t now = clock_wall_ms();
  tmap_build(&by_id, &by_name, t);
  for (size_t i = 0; i < open->n; i++) {
    struct dl_file *f = &open->v[i];
    if (is_transfer_state(f->state) && strcmp(f->req_state, "cancelled"))
      match_one(a, f, i, tmap_find(&by_id, &by_name, t, f), cfg, now);
  }
  free(by_id.slot);
  free(by_name.slot);
  out->updated = (int64_t)a->n;
  out->failed += (int64_t)a->n_failed;
  return db_dl_files_update(db, a->u, a->n, now);
}

/* ------------------------------------------------------------------ */
/* Steps 2 and 3: cancellations and replacements                       */
/* ------------------------------------------------------------------ */

/* A failure belongs to its source: the replacement goes at once, to a
 * source already in use or, within download.max_retries more sources than
 * the first, to the next one. */
static void retry_elsewhere(struct db *db, const struct dl_config *cfg,
                            const struct dl_file *f)
{
  if (!strcmp(f->req_state, "cancelled"))
    return;
  int64_t now = clock_wall_ms();
  int next = f->retries + 1;
  enum ss_err rc = db_dl_file_replace(db, f->id, next, cfg->max_retries + 1,
                                      now, now);
  if (rc == SS_OK)
    log_info("downloads", "request %lld: retry %d of a failed file",
             (long long)f->request_id, next);
  else if (rc == SS_ENOTFOUND)
    log_info("downloads", "request %lld: no other source for a failed file",
             (long long)f->request_id);
}

/* True when a transfer of a cancelled request is still open (cheap: the
 * open files carry their request's state). */
static bool any_cancelled(const struct dl_files *open)
{
  for (size_t i = 0; i < open->n; i++)
    if (is_transfer_state(open->v[i].state) &&
        !strcmp(open->v[i].req_state, "cancelled"))
      return true;
  return false;
}

static void cancel_transfers(struct db *db, struct slskd *c,
                             const struct slskd_transfers *t)
{
  struct dl_files list;
  if (db_dl_files_to_cancel(db, &list, 256) != SS_OK)
    return;
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < list.n; i++) {
    struct dl_file *f = &list.v[i];
    const char *tid = f->transfer_id;
    for (size_t k = 0; !tid[0] && t && k < t->n; k++)
      if (same_name(&t->v[k], f->username, f->filename))
        tid = t->v[k].id;
    if (tid[0] && slskd_cancel(c, f->username, tid, false) != SS_OK)
      log_warn("downloads", "cancel failed: %s", slskd_last_error(c));
    struct dl_file_update u = {.id = f->id,
                               .state = "cancelled",
                               .bytes = f->bytes,
                               .percent = f->percent,
                               .progress_ms = f->progress_ms};
    db_dl_files_update(db, &u, 1, now);
  }
  db_dl_files_free(&list);
}

/* ------------------------------------------------------------------ */
/* Step 4: imports                                                     */
/* ------------------------------------------------------------------ */

static void import_one(struct db *db, const struct dl_config *cfg,
                       const struct dl_hooks *h, struct dl_file *f,
                       struct dl_poll_result *out)
{
  char err[DL_ERROR_MAX] = "";
  int64_t now = clock_wall_ms();
  enum ss_err rc = h->import(h->arg, db, f, err, sizeof err);
  if (rc == SS_OK) {
    out->completed++;
    snprintf(f->state, sizeof f->state, "imported");
    return;
  }
  if (rc == SS_ESTATE) {
    snprintf(out->note, sizeof out->note, "%s", err);
    return;
  }
  if (rc == SS_ENOTFOUND && f->import_tries + 1 < REQ_IMPORT_MAX_TRIES) {
    db_dl_import_wait(db, f->id, err, now);
    return;
  }
  log_warn("downloads", "request %lld: import failed: %s",
           (long long)f->request_id, err);
  db_dl_file_fail(db, f->id, err, now);
  snprintf(f->state, sizeof f->state, "failed");
  out->failed++;
  retry_elsewhere(db, cfg, f);
}

static void run_imports(struct db *db, const struct dl_config *cfg,
                        const struct dl_hooks *h, struct dl_files *open,
                        struct dl_poll_result *out)
{
  for (size_t i = 0; h->import && i < open->n && !stop_now(h); i++) {
    struct dl_file *f = &open->v[i];
    if (!strcmp(f->state, "completed") || !strcmp(f->state, "importing"))
      import_one(db, cfg, h, f, out);
  }
}

/* ------------------------------------------------------------------ */
/* Step 5: searches                                                    */
/* ------------------------------------------------------------------ */

static void start_searches(struct db *db, struct slskd *c,
                           const struct dl_config *cfg,
                           struct dl_poll_result *out)
{
  struct dl_request *r = xmalloc(MAX_SEARCHES_PER_POLL * sizeof *r);
  size_t n = 0, started = 0;
  int64_t now = clock_wall_ms();
  db_dl_requests_in(db, "pending", r, MAX_SEARCHES_PER_POLL, &n);
  for (size_t i = 0; i < n && !out->rc; i++) {
    if (r[i].next_try_ms > now)
      continue;
    char id[SLSKD_ID_MAX];
    slskd_new_guid(id);
    enum ss_err rc = slskd_search_start(c, id, r[i].query,
                                        cfg->search_timeout_s * 1000);
    if (rc == SS_OK) {
      db_dl_request_searching(db, r[i].id, id, now);
      started++;
    } else if (rc == SS_EBUSY) {
      break; /* one search POST at a time: next poll */
    } else if (fatal_slskd(rc)) {
      set_error(out, rc, slskd_last_error(c));
    } else {
      db_dl_request_set_state(db, r[i].id, "failed", slskd_last_error(c), now);
    }
  }
  if (started)
    log_info("downloads", "started %zu search(es)", started);
  free(r);
}

/* Converts ranked candidates for the store (pointers into l). */
static struct dl_candidate *to_store(const struct candidate_list *l,
                                     struct dl_cand_file **files_out,
                                     char (**quality_out)[32])
{
  struct dl_candidate *c = xcalloc(l->n ? l->n : 1, sizeof *c);
  size_t total = 0;
  for (size_t i = 0; i < l->n; i++)
    total += l->v[i].n_files;
  struct dl_cand_file *files = xcalloc(total ? total : 1, sizeof *files);
  char(*quality)[32] = xcalloc(l->n ? l->n : 1, sizeof *quality);
  size_t k = 0;
  for (size_t i = 0; i < l->n; i++) {
    const struct candidate *s = &l->v[i];
    quality_describe(&s->worst, quality[i], sizeof quality[i]);
    c[i] = (struct dl_candidate){s->username,     s->directory,
                                 quality[i],      s->total_size,
                                 s->free_slot,    s->queue_length,
                                 s->upload_speed, &files[k],
                                 s->n_files};
    for (size_t j = 0; j < s->n_files; j++)
      files[k++] = (struct dl_cand_file){s->files[j].filename,
                                         s->files[j].size, s->files[j].key};
  }
  *files_out = files;
  *quality_out = quality;
  return c;
}

/* Stores the ranked candidates and queues the best one's files (or fails
 * the request when there is none). */
static void store_candidates(struct db *db, const struct dl_request *r,
                             const struct candidate_list *l, size_t peers,
                             const struct quality_input *upgrade_from)
{
  char why[DL_ERROR_MAX], have[32];
  if (upgrade_from) {
    quality_describe(upgrade_from, have, sizeof have);
    snprintf(why, sizeof why,
             "no result better than the current file (%s) matched (%zu "
             "files from %zu peers)",
             have, l->files_seen, peers);
  } else {
    snprintf(why, sizeof why,
             "no result matched the query and the quality profile (%zu "
             "files from %zu peers)",
             l->files_seen, peers);
  }
  struct dl_cand_file *files;
  char(*quality)[32];
  struct dl_candidate *dc = to_store(l, &files, &quality);
  db_dl_search_done(db, r->id, dc, l->n, why, clock_wall_ms());
  log_info("downloads", "request %lld: %zu candidate(s) from %zu peers",
           (long long)r->id, l->n, peers);
  free(dc);
  free(files);
  free(quality);
}

/* Nothing matched a query with accents: clients that do not fold accents
 * only find ASCII-folded shares ("Bjork") by an ASCII-folded query, so the
 * request searches once more without them.  False when there is no such
 * text (no accents, or already searched without). */
static bool search_unaccented(struct db *db, const struct dl_request *r)
{
  char plain[DL_QUERY_MAX];
  textnorm_unaccent(r->query, plain, sizeof plain);
  if (!plain[0] || !strcmp(plain, r->query) ||
      db_dl_request_search_again(db, r->id, plain, clock_wall_ms()))
    return false;
  log_info("downloads", "request %lld: nothing matched, searching \"%s\"",
           (long long)r->id, plain);
  return true;
}

static void finish_search(struct db *db, struct slskd *c,
                          const struct dl_config *cfg,
                          const struct dl_request *r,
                          struct dl_poll_result *out)
{
  struct slskd_responses resp;
  enum ss_err rc = slskd_search_responses(c, r->search_id, &resp);
  if (rc) {
    if (fatal_slskd(rc))
      set_error(out, rc, slskd_last_error(c));
    else
      db_dl_request_retry_search(db, r->id, clock_wall_ms(),
                                 slskd_last_error(c), clock_wall_ms());
    return;
  }
  struct cand_query q = {r->kind,   r->query, r->title, r->expected_tracks,
                         r->artist, NULL,     NULL};
  struct dl_upgrade up;
  struct quality_input have;
  if (db_dl_request_upgrade(db, r->id, &up) == SS_OK && up.track_id) {
    requests_upgrade_input(&up, &have);
    q.upgrade_from = &have;
    q.upgrade_target = &cfg->upgrade_target;
  }
  struct candidate_list l;
  candidates_build(&resp, &q, &cfg->profile, REQ_MAX_CANDIDATES, &l);
  if (l.n || !search_unaccented(db, r))
    store_candidates(db, r, &l, resp.n, q.upgrade_from);
  candidates_free(&l);
  slskd_responses_free(&resp);
  slskd_search_delete(c, r->search_id); /* frees slskd's memory */
}

static void follow_search(struct db *db, struct slskd *c,
                          const struct dl_config *cfg,
                          const struct dl_request *r,
                          struct dl_poll_result *out)
{
  struct slskd_search s;
  int64_t now = clock_wall_ms();
  enum ss_err rc = slskd_search_get(c, r->search_id, &s);
  if (rc == SS_ENOTFOUND) { /* slskd restarted: search again */
    if (r->search_tries >= REQ_SEARCH_MAX_TRIES)
      db_dl_request_set_state(db, r->id, "failed",
                              "the search vanished from slskd", now);
    else
      db_dl_request_retry_search(db, r->id, now, "", now);
    return;
  }
  if (rc) {
    if (fatal_slskd(rc))
      set_error(out, rc, slskd_last_error(c));
    return;
  }
  if (s.complete) {
    finish_search(db, c, cfg, r, out);
    return;
  }
  /* slskd's timeout counts from the last response: give it room, then
   * stop it (it completes and keeps its responses), then give up. */
  int64_t limit = (int64_t)cfg->search_timeout_s * 4000 + 60000;
  if (now - r->search_started_ms > 2 * limit)
    db_dl_request_set_state(db, r->id, "failed", "the search did not finish",
                            now);
  else if (now - r->search_started_ms > limit)
    slskd_search_stop(c, r->search_id);
}

static void run_searches(struct db *db, struct slskd *c,
                         const struct dl_config *cfg, const struct dl_hooks *h,
                         struct dl_poll_result *out)
{
  struct dl_request *r = xmalloc(MAX_OPEN_REQUESTS * sizeof *r);
  size_t n = 0;
  db_dl_requests_in(db, "searching", r, MAX_OPEN_REQUESTS, &n);
  for (size_t i = 0; i < n && !out->rc && !stop_now(h); i++)
    follow_search(db, c, cfg, &r[i], out);
  free(r);
  if (!out->rc && !stop_now(h))
    start_searches(db, c, cfg, out);
}

/* ------------------------------------------------------------------ */
/* Step 6: enqueues                                                    */
/* ------------------------------------------------------------------ */

struct job {
  int64_t request_id;
  const char *username;
  size_t idx[MAX_JOB_FILES]; /* into the open files */
  size_t n;
  enum ss_err rc;
  char error[SLSKD_ERROR_MAX];
  struct slskd_enqueue_reply reply;
};

struct fanout {
  pthread_mutex_t mu;
  struct job *jobs;
  size_t n_jobs, next;
  const struct dl_files *open;
  const struct dl_config *cfg;
  const atomic_bool *cancel;
};

static void wait_ms(int64_t ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static void run_job(struct slskd *c, const struct dl_files *open,
                    const atomic_bool *cancel, struct job *j)
{
  struct slskd_want w[MAX_JOB_FILES];
  for (size_t i = 0; i < j->n; i++)
    w[i] = (struct slskd_want){open->v[j->idx[i]].filename,
                               open->v[j->idx[i]].size};
  for (int attempt = 0; attempt < BUSY_TRIES; attempt++) {
    if (attempt)
      wait_ms((int64_t)BUSY_WAIT_MS << (attempt - 1));
    if (cancel && atomic_load(cancel))
      break; /* j->rc stays SS_EBUSY: tried again next poll */
    j->rc = slskd_enqueue(c, j->username, w, j->n, &j->reply);
    if (j->rc != SS_EBUSY)
      break;
  }
  snprintf(j->error, sizeof j->error, "%s", slskd_last_error(c));
}

static void *fanout_main(void *arg)
{
  struct fanout *f = arg;
  struct slskd *c = slskd_new(f->cfg->slskd_url, f->cfg->slskd_key);
  slskd_set_cancel(c, f->cancel);
  for (;;) {
    pthread_mutex_lock(&f->mu);
    size_t i = f->next < f->n_jobs ? f->next++ : SIZE_MAX;
    pthread_mutex_unlock(&f->mu);
    if (i == SIZE_MAX)
      break;
    run_job(c, f->open, f->cancel, &f->jobs[i]);
  }
  slskd_free(c);
  return NULL;
}

static void run_jobs(struct slskd *c, const struct dl_config *cfg,
                     const atomic_bool *cancel, const struct dl_files *open,
                     struct job *jobs, size_t n)
{
  size_t threads = (size_t)(cfg->max_enqueues > 0 ? cfg->max_enqueues : 1);
  if (threads > n)
    threads = n;
  if (threads <= 1) {
    for (size_t i = 0; i < n; i++)
      run_job(c, open, cancel, &jobs[i]);
    return;
  }
  struct fanout f = {.jobs = jobs,
                     .n_jobs = n,
                     .open = open,
                     .cfg = cfg,
                     .cancel = cancel};
  pthread_mutex_init(&f.mu, NULL);
  pthread_t *t = xmalloc(threads * sizeof *t);
  size_t started = 0;
  for (; started < threads; started++)
    if (pthread_create(&t[started], NULL, fanout_main, &f))
      break;
  if (!started)
    fanout_main(&f);
  for (size_t i = 0; i < started; i++)
    pthread_join(t[i], NULL);
  free(t);
  pthread_mutex_destroy(&f.mu);
}

/* Groups due 'want' files per request and peer. */
static size_t collect_jobs(struct dl_files *open, struct job *jobs,
                           int64_t now)
{
  size_t n = 0;
  for (size_t i = 0; i < open->n; i++) {
    struct dl_file *f = &open->v[i];
    if (strcmp(f->state, "want") || f->not_before_ms > now ||
        strcmp(f->req_state, "downloading"))
      continue;
    size_t k = 0;
    while (k < n && (jobs[k].request_id != f->request_id ||
                     strcmp(jobs[k].username, f->username)))
      k++;
    if (k == n) {
      if (n == MAX_JOBS)
        continue;
      memset(&jobs[n], 0, sizeof jobs[n]);
      jobs[n].request_id = f->request_id;
      jobs[n].username = f->username;
      n++;
    }
    if (jobs[k].n < MAX_JOB_FILES)
      jobs[k].idx[jobs[k].n++] = i;
  }
  return n;
}

static const char *enqueued_id(const struct slskd_enqueue_reply *r,
                               const char *filename)
{
  for (size_t i = 0; i < r->n_enqueued; i++)
    if (!strcmp(r->enqueued[i].filename, filename))
      return r->enqueued[i].id;
  return "";
}

static void apply_job(struct db *db, const struct dl_config *cfg,
                      struct dl_files *open, struct job *j,
                      struct dl_poll_result *out)
{
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < j->n; i++) {
    struct dl_file *f = &open->v[j->idx[i]];
    if (j->rc == SS_OK) {
      /* Files in "failed" may already be queued (an enqueue repeated
       * after a crash): the list tells within the grace period. */
      db_dl_file_enqueued(db, f->id, enqueued_id(&j->reply, f->filename), now);
    } else if (j->rc == SS_EBUSY) {
      db_dl_file_defer(db, f->id, now + BUSY_WAIT_MS * 4, now);
    } else if (fatal_slskd(j->rc)) {
      set_error(out, j->rc, j->error);
    } else {
      char why[DL_ERROR_MAX];
      snprintf(why, sizeof why, "enqueue refused: %s", j->error);
      db_dl_file_fail(db, f->id, why, now);
      out->failed++;
      retry_elsewhere(db, cfg, f);
    }
  }
}

static void run_enqueues(struct db *db, struct slskd *c,
                         const struct dl_config *cfg, const struct dl_hooks *h,
                         struct dl_files *open, struct dl_poll_result *out)
{
  struct job *jobs = xmalloc(MAX_JOBS * sizeof *jobs);
  size_t n = collect_jobs(open, jobs, clock_wall_ms());
  if (n) {
    run_jobs(c, cfg, h->cancel, open, jobs, n);
    for (size_t i = 0; i < n; i++) {
      apply_job(db, cfg, open, &jobs[i], out);
      slskd_enqueue_reply_free(&jobs[i].reply);
    }
    log_info("downloads", "enqueued files for %zu peer group(s)", n);
  }
  free(jobs);
}

/* ------------------------------------------------------------------ */
/* Step 7: settle                                                      */
/* ------------------------------------------------------------------ */

/* A request was imported (imported: some files at least) or failed for
 * good: one notification with its real names (services/notify.h). */
static void notify_settled(struct db *db, int64_t id, bool imported)
{
  struct dl_request_view *v = xcalloc(1, sizeof *v);
  if (db_dl_request_get(db, id, v) == SS_OK) {
    const struct dl_request *r = &v->r;
    char title[NOTIFY_TITLE_MAX], body[NOTIFY_BODY_MAX];
    const char *name = r->title[0] ? r->title : r->query;
    snprintf(title, sizeof title, "%s: %s%s%s",
             imported ? "Imported" : "Download failed", r->artist,
             r->artist[0] ? " \xe2\x80\x93 " : "", name);
    if (imported)
      snprintf(body, sizeof body, "%s%s%s: %d of %d file(s) imported%s%s",
               r->artist, r->artist[0] ? " \xe2\x80\x93 " : "", name,
               v->files_imported, v->files_total, r->error[0] ? "; " : "",
               r->error);
    else
      snprintf(body, sizeof body, "%s%s%s: %s", r->artist,
               r->artist[0] ? " \xe2\x80\x93 " : "", name, r->error);
    notify_event(imported ? NOTIFY_DOWNLOAD_IMPORTED : NOTIFY_DOWNLOAD_FAILED,
                 title, body);
  }
  free(v);
}

static void settle(struct db *db)
{
  int64_t ids[MAX_OPEN_REQUESTS];
  size_t n = 0;
  db_dl_requests_settled(db, ids, MAX_OPEN_REQUESTS, &n);
  int64_t now = clock_wall_ms();
  for (size_t i = 0; i < n; i++) {
    struct dl_file_counts k;
    char msg[DL_ERROR_MAX + 64];
    if (db_dl_request_counts(db, ids[i], &k) != SS_OK)
      continue;
    if (k.total > 0 && k.imported == k.total) {
      db_dl_request_set_state(db, ids[i], "completed", "", now);
    } else if (k.imported > 0) {
      snprintf(msg, sizeof msg, "%d of %d files failed: %s", k.failed, k.total,
               k.last_error);
      db_dl_request_set_state(db, ids[i], "completed", msg, now);
    } else if (k.sources > 1) {
      snprintf(msg, sizeof msg, "%d sources tried, none worked; the last: %s",
               k.sources, k.last_error);
      db_dl_request_set_state(db, ids[i], "failed", msg, now);
    } else {
      db_dl_request_set_state(db, ids[i], "failed",
                              k.last_error[0] ? k.last_error
                                              : "nothing could be downloaded",
                              now);
    }
    log_info("downloads", "request %lld settled: %d of %d files imported",
             (long long)ids[i], k.imported, k.total);
    notify_settled(db, ids[i], k.imported > 0);
  }
}

/* ------------------------------------------------------------------ */
/* The poll                                                            */
/* ------------------------------------------------------------------ */

/* Work to follow: open files, or requests pending or searching. */
static bool has_work(struct db *db, const struct dl_files *open)
{
  struct dl_request *r;
  size_t n = 0;
  if (open->n)
    return true;
  r = xmalloc(sizeof *r);
  db_dl_requests_in(db, "pending", r, 1, &n);
  if (!n)
    db_dl_requests_in(db, "searching", r, 1, &n);
  free(r);
  return n > 0;
}

/* The gauges, from the open files as this poll left them. */
static void count_open(struct db *db, const struct dl_files *open,
                       struct dl_poll_result *out)
{
  struct dl_gauges g;
  for (size_t i = 0; i < open->n; i++) {
    const char *s = open->v[i].state;
    if (!strcmp(s, "in_progress"))
      out->in_progress++;
    else if (!strcmp(s, "want") || !strcmp(s, "enqueued") ||
             !strcmp(s, "queued"))
      out->queued++;
  }
  if (db_dl_gauges(db, &g) == SS_OK)
    out->searching = g.searching;
}

/* Settling looks at every downloading request, so it runs when a file
 * reached an end in this poll - and on the first poll of the process and
 * every SETTLE_EVERY polls, for ends a crash left unsettled. */
static bool settle_due(const struct dl_poll_result *out, bool cancelled)
{
  static unsigned polls; /* monitor thread only */
  return out->failed || out->completed || cancelled ||
         polls++ % SETTLE_EVERY == 0;
}

static void replace_failed(struct db *db, const struct dl_config *cfg,
                           struct dl_files *open, const struct apply *a)
{
  for (size_t i = 0; i < a->n_failed; i++)
    retry_elsewhere(db, cfg, &open->v[a->failed[i]]);
}

/* Step 1-3 against the transfer list; false when slskd failed. */
/* True until the first list after start-up, and again after a list could
 * not be read: the next list only refreshes progress times (monitor
 * thread only). */
static bool list_missed = true;

static bool follow_transfers(struct db *db, struct slskd *c,
                             const struct dl_config *cfg,
                             struct dl_files *open, struct dl_poll_result *out)
{
  struct slskd_transfers t;
  enum ss_err rc = slskd_downloads(c, &t);
  if (rc) {
    set_error(out, rc, slskd_last_error(c));
    list_missed = true;
    return false;
  }
  out->transfers = (int64_t)t.n;
  size_t cap = open->n ? open->n : 1;
  struct apply a = {xmalloc(cap * sizeof *a.u),
                    xcalloc(cap, sizeof *a.errors),
                    0,
                    xmalloc(cap * sizeof *a.failed),
                    0,
                    c,
                    list_missed};
  rc = apply_transfers(db, open, &t, cfg, &a, out);
  if (rc == SS_OK) {
    list_missed = false;
    replace_failed(db, cfg, open, &a);
  } else {
    set_error(out, rc, "could not store transfer progress");
  }
  if (any_cancelled(open))
    cancel_transfers(db, c, &t);
  for (size_t i = 0; i < a.n; i++)
    free(a.errors[i]);
  free(a.u);
  free(a.errors);
  free(a.failed);
  slskd_transfers_free(&t);
  return rc == SS_OK;
}

enum ss_err requests_poll(struct db *db, struct slskd *c,
                          const struct dl_config *cfg,
                          const struct dl_hooks *h, struct dl_poll_result *out)
{
  struct dl_files open;
  memset(out, 0, sizeof *out);
  enum ss_err rc = db_dl_files_open(db, &open);
  if (rc) {
    set_error(out, rc, "could not read the download store");
    return rc;
  }
  if (h->open_files)
    h->open_files(h->arg, &open);
  bool cancelled = any_cancelled(&open);
  out->worked = has_work(db, &open);
  if (out->worked && h->mark_active)
    h->mark_active(h->arg);
  bool slskd_ok = follow_transfers(db, c, cfg, &open, out);
  run_imports(db, cfg, h, &open, out);
  if (slskd_ok && !stop_now(h))
    run_searches(db, c, cfg, h, out);
  if (slskd_ok && !out->rc && !stop_now(h))
    run_enqueues(db, c, cfg, h, &open, out);
  if (settle_due(out, cancelled))
    settle(db);
  count_open(db, &open, out);
  db_dl_files_free(&open);
  return out->rc;
}

/* ------------------------------------------------------------------ */
/* Creating requests                                                   */
/* ------------------------------------------------------------------ */

void requests_search_text(const char *artist, const char *title, char *out,
                          size_t n)
{
  size_t o = 0;
  bool space = false;
  /* Peers match the words against their own names, which are mostly NFC
   * (an NFD query would find nothing there). */
  char nfc[2][DL_TEXT_MAX * 2];
  textnorm_nfc(artist, nfc[0], sizeof nfc[0]);
  textnorm_nfc(title, nfc[1], sizeof nfc[1]);
  const char *parts[2] = {nfc[0], nfc[1]};
  for (int k = 0; k < 2; k++) {
    space = o > 0;
    for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
      bool word = isalnum(*p) || *p >= 0x80 || *p == '\'';
      if (!word) {
        space = o > 0;
        continue;
      }
      if (space && o + 1 < n) {
        out[o++] = ' ';
        space = false;
      }
      if (o + 1 < n)
        out[o++] = (char)*p;
    }
  }
  if (!n)
    return;
  o = utf8_fit(out, o); /* a full buffer may end inside a character */
  while (o > 0 && out[o - 1] == ' ')
    o--; /* or after a word */
  out[o] = '\0';
}

/* Trimmed copy of a free-text field; false when empty, too long or with
 * control characters. */
static bool clean_text(const char *in, char *out, size_t n)
{
  while (*in == ' ' || *in == '\t')
    in++;
  size_t len = strlen(in);
  while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
    len--;
  if (!len || len > TEXT_MAX || len >= n)
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f)
      return false;
  memcpy(out, in, len);
  out[len] = '\0';
  return true;
}

/* "Artist - Title" -> artist, title (no " - ": title only). */
static void split_artist(const char *text, struct dl_request *r)
{
  const char *sep = strstr(text, " - ");
  if (!sep) {
    snprintf(r->title, sizeof r->title, "%s", text);
    return;
  }
  snprintf(r->artist, sizeof r->artist, "%.*s", (int)(sep - text), text);
  snprintf(r->title, sizeof r->title, "%s", sep + 3);
}

static bool spotify_id_ok(const char *id)
{
  size_t n = strlen(id);
  if (!n || n > 62)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]))
      return false;
  return true;
}

static enum ss_err from_spotify(struct db *db, bool album, const char *id,
                                struct dl_request *r, char *err, size_t errlen)
{
  struct dl_spotify_item it;
  const char *what = album ? "album" : "track";
  if (!spotify_id_ok(id)) {
    snprintf(err, errlen, "spotify_%s_id must be a Spotify id", what);
    return SS_EINVAL;
  }
  enum ss_err rc = db_dl_spotify_lookup(db, album, id, &it);
  if (rc == SS_ESTATE) {
    snprintf(err, errlen,
             "Spotify %s ids cannot be resolved yet: there is "
             "no synced Spotify library; send \"%s\" as text",
             what, album ? "album" : "query");
    return rc;
  }
  if (rc) {
    snprintf(err, errlen, "Spotify %s %s is not in the synced library", what,
             id);
    return SS_ENOTFOUND;
  }
  char *more = strstr(it.artist, ", "); /* "A, B": the main artist */
  if (more)
    *more = '\0';
  snprintf(r->artist, sizeof r->artist, "%s", it.artist);
  snprintf(r->title, sizeof r->title, "%s", it.title);
  snprintf(r->spotify_id, sizeof r->spotify_id, "%s", id);
  r->expected_tracks = it.tracks;
  return SS_OK;
}

static enum ss_err fill_request(struct db *db, const struct dl_new *in,
                                struct dl_request *r, char *err, size_t errlen)
{
  const char *text = in->query ? in->query : in->album;
  int given = !!in->query + !!in->album + !!in->spotify_track_id +
              !!in->spotify_album_id;
  char clean[TEXT_MAX + 1];
  if (given != 1) {
    snprintf(err, errlen,
             "give exactly one of query, album, "
             "spotify_track_id, spotify_album_id");
    return SS_EINVAL;
  }
  r->kind = in->album || in->spotify_album_id ? DL_ALBUM : DL_TRACK;
  if (!text)
    return from_spotify(db, in->spotify_album_id != NULL,
                        in->spotify_album_id ? in->spotify_album_id
                                             : in->spotify_track_id,
                        r, err, errlen);
  if (!clean_text(text, clean, sizeof clean)) {
    snprintf(err, errlen, "%s must be 1-%d characters of text",
             in->query ? "query" : "album", TEXT_MAX);
    return SS_EINVAL;
  }
  split_artist(clean, r);
  return SS_OK;
}

void requests_upgrade_input(const struct dl_upgrade *u,
                            struct quality_input *out)
{
  memset(out, 0, sizeof *out);
  snprintf(out->format, sizeof out->format, "%s", u->format);
  out->bitrate_kbps = u->bitrate_kbps;
  out->vbr = u->vbr;
  out->bit_depth = u->bit_depth;
  out->sample_rate = u->sample_rate;
}

enum ss_err requests_upgrade_target(struct quality_profile *out)
{
  char level[SETTING_STR_MAX], perr[160];
  settings_str(S_AUTOMATION_QUALITY_PROFILE, level, sizeof level);
  const char *text = quality_target_profile(level);
  return text ? quality_profile_parse(text, out, perr, sizeof perr)
              : SS_EINVAL;
}

/* What an upgrade of a library track replaces: the measured quality of
 * its file (the scanner's codec, bitrate, bit depth and sample rate,
 * never the file name). */
static enum ss_err upgrade_of(struct db *db, const struct dl_new *in,
                              struct dl_upgrade *u, char *err, size_t errlen)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  enum ss_err rc = SS_OK;
  memset(u, 0, sizeof *u);
  if (!in->query) {
    snprintf(err, errlen, "an upgrade is a track request (query)");
    rc = SS_EINVAL;
  } else if (db_library_track_by_id(db, in->upgrade_track_id, t) || t->gone ||
             t->quarantined) {
    snprintf(err, errlen, "library track %lld is not in the library",
             (long long)in->upgrade_track_id);
    rc = SS_ENOTFOUND;
  } else {
    struct quality_input q;
    quality_from_codec(t->media.codec, t->media.bitrate, false,
                       t->media.bit_depth, t->media.sample_rate, &q);
    u->track_id = t->id;
    snprintf(u->format, sizeof u->format, "%s", q.format);
    u->bitrate_kbps = q.bitrate_kbps;
    u->vbr = q.vbr;
    u->bit_depth = q.bit_depth;
    u->sample_rate = q.sample_rate;
  }
  free(t);
  return rc;
}

/* The optional MusicBrainz ids of in, canonical, into r.  SS_EINVAL with a
 * reason for one that is not an MBID. */
static enum ss_err mbids_of(const struct dl_new *in, struct dl_request *r,
                            char *err, size_t errlen)
{
  const char *given[2] = {in->mb_release_group_id, in->mb_release_id};
  char *dst[2] = {r->mb_release_group_id, r->mb_release_id};
  static const char *const names[2] = {"mb_release_group_id", "mb_release_id"};
  for (int i = 0; i < 2; i++) {
    if (!given[i] || !given[i][0])
      continue;
    char mbid[MB_ID_LEN + 1];
    if (mb_mbid_canonical(given[i], mbid) != SS_OK) {
      snprintf(err, errlen, "%s must be a MusicBrainz id (8-4-4-4-12 hex)",
               names[i]);
      return SS_EINVAL;
    }
    snprintf(dst[i], DL_MBID_MAX, "%s", mbid);
  }
  return SS_OK;
}

enum ss_err requests_create(struct db *db, const struct dl_new *in,
                            int64_t now_ms, int64_t *id, char *err,
                            size_t errlen)
{
  struct dl_request *r = xcalloc(1, sizeof *r);
  enum ss_err rc = fill_request(db, in, r, err, errlen);
  if (rc == SS_OK)
    rc = mbids_of(in, r, err, errlen);
  struct dl_upgrade up = {0};
  if (rc == SS_OK && in->upgrade_track_id)
    rc = upgrade_of(db, in, &up, err, errlen);
  if (rc == SS_OK) {
    requests_search_text(r->artist, r->title, r->query, sizeof r->query);
    if (!r->query[0]) {
      snprintf(err, errlen, "the request has no searchable words");
      rc = SS_EINVAL;
    }
  }
  if (rc == SS_OK) {
    r->created_ms = now_ms;
    rc = up.track_id ? db_dl_request_add_upgrade(db, r, &up, id)
                     : db_dl_request_add(db, r, id);
    if (rc)
      snprintf(err, errlen, "could not store the request");
  }
  if (rc == SS_OK)
    log_info("downloads", "request %lld: %s \"%s\"", (long long)*id,
             r->kind == DL_ALBUM ? "album" : "track", r->query);
  free(r);
  return rc;
}
