/*
 * test_probe_env.c - points every test binary's media pool (media.c) at
 * this build's soulspotd-probe, so a unit test run by hand finds the
 * helper as ctest does (its SOULSPOT_PROBE wins when set).  Compiled into
 * each unit and integration test binary (CMakeLists.txt) and run as a
 * constructor, like test_filter.c.
 *
 * Threading: runs once, before main(), on the main thread.
 */
#include <stdlib.h>

static void test_probe_env_init(void)
{
  setenv("SOULSPOT_PROBE", SOULSPOT_BINARY_DIR "/soulspotd-probe", 0);
}

__attribute__((section(".init_array"),
               used)) static void (*const test_probe_env_ctor)(void) =
  test_probe_env_init;
