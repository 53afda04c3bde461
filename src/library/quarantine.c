/*
 * quarantine.c - resolve / undo of duplicate groups (see quarantine.h).
 *
 * What: file moves that never overwrite (renameat2 RENAME_NOREPLACE, else
 * link+unlink, else a copy across file systems that keeps mode and times
 * and is fsync'ed before the source goes), plus the bookkeeping in the
 * store through db_library.h.
 *
 * Threading: any thread, with the caller's db.
 *
 * Ownership: member lists are heap arrays freed before returning.
 */
#include "library/quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/settings.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db_library.h"

#define MAX_MEMBERS 256

const char *quarantine_dir(char *out, size_t n)
{
  settings_str(S_LIBRARY_QUARANTINE_PATH, out, n);
  if (!out[0]) {
    char data[SETTING_STR_MAX];
    settings_str(S_SERVER_DATA_DIR, data, sizeof data);
    snprintf(out, n, "%s/quarantine", data);
  }
  return out;
}

/* ---- moving files ---- */

/* mkdir -p of the folder part of path. */
static int make_parents(const char *path)
{
  char dir[LIBRARY_PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return SS_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(dir, 0755) && errno != EEXIST)
      return SS_EIO;
    *p = '/';
  }
  if (mkdir(dir, 0755) && errno != EEXIST)
    return SS_EIO;
  return SS_OK;
}

