/*
 * coverart.c - Cover Art Archive client (docs/INTEGRATIONS.md) and
 * the atomic cover file writer.
 *
 * Redirects are left to libcurl inside http_client (capped, http/https
 * only); this file judges the final response: status, declared type,
 * signature bytes and size.  A 503 uses the per-host block of
 * http_client.h (no spacing: the archive publishes no rate).
 */
#include "clients/coverart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/backoff.h"
#include "clients/http_client.h"
#include "clients/musicbrainz.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define URL_MAX (SETTING_STR_MAX + 128)

struct caa_client {
  struct http_client *http;
  const atomic_bool *cancel;
  long timeout_ms;
  size_t max_bytes;
};

struct caa_client *caa_client_new(const struct caa_client_opts *o)
{
  char ua[SETTING_STR_MAX + 64];
  struct caa_client *c = xcalloc(1, sizeof *c);
  mb_user_agent(ua, sizeof ua);
  c->http = http_client_new(ua);
  c->cancel = o ? o->cancel : NULL;
  c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : CAA_TIMEOUT_MS;
  c->max_bytes = o && o->max_bytes ? o->max_bytes : CAA_IMAGE_MAX;
  return c;
}

void caa_client_free(struct caa_client *c)
{
  if (!c)
    return;
  http_client_free(c->http);
  free(c);
}

void caa_image_free(struct caa_image *img)
{
  buf_free(&img->data);
  memset(img, 0, sizeof *img);
}

int64_t caa_blocked_until(void)
{
  char url[URL_MAX];
  settings_str(S_COVERART_URL, url, sizeof url);
  return url[0] ? http_host_blocked_until(url, NULL, 0) : 0;
}

