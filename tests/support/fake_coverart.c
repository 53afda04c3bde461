/*
 * fake_coverart.c - see fake_coverart.h.  Known MBIDs and the mode live
 * under one mutex; bodies that carry variable text are built with
 * jansson (index.json) or from fixed strings (HTML errors).
 */
#include "fake_coverart.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"
#include "fake_musicbrainz.h"

#define CAA_MAX_KNOWN 16
#define CAA_IMAGE_BASE 30501372565LL
#define MBID_LEN 36
#define IMAGE_LEN 4096

struct fake_coverart {
  struct fake_http *http;
  struct fake_http *archive;
  pthread_mutex_t mu;
  char archive_url[FAKE_URL_MAX]; /* "http://localhost:P": another host */
  struct {
    char group[MBID_LEN + 1];
    char release[MBID_LEN + 1];
  } known[CAA_MAX_KNOWN];
  size_t n_known;
  enum fake_caa_mode mode;
};

static unsigned char jpeg_bytes[IMAGE_LEN], png_bytes[IMAGE_LEN];
static pthread_once_t images_once = PTHREAD_ONCE_INIT;

static void make_images(void)
{
  static const unsigned char jpeg_head[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10,
                                            'J',  'F',  'I',  'F',  0x00};
  static const unsigned char png_head[] = {0x89, 'P',  'N',  'G',
                                           '\r', '\n', 0x1a, '\n'};
  for (size_t i = 0; i < IMAGE_LEN; i++) {
    jpeg_bytes[i] = (unsigned char)(i * 31 + 7);
    png_bytes[i] = (unsigned char)(i * 17 + 3);
  }
  memcpy(jpeg_bytes, jpeg_head, sizeof jpeg_head);
  memcpy(png_bytes, png_head, sizeof png_head);
  jpeg_bytes[IMAGE_LEN - 2] = 0xff; /* EOI */
  jpeg_bytes[IMAGE_LEN - 1] = 0xd9;
}

const unsigned char *fake_coverart_image(bool png, size_t *len)
{
  pthread_once(&images_once, make_images);
  *len = IMAGE_LEN;
  return png ? png_bytes : jpeg_bytes;
}

static enum fake_caa_mode mode_of(struct fake_coverart *fc)
{
  pthread_mutex_lock(&fc->mu);
  enum fake_caa_mode m = fc->mode;
  pthread_mutex_unlock(&fc->mu);
  return m;
}

static void caa_html(struct fake_reply *rep, int status, const char *title,
                     const char *text)
{
  struct buf b;
  buf_init(&b, 4096);
  buf_printf(&b,
             "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
             "<body><h1>%s</h1><p>%s</p></body></html>\n",
             status, title, title, text);
  fake_reply_set(rep, status, HTML_UTF8, buf_cstr(&b));
  buf_free(&b);
}

static void caa_redirect(struct fake_coverart *fc, struct fake_reply *rep,
                         const char *release, const char *file)
{
  char loc[512];
  enum fake_caa_mode m = mode_of(fc);
  if (m == FAKE_CAA_REDIRECT_FILE)
    snprintf(loc, sizeof loc, "file:///etc/passwd");
  else if (m == FAKE_CAA_PROTOCOL_RELATIVE)
    snprintf(loc, sizeof loc, "%s/download/mbid-%s/%s", fc->archive_url + 5,
             release, file); /* drop "http:" */
  else
    snprintf(loc, sizeof loc, "%s/download/mbid-%s/%s", fc->archive_url,
             release, file);
  fake_reply_set(rep, 307, "text/plain; charset=utf-8", "See: ");
  buf_puts(&rep->body, loc);
  buf_puts(&rep->body, "\n");
  fake_reply_header(rep, "Location", loc);
}

/* Index of the entry whose group (or release) is mbid; -1 if unknown. */
static int caa_find(struct fake_coverart *fc, const char *mbid, bool group)
{
  int found = -1;
  pthread_mutex_lock(&fc->mu);
  for (size_t i = 0; i < fc->n_known && found < 0; i++)
    if (strcmp(group ? fc->known[i].group : fc->known[i].release, mbid) == 0)
      found = (int)i;
  pthread_mutex_unlock(&fc->mu);
  return found;
}

/* Image file name for a type segment ("front", "front-250", "<id>..."). */
static bool caa_image_file(const char *release, long long image_id,
                           const char *seg, char *out, size_t n)
{
  static const char *const sizes[] = {"", "-250", "-500", "-1200"};
  static const char *const thumbs[] = {"", "_thumb250", "_thumb500",
                                       "_thumb1200"};
  char id[32];
  snprintf(id, sizeof id, "%lld", image_id);
  for (size_t i = 0; i < 4; i++) {
    char front[32], by_id[48], by_id_jpg[48];
    snprintf(front, sizeof front, "front%s", sizes[i]);
    snprintf(by_id, sizeof by_id, "%s%s", id, sizes[i]);
    snprintf(by_id_jpg, sizeof by_id_jpg, "%s%s.jpg", id, sizes[i]);
    if (strcmp(seg, front) == 0 || strcmp(seg, by_id) == 0 ||
        strcmp(seg, by_id_jpg) == 0) {
      snprintf(out, n, "mbid-%s-%lld%s.jpg", release, image_id, thumbs[i]);
      return true;
    }
  }
  return false;
}

