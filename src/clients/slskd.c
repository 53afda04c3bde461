/*
 * slskd.c - slskd HTTP API v0 client and reply parsers (see slskd.h).
 *
 * What: thin calls over http_client (one curl handle per struct slskd) and
 * parsers built on jpull, so the 10 000-transfer list is read in one pass
 * without a JSON tree.  Transfer strings live in an arena of large blocks
 * (one allocation per ~64 KiB instead of three per transfer).
 * Threading: a client belongs to one thread at a time; parsers are pure.
 * Ownership: parse results are owned by the caller and released with the
 * matching *_free(); the client copies its URL and key.
 */
#include "clients/slskd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "clients/http_client.h"
#include "clients/jpull.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/xalloc.h"

#define ARENA_BLOCK (64 * 1024)
#define KEY_MAX 40
#define MSG_MAX 160

/* ------------------------------------------------------------------ */
/* Flags                                                               */
/* ------------------------------------------------------------------ */

struct flag_name {
  const char *name;
  unsigned bit;
};

static const struct flag_name transfer_names[] =
  {{"None", 0},
   {"Requested", SLSKD_TS_REQUESTED},
   {"Queued", SLSKD_TS_QUEUED},
   {"Initializing", SLSKD_TS_INITIALIZING},
   {"InProgress", SLSKD_TS_IN_PROGRESS},
   {"Completed", SLSKD_TS_COMPLETED},
   {"Succeeded", SLSKD_TS_SUCCEEDED},
   {"Cancelled", SLSKD_TS_CANCELLED},
   {"TimedOut", SLSKD_TS_TIMED_OUT},
   {"Errored", SLSKD_TS_ERRORED},
   {"Rejected", SLSKD_TS_REJECTED},
   {"Aborted", SLSKD_TS_ABORTED},
   {"Locally", SLSKD_TS_LOCALLY},
   {"Remotely", SLSKD_TS_REMOTELY},
   {NULL, 0}};

static const struct flag_name search_names[] =
  {{"None", 0},
   {"Requested", SLSKD_SS_REQUESTED},
   {"InProgress", SLSKD_SS_IN_PROGRESS},
   {"Completed", SLSKD_SS_COMPLETED},
   {"Cancelled", SLSKD_SS_CANCELLED},
   {"TimedOut", SLSKD_SS_TIMED_OUT},
   {"ResponseLimitReached", SLSKD_SS_RESPONSE_LIMIT},
   {"FileLimitReached", SLSKD_SS_FILE_LIMIT},
   {"Errored", SLSKD_SS_ERRORED},
   {"Queued", SLSKD_SS_QUEUED},
   {NULL, 0}};

static unsigned flag_token(const char *p, size_t n,
                           const struct flag_name *names)
{
  if (n && isdigit((unsigned char)p[0])) {
    char num[16];
    if (n >= sizeof num)
      return 0;
    memcpy(num, p, n);
    num[n] = '\0';
    return (unsigned)strtoul(num, NULL, 10);
  }
  for (const struct flag_name *f = names; f->name; f++)
    if (strlen(f->name) == n && !strncasecmp(f->name, p, n))
      return f->bit;
  return 0;
}

static unsigned parse_flags(const char *s, const struct flag_name *names)
{
  unsigned bits = 0;
  while (s && *s) {
    while (*s == ' ' || *s == ',' || *s == '|')
      s++;
    size_t n = strcspn(s, ",|");
    size_t t = n;
    while (t && s[t - 1] == ' ')
      t--;
    bits |= flag_token(s, t, names);
    s += n;
  }
  return bits;
}

unsigned slskd_transfer_flags(const char *text)
{
  return parse_flags(text, transfer_names);
}

unsigned slskd_search_flags(const char *text)
{
  return parse_flags(text, search_names);
}

#define TS_FAILURE                                                            \
  (SLSKD_TS_CANCELLED | SLSKD_TS_TIMED_OUT | SLSKD_TS_ERRORED |               \
   SLSKD_TS_REJECTED | SLSKD_TS_ABORTED)

enum slskd_phase slskd_phase_of(unsigned flags)
{
  if (flags & TS_FAILURE)
    return SLSKD_PHASE_FAILED;
  if (flags & SLSKD_TS_COMPLETED)
    return flags & SLSKD_TS_SUCCEEDED ? SLSKD_PHASE_SUCCEEDED
                                      : SLSKD_PHASE_FAILED;
  if (flags & (SLSKD_TS_INITIALIZING | SLSKD_TS_IN_PROGRESS))
    return SLSKD_PHASE_ACTIVE;
  return SLSKD_PHASE_QUEUED;
}

