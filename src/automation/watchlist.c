/*
 * watchlist.c - Watchlist, Discography and Playlist sources -> Wanted (see
 * watchlist.h for the rules).
 *
 * What: per due watch, the releases of both sources into one array
 * (Spotify first, then MusicBrainz), watch_select() filters, merges and
 * sorts it against one ownership index built per pass, watch_want() adds
 * the items; the dispatcher (wanted.c) makes the requests afterwards.
 * Threading: the caller's thread and db.  Ownership: every array and
 * client here lives for one call.
 */
#include "automation/watchlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/musicbrainz.h"
#include "clients/spotify.h"
#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "services/notify.h"

/* ---- types ---- */

static const struct {
  const char *name;
  unsigned bit;
} type_names[] = {
  {"album", WATCH_ALBUM},           {"ep", WATCH_EP},
  {"single", WATCH_SINGLE},         {"compilation", WATCH_COMPILATION},
  {"appears_on", WATCH_APPEARS_ON},
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])

unsigned watch_type_from_name(const char *name)
{
  for (size_t i = 0; name && i < N_TYPES; i++)
    if (!strcmp(name, type_names[i].name))
      return type_names[i].bit;
  return 0;
}

const char *watch_type_name(unsigned bit)
{
  for (size_t i = 0; i < N_TYPES; i++)
    if (bit == type_names[i].bit)
      return type_names[i].name;
  return "";
}

unsigned watch_type_spotify(const char *group, const char *album_type,
                            int total_tracks)
{
  const char *g = group && group[0] ? group : album_type;
  if (!g)
    return 0;
  if (!strcmp(g, "single"))
    return total_tracks >= 4 ? WATCH_EP : WATCH_SINGLE;
  if (!strcmp(g, "album"))
    return WATCH_ALBUM;
  if (!strcmp(g, "compilation"))
    return WATCH_COMPILATION;
  if (!strcmp(g, "appears_on"))
    return WATCH_APPEARS_ON;
  return 0;
}

unsigned watch_type_mb(const char *primary, const char *secondary)
{
  if (secondary) {
    for (const char *p = secondary; *p;) {
      const char *bar = strchr(p, '|');
      size_t len = bar ? (size_t)(bar - p) : strlen(p);
      if (len == 11 && !strncmp(p, "Compilation", 11))
        return WATCH_COMPILATION;
      p += len + (bar != NULL);
    }
  }
  if (!primary)
    return 0;
  if (!strcmp(primary, "Album"))
    return WATCH_ALBUM;
  if (!strcmp(primary, "EP"))
    return WATCH_EP;
  if (!strcmp(primary, "Single"))
    return WATCH_SINGLE;
  return 0; /* Broadcast, Other, none */
}

/* ---- dates ---- */

enum ss_err watch_date_check(const char *date, const char *precision,
                             char out[16], char *why, size_t n)
{
  struct mb_date d;
  out[0] = '\0';
  if (!date || !date[0])
    return SS_OK;
  char reason[128] = "";
  if (mb_parse_date(date, &d, reason, sizeof reason) != SS_OK) {
    snprintf(why, n, "absurd release date \"%.20s\" (%s)", date, reason);
    return SS_EINVAL;
  }
  size_t len = strlen(d.text);
  size_t want = !precision || !precision[0]   ? len
                : !strcmp(precision, "year")  ? 4
                : !strcmp(precision, "month") ? 7
                : !strcmp(precision, "day")   ? 10
                                              : 0;
  if (want != len) {
    snprintf(why, n,
             "release date \"%.20s\" does not match its precision "
             "\"%.12s\"",
             date, precision);
    return SS_EINVAL;
  }
  snprintf(out, 16, "%s", d.text);
  return SS_OK;
}

bool watch_date_is_new(const char *date, const char *since)
{
  size_t len = date ? strlen(date) : 0;
  if (!len || !since || strlen(since) < len)
    return false;
  return strncmp(date, since, len) >= 0;
}

/* ---- release lists ---- */

struct watch_release *watch_releases_push(struct watch_releases *r)
{
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->v = xrealloc(r->v, r->cap * sizeof *r->v);
  }
  struct watch_release *x = &r->v[r->n++];
  memset(x, 0, sizeof *x);
  return x;
}

void watch_releases_free(struct watch_releases *r)
{
  free(r->v);
  memset(r, 0, sizeof *r);
}

static void note_first(struct watch_releases *r, const char *fmt,
                       const char *a, const char *b)
{
  if (!r->note[0])
    snprintf(r->note, sizeof r->note, fmt, a, b);
}

