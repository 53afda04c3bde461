/*
 * coverart.h - the Cover Art Archive client: front covers of a release or
 * release group, and writing cover.jpg into an album folder atomically.
 *
 * A cover is fetched with one GET through the one HTTP client
 * (http_client.c), which follows the redirect chain itself (307 from
 * coverartarchive.org to archive.org, then archive.org's 302 to a storage
 * node; at most 5 redirects, http and https only, a protocol-relative
 * Location resolved by libcurl).  The image is accepted only when:
 *   - the final status is 200 (404 = no cover, CAA_NO_COVER),
 *   - Content-Type is image/jpeg or image/png and the bytes start with that
 *     format's signature,
 *   - it is at most opts.max_bytes (CAA_IMAGE_MAX): a larger Content-Length
 *     is refused from the headers, a body without one is cut off at the cap;
 *     either way nothing past the cap is read.
 * A 503 blocks the host (the shared per-host block of http_client.h) for
 * Retry-After, at least 1 s; calls during the block fail at once with
 * CAA_RATE_LIMITED and until_ms.  The archive is one service on the
 * shared ladder of clients/backoff.h: no answer, 5xx or 503 climb it, any
 * answer steps it back to zero, and while it lasts calls fail at once with
 * CAA_UNAVAILABLE (nothing is sent).
 * Nothing is written to a file or fd unless the whole image passed.
 *
 * Threading: a struct caa_client (one curl handle) belongs to one thread;
 * the host block is process-wide and thread-safe.  Ownership: a struct
 * caa_image is owned by the caller and released with caa_image_free().
 */
#ifndef SS_COVERART_H
#define SS_COVERART_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/buf.h"

#define CAA_IMAGE_MAX (10 * 1024 * 1024)
#define CAA_TIMEOUT_MS 60000
#define CAA_MSG_MAX 256
#define CAA_COVER_NAME "cover" /* + ".jpg" or ".png" */

enum caa_entity { CAA_RELEASE, CAA_RELEASE_GROUP };

enum caa_fail {
  CAA_OK = 0,
  CAA_NO_COVER,     /* 404: no front image (or unknown MBID) */
  CAA_REFUSED,      /* 400 / other 4xx, a bad MBID or size, a redirect to
                     * another protocol or too many redirects */
  CAA_TOO_BIG,      /* larger than max_bytes */
  CAA_BAD_TYPE,     /* not image/jpeg or image/png, or bytes that are not */
  CAA_UNAVAILABLE,  /* network error, timeout, 5xx */
  CAA_RATE_LIMITED, /* 503, or blocked by an earlier 503 */
  CAA_CANCELED,
  CAA_NOT_CONFIGURED, /* coverart.url is empty */
  CAA_WRITE_FAILED    /* the fd or the album folder refused the bytes */
};

struct caa_err {
  enum caa_fail kind;
  long status;
  int64_t until_ms; /* CAA_RATE_LIMITED: wall-clock time to try again */
  char msg[CAA_MSG_MAX];
};

struct caa_image {
  struct buf data;
  bool png;        /* false: JPEG */
  const char *ext; /* "jpg" or "png" (static) */
};

struct caa_client_opts {
  const atomic_bool *cancel; /* optional */
  long timeout_ms;           /* 0 = CAA_TIMEOUT_MS */
  size_t max_bytes;          /* 0 = CAA_IMAGE_MAX */
};

struct caa_client;

/* Reads coverart.url (per call) and the User-Agent (mb_user_agent). */
struct caa_client *caa_client_new(const struct caa_client_opts *o);
void caa_client_free(struct caa_client *c);

/* The front cover of a release or release group.  size: 0 = the
 * original, or 250 / 500 / 1200 (JPEG thumbnails).  On SS_OK out holds
 * the image; otherwise err says why and out is empty. */
enum ss_err caa_front(struct caa_client *c, enum caa_entity entity,
                      const char *mbid, int size, struct caa_image *out,
                      struct caa_err *err);
void caa_image_free(struct caa_image *img);

/* caa_front(), then all of the image written to fd (nothing on failure). */
enum ss_err caa_front_to_fd(struct caa_client *c, enum caa_entity entity,
                            const char *mbid, int size, int fd,
                            struct caa_err *err);

/* caa_front(), then "cover.jpg" (or "cover.png") written into album_dir
 * with caa_write_file(); name receives the file name written. */
enum ss_err caa_save_cover(struct caa_client *c, enum caa_entity entity,
                           const char *mbid, int size, const char *album_dir,
                           bool replace, char *name, size_t name_n,
                           struct caa_err *err);

/* Writes data as album_dir/name atomically: a temporary file beneath the
 * folder (opened with O_NOFOLLOW on the folder's fd), fsync, then rename
 * (replace) or link (no replace: SS_ESTATE when name exists).  album_dir
 * itself must not be a symlink; name must be a plain file name.  On any
 * failure nothing is left behind and why says what happened.  Any thread.
 * (Swap point for the shared "beneath root" helper of fsutil.c.) */
enum ss_err caa_write_file(const char *album_dir, const char *name,
                           const void *data, size_t len, bool replace,
                           char *why, size_t why_n);

/* Wall-clock ms until which a 503 blocks the Cover Art Archive (0 =
 * not blocked).  Any thread. */
int64_t caa_blocked_until(void);

#endif
