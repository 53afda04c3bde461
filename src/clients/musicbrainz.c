/*
 * musicbrainz.c - MusicBrainz ws/2 client: pacing, 503 handling and the
 * reply parsers (docs/INTEGRATIONS.md, "MusicBrainz").
 *
 * One static pacer serialises every request of the process; the reply
 * parsers walk the capped body once with jpull.  Parsers are strict about
 * shape (a wrong type anywhere fails the reply with the byte offset) and
 * lenient about content: unknown keys are skipped, null optional fields
 * read as "", an absurd date is kept as invalid with a note.
 */
#include "clients/musicbrainz.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "clients/backoff.h"
#include "clients/http_client.h"
#include "clients/jpull.h"
#include "clients/pacer.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define KEY_MAX 48
#define URL_MAX (SETTING_STR_MAX + 512)
#define TYPES_MAX 200
#define NAME_QUERY_MAX 512

static struct pacer mb_pacer = PACER_INIT(MB_GAP_MS);

struct mb_client {
  struct http_client *http;
  const atomic_bool *cancel;
  long timeout_ms;
  size_t reply_limit;
  int64_t max_wait_ms;
  bool forced; /* past the backoff ladder until its first failure */
};

void mb_user_agent(char *out, size_t n)
{
  char contact[SETTING_STR_MAX];
  settings_str(S_MUSICBRAINZ_CONTACT, contact, sizeof contact);
  http_client_user_agent(out, n, contact);
}

struct mb_client *mb_client_new(const struct mb_client_opts *o)
{
  char ua[SETTING_STR_MAX + 64];
  struct mb_client *c = xcalloc(1, sizeof *c);
  mb_user_agent(ua, sizeof ua);
  c->http = http_client_new(ua);
  c->cancel = o ? o->cancel : NULL;
  c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : MB_TIMEOUT_MS;
  c->reply_limit = o && o->reply_limit ? o->reply_limit : MB_REPLY_MAX;
  c->max_wait_ms = o && o->max_wait_ms ? o->max_wait_ms : MB_MAX_WAIT_MS;
  c->forced = o && o->forced;
  return c;
}

void mb_client_free(struct mb_client *c)
{
  if (!c)
    return;
  http_client_free(c->http);
  free(c);
}

int64_t mb_blocked_until(char *reason, size_t n)
{
  char url[URL_MAX];
  settings_str(S_MUSICBRAINZ_URL, url, sizeof url);
  if (reason && n)
    reason[0] = '\0';
  return url[0] ? http_host_blocked_until(url, reason, n) : 0;
}

void mb_pacer_reset(void) { pacer_reset(&mb_pacer); }

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */
/* ------------------------------------------------------------------ */

enum ss_err mb_mbid_canonical(const char *in, char *out)
{
  static const int groups[] = {8, 4, 4, 4, 12};
  char tmp[MB_ID_LEN + 1];
  const char *s = in;
  size_t o = 0;
  bool nonzero = false;
  out[0] = '\0';
  if (!in)
    return SS_EINVAL;
  for (size_t g = 0; g < 5; g++) {
    for (int i = 0; i < groups[g]; i++, s++) {
      char ch = *s;
      if (ch >= 'A' && ch <= 'F')
        ch = (char)(ch - 'A' + 'a');
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
        return SS_EINVAL;
      nonzero |= ch != '0';
      tmp[o++] = ch;
    }
    if (g < 4 && *s++ != '-')
      return SS_EINVAL;
    if (g < 4)
      tmp[o++] = '-';
  }
  tmp[o] = '\0';
  if (*s || !nonzero)
    return SS_EINVAL;
  memcpy(out, tmp, sizeof tmp);
  return SS_OK;
}

