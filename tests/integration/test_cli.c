/*
 * test_cli.c - the soulspotd command line: --help and --version; a bad
 * flag, a bad flag value, a missing or unreadable config file, a bad INI
 * value or a bad environment value end with exit code 2 and one message on
 * stderr naming the offender; SIGTERM/SIGINT end the daemon with 0 within
 * 2 s; the port file appears and names the serving port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "core/err.h"
#include "itest.h"

/* Well below the 30 s hangs of the fakes below, and generous for ASan on a
 * loaded machine: "prompt" means "did not wait for the hang". */
#define PROMPT_MS 10000
#define HANG_MS 30000
#define SECRET_TEXT "bad-secret-value-Hq8"

struct cli_result {
  int code;
  struct buf out, err;
};

static void cli_run(const char *const *args, const char *const *env,
                    struct cli_result *res)
{
  buf_init(&res->out, 1 << 20);
  buf_init(&res->err, 1 << 20);
  assert_int_equal(daemon_run_cli(args, env, &res->code, &res->out, &res->err),
                   SS_OK);
}

static void cli_free(struct cli_result *res)
{
  buf_free(&res->out);
  buf_free(&res->err);
}

static size_t line_count(const char *s)
{
  size_t n = 0;
  for (const char *p = s; *p;) {
    size_t len = strcspn(p, "\n");
    if (len > 0)
      n++;
    p += len + (p[len] == '\n');
  }
  return n;
}

/* Exit 2 with exactly one stderr line that names every word in names. */
static void assert_rejected(const struct cli_result *res,
                            const char *const *names)
{
  const char *err = buf_cstr(&res->err);
  if (res->code != 2 || line_count(err) != 1)
    fprintf(stderr, "error: exit %d, stderr:\n%s\n", res->code, err);
  assert_int_equal(res->code, 2);
  assert_int_equal(line_count(err), 1);
  for (size_t i = 0; names[i]; i++) {
    if (!strstr(err, names[i]))
      fprintf(stderr, "error: stderr does not name \"%s\": %s\n", names[i],
              err);
    assert_non_null(strstr(err, names[i]));
  }
}

/* Prepares a folder with a config from ini and runs the daemon on it with
 * --listen 127.0.0.1:0 plus extra args; expects rejection naming names. */
static void run_rejected(void **state, const char *ini,
                         const char *const *extra_args, const char *const *env,
                         const char *const *names)
{
  struct it_fixture *f = *state;
  const char *args[16] = {"--listen",    "127.0.0.1:0", "--data-dir",
                          f->d.data_dir, "--config",    f->d.config_path};
  size_t n = 6;
  struct cli_result res;
  assert_int_equal(daemon_prepare(&f->d, ini), SS_OK);
  args[3] = f->d.data_dir;
  args[5] = f->d.config_path;
  for (size_t i = 0; extra_args && extra_args[i] && n < 15; i++)
    args[n++] = extra_args[i];
  args[n] = NULL;
  cli_run(args, env, &res);
  assert_rejected(&res, names);
  cli_free(&res);
}

/* ---- --help / --version ---- */

static void test_help_lists_every_key(void **state)
{
  static const char *const flags[] = {"--listen", "--data-dir", "--config",
                                      "--help", "--version"};
  const char *const args[] = {"--help", NULL};
  struct cli_result res;
  (void)state;
  cli_run(args, NULL, &res);
  assert_int_equal(res.code, 0);
  const char *out = buf_cstr(&res.out);
  for (size_t i = 0; i < S__COUNT; i++) {
    if (!strstr(out, settings_defs[i].key))
      fprintf(stderr, "error: --help does not list %s\n",
              settings_defs[i].key);
    assert_non_null(strstr(out, settings_defs[i].key));
  }
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    assert_non_null(strstr(out, flags[i]));
  cli_free(&res);
}

static void test_version(void **state)
{
  const char *const args[] = {"--version", NULL};
  struct cli_result res;
  (void)state;
  cli_run(args, NULL, &res);
  assert_int_equal(res.code, 0);
  assert_string_equal(buf_cstr(&res.out), "soulspotd " SOULSPOT_VERSION "\n");
  assert_string_equal(SOULSPOT_VERSION, "0.1.0");
  cli_free(&res);
}

/* ---- rejected command lines ---- */

static void test_bad_flag(void **state)
{
  const char *const extra[] = {"--bogus", NULL};
  const char *const names[] = {"--bogus", NULL};
  run_rejected(state, NULL, extra, NULL, names);
}

