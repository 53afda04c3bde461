/*
 * test_data_files.c - the database, its WAL and SHM are private (0600)
 * whatever the umask and however the data folder came to be, and a data
 * folder open to other users is reported at start (issue 9, item 6).
 *
 * The test process sets umask 022 (the common default) before it starts
 * the daemon, which inherits it: without the fix SQLite created the files
 * 0644.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "itest.h"

static unsigned mode_of(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "error: %s does not exist\n", path);
    return 01000; /* never a permission value */
  }
  return (unsigned)(st.st_mode & 0777);
}

/* The database and its WAL and SHM exist (a write happened) and are
 * 0600. */
static void assert_private(struct it_fixture *f)
{
  char wal[DAEMON_PATH_MAX + 8], shm[DAEMON_PATH_MAX + 8];
  snprintf(wal, sizeof wal, "%s-wal", f->d.db_path);
  snprintf(shm, sizeof shm, "%s-shm", f->d.db_path);
  assert_int_equal(it_patch_settings(f, "{\"log.level\": \"info\"}"), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_int_equal(mode_of(f->d.db_path), 0600);
  assert_int_equal(mode_of(wal), 0600);
  assert_int_equal(mode_of(shm), 0600);
}

static bool log_has(struct it_fixture *f, const char *text)
{
  struct buf log;
  buf_init(&log, 4 << 20);
  daemon_read_stderr(&f->d, &log);
  bool found = strstr(buf_cstr(&log), text) != NULL;
  buf_free(&log);
  return found;
}

static void test_files_private_in_open_folder(void **state)
{
  struct it_fixture *f = *state;
  mode_t old = umask(022);
  assert_int_equal(daemon_prepare(&f->d, NULL), SS_OK);
  assert_int_equal(chmod(f->d.data_dir, 0755), 0); /* made by the user */
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  umask(old);
  assert_private(f);
  assert_true(log_has(f, "is open to other users (mode 0755)"));
}

static void test_existing_files_made_private(void **state)
{
  struct it_fixture *f = *state;
  mode_t old = umask(022);
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  assert_private(f);
  assert_false(log_has(f, "open to other users"));
  /* Files left readable by an older version (here after a crash, which
   * keeps the WAL and SHM) are tightened at start. */
  daemon_kill9(&f->d);
  char wal[DAEMON_PATH_MAX + 8], shm[DAEMON_PATH_MAX + 8];
  snprintf(wal, sizeof wal, "%s-wal", f->d.db_path);
  snprintf(shm, sizeof shm, "%s-shm", f->d.db_path);
  assert_int_equal(chmod(f->d.db_path, 0644), 0);
  assert_int_equal(chmod(wal, 0644), 0);
  assert_int_equal(chmod(shm, 0644), 0);
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  umask(old);
  assert_private(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_files_private_in_open_folder),
    T(test_existing_files_made_private),
  };
  return cmocka_run_group_tests_name("integration/data_files", tests, NULL,
                                     NULL);
}
