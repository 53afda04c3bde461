/*
 * testhook.h - crash points for the kill -9 tests and shorter times.
 *
 * TESTHOOK_CRASH("step") makes the process SIGKILL itself when the
 * environment variable SOULSPOT_TEST_CRASH_AT names that step.  It exists
 * only in the test build of the daemon (soulspotd-testhooks, compiled with
 * SOULSPOT_TEST_HOOKS); in the product it is an empty statement, so
 * neither the variable's name nor the code is in build/soulspotd.
 *
 * Threading: any thread.
 */
#ifndef SS_TESTHOOK_H
#define SS_TESTHOOK_H

#ifdef SOULSPOT_TEST_HOOKS
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static inline void testhook_crash(const char *step)
{
  const char *at = getenv("SOULSPOT_TEST_CRASH_AT");
  if (at && !strcmp(at, step)) {
    log_warn("testhook", "SOULSPOT_TEST_CRASH_AT=%s: killing myself", step);
    raise(SIGKILL);
  }
}
#define TESTHOOK_CRASH(step) testhook_crash(step)
#else
#define TESTHOOK_CRASH(step) ((void)0)
#endif

/* TESTHOOK_MS(key, dflt): a shorter time for the tests.  In the test build
 * the value of key in SOULSPOT_TEST_MS ("token_refresh=300,notify.window=
 * 2000": a unit's interval by its key, the notification rate-limit window)
 * replaces dflt; in the product it is dflt. */
#ifdef SOULSPOT_TEST_HOOKS
static inline int64_t testhook_ms(const char *key, int64_t dflt)
{
  const char *s = getenv("SOULSPOT_TEST_MS");
  size_t kl = strlen(key);
  while (s && *s) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len > kl && !strncmp(s, key, kl) && s[kl] == '=') {
      long long v = strtoll(s + kl + 1, NULL, 10);
      return v > 0 ? (int64_t)v : dflt;
    }
    s = end ? end + 1 : NULL;
  }
  return dflt;
}
#define TESTHOOK_MS(key, dflt) testhook_ms(key, dflt)
#else
#define TESTHOOK_MS(key, dflt) (dflt)
#endif

#endif
