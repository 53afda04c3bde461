/*
 * import.c - finished downloads into the library (see import.h).
 *
 * What: template rendering and sanitising (pure), the no-replace move
 * (rename or copy + fsync + link), and the journaled import steps.
 * Threading: any thread with its own db.  Ownership: nothing survives a
 * call; large structs live on the heap.
 */
#include "library/import.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/slskd.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/xalloc.h"
#include "db/db_library.h"
#include "media/media.h"

#define MAX_NAME_TRIES 100

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static void strip_slashes(char *s)
{
  size_t n = strlen(s);
  while (n > 1 && s[n - 1] == '/')
    s[--n] = '\0';
}

void import_config_load(struct import_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  settings_str(S_DOWNLOAD_SLSKD_DOWNLOAD_PATH, cfg->download_root,
               sizeof cfg->download_root);
  settings_str(S_LIBRARY_PATH, cfg->library_root, sizeof cfg->library_root);
  settings_str(S_DOWNLOAD_NAMING_TEMPLATE, cfg->naming_template,
               sizeof cfg->naming_template);
  strip_slashes(cfg->download_root);
  strip_slashes(cfg->library_root);
}

/* ------------------------------------------------------------------ */
/* Sanitising and rendering                                            */
/* ------------------------------------------------------------------ */

/* Cuts s to at most max bytes on a UTF-8 boundary. */
static void cut_utf8(char *s, size_t max)
{
  size_t n = strlen(s);
  if (n <= max)
    return;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--;
  s[n] = '\0';
}

/* Removes "()", "[]" and "{}" pairs with only spaces inside. */
static void drop_empty_brackets(char *s)
{
  static const char pairs[] = "()[]{}";
  char *w = s;
  for (char *r = s; *r;) {
    const char *open = strchr(pairs, *r);
    if (open && (open - pairs) % 2 == 0) {
      char *q = r + 1;
      while (*q == ' ')
        q++;
      if (*q == open[1]) {
        r = q + 1;
        continue;
      }
    }
    *w++ = *r++;
  }
  *w = '\0';
}

/* Collapses space runs and trims spaces, dots and dashes at the ends. */
static void tidy(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    if (!(*r == ' ' && (w == s || w[-1] == ' ')))
      *w++ = *r;
  *w = '\0';
  while (w > s && (w[-1] == ' ' || w[-1] == '.' || w[-1] == '-'))
    *--w = '\0';
  size_t lead = strspn(s, " -");
  memmove(s, s + lead, strlen(s + lead) + 1);
}

void import_sanitize(const char *in, char *out, size_t n)
{
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)(in ? in : "");
       *p && o + 1 < n; p++) {
    unsigned char c = *p;
    if (c < 0x20 || c == 0x7f)
      continue;
    if (c == '/' || c == '\\')
      c = '-';
    else if (strchr("<>:\"|?*", c))
      c = '_';
    out[o++] = (char)c;
  }
  out[o] = '\0';
  drop_empty_brackets(out);
  tidy(out);
  while (out[0] == '.') /* no hidden files, no "." or ".." */
    out[0] = '_';
  cut_utf8(out, IMPORT_COMPONENT_MAX);
  tidy(out);
  if (!out[0])
    snprintf(out, n, "_");
}

static const char *field(const struct import_fields *f, const char *name,
                         char *num, size_t n)
{
  if (!strcmp(name, "albumartist"))
    return f->albumartist;
  if (!strcmp(name, "artist"))
    return f->artist;
  if (!strcmp(name, "album"))
    return f->album;
  if (!strcmp(name, "title"))
    return f->title;
  if (!strcmp(name, "ext"))
    return f->ext;
  if (!strcmp(name, "year")) {
    snprintf(num, n, "%d", f->year);
    return f->year > 0 ? num : "";
  }
  if (!strcmp(name, "disc")) {
    snprintf(num, n, "%d", f->disc > 0 ? f->disc : 1);
    return num;
  }
  if (!strcmp(name, "track")) {
    snprintf(num, n, "%02d", f->track > 0 ? f->track : 0);
    return num;
  }
  return "";
}

/* Expands the placeholders; '/' in values becomes '-'. */
static void expand(const char *tmpl, const struct import_fields *f, char *out,
                   size_t n)
{
  size_t o = 0;
  for (const char *p = tmpl; *p && o + 1 < n;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    if (!close || close - p > 20) {
      out[o++] = *p++;
      continue;
    }
    char name[24], num[16];
    snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
    const char *v = field(f, name, num, sizeof num);
    for (; v && *v && o + 1 < n; v++)
      out[o++] = *v == '/' || *v == '\\' ? '-' : *v;
    p = close + 1;
  }
  out[o] = '\0';
}

