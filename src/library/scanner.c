/*
 * scanner.c - the incremental library scan (see scanner.h).
 *
 * What: an iterative depth-first walk with one open directory per level
 * (openat + O_NOFOLLOW, so a folder swapped for a symlink is refused),
 * fstatat(AT_SYMLINK_NOFOLLOW) for every entry, and each audio file opened
 * once (O_NOFOLLOW) for probing, hashing and fingerprinting through the
 * same descriptor.  Results are collected in a heap batch and written in
 * one transaction per batch, so probing never holds the store's write
 * lock.  Before the walk, quarantine moves a crash interrupted are
 * settled (quarantine_recover).  At the end of a complete walk, rows not
 * met are checked with lstat before they are marked gone (a file
 * imported meanwhile is not).
 *
 * Threading: runs on the caller's thread with the caller's db.
 *
 * Ownership: the batch, the walk stack and the hash buffer are freed
 * before scanner_run returns.
 */
#include "library/scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>
#include <xxhash.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db_library.h"
#include "library/dupes.h"
#include "library/quarantine.h"
#include "media/media.h"

#define HASH_CHUNK (1 << 20)

/* ---- names ---- */

bool scanner_is_audio_name(const char *name)
{
  static const char *const exts[] = {"flac", "mp3",  "ogg", "oga",  "opus",
                                     "m4a",  "mp4",  "aac", "alac", "wav",
                                     "aif",  "aiff", "wv",  "ape",  "wma",
                                     "dsf",  "mpc",  "tta", "caf",  NULL};
  const char *dot = name ? strrchr(name, '.') : NULL;
  if (!dot || dot == name)
    return false;
  for (int i = 0; exts[i]; i++)
    if (!strcasecmp(dot + 1, exts[i]))
      return true;
  return false;
}

bool scanner_valid_utf8(const char *s)
{
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
  size_t left = strlen(s);
  while (left) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)left, &cp);
    if (k <= 0 || cp < 0)
      return false;
    p += k;
    left -= (size_t)k;
  }
  return true;
}

enum ss_err scanner_hash_fd(int fd, char out[33])
{
  XXH3_state_t *s = XXH3_createState();
  unsigned char *buf = xmalloc(HASH_CHUNK);
  enum ss_err rc = s && XXH3_128bits_reset(s) == XXH_OK ? SS_OK : SS_EIO;
  off_t off = 0;
  while (rc == SS_OK) {
    ssize_t n = pread(fd, buf, HASH_CHUNK, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      break;
    if (n < 0 || XXH3_128bits_update(s, buf, (size_t)n) != XXH_OK)
      rc = SS_EIO;
    else
      off += n;
  }
  if (rc == SS_OK) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s));
    for (int i = 0; i < 16; i++)
      snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
  }
  free(buf);
  XXH3_freeState(s);
  return rc;
}

/* ---- the walk ---- */

struct level {
  DIR *dir;
  size_t path_len; /* length of the folder's path in scan.path */
};

struct scan {
  struct db *db;
  const struct scanner_opts *o;
  struct scanner_stats *st;
  int64_t gen;
  char root[PATH_MAX];
  size_t root_len;
  bool has_quarantine;
  dev_t q_dev;
  ino_t q_ino;
  char path[LIBRARY_PATH_MAX];
  struct level stack[SCANNER_MAX_DEPTH];
  int depth;
  struct library_scan_item *batch;
  size_t n_batch, cap_batch;
  bool stopped;
};

static enum ss_err flush(struct scan *s)
{
  for (size_t i = 0; i < s->n_batch; i++) /* stored with the row */
    if (s->batch[i].probed)
      dupes_track_key(&s->batch[i].t);
  enum ss_err rc = db_library_scan_write(s->db, s->gen, s->batch, s->n_batch);
  s->n_batch = 0;
  return rc;
}

static bool should_stop(struct scan *s)
{
  if (!s->stopped && s->o->should_stop && s->o->should_stop(s->o->stop_arg))
    s->stopped = true;
  return s->stopped;
}