static void test_flag_without_value(void **state)
{
  const char *const args[] = {"--config", NULL};
  const char *const names[] = {"--config", NULL};
  struct cli_result res;
  (void)state;
  cli_run(args, NULL, &res);
  assert_rejected(&res, names);
  cli_free(&res);
}

static void test_bad_listen_value(void **state)
{
  const char *const extra[] = {"--listen", "nonsense", NULL};
  const char *const names[] = {"--listen", NULL};
  run_rejected(state, NULL, extra, NULL, names);
}

static void test_missing_config_file(void **state)
{
  const char *const extra[] = {"--config", "/nonexistent/dir/soulspotd.ini",
                               NULL};
  const char *const names[] = {"/nonexistent/dir/soulspotd.ini", NULL};
  run_rejected(state, NULL, extra, NULL, names);
}

static void test_unreadable_config_file(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_prepare(&f->d, NULL), SS_OK);
  /* A folder cannot be read as a file (root ignores chmod 000). */
  const char *const extra[] = {"--config", f->d.data_dir, NULL};
  const char *const names[] = {f->d.data_dir, NULL};
  run_rejected(state, NULL, extra, NULL, names);
}

static void test_bad_config_value(void **state)
{
  const char *const names[] = {"download.poll_interval_seconds", NULL};
  run_rejected(state, "[download]\n\npoll_interval_seconds = 1\n", NULL, NULL,
               names);
}

static void test_bad_config_bool(void **state)
{
  const char *const names[] = {"download.monitor_enabled", NULL};
  run_rejected(state, "[download]\nmonitor_enabled = maybe\n", NULL, NULL,
               names);
}

static void test_unknown_config_key(void **state)
{
  const char *const names[] = {"nope", NULL};
  run_rejected(state, "[download]\nnope = 1\n", NULL, NULL, names);
}

static void test_bad_env_value(void **state)
{
  const char *const env[] = {"SOULSPOT_DOWNLOAD_POLL_INTERVAL_SECONDS=abc",
                             NULL};
  const char *const names[] = {"SOULSPOT_DOWNLOAD_POLL_INTERVAL_SECONDS",
                               NULL};
  run_rejected(state, NULL, NULL, env, names);
}

/* The message names a bad secret's variable but never shows its value. */
static void test_bad_env_secret_not_shown(void **state)
{
  struct it_fixture *f = *state;
  const char *const env[] = {"SOULSPOT_SPOTIFY_CLIENT_SECRET=" SECRET_TEXT
                             "\x01",
                             NULL};
  const char *const names[] = {"SOULSPOT_SPOTIFY_CLIENT_SECRET", NULL};
  const char *args[] = {"--listen", "127.0.0.1:0", "--data-dir", NULL,
                        "--config", NULL,          NULL};
  struct cli_result res;
  assert_int_equal(daemon_prepare(&f->d, NULL), SS_OK);
  args[3] = f->d.data_dir;
  args[5] = f->d.config_path;
  cli_run(args, env, &res);
  assert_rejected(&res, names);
  assert_null(strstr(buf_cstr(&res.err), SECRET_TEXT));
  assert_null(strstr(buf_cstr(&res.out), SECRET_TEXT));
  cli_free(&res);
}

/* The environment overrides the INI file. */
static void test_env_overrides_ini(void **state)
{
  struct it_fixture *f = *state;
  const char *const env[] = {"SOULSPOT_DOWNLOAD_POLL_INTERVAL_SECONDS=42",
                             NULL};
  assert_int_equal(daemon_start(&f->d,
                                "[download]\npoll_interval_seconds = 20\n",
                                env),
                   SS_OK);
  long status = 0;
  json_t *doc = it_get_json(it_url(f, "/api/settings"), &status);
  assert_int_equal(status, 200);
  IT_ASSERT_JSON_INT(json_object_get(doc, "settings"),
                     "download.poll_interval_seconds", 42);
  json_decref(doc);
}

/* ---- signals and the port file ---- */

static void check_stop(void **state, int sig)
{
  struct it_fixture *f = *state;
  int64_t took = 0;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_int_equal(hc_get(it_url(f, "/api/workers/status"), &f->r), SS_OK);
  int status = daemon_stop_within(&f->d, sig, PROMPT_MS, &took);
  if (status != 0)
    fprintf(stderr, "error: signal %d: status %d after %lld ms\n", sig, status,
            (long long)took);
  assert_int_equal(status, 0);
  assert_true(took <= PROMPT_MS);
}

static void test_sigterm_exits_0(void **state) { check_stop(state, SIGTERM); }
static void test_sigint_exits_0(void **state) { check_stop(state, SIGINT); }

