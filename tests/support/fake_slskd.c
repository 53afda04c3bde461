/*
 * fake_slskd.c - fake slskd HTTP API v0 (docs/INTEGRATIONS.md, slskd, quirks
 * included).  See fake_slskd.h.
 *
 * What: in-memory peers' shares, searches and transfers behind the real
 * routes.  Replies that slskd builds with System.Text.Json are written by
 * hand here (strings through net_str, which escapes like .NET), so the
 * client meets the same bytes; the transfer list is rendered straight into
 * the reply buffer, cheap enough for 10 000 transfers per poll.
 * Threading: one mutex guards all state; enqueue delays happen without it.
 * Ownership: the fake owns copies of every string it is given.
 */
#include "fake_all.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/textnorm.h"
#include "core/xalloc.h"
#include "fake_common.h"

#define TS_REQUESTED 1u
#define TS_QUEUED 2u
#define TS_INITIALIZING 4u
#define TS_IN_PROGRESS 8u
#define TS_COMPLETED 16u
#define TS_SUCCEEDED 32u
#define TS_CANCELLED 64u
#define TS_TIMED_OUT 128u
#define TS_ERRORED 256u
#define TS_REJECTED 512u
#define TS_LOCALLY 2048u
#define TS_REMOTELY 4096u

#define BASE_MS 1787421600000LL /* 2026-08-22T18:00:00Z */
#define SPEED 1048576
#define MAX_ENQUEUES 2
#define LIST_BODY_MAX ((size_t)64 << 20)
#define HUGE_BYTES ((size_t)40 << 20)

struct sk_peer {
  char *user;
  bool free_slot;
  int64_t queue, speed;
};

struct sk_file {
  char *user, *filename, *source;
  int64_t size;
  int bitrate, bit_depth, sample_rate, length;
  bool vbr;
  enum fake_sk_behaviour behaviour;
};

struct sk_search {
  char id[48];
  char *text;
  int polls_left;
  bool complete, cancelled;
  int64_t started_ms, ended_ms;
};

struct sk_transfer {
  char id[48];
  char *user, *filename, *source;
  size_t dir_len; /* filename up to its last backslash */
  int64_t size, bytes;
  unsigned state;
  int step;
  bool cancel_requested, removed;
  int64_t requested_ms, enqueued_ms, started_ms, ended_ms;
  const char *exception;
  enum fake_sk_behaviour behaviour;
};

struct fake_slskd {
  struct fake_http *http;
  pthread_mutex_t mu;
  char api_key[FAKE_SECRET_MAX];
  bool logged_in;
  struct sk_peer *peers;
  size_t n_peers;
  struct sk_file *files;
  size_t n_files;
  struct sk_search *searches;
  size_t n_searches;
  struct sk_transfer *tr;
  size_t n_tr, cap_tr;
  char *download_dir;
  int search_polls;
  char last_search[512]; /* searchText of the newest search */
  bool strict_search;
  bool auto_advance;
  int progress_steps;
  enum fake_sk_list_mode list_mode;
  bool legacy;
  int enqueue_delay_ms;
  int in_flight, peak;
  size_t busy;
  uint64_t next_id;
};

/* ------------------------------------------------------------------ */
/* .NET-style JSON text                                                */
/* ------------------------------------------------------------------ */

static bool plain_ascii(const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c >= 0x80 || strchr("\"\\<>&'+`", c))
      return false;
  }
  return true;
}

static void put_u(struct buf *b, unsigned cp) { buf_printf(b, "\\u%04X", cp); }

/* Decodes one UTF-8 sequence; invalid bytes give U+FFFD. */
static unsigned next_cp(const unsigned char **p)
{
  const unsigned char *s = *p;
  unsigned cp = 0xFFFD;
  int n = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : s[0] >= 0xC0 ? 1 : 0;
  if (n && s[0] < 0xF8) {
    unsigned v = s[0] & (0x3F >> n);
    int i = 1;
    for (; i <= n && (s[i] & 0xC0) == 0x80; i++)
      v = (v << 6) | (s[i] & 0x3F);
    if (i > n) {
      cp = v;
      *p += n + 1;
      return cp;
    }
  }
  *p += 1;
  return cp;
}

/* A JSON string escaped the way System.Text.Json's default encoder does. */
static void net_str(struct buf *b, const char *s)
{
  buf_putc(b, '"');
  if (plain_ascii(s)) {
    buf_puts(b, s);
    buf_putc(b, '"');
    return;
  }
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char c = *p;
    if (c >= 0x80) {
      unsigned cp = next_cp(&p);
      if (cp >= 0x10000) {
        put_u(b, 0xD800 + ((cp - 0x10000) >> 10));
        put_u(b, 0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        put_u(b, cp);
      }
      continue;
    }
    p++;
    if (c == '\\')
      buf_puts(b, "\\\\");
    else if (c == '\n')
      buf_puts(b, "\\n");
    else if (c == '\r')
      buf_puts(b, "\\r");
    else if (c == '\t')
      buf_puts(b, "\\t");
    else if (c < 0x20 || strchr("\"<>&'+`", c))
      put_u(b, c);
    else
      buf_putc(b, (char)c);
  }
  buf_putc(b, '"');
}

static void kv_str(struct buf *b, const char *key, const char *v)
{
  buf_printf(b, ",\"%s\":", key);
  net_str(b, v);
}

/* "2026-08-22T18:00:01.123456" (no offset) or with "Z". */
static void put_time(struct buf *b, const char *key, int64_t ms, bool z)
{
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  buf_printf(b, ",\"%s\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03d456%s\"", key,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000), z ? "Z" : "");
}