/* The track left the quarantine by other means (moved back by hand, or a
 * new file took its path): release it.  Not when our fd is the very file
 * that was just moved into the quarantine (a resolve racing the scan). */
static void maybe_release(struct scan *s, const struct library_seen *seen,
                          const struct stat *fst)
{
  struct library_quarantine_entry *e = xmalloc(sizeof *e);
  struct stat q, now;
  bool copy_there = false;
  if (db_library_quarantine_of_track(s->db, seen->id, e) == SS_OK &&
      s->o->quarantine &&
      fs_lstat_beneath(s->o->quarantine, e->quarantine_path, &q, NULL, 0) ==
        SS_OK) {
    copy_there = true;
    if (q.st_dev == fst->st_dev && q.st_ino == fst->st_ino) {
      free(e);
      return; /* our fd is the quarantined file itself */
    }
  }
  free(e);
  if (fs_lstat_beneath(s->root, s->path, &now, NULL, 0) ||
      now.st_dev != fst->st_dev || now.st_ino != fst->st_ino)
    return;
  db_library_unquarantine(s->db, seen->id, !copy_there, clock_wall_ms());
}

static struct library_scan_item *next_item(struct scan *s)
{
  struct library_scan_item *it = &s->batch[s->n_batch++];
  memset(it, 0, sizeof *it);
  snprintf(it->t.path, sizeof it->t.path, "%s", s->path);
  return it;
}

/* The analysis failed: the row says why; a crash or a hang of the helper
 * is counted as such too, and the scan goes on. */
static void mark_unreadable(struct scan *s, struct library_scan_item *it,
                            enum ss_err rc, const char *err)
{
  it->t.unreadable = true;
  snprintf(it->t.unreadable_reason, sizeof it->t.unreadable_reason, "%s",
           err[0] ? err : ss_strerror(rc));
  s->st->unreadable++;
  if (rc == SS_EKILLED) {
    s->st->analysis_failed++;
    it->set_fingerprint = true; /* fp_n 0: never fed to a helper again */
    it->fp_n = 0;
    log_warn("scanner", "%s: %s", s->path, it->t.unreadable_reason);
  } else {
    log_debug("scanner", "unreadable %s: %s", s->path, err);
  }
}

static void probe_into(struct scan *s, int fd, const struct stat *fst,
                       struct library_scan_item *it)
{
  char err[160];
  it->probed = true;
  it->t.size = fst->st_size;
  it->t.mtime_ns = (int64_t)fst->st_mtim.tv_sec * 1000000000 +
                   fst->st_mtim.tv_nsec;
  s->st->probed++;
  enum ss_err rc = media_probe_fd(fd, s->path, &it->t.media, err, sizeof err);
  if (rc != SS_OK)
    mark_unreadable(s, it, rc, err);
}

static void extras_into(struct scan *s, int fd, bool changed,
                        const struct library_seen *seen,
                        struct library_scan_item *it)
{
  if (s->o->want_hash && (changed || !seen->has_hash) &&
      scanner_hash_fd(fd, it->file_hash) == SS_OK) {
    it->set_hash = true;
    s->st->hashed++;
  }
  if (s->o->want_fingerprint && (changed || !seen->has_fingerprint) &&
      !it->t.unreadable) {
    char err[160];
    it->set_fingerprint = true; /* fp_n 0 = cannot be fingerprinted */
    enum ss_err rc = media_fingerprint_fd(fd, s->path, SCANNER_FP_SECONDS,
                                          it->fp, &it->fp_n, err, sizeof err);
    if (rc == SS_OK)
      s->st->fingerprinted++;
    else
      it->fp_n = 0;
    if (rc == SS_EKILLED && it->probed) /* the row is written: say why */
      mark_unreadable(s, it, rc, err);
    else if (rc == SS_EKILLED)
      s->st->analysis_failed++;
  }
}