static bool digits(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* The value of n digits already checked by digits(). */
static int digits_value(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static int days_in_month(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/* Printable, capped copy of untrusted text for a message. */
static void shown_text(char *out, size_t n, const char *s)
{
  size_t j = 0;
  for (size_t i = 0; s[i] && j + 1 < n && i < 40; i++)
    out[j++] = (unsigned char)s[i] < 0x20 || s[i] == '"' ? '?' : s[i];
  out[j] = '\0';
}

enum ss_err mb_parse_date(const char *text, struct mb_date *out, char *why,
                          size_t n)
{
  char shown[48];
  memset(out, 0, sizeof *out);
  size_t len = text ? strlen(text) : 0;
  if (len == 0) {
    out->valid = true;
    return SS_OK;
  }
  int y = 0, m = 0, d = 0;
  bool shape = (len == 4 || len == 7 || len == 10) && digits(text, 4) &&
               (len < 7 || (text[4] == '-' && digits(text + 5, 2))) &&
               (len < 10 || (text[7] == '-' && digits(text + 8, 2)));
  if (shape) {
    y = digits_value(text, 4);
    m = len >= 7 ? digits_value(text + 5, 2) : 0;
    d = len >= 10 ? digits_value(text + 8, 2) : 0;
  }
  shown_text(shown, sizeof shown, text);
  if (!shape) {
    snprintf(why, n, "date \"%s\" is not YYYY, YYYY-MM or YYYY-MM-DD", shown);
  } else if (y < 1860 || y > 2100) {
    snprintf(why, n, "date \"%s\" has an absurd year", shown);
  } else if (len >= 7 && (m < 1 || m > 12)) {
    snprintf(why, n, "date \"%s\" has no month %d", shown, m);
  } else if (len >= 10 && (d < 1 || d > days_in_month(y, m))) {
    snprintf(why, n, "date \"%s\" is not a real day", shown);
  } else {
    memcpy(out->text, text, len + 1);
    out->sortable = y * 10000 + m * 100 + d;
    out->valid = true;
    return SS_OK;
  }
  return SS_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Parsers                                                             */
/* ------------------------------------------------------------------ */

/* Checks UTF-8 and blanks control characters; fails the reader on bad
 * UTF-8 (jpull passes raw bytes through). */
static void clean_text(struct jpull *j, char *s)
{
  utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s), pos = 0;
  while (pos < len) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)s + pos,
                                          len - pos, &cp);
    if (r < 0) {
      jpull_fail(j, "invalid UTF-8 in a string");
      s[0] = '\0';
      return;
    }
    if (cp < 0x20 || cp == 0x7f)
      s[pos] = ' ';
    pos += r;
  }
}

/* A string or null ("") into a capped field. */
static void read_text(struct jpull *j, char *out, size_t n)
{
  if (jpull_string(j, out, n, NULL) == SS_OK)
    clean_text(j, out);
  else
    out[0] = '\0';
}

/* An MBID string; fails the reader when it is not one. */
static void read_mbid(struct jpull *j, char *out, const char *what)
{
  char raw[64], msg[96];
  if (jpull_string(j, raw, sizeof raw, NULL) != SS_OK || j->failed) {
    out[0] = '\0';
    return;
  }
  if (mb_mbid_canonical(raw, out) != SS_OK) {
    snprintf(msg, sizeof msg, "%s id is not an MBID", what);
    jpull_fail(j, msg);
  }
}

/* A non-negative integer count (limit: at most this much). */
static void read_count(struct jpull *j, size_t *out)
{
  int64_t v = 0;
  if (jpull_int(j, &v) == SS_OK && v < 0)
    jpull_fail(j, "negative count");
  *out = v > 0 ? (size_t)v : 0;
}

/* ["Compilation", "Live"] -> "Compilation|Live". */
static void read_type_list(struct jpull *j, char *out, size_t n)
{
  char one[MB_SHORT_MAX];
  out[0] = '\0';
  if (jpull_peek(j) == JPULL_NULL) {
    jpull_skip(j);
    return;
  }
  if (!jpull_array(j))
    return;
  while (jpull_next(j)) {
    read_text(j, one, sizeof one);
    size_t len = strlen(out);
    if (one[0] && len + strlen(one) + 2 < n)
      snprintf(out + len, n - len, "%s%s", len ? "|" : "", one);
  }
}

/* {count_key: N, list_key: [item, ...], ...} with other keys skipped:
 * *count set, item() called on each element until one fails. */
static enum ss_err parse_counted(const char *body, size_t len,
                                 const char *count_key, const char *list_key,
                                 size_t *count,
                                 void (*item)(struct jpull *j, void *ctx),
                                 void *ctx, char *why, size_t n)
{
  struct jpull j;
  char key[KEY_MAX], msg[64];
  bool has_count = false, has_list = false;
  jpull_init(&j, body, len);
  if (jpull_object(&j)) {
    while (jpull_next(&j) && jpull_key(&j, key, sizeof key)) {
      if (!strcmp(key, count_key)) {
        read_count(&j, count);
        has_count = true;
      } else if (!strcmp(key, list_key)) {
        has_list = true;
        if (jpull_array(&j))
          while (jpull_next(&j))
            item(&j, ctx);
      } else {
        jpull_skip(&j);
      }
    }
  }
  if (!j.failed && (!has_count || !has_list)) {
    snprintf(msg, sizeof msg, "no %s", has_count ? list_key : count_key);
    jpull_fail(&j, msg);
  }
  return jpull_finish(&j, why, n);
}