static bool ends_with_ext(const char *s, const char *ext)
{
  size_t n = strlen(s), e = strlen(ext);
  return n > e && s[n - e - 1] == '.' && !strcasecmp(s + n - e, ext);
}

int import_render(const char *tmpl, const struct import_fields *f, char *out,
                  size_t n)
{
  char *raw = xmalloc(IMPORT_PATH_MAX * 4);
  char comp[IMPORT_COMPONENT_MAX * 2 + 8];
  expand(tmpl && tmpl[0] ? tmpl : "{albumartist}/{album}/{track} {title}.{ext}",
         f, raw, IMPORT_PATH_MAX * 4);
  size_t o = 0;
  int rc = SS_OK;
  out[0] = '\0';
  for (char *save = NULL, *part = strtok_r(raw, "/", &save); part && !rc;
       part = strtok_r(NULL, "/", &save)) {
    import_sanitize(part, comp, sizeof comp);
    if (!strcmp(comp, "_") && !strchr(part, '_'))
      continue; /* a component left empty by empty values */
    size_t len = strlen(comp);
    if (o + len + 2 > n || o + len + 1 > IMPORT_PATH_MAX)
      rc = SS_EINVAL;
    else
      o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "/" : "", comp);
  }
  free(raw);
  if (!rc && !o)
    rc = SS_EINVAL;
  if (!rc && f->ext && f->ext[0] && !ends_with_ext(out, f->ext)) {
    if (o + strlen(f->ext) + 2 > n)
      return SS_EINVAL;
    snprintf(out + o, n - o, ".%s", f->ext);
  }
  return rc;
}

static bool usable_part(const char *s)
{
  return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

int import_source_path(const char *root, const char *remote, char *out,
                       size_t n)
{
  char dir[SLSKD_STR_MAX], base[SLSKD_STR_MAX];
  slskd_split_remote(remote, dir, sizeof dir, base, sizeof base);
  if (!usable_part(base) || (dir[0] && !usable_part(dir)))
    return SS_EINVAL;
  int w = dir[0] ? snprintf(out, n, "%s/%s/%s", root, dir, base)
                 : snprintf(out, n, "%s/%s", root, base);
  return w > 0 && (size_t)w < n ? SS_OK : SS_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Moving                                                              */
/* ------------------------------------------------------------------ */

static int mkdirs_for(const char *path)
{
  char *p = xstrdup(path);
  char *slash = strrchr(p, '/');
  int rc = SS_OK;
  if (slash && slash != p) {
    *slash = '\0';
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
  }
  free(p);
  return rc;
}

static void fsync_dir_of(const char *path)
{
  char *p = xstrdup(path);
  char *slash = strrchr(p, '/');
  if (slash)
    *(slash == p ? slash + 1 : slash) = '\0';
  int fd = open(slash ? p : ".", O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(p);
}


/* Copies src next to dst, fsyncs, links it into place (never replacing),
 * then removes the source. */
static int copy_move(const char *src, const char *dst, const char *tag,
                     char *err, size_t errlen)
{
  char *tmp = xstrdup(dst);
  char *slash = strrchr(tmp, '/');
  char *tmp_path = xasprintf("%.*s/.soulspot-import-%s.part",
                             slash ? (int)(slash - tmp) : 1,
                             slash ? tmp : ".", tag);
  free(tmp);
  int rc = SS_EIO;
  int in = open(src, O_RDONLY | O_NOFOLLOW);
  int out = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
  if (in >= 0 && out >= 0 && fs_copy_fd(in, out) == SS_OK && fsync(out) == 0)
    rc = SS_OK;
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) && rc == SS_OK)
    rc = SS_EIO;
  if (rc) {
    snprintf(err, errlen, "copy to %s failed: %s", tmp_path, strerror(errno));
  } else {
    TESTHOOK_CRASH("copied");
    if (link(tmp_path, dst)) {
      rc = errno == EEXIST ? SS_EBUSY : SS_EIO;
      snprintf(err, errlen, "cannot place %s: %s", dst, strerror(errno));
    }
  }
  unlink(tmp_path);
  free(tmp_path);
  if (rc)
    return rc;
  fsync_dir_of(dst);
  if (unlink(src))
    log_warn("import", "copied, but could not remove the source: %s",
             strerror(errno));
  fsync_dir_of(src);
  return SS_OK;
}

int import_move(const char *src, const char *dst, const char *tmp_tag,
                bool force_copy, char *err, size_t errlen)
{
  if (mkdirs_for(dst)) {
    snprintf(err, errlen, "cannot create the folder of %s: %s", dst,
             strerror(errno));
    return SS_EIO;
  }
  if (!force_copy) {
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
      fsync_dir_of(dst);
      fsync_dir_of(src);
      return SS_OK;
    }
    if (errno == EEXIST) {
      snprintf(err, errlen, "%s already exists", dst);
      return SS_EBUSY;
    }
    if (errno == EINVAL || errno == ENOSYS) { /* no RENAME_NOREPLACE */
      if (link(src, dst) == 0) {
        unlink(src);
        fsync_dir_of(dst);
        return SS_OK;
      }
      if (errno == EEXIST) {
        snprintf(err, errlen, "%s already exists", dst);
        return SS_EBUSY;
      }
    }
    if (errno != EXDEV && errno != EPERM && errno != EINVAL &&
        errno != ENOSYS) {
      snprintf(err, errlen, "cannot move %s: %s", src, strerror(errno));
      return SS_EIO;
    }
  }
  return copy_move(src, dst, tmp_tag, err, errlen);
}