static void put_span(struct buf *b, const char *key, int64_t ms)
{
  buf_printf(b, ",\"%s\":\"%02lld:%02lld:%02lld.%03lld0000\"", key,
             (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
             (long long)(ms / 1000 % 60), (long long)(ms % 1000));
}

static const char *const flag_names[] = {"Requested",    "Queued",
                                         "Initializing", "InProgress",
                                         "Completed",    "Succeeded",
                                         "Cancelled",    "TimedOut",
                                         "Errored",      "Rejected",
                                         "Aborted",      "Locally",
                                         "Remotely"};

static void state_text(unsigned state, char *out, size_t n)
{
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < 13; i++)
    if (state & (1u << i))
      o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "",
                            flag_names[i]);
  if (!o)
    snprintf(out, n, "None");
}

/* ------------------------------------------------------------------ */
/* State helpers (mu held)                                             */
/* ------------------------------------------------------------------ */

static void new_id(struct fake_slskd *fk, char *out, size_t n)
{
  uint64_t v = ++fk->next_id;
  snprintf(out, n, "%08llx-5eed-4000-8000-%012llx",
           (unsigned long long)(v * 2654435761u % 0xFFFFFFFFu),
           (unsigned long long)v);
}

static struct sk_peer *peer_of(struct fake_slskd *fk, const char *user)
{
  for (size_t i = 0; i < fk->n_peers; i++)
    if (!strcmp(fk->peers[i].user, user))
      return &fk->peers[i];
  return NULL;
}

static struct sk_file *file_of(struct fake_slskd *fk, const char *user,
                               const char *filename)
{
  for (size_t i = 0; i < fk->n_files; i++)
    if (!strcmp(fk->files[i].user, user) &&
        !strcmp(fk->files[i].filename, filename))
      return &fk->files[i];
  return NULL;
}

static bool terminal(const struct sk_transfer *t)
{
  return t->state & TS_COMPLETED;
}

static struct sk_transfer *add_transfer(struct fake_slskd *fk,
                                        const char *user, const char *filename,
                                        int64_t size)
{
  if (fk->n_tr == fk->cap_tr) {
    fk->cap_tr = fk->cap_tr ? fk->cap_tr * 2 : 64;
    fk->tr = xrealloc(fk->tr, fk->cap_tr * sizeof *fk->tr);
  }
  struct sk_transfer *t = &fk->tr[fk->n_tr++];
  memset(t, 0, sizeof *t);
  new_id(fk, t->id, sizeof t->id);
  t->user = xstrdup(user);
  t->filename = xstrdup(filename);
  const char *last = strrchr(filename, '\\');
  t->dir_len = last ? (size_t)(last - filename) : 0;
  t->size = size;
  t->state = TS_QUEUED | TS_LOCALLY;
  t->requested_ms = BASE_MS + (int64_t)fk->next_id * 1000 + 123;
  t->enqueued_ms = t->requested_ms + 500;
  struct sk_file *f = file_of(fk, user, filename);
  t->behaviour = f ? f->behaviour : FAKE_SK_OK;
  t->source = f && f->source ? xstrdup(f->source) : NULL;
  return t;
}

/* ------------------------------------------------------------------ */
/* Progress simulation                                                 */
/* ------------------------------------------------------------------ */

static void mkdirs(char *path)
{
  for (char *q = path + 1; *q; q++)
    if (*q == '/') {
      *q = '\0';
      mkdir(path, 0755);
      *q = '/';
    }
}

/* Copies the source to DIR/<remote folder>/<name> like slskd. */
static void write_finished(struct fake_slskd *fk, const struct sk_transfer *t)
{
  if (!fk->download_dir || !t->source)
    return;
  const char *base = t->filename + (t->dir_len ? t->dir_len + 1 : 0);
  const char *dir = t->filename;
  size_t dlen = t->dir_len;
  for (size_t i = 0; i < t->dir_len; i++)
    if (t->filename[i] == '\\') {
      dir = t->filename + i + 1;
      dlen = t->dir_len - i - 1;
    }
  char *dst = xasprintf("%s/%.*s/%s", fk->download_dir, (int)dlen, dir, base);
  mkdirs(dst);
  int in = open(t->source, O_RDONLY);
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char b[65536];
  ssize_t r;
  while (in >= 0 && out >= 0 && (r = read(in, b, sizeof b)) > 0)
    if (write(out, b, (size_t)r) != r)
      break;
  if (in >= 0)
    close(in);
  if (out >= 0)
    close(out);
  free(dst);
}

static void finish(struct sk_transfer *t, unsigned how, const char *why,
                   int64_t now)
{
  t->state = TS_COMPLETED | how;
  t->exception = why;
  t->ended_ms = now;
}

static void step_transfer(struct fake_slskd *fk, struct sk_transfer *t)
{
  int64_t now = BASE_MS + 3600000 + (int64_t)t->step * 2000;
  if (terminal(t))
    return;
  if (t->cancel_requested) {
    finish(t, TS_CANCELLED, "The operation was canceled.", now);
    return;
  }
  int progress = t->step; /* progress steps done so far */
  switch (t->behaviour) {
  case FAKE_SK_STALL: t->state = TS_QUEUED | TS_REMOTELY; return;
  case FAKE_SK_REJECT: finish(t, TS_REJECTED, "File not shared.", now); return;
  case FAKE_SK_TIMEOUT:
    if (t->state & TS_REMOTELY)
      finish(t, TS_TIMED_OUT, "Transfer timed out.", now);
    else
      t->state = TS_QUEUED | TS_REMOTELY;
    return;
  case FAKE_SK_ERROR:
    if (progress >= 2) {
      finish(t, TS_ERRORED, "Remote connection closed.", now);
      return;
    }
    break;
  default: break;
  }
  t->step++;
  if (t->step == 1) {
    t->state = TS_QUEUED | TS_REMOTELY;
  } else if (t->step <= fk->progress_steps + 1) {
    t->state = TS_IN_PROGRESS;
    if (!t->started_ms)
      t->started_ms = now;
    t->bytes = t->size * (t->step - 1) / (fk->progress_steps + 1);
  } else {
    t->bytes = t->size;
    finish(t, TS_SUCCEEDED, NULL, now);
    write_finished(fk, t);
  }
}

