/*
 * test_coverart.c - the Cover Art Archive client (clients/coverart.c)
 * against the fake with its second "archive" listener:
 *
 *   the redirect chain (307 to another host, 302, image) with the bytes
 *   intact, JPEG and PNG, a protocol-relative Location, 404 = no cover,
 *   upper-case MBIDs sent in lower case, bad input refused before any
 *   request; refused: a 200 MB image (with Content-Length: refused from
 *   the headers; chunked: cut at the cap), a wrong content type, HTML
 *   labelled image/jpeg, a stale type from a redirect, a redirect loop,
 *   a redirect to file://; 503 blocks every caller until Retry-After;
 *   cover.jpg written atomically beneath the album folder: no temp files
 *   left, no replace unless asked, a symlinked folder refused, a cover.jpg
 *   symlink replaced rather than followed, nothing written on failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/backoff.h"
#include "clients/coverart.h"
#include "clients/http_client.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "fake_all.h"
#include "tfs.h"

struct fx {
  struct fake_coverart *fc;
  struct fake_http *caa, *archive;
  struct caa_client *c;
  char dir[64]; /* temp root */
  char album[160];
};

static void set(enum setting_id id, const char *v)
{
  char err[256];
  assert_int_equal(settings_set(id, v, err, sizeof err), SS_OK);
}

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  if (fake_coverart_start(&fx->fc, 0) != SS_OK)
    return -1;
  fx->caa = fake_coverart_http(fx->fc);
  fx->archive = fake_coverart_archive_http(fx->fc);
  set(S_COVERART_URL, fake_coverart_url(fx->fc));
  http_host_blocks_reset();
  backoff_reset_all();
  fx->c = caa_client_new(NULL);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ss-caa-XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->album, sizeof fx->album, "%s/Björk - Homogenic", fx->dir);
  mkdir(fx->album, 0755);
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  caa_client_free(fx->c);
  fake_coverart_stop(fx->fc);
  tfs_rm_tree(fx->dir);
  http_host_blocks_reset();
  backoff_reset_all();
  free(fx);
  return 0;
}

static void expect_image(const struct caa_image *img, bool png)
{
  size_t len;
  const unsigned char *want = fake_coverart_image(png, &len);
  assert_int_equal(img->data.len, len);
  assert_memory_equal(img->data.data, want, len);
  assert_int_equal(img->png, png);
  assert_string_equal(img->ext, png ? "png" : "jpg");
}