static const char *jstr(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

/* The items of a Spotify offset page (borrowed), or NULL with why
 * ("malformed WHAT from Spotify: ..."); *next gets the "next" link
 * (malloc'ed; NULL on the last page or on failure). */
static json_t *page_items(json_t *page, const char *what, char **next,
                          char *why, size_t n)
{
  *next = NULL;
  json_t *items = json_object_get(page, "items");
  json_t *link = json_object_get(page, "next");
  if (!json_is_object(page) || !json_is_array(items) ||
      (link && !json_is_null(link) && !json_is_string(link))) {
    snprintf(why, n, "malformed %s from Spotify: %s", what,
             !json_is_object(page)   ? "no paging object"
             : !json_is_array(items) ? "items is not a list"
                                     : "next is not a link");
    return NULL;
  }
  if (json_is_string(link))
    *next = xstrdup(json_string_value(link));
  return items;
}

enum ss_err watch_spotify_page(json_t *page, const char *artist_id,
                               struct watch_releases *out, char *name,
                               char **next, char *why, size_t n)
{
  json_t *items = page_items(page, "page", next, why, n);
  if (!items)
    return SS_EPROTO;
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
  {
    const char *id = jstr(it, "id");
    if (!json_is_object(it) || !id[0] || strlen(id) >= WANTED_ID_MAX)
      continue; /* null item or no usable id */
    json_t *artists = json_object_get(it, "artists");
    size_t k;
    json_t *a;
    const char *first = jstr(json_array_get(artists, 0), "name");
    json_array_foreach(artists, k, a)
    {
      if (name && !name[0] && !strcmp(jstr(a, "id"), artist_id))
        snprintf(name, WANTED_TEXT_MAX, "%s", jstr(a, "name"));
    }
    struct watch_release *r = watch_releases_push(out);
    snprintf(r->spotify_id, sizeof r->spotify_id, "%s", id);
    snprintf(r->title, sizeof r->title, "%s", jstr(it, "name"));
    snprintf(r->artist, sizeof r->artist, "%s", first);
    json_t *tt = json_object_get(it, "total_tracks");
    r->total_tracks = json_is_integer(tt) && json_integer_value(tt) > 0 &&
                          json_integer_value(tt) < 10000
                        ? (int)json_integer_value(tt)
                        : 0;
    r->type = watch_type_spotify(jstr(it, "album_group"),
                                 jstr(it, "album_type"), r->total_tracks);
    char reason[160];
    if (watch_date_check(jstr(it, "release_date"),
                         jstr(it, "release_date_precision"), r->date, reason,
                         sizeof reason) != SS_OK) {
      r->bad_date = true;
      note_first(out, "\"%.60s\": %s", r->title, reason);
    }
  }
  return SS_OK;
}

/* ---- selection ---- */

struct keyed {
  size_t idx;
  char key[OWNERSHIP_KEY_MAX];
};

static int by_key(const void *a, const void *b)
{
  const struct keyed *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int newest_first(const void *a, const void *b)
{
  const struct watch_release *x = a, *y = b;
  int c = strcmp(y->date, x->date); /* "" sorts last */
  return c ? c : strcmp(x->title, y->title);
}

/* Copies into dst what it lacks of src (the same release). */
static void merge(struct watch_release *dst, const struct watch_release *src)
{
  if (!dst->spotify_id[0])
    memcpy(dst->spotify_id, src->spotify_id, sizeof dst->spotify_id);
  if (!dst->mb_id[0])
    memcpy(dst->mb_id, src->mb_id, sizeof dst->mb_id);
  if (!dst->date[0])
    memcpy(dst->date, src->date, sizeof dst->date);
  if (!dst->total_tracks)
    dst->total_tracks = src->total_tracks;
}

void watch_select(const struct watch *w, enum watch_mode mode,
                  const struct ownership *o, struct watch_releases *r,
                  struct watch_pick *out)
{
  memset(out, 0, sizeof *out);
  out->seen = r->n;
  struct keyed *k = r->n ? xmalloc(r->n * sizeof *k) : NULL;
  size_t kept = 0;
  for (size_t i = 0; i < r->n; i++) {
    const struct watch_release *x = &r->v[i];
    if (x->bad_date) {
      out->bad_date++;
    } else if (!(x->type & w->release_types)) {
      out->wrong_type++;
    } else if (mode == WATCH_MODE_NEW &&
               !watch_date_is_new(x->date, w->since_date)) {
      out->too_old++;
    } else if (x->title[0]) {
      k[kept].idx = i;
      ownership_album_key(x->artist[0] ? x->artist : w->name, x->title,
                          k[kept].key, sizeof k[kept].key);
      kept++;
    }
  }
  if (kept > 1)
    qsort(k, kept, sizeof *k, by_key);
  struct watch_release *keep = kept ? xmalloc(kept * sizeof *keep) : NULL;
  size_t n = 0;
  for (size_t i = 0; i < kept; i++) {
    if (i && !strcmp(k[i].key, k[i - 1].key)) {
      out->duplicate++;
      continue;
    }
    struct watch_release *x = &keep[n];
    *x = r->v[k[i].idx];
    for (size_t j = i + 1; j < kept && !strcmp(k[j].key, k[i].key); j++)
      merge(x, &r->v[k[j].idx]);
    struct ownership_album_in in = {
      .artist = x->artist[0] ? x->artist : w->name,
      .album = x->title,
      .spotify_album_id = x->spotify_id,
      .mb_release_group_id = x->mb_id,
      .total_tracks = x->total_tracks,
    };
    enum ownership_state own = o ? ownership_album(o, &in, NULL) : OWN_NONE;
    x->partial = own == OWN_PARTIAL;
    if (own == OWN_FULL)
      out->owned++;
    else
      n++;
  }
  if (n)
    memcpy(r->v, keep, n * sizeof *keep);
  free(keep);
  free(k);
  r->n = n;
  if (n > 1)
    qsort(r->v, n, sizeof *r->v, newest_first);
  out->candidates = n;
}

/* A watched artist's new release was wanted (services/notify.h). */
static void notify_release(const struct wanted_item *it)
{
  char title[NOTIFY_TITLE_MAX], body[NOTIFY_BODY_MAX];
  snprintf(title, sizeof title, "New release wanted: %s \xe2\x80\x93 %s",
           it->artist, it->title);
  snprintf(body, sizeof body, "%s \xe2\x80\x93 %s (%s, %s)%s", it->artist,
           it->title, it->release_type[0] ? it->release_type : "release",
           it->release_date[0] ? it->release_date : "no date",
           it->auto_download ? "; it will be downloaded"
                             : "; on the Wanted list");
  notify_event(NOTIFY_RELEASE_WANTED, title, body);
}

enum ss_err watch_want(struct db *db, const struct watch *w,
                       enum watch_mode mode, const struct watch_releases *r,
                       size_t max, int64_t now_ms, size_t *added,
                       size_t *capped)
{
  *added = 0;
  *capped = 0;
  struct wanted_item *it = xmalloc(sizeof *it);
  enum ss_err rc = SS_OK;
  size_t i = 0;
  for (; i < r->n && *added < max && rc == SS_OK; i++) {
    const struct watch_release *x = &r->v[i];
    memset(it, 0, sizeof *it);
    it->kind = WANTED_ALBUM;
    snprintf(it->source, sizeof it->source, "%s",
             mode == WATCH_MODE_NEW ? "watchlist" : "discography");
    const char *artist = x->artist[0] ? x->artist : w->name;
    ownership_album_key(artist, x->title, it->norm_key, sizeof it->norm_key);
    snprintf(it->spotify_id, sizeof it->spotify_id, "%s", x->spotify_id);
    snprintf(it->mb_id, sizeof it->mb_id, "%s", x->mb_id);
    snprintf(it->artist, sizeof it->artist, "%s", artist);
    snprintf(it->title, sizeof it->title, "%s", x->title);
    snprintf(it->release_date, sizeof it->release_date, "%s", x->date);
    snprintf(it->release_type, sizeof it->release_type, "%s",
             watch_type_name(x->type));
    it->expected_tracks = x->total_tracks;
    it->auto_download = w->auto_download;
    it->watch_id = w->id;
    int64_t id = 0;
    bool was_added = false;
    rc = db_wanted_add(db, it, now_ms, &id, &was_added);
    *added += was_added;
    if (was_added && mode == WATCH_MODE_NEW)
      notify_release(it);
  }
  *capped = r->n - i;
  free(it);
  return rc;
}

/* ---- partly owned albums ---- */

void watch_tracks_free(struct watch_tracks *t)
{
  free(t->v);
  memset(t, 0, sizeof *t);
}

enum ss_err watch_tracks_page(json_t *page, struct watch_tracks *out,
                              char **next, char *why, size_t n)
{
  json_t *items = page_items(page, "track list", next, why, n);
  if (!items)
    return SS_EPROTO;
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it)
  {
    const char *id = jstr(it, "id"), *name = jstr(it, "name");
    if (!id[0] || strlen(id) >= WANTED_ID_MAX || !name[0])
      continue; /* null item, a local file, no usable id or name */
    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 32;
      out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    struct watch_track *t = &out->v[out->n++];
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->title, sizeof t->title, "%s", name);
  }
  return SS_OK;
}

