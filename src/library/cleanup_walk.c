/*
 * cleanup_walk.c - the symlink-safe orphan walk (see cleanup_walk.h).
 *
 * What: an iterative depth-first walk with one open folder descriptor per
 * level; every decision and removal is relative to those descriptors, so
 * a path component swapped for a symlink after we opened it cannot lead
 * us out of the root.  The absolute path is kept only for the active
 * download check and for messages.
 *
 * Threading: the walk runs on the caller's thread; the active download
 * check is an atomic function pointer.
 *
 * Ownership: descriptors are closed before cleanup_walk returns.
 */
#include "library/cleanup_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

static _Atomic(cleanup_active_fn) active_check;

void cleanup_set_active_download_check(cleanup_active_fn fn)
{
  atomic_store(&active_check, fn);
}

bool cleanup_is_active_download(const char *path)
{
  cleanup_active_fn fn = atomic_load(&active_check);
  return fn && path && fn(path);
}

static bool ends_with_ci(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n > k && !strcasecmp(s + n - k, suffix);
}

bool cleanup_is_orphan_name(const char *name)
{
  return name && (ends_with_ci(name, ".part") || ends_with_ci(name, ".tmp") ||
                  ends_with_ci(name, ".partial"));
}

bool cleanup_is_incomplete_dir(const char *name)
{
  return name &&
         (!strcasecmp(name, "incomplete") || !strcasecmp(name, ".incomplete"));
}

struct level {
  DIR *dir;
  size_t path_len; /* of this folder's path in walk.path */
  bool incomplete; /* this folder or an ancestor is slskd's */
  bool removable;  /* old enough to go when empty */
  bool emptied;    /* the walk removed something in it */
  dev_t dev;
  ino_t ino;
  char name[NAME_MAX + 1]; /* in the parent; "" for the root */
};

struct walk {
  const struct cleanup_opts *o;
  struct cleanup_result *r;
  dev_t root_dev;
  char path[PATH_MAX + NAME_MAX + 2];
  struct level stack[CLEANUP_MAX_DEPTH];
  int depth;
  bool stop;
};

static bool is_old(const struct walk *w, const struct stat *st)
{
  return (int64_t)st->st_mtim.tv_sec < w->o->cutoff_s;
}

static bool path_push(struct walk *w, size_t base, const char *name)
{
  int n = snprintf(w->path + base, sizeof w->path - base, "/%s", name);
  return n > 0 && (size_t)n < sizeof w->path - base;
}

/* Checks the caps; false when st must be skipped (w->stop when done). */
static bool within_caps(struct walk *w, const struct stat *st)
{
  if (w->r->files + 1 > w->o->max_files) {
    w->r->capped = true;
    w->stop = true;
    return false;
  }
  if (w->r->bytes + st->st_size > w->o->max_bytes) {
    w->r->capped = true;
    return false;
  }
  return true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void consider_file(struct walk *w, struct level *lv, int dfd,
                          const char *name, const struct stat *st)
{
  const struct cleanup_opts *o = w->o;
  if (!(o->all_files || lv->incomplete || cleanup_is_orphan_name(name)))
    return;
  if (!is_old(w, st))
    return;
  if (cleanup_is_active_download(w->path)) {
    w->r->skipped_active++;
    return;
  }
  if (!within_caps(w, st))
    return;
  if (!o->dry_run) {
    if (o->before_delete)
      o->before_delete(o->hook_arg, dfd, name);
    struct stat now;
    if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) ||
        !S_ISREG(now.st_mode) || !same_file(st, &now)) {
      w->r->skipped_changed++;
      return;
    }
    if (unlinkat(dfd, name, 0)) {
      w->r->errors++;
      log_warn("cleanup", "cannot delete %s: %s", w->path, strerror(errno));
      return;
    }
    lv->emptied = true;
    log_debug("cleanup", "deleted %s", w->path);
  }
  w->r->files++;
  w->r->bytes += st->st_size;
}

/* Opens a sub-folder (never through a symlink) as the next level; seen,
 * when the entry was stat'ed first, must still be the same inode. */
static void enter_dir(struct walk *w, const struct level *lv, int dfd,
                      const char *name, const struct stat *seen)
{
  if (w->depth + 1 >= CLEANUP_MAX_DEPTH)
    return;
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
      w->r->skipped_changed++; /* swapped or gone since readdir */
    else
      w->r->errors++;
    return;
  }
  struct stat st;
  DIR *d = NULL;
  if (fstat(fd, &st) || st.st_dev != w->root_dev /* another mount */ ||
      (seen && (st.st_dev != seen->st_dev || st.st_ino != seen->st_ino)) ||
      !(d = fdopendir(fd))) {
    close(fd);
    return;
  }
  struct level *child = &w->stack[++w->depth];
  *child = (struct level){
    .dir = d,
    .path_len = strlen(w->path),
    .incomplete = lv->incomplete || cleanup_is_incomplete_dir(name),
    .removable = is_old(w, &st),
    .dev = st.st_dev,
    .ino = st.st_ino,
  };
  snprintf(child->name, sizeof child->name, "%s", name);
}

