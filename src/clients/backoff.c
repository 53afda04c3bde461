/*
 * backoff.c - the per-service backoff ladder (see backoff.h).
 *
 * A fixed array of states indexed by enum service_id under one mutex.
 */
#include "clients/backoff.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const int64_t backoff_ladder_ms[BACKOFF_STEPS] =
  {30 * 1000,      2 * 60 * 1000,      5 * 60 * 1000,     15 * 60 * 1000,
   60 * 60 * 1000, 3 * 60 * 60 * 1000, 6 * 60 * 60 * 1000};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct backoff_state states[SVC__COUNT];

const char *backoff_service_name(enum service_id svc)
{
  static const char *const names[SVC__COUNT] = {"Spotify", "slskd",
                                                "MusicBrainz",
                                                "Cover Art Archive"};
  return (unsigned)svc < SVC__COUNT ? names[svc] : "?";
}

bool backoff_applies(enum ss_reason code)
{
  return code == SS_R_CONNECTION || code == SS_R_TIMEOUT ||
         code == SS_R_RATE_LIMITED;
}

int64_t backoff_failed(enum service_id svc, int64_t now_ms,
                       int64_t retry_after_ms, enum ss_reason code,
                       const char *reason)
{
  if ((unsigned)svc >= SVC__COUNT || !backoff_applies(code))
    return 0;
  pthread_mutex_lock(&mu);
  struct backoff_state *s = &states[svc];
  int step = s->failures < BACKOFF_STEPS ? s->failures : BACKOFF_STEPS - 1;
  s->failures++;
  s->until_ms = now_ms + backoff_ladder_ms[step];
  if (retry_after_ms > s->until_ms)
    s->until_ms = retry_after_ms;
  s->code = code;
  snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
  int64_t until = s->until_ms;
  pthread_mutex_unlock(&mu);
  return until;
}

void backoff_succeeded(enum service_id svc)
{
  if ((unsigned)svc >= SVC__COUNT)
    return;
  pthread_mutex_lock(&mu);
  memset(&states[svc], 0, sizeof states[svc]);
  pthread_mutex_unlock(&mu);
}

void backoff_get(enum service_id svc, struct backoff_state *out)
{
  memset(out, 0, sizeof *out);
  if ((unsigned)svc >= SVC__COUNT)
    return;
  pthread_mutex_lock(&mu);
  *out = states[svc];
  pthread_mutex_unlock(&mu);
}

int64_t backoff_until(enum service_id svc, int64_t now_ms)
{
  struct backoff_state s;
  backoff_get(svc, &s);
  return s.until_ms > now_ms ? s.until_ms : 0;
}

bool backoff_blocked(enum service_id svc, int64_t now_ms, char *note, size_t n)
{
  struct backoff_state s;
  backoff_get(svc, &s);
  if (s.until_ms <= now_ms)
    return false;
  if (note && n) {
    char when[32];
    time_t t = (time_t)(s.until_ms / 1000);
    struct tm tm;
    if (!strftime(when, sizeof when, "%H:%M:%S UTC", gmtime_r(&t, &tm)))
      when[0] = '\0';
    /* The time first: a long reason is what a short note loses. */
    snprintf(note, n,
             "%s unavailable %d time(s) in a row; next try after "
             "%s%s%s%s",
             backoff_service_name(svc), s.failures, when,
             s.reason[0] ? " (last: " : "", s.reason, s.reason[0] ? ")" : "");
  }
  return true;
}

void backoff_reset_all(void)
{
  pthread_mutex_lock(&mu);
  memset(states, 0, sizeof states);
  pthread_mutex_unlock(&mu);
}