static int sync_parent(const char *path)
{
  char dir[LIBRARY_PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *(slash == dir ? slash + 1 : slash) = '\0';
  int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return SS_EIO;
  int rc = fsync(fd) ? SS_EIO : SS_OK;
  close(fd);
  return rc;
}

/* Links src at dst without replacing anything. */
static int place_noreplace(const char *src, const char *dst)
{
  if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
    return SS_OK;
  if (errno == EEXIST)
    return SS_EBUSY;
  if (errno != EINVAL && errno != ENOSYS)
    return errno == EXDEV ? SS_EINVAL : SS_EIO;
  if (link(src, dst)) /* no RENAME_NOREPLACE here: link never replaces */
    return errno == EEXIST ? SS_EBUSY : errno == EXDEV ? SS_EINVAL : SS_EIO;
  unlink(src);
  return SS_OK;
}


/* Across file systems: copy to a temporary name next to dst, keep mode
 * and times, fsync, link into place (never over dst), unlink src. */
static int copy_across(const char *src, const char *dst)
{
  int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return SS_EIO;
  struct stat st;
  char tmp[LIBRARY_PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.ssq-XXXXXX", dst);
  int out = fstat(in, &st) || !S_ISREG(st.st_mode) ? -1
                                                    : mkostemp(tmp, O_CLOEXEC);
  if (out < 0) {
    close(in);
    return SS_EIO;
  }
  int rc = fs_copy_fd(in, out);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (!rc && (fchmod(out, st.st_mode & 07777) || futimens(out, times) ||
              fsync(out)))
    rc = SS_EIO;
  close(out);
  close(in);
  if (!rc && link(tmp, dst))
    rc = errno == EEXIST ? SS_EBUSY : SS_EIO;
  unlink(tmp);
  if (!rc)
    sync_parent(dst);
  if (!rc && unlink(src)) {
    unlink(dst); /* keep exactly one copy */
    rc = SS_EIO;
  }
  return rc;
}

int quarantine_move_file(const char *src, const char *dst, char *err,
                         size_t errlen)
{
  char dummy[8];
  if (!err || !errlen) {
    err = dummy;
    errlen = sizeof dummy;
  }
  err[0] = '\0';
  struct stat st;
  if (!src || !dst || lstat(src, &st) || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s is not a regular file", src ? src : "?");
    return SS_EIO;
  }
  if (make_parents(dst)) {
    snprintf(err, errlen, "cannot create the folder of %s: %s", dst,
             strerror(errno));
    return SS_EIO;
  }
  int rc = place_noreplace(src, dst);
  if (rc == SS_EINVAL) /* EXDEV */
    rc = copy_across(src, dst);
  if (rc == SS_OK)
    sync_parent(dst);
  else if (rc == SS_EBUSY)
    snprintf(err, errlen, "%s already exists", dst);
  else
    snprintf(err, errlen, "cannot move %s: %s", src, strerror(errno));
  return rc;
}

/* ---- resolve ---- */

struct members {
  struct library_track *t;
  size_t n;
};

static void on_member(void *arg, const struct library_track *t)
{
  struct members *m = arg;
  if (m->n < MAX_MEMBERS)
    m->t[m->n++] = *t;
}

/* dst = qdir/<path relative to root>, with " (N)" before the extension
 * when taken.  false when path is not inside root. */
static bool quarantine_target(const char *root, const char *qdir,
                              const char *path, char *dst, size_t n)
{
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/')
    rl--;
  if (strncmp(path, root, rl) || path[rl] != '/' || strstr(path, "/../"))
    return false;
  const char *rel = path + rl + 1;
  struct stat st;
  for (int k = 1; k < 1000; k++) {
    if (k == 1) {
      snprintf(dst, n, "%s/%s", qdir, rel);
    } else {
      const char *dot = strrchr(rel, '.');
      const char *slash = strrchr(rel, '/');
      if (!dot || (slash && dot < slash))
        dot = rel + strlen(rel);
      snprintf(dst, n, "%s/%.*s (%d)%s", qdir, (int)(dot - rel), rel, k, dot);
    }
    if (lstat(dst, &st) && errno == ENOENT)
      return true;
  }
  return false;
}

static int move_member(struct db *db, const struct library_track *t,
                       int64_t group_id, const char *root, const char *qdir,
                       int64_t now_ms, char *err, size_t errlen)
{
  struct library_quarantine_entry e = {.group_id = group_id,
                                       .track_id = t->id,
                                       .size = t->size,
                                       .moved_ms = now_ms};
  snprintf(e.original_path, sizeof e.original_path, "%s", t->path);
  if (!quarantine_target(root, qdir, t->path, e.quarantine_path,
                         sizeof e.quarantine_path)) {
    snprintf(err, errlen, "%s is not inside the library folder", t->path);
    return SS_EINVAL;
  }
  int rc = quarantine_move_file(t->path, e.quarantine_path, err, errlen);
  if (rc)
    return rc;
  if ((rc = db_library_quarantine_add(db, &e))) {
    char back[8];
    quarantine_move_file(e.quarantine_path, t->path, back, sizeof back);
    snprintf(err, errlen, "could not record the move of %s", t->path);
    return rc;
  }
  log_info("library", "quarantined %s -> %s", t->path, e.quarantine_path);
  return SS_OK;
}

static const struct library_track *find_member(const struct members *m,
                                               int64_t id)
{
  for (size_t i = 0; i < m->n; i++)
    if (m->t[i].id == id)
      return &m->t[i];
  return NULL;
}

int quarantine_resolve(struct db *db, int64_t group_id, int64_t keep,
                       const char *library_root, const char *qdir,
                       int64_t now_ms, struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  struct library_group g;
  int rc = db_library_group_get(db, group_id, &g);
  if (rc) {
    snprintf(res->message, sizeof res->message, "no such group");
    return rc;
  }
  if (strcmp(g.status, "open")) {
    snprintf(res->message, sizeof res->message, "group is %s, not open",
             g.status);
    return SS_ESTATE;
  }
  char root[PATH_MAX];
  if (!library_root || !realpath(library_root, root)) {
    snprintf(res->message, sizeof res->message,
             "library folder not available");
    return SS_ESTATE;
  }
  struct members m = {xmalloc(MAX_MEMBERS * sizeof *m.t), 0};
  rc = db_library_group_members(db, group_id, on_member, &m);
  if (!keep)
    keep = g.keep ? g.keep : g.suggested_keep;
  const struct library_track *k = rc ? NULL : find_member(&m, keep);
  struct stat st;
  if (!rc && !k) {
    snprintf(res->message, sizeof res->message,
             "track %lld is not in this group", (long long)keep);
    rc = SS_ENOTFOUND;
  } else if (!rc && (k->gone || lstat(k->path, &st) || !S_ISREG(st.st_mode))) {
    snprintf(res->message, sizeof res->message,
             "the copy to keep (%s) is missing", k->path);
    rc = SS_ESTATE;
  }
  for (size_t i = 0; !rc && i < m.n; i++) {
    const struct library_track *t = &m.t[i];
    if (t->id == keep || t->gone || t->quarantined)
      continue;
    char err[QUARANTINE_MSG_MAX];
    if (move_member(db, t, group_id, root, qdir, now_ms, err, sizeof err)) {
      if (!res->failed++)
        snprintf(res->message, sizeof res->message, "%s", err);
    } else {
      res->moved++;
    }
  }
  free(m.t);
  if (rc)
    return rc;
  db_library_group_set_keep(db, group_id, keep);
  if (res->failed)
    return SS_EIO;
  snprintf(res->message, sizeof res->message,
           "%zu file(s) moved to the quarantine", res->moved);
  return db_library_group_set_status(db, group_id, "resolved", now_ms);
}

/* ---- undo ---- */

int quarantine_undo(struct db *db, int64_t group_id, int64_t now_ms,
                    struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  struct library_group g;
  int rc = db_library_group_get(db, group_id, &g);
  if (rc) {
    snprintf(res->message, sizeof res->message, "no such group");
    return rc;
  }
  struct library_quarantine_entry *e = xmalloc(MAX_MEMBERS * sizeof *e);
  size_t n = 0;
  rc = db_library_quarantine_of_group(db, group_id, e, MAX_MEMBERS, &n);
  if (!rc && n == 0) {
    snprintf(res->message, sizeof res->message,
             "nothing of this group is in the quarantine");
    rc = SS_ESTATE;
  }
  bool busy = false;
  for (size_t i = 0; !rc && i < n; i++) {
    char err[QUARANTINE_MSG_MAX];
    int mrc = quarantine_move_file(e[i].quarantine_path, e[i].original_path,
                                   err, sizeof err);
    if (mrc == SS_OK)
      mrc = db_library_quarantine_restored(db, e[i].id, now_ms);
    if (mrc) {
      busy |= mrc == SS_EBUSY;
      if (!res->failed++)
        snprintf(res->message, sizeof res->message, "%s", err);
    } else {
      res->moved++;
      log_info("library", "restored %s", e[i].original_path);
    }
  }
  free(e);
  if (rc)
    return rc;
  if (res->moved && !res->failed && !strcmp(g.status, "resolved"))
    rc = db_library_group_set_status(db, group_id, "open", now_ms);
  if (!rc && !res->failed)
    snprintf(res->message, sizeof res->message,
             "%zu file(s) restored", res->moved);
  return rc ? rc : res->failed ? (busy ? SS_EBUSY : SS_EIO) : SS_OK;
}