static void advance_locked(struct fake_slskd *fk, int steps)
{
  for (int s = 0; s < steps; s++)
    for (size_t i = 0; i < fk->n_tr; i++)
      step_transfer(fk, &fk->tr[i]);
}

/* ------------------------------------------------------------------ */
/* Rendering transfers                                                 */
/* ------------------------------------------------------------------ */

static void render_transfer(struct buf *b, const struct sk_transfer *t)
{
  char state[128];
  state_text(t->state, state, sizeof state);
  buf_puts(b, "{\"id\":");
  net_str(b, t->id);
  kv_str(b, "username", t->user);
  buf_puts(b, ",\"direction\":\"Download\"");
  kv_str(b, "filename", t->filename);
  buf_printf(b, ",\"size\":%lld", (long long)t->size);
  kv_str(b, "state", state);
  put_time(b, "requestedAt", t->requested_ms, false);
  put_time(b, "enqueuedAt", t->enqueued_ms, false);
  if (t->started_ms)
    put_time(b, "startedAt", t->started_ms, true);
  if (t->ended_ms)
    put_time(b, "endedAt", t->ended_ms, true);
  bool moving = (t->state & TS_IN_PROGRESS) != 0;
  double pct = t->size ? 100.0 * (double)t->bytes / (double)t->size : 0;
  buf_printf(b,
             ",\"bytesTransferred\":%lld,\"averageSpeed\":%d,\"attempts\":0,"
             "\"removed\":%s,\"bytesRemaining\":%lld",
             (long long)t->bytes, moving ? SPEED : 0,
             t->removed ? "true" : "false", (long long)(t->size - t->bytes));
  if (t->started_ms)
    put_span(b, "elapsedTime", 10001);
  buf_printf(b, ",\"percentComplete\":%.17g", pct);
  if (moving)
    put_span(b, "remainingTime", 20000);
  if (t->state & TS_REMOTELY)
    buf_puts(b, ",\"placeInQueue\":3");
  if (t->exception)
    kv_str(b, "exception", t->exception);
  buf_putc(b, '}');
}

static int cmp_group(const void *a, const void *b, void *arg)
{
  const struct sk_transfer *x = &((struct fake_slskd *)arg)->tr[*(size_t *)a];
  const struct sk_transfer *y = &((struct fake_slskd *)arg)->tr[*(size_t *)b];
  int c = strcmp(x->user, y->user);
  if (c)
    return c;
  size_t n = x->dir_len < y->dir_len ? x->dir_len : y->dir_len;
  c = memcmp(x->filename, y->filename, n);
  if (c || x->dir_len == y->dir_len)
    return c ? c : (*(size_t *)a < *(size_t *)b ? -1 : 1);
  return x->dir_len < y->dir_len ? -1 : 1;
}

static bool same_dir(const struct sk_transfer *x, const struct sk_transfer *y)
{
  return x->dir_len == y->dir_len &&
         !memcmp(x->filename, y->filename, x->dir_len);
}

/* Users -> directories -> files, only user (when not NULL). */
static size_t render_list(struct fake_slskd *fk, struct buf *b,
                          const char *user, bool removed)
{
  size_t *idx = xmalloc((fk->n_tr ? fk->n_tr : 1) * sizeof *idx);
  size_t n = 0;
  for (size_t i = 0; i < fk->n_tr; i++)
    if ((removed || !fk->tr[i].removed) &&
        (!user || !strcmp(fk->tr[i].user, user)))
      idx[n++] = i;
  qsort_r(idx, n, sizeof *idx, cmp_group, fk);
  if (!user)
    buf_putc(b, '[');
  for (size_t i = 0; i < n;) {
    const struct sk_transfer *g = &fk->tr[idx[i]];
    buf_puts(b, i ? ",{\"username\":" : "{\"username\":");
    net_str(b, g->user);
    buf_puts(b, ",\"directories\":[");
    for (bool first_dir = true; i < n && !strcmp(fk->tr[idx[i]].user, g->user);
         first_dir = false) {
      const struct sk_transfer *d = &fk->tr[idx[i]];
      size_t end = i;
      while (end < n && !strcmp(fk->tr[idx[end]].user, g->user) &&
             same_dir(&fk->tr[idx[end]], d))
        end++;
      char *dir = xstrndup(d->filename, d->dir_len);
      buf_puts(b, first_dir ? "{\"directory\":" : ",{\"directory\":");
      net_str(b, dir);
      free(dir);
      buf_printf(b, ",\"fileCount\":%zu,\"files\":[", end - i);
      for (size_t k = i; k < end; k++) {
        if (k > i)
          buf_putc(b, ',');
        render_transfer(b, &fk->tr[idx[k]]);
      }
      buf_puts(b, "]}");
      i = end;
    }
    buf_puts(b, "]}");
  }
  if (!user)
    buf_putc(b, ']');
  free(idx);
  return n;
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

static void sk_health(const struct fake_req *req, struct fake_reply *rep,
                      void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "text/plain", "Healthy");
}

/* Server state: null properties are omitted (address when disconnected). */
static json_t *sk_server_json(bool logged_in)
{
  if (logged_in)
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "address",
                     "vps.slsknet.org:2271", "ipEndPoint",
                     "208.76.170.59:2271", "state", "Connected, LoggedIn",
                     "isConnected", 1, "isConnecting", 0, "isLoggedIn", 1,
                     "isLoggingIn", 0, "isTransitioning", 0);
  return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "state", "Disconnected",
                   "isConnected", 0, "isConnecting", 0, "isLoggedIn", 0,
                   "isLoggingIn", 0, "isTransitioning", 0);
}

