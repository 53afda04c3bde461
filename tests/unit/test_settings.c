/*
 * test_settings.c - unit tests of config/settings.c.
 *
 * Every test starts from settings_init() (defaults) and ends with
 * settings_cleanup(), so tests are independent.  INI tests write files into
 * a private temporary folder; environment tests unset what they set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

static char tmp_dir[64];

/* ---- helpers ---- */

static int setup(void **state)
{
  (void)state;
  settings_init();
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  settings_cleanup();
  return 0;
}

static void text_of(enum setting_id id, char *out, size_t n)
{
  settings_str(id, out, n);
}

static void assert_text(enum setting_id id, const char *want)
{
  char got[SETTING_STR_MAX];
  text_of(id, got, sizeof got);
  assert_string_equal(got, want);
}

/* Writes content into a new file of tmp_dir; returns its heap path. */
static char *write_ini(const char *content)
{
  static int counter;
  char *path = NULL;
  FILE *f;
  assert_true(asprintf(&path, "%s/t%d.ini", tmp_dir, counter++) > 0);
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
  assert_int_equal(fclose(f), 0);
  return path;
}

static int load_ini_text(const char *content, char *err, size_t errlen,
                         char **path_out)
{
  char *path = write_ini(content);
  int rc = settings_load_ini(path, err, errlen);
  if (path_out)
    *path_out = path;
  else
    free(path);
  return rc;
}

/* Checks that err starts with "PATH:LINE: ". */
static void assert_err_at(const char *err, const char *path, int line)
{
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
  if (strncmp(err, prefix, strlen(prefix)) != 0)
    fail_msg("error '%s' does not start with '%s'", err, prefix);
}

static void assert_contains(const char *hay, const char *needle)
{
  if (!strstr(hay, needle))
    fail_msg("'%s' does not contain '%s'", hay, needle);
}

static json_t *parse_json(const struct buf *b)
{
  json_error_t jerr;
  json_t *j = json_loads(buf_cstr(b), 0, &jerr);
  if (!j)
    fail_msg("invalid JSON (%s): %s", jerr.text, buf_cstr(b));
  return j;
}

static int patch(const char *body, struct buf *errors)
{
  buf_reset(errors);
  return settings_patch_json(body, strlen(body), errors);
}

/* Parses a patch error body and returns fields[key] (or NULL). */
static const char *field_error(const struct buf *errors, const char *key,
                               char *out, size_t n)
{
  json_t *j = parse_json(errors);
  json_t *msg = json_object_get(json_object_get(j, "fields"), key);
  const char *s = json_string_value(msg);
  if (s)
    snprintf(out, n, "%s", s);
  json_decref(j);
  return s ? out : NULL;
}

static void assert_error_body(const struct buf *errors, const char *want)
{
  json_t *j = parse_json(errors);
  assert_string_equal(json_string_value(json_object_get(j, "error")), want);
  json_decref(j);
}

/* ---- persist hook and subscribers ---- */

struct persist_log {
  int calls;
  int rc;
  size_t n;
  enum setting_id ids[S__COUNT];
  char texts[S__COUNT][SETTING_STR_MAX];
  int64_t seen_interval; /* value visible while the hook runs */
};

static enum ss_err record_persist(void *arg, const enum setting_id *ids,
                                  const char *const *texts, size_t n)
{
  struct persist_log *p = arg;
  p->calls++;
  p->n = n;
  for (size_t i = 0; i < n && i < S__COUNT; i++) {
    p->ids[i] = ids[i];
    snprintf(p->texts[i], sizeof p->texts[i], "%s", texts[i]);
  }
  p->seen_interval = settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS);
  return p->rc;
}

static const char *persisted(const struct persist_log *p, enum setting_id id)
{
  for (size_t i = 0; i < p->n; i++)
    if (p->ids[i] == id)
      return p->texts[i];
  return NULL;
}

struct counter {
  int calls;
  int64_t seen; /* read back inside the callback: no lock may be held */
};

static void count_change(void *arg)
{
  struct counter *c = arg;
  c->calls++;
  c->seen = settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS);
}

/* ---- defaults and lookup ---- */

static void test_defaults(void **state)
{
  (void)state;
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 300);
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_REFRESH_THRESHOLD_MINUTES),
                   10);
  assert_int_equal(settings_int(S_SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS), 60);
  assert_int_equal(settings_int(S_SPOTIFY_ARTISTS_SYNC_INTERVAL_MINUTES), 5);
  assert_int_equal(settings_int(S_SPOTIFY_PLAYLISTS_SYNC_INTERVAL_MINUTES),
                   10);
  assert_int_equal(settings_int(S_SPOTIFY_ALBUMS_SYNC_INTERVAL_MINUTES), 15);
  assert_int_equal(settings_int(S_DOWNLOAD_POLL_INTERVAL_SECONDS), 10);
  assert_int_equal(settings_int(S_AUTOMATION_WATCHLIST_INTERVAL_MINUTES), 60);
  assert_int_equal(settings_int(S_AUTOMATION_CLEANUP_RETENTION_DAYS), 7);
  assert_int_equal(settings_int(S_AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS),
                   168);
  assert_true(settings_bool(S_SPOTIFY_TOKEN_REFRESH_ENABLED));
  assert_true(settings_bool(S_SPOTIFY_AUTO_SYNC_ENABLED));
  assert_true(settings_bool(S_DOWNLOAD_MONITOR_ENABLED));
  assert_false(settings_bool(S_AUTOMATION_WATCHLIST_ENABLED));
  assert_false(settings_bool(S_AUTOMATION_DISCOGRAPHY_ENABLED));
  assert_false(settings_bool(S_AUTOMATION_QUALITY_UPGRADE_ENABLED));
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_DRY_RUN));
  assert_false(settings_bool(S_AUTOMATION_DUPLICATE_DETECTION_ENABLED));
  assert_text(S_AUTOMATION_DUPLICATE_DETECTION_METHOD, "metadata-hash");
  assert_text(S_AUTOMATION_QUALITY_PROFILE, "high");
  assert_text(S_AUTOMATION_CLEANUP_ENABLED, "false");
  assert_text(S_SERVER_LISTEN, "127.0.0.1:8765");
  assert_text(S_SPOTIFY_API_URL, "https://api.spotify.com/v1");
  assert_false(settings_is_set(S_SLSKD_URL));
  assert_false(settings_is_set(S_SLSKD_API_KEY));
  assert_true(settings_is_set(S_SPOTIFY_ACCOUNTS_URL));
}

static void test_every_default_is_valid_and_canonical(void **state)
{
  (void)state;
  for (int i = 0; i < S__COUNT; i++) {
    char canon[SETTING_STR_MAX], err[256] = "";
    const struct setting_def *d = &settings_defs[i];
    if (settings_validate((enum setting_id)i, d->def, canon, err,
                          sizeof err) != SS_OK)
      fail_msg("default of %s invalid: %s", d->key, err);
    assert_string_equal(canon, d->def);
    assert_non_null(d->help);
    if (d->flags & SF_SECRET)
      assert_string_equal(d->def, "");
  }
}

static void test_lookup(void **state)
{
  (void)state;
  assert_int_equal(settings_lookup("spotify.token_check_interval_seconds"),
                   S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS);
  assert_int_equal(settings_lookup("server.listen"), S_SERVER_LISTEN);
  assert_int_equal(settings_lookup("probe.timeout_seconds"),
                   S_PROBE_TIMEOUT_SECONDS);
  assert_int_equal(settings_lookup("server"), -1);
  assert_int_equal(settings_lookup("server.listen "), -1);
  assert_int_equal(settings_lookup(""), -1);
  assert_int_equal(settings_lookup(NULL), -1);
  for (int i = 0; i < S__COUNT; i++)
    assert_int_equal(settings_lookup(settings_defs[i].key), i);
}

/* ---- validation ---- */

static void expect_valid(enum setting_id id, const char *text,
                         const char *canon_want)
{
  char canon[SETTING_STR_MAX], err[256] = "";
  if (settings_validate(id, text, canon, err, sizeof err) != SS_OK)
    fail_msg("'%s' rejected for %s: %s", text, settings_defs[id].key, err);
  assert_string_equal(canon, canon_want);
}

static void expect_invalid(enum setting_id id, const char *text,
                           const char *msg_part)
{
  char canon[SETTING_STR_MAX], err[256] = "";
  if (settings_validate(id, text, canon, err, sizeof err) != SS_EINVAL)
    fail_msg("'%s' accepted for %s", text, settings_defs[id].key);
  assert_contains(err, msg_part);
}

