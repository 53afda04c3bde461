/*
 * testhook.h - crash points for the kill -9 tests.
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

#endif
