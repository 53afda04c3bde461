/*
 * Unit tests: the per-service backoff ladder (clients/backoff.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "clients/backoff.h"

#define T0 1800000000000LL
#define S 1000LL
#define MIN (60 * S)
#define H (60 * MIN)

static int reset(void **state)
{
  (void)state;
  backoff_reset_all();
  return 0;
}

static void test_ladder_climbs_and_caps(void **state)
{
  (void)state;
  const int64_t want[] = {30 * S, 2 * MIN, 5 * MIN, 15 * MIN, H,
                          3 * H,  6 * H,   6 * H,   6 * H};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    int64_t now = T0 + (int64_t)i * 7 * H;
    assert_int_equal(backoff_failed(SVC_SLSKD, now, 0, SS_R_CONNECTION,
                                    "slskd unreachable at http://nas:5030"),
                     now + want[i]);
    assert_int_equal(backoff_until(SVC_SLSKD, now), now + want[i]);
    assert_int_equal(backoff_until(SVC_SLSKD, now + want[i]), 0);
  }
  struct backoff_state s;
  backoff_get(SVC_SLSKD, &s);
  assert_int_equal(s.failures, 9);
  assert_int_equal(s.code, SS_R_CONNECTION);
  assert_string_equal(s.reason, "slskd unreachable at http://nas:5030");
  /* Other services are untouched. */
  assert_int_equal(backoff_until(SVC_SPOTIFY, T0), 0);
}

static void test_success_steps_back_to_zero(void **state)
{
  (void)state;
  backoff_failed(SVC_MUSICBRAINZ, T0, 0, SS_R_TIMEOUT, "timed out");
  backoff_failed(SVC_MUSICBRAINZ, T0, 0, SS_R_TIMEOUT, "timed out");
  backoff_succeeded(SVC_MUSICBRAINZ);
  struct backoff_state s;
  backoff_get(SVC_MUSICBRAINZ, &s);
  assert_int_equal(s.failures, 0);
  assert_int_equal(s.until_ms, 0);
  assert_int_equal(backoff_failed(SVC_MUSICBRAINZ, T0, 0, SS_R_TIMEOUT, ""),
                   T0 + 30 * S);
}

static void test_retry_after_wins_when_longer(void **state)
{
  (void)state;
  assert_int_equal(backoff_failed(SVC_COVERART, T0, T0 + 10 * MIN,
                                  SS_R_RATE_LIMITED, "HTTP 503"),
                   T0 + 10 * MIN);
  /* shorter than the step: the step */
  assert_int_equal(backoff_failed(SVC_COVERART, T0, T0 + 5 * S,
                                  SS_R_RATE_LIMITED, "HTTP 503"),
                   T0 + 2 * MIN);
}

static void test_user_errors_do_not_climb(void **state)
{
  (void)state;
  const enum ss_reason no[] = {SS_R_AUTH, SS_R_PROTOCOL, SS_R_NOT_CONFIGURED,
                               SS_R_DISK, SS_R_INTERNAL, SS_R_NONE};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
    assert_false(backoff_applies(no[i]));
    assert_int_equal(backoff_failed(SVC_SLSKD, T0, 0, no[i], "refused"), 0);
  }
  struct backoff_state s;
  backoff_get(SVC_SLSKD, &s);
  assert_int_equal(s.failures, 0);
  assert_true(backoff_applies(SS_R_CONNECTION));
  assert_true(backoff_applies(SS_R_TIMEOUT));
  assert_true(backoff_applies(SS_R_RATE_LIMITED));
  /* An unknown service is ignored, not a crash. */
  assert_int_equal(backoff_failed((enum service_id)99, T0, 0, SS_R_CONNECTION,
                                  "x"),
                   0);
  backoff_get((enum service_id)99, &s);
  assert_int_equal(s.failures, 0);
}

/* Every service has its own ladder and the note a deferred run shows. */
static void test_one_ladder_per_service(void **state)
{
  (void)state;
  static const char *const names[SVC__COUNT] = {"Spotify", "slskd",
                                                "MusicBrainz",
                                                "Cover Art Archive"};
  for (int svc = 0; svc < SVC__COUNT; svc++) {
    for (int k = 0; k <= svc; k++) /* svc + 1 failures */
      backoff_failed((enum service_id)svc, T0, 0, SS_R_TIMEOUT,
                     "Bj\xc3\xb6rk <b>&\"' timed out");
    assert_string_equal(backoff_service_name((enum service_id)svc),
                        names[svc]);
  }
  for (int svc = 0; svc < SVC__COUNT; svc++) {
    struct backoff_state s;
    backoff_get((enum service_id)svc, &s);
    assert_int_equal(s.failures, svc + 1);
    assert_int_equal(s.until_ms, T0 + backoff_ladder_ms[svc]);
    char note[320], want[96];
    assert_true(backoff_blocked((enum service_id)svc, T0, note, sizeof note));
    snprintf(want, sizeof want,
             "%s unavailable %d time(s) in a row; next try "
             "after ",
             names[svc], svc + 1);
    assert_non_null(strstr(note, want));
    assert_non_null(strstr(note, "(last: Bj\xc3\xb6rk <b>&\"' timed out)"));
    assert_false(
      backoff_blocked((enum service_id)svc, s.until_ms, note, sizeof note));
  }
  /* 2027-01-15 08:00:00 UTC + 30 s, the time before the reason: a short
   * note keeps it. */
  backoff_reset_all();
  backoff_failed(SVC_MUSICBRAINZ, T0, 0, SS_R_RATE_LIMITED,
                 "MusicBrainz is throttling us (503: a very long reason)");
  char shortnote[72]; /* the text below and its NUL */
  assert_true(
    backoff_blocked(SVC_MUSICBRAINZ, T0 + 1000, shortnote, sizeof shortnote));
  assert_string_equal(shortnote, "MusicBrainz unavailable 1 time(s) in a "
                                 "row; next try after 08:00:30 UTC");
  assert_true(backoff_blocked(SVC_MUSICBRAINZ, T0, NULL, 0));
  assert_false(backoff_blocked(SVC_SPOTIFY, T0, NULL, 0));
  assert_false(backoff_blocked((enum service_id)99, T0, NULL, 0));
  assert_string_equal(backoff_service_name((enum service_id)99), "?");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_ladder_climbs_and_caps, reset),
    cmocka_unit_test_setup(test_success_steps_back_to_zero, reset),
    cmocka_unit_test_setup(test_retry_after_wins_when_longer, reset),
    cmocka_unit_test_setup(test_user_errors_do_not_climb, reset),
    cmocka_unit_test_setup(test_one_ladder_per_service, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
