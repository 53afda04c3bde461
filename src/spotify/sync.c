/*
 * spotify/sync.c - the Spotify sync engine: mirrors followed artists,
 * playlists (with entries), liked songs, saved albums and, a few artists per
 * pass, the artists' albums into the store.
 *
 * Every spotify.sync_check_interval_seconds the unit runs the types that
 * are due (enabled, and their own interval has passed since their last
 * success; "Sync now" makes every enabled type due).  Each type reads its
 * whole list first (following the absolute `next` links, asking the caller's
 * should_stop hook before every page) and then writes it in one
 * transaction, so a failure, a malformed page or a kill -9 leaves the
 * previous state intact; rows are upserted by Spotify id.  Playlist
 * entries are read only for playlists whose snapshot_id changed, one
 * transaction per playlist; liked songs and saved albums are re-read only
 * when their first page (total + ids) changed.
 *
 * One failing type never blocks the others.  A 429 (or an earlier one
 * still blocking the Web API) or a missing login defer the types that did
 * not run ("deferred (rate limited until ...)") instead of failing them.
 * Spotify failing (5xx, timeouts, the token endpoint) or its backoff still
 * lasting fails the run, so the unit stays in error with the reason until
 * a sync succeeds; the types after the failing one are deferred.  Run now
 * and "Sync now" (force) run every enabled type, due or not, and call
 * Spotify even while its backoff ladder lasts (clients/backoff.h; the
 * unit defers its scheduled runs meanwhile).
 * Each type's last result and error are persisted (spotify_sync_status)
 * and cached in memory for the status view.  The Spotify Sync unit
 * (workers/spotify_sync.c) schedules it; this file knows no unit.
 *
 * Threading: spotify_sync_run() on one thread at a time (the unit's); the
 * stats cache and the "sync now" flag may be read/set from any thread.
 * Ownership: a run owns its client, its string pool and its arrays.
 */
#include "spotify/sync.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clients/spotify.h"
#include "config/settings.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db_spotify.h"

#define PAGE_LIMIT 50          /* /me/... and playlist items: max 50 */
#define ARTIST_ALBUMS_LIMIT 10 /* dev-mode cap of /artists/{id}/albums */
#define MAX_PAGES 2000         /* per list */
#define MAX_ITEMS 100000       /* per list */
#define ARTIST_ALBUM_PAGES 20  /* at most 200 releases per artist */
#define POOL_CHUNK (64 * 1024)

const char *const spotify_sync_type_names[SYNC__COUNT] = {
  "artists", "playlists", "albums", "liked_songs", "artist_albums",
};

/* ---- per-type status: persisted, cached for the view ---- */

static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct db_spotify_sync_status stats[SYNC__COUNT];
static bool stats_loaded;

static int type_index(const char *name)
{
  for (int t = 0; t < SYNC__COUNT; t++)
    if (!strcmp(spotify_sync_type_names[t], name))
      return t;
  return -1;
}

static void on_status(void *arg, const struct db_spotify_sync_status *s)
{
  (void)arg;
  int t = type_index(s->type);
  if (t >= 0)
    stats[t] = *s;
}

