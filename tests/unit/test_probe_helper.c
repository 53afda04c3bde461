/*
 * test_probe_helper.c - unit tests of the media helper pool (media/media.c)
 * and soulspotd-probe's sandbox (probe/probe_main.c), on real ffmpeg-made
 * files.  The crash, hang and open(2) cases use soulspotd-probe-testhooks,
 * whose switches SOULSPOT_PROBE_TEST_CRASH / _HANG / _OPEN name a file.
 *
 * Covers: a library scan with a file that crashes the helper (signal 11),
 * one that hangs it (killed at the wall-clock limit), one whose analysis
 * calls open(2) (killed by the seccomp filter, SIGSYS), garbage and
 * truncated files: every one is marked unreadable with its reason and
 * counted, and the scan reads the good file (Björk, Sigur Rós, 坂本龍一)
 * with tags and fingerprint; the next call after a crash gets a fresh
 * helper; the product helper has no test switches; idle helpers stop; a
 * missing helper executable is a readable error; two threads share a
 * one-helper pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "audio_fixtures.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_library.h"
#include "library/scanner.h"
#include "media/media.h"

static char dir[64], lib[128];
static char product[512], hooked[512]; /* the two helper executables */

static const char *in_lib(const char *name)
{
  static char path[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", lib, name);
  return path[k];
}

static void make(const char *name, const char *artist, const char *title,
                 int tune)
{
  struct af_spec s = {.artist = artist,
                      .title = title,
                      .tune = tune,
                      .seconds = 4};
  assert_int_equal(af_make(in_lib(name), &s), 0);
}

static int make_files(void **state)
{
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/test_probe_helper.XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(lib, sizeof lib, "%s/lib", dir);
  if (mkdir(lib, 0755))
    return -1;
  /* beside the product helper (SOULSPOT_PROBE, set for every test) */
  const char *p = getenv("SOULSPOT_PROBE");
  if (!p)
    return -1;
  snprintf(product, sizeof product, "%s", p);
  snprintf(hooked, sizeof hooked, "%s-testhooks", p);
  make("Björk - Jóga.flac", "Björk", "Jóga", 1);
  make("crash.flac", "Sigur Rós", "Hoppípolla", 2);
  make("hang.mp3", "坂本龍一", "Merry Christmas Mr. Lawrence", 3);
  make("open.ogg", "AC/DC", "T.N.T.", 4);
  if (af_make_garbage(in_lib("garbage.mp3"), 5000) ||
      af_truncate_copy(in_lib("crash.flac"), in_lib("trunc.flac"), 3000))
    return -1;
  setenv("SOULSPOT_PROBE_TEST_CRASH", "crash.flac", 1);
  setenv("SOULSPOT_PROBE_TEST_HANG", "hang.mp3", 1);
  setenv("SOULSPOT_PROBE_TEST_OPEN", "open.ogg", 1);
  return 0;
}

static int remove_files(void **state)
{
  (void)state;
  media_pool_shutdown();
  tfs_rm_tree(dir);
  return 0;
}

/* A fresh pool on the given helper. */
static void use(const char *helper, int helpers, int timeout_s, int idle_s)
{
  media_pool_shutdown();
  struct media_pool_opts o = {.helper = helper,
                              .helpers = helpers,
                              .timeout_s = timeout_s,
                              .idle_s = idle_s};
  media_pool_configure(&o);
}

/* Probes one file of the library; SS_EIO when it cannot be opened.  Safe
 * on any thread: its own path buffer (in_lib's rotating one is not), and
 * no cmocka assertion (one that fails off the test's thread ends the
 * binary with status 255 and no message). */
static int probe(const char *name, struct media_info *m, char *err,
                 size_t errlen)
{
  char path[256];
  snprintf(path, sizeof path, "%s/%s", lib, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s", path);
    return SS_EIO;
  }
  int rc = media_probe_fd(fd, name, m, err, errlen);
  close(fd);
  return rc;
}

static void reason_is(struct db *db, const char *name, const char *want)
{
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(db, in_lib(name), t), SS_OK);
  assert_true(t->unreadable);
  if (want)
    assert_string_equal(t->unreadable_reason, want);
  else /* a reason, and not the helper's death */
    assert_true(t->unreadable_reason[0] &&
                strncmp(t->unreadable_reason, "analysis", 8) != 0);
  free(t);
}