/* ------------------------------------------------------------------ */
/* The import                                                          */
/* ------------------------------------------------------------------ */

static bool is_file(const char *path, struct stat *st)
{
  return lstat(path, st) == 0 && S_ISREG(st->st_mode);
}

static bool exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

/* Finds where slskd put f: DOWNLOADS/<folder>/<name>, else
 * DOWNLOADS/<name>. */
static int find_source(const struct import_config *cfg,
                       const struct dl_file *f, char *src, size_t n,
                       char *err, size_t errlen)
{
  struct stat st;
  if (import_source_path(cfg->download_root, f->filename, src, n)) {
    snprintf(err, errlen, "unusable remote path");
    return SS_EPROTO;
  }
  if (is_file(src, &st))
    return SS_OK;
  char alt[IMPORT_PATH_MAX * 2], dir[8], base[SLSKD_STR_MAX];
  slskd_split_remote(f->filename, dir, sizeof dir, base, sizeof base);
  snprintf(alt, sizeof alt, "%s/%s", cfg->download_root, base);
  if (is_file(alt, &st)) {
    snprintf(src, n, "%s", alt);
    return SS_OK;
  }
  snprintf(err, errlen, "finished file not found at %s", src);
  return SS_ENOTFOUND;
}

static const char *first(const char *a, const char *b, const char *c)
{
  return a && a[0] ? a : b && b[0] ? b : c;
}

static const char *ext_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash : path, '.');
  return dot && dot[1] ? dot + 1 : "";
}

