/*
 * http_client.c - libcurl wrapper: timeouts, capped bodies, cancellation,
 * and the process-wide Retry-After block per host.
 *
 * The block table is a fixed array under one mutex, held only for lookups
 * and updates (never across a transfer).  Hosts are keyed by libcurl's URL
 * parser as "scheme://host:port" (default ports filled in), so
 * "http://127.0.0.1:5030/x" and "http://127.0.0.1:5030" share one entry.
 */
#include "clients/http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define BLOCK_SLOTS 32
#define BLOCK_KEY_MAX 300
#define BLOCK_REASON_MAX 160
#define RETRY_AFTER_MAX_S 86400

static struct {
  pthread_mutex_t mu;
  struct {
    char key[BLOCK_KEY_MAX];
    int64_t until_ms;
    char reason[BLOCK_REASON_MAX];
  } slot[BLOCK_SLOTS];
} blocks = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* "scheme://host:port" of url into key; false when url does not parse. */
static bool host_key(const char *url, char *key, size_t n)
{
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  bool ok = u && url &&
            curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
              CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
              CURLUE_OK;
  if (ok) {
    ok = (size_t)snprintf(key, n, "%s://%s:%s", scheme, host, port) < n;
    for (char *p = key; ok && *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return ok;
}

int64_t http_host_blocked_until(const char *url, char *reason, size_t n)
{
  char key[BLOCK_KEY_MAX];
  int64_t until = 0;
  if (reason && n)
    reason[0] = '\0';
  if (!host_key(url, key, sizeof key))
    return 0;
  int64_t now = clock_wall_ms();
  pthread_mutex_lock(&blocks.mu);
  for (int i = 0; i < BLOCK_SLOTS; i++)
    if (blocks.slot[i].until_ms > now && !strcmp(blocks.slot[i].key, key)) {
      until = blocks.slot[i].until_ms;
      if (reason && n)
        snprintf(reason, n, "%s", blocks.slot[i].reason);
    }
  pthread_mutex_unlock(&blocks.mu);
  return until;
}

void http_host_block(const char *url, int64_t until_ms, const char *reason)
{
  char key[BLOCK_KEY_MAX];
  if (!host_key(url, key, sizeof key))
    return;
  pthread_mutex_lock(&blocks.mu);
  int use = -1, oldest = 0;
  for (int i = 0; i < BLOCK_SLOTS && use < 0; i++)
    if (!strcmp(blocks.slot[i].key, key))
      use = i;
  for (int i = 0; i < BLOCK_SLOTS && use < 0; i++)
    if (blocks.slot[i].until_ms < blocks.slot[oldest].until_ms)
      oldest = i;
  if (use < 0) {
    use = oldest;
    snprintf(blocks.slot[use].key, sizeof blocks.slot[use].key, "%s", key);
    blocks.slot[use].until_ms = 0;
  }
  if (until_ms > blocks.slot[use].until_ms)
    blocks.slot[use].until_ms = until_ms;
  snprintf(blocks.slot[use].reason, sizeof blocks.slot[use].reason, "%s",
           reason ? reason : "");
  pthread_mutex_unlock(&blocks.mu);
}

void http_host_blocks_reset(void)
{
  pthread_mutex_lock(&blocks.mu);
  memset(blocks.slot, 0, sizeof blocks.slot);
  pthread_mutex_unlock(&blocks.mu);
}

/* Wall ms a Retry-After value points at (delay seconds or an HTTP date),
 * capped at a day; 0 when absent, unreadable or not in the future ("0":
 * retry at once). */
static int64_t retry_after_until(const char *v, int64_t now)
{
  int64_t secs;
  if (!v[0])
    return 0;
  if (strspn(v, "0123456789") == strlen(v)) {
    secs = strlen(v) > 6 ? RETRY_AFTER_MAX_S : strtol(v, NULL, 10);
  } else {
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
      return 0;
    secs = ((int64_t)t * 1000 - now + 999) / 1000;
  }
  if (secs < 1)
    return 0;
  if (secs > RETRY_AFTER_MAX_S)
    secs = RETRY_AFTER_MAX_S;
  return now + secs * 1000;
}

static void fmt_until(int64_t wall_ms, char *out, size_t n)
{
  time_t t = (time_t)(wall_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (!strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm) && n)
    out[0] = '\0';
}

struct http_client {
  CURL *easy;
  char *user_agent;
};

struct http_client *http_client_new(const char *user_agent)
{
  struct http_client *c = xcalloc(1, sizeof *c);
  c->easy = curl_easy_init();
  if (!c->easy) {
    fprintf(stderr, "curl_easy_init failed\n");
    abort();
  }
  c->user_agent = xstrdup(user_agent);
  return c;
}

void http_client_free(struct http_client *c)
{
  if (!c)
    return;
  curl_easy_cleanup(c->easy);
  free(c->user_agent);
  free(c);
}

void http_reply_free(struct http_reply *reply) { buf_free(&reply->body); }

void http_client_user_agent(char *out, size_t n, const char *contact)
{
  snprintf(out, n, "soulspotd/%s ( %s )", SOULSPOT_VERSION,
           contact && contact[0] ? contact : "self-hosted soulspotd");
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
  struct http_reply *r = arg;
  size_t n = size * nmemb;
  if (buf_append(&r->body, p, n) != SS_OK)
    return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
  return n;
}

static void copy_header_value(char *dst, size_t n, const char *p, size_t len)
{
  while (len && (*p == ' ' || *p == '\t')) {
    p++;
    len--;
  }
  while (len &&
         (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
    len--;
  if (len >= n)
    len = n - 1;
  memcpy(dst, p, len);
  dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
  struct http_reply *r = arg;
  size_t n = size * nmemb;
  if (n > 5 && !strncmp(p, "HTTP/", 5)) {
    /* A new response (after a redirect): forget the previous one's. */
    r->content_type[0] = r->location[0] = r->retry_after[0] = '\0';
    r->content_length[0] = '\0';
  }
  static const struct {
    const char *name;
    size_t off, cap;
  } wanted[] = {
    {"content-type:", offsetof(struct http_reply, content_type), 128},
    {"location:", offsetof(struct http_reply, location), 1024},
    {"retry-after:", offsetof(struct http_reply, retry_after), 32},
    {"content-length:", offsetof(struct http_reply, content_length), 32},
  };
  for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
    size_t ln = strlen(wanted[i].name);
    if (n > ln && !strncasecmp(p, wanted[i].name, ln))
      copy_header_value((char *)r + wanted[i].off, wanted[i].cap, p + ln,
                        n - ln);
  }
  return n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d)
{
  (void)a, (void)b, (void)c, (void)d;
  const atomic_bool *cancel = arg;
  return cancel && atomic_load(cancel) ? 1 : 0;
}

enum ss_err http_client_call(struct http_client *c,
                             const struct http_call *call,
                             struct http_reply *reply)
{
  memset(reply, 0, sizeof *reply);
  buf_init(&reply->body,
           call->reply_limit ? call->reply_limit : BUF_LIMIT_DEFAULT);
  char reason[BLOCK_REASON_MAX], when[40];
  int64_t blocked = http_host_blocked_until(call->url, reason, sizeof reason);
  if (blocked) {
    fmt_until(blocked, when, sizeof when);
    snprintf(reply->error, sizeof reply->error, "rate limited until %s%s%s%s",
             when, reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
    reply->blocked_until_ms = blocked;
    return SS_EBUSY;
  }
  CURL *e = c->easy;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, call->url);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   call->timeout_ms > 0 ? call->timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   call->timeout_ms > 0 ? call->timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
                   call->follow_redirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  if (call->reply_limit)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)call->reply_limit);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, reply);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, reply);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)call->cancel);
  const char *method = call->method ? call->method : "GET";
  if (strcmp(method, "GET"))
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "HEAD"))
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (call->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)call->body_len);
  }
  struct curl_slist *headers = NULL;
  for (size_t i = 0; call->headers && call->headers[i]; i++)
    headers = curl_slist_append(headers, call->headers[i]);
  if (headers)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);

  CURLcode cc = curl_easy_perform(e);
  curl_slist_free_all(headers);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply->status);
  double total = 0;
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &total);
  reply->elapsed_ms = (long)(total * 1000);
  if (reply->status == 429 || reply->status == 503) {
    int64_t until = retry_after_until(reply->retry_after, clock_wall_ms());
    if (until) {
      snprintf(reason, sizeof reason, "HTTP %ld", reply->status);
      http_host_block(call->url, until, reason);
      reply->blocked_until_ms = http_host_blocked_until(call->url, NULL, 0);
      log_info("http",
               "HTTP %ld with Retry-After %s: no calls to this host "
               "for %lld s",
               reply->status, reply->retry_after,
               (long long)((until - clock_wall_ms() + 999) / 1000));
    }
  }

  if (cc == CURLE_OK)
    return SS_OK;
  if (cc == CURLE_WRITE_ERROR && !buf_ok(&reply->body)) {
    snprintf(reply->error, sizeof reply->error, "reply larger than %zu bytes",
             reply->body.limit);
    return SS_ETOOBIG;
  }
  if (cc == CURLE_FILESIZE_EXCEEDED) {
    snprintf(reply->error, sizeof reply->error,
             "reply of %s bytes is larger than %zu bytes",
             reply->content_length[0] &&
                 strspn(reply->content_length, "0123456789") ==
                   strlen(reply->content_length)
               ? reply->content_length
               : "more",
             reply->body.limit);
    return SS_ETOOBIG;
  }
  long redirects = 0;
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
  if (cc == CURLE_TOO_MANY_REDIRECTS ||
      (cc == CURLE_UNSUPPORTED_PROTOCOL && redirects > 0)) {
    reply->bad_redirect = true;
    snprintf(reply->error, sizeof reply->error, "%s",
             cc == CURLE_TOO_MANY_REDIRECTS
               ? "more than 5 redirects"
               : "redirect to a protocol other than http or https");
    return SS_ENET;
  }
  if (cc == CURLE_ABORTED_BY_CALLBACK) {
    snprintf(reply->error, sizeof reply->error, "canceled");
    return SS_ECANCELED;
  }
  snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(cc));
  return cc == CURLE_OPERATION_TIMEDOUT ? SS_ETIMEDOUT : SS_ENET;
}