static void parse_release_group(struct jpull *j, struct mb_release_group *g,
                                struct mb_release_groups *acc, bool keep)
{
  char key[KEY_MAX], date[64] = "";
  bool has_date = false;
  memset(g, 0, sizeof *g);
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      read_mbid(j, g->id, "release group");
    else if (!strcmp(key, "title"))
      read_text(j, g->title, sizeof g->title);
    else if (!strcmp(key, "primary-type"))
      read_text(j, g->primary_type, sizeof g->primary_type);
    else if (!strcmp(key, "secondary-types"))
      read_type_list(j, g->secondary_types, sizeof g->secondary_types);
    else if (!strcmp(key, "disambiguation"))
      read_text(j, g->disambiguation, sizeof g->disambiguation);
    else if (!strcmp(key, "first-release-date")) {
      read_text(j, date, sizeof date);
      has_date = true;
    } else
      jpull_skip(j);
  }
  if (j->failed)
    return;
  if (!g->id[0] || !g->title[0]) {
    jpull_fail(j, "release group without id or title");
    return;
  }
  g->first_release.valid = true;
  if (has_date) {
    /* After the loop: the title is known for the note. */
    char why[96];
    if (mb_parse_date(date, &g->first_release, why, sizeof why) != SS_OK &&
        keep) {
      acc->bad_dates++;
      if (!acc->note[0])
        snprintf(acc->note, sizeof acc->note, "\"%.80s\": %s", g->title, why);
    }
  }
}

struct page_ctx {
  struct mb_release_groups *acc;
  size_t max_items, items;
};

static void page_item(struct jpull *j, void *arg)
{
  struct page_ctx *p = arg;
  struct mb_release_group g;
  bool keep = p->acc->n < p->max_items;
  parse_release_group(j, &g, p->acc, keep);
  if (j->failed)
    return;
  p->items++;
  if (!keep)
    return;
  if (p->acc->n % 64 == 0)
    p->acc->v = xrealloc(p->acc->v, (p->acc->n + 64) * sizeof *p->acc->v);
  p->acc->v[p->acc->n++] = g;
}

enum ss_err mb_parse_release_group_page(const char *body, size_t len,
                                        struct mb_release_groups *acc,
                                        size_t max_items, size_t *page_items,
                                        char *why, size_t n)
{
  struct page_ctx p = {acc, max_items, 0};
  size_t start = acc->n, bad_dates = acc->bad_dates;
  enum ss_err rc = parse_counted(body, len, "release-group-count",
                                 "release-groups", &acc->total, page_item, &p,
                                 why, n);
  if (rc != SS_OK) { /* nothing of a bad page is kept */
    acc->n = start;
    acc->bad_dates = bad_dates;
  }
  if (page_items)
    *page_items = rc == SS_OK ? p.items : 0;
  return rc;
}

void mb_release_groups_free(struct mb_release_groups *g)
{
  free(g->v);
  memset(g, 0, sizeof *g);
}

/* artist-credit: [{"name", "joinphrase", "artist": {...}}, ...] */
static void read_artist_credit(struct jpull *j, char *out, size_t n)
{
  char key[KEY_MAX], name[MB_TEXT_MAX], join[MB_SHORT_MAX];
  out[0] = '\0';
  if (jpull_peek(j) == JPULL_NULL) {
    jpull_skip(j);
    return;
  }
  if (!jpull_array(j))
    return;
  while (jpull_next(j)) {
    name[0] = join[0] = '\0';
    if (!jpull_object(j))
      return;
    while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
      if (!strcmp(key, "name"))
        read_text(j, name, sizeof name);
      else if (!strcmp(key, "joinphrase"))
        read_text(j, join, sizeof join);
      else
        jpull_skip(j);
    }
    size_t len = strlen(out);
    if (len + strlen(name) + strlen(join) + 1 < n)
      snprintf(out + len, n - len, "%s%s", name, join);
  }
}

struct release_ctx {
  struct jpull j;
  struct mb_release *out;
  size_t dropped; /* tracks beyond MB_TRACKS_MAX */
};

/* recording: {"id", "title", "length"} - fills what the track lacks. */
static void parse_recording(struct jpull *j, struct mb_track *t,
                            char *rec_title, size_t n, int64_t *rec_len)
{
  char key[KEY_MAX];
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      read_mbid(j, t->recording_id, "recording");
    else if (!strcmp(key, "title"))
      read_text(j, rec_title, n);
    else if (!strcmp(key, "length"))
      jpull_int(j, rec_len);
    else
      jpull_skip(j);
  }
}

