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

#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/testhook.h"
#include "core/xalloc.h"
#include "core/utf8.h"
#include "db/db_library.h"
#include "downloads/requests.h"
#include "library/cover.h"
#include "library/dupes.h"
#include "library/quarantine.h"
#include "media/media.h"

/* Longest peer folder or file name kept (a peer's path as slskd reports
 * it; longer ones are cut). */
#define PEER_NAME_MAX 2048

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
  /* an unknown level leaves the target empty: nothing is an upgrade */
  requests_upgrade_target(&cfg->upgrade_target);
  quarantine_dir(cfg->quarantine_dir, sizeof cfg->quarantine_dir);
  strip_slashes(cfg->quarantine_dir);
}

/* ------------------------------------------------------------------ */
/* Sanitising and rendering                                            */
/* ------------------------------------------------------------------ */

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
  out[utf8_cut(out, IMPORT_COMPONENT_MAX)] = '\0';
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

/* The extension import_render() appends: only when it is 1-15 ASCII letters
 * and digits, so it can add no separator, dot segment or control byte
 * (import_render is public; its caller takes ext from a peer's file name). */
static void safe_ext(const char *ext, char *out, size_t n)
{
  size_t len = ext ? strlen(ext) : 0;
  out[0] = '\0';
  if (!len || len >= n)
    return;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)ext[i]))
      return;
  memcpy(out, ext, len + 1);
}

static bool ends_with_ext(const char *s, const char *ext)
{
  size_t n = strlen(s), e = strlen(ext);
  return n > e && s[n - e - 1] == '.' && !strcasecmp(s + n - e, ext);
}

enum ss_err import_render(const char *tmpl, const struct import_fields *f,
                          char *out, size_t n)
{
  char *raw = xmalloc(IMPORT_PATH_MAX * 4);
  char comp[IMPORT_COMPONENT_MAX * 2 + 8];
  expand(tmpl && tmpl[0] ? tmpl
                         : "{albumartist}/{album}/{track} {title}.{ext}",
         f, raw, IMPORT_PATH_MAX * 4);
  size_t o = 0;
  enum ss_err rc = SS_OK;
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
  char ext[16];
  safe_ext(f->ext, ext, sizeof ext);
  if (!rc && ext[0] && !ends_with_ext(out, ext)) {
    if (o + strlen(ext) + 2 > n || o + strlen(ext) + 2 > IMPORT_PATH_MAX)
      return SS_EINVAL;
    snprintf(out + o, n - o, ".%s", ext);
  }
  return rc;
}