static void set_err(struct caa_err *e, enum caa_fail kind, long status,
                    const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

static void set_err(struct caa_err *e, enum caa_fail kind, long status,
                    const char *fmt, ...)
{
  va_list ap;
  e->kind = kind;
  e->status = status;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
}

static enum ss_err err_code(enum caa_fail kind)
{
  switch (kind) {
  case CAA_OK: return SS_OK;
  case CAA_NO_COVER: return SS_ENOTFOUND;
  case CAA_REFUSED: return SS_EINVAL;
  case CAA_TOO_BIG: return SS_ETOOBIG;
  case CAA_BAD_TYPE: return SS_EPROTO;
  case CAA_UNAVAILABLE: return SS_ENET;
  case CAA_RATE_LIMITED: return SS_EBUSY;
  case CAA_NOT_CONFIGURED: return SS_ESTATE;
  case CAA_WRITE_FAILED: return SS_EIO;
  default: return SS_ECANCELED;
  }
}

/* "image/jpeg" / "image/png", parameters and case ignored. */
static bool type_is(const char *ct, const char *want)
{
  size_t n = strlen(want);
  return !strncasecmp(ct, want, n) &&
         (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool looks_like(const struct buf *b, bool png)
{
  static const unsigned char jpeg_sig[] = {0xff, 0xd8, 0xff};
  static const unsigned char png_sig[] = {0x89, 'P',  'N',  'G',
                                          '\r', '\n', 0x1a, '\n'};
  const unsigned char *sig = png ? png_sig : jpeg_sig;
  size_t n = png ? sizeof png_sig : sizeof jpeg_sig;
  return b->len >= n && !memcmp(b->data, sig, n);
}

/* Judges the final response; on CAA_OK moves the body into out. */
static void judge(enum ss_err rc, struct http_reply *r, const char *url,
                  const char *what, struct caa_image *out, struct caa_err *err)
{
  if (rc == SS_EBUSY) { /* the host is blocked: no request was sent */
    set_err(err, CAA_RATE_LIMITED, 0, "Cover Art Archive %s", r->error);
    err->until_ms = r->blocked_until_ms;
  } else if (rc == SS_ECANCELED) {
    set_err(err, CAA_CANCELED, 0, "canceled");
  } else if (rc == SS_ETOOBIG) {
    set_err(err, CAA_TOO_BIG, r->status, "cover of %s refused: %s", what,
            r->error);
  } else if (rc != SS_OK && r->bad_redirect) {
    set_err(err, CAA_REFUSED, r->status, "cover of %s refused: %s", what,
            r->error);
  } else if (rc != SS_OK) {
    set_err(err, CAA_UNAVAILABLE, 0, "Cover Art Archive unreachable (%s)",
            r->error);
  } else if (r->status == 404) {
    set_err(err, CAA_NO_COVER, 404, "no front cover for %s", what);
  } else if (r->status == 503) {
    /* http_client blocked the host for a Retry-After of 1 s or more;
     * without one we still pause a second. */
    if (!r->blocked_until_ms)
      http_host_block(url, clock_wall_ms() + 1000, "HTTP 503");
    int64_t until = http_host_blocked_until(url, NULL, 0);
    set_err(err, CAA_RATE_LIMITED, 503,
            "Cover Art Archive is throttling us (503); paused for %lld s",
            (long long)((until - clock_wall_ms() + 999) / 1000));
    err->until_ms = until;
  } else if (r->status >= 500) {
    set_err(err, CAA_UNAVAILABLE, r->status,
            "Cover Art Archive answered HTTP %ld for %s", r->status, what);
  } else if (r->status >= 300 && r->status < 400) {
    set_err(err, CAA_REFUSED, r->status,
            "cover of %s: redirect without a usable Location (HTTP %ld)", what,
            r->status);
  } else if (r->status != 200) {
    set_err(err, CAA_REFUSED, r->status,
            "Cover Art Archive refused %s: HTTP %ld", what, r->status);
  } else if (!type_is(r->content_type, "image/jpeg") &&
             !type_is(r->content_type, "image/png")) {
    char shown[48];
    size_t i = 0;
    for (; r->content_type[i] && i + 1 < sizeof shown; i++)
      shown[i] = (unsigned char)r->content_type[i] < 0x20 ? '?'
                                                          : r->content_type[i];
    shown[i] = '\0';
    set_err(err, CAA_BAD_TYPE, 200,
            "cover of %s refused: type \"%s\" is not JPEG or PNG", what,
            shown[0] ? shown : "none");
  } else {
    bool png = type_is(r->content_type, "image/png");
    if (!looks_like(&r->body, png)) {
      set_err(err, CAA_BAD_TYPE, 200,
              "cover of %s refused: the bytes are not a %s image", what,
              png ? "PNG" : "JPEG");
      return;
    }
    out->data = r->body;
    memset(&r->body, 0, sizeof r->body);
    out->png = png;
    out->ext = png ? "png" : "jpg";
    err->kind = CAA_OK;
    err->status = 200;
  }
}

enum ss_err caa_front(struct caa_client *c, enum caa_entity entity,
                      const char *mbid, int size, struct caa_image *out,
                      struct caa_err *err)
{
  char id[MB_ID_LEN + 1], url[URL_MAX], what[80], suffix[16] = "";
  memset(out, 0, sizeof *out);
  memset(err, 0, sizeof *err);
  const char *kind = entity == CAA_RELEASE_GROUP ? "release-group" : "release";
  if (mb_mbid_canonical(mbid, id) != SS_OK) {
    set_err(err, CAA_REFUSED, 0, "%s id is not an MBID", kind);
    return SS_EINVAL;
  }
  if (size != 0 && size != 250 && size != 500 && size != 1200) {
    set_err(err, CAA_REFUSED, 0, "cover size must be 0, 250, 500 or 1200");
    return SS_EINVAL;
  }
  if (size)
    snprintf(suffix, sizeof suffix, "-%d", size);
  snprintf(what, sizeof what, "%s %s", kind, id);
  size_t bl = settings_str(S_COVERART_URL, url, sizeof url);
  while (bl && url[bl - 1] == '/')
    url[--bl] = '\0';
  if (!bl) {
    set_err(err, CAA_NOT_CONFIGURED, 0, "coverart.url is not set");
    return SS_ESTATE;
  }
  snprintf(url + bl, sizeof url - bl, "/%s/%s/front%s", kind, id, suffix);
  char note[BACKOFF_NOTE_MAX];
  if (!caa_blocked_until() &&
      backoff_blocked(SVC_COVERART, clock_wall_ms(), note, sizeof note)) {
    struct backoff_state bo;
    backoff_get(SVC_COVERART, &bo);
    set_err(err,
            bo.code == SS_R_RATE_LIMITED ? CAA_RATE_LIMITED : CAA_UNAVAILABLE,
            0, "%s", note);
    err->until_ms = bo.until_ms;
    return err_code(err->kind); /* no request while it backs off */
  }
  const char *const headers[] = {"Accept: image/jpeg, image/png", NULL};
  struct http_call call = {.url = url,
                           .headers = headers,
                           .timeout_ms = c->timeout_ms,
                           .reply_limit = c->max_bytes,
                           .follow_redirects = true,
                           .cancel = c->cancel};
  struct http_reply r;
  enum ss_err rc = http_client_call(c->http, &call, &r);
  judge(rc, &r, url, what, out, err);
  /* The ladder (clients/backoff.h): down or throttling climbs it, any
   * answer steps it back to zero, a call held back by a block says
   * nothing new. */
  if (err->kind == CAA_UNAVAILABLE ||
      (err->kind == CAA_RATE_LIMITED && rc != SS_EBUSY))
    backoff_failed(SVC_COVERART, clock_wall_ms(), err->until_ms,
                   err->kind == CAA_RATE_LIMITED ? SS_R_RATE_LIMITED
                   : rc == SS_ETIMEDOUT          ? SS_R_TIMEOUT
                                                 : SS_R_CONNECTION,
                   err->msg);
  else if (err->kind != CAA_CANCELED && err->kind != CAA_RATE_LIMITED)
    backoff_succeeded(SVC_COVERART);
  http_reply_free(&r);
  if (err->kind != CAA_OK)
    log_info("coverart", "%s", err->msg);
  return err_code(err->kind);
}

static enum ss_err write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return SS_EIO;
    p += w;
    n -= (size_t)w;
  }
  return SS_OK;
}

enum ss_err caa_front_to_fd(struct caa_client *c, enum caa_entity entity,
                            const char *mbid, int size, int fd,
                            struct caa_err *err)
{
  struct caa_image img;
  enum ss_err rc = caa_front(c, entity, mbid, size, &img, err);
  if (rc != SS_OK)
    return rc;
  if (write_all(fd, img.data.data, img.data.len) != SS_OK) {
    set_err(err, CAA_WRITE_FAILED, 200, "cannot write the cover: %s",
            strerror(errno));
    rc = SS_EIO;
  }
  caa_image_free(&img);
  return rc;
}

enum ss_err caa_write_file(const char *album_dir, const char *name,
                           const void *data, size_t len, bool replace,
                           char *why, size_t why_n)
{
  static atomic_uint counter;
  char tmp[96];
  if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
      !strcmp(name, "..") || strlen(name) > 64) {
    snprintf(why, why_n, "\"%s\" is not a plain file name", name);
    return SS_EINVAL;
  }
  int dfd = open(album_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    struct stat st;
    bool link = (e == ELOOP || e == ENOTDIR) && lstat(album_dir, &st) == 0 &&
                S_ISLNK(st.st_mode);
    snprintf(why, why_n, "cannot open the album folder: %s",
             link ? "it is a symbolic link" : strerror(e));
    return SS_EIO;
  }
  snprintf(tmp, sizeof tmp, ".%s.%ld.%u.part", name, (long)getpid(),
           atomic_fetch_add(&counter, 1));
  int fd = openat(dfd, tmp,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  enum ss_err rc = SS_OK;
  if (fd < 0) {
    snprintf(why, why_n, "cannot create a file in the album folder: %s",
             strerror(errno));
    close(dfd);
    return SS_EIO;
  }
  if (write_all(fd, data, len) != SS_OK || fsync(fd) != 0) {
    snprintf(why, why_n, "cannot write %s: %s", name, strerror(errno));
    rc = SS_EIO;
  }
  if (close(fd) != 0 && rc == SS_OK) {
    snprintf(why, why_n, "cannot write %s: %s", name, strerror(errno));
    rc = SS_EIO;
  }
  if (rc == SS_OK && replace && renameat(dfd, tmp, dfd, name) != 0) {
    snprintf(why, why_n, "cannot put %s in place: %s", name, strerror(errno));
    rc = SS_EIO;
  }
  if (rc == SS_OK && !replace && linkat(dfd, tmp, dfd, name, 0) != 0) {
    rc = errno == EEXIST ? SS_ESTATE : SS_EIO;
    snprintf(why, why_n, "%s %s", name,
             rc == SS_ESTATE ? "already exists" : strerror(errno));
  }
  if (rc != SS_OK || !replace)
    unlinkat(dfd, tmp, 0);
  if (rc == SS_OK)
    fsync(dfd);
  close(dfd);
  return rc;
}

enum ss_err caa_save_cover(struct caa_client *c, enum caa_entity entity,
                           const char *mbid, int size, const char *album_dir,
                           bool replace, char *name, size_t name_n,
                           struct caa_err *err)
{
  struct caa_image img;
  char file[32], why[200];
  if (name && name_n)
    name[0] = '\0';
  enum ss_err rc = caa_front(c, entity, mbid, size, &img, err);
  if (rc != SS_OK)
    return rc;
  snprintf(file, sizeof file, CAA_COVER_NAME ".%s", img.ext);
  rc = caa_write_file(album_dir, file, img.data.data, img.data.len, replace,
                      why, sizeof why);
  if (rc != SS_OK)
    set_err(err, CAA_WRITE_FAILED, 200, "%s", why);
  else if (name && name_n)
    snprintf(name, name_n, "%s", file);
  caa_image_free(&img);
  return rc;
}
