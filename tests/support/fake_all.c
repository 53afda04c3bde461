/*
 * fake_all.c - fakes of Spotify, slskd, MusicBrainz and the Cover Art
 * Archive on top of fake_http, following docs/INTEGRATIONS.md (every
 * section, quirks included).
 *
 * Each fake keeps its mutable state (keys, tokens, modes) under its own
 * mutex; handlers read it on the fake's connection threads.  JSON replies
 * that carry variable strings are built with jansson, so nothing a client
 * sends is echoed unescaped.  Error bodies follow each service's own style:
 * Spotify Web API nested, Accounts flat, slskd empty on 401/404,
 * MusicBrainz JSON, Cover Art Archive HTML.
 *
 * Ownership: each *_start allocates the fake and its fake_http servers;
 * *_stop stops the servers first (no handler runs afterwards) and frees.
 */
#include "fake_all.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"

/* ======================= MusicBrainz ======================= */

struct fake_musicbrainz {
  struct fake_http *http;
  pthread_mutex_t mu;
  char url[FAKE_URL_MAX + 8];
  enum fake_mb_mode mode;
};

#define MB_PREFIX "/ws/2/"
#define MB_ARTIST MB_PREFIX "artist/"
#define MB_HELP "For usage, please see: https://musicbrainz.org/development/mmd"

bool fake_mbid_valid(const char *s, bool allow_upper)
{
  static const int groups[] = {8, 4, 4, 4, 12};
  for (size_t g = 0; g < 5; g++) {
    for (int i = 0; i < groups[g]; i++, s++) {
      char c = *s;
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                (allow_upper && c >= 'A' && c <= 'F');
      if (!ok)
        return false;
    }
    if (g < 4 && *s++ != '-')
      return false;
  }
  return *s == '\0';
}

/* "Name/Version ( contact )": no spaces in name/version, contact set. */
bool fake_musicbrainz_ua_ok(const char *ua)
{
  if (!ua)
    return false;
  size_t name = strcspn(ua, "/ ");
  if (name == 0 || ua[name] != '/')
    return false;
  const char *ver = ua + name + 1;
  size_t vlen = strcspn(ver, " ");
  if (vlen == 0 || strncmp(ver + vlen, " ( ", 3) != 0)
    return false;
  const char *contact = ver + vlen + 3;
  size_t len = strlen(contact);
  return len > 2 && strcmp(contact + len - 2, " )") == 0 &&
         strspn(contact, " ") < len - 2;
}

static void mb_error(struct fake_reply *rep, int status, const char *msg)
{
  fake__reply_json(rep, status, JSON_UTF8,
             json_pack("{s:s, s:s}", "error", msg, "help", MB_HELP));
}

static bool mb_wants_json(const struct fake_req *req)
{
  const char *fmt = fake_req_arg(req, "fmt");
  const char *accept = fake_req_header(req, "Accept");
  if (fmt)
    return strcmp(fmt, "json") == 0;
  return accept && strstr(accept, "application/json");
}

static void mb_various_artists(const struct fake_req *req,
                               struct fake_reply *rep)
{
  char reset[32];
  snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 1);
  fake_reply_header(rep, "x-ratelimit-limit", "1200");
  fake_reply_header(rep, "x-ratelimit-remaining", "1199");
  fake_reply_header(rep, "x-ratelimit-reset", reset);
  if (!mb_wants_json(req)) {
    fake_reply_set(
        rep, 200, "application/xml; charset=utf-8",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><metadata "
        "xmlns=\"http://musicbrainz.org/ns/mmd-2.0#\"><artist id=\""
        FAKE_MB_VARIOUS_ARTISTS
        "\" type=\"Other\"><name>Various Artists</name><sort-name>Various "
        "Artists</sort-name></artist></metadata>");
    return;
  }
  fake__reply_json(
      rep, 200, JSON_UTF8,
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{s:n, s:n, s:b},"
                " s:[], s:[], s:n, s:n, s:n, s:n, s:n}",
                "id", FAKE_MB_VARIOUS_ARTISTS, "name", "Various Artists",
                "sort-name", "Various Artists", "type", "Other", "type-id",
                "ac897045-5043-3294-97a0-c8ff05f5e5a8", "disambiguation",
                "add compilations to this artist", "country", "life-span",
                "begin", "end", "ended", 0, "isnis", "ipis", "gender",
                "gender-id", "area", "begin-area", "end-area"));
}