static json_t *sk_application_json(bool logged_in)
{
  json_t *app = json_pack("{s:{s:s, s:s, s:s, s:b, s:b, s:b}, s:b, s:b, s:o,"
                          " s:{s:b, s:b, s:b}, s:{s:b, s:b},"
                          " s:{s:s, s:{s:s}, s:[]}}",
                          "version", "full", "0.26.0.0", "current", "0.26.0",
                          "latest", "0.26.0", "isUpdateAvailable", 0,
                          "isCanary", 0, "isDevelopment", 0,
                          "pendingReconnect", 0, "pendingRestart", 0, "server",
                          sk_server_json(logged_in), "connectionWatchdog",
                          "isEnabled", 1, "isAttemptingConnection", 0,
                          "isAwaitingVpn", 0, "vpn", "isReady", 0,
                          "isConnected", 0, "relay", "mode", "Controller",
                          "controller", "state", "Disconnected", "agents");
  json_object_set_new(app, "health",
                      json_pack("{s:{s:{s:i, s:i, s:i}}}", "search",
                                "incoming", "latency", 0, "queueDepth", 0,
                                "dropRate", 0));
  json_object_set_new(app, "user",
                      json_pack("{s:s, s:{s:b, s:i}, s:{s:i, s:i, s:i, s:i}}",
                                "username", "me", "privileges", "isPrivileged",
                                0, "privilegesRemaining", 0, "statistics",
                                "averageSpeed", 0, "directoryCount", 0,
                                "fileCount", 0, "uploadCount", 0));
  json_object_set_new(app, "distributedNetwork",
                      json_pack("{s:i, s:b, s:i, s:[], s:b, s:b}",
                                "branchLevel", 0, "canAcceptChildren", 0,
                                "childLimit", 0, "children", "hasParent", 0,
                                "isBranchRoot", 0));
  json_object_set_new(
    app, "shares",
    json_pack("{s:b, s:b, s:b, s:b, s:b, s:i, s:[], s:i, s:i}", "scanPending",
              0, "scanning", 0, "ready", 1, "faulted", 0, "cancelled", 0,
              "scanProgress", 1, "hosts", "directories", 10, "files", 100));
  json_object_set_new(app, "rooms", json_array());
  json_object_set_new(app, "users", json_array());
  return app;
}

/* A bare message string, as the transfer and search controllers send. */
static void reply_message(struct fake_reply *rep, int status, const char *msg)
{
  struct buf b;
  buf_init(&b, 4096);
  net_str(&b, msg);
  fake_reply_set(rep, status, JSON_UTF8, buf_cstr(&b));
  buf_free(&b);
}

static bool json_body(const struct fake_req *req, struct fake_reply *rep)
{
  const char *ct = fake_req_header(req, "Content-Type");
  if (!ct || strncasecmp(ct, "application/json", 16)) {
    fake_reply_set(rep, 415, "", NULL);
    return false;
  }
  return true;
}

/* ---- transfers ---- */

static void list_reply(struct fake_slskd *fk, const struct fake_req *req,
                       struct fake_reply *rep)
{
  const char *rem = fake_req_arg(req, "includeRemoved");
  rep->body.limit = LIST_BODY_MAX; /* 10 000 transfers exceed the default */
  buf_reset(&rep->body);
  switch (fk->list_mode) {
  case FAKE_SK_LIST_MALFORMED:
    fake_reply_set(rep, 200, JSON_UTF8,
                   "[{\"username\":\"u\",\"directories\":[{\"files\":"
                   "[{\"id\":17,\"filename\":\"x\",\"state\":\"InProgress\"}"
                   "]}]}]");
    return;
  case FAKE_SK_LIST_HUGE:
    /* Streamed as the client reads (a user name of 40 MiB of 'a'), so a
     * loaded machine does not spend the client's timeout building it. */
    fake_reply_set(rep, 200, JSON_UTF8, "[{\"username\":\"");
    rep->stream_len = HUGE_BYTES;
    rep->stream_fill = 'a';
    return;
  default: break;
  }
  if (fk->auto_advance)
    advance_locked(fk, 1);
  render_list(fk, &rep->body, NULL, rem && !strcmp(rem, "true"));
  if (fk->list_mode == FAKE_SK_LIST_TRUNCATED)
    rep->body.len /= 2;
  rep->status = 200;
  snprintf(rep->content_type, sizeof rep->content_type, "%s", JSON_UTF8);
}

static void user_reply(struct fake_slskd *fk, const char *user,
                       struct fake_reply *rep)
{
  buf_reset(&rep->body);
  rep->body.limit = LIST_BODY_MAX;
  if (!render_list(fk, &rep->body, user, false))
    fake_reply_set(rep, 404, "", NULL);
}

static bool traversal(const char *filename)
{
  const char *p = filename;
  while ((p = strstr(p, "..")))
    if ((p == filename || p[-1] == '\\' || p[-1] == '/') &&
        (!p[2] || p[2] == '\\' || p[2] == '/'))
      return true;
    else
      p += 2;
  return false;
}

static bool offline(struct fake_slskd *fk, const char *user)
{
  for (size_t i = 0; i < fk->n_files; i++)
    if (!strcmp(fk->files[i].user, user) &&
        fk->files[i].behaviour == FAKE_SK_OFFLINE)
      return true;
  return false;
}

static bool queued_already(struct fake_slskd *fk, const char *user,
                           const char *filename)
{
  for (size_t i = 0; i < fk->n_tr; i++)
    if (!terminal(&fk->tr[i]) && !strcmp(fk->tr[i].user, user) &&
        !strcmp(fk->tr[i].filename, filename))
      return true;
  return false;
}

