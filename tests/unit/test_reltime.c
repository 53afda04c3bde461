/* Unit tests: German relative times at every boundary (contract table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/reltime.h"

#define NOW 1800000000000LL /* ms */

static const char *ago(int64_t seconds)
{
  static char out[RELTIME_MAX];
  return reltime_de(NOW, NOW - seconds * 1000, out, sizeof out);
}

static void test_never(void **state)
{
  (void)state;
  char out[RELTIME_MAX];
  assert_string_equal(reltime_de(NOW, 0, out, sizeof out), "noch nie");
  assert_string_equal(reltime_de(NOW, -5, out, sizeof out), "noch nie");
}

static void test_just_now_and_future(void **state)
{
  (void)state;
  assert_string_equal(ago(0), "gerade eben");
  assert_string_equal(ago(59), "gerade eben");
  assert_string_equal(ago(-1), "gerade eben");
  assert_string_equal(ago(-86400), "gerade eben");
}

static void test_minutes(void **state)
{
  (void)state;
  assert_string_equal(ago(60), "vor 1 min");
  assert_string_equal(ago(119), "vor 1 min");
  assert_string_equal(ago(120), "vor 2 min");
  assert_string_equal(ago(3599), "vor 59 min");
}

static void test_hours(void **state)
{
  (void)state;
  assert_string_equal(ago(3600), "vor 1 h");
  assert_string_equal(ago(7199), "vor 1 h");
  assert_string_equal(ago(86399), "vor 23 h");
}

static void test_days(void **state)
{
  (void)state;
  assert_string_equal(ago(86400), "vor 1 d");
  assert_string_equal(ago(2 * 86400 - 1), "vor 1 d");
  assert_string_equal(ago(400 * 86400), "vor 400 d");
}

static void test_truncates_to_whole_seconds(void **state)
{
  (void)state;
  char out[RELTIME_MAX];
  /* 59.999 s ago, but the second boundary makes it 60 whole seconds. */
  /* Both instants count in whole seconds, so output changes only on a
   * whole second of now (this keeps cached renders exact). */
  assert_string_equal(reltime_de(60000, 1, out, sizeof out), "vor 1 min");
  assert_string_equal(reltime_de(119999, 60000, out, sizeof out),
                      "gerade eben");
  assert_string_equal(reltime_de(61000, 999, out, sizeof out), "vor 1 min");
  assert_string_equal(reltime_de(60999, 1000, out, sizeof out), "gerade eben");
}

static void test_until(void **state)
{
  (void)state;
  char out[RELTIME_MAX];
  assert_string_equal(reltime_until_de(NOW, NOW - 5000, out, sizeof out),
                      "jetzt");
  assert_string_equal(reltime_until_de(NOW, NOW, out, sizeof out), "jetzt");
  assert_string_equal(reltime_until_de(NOW, NOW + 59999, out, sizeof out),
                      "in 59 s");
  assert_string_equal(reltime_until_de(NOW, NOW + 60000, out, sizeof out),
                      "in 1 min");
  assert_string_equal(reltime_until_de(NOW, NOW + 3600000, out, sizeof out),
                      "in 1 h");
  assert_string_equal(reltime_until_de(NOW, NOW + 86400000LL * 3, out,
                                       sizeof out),
                      "in 3 d");
}

static void test_small_buffer_is_safe(void **state)
{
  (void)state;
  char out[6];
  reltime_de(NOW, NOW - 400LL * 86400 * 1000, out, sizeof out);
  assert_int_equal(strlen(out), 5);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_never),
    cmocka_unit_test(test_just_now_and_future),
    cmocka_unit_test(test_minutes),
    cmocka_unit_test(test_hours),
    cmocka_unit_test(test_days),
    cmocka_unit_test(test_truncates_to_whole_seconds),
    cmocka_unit_test(test_small_buffer_is_safe),
    cmocka_unit_test(test_until),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
