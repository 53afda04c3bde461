/*
 * test_demo.c - `make demo` in its test mode: demo-fakes --check runs the
 * daemon against the fakes with the generated library and exits 0 only
 * when, over the HTTP API, the Spotify login, a sync, a duplicate group,
 * space freed by Cleanup and two imported downloads (one asked for by
 * hand, one quality upgrade) were all seen within DEMO_CHECK_S; then the
 * daemon must have stopped cleanly.  This test also looks at the demo
 * folder afterwards: the downloads are files in the library, the MP3 the
 * upgrade replaced is in the quarantine, the orphaned temp files are gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "audio_fixtures.h"
#include "core/buf.h"
#include "daemon.h"
#include "tfs.h"

#define DEMO_CHECK_S 90

static char dir[64];

static void test_demo_shows_every_worker(void **state)
{
  (void)state;
  if (!af_available()) {
    fprintf(stderr, "note: ffmpeg missing, demo not tested\n");
    skip();
  }
  snprintf(dir, sizeof dir, "/tmp/test_demo.XXXXXX");
  assert_non_null(mkdtemp(dir));
  char build[PATH_MAX], cmd[3 * PATH_MAX];
  snprintf(build, sizeof build, "%s", daemon_binary());
  *strrchr(build, '/') = '\0';
  snprintf(cmd, sizeof cmd,
           "'%s/tests/fakes/demo-fakes' --daemon '%s/soulspotd' "
           "--dir '%s' --port 0 --check %d 2>&1",
           build, build, dir, DEMO_CHECK_S);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  struct buf out;
  buf_init(&out, 1 << 20);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
    buf_append(&out, chunk, n);
  int st = pclose(p);
  const char *text = buf_cstr(&out);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char log[PATH_MAX];
    snprintf(log, sizeof log, "tail -30 '%s/soulspotd.log' >&2", dir);
    fprintf(stderr,
            "error: demo-fakes --check failed (status %d):\n%s\n"
            "soulspotd.log:\n",
            st, text);
    (void)!system(log);
  }
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  static const char *const said[] =
    {"Spotify: logged in",
     "Spotify Sync: ",
     "Duplicate Detector: scanned ",
     "Sigur Rós - Hoppípolla twice",
     "Cleanup: deleted 3 orphaned temp files",
     "Download: \"坂本龍一 - Merry Christmas Mr. Lawrence\" downloaded from "
     "demo-peer and imported",
     "Quality Upgrade: \"Björk - Jóga\" downloaded "
     "from demo-peer and imported",
     "all done",
     NULL};
  for (size_t i = 0; said[i]; i++)
    if (!strstr(text, said[i]))
      fail_msg("the demo did not say \"%s\":\n%s", said[i], text);
  assert_null(strstr(text, "missing:"));

  /* What it left behind: the temp files gone, the FLAC in place of the
   * MP3, which waits in the quarantine, the new download in the library. */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/temp/search-cache.tmp", dir);
  assert_false(tfs_exists(path));
  snprintf(path, sizeof path,
           "%s/data/quarantine/Björk/Homogenic (1997)/"
           "02 Jóga.mp3",
           dir);
  assert_true(tfs_exists(path));
  snprintf(path, sizeof path,
           "%s/library/坂本龍一/Merry Christmas Mr. "
           "Lawrence (1983)/1-01 Merry Christmas Mr. Lawrence.flac",
           dir);
  assert_true(tfs_exists(path));
  snprintf(path, sizeof path, "%s/library/Björk/Homogenic (1997)/02 Jóga.flac",
           dir);
  if (!tfs_exists(path)) {
    snprintf(cmd, sizeof cmd, "find '%s/library' '%s/data' -type f >&2", dir,
             dir);
    (void)!system(cmd);
    fail_msg("no upgraded %s", path);
  }
  buf_free(&out);
}

static int teardown(void **state)
{
  (void)state;
  if (dir[0] && !getenv("SOULSPOT_KEEP_TMP"))
    tfs_rm_tree(dir);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_demo_shows_every_worker, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