const char *slskd_failure_text(unsigned flags)
{
  if (flags & SLSKD_TS_REJECTED)
    return "rejected by the peer";
  if (flags & SLSKD_TS_TIMED_OUT)
    return "timed out";
  if (flags & SLSKD_TS_ERRORED)
    return "transfer error";
  if (flags & SLSKD_TS_ABORTED)
    return "aborted";
  if (flags & SLSKD_TS_CANCELLED)
    return "cancelled";
  return "did not succeed";
}

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

static bool digits(const char *s, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* "Z", "+HH:MM", "-HH:MM", "+HHMM" or nothing -> offset in minutes. */
static enum ss_err parse_offset(const char *p, int *minutes)
{
  int h, m;
  *minutes = 0;
  if (!*p || ((*p == 'Z' || *p == 'z') && !p[1]))
    return SS_OK;
  if ((*p != '+' && *p != '-') || !digits(p + 1, 2, &h))
    return SS_EINVAL;
  const char *q = p + 3;
  if (*q == ':')
    q++;
  if (!digits(q, 2, &m) || q[2] || h > 23 || m > 59)
    return SS_EINVAL;
  *minutes = (*p == '-' ? -1 : 1) * (h * 60 + m);
  return SS_OK;
}

enum ss_err slskd_parse_time(const char *s, int64_t *ms)
{
  int y, mo, d, h, mi, se, frac = 0;
  if (!s || strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' ||
      !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
      !digits(s + 17, 2, &se))
    return SS_EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return SS_EINVAL;
  const char *p = s + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; isdigit((unsigned char)*p); p++, n++)
      if (n < 3)
        frac = frac * 10 + (*p - '0');
    if (!n)
      return SS_EINVAL;
    for (; n < 3; n++)
      frac *= 10;
  }
  int off;
  if (parse_offset(p, &off))
    return SS_EINVAL;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
                 (int64_t)off * 60;
  *ms = secs * 1000 + frac;
  return SS_OK;
}

enum ss_err slskd_parse_timespan(const char *s, int64_t *ms)
{
  if (!s)
    return SS_EINVAL;
  bool neg = *s == '-';
  const char *p = s + neg;
  int64_t days = 0, v = 0;
  int n = 0;
  while (isdigit((unsigned char)*p) && n < 9) {
    v = v * 10 + (*p++ - '0');
    n++;
  }
  if (!n)
    return SS_EINVAL;
  if (*p == '.') { /* days first */
    days = v;
    p++;
    int h;
    if (!digits(p, 2, &h))
      return SS_EINVAL;
    v = h;
    p += 2;
  }
  int m, sec, frac = 0;
  if (v > 23 || p[0] != ':' || !digits(p + 1, 2, &m) || p[3] != ':' ||
      !digits(p + 4, 2, &sec) || m > 59 || sec > 59)
    return SS_EINVAL;
  p += 6;
  if (*p == '.') {
    int k = 0;
    for (p++; isdigit((unsigned char)*p); p++, k++)
      if (k < 3)
        frac = frac * 10 + (*p - '0');
    if (!k || k > 7)
      return SS_EINVAL;
    for (; k < 3; k++)
      frac *= 10;
  }
  if (*p)
    return SS_EINVAL;
  int64_t total = ((days * 24 + v) * 3600 + m * 60 + sec) * 1000 + frac;
  *ms = neg ? -total : total;
  return SS_OK;
}

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

struct slskd_arena {
  struct slskd_arena *next;
  size_t used, cap;
  char data[];
};

static const char *arena_dup(struct slskd_arena **a, const char *s, size_t n)
{
  if (!*a || (*a)->cap - (*a)->used < n + 1) {
    size_t cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;
    struct slskd_arena *b = xmalloc(sizeof *b + cap);
    b->next = *a;
    b->used = 0;
    b->cap = cap;
    *a = b;
  }
  char *out = (*a)->data + (*a)->used;
  memcpy(out, s, n);
  out[n] = '\0';
  (*a)->used += n + 1;
  return out;
}

static void arena_free(struct slskd_arena *a)
{
  while (a) {
    struct slskd_arena *next = a->next;
    free(a);
    a = next;
  }
}

/* ------------------------------------------------------------------ */
/* Transfer list                                                       */
/* ------------------------------------------------------------------ */

struct list_ctx {
  struct jpull j;
  struct slskd_transfers *out;
  char tmp[SLSKD_STR_MAX];
};

/* Reads a string value into the arena; NULL when null. */
static const char *arena_string(struct list_ctx *c)
{
  size_t n;
  enum ss_err rc = jpull_string(&c->j, c->tmp, sizeof c->tmp, &n);
  return rc == SS_OK ? arena_dup(&c->out->arena, c->tmp, n) : NULL;
}