enum ss_err watch_want_missing(struct db *db, const struct watch *w,
                               enum watch_mode mode,
                               const struct watch_release *x,
                               const struct watch_tracks *t,
                               const struct ownership *o, size_t max,
                               int64_t now_ms, size_t *added)
{
  *added = 0;
  if (!t->n)
    return SS_OK;
  const char *artist = x->artist[0] ? x->artist : w->name;
  struct ownership_track_in *in = xcalloc(t->n, sizeof *in);
  bool *missing = xcalloc(t->n, sizeof *missing);
  for (size_t i = 0; i < t->n; i++) {
    in[i].title = t->v[i].title;
    in[i].spotify_id = t->v[i].id;
  }
  struct ownership_album_in a = {.artist = artist,
                                 .album = x->title,
                                 .spotify_album_id = x->spotify_id,
                                 .tracks = in,
                                 .n_tracks = t->n};
  ownership_album(o, &a, missing);
  struct wanted_item *it = xmalloc(sizeof *it);
  enum ss_err rc = SS_OK;
  for (size_t i = 0; i < t->n && *added < max && rc == SS_OK; i++) {
    if (!missing[i])
      continue;
    memset(it, 0, sizeof *it);
    it->kind = WANTED_TRACK;
    snprintf(it->source, sizeof it->source, "%s",
             mode == WATCH_MODE_NEW ? "watchlist" : "discography");
    ownership_track_key(artist, t->v[i].title, it->norm_key,
                        sizeof it->norm_key);
    snprintf(it->spotify_id, sizeof it->spotify_id, "%s", t->v[i].id);
    snprintf(it->artist, sizeof it->artist, "%s", artist);
    snprintf(it->title, sizeof it->title, "%s", t->v[i].title);
    snprintf(it->album, sizeof it->album, "%s", x->title);
    snprintf(it->release_date, sizeof it->release_date, "%s", x->date);
    it->auto_download = w->auto_download;
    it->watch_id = w->id;
    int64_t id = 0;
    bool was_added = false;
    rc = db_wanted_add(db, it, now_ms, &id, &was_added);
    *added += was_added;
  }
  free(it);
  free(missing);
  free(in);
  return rc;
}