/* One audio file: probe when new or changed, else mark it seen. */
static enum ss_err visit_file(struct scan *s, int dirfd, const char *name)
{
  int fd = openat(dirfd, name,
                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return SS_OK; /* vanished or not for us */
  struct stat fst;
  if (fstat(fd, &fst) || !S_ISREG(fst.st_mode)) {
    close(fd);
    return SS_OK;
  }
  s->st->files++;
  struct library_seen seen = {0};
  enum ss_err rc = db_library_seen(s->db, s->path, &seen);
  if (rc && rc != SS_ENOTFOUND) {
    close(fd);
    return rc;
  }
  bool known = rc == SS_OK;
  if (known && seen.quarantined)
    maybe_release(s, &seen, &fst);
  int64_t mtime_ns = (int64_t)fst.st_mtim.tv_sec * 1000000000 +
                     fst.st_mtim.tv_nsec;
  bool changed = !known || seen.size != fst.st_size ||
                 seen.mtime_ns != mtime_ns;
  struct library_scan_item *it = next_item(s);
  if (changed)
    probe_into(s, fd, &fst, it);
  else
    s->st->unchanged++;
  extras_into(s, fd, changed, &seen, it);
  close(fd);
  return s->n_batch == s->cap_batch ? flush(s) : SS_OK;
}

/* Appends "/name" to s->path; false when it would not fit. */
static bool path_push(struct scan *s, size_t base, const char *name)
{
  int n = snprintf(s->path + base, sizeof s->path - base, "/%s", name);
  return n > 0 && (size_t)n < sizeof s->path - base;
}

static bool is_quarantine(const struct scan *s, const struct stat *st)
{
  return s->has_quarantine && st->st_dev == s->q_dev && st->st_ino == s->q_ino;
}

/* Opens a sub-folder as the next level (same inode as fstatat saw). */
static void enter_dir(struct scan *s, int dirfd, const char *name,
                      const struct stat *seen, size_t path_len)
{
  if (s->depth + 1 >= SCANNER_MAX_DEPTH || is_quarantine(s, seen))
    return;
  int fd = openat(dirfd, name,
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  struct stat st;
  DIR *d = NULL;
  if (fstat(fd, &st) || st.st_dev != seen->st_dev ||
      st.st_ino != seen->st_ino || !(d = fdopendir(fd))) {
    close(fd);
    return;
  }
  s->stack[++s->depth] = (struct level){d, path_len};
  s->st->dirs++;
}

static enum ss_err visit_entry(struct scan *s, struct level *lv,
                               const char *name)
{
  if (name[0] == '.') /* ".", "..", dot files, AppleDouble "._x.mp3" */
    return SS_OK;
  if (!scanner_valid_utf8(name)) {
    s->st->bad_names++;
    return SS_OK;
  }
  if (!path_push(s, lv->path_len, name)) {
    s->st->unreadable++;
    return SS_OK;
  }
  int dfd = dirfd(lv->dir);
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
    return SS_OK;
  if (S_ISDIR(st.st_mode))
    enter_dir(s, dfd, name, &st, strlen(s->path));
  else if (S_ISREG(st.st_mode) && scanner_is_audio_name(name))
    return visit_file(s, dfd, name);
  return SS_OK;
}

static enum ss_err walk(struct scan *s)
{
  enum ss_err rc = SS_OK;
  while (!rc && s->depth >= 0) {
    struct level *lv = &s->stack[s->depth];
    errno = 0;
    struct dirent *de = readdir(lv->dir);
    if (!de) {
      closedir(lv->dir);
      s->depth--;
      continue;
    }
    if (should_stop(s))
      break;
    rc = visit_entry(s, lv, de->d_name);
  }
  while (s->depth >= 0)
    closedir(s->stack[s->depth--].dir);
  if (!rc)
    rc = flush(s);
  return rc ? rc : s->stopped ? SS_ECANCELED : SS_OK;
}

/* ---- gone ---- */

struct gone_ctx {
  const struct scan *s;
  int64_t *ids;
  size_t n, cap;
};

static void on_unseen(void *arg, int64_t id, const char *path)
{
  struct gone_ctx *g = arg;
  struct stat st;
  bool inside = path && !strncmp(path, g->s->root, g->s->root_len) &&
                path[g->s->root_len] == '/';
  if (inside && fs_lstat_beneath(g->s->root, path, &st, NULL, 0) == SS_OK &&
      S_ISREG(st.st_mode))
    return; /* still there (e.g. imported during the scan) */
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 256;
    g->ids = xrealloc(g->ids, g->cap * sizeof *g->ids);
  }
  g->ids[g->n++] = id;
}

static enum ss_err mark_gone(struct scan *s)
{
  struct gone_ctx g = {.s = s};
  enum ss_err rc = db_library_unseen(s->db, s->gen, on_unseen, &g);
  if (!rc)
    rc = db_library_mark_gone(s->db, g.ids, g.n);
  if (!rc)
    s->st->gone = g.n;
  free(g.ids);
  return rc;
}

/* ---- entry point ---- */

static enum ss_err open_root(struct scan *s, char *err, size_t errlen)
{
  const char *root = s->o->root;
  if (!realpath(root, s->root)) {
    snprintf(err, errlen, "library folder %s does not exist", root);
    return SS_ENOTFOUND;
  }
  s->root_len = strlen(s->root);
  if (s->root_len == 1) /* "/" */
    s->root_len = 0;
  int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    snprintf(err, errlen, "library folder %s is not a readable folder (%s)",
             root, strerror(errno));
    return SS_EINVAL;
  }
  snprintf(s->path, sizeof s->path, "%.*s", (int)s->root_len, s->root);
  s->stack[0] = (struct level){d, s->root_len};
  s->depth = 0;
  struct stat q;
  if (s->o->quarantine && s->o->quarantine[0] &&
      stat(s->o->quarantine, &q) == 0) {
    s->has_quarantine = true;
    s->q_dev = q.st_dev;
    s->q_ino = q.st_ino;
  }
  return SS_OK;
}