static void parse_track(struct release_ctx *c)
{
  struct jpull *j = &c->j;
  struct mb_track t = {.length_ms = -1};
  char key[KEY_MAX], rec_title[MB_TEXT_MAX] = "";
  int64_t len = -1, rec_len = -1, pos = 0;
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      read_mbid(j, t.id, "track");
    else if (!strcmp(key, "title"))
      read_text(j, t.title, sizeof t.title);
    else if (!strcmp(key, "number"))
      read_text(j, t.number, sizeof t.number);
    else if (!strcmp(key, "position"))
      jpull_int(j, &pos);
    else if (!strcmp(key, "length"))
      jpull_int(j, &len);
    else if (!strcmp(key, "recording") && jpull_peek(j) != JPULL_NULL)
      parse_recording(j, &t, rec_title, sizeof rec_title, &rec_len);
    else
      jpull_skip(j);
  }
  if (j->failed)
    return;
  if (!t.title[0])
    memcpy(t.title, rec_title, sizeof t.title);
  if (!t.id[0] || !t.title[0]) {
    jpull_fail(j, "track without id or title");
    return;
  }
  t.position = pos > 0 && pos < 100000 ? (int)pos : 0;
  t.length_ms = len >= 0 ? len : rec_len >= 0 ? rec_len : -1;
  struct mb_release *r = c->out;
  if (r->n_tracks >= MB_TRACKS_MAX) {
    c->dropped++;
    return;
  }
  if (r->n_tracks % 32 == 0)
    r->tracks = xrealloc(r->tracks, (r->n_tracks + 32) * sizeof *r->tracks);
  r->tracks[r->n_tracks++] = t;
}

static void parse_medium(struct release_ctx *c, int index)
{
  struct jpull *j = &c->j;
  char key[KEY_MAX];
  int64_t pos = 0;
  size_t first = c->out->n_tracks;
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "position"))
      jpull_int(j, &pos);
    else if (!strcmp(key, "tracks") && jpull_peek(j) != JPULL_NULL) {
      if (jpull_array(j))
        while (jpull_next(j))
          parse_track(c);
    } else
      jpull_skip(j);
  }
  int disc = pos > 0 && pos < 1000 ? (int)pos : index;
  for (size_t i = first; i < c->out->n_tracks; i++)
    c->out->tracks[i].disc = disc;
  if (disc > c->out->discs)
    c->out->discs = disc;
}

static void parse_release_group_ref(struct jpull *j, char *id)
{
  char key[KEY_MAX];
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      read_mbid(j, id, "release group");
    else
      jpull_skip(j);
  }
}

enum ss_err mb_parse_release(const char *body, size_t len,
                             struct mb_release *out, char *why, size_t n)
{
  struct release_ctx *c = xcalloc(1, sizeof *c);
  char key[KEY_MAX], date[64] = "";
  memset(out, 0, sizeof *out);
  c->out = out;
  struct jpull *j = &c->j;
  jpull_init(j, body, len);
  int media = 0;
  if (jpull_object(j)) {
    while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
      if (!strcmp(key, "id"))
        read_mbid(j, out->id, "release");
      else if (!strcmp(key, "title"))
        read_text(j, out->title, sizeof out->title);
      else if (!strcmp(key, "status"))
        read_text(j, out->status, sizeof out->status);
      else if (!strcmp(key, "country"))
        read_text(j, out->country, sizeof out->country);
      else if (!strcmp(key, "date"))
        read_text(j, date, sizeof date);
      else if (!strcmp(key, "artist-credit"))
        read_artist_credit(j, out->artist_credit, sizeof out->artist_credit);
      else if (!strcmp(key, "release-group") && jpull_peek(j) != JPULL_NULL)
        parse_release_group_ref(j, out->release_group_id);
      else if (!strcmp(key, "media") && jpull_peek(j) != JPULL_NULL) {
        if (jpull_array(j))
          while (jpull_next(j))
            parse_medium(c, ++media);
      } else
        jpull_skip(j);
    }
  }
  if (!j->failed && (!out->id[0] || !out->title[0]))
    jpull_fail(j, "release without id or title");
  enum ss_err rc = jpull_finish(j, why, n);
  if (rc == SS_OK) {
    char date_why[96];
    if (mb_parse_date(date, &out->date, date_why, sizeof date_why) != SS_OK)
      snprintf(out->note, sizeof out->note, "%s", date_why);
    else if (c->dropped)
      snprintf(out->note, sizeof out->note,
               "only the first %d tracks were read (%zu more)", MB_TRACKS_MAX,
               c->dropped);
  }
  free(c);
  if (rc != SS_OK)
    mb_release_free(out);
  return rc;
}