/* ---- sources ---- */

/* Reads one fetched page doc into arg and sets *next to the link of the
 * following page (NULL at the end).  SS_OK, or err says why. */
typedef enum ss_err (*page_fn)(json_t *doc, void *arg, char **next, char *err,
                               size_t errlen);

/*
 * Follows Spotify's paging from the first page url (owned, freed here),
 * handing each page to fn, and stops after max_pages pages (*capped then
 * tells that more were left).  SS_OK; a failed GET returns its code with
 * *e filled and *get_failed set, a page fn refused returns fn's code with
 * err as fn left it.
 */
static enum ss_err walk_pages(struct spotify_client *c, char *url, page_fn fn,
                              void *arg, int max_pages, bool *capped,
                              bool *get_failed, struct spotify_err *e,
                              char *err, size_t errlen)
{
  char *next = url;
  enum ss_err rc = SS_OK;
  int pages = 0;
  *capped = false;
  *get_failed = false;
  while (next && rc == SS_OK) {
    json_t *doc = NULL;
    rc = spotify_get(c, next, &doc, e);
    free(next);
    next = NULL;
    if (rc) {
      *get_failed = true;
      break;
    }
    rc = fn(doc, arg, &next, err, errlen);
    json_decref(doc);
    if (!rc && next && ++pages >= max_pages) {
      *capped = true;
      free(next);
      next = NULL;
    }
  }
  free(next);
  return rc;
}

static enum ss_err tracks_page(json_t *doc, void *arg, char **next, char *err,
                               size_t errlen)
{
  return watch_tracks_page(doc, arg, next, err, errlen);
}