/* Shutdown is prompt even with a probe hanging on a service, a client
 * holding an idle keep-alive connection and a unit just asked to run. */
static void test_sigterm_while_busy(void **state)
{
  struct it_fixture *f = *state;
  struct fake_script hang = {.delay_ms = HANG_MS};
  struct buf ini;
  int64_t took = 0;
  assert_int_equal(fake_all_start(&f->fa, "fake-key-0123456789abcdef"), SS_OK);
  fake_http_script(fake_musicbrainz_http(f->fa.musicbrainz), NULL, "*", &hang);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, "fake-key-0123456789abcdef", &ini);
  buf_puts(&ini, "[probe]\ntimeout_seconds = 30\n");
  assert_int_equal(daemon_start(&f->d, buf_cstr(&ini), NULL), SS_OK);
  buf_free(&ini);
  assert_true(fake_http_wait(fake_musicbrainz_http(f->fa.musicbrainz), NULL,
                             "*", 1, 5000));

  struct hc_session *s = hc_session_new();
  assert_int_equal(hc_session_request(s, "GET", it_url(f, "/api/workers"),
                                      NULL, NULL, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(hc_request("POST",
                              it_url(f, "/api/workers/token_refresh/run"),
                              NULL, NULL, &f->r),
                   SS_OK);
  int status = daemon_stop_within(&f->d, SIGTERM, PROMPT_MS, &took);
  hc_session_free(s);
  if (status != 0)
    fprintf(stderr, "error: busy SIGTERM: status %d after %lld ms\n", status,
            (long long)took);
  assert_int_equal(status, 0);
  assert_true(took <= PROMPT_MS);
}

/* Start-up does not wait for a service that does not answer. */
static void test_startup_not_blocked_by_probe(void **state)
{
  struct it_fixture *f = *state;
  struct fake_script hang = {.delay_ms = HANG_MS};
  struct buf ini;
  assert_int_equal(fake_all_start(&f->fa, "fake-key-0123456789abcdef"), SS_OK);
  fake_http_script(fake_musicbrainz_http(f->fa.musicbrainz), NULL, "*", &hang);
  fake_http_script(fake_slskd_http(f->fa.slskd), NULL, "*", &hang);
  buf_init(&ini, 8192);
  fake_all_ini(&f->fa, "fake-key-0123456789abcdef", &ini);
  buf_puts(&ini, "[probe]\ntimeout_seconds = 30\n");
  int rc = daemon_start(&f->d, buf_cstr(&ini), NULL);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
  if (f->d.start_ms >= PROMPT_MS)
    fprintf(stderr, "error: port file after %lld ms\n",
            (long long)f->d.start_ms);
  assert_true(f->d.start_ms < PROMPT_MS);
  assert_int_equal(hc_get(it_url(f, "/api/workers/services"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_true(f->r.elapsed_ms < PROMPT_MS);
}

static void test_port_file(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_true(f->d.port > 0 && f->d.port <= 65535);
  /* The file names the port that serves. */
  assert_int_equal(hc_get(it_url(f, "/api/workers/services"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  /* Written atomically: nothing but the file itself is left behind. */
  DIR *dir = opendir(f->d.data_dir);
  assert_non_null(dir);
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (strstr(e->d_name, "soulspotd.port") &&
        strcmp(e->d_name, "soulspotd.port") != 0)
      fprintf(stderr, "error: leftover %s\n", e->d_name);
    assert_false(strstr(e->d_name, "soulspotd.port") &&
                 strcmp(e->d_name, "soulspotd.port") != 0);
  }
  closedir(dir);
  /* A restart writes the new port. */
  int old = f->d.port;
  assert_int_equal(daemon_restart(&f->d), SS_OK);
  assert_true(f->d.port > 0);
  assert_int_equal(hc_get(it_url(f, "/api/workers/services"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  (void)old;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_help_lists_every_key),
    T(test_version),
    T(test_bad_flag),
    T(test_flag_without_value),
    T(test_bad_listen_value),
    T(test_missing_config_file),
    T(test_unreadable_config_file),
    T(test_bad_config_value),
    T(test_bad_config_bool),
    T(test_unknown_config_key),
    T(test_bad_env_value),
    T(test_bad_env_secret_not_shown),
    T(test_env_overrides_ini),
    T(test_sigterm_exits_0),
    T(test_sigint_exits_0),
    T(test_sigterm_while_busy),
    T(test_startup_not_blocked_by_probe),
    T(test_port_file),
  };
  return cmocka_run_group_tests_name("integration/cli", tests, NULL, NULL);
}