static void caa_serve(struct fake_coverart *fc, struct fake_reply *rep,
                      const char *mbid, const char *seg, bool group)
{
  int idx = caa_find(fc, mbid, group);
  char file[256];
  if (idx < 0) {
    caa_html(rep, 404, "Not Found",
             group ? "No cover art found for release group"
                   : "No cover art found for release");
    return;
  }
  char release[MBID_LEN + 1];
  pthread_mutex_lock(&fc->mu);
  fake__copy_str(release, sizeof release, fc->known[idx].release);
  pthread_mutex_unlock(&fc->mu);
  long long image_id = CAA_IMAGE_BASE + idx;
  if (!seg)
    caa_redirect(fc, rep, release, "index.json");
  else if (group && strcmp(seg, "back") == 0)
    caa_html(rep, 400, "Bad Request",
             "Requested image type not supported for release groups.");
  else if (caa_image_file(release, image_id, seg, file, sizeof file))
    caa_redirect(fc, rep, release, file);
  else
    caa_html(rep, 404, "Not Found", "No such image");
}

static void caa_handler(const struct fake_req *req, struct fake_reply *rep,
                        void *arg)
{
  struct fake_coverart *fc = arg;
  const char *path = fake_req_path(req);
  bool group = strncmp(path, "/release-group/", 15) == 0;
  const char *rest = path + (group ? 15 : 9); /* after "/release/" */
  char mbid[64], seg[64];
  size_t len = strcspn(rest, "/");
  snprintf(mbid, sizeof mbid, "%.*s", (int)(len < 63 ? len : 63), rest);
  bool has_seg = rest[len] == '/' && rest[len + 1];
  snprintf(seg, sizeof seg, "%s", has_seg ? rest + len + 1 : "");
  if (len != MBID_LEN || !fake_mbid_valid(mbid, false)) {
    caa_html(rep, 400, "Bad Request", "invalid MBID specified");
    return;
  }
  caa_serve(fc, rep, mbid, has_seg ? seg : NULL, group);
}

static void caa_root(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  (void)req;
  (void)arg;
  caa_html(rep, 404, "Not Found", "The requested URL was not found.");
}

/* archive.org stand-in: /download/... 302s to /storage/..., which serves
 * (or, in the loop mode, back to /download/... for ever). */
static void archive_download(const struct fake_req *req,
                             struct fake_reply *rep, void *arg)
{
  char loc[1024];
  bool loop = mode_of(arg) == FAKE_CAA_REDIRECT_LOOP;
  snprintf(loc, sizeof loc, "%s/%s%s", fake_req_base_url(req),
           loop ? "download" : "storage", fake_req_path(req) + 9);
  fake_reply_set(rep, 302, "text/html; charset=UTF-8", "");
  fake_reply_header(rep, "Location", loc);
}

static json_t *caa_index_json(const char *caa_url, const char *release,
                              long long image_id)
{
  char image[256], t250[256], t500[256], t1200[256], rel[128];
  snprintf(image, sizeof image, "%s/release/%s/%lld.jpg", caa_url, release,
           image_id);
  snprintf(t250, sizeof t250, "%s/release/%s/%lld-250.jpg", caa_url, release,
           image_id);
  snprintf(t500, sizeof t500, "%s/release/%s/%lld-500.jpg", caa_url, release,
           image_id);
  snprintf(t1200, sizeof t1200, "%s/release/%s/%lld-1200.jpg", caa_url,
           release, image_id);
  snprintf(rel, sizeof rel, "https://musicbrainz.org/release/%s", release);
  return json_pack("{s:[{s:b, s:b, s:s, s:I, s:b, s:I, s:s,"
                   " s:{s:s, s:s, s:s, s:s, s:s}, s:[s]}], s:s}",
                   "images", "approved", 1, "back", 0, "comment", "", "edit",
                   (json_int_t)83020150, "front", 1, "id",
                   (json_int_t)image_id, "image", image, "thumbnails", "250",
                   t250, "500", t500, "1200", t1200, "large", t500, "small",
                   t250, "types", "Front", "release", rel);
}