void mb_release_free(struct mb_release *r)
{
  free(r->tracks);
  memset(r, 0, sizeof *r);
}

static void parse_artist_hit(struct jpull *j, struct mb_artist_hit *a)
{
  char key[KEY_MAX], text[16];
  memset(a, 0, sizeof *a);
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      read_mbid(j, a->id, "artist");
    else if (!strcmp(key, "name"))
      read_text(j, a->name, sizeof a->name);
    else if (!strcmp(key, "sort-name"))
      read_text(j, a->sort_name, sizeof a->sort_name);
    else if (!strcmp(key, "type"))
      read_text(j, a->type, sizeof a->type);
    else if (!strcmp(key, "country"))
      read_text(j, a->country, sizeof a->country);
    else if (!strcmp(key, "disambiguation"))
      read_text(j, a->disambiguation, sizeof a->disambiguation);
    else if (!strcmp(key, "score")) {
      int64_t v = 0;
      if (jpull_peek(j) == JPULL_STRING) { /* older replies: "100" */
        read_text(j, text, sizeof text);
        size_t tl = strlen(text);
        v = tl > 0 && tl < 4 && digits(text, tl) ? digits_value(text, tl) : -1;
      } else {
        jpull_int(j, &v);
      }
      if (!j->failed && (v < 0 || v > 100))
        jpull_fail(j, "score outside 0..100");
      a->score = (int)v;
    } else
      jpull_skip(j);
  }
  if (!j->failed && (!a->id[0] || !a->name[0]))
    jpull_fail(j, "artist without id or name");
}

static int by_score(const void *a, const void *b)
{
  const struct mb_artist_hit *x = a, *y = b;
  return (y->score > x->score) - (y->score < x->score);
}

struct hits_ctx {
  struct mb_artist_hits *out;
  size_t max_items;
};

static void hit_item(struct jpull *j, void *arg)
{
  struct hits_ctx *h = arg;
  struct mb_artist_hit a;
  parse_artist_hit(j, &a);
  if (j->failed || h->out->n >= h->max_items)
    return;
  if (h->out->n % 16 == 0)
    h->out->v = xrealloc(h->out->v, (h->out->n + 16) * sizeof *h->out->v);
  h->out->v[h->out->n++] = a;
}

enum ss_err mb_parse_artist_search(const char *body, size_t len,
                                   size_t max_items,
                                   struct mb_artist_hits *out, char *why,
                                   size_t n)
{
  struct hits_ctx h = {out, max_items};
  memset(out, 0, sizeof *out);
  enum ss_err rc = parse_counted(body, len, "count", "artists", &out->total,
                                 hit_item, &h, why, n);
  if (rc != SS_OK) {
    mb_artist_hits_free(out);
    return rc;
  }
  /* qsort is not stable; ties keep no particular order, which is fine
   * for a best-first list. */
  if (out->n > 1)
    qsort(out->v, out->n, sizeof *out->v, by_score);
  return SS_OK;
}