/* Loads the cache once (db may be NULL: the daemon's DB is opened). */
static void stats_load_locked(struct db *db)
{
  if (stats_loaded)
    return;
  struct db *own = NULL;
  if (!db) {
    char dir[SETTING_STR_MAX], path[SETTING_STR_MAX + 32];
    settings_str(S_SERVER_DATA_DIR, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/soulspotd.db", dir);
    FILE *f = fopen(path, "rb"); /* never create a database here */
    if (!f)
      return;
    fclose(f);
    if (db_open(path, &own) != SS_OK)
      return;
    db = own;
  }
  memset(stats, 0, sizeof stats);
  if (db_spotify_status_load(db, on_status, NULL) == SS_OK)
    stats_loaded = true;
  db_close(own);
}

void spotify_sync_stats(struct spotify_sync_type_status out[SYNC__COUNT])
{
  pthread_mutex_lock(&stats_mu);
  stats_load_locked(NULL);
  for (int t = 0; t < SYNC__COUNT; t++) {
    snprintf(out[t].result, sizeof out[t].result, "%s", stats[t].last_result);
    snprintf(out[t].error, sizeof out[t].error, "%s", stats[t].last_error);
  }
  pthread_mutex_unlock(&stats_mu);
}

void spotify_sync_last_ok(struct db *db, int64_t out[SYNC__COUNT])
{
  pthread_mutex_lock(&stats_mu);
  stats_load_locked(db);
  for (int t = 0; t < SYNC__COUNT; t++)
    out[t] = stats[t].last_ok_ms;
  pthread_mutex_unlock(&stats_mu);
}

/* ---- a string pool and growable arrays for one list ---- */

struct pool {
  char **chunks;
  size_t n, cap;
  size_t left;
};

static const char *pool_str(struct pool *p, const char *s)
{
  if (!s)
    return NULL;
  size_t len = strlen(s);
  if (len > SPOTIFY_TEXT_MAX)
    len = SPOTIFY_TEXT_MAX; /* the store cuts on a UTF-8 boundary */
  if (len + 1 > p->left) {
    if (p->n == p->cap) {
      p->cap = p->cap ? 2 * p->cap : 16;
      p->chunks = xrealloc(p->chunks, p->cap * sizeof *p->chunks);
    }
    p->chunks[p->n++] = xmalloc(POOL_CHUNK);
    p->left = POOL_CHUNK;
  }
  char *dst = p->chunks[p->n - 1] + (POOL_CHUNK - p->left);
  memcpy(dst, s, len);
  dst[len] = '\0';
  p->left -= len + 1;
  return dst;
}

static void pool_free(struct pool *p)
{
  for (size_t i = 0; i < p->n; i++)
    free(p->chunks[i]);
  free(p->chunks);
  memset(p, 0, sizeof *p);
}

struct vec {
  void *data;
  size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
  if (v->n == v->cap) {
    v->cap = v->cap ? 2 * v->cap : 64;
    v->data = xrealloc(v->data, v->cap * v->size);
  }
  void *e = (char *)v->data + v->n++ * v->size;
  memset(e, 0, v->size);
  return e;
}

/* ---- one run ---- */

struct sync_run {
  const struct spotify_sync_hooks *h; /* NULL in spotify_sync_read_page */
  struct db *db;
  struct spotify_client *c;
  struct pool pool;
  int64_t skipped; /* invalid items skipped in the current list */
  bool halted;     /* a condition that defers every remaining type */
  struct spotify_err halt;
};

enum outcome { OUT_OK, OUT_ERROR, OUT_DEFERRED, OUT_CANCELED };

struct type_result {
  enum outcome kind;
  enum ss_reason reason; /* ERROR: why, for machines (protocol if unset) */
  char text[256];        /* summary (OK) or error (ERROR/DEFERRED) */
  char marker[256];      /* what to remember to detect "unchanged" */
  int64_t items;
};

static void result_set(struct type_result *r, enum outcome kind,
                       const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void result_set(struct type_result *r, enum outcome kind,
                       const char *fmt, ...)
{
  r->kind = kind;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->text, sizeof r->text, fmt, ap);
  va_end(ap);
}

/* Classifies a failed call into the type's outcome. */
static void result_from_err(struct sync_run *s, struct type_result *r,
                            const struct spotify_err *e)
{
  switch (e->kind) {
  case SPOTIFY_CANCELED: result_set(r, OUT_CANCELED, "interrupted"); return;
  case SPOTIFY_RATE_LIMITED:
  case SPOTIFY_NOT_CONNECTED:
  case SPOTIFY_REAUTH:
    s->halted = true;
    s->halt = *e;
    result_set(r, OUT_DEFERRED, "deferred (%s)", e->msg);
    return;
  case SPOTIFY_CONFIG:
    s->halted = true;
    s->halt = *e;
    result_set(r, OUT_ERROR, "%s", e->msg);
    r->reason = SS_R_NOT_CONFIGURED;
    return;
  case SPOTIFY_UNAVAILABLE:
    /* 5xx, timeouts, a failing token endpoint, or their backoff: a
     * failure (the unit is in error until a sync succeeds); the types
     * after this one wait for the backoff. */
    s->halted = true;
    s->halt = *e;
    break;
  default: break;
  }
  result_set(r, OUT_ERROR, "%s", e->msg);
  r->reason = spotify_err_reason(e);
}

static bool should_stop(const struct sync_run *s)
{
  return s->h && s->h->should_stop && s->h->should_stop(s->h->arg);
}

static enum ss_err fetch(struct sync_run *s, const char *url, json_t **out,
                         struct spotify_err *err)
{
  if (should_stop(s)) {
    memset(err, 0, sizeof *err);
    err->kind = SPOTIFY_CANCELED;
    snprintf(err->msg, sizeof err->msg, "interrupted");
    return SS_ECANCELED;
  }
  return spotify_get(s->c, url, out, err);
}

static void malformed(struct spotify_err *err, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void malformed(struct spotify_err *err, const char *fmt, ...)
{
  memset(err, 0, sizeof *err);
  err->kind = SPOTIFY_MALFORMED;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

/* Returns SS_OK, or sets err and returns an error. */
typedef enum ss_err (*item_fn)(struct sync_run *s, json_t *item, void *acc);

/*
 * Reads every page of a list starting at url (or at the already fetched
 * `first` page, which is consumed), handing each item to fn.  wrapper
 * names the object holding the page (cursor paging: "artists").
 */
static enum ss_err collect(struct sync_run *s, const char *url, json_t *first,
                           const char *wrapper, size_t max_pages, item_fn fn,
                           void *acc, struct spotify_err *err)
{
  char *next = xstrdup(url), *prev = NULL;
  size_t pages = 0, items = 0;
  enum ss_err rc = SS_OK;
  while (next && rc == SS_OK) {
    json_t *doc = first;
    first = NULL;
    if (!doc && (rc = fetch(s, next, &doc, err)) != SS_OK)
      break;
    json_t *page = wrapper ? json_object_get(doc, wrapper) : doc;
    json_t *list = json_object_get(page, "items");
    json_t *link = json_object_get(page, "next");
    if (!json_is_object(page) || !json_is_array(list) ||
        (link && !json_is_null(link) && !json_is_string(link))) {
      malformed(err, "malformed page from Spotify: %s",
                !json_is_object(page)  ? "no paging object"
                : !json_is_array(list) ? "items is not a list"
                                       : "next is not a link");
      rc = SS_EPROTO;
    }
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
      if (rc != SS_OK || ++items > MAX_ITEMS)
        break;
      rc = fn(s, it, acc);
    }
    if (rc == SS_OK && items > MAX_ITEMS) {
      malformed(err, "list longer than %d items", MAX_ITEMS);
      rc = SS_ETOOBIG;
    }
    free(prev);
    prev = next;
    next = json_is_string(link) ? xstrdup(json_string_value(link)) : NULL;
    json_decref(doc);
    if (rc == SS_OK && next && (++pages >= max_pages || !strcmp(next, prev))) {
      malformed(err, "%s",
                !strcmp(next, prev) ? "paging loop in a reply"
                                    : "too many pages");
      rc = SS_ETOOBIG;
    }
  }
  free(next);
  free(prev);
  return rc;
}

/* Runs the list reads of one playlist or artist in a pool of their own, so
 * a run's memory does not grow with the whole library. */
static struct pool pool_push(struct sync_run *s)
{
  struct pool saved = s->pool;
  memset(&s->pool, 0, sizeof s->pool);
  return saved;
}

static void pool_pop(struct sync_run *s, struct pool saved)
{
  pool_free(&s->pool);
  s->pool = saved;
}

/* ---- item readers ---- */

static const char *jstr(json_t *o, const char *key)
{
  return json_string_value(json_object_get(o, key));
}

static const char *first_image(struct sync_run *s, json_t *o)
{
  json_t *img = json_array_get(json_object_get(o, "images"), 0);
  return pool_str(&s->pool, jstr(img, "url"));
}

/* "A, B, C" of an artists array (and the first id) into the pool. */
static const char *artist_names(struct sync_run *s, json_t *artists,
                                const char **first_id)
{
  char names[SPOTIFY_TEXT_MAX + 1];
  size_t off = 0, i;
  json_t *a;
  names[0] = '\0';
  *first_id = NULL;
  json_array_foreach(artists, i, a)
  {
    const char *name = jstr(a, "name");
    if (i == 0)
      *first_id = pool_str(&s->pool, jstr(a, "id"));
    if (!name || off >= sizeof names - 1)
      continue;
    int w = snprintf(names + off, sizeof names - off, "%s%s", off ? ", " : "",
                     name);
    if (w > 0)
      off += (size_t)w;
  }
  if (off >= sizeof names)
    off = sizeof names - 1;
  names[off] = '\0';
  return pool_str(&s->pool, names);
}

static bool valid_id(const char *id)
{
  return id && id[0] && strlen(id) < SPOTIFY_ID_MAX;
}

static enum ss_err take_artist(struct sync_run *s, json_t *it, void *acc)
{
  const char *id = jstr(it, "id");
  if (!valid_id(id)) {
    s->skipped++;
    return SS_OK;
  }
  struct sp_artist *a = vec_push(acc);
  a->id = pool_str(&s->pool, id);
  a->name = pool_str(&s->pool, jstr(it, "name"));
  a->uri = pool_str(&s->pool, jstr(it, "uri"));
  a->image_url = first_image(s, it);
  char genres[512] = "";
  size_t i, off = 0;
  json_t *g;
  json_array_foreach(json_object_get(it, "genres"), i, g)
  {
    if (json_is_string(g) && off < sizeof genres - 1) {
      int w = snprintf(genres + off, sizeof genres - off, "%s%s",
                       off ? ", " : "", json_string_value(g));
      off = w > 0 ? off + (size_t)w : off;
    }
  }
  a->genres = pool_str(&s->pool, genres);
  return SS_OK;
}

static enum ss_err take_playlist(struct sync_run *s, json_t *it, void *acc)
{
  const char *id = jstr(it, "id");
  if (!valid_id(id)) {
    s->skipped++;
    return SS_OK;
  }
  struct sp_playlist *p = vec_push(acc);
  json_t *owner = json_object_get(it, "owner");
  /* Feb 2026: the summary is `items`; `tracks` is null (older: tracks). */
  json_t *summary = json_object_get(it, "items");
  if (!json_is_object(summary))
    summary = json_object_get(it, "tracks");
  p->id = pool_str(&s->pool, id);
  p->name = pool_str(&s->pool, jstr(it, "name"));
  p->owner_id = pool_str(&s->pool, jstr(owner, "id"));
  p->owner_name = pool_str(&s->pool, jstr(owner, "display_name"));
  p->description = pool_str(&s->pool, jstr(it, "description"));
  p->snapshot_id = pool_str(&s->pool, jstr(it, "snapshot_id"));
  p->total = json_integer_value(json_object_get(summary, "total"));
  p->collaborative = json_is_true(json_object_get(it, "collaborative"));
  return SS_OK;
}

/* A playlist entry ({added_at, is_local, item|track}) or a saved track
 * ({added_at, track}). */
static enum ss_err take_entry(struct sync_run *s, json_t *it, void *acc)
{
  if (!json_is_object(it)) {
    s->skipped++;
    return SS_OK;
  }
  json_t *obj = json_object_get(it, "item");
  if (!json_is_object(obj))
    obj = json_object_get(it, "track");
  struct sp_entry *e = vec_push(acc);
  e->added_at = pool_str(&s->pool, jstr(it, "added_at"));
  e->is_local = json_is_true(json_object_get(it, "is_local")) ||
                json_is_true(json_object_get(obj, "is_local"));
  if (!json_is_object(obj))
    return SS_OK; /* no longer available: kept as an empty position */
  struct sp_track *t = &e->track;
  const char *id = jstr(obj, "id");
  t->id = valid_id(id) && !e->is_local ? pool_str(&s->pool, id) : NULL;
  t->name = pool_str(&s->pool, jstr(obj, "name"));
  t->artist_names = artist_names(s, json_object_get(obj, "artists"),
                                 &t->artist_id);
  json_t *album = json_object_get(obj, "album");
  t->album_id = pool_str(&s->pool, jstr(album, "id"));
  t->album_name = pool_str(&s->pool, jstr(album, "name"));
  t->duration_ms = json_integer_value(json_object_get(obj, "duration_ms"));
  t->isrc = pool_str(&s->pool,
                     jstr(json_object_get(obj, "external_ids"), "isrc"));
  e->uri = pool_str(&s->pool, jstr(obj, "uri"));
  return SS_OK;
}

static void fill_album(struct sync_run *s, json_t *al, struct sp_album *a)
{
  a->id = pool_str(&s->pool, jstr(al, "id"));
  a->name = pool_str(&s->pool, jstr(al, "name"));
  a->artist_name = artist_names(s, json_object_get(al, "artists"),
                                &a->artist_id);
  a->album_type = pool_str(&s->pool, jstr(al, "album_type"));
  a->release_date = pool_str(&s->pool, jstr(al, "release_date"));
  a->image_url = first_image(s, al);
  a->upc = pool_str(&s->pool,
                    jstr(json_object_get(al, "external_ids"), "upc"));
  a->album_group = pool_str(&s->pool, jstr(al, "album_group"));
  a->total_tracks = json_integer_value(json_object_get(al, "total_tracks"));
}

static enum ss_err take_saved_album(struct sync_run *s, json_t *it, void *acc)
{
  json_t *al = json_object_get(it, "album");
  if (!valid_id(jstr(al, "id"))) {
    s->skipped++;
    return SS_OK;
  }
  struct sp_album *a = vec_push(acc);
  fill_album(s, al, a);
  a->saved_at = pool_str(&s->pool, jstr(it, "added_at"));
  return SS_OK;
}

static enum ss_err take_release(struct sync_run *s, json_t *it, void *acc)
{
  if (!valid_id(jstr(it, "id"))) {
    s->skipped++;
    return SS_OK;
  }
  fill_album(s, it, vec_push(acc));
  return SS_OK;
}

/* ---- helpers for results ---- */

static void skipped_note(struct sync_run *s, char *out, size_t n)
{
  if (s->skipped)
    snprintf(out, n, "; %" PRId64 " invalid items skipped", s->skipped);
  else
    out[0] = '\0';
}

static enum ss_err db_failed(struct type_result *r, enum ss_err rc)
{
  result_set(r, OUT_ERROR, "could not write to the database (%s)",
             ss_strerror(rc));
  r->reason = SS_R_INTERNAL;
  return rc;
}

/* ---- followed artists ---- */

static void sync_artists(struct sync_run *s, struct type_result *r)
{
  struct vec v = {.size = sizeof(struct sp_artist)};
  struct spotify_err err;
  char url[64], note[64];
  snprintf(url, sizeof url, "/me/following?type=artist&limit=%d", PAGE_LIMIT);
  if (collect(s, url, NULL, "artists", MAX_PAGES, take_artist, &v, &err))
    result_from_err(s, r, &err);
  else {
    struct sp_write_stats st;
    bool remove = settings_bool(S_SPOTIFY_REMOVE_UNFOLLOWED_ARTISTS);
    enum ss_err rc = db_spotify_artists_replace(s->db, v.data, v.n, remove,
                                                clock_wall_ms(), &st);
    skipped_note(s, note, sizeof note);
    if (rc)
      db_failed(r, rc);
    else
      result_set(r, OUT_OK,
                 "%" PRId64 " followed artists (+%" PRId64 ", -%" PRId64
                 " %s)%s",
                 st.total, st.added, st.removed,
                 remove ? "removed" : "unfollowed", note);
    r->items = st.total;
  }
  free(v.data);
}

/* ---- playlists ---- */

struct stale {
  const char *id, *snapshot, *name;
};

static void on_stale(void *arg, const char *id, const char *snapshot,
                     const char *name)
{
  struct sync_run *s = ((void **)arg)[0];
  struct stale *st = vec_push(((void **)arg)[1]);
  st->id = pool_str(&s->pool, id);
  st->snapshot = pool_str(&s->pool, snapshot);
  st->name = pool_str(&s->pool, name);
}

static void entries_url(const char *id, struct buf *url)
{
  buf_puts(url, "/playlists/");
  spotify_url_encode(url, id);
  buf_printf(url,
             "/items?limit=%d&additional_types=track&fields=", PAGE_LIMIT);
  spotify_url_encode(url,
                     "items(added_at,is_local,"
                     "item(id,name,uri,type,duration_ms,is_local,"
                     "external_ids(isrc),artists(id,name),album(id,name)),"
                     "track(id,name,uri,type,duration_ms,is_local,"
                     "external_ids(isrc),artists(id,name),album(id,name))),"
                     "next,total");
}

/* Reads and stores one playlist's entries. */
static enum ss_err sync_entries(struct sync_run *s, const struct stale *p,
                                struct spotify_err *err)
{
  struct pool saved = pool_push(s);
  struct vec v = {.size = sizeof(struct sp_entry)};
  struct buf url;
  buf_init(&url, 4096);
  entries_url(p->id, &url);
  enum ss_err rc = collect(s, buf_cstr(&url), NULL, NULL, MAX_PAGES,
                           take_entry, &v, err);
  buf_free(&url);
  if (rc == SS_OK) {
    rc = db_spotify_playlist_entries_replace(s->db, p->id, p->snapshot, v.data,
                                             v.n, clock_wall_ms());
    if (rc) {
      memset(err, 0, sizeof *err);
      err->kind = SPOTIFY_MALFORMED;
      snprintf(err->msg, sizeof err->msg,
               "could not write to the database (%s)", ss_strerror(rc));
    }
  }
  free(v.data);
  pool_pop(s, saved);
  return rc;
}

struct entry_tally {
  int64_t read, forbidden, failed;
  char first_error[200];
};

/* Entries of every playlist whose snapshot changed. */
static void sync_stale_playlists(struct sync_run *s, struct type_result *r,
                                 struct entry_tally *t)
{
  struct vec stale = {.size = sizeof(struct stale)};
  void *args[2] = {s, &stale};
  if (db_spotify_playlists_stale(s->db, on_stale, args) != SS_OK) {
    db_failed(r, SS_EDB);
    free(stale.data);
    return;
  }
  const struct stale *list = stale.data;
  for (size_t i = 0; i < stale.n && r->kind == OUT_OK; i++) {
    struct spotify_err err;
    if (sync_entries(s, &list[i], &err) == SS_OK) {
      t->read++;
    } else if (err.kind == SPOTIFY_REFUSED &&
               (err.status == 403 || err.status == 404)) {
      /* Not the user's (dev mode: only owned/collaborative playlists can
       * be read) or gone: recorded for that playlist, not a failure. */
      db_spotify_playlist_entries_error(
        s->db, list[i].id, list[i].snapshot,
        err.status == 403 ? "entries not readable: Spotify lets apps read "
                            "only playlists you own or collaborate on "
                            "(HTTP 403)"
                          : "playlist not found (HTTP 404)");
      t->forbidden++;
    } else if (err.kind == SPOTIFY_MALFORMED || err.kind == SPOTIFY_REFUSED) {
      if (!t->failed++)
        snprintf(t->first_error, sizeof t->first_error,
                 "playlist \"%.60s\": "
                 "%s",
                 list[i].name, err.msg);
    } else {
      result_from_err(s, r, &err); /* stops the loop */
    }
  }
  free(stale.data);
}

static void sync_playlists(struct sync_run *s, struct type_result *r)
{
  struct vec v = {.size = sizeof(struct sp_playlist)};
  struct spotify_err err;
  struct sp_write_stats st;
  char url[64], note[64];
  snprintf(url, sizeof url, "/me/playlists?limit=%d", PAGE_LIMIT);
  if (collect(s, url, NULL, NULL, MAX_PAGES, take_playlist, &v, &err)) {
    result_from_err(s, r, &err);
    free(v.data);
    return;
  }
  bool remove = settings_bool(S_SPOTIFY_REMOVE_UNFOLLOWED_PLAYLISTS);
  enum ss_err rc = db_spotify_playlists_replace(s->db, v.data, v.n, remove,
                                                clock_wall_ms(), &st);
  free(v.data);
  if (rc) {
    db_failed(r, rc);
    return;
  }
  skipped_note(s, note, sizeof note);
  r->kind = OUT_OK;
  struct entry_tally t = {0};
  sync_stale_playlists(s, r, &t);
  r->items = st.total;
  if (r->kind != OUT_OK)
    return;
  if (t.failed)
    result_set(r, OUT_ERROR,
               "%" PRId64 " playlists could not be read; "
               "first: %s",
               t.failed, t.first_error);
  else
    result_set(r, OUT_OK,
               "%" PRId64 " playlists (+%" PRId64 ", -%" PRId64 "); entries "
               "read for %" PRId64 ", %" PRId64 " not readable%s",
               st.total, st.added, st.removed, t.read, t.forbidden, note);
}

/* ---- lists re-read only when their first page changed ---- */

/* FNV-1a over the ids and dates of a page, plus its total. */
static void page_marker(json_t *page, const char *inner, char *out, size_t n)
{
  uint64_t h = 1469598103934665603ULL;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(page, "items"), i, it)
  {
    const char *parts[2] = {jstr(json_object_get(it, inner), "id"),
                            jstr(it, "added_at")};
    for (int k = 0; k < 2; k++)
      for (const char *p = parts[k] ? parts[k] : "-"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '|') * 1099511628211ULL;
  }
  snprintf(out, n, "total=%" PRId64 ";h=%016" PRIx64,
           (int64_t)json_integer_value(json_object_get(page, "total")), h);
}

/* Fetches the first page; *unchanged when it matches the stored marker. */
static enum ss_err first_page(struct sync_run *s, enum spotify_sync_type type,
                              const char *url, const char *inner,
                              json_t **page, struct type_result *r,
                              bool *unchanged)
{
  struct spotify_err err;
  if (fetch(s, url, page, &err) != SS_OK) {
    result_from_err(s, r, &err);
    return SS_ENET;
  }
  page_marker(*page, inner, r->marker, sizeof r->marker);
  pthread_mutex_lock(&stats_mu);
  *unchanged = stats[type].last_ok_ms > 0 &&
               !strcmp(stats[type].marker, r->marker);
  pthread_mutex_unlock(&stats_mu);
  return SS_OK;
}

/* A saved list (liked songs, saved albums): one paged collection that
 * replaces its table whole, or is left alone when its first page says
 * nothing changed. */
struct saved_list {
  enum spotify_sync_type type;
  const char *path;  /* API path, without the query */
  const char *inner; /* the object inside each item */
  const char *what;  /* for the note: "liked songs" */
  size_t item_size;
  item_fn take;
  enum ss_err (*replace)(struct db *db, const void *items, size_t n,
                         int64_t now_ms, struct sp_write_stats *st);
};

static enum ss_err replace_liked(struct db *db, const void *items, size_t n,
                                 int64_t now_ms, struct sp_write_stats *st)
{
  return db_spotify_liked_replace(db, items, n, now_ms, st);
}

static enum ss_err replace_saved_albums(struct db *db, const void *items,
                                        size_t n, int64_t now_ms,
                                        struct sp_write_stats *st)
{
  return db_spotify_saved_albums_replace(db, items, n, now_ms, st);
}

static const struct saved_list liked_list =
  {SYNC_LIKED_SONGS,        "/me/tracks", "track",      "liked songs",
   sizeof(struct sp_entry), take_entry,   replace_liked};
static const struct saved_list saved_albums_list = {SYNC_ALBUMS,
                                                    "/me/albums",
                                                    "album",
                                                    "saved albums",
                                                    sizeof(struct sp_album),
                                                    take_saved_album,
                                                    replace_saved_albums};

static void sync_saved_list(struct sync_run *s, struct type_result *r,
                            const struct saved_list *l)
{
  char url[64], note[64];
  json_t *page = NULL;
  bool same = false;
  snprintf(url, sizeof url, "%s?limit=%d", l->path, PAGE_LIMIT);
  if (first_page(s, l->type, url, l->inner, &page, r, &same))
    return;
  if (same) {
    r->items = json_integer_value(json_object_get(page, "total"));
    result_set(r, OUT_OK, "unchanged (%" PRId64 " %s)", r->items, l->what);
    json_decref(page);
    return;
  }
  struct vec v = {.size = l->item_size};
  struct spotify_err err;
  if (collect(s, url, page, NULL, MAX_PAGES, l->take, &v, &err)) {
    result_from_err(s, r, &err);
  } else {
    struct sp_write_stats st;
    enum ss_err rc = l->replace(s->db, v.data, v.n, clock_wall_ms(), &st);
    skipped_note(s, note, sizeof note);
    if (rc)
      db_failed(r, rc);
    else
      result_set(r, OUT_OK, "%" PRId64 " %s (+%" PRId64 ", -%" PRId64 ")%s",
                 st.total, l->what, st.added, st.removed, note);
    r->items = st.total;
  }
  free(v.data);
}

static void sync_liked(struct sync_run *s, struct type_result *r)
{
  sync_saved_list(s, r, &liked_list);
}

static void sync_saved_albums(struct sync_run *s, struct type_result *r)
{
  sync_saved_list(s, r, &saved_albums_list);
}

/* ---- artist albums, a few artists per pass ---- */

static void on_due_artist(void *arg, const char *id, const char *name)
{
  struct sync_run *s = ((void **)arg)[0];
  struct stale *a = vec_push(((void **)arg)[1]);
  a->id = pool_str(&s->pool, id);
  a->name = pool_str(&s->pool, name);
}

static enum ss_err sync_one_artist(struct sync_run *s, const struct stale *a,
                                   int64_t *releases, struct spotify_err *err)
{
  struct pool saved = pool_push(s);
  struct vec v = {.size = sizeof(struct sp_album)};
  struct buf url;
  buf_init(&url, 1024);
  buf_puts(&url, "/artists/");
  spotify_url_encode(&url, a->id);
  buf_printf(&url,
             "/albums?include_groups=album,single,compilation"
             "&limit=%d",
             ARTIST_ALBUMS_LIMIT);
  enum ss_err rc = collect(s, buf_cstr(&url), NULL, NULL, ARTIST_ALBUM_PAGES,
                           take_release, &v, err);
  if (rc == SS_ETOOBIG && err->kind == SPOTIFY_MALFORMED &&
      strstr(err->msg, "too many pages"))
    rc = SS_OK; /* keep the first ARTIST_ALBUM_PAGES pages */
  if (rc != SS_OK && err->kind == SPOTIFY_REFUSED && err->status == 404)
    rc = SS_OK; /* the artist is gone: nothing to list */
  buf_free(&url);
  if (rc == SS_OK) {
    rc = db_spotify_artist_albums_replace(s->db, a->id, v.data, v.n,
                                          clock_wall_ms());
    if (rc == SS_ENOTFOUND)
      rc = SS_OK; /* unfollowed meanwhile */
    if (rc)
      malformed(err, "could not write to the database (%s)", ss_strerror(rc));
    *releases += (int64_t)v.n;
  }
  free(v.data);
  pool_pop(s, saved);
  return rc;
}

static void sync_artist_albums(struct sync_run *s, struct type_result *r)
{
  int64_t now = clock_wall_ms();
  int64_t before = now - settings_int(S_SPOTIFY_ARTIST_ALBUMS_RESYNC_HOURS) *
                           3600000;
  size_t per_pass = (size_t)settings_int(S_SPOTIFY_ARTIST_ALBUMS_PER_PASS);
  struct vec due = {.size = sizeof(struct stale)};
  void *args[2] = {s, &due};
  if (db_spotify_artist_albums_due(s->db, before, per_pass, on_due_artist,
                                   args) != SS_OK) {
    db_failed(r, SS_EDB);
    free(due.data);
    return;
  }
  int64_t releases = 0, done = 0, failed = 0, never = 0, stale = 0;
  char first_error[200] = "";
  const struct stale *list = due.data;
  r->kind = OUT_OK;
  for (size_t i = 0; i < due.n && r->kind == OUT_OK; i++) {
    struct spotify_err err;
    if (sync_one_artist(s, &list[i], &releases, &err) == SS_OK)
      done++;
    else if (err.kind == SPOTIFY_MALFORMED || err.kind == SPOTIFY_REFUSED) {
      if (!failed++)
        snprintf(first_error, sizeof first_error, "artist \"%.60s\": %s",
                 list[i].name, err.msg);
    } else
      result_from_err(s, r, &err);
  }
  free(due.data);
  if (r->kind != OUT_OK)
    return;
  db_spotify_artist_albums_pending(s->db, before, &never, &stale);
  r->items = done;
  if (failed)
    result_set(r, OUT_ERROR,
               "%" PRId64 " artists could not be read; "
               "first: %s",
               failed, first_error);
  else
    result_set(r, OUT_OK,
               "%" PRId64 " artists read (%" PRId64 " releases); %" PRId64
               " never read, %" PRId64 " due for a re-check",
               done, releases, never, stale);
}

/* ---- scheduling ---- */

struct type_def {
  enum spotify_sync_type type;
  enum setting_id enable, interval_minutes;
  void (*run)(struct sync_run *s, struct type_result *r);
};

/* Artists first: artist albums work on them. */
static const struct type_def type_defs[] = {
  {SYNC_ARTISTS, S_SPOTIFY_AUTO_SYNC_ARTISTS,
   S_SPOTIFY_ARTISTS_SYNC_INTERVAL_MINUTES, sync_artists},
  {SYNC_PLAYLISTS, S_SPOTIFY_AUTO_SYNC_PLAYLISTS,
   S_SPOTIFY_PLAYLISTS_SYNC_INTERVAL_MINUTES, sync_playlists},
  {SYNC_LIKED_SONGS, S_SPOTIFY_AUTO_SYNC_LIKED_SONGS,
   S_SPOTIFY_PLAYLISTS_SYNC_INTERVAL_MINUTES, sync_liked},
  {SYNC_ALBUMS, S_SPOTIFY_AUTO_SYNC_SAVED_ALBUMS,
   S_SPOTIFY_ALBUMS_SYNC_INTERVAL_MINUTES, sync_saved_albums},
  {SYNC_ARTIST_ALBUMS, S_SPOTIFY_AUTO_SYNC_ARTIST_ALBUMS,
   S_SPOTIFY_ARTIST_ALBUMS_SYNC_INTERVAL_MINUTES, sync_artist_albums},
};
#define N_TYPES (sizeof type_defs / sizeof type_defs[0])

static bool due(const struct type_def *d, bool force, int64_t now)
{
  if (!settings_bool(d->enable))
    return false;
  pthread_mutex_lock(&stats_mu);
  int64_t last = stats[d->type].last_ok_ms;
  pthread_mutex_unlock(&stats_mu);
  return force || !last ||
         now - last >= settings_int(d->interval_minutes) * 60000;
}

/* Persists and caches one type's outcome; tells the caller of a success. */
static void record(struct sync_run *s, enum spotify_sync_type t,
                   const struct type_result *r)
{
  if (r->kind == OUT_CANCELED)
    return;
  int64_t now = clock_wall_ms();
  pthread_mutex_lock(&stats_mu);
  struct db_spotify_sync_status *st = &stats[t];
  snprintf(st->type, sizeof st->type, "%s", spotify_sync_type_names[t]);
  if (r->kind != OUT_DEFERRED)
    st->last_attempt_ms = now;
  if (r->kind == OUT_OK) {
    st->last_ok_ms = now;
    st->items = r->items;
    st->last_error[0] = '\0';
    if (r->marker[0])
      snprintf(st->marker, sizeof st->marker, "%s", r->marker);
    snprintf(st->last_result, sizeof st->last_result, "%s", r->text);
  } else if (r->kind == OUT_ERROR) {
    snprintf(st->last_result, sizeof st->last_result, "failed");
    snprintf(st->last_error, sizeof st->last_error, "%s", r->text);
  } else {
    snprintf(st->last_result, sizeof st->last_result, "%s", r->text);
  }
  struct db_spotify_sync_status copy = *st;
  pthread_mutex_unlock(&stats_mu);
  if (db_spotify_status_store(s->db, &copy) != SS_OK)
    log_error("spotify_sync", "could not store the %s status",
              spotify_sync_type_names[t]);
  if (r->kind == OUT_OK && s->h && s->h->synced)
    s->h->synced(s->h->arg, t, now);
}

/* Appends "type: text" to a summary. */
static void summary_add(char *out, size_t n, enum spotify_sync_type t,
                        const char *text)
{
  size_t off = strlen(out);
  if (off < n)
    snprintf(out + off, n - off, "%s%s: %s", off ? "; " : "",
             spotify_sync_type_names[t], text);
}

static void run_types(struct sync_run *s, const bool *due_types,
                      struct spotify_sync_result *out)
{
  char *errors = out->errors, *summary = out->summary;
  enum ss_reason reason = SS_R_NONE; /* the first failing type's */
  bool canceled = false;
  errors[0] = summary[0] = '\0';
  for (size_t i = 0; i < N_TYPES && !canceled; i++) {
    const struct type_def *d = &type_defs[i];
    if (!due_types[i])
      continue;
    struct type_result r;
    memset(&r, 0, sizeof r);
    s->skipped = 0;
    if (s->halted) {
      result_set(&r, s->halt.kind == SPOTIFY_CONFIG ? OUT_ERROR : OUT_DEFERRED,
                 s->halt.kind == SPOTIFY_CONFIG ? "%s" : "deferred (%s)",
                 s->halt.msg);
      r.reason = spotify_err_reason(&s->halt);
    } else if (should_stop(s)) {
      result_set(&r, OUT_CANCELED, "interrupted");
    } else {
      d->run(s, &r);
    }
    record(s, d->type, &r);
    canceled = r.kind == OUT_CANCELED;
    if (r.kind == OUT_ERROR) {
      summary_add(errors, sizeof out->errors, d->type, r.text);
      if (reason == SS_R_NONE)
        reason = r.reason != SS_R_NONE ? r.reason : SS_R_PROTOCOL;
    } else if (!canceled) {
      summary_add(summary, sizeof out->summary, d->type, r.text);
    }
  }
  out->reason = reason;
  if (canceled) {
    out->outcome = SPOTIFY_SYNC_CANCELED;
    return;
  }
  if (summary[0])
    log_info("spotify_sync", "%s", summary);
  if (errors[0])
    log_warn("spotify_sync", "%s", errors);
  out->outcome = errors[0] ? SPOTIFY_SYNC_FAILED : SPOTIFY_SYNC_OK;
}

bool spotify_sync_run(struct db *db, bool force,
                      const struct spotify_sync_hooks *h,
                      struct spotify_sync_result *out)
{
  memset(out, 0, sizeof *out);
  int64_t now = clock_wall_ms();
  bool due_types[N_TYPES], any = false;
  for (size_t i = 0; i < N_TYPES; i++)
    any |= due_types[i] = due(&type_defs[i], force, now);
  if (!any) {
    out->outcome = SPOTIFY_SYNC_OK;
    return false;
  }
  if (h && h->started)
    h->started(h->arg);
  struct spotify_client_opts o = {.db = db, .forced = force};
  struct sync_run s = {.h = h, .db = db, .c = spotify_client_new(&o)};
  run_types(&s, due_types, out);
  spotify_client_free(s.c);
  pool_free(&s.pool);
  return true;
}

/* ---- test and fuzz entry ---- */

enum ss_err spotify_sync_read_page(enum spotify_sync_type type,
                                   const char *body, size_t len, size_t *kept,
                                   int64_t *skipped, char *err, size_t errlen)
{
  static const struct {
    const char *wrapper, *inner; /* paging wrapper; page_marker() key */
    item_fn fn;
    size_t size;
  } kinds[SYNC__COUNT] = {
    [SYNC_ARTISTS] = {"artists", NULL, take_artist, sizeof(struct sp_artist)},
    [SYNC_PLAYLISTS] = {NULL, NULL, take_playlist, sizeof(struct sp_playlist)},
    [SYNC_ALBUMS] = {NULL, "album", take_saved_album, sizeof(struct sp_album)},
    [SYNC_LIKED_SONGS] = {NULL, "track", take_entry, sizeof(struct sp_entry)},
    [SYNC_ARTIST_ALBUMS] = {NULL, NULL, take_release, sizeof(struct sp_album)},
  };
  struct sync_run s = {0};
  struct vec v = {.size = kinds[type].size};
  struct spotify_err e = {0};
  char marker[256];
  *kept = 0;
  *skipped = 0;
  json_t *doc = json_loadb(body, len, 0, NULL);
  if (!json_is_object(doc)) {
    json_decref(doc);
    snprintf(err, errlen, "not a JSON object");
    return SS_EPROTO;
  }
  if (kinds[type].inner)
    page_marker(doc, kinds[type].inner, marker, sizeof marker);
  enum ss_err rc = collect(&s, "", doc, kinds[type].wrapper, 1, kinds[type].fn,
                           &v, &e);
  if (rc != SS_OK)
    snprintf(err, errlen, "%s", e.msg);
  *kept = v.n;
  *skipped = s.skipped;
  free(v.data);
  pool_free(&s.pool);
  return rc;
}