static void test_validate_bool(void **state)
{
  enum setting_id id = S_AUTOMATION_CLEANUP_ENABLED;
  static const char *const yes[] = {"true", "TRUE", "True", "1",
                                    "yes",  "YES",  "on",   "On"};
  static const char *const no[] = {"false", "FALSE", "0",  "no",
                                   "No",    "off",   "OFF"};
  (void)state;
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    expect_valid(id, yes[i], "true");
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    expect_valid(id, no[i], "false");
  expect_invalid(id, "", "true or false");
  expect_invalid(id, "2", "true or false");
  expect_invalid(id, "tru", "true or false");
  expect_invalid(id, " true", "true or false");
  expect_invalid(id, "true ", "true or false");
  expect_invalid(id, "yess", "true or false");
  expect_invalid(id, NULL, "no value");
}

static void test_validate_int_bounds(void **state)
{
  enum setting_id id = S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS;
  const char *range = "between 30 and 3600";
  (void)state;
  expect_valid(id, "30", "30");
  expect_valid(id, "3600", "3600");
  expect_valid(id, "300", "300");
  expect_valid(id, "+50", "50");
  expect_valid(id, "0300", "300");
  expect_invalid(id, "29", range);
  expect_invalid(id, "3601", range);
  expect_invalid(id, "-30", range);
  expect_invalid(id, "0", range);
  expect_invalid(id, "99999999999999999999", range);
  expect_invalid(id, "-99999999999999999999", range);
  expect_invalid(id, "9223372036854775808", range);
  expect_invalid(id, "18446744073709551916", range); /* 2^64 + 300 */
  expect_invalid(id, "-18446744073709551316", range);
  expect_invalid(id, " 50", "whole number between 30 and 3600");
  expect_invalid(id, "50 ", "whole number");
  expect_invalid(id, "50x", "whole number");
  expect_invalid(id, "", "whole number");
  expect_invalid(id, "+", "whole number");
  expect_invalid(id, "-", "whole number");
  expect_invalid(id, "+-5", "whole number");
  expect_invalid(id, "0x40", "whole number");
  expect_invalid(id, "1e3", "whole number");
  expect_invalid(id, "50.0", "whole number");
  /* another setting, other bounds */
  expect_valid(S_SERVER_THREADS, "1", "1");
  expect_valid(S_SERVER_THREADS, "16", "16");
  expect_invalid(S_SERVER_THREADS, "17", "between 1 and 16");
  expect_invalid(S_SERVER_THREADS, "0", "between 1 and 16");
}

static void test_validate_int_error_is_exact(void **state)
{
  char canon[SETTING_STR_MAX], err[256];
  (void)state;
  assert_int_equal(settings_validate(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
                                     "5", canon, err, sizeof err),
                   SS_EINVAL);
  assert_string_equal(err, "must be between 30 and 3600");
  assert_string_equal(canon, "");
  /* a tiny error buffer is truncated, never overrun */
  assert_int_equal(settings_validate(S_SERVER_THREADS, "99", canon, err, 8),
                   SS_EINVAL);
  assert_string_equal(err, "must be");
  /* NULL canon and err are allowed */
  assert_int_equal(settings_validate(S_SERVER_THREADS, "4", NULL, NULL, 0),
                   SS_OK);
  assert_int_equal(settings_validate(S_SERVER_THREADS, "x", NULL, NULL, 0),
                   SS_EINVAL);
  assert_int_equal(settings_validate(S__COUNT, "x", canon, err, sizeof err),
                   SS_EINVAL);
}

static void test_validate_enum(void **state)
{
  (void)state;
  expect_valid(S_LOG_LEVEL, "debug", "debug");
  expect_valid(S_LOG_LEVEL, "WARN", "warn");
  expect_valid(S_AUTOMATION_DUPLICATE_DETECTION_METHOD, "file-hash",
               "file-hash");
  expect_invalid(S_LOG_LEVEL, "verbose",
                 "must be one of: error, warn, info, debug");
  expect_invalid(S_LOG_LEVEL, "", "must be one of");
  expect_invalid(S_LOG_LEVEL, "inf", "must be one of");
  expect_invalid(S_LOG_LEVEL, "infos", "must be one of");
  expect_invalid(S_LOG_LEVEL, "info|debug", "must be one of");
  expect_invalid(S_AUTOMATION_QUALITY_PROFILE, "low",
                 "must be one of: medium, high, lossless");
}

static void test_validate_string(void **state)
{
  char big[SETTING_STR_MAX + 1];
  enum setting_id id = S_MUSICBRAINZ_CONTACT;
  (void)state;
  expect_valid(id, "", "");
  const char *fancy = "/music/Björk \"live\" \\ 日本 🎵";
  expect_valid(id, fancy, fancy);
  memset(big, 'a', SETTING_STR_MAX - 1);
  big[SETTING_STR_MAX - 1] = '\0';
  expect_valid(id, big, big);
  big[SETTING_STR_MAX - 1] = 'a';
  big[SETTING_STR_MAX] = '\0';
  expect_invalid(id, big, "too long (at most 1023 bytes)");
  expect_invalid(id, "a\nb", "control characters");
  expect_invalid(id, "a\tb", "control characters");
  expect_invalid(id, "a\x7f", "control characters");
  expect_invalid(id, "a\xc2\x85", "control characters");
  expect_invalid(id, "\xff", "UTF-8");
  expect_invalid(id, "\xc0\xaf", "UTF-8");         /* overlong '/' */
  expect_invalid(id, "\xed\xa0\x80", "UTF-8");     /* surrogate */
  expect_invalid(id, "\xe2\x82", "UTF-8");         /* truncated */
  expect_invalid(id, "\xf4\x90\x80\x80", "UTF-8"); /* > U+10FFFF */
}

/* The folder rules: absolute, normalised, no system folder (also when
 * written with "..", "//" or a trailing '/', or reached through a
 * symlink). */
static void test_validate_folders(void **state)
{
  static const enum setting_id ids[] = {S_LIBRARY_PATH,
                                        S_LIBRARY_QUARANTINE_PATH,
                                        S_DOWNLOAD_TEMP_PATH,
                                        S_DOWNLOAD_SLSKD_DOWNLOAD_PATH};
  (void)state;
  char dir[] = "/tmp/test_settings.XXXXXX", link[64];
  assert_non_null(mkdtemp(dir));
  snprintf(link, sizeof link, "%s/etc-link", dir);
  assert_int_equal(symlink("/etc", link), 0);
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    enum setting_id id = ids[i];
    expect_valid(id, "", "");
    expect_valid(id, "/home/user/Music", "/home/user/Music");
    expect_valid(id, "/home/user/Music/", "/home/user/Music");
    expect_valid(id, "//srv//music/./Björk/../Sigur Rós/",
                 "/srv/music/Sigur Rós");
    expect_valid(id, "/run/media/user/Musik", "/run/media/user/Musik");
    expect_valid(id, "/var/lib/soulspot", "/var/lib/soulspot");
    expect_invalid(id, "music", "must be an absolute path");
    expect_invalid(id, "./music", "must be an absolute path");
    expect_invalid(id, "~/Music", "must be an absolute path");
    expect_invalid(id, "/", "must not be the system folder /");
    expect_invalid(id, "/etc", "must not be in the system folder /etc");
    expect_invalid(id, "/etc/", "system folder /etc");
    expect_invalid(id, "/etc/../etc", "system folder /etc");
    expect_invalid(id, "/tmp/../etc/ssl", "system folder /etc");
    expect_invalid(id, "//usr/share/music", "system folder /usr");
    expect_invalid(id, "/bin", "system folder /bin");
    expect_invalid(id, "/sbin", "system folder /sbin");
    expect_invalid(id, "/lib", "system folder /lib");
    expect_invalid(id, "/lib64/x", "system folder /lib64");
    expect_invalid(id, "/libx32", "system folder /libx32");
    expect_invalid(id, "/boot", "system folder /boot");
    expect_invalid(id, "/dev/shm", "system folder /dev");
    expect_invalid(id, "/dev/sda1", "system folder /dev");
    expect_valid(id, "/dev/shm/soulspot", "/dev/shm/soulspot");
    expect_invalid(id, "/proc", "system folder /proc");
    expect_invalid(id, "/sys", "system folder /sys");
    expect_invalid(id, "/run", "system folder /run");
    expect_invalid(id, "/run/lock", "system folder /run");
    expect_invalid(id, "/var", "system folder /var");
    expect_invalid(id, "/var/", "system folder /var");
    expect_invalid(id, "/home", "system folder /home");
    expect_invalid(id, "/home/../home/", "system folder /home");
    expect_invalid(id, "/..", "system folder /");
    expect_invalid(id, link, "resolves to /etc");
  }
  unlink(link);
  rmdir(dir);
}

