/*
 * http_test_client.c - libcurl helpers for the integration tests.
 *
 * Each request installs write and header callbacks that append into the
 * caller's struct hc_resp (capped bufs).  The header buffer is emptied at
 * every status line, so it only holds the final response's headers (a
 * "100 Continue" or redirect never leaks into hc_header()).
 *
 * Threading: curl_global_init runs once (pthread_once).  A session handle is
 * owned by its creator and used by one thread at a time.
 * Ownership: hc_resp bufs belong to the caller (hc_resp_free).
 */
#include "http_test_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"

struct hc_session {
  CURL *curl;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void hc_resp_init(struct hc_resp *r)
{
  memset(r, 0, sizeof *r);
  buf_init(&r->body, HC_BODY_MAX);
  buf_init(&r->headers, HC_HEADERS_MAX);
}

void hc_resp_free(struct hc_resp *r)
{
  buf_free(&r->body);
  buf_free(&r->headers);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
  struct hc_resp *r = arg;
  buf_append(&r->body, p, size * n); /* overflow is sticky; keep reading */
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
  struct hc_resp *r = arg;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
    buf_reset(&r->headers);
  buf_append(&r->headers, p, len);
  return len;
}

static struct curl_slist *build_headers(const char *const *headers)
{
  /* An empty "Expect:" stops curl from sending Expect: 100-continue. */
  struct curl_slist *list = curl_slist_append(NULL, "Expect:");
  for (size_t i = 0; headers && headers[i]; i++)
    list = curl_slist_append(list, headers[i]);
  return list;
}

static void set_method(CURL *c, const char *method, const char *body,
                       size_t body_len)
{
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    return;
  }
  curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  } else if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                   strcmp(method, "GET") == 0 && !body ? NULL : method);
}

static int perform(CURL *c, const char *method, const char *url,
                   const char *const *headers, const char *body,
                   size_t body_len, struct hc_resp *resp)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *list = build_headers(headers);
  hc_resp_free(resp);
  hc_resp_init(resp);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HC_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  set_method(c, method, body, body_len);

  int64_t t0 = clock_mono_ms();
  CURLcode cc = curl_easy_perform(c);
  resp->elapsed_ms = clock_mono_ms() - t0;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(list);
  if (cc != CURLE_OK) {
    snprintf(resp->error, sizeof resp->error, "%.100s: %.255s",
             curl_easy_strerror(cc), errbuf);
    resp->status = 0;
    return SS_ENET;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &resp->new_connections);
  curl_easy_getinfo(c, CURLINFO_LOCAL_PORT, &resp->local_port);
  return SS_OK;
}

int hc_request_n(const char *method, const char *url,
                 const char *const *headers, const char *body, size_t body_len,
                 struct hc_resp *resp)
{
  pthread_once(&global_once, global_init);
  CURL *c = curl_easy_init();
  if (!c) {
    hc_resp_free(resp);
    hc_resp_init(resp);
    snprintf(resp->error, sizeof resp->error, "curl_easy_init failed");
    return SS_ENET;
  }
  int rc = perform(c, method, url, headers, body, body_len, resp);
  curl_easy_cleanup(c);
  return rc;
}

int hc_request(const char *method, const char *url, const char *const *headers,
               const char *body, struct hc_resp *resp)
{
  return hc_request_n(method, url, headers, body, body ? strlen(body) : 0,
                      resp);
}

int hc_get(const char *url, struct hc_resp *resp)
{
  return hc_request("GET", url, NULL, NULL, resp);
}

/* Finds "name:" at a line start of the header block; returns the value. */
static const char *find_header(const char *block, const char *name,
                               size_t *vlen)
{
  size_t nlen = strlen(name);
  const char *line = block;
  while (line && *line) {
    const char *eol = strchr(line, '\n');
    size_t llen = eol ? (size_t)(eol - line) : strlen(line);
    if (llen > nlen && strncasecmp(line, name, nlen) == 0 &&
        line[nlen] == ':') {
      const char *v = line + nlen + 1;
      const char *end = line + llen;
      while (v < end && (*v == ' ' || *v == '\t'))
        v++;
      while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
      *vlen = (size_t)(end - v);
      return v;
    }
    line = eol ? eol + 1 : NULL;
  }
  return NULL;
}

bool hc_header(const struct hc_resp *r, const char *name, char *out, size_t n)
{
  size_t vlen = 0;
  const char *v = find_header(buf_cstr(&r->headers), name, &vlen);
  if (!v)
    return false;
  if (n == 0)
    return true;
  if (vlen >= n)
    vlen = n - 1;
  memcpy(out, v, vlen);
  out[vlen] = '\0';
  return true;
}

struct hc_session *hc_session_new(void)
{
  pthread_once(&global_once, global_init);
  struct hc_session *s = xcalloc(1, sizeof *s);
  s->curl = curl_easy_init();
  return s;
}

int hc_session_request(struct hc_session *s, const char *method,
                       const char *url, const char *const *headers,
                       const char *body, struct hc_resp *resp)
{
  if (!s->curl) {
    hc_resp_free(resp);
    hc_resp_init(resp);
    snprintf(resp->error, sizeof resp->error, "no curl handle");
    return SS_ENET;
  }
  return perform(s->curl, method, url, headers, body, body ? strlen(body) : 0,
                 resp);
}

void hc_session_free(struct hc_session *s)
{
  if (!s)
    return;
  if (s->curl)
    curl_easy_cleanup(s->curl);
  free(s);
}