static void test_front_chain(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  struct fake_logged e;
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_OK);
  expect_image(&img, false);
  caa_image_free(&img);
  /* One request to the archive service, two to the other host. */
  assert_int_equal(fake_http_count(fx->caa, "GET", "*"), 1);
  assert_true(fake_http_last(fx->caa, "GET", "*", &e));
  assert_string_equal(e.path,
                      "/release-group/" FAKE_CAA_RELEASE_GROUP "/front");
  assert_non_null(strstr(fake_logged_header(&e, "User-Agent"), "soulspotd/"));
  assert_int_equal(fake_http_count(fx->archive, "GET", "/download/*"), 1);
  assert_int_equal(fake_http_count(fx->archive, "GET", "/storage/*"), 1);
  /* A release (upper case in, lower case out) and a thumbnail size. */
  assert_int_equal(caa_front(fx->c, CAA_RELEASE,
                             "76DF3287-6CDA-33EB-8E9A-044B5E15FFDD", 500, &img,
                             &err),
                   SS_OK);
  expect_image(&img, false);
  caa_image_free(&img);
  assert_true(fake_http_last(fx->caa, "GET", "*", &e));
  assert_string_equal(e.path, "/release/" FAKE_CAA_RELEASE "/front-500");
  /* PNG, and a protocol-relative Location. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_PNG);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_OK);
  expect_image(&img, true);
  caa_image_free(&img);
  fake_coverart_set_mode(fx->fc, FAKE_CAA_PROTOCOL_RELATIVE);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_OK);
  expect_image(&img, false);
  caa_image_free(&img);
}

static void test_no_cover_and_bad_input(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP,
                             "11111111-2222-3333-4444-555555555555", 0, &img,
                             &err),
                   SS_ENOTFOUND);
  assert_int_equal(err.kind, CAA_NO_COVER);
  assert_non_null(strstr(err.msg, "no front cover"));
  assert_null(img.data.data);
  size_t before = fake_http_count(fx->caa, NULL, "*");
  assert_int_equal(caa_front(fx->c, CAA_RELEASE, "../../etc/passwd", 0, &img,
                             &err),
                   SS_EINVAL);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE, FAKE_CAA_RELEASE, 300, &img,
                             &err),
                   SS_EINVAL);
  assert_int_equal(err.kind, CAA_REFUSED);
  set(S_COVERART_URL, "");
  assert_int_equal(caa_front(fx->c, CAA_RELEASE, FAKE_CAA_RELEASE, 0, &img,
                             &err),
                   SS_ESTATE);
  assert_int_equal(err.kind, CAA_NOT_CONFIGURED);
  assert_int_equal(fake_http_count(fx->caa, NULL, "*"), before);
}

static void test_huge_images(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  /* 200 MB announced: refused from the headers. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_HUGE);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_ETOOBIG);
  assert_int_equal(err.kind, CAA_TOO_BIG);
  /* The announced size is what refused it (nothing read but headers). */
  assert_non_null(strstr(err.msg, "reply of 209715200 bytes is larger than "
                                  "10485760 bytes"));
  assert_null(img.data.data);
  /* Socket buffers take some; never anything near the 200 MB. */
  assert_true(fake_http_streamed(fx->archive) < 64u * 1024 * 1024);
  /* 200 MB without a length: cut off at the cap. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_HUGE_CHUNKED);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_ETOOBIG);
  assert_int_equal(err.kind, CAA_TOO_BIG);
  assert_non_null(strstr(err.msg, "reply larger than 10485760 bytes"));
  assert_true(fake_http_streamed(fx->archive) < 64u * 1024 * 1024);
  /* A smaller cap of the caller's choosing. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_JPEG);
  struct caa_client_opts o = {.max_bytes = 1000};
  struct caa_client *small = caa_client_new(&o);
  assert_int_equal(caa_front(small, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_ETOOBIG);
  caa_client_free(small);
}

static void test_wrong_types(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  fake_coverart_set_mode(fx->fc, FAKE_CAA_WRONG_TYPE);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EPROTO);
  assert_int_equal(err.kind, CAA_BAD_TYPE);
  assert_non_null(strstr(err.msg, "text/html"));
  fake_coverart_set_mode(fx->fc, FAKE_CAA_FAKE_JPEG);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EPROTO);
  assert_non_null(strstr(err.msg, "not a JPEG image"));
  /* The type of a redirect never stands in for the image's own. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_JPEG);
  char loc[256];
  snprintf(loc, sizeof loc,
           "Location: %s/storage/mbid-" FAKE_CAA_RELEASE "/x.jpg",
           fake_http_url(fx->archive));
  struct fake_script redirect = {.status = 307,
                                 .content_type = "image/jpeg",
                                 .headers = {loc},
                                 .times = 1};
  struct fake_script untyped = {.status = 200,
                                .content_type = "",
                                .body = "\xff\xd8\xff\xe0 JFIF",
                                .times = 1};
  fake_http_script(fx->caa, "GET", "*", &redirect);
  fake_http_script(fx->archive, "GET", "*", &untyped);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EPROTO);
  assert_int_equal(err.kind, CAA_BAD_TYPE);
  assert_non_null(strstr(err.msg, "\"none\""));
}

static void test_bad_redirects(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  fake_coverart_set_mode(fx->fc, FAKE_CAA_REDIRECT_LOOP);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EINVAL);
  assert_int_equal(err.kind, CAA_REFUSED);
  assert_non_null(strstr(err.msg, "more than 5 redirects"));
  assert_true(fake_http_count(fx->archive, "GET", "*") <= 5);
  fake_coverart_set_mode(fx->fc, FAKE_CAA_REDIRECT_FILE);
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EINVAL);
  assert_int_equal(err.kind, CAA_REFUSED);
  assert_non_null(strstr(err.msg, "protocol other than http"));
  assert_null(img.data.data);
}

static void test_503_blocks(void **state)
{
  struct fx *fx = *state;
  struct caa_image img;
  struct caa_err err;
  struct fake_script s = {.status = 503,
                          .content_type = "text/html",
                          .body = "<html>busy</html>",
                          .headers = {"Retry-After: 30"},
                          .times = 1};
  fake_http_script(fx->caa, "GET", "*", &s);
  int64_t before = clock_wall_ms();
  assert_int_equal(caa_front(fx->c, CAA_RELEASE_GROUP, FAKE_CAA_RELEASE_GROUP,
                             0, &img, &err),
                   SS_EBUSY);
  assert_int_equal(err.kind, CAA_RATE_LIMITED);
  assert_true(err.until_ms >= before + 29000);
  assert_true(caa_blocked_until() >= before + 29000);
  /* Another caller during the block: told at once, no request. */
  struct caa_client *other = caa_client_new(NULL);
  assert_int_equal(caa_front(other, CAA_RELEASE, FAKE_CAA_RELEASE, 0, &img,
                             &err),
                   SS_EBUSY);
  assert_non_null(strstr(err.msg, "rate limited until"));
  assert_true(err.until_ms >= before + 29000);
  caa_client_free(other);
  assert_int_equal(fake_http_count(fx->caa, NULL, "*"), 1);
}

