/*
 * daemon.h - start, stop and inspect a real soulspotd for integration tests.
 *
 * daemon_start() makes a private temporary folder (mkdtemp) holding
 *   data/            the --data-dir (soulspotd.db, soulspotd.port)
 *   soulspotd.ini    the --config file: the test's INI text, plus base URLs
 *                    of the four external services pointing at a closed
 *                    local port for every one the text does not set, so a
 *                    test never reaches the internet by accident
 *   stderr.log       the daemon's stderr (appended across restarts)
 * and runs $SOULSPOT_BUILD/soulspotd (else the soulspotd two levels above
 * the test binary; soulspotd-testhooks when test_hooks is set) with
 * --listen 127.0.0.1:0.  It returns once the daemon
 * has written its port file, or fails after DAEMON_START_TIMEOUT_MS.
 *
 * The child gets the test's environment minus every SOULSPOT_* variable,
 * every proxy variable and systemd's NOTIFY_SOCKET and WATCHDOG_*, plus
 * extra_env ("NAME=value" strings).  It is killed
 * when the test process dies (PR_SET_PDEATHSIG).
 *
 * Threading: call from the test's main thread only.
 * Ownership: struct test_daemon is embedded by the caller, zero-initialised;
 * daemon_cleanup() kills a running child, removes the folder (kept when
 * SOULSPOT_KEEP_TMP is set, for debugging) and frees.
 */
#ifndef SS_TEST_DAEMON_H
#define SS_TEST_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

/* Deadlines against hangs, not speed checks: ASan and a loaded 2-core CI
 * machine make start-up and shutdown take seconds. */
#define DAEMON_START_TIMEOUT_MS 30000
#define DAEMON_STOP_TIMEOUT_MS 15000
#define DAEMON_CLI_TIMEOUT_MS 15000
#define DAEMON_PATH_MAX 512
#define DAEMON_TIMEOUT (-1) /* stop/cli result when the child did not exit */
/* Port the hermetic default service URLs point at (nothing listens). */
#define DAEMON_CLOSED_URL "http://127.0.0.1:1"

struct test_daemon {
  pid_t pid;    /* 0 when not running */
  int port;     /* HTTP port once started */
  char url[64]; /* "http://127.0.0.1:PORT" */
  char root[DAEMON_PATH_MAX];
  char data_dir[DAEMON_PATH_MAX];
  char config_path[DAEMON_PATH_MAX];
  char stderr_path[DAEMON_PATH_MAX];
  char db_path[DAEMON_PATH_MAX];
  char port_path[DAEMON_PATH_MAX];
  char **env;         /* extra_env copy, NULL-terminated (kept for restarts) */
  int64_t start_ms;   /* monotonic ms daemon_start took to see the port */
  const char *listen; /* --listen value; NULL = "127.0.0.1:0" */
  bool test_hooks;    /* run soulspotd-testhooks (crash points compiled in) */
};

/* Path of the soulspotd binary under test (static storage). */
const char *daemon_binary(void);
/* Path of its test build with the crash points of core/testhook.h. */
const char *daemon_hooks_binary(void);

/*
 * Creates the folder (first call), writes the config from ini_text (NULL =
 * empty), spawns the daemon and waits for its port file.  SS_OK, or an
 * SS_E* code after printing the reason and the daemon's stderr to stderr.
 */
int daemon_start(struct test_daemon *d, const char *ini_text,
                 const char *const *extra_env);
/* Creates the folder (first call) and writes the config from ini_text
 * (NULL = empty) without starting anything, e.g. for daemon_run_cli. */
int daemon_prepare(struct test_daemon *d, const char *ini_text);
/* Rewrites the config file (for the next start). */
int daemon_write_config(struct test_daemon *d, const char *ini_text);

/*
 * Sends SIGTERM and waits up to timeout_ms.  Returns the exit code (0-255),
 * 128+signal if it died of a signal, or DAEMON_TIMEOUT (after SIGKILL).
 * elapsed_ms (may be NULL) gets how long it took.  0 when not running.
 */
int daemon_stop_within(struct test_daemon *d, int sig, int timeout_ms,
                       int64_t *elapsed_ms);
/* SIGTERM with DAEMON_STOP_TIMEOUT_MS. */
int daemon_stop(struct test_daemon *d);
/* Stops (SIGTERM) and starts again with the same folder, config and env.
 * Returns SS_OK or SS_EIO when the stop did not exit 0 or the start
 * failed. */
int daemon_restart(struct test_daemon *d);
/* SIGKILL and reap (a crash). */
void daemon_kill9(struct test_daemon *d);
/* Kills a running daemon, removes the folder, frees; d is zeroed. */
void daemon_cleanup(struct test_daemon *d);

/* True while the child has not exited (reaps it if it has). */
bool daemon_alive(struct test_daemon *d);
/* Appends the captured stderr into out (capped by out's limit). */
int daemon_read_stderr(const struct test_daemon *d, struct buf *out);
/* Writes d->url + path into out; returns out. */
const char *daemon_urlf(const struct test_daemon *d, char *out, size_t n,
                        const char *path);

/*
 * Runs the binary with args (NULL-terminated; not including argv[0]) and
 * extra_env, in a scrubbed environment as above, and waits for it to exit
 * within DAEMON_CLI_TIMEOUT_MS (killed otherwise: *exit_code =
 * DAEMON_TIMEOUT).  stdout/stderr are captured into out/err (may be NULL).
 * Returns SS_OK when it ran (whatever the exit code), else SS_EIO.
 */
int daemon_run_cli(const char *const *args, const char *const *extra_env,
                   int *exit_code, struct buf *out, struct buf *err);

/* daemon_run_cli with input (NUL-terminated; NULL = /dev/null) as the
 * child's standard input. */
int daemon_run_cli_input(const char *const *args, const char *const *extra_env,
                         const char *input, int *exit_code, struct buf *out,
                         struct buf *err);

#endif
