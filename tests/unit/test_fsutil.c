/*
 * test_fsutil.c - core/fsutil.c: paths below a root (as written and as
 * realpath() resolves the root), opening and examining beneath a root
 * with openat2 and with the per-component walk (a folder that is a
 * symlink, a symlink at the end, ".." and an absolute symlink all
 * refused), the no-replace move creating folders beneath its root (never
 * through a planted symlink), and fs_move_resume for every state a crash
 * can leave.  Names are real-world ones, in NFC and NFD.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"
#include "core/err.h"
#include "core/fsutil.h"

/* "Björk" with a precomposed ö (NFC) and with o + U+0308 (NFD). */
#define BJORK_NFC "Bj\xc3\xb6rk"
#define BJORK_NFD "Bjo\xcc\x88rk"

struct fx {
  char dir[64], root[128], out[128];
};

static int setup(void **state)
{
  struct fx *x = calloc(1, sizeof *x);
  snprintf(x->dir, sizeof x->dir, "/tmp/test_fsutil.XXXXXX");
  if (!mkdtemp(x->dir))
    return -1;
  snprintf(x->root, sizeof x->root, "%s/lib", x->dir);
  snprintf(x->out, sizeof x->out, "%s/outside", x->dir);
  if (mkdir(x->root, 0755) || mkdir(x->out, 0755))
    return -1;
  *state = x;
  return 0;
}

static int teardown(void **state)
{
  struct fx *x = *state;
  fs_force_component_walk(false);
  tfs_rm_tree(x->dir);
  free(x);
  return 0;
}