static void create_transfers(struct fake_slskd *fk, const char *user,
                             json_t *arr, struct fake_reply *rep)
{
  struct buf ok, failed;
  buf_init(&ok, FAKE_BODY_MAX);
  buf_init(&failed, 4096);
  size_t i, n_ok = 0, n_failed = 0;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    const char *fn = json_string_value(json_object_get(e, "filename"));
    int64_t size = json_integer_value(json_object_get(e, "size"));
    if (queued_already(fk, user, fn)) {
      buf_puts(&failed, n_failed++ ? ",{}" : "{}");
      continue;
    }
    struct sk_transfer *t = add_transfer(fk, user, fn, size);
    if (n_ok++)
      buf_putc(&ok, ',');
    render_transfer(&ok, t);
  }
  if (fk->legacy) {
    fake_reply_set(rep, 201, "", NULL);
  } else {
    buf_reset(&rep->body);
    buf_printf(&rep->body, "{\"enqueued\":[%s],\"failed\":[%s]}",
               buf_cstr(&ok), buf_cstr(&failed));
    rep->status = 201;
    snprintf(rep->content_type, sizeof rep->content_type, "%s", JSON_UTF8);
  }
  buf_free(&ok);
  buf_free(&failed);
}

/* Validates the body: [{"filename": "...", "size": N}, ...]. */
static json_t *enqueue_body(const struct fake_req *req, struct fake_reply *rep)
{
  size_t len;
  const char *body = fake_req_body(req, &len);
  json_t *arr = json_loadb(body, len, 0, NULL);
  size_t i;
  json_t *e;
  bool ok = json_is_array(arr) && json_array_size(arr) > 0;
  json_array_foreach(arr, i, e)
  {
    const char *fn = json_string_value(json_object_get(e, "filename"));
    if (!fn || !*fn || traversal(fn) ||
        !json_is_integer(json_object_get(e, "size")))
      ok = false;
  }
  if (!ok) {
    json_decref(arr);
    fake_reply_set(rep, 400, "", NULL);
    return NULL;
  }
  return arr;
}

static void enqueue(struct fake_slskd *fk, const struct fake_req *req,
                    const char *user, struct fake_reply *rep)
{
  json_t *arr;
  if (!json_body(req, rep) || !(arr = enqueue_body(req, rep)))
    return;
  pthread_mutex_lock(&fk->mu);
  if (fk->in_flight >= MAX_ENQUEUES) {
    fk->busy++;
    pthread_mutex_unlock(&fk->mu);
    json_decref(arr);
    reply_message(rep, 429,
                  "Only one concurrent operation is permitted. "
                  "Wait until the previous request completes");
    return;
  }
  if (++fk->in_flight > fk->peak)
    fk->peak = fk->in_flight;
  int delay = fk->enqueue_delay_ms;
  pthread_mutex_unlock(&fk->mu);
  if (delay > 0) {
    struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
      ;
  }
  pthread_mutex_lock(&fk->mu);
  fk->in_flight--;
  if (offline(fk, user)) {
    char msg[300];
    snprintf(msg, sizeof msg, "User %s appears to be offline", user);
    reply_message(rep, 500, msg);
  } else {
    create_transfers(fk, user, arr, rep);
  }
  pthread_mutex_unlock(&fk->mu);
  json_decref(arr);
}

static void cancel(struct fake_slskd *fk, const char *id, bool remove,
                   struct fake_reply *rep)
{
  for (size_t i = 0; i < fk->n_tr; i++) {
    struct sk_transfer *t = &fk->tr[i];
    if (strcmp(t->id, id))
      continue;
    if (!terminal(t))
      t->cancel_requested = true; /* asynchronous; remove is a no-op */
    else if (remove)
      t->removed = true;
  }
  fake_reply_set(rep, 204, "", NULL);
}

static void transfers(struct fake_slskd *fk, const struct fake_req *req,
                      const char *rest, struct fake_reply *rep)
{
  const char *method = fake_req_method(req);
  const char *slash = strrchr(rest, '/');
  if (!strcmp(method, "GET") && !*rest) {
    list_reply(fk, req, rep);
  } else if (!strcmp(method, "POST") && *rest && strcmp(rest, "batches")) {
    pthread_mutex_unlock(&fk->mu);
    enqueue(fk, req, rest, rep);
    pthread_mutex_lock(&fk->mu);
  } else if (!strcmp(method, "GET") && *rest) {
    user_reply(fk, rest, rep);
  } else if (!strcmp(method, "DELETE") && !strcmp(rest, "all/completed")) {
    for (size_t i = 0; i < fk->n_tr; i++)
      if (terminal(&fk->tr[i]))
        fk->tr[i].removed = true;
    fake_reply_set(rep, 204, "", NULL);
  } else if (!strcmp(method, "DELETE") && slash) {
    const char *remove = fake_req_arg(req, "remove");
    cancel(fk, slash + 1, remove && !strcmp(remove, "true"), rep);
  } else {
    fake_reply_set(rep, 404, "", NULL);
  }
}

/* ---- searches ---- */

static void render_search(struct buf *b, const struct sk_search *s,
                          size_t responses, size_t files)
{
  buf_puts(b, "{\"token\":51234");
  if (s->ended_ms)
    put_time(b, "endedAt", s->ended_ms, true);
  buf_printf(b, ",\"fileCount\":%zu,\"id\":", files);
  net_str(b, s->id);
  buf_printf(b,
             ",\"isComplete\":%s,\"lockedFileCount\":0,"
             "\"responseCount\":%zu",
             s->complete ? "true" : "false", responses);
  kv_str(b, "searchText", s->text);
  put_time(b, "startedAt", s->started_ms, true);
  kv_str(b, "state",
         !s->complete   ? "InProgress"
         : s->cancelled ? "Completed, Cancelled"
                        : "Completed, TimedOut");
  buf_putc(b, '}');
}

/* Like slskd's own share index (an FTS "unicode61" tokenizer): every word
 * of the text in the path, case and accents ignored; strict: as clients
 * that compare bytes (ASCII case ignored). */