/* The rules between folders, through the PATCH path: nothing Cleanup
 * cleans holds the library, the data folder or the quarantine; no folder
 * is the data folder; the library lies inside no other folder. */
static void test_patch_folder_relations(void **state)
{
  struct buf errors;
  char msg[256], body[1024];
  (void)state;
  buf_init(&errors, 4096);
  char dir[] = "/tmp/test_settings.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char data[64], sub[64];
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(sub, sizeof sub, "%s/data/tmp", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  assert_int_equal(mkdir(sub, 0700), 0);
  char err[256];
  assert_int_equal(settings_set(S_SERVER_DATA_DIR, data, err, sizeof err),
                   SS_OK);
  /* a library at /home/user/Music and its neighbours work */
  assert_int_equal(patch("{\"library.path\": \"/home/user/Music\","
                         " \"library.quarantine_path\": \"/home/user/.q\","
                         " \"download.temp_path\": \"/home/user/tmp\","
                         " \"download.slskd_download_path\":"
                         " \"/home/user/Music/_slskd\"}",
                         &errors),
                   SS_OK);
  assert_int_equal(patch("{\"download.temp_path\": \"/home/user\"}", &errors),
                   SS_EINVAL);
  assert_non_null(field_error(&errors, "download.temp_path", msg, sizeof msg));
  assert_contains(msg, "must not contain the library folder (library.path)");
  assert_int_equal(patch("{\"download.slskd_download_path\": "
                         "\"/home/user/Music\"}",
                         &errors),
                   SS_EINVAL);
  assert_non_null(
    field_error(&errors, "download.slskd_download_path", msg, sizeof msg));
  assert_contains(msg, "must not contain the library folder");
  /* the library moved into the temp folder, the other way round */
  assert_int_equal(patch("{\"library.path\": \"/home/user/tmp/Music\"}",
                         &errors),
                   SS_EINVAL);
  assert_non_null(field_error(&errors, "library.path", msg, sizeof msg));
  assert_contains(msg, "must not lie inside download.temp_path");
  /* both at once are judged together: fine when they no longer overlap */
  assert_int_equal(patch("{\"library.path\": \"/srv/music\","
                         " \"download.temp_path\": \"/home/user/Music\"}",
                         &errors),
                   SS_OK);
  /* the quarantine and what Cleanup cleans */
  assert_int_equal(patch("{\"download.temp_path\": \"/home/user/.q/t\"}",
                         &errors),
                   SS_EINVAL);
  assert_non_null(field_error(&errors, "download.temp_path", msg, sizeof msg));
  assert_contains(msg, "must not lie inside library.quarantine_path");
  /* the data folder */
  snprintf(body, sizeof body, "{\"download.temp_path\": \"%s/\"}", dir);
  assert_int_equal(patch(body, &errors), SS_EINVAL);
  assert_non_null(field_error(&errors, "download.temp_path", msg, sizeof msg));
  assert_contains(msg, "must not contain the data folder");
  snprintf(body, sizeof body, "{\"library.path\": \"%s/../%s\"}", data,
           strrchr(data, '/') + 1);
  assert_int_equal(patch(body, &errors), SS_EINVAL);
  assert_non_null(field_error(&errors, "library.path", msg, sizeof msg));
  assert_contains(msg, "must not be the data folder");
  snprintf(body, sizeof body, "{\"download.temp_path\": \"%s\"}", sub);
  assert_int_equal(patch(body, &errors), SS_OK); /* below it is fine */
  /* a refused change changes nothing */
  char now[SETTING_STR_MAX];
  settings_str(S_LIBRARY_PATH, now, sizeof now);
  assert_string_equal(now, "/srv/music");
  /* settings_apply_text (the settings page) follows the same rules */
  assert_int_equal(settings_apply_text(S_DOWNLOAD_TEMP_PATH, "/srv", err,
                                       sizeof err),
                   SS_EINVAL);
  assert_contains(err, "must not contain the library folder");
  buf_free(&errors);
  rmdir(sub);
  rmdir(data);
  rmdir(dir);
}

static void test_validate_url(void **state)
{
  enum setting_id id = S_SLSKD_URL;
  (void)state;
  expect_valid(id, "", "");
  expect_valid(id, "http://127.0.0.1:5030", "http://127.0.0.1:5030");
  expect_valid(id, "http://slskd:5030/", "http://slskd:5030");
  expect_valid(id, "https://api.spotify.com/v1/",
               "https://api.spotify.com/v1");
  expect_valid(id, "https://x.example//", "https://x.example");
  expect_valid(id, "HTTPS://Example.com/A/", "https://Example.com/A");
  expect_valid(id, "http://[::1]:5030/", "http://[::1]:5030");
  expect_valid(id, "http://h/cb?a=/", "http://h/cb?a=/");
  expect_valid(id, "http://my_host.local/p", "http://my_host.local/p");
  expect_invalid(id, "ftp://host", "http:// or https://");
  expect_invalid(id, "host:5030", "http:// or https://");
  expect_invalid(id, "http://", "host");
  expect_invalid(id, "http:///path", "host");
  expect_invalid(id, "http://a b", "spaces");
  expect_invalid(id, " http://a", "http:// or https://");
  expect_invalid(id, "http://a/\x01", "control");
  expect_invalid(id, "http://a/ü", "non-ASCII");
  expect_invalid(id, "http://user:pw@host/", "user name or password");
  expect_invalid(id, "http://host:0/", "port");
  expect_invalid(id, "http://host:65536/", "port");
  expect_invalid(id, "http://host:/", "port");
  expect_invalid(id, "http://host:80x/", "port");
  expect_invalid(id, "http://[zz::1]/", "host");
  expect_invalid(id, "http://::1/", "host");
  expect_invalid(id, "http://300.1.1.1/", "host");
  expect_invalid(id, "http://h/#frag", "fragment");
}

static void test_validate_listen(void **state)
{
  enum setting_id id = S_SERVER_LISTEN;
  (void)state;
  expect_valid(id, "127.0.0.1:8765", "127.0.0.1:8765");
  expect_valid(id, "0.0.0.0:0", "0.0.0.0:0");
  expect_valid(id, "localhost:65535", "localhost:65535");
  expect_valid(id, "[::1]:8080", "[::1]:8080");
  expect_valid(id, "[::]:08080", "[::]:8080");
  expect_invalid(id, "::1:8080", "[::1]:PORT");
  expect_invalid(id, "127.0.0.1", "HOST:PORT");
  expect_invalid(id, ":8080", "HOST:PORT");
  expect_invalid(id, "[::1]", "HOST:PORT");
  expect_invalid(id, "[::1]8080", "HOST:PORT");
  expect_invalid(id, "host:", "port");
  expect_invalid(id, "host:65536", "port");
  expect_invalid(id, "host:-1", "port");
  expect_invalid(id, "host:123456", "port");
  expect_invalid(id, "999.1.1.1:80", "host");
  expect_invalid(id, "a b:80", "host");
  expect_invalid(id, "", "HOST:PORT");
}

static void test_validate_allowed_hosts(void **state)
{
  enum setting_id id = S_SERVER_ALLOWED_HOSTS;
  (void)state;
  expect_valid(id, "", "");
  expect_valid(id, "music.example.org", "music.example.org");
  expect_valid(id, " music.example.org ,nas:8765,, [::1]:80 ",
               "music.example.org, nas:8765, [::1]:80");
  expect_invalid(id, "ok.example, http://bad/", "entry 2");
  expect_invalid(id, "nas:0", "entry 1");
  expect_invalid(id, "nas:65536", "entry 1");
  expect_invalid(id, "a b", "entry 1");
  expect_invalid(id, "user@nas", "entry 1");
  expect_invalid(id, "nas/path", "entry 1");
  expect_invalid(id, "Bj\xc3\xb6rk.example", "entry 1");
}

/* A rejected value must never appear in the message (secrets!). */
static void test_messages_never_echo_the_value(void **state)
{
  static const char *const bad[] = {"SEKRIT\x01", "SEKRIT x:1",
                                    "http://SEKRIT@h", "SEKRIT\xff"};
  (void)state;
  for (int i = 0; i < S__COUNT; i++) {
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
      char canon[SETTING_STR_MAX], err[256] = "";
      if (settings_validate((enum setting_id)i, bad[j], canon, err,
                            sizeof err) == SS_OK)
        continue;
      assert_null(strstr(err, "SEKRIT"));
    }
  }
}

