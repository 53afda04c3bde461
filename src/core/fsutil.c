/*
 * fsutil.c - root-confined file operations and the no-replace move (see
 * fsutil.h).
 *
 * What: every path is split into its root (opened normally) and the part
 * below it, which is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) or, where the kernel answers ENOSYS, one component
 * at a time with O_NOFOLLOW (as library/cleanup_walk.c walks).  Folders
 * are created the per-component way (mkdirat, then opened O_NOFOLLOW), so
 * a symlink planted where a folder should be is refused, never followed.
 * Moves work on (folder descriptor, name) pairs from then on.
 *
 * Threading: any thread.  Ownership: descriptors are closed before each
 * call returns.
 */
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/xalloc.h"

#define COPY_CHUNK (256 * 1024)

static atomic_bool force_walk;
static atomic_bool no_openat2; /* the kernel answered ENOSYS once */

void fs_force_component_walk(bool on) { atomic_store(&force_walk, on); }

enum ss_err fs_copy_fd(int in, int out)
{
  char *chunk = xmalloc(COPY_CHUNK);
  enum ss_err rc = SS_OK;
  for (;;) {
    ssize_t n = read(in, chunk, COPY_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = n < 0 ? SS_EIO : SS_OK;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, chunk + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        rc = SS_EIO;
        break;
      }
      off += w;
    }
    if (rc)
      break;
  }
  free(chunk);
  return rc;
}

/* ---- paths below a root ---- */

static const char *below_text(const char *root, const char *path)
{
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/')
    n--;
  if (n == 1 && root[0] == '/')
    return path[0] == '/' ? path + 1 : NULL;
  if (n == 0 || strncmp(path, root, n))
    return NULL;
  if (path[n] == '\0')
    return path + n;
  return path[n] == '/' ? path + n + 1 : NULL;
}

const char *fs_below(const char *root, const char *path)
{
  if (!root || !root[0] || !path || path[0] != '/')
    return NULL;
  const char *rel = below_text(root, path);
  char real[PATH_MAX];
  if (!rel && realpath(root, real))
    rel = below_text(real, path);
  return rel;
}

/* ---- opening beneath a folder descriptor ---- */

/* Opens the folder name in dirfd, never through a symlink (ELOOP, where
 * open(2) would say ENOTDIR). */
static int open_dir_nofollow(int dirfd, const char *name)
{
  int fd = openat(dirfd, name,
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 && errno == ENOTDIR &&
      fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode))
    errno = ELOOP;
  return fd;
}

/* Opens rel below dirfd one component at a time, never through a
 * symlink; ".." is refused (EXDEV). */
static int walk_open(int dirfd, const char *rel, int flags, mode_t mode)
{
  char *copy = xstrdup(rel), *save = NULL;
  char *comp = strtok_r(copy, "/", &save);
  int cur = dirfd, fd = -1;
  while (comp && !strcmp(comp, "."))
    comp = strtok_r(NULL, "/", &save);
  if (!comp) /* rel names dirfd itself */
    fd = openat(dirfd, ".", flags | O_CLOEXEC, mode);
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    while (next && !strcmp(next, "."))
      next = strtok_r(NULL, "/", &save);
    if (!strcmp(comp, "..")) {
      if (cur != dirfd)
        close(cur);
      errno = EXDEV;
      fd = -1;
      break;
    }
    fd = next ? open_dir_nofollow(cur, comp)
              : openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (cur != dirfd) {
      int keep = errno;
      close(cur);
      errno = keep;
    }
    if (fd < 0 || !next)
      break;
    cur = fd;
    comp = next;
  }
  free(copy);
  return fd;
}

static int open_below(int dirfd, const char *rel, int flags, mode_t mode)
{
  if (!atomic_load(&force_walk) && !atomic_load(&no_openat2)) {
    struct open_how how = {
      .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? (uint64_t)mode : 0,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how,
                      sizeof how);
    if (fd >= 0 || errno != ENOSYS)
      return (int)fd;
    atomic_store(&no_openat2, true);
  }
  return walk_open(dirfd, rel, flags, mode);
}