/* Reads the track list of Spotify album album_id.  SS_OK, or err. */
static enum ss_err read_tracks(struct spotify_client *c, const char *album_id,
                               struct watch_tracks *out, char *err,
                               size_t errlen)
{
  struct buf url;
  buf_init(&url, 256);
  buf_puts(&url, "/albums/");
  spotify_url_encode(&url, album_id);
  buf_printf(&url, "/tracks?limit=%d", WATCH_TRACKS_PAGE);
  char *first = xstrdup(buf_cstr(&url));
  buf_free(&url);
  struct spotify_err e;
  bool capped, get_failed; /* the first 1 000 tracks are enough */
  enum ss_err rc = walk_pages(c, first, tracks_page, out, WATCH_TRACKS_PAGES,
                              &capped, &get_failed, &e, err, errlen);
  if (rc && get_failed)
    snprintf(err, errlen, "Spotify: %s", e.msg);
  return rc;
}

/* The partly owned candidates of rel with a Spotify id: their missing
 * tracks are wanted (watch_want_missing) and they leave rel, so
 * watch_want does not want them whole.  A track list that cannot be read
 * leaves the release out with the reason in err (first only). */
static enum ss_err want_partial(struct db *db, struct spotify_client *sp,
                                const struct watch *w, enum watch_mode mode,
                                const struct ownership *o,
                                struct watch_releases *rel, size_t room,
                                int64_t now_ms, size_t *added, char *err,
                                size_t errlen)
{
  size_t kept = 0;
  enum ss_err rc = SS_OK;
  *added = 0;
  for (size_t i = 0; i < rel->n; i++) {
    struct watch_release *x = &rel->v[i];
    if (rc || !x->partial || !x->spotify_id[0] || !sp) {
      rel->v[kept++] = *x;
      continue;
    }
    struct watch_tracks t = {0};
    char why[WANTED_REASON_MAX] = "";
    size_t n = 0;
    if (read_tracks(sp, x->spotify_id, &t, why, sizeof why)) {
      if (!err[0])
        snprintf(err, errlen, "track list of \"%.60s\": %s", x->title, why);
    } else {
      rc = watch_want_missing(db, w, mode, x, &t, o,
                              room > *added ? room - *added : 0, now_ms, &n);
      *added += n;
    }
    watch_tracks_free(&t);
  }
  rel->n = kept;
  return rc;
}

struct albums_page_arg {
  const char *artist_id;
  struct watch_releases *out;
  char *name;
};

static enum ss_err albums_page(json_t *doc, void *arg, char **next, char *err,
                               size_t errlen)
{
  struct albums_page_arg *a = arg;
  char why[WANTED_REASON_MAX];
  enum ss_err rc = watch_spotify_page(doc, a->artist_id, a->out, a->name, next,
                                      why, sizeof why);
  if (rc)
    snprintf(err, errlen, "%s", why);
  return rc;
}

/* Reads the artist's releases from Spotify.  SS_OK; on failure err says
 * why, *stop tells whether the whole run must stop and *deferred that
 * nothing was asked (Spotify backs off or its Retry-After lasts). */
static enum ss_err read_spotify(struct spotify_client *c,
                                const struct watch *w,
                                struct watch_releases *out, char *name,
                                char *err, size_t errlen, bool *stop,
                                bool *deferred, enum ss_reason *code)
{
  static const char *const groups[] = {"album", "single", "compilation",
                                       "appears_on"};
  static const unsigned group_bits[] = {WATCH_ALBUM, WATCH_SINGLE | WATCH_EP,
                                        WATCH_COMPILATION, WATCH_APPEARS_ON};
  struct buf url;
  buf_init(&url, 2048);
  buf_puts(&url, "/artists/");
  spotify_url_encode(&url, w->spotify_artist_id);
  buf_puts(&url, "/albums?include_groups=");
  bool any = false;
  for (size_t i = 0; i < 4; i++)
    if (w->release_types & group_bits[i]) {
      buf_printf(&url, "%s%s", any ? "," : "", groups[i]);
      any = true;
    }
  buf_printf(&url, "&limit=%d", WATCH_SPOTIFY_PAGE);
  char *first = xstrdup(buf_cstr(&url));
  buf_free(&url);
  struct albums_page_arg arg = {w->spotify_artist_id, out, name};
  struct spotify_err e;
  bool capped, get_failed;
  enum ss_err rc = walk_pages(c, first, albums_page, &arg, WATCH_SPOTIFY_PAGES,
                              &capped, &get_failed, &e, err, errlen);
  if (rc && get_failed) {
    *stop = e.kind != SPOTIFY_REFUSED && e.kind != SPOTIFY_MALFORMED;
    *deferred = e.deferred;
    *code = spotify_err_reason(&e);
    if (e.kind == SPOTIFY_REFUSED && e.status == 404)
      snprintf(err, errlen, "Spotify does not know artist %s",
               w->spotify_artist_id);
    else
      snprintf(err, errlen, "Spotify: %s", e.msg);
  } else if (rc) {
    *code = SS_R_PROTOCOL;
  } else if (capped) {
    note_first(out, "%s%s", "only the first 1000 Spotify releases read", "");
  }
  return rc;
}

