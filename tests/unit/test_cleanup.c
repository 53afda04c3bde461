/*
 * test_cleanup.c - unit tests of the orphan walk (library/cleanup_walk.c)
 * in temporary trees: what counts as an orphan (patterns, slskd's
 * incomplete folder, everything in a temp root, retention), files of
 * active downloads kept, dry run, caps, empty folders, and the walk under
 * attack - a symlink pointing outside, a symlinked folder, a file swapped
 * for a symlink (or another file) between scan and delete, a root that is
 * a symlink, "/" - plus cancellation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "core/err.h"
#include "library/cleanup_walk.h"

#define DAY 86400
#define OLD (time(NULL) - 30 * DAY)

struct fx {
  char dir[64];
  char root[128];
  char outside[128];
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/test_cleanup.XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->root, sizeof fx->root, "%s/downloads", fx->dir);
  snprintf(fx->outside, sizeof fx->outside, "%s/outside", fx->dir);
  if (mkdir(fx->root, 0755) || mkdir(fx->outside, 0755))
    return -1;
  cleanup_set_active_download_check(NULL);
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  cleanup_set_active_download_check(NULL);
  tfs_rm_tree(fx->dir);
  free(fx);
  return 0;
}

static const char *at(const char *base, const char *rel)
{
  static char path[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(path[k], sizeof path[k], "%s/%s", base, rel);
  return path[k];
}

static void set_mtime(const char *path, time_t t)
{
  struct timespec ts[2] = {{t, 0}, {t, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* Writes size bytes at base/rel (folders created) with mtime t. */
static void file_at(const char *base, const char *rel, int size, time_t t)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", base, rel);
  for (char *p = path + strlen(base) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (int i = 0; i < size; i++)
    fputc('x', f);
  fclose(f);
  set_mtime(path, t);
}

static struct cleanup_opts opts(void)
{
  return (struct cleanup_opts){.cutoff_s = time(NULL) - 7 * DAY,
                               .max_files = 1000,
                               .max_bytes = 1 << 30};
}

static struct cleanup_result walk(const char *root,
                                  const struct cleanup_opts *o)
{
  struct cleanup_result r;
  char err[256];
  int rc = cleanup_walk(root, o, &r, err, sizeof err);
  if (rc)
    fail_msg("walk %s: %s", root, err);
  return r;
}

static void test_names(void **state)
{
  (void)state;
  assert_true(cleanup_is_orphan_name("a.part"));
  assert_true(cleanup_is_orphan_name("A.PART"));
  assert_true(cleanup_is_orphan_name("x.flac.tmp"));
  assert_true(cleanup_is_orphan_name("x.partial"));
  assert_false(cleanup_is_orphan_name(".part"));
  assert_false(cleanup_is_orphan_name("part"));
  assert_false(cleanup_is_orphan_name("a.flac"));
  assert_false(cleanup_is_orphan_name("a.party"));
  assert_true(cleanup_is_incomplete_dir("incomplete"));
  assert_true(cleanup_is_incomplete_dir(".Incomplete"));
  assert_false(cleanup_is_incomplete_dir("incompletely"));
}

static void test_orphans_and_retention(void **state)
{
  struct fx *fx = *state;
  time_t fresh = time(NULL) - 1 * DAY;
  file_at(fx->root, "Album/01.flac.part", 100, OLD);
  file_at(fx->root, "Album/02.flac.tmp", 10, OLD);
  file_at(fx->root, "Album/03.flac.partial", 1, OLD);
  file_at(fx->root, "Album/04.flac.part", 100, fresh); /* too young */
  file_at(fx->root, "Album/05.flac", 100, OLD);        /* finished */
  file_at(fx->root, "incomplete/user/x/06.mp3", 50, OLD);
  file_at(fx->root, ".incomplete/07.mp3", 5, OLD);
  struct cleanup_opts o = opts();
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 5);
  assert_int_equal(r.bytes, 166);
  assert_false(tfs_exists(at(fx->root, "Album/01.flac.part")));
  assert_false(tfs_exists(at(fx->root, "incomplete/user/x/06.mp3")));
  assert_true(tfs_exists(at(fx->root, "Album/04.flac.part")));
  assert_true(tfs_exists(at(fx->root, "Album/05.flac")));
  assert_true(tfs_exists(fx->root));
  /* the emptied slskd folders went (never the root) */
  assert_false(tfs_exists(at(fx->root, "incomplete/user")));
  assert_false(tfs_exists(at(fx->root, "incomplete")));
  assert_false(tfs_exists(at(fx->root, ".incomplete")));
  assert_true(tfs_exists(at(fx->root, "Album")));
}

static void test_temp_root_takes_every_old_file(void **state)
{
  struct fx *fx = *state;
  file_at(fx->root, "a.flac", 10, OLD);
  file_at(fx->root, "sub/b.txt", 20, OLD);
  file_at(fx->root, "sub/c.txt", 20, time(NULL));
  struct cleanup_opts o = opts();
  o.all_files = true;
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 2);
  assert_int_equal(r.bytes, 30);
  assert_true(tfs_exists(at(fx->root, "sub/c.txt")));
}