static bool words_match(const char *path, const char *text, bool strict)
{
  if (strict) {
    char w[256];
    for (const char *p = text; *p;) {
      size_t n = strcspn(p, " ");
      snprintf(w, sizeof w, "%.*s", (int)n, p);
      if (n && !strcasestr(path, w))
        return false;
      p += n + (p[n] == ' ');
    }
    return true;
  }
  char hay[4096], words[1024], word[256];
  textnorm_fold(path, hay, sizeof hay);
  textnorm_fold(text, words, sizeof words);
  for (const char *p = words; *p;) {
    size_t n = strcspn(p, " ");
    snprintf(word, sizeof word, "%.*s", (int)n, p);
    if (!strstr(hay, word))
      return false;
    p += n + (p[n] == ' ');
  }
  return true;
}

static void render_file(struct buf *b, const struct sk_file *f)
{
  buf_puts(b, "{");
  if (f->bit_depth)
    buf_printf(b, "\"bitDepth\":%d,", f->bit_depth);
  if (f->bitrate)
    buf_printf(b, "\"bitRate\":%d,", f->bitrate);
  buf_puts(b, "\"code\":1,\"extension\":\"\",\"filename\":");
  net_str(b, f->filename);
  if (f->bitrate)
    buf_printf(b, ",\"isVariableBitRate\":%s", f->vbr ? "true" : "false");
  if (f->length)
    buf_printf(b, ",\"length\":%d", f->length);
  if (f->sample_rate)
    buf_printf(b, ",\"sampleRate\":%d", f->sample_rate);
  buf_printf(b, ",\"size\":%lld,\"isLocked\":false}", (long long)f->size);
}

/* Responses grouped per peer; returns the number of peers. */
static size_t render_responses(struct fake_slskd *fk, struct buf *b,
                               const struct sk_search *s, size_t *files)
{
  size_t peers = 0;
  *files = 0;
  buf_putc(b, '[');
  for (size_t i = 0; i < fk->n_files; i++) {
    const char *user = fk->files[i].user;
    bool seen = false, any = false;
    for (size_t k = 0; k < i && !seen; k++)
      seen = !strcmp(fk->files[k].user, user);
    for (size_t k = i; k < fk->n_files && !any; k++)
      any = !strcmp(fk->files[k].user, user) &&
            words_match(fk->files[k].filename, s->text, fk->strict_search);
    if (seen || !any)
      continue;
    struct sk_peer *p = peer_of(fk, user);
    size_t n = 0;
    buf_puts(b, peers++ ? ",{\"files\":[" : "{\"files\":[");
    for (size_t k = i; k < fk->n_files; k++)
      if (!strcmp(fk->files[k].user, user) &&
          words_match(fk->files[k].filename, s->text, fk->strict_search)) {
        if (n++)
          buf_putc(b, ',');
        render_file(b, &fk->files[k]);
      }
    *files += n;
    buf_printf(b,
               "],\"fileCount\":%zu,\"hasFreeUploadSlot\":%s,"
               "\"lockedFileCount\":0,\"lockedFiles\":[],"
               "\"queueLength\":%lld,\"token\":51234,\"uploadSpeed\":%lld,"
               "\"username\":",
               n, !p || p->free_slot ? "true" : "false",
               (long long)(p ? p->queue : 0),
               (long long)(p ? p->speed : SPEED));
    net_str(b, user);
    buf_putc(b, '}');
  }
  buf_putc(b, ']');
  return peers;
}

static struct sk_search *search_of(struct fake_slskd *fk, const char *id)
{
  for (size_t i = 0; i < fk->n_searches; i++)
    if (!strcmp(fk->searches[i].id, id))
      return &fk->searches[i];
  return NULL;
}

static void complete_search(struct sk_search *s, bool cancelled)
{
  if (s->complete)
    return;
  s->complete = true;
  s->cancelled = cancelled;
  s->ended_ms = s->started_ms + 15000;
}

static void search_reply(struct fake_slskd *fk, struct sk_search *s,
                         struct fake_reply *rep, bool responses_only)
{
  struct buf tmp;
  size_t files = 0, peers;
  buf_init(&tmp, FAKE_BODY_MAX);
  peers = render_responses(fk, &tmp, s, &files);
  buf_reset(&rep->body);
  rep->status = 200;
  snprintf(rep->content_type, sizeof rep->content_type, "%s", JSON_UTF8);
  if (responses_only)
    buf_puts(&rep->body, s->complete ? buf_cstr(&tmp) : "[]");
  else
    render_search(&rep->body, s, peers, files);
  buf_free(&tmp);
}

