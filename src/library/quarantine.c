/*
 * quarantine.c - resolve / undo of duplicate groups and the recovery of
 * their journaled moves (see quarantine.h).
 *
 * What: per file, a journal row first (db_library_quarantine_intend or
 * _set_pending), then the move (fs_move_beneath: no replacing, no
 * symlinks below the roots), then the record (_commit / _restored) - or,
 * when the move failed, the intent taken back.  quarantine_recover()
 * finishes what a crash interrupted with fs_move_resume.
 *
 * Threading: any thread, with the caller's db; one process-wide mutex
 * serialises resolve, undo and recovery (two moves of the same file at
 * once could otherwise both journal it).
 *
 * Ownership: member and entry lists are heap arrays freed before
 * returning.
 */
#include "library/quarantine.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/xalloc.h"
#include "db/db_library.h"

#define MAX_MEMBERS 256
#define MAX_PENDING 256

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* ---- recovery ---- */

/* Settles one pending entry: SS_OK when its row no longer is pending. */
static enum ss_err settle(struct db *db,
                          const struct library_quarantine_entry *e,
                          const char *root, const char *qdir, int64_t now_ms)
{
  char err[QUARANTINE_MSG_MAX], tag[32];
  bool resolve = !strcmp(e->pending, "resolve");
  snprintf(tag, sizeof tag, "%s-%lld", resolve ? "q" : "u", (long long)e->id);
  enum ss_err mrc = resolve ? fs_move_resume(root, e->original_path, qdir,
                                             e->quarantine_path, tag, false,
                                             err, sizeof err)
                            : fs_move_resume(qdir, e->quarantine_path, root,
                                             e->original_path, tag, false, err,
                                             sizeof err);
  const char *what;
  enum ss_err rc;
  if (resolve && mrc == SS_OK) {
    rc = db_library_quarantine_commit(db, e->id);
    what = "finished moving into the quarantine";
  } else if (resolve && (mrc == SS_ENOTFOUND || mrc == SS_EBUSY)) {
    rc = db_library_quarantine_drop(db, e->id);
    what = "left in the library (resolve rolled back)";
  } else if (!resolve && (mrc == SS_OK || mrc == SS_ENOTFOUND)) {
    rc = db_library_quarantine_restored(db, e->id, now_ms);
    what = mrc == SS_OK ? "finished restoring"
                        : "gone from the quarantine (closed)";
  } else if (!resolve && mrc == SS_EBUSY) {
    rc = db_library_quarantine_set_pending(db, e->id, false);
    what = "kept in the quarantine (its place is taken; undo rolled back)";
  } else {
    log_warn("library", "cannot settle the interrupted %s of %s yet: %s",
             e->pending, e->original_path, err);
    return mrc;
  }
  if (rc == SS_OK)
    log_info("library", "after a crash: %s %s", e->original_path, what);
  return rc;
}

static enum ss_err recover_locked(struct db *db, const char *root,
                                  const char *qdir, int64_t now_ms,
                                  struct quarantine_result *res)
{
  struct library_quarantine_entry *e = xmalloc(MAX_PENDING * sizeof *e);
  size_t n = 0;
  enum ss_err rc = db_library_quarantine_pending(db, e, MAX_PENDING, &n);
  for (size_t i = 0; !rc && i < n; i++) {
    if (settle(db, &e[i], root, qdir, now_ms) == SS_OK)
      res->moved++;
    else
      res->failed++;
  }
  free(e);
  if (!rc)
    rc = db_library_groups_reopen_empty(db, now_ms, NULL);
  if (!rc && res->failed) {
    snprintf(res->message, sizeof res->message,
             "%zu interrupted move(s) could not be settled yet", res->failed);
    rc = SS_EIO;
  } else if (!rc) {
    snprintf(res->message, sizeof res->message,
             "%zu interrupted move(s) settled", res->moved);
  }
  return rc;
}

enum ss_err quarantine_recover(struct db *db, const char *library_root,
                               const char *qdir, int64_t now_ms,
                               struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  pthread_mutex_lock(&q_lock);
  enum ss_err rc = recover_locked(db, library_root, qdir, now_ms, res);
  pthread_mutex_unlock(&q_lock);
  return rc;
}

/* Before resolve / undo: their own result stays untouched. */
static void recover_first(struct db *db, const char *root, const char *qdir,
                          int64_t now_ms)
{
  struct quarantine_result r = {0};
  recover_locked(db, root, qdir, now_ms, &r);
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
 * when taken.  SS_OK, or SS_EINVAL / SS_EIO with err. */
static enum ss_err quarantine_target(const char *root, const char *qdir,
                                     const char *path, char *dst, size_t n,
                                     char *err, size_t errlen)
{
  const char *rel = fs_below(root, path);
  if (!rel || !rel[0]) {
    snprintf(err, errlen, "%s is not inside the library folder", path);
    return SS_EINVAL;
  }
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
    struct stat st;
    enum ss_err rc = fs_lstat_beneath(qdir, dst, &st, err, errlen);
    if (rc == SS_ENOTFOUND)
      return SS_OK;
    if (rc != SS_OK)
      return rc;
  }
  snprintf(err, errlen, "no free name for %s in the quarantine", rel);
  return SS_EIO;
}

