/*
 * wanted.c - the one dispatcher of the Wanted list (see wanted.h).
 *
 * Dispatch: the hourly room (automation.max_requests_per_hour minus the
 * requests logged in the last hour) and the per-run cap bound how many
 * due items become download requests; the rest stay due ("capped").  A
 * request names the release by its Spotify id when the synced library
 * knows it, else by "artist - title" text; when a request cannot be made
 * at all the item waits an hour with the reason (not an attempt: nothing
 * was searched).
 *
 * Follow: each item in flight reads its request.  pending/searching keep
 * the item searching; downloading makes it downloading; completed makes
 * it imported when the ownership index agrees (built once per pass, only
 * when a request completed); failed, cancelled, vanished or completed
 * without the files in the library climb the ladder.
 *
 * Threading: any thread with its own db.  Memory: item batches are heap
 * arrays freed before returning.
 */
#include "automation/wanted.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "automation/ownership.h"
#include "clients/musicbrainz.h"
#include "config/settings.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db_downloads.h"
#include "db/db_wanted.h"
#include "downloads/requests.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define FOLLOW_BATCH 256
#define CAPPED_PEEK 1000 /* due items counted beyond the caps, at most */

int64_t wanted_ladder_delay_ms(int attempts)
{
  static const int64_t ladder[WANTED_LADDER_STEPS] = {HOUR_MS, 6 * HOUR_MS,
                                                      DAY_MS, 3 * DAY_MS,
                                                      7 * DAY_MS};
  if (attempts < 1)
    return 0;
  if (attempts > WANTED_LADDER_STEPS)
    return -1;
  return ladder[attempts - 1];
}

void wanted_dispatch_config_load(struct wanted_dispatch_config *cfg)
{
  cfg->max_per_run = (int)settings_int(S_AUTOMATION_MAX_REQUESTS_PER_RUN);
  cfg->max_per_hour = (int)settings_int(S_AUTOMATION_MAX_REQUESTS_PER_HOUR);
}

/* An album item's MusicBrainz id is its release group: its request
 * carries it, so the import names the album and fetches its cover by it.
 * NULL for a track (a recording id) or an id that is not an MBID. */
static const char *release_group_of(const struct wanted_item *w)
{
  char canon[MB_ID_LEN + 1];
  return w->kind == WANTED_ALBUM && mb_mbid_canonical(w->mb_id, canon) == SS_OK
           ? w->mb_id
           : NULL;
}

/* Creates the download request of w: by Spotify id when the synced
 * library knows it, else by text.  SS_OK and *req, or an error with err. */
static enum ss_err make_request(struct db *db, const struct wanted_item *w,
                                int64_t now_ms, int64_t *req, char *err,
                                size_t errlen)
{
  const char *rg = release_group_of(w);
  struct dl_new in = {.mb_release_group_id = rg};
  enum ss_err rc = SS_ENOTFOUND;
  if (w->spotify_id[0]) {
    if (w->kind == WANTED_ALBUM)
      in.spotify_album_id = w->spotify_id;
    else
      in.spotify_track_id = w->spotify_id;
    rc = requests_create(db, &in, now_ms, req, err, errlen);
    if (rc != SS_ENOTFOUND && rc != SS_ESTATE)
      return rc;
  }
  char text[WANTED_TEXT_MAX * 2 + 4];
  snprintf(text, sizeof text, "%s - %s", w->artist, w->title);
  memset(&in, 0, sizeof in);
  in.mb_release_group_id = rg;
  if (w->kind == WANTED_ALBUM)
    in.album = text;
  else
    in.query = text;
  if (w->kind == WANTED_TRACK && w->track_id &&
      !strcmp(w->source, "quality_upgrade"))
    in.upgrade_track_id = w->track_id; /* strictly better, in place */
  return requests_create(db, &in, now_ms, req, err, errlen);
}

/* One request for w, recorded on the item.  SS_OK, or the item keeps
 * waiting an hour with the reason (rc returned, err set). */
static enum ss_err request_item(struct db *db, const struct wanted_item *w,
                                int64_t now_ms, char *err, size_t errlen)
{
  int64_t req = 0;
  enum ss_err rc = make_request(db, w, now_ms, &req, err, errlen);
  if (rc == SS_OK) {
    rc = db_wanted_requested(db, w->id, req, now_ms);
    if (rc)
      snprintf(err, errlen, "could not store the request on the item");
    else
      log_info("wanted", "item %lld (%s \"%s - %s\"): download request %lld",
               (long long)w->id, w->kind == WANTED_ALBUM ? "album" : "track",
               w->artist, w->title, (long long)req);
    return rc;
  }
  char reason[WANTED_REASON_MAX];
  snprintf(reason, sizeof reason, "no download request could be made: %s",
           err);
  enum ss_err src = db_wanted_set_state(db, w->id, "wanted", reason,
                                        now_ms + HOUR_MS, now_ms);
  return src == SS_EDB ? src : rc;
}