/* Reads the artist's release groups from MusicBrainz.  SS_OK, or err;
 * *down when MusicBrainz is down or throttling us (the run stops, the watch
 * stays due), *deferred when it was not even asked (its backoff lasts). */
static enum ss_err read_mb(struct mb_client *c, const struct watch *w,
                           const char *artist, struct watch_releases *out,
                           char *err, size_t errlen, enum ss_reason *code,
                           bool *down, bool *deferred)
{
  struct mb_release_groups g = {0};
  struct mb_err e;
  enum ss_err rc = mb_artist_release_groups(c, w->mb_artist_id, NULL, 0, &g,
                                            &e);
  if (rc) {
    /* down or throttling us: the ladder (clients/backoff.h) holds it */
    *down = e.kind == MB_RATE_LIMITED || e.kind == MB_UNAVAILABLE;
    *deferred = e.deferred;
    *code = e.kind == MB_NOT_FOUND || e.kind == MB_REFUSED ? SS_R_PROTOCOL
                                                           : ss_reason_of(rc);
    if (e.kind == MB_NOT_FOUND)
      snprintf(err, errlen, "MusicBrainz does not know artist %s",
               w->mb_artist_id);
    else
      snprintf(err, errlen, "MusicBrainz: %s", e.msg);
    mb_release_groups_free(&g);
    return rc;
  }
  for (size_t i = 0; i < g.n; i++) {
    const struct mb_release_group *x = &g.v[i];
    struct watch_release *r = watch_releases_push(out);
    snprintf(r->title, sizeof r->title, "%s", x->title);
    snprintf(r->artist, sizeof r->artist, "%s", artist);
    snprintf(r->mb_id, sizeof r->mb_id, "%s", x->id);
    r->type = watch_type_mb(x->primary_type, x->secondary_types);
    if (x->first_release.valid) {
      snprintf(r->date, sizeof r->date, "%s", x->first_release.text);
    } else {
      r->bad_date = true;
      note_first(out, "\"%.60s\": %s", x->title,
                 g.note[0] ? g.note : "absurd release date");
    }
  }
  if (g.truncated && !out->note[0])
    snprintf(out->note, sizeof out->note,
             "only the first %zu of %zu MusicBrainz release groups read", g.n,
             g.total);
  mb_release_groups_free(&g);
  return SS_OK;
}

/* ---- runs ---- */

void watch_config_load(struct watch_config *cfg, enum watch_mode mode)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->artists_per_run = (int)settings_int(
    S_AUTOMATION_WATCHLIST_ARTISTS_PER_RUN);
  cfg->max_per_run = mode == WATCH_MODE_NEW
                       ? WATCH_NEW_MAX_PER_RUN
                       : (int)settings_int(
                           S_AUTOMATION_DISCOGRAPHY_MAX_PER_RUN);
  cfg->watch_followed = settings_bool(S_AUTOMATION_WATCH_FOLLOWED_ARTISTS);
}

struct run {
  struct db *db;
  enum watch_mode mode;
  const struct watch_config *cfg;
  int64_t now;
  struct ownership *own;
  struct spotify_client *sp;
  struct mb_client *mb;
  struct watch_result *out;
};

static void first_error(struct watch_result *out, const struct watch *w,
                        const char *why, enum ss_reason code)
{
  if (!out->error[0]) {
    snprintf(out->error, sizeof out->error, "%.60s: %s",
             w->name[0] ? w->name : w->spotify_artist_id, why);
    out->reason = code;
  }
}

static struct mb_client *mb_of(struct run *r)
{
  if (!r->mb) {
    struct mb_client_opts o = {.forced = r->cfg->forced};
    r->mb = mb_client_new(&o);
  }
  return r->mb;
}