/* A regular file at path beneath root?  SS_OK, else err says why. */
static enum ss_err check_regular(const char *root, const char *path, char *err,
                                 size_t errlen)
{
  struct stat st;
  enum ss_err rc = fs_lstat_beneath(root, path, &st, err, errlen);
  if (rc == SS_OK && !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s is not a regular file", path);
    rc = SS_EINVAL;
  }
  return rc;
}

static enum ss_err move_member(struct db *db, const struct library_track *t,
                               int64_t group_id, const char *root,
                               const char *qdir, int64_t now_ms, char *err,
                               size_t errlen)
{
  struct library_quarantine_entry e = {.group_id = group_id,
                                       .track_id = t->id,
                                       .size = t->size,
                                       .moved_ms = now_ms};
  snprintf(e.original_path, sizeof e.original_path, "%s", t->path);
  enum ss_err rc = check_regular(root, t->path, err, errlen);
  if (!rc)
    rc = quarantine_target(root, qdir, t->path, e.quarantine_path,
                           sizeof e.quarantine_path, err, errlen);
  if (rc)
    return rc;
  int64_t id = 0;
  if ((rc = db_library_quarantine_intend(db, &e, &id))) {
    snprintf(err, errlen, "could not journal the move of %s", t->path);
    return rc;
  }
  TESTHOOK_CRASH("resolve_intended");
  char tag[32];
  snprintf(tag, sizeof tag, "q-%lld", (long long)id);
  rc = fs_move_beneath(root, t->path, qdir, e.quarantine_path, tag, false, err,
                       errlen);
  if (rc) {
    db_library_quarantine_drop(db, id);
    return rc;
  }
  TESTHOOK_CRASH("resolve_moved");
  if ((rc = db_library_quarantine_commit(db, id))) {
    snprintf(err, errlen, "moved %s, but could not record it yet", t->path);
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

static enum ss_err resolve_locked(struct db *db, int64_t group_id,
                                  int64_t keep, const char *root,
                                  const char *qdir, int64_t now_ms,
                                  struct quarantine_result *res)
{
  struct library_group g;
  enum ss_err rc = db_library_group_get(db, group_id, &g);
  if (rc) {
    snprintf(res->message, sizeof res->message, "no such group");
    return rc;
  }
  if (strcmp(g.status, "open")) {
    snprintf(res->message, sizeof res->message, "group is %s, not open",
             g.status);
    return SS_ESTATE;
  }
  char real[PATH_MAX];
  if (!root || !root[0] || !realpath(root, real)) {
    snprintf(res->message, sizeof res->message,
             "library folder not available");
    return SS_ESTATE;
  }
  if (fs_mkdir_p(qdir)) {
    snprintf(res->message, sizeof res->message,
             "cannot create the quarantine folder %s: %s", qdir,
             strerror(errno));
    return SS_EIO;
  }
  struct members m = {xmalloc(MAX_MEMBERS * sizeof *m.t), 0};
  rc = db_library_group_members(db, group_id, on_member, &m);
  if (!keep)
    keep = g.keep ? g.keep : g.suggested_keep;
  const struct library_track *k = rc ? NULL : find_member(&m, keep);
  char err[QUARANTINE_MSG_MAX];
  if (!rc && !k) {
    snprintf(res->message, sizeof res->message,
             "track %lld is not in this group", (long long)keep);
    rc = SS_ENOTFOUND;
  } else if (!rc &&
             (k->gone || check_regular(root, k->path, err, sizeof err))) {
    snprintf(res->message, sizeof res->message,
             "the copy to keep (%s) is missing", k->path);
    rc = SS_ESTATE;
  }
  for (size_t i = 0; !rc && i < m.n; i++) {
    const struct library_track *t = &m.t[i];
    if (t->id == keep || t->gone || t->quarantined)
      continue;
    if (move_member(db, t, group_id, root, qdir, now_ms, err, sizeof err)) {
      log_warn("library", "resolve of group %lld: %s", (long long)group_id,
               err);
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

enum ss_err quarantine_resolve(struct db *db, int64_t group_id, int64_t keep,
                               const char *library_root, const char *qdir,
                               int64_t now_ms, struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  pthread_mutex_lock(&q_lock);
  recover_first(db, library_root, qdir, now_ms);
  enum ss_err rc = resolve_locked(db, group_id, keep, library_root, qdir,
                                  now_ms, res);
  pthread_mutex_unlock(&q_lock);
  return rc;
}

/* ---- undo ---- */

/* One entry back to its original path (journaled). */
static enum ss_err restore_entry(struct db *db,
                                 const struct library_quarantine_entry *e,
                                 const char *root, const char *qdir,
                                 int64_t now_ms, char *err, size_t errlen)
{
  enum ss_err rc = db_library_quarantine_set_pending(db, e->id, true);
  if (rc) {
    snprintf(err, errlen, "could not journal the restore of %s",
             e->original_path);
    return rc;
  }
  TESTHOOK_CRASH("undo_intended");
  char tag[32];
  snprintf(tag, sizeof tag, "u-%lld", (long long)e->id);
  rc = fs_move_beneath(qdir, e->quarantine_path, root, e->original_path, tag,
                       false, err, errlen);
  if (rc) {
    db_library_quarantine_set_pending(db, e->id, false);
    return rc;
  }
  TESTHOOK_CRASH("undo_moved");
  if ((rc = db_library_quarantine_restored(db, e->id, now_ms)))
    snprintf(err, errlen, "restored %s, but could not record it yet",
             e->original_path);
  return rc;
}

static enum ss_err undo_locked(struct db *db, int64_t group_id,
                               const char *root, const char *qdir,
                               int64_t now_ms, struct quarantine_result *res)
{
  struct library_group g;
  enum ss_err rc = db_library_group_get(db, group_id, &g);
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
    enum ss_err mrc = restore_entry(db, &e[i], root, qdir, now_ms, err,
                                    sizeof err);
    if (mrc) {
      busy |= mrc == SS_EBUSY;
      log_warn("library", "undo of group %lld: %s", (long long)group_id, err);
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
    snprintf(res->message, sizeof res->message, "%zu file(s) restored",
             res->moved);
  return rc ? rc : res->failed ? (busy ? SS_EBUSY : SS_EIO) : SS_OK;
}

enum ss_err quarantine_undo(struct db *db, int64_t group_id,
                            const char *library_root, const char *qdir,
                            int64_t now_ms, struct quarantine_result *res)
{
  memset(res, 0, sizeof *res);
  pthread_mutex_lock(&q_lock);
  recover_first(db, library_root, qdir, now_ms);
  enum ss_err rc = undo_locked(db, group_id, library_root, qdir, now_ms, res);
  pthread_mutex_unlock(&q_lock);
  return rc;
}

enum ss_err quarantine_recover_configured(struct db *db)
{
  char lib[SETTING_STR_MAX], qdir[SETTING_STR_MAX];
  struct quarantine_result res;
  settings_str(S_LIBRARY_PATH, lib, sizeof lib);
  quarantine_dir(qdir, sizeof qdir);
  enum ss_err rc = quarantine_recover(db, lib, qdir, clock_wall_ms(), &res);
  if (res.moved || res.failed)
    log_info("library", "%s", res.message);
  return rc;
}

/* ---- quality upgrade ---- */

enum ss_err quarantine_replaced(struct db *db, int64_t track_id,
                                const char *label, const char *library_root,
                                const char *qdir, int64_t now_ms,
                                int64_t *group_id, char *err, size_t errlen)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  struct library_quarantine_entry e;
  *group_id = 0;
  pthread_mutex_lock(&q_lock);
  recover_first(db, library_root, qdir, now_ms);
  enum ss_err rc = db_library_track_by_id(db, track_id, t);
  if (rc) {
    snprintf(err, errlen, "library track %lld is gone", (long long)track_id);
    rc = SS_ENOTFOUND;
  }
  if (!rc)
    rc = db_library_upgrade_group(db, track_id, label, now_ms, group_id);
  bool there = !rc &&
               db_library_quarantine_of_track(db, track_id, &e) == SS_OK;
  if (there && e.group_id != *group_id) {
    snprintf(err, errlen, "%s is already in the quarantine", t->path);
    rc = SS_ENOTFOUND; /* a duplicate resolution took it: not ours */
  } else if (!there && !rc && (t->gone || t->quarantined)) {
    snprintf(err, errlen, "%s is no longer in the library", t->path);
    rc = SS_ENOTFOUND;
  } else if (!there && !rc && fs_mkdir_p(qdir)) {
    snprintf(err, errlen, "cannot create the quarantine folder %s: %s", qdir,
             strerror(errno));
    rc = SS_EIO;
  } else if (!there && !rc) {
    rc = move_member(db, t, *group_id, library_root, qdir, now_ms, err,
                     errlen);
  }
  pthread_mutex_unlock(&q_lock);
  free(t);
  return rc;
}