static void search_start(struct fake_slskd *fk, const struct fake_req *req,
                         struct fake_reply *rep)
{
  size_t len;
  if (!json_body(req, rep))
    return;
  const char *body = fake_req_body(req, &len);
  json_t *doc = json_loadb(body, len, 0, NULL);
  const char *text = json_string_value(json_object_get(doc, "searchText"));
  const char *id = json_string_value(json_object_get(doc, "id"));
  char own[48];
  if (!text || !text[strspn(text, " \t")]) {
    reply_message(rep, 400,
                  "The field SearchText can not be null, empty, "
                  "or consist of only whitespace");
  } else if (!fk->logged_in) {
    reply_message(rep, 409,
                  "The server connection must be connected and "
                  "logged in to perform a search (currently: "
                  "Disconnected)");
  } else if (id && search_of(fk, id)) {
    reply_message(rep, 400, "A search with the specified ID already exists");
  } else {
    if (!id) {
      new_id(fk, own, sizeof own);
      id = own;
    }
    fk->searches = xrealloc(fk->searches,
                            (fk->n_searches + 1) * sizeof *fk->searches);
    struct sk_search *s = &fk->searches[fk->n_searches++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->text = xstrdup(text);
    snprintf(fk->last_search, sizeof fk->last_search, "%s", text);
    s->polls_left = fk->search_polls;
    s->started_ms = BASE_MS + (int64_t)fk->n_searches * 60000;
    search_reply(fk, s, rep, false);
  }
  json_decref(doc);
}

static void searches(struct fake_slskd *fk, const struct fake_req *req,
                     const char *rest, struct fake_reply *rep)
{
  const char *method = fake_req_method(req);
  char id[64];
  size_t n = strcspn(rest, "/");
  snprintf(id, sizeof id, "%.*s", (int)(n < 63 ? n : 63), rest);
  bool responses = !strcmp(rest + n, "/responses");
  if (!strcmp(method, "POST") && !*rest) {
    search_start(fk, req, rep);
    return;
  }
  struct sk_search *s = *rest ? search_of(fk, id) : NULL;
  if (!s || (rest[n] && !responses)) {
    fake_reply_set(rep, 404, "", NULL);
  } else if (!strcmp(method, "GET")) {
    if (!responses && !s->complete && s->polls_left > 0 &&
        --s->polls_left == 0)
      complete_search(s, false);
    search_reply(fk, s, rep, responses);
  } else if (!strcmp(method, "PUT")) {
    complete_search(s, true);
    fake_reply_set(rep, 200, "", NULL);
  } else if (!strcmp(method, "DELETE")) {
    free(s->text);
    *s = fk->searches[--fk->n_searches];
    fake_reply_set(rep, 204, "", NULL);
  } else {
    fake_reply_set(rep, 405, "", NULL);
  }
}

static void sk_api(const struct fake_req *req, struct fake_reply *rep,
                   void *arg)
{
  struct fake_slskd *fk = arg;
  const char *path = fake_req_path(req);
  const char *key = fake_req_header(req, "X-API-Key");
  bool get = strcmp(fake_req_method(req), "GET") == 0;
  static const char tr_prefix[] = "/api/v0/transfers/downloads";
  static const char se_prefix[] = "/api/v0/searches";
  pthread_mutex_lock(&fk->mu);
  bool auth_on = fk->api_key[0] != '\0';
  bool key_ok = !auth_on || (key && strcmp(key, fk->api_key) == 0);
  bool logged_in = fk->logged_in;
  if (get && strcmp(path, "/api/v0/session/enabled") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, auth_on ? "true" : "false");
  } else if (!key_ok) {
    fake_reply_set(rep, 401, "", NULL); /* empty body, no content type */
  } else if (get && strcmp(path, "/api/v0/application") == 0) {
    fake__reply_json(rep, 200, JSON_UTF8, sk_application_json(logged_in));
  } else if (get && strcmp(path, "/api/v0/application/version") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, "\"0.26.0\"");
  } else if (get && strcmp(path, "/api/v0/server") == 0) {
    fake__reply_json(rep, 200, JSON_UTF8, sk_server_json(logged_in));
  } else if (!strncmp(path, tr_prefix, sizeof tr_prefix - 1) &&
             (!path[sizeof tr_prefix - 1] ||
              path[sizeof tr_prefix - 1] == '/')) {
    const char *rest = path + sizeof tr_prefix - 1;
    transfers(fk, req, *rest ? rest + 1 : rest, rep);
  } else if (!strncmp(path, se_prefix, sizeof se_prefix - 1) &&
             (!path[sizeof se_prefix - 1] ||
              path[sizeof se_prefix - 1] == '/')) {
    const char *rest = path + sizeof se_prefix - 1;
    searches(fk, req, *rest ? rest + 1 : rest, rep);
  } else {
    fake_reply_set(rep, 404, "", NULL);
  }
  pthread_mutex_unlock(&fk->mu);
}

/* ------------------------------------------------------------------ */
/* Life cycle and setters                                              */
/* ------------------------------------------------------------------ */

int fake_slskd_start(struct fake_slskd **out, int port, const char *api_key)
{
  struct fake_slskd *fk = xcalloc(1, sizeof *fk);
  pthread_mutex_init(&fk->mu, NULL);
  fake__copy_str(fk->api_key, sizeof fk->api_key, api_key);
  fk->logged_in = true;
  fk->search_polls = 1;
  fk->auto_advance = true;
  fk->progress_steps = 1;
  int rc = fake_http_start(&fk->http, port);
  if (rc != SS_OK) {
    fake_slskd_stop(fk);
    *out = NULL;
    return rc;
  }
  fake_http_route(fk->http, "GET", "/health", sk_health, fk);
  fake_http_route(fk->http, "HEAD", "/health", sk_health, fk);
  fake_http_route(fk->http, NULL, "/api/v0/*", sk_api, fk);
  *out = fk;
  return SS_OK;
}

void fake_slskd_stop(struct fake_slskd *fk)
{
  if (!fk)
    return;
  fake_http_stop(fk->http);
  for (size_t i = 0; i < fk->n_peers; i++)
    free(fk->peers[i].user);
  for (size_t i = 0; i < fk->n_files; i++) {
    free(fk->files[i].user);
    free(fk->files[i].filename);
    free(fk->files[i].source);
  }
  for (size_t i = 0; i < fk->n_searches; i++)
    free(fk->searches[i].text);
  for (size_t i = 0; i < fk->n_tr; i++) {
    free(fk->tr[i].user);
    free(fk->tr[i].filename);
    free(fk->tr[i].source);
  }
  free(fk->peers);
  free(fk->files);
  free(fk->searches);
  free(fk->tr);
  free(fk->download_dir);
  pthread_mutex_destroy(&fk->mu);
  free(fk);
}

struct fake_http *fake_slskd_http(struct fake_slskd *fk) { return fk->http; }

const char *fake_slskd_url(const struct fake_slskd *fk)
{
  return fake_http_url(fk->http);
}