bool watch_find_mbid(struct mb_client *c, const char *name,
                     char out[WANTED_ID_MAX])
{
  struct mb_artist_hits h = {0};
  struct mb_err e;
  char want[OWNERSHIP_KEY_MAX], key[OWNERSHIP_KEY_MAX];
  int found = 0;
  ownership_artist_key(name, want, sizeof want);
  if (!want[0] || mb_artist_search(c, name, 10, &h, &e) != SS_OK) {
    mb_artist_hits_free(&h);
    return false;
  }
  for (size_t i = 0; i < h.n; i++) {
    ownership_artist_key(h.v[i].name, key, sizeof key);
    if (h.v[i].score == 100 && !strcmp(key, want) &&
        mb_mbid_canonical(h.v[i].id, out) == SS_OK)
      found++;
  }
  mb_artist_hits_free(&h);
  if (found != 1)
    out[0] = '\0'; /* none, or ambiguous: leave it to the user */
  else
    log_info("automation", "watch \"%s\": MusicBrainz artist %s", name, out);
  return found == 1;
}

/* Stops the run at watch w: its source is unavailable (rate limited, down,
 * or backing off); this watch and the rest stay due. */
static void stop_run(struct run *r, const char *err, enum ss_reason code,
                     bool deferred)
{
  r->out->stopped = true;
  r->out->deferred = deferred;
  snprintf(r->out->error, sizeof r->out->error, "%s", err);
  r->out->reason = code;
}

/* Checks one watch: both sources, select, want, mark checked.  A watch
 * without a MusicBrainz id looks its artist up by name at its very first
 * check (watch_find_mbid). */
static enum ss_err check_one(struct run *r, struct watch *w)
{
  struct watch_releases rel = {0};
  char err[WANTED_REASON_MAX] = "", name[WANTED_TEXT_MAX] = "";
  bool stop = false, deferred = false, down = false;
  enum ss_reason code = SS_R_NONE, mbcode = SS_R_NONE;
  enum ss_err rc = SS_OK;
  read_spotify(r->sp, w, &rel, name, err, sizeof err, &stop, &deferred, &code);
  if (stop) {
    stop_run(r, err, code, deferred);
    watch_releases_free(&rel);
    return SS_OK; /* stays due */
  }
  if (!w->name[0] && name[0]) {
    snprintf(w->name, sizeof w->name, "%s", name);
    rc = db_watch_set_name(r->db, w->id, name);
  }
  if (!rc && !w->mb_artist_id[0] && w->name[0] && !w->last_check_ms &&
      !w->discography_check_ms &&
      watch_find_mbid(mb_of(r), w->name, w->mb_artist_id))
    rc = db_watch_update(r->db, w);
  if (!rc && w->mb_artist_id[0]) {
    char mberr[WANTED_REASON_MAX] = "";
    if (read_mb(mb_of(r), w, w->name, &rel, mberr, sizeof mberr, &mbcode,
                &down, &deferred) &&
        !err[0]) {
      snprintf(err, sizeof err, "%s", mberr);
      code = mbcode;
    }
    if (down) { /* MusicBrainz down: nothing wanted from half a check */
      stop_run(r, mberr, mbcode, deferred);
      watch_releases_free(&rel);
      return rc == SS_ENOTFOUND ? SS_OK : rc; /* stays due */
    }
  }
  struct watch_pick pick = {0};
  size_t added = 0, capped = 0;
  size_t room = (size_t)r->cfg->max_per_run > r->out->added
                  ? (size_t)r->cfg->max_per_run - r->out->added
                  : 0;
  if (!rc) {
    watch_select(w, r->mode, r->own, &rel, &pick);
    size_t tracks = 0;
    char terr[WANTED_REASON_MAX] = "";
    rc = want_partial(r->db, r->sp, w, r->mode, r->own, &rel, room, r->now,
                      &tracks, terr, sizeof terr);
    if (terr[0] && !err[0]) {
      snprintf(err, sizeof err, "%s", terr);
      code = SS_R_PROTOCOL;
    }
    if (!rc)
      rc = watch_want(r->db, w, r->mode, &rel,
                      room > tracks ? room - tracks : 0, r->now, &added,
                      &capped);
    added += tracks;
    r->out->seen += pick.seen;
    r->out->owned += pick.owned;
    r->out->bad_dates += pick.bad_date;
    r->out->added += added;
    r->out->capped += capped;
  }
  if (err[0]) {
    r->out->failed++;
    first_error(r->out, w, err, code != SS_R_NONE ? code : SS_R_PROTOCOL);
  } else if (pick.bad_date) {
    snprintf(err, sizeof err, "%zu release(s) skipped: %s", pick.bad_date,
             rel.note);
  } else if (rel.note[0]) {
    log_info("automation", "watch \"%s\": %s", w->name, rel.note);
  }
  if (!rc)
    rc = r->mode == WATCH_MODE_NEW
           ? db_watch_checked(r->db, w->id, err, r->now)
           : db_watch_discography_checked(r->db, w->id, err, r->now);
  if (added)
    log_info("automation", "%s \"%s\": %zu release(s) wanted",
             r->mode == WATCH_MODE_NEW ? "watchlist" : "discography", w->name,
             added);
  watch_releases_free(&rel);
  return rc == SS_ENOTFOUND ? SS_OK : rc; /* unwatched meanwhile */
}