/* 503 of the chosen kind; false when the fake is not throttling. */
static bool mb_throttle(struct fake_musicbrainz *fm, struct fake_reply *rep)
{
  pthread_mutex_lock(&fm->mu);
  enum fake_mb_mode mode = fm->mode;
  pthread_mutex_unlock(&fm->mu);
  if (mode == FAKE_MB_RATE_LIMITED) {
    mb_error(rep, 503,
             "Your requests are exceeding the allowable rate limit. Please "
             "see http://wiki.musicbrainz.org/XMLWebService for more "
             "information.");
    fake_reply_header(rep, "x-ratelimit-zone", "ws ip=127.0.0.1");
    fake_reply_header(rep, "x-ratelimit-remaining", "0");
    fake_reply_header(rep, "retry-after", "1");
    return true;
  }
  if (mode == FAKE_MB_BUSY) {
    mb_error(rep, 503,
             "The MusicBrainz web server is currently busy. Please try "
             "again later.");
    fake_reply_header(rep, "x-ratelimit-zone", "global");
    fake_reply_header(rep, "retry-after", "0");
    return true;
  }
  return false;
}

static void mb_handler(const struct fake_req *req, struct fake_reply *rep,
                       void *arg)
{
  struct fake_musicbrainz *fm = arg;
  const char *ua = fake_req_header(req, "User-Agent");
  const char *path = fake_req_path(req);
  fake_reply_header(rep, "Server", "openresty");
  if (!ua || !*ua || !fake_musicbrainz_ua_ok(ua)) {
    fake__reply_json(rep, 403, JSON_UTF8,
               json_pack("{s:s}", "error",
                         "Your requests are being throttled by MusicBrainz "
                         "because the application you are using has not "
                         "identified itself. Please update your "
                         "application, and see "
                         "http://musicbrainz.org/doc/XML_Web_Service/"
                         "Rate_Limiting for more information."));
    fake_reply_header(rep, "x-ratelimit-who",
                      ua && *ua ? "ua-generic" : "ua-missing");
    return;
  }
  if (mb_throttle(fm, rep))
    return;
  if (strncmp(path, MB_ARTIST, strlen(MB_ARTIST)) != 0) {
    mb_error(rep, 404, "Not Found");
    return;
  }
  const char *mbid = path + strlen(MB_ARTIST);
  if (!fake_mbid_valid(mbid, true) ||
      strcmp(mbid, "00000000-0000-0000-0000-000000000000") == 0)
    mb_error(rep, 400, "Invalid mbid.");
  else if (strcasecmp(mbid, FAKE_MB_VARIOUS_ARTISTS) == 0)
    mb_various_artists(req, rep);
  else
    mb_error(rep, 404, "Not Found");
}

int fake_musicbrainz_start(struct fake_musicbrainz **out, int port)
{
  struct fake_musicbrainz *fm = xcalloc(1, sizeof *fm);
  pthread_mutex_init(&fm->mu, NULL);
  int rc = fake_http_start(&fm->http, port);
  if (rc != SS_OK) {
    fake_musicbrainz_stop(fm);
    *out = NULL;
    return rc;
  }
  snprintf(fm->url, sizeof fm->url, "%s/ws/2", fake_http_url(fm->http));
  fake_http_route(fm->http, "GET", MB_PREFIX "*", mb_handler, fm);
  fake_http_route(fm->http, "HEAD", MB_PREFIX "*", mb_handler, fm);
  *out = fm;
  return SS_OK;
}

void fake_musicbrainz_stop(struct fake_musicbrainz *fm)
{
  if (!fm)
    return;
  fake_http_stop(fm->http);
  pthread_mutex_destroy(&fm->mu);
  free(fm);
}

struct fake_http *fake_musicbrainz_http(struct fake_musicbrainz *fm)
{
  return fm->http;
}

const char *fake_musicbrainz_url(const struct fake_musicbrainz *fm)
{
  return fm->url;
}

void fake_musicbrainz_set_mode(struct fake_musicbrainz *fm,
                               enum fake_mb_mode mode)
{
  pthread_mutex_lock(&fm->mu);
  fm->mode = mode;
  pthread_mutex_unlock(&fm->mu);
}

/* ======================= Cover Art Archive ======================= */

#define CAA_MAX_KNOWN 16
#define CAA_IMAGE_BASE 30501372565LL
#define MBID_LEN 36

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
};

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

/* archive.org stand-in: /download/... 302s to /storage/..., which serves. */
static void archive_download(const struct fake_req *req,
                             struct fake_reply *rep, void *arg)
{
  char loc[1024];
  (void)arg;
  snprintf(loc, sizeof loc, "%s/storage%s", fake_req_base_url(req),
           fake_req_path(req) + 9);
  fake_reply_set(rep, 302, "text/html; charset=UTF-8", "");
  fake_reply_header(rep, "Location", loc);
}