enum ss_err scanner_run(struct db *db, const struct scanner_opts *opts,
                        struct scanner_stats *stats, char *err, size_t errlen)
{
  char dummy_err[8];
  struct scanner_stats dummy;
  if (!err || !errlen) {
    err = dummy_err;
    errlen = sizeof dummy_err;
  }
  err[0] = '\0';
  if (!stats)
    stats = &dummy;
  memset(stats, 0, sizeof *stats);
  if (!db || !opts || !opts->root || !opts->root[0])
    return SS_EINVAL;
  media_init();
  struct scan *s = xcalloc(1, sizeof *s);
  s->db = db;
  s->o = opts;
  s->st = stats;
  s->depth = -1;
  enum ss_err rc = open_root(s, err, errlen);
  if (!rc && opts->quarantine && opts->quarantine[0]) {
    /* moves a crash interrupted first: a half-moved file is not gone */
    struct quarantine_result qr;
    quarantine_recover(db, opts->root, opts->quarantine, clock_wall_ms(), &qr);
  }
  if (!rc && (rc = db_library_scan_begin(db, &s->gen)))
    snprintf(err, errlen, "cannot start the scan: %s", ss_strerror(rc));
  if (!rc) {
    s->cap_batch = opts->batch ? opts->batch : SCANNER_BATCH_DEFAULT;
    s->batch = xmalloc(s->cap_batch * sizeof *s->batch);
    rc = walk(s);
    if (!rc)
      rc = mark_gone(s);
    if (rc == SS_EDB)
      snprintf(err, errlen, "library store failure during the scan");
    else if (rc == SS_ECANCELED)
      snprintf(err, errlen, "scan stopped");
  } else {
    while (s->depth >= 0)
      closedir(s->stack[s->depth--].dir);
  }
  free(s->batch);
  free(s);
  return rc;
}
