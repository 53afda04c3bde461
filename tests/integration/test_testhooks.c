/*
 * test_testhooks.c - the crash points of core/testhook.h live only in the
 * test build: build/soulspotd does not even hold the name of
 * SOULSPOT_TEST_CRASH_AT, while build/soulspotd-testhooks does (the kill -9
 * tests of test_downloads.c and test_library.c show that the hooks there
 * work).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define HOOK_NAME "SOULSPOT_TEST_CRASH_AT"

/* True when the file at path contains needle. */
static bool file_contains(const char *path, const char *needle)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  assert_true(size > 0);
  rewind(f);
  char *data = malloc((size_t)size);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  bool found = memmem(data, (size_t)size, needle, strlen(needle)) != NULL;
  free(data);
  return found;
}

static void test_product_has_no_crash_hook(void **state)
{
  (void)state;
  if (file_contains(daemon_binary(), HOOK_NAME))
    fail_msg("%s contains %s", daemon_binary(), HOOK_NAME);
}

static void test_test_build_has_the_crash_hook(void **state)
{
  (void)state;
  assert_true(file_contains(daemon_hooks_binary(), HOOK_NAME));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_product_has_no_crash_hook),
    cmocka_unit_test(test_test_build_has_the_crash_hook),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