/* Renders the target and picks a name nobody uses. */
static int choose_target(const struct import_config *cfg,
                         const struct dl_file *f, const struct media_info *m,
                         const char *src, char *dst, size_t n, char *err,
                         size_t errlen)
{
  char ext[16], stem[256], rel[IMPORT_PATH_MAX + 8];
  snprintf(ext, sizeof ext, "%s", ext_of(src));
  for (char *p = ext; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  const char *base = strrchr(src, '/');
  snprintf(stem, sizeof stem, "%s", base ? base + 1 : src);
  char *dot = strrchr(stem, '.');
  if (dot)
    *dot = '\0';
  const char *artist = first(m->artist, f->req_artist, "Unknown Artist");
  struct import_fields fl = {
    first(m->album_artist, artist, "Unknown Artist"), artist,
    first(m->album, f->kind == DL_ALBUM ? f->req_title : NULL,
          "Unknown Album"),
    first(m->title, f->kind == DL_TRACK ? f->req_title : NULL, stem), ext,
    m->year, m->disc_no, m->track_no};
  if (import_render(cfg->naming_template, &fl, rel, sizeof rel)) {
    snprintf(err, errlen, "naming template gives no usable path");
    return SS_EINVAL;
  }
  for (int i = 1; i <= MAX_NAME_TRIES; i++) {
    if (i == 1) {
      snprintf(dst, n, "%s/%s", cfg->library_root, rel);
    } else {
      char *rdot = strrchr(rel, '.');
      char *rslash = strrchr(rel, '/');
      size_t cut = rdot && (!rslash || rdot > rslash) ? (size_t)(rdot - rel)
                                                      : strlen(rel);
      snprintf(dst, n, "%s/%.*s (%d)%s", cfg->library_root, (int)cut, rel, i,
               rel + cut);
    }
    if (!exists(dst))
      return SS_OK;
  }
  snprintf(err, errlen, "no free name for %s", rel);
  return SS_EIO;
}

/* Step 1-3 for a completed file: probe, name, journal. */
static int plan(const struct import_config *cfg, struct db *db,
                const struct dl_file *f, char *src, char *dst, size_t n,
                char *err, size_t errlen)
{
  struct media_info *m = xcalloc(1, sizeof *m);
  char perr[200];
  int rc = find_source(cfg, f, src, n, err, errlen);
  if (!rc && media_probe(src, m, perr, sizeof perr) != SS_OK) {
    snprintf(err, errlen, "not a readable audio file: %s", perr);
    rc = SS_EPROTO;
  }
  if (!rc)
    rc = choose_target(cfg, f, m, src, dst, n, err, errlen);
  free(m);
  if (!rc && db_dl_import_begin(db, f->id, src, dst, clock_wall_ms())) {
    snprintf(err, errlen, "could not journal the import");
    rc = SS_EIO;
  }
  if (!rc)
    TESTHOOK_CRASH("journaled");
  return rc;
}

/* Brings the journaled move to its end whatever a crash left. */
static int finish_move(const struct import_config *cfg, struct db *db,
                       const struct dl_file *f, const char *src, char *dst,
                       size_t n, char *err, size_t errlen)
{
  struct stat ss, ds;
  char tag[32];
  snprintf(tag, sizeof tag, "%lld", (long long)f->id);
  for (int tries = 0; tries < 3; tries++) {
    bool have_src = is_file(src, &ss), have_dst = exists(dst);
    if (!have_src && have_dst)
      return SS_OK; /* moved before the crash */
    if (!have_src) {
      snprintf(err, errlen, "downloaded file vanished before its import");
      return SS_EIO;
    }
    if (have_dst && is_file(dst, &ds) &&
        (ds.st_ino == ss.st_ino || ds.st_size == ss.st_size)) {
      unlink(src); /* the copy was complete: the source is a leftover */
      return SS_OK;
    }
    if (!have_dst) {
      int rc = import_move(src, dst, tag, cfg->force_copy, err, errlen);
      if (rc != SS_EBUSY)
        return rc;
    }
    /* Someone else's file took the name: journal a new one. */
    struct media_info *m = xcalloc(1, sizeof *m);
    char perr[200];
    int rc = media_probe(src, m, perr, sizeof perr) ? SS_EPROTO : SS_OK;
    if (!rc)
      rc = choose_target(cfg, f, m, src, dst, n, err, errlen);
    free(m);
    if (!rc)
      rc = db_dl_import_begin(db, f->id, src, dst, clock_wall_ms());
    if (rc)
      return rc;
  }
  snprintf(err, errlen, "target name keeps being taken");
  return SS_EIO;
}

/* Step 5-6: the library row and the file's final state. */
static int record(struct db *db, const struct dl_file *f, const char *dst,
                  char *err, size_t errlen)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  struct stat st;
  char perr[200];
  int rc = SS_OK;
  snprintf(t->path, sizeof t->path, "%s", dst);
  if (stat(dst, &st)) {
    snprintf(err, errlen, "imported file missing: %s", strerror(errno));
    rc = SS_EIO;
  } else if (media_probe(dst, &t->media, perr, sizeof perr)) {
    t->unreadable = true; /* probed fine as the source; keep the row */
  }
  if (!rc) {
    t->size = st.st_size;
    t->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    t->download_id = f->request_id;
    if (f->kind == DL_TRACK && f->spotify_id[0])
      snprintf(t->spotify_track_id, sizeof t->spotify_track_id, "%s",
               f->spotify_id);
    int64_t track_id = 0;
    rc = db_library_track_upsert(db, t, &track_id);
    if (!rc)
      TESTHOOK_CRASH("upserted");
    if (!rc)
      rc = db_dl_import_done(db, f->id, track_id, clock_wall_ms());
    if (rc)
      snprintf(err, errlen, "could not record the imported track");
  }
  free(t);
  return rc;
}

int import_file(void *arg, struct db *db, const struct dl_file *f, char *err,
                size_t errlen)
{
  const struct import_config *cfg = arg;
  char src[IMPORT_PATH_MAX * 2], dst[IMPORT_PATH_MAX * 2];
  int rc;
  if (!strcmp(f->state, "importing") && f->import_src[0] &&
      f->import_dst[0]) {
    snprintf(src, sizeof src, "%s", f->import_src);
    snprintf(dst, sizeof dst, "%s", f->import_dst);
  } else {
    if (!cfg->library_root[0] || !cfg->download_root[0]) {
      snprintf(err, errlen, "%s is not set: finished downloads wait for "
                            "their import",
               cfg->library_root[0] ? "download.slskd_download_path"
                                    : "library.path");
      return SS_ESTATE;
    }
    if ((rc = plan(cfg, db, f, src, dst, sizeof dst, err, errlen)))
      return rc;
  }
  rc = finish_move(cfg, db, f, src, dst, sizeof dst, err, errlen);
  if (rc)
    return rc;
  TESTHOOK_CRASH("moved");
  rc = record(db, f, dst, err, errlen);
  if (!rc)
    log_info("import", "request %lld: imported %s", (long long)f->request_id,
             dst);
  return rc;
}