static void read_time(struct list_ctx *c, int64_t *ms)
{
  if (jpull_string(&c->j, c->tmp, sizeof c->tmp, NULL) == SS_OK &&
      slskd_parse_time(c->tmp, ms) != SS_OK)
    jpull_fail(&c->j, "bad timestamp");
}

static void read_span(struct list_ctx *c, int64_t *ms)
{
  if (jpull_string(&c->j, c->tmp, sizeof c->tmp, NULL) == SS_OK &&
      slskd_parse_timespan(c->tmp, ms) != SS_OK)
    jpull_fail(&c->j, "bad TimeSpan");
}

/* One transfer field; false when the key is not one we keep. */
static bool transfer_field(struct list_ctx *c, const char *key,
                           struct slskd_transfer *t)
{
  struct jpull *j = &c->j;
  if (!strcmp(key, "id")) {
    if (jpull_string(j, t->id, sizeof t->id, NULL) == SS_OK && j->truncated)
      jpull_fail(j, "transfer id too long");
  } else if (!strcmp(key, "username")) {
    t->username = arena_string(c);
  } else if (!strcmp(key, "filename")) {
    t->filename = arena_string(c);
  } else if (!strcmp(key, "state")) {
    t->state_text = arena_string(c);
    t->state = slskd_transfer_flags(t->state_text);
  } else if (!strcmp(key, "exception")) {
    t->exception = arena_string(c);
  } else if (!strcmp(key, "size")) {
    jpull_int(j, &t->size);
  } else if (!strcmp(key, "bytesTransferred")) {
    jpull_int(j, &t->bytes_transferred);
  } else if (!strcmp(key, "averageSpeed")) {
    jpull_double(j, &t->average_speed);
  } else if (!strcmp(key, "percentComplete")) {
    jpull_double(j, &t->percent);
  } else if (!strcmp(key, "placeInQueue")) {
    jpull_int(j, &t->place_in_queue);
  } else if (!strcmp(key, "requestedAt")) {
    read_time(c, &t->requested_ms);
  } else if (!strcmp(key, "startedAt")) {
    read_time(c, &t->started_ms);
  } else if (!strcmp(key, "endedAt")) {
    read_time(c, &t->ended_ms);
  } else if (!strcmp(key, "elapsedTime")) {
    read_span(c, &t->elapsed_ms);
  } else if (!strcmp(key, "remainingTime")) {
    read_span(c, &t->remaining_ms);
  } else if (!strcmp(key, "removed")) {
    jpull_bool(j, &t->removed);
  } else {
    return false;
  }
  return true;
}

static void push_transfer(struct slskd_transfers *out,
                          const struct slskd_transfer *t)
{
  if (out->n == out->cap) {
    out->cap = out->cap ? out->cap * 2 : 256;
    out->v = xrealloc(out->v, out->cap * sizeof *out->v);
  }
  out->v[out->n++] = *t;
}

static void parse_transfer(struct list_ctx *c, const char *group_user)
{
  struct jpull *j = &c->j;
  struct slskd_transfer t = {.elapsed_ms = -1,
                             .remaining_ms = -1,
                             .place_in_queue = -1};
  char key[KEY_MAX];
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key))
    if (!transfer_field(c, key, &t))
      jpull_skip(j);
  if (j->failed)
    return;
  if (!t.id[0] || !t.filename || !t.state_text) {
    jpull_fail(j, "transfer without id, filename or state");
    return;
  }
  if (!t.username)
    t.username = group_user; /* NULL: the group may name it later */
  push_transfer(c->out, &t);
}

static void parse_directory(struct list_ctx *c, const char *user)
{
  struct jpull *j = &c->j;
  char key[KEY_MAX];
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (strcmp(key, "files") || jpull_peek(j) == JPULL_NULL) {
      jpull_skip(j);
      continue;
    }
    if (jpull_array(j))
      while (jpull_next(j))
        parse_transfer(c, user);
  }
}

/* {username, directories: [...]}; the username may follow the list, so
 * transfers without their own fall back to it afterwards. */
static void parse_group(struct list_ctx *c)
{
  struct jpull *j = &c->j;
  char key[KEY_MAX];
  const char *user = NULL;
  size_t first = c->out->n;
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "username")) {
      user = arena_string(c);
    } else if (!strcmp(key, "directories") && jpull_peek(j) != JPULL_NULL) {
      if (jpull_array(j))
        while (jpull_next(j))
          parse_directory(c, user);
    } else {
      jpull_skip(j);
    }
  }
  for (size_t i = first; user && i < c->out->n; i++)
    if (!c->out->v[i].username)
      c->out->v[i].username = user;
}