static json_t *caa_index_json(const char *caa_url, const char *release,
                              long long image_id)
{
  char image[256], t250[256], t500[256], t1200[256], rel[128];
  snprintf(image, sizeof image, "%s/release/%s/%lld.jpg", caa_url, release,
           image_id);
  snprintf(t250, sizeof t250, "%s/release/%s/%lld-250.jpg", caa_url,
           release, image_id);
  snprintf(t500, sizeof t500, "%s/release/%s/%lld-500.jpg", caa_url,
           release, image_id);
  snprintf(t1200, sizeof t1200, "%s/release/%s/%lld-1200.jpg", caa_url,
           release, image_id);
  snprintf(rel, sizeof rel, "https://musicbrainz.org/release/%s", release);
  return json_pack(
      "{s:[{s:b, s:b, s:s, s:I, s:b, s:I, s:s,"
      " s:{s:s, s:s, s:s, s:s, s:s}, s:[s]}], s:s}",
      "images", "approved", 1, "back", 0, "comment", "", "edit",
      (json_int_t)83020150, "front", 1, "id", (json_int_t)image_id, "image",
      image, "thumbnails", "250", t250, "500", t500, "1200", t1200, "large",
      t500, "small", t250, "types", "Front", "release", rel);
}

static void archive_storage(const struct fake_req *req,
                            struct fake_reply *rep, void *arg)
{
  struct fake_coverart *fc = arg;
  const char *path = fake_req_path(req); /* /storage/mbid-<rel>/<file> */
  const char *mb = strstr(path, "/mbid-");
  char release[MBID_LEN + 1] = "";
  if (mb)
    snprintf(release, sizeof release, "%.36s", mb + 6);
  int idx = caa_find(fc, release, false);
  size_t plen = strlen(path);
  if (idx < 0) {
    fake_reply_set(rep, 404, "text/html; charset=UTF-8", "Not found");
  } else if (plen > 11 && strcmp(path + plen - 11, "/index.json") == 0) {
    fake__reply_json(rep, 200, "application/json",
               caa_index_json(fake_http_url(fc->http), release,
                              CAA_IMAGE_BASE + idx));
  } else {
    static const char jpeg[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00";
    fake_reply_set(rep, 200, "image/jpeg", NULL);
    buf_append(&rep->body, jpeg, sizeof jpeg - 1);
  }
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

static void caa_routes(struct fake_coverart *fc)
{
  static const char *const methods[] = {"GET", "HEAD"};
  for (size_t i = 0; i < 2; i++) {
    fake_http_route(fc->http, methods[i], "/release-group/*", caa_handler,
                    fc);
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

/* ======================= all four ======================= */

int fake_all_start(struct fake_all *fa, const char *slskd_key)
{
  memset(fa, 0, sizeof *fa);
  int rc = fake_spotify_start(&fa->spotify, 0, NULL);
  if (rc == SS_OK)
    rc = fake_slskd_start(&fa->slskd, 0, slskd_key);
  if (rc == SS_OK)
    rc = fake_musicbrainz_start(&fa->musicbrainz, 0);
  if (rc == SS_OK)
    rc = fake_coverart_start(&fa->coverart, 0);
  if (rc != SS_OK)
    fake_all_stop(fa);
  return rc;
}

void fake_all_stop(struct fake_all *fa)
{
  fake_spotify_stop(fa->spotify);
  fake_slskd_stop(fa->slskd);
  fake_musicbrainz_stop(fa->musicbrainz);
  fake_coverart_stop(fa->coverart);
  memset(fa, 0, sizeof *fa);
}

void fake_all_ini(const struct fake_all *fa, const char *slskd_key,
                  struct buf *out)
{
  buf_printf(out, "[spotify]\naccounts_url = %s\napi_url = %s\n",
             fake_spotify_accounts_url(fa->spotify),
             fake_spotify_api_url(fa->spotify));
  buf_printf(out, "[musicbrainz]\nurl = %s\n",
             fake_musicbrainz_url(fa->musicbrainz));
  buf_printf(out, "[coverart]\nurl = %s\n",
             fake_coverart_url(fa->coverart));
  if (slskd_key)
    buf_printf(out, "[slskd]\nurl = %s\napi_key = %s\n",
               fake_slskd_url(fa->slskd), slskd_key);
}