void mb_artist_hits_free(struct mb_artist_hits *h)
{
  free(h->v);
  memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static void set_err(struct mb_err *e, enum mb_fail kind, long status,
                    const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void set_err(struct mb_err *e, enum mb_fail kind, long status,
                    const char *fmt, ...)
{
  va_list ap;
  e->kind = kind;
  e->status = status;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
}

static enum ss_err err_code(enum mb_fail kind)
{
  switch (kind) {
  case MB_OK: return SS_OK;
  case MB_NOT_FOUND: return SS_ENOTFOUND;
  case MB_RATE_LIMITED: return SS_EBUSY;
  case MB_UNAVAILABLE: return SS_ENET;
  case MB_REFUSED: return SS_EINVAL;
  case MB_MALFORMED: return SS_EPROTO;
  case MB_NOT_CONFIGURED: return SS_ESTATE;
  default: return SS_ECANCELED;
  }
}

/* {"error": "..."} of an error reply, printable and short; "" if none. */
static void error_text(const struct buf *body, char *out, size_t n)
{
  struct jpull j;
  char key[KEY_MAX], text[128] = "";
  out[0] = '\0';
  jpull_init(&j, buf_cstr(body), body->len);
  if (jpull_peek(&j) != JPULL_OBJECT || !jpull_object(&j))
    return;
  while (jpull_next(&j) && jpull_key(&j, key, sizeof key)) {
    if (!strcmp(key, "error") && jpull_peek(&j) == JPULL_STRING)
      read_text(&j, text, sizeof text);
    else
      jpull_skip(&j);
  }
  if (!j.failed)
    shown_text(out, n < 44 ? n : 44, text);
}

static int64_t retry_after_s(const char *header, int attempt)
{
  char *end = NULL;
  long secs = strtol(header, &end, 10);
  if (!header[0] || !end || *end || secs < 0)
    secs = 1;
  if (secs > MB_RETRY_AFTER_MAX_S)
    secs = MB_RETRY_AFTER_MAX_S;
  if (secs < attempt) /* at least 1 s, growing with each retry */
    secs = attempt;
  return secs;
}

/* Sorts one finished exchange into err; true when it was a 503 that may
 * be retried. */
static bool classify(enum ss_err rc, const struct http_reply *r,
                     const char *url, const char *what, int attempt,
                     struct mb_err *err)
{
  char text[48];
  if (rc == SS_EBUSY) { /* blocked since our turn came: wait again */
    set_err(err, MB_RATE_LIMITED, 0, "MusicBrainz %s", r->error);
    err->until_ms = r->blocked_until_ms;
    return attempt < MB_ATTEMPTS;
  } else if (rc == SS_ECANCELED) {
    set_err(err, MB_CANCELED, 0, "canceled");
  } else if (rc == SS_ETOOBIG) {
    set_err(err, MB_MALFORMED, r->status,
            "MusicBrainz reply for %s larger than %zu KiB", what,
            r->body.limit / 1024);
  } else if (rc != SS_OK) {
    set_err(err, MB_UNAVAILABLE, 0, "MusicBrainz unreachable (%s: %s)", what,
            r->error);
  } else if (r->status == 503) {
    int64_t secs = retry_after_s(r->retry_after, attempt);
    error_text(&r->body, text, sizeof text);
    /* http_client blocked the host for a Retry-After of 1 s or more; this
     * adds our own minimum (a busy 503 says 0) and the growing backoff. */
    http_host_block(url, clock_wall_ms() + secs * 1000,
                    text[0] ? text : "MusicBrainz answered 503");
    set_err(err, MB_RATE_LIMITED, 503,
            "MusicBrainz is throttling us (503%s%s); paused for %lld s",
            text[0] ? ": " : "", text, (long long)secs);
    err->until_ms = clock_wall_ms() + secs * 1000;
    log_warn("musicbrainz", "HTTP 503 on %s: paused for %lld s", what,
             (long long)secs);
    return attempt < MB_ATTEMPTS;
  } else if (r->status == 404) {
    set_err(err, MB_NOT_FOUND, 404, "MusicBrainz has no %s", what);
  } else if (r->status == 403) {
    set_err(err, MB_REFUSED, 403,
            "MusicBrainz refused our User-Agent (403); set "
            "musicbrainz.contact to an e-mail address or URL");
  } else if (r->status >= 500) {
    set_err(err, MB_UNAVAILABLE, r->status,
            "MusicBrainz answered HTTP %ld on %s", r->status, what);
  } else if (r->status < 200 || r->status >= 300) {
    error_text(&r->body, text, sizeof text);
    set_err(err, MB_REFUSED, r->status, "MusicBrainz refused %s: HTTP %ld%s%s",
            what, r->status, text[0] ? " " : "", text);
  } else {
    err->kind = MB_OK;
    err->status = r->status;
  }
  return false;
}

/* After a request that did not succeed: a MusicBrainz that is down or
 * throttling us (5xx, no answer, 503 after every retry) climbs its ladder
 * (clients/backoff.h), any other answer steps it back to zero.  rc is the
 * last attempt's; sent tells whether any request went out. */
static void ladder_outcome(struct mb_client *c, enum ss_err rc, bool sent,
                           const struct mb_err *err)
{
  if (!sent || err->kind == MB_CANCELED)
    return;
  if (err->kind != MB_RATE_LIMITED && err->kind != MB_UNAVAILABLE) {
    backoff_succeeded(SVC_MUSICBRAINZ);
    return;
  }
  enum ss_reason code = err->kind == MB_RATE_LIMITED ? SS_R_RATE_LIMITED
                        : rc == SS_ETIMEDOUT         ? SS_R_TIMEOUT
                                                     : SS_R_CONNECTION;
  c->forced = false;
  backoff_failed(SVC_MUSICBRAINZ, clock_wall_ms(), err->until_ms, code,
                 err->msg);
}

/* GETs base + path_query through the pacer; on SS_OK r holds a 2xx body
 * (the caller frees it); otherwise r is already freed.  While MusicBrainz
 * backs off nothing is sent (err.deferred) unless the client is forced. */
static enum ss_err mb_request(struct mb_client *c, const char *path_query,
                              const char *what, struct http_reply *r,
                              struct mb_err *err)
{
  char url[URL_MAX], note[BACKOFF_NOTE_MAX];
  size_t bl = settings_str(S_MUSICBRAINZ_URL, url, sizeof url);
  while (bl && url[bl - 1] == '/')
    url[--bl] = '\0';
  if (!bl) {
    set_err(err, MB_NOT_CONFIGURED, 0, "musicbrainz.url is not set");
    return SS_ESTATE;
  }
  if (!c->forced &&
      backoff_blocked(SVC_MUSICBRAINZ, clock_wall_ms(), note, sizeof note)) {
    struct backoff_state bo;
    backoff_get(SVC_MUSICBRAINZ, &bo);
    bool limited = bo.code == SS_R_RATE_LIMITED;
    set_err(err, limited ? MB_RATE_LIMITED : MB_UNAVAILABLE, 0, "%s", note);
    err->until_ms = bo.until_ms;
    err->deferred = true;
    return limited ? SS_EBUSY : SS_ENET; /* err_code() of those */
  }
  snprintf(url + bl, sizeof url - bl, "%s", path_query);
  const char *const headers[] = {"Accept: application/json", NULL};
  bool sent = false;
  for (int attempt = 1;; attempt++) {
    int64_t wait = 0;
    enum ss_err rc = pacer_acquire(&mb_pacer, url, c->cancel, c->max_wait_ms,
                                   &wait);
    if (rc == SS_ECANCELED) {
      set_err(err, MB_CANCELED, 0, "canceled");
      return SS_ECANCELED;
    }
    if (rc == SS_EBUSY) {
      char reason[160];
      http_host_blocked_until(url, reason, sizeof reason);
      set_err(err, MB_RATE_LIMITED, 0,
              "MusicBrainz asked us to wait %lld s%s%s%s",
              (long long)((wait + 999) / 1000), reason[0] ? " (" : "", reason,
              reason[0] ? ")" : "");
      err->until_ms = clock_wall_ms() + wait;
      ladder_outcome(c, rc, sent, err); /* after a 503: too long a wait */
      return SS_EBUSY;
    }
    struct http_call call = {.url = url,
                             .headers = headers,
                             .timeout_ms = c->timeout_ms,
                             .reply_limit = c->reply_limit,
                             .cancel = c->cancel};
    rc = http_client_call(c->http, &call, r);
    pacer_release(&mb_pacer);
    sent |= rc != SS_EBUSY;
    memset(err, 0, sizeof *err);
    bool retry = classify(rc, r, url, what, attempt, err);
    if (err->kind == MB_OK) {
      backoff_succeeded(SVC_MUSICBRAINZ);
      return SS_OK;
    }
    http_reply_free(r);
    if (!retry) {
      ladder_outcome(c, rc, sent, err);
      return err_code(err->kind);
    }
  }
}

/* Runs a parser over a 2xx reply; a parse failure becomes MB_MALFORMED. */
static enum ss_err parsed(enum ss_err rc, const char *what, const char *why,
                          struct mb_err *err)
{
  if (rc == SS_OK)
    return SS_OK;
  set_err(err, MB_MALFORMED, 200, "MusicBrainz reply for %s: %s", what, why);
  return SS_EPROTO;
}

static bool types_ok(const char *types)
{
  size_t n = strlen(types);
  if (n == 0 || n >= TYPES_MAX)
    return false;
  return strspn(types, "abcdefghijklmnopqrstuvwxyz -/|") == n;
}

enum ss_err mb_artist_release_groups(struct mb_client *c,
                                     const char *artist_mbid,
                                     const char *types, size_t max_items,
                                     struct mb_release_groups *out,
                                     struct mb_err *err)
{
  char id[MB_ID_LEN + 1], what[96], path[512], why[160];
  char *types_enc = NULL;
  memset(out, 0, sizeof *out);
  memset(err, 0, sizeof *err);
  if (mb_mbid_canonical(artist_mbid, id) != SS_OK) {
    set_err(err, MB_REFUSED, 0, "artist id is not an MBID");
    return SS_EINVAL;
  }
  if (types && !types_ok(types)) {
    set_err(err, MB_REFUSED, 0,
            "release types must be words like "
            "\"album|ep\"");
    return SS_EINVAL;
  }
  if (types)
    types_enc = curl_easy_escape(NULL, types, 0);
  if (max_items == 0 || max_items > MB_RELEASE_GROUPS_MAX)
    max_items = MB_RELEASE_GROUPS_MAX;
  snprintf(what, sizeof what, "release groups of artist %s", id);
  size_t offset = 0;
  enum ss_err rc = SS_OK;
  /* Each page advances by at least one item, so this ends; the bound
   * also stops a service that keeps repeating a full page. */
  for (size_t pages = 0; pages <= max_items / MB_BROWSE_LIMIT + 1; pages++) {
    struct http_reply r;
    size_t items = 0;
    snprintf(path, sizeof path,
             "/release-group?artist=%s%s%s&limit=%d&offset=%zu&fmt=json", id,
             types_enc ? "&type=" : "", types_enc ? types_enc : "",
             MB_BROWSE_LIMIT, offset);
    rc = mb_request(c, path, what, &r, err);
    if (rc != SS_OK)
      break;
    rc = parsed(mb_parse_release_group_page(buf_cstr(&r.body), r.body.len, out,
                                            max_items, &items, why,
                                            sizeof why),
                what, why, err);
    http_reply_free(&r);
    if (rc != SS_OK || items == 0)
      break;
    offset += items;
    if (offset >= out->total || out->n >= max_items)
      break;
  }
  curl_free(types_enc);
  if (rc != SS_OK) {
    mb_release_groups_free(out);
    return rc;
  }
  out->truncated = out->total > out->n && out->n >= max_items;
  if (out->truncated)
    log_info("musicbrainz", "artist %s has %zu release groups; kept %zu", id,
             out->total, out->n);
  return SS_OK;
}

enum ss_err mb_release_lookup(struct mb_client *c, const char *release_mbid,
                              struct mb_release *out, struct mb_err *err)
{
  char id[MB_ID_LEN + 1], what[64], path[160], why[160];
  memset(out, 0, sizeof *out);
  memset(err, 0, sizeof *err);
  if (mb_mbid_canonical(release_mbid, id) != SS_OK) {
    set_err(err, MB_REFUSED, 0, "release id is not an MBID");
    return SS_EINVAL;
  }
  snprintf(what, sizeof what, "release %s", id);
  snprintf(path, sizeof path,
           "/release/%s?inc=recordings+artist-credits+release-groups"
           "&fmt=json",
           id);
  struct http_reply r;
  enum ss_err rc = mb_request(c, path, what, &r, err);
  if (rc != SS_OK)
    return rc;
  rc = parsed(mb_parse_release(buf_cstr(&r.body), r.body.len, out, why,
                               sizeof why),
              what, why, err);
  http_reply_free(&r);
  return rc;
}

/* artist:"<name>" with the phrase's own specials escaped (Lucene). */
static enum ss_err artist_query(const char *name, char *out, size_t n)
{
  size_t o = 0;
  int w = snprintf(out, n, "artist:\"");
  o = (size_t)w;
  for (const char *p = name; *p; p++) {
    if (o + 4 >= n)
      return SS_ETOOBIG;
    if (*p == '"' || *p == '\\')
      out[o++] = '\\';
    out[o++] = *p;
  }
  if (o + 2 >= n)
    return SS_ETOOBIG;
  out[o++] = '"';
  out[o] = '\0';
  return SS_OK;
}

enum ss_err mb_artist_search(struct mb_client *c, const char *name,
                             size_t limit, struct mb_artist_hits *out,
                             struct mb_err *err)
{
  char query[NAME_QUERY_MAX], what[64], path[NAME_QUERY_MAX * 3 + 64];
  char why[160];
  memset(out, 0, sizeof *out);
  memset(err, 0, sizeof *err);
  if (limit == 0 || limit > MB_SEARCH_MAX)
    limit = MB_SEARCH_MAX;
  size_t len = name ? strlen(name) : 0;
  if (len == 0 || len > NAME_QUERY_MAX / 2 ||
      utf8proc_iterate((const utf8proc_uint8_t *)name, -1, &(int32_t){0}) <
        0 ||
      artist_query(name, query, sizeof query) != SS_OK) {
    set_err(err, MB_REFUSED, 0, "artist name is empty or too long");
    return SS_EINVAL;
  }
  char *enc = curl_easy_escape(NULL, query, 0);
  snprintf(what, sizeof what, "the artist search");
  snprintf(path, sizeof path, "/artist?query=%s&limit=%zu&fmt=json", enc,
           limit);
  curl_free(enc);
  struct http_reply r;
  enum ss_err rc = mb_request(c, path, what, &r, err);
  if (rc != SS_OK)
    return rc;
  rc = parsed(mb_parse_artist_search(buf_cstr(&r.body), r.body.len, limit, out,
                                     why, sizeof why),
              what, why, err);
  http_reply_free(&r);
  return rc;
}