static int open_root(const char *root)
{
  return open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int fs_open_beneath(const char *root, const char *path, int flags, mode_t mode)
{
  const char *rel = fs_below(root, path);
  if (!rel) {
    errno = EXDEV;
    return -1;
  }
  int rfd = open_root(root);
  if (rfd < 0)
    return -1;
  int fd = open_below(rfd, rel, flags, mode);
  int keep = errno;
  close(rfd);
  errno = keep;
  return fd;
}

/* ---- the folder of a path ---- */

/* Points *err at scratch when the caller passed no buffer; clears it. */
static void err_target(char **err, size_t *errlen, char *scratch, size_t n)
{
  if (!*err || !*errlen) {
    *err = scratch;
    *errlen = n;
  }
  (*err)[0] = '\0';
}

/* A file beneath a root: its folder open, its name. */
struct spot {
  int dir;
  char name[NAME_MAX + 1];
};

/* SS_E* for an errno of the opening functions, with a message. */
static enum ss_err refusal(int e, const char *what, const char *path,
                           const char *root, char *err, size_t errlen)
{
  if (e == ELOOP || e == EXDEV || e == ENOTDIR) {
    snprintf(err, errlen,
             "%s %s: a folder on the way is a symbolic link "
             "(or no folder) or leads outside %s; refusing to "
             "follow it",
             what, path, root);
    return SS_EINVAL;
  }
  snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
  return e == ENOENT ? SS_ENOTFOUND : SS_EIO;
}

/* Opens the folder of rel below rfd (creating missing folders when
 * create) into s.  SS_EINVAL for a bad name, SS_EIO otherwise, errno
 * kept. */
static enum ss_err spot_open(int rfd, const char *rel, bool create,
                             struct spot *s)
{
  const char *slash = strrchr(rel, '/');
  const char *name = slash ? slash + 1 : rel;
  if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") ||
      strlen(name) > NAME_MAX) {
    errno = EINVAL;
    return SS_EINVAL;
  }
  snprintf(s->name, sizeof s->name, "%s", name);
  char *dir = xstrndup(rel, slash ? (size_t)(slash - rel) : 0);
  if (!create) {
    s->dir = open_below(rfd, dir, O_RDONLY | O_DIRECTORY, 0);
    free(dir);
    return s->dir < 0 ? SS_EIO : SS_OK;
  }
  /* mkdir -p, one component at a time, never through a symlink */
  int cur = openat(rfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char *save = NULL;
  for (char *c = strtok_r(dir, "/", &save); c && cur >= 0;
       c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, "."))
      continue;
    int fd = -1;
    if (!strcmp(c, ".."))
      errno = EXDEV;
    else if (mkdirat(cur, c, 0755) == 0 || errno == EEXIST)
      fd = open_dir_nofollow(cur, c);
    int keep = errno;
    close(cur);
    errno = keep;
    cur = fd;
  }
  free(dir);
  s->dir = cur;
  return cur < 0 ? SS_EIO : SS_OK;
}

enum ss_err fs_lstat_beneath(const char *root, const char *path,
                             struct stat *st, char *err, size_t errlen)
{
  char scratch[8];
  err_target(&err, &errlen, scratch, sizeof scratch);
  const char *rel = fs_below(root, path);
  if (!rel || !rel[0]) {
    snprintf(err, errlen, "%s is not inside %s", path ? path : "?",
             root ? root : "?");
    return SS_EINVAL;
  }
  int rfd = open_root(root);
  if (rfd < 0)
    return refusal(errno, "cannot open the folder of", path, root, err,
                   errlen);
  struct spot s = {.dir = -1};
  enum ss_err rc = SS_OK;
  if (spot_open(rfd, rel, false, &s))
    rc = refusal(errno, "cannot open the folder of", path, root, err, errlen);
  else if (fstatat(s.dir, s.name, st, AT_SYMLINK_NOFOLLOW))
    rc = refusal(errno, "cannot examine", path, root, err, errlen);
  if (s.dir >= 0)
    close(s.dir);
  close(rfd);
  return rc;
}

/* ---- the move ---- */

static void sync_dir(int dir) { (void)fsync(dir); }

/* Across file systems: copy next to the target keeping mode and times,
 * fsync, link into place (never over an existing file), drop the source
 * (or the copy, when the source cannot go). */