enum ss_err watch_run(struct db *db, enum watch_mode mode,
                      const struct watch_config *cfg, int64_t now_ms,
                      struct watch_result *out)
{
  memset(out, 0, sizeof *out);
  enum ss_err rc = SS_OK;
  if (mode == WATCH_MODE_NEW && cfg->watch_followed)
    rc = db_watch_add_followed(db, now_ms, &out->followed_added);
  size_t max = cfg->artists_per_run > 0 ? (size_t)cfg->artists_per_run : 1;
  struct watch *due = xcalloc(max, sizeof *due);
  size_t n = 0;
  if (!rc)
    rc = mode == WATCH_MODE_NEW
           ? db_watch_due(db, now_ms + 1, due, max, &n)
           : db_watch_due_discography(db, now_ms + 1, due, max, &n);
  struct run r = {.db = db,
                  .mode = mode,
                  .cfg = cfg,
                  .now = now_ms,
                  .out = out};
  if (!rc && (n || mode == WATCH_MODE_NEW))
    rc = ownership_load(db, &r.own);
  if (!rc && n) {
    struct spotify_client_opts o = {.db = db, .forced = cfg->forced};
    r.sp = spotify_client_new(&o);
  }
  for (size_t i = 0; !rc && i < n && !out->stopped; i++) {
    if (cfg->should_stop && cfg->should_stop(cfg->stop_arg))
      break;
    rc = check_one(&r, &due[i]);
    out->watches++;
  }
  if (!rc && mode == WATCH_MODE_NEW && !out->stopped)
    rc = watch_playlists(db, r.own, WATCH_PLAYLIST_MAX_PER_RUN, now_ms,
                         &out->playlist_added);
  spotify_client_free(r.sp);
  mb_client_free(r.mb);
  ownership_free(r.own);
  free(due);
  return rc;
}

/* ---- playlists ---- */

struct missing {
  const struct ownership *o;
  struct wanted_item *v;
  size_t n, cap, limit;
};

static enum ss_err on_playlist_track(void *arg, const struct playlist_track *t)
{
  struct missing *m = arg;
  char first[WANTED_TEXT_MAX];
  snprintf(first, sizeof first, "%s", t->artists);
  char *comma = strstr(first, ", ");
  if (comma)
    *comma = '\0'; /* the first of "A, B" */
  if (!t->title[0] ||
      ownership_has_track(m->o, first, t->title, t->track_id, NULL))
    return SS_OK;
  if (m->n == m->limit)
    return SS_OK; /* enough for this run */
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->v = xrealloc(m->v, m->cap * sizeof *m->v);
  }
  struct wanted_item *w = &m->v[m->n++];
  memset(w, 0, sizeof *w);
  w->kind = WANTED_TRACK;
  snprintf(w->source, sizeof w->source, "playlist");
  ownership_track_key(first, t->title, w->norm_key, sizeof w->norm_key);
  snprintf(w->spotify_id, sizeof w->spotify_id, "%s", t->track_id);
  snprintf(w->artist, sizeof w->artist, "%s", first);
  snprintf(w->title, sizeof w->title, "%s", t->title);
  snprintf(w->album, sizeof w->album, "%s", t->album);
  w->auto_download = true;
  return SS_OK;
}

enum ss_err watch_playlists(struct db *db, const struct ownership *o,
                            size_t max, int64_t now_ms, size_t *added)
{
  /* read more than max: entries already on the list do not count */
  struct missing m = {.o = o, .limit = max * 4 + 64};
  *added = 0;
  enum ss_err rc = db_playlist_missing_each(db, on_playlist_track, &m);
  for (size_t i = 0; !rc && i < m.n && *added < max; i++) {
    int64_t id;
    bool was_added = false;
    if (!m.v[i].norm_key[0])
      continue;
    rc = db_wanted_add(db, &m.v[i], now_ms, &id, &was_added);
    *added += was_added;
  }
  free(m.v);
  if (*added)
    log_info("automation", "playlists: %zu missing track(s) wanted", *added);
  return rc;
}