static bool usable_part(const char *s)
{
  return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

enum ss_err import_source_path(const char *root, const char *remote, char *out,
                               size_t n)
{
  char dir[PEER_NAME_MAX], base[PEER_NAME_MAX];
  fs_split_peer_path(remote, dir, sizeof dir, base, sizeof base);
  if (!usable_part(base) || (dir[0] && !usable_part(dir)))
    return SS_EINVAL;
  int w = dir[0] ? snprintf(out, n, "%s/%s/%s", root, dir, base)
                 : snprintf(out, n, "%s/%s", root, base);
  return w > 0 && (size_t)w < n ? SS_OK : SS_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Files beneath the two roots (core/fsutil.h: never through a symlink) */
/* ------------------------------------------------------------------ */

static bool is_file(const char *root, const char *path, struct stat *st)
{
  return fs_lstat_beneath(root, path, st, NULL, 0) == SS_OK &&
         S_ISREG(st->st_mode);
}

/* SS_OK when nothing is at path, SS_EBUSY when something is, SS_EINVAL
 * (err says why) when path cannot be reached without a symlink. */
static enum ss_err name_free(const char *root, const char *path, char *err,
                             size_t errlen)
{
  struct stat st;
  enum ss_err rc = fs_lstat_beneath(root, path, &st, err, errlen);
  return rc == SS_ENOTFOUND ? SS_OK : rc == SS_OK ? SS_EBUSY : rc;
}

/* media_probe of the file at path beneath root. */
static enum ss_err probe_beneath(const char *root, const char *path,
                                 struct media_info *m, char *err,
                                 size_t errlen)
{
  int fd = fs_open_beneath(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return SS_EIO;
  }
  enum ss_err rc = media_probe_fd(fd, path, m, err, errlen);
  close(fd);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The import                                                          */
/* ------------------------------------------------------------------ */

/* Finds where slskd put f: DOWNLOADS/<folder>/<name>, else
 * DOWNLOADS/<name>. */
static enum ss_err find_source(const struct import_config *cfg,
                               const struct dl_file *f, char *src, size_t n,
                               char *err, size_t errlen)
{
  struct stat st;
  if (import_source_path(cfg->download_root, f->filename, src, n)) {
    snprintf(err, errlen, "unusable remote path");
    return SS_EPROTO;
  }
  if (is_file(cfg->download_root, src, &st))
    return SS_OK;
  char alt[IMPORT_PATH_MAX * 2], dir[8], base[PEER_NAME_MAX];
  fs_split_peer_path(f->filename, dir, sizeof dir, base, sizeof base);
  snprintf(alt, sizeof alt, "%s/%s", cfg->download_root, base);
  if (is_file(cfg->download_root, alt, &st)) {
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

/* ROOT/rel, else ROOT/rel with " (2)" ... before the extension: the first
 * that nobody uses (keep, when not NULL, counts as free: the file an
 * upgrade replaces). */
static enum ss_err free_name(const char *root, const char *rel,
                             const char *keep, char *dst, size_t n, char *err,
                             size_t errlen)
{
  for (int i = 1; i <= MAX_NAME_TRIES; i++) {
    if (i == 1) {
      snprintf(dst, n, "%s/%s", root, rel);
    } else {
      const char *rdot = strrchr(rel, '.');
      const char *rslash = strrchr(rel, '/');
      size_t cut = rdot && (!rslash || rdot > rslash) ? (size_t)(rdot - rel)
                                                      : strlen(rel);
      snprintf(dst, n, "%s/%.*s (%d)%s", root, (int)cut, rel, i, rel + cut);
    }
    if (keep && !strcmp(dst, keep))
      return SS_OK;
    enum ss_err rc = name_free(root, dst, err, errlen);
    if (rc != SS_EBUSY)
      return rc;
  }
  snprintf(err, errlen, "no free name for %s", rel);
  return SS_EIO;
}

/* Renders the target and picks a name nobody uses. */
static enum ss_err choose_target(const struct import_config *cfg,
                                 const struct dl_file *f,
                                 const struct media_info *m, const char *src,
                                 char *dst, size_t n, char *err, size_t errlen)
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
  struct import_fields fl =
    {first(m->album_artist, artist, "Unknown Artist"),
     artist,
     first(m->album, f->kind == DL_ALBUM ? f->req_title : NULL,
           "Unknown Album"),
     first(m->title, f->kind == DL_TRACK ? f->req_title : NULL, stem),
     ext,
     m->year,
     m->disc_no,
     m->track_no};
  if (import_render(cfg->naming_template, &fl, rel, sizeof rel)) {
    snprintf(err, errlen, "naming template gives no usable path");
    return SS_EINVAL;
  }
  return free_name(cfg->library_root, rel, NULL, dst, n, err, errlen);
}

/* ---- a quality upgrade: in place of the file it replaces (import.h) ---- */

struct replace {
  struct dl_upgrade up;      /* up.track_id 0: a plain import */
  struct library_track *old; /* the track replaced, when in the library */
  int64_t group_id;          /* its quarantine group once moved, else 0 */
};

static enum ss_err replace_load(const struct import_config *cfg, struct db *db,
                                const struct dl_file *f, struct replace *rp,
                                char *err, size_t errlen)
{
  memset(rp, 0, sizeof *rp);
  enum ss_err rc = db_dl_request_upgrade(db, f->request_id, &rp->up);
  if (rc == SS_ENOTFOUND || (!rc && !rp->up.track_id)) {
    memset(&rp->up, 0, sizeof rp->up);
    return SS_OK;
  }
  if (rc) {
    snprintf(err, errlen, "could not read the request");
    return SS_EIO;
  }
  rp->old = xcalloc(1, sizeof *rp->old);
  const char *rel = NULL;
  if (db_library_track_by_id(db, rp->up.track_id, rp->old) || rp->old->gone ||
      !(rel = fs_below(cfg->library_root, rp->old->path)) || !rel[0]) {
    free(rp->old); /* not in the library any more: a plain import */
    rp->old = NULL;
  }
  return SS_OK;
}

/* The downloaded file (measured) must be strictly better. */
static enum ss_err replace_check(const struct import_config *cfg,
                                 const struct replace *rp,
                                 const struct media_info *m, char *err,
                                 size_t errlen)
{
  struct quality_input got, have;
  char g[32], h[32];
  quality_from_codec(m->codec, m->bitrate, false, m->bit_depth, m->sample_rate,
                     &got);
  requests_upgrade_input(&rp->up, &have);
  if (quality_is_upgrade(&cfg->upgrade_target, &got, &have))
    return SS_OK;
  quality_describe(&got, g, sizeof g);
  quality_describe(&have, h, sizeof h);
  snprintf(err, errlen,
           "the downloaded file is %s, not better than the "
           "library's %s",
           g, h);
  return SS_EPROTO;
}

/* The old file's folder and name with the new file's extension.
 * SS_ENOTFOUND: no old file (then the template decides). */
static enum ss_err replace_target(const struct import_config *cfg,
                                  const struct replace *rp, const char *src,
                                  char *dst, size_t n, char *err,
                                  size_t errlen)
{
  char ext[16], lower[16], want[IMPORT_PATH_MAX * 2];
  const char *rel = rp->old ? fs_below(cfg->library_root, rp->old->path)
                            : NULL;
  snprintf(lower, sizeof lower, "%s", ext_of(src));
  for (char *p = lower; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  safe_ext(lower, ext, sizeof ext);
  if (!rel || !rel[0] || !ext[0])
    return SS_ENOTFOUND;
  const char *slash = strrchr(rel, '/'), *dot = strrchr(rel, '.');
  size_t cut = dot && (!slash || dot > slash) ? (size_t)(dot - rel)
                                              : strlen(rel);
  snprintf(want, sizeof want, "%.*s.%s", (int)cut, rel, ext);
  return free_name(cfg->library_root, want, rp->old->path, dst, n, err,
                   errlen);
}

/* After the journal, before the move: the old file into the quarantine
 * (already there when resuming). */
static enum ss_err replace_old(const struct import_config *cfg, struct db *db,
                               struct replace *rp, char *err, size_t errlen)
{
  if (!rp->old)
    return SS_OK;
  char label[LIBRARY_LABEL_MAX], have[32];
  struct quality_input q;
  requests_upgrade_input(&rp->up, &q);
  quality_describe(&q, have, sizeof have);
  snprintf(label, sizeof label, "%s \xe2\x80\x93 %s (quality upgrade of %s)",
           rp->old->media.artist, rp->old->media.title, have);
  enum ss_err rc = quarantine_replaced(db, rp->old->id, label,
                                       cfg->library_root, cfg->quarantine_dir,
                                       clock_wall_ms(), &rp->group_id, err,
                                       errlen);
  if (rc == SS_ENOTFOUND) { /* nothing left to replace */
    log_info("import", "upgrade of track %lld: %s", (long long)rp->old->id,
             err);
    rp->group_id = 0;
    return SS_OK;
  }
  if (rc)
    return rc;
  TESTHOOK_CRASH("replaced");
  return SS_OK;
}

/* The new file could not be moved into place: the old one comes back. */
static void replace_rollback(const struct import_config *cfg, struct db *db,
                             const struct replace *rp)
{
  struct quarantine_result res;
  if (!rp->group_id)
    return;
  if (quarantine_undo(db, rp->group_id, cfg->library_root, cfg->quarantine_dir,
                      clock_wall_ms(), &res))
    log_warn("import", "upgrade of %s: could not restore the old file: %s",
             rp->old->path, res.message);
}

/* Step 1-3 for a completed file: probe, name, journal. */
static enum ss_err plan(const struct import_config *cfg, struct db *db,
                        const struct dl_file *f, const struct replace *rp,
                        char *src, char *dst, size_t n, char *err,
                        size_t errlen)
{
  struct media_info *m = xcalloc(1, sizeof *m);
  char perr[200];
  enum ss_err rc = find_source(cfg, f, src, n, err, errlen);
  if (!rc && probe_beneath(cfg->download_root, src, m, perr, sizeof perr)) {
    snprintf(err, errlen, "not a readable audio file: %s", perr);
    rc = SS_EPROTO;
  }
  if (!rc && rp->up.track_id)
    rc = replace_check(cfg, rp, m, err, errlen);
  if (!rc) {
    rc = rp->up.track_id ? replace_target(cfg, rp, src, dst, n, err, errlen)
                         : SS_ENOTFOUND;
    if (rc == SS_ENOTFOUND)
      rc = choose_target(cfg, f, m, src, dst, n, err, errlen);
  }
  free(m);
  if (!rc && db_dl_import_begin(db, f->id, src, dst, clock_wall_ms())) {
    snprintf(err, errlen, "could not journal the import");
    rc = SS_EIO;
  }
  if (!rc)
    TESTHOOK_CRASH("journaled");
  return rc;
}

/* Brings the journaled move to its end whatever a crash left
 * (fs_move_resume); a foreign file at the target gets a new name. */
static enum ss_err finish_move(const struct import_config *cfg, struct db *db,
                               const struct dl_file *f, const char *src,
                               char *dst, size_t n, char *err, size_t errlen)
{
  char tag[48];
  snprintf(tag, sizeof tag, "import-%lld", (long long)f->id);
  if (fs_mkdir_p(cfg->library_root)) {
    snprintf(err, errlen, "cannot create the library folder %s: %s",
             cfg->library_root, strerror(errno));
    return SS_EIO;
  }
  for (int tries = 0; tries < 3; tries++) {
    enum ss_err rc = fs_move_resume(cfg->download_root, src, cfg->library_root,
                                    dst, tag, cfg->force_copy, err, errlen);
    if (rc == SS_ENOTFOUND) {
      snprintf(err, errlen, "downloaded file vanished before its import");
      return SS_EIO;
    }
    if (rc != SS_EBUSY)
      return rc;
    /* Someone else's file took the name: journal a new one. */
    struct media_info *m = xcalloc(1, sizeof *m);
    char perr[200];
    rc = probe_beneath(cfg->download_root, src, m, perr, sizeof perr)
           ? SS_EPROTO
           : SS_OK;
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

/* The request's MusicBrainz ids (a Wanted item's release group and
 * release) for a file whose tags name no release: the row then carries
 * them (ownership finds the album by id) and the cover is fetched with
 * them.  Tags, when present, win: they name the exact release. */
static void request_mbids(const struct dl_file *f, struct media_info *m)
{
  if (m->mb_album_id[0] || m->mb_release_group_id[0])
    return;
  snprintf(m->mb_album_id, sizeof m->mb_album_id, "%s", f->mb_release_id);
  snprintf(m->mb_release_group_id, sizeof m->mb_release_group_id, "%s",
           f->mb_release_group_id);
}

/* Step 5-6: the library row and the file's final state. */
static enum ss_err record(const struct import_config *cfg, struct db *db,
                          const struct dl_file *f, const struct replace *rp,
                          const char *dst, char *err, size_t errlen)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  struct stat st;
  char perr[200];
  enum ss_err rc = SS_OK;
  snprintf(t->path, sizeof t->path, "%s", dst);
  if (!is_file(cfg->library_root, dst, &st)) {
    snprintf(err, errlen, "imported file missing at %s", dst);
    rc = SS_EIO;
  } else if (probe_beneath(cfg->library_root, dst, &t->media, perr,
                           sizeof perr)) {
    t->unreadable = true; /* probed fine as the source; keep the row */
  }
  if (!rc) {
    t->size = st.st_size;
    t->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    t->download_id = f->request_id;
    if (f->kind == DL_TRACK && f->spotify_id[0])
      snprintf(t->spotify_track_id, sizeof t->spotify_track_id, "%s",
               f->spotify_id);
    else if (rp->old)
      snprintf(t->spotify_track_id, sizeof t->spotify_track_id, "%s",
               rp->old->spotify_track_id);
    request_mbids(f, &t->media);
    dupes_track_key(t); /* stored with the row */
    int64_t track_id = 0;
    rc = db_library_track_upsert(db, t, &track_id);
    if (!rc)
      TESTHOOK_CRASH("upserted");
    if (!rc && rp->old && track_id == rp->old->id) /* same name */
      rc = db_library_unquarantine(db, track_id, false, clock_wall_ms());
    if (!rc && rp->group_id &&
        db_library_upgrade_group_done(db, rp->group_id, track_id,
                                      clock_wall_ms()))
      log_warn("import", "could not record the upgrade of %s", rp->old->path);
    if (!rc)
      rc = db_dl_import_done(db, f->id, track_id, clock_wall_ms());
    if (rc)
      snprintf(err, errlen, "could not record the imported track");
  }
  char note[320]; /* a missing cover never fails the import */
  if (!rc)
    cover_after_import(cfg->library_root, dst, &t->media, note, sizeof note);
  free(t);
  return rc;
}

enum ss_err import_file(void *arg, struct db *db, const struct dl_file *f,
                        char *err, size_t errlen)
{
  const struct import_config *cfg = arg;
  char src[IMPORT_PATH_MAX * 2], dst[IMPORT_PATH_MAX * 2];
  struct replace rp;
  enum ss_err rc = replace_load(cfg, db, f, &rp, err, errlen);
  if (rc)
    return rc;
  if (!strcmp(f->state, "importing") && f->import_src[0] && f->import_dst[0]) {
    snprintf(src, sizeof src, "%s", f->import_src);
    snprintf(dst, sizeof dst, "%s", f->import_dst);
  } else {
    if (!cfg->library_root[0] || !cfg->download_root[0]) {
      snprintf(err, errlen,
               "%s is not set: finished downloads wait for "
               "their import",
               cfg->library_root[0] ? "download.slskd_download_path"
                                    : "library.path");
      rc = SS_ESTATE;
    } else {
      rc = plan(cfg, db, f, &rp, src, dst, sizeof dst, err, errlen);
    }
  }
  if (!rc && rp.up.track_id)
    rc = replace_old(cfg, db, &rp, err, errlen);
  if (!rc) {
    rc = finish_move(cfg, db, f, src, dst, sizeof dst, err, errlen);
    if (rc)
      replace_rollback(cfg, db, &rp);
  }
  if (!rc) {
    TESTHOOK_CRASH("moved");
    rc = record(cfg, db, f, &rp, dst, err, errlen);
  }
  if (!rc)
    log_info("import", "request %lld: imported %s%s", (long long)f->request_id,
             dst, rp.group_id ? " (the old copy is in the quarantine)" : "");
  free(rp.old);
  return rc;
}