static void test_empty_folders(void **state)
{
  struct fx *fx = *state;
  assert_int_equal(mkdir(at(fx->root, "old"), 0755), 0);
  assert_int_equal(mkdir(at(fx->root, "old/older"), 0755), 0);
  set_mtime(at(fx->root, "old/older"), OLD);
  set_mtime(at(fx->root, "old"), OLD);
  assert_int_equal(mkdir(at(fx->root, "new"), 0755), 0); /* slskd may be
                                                            about to use it */
  set_mtime(fx->root, OLD);
  struct cleanup_opts o = opts();
  o.dry_run = true;
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.dirs, 0);
  assert_true(tfs_exists(at(fx->root, "old/older"))); /* dry run: untouched */
  o.dry_run = false;
  r = walk(fx->root, &o);
  assert_int_equal(r.dirs, 2);
  assert_false(tfs_exists(at(fx->root, "old")));
  assert_true(tfs_exists(at(fx->root, "new")));
  assert_true(tfs_exists(fx->root));
}

static void test_dry_run_touches_nothing(void **state)
{
  struct fx *fx = *state;
  file_at(fx->root, "a.part", 100, OLD);
  file_at(fx->root, "d/b.part", 50, OLD);
  struct cleanup_opts o = opts();
  o.dry_run = true;
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 2);
  assert_int_equal(r.bytes, 150);
  assert_true(tfs_exists(at(fx->root, "a.part")));
  assert_true(tfs_exists(at(fx->root, "d/b.part")));
}

static void test_caps(void **state)
{
  struct fx *fx = *state;
  char name[32];
  for (int i = 0; i < 10; i++) {
    snprintf(name, sizeof name, "f%d.part", i);
    file_at(fx->root, name, 100, OLD);
  }
  file_at(fx->root, "huge.part", 5000, OLD);
  struct cleanup_opts o = opts();
  o.max_files = 3;
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 3);
  assert_true(r.capped);
  /* bytes: the huge file never fits, the small ones do */
  o.max_files = 1000;
  o.max_bytes = 450;
  r = walk(fx->root, &o);
  assert_true(r.capped);
  assert_int_equal(r.files, 4);
  assert_int_equal(r.bytes, 400);
  assert_true(tfs_exists(at(fx->root, "huge.part")));
  o.max_bytes = 1 << 20;
  r = walk(fx->root, &o);
  assert_int_equal(r.files, 4);
  assert_false(r.capped);
  assert_false(tfs_exists(at(fx->root, "huge.part")));
}

static const char *active_name;

static bool is_active(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash && active_name && !strcmp(slash + 1, active_name);
}

static void test_active_downloads_kept(void **state)
{
  struct fx *fx = *state;
  file_at(fx->root, "in/progress.flac.part", 100, OLD);
  file_at(fx->root, "in/stale.flac.part", 100, OLD);
  active_name = "progress.flac.part";
  cleanup_set_active_download_check(is_active);
  assert_true(
    cleanup_is_active_download(at(fx->root, "x/progress.flac.part")));
  struct cleanup_opts o = opts();
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 1);
  assert_int_equal(r.skipped_active, 1);
  assert_true(tfs_exists(at(fx->root, "in/progress.flac.part")));
  assert_false(tfs_exists(at(fx->root, "in/stale.flac.part")));
  cleanup_set_active_download_check(NULL);
  assert_false(cleanup_is_active_download(at(fx->root, "in/x.part")));
}

static void test_symlinks_never_followed(void **state)
{
  struct fx *fx = *state;
  /* precious files outside the root, old and orphan-named */
  file_at(fx->outside, "precious.part", 100, OLD);
  file_at(fx->outside, "nested/precious2.part", 100, OLD);
  /* a symlink to a file outside, itself orphan-named */
  assert_int_equal(symlink(at(fx->outside, "precious.part"),
                           at(fx->root, "link.part")),
                   0);
  set_mtime(at(fx->root, "link.part"), OLD);
  /* a symlinked folder pointing outside, also as slskd's "incomplete" */
  assert_int_equal(symlink(fx->outside, at(fx->root, "linkdir")), 0);
  assert_int_equal(symlink(fx->outside, at(fx->root, "incomplete")), 0);
  /* a dangling one */
  assert_int_equal(symlink("/nonexistent/x.part", at(fx->root, "dangle.part")),
                   0);
  struct cleanup_opts o = opts();
  o.all_files = true; /* the most aggressive mode */
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 0);
  assert_int_equal(r.skipped_links, 4);
  assert_true(tfs_exists(at(fx->outside, "precious.part")));
  assert_true(tfs_exists(at(fx->outside, "nested/precious2.part")));
  assert_true(tfs_exists(at(fx->root, "link.part"))); /* links stay too */
  assert_true(tfs_exists(at(fx->root, "linkdir")));
}

