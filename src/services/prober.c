/*
 * prober.c - the service prober thread.
 *
 * What counts as "up" (docs/INTEGRATIONS.md, Service probes):
 *   spotify      GET {api_url}/ answers 200 or 401 (the Web API is there)
 *                and, when an account is connected, GET /me through the
 *                Spotify client accepts its token.
 *   slskd        slskd.url set, GET {url}/health is 200, and
 *                GET {url}/api/v0/application accepts our X-API-Key (200).
 *   musicbrainz  GET {url}/artist/<Various Artists>?fmt=json with our
 *                User-Agent answers 200, or 503 (up but throttled);
 *                403 means our User-Agent was refused.
 *   coverart     HEAD {url}/release-group/<mbid>/front answers below 500
 *                (307 to archive.org, 404 and 400 all prove it is there).
 * Transport errors, timeouts and 5xx are down.  Redirects are not followed.
 * A host that asked us to wait (Retry-After; http_client.h's per-host
 * block, also set by the workers' clients) is not called until then and
 * counts as up: it is there, it asked us to wait.
 */
#include "services/prober.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/http_client.h"
#include "clients/musicbrainz.h"
#include "clients/spotify.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define MB_PROBE_ARTIST "89ad4ac3-39f7-470e-963a-56509c546377"
#define CAA_PROBE_GROUP "0b6c2da8-ac60-4663-beae-bd3dc6dea94a"

static pthread_t thread;
static bool thread_started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static bool wake;
static atomic_bool stopping;
static atomic_uint_fast64_t generation = 1;
static struct service_status results[SVC__COUNT];

static const char *const keys[SVC__COUNT] = {"spotify", "slskd", "musicbrainz",
                                             "coverart"};

const char *prober_service_key(enum service_id id) { return keys[id]; }

uint64_t prober_generation(void) { return atomic_load(&generation); }

void prober_get(struct service_status out[SVC__COUNT])
{
  pthread_mutex_lock(&mu);
  memcpy(out, results, sizeof results);
  pthread_mutex_unlock(&mu);
}

static void publish(enum service_id id, const struct service_status *st)
{
  pthread_mutex_lock(&mu);
  bool changed = results[id].up != st->up ||
                 results[id].checked != st->checked ||
                 results[id].blocked_until_ms != st->blocked_until_ms ||
                 strcmp(results[id].reason, st->reason) != 0;
  results[id] = *st;
  pthread_mutex_unlock(&mu);
  if (changed) {
    atomic_fetch_add(&generation, 1);
    log_info("prober", "%s is %s (%s)", keys[id], st->up ? "up" : "down",
             st->reason);
  }
}

/* Performs one GET/HEAD; fills latency/status/reason on st. */
static enum ss_err probe_call(struct http_client *hc, const char *method,
                              const char *url, const char *const *headers,
                              struct service_status *st,
                              struct http_reply *reply)
{
  struct http_call call = {
    .method = method,
    .url = url,
    .headers = headers,
    .timeout_ms = settings_int(S_PROBE_TIMEOUT_SECONDS) * 1000,
    .reply_limit = 64 * 1024,
    .cancel = &stopping,
  };
  enum ss_err rc = http_client_call(hc, &call, reply);
  st->latency_ms = reply->elapsed_ms;
  st->http_status = reply->status;
  if (rc == SS_ETOOBIG)
    rc = SS_OK; /* an oversized answer still proves the host answers */
  if (reply->blocked_until_ms) { /* now, or by this very answer */
    char why[96], when[40];
    st->blocked_until_ms = reply->blocked_until_ms;
    http_host_blocked_until(url, why, sizeof why);
    snprintf(st->reason, sizeof st->reason, "rate limited until %s (%s)",
             spotify_fmt_time(st->blocked_until_ms, when, sizeof when),
             why[0] ? why : "Retry-After");
    return SS_EBUSY;
  }
  if (rc != SS_OK) {
    snprintf(st->reason, sizeof st->reason, "%s", reply->error);
    st->reason_code = ss_reason_of(rc);
  }
  return rc;
}

