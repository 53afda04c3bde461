/*
 * test_sdnotify.c - the daemon as a systemd Type=notify service: with
 * NOTIFY_SOCKET pointing at a datagram socket this test owns, READY=1
 * arrives (with a STATUS= line naming the address and the units) once the
 * server answers, STATUS= follows a settings change, STOPPING=1 comes with
 * SIGTERM; with WATCHDOG_USEC, WATCHDOG=1 pings keep coming while the units
 * beat (every unit's thread is alive); a NOTIFY_SOCKET nobody listens on
 * does not stop the daemon.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "itest.h"

#define WAIT_MS 10000
#define MSG_MAX 4096

struct notify_fixture {
  struct it_fixture it;
  int sock;
  char path[sizeof((struct sockaddr_un *)0)->sun_path];
  char
    env[sizeof "NOTIFY_SOCKET=" + sizeof((struct sockaddr_un *)0)->sun_path];
  struct buf seen; /* every message received, each ending in "\n--\n" */
};

static int setup(void **state)
{
  struct notify_fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  snprintf(f->path, sizeof f->path, "/tmp/test_sdnotify.%d.sock",
           (int)getpid());
  unlink(f->path);
  f->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", f->path);
  if (f->sock < 0 || bind(f->sock, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  snprintf(f->env, sizeof f->env, "NOTIFY_SOCKET=%s", f->path);
  buf_init(&f->seen, 1 << 20);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct notify_fixture *f = *state;
  int rc = 0;
  if (f->it.d.pid && daemon_stop(&f->it.d) != 0)
    rc = -1;
  daemon_cleanup(&f->it.d);
  hc_resp_free(&f->it.r);
  close(f->sock);
  unlink(f->path);
  buf_free(&f->seen);
  free(f);
  return rc;
}

/* Receives messages until one contains want (a whole line, "KEY=value"
 * prefix) or WAIT_MS pass; returns that message (static) or NULL. */
static const char *wait_message(struct notify_fixture *f, const char *want)
{
  static char msg[MSG_MAX + 1];
  int64_t deadline = clock_mono_ms() + WAIT_MS;
  for (;;) {
    int64_t left = deadline - clock_mono_ms();
    if (left <= 0)
      return NULL;
    struct pollfd p = {.fd = f->sock, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0)
      continue;
    ssize_t n = recv(f->sock, msg, MSG_MAX, 0);
    if (n <= 0)
      continue;
    msg[n] = '\0';
    buf_printf(&f->seen, "%s\n--\n", msg);
    for (const char *line = msg; *line; line += strcspn(line, "\n") + 1) {
      if (!strncmp(line, want, strlen(want)))
        return msg;
      if (!line[strcspn(line, "\n")])
        break;
    }
  }
}

static const char *expect_message(struct notify_fixture *f, const char *want)
{
  const char *msg = wait_message(f, want);
  if (!msg)
    fail_msg("no \"%s\" from the daemon within %d ms; got:\n%s", want, WAIT_MS,
             buf_cstr(&f->seen));
  return msg;
}

static void test_ready_status_stopping(void **state)
{
  struct notify_fixture *f = *state;
  const char *const env[] = {f->env, NULL};
  assert_int_equal(daemon_start(&f->it.d,
                                "[automation]\ncleanup_enabled = false\n",
                                env),
                   SS_OK);
  const char *ready = expect_message(f, "READY=1");
  /* READY=1 comes with the first STATUS= line, after the port is bound. */
  char want[160];
  snprintf(want, sizeof want, "STATUS=listening on %s; ", f->it.d.url);
  assert_non_null(strstr(ready, want));
  assert_non_null(strstr(ready, " units enabled, 0 in error"));
  json_t *doc = it_get_json(it_url(&f->it, "/healthz"), NULL);
  assert_non_null(doc);
  json_decref(doc);

  /* A unit switched on shows in the next STATUS= line. */
  int before = 0, total = 0;
  assert_int_equal(sscanf(strstr(ready, "; ") + 2, "%d of %d", &before,
                          &total),
                   2);
  assert_int_equal(it_patch_settings(&f->it,
                                     "{\"automation.cleanup_enabled\": true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&f->it.r, 200);
  snprintf(want, sizeof want,
           "STATUS=listening on %s; %d of %d units "
           "enabled",
           f->it.d.url, before + 1, total);
  expect_message(f, want);

  assert_int_equal(daemon_stop(&f->it.d), 0);
  expect_message(f, "STOPPING=1");
}

static void test_watchdog_pings(void **state)
{
  struct notify_fixture *f = *state;
  const char *const env[] = {f->env, "WATCHDOG_USEC=400000", NULL};
  assert_int_equal(daemon_start(&f->it.d, NULL, env), SS_OK);
  expect_message(f, "READY=1");
  for (int i = 0; i < 3; i++) /* one every 200 ms */
    expect_message(f, "WATCHDOG=1");
  assert_null(strstr(buf_cstr(&f->seen), "withheld"));
  struct buf err;
  buf_init(&err, 1 << 20);
  assert_int_equal(daemon_read_stderr(&f->it.d, &err), SS_OK);
  assert_non_null(strstr(buf_cstr(&err), "watchdog every 200 ms"));
  buf_free(&err);
}

/* True once the daemon's stderr holds the warning (arg: the daemon). */
static bool stderr_warns(void *arg)
{
  struct buf err;
  buf_init(&err, 1 << 20);
  bool found = daemon_read_stderr(arg, &err) == SS_OK &&
               strstr(buf_cstr(&err), "cannot tell systemd READY=1");
  buf_free(&err);
  return found;
}

/* NOTIFY_SOCKET set but nobody listening: a warning, the daemon serves. */
static void test_unreachable_socket(void **state)
{
  struct notify_fixture *f = *state;
  const char *const env[] = {"NOTIFY_SOCKET=/nonexistent/notify.sock", NULL};
  assert_int_equal(daemon_start(&f->it.d, NULL, env), SS_OK);
  json_t *doc = it_get_json(it_url(&f->it, "/healthz"), NULL);
  assert_non_null(doc);
  json_decref(doc);
  /* READY is sent once listening, so /healthz may answer before it. */
  assert_true(it_wait_until(stderr_warns, &f->it.d, 10000));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_ready_status_stopping, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_watchdog_pings, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unreachable_socket, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