static void test_scan_marks_crash_hang_and_garbage(void **state)
{
  (void)state;
  use(hooked, 2, 2, 0);
  char db_path[160];
  snprintf(db_path, sizeof db_path, "%s/s.db", dir);
  struct db *db;
  int v;
  assert_int_equal(db_open(db_path, &db), SS_OK);
  assert_int_equal(db_migrate(db, &v), SS_OK);
  struct scanner_opts o = {.root = lib, .want_fingerprint = true};
  struct scanner_stats st;
  char err[256];
  assert_int_equal(scanner_run(db, &o, &st, err, sizeof err), SS_OK);
  assert_int_equal(st.files, 6);
  assert_int_equal(st.unreadable, 5);
  assert_int_equal(st.analysis_failed, 3);
  assert_int_equal(st.fingerprinted, 1);
  reason_is(db, "crash.flac", "analysis crashed: signal 11");
  reason_is(db, "hang.mp3", "analysis took longer than 2 s");
  reason_is(db, "open.ogg", "analysis crashed: signal 31"); /* SIGSYS */
  reason_is(db, "garbage.mp3", NULL);
  reason_is(db, "trunc.flac", NULL);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(db, in_lib("Björk - Jóga.flac"),
                                            t),
                   SS_OK);
  assert_false(t->unreadable);
  assert_string_equal(t->unreadable_reason, "");
  assert_string_equal(t->media.artist, "Björk");
  assert_string_equal(t->media.title, "Jóga");
  free(t);
  struct library_counts c;
  assert_int_equal(db_library_counts(db, &c), SS_OK);
  assert_int_equal(c.unreadable, 5);
  /* a rescan does not feed the same files to a helper again */
  assert_int_equal(scanner_run(db, &o, &st, err, sizeof err), SS_OK);
  assert_int_equal(st.probed, 0);
  assert_int_equal(st.analysis_failed, 0);
  assert_true(media_pool_running() <= 2);
  db_close(db);
}

static void test_fresh_helper_after_crash(void **state)
{
  (void)state;
  use(hooked, 1, 30, 0);
  struct media_info m;
  char err[160];
  assert_int_equal(probe("crash.flac", &m, err, sizeof err), SS_EKILLED);
  assert_string_equal(err, "analysis crashed: signal 11");
  assert_int_equal(media_pool_running(), 0);
  assert_int_equal(probe("open.ogg", &m, err, sizeof err), SS_EKILLED);
  assert_string_equal(err, "analysis crashed: signal 31");
  assert_int_equal(probe("Björk - Jóga.flac", &m, err, sizeof err), SS_OK);
  assert_string_equal(m.artist, "Björk");
  assert_int_equal(media_pool_running(), 1);
}

static void test_product_helper_has_no_switches(void **state)
{
  (void)state;
  use(product, 1, 30, 0);
  struct media_info m;
  char err[160];
  assert_int_equal(probe("crash.flac", &m, err, sizeof err), SS_OK);
  assert_string_equal(m.artist, "Sigur Rós");
  assert_int_equal(probe("open.ogg", &m, err, sizeof err), SS_OK);
  assert_string_equal(m.artist, "AC/DC");
  assert_int_equal(probe("hang.mp3", &m, err, sizeof err), SS_OK);
  assert_string_equal(m.artist, "坂本龍一");
}

static void test_idle_helpers_stop(void **state)
{
  (void)state;
  use(product, 1, 30, 1);
  struct media_info m;
  char err[160];
  assert_int_equal(probe("Björk - Jóga.flac", &m, err, sizeof err), SS_OK);
  assert_int_equal(media_pool_running(), 1);
  /* wait for the condition (the reaper checks every second) */
  for (int i = 0; i < 2000 && media_pool_running() > 0; i++)
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  assert_int_equal(media_pool_running(), 0);
  /* and a later call starts one again */
  assert_int_equal(probe("Björk - Jóga.flac", &m, err, sizeof err), SS_OK);
  assert_string_equal(m.title, "Jóga");
}

static void test_missing_helper(void **state)
{
  (void)state;
  char missing[160];
  snprintf(missing, sizeof missing, "%s/no-such-probe", dir);
  use(missing, 1, 30, 0);
  struct media_info m;
  char err[300];
  int rc = probe("Björk - Jóga.flac", &m, err, sizeof err);
  assert_int_equal(rc, SS_EIO);
  assert_non_null(strstr(err, "cannot start"));
  assert_int_equal(media_pool_running(), 0);
}

static void *probe_thread(void *arg)
{
  struct media_info m;
  char err[160];
  int *rc = arg;
  for (int i = 0; i < 5 && *rc == SS_OK; i++)
    *rc = probe("Björk - Jóga.flac", &m, err, sizeof err);
  if (*rc != SS_OK)
    fprintf(stderr, "error: probe in a thread: %s\n", err);
  return NULL;
}

static void test_threads_share_one_helper(void **state)
{
  (void)state;
  use(product, 1, 30, 0);
  pthread_t t[3];
  int rc[3] = {SS_OK, SS_OK, SS_OK};
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&t[i], NULL, probe_thread, &rc[i]), 0);
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(rc[i], SS_OK);
  }
  assert_int_equal(media_pool_running(), 1);
}

int main(void)
{
  if (!af_available()) {
    fprintf(stderr, "error: ffmpeg is required\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scan_marks_crash_hang_and_garbage),
    cmocka_unit_test(test_fresh_helper_after_crash),
    cmocka_unit_test(test_product_helper_has_no_switches),
    cmocka_unit_test(test_idle_helpers_stop),
    cmocka_unit_test(test_missing_helper),
    cmocka_unit_test(test_threads_share_one_helper),
  };
  return cmocka_run_group_tests(tests, make_files, remove_files);
}
