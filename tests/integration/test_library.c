/*
 * test_library.c - the library workers against a real soulspotd: a temp
 * library of ffmpeg-made files, the Duplicate Detector enabled through
 * PATCH /api/settings, its finding reviewed over the JSON API (resolve ->
 * the copy is in the quarantine; a rescan counts nothing new; undo -> it
 * is back; dismiss -> never reported again), the review page, and Cleanup
 * in dry run and for real (files_deleted / bytes_freed, a symlink pointing
 * outside survives), counters surviving a restart, and a missing folder
 * reported as an error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "audio_fixtures.h"
#include "core/err.h"
#include "itest.h"

#define WAIT_MS 15000
#define OLD (time(NULL) - 30 * 86400)

struct lib_fx {
  struct it_fixture *f;
  char dir[64];
  char lib[128], q[128], dl[128], tmp[128], outside[128];
};

static struct lib_fx lx;

static const char *at(const char *base, const char *rel)
{
  static char path[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(path[k], sizeof path[k], "%s/%s", base, rel);
  for (char *p = path[k] + strlen(base) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path[k], 0755);
      *p = '/';
    }
  return path[k];
}

static void old_file(const char *base, const char *rel, int size)
{
  const char *p = at(base, rel);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  for (int i = 0; i < size; i++)
    fputc('z', f);
  fclose(f);
  struct timespec t[2] = {{OLD, 0}, {OLD, 0}};
  assert_int_equal(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW), 0);
}

static int setup(void **state)
{
  if (it_setup(state))
    return -1;
  memset(&lx, 0, sizeof lx);
  lx.f = *state;
  snprintf(lx.dir, sizeof lx.dir, "/tmp/test_library.XXXXXX");
  if (!mkdtemp(lx.dir) || !af_available())
    return -1;
  snprintf(lx.lib, sizeof lx.lib, "%s/music", lx.dir);
  snprintf(lx.q, sizeof lx.q, "%s/quarantine", lx.dir);
  snprintf(lx.dl, sizeof lx.dl, "%s/slskd", lx.dir);
  snprintf(lx.tmp, sizeof lx.tmp, "%s/tmp", lx.dir);
  snprintf(lx.outside, sizeof lx.outside, "%s/outside", lx.dir);
  int rc = 0;
  rc |= mkdir(lx.lib, 0755) | mkdir(lx.dl, 0755) | mkdir(lx.tmp, 0755) |
        mkdir(lx.outside, 0755);
  struct af_spec song = {.artist = "The Artist",
                         .title = "Song",
                         .album = "First",
                         .tune = 1};
  rc |= af_make(at(lx.lib, "The Artist/First/01 Song.flac"), &song);
  song.title = "Song (Remastered 2011)";
  song.album = "Best Of";
  song.args = "-b:a 192k";
  rc |= af_make(at(lx.lib, "The Artist/Best Of/07 Song.mp3"), &song);
  struct af_spec other = {.artist = "Someone", .title = "Else", .tune = 4};
  rc |= af_make(at(lx.lib, "Someone/Else.ogg"), &other);
  return rc ? -1 : 0;
}

static int teardown(void **state)
{
  int rc = it_teardown(state);
  tfs_rm_tree(lx.dir);
  return rc;
}

static int start(const char *extra)
{
  char ini[2048];
  snprintf(ini, sizeof ini,
           "[library]\npath = %s\nquarantine_path = %s\n"
           "[download]\nslskd_download_path = %s\ntemp_path = %s\n%s",
           lx.lib, lx.q, lx.dl, lx.tmp, extra ? extra : "");
  return daemon_start(&lx.f->d, ini, NULL);
}

static json_t *details_of(const char *worker)
{
  json_t *doc = it_get_json(it_url(lx.f, "/api/workers/status"), NULL);
  assert_non_null(doc);
  json_t *d = json_incref(json_object_get(it_worker(doc, worker), "details"));
  json_decref(doc);
  return d;
}

struct want_int {
  const char *worker, *key;
  long long value;
};

static bool detail_is(json_t *doc, void *arg)
{
  const struct want_int *w = arg;
  json_t *v = json_object_get(json_object_get(it_worker(doc, w->worker),
                                              "details"),
                              w->key);
  return json_is_integer(v) && json_integer_value(v) == w->value;
}

static bool wait_detail(const char *worker, const char *key, long long v)
{
  struct want_int w = {worker, key, v};
  bool ok = it_wait_json(it_url(lx.f, "/api/workers/status"), detail_is, &w,
                         WAIT_MS, NULL);
  if (!ok)
    fprintf(stderr, "error: %s.%s never became %lld\n", worker, key, v);
  return ok;
}

static size_t history_len(const char *unit)
{
  json_t *doc = it_get_json(it_url(lx.f, "/api/workers"), NULL);
  json_t *h = json_object_get(it_unit(doc, unit), "history");
  size_t n = json_is_array(h) ? json_array_size(h) : 0;
  json_decref(doc);
  return n;
}

struct hist {
  const char *unit;
  size_t n;
};

static bool history_reaches(json_t *doc, void *arg)
{
  const struct hist *h = arg;
  json_t *u = it_unit(doc, h->unit);
  json_t *arr = json_object_get(u, "history");
  const char *st = json_string_value(json_object_get(u, "state"));
  return json_is_array(arr) && json_array_size(arr) >= h->n && st &&
         strcmp(st, "active") != 0;
}

/* Runs unit now and waits until that run is recorded. */
static void run_once(const char *unit)
{
  struct hist idle = {unit, 0}; /* not inside a run any more */
  assert_true(it_wait_json(it_url(lx.f, "/api/workers"), history_reaches,
                           &idle, WAIT_MS, NULL));
  size_t before = history_len(unit);
  char path[128];
  snprintf(path, sizeof path, "/api/workers/%s/run", unit);
  assert_int_equal(hc_request("POST", it_url(lx.f, path), NULL, NULL,
                              &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 202);
  struct hist h = {unit, before + 1};
  assert_true(it_wait_json(it_url(lx.f, "/api/workers"), history_reaches, &h,
                           WAIT_MS, NULL));
}

static json_t *post_json(const char *path, const char *body, long want)
{
  static const char *const h[] = {"Content-Type: application/json", NULL};
  assert_int_equal(hc_request("POST", it_url(lx.f, path), h, body, &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, want);
  json_t *doc = it_parse(&lx.f->r);
  assert_non_null(doc);
  return doc;
}

static json_t *open_group(void)
{
  json_t *doc = it_get_json(it_url(lx.f, "/api/library/duplicates"), NULL);
  assert_non_null(doc);
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_t *g = json_incref(json_array_get(json_object_get(doc, "groups"), 0));
  json_decref(doc);
  return g;
}

static void enable_detector(void)
{
  assert_int_equal(it_patch_settings(lx.f, "{\"automation.duplicate_"
                                           "detection_enabled\": true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 200);
}

static void test_duplicates_review_cycle(void **state)
{
  (void)state;
  assert_int_equal(start(NULL), SS_OK);
  enable_detector();
  assert_true(wait_detail("duplicate_detector", "duplicates_found", 1));
  json_t *d = details_of("duplicate_detector");
  IT_ASSERT_JSON_INT(d, "tracks_scanned", 3);
  IT_ASSERT_JSON_INT(d, "groups_open", 1);
  IT_ASSERT_JSON_STR(d, "detection_method", "metadata-hash");
  IT_ASSERT_JSON_STR(d, "last_scan", "gerade eben");
  json_decref(d);

  json_t *g = open_group();
  long long gid = json_integer_value(json_object_get(g, "id"));
  IT_ASSERT_JSON_STR(g, "method", "metadata-hash");
  IT_ASSERT_JSON_INT(g, "member_count", 2);
  json_t *members = json_object_get(g, "members");
  json_t *best = json_array_get(members, 0); /* keep-best order */
  IT_ASSERT_JSON_BOOL(best, "suggested", true);
  IT_ASSERT_JSON_BOOL(best, "lossless", true);
  assert_non_null(
    strstr(json_string_value(json_object_get(best, "path")), "01 Song.flac"));
  json_decref(g);

  /* the review page lists it, with the Library link in the sidebar */
  assert_int_equal(hc_get(it_url(lx.f, "/library/duplicates"), &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 200);
  const char *html = buf_cstr(&lx.f->r.body);
  assert_non_null(strstr(html, "The Artist \xe2\x80\x93 Song"));
  assert_non_null(strstr(html, "href=\"/library/duplicates\" "
                               "aria-current=\"page\""));
  assert_non_null(strstr(html, "Best Of/07 Song.mp3"));

  /* resolve: the mp3 goes to the quarantine, relative path kept */
  char path[128];
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/resolve", gid);
  json_t *res = post_json(path, "{}", 200);
  IT_ASSERT_JSON_INT(res, "moved", 1);
  IT_ASSERT_JSON_STR(json_object_get(res, "group"), "status", "resolved");
  json_decref(res);
  const char *mp3 = at(lx.lib, "The Artist/Best Of/07 Song.mp3");
  const char *qmp3 = at(lx.q, "The Artist/Best Of/07 Song.mp3");
  assert_false(tfs_exists(mp3));
  assert_true(tfs_exists(qmp3));
  assert_true(tfs_exists(at(lx.lib, "The Artist/First/01 Song.flac")));

  /* a rescan counts nothing new */
  run_once("duplicate_detector");
  d = details_of("duplicate_detector");
  IT_ASSERT_JSON_INT(d, "duplicates_found", 1);
  IT_ASSERT_JSON_INT(d, "tracks_scanned", 5); /* 3 + 2 */
  IT_ASSERT_JSON_INT(d, "groups_open", 0);
  json_decref(d);

  /* undo: back where it was, open again */
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/undo", gid);
  res = post_json(path, NULL, 200);
  IT_ASSERT_JSON_INT(res, "moved", 1);
  IT_ASSERT_JSON_STR(json_object_get(res, "group"), "status", "open");
  json_decref(res);
  assert_true(tfs_exists(mp3));
  assert_false(tfs_exists(qmp3));
  res = post_json(path, NULL, 409); /* nothing left to undo */
  assert_non_null(json_object_get(res, "error"));
  json_decref(res);

  /* dismiss: never reported again, not even after a rescan */
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/dismiss", gid);
  json_decref(post_json(path, NULL, 200));
  run_once("duplicate_detector");
  d = details_of("duplicate_detector");
  IT_ASSERT_JSON_INT(d, "duplicates_found", 1);
  IT_ASSERT_JSON_INT(d, "groups_open", 0);
  json_decref(d);
  json_t *list = it_get_json(it_url(lx.f, "/api/library/duplicates?status="
                                          "dismissed"),
                             NULL);
  IT_ASSERT_JSON_INT(list, "total", 1);
  json_decref(list);

  /* bad requests */
  json_decref(post_json("/api/library/duplicates/999999/resolve", NULL, 404));
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/keep", gid);
  json_decref(post_json(path, "{\"keep\": \"x\"}", 400));
  assert_int_equal(hc_get(it_url(lx.f, "/api/library/duplicates/abc"),
                          &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 404);

  /* counters survive a restart */
  assert_int_equal(daemon_restart(&lx.f->d), SS_OK);
  d = details_of("duplicate_detector");
  IT_ASSERT_JSON_INT(d, "duplicates_found", 1);
  IT_ASSERT_JSON_INT(d, "tracks_scanned", 8);
  json_decref(d);
}

/* "<b>&\"'" escaped as html_escape does. */
static void html_escaped(const char *s, char *out, size_t n)
{
  size_t k = 0;
  for (; *s && k + 7 < n; s++) {
    const char *rep = *s == '&'    ? "&amp;"
                      : *s == '<'  ? "&lt;"
                      : *s == '>'  ? "&gt;"
                      : *s == '"'  ? "&quot;"
                      : *s == '\'' ? "&#39;"
                                   : NULL;
    if (rep)
      k += (size_t)snprintf(out + k, n - k, "%s", rep);
    else
      out[k++] = *s;
  }
  out[k] = '\0';
}

/* A file the scanner cannot read: its plain reason reaches the JSON API
 * and the library's unreadable page, escaped, and the unit's details
 * count it (issue 10). */
static void test_unreadable_reason_shown(void **state)
{
  (void)state;
  static const char name[] = "Sigur Rós - <b>&\"'.flac";
  char rel[128];
  snprintf(rel, sizeof rel, "Sigur Rós/%s", name);
  assert_int_equal(af_make_garbage(at(lx.lib, rel), 4096), 0);
  assert_int_equal(start(NULL), SS_OK);
  enable_detector();
  assert_true(wait_detail("duplicate_detector", "unreadable_files", 1));
  assert_true(wait_detail("duplicate_detector", "duplicates_found", 1));

  json_t *doc = it_get_json(it_url(lx.f, "/api/library/unreadable"), NULL);
  assert_non_null(doc);
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_t *t = json_array_get(json_object_get(doc, "tracks"), 0);
  assert_non_null(t);
  const char *path = json_string_value(json_object_get(t, "path"));
  assert_non_null(path);
  assert_non_null(strstr(path, rel)); /* the name as it is on disk */
  IT_ASSERT_JSON_BOOL(t, "unreadable", true);
  const char *reason = json_string_value(
    json_object_get(t, "unreadable_reason"));
  assert_non_null(reason);
  assert_true(reason[0] != '\0');
  char reason_html[512];
  html_escaped(reason, reason_html, sizeof reason_html);
  json_decref(doc);

  /* the library's count says it too */
  doc = it_get_json(it_url(lx.f, "/api/library/duplicates"), NULL);
  assert_non_null(doc);
  IT_ASSERT_JSON_INT(json_object_get(doc, "library"), "unreadable", 1);
  json_decref(doc);

  assert_int_equal(hc_get(it_url(lx.f, "/library/unreadable"), &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 200);
  const char *html = buf_cstr(&lx.f->r.body);
  char name_html[256];
  html_escaped(rel, name_html, sizeof name_html);
  assert_non_null(strstr(html, name_html));
  assert_non_null(strstr(html, reason_html));
  assert_null(strstr(html, "<b>&")); /* never raw */

  /* the duplicates page links to it */
  assert_int_equal(hc_get(it_url(lx.f, "/library/duplicates"), &lx.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&lx.f->r, 200);
  assert_non_null(strstr(buf_cstr(&lx.f->r.body),
                         "href=\"/library/unreadable\">1 files could not be "
                         "read</a>"));
}

static void test_cleanup_dry_run_then_real(void **state)
{
  (void)state;
  old_file(lx.dl, "Album/01.flac.part", 1000);
  old_file(lx.dl, "incomplete/user/02.mp3", 500);
  old_file(lx.dl, "Album/03.flac", 7000); /* finished: stays */
  old_file(lx.tmp, "scratch.bin", 250);
  old_file(lx.outside, "precious.part", 4000);
  assert_int_equal(symlink(at(lx.outside, "precious.part"),
                           at(lx.dl, "evil.part")),
                   0);
  assert_int_equal(symlink(lx.outside, at(lx.tmp, "evil-dir")), 0);
  assert_int_equal(start("[automation]\ncleanup_dry_run = true\n"), SS_OK);
  assert_int_equal(it_patch_settings(lx.f, "{\"automation.cleanup_enabled\":"
                                           " true}"),
                   SS_OK);
  assert_true(wait_detail("cleanup", "dry_run_would_free_files", 3));
  json_t *d = details_of("cleanup");
  IT_ASSERT_JSON_BOOL(d, "dry_run", true);
  IT_ASSERT_JSON_INT(d, "dry_run_would_free_bytes", 1750);
  IT_ASSERT_JSON_INT(d, "files_deleted", 0);
  IT_ASSERT_JSON_INT(d, "bytes_freed", 0);
  json_decref(d);
  assert_true(tfs_exists(at(lx.dl, "Album/01.flac.part"))); /* untouched */
  assert_true(tfs_exists(at(lx.tmp, "scratch.bin")));

  assert_int_equal(it_patch_settings(lx.f, "{\"automation.cleanup_dry_run\":"
                                           " false}"),
                   SS_OK);
  run_once("cleanup");
  d = details_of("cleanup");
  IT_ASSERT_JSON_INT(d, "files_deleted", 3);
  IT_ASSERT_JSON_INT(d, "bytes_freed", 1750);
  IT_ASSERT_JSON_STR(d, "last_run", "gerade eben");
  assert_true(json_is_null(json_object_get(d, "last_error")));
  json_decref(d);
  assert_false(tfs_exists(at(lx.dl, "Album/01.flac.part")));
  assert_false(tfs_exists(at(lx.dl, "incomplete")));
  assert_false(tfs_exists(at(lx.tmp, "scratch.bin")));
  assert_true(tfs_exists(at(lx.dl, "Album/03.flac")));
  assert_true(tfs_exists(at(lx.dl, "evil.part")));
  assert_true(tfs_exists(at(lx.outside, "precious.part")));
  assert_true(tfs_exists(at(lx.tmp, "evil-dir")));
  assert_true(tfs_exists(lx.dl) && tfs_exists(lx.tmp));
  assert_int_equal(daemon_restart(&lx.f->d), SS_OK);
  d = details_of("cleanup");
  IT_ASSERT_JSON_INT(d, "files_deleted", 3);
  IT_ASSERT_JSON_INT(d, "bytes_freed", 1750);
  json_decref(d);
}

static bool is_error(json_t *doc, void *arg)
{
  const char *worker = arg;
  const char *st = json_string_value(
    json_object_get(it_worker(doc, worker), "status"));
  return st && !strcmp(st, "error");
}

static void test_missing_folders_are_errors(void **state)
{
  (void)state;
  char ini[1024];
  snprintf(ini, sizeof ini,
           "[library]\npath = %s/nope\n[download]\nslskd_download_path = "
           "%s/gone\n[automation]\ncleanup_enabled = true\n"
           "duplicate_detection_enabled = true\n",
           lx.dir, lx.dir);
  assert_int_equal(daemon_start(&lx.f->d, ini, NULL), SS_OK);
  assert_true(it_wait_json(it_url(lx.f, "/api/workers/status"), is_error,
                           "cleanup", WAIT_MS, NULL));
  assert_true(it_wait_json(it_url(lx.f, "/api/workers/status"), is_error,
                           "duplicate_detector", WAIT_MS, NULL));
  json_t *d = details_of("cleanup");
  const char *e = json_string_value(json_object_get(d, "last_error"));
  assert_non_null(e);
  assert_non_null(strstr(e, "/gone"));
  assert_non_null(strstr(e, "does not exist"));
  IT_ASSERT_JSON_STR(d, "last_error_reason", "disk");
  json_decref(d);
  d = details_of("duplicate_detector");
  e = json_string_value(json_object_get(d, "last_error"));
  assert_non_null(e);
  assert_non_null(strstr(e, "/nope"));
  IT_ASSERT_JSON_STR(d, "last_error_reason", "disk");
  json_decref(d);
}

/* ---- kill -9 during resolve and undo ---- */

#define BJ_NFC "Bj\xc3\xb6rk"
#define BJ_NFD "Bjo\xcc\x88rk"
#define JOGA_NFC "J\xc3\xb3ga"
#define JOGA_NFD "Jo\xcc\x81ga"

struct k9 {
  char lib[160], q[160];
  long long gid;
};

static struct k9 k9;

static const char *k9_ini(void)
{
  static char ini[1024];
  snprintf(ini, sizeof ini,
           "[library]\npath = %s\nquarantine_path = %s\n"
           "[automation]\nduplicate_detection_enabled = true\n",
           k9.lib, k9.q);
  return ini;
}

/* Every member is in the library, or recorded in the quarantine and
 * there; nothing else lies in the quarantine; no temporary copy is left.
 * Returns how many members are in the quarantine. */
static size_t k9_accounted(void)
{
  char path[64];
  snprintf(path, sizeof path, "/api/library/duplicates/%lld", k9.gid);
  json_t *g = it_get_json(it_url(lx.f, path), NULL);
  assert_non_null(g);
  json_t *members = json_object_get(g, "members");
  json_t *entries = json_object_get(g, "quarantine");
  size_t in_q = 0, i, j;
  json_t *m, *e;
  assert_int_equal(json_array_size(members), 3);
  json_array_foreach(members, i, m)
  {
    const char *p = json_string_value(json_object_get(m, "path"));
    if (!json_is_true(json_object_get(m, "quarantined"))) {
      if (!tfs_exists(p))
        fail_msg("%s is neither in the library nor in the quarantine", p);
      continue;
    }
    bool recorded = false;
    json_array_foreach(entries, j, e)
    {
      const char *orig = json_string_value(
        json_object_get(e, "original_path"));
      const char *qp = json_string_value(
        json_object_get(e, "quarantine_path"));
      if (orig && !strcmp(orig, p) && qp && tfs_exists(qp))
        recorded = true;
    }
    if (!recorded)
      fail_msg("%s is quarantined without a record of where", p);
    in_q++;
  }
  assert_int_equal(json_array_size(entries), in_q);
  json_decref(g);
  /* nothing unrecorded in the quarantine, no temporary copies anywhere */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "test \"$(find '%s' -type f | wc -l)\" -eq %zu",
           k9.q, in_q);
  if (system(cmd) != 0)
    fail_msg("the quarantine holds files without a record");
  snprintf(cmd, sizeof cmd,
           "test -z \"$(find '%s' '%s' -name '.soulspot-*')\"", k9.lib, k9.q);
  if (system(cmd) != 0)
    fail_msg("a temporary copy was left behind");
  return in_q;
}

static void k9_post(const char *op, long want)
{
  char path[96];
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/%s", k9.gid, op);
  json_t *res = post_json(path, "{}", want);
  json_decref(res);
}

static bool daemon_dead(void *arg) { return !daemon_alive(arg); }

/* Runs op in the test build with SOULSPOT_TEST_CRASH_AT=step, expects it
 * to die there, and starts the product again (recovery at start). */
static void k9_crash(const char *op, const char *step)
{
  char env[64], path[96];
  snprintf(env, sizeof env, "SOULSPOT_TEST_CRASH_AT=%s", step);
  const char *const crash_env[] = {env, NULL};
  assert_int_equal(daemon_stop(&lx.f->d), 0);
  lx.f->d.test_hooks = true;
  assert_int_equal(daemon_start(&lx.f->d, k9_ini(), crash_env), SS_OK);
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/%s", k9.gid, op);
  static const char *const h[] = {"Content-Type: application/json", NULL};
  (void)hc_request("POST", it_url(lx.f, path), h, "{}", &lx.f->r);
  if (!it_wait_until(daemon_dead, &lx.f->d, WAIT_MS))
    fail_msg("%s did not crash at %s", op, step);
  lx.f->d.test_hooks = false;
  assert_int_equal(daemon_start(&lx.f->d, k9_ini(), NULL), SS_OK);
}

static void test_kill9_during_resolve_and_undo(void **state)
{
  (void)state;
  /* a quarantine on another file system makes every move a copy, where
   * the "copied" step exists */
  char shm[64] = "/dev/shm/test_library.XXXXXX";
  bool other_fs = mkdtemp(shm) != NULL;
  snprintf(k9.lib, sizeof k9.lib, "%s/k9-music", lx.dir);
  if (other_fs)
    snprintf(k9.q, sizeof k9.q, "%s/q", shm);
  else
    snprintf(k9.q, sizeof k9.q, "%s/k9-quarantine", lx.dir);
  assert_int_equal(mkdir(k9.lib, 0755), 0);
  struct af_spec joga = {.artist = BJ_NFC, .title = JOGA_NFC, .tune = 2};
  int rc = af_make(at(k9.lib, BJ_NFC "/Homogenic/01 " JOGA_NFC ".flac"),
                   &joga);
  joga.artist = BJ_NFD; /* the same song tagged in NFD */
  joga.title = JOGA_NFD;
  joga.args = "-b:a 128k";
  rc |= af_make(at(k9.lib, BJ_NFD "/<b>&\"'/" JOGA_NFD ".mp3"), &joga);
  joga.args = "-b:a 96k";
  rc |= af_make(at(k9.lib, BJ_NFC "/Live/" JOGA_NFC ".ogg"), &joga);
  struct af_spec other = {.artist = "Sigur R\xc3\xb3s",
                          .title = "Hopp\xc3\xadpolla",
                          .tune = 3};
  rc |= af_make(at(k9.lib, "Sigur R\xc3\xb3s/Takk/Hopp\xc3\xadpolla.flac"),
                &other);
  other.artist = "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80";
  other.title = "Merry Christmas Mr. Lawrence";
  other.tune = 4;
  rc |= af_make(at(k9.lib, "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"
                           "/Merry Christmas Mr. Lawrence.flac"),
                &other);
  other.artist = "AC/DC";
  other.title = "Back in Black";
  other.tune = 5;
  rc |= af_make(at(k9.lib, "AC_DC/Back in Black.flac"), &other);
  assert_int_equal(rc, 0);
  assert_int_equal(daemon_start(&lx.f->d, k9_ini(), NULL), SS_OK);
  assert_true(wait_detail("duplicate_detector", "duplicates_found", 1));
  json_t *g = open_group();
  k9.gid = json_integer_value(json_object_get(g, "id"));
  json_decref(g);
  assert_int_equal(k9_accounted(), 0);

  static const struct {
    const char *op, *step;
    bool copy_only;
  } crashes[] = {
    {"resolve", "resolve_intended", false},
    {"resolve", "copied", true},
    {"resolve", "resolve_moved", false},
    {"undo", "undo_intended", false},
    {"undo", "copied", true},
    {"undo", "undo_moved", false},
  };
  for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) {
    if (crashes[i].copy_only && !other_fs)
      continue;
    bool undo = !strcmp(crashes[i].op, "undo");
    if (undo)
      k9_post("resolve", 200); /* two copies into the quarantine */
    k9_crash(crashes[i].op, crashes[i].step);
    /* the first move was cut short: finished (resolve) or taken back
     * (undo); the second never started */
    size_t in_q = k9_accounted();
    assert_int_equal(in_q, 1);
    k9_post("undo", 200); /* undo works after the recovery */
    assert_int_equal(k9_accounted(), 0);
    json_t *again = open_group();
    IT_ASSERT_JSON_STR(again, "status", "open");
    json_decref(again);
  }
  /* a rescan after all that drops nothing */
  run_once("duplicate_detector");
  json_t *d = details_of("duplicate_detector");
  IT_ASSERT_JSON_INT(d, "groups_open", 1);
  json_decref(d);
  assert_int_equal(k9_accounted(), 0);
  if (other_fs)
    tfs_rm_tree(shm);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_duplicates_review_cycle, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_unreadable_reason_shown, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_cleanup_dry_run_then_real, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_missing_folders_are_errors, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_kill9_during_resolve_and_undo, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