void fake_slskd_set_api_key(struct fake_slskd *fk, const char *api_key)
{
  pthread_mutex_lock(&fk->mu);
  fake__copy_str(fk->api_key, sizeof fk->api_key, api_key);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_logged_in(struct fake_slskd *fk, bool logged_in)
{
  pthread_mutex_lock(&fk->mu);
  fk->logged_in = logged_in;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_add_file(struct fake_slskd *fk, const struct fake_sk_file *f)
{
  pthread_mutex_lock(&fk->mu);
  fk->files = xrealloc(fk->files, (fk->n_files + 1) * sizeof *fk->files);
  struct sk_file *s = &fk->files[fk->n_files++];
  *s = (struct sk_file){xstrdup(f->username),
                        xstrdup(f->filename),
                        f->source ? xstrdup(f->source) : NULL,
                        f->size,
                        f->bitrate,
                        f->bit_depth,
                        f->sample_rate,
                        f->length,
                        f->vbr,
                        f->behaviour};
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_peer(struct fake_slskd *fk, const char *username,
                         bool free_slot, int64_t queue_length,
                         int64_t upload_speed)
{
  pthread_mutex_lock(&fk->mu);
  struct sk_peer *p = peer_of(fk, username);
  if (!p) {
    fk->peers = xrealloc(fk->peers, (fk->n_peers + 1) * sizeof *fk->peers);
    p = &fk->peers[fk->n_peers++];
    p->user = xstrdup(username);
  }
  p->free_slot = free_slot;
  p->queue = queue_length;
  p->speed = upload_speed;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_behaviour(struct fake_slskd *fk, const char *username,
                              const char *filename, enum fake_sk_behaviour b)
{
  pthread_mutex_lock(&fk->mu);
  struct sk_file *f = file_of(fk, username, filename);
  if (f)
    f->behaviour = b;
  for (size_t i = 0; i < fk->n_tr; i++)
    if (!strcmp(fk->tr[i].user, username) &&
        !strcmp(fk->tr[i].filename, filename) && !terminal(&fk->tr[i]))
      fk->tr[i].behaviour = b;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_download_dir(struct fake_slskd *fk, const char *dir)
{
  pthread_mutex_lock(&fk->mu);
  free(fk->download_dir);
  fk->download_dir = dir ? xstrdup(dir) : NULL;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_search_polls(struct fake_slskd *fk, int polls)
{
  pthread_mutex_lock(&fk->mu);
  fk->search_polls = polls;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_complete_searches(struct fake_slskd *fk)
{
  pthread_mutex_lock(&fk->mu);
  for (size_t i = 0; i < fk->n_searches; i++)
    complete_search(&fk->searches[i], false);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_strict_search(struct fake_slskd *fk, bool strict)
{
  pthread_mutex_lock(&fk->mu);
  fk->strict_search = strict;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_last_search(struct fake_slskd *fk, char *out, size_t n)
{
  pthread_mutex_lock(&fk->mu);
  snprintf(out, n, "%s", fk->last_search);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_auto_advance(struct fake_slskd *fk, bool on)
{
  pthread_mutex_lock(&fk->mu);
  fk->auto_advance = on;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_advance(struct fake_slskd *fk, int steps)
{
  pthread_mutex_lock(&fk->mu);
  advance_locked(fk, steps);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_progress_steps(struct fake_slskd *fk, int steps)
{
  pthread_mutex_lock(&fk->mu);
  fk->progress_steps = steps > 0 ? steps : 1;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_list_mode(struct fake_slskd *fk,
                              enum fake_sk_list_mode mode)
{
  pthread_mutex_lock(&fk->mu);
  fk->list_mode = mode;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_legacy_enqueue(struct fake_slskd *fk, bool legacy)
{
  pthread_mutex_lock(&fk->mu);
  fk->legacy = legacy;
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_enqueue_delay(struct fake_slskd *fk, int ms)
{
  pthread_mutex_lock(&fk->mu);
  fk->enqueue_delay_ms = ms;
  pthread_mutex_unlock(&fk->mu);
}

int fake_slskd_enqueue_peak(struct fake_slskd *fk)
{
  pthread_mutex_lock(&fk->mu);
  int n = fk->peak;
  pthread_mutex_unlock(&fk->mu);
  return n;
}

size_t fake_slskd_enqueue_busy(struct fake_slskd *fk)
{
  pthread_mutex_lock(&fk->mu);
  size_t n = fk->busy;
  pthread_mutex_unlock(&fk->mu);
  return n;
}

size_t fake_slskd_transfer_count(struct fake_slskd *fk)
{
  pthread_mutex_lock(&fk->mu);
  size_t n = fk->n_tr;
  pthread_mutex_unlock(&fk->mu);
  return n;
}

bool fake_slskd_transfer_state(struct fake_slskd *fk, const char *username,
                               const char *filename, char *out, size_t n)
{
  bool found = false;
  pthread_mutex_lock(&fk->mu);
  for (size_t i = fk->n_tr; i-- > 0 && !found;)
    if (!strcmp(fk->tr[i].user, username) &&
        !strcmp(fk->tr[i].filename, filename)) {
      state_text(fk->tr[i].state, out, n);
      found = true;
    }
  pthread_mutex_unlock(&fk->mu);
  return found;
}

void fake_slskd_bench_names(size_t i, char *id, size_t idn, char *user,
                            size_t un, char *filename, size_t fn)
{
  snprintf(id, idn, "%08zx-be0c-4000-8000-%012zx", i, i);
  snprintf(user, un, "bench%03zu", i / 100);
  snprintf(filename, fn,
           "@@bench\\Music\\Artist %zu\\Album %zu (2001)\\%02zu - Track "
           "%zu.flac",
           i / 100, i / 10, i % 10 + 1, i);
}

void fake_slskd_add_bench_transfers(struct fake_slskd *fk, size_t n)
{
  char id[48], user[32], file[160];
  pthread_mutex_lock(&fk->mu);
  for (size_t i = 0; i < n; i++) {
    fake_slskd_bench_names(i, id, sizeof id, user, sizeof user, file,
                           sizeof file);
    struct sk_transfer *t = add_transfer(fk, user, file, 1000000000);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->state = TS_IN_PROGRESS;
    t->step = 2;
    t->started_ms = t->enqueued_ms + 1000;
    t->bytes = 10485760;
  }
  pthread_mutex_unlock(&fk->mu);
}