static void probe_spotify(struct http_client *hc, struct service_status *st)
{
  char url[SETTING_STR_MAX + 8], reason[160];
  size_t n = settings_str(S_SPOTIFY_API_URL, url, sizeof url);
  st->configured = n > 0;
  if (!n) {
    snprintf(st->reason, sizeof st->reason, "not configured");
    return;
  }
  snprintf(url + n, sizeof url - n, "/");
  struct http_reply r;
  if (probe_call(hc, "GET", url, NULL, st, &r) == SS_OK) {
    st->up = r.status == 200 || r.status == 401;
    snprintf(st->reason, sizeof st->reason, "HTTP %ld", r.status);
  }
  http_reply_free(&r);
  if (!st->up || !spotify_connected())
    return;
  enum spotify_verdict
    verdict = spotify_probe_token(settings_int(S_PROBE_TIMEOUT_SECONDS) * 1000,
                                  &stopping, reason, sizeof reason);
  if (verdict == SPOTIFY_TOKEN_REFUSED) {
    st->up = false;
    st->reason_code = SS_R_AUTH; /* the token was refused */
  }
  if (verdict != SPOTIFY_TOKEN_UNKNOWN)
    snprintf(st->reason, sizeof st->reason, "%s", reason);
}

static void probe_slskd(struct http_client *hc, struct service_status *st)
{
  char base[SETTING_STR_MAX], url[SETTING_STR_MAX + 64];
  char key[SETTING_STR_MAX], header[SETTING_STR_MAX + 16];
  settings_str(S_SLSKD_URL, base, sizeof base);
  settings_str(S_SLSKD_API_KEY, key, sizeof key);
  st->configured = base[0] != '\0';
  if (!st->configured) {
    snprintf(st->reason, sizeof st->reason, "not configured");
    return;
  }
  struct http_reply r;
  snprintf(url, sizeof url, "%s/health", base);
  enum ss_err rc = probe_call(hc, "GET", url, NULL, st, &r);
  http_reply_free(&r);
  if (rc != SS_OK)
    return;
  if (st->http_status != 200) {
    snprintf(st->reason, sizeof st->reason, "health check: HTTP %ld",
             st->http_status);
    return;
  }
  snprintf(url, sizeof url, "%s/api/v0/application", base);
  snprintf(header, sizeof header, "X-API-Key: %s", key);
  const char *const headers[] = {header, NULL};
  rc = probe_call(hc, "GET", url, key[0] ? headers : NULL, st, &r);
  http_reply_free(&r);
  if (rc != SS_OK)
    return;
  st->up = st->http_status == 200;
  if (st->http_status == 401 || st->http_status == 403)
    snprintf(st->reason, sizeof st->reason, "%s",
             key[0] ? "API key refused" : "API key required");
  else
    snprintf(st->reason, sizeof st->reason, "HTTP %ld", st->http_status);
}

static void probe_musicbrainz(struct http_client *hc,
                              struct service_status *st)
{
  char base[SETTING_STR_MAX], url[SETTING_STR_MAX + 96];
  settings_str(S_MUSICBRAINZ_URL, base, sizeof base);
  st->configured = base[0] != '\0';
  if (!st->configured) {
    snprintf(st->reason, sizeof st->reason, "not configured");
    return;
  }
  snprintf(url, sizeof url, "%s/artist/" MB_PROBE_ARTIST "?fmt=json", base);
  const char *const headers[] = {"Accept: application/json", NULL};
  struct http_reply r;
  if (probe_call(hc, "GET", url, headers, st, &r) == SS_OK) {
    st->up = r.status == 200 || r.status == 503;
    if (r.status == 503)
      snprintf(st->reason, sizeof st->reason, "up, but throttled (503)");
    else if (r.status == 403)
      snprintf(st->reason, sizeof st->reason, "User-Agent refused (403)");
    else
      snprintf(st->reason, sizeof st->reason, "HTTP %ld", r.status);
  }
  http_reply_free(&r);
}

static void probe_coverart(struct http_client *hc, struct service_status *st)
{
  char base[SETTING_STR_MAX], url[SETTING_STR_MAX + 96];
  settings_str(S_COVERART_URL, base, sizeof base);
  st->configured = base[0] != '\0';
  if (!st->configured) {
    snprintf(st->reason, sizeof st->reason, "not configured");
    return;
  }
  snprintf(url, sizeof url, "%s/release-group/" CAA_PROBE_GROUP "/front",
           base);
  struct http_reply r;
  if (probe_call(hc, "HEAD", url, NULL, st, &r) == SS_OK) {
    st->up = r.status > 0 && r.status < 500;
    snprintf(st->reason, sizeof st->reason, "HTTP %ld", r.status);
  }
  http_reply_free(&r);
}