/* One entry.  readdir's d_type answers most entries without a syscall:
 * links are counted, regular files that cannot be orphans skipped, folders
 * opened; only candidates (and unknown types) are stat'ed. */
static void visit(struct walk *w, struct level *lv, const struct dirent *de)
{
  const char *name = de->d_name;
  if (!strcmp(name, ".") || !strcmp(name, ".."))
    return;
  if (de->d_type == DT_LNK) {
    w->r->skipped_links++;
    return;
  }
  if (de->d_type == DT_REG && !w->o->all_files && !lv->incomplete &&
      !cleanup_is_orphan_name(name))
    return;
  if (!path_push(w, lv->path_len, name)) {
    w->r->errors++;
    return;
  }
  int dfd = dirfd(lv->dir);
  if (de->d_type == DT_DIR) {
    enter_dir(w, lv, dfd, name, NULL);
    return;
  }
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
    if (errno != ENOENT)
      w->r->errors++;
    return;
  }
  if (S_ISLNK(st.st_mode))
    w->r->skipped_links++;
  else if (S_ISDIR(st.st_mode))
    enter_dir(w, lv, dfd, name, &st);
  else if (S_ISREG(st.st_mode))
    consider_file(w, lv, dfd, name, &st);
}

/* A finished folder: removed when empty and it was old or we emptied it
 * (never the root, never in a dry run). */
static void leave_dir(struct walk *w)
{
  struct level *lv = &w->stack[w->depth];
  bool try_remove = w->depth > 0 && !w->o->dry_run && !w->stop &&
                    (lv->removable || lv->emptied);
  closedir(lv->dir);
  w->depth--;
  if (!try_remove)
    return;
  struct level *parent = &w->stack[w->depth];
  int pfd = dirfd(parent->dir);
  struct stat st;
  if (fstatat(pfd, lv->name, &st, AT_SYMLINK_NOFOLLOW) ||
      !S_ISDIR(st.st_mode) || st.st_dev != lv->dev || st.st_ino != lv->ino)
    return;
  if (unlinkat(pfd, lv->name, AT_REMOVEDIR) == 0) {
    w->r->dirs++;
    parent->emptied = true;
  }
}

static enum ss_err open_root(struct walk *w, const char *root, char *err,
                             size_t errlen)
{
  char real[PATH_MAX];
  if (!realpath(root, real)) {
    snprintf(err, errlen, "folder %s does not exist", root);
    return errno == ENOENT ? SS_ENOTFOUND : SS_EINVAL;
  }
  if (!strcmp(real, "/")) {
    snprintf(err, errlen, "refusing to clean the file system root");
    return SS_EINVAL;
  }
  struct stat st;
  if (lstat(root, &st) == 0 && S_ISLNK(st.st_mode)) {
    snprintf(err, errlen,
             "folder %s is a symbolic link; refusing to follow "
             "it",
             root);
    return SS_EINVAL;
  }
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = NULL;
  if (fd < 0 || fstat(fd, &st) || !(d = fdopendir(fd))) {
    snprintf(err, errlen, "folder %s cannot be opened: %s", root,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    return SS_EINVAL;
  }
  snprintf(w->path, sizeof w->path, "%s", real);
  w->root_dev = st.st_dev;
  w->stack[0] = (struct level){.dir = d,
                               .path_len = strlen(w->path),
                               .dev = st.st_dev,
                               .ino = st.st_ino};
  w->depth = 0;
  return SS_OK;
}

enum ss_err cleanup_walk(const char *root, const struct cleanup_opts *opts,
                         struct cleanup_result *res, char *err, size_t errlen)
{
  char dummy[8];
  if (!err || !errlen) {
    err = dummy;
    errlen = sizeof dummy;
  }
  err[0] = '\0';
  if (!root || !root[0] || !opts || !res)
    return SS_EINVAL;
  memset(res, 0, sizeof *res);
  struct walk w = {.o = opts, .r = res, .depth = -1};
  enum ss_err rc = open_root(&w, root, err, errlen);
  if (rc)
    return rc;
  if (opts->max_files <= 0 || opts->max_bytes <= 0) {
    res->capped = true;
    w.stop = true;
  }
  while (w.depth >= 0) {
    if (!w.stop && opts->should_stop && opts->should_stop(opts->stop_arg)) {
      res->canceled = true;
      w.stop = true;
    }
    struct level *lv = &w.stack[w.depth];
    struct dirent *de = w.stop ? NULL : readdir(lv->dir);
    if (!de)
      leave_dir(&w);
    else
      visit(&w, lv, de);
  }
  return SS_OK;
}