static enum ss_err copy_move(const struct spot *from, const struct stat *st,
                             const struct spot *to, const char *tag,
                             const char *dst, char *err, size_t errlen)
{
  char tmp[NAME_MAX + 1];
  snprintf(tmp, sizeof tmp, ".soulspot-%s.part", tag);
  int in = openat(from->dir, from->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int out = openat(to->dir, tmp,
                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                   0600);
  struct stat ist;
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  enum ss_err rc = in >= 0 && out >= 0 && !fstat(in, &ist) &&
                       S_ISREG(ist.st_mode) && ist.st_ino == st->st_ino &&
                       fs_copy_fd(in, out) == SS_OK &&
                       !fchmod(out, st->st_mode & 07777) &&
                       !futimens(out, times) && !fsync(out)
                     ? SS_OK
                     : SS_EIO;
  int e = errno;
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) && rc == SS_OK) {
    e = errno;
    rc = SS_EIO;
  }
  if (rc) {
    snprintf(err, errlen, "copy to the folder of %s failed: %s", dst,
             strerror(e));
  } else {
    TESTHOOK_CRASH("copied");
    if (linkat(to->dir, tmp, to->dir, to->name, 0)) {
      rc = errno == EEXIST ? SS_EBUSY : SS_EIO;
      snprintf(err, errlen,
               rc == SS_EBUSY ? "%s already exists" : "cannot place %s: %s",
               dst, strerror(errno));
    }
  }
  unlinkat(to->dir, tmp, 0);
  if (rc)
    return rc;
  sync_dir(to->dir);
  if (unlinkat(from->dir, from->name, 0)) {
    snprintf(err, errlen,
             "copied to %s, but cannot remove the source (%s); "
             "the copy is removed again",
             dst, strerror(errno));
    unlinkat(to->dir, to->name, 0);
    sync_dir(to->dir);
    return SS_EIO;
  }
  sync_dir(from->dir);
  return SS_OK;
}

static enum ss_err move_at(const struct spot *from, const struct stat *st,
                           const struct spot *to, const char *tag,
                           bool force_copy, const char *src, const char *dst,
                           char *err, size_t errlen)
{
  if (!force_copy) {
    int r = renameat2(from->dir, from->name, to->dir, to->name,
                      RENAME_NOREPLACE);
    if (r && (errno == EINVAL || errno == ENOSYS)) { /* no NOREPLACE */
      r = linkat(from->dir, from->name, to->dir, to->name, 0);
      if (r == 0)
        unlinkat(from->dir, from->name, 0);
    }
    if (r == 0) {
      sync_dir(to->dir);
      sync_dir(from->dir);
      return SS_OK;
    }
    if (errno == EEXIST) {
      snprintf(err, errlen, "%s already exists", dst);
      return SS_EBUSY;
    }
    if (errno != EXDEV && errno != EPERM) {
      snprintf(err, errlen, "cannot move %s: %s", src, strerror(errno));
      return SS_EIO;
    }
  }
  return copy_move(from, st, to, tag, dst, err, errlen);
}

enum ss_err fs_move_beneath(const char *src_root, const char *src,
                            const char *dst_root, const char *dst,
                            const char *tag, bool force_copy, char *err,
                            size_t errlen)
{
  char scratch[8];
  err_target(&err, &errlen, scratch, sizeof scratch);
  const char *srel = fs_below(src_root, src);
  const char *drel = fs_below(dst_root, dst);
  if (!srel || !srel[0] || !drel || !drel[0]) {
    snprintf(err, errlen, "%s is not inside %s",
             !srel || !srel[0] ? (src ? src : "?") : dst,
             !srel || !srel[0] ? (src_root ? src_root : "?") : dst_root);
    return SS_EINVAL;
  }
  int sroot = open_root(src_root), droot = -1, rc = SS_OK;
  struct spot from = {.dir = -1}, to = {.dir = -1};
  struct stat st;
  if (sroot < 0)
    rc = refusal(errno, "cannot open", src_root, src_root, err, errlen);
  else if ((droot = open_root(dst_root)) < 0)
    rc = refusal(errno, "cannot open", dst_root, dst_root, err, errlen);
  else if (spot_open(sroot, srel, false, &from))
    rc = refusal(errno, "cannot open the folder of", src, src_root, err,
                 errlen);
  else if (fstatat(from.dir, from.name, &st, AT_SYMLINK_NOFOLLOW))
    rc = refusal(errno, "cannot examine", src, src_root, err, errlen);
  else if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s is not a regular file", src);
    rc = SS_EINVAL;
  } else if (spot_open(droot, drel, true, &to))
    rc = refusal(errno, "cannot create the folder of", dst, dst_root, err,
                 errlen);
  else
    rc = move_at(&from, &st, &to, tag ? tag : "move", force_copy, src, dst,
                 err, errlen);
  if (to.dir >= 0)
    close(to.dir);
  if (from.dir >= 0)
    close(from.dir);
  if (droot >= 0)
    close(droot);
  if (sroot >= 0)
    close(sroot);
  return rc;
}