/* The race: between the decision and unlinkat the file is replaced. */
struct swap {
  const char *outside_target;
  int mode; /* 0 = symlink, 1 = another file, 2 = folder swapped */
  const char *dir_path;
};

static void swap_hook(void *arg, int dirfd, const char *name)
{
  struct swap *s = arg;
  assert_int_equal(unlinkat(dirfd, name, 0), 0);
  if (s->mode == 0) {
    assert_int_equal(symlinkat(s->outside_target, dirfd, name), 0);
  } else {
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "new", 3), 3);
    close(fd);
  }
}

static void test_file_swapped_for_symlink_is_skipped(void **state)
{
  struct fx *fx = *state;
  file_at(fx->outside, "victim.part", 100, OLD);
  file_at(fx->root, "a.part", 100, OLD);
  struct swap s = {.outside_target = at(fx->outside, "victim.part")};
  struct cleanup_opts o = opts();
  o.before_delete = swap_hook;
  o.hook_arg = &s;
  struct cleanup_result r = walk(fx->root, &o);
  assert_int_equal(r.files, 0);
  assert_int_equal(r.skipped_changed, 1);
  assert_true(tfs_exists(at(fx->outside, "victim.part")));
  struct stat st;
  assert_int_equal(lstat(at(fx->root, "a.part"), &st), 0);
  assert_true(S_ISLNK(st.st_mode)); /* the swapped-in link is untouched */
  /* swapped for another regular file: also skipped */
  assert_int_equal(unlink(at(fx->root, "a.part")), 0);
  file_at(fx->root, "b.part", 100, OLD);
  s.mode = 1;
  r = walk(fx->root, &o);
  assert_int_equal(r.files, 0);
  assert_int_equal(r.skipped_changed, 1);
  assert_int_equal(lstat(at(fx->root, "b.part"), &st), 0);
  assert_int_equal(st.st_size, 3);
}

/* A folder renamed away and replaced by a symlink after the walk opened
 * it: the walk keeps working inside the real folder it holds open. */
static void move_parent_hook(void *arg, int dirfd, const char *name)
{
  struct swap *s = arg;
  (void)dirfd, (void)name;
  char moved[600];
  snprintf(moved, sizeof moved, "%s.moved", s->dir_path);
  if (rename(s->dir_path, moved) == 0)
    assert_int_equal(symlink(s->outside_target, s->dir_path), 0);
}

static void test_folder_swapped_for_symlink(void **state)
{
  struct fx *fx = *state;
  file_at(fx->outside, "x.part", 100, OLD);
  file_at(fx->root, "sub/x.part", 100, OLD);
  struct swap s = {.outside_target = fx->outside,
                   .dir_path = at(fx->root, "sub")};
  struct cleanup_opts o = opts();
  o.before_delete = move_parent_hook;
  o.hook_arg = &s;
  walk(fx->root, &o);
  assert_true(tfs_exists(at(fx->outside, "x.part")));
  assert_false(tfs_exists(at(fx->root, "sub.moved/x.part")));
}

static void test_bad_roots(void **state)
{
  struct fx *fx = *state;
  struct cleanup_opts o = opts();
  struct cleanup_result r;
  char err[256];
  assert_int_equal(cleanup_walk(at(fx->dir, "missing"), &o, &r, err,
                                sizeof err),
                   SS_ENOTFOUND);
  assert_non_null(strstr(err, "does not exist"));
  assert_int_equal(symlink(fx->outside, at(fx->dir, "rootlink")), 0);
  file_at(fx->outside, "y.part", 1, OLD);
  assert_int_equal(cleanup_walk(at(fx->dir, "rootlink"), &o, &r, err,
                                sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "symbolic link"));
  assert_true(tfs_exists(at(fx->outside, "y.part")));
  assert_int_equal(cleanup_walk("/", &o, &r, err, sizeof err), SS_EINVAL);
  file_at(fx->dir, "plain", 1, OLD);
  assert_int_equal(cleanup_walk(at(fx->dir, "plain"), &o, &r, err, sizeof err),
                   SS_EINVAL);
}

static int polls;

static bool stop_now(void *arg)
{
  (void)arg;
  return ++polls > 2;
}

static void test_cancel(void **state)
{
  struct fx *fx = *state;
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "f%02d.part", i);
    file_at(fx->root, name, 1, OLD);
  }
  struct cleanup_opts o = opts();
  o.should_stop = stop_now;
  polls = 0;
  struct cleanup_result r = walk(fx->root, &o);
  assert_true(r.canceled);
  assert_true(r.files < 20);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_names),
    T(test_orphans_and_retention),
    T(test_temp_root_takes_every_old_file),
    T(test_empty_folders),
    T(test_dry_run_touches_nothing),
    T(test_caps),
    T(test_active_downloads_kept),
    T(test_symlinks_never_followed),
    T(test_file_swapped_for_symlink_is_skipped),
    T(test_folder_swapped_for_symlink),
    T(test_bad_roots),
    T(test_cancel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