/* The machine reason of a probe's verdict (core/err.h). */
static enum ss_reason reason_code(const struct service_status *st)
{
  if (!st->configured)
    return SS_R_NOT_CONFIGURED;
  if (st->blocked_until_ms)
    return SS_R_RATE_LIMITED;
  if (st->up)
    return SS_R_NONE;
  if (st->reason_code != SS_R_NONE)
    return st->reason_code; /* no HTTP answer: connection, timeout */
  if (st->http_status == 401 || st->http_status == 403)
    return SS_R_AUTH;
  return SS_R_PROTOCOL;
}

static void probe_all(struct http_client *hc)
{
  void (*const probes[SVC__COUNT])(struct http_client *,
                                   struct service_status *) =
    {probe_spotify, probe_slskd, probe_musicbrainz, probe_coverart};
  for (int i = 0; i < SVC__COUNT && !atomic_load(&stopping); i++) {
    struct service_status st = {0};
    probes[i](hc, &st);
    if (atomic_load(&stopping))
      return;
    if (st.blocked_until_ms)
      st.up = true;
    st.reason_code = reason_code(&st);
    st.checked = true;
    st.checked_ms = clock_wall_ms();
    publish((enum service_id)i, &st);
  }
}

/* Everything that changes a probe's answer, as one comparable string. */
static void signature(char *out, size_t n)
{
  static const enum setting_id ids[] = {S_SPOTIFY_API_URL,
                                        S_SLSKD_URL,
                                        S_SLSKD_API_KEY,
                                        S_MUSICBRAINZ_URL,
                                        S_MUSICBRAINZ_CONTACT,
                                        S_COVERART_URL,
                                        S_PROBE_TIMEOUT_SECONDS};
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof ids / sizeof ids[0] && off < n; i++) {
    char v[SETTING_STR_MAX];
    settings_str(ids[i], v, sizeof v);
    int w = snprintf(out + off, n - off, "%s\x1f", v);
    if (w < 0)
      break;
    off += (size_t)w;
  }
}

/* When the next timed round of probes is due. */
static struct timespec next_probe_deadline(void)
{
  return clock_mono_deadline(settings_int(S_PROBE_INTERVAL_SECONDS) * 1000);
}

static void *prober_main(void *arg)
{
  (void)arg;
  pthread_setname_np(pthread_self(), "ss-prober");
  char ua[SETTING_STR_MAX + 64];
  char sig[8 * SETTING_STR_MAX], now_sig[8 * SETTING_STR_MAX];
  mb_user_agent(ua, sizeof ua);
  struct http_client *hc = http_client_new(ua);
  signature(sig, sizeof sig);
  probe_all(hc);
  struct timespec next = next_probe_deadline();

  pthread_mutex_lock(&mu);
  /* A change that arrives while a cycle runs may have been read half-way
   * (e.g. a URL set and cleared again): such a cycle is redone. */
  bool redo = wake;
  while (!atomic_load(&stopping)) {
    int timed_out = 0;
    while (!wake && !atomic_load(&stopping) && !timed_out)
      timed_out = pthread_cond_timedwait(&cv, &mu, &next);
    wake = false;
    if (atomic_load(&stopping))
      break;
    signature(now_sig, sizeof now_sig);
    bool changed = strcmp(sig, now_sig) != 0;
    if (!changed && !timed_out && !redo) {
      /* Another setting changed; the interval may have. */
      next = next_probe_deadline();
      continue;
    }
    memcpy(sig, now_sig, sizeof sig);
    pthread_mutex_unlock(&mu);
    if (changed) {
      mb_user_agent(ua, sizeof ua);
      http_client_free(hc);
      hc = http_client_new(ua);
    }
    probe_all(hc);
    pthread_mutex_lock(&mu);
    redo = wake;
    next = next_probe_deadline();
  }
  pthread_mutex_unlock(&mu);
  http_client_free(hc);
  return NULL;
}

static void on_settings_changed(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  wake = true;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

enum ss_err prober_start(void)
{
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv, &attr);
  pthread_condattr_destroy(&attr);
  atomic_store(&stopping, false);
  memset(results, 0, sizeof results);
  for (int i = 0; i < SVC__COUNT; i++)
    snprintf(results[i].reason, sizeof results[i].reason, "not checked yet");
  settings_subscribe(on_settings_changed, NULL);
  if (pthread_create(&thread, NULL, prober_main, NULL) != 0)
    return SS_EIO;
  thread_started = true;
  return SS_OK;
}

void prober_stop(void)
{
  settings_unsubscribe(on_settings_changed, NULL);
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