/* ---- setters and getters ---- */

static void test_set_and_get(void **state)
{
  char err[256] = "", out[8];
  uint64_t gen = settings_generation();
  char *dup;
  (void)state;
  assert_int_equal(settings_set(S_SERVER_THREADS, "+4", err, sizeof err),
                   SS_OK);
  assert_int_equal(settings_int(S_SERVER_THREADS), 4);
  assert_text(S_SERVER_THREADS, "4");
  assert_true(settings_generation() > gen);
  gen = settings_generation();

  assert_int_equal(settings_set(S_SERVER_THREADS, "17", err, sizeof err),
                   SS_EINVAL);
  assert_string_equal(err, "server.threads: must be between 1 and 16");
  assert_int_equal(settings_int(S_SERVER_THREADS), 4);
  assert_int_equal(settings_generation(), gen);

  assert_int_equal(settings_set(S_AUTOMATION_CLEANUP_ENABLED, "on", err,
                                sizeof err),
                   SS_OK);
  assert_true(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_text(S_AUTOMATION_CLEANUP_ENABLED, "true");

  assert_int_equal(settings_set(S_SLSKD_URL, "http://slskd:5030/", err,
                                sizeof err),
                   SS_OK);
  assert_true(settings_is_set(S_SLSKD_URL));
  assert_int_equal(settings_str(S_SLSKD_URL, out, sizeof out), 7);
  assert_string_equal(out, "http://");
  assert_int_equal(settings_str(S_SLSKD_URL, out, 0), 0);
  dup = settings_strdup(S_SLSKD_URL);
  assert_string_equal(dup, "http://slskd:5030");
  free(dup);
  assert_int_equal(settings_set(S_SLSKD_URL, "", err, sizeof err), SS_OK);
  assert_false(settings_is_set(S_SLSKD_URL));
  /* settings_set may change non-runtime settings (command line) */
  assert_int_equal(settings_set(S_SERVER_LISTEN, "[::1]:9000", err,
                                sizeof err),
                   SS_OK);
  assert_text(S_SERVER_LISTEN, "[::1]:9000");
}

static void test_bad_ids_are_harmless(void **state)
{
  char err[64], out[16] = "x";
  char *dup = settings_strdup(S__COUNT);
  (void)state;
  assert_string_equal(dup, "");
  free(dup);
  assert_false(settings_bool(S__COUNT));
  assert_int_equal(settings_int(S__COUNT), 0);
  assert_int_equal(settings_str(S__COUNT, out, sizeof out), 0);
  assert_string_equal(out, "");
  assert_false(settings_is_set(S__COUNT));
  assert_int_equal(settings_set(S__COUNT, "1", err, sizeof err), SS_EINVAL);
  assert_int_equal(settings_apply_text(S__COUNT, "1", err, sizeof err),
                   SS_EINVAL);
}

static void test_cleanup_and_reinit(void **state)
{
  char err[128];
  (void)state;
  assert_int_equal(settings_set(S_LOG_LEVEL, "debug", err, sizeof err), SS_OK);
  settings_cleanup();
  assert_int_equal(settings_int(S_SERVER_THREADS), 0);
  assert_false(settings_is_set(S_SERVER_LISTEN));
  settings_init();
  assert_text(S_LOG_LEVEL, "info");
  assert_int_equal(settings_int(S_SERVER_THREADS), 2);
  settings_init(); /* twice in a row must not leak */
  assert_text(S_LOG_LEVEL, "info");
}

/* ---- INI ---- */

static void test_ini_good_file(void **state)
{
  char err[512] = "";
  uint64_t gen = settings_generation();
  struct counter c = {0, 0};
  (void)state;
  settings_subscribe(count_change, &c);
  assert_int_equal(
    load_ini_text("; soulspotd config\n"
                  "# another comment\n"
                  "\n"
                  "[server]\n"
                  "listen = 0.0.0.0:9000\n"
                  "threads=4\n"
                  "[spotify]\n"
                  "token_check_interval_seconds = 600 ; ten minutes\n"
                  "auto_sync_enabled = no\n"
                  "api_url = https://api.example.com/v1/\n"
                  "[automation]\n"
                  "duplicate_detection_method = file-hash\r\n"
                  "cleanup_enabled = Yes\n"
                  "[slskd]\n"
                  "api_key = k3y\n"
                  "[log]\n"
                  "level = debug",
                  err, sizeof err, NULL),
    SS_OK);
  assert_string_equal(err, "");
  assert_text(S_SERVER_LISTEN, "0.0.0.0:9000");
  assert_int_equal(settings_int(S_SERVER_THREADS), 4);
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 600);
  assert_false(settings_bool(S_SPOTIFY_AUTO_SYNC_ENABLED));
  assert_text(S_SPOTIFY_API_URL, "https://api.example.com/v1");
  assert_text(S_AUTOMATION_DUPLICATE_DETECTION_METHOD, "file-hash");
  assert_true(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_text(S_SLSKD_API_KEY, "k3y");
  assert_text(S_LOG_LEVEL, "debug");
  assert_int_equal(settings_generation(), gen + 1);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.seen, 600);
}