void slskd_transfers_free(struct slskd_transfers *t)
{
  free(t->v);
  arena_free(t->arena);
  memset(t, 0, sizeof *t);
}

enum ss_err slskd_transfers_parse(const char *body, size_t len,
                                  struct slskd_transfers *out, char *err,
                                  size_t errlen)
{
  struct list_ctx *c = xmalloc(sizeof *c);
  memset(out, 0, sizeof *out);
  jpull_init(&c->j, body, len);
  c->out = out;
  if (jpull_array(&c->j))
    while (jpull_next(&c->j))
      parse_group(c);
  enum ss_err rc = jpull_finish(&c->j, err, errlen);
  for (size_t i = 0; rc == SS_OK && i < out->n; i++)
    if (!out->v[i].username) {
      snprintf(err, errlen, "malformed reply: transfer without a username");
      rc = SS_EPROTO;
    }
  free(c);
  if (rc)
    slskd_transfers_free(out);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Search responses                                                    */
/* ------------------------------------------------------------------ */

/* Lower-case extension of the file name part of a remote path. */
static void ext_of(const char *path, char *out, size_t n)
{
  const char *base = path;
  for (const char *p = path; *p; p++)
    if (*p == '\\' || *p == '/')
      base = p + 1;
  const char *dot = strrchr(base, '.');
  out[0] = '\0';
  if (!dot || !dot[1] || strlen(dot + 1) >= n)
    return;
  size_t i = 0;
  for (const char *p = dot + 1; *p; p++) {
    if (!isalnum((unsigned char)*p)) {
      out[0] = '\0';
      return;
    }
    out[i++] = (char)tolower((unsigned char)*p);
  }
  out[i] = '\0';
}

static int int_field(struct jpull *j)
{
  int64_t v = 0;
  if (jpull_int(j, &v) != SS_OK || v < 0 || v > 1000000000)
    return 0;
  return (int)v;
}

static void parse_search_file(struct jpull *j, struct slskd_file *f, char *tmp,
                              size_t tmpn)
{
  char key[KEY_MAX], ext[16] = "";
  memset(f, 0, sizeof *f);
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "filename")) {
      if (jpull_string(j, tmp, tmpn, NULL) == SS_OK && !f->filename)
        f->filename = xstrdup(tmp);
    } else if (!strcmp(key, "extension")) {
      jpull_string(j, ext, sizeof ext, NULL);
    } else if (!strcmp(key, "size")) {
      jpull_int(j, &f->size);
    } else if (!strcmp(key, "bitRate")) {
      f->bitrate = int_field(j);
    } else if (!strcmp(key, "bitDepth")) {
      f->bit_depth = int_field(j);
    } else if (!strcmp(key, "sampleRate")) {
      f->sample_rate = int_field(j);
    } else if (!strcmp(key, "length")) {
      f->length = int_field(j);
    } else if (!strcmp(key, "isVariableBitRate")) {
      jpull_bool(j, &f->vbr);
    } else {
      jpull_skip(j);
    }
  }
  if (f->filename)
    ext_of(f->filename, f->ext, sizeof f->ext);
  if (!f->ext[0]) /* the peer's own field is often "" */
    for (size_t i = 0; ext[i] && i + 1 < sizeof f->ext; i++)
      f->ext[i] = (char)tolower((unsigned char)ext[i]);
}

static void parse_file_list(struct jpull *j, struct slskd_response *r,
                            char *tmp, size_t tmpn)
{
  size_t cap = 0;
  if (jpull_peek(j) == JPULL_NULL) {
    jpull_skip(j);
    return;
  }
  if (!jpull_array(j))
    return;
  while (jpull_next(j)) {
    struct slskd_file f;
    parse_search_file(j, &f, tmp, tmpn);
    if (!f.filename) {
      free(f.filename);
      continue;
    }
    if (r->n_files == cap) {
      cap = cap ? cap * 2 : 16;
      r->files = xrealloc(r->files, cap * sizeof *r->files);
    }
    r->files[r->n_files++] = f;
  }
}

static void count_list(struct jpull *j, size_t *n)
{
  if (jpull_peek(j) == JPULL_NULL) {
    jpull_skip(j);
    return;
  }
  if (jpull_array(j))
    while (jpull_next(j) && jpull_skip(j))
      (*n)++;
}

