/*
 * http_client.c - libcurl wrapper: timeouts, capped bodies, cancellation.
 */
#include "clients/http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/xalloc.h"

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
  while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
                 p[len - 1] == ' '))
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
  static const struct {
    const char *name;
    size_t off, cap;
  } wanted[] = {
    {"content-type:", offsetof(struct http_reply, content_type), 128},
    {"location:", offsetof(struct http_reply, location), 1024},
    {"retry-after:", offsetof(struct http_reply, retry_after), 32},
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

int http_client_call(struct http_client *c, const struct http_call *call,
                     struct http_reply *reply)
{
  memset(reply, 0, sizeof *reply);
  buf_init(&reply->body, call->reply_limit ? call->reply_limit
                                           : BUF_LIMIT_DEFAULT);
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

  if (cc == CURLE_OK)
    return SS_OK;
  if (cc == CURLE_WRITE_ERROR && !buf_ok(&reply->body)) {
    snprintf(reply->error, sizeof reply->error, "reply larger than %zu bytes",
             reply->body.limit);
    return SS_ETOOBIG;
  }
  if (cc == CURLE_ABORTED_BY_CALLBACK) {
    snprintf(reply->error, sizeof reply->error, "canceled");
    return SS_ECANCELED;
  }
  snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(cc));
  return SS_ENET;
}