static const char *at(const char *base, const char *rel)
{
  static char p[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(p[k], sizeof p[k], "%s/%s", base, rel);
  return p[k];
}

static void write_text(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_below(void **state)
{
  struct fx *x = *state;
  char link[160];
  snprintf(link, sizeof link, "%s/lib-link", x->dir);
  assert_int_equal(symlink(x->root, link), 0);
  assert_string_equal(fs_below(x->root, at(x->root, "AC_DC/x.flac")),
                      "AC_DC/x.flac");
  assert_string_equal(fs_below(link, at(x->root, "a")), "a"); /* realpath */
  assert_string_equal(fs_below("/srv/music/", "/srv/music/a"), "a");
  assert_string_equal(fs_below("/srv/music", "/srv/music"), "");
  assert_null(fs_below("/srv/music", "/srv/musicals/a"));
  assert_null(fs_below("/srv/music", "relative/a"));
  assert_null(fs_below("", "/a"));
}

/* Every way out of the root is refused; the way in works. */
static void beneath_rules(struct fx *x)
{
  char path[600];
  snprintf(path, sizeof path, "%s/" BJORK_NFC, x->root);
  assert_int_equal(mkdir(path, 0755), 0);
  write_text(at(path, "J\xc3\xb3ga.flac"), "nfc");
  snprintf(path, sizeof path, "%s/" BJORK_NFD, x->root);
  assert_int_equal(mkdir(path, 0755), 0);
  write_text(at(path, "J\xc3\xb3ga.flac"), "nfd");
  write_text(at(x->out, "secret.flac"), "outside");
  assert_int_equal(symlink(x->out, at(x->root, "Sigur R\xc3\xb3s")), 0);
  assert_int_equal(symlink("../outside/secret.flac", at(x->root, "link.flac")),
                   0);
  struct stat st;
  char err[300];
  int fd = fs_open_beneath(x->root, at(x->root, BJORK_NFD "/J\xc3\xb3ga.flac"),
                           O_RDONLY, 0);
  assert_true(fd >= 0);
  char buf[8] = "";
  assert_int_equal(read(fd, buf, sizeof buf - 1), 3);
  close(fd);
  assert_string_equal(buf, "nfd"); /* NFD and NFC are two names */
  assert_int_equal(fs_lstat_beneath(x->root,
                                    at(x->root, BJORK_NFC "/J\xc3\xb3ga.flac"),
                                    &st, err, sizeof err),
                   SS_OK);
  assert_int_equal(st.st_size, 3);
  /* a folder that is a symlink */
  errno = 0;
  assert_true(fs_open_beneath(x->root,
                              at(x->root, "Sigur R\xc3\xb3s/secret.flac"),
                              O_RDONLY, 0) < 0);
  assert_int_equal(errno, ELOOP);
  assert_int_equal(fs_lstat_beneath(x->root,
                                    at(x->root,
                                       "Sigur R\xc3\xb3s/secret.flac"),
                                    &st, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "symbolic link"));
  /* a symlink at the end is examined, never followed */
  assert_true(fs_open_beneath(x->root, at(x->root, "link.flac"), O_RDONLY, 0) <
              0);
  assert_int_equal(fs_lstat_beneath(x->root, at(x->root, "link.flac"), &st,
                                    err, sizeof err),
                   SS_OK);
  assert_true(S_ISLNK(st.st_mode));
  /* ".." out of the root */
  snprintf(path, sizeof path, "%s/../outside/secret.flac", x->root);
  assert_true(fs_open_beneath(x->root, path, O_RDONLY, 0) < 0);
  assert_int_equal(fs_lstat_beneath(x->root, path, &st, err, sizeof err),
                   SS_EINVAL);
  /* not beneath at all; missing */
  assert_int_equal(fs_lstat_beneath(x->root, at(x->out, "secret.flac"), &st,
                                    err, sizeof err),
                   SS_EINVAL);
  assert_int_equal(fs_lstat_beneath(x->root, at(x->root, "nope/x.flac"), &st,
                                    err, sizeof err),
                   SS_ENOTFOUND);
  /* the move never creates its folders through a symlink */
  write_text(at(x->root, "song.flac"), "song");
  assert_int_equal(fs_move_beneath(x->root, at(x->root, "song.flac"), x->root,
                                   at(x->root, "Sigur R\xc3\xb3s/new/a.flac"),
                                   "t", false, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "symbolic link"));
  assert_false(tfs_exists(at(x->out, "new")));
  /* nor moves a symlink, nor reads through one */
  assert_int_equal(fs_move_beneath(x->root, at(x->root, "link.flac"), x->root,
                                   at(x->root, "moved.flac"), "t", false, err,
                                   sizeof err),
                   SS_EINVAL);
  assert_int_equal(fs_move_beneath(x->root,
                                   at(x->root, "Sigur R\xc3\xb3s/secret.flac"),
                                   x->root, at(x->root, "stolen.flac"), "t",
                                   true, err, sizeof err),
                   SS_EINVAL);
  assert_true(tfs_exists(at(x->out, "secret.flac")));
  /* the way in: folders created, 坂本龍一 and <b>&"' fine */
  assert_int_equal(
    fs_move_beneath(x->root, at(x->root, "song.flac"), x->root,
                    at(x->root, "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4"
                                "\xb8\x80/<b>&\"'/song.flac"),
                    "t", false, err, sizeof err),
    SS_OK);
}

static void test_beneath_openat2(void **state) { beneath_rules(*state); }

static void test_beneath_walk(void **state)
{
  fs_force_component_walk(true);
  beneath_rules(*state);
}

/* Every state a crash can leave between the journal and the record. */
static void test_move_resume(void **state)
{
  struct fx *x = *state;
  char err[300];
  const char *src = at(x->root, "a.flac"), *dst = at(x->out, "q/a.flac");
  /* source only: moves */
  write_text(src, "a");
  assert_int_equal(fs_move_resume(x->root, src, x->out, dst, "t", true, err,
                                  sizeof err),
                   SS_OK);
  assert_false(tfs_exists(src));
  assert_true(tfs_exists(dst));
  /* target only: done */
  assert_int_equal(fs_move_resume(x->root, src, x->out, dst, "t", true, err,
                                  sizeof err),
                   SS_OK);
  /* both, the target a finished copy (times kept): the source goes */
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cp --preserve=timestamps '%s' '%s'", dst, src);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(fs_move_resume(x->root, src, x->out, dst, "t", true, err,
                                  sizeof err),
                   SS_OK);
  assert_false(tfs_exists(src));
  assert_true(tfs_exists(dst));
  /* both, the target another file: busy, nothing removed */
  write_text(src, "another");
  assert_int_equal(fs_move_resume(x->root, src, x->out, dst, "t", true, err,
                                  sizeof err),
                   SS_EBUSY);
  assert_true(tfs_exists(src));
  /* neither */
  assert_int_equal(unlink(src), 0);
  assert_int_equal(unlink(dst), 0);
  assert_int_equal(fs_move_resume(x->root, src, x->out, dst, "t", true, err,
                                  sizeof err),
                   SS_ENOTFOUND);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_below),
    T(test_beneath_openat2),
    T(test_beneath_walk),
    T(test_move_resume),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