/* Names in dir, sorted into one "a|b|" string. */
static void listing(const char *dir, char *out, size_t n)
{
  struct dirent **names;
  int k = scandir(dir, &names, NULL, alphasort);
  out[0] = '\0';
  for (int i = 0; i < k; i++) {
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
      snprintf(out + strlen(out), n - strlen(out), "%s|", names[i]->d_name);
    free(names[i]);
  }
  free(names);
}

static size_t file_bytes(const char *path, char *out, size_t n)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t got = fread(out, 1, n, f);
  fclose(f);
  return got;
}

static void test_save_cover(void **state)
{
  struct fx *fx = *state;
  struct caa_err err;
  char name[32], path[256], list[512], data[8192];
  size_t len;
  const unsigned char *jpeg = fake_coverart_image(false, &len);
  assert_int_equal(caa_save_cover(fx->c, CAA_RELEASE_GROUP,
                                  FAKE_CAA_RELEASE_GROUP, 0, fx->album, false,
                                  name, sizeof name, &err),
                   SS_OK);
  assert_string_equal(name, "cover.jpg");
  listing(fx->album, list, sizeof list);
  assert_string_equal(list, "cover.jpg|"); /* no temporary file left */
  snprintf(path, sizeof path, "%s/cover.jpg", fx->album);
  assert_int_equal(file_bytes(path, data, sizeof data), len);
  assert_memory_equal(data, jpeg, len);
  /* No replace: the existing cover stays untouched. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_PNG);
  assert_int_equal(caa_write_file(fx->album, "cover.jpg", "new", 3, false,
                                  list, sizeof list),
                   SS_ESTATE);
  assert_non_null(strstr(list, "already exists"));
  assert_int_equal(file_bytes(path, data, sizeof data), len);
  /* Replace: the new bytes, still one file. */
  assert_int_equal(caa_write_file(fx->album, "cover.jpg", "new", 3, true, list,
                                  sizeof list),
                   SS_OK);
  assert_int_equal(file_bytes(path, data, sizeof data), 3);
  listing(fx->album, list, sizeof list);
  assert_string_equal(list, "cover.jpg|");
  /* A PNG cover is named for what it is. */
  assert_int_equal(caa_save_cover(fx->c, CAA_RELEASE_GROUP,
                                  FAKE_CAA_RELEASE_GROUP, 0, fx->album, false,
                                  name, sizeof name, &err),
                   SS_OK);
  assert_string_equal(name, "cover.png");
  /* A failed fetch writes nothing. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_WRONG_TYPE);
  char other[200];
  snprintf(other, sizeof other, "%s/Sigur Rós - ( )", fx->dir);
  mkdir(other, 0755);
  assert_int_equal(caa_save_cover(fx->c, CAA_RELEASE_GROUP,
                                  FAKE_CAA_RELEASE_GROUP, 0, other, true, name,
                                  sizeof name, &err),
                   SS_EPROTO);
  listing(other, list, sizeof list);
  assert_string_equal(list, "");
  assert_string_equal(name, "");
}

static void test_save_cover_symlinks(void **state)
{
  struct fx *fx = *state;
  char link[256], target[256], why[200], list[512], data[64];
  (void)state;
  /* The album folder itself a symlink: refused, the target untouched. */
  snprintf(link, sizeof link, "%s/link-album", fx->dir);
  assert_int_equal(symlink(fx->album, link), 0);
  assert_int_equal(caa_write_file(link, "cover.jpg", "x", 1, true, why,
                                  sizeof why),
                   SS_EIO);
  assert_non_null(strstr(why, "symbolic link"));
  listing(fx->album, list, sizeof list);
  assert_string_equal(list, "");
  /* cover.jpg a symlink pointing out of the folder: the link is replaced
   * by a file, the outside file keeps its content. */
  snprintf(target, sizeof target, "%s/outside.txt", fx->dir);
  FILE *f = fopen(target, "w");
  fputs("precious", f);
  fclose(f);
  char cover[256];
  snprintf(cover, sizeof cover, "%s/cover.jpg", fx->album);
  assert_int_equal(symlink(target, cover), 0);
  assert_int_equal(caa_write_file(fx->album, "cover.jpg", "image", 5, true,
                                  why, sizeof why),
                   SS_OK);
  struct stat st;
  assert_int_equal(lstat(cover, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(file_bytes(target, data, sizeof data), 8);
  assert_memory_equal(data, "precious", 8);
  /* Names that would leave the folder. */
  assert_int_equal(caa_write_file(fx->album, "../cover.jpg", "x", 1, true, why,
                                  sizeof why),
                   SS_EINVAL);
  assert_int_equal(caa_write_file(fx->album, "..", "x", 1, true, why,
                                  sizeof why),
                   SS_EINVAL);
  assert_int_equal(caa_write_file(fx->album, "", "x", 1, true, why,
                                  sizeof why),
                   SS_EINVAL);
  /* A folder that does not exist. */
  snprintf(link, sizeof link, "%s/missing", fx->dir);
  assert_int_equal(caa_write_file(link, "cover.jpg", "x", 1, true, why,
                                  sizeof why),
                   SS_EIO);
  assert_non_null(strstr(why, "album folder"));
}

static void test_front_to_fd(void **state)
{
  struct fx *fx = *state;
  struct caa_err err;
  char path[256], data[8192];
  size_t len;
  const unsigned char *jpeg = fake_coverart_image(false, &len);
  snprintf(path, sizeof path, "%s/out.jpg", fx->dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(caa_front_to_fd(fx->c, CAA_RELEASE_GROUP,
                                   FAKE_CAA_RELEASE_GROUP, 0, fd, &err),
                   SS_OK);
  /* A refused image adds nothing. */
  fake_coverart_set_mode(fx->fc, FAKE_CAA_HUGE_CHUNKED);
  assert_int_equal(caa_front_to_fd(fx->c, CAA_RELEASE_GROUP,
                                   FAKE_CAA_RELEASE_GROUP, 0, fd, &err),
                   SS_ETOOBIG);
  close(fd);
  assert_int_equal(file_bytes(path, data, sizeof data), len);
  assert_memory_equal(data, jpeg, len);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  settings_init();
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    C(test_front_chain), C(test_no_cover_and_bad_input), C(test_huge_images),
    C(test_wrong_types), C(test_bad_redirects),          C(test_503_blocks),
    C(test_save_cover),  C(test_save_cover_symlinks),    C(test_front_to_fd),
  };
  int rc = cmocka_run_group_tests_name("unit/coverart", tests, NULL, NULL);
  settings_cleanup();
  curl_global_cleanup();
  return rc;
}
