/*
 * notify.c - the notification queue, its sender thread, the request
 * formats of the three targets and the per-target rate limit + digest.
 *
 * Design: producers only take the queue mutex for a copy (never the
 * network); the sender thread pops one event at a time and, for each
 * configured target, either sends it at once (the limiter has a slot) or
 * folds it into that target's digest.  Between events the thread sleeps
 * until the next event, a test, the earliest pending digest, or stop.
 * No retries: a failed send is final (logged once, counted, shown).
 * Wire formats: see notify_format() in notify.h and docs/API.md.
 */
#include "services/notify.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/http_client.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/utf8.h"

static const char *const kind_names[NOTIFY__KINDS] = {"unit_error",
                                                      "unit_recovered",
                                                      "download_imported",
                                                      "download_failed",
                                                      "release_wanted",
                                                      "spotify_login",
                                                      "test",
                                                      "digest"};
static const char *const target_names[NOTIFY__TARGETS] = {"webhook", "ntfy",
                                                          "gotify"};
static const enum setting_id url_ids[NOTIFY__TARGETS] = {S_NOTIFY_WEBHOOK_URL,
                                                         S_NOTIFY_NTFY_URL,
                                                         S_NOTIFY_GOTIFY_URL};
static const enum setting_id token_ids[NOTIFY__TARGETS] =
  {S__COUNT, S_NOTIFY_NTFY_TOKEN, S_NOTIFY_GOTIFY_TOKEN};

const char *notify_kind_name(enum notify_kind k)
{
  return k < NOTIFY__KINDS ? kind_names[k] : "unknown";
}

const char *notify_target_name(enum notify_target t)
{
  return t < NOTIFY__TARGETS ? target_names[t] : "unknown";
}

int notify_target_lookup(const char *name)
{
  for (int i = 0; name && i < NOTIFY__TARGETS; i++)
    if (!strcmp(name, target_names[i]))
      return i;
  return -1;
}

/* ------------------------------------------------------------------ */
/* Formats                                                             */
/* ------------------------------------------------------------------ */

static bool is_alarm(enum notify_kind k)
{
  return k == NOTIFY_UNIT_ERROR || k == NOTIFY_DOWNLOAD_FAILED ||
         k == NOTIFY_SPOTIFY_LOGIN || k == NOTIFY_DIGEST;
}

/* A header line never carries CR, LF or other control characters. */
static void strip_controls(char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = ' ';
}

/* A header value as text: plain when it is ASCII, else one RFC 2047
 * encoded word (ntfy decodes it); control characters become spaces. */