static enum ss_err unlink_beneath(const char *root, const char *path)
{
  const char *rel = fs_below(root, path);
  int rfd = rel && rel[0] ? open_root(root) : -1, rc = SS_EIO;
  struct spot s = {.dir = -1};
  if (rfd >= 0 && spot_open(rfd, rel, false, &s) == 0 &&
      unlinkat(s.dir, s.name, 0) == 0) {
    sync_dir(s.dir);
    rc = SS_OK;
  }
  if (s.dir >= 0)
    close(s.dir);
  if (rfd >= 0)
    close(rfd);
  return rc;
}

enum ss_err fs_move_resume(const char *src_root, const char *src,
                           const char *dst_root, const char *dst,
                           const char *tag, bool force_copy, char *err,
                           size_t errlen)
{
  char scratch[8];
  err_target(&err, &errlen, scratch, sizeof scratch);
  struct stat ss, ds;
  enum ss_err s = fs_lstat_beneath(src_root, src, &ss, err, errlen);
  if (s != SS_OK && s != SS_ENOTFOUND)
    return s;
  enum ss_err d = fs_lstat_beneath(dst_root, dst, &ds, err, errlen);
  if (d != SS_OK && d != SS_ENOTFOUND)
    return d;
  bool have_src = s == SS_OK && S_ISREG(ss.st_mode), have_dst = d == SS_OK;
  if (!have_src && have_dst)
    return SS_OK; /* moved before */
  if (!have_src) {
    snprintf(err, errlen, "%s is gone and %s was never written", src, dst);
    return SS_ENOTFOUND;
  }
  if (!have_dst)
    return fs_move_beneath(src_root, src, dst_root, dst, tag, force_copy, err,
                           errlen);
  bool same = S_ISREG(ds.st_mode) &&
              ((ds.st_dev == ss.st_dev && ds.st_ino == ss.st_ino) ||
               (ds.st_size == ss.st_size &&
                ds.st_mtim.tv_sec == ss.st_mtim.tv_sec &&
                ds.st_mtim.tv_nsec == ss.st_mtim.tv_nsec));
  if (!same) {
    snprintf(err, errlen, "%s already exists", dst);
    return SS_EBUSY;
  }
  if (unlink_beneath(src_root, src)) { /* the copy was complete */
    snprintf(err, errlen, "cannot remove %s, already copied to %s: %s", src,
             dst, strerror(errno));
    return SS_EIO;
  }
  return SS_OK;
}

enum ss_err fs_mkdir_p(const char *dir)
{
  char *p = xstrdup(dir);
  enum ss_err rc = SS_OK;
  for (char *q = p + 1; *q && !rc; q++) {
    if (*q != '/')
      continue;
    *q = '\0';
    if (mkdir(p, 0755) && errno != EEXIST)
      rc = SS_EIO;
    *q = '/';
  }
  if (!rc && mkdir(p, 0755) && errno != EEXIST)
    rc = SS_EIO;
  free(p);
  return rc;
}

void fs_split_peer_path(const char *remote, char *dir, size_t dn, char *base,
                        size_t bn)
{
  const char *last = NULL, *prev = NULL;
  for (const char *p = remote; *p; p++)
    if (*p == '\\' || *p == '/') {
      prev = last;
      last = p;
    }
  const char *b = last ? last + 1 : remote;
  snprintf(base, bn, "%s", b);
  if (!last) {
    snprintf(dir, dn, "%s", "");
    return;
  }
  const char *d = prev ? prev + 1 : remote;
  snprintf(dir, dn, "%.*s", (int)(last - d), d);
}