static void parse_response(struct jpull *j, struct slskd_response *r,
                           char *tmp, size_t tmpn)
{
  char key[KEY_MAX];
  memset(r, 0, sizeof *r);
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "username")) {
      if (jpull_string(j, tmp, tmpn, NULL) == SS_OK && !r->username)
        r->username = xstrdup(tmp);
    } else if (!strcmp(key, "hasFreeUploadSlot")) {
      jpull_bool(j, &r->free_slot);
    } else if (!strcmp(key, "queueLength")) {
      jpull_int(j, &r->queue_length);
    } else if (!strcmp(key, "uploadSpeed")) {
      jpull_int(j, &r->upload_speed);
    } else if (!strcmp(key, "files")) {
      parse_file_list(j, r, tmp, tmpn);
    } else if (!strcmp(key, "lockedFiles")) {
      count_list(j, &r->n_locked);
    } else {
      jpull_skip(j);
    }
  }
}

static void response_free(struct slskd_response *r)
{
  for (size_t i = 0; i < r->n_files; i++)
    free(r->files[i].filename);
  free(r->files);
  free(r->username);
}

void slskd_responses_free(struct slskd_responses *r)
{
  for (size_t i = 0; i < r->n; i++)
    response_free(&r->v[i]);
  free(r->v);
  memset(r, 0, sizeof *r);
}

enum ss_err slskd_responses_parse(const char *body, size_t len,
                                  struct slskd_responses *out, char *err,
                                  size_t errlen)
{
  struct jpull j;
  char *tmp = xmalloc(SLSKD_STR_MAX);
  size_t cap = 0;
  memset(out, 0, sizeof *out);
  jpull_init(&j, body, len);
  if (jpull_array(&j))
    while (jpull_next(&j)) {
      struct slskd_response r;
      parse_response(&j, &r, tmp, SLSKD_STR_MAX);
      if (!r.username) {
        response_free(&r);
        continue;
      }
      if (out->n == cap) {
        cap = cap ? cap * 2 : 16;
        out->v = xrealloc(out->v, cap * sizeof *out->v);
      }
      out->v[out->n++] = r;
    }
  free(tmp);
  enum ss_err rc = jpull_finish(&j, err, errlen);
  if (rc)
    slskd_responses_free(out);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Search, enqueue and application replies                             */
/* ------------------------------------------------------------------ */

enum ss_err slskd_search_parse(const char *body, size_t len,
                               struct slskd_search *out, char *err,
                               size_t errlen)
{
  struct jpull j;
  char key[KEY_MAX], state[128] = "";
  memset(out, 0, sizeof *out);
  jpull_init(&j, body, len);
  if (jpull_object(&j))
    while (jpull_next(&j) && jpull_key(&j, key, sizeof key)) {
      if (!strcmp(key, "id"))
        jpull_string(&j, out->id, sizeof out->id, NULL);
      else if (!strcmp(key, "state"))
        jpull_string(&j, state, sizeof state, NULL);
      else if (!strcmp(key, "isComplete"))
        jpull_bool(&j, &out->complete);
      else if (!strcmp(key, "responseCount"))
        jpull_int(&j, &out->response_count);
      else if (!strcmp(key, "fileCount"))
        jpull_int(&j, &out->file_count);
      else
        jpull_skip(&j);
    }
  out->state = slskd_search_flags(state);
  if (out->state & SLSKD_SS_COMPLETED)
    out->complete = true;
  return jpull_finish(&j, err, errlen);
}

static void parse_enqueued(struct jpull *j, struct slskd_enqueue_reply *r,
                           char *tmp, size_t tmpn, size_t *cap)
{
  char key[KEY_MAX];
  struct slskd_enqueued e = {{0}, NULL};
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(key, "id"))
      jpull_string(j, e.id, sizeof e.id, NULL);
    else if (!strcmp(key, "filename") &&
             jpull_string(j, tmp, tmpn, NULL) == SS_OK && !e.filename)
      e.filename = xstrdup(tmp);
    else if (strcmp(key, "filename"))
      jpull_skip(j);
  }
  if (!e.filename)
    return;
  if (r->n_enqueued == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    r->enqueued = xrealloc(r->enqueued, *cap * sizeof *r->enqueued);
  }
  r->enqueued[r->n_enqueued++] = e;
}

void slskd_enqueue_reply_free(struct slskd_enqueue_reply *r)
{
  for (size_t i = 0; i < r->n_enqueued; i++)
    free(r->enqueued[i].filename);
  free(r->enqueued);
  memset(r, 0, sizeof *r);
}