/* Requests still allowed this hour (may be <= 0). */
static enum ss_err hourly_room(struct db *db, int max_per_hour, int64_t now_ms,
                               int64_t *made, int *room)
{
  enum ss_err rc = db_wanted_requests_since(db, now_ms - HOUR_MS, made);
  if (rc == SS_OK)
    *room = *made >= max_per_hour ? 0 : (int)(max_per_hour - *made);
  return rc;
}

enum ss_err wanted_dispatch(struct db *db,
                            const struct wanted_dispatch_config *cfg,
                            int64_t now_ms, struct wanted_pass_result *out)
{
  if (!db || !cfg || !out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  int64_t made = 0;
  int room = 0;
  enum ss_err rc = hourly_room(db, cfg->max_per_hour, now_ms, &made, &room);
  if (rc)
    return rc;
  bool hour_capped = room <= cfg->max_per_run;
  if (room > cfg->max_per_run)
    room = cfg->max_per_run;
  if (room < 0)
    room = 0;
  size_t max = (size_t)room + CAPPED_PEEK;
  struct wanted_item *due = xcalloc(max, sizeof *due);
  size_t n = 0;
  rc = db_wanted_due(db, now_ms, due, max, &n);
  for (size_t i = 0; rc == SS_OK && i < n; i++) {
    if (out->requested + out->failed >= room) {
      out->capped = (int)(n - i);
      break;
    }
    char err[WANTED_REASON_MAX] = "";
    enum ss_err r = request_item(db, &due[i], now_ms, err, sizeof err);
    if (r == SS_OK)
      out->requested++;
    else if (r == SS_EDB)
      rc = r;
    else
      out->failed++;
  }
  free(due);
  wanted_stats_refresh(db);
  long long in_hour = (long long)made + out->requested;
  if (out->capped)
    snprintf(out->note, sizeof out->note,
             hour_capped ? "hourly cap reached (%lld requests in the last "
                           "hour), %d%s items wait"
                         : "per-run cap reached (%lld requests in the last "
                           "hour), %d%s items wait",
             in_hour, out->capped,
             (size_t)out->capped >= CAPPED_PEEK ? "+" : "");
  return rc;
}

/* The ladder after a failed attempt: back to wanted with the next try, or
 * given_up. */
static enum ss_err climb(struct db *db, const struct wanted_item *w,
                         const char *why, int64_t now_ms,
                         struct wanted_pass_result *out)
{
  char reason[WANTED_REASON_MAX];
  int64_t delay = wanted_ladder_delay_ms(w->attempts);
  if (delay < 0) {
    snprintf(reason, sizeof reason, "gave up after %d attempts: %s",
             w->attempts, why);
    out->given_up++;
    return db_wanted_set_state(db, w->id, "given_up", reason, 0, now_ms);
  }
  snprintf(reason, sizeof reason, "attempt %d failed: %s", w->attempts, why);
  out->retrying++;
  return db_wanted_set_state(db, w->id, "wanted", reason, now_ms + delay,
                             now_ms);
}

/* True when the library has w (an album: any of it; a track: it). */
static bool owned(const struct ownership *o, const struct wanted_item *w)
{
  if (w->kind == WANTED_TRACK)
    return ownership_has_track(o, w->artist, w->title, w->spotify_id, NULL);
  struct ownership_album_in a = {.artist = w->artist,
                                 .album = w->title,
                                 .mb_release_group_id = w->mb_id,
                                 .total_tracks = 0};
  return ownership_album(o, &a, NULL) != OWN_NONE;
}

static enum ss_err follow_one(struct db *db, const struct wanted_item *w,
                              struct ownership **own, int64_t now_ms,
                              struct wanted_pass_result *out)
{
  struct dl_request_view *v = xcalloc(1, sizeof *v);
  enum ss_err rc = db_dl_request_get(db, w->request_id, v);
  const char *st = v->r.state;
  char why[WANTED_REASON_MAX];
  if (rc == SS_ENOTFOUND) {
    rc = climb(db, w, "the download request is gone", now_ms, out);
  } else if (rc) {
    /* the store failed: leave the item for the next pass */
  } else if (!strcmp(st, "downloading")) {
    if (strcmp(w->state, "downloading"))
      rc = db_wanted_set_state(db, w->id, "downloading", "downloading", -1,
                               now_ms);
  } else if (!strcmp(st, "completed")) {
    if (!*own && (rc = ownership_load(db, own)))
      *own = NULL;
    else if (owned(*own, w)) {
      snprintf(why, sizeof why, "in the library (%d of %d files imported)",
               v->files_imported, v->files_total);
      out->imported++;
      rc = db_wanted_set_state(db, w->id, "imported", why, 0, now_ms);
    } else {
      rc = climb(db, w,
                 "the download finished but its files are not in "
                 "the library",
                 now_ms, out);
    }
  } else if (!strcmp(st, "failed") || !strcmp(st, "cancelled")) {
    snprintf(why, sizeof why, "download %s%s%s", st, v->r.error[0] ? ": " : "",
             v->r.error);
    rc = climb(db, w, why, now_ms, out);
  }
  free(v);
  return rc;
}

enum ss_err wanted_follow(struct db *db, int64_t now_ms,
                          struct wanted_pass_result *out)
{
  if (!db || !out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  struct wanted_item *items = xcalloc(FOLLOW_BATCH, sizeof *items);
  size_t n = 0;
  struct ownership *own = NULL;
  enum ss_err rc = db_wanted_in_flight(db, items, FOLLOW_BATCH, &n);
  for (size_t i = 0; rc == SS_OK && i < n; i++)
    rc = follow_one(db, &items[i], &own, now_ms, out);
  ownership_free(own);
  free(items);
  wanted_stats_refresh(db);
  return rc;
}

/* ---- counts for the status API ---- */

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wanted_counts stats;
static bool stats_known;

void wanted_stats_refresh(struct db *db)
{
  struct wanted_counts c;
  if (db_wanted_counts(db, &c) != SS_OK)
    return; /* the last known counts stay */
  pthread_mutex_lock(&stats_mu);
  stats = c;
  stats_known = true;
  pthread_mutex_unlock(&stats_mu);
}

bool wanted_stats_get(struct wanted_counts *out)
{
  pthread_mutex_lock(&stats_mu);
  bool known = stats_known;
  *out = stats;
  pthread_mutex_unlock(&stats_mu);
  return known;
}

/* ---- actions ---- */

static enum ss_err load_item(struct db *db, int64_t id, struct wanted_item *w,
                             char *err, size_t errlen)
{
  enum ss_err rc = db_wanted_get(db, id, w);
  if (rc == SS_ENOTFOUND)
    snprintf(err, errlen, "no wanted item %lld", (long long)id);
  else if (rc)
    snprintf(err, errlen, "could not read the wanted item");
  return rc;
}

static bool state_is(const struct wanted_item *w, const char *s)
{
  return !strcmp(w->state, s);
}

enum ss_err wanted_search_now(struct db *db, int64_t id, int64_t now_ms,
                              char *err, size_t errlen)
{
  struct wanted_item *w = xcalloc(1, sizeof *w);
  enum ss_err rc = load_item(db, id, w, err, errlen);
  if (rc == SS_OK && !state_is(w, "wanted") && !state_is(w, "given_up")) {
    snprintf(err, errlen, "%s",
             state_is(w, "imported")  ? "already in the library"
             : state_is(w, "ignored") ? "ignored: press retry first"
                                      : "a download is already under way");
    rc = SS_ESTATE;
  }
  int64_t made = 0;
  int room = 0;
  if (rc == SS_OK &&
      !(rc = hourly_room(db,
                         (int)settings_int(S_AUTOMATION_MAX_REQUESTS_PER_HOUR),
                         now_ms, &made, &room)) &&
      room <= 0) {
    snprintf(err, errlen,
             "hourly cap reached (%lld download requests in the last hour)",
             (long long)made);
    rc = SS_EBUSY;
  }
  if (rc == SS_OK)
    rc = request_item(db, w, now_ms, err, errlen);
  if (rc == SS_OK)
    wanted_stats_refresh(db);
  free(w);
  return rc;
}

enum ss_err wanted_ignore(struct db *db, int64_t id, int64_t now_ms, char *err,
                          size_t errlen)
{
  struct wanted_item *w = xcalloc(1, sizeof *w);
  enum ss_err rc = load_item(db, id, w, err, errlen);
  if (rc == SS_OK && (state_is(w, "ignored") || state_is(w, "imported"))) {
    snprintf(err, errlen, "%s",
             state_is(w, "ignored") ? "already ignored"
                                    : "already in the library");
    rc = SS_ESTATE;
  }
  if (rc == SS_OK &&
      (state_is(w, "searching") || state_is(w, "downloading"))) {
    /* the user does not want it any more: stop its download too */
    enum ss_err c = db_dl_request_cancel(db, w->request_id, now_ms);
    if (c != SS_OK && c != SS_ENOTFOUND && c != SS_ESTATE)
      rc = c;
  }
  if (rc == SS_OK)
    rc = db_wanted_set_state(db, id, "ignored", "ignored by you", 0, now_ms);
  if (rc == SS_EDB)
    snprintf(err, errlen, "could not write the wanted item");
  if (rc == SS_OK)
    wanted_stats_refresh(db);
  free(w);
  return rc;
}

enum ss_err wanted_retry(struct db *db, int64_t id, int64_t now_ms, char *err,
                         size_t errlen)
{
  struct wanted_item *w = xcalloc(1, sizeof *w);
  enum ss_err rc = load_item(db, id, w, err, errlen);
  if (rc == SS_OK && !state_is(w, "given_up") && !state_is(w, "ignored")) {
    snprintf(err, errlen, "only given up or ignored items can be retried");
    rc = SS_ESTATE;
  }
  if (rc == SS_OK) {
    rc = db_wanted_retry(db, id, now_ms);
    if (rc)
      snprintf(err, errlen, "could not write the wanted item");
  }
  if (rc == SS_OK)
    wanted_stats_refresh(db);
  free(w);
  return rc;
}