static void serve_image(struct fake_reply *rep, enum fake_caa_mode m)
{
  size_t len;
  const unsigned char *img = fake_coverart_image(m == FAKE_CAA_PNG, &len);
  switch (m) {
  case FAKE_CAA_WRONG_TYPE:
    fake_reply_set(rep, 200, HTML_UTF8,
                   "<html><body>not an image</body>"
                   "</html>");
    return;
  case FAKE_CAA_FAKE_JPEG:
    fake_reply_set(rep, 200, "image/jpeg", "<html>not really</html>");
    return;
  case FAKE_CAA_HUGE:
  case FAKE_CAA_HUGE_CHUNKED:
    fake_reply_set(rep, 200, "image/jpeg", NULL);
    buf_append(&rep->body, img, 16);
    rep->stream_len = FAKE_CAA_HUGE_BYTES;
    rep->stream_fill = 0x55;
    rep->stream_chunked = m == FAKE_CAA_HUGE_CHUNKED;
    return;
  default:
    fake_reply_set(rep, 200, m == FAKE_CAA_PNG ? "image/png" : "image/jpeg",
                   NULL);
    buf_append(&rep->body, img, len);
  }
}

static void archive_storage(const struct fake_req *req, struct fake_reply *rep,
                            void *arg)
{
  struct fake_coverart *fc = arg;
  const char *path = fake_req_path(req); /* /storage/mbid-<rel>/<file> */
  const char *mb = strstr(path, "/mbid-");
  char release[MBID_LEN + 1] = "";
  if (mb)
    snprintf(release, sizeof release, "%.36s", mb + 6);
  int idx = caa_find(fc, release, false);
  size_t plen = strlen(path);
  if (idx < 0)
    fake_reply_set(rep, 404, "text/html; charset=UTF-8", "Not found");
  else if (plen > 11 && strcmp(path + plen - 11, "/index.json") == 0)
    fake__reply_json(rep, 200, "application/json",
                     caa_index_json(fake_http_url(fc->http), release,
                                    CAA_IMAGE_BASE + idx));
  else
    serve_image(rep, mode_of(fc));
}

int fake_coverart_add(struct fake_coverart *fc, const char *group_mbid,
                      const char *release_mbid)
{
  if (!fake_mbid_valid(group_mbid, false) ||
      !fake_mbid_valid(release_mbid, false))
    return SS_EINVAL;
  pthread_mutex_lock(&fc->mu);
  int rc = SS_ETOOBIG;
  if (fc->n_known < CAA_MAX_KNOWN) {
    fake__copy_str(fc->known[fc->n_known].group, MBID_LEN + 1, group_mbid);
    fake__copy_str(fc->known[fc->n_known].release, MBID_LEN + 1, release_mbid);
    fc->n_known++;
    rc = SS_OK;
  }
  pthread_mutex_unlock(&fc->mu);
  return rc;
}

void fake_coverart_set_mode(struct fake_coverart *fc, enum fake_caa_mode m)
{
  pthread_mutex_lock(&fc->mu);
  fc->mode = m;
  pthread_mutex_unlock(&fc->mu);
}

static void caa_routes(struct fake_coverart *fc)
{
  static const char *const methods[] = {"GET", "HEAD"};
  for (size_t i = 0; i < 2; i++) {
    fake_http_route(fc->http, methods[i], "/release-group/*", caa_handler, fc);
    fake_http_route(fc->http, methods[i], "/release/*", caa_handler, fc);
    fake_http_route(fc->http, methods[i], "*", caa_root, fc);
    fake_http_route(fc->archive, methods[i], "/download/*", archive_download,
                    fc);
    fake_http_route(fc->archive, methods[i], "/storage/*", archive_storage,
                    fc);
  }
}

int fake_coverart_start(struct fake_coverart **out, int port)
{
  struct fake_coverart *fc = xcalloc(1, sizeof *fc);
  pthread_mutex_init(&fc->mu, NULL);
  int rc = fake_http_start(&fc->http, port);
  if (rc == SS_OK)
    rc = fake_http_start(&fc->archive, 0);
  if (rc != SS_OK) {
    fake_coverart_stop(fc);
    *out = NULL;
    return rc;
  }
  snprintf(fc->archive_url, sizeof fc->archive_url, "http://localhost:%d",
           fake_http_port(fc->archive));
  caa_routes(fc);
  fake_coverart_add(fc, FAKE_CAA_RELEASE_GROUP, FAKE_CAA_RELEASE);
  *out = fc;
  return SS_OK;
}

void fake_coverart_stop(struct fake_coverart *fc)
{
  if (!fc)
    return;
  fake_http_stop(fc->http);
  fake_http_stop(fc->archive);
  pthread_mutex_destroy(&fc->mu);
  free(fc);
}

struct fake_http *fake_coverart_http(struct fake_coverart *fc)
{
  return fc->http;
}

struct fake_http *fake_coverart_archive_http(struct fake_coverart *fc)
{
  return fc->archive;
}

const char *fake_coverart_url(const struct fake_coverart *fc)
{
  return fake_http_url(fc->http);
}