enum ss_err slskd_enqueue_parse(const char *body, size_t len,
                                struct slskd_enqueue_reply *out, char *err,
                                size_t errlen)
{
  struct jpull j;
  char key[KEY_MAX];
  size_t cap = 0;
  memset(out, 0, sizeof *out);
  jpull_init(&j, body, len);
  if (jpull_at_end(&j)) {
    out->legacy_empty = true;
    return SS_OK;
  }
  char *tmp = xmalloc(SLSKD_STR_MAX);
  if (jpull_object(&j))
    while (jpull_next(&j) && jpull_key(&j, key, sizeof key)) {
      if (!strcmp(key, "enqueued") && jpull_peek(&j) == JPULL_ARRAY) {
        jpull_array(&j);
        while (jpull_next(&j))
          parse_enqueued(&j, out, tmp, SLSKD_STR_MAX, &cap);
      } else if (!strcmp(key, "failed")) {
        count_list(&j, &out->n_failed);
      } else {
        jpull_skip(&j);
      }
    }
  free(tmp);
  enum ss_err rc = jpull_finish(&j, err, errlen);
  if (rc)
    slskd_enqueue_reply_free(out);
  return rc;
}

static void parse_app_object(struct jpull *j, const char *section,
                             struct slskd_app *out)
{
  char key[KEY_MAX];
  if (!jpull_object(j))
    return;
  while (jpull_next(j) && jpull_key(j, key, sizeof key)) {
    if (!strcmp(section, "version") && !strcmp(key, "current"))
      jpull_string(j, out->version, sizeof out->version, NULL);
    else if (!strcmp(section, "server") && !strcmp(key, "state"))
      jpull_string(j, out->server_state, sizeof out->server_state, NULL);
    else if (!strcmp(section, "server") && !strcmp(key, "isLoggedIn"))
      jpull_bool(j, &out->logged_in);
    else if (!strcmp(section, "user") && !strcmp(key, "username"))
      jpull_string(j, out->username, sizeof out->username, NULL);
    else
      jpull_skip(j);
  }
}