static void header_value(char *out, size_t n, const char *value)
{
  char clean[NOTIFY_TITLE_MAX];
  utf8_copy(clean, sizeof clean, value);
  strip_controls(clean);
  bool ascii = true;
  for (const char *p = clean; *p && ascii; p++)
    ascii = (unsigned char)*p < 0x80;
  if (ascii) {
    snprintf(out, n, "%s", clean);
    return;
  }
  char b64[sodium_base64_ENCODED_LEN(NOTIFY_TITLE_MAX,
                                     sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, (const unsigned char *)clean,
                    strlen(clean), sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, n, "=?UTF-8?B?%s?=", b64);
}

static void iso_time(char *out, size_t n, int64_t wall_ms)
{
  time_t t = (time_t)(wall_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Appends "Name: value" (printf) to h's headers; control characters
 * become spaces, so no value can start a header line of its own. */
static void add_header(struct notify_http *h, size_t *nh, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void add_header(struct notify_http *h, size_t *nh, const char *fmt, ...)
{
  DEBUGASSERT(*nh < NOTIFY_HEADERS);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->hbuf[*nh], NOTIFY_HEADER_MAX, fmt, ap);
  va_end(ap);
  strip_controls(h->hbuf[*nh]);
  h->headers[*nh] = h->hbuf[*nh];
  (*nh)++;
}

enum ss_err notify_format(enum notify_target t, const struct notify_msg *m,
                          const char *url, const char *token,
                          struct notify_http *out, char *err, size_t errlen)
{
  memset(out->headers, 0, sizeof out->headers);
  buf_init(&out->body, 16 * 1024);
  size_t nh = 0;
  char at[32], title[NOTIFY_HEADER_MAX];
  iso_time(at, sizeof at, m->at_ms);
  token = token ? token : "";
  switch (t) {
  case NOTIFY_WEBHOOK:
    snprintf(out->url, sizeof out->url, "%s", url);
    add_header(out, &nh, "Content-Type: application/json");
    buf_puts(&out->body, "{\"source\":\"soulspotd\",\"event\":");
    json_str(&out->body, notify_kind_name(m->kind));
    buf_puts(&out->body, ",\"title\":");
    json_str(&out->body, m->title);
    buf_puts(&out->body, ",\"message\":");
    json_str(&out->body, m->body);
    buf_puts(&out->body, ",\"at\":");
    json_str(&out->body, at);
    buf_puts(&out->body, "}");
    break;
  case NOTIFY_NTFY:
    snprintf(out->url, sizeof out->url, "%s", url);
    header_value(title, sizeof title, m->title);
    add_header(out, &nh, "Title: %s", title);
    add_header(out, &nh, "Priority: %d", is_alarm(m->kind) ? 4 : 3);
    add_header(out, &nh, "Tags: %s,%s",
               is_alarm(m->kind) ? "warning" : "musical_note",
               notify_kind_name(m->kind));
    add_header(out, &nh, "Content-Type: text/plain; charset=utf-8");
    if (token[0])
      add_header(out, &nh, "Authorization: Bearer %s", token);
    buf_puts(&out->body, m->body);
    break;
  case NOTIFY_GOTIFY: {
    if (!token[0]) {
      snprintf(err, errlen, "notify.gotify_token is not set");
      return SS_EINVAL;
    }
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
      ul--;
    snprintf(out->url, sizeof out->url, "%.*s/message", (int)ul, url);
    add_header(out, &nh, "X-Gotify-Key: %s", token);
    add_header(out, &nh, "Content-Type: application/json");
    buf_puts(&out->body, "{\"title\":");
    json_str(&out->body, m->title);
    buf_puts(&out->body, ",\"message\":");
    json_str(&out->body, m->body);
    buf_printf(&out->body, ",\"priority\":%d}", is_alarm(m->kind) ? 8 : 5);
    break;
  }
  default: snprintf(err, errlen, "unknown target"); return SS_EINVAL;
  }
  return buf_ok(&out->body) ? SS_OK : SS_ETOOBIG;
}

void notify_http_free(struct notify_http *h)
{
  buf_free(&h->body);
  sodium_memzero(h->hbuf, sizeof h->hbuf); /* tokens */
}

/* ------------------------------------------------------------------ */
/* Rate limit and digest                                               */
/* ------------------------------------------------------------------ */

/* NOTIFY_WINDOW_MS; shorter in the test build (core/testhook.h). */
static int64_t window_ms(void)
{
  return TESTHOOK_MS("notify.window", NOTIFY_WINDOW_MS);
}

/* Index of a free slot at now, or -1. */
static int free_slot(const struct notify_limiter *l, int64_t now)
{
  for (int i = 0; i < NOTIFY_MAX_PER_WINDOW; i++)
    if (!l->used[i] || l->sent_ms[i] <= now - window_ms())
      return i;
  return -1;
}

static void take_slot(struct notify_limiter *l, int i, int64_t now)
{
  l->used[i] = true;
  l->sent_ms[i] = now;
}

bool notify_limit_offer(struct notify_limiter *l, int64_t now,
                        const struct notify_msg *m)
{
  int i = l->folded_total ? -1 : free_slot(l, now);
  if (i >= 0) {
    take_slot(l, i, now);
    return true;
  }
  l->folded[m->kind < NOTIFY__KINDS ? m->kind : NOTIFY_DIGEST]++;
  l->folded_total++;
  if (l->n_titles < NOTIFY_DIGEST_TITLES)
    utf8_copy(l->titles[l->n_titles++], NOTIFY_TITLE_MAX, m->title);
  return false;
}

bool notify_limit_digest(struct notify_limiter *l, int64_t now, int64_t wall,
                         struct notify_msg *out)
{
  if (!l->folded_total)
    return false;
  int i = free_slot(l, now);
  if (i < 0)
    return false;
  take_slot(l, i, now);
  memset(out, 0, sizeof *out);
  out->kind = NOTIFY_DIGEST;
  out->at_ms = wall;
  snprintf(out->title, sizeof out->title, "soulspotd: %u more event%s",
           l->folded_total, l->folded_total == 1 ? "" : "s");
  struct buf b;
  buf_init(&b, sizeof out->body - 1);
  for (int k = 0; k < NOTIFY__KINDS; k++)
    if (l->folded[k])
      buf_printf(&b, "%s: %u\n", kind_names[k], l->folded[k]);
  buf_puts(&b, "First:");
  for (size_t t = 0; t < l->n_titles; t++)
    buf_printf(&b, "\n- %s", l->titles[t]);
  if (l->folded_total > l->n_titles)
    buf_puts(&b, "\n- ...");
  utf8_copy(out->body, sizeof out->body, b.data ? b.data : "");
  buf_free(&b);
  memset(l->folded, 0, sizeof l->folded);
  l->folded_total = 0;
  l->n_titles = 0;
  return true;
}

int64_t notify_limit_next_ms(const struct notify_limiter *l)
{
  if (!l->folded_total)
    return 0;
  int64_t oldest = INT64_MAX;
  for (int i = 0; i < NOTIFY_MAX_PER_WINDOW; i++) {
    if (!l->used[i])
      return 1; /* a free slot: now */
    if (l->sent_ms[i] < oldest)
      oldest = l->sent_ms[i];
  }
  return oldest + window_ms();
}

/* ------------------------------------------------------------------ */
/* Queue, status, sender thread                                        */
/* ------------------------------------------------------------------ */

struct queued {
  struct notify_msg m;
  int test_target; /* -1: every target */
};

static pthread_t thread;
static bool thread_started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static atomic_bool running;
static atomic_bool stopping;
static struct queued queue[NOTIFY_QUEUE_MAX];
static size_t q_head, q_len;
static atomic_uint_fast64_t dropped;
static struct notify_target_status status[NOTIFY__TARGETS];
static struct notify_limiter limiters[NOTIFY__TARGETS]; /* sender only */

static bool kind_enabled(enum notify_kind k)
{
  switch (k) {
  case NOTIFY_UNIT_ERROR:
  case NOTIFY_UNIT_RECOVERED: return settings_bool(S_NOTIFY_ON_UNIT_ERRORS);
  case NOTIFY_DOWNLOAD_IMPORTED:
  case NOTIFY_DOWNLOAD_FAILED: return settings_bool(S_NOTIFY_ON_DOWNLOADS);
  case NOTIFY_RELEASE_WANTED: return settings_bool(S_NOTIFY_ON_RELEASES);
  case NOTIFY_SPOTIFY_LOGIN: return settings_bool(S_NOTIFY_ON_SPOTIFY_LOGIN);
  default: return true;
  }
}

static bool any_target(void)
{
  for (int t = 0; t < NOTIFY__TARGETS; t++)
    if (settings_is_set(url_ids[t]))
      return true;
  return false;
}

/* Caller holds mu.  false when the queue is full. */
static bool push(enum notify_kind kind, const char *title, const char *body,
                 int test_target)
{
  if (q_len == NOTIFY_QUEUE_MAX)
    return false;
  struct queued *q = &queue[(q_head + q_len) % NOTIFY_QUEUE_MAX];
  memset(q, 0, sizeof *q);
  q->m.kind = kind;
  q->m.at_ms = clock_wall_ms();
  utf8_copy(q->m.title, sizeof q->m.title, title);
  utf8_copy(q->m.body, sizeof q->m.body, body);
  q->test_target = test_target;
  q_len++;
  pthread_cond_signal(&cv);
  return true;
}

void notify_event(enum notify_kind kind, const char *title, const char *body)
{
  if (!atomic_load(&running) || kind >= NOTIFY__KINDS || !kind_enabled(kind) ||
      !any_target())
    return;
  pthread_mutex_lock(&mu);
  bool ok = push(kind, title, body, -1);
  pthread_mutex_unlock(&mu);
  if (!ok) {
    /* Logged on the first drop of a run of drops only. */
    if (atomic_fetch_add(&dropped, 1) % 100 == 0)
      log_warn("notify", "queue full: %s event dropped",
               notify_kind_name(kind));
  }
}

void notify_unit_state(const char *label, bool error, const char *last_error,
                       enum ss_reason reason)
{
  char title[NOTIFY_TITLE_MAX], body[NOTIFY_BODY_MAX];
  if (error) {
    snprintf(title, sizeof title, "%s: error (%s)", label,
             ss_reason_name(reason));
    snprintf(body, sizeof body, "%s\nReason: %s", last_error,
             ss_reason_name(reason));
  } else {
    snprintf(title, sizeof title, "%s: recovered", label);
    snprintf(body, sizeof body, "%s works again: its last run succeeded.",
             label);
  }
  notify_event(error ? NOTIFY_UNIT_ERROR : NOTIFY_UNIT_RECOVERED, title, body);
}

enum ss_err notify_test(enum notify_target t)
{
  if (!atomic_load(&running) || t >= NOTIFY__TARGETS ||
      !settings_is_set(url_ids[t]))
    return SS_ESTATE;
  pthread_mutex_lock(&mu);
  bool ok = push(NOTIFY_TEST, "soulspotd test message",
                 "This is a test from soulspotd's settings page.", (int)t);
  if (ok)
    status[t].test_pending = true;
  pthread_mutex_unlock(&mu);
  return ok ? SS_OK : SS_EBUSY;
}

void notify_status(struct notify_target_status out[NOTIFY__TARGETS],
                   uint64_t *out_dropped)
{
  pthread_mutex_lock(&mu);
  memcpy(out, status, sizeof status);
  pthread_mutex_unlock(&mu);
  for (int t = 0; t < NOTIFY__TARGETS; t++)
    out[t].configured = settings_is_set(url_ids[t]);
  if (out_dropped)
    *out_dropped = atomic_load(&dropped);
}

/* One POST to target t; records the outcome. */
static void send_one(struct http_client *hc, enum notify_target t,
                     const struct notify_msg *m)
{
  char url[SETTING_STR_MAX], token[SETTING_STR_MAX] = "";
  char err[NOTIFY_ERROR_MAX] = "";
  settings_str(url_ids[t], url, sizeof url);
  if (token_ids[t] != S__COUNT)
    settings_str(token_ids[t], token, sizeof token);
  struct notify_http h;
  enum ss_err rc = notify_format(t, m, url, token, &h, err, sizeof err);
  sodium_memzero(token, sizeof token);
  if (rc == SS_OK && url[0]) {
    struct http_call call = {
      .method = "POST",
      .url = h.url,
      .headers = h.headers,
      .body = h.body.data ? h.body.data : "",
      .body_len = h.body.len,
      .timeout_ms = settings_int(S_NOTIFY_TIMEOUT_SECONDS) * 1000,
      .reply_limit = 16 * 1024,
      .follow_redirects = false,
      .cancel = &stopping,
    };
    struct http_reply r;
    rc = http_client_call(hc, &call, &r);
    if (rc == SS_ETOOBIG)
      rc = SS_OK; /* a long answer is still an answer */
    if (rc != SS_OK)
      snprintf(err, sizeof err, "%s", r.error[0] ? r.error : ss_strerror(rc));
    else if (r.status >= 300 && r.status < 400)
      snprintf(err, sizeof err, "HTTP %ld: redirect not followed", r.status);
    else if (r.status < 200 || r.status >= 300)
      snprintf(err, sizeof err, "HTTP %ld", r.status);
    http_reply_free(&r);
  } else if (rc == SS_OK) {
    snprintf(err, sizeof err, "not configured");
  }
  notify_http_free(&h);
  memset(url, 0, sizeof url);
  bool ok = !err[0];
  pthread_mutex_lock(&mu);
  struct notify_target_status *s = &status[t];
  if (ok)
    s->sent++;
  else
    s->failed++;
  s->has_last = true;
  s->last_ok = ok;
  s->last_test = m->kind == NOTIFY_TEST;
  if (s->last_test)
    s->test_pending = false;
  s->last_ms = clock_wall_ms();
  utf8_copy(s->last_error, sizeof s->last_error, err);
  utf8_copy(s->last_title, sizeof s->last_title, m->title);
  pthread_mutex_unlock(&mu);
  if (ok)
    log_debug("notify", "%s: %s sent", target_names[t],
              notify_kind_name(m->kind));
  else
    log_warn("notify", "%s: %s not sent: %s", target_names[t],
             notify_kind_name(m->kind), err);
}

static void deliver(struct http_client *hc, const struct queued *q)
{
  if (q->test_target >= 0) {
    send_one(hc, (enum notify_target)q->test_target, &q->m);
    return;
  }
  if (!kind_enabled(q->m.kind))
    return;
  for (int t = 0; t < NOTIFY__TARGETS && !atomic_load(&stopping); t++)
    if (settings_is_set(url_ids[t]) &&
        notify_limit_offer(&limiters[t], clock_mono_ms(), &q->m))
      send_one(hc, (enum notify_target)t, &q->m);
}

/* Sends the digests that are due; returns the earliest monotonic time a
 * pending one may go (0: none pending). */
static int64_t flush_digests(struct http_client *hc)
{
  int64_t next = 0;
  for (int t = 0; t < NOTIFY__TARGETS && !atomic_load(&stopping); t++) {
    struct notify_msg m;
    if (!settings_is_set(url_ids[t])) { /* target removed: forget it */
      memset(&limiters[t], 0, sizeof limiters[t]);
      continue;
    }
    if (notify_limit_digest(&limiters[t], clock_mono_ms(), clock_wall_ms(),
                            &m))
      send_one(hc, (enum notify_target)t, &m);
    int64_t when = notify_limit_next_ms(&limiters[t]);
    if (when && (!next || when < next))
      next = when;
  }
  return next;
}

static void *notify_main(void *arg)
{
  (void)arg;
  pthread_setname_np(pthread_self(), "ss-notify");
  char ua[SETTING_STR_MAX + 64];
  http_client_user_agent(ua, sizeof ua, "");
  struct http_client *hc = http_client_new(ua);
  int64_t next_digest = 0;
  pthread_mutex_lock(&mu);
  while (!atomic_load(&stopping)) {
    if (!q_len) {
      if (next_digest) {
        int64_t wait = next_digest - clock_mono_ms();
        /* at least 10 ms, at most a second (the test clock may jump) */
        wait = wait < 10 ? 10 : wait > 1000 ? 1000 : wait;
        struct timespec dl = clock_mono_deadline(wait);
        pthread_cond_timedwait(&cv, &mu, &dl);
      } else {
        pthread_cond_wait(&cv, &mu);
      }
    }
    if (atomic_load(&stopping))
      break;
    struct queued q;
    bool have = q_len > 0;
    if (have) {
      q = queue[q_head];
      q_head = (q_head + 1) % NOTIFY_QUEUE_MAX;
      q_len--;
    }
    pthread_mutex_unlock(&mu);
    if (have)
      deliver(hc, &q);
    next_digest = flush_digests(hc);
    pthread_mutex_lock(&mu);
  }
  pthread_mutex_unlock(&mu);
  http_client_free(hc);
  return NULL;
}

enum ss_err notify_start(void)
{
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv, &attr);
  pthread_condattr_destroy(&attr);
  atomic_store(&stopping, false);
  q_head = q_len = 0;
  memset(status, 0, sizeof status);
  memset(limiters, 0, sizeof limiters);
  if (pthread_create(&thread, NULL, notify_main, NULL) != 0)
    return SS_EIO;
  thread_started = true;
  atomic_store(&running, true);
  return SS_OK;
}

void notify_stop(void)
{
  atomic_store(&running, false);
  if (!thread_started)
    return;
  atomic_store(&stopping, true);
  pthread_mutex_lock(&mu);
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(thread, NULL);
  thread_started = false;
  pthread_cond_destroy(&cv);
}
