/*
 * test_sdnotify.c - unit tests of core/sdnotify.c against a datagram
 * socket of the test's own (what systemd listens on): nothing without
 * NOTIFY_SOCKET; READY=1 with the status; STATUS= only when it changed;
 * WATCHDOG=1 on every live tick and none while not live (the status then
 * says why); the tick period follows WATCHDOG_USEC; WATCHDOG_PID of
 * another process means no watchdog for us.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sdnotify.h"

static int sock = -1;
static char path[108];

static int setup(void **state)
{
  (void)state;
  snprintf(path, sizeof path, "/tmp/test_sdnotify_unit.%d.sock",
           (int)getpid());
  unlink(path);
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  setenv("NOTIFY_SOCKET", path, 1);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  close(sock);
  unlink(path);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  return 0;
}

/* Every message waiting on the socket (sd_notify sends before it
 * returns), each followed by "|"; "" when none. */
static const char *drain(void)
{
  static char all[8192];
  char msg[2048];
  size_t len = 0;
  ssize_t n;
  all[0] = '\0';
  while ((n = recv(sock, msg, sizeof msg - 1, 0)) > 0) {
    msg[n] = '\0';
    len += (size_t)snprintf(all + len, sizeof all - len, "%s|", msg);
  }
  return all;
}

static void test_off_without_socket(void **state)
{
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  setenv("WATCHDOG_USEC", "2000000", 1);
  sdnotify_init();
  assert_false(sdnotify_enabled());
  assert_int_equal(sdnotify_watchdog_usec(), 0);
  sdnotify_ready("s");
  assert_int_equal(sdnotify_tick("s", true, ""), -1);
  sdnotify_stopping();
  assert_string_equal(drain(), "");
}

static void test_ready_and_status(void **state)
{
  (void)state;
  sdnotify_init();
  assert_true(sdnotify_enabled());
  assert_int_equal(sdnotify_watchdog_usec(), 0);
  sdnotify_ready("listening on http://127.0.0.1:1; Björk");
  assert_string_equal(
    drain(), "READY=1\nSTATUS=listening on http://127.0.0.1:1; Björk|");
  /* Same status: nothing; no watchdog: never WATCHDOG=1. */
  assert_int_equal(sdnotify_tick("listening on http://127.0.0.1:1; Björk",
                                 true, ""),
                   SDNOTIFY_TICK_MS);
  assert_string_equal(drain(), "");
  assert_int_equal(sdnotify_tick("1 in error: spotify_sync", false, "x"),
                   SDNOTIFY_TICK_MS);
  assert_string_equal(drain(), "STATUS=1 in error: spotify_sync|");
  sdnotify_stopping();
  assert_string_equal(drain(), "STOPPING=1\nSTATUS=stopping|");
}

static void test_watchdog_follows_liveness(void **state)
{
  (void)state;
  setenv("WATCHDOG_USEC", "600000", 1); /* 600 ms: tick every 300 ms */
  sdnotify_init();
  assert_int_equal(sdnotify_watchdog_usec(), 600000);
  sdnotify_ready("ok");
  assert_string_equal(drain(), "READY=1\nSTATUS=ok|");
  assert_int_equal(sdnotify_tick("ok", true, ""), 300);
  assert_string_equal(drain(), "WATCHDOG=1|");
  assert_int_equal(sdnotify_tick("ok", true, ""), 300);
  assert_string_equal(drain(), "WATCHDOG=1|");

  /* A stale unit: no ping, and the status says why (once). */
  assert_int_equal(sdnotify_tick("ok", false,
                                 "cleanup: no heartbeat for "
                                 "95 s"),
                   300);
  assert_string_equal(drain(), "STATUS=ok; watchdog withheld: cleanup: no "
                               "heartbeat for 95 s|");
  assert_int_equal(sdnotify_tick("ok", false,
                                 "cleanup: no heartbeat for "
                                 "95 s"),
                   300);
  assert_string_equal(drain(), "");

  /* Live again: the plain status and the pings come back. */
  assert_int_equal(sdnotify_tick("ok", true, ""), 300);
  assert_string_equal(drain(), "STATUS=ok|WATCHDOG=1|");
}

static void test_watchdog_period_cap_and_pid(void **state)
{
  (void)state;
  setenv("WATCHDOG_USEC", "60000000", 1); /* 60 s: the 1 s tick is shorter */
  sdnotify_init();
  assert_int_equal(sdnotify_tick("ok", true, ""), SDNOTIFY_TICK_MS);
  assert_string_equal(drain(), "STATUS=ok|WATCHDOG=1|");

  setenv("WATCHDOG_USEC", "1000", 1); /* 1 ms: at least 1 ms */
  sdnotify_init();
  assert_int_equal(sdnotify_tick("ok", true, ""), 1);
  drain();

  /* The watchdog is for another process (WATCHDOG_PID): not ours. */
  char other[32];
  snprintf(other, sizeof other, "%d", (int)getppid());
  setenv("WATCHDOG_USEC", "600000", 1);
  setenv("WATCHDOG_PID", other, 1);
  sdnotify_init();
  assert_true(sdnotify_enabled());
  assert_int_equal(sdnotify_watchdog_usec(), 0);
  assert_int_equal(sdnotify_tick("ok", true, ""), SDNOTIFY_TICK_MS);
  assert_string_equal(drain(), "STATUS=ok|");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(test_off_without_socket),
    T(test_ready_and_status),
    T(test_watchdog_follows_liveness),
    T(test_watchdog_period_cap_and_pid),
#undef T
  };
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0)
    log_set_fd(devnull); /* the liveness messages */
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  if (devnull >= 0)
    close(devnull);
  return failed;
}