static void test_ini_unknown_key(void **state)
{
  char err[512] = "", *path;
  (void)state;
  assert_int_equal(load_ini_text("[spotify]\nauto_sync_enabled = false\n"
                                 "not_a_key = 1\n",
                                 err, sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 3);
  assert_contains(err, "spotify.not_a_key: unknown setting");
  assert_true(settings_bool(S_SPOTIFY_AUTO_SYNC_ENABLED));
  free(path);

  assert_int_equal(load_ini_text("[nosuch]\nlisten = x\n", err, sizeof err,
                                 &path),
                   SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "nosuch.listen: unknown setting");
  free(path);
}

static void test_ini_key_outside_its_section(void **state)
{
  char err[512] = "", *path;
  (void)state;
  assert_int_equal(load_ini_text("server.threads = 4\n", err, sizeof err,
                                 &path),
                   SS_EINVAL);
  assert_err_at(err, path, 1);
  assert_contains(err, "server.threads");
  assert_contains(err, "[server]");
  free(path);
  assert_int_equal(load_ini_text("[spotify]\nserver.threads = 4\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "[server]");
  free(path);
  assert_int_equal(load_ini_text("threads = 4\n", err, sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 1);
  assert_contains(err, "threads: unknown setting");
  assert_int_equal(settings_int(S_SERVER_THREADS), 2);
  free(path);
}

static void test_ini_bad_value_is_atomic(void **state)
{
  char err[512] = "", *path;
  uint64_t gen = settings_generation();
  (void)state;
  assert_int_equal(
    load_ini_text("[log]\nlevel = debug\n[server]\nthreads = 8\n"
                  "[spotify]\ntoken_check_interval_seconds = 5\n"
                  "auto_sync_enabled = false\n",
                  err, sizeof err, &path),
    SS_EINVAL);
  assert_err_at(err, path, 6);
  assert_contains(err, "spotify.token_check_interval_seconds: must be "
                       "between 30 and 3600");
  /* nothing from the file applied, not even the good lines before it */
  assert_text(S_LOG_LEVEL, "info");
  assert_int_equal(settings_int(S_SERVER_THREADS), 2);
  assert_true(settings_bool(S_SPOTIFY_AUTO_SYNC_ENABLED));
  assert_int_equal(settings_generation(), gen);
  free(path);
}

static void test_ini_syntax_errors(void **state)
{
  char err[512] = "", *path;
  (void)state;
  assert_int_equal(load_ini_text("[log]\nlevel = warn\nthis is no setting\n",
                                 err, sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 3);
  assert_contains(err, "syntax error");
  assert_text(S_LOG_LEVEL, "info");
  free(path);
  assert_int_equal(load_ini_text("[log\nlevel = warn\n", err, sizeof err,
                                 &path),
                   SS_EINVAL);
  assert_err_at(err, path, 1);
  free(path);
}

static void test_ini_first_error_wins(void **state)
{
  char err[512] = "", *path;
  (void)state;
  /* syntax error before a bad value */
  assert_int_equal(load_ini_text("[log]\nbroken\nlevel = loud\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "syntax error");
  free(path);
  /* bad value before a syntax error */
  assert_int_equal(load_ini_text("[log]\nlevel = loud\nbroken\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "log.level: must be one of: error, warn, info, debug");
  free(path);
  /* two bad values */
  assert_int_equal(load_ini_text("[server]\nthreads = 0\nlisten = x\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "server.threads");
  free(path);
}

static void test_ini_duplicates_and_continuations(void **state)
{
  char err[512] = "", *path;
  (void)state;
  assert_int_equal(load_ini_text("[log]\nlevel = warn\n\nlevel = debug\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 4);
  assert_contains(err, "log.level: set twice (first on line 2)");
  free(path);
  /* an indented line continues the previous value in inih: refuse it */
  assert_int_equal(load_ini_text("[log]\nlevel = warn\n  debug\n", err,
                                 sizeof err, &path),
                   SS_EINVAL);
  assert_err_at(err, path, 3);
  assert_text(S_LOG_LEVEL, "info");
  free(path);
}

static void test_ini_long_line_and_nul(void **state)
{
  char err[512] = "", *path, content[600];
  (void)state;
  snprintf(content, sizeof content, "[library]\npath = /%0500d\n", 0);
  assert_int_equal(load_ini_text(content, err, sizeof err, &path), SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "line too long");
  assert_false(settings_is_set(S_LIBRARY_PATH));
  free(path);
  /* a NUL byte inside a line */
  path = write_ini("");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fwrite("[log]\nlevel = de\0bug\n", 1, 21, f);
  fclose(f);
  assert_int_equal(settings_load_ini(path, err, sizeof err), SS_EINVAL);
  assert_err_at(err, path, 2);
  assert_contains(err, "NUL");
  assert_text(S_LOG_LEVEL, "info");
  free(path);
}

static void test_ini_unreadable(void **state)
{
  char err[512] = "", path[128];
  (void)state;
  snprintf(path, sizeof path, "%s/does-not-exist.ini", tmp_dir);
  assert_int_equal(settings_load_ini(path, err, sizeof err), SS_EIO);
  assert_true(strncmp(err, path, strlen(path)) == 0);
  assert_contains(err, ": cannot open");
  /* a directory opens but cannot be read */
  assert_int_equal(settings_load_ini(tmp_dir, err, sizeof err), SS_EIO);
  assert_contains(err, tmp_dir);
  assert_int_equal(settings_load_ini(NULL, err, sizeof err), SS_EINVAL);
}

static void test_ini_empty_file(void **state)
{
  char err[128] = "";
  uint64_t gen = settings_generation();
  (void)state;
  assert_int_equal(load_ini_text("; nothing\n\n", err, sizeof err, NULL),
                   SS_OK);
  assert_int_equal(settings_generation(), gen);
}

/* ---- environment ---- */

static void test_env_overrides(void **state)
{
  char err[256] = "";
  (void)state;
  setenv("SOULSPOT_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS", "900", 1);
  setenv("SOULSPOT_AUTOMATION_CLEANUP_ENABLED", "1", 1);
  setenv("SOULSPOT_SERVER_LISTEN", "[::]:8080", 1);
  setenv("SOULSPOT_SLSKD_API_KEY", "abc", 1);
  assert_int_equal(settings_load_env(err, sizeof err), SS_OK);
  unsetenv("SOULSPOT_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS");
  unsetenv("SOULSPOT_AUTOMATION_CLEANUP_ENABLED");
  unsetenv("SOULSPOT_SERVER_LISTEN");
  unsetenv("SOULSPOT_SLSKD_API_KEY");
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 900);
  assert_true(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_text(S_SERVER_LISTEN, "[::]:8080");
  assert_text(S_SLSKD_API_KEY, "abc");
  assert_text(S_LOG_LEVEL, "info");
}

static void test_env_invalid(void **state)
{
  char err[256] = "";
  (void)state;
  setenv("SOULSPOT_LOG_LEVEL", "warn", 1);
  setenv("SOULSPOT_SERVER_THREADS", "99", 1);
  assert_int_equal(settings_load_env(err, sizeof err), SS_EINVAL);
  unsetenv("SOULSPOT_SERVER_THREADS");
  assert_string_equal(err, "SOULSPOT_SERVER_THREADS: must be between 1 and "
                           "16");
  assert_text(S_LOG_LEVEL, "info"); /* all or nothing */
  unsetenv("SOULSPOT_LOG_LEVEL");

  setenv("SOULSPOT_SPOTIFY_CLIENT_SECRET", "SEKRIT\x01value", 1);
  assert_int_equal(settings_load_env(err, sizeof err), SS_EINVAL);
  unsetenv("SOULSPOT_SPOTIFY_CLIENT_SECRET");
  assert_contains(err, "SOULSPOT_SPOTIFY_CLIENT_SECRET");
  assert_contains(err, "invalid");
  assert_null(strstr(err, "SEKRIT"));
  assert_false(settings_is_set(S_SPOTIFY_CLIENT_SECRET));
}

static void test_env_nothing_set(void **state)
{
  char err[256] = "";
  uint64_t gen = settings_generation();
  (void)state;
  assert_int_equal(settings_load_env(err, sizeof err), SS_OK);
  assert_int_equal(settings_generation(), gen);
}

/* ---- PATCH ---- */

static void test_patch_good(void **state)
{
  struct buf errors;
  struct persist_log p = {0};
  struct counter c = {0, 0};
  uint64_t gen = settings_generation();
  (void)state;
  buf_init(&errors, 4096);
  settings_set_persist(record_persist, &p);
  settings_subscribe(count_change, &c);
  assert_int_equal(patch("{\"spotify.token_check_interval_seconds\": 600,"
                         " \"automation.cleanup_enabled\": true,"
                         " \"log.level\": \"debug\"}",
                         &errors),
                   SS_OK);
  assert_int_equal(errors.len, 0);
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 600);
  assert_true(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_text(S_LOG_LEVEL, "debug");
  assert_int_equal(settings_generation(), gen + 1);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.n, 3);
  assert_int_equal(p.seen_interval, 300); /* persisted before applied */
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.seen, 600); /* subscribers run after apply, unlocked */
  /* the same values again are fine and count as a change */
  assert_int_equal(patch("{\"log.level\": \"debug\"}", &errors), SS_OK);
  assert_int_equal(settings_generation(), gen + 2);
  assert_int_equal(c.calls, 2);
  buf_free(&errors);
}

static void test_patch_all_or_nothing(void **state)
{
  struct buf errors;
  struct persist_log p = {0};
  char msg[256];
  uint64_t gen = settings_generation();
  json_t *j;
  (void)state;
  buf_init(&errors, 4096);
  settings_set_persist(record_persist, &p);
  assert_int_equal(patch("{\"log.level\": \"debug\","
                         " \"spotify.token_check_interval_seconds\": 29,"
                         " \"automation.cleanup_enabled\": true}",
                         &errors),
                   SS_EINVAL);
  assert_error_body(&errors, "invalid settings");
  assert_non_null(field_error(&errors, "spotify.token_check_interval_seconds",
                              msg, sizeof msg));
  assert_string_equal(msg, "must be between 30 and 3600");
  j = parse_json(&errors);
  assert_int_equal(json_object_size(json_object_get(j, "fields")), 1);
  json_decref(j);
  assert_text(S_LOG_LEVEL, "info");
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_int_equal(settings_generation(), gen);
  assert_int_equal(p.calls, 0);
  buf_free(&errors);
}

static void test_patch_wrong_types(void **state)
{
  struct buf errors;
  char msg[256];
  (void)state;
  buf_init(&errors, 8192);
  assert_int_equal(patch("{\"spotify.token_check_interval_seconds\": \"600\","
                         " \"probe.timeout_seconds\": 5.0,"
                         " \"probe.interval_seconds\": true,"
                         " \"automation.cleanup_enabled\": 1,"
                         " \"automation.cleanup_dry_run\": \"true\","
                         " \"log.level\": 3,"
                         " \"library.path\": null,"
                         " \"slskd.url\": [\"http://x\"],"
                         " \"automation.watchlist_enabled\": false}",
                         &errors),
                   SS_EINVAL);
  field_error(&errors, "spotify.token_check_interval_seconds", msg,
              sizeof msg);
  assert_string_equal(msg, "must be a whole number between 30 and 3600");
  assert_non_null(
    field_error(&errors, "probe.timeout_seconds", msg, sizeof msg));
  assert_contains(msg, "whole number");
  assert_non_null(
    field_error(&errors, "probe.interval_seconds", msg, sizeof msg));
  assert_non_null(
    field_error(&errors, "automation.cleanup_enabled", msg, sizeof msg));
  assert_contains(msg, "true or false");
  assert_non_null(
    field_error(&errors, "automation.cleanup_dry_run", msg, sizeof msg));
  assert_non_null(field_error(&errors, "log.level", msg, sizeof msg));
  assert_string_equal(msg, "must be a string");
  assert_non_null(field_error(&errors, "library.path", msg, sizeof msg));
  assert_non_null(field_error(&errors, "slskd.url", msg, sizeof msg));
  assert_null(
    field_error(&errors, "automation.watchlist_enabled", msg, sizeof msg));
  assert_int_equal(settings_int(S_PROBE_TIMEOUT_SECONDS), 5);
  buf_free(&errors);
}

static void test_patch_rejected_keys(void **state)
{
  struct buf errors;
  char msg[256];
  json_t *j;
  (void)state;
  buf_init(&errors, 4096);
  assert_int_equal(patch("{\"server.threads\": 4, \"no.such\": 1,"
                         " \"we\\\"ird\\u00e9\\\\\": 2,"
                         " \"log.level\": \"warn\"}",
                         &errors),
                   SS_EINVAL);
  field_error(&errors, "server.threads", msg, sizeof msg);
  assert_string_equal(msg, "cannot be changed while running; edit the config "
                           "file");
  field_error(&errors, "no.such", msg, sizeof msg);
  assert_string_equal(msg, "unknown setting");
  assert_non_null(field_error(&errors, "we\"ird\xc3\xa9\\", msg, sizeof msg));
  j = parse_json(&errors);
  assert_int_equal(json_object_size(json_object_get(j, "fields")), 3);
  json_decref(j);
  assert_int_equal(settings_int(S_SERVER_THREADS), 2);
  assert_text(S_LOG_LEVEL, "info");
  buf_free(&errors);
}

static void test_patch_bad_bodies(void **state)
{
  struct buf errors;
  char *big;
  (void)state;
  buf_init(&errors, 4096);
  assert_int_equal(patch("{\"log.level\": ", &errors), SS_EINVAL);
  assert_contains(buf_cstr(&errors), "invalid JSON");
  json_decref(parse_json(&errors)); /* the error body is JSON too */
  assert_int_equal(patch("{} {}", &errors), SS_EINVAL);
  assert_contains(buf_cstr(&errors), "invalid JSON");
  assert_int_equal(patch("", &errors), SS_EINVAL);
  assert_contains(buf_cstr(&errors), "invalid JSON");
  assert_int_equal(patch("{\"log.level\": \"warn\", \"log.level\": \"debug\"}",
                         &errors),
                   SS_EINVAL);
  assert_contains(buf_cstr(&errors), "invalid JSON");
  assert_int_equal(patch("[1, 2]", &errors), SS_EINVAL);
  assert_error_body(&errors, "body must be a JSON object");
  assert_int_equal(patch("\"log.level\"", &errors), SS_EINVAL);
  assert_error_body(&errors, "body must be a JSON object");
  assert_int_equal(patch("{}", &errors), SS_EINVAL);
  assert_error_body(&errors, "no settings given");
  buf_reset(&errors);
  assert_int_equal(settings_patch_json(NULL, 0, &errors), SS_EINVAL);
  /* a huge body is refused before parsing */
  big = calloc(1, 100000);
  assert_non_null(big);
  memset(big, ' ', 99999);
  big[0] = '{';
  big[99998] = '}';
  assert_int_equal(patch(big, &errors), SS_EINVAL);
  assert_error_body(&errors, "request body too large");
  free(big);
  /* errors may be NULL */
  assert_int_equal(settings_patch_json("[]", 2, NULL), SS_EINVAL);
  assert_text(S_LOG_LEVEL, "info");
  buf_free(&errors);
}

static void test_patch_respects_len(void **state)
{
  struct buf errors;
  const char *body = "{\"log.level\": \"warn\"}GARBAGE";
  (void)state;
  buf_init(&errors, 4096);
  assert_int_equal(settings_patch_json(body, strlen(body) - 7, &errors),
                   SS_OK);
  assert_text(S_LOG_LEVEL, "warn");
  buf_free(&errors);
}

static void test_patch_secret_mask(void **state)
{
  struct buf errors;
  struct persist_log p = {0};
  char err[128];
  (void)state;
  buf_init(&errors, 4096);
  assert_int_equal(settings_set(S_SLSKD_API_KEY, "k1", err, sizeof err),
                   SS_OK);
  settings_set_persist(record_persist, &p);
  assert_int_equal(patch("{\"slskd.api_key\": \"********\","
                         " \"log.level\": \"warn\"}",
                         &errors),
                   SS_OK);
  assert_text(S_SLSKD_API_KEY, "k1");
  assert_text(S_LOG_LEVEL, "warn");
  assert_int_equal(p.n, 1);
  assert_null(persisted(&p, S_SLSKD_API_KEY));
  /* only the mask: nothing to do, nothing persisted */
  assert_int_equal(patch("{\"slskd.api_key\": \"********\"}", &errors), SS_OK);
  assert_int_equal(p.calls, 1);
  /* the mask is not special for a setting that is not secret */
  assert_int_equal(patch("{\"spotify.client_id\": \"********\"}", &errors),
                   SS_OK);
  assert_text(S_SPOTIFY_CLIENT_ID, "********");
  /* a new secret, then clearing it */
  assert_int_equal(patch("{\"slskd.api_key\": \"k2\"}", &errors), SS_OK);
  assert_text(S_SLSKD_API_KEY, "k2");
  assert_int_equal(patch("{\"slskd.api_key\": \"\"}", &errors), SS_OK);
  assert_false(settings_is_set(S_SLSKD_API_KEY));
  buf_free(&errors);
}

static void test_persist_failure_changes_nothing(void **state)
{
  struct buf errors;
  struct persist_log p = {0};
  struct counter c = {0, 0};
  uint64_t gen = settings_generation();
  (void)state;
  buf_init(&errors, 4096);
  p.rc = SS_EDB;
  settings_set_persist(record_persist, &p);
  settings_subscribe(count_change, &c);
  assert_int_equal(patch("{\"log.level\": \"warn\","
                         " \"automation.cleanup_enabled\": true}",
                         &errors),
                   SS_EDB);
  assert_error_body(&errors, "could not save settings");
  assert_int_equal(p.calls, 1);
  assert_text(S_LOG_LEVEL, "info");
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_int_equal(settings_generation(), gen);
  assert_int_equal(c.calls, 0);
  /* a positive (non-convention) failure still fails */
  p.rc = 1;
  assert_int_equal(patch("{\"log.level\": \"warn\"}", &errors), SS_EIO);
  assert_text(S_LOG_LEVEL, "info");
  buf_free(&errors);
}

static void test_persist_gets_canonical_texts(void **state)
{
  struct buf errors;
  struct persist_log p = {0};
  (void)state;
  buf_init(&errors, 4096);
  settings_set_persist(record_persist, &p);
  assert_int_equal(patch("{\"spotify.api_url\":"
                         " \"HTTPS://api.example.com/v1/\","
                         " \"automation.cleanup_enabled\": false,"
                         " \"probe.timeout_seconds\": 7,"
                         " \"log.level\": \"WARN\"}",
                         &errors),
                   SS_OK);
  assert_int_equal(p.n, 4);
  assert_string_equal(persisted(&p, S_SPOTIFY_API_URL),
                      "https://api.example.com/v1");
  assert_string_equal(persisted(&p, S_AUTOMATION_CLEANUP_ENABLED), "false");
  assert_string_equal(persisted(&p, S_PROBE_TIMEOUT_SECONDS), "7");
  assert_string_equal(persisted(&p, S_LOG_LEVEL), "warn");
  assert_text(S_SPOTIFY_API_URL, "https://api.example.com/v1");
  buf_free(&errors);
}

/* ---- apply_text ---- */

static void test_apply_text(void **state)
{
  struct persist_log p = {0};
  struct counter c = {0, 0};
  char err[256] = "";
  uint64_t gen;
  (void)state;
  settings_set_persist(record_persist, &p);
  settings_subscribe(count_change, &c);
  gen = settings_generation();
  assert_int_equal(settings_apply_text(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
                                       "120", err, sizeof err),
                   SS_OK);
  assert_int_equal(settings_int(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS), 120);
  assert_int_equal(p.calls, 1);
  assert_string_equal(persisted(&p, S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS),
                      "120");
  assert_int_equal(c.calls, 1);
  assert_int_equal(settings_generation(), gen + 1);

  assert_int_equal(settings_apply_text(S_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,
                                       "12", err, sizeof err),
                   SS_EINVAL);
  assert_string_equal(err, "must be between 30 and 3600");
  assert_int_equal(settings_apply_text(S_SERVER_THREADS, "4", err, sizeof err),
                   SS_EINVAL);
  assert_contains(err, "cannot be changed while running");
  assert_int_equal(settings_int(S_SERVER_THREADS), 2);

  assert_int_equal(settings_apply_text(S_SLSKD_API_KEY, "s1", err, sizeof err),
                   SS_OK);
  assert_int_equal(settings_apply_text(S_SLSKD_API_KEY, SETTING_SECRET_MASK,
                                       err, sizeof err),
                   SS_OK);
  assert_text(S_SLSKD_API_KEY, "s1");
  assert_int_equal(p.calls, 2);

  p.rc = SS_EDB;
  assert_int_equal(settings_apply_text(S_AUTOMATION_CLEANUP_ENABLED, "true",
                                       err, sizeof err),
                   SS_EDB);
  assert_string_equal(err, "could not save settings");
  assert_false(settings_bool(S_AUTOMATION_CLEANUP_ENABLED));
  assert_int_equal(c.calls, 2);
}

/* ---- rendering ---- */

static void test_render_json(void **state)
{
  struct buf out;
  char err[128];
  json_t *j, *s, *v;
  const char *key;
  int i = 0;
  const char *weird = "/a \"q\" \\ b/ \xc3\xbc \xe2\x80\xa8 \xf0\x9f\x8e\xb5";
  (void)state;
  buf_init(&out, 65536);
  assert_int_equal(settings_set(S_SLSKD_API_KEY, "SEKRIT-KEY", err,
                                sizeof err),
                   SS_OK);
  assert_int_equal(settings_set(S_LIBRARY_PATH, weird, err, sizeof err),
                   SS_OK);
  assert_int_equal(settings_render_json(&out), SS_OK);
  assert_null(strstr(buf_cstr(&out), "SEKRIT"));
  j = parse_json(&out);
  s = json_object_get(j, "settings");
  assert_int_equal(json_object_size(s), S__COUNT);
  json_object_foreach(s, key, v)
  {
    assert_string_equal(key, settings_defs[i].key); /* table order */
    i++;
  }
  assert_string_equal(json_string_value(json_object_get(s, "slskd.api_key")),
                      SETTING_SECRET_MASK);
  assert_string_equal(json_string_value(
                        json_object_get(s, "spotify.client_secret")),
                      "");
  assert_string_equal(json_string_value(json_object_get(s, "library.path")),
                      weird);
  v = json_object_get(s, "spotify.token_check_interval_seconds");
  assert_true(json_is_integer(v));
  assert_int_equal(json_integer_value(v), 300);
  assert_true(json_is_true(json_object_get(s, "download.monitor_enabled")));
  assert_true(json_is_false(json_object_get(s, "automation.cleanup_enabled")));
  assert_string_equal(json_string_value(json_object_get(s, "log.level")),
                      "info");
  json_decref(j);
  buf_free(&out);
}

static void test_render_json_overflow(void **state)
{
  struct buf out;
  (void)state;
  buf_init(&out, 64);
  assert_int_equal(settings_render_json(&out), SS_ETOOBIG);
  buf_free(&out);
}

static json_t *schema_entry_of(json_t *arr, const char *key)
{
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    if (!strcmp(json_string_value(json_object_get(e, "key")), key))
      return e;
  }
  return NULL;
}

static void test_render_schema(void **state)
{
  struct buf out;
  json_t *arr, *e, *choices;
  (void)state;
  buf_init(&out, 65536);
  assert_int_equal(settings_render_schema_json(&out), SS_OK);
  arr = parse_json(&out);
  assert_true(json_is_array(arr));
  assert_int_equal(json_array_size(arr), S__COUNT);

  e = schema_entry_of(arr, "spotify.token_check_interval_seconds");
  assert_non_null(e);
  assert_string_equal(json_string_value(json_object_get(e, "type")), "int");
  assert_int_equal(json_integer_value(json_object_get(e, "default")), 300);
  assert_int_equal(json_integer_value(json_object_get(e, "min")), 30);
  assert_int_equal(json_integer_value(json_object_get(e, "max")), 3600);
  assert_true(json_is_true(json_object_get(e, "runtime")));
  assert_true(json_is_false(json_object_get(e, "secret")));
  assert_null(json_object_get(e, "choices"));
  assert_string_equal(json_string_value(json_object_get(e, "help")),
                      "How often Token Refresh checks the token (s)");

  e = schema_entry_of(arr, "automation.duplicate_detection_method");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "enum");
  assert_string_equal(json_string_value(json_object_get(e, "default")),
                      "metadata-hash");
  choices = json_object_get(e, "choices");
  assert_int_equal(json_array_size(choices), 6);
  assert_string_equal(json_string_value(json_array_get(choices, 2)),
                      "fingerprint");
  assert_null(json_object_get(e, "min"));

  e = schema_entry_of(arr, "automation.cleanup_enabled");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "bool");
  assert_true(json_is_false(json_object_get(e, "default")));

  e = schema_entry_of(arr, "server.listen");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "listen");
  assert_true(json_is_false(json_object_get(e, "runtime")));
  e = schema_entry_of(arr, "slskd.api_key");
  assert_true(json_is_true(json_object_get(e, "secret")));
  e = schema_entry_of(arr, "slskd.url");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "url");
  e = schema_entry_of(arr, "library.path");
  assert_string_equal(json_string_value(json_object_get(e, "type")), "string");
  json_decref(arr);
  buf_free(&out);
}

static void test_print_help(void **state)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  (void)state;
  assert_non_null(f);
  settings_print_help(f);
  fclose(f);
  assert_contains(text, "spotify.token_check_interval_seconds");
  assert_contains(text, "SOULSPOT_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS");
  assert_contains(text, "int 30..3600");
  assert_contains(text, "default: \"300\"\n      env: SOULSPOT_SPOTIFY_TOKEN_"
                        "CHECK_INTERVAL_SECONDS");
  assert_contains(text, "metadata-hash|file-hash|fingerprint");
  assert_contains(text, "SOULSPOT_SLSKD_API_KEY");
  for (int i = 0; i < S__COUNT; i++)
    assert_contains(text, settings_defs[i].help);
  free(text);
}

/* ---- documents: the commented INI file and the man page ---- */

static char *write_ini_doc(const char *const *overrides, int want_rc)
{
  char *text = NULL, err[256] = "";
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  int rc = settings_write_ini(f, overrides, err, sizeof err);
  fclose(f);
  if (rc != want_rc)
    fprintf(stderr, "error: settings_write_ini: %d (%s)\n", rc, err);
  assert_int_equal(rc, want_rc);
  return text;
}

/* The file as written loads and changes nothing; with every ';' removed it
 * sets every setting once, each to its default. */
static void test_ini_doc_lists_every_default(void **state)
{
  char err[512] = "";
  (void)state;
  char *text = write_ini_doc(NULL, SS_OK);
  assert_int_equal(load_ini_text(text, err, sizeof err, NULL), SS_OK);
  for (int i = 0; i < S__COUNT; i++)
    assert_text((enum setting_id)i, settings_defs[i].def);

  /* Uncomment: a line ";name = value" becomes "name = value". */
  char *open_text = xstrdup(text);
  size_t w = 0, active = 0;
  for (size_t r = 0; open_text[r];) {
    bool line_start = r == 0 || open_text[r - 1] == '\n';
    if (line_start && open_text[r] == ';') {
      r++;
      active++;
      continue;
    }
    open_text[w++] = open_text[r++];
  }
  open_text[w] = '\0';
  assert_int_equal(active, S__COUNT);
  settings_set(S_LOG_LEVEL, "debug", err, sizeof err); /* moved off default */
  assert_int_equal(load_ini_text(open_text, err, sizeof err, NULL), SS_OK);
  for (int i = 0; i < S__COUNT; i++) {
    char got[SETTING_STR_MAX];
    text_of((enum setting_id)i, got, sizeof got);
    if (strcmp(got, settings_defs[i].def))
      fprintf(stderr,
              "error: %s = \"%s\" after loading the INI file, "
              "default \"%s\"\n",
              settings_defs[i].key, got, settings_defs[i].def);
    assert_string_equal(got, settings_defs[i].def);
    char line[256]; /* ";name =" after the section's dot */
    snprintf(line, sizeof line,
             "\n;%s =", strchr(settings_defs[i].key, '.') + 1);
    assert_contains(text, line);
  }
  assert_contains(text, "environment: SOULSPOT_SLSKD_API_KEY");
  for (const char *line = text; *line; line += strcspn(line, "\n") + 1) {
    assert_true(strcspn(line, "\n") <= 80); /* inih reads 198 at most */
    if (!line[strcspn(line, "\n")])
      break;
  }
  assert_contains(text, "\n[automation]\n");
  free(open_text);
  free(text);
}

static void test_ini_doc_overrides(void **state)
{
  char err[512] = "";
  (void)state;
  const char *const good[] = {"server.data_dir=/var/lib/soulspotd",
                              "log.level=warn", NULL};
  char *text = write_ini_doc(good, SS_OK);
  assert_contains(text, "\ndata_dir = /var/lib/soulspotd\n");
  assert_contains(text, "default: ./data");
  assert_contains(text, "\nlevel = warn\n");
  assert_int_equal(load_ini_text(text, err, sizeof err, NULL), SS_OK);
  assert_text(S_SERVER_DATA_DIR, "/var/lib/soulspotd");
  assert_text(S_LOG_LEVEL, "warn");
  free(text);

  const char *const bad_value[] = {"log.level=loud", NULL};
  const char *const bad_key[] = {"log.colour=red", NULL};
  const char *const no_value[] = {"log.level", NULL};
  const char *const *bad[] = {bad_value, bad_key, no_value};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *none = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&none, &len);
    assert_non_null(f);
    err[0] = '\0';
    assert_int_equal(settings_write_ini(f, bad[i], err, sizeof err),
                     SS_EINVAL);
    fclose(f);
    assert_int_equal(len, 0); /* nothing written */
    assert_true(err[0] != '\0');
    free(none);
  }
}

/* Every line of the man page that starts with '.' is a man(7) request we
 * write ourselves: no help text can start a line with '.' or '\''. */
static void test_man_page(void **state)
{
  static const char *const requests[] = {".\\\" ", ".TH ", ".SH ", ".TP",
                                         ".B ",    ".BI ", ".BR ", ".I ",
                                         ".IR ",   ".IB ", ".RB ", ".RI ",
                                         ".PP",    ".br",  NULL};
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  (void)state;
  assert_non_null(f);
  settings_write_man(f, "1.2.3");
  fclose(f);
  assert_contains(text, ".TH SOULSPOTD 8 \"\" \"soulspotd 1.2.3\"");
  static const char *const sections[] = {"NAME",        "SYNOPSIS",
                                         "DESCRIPTION", "OPTIONS",
                                         "SETTINGS",    "FILES",
                                         "ENVIRONMENT", "SIGNALS",
                                         "EXIT STATUS", NULL};
  for (size_t i = 0; sections[i]; i++) {
    char want[64];
    snprintf(want, sizeof want, "\n.SH %s\n", sections[i]);
    assert_contains(text, want);
  }
  for (int i = 0; i < S__COUNT; i++) {
    char want[256];
    snprintf(want, sizeof want, "\n.B %s\n", settings_defs[i].key);
    assert_contains(text, want);
  }
  assert_contains(text,
                  "\\fBSOULSPOT_SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS\\fR");
  assert_contains(text, "Type: int 30..3600, runtime. Default: \\fB300\\fR.");
  assert_contains(text, "Type: text, runtime, secret. Default: empty.");
  assert_contains(text, ".BI \"\\-\\-data\\-dir \" DIR\n");
  assert_contains(text, ".B \\-\\-set\\-password\n");
  assert_contains(text, "NOTIFY_SOCKET");
  assert_contains(text, "WATCHDOG_USEC");
  assert_contains(text, "SIGTERM");
  for (char *line = text; *line; line += strcspn(line, "\n") + 1) {
    if (*line == '\'')
      fail_msg("line starts with a quote: %.60s", line);
    if (*line != '.')
      continue;
    bool known = false;
    for (size_t i = 0; requests[i] && !known; i++)
      known = !strncmp(line, requests[i], strlen(requests[i]));
    if (!known)
      fail_msg("unexpected request: %.60s", line);
    if (!line[strcspn(line, "\n")])
      break;
  }
  free(text);
}

/* ---- subscribers and threads ---- */

static void test_subscribers(void **state)
{
  struct counter c[9];
  char err[128];
  (void)state;
  memset(c, 0, sizeof c);
  for (int i = 0; i < 9; i++)
    settings_subscribe(count_change, &c[i]);
  assert_int_equal(settings_set(S_LOG_LEVEL, "warn", err, sizeof err), SS_OK);
  for (int i = 0; i < 8; i++)
    assert_int_equal(c[i].calls, 1);
  assert_int_equal(c[8].calls, 0); /* only 8 are kept */
  assert_int_equal(settings_set(S_LOG_LEVEL, "nope", err, sizeof err),
                   SS_EINVAL);
  assert_int_equal(c[0].calls, 1);
  settings_cleanup(); /* drops subscribers */
  settings_init();
  assert_int_equal(settings_set(S_LOG_LEVEL, "warn", err, sizeof err), SS_OK);
  assert_int_equal(c[0].calls, 1);
}

struct reader_arg {
  int iterations;
  int bad;
};

static void *reader_thread(void *p)
{
  struct reader_arg *a = p;
  for (int i = 0; i < a->iterations; i++) {
    char text[SETTING_STR_MAX];
    int64_t v = settings_int(S_PROBE_TIMEOUT_SECONDS);
    settings_str(S_SPOTIFY_API_URL, text, sizeof text);
    if ((v != 5 && v != 9) || (strcmp(text, "https://api.spotify.com/v1") &&
                               strcmp(text, "http://fake:1")))
      a->bad++;
  }
  return NULL;
}

static void test_concurrent_readers(void **state)
{
  pthread_t t[2];
  struct reader_arg a[2] = {{3000, 0}, {3000, 0}};
  struct buf errors;
  (void)state;
  buf_init(&errors, 4096);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, reader_thread, &a[i]), 0);
  for (int i = 0; i < 300; i++) {
    const char *body = i % 2 ? "{\"probe.timeout_seconds\": 9,"
                               " \"spotify.api_url\": \"http://fake:1/\"}"
                             : "{\"probe.timeout_seconds\": 5,"
                               " \"spotify.api_url\":"
                               " \"https://api.spotify.com/v1\"}";
    assert_int_equal(patch(body, &errors), SS_OK);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(a[i].bad, 0);
  }
  buf_free(&errors);
}

static void remove_tmp_dir(void)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmp_dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(test_defaults),
    T(test_every_default_is_valid_and_canonical),
    T(test_lookup),
    T(test_validate_bool),
    T(test_validate_int_bounds),
    T(test_validate_int_error_is_exact),
    T(test_validate_enum),
    T(test_validate_string),
    T(test_validate_folders),
    T(test_patch_folder_relations),
    T(test_validate_url),
    T(test_validate_listen),
    T(test_validate_allowed_hosts),
    T(test_messages_never_echo_the_value),
    T(test_set_and_get),
    T(test_bad_ids_are_harmless),
    T(test_cleanup_and_reinit),
    T(test_ini_good_file),
    T(test_ini_unknown_key),
    T(test_ini_key_outside_its_section),
    T(test_ini_bad_value_is_atomic),
    T(test_ini_syntax_errors),
    T(test_ini_first_error_wins),
    T(test_ini_duplicates_and_continuations),
    T(test_ini_long_line_and_nul),
    T(test_ini_unreadable),
    T(test_ini_empty_file),
    T(test_env_overrides),
    T(test_env_invalid),
    T(test_env_nothing_set),
    T(test_patch_good),
    T(test_patch_all_or_nothing),
    T(test_patch_wrong_types),
    T(test_patch_rejected_keys),
    T(test_patch_bad_bodies),
    T(test_patch_respects_len),
    T(test_patch_secret_mask),
    T(test_persist_failure_changes_nothing),
    T(test_persist_gets_canonical_texts),
    T(test_apply_text),
    T(test_render_json),
    T(test_render_json_overflow),
    T(test_render_schema),
    T(test_print_help),
    T(test_ini_doc_lists_every_default),
    T(test_ini_doc_overrides),
    T(test_man_page),
    T(test_subscribers),
    T(test_concurrent_readers),
#undef T
  };
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int failed;
  if (devnull >= 0)
    log_set_fd(devnull); /* keep the test output readable */
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_settings.XXXXXX");
  if (!mkdtemp(tmp_dir)) {
    perror("mkdtemp");
    return 1;
  }
  failed = cmocka_run_group_tests(tests, NULL, NULL);
  remove_tmp_dir();
  if (devnull >= 0)
    close(devnull);
  return failed;
}
