/*
 * test_filter.c - lets every cmocka test binary run only some of its tests.
 *
 *   build/tests/unit/unit_test_core 'test_buf_*'
 *   SS_TEST_FILTER='*keep_alive*' build/tests/integration/integration_test_x
 *
 * The first command-line argument, or else the environment variable
 * SS_TEST_FILTER, is handed to cmocka_set_test_filter() (shell-style '*' and
 * '?'); without either, every test runs.  This file is compiled into every
 * unit and integration test binary (CMakeLists.txt) and does its work in a
 * constructor, so the test files' main() functions stay as they are: glibc
 * passes argc/argv/envp to functions in .init_array.
 *
 * Threading: runs once, before main(), on the main thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void test_filter_init(int argc, char **argv, char **envp)
{
  (void)envp;
  const char *pattern = argc > 1 && argv[1][0] ? argv[1]
                                               : getenv("SS_TEST_FILTER");
  if (pattern && pattern[0])
    cmocka_set_test_filter(pattern);
}

__attribute__((section(".init_array"), used)) static void (
    *const test_filter_ctor)(int, char **, char **) = test_filter_init;