enum ss_err slskd_app_parse(const char *body, size_t len,
                            struct slskd_app *out, char *err, size_t errlen)
{
  struct jpull j;
  char key[KEY_MAX];
  memset(out, 0, sizeof *out);
  jpull_init(&j, body, len);
  if (jpull_object(&j))
    while (jpull_next(&j) && jpull_key(&j, key, sizeof key)) {
      if ((!strcmp(key, "version") || !strcmp(key, "server") ||
           !strcmp(key, "user")) &&
          jpull_peek(&j) == JPULL_OBJECT)
        parse_app_object(&j, key, out);
      else
        jpull_skip(&j);
    }
  if (!out->logged_in) /* older builds: only the flag string */
    out->logged_in = strstr(out->server_state, "LoggedIn") != NULL &&
                     !strstr(out->server_state, "LoggingIn");
  return jpull_finish(&j, err, errlen);
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

void slskd_path_escape(const char *s, char *out, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (; *s && o + 4 <= n; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  if (n)
    out[o < n ? o : n - 1] = '\0';
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct slskd {
  struct http_client *hc;
  char *base;
  char *key_header; /* "X-API-Key: ..." or NULL */
  long timeout_ms;
  const atomic_bool *cancel;
  long status;
  long elapsed_ms;
  char error[SLSKD_ERROR_MAX];
};

struct slskd *slskd_new(const char *base_url, const char *api_key)
{
  struct slskd *c = xcalloc(1, sizeof *c);
  char ua[160];
  http_client_user_agent(ua, sizeof ua, NULL);
  c->hc = http_client_new(ua);
  c->base = xstrdup(base_url ? base_url : "");
  size_t n = strlen(c->base);
  while (n && c->base[n - 1] == '/')
    c->base[--n] = '\0';
  if (api_key && api_key[0])
    c->key_header = xasprintf("X-API-Key: %s", api_key);
  c->timeout_ms = 10000;
  return c;
}

void slskd_free(struct slskd *c)
{
  if (!c)
    return;
  http_client_free(c->hc);
  free(c->base);
  free(c->key_header);
  free(c);
}

void slskd_set_timeout(struct slskd *c, long timeout_ms)
{
  c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
}

void slskd_set_cancel(struct slskd *c, const atomic_bool *cancel)
{
  c->cancel = cancel;
}

const char *slskd_last_error(const struct slskd *c) { return c->error; }
long slskd_last_status(const struct slskd *c) { return c->status; }
long slskd_last_elapsed_ms(const struct slskd *c) { return c->elapsed_ms; }

/* slskd's error bodies are a bare message (a JSON string or text). */
static void error_message(const struct buf *body, char *out, size_t n)
{
  const char *s = buf_cstr(body);
  out[0] = '\0';
  if (s[0] == '"') {
    struct jpull j;
    jpull_init(&j, s, body->len);
    jpull_string(&j, out, n, NULL);
  } else {
    snprintf(out, n, "%s", s);
  }
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20)
      *p = ' ';
}

static enum ss_err status_result(struct slskd *c, const struct http_reply *r)
{
  char msg[MSG_MAX];
  long st = r->status;
  if (st >= 200 && st < 300)
    return SS_OK;
  error_message(&r->body, msg, sizeof msg);
  const char *sep = msg[0] ? ": " : "";
  if (st == 401 || st == 403) {
    snprintf(c->error, sizeof c->error, "slskd refused the API key (HTTP %ld)",
             st);
    return SS_ESTATE;
  }
  if (st == 409) {
    snprintf(c->error, sizeof c->error,
             "slskd is not logged in to the Soulseek network%s%s", sep, msg);
    return SS_ESTATE;
  }
  snprintf(c->error, sizeof c->error, "slskd answered HTTP %ld%s%s", st, sep,
           msg);
  return st == 429 ? SS_EBUSY : st == 404 ? SS_ENOTFOUND : SS_EPROTO;
}

/* One call; on SS_OK r holds a 2xx reply (the caller frees r). */
static enum ss_err call(struct slskd *c, const char *method, const char *path,
                        const char *body, size_t cap, struct http_reply *r)
{
  char *url = xasprintf("%s%s", c->base, path);
  const char *headers[4];
  size_t h = 0;
  if (c->key_header)
    headers[h++] = c->key_header;
  headers[h++] = "Accept: application/json";
  if (body)
    headers[h++] = "Content-Type: application/json";
  headers[h] = NULL;
  struct http_call hc = {.method = method,
                         .url = url,
                         .headers = headers,
                         .body = body,
                         .body_len = body ? strlen(body) : 0,
                         .timeout_ms = c->timeout_ms,
                         .reply_limit = cap,
                         .cancel = c->cancel};
  c->error[0] = '\0';
  enum ss_err rc = http_client_call(c->hc, &hc, r);
  free(url);
  c->status = r->status;
  c->elapsed_ms = r->elapsed_ms;
  if (rc == SS_ETOOBIG) {
    snprintf(c->error, sizeof c->error, "slskd reply too large (over %zu MiB)",
             cap >> 20);
    return rc;
  }
  if (rc == SS_ECANCELED) {
    snprintf(c->error, sizeof c->error, "stopped while waiting for slskd");
    return rc;
  }
  if (rc != SS_OK) {
    snprintf(c->error, sizeof c->error, "slskd %s at %s: %s",
             rc == SS_EBUSY ? "asked us to wait" : "unreachable", c->base,
             r->error);
    return rc;
  }
  return status_result(c, r);
}

static enum ss_err parsed(struct slskd *c, enum ss_err rc, const char *err)
{
  if (rc != SS_OK)
    snprintf(c->error, sizeof c->error, "slskd sent a %s", err);
  return rc;
}

enum ss_err slskd_application(struct slskd *c, struct slskd_app *out)
{
  struct http_reply r;
  char err[SLSKD_ERROR_MAX];
  enum ss_err rc = call(c, "GET", "/api/v0/application", NULL, SLSKD_REPLY_MAX,
                        &r);
  if (rc == SS_OK)
    rc = parsed(c,
                slskd_app_parse(buf_cstr(&r.body), r.body.len, out, err,
                                sizeof err),
                err);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_search_start(struct slskd *c, const char *id,
                               const char *text, int timeout_ms)
{
  struct buf body;
  struct http_reply r;
  buf_init(&body, 16 * 1024);
  buf_puts(&body, "{\"id\":");
  json_str(&body, id);
  buf_puts(&body, ",\"searchText\":");
  json_str(&body, text);
  buf_printf(&body,
             ",\"searchTimeout\":%d,\"responseLimit\":100,"
             "\"fileLimit\":10000,\"filterResponses\":true,"
             "\"minimumResponseFileCount\":1}",
             timeout_ms);
  enum ss_err rc = SS_ETOOBIG;
  if (buf_ok(&body)) {
    rc = call(c, "POST", "/api/v0/searches", buf_cstr(&body), SLSKD_REPLY_MAX,
              &r);
    http_reply_free(&r);
  }
  buf_free(&body);
  return rc;
}

static enum ss_err search_path(char *out, size_t n, const char *id,
                               const char *rest)
{
  char esc[SLSKD_ID_MAX * 3 + 1];
  slskd_path_escape(id, esc, sizeof esc);
  snprintf(out, n, "/api/v0/searches/%s%s", esc, rest);
  return SS_OK;
}

enum ss_err slskd_search_get(struct slskd *c, const char *id,
                             struct slskd_search *out)
{
  char path[256], err[SLSKD_ERROR_MAX];
  struct http_reply r;
  search_path(path, sizeof path, id, "");
  enum ss_err rc = call(c, "GET", path, NULL, SLSKD_REPLY_MAX, &r);
  if (rc == SS_OK)
    rc = parsed(c,
                slskd_search_parse(buf_cstr(&r.body), r.body.len, out, err,
                                   sizeof err),
                err);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_search_stop(struct slskd *c, const char *id)
{
  char path[256];
  struct http_reply r;
  search_path(path, sizeof path, id, "");
  enum ss_err rc = call(c, "PUT", path, NULL, SLSKD_REPLY_MAX, &r);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_search_delete(struct slskd *c, const char *id)
{
  char path[256];
  struct http_reply r;
  search_path(path, sizeof path, id, "");
  enum ss_err rc = call(c, "DELETE", path, NULL, SLSKD_REPLY_MAX, &r);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_search_responses(struct slskd *c, const char *id,
                                   struct slskd_responses *out)
{
  char path[256], err[SLSKD_ERROR_MAX];
  struct http_reply r;
  memset(out, 0, sizeof *out);
  search_path(path, sizeof path, id, "/responses");
  enum ss_err rc = call(c, "GET", path, NULL, SLSKD_SEARCH_MAX, &r);
  if (rc == SS_OK)
    rc = parsed(c,
                slskd_responses_parse(buf_cstr(&r.body), r.body.len, out, err,
                                      sizeof err),
                err);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_enqueue(struct slskd *c, const char *username,
                          const struct slskd_want *files, size_t n,
                          struct slskd_enqueue_reply *out)
{
  struct buf body;
  struct http_reply r;
  char esc[SLSKD_STR_MAX * 3], err[SLSKD_ERROR_MAX];
  memset(out, 0, sizeof *out);
  buf_init(&body, SLSKD_REPLY_MAX);
  buf_putc(&body, '[');
  for (size_t i = 0; i < n; i++) {
    buf_puts(&body, i ? ",{\"filename\":" : "{\"filename\":");
    json_str(&body, files[i].filename);
    buf_printf(&body, ",\"size\":%lld}", (long long)files[i].size);
  }
  buf_putc(&body, ']');
  if (!buf_ok(&body)) {
    buf_free(&body);
    snprintf(c->error, sizeof c->error, "enqueue request too large");
    return SS_ETOOBIG;
  }
  slskd_path_escape(username, esc, sizeof esc);
  char *path = xasprintf("/api/v0/transfers/downloads/%s", esc);
  enum ss_err rc = call(c, "POST", path, buf_cstr(&body), SLSKD_REPLY_MAX, &r);
  if (rc == SS_OK)
    rc = parsed(c,
                slskd_enqueue_parse(buf_cstr(&r.body), r.body.len, out, err,
                                    sizeof err),
                err);
  http_reply_free(&r);
  free(path);
  buf_free(&body);
  return rc;
}

enum ss_err slskd_downloads(struct slskd *c, struct slskd_transfers *out)
{
  struct http_reply r;
  char err[SLSKD_ERROR_MAX];
  memset(out, 0, sizeof *out);
  enum ss_err rc = call(c, "GET", "/api/v0/transfers/downloads", NULL,
                        SLSKD_LIST_MAX, &r);
  if (rc == SS_OK)
    rc = parsed(c,
                slskd_transfers_parse(buf_cstr(&r.body), r.body.len, out, err,
                                      sizeof err),
                err);
  http_reply_free(&r);
  return rc;
}

enum ss_err slskd_cancel(struct slskd *c, const char *username, const char *id,
                         bool remove)
{
  struct http_reply r;
  char user[SLSKD_STR_MAX * 3], tid[SLSKD_ID_MAX * 3];
  slskd_path_escape(username, user, sizeof user);
  slskd_path_escape(id, tid, sizeof tid);
  char *path = xasprintf("/api/v0/transfers/downloads/%s/%s%s", user, tid,
                         remove ? "?remove=true" : "");
  enum ss_err rc = call(c, "DELETE", path, NULL, SLSKD_REPLY_MAX, &r);
  http_reply_free(&r);
  free(path);
  return rc;
}

void slskd_new_guid(char out[SLSKD_ID_MAX])
{
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  for (size_t i = got; i < sizeof b; i++) /* never expected */
    b[i] = (unsigned char)rand();
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
  snprintf(out, SLSKD_ID_MAX,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
           "%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
           b[11], b[12], b[13], b[14], b[15]);
}
