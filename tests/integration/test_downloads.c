/*
 * test_downloads.c - downloads through a real soulspotd and the fake slskd.
 *
 * The Download Monitor's interval is the maximum (300 s), so every poll in
 * these tests is one "run now" that the test waits for (never a sleep),
 * and the fake advances each transfer one step per poll:
 *   - an album request goes search -> enqueue -> queued -> in progress
 *     (seen on /api/downloads, the page and the worker details) ->
 *     completed -> imported into the library by the naming template;
 *   - an errored transfer is retried with another peer;
 *   - slskd unreachable, refusing the key, or sending a malformed,
 *     truncated or huge list -> error with a clear last_error, then idle
 *     again by itself;
 *   - kill -9 at every step of an import, then a restart: the file is in
 *     the library once, one track row, the request completed;
 *   - Cleanup leaves the files of active downloads alone;
 *   - the JSON API's validation, cancel, the page and "Test connection".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "audio_fixtures.h"
#include "core/err.h"
#include "fake_http.h"
#include "itest.h"

#define KEY "downloads-test-key-0123456789"
#define WAIT_MS 15000
#define MAX_POLLS 14
#define ALBUM_DIR "@@alice\\Music\\The Band\\First Album (2013)"

struct dl_fx {
  struct it_fixture *f;
  char dir[64], dl[128], lib[128], src[128], tmp[128];
  char shm[64]; /* a library on another file system, or "" */
  char flac[2][192];
};

static struct dl_fx x;

static int setup(void **state)
{
  if (it_setup(state))
    return -1;
  memset(&x, 0, sizeof x);
  x.f = *state;
  snprintf(x.dir, sizeof x.dir, "/tmp/test_downloads.XXXXXX");
  if (!mkdtemp(x.dir) || !af_available())
    return -1;
  snprintf(x.dl, sizeof x.dl, "%s/slskd", x.dir);
  snprintf(x.lib, sizeof x.lib, "%s/music", x.dir);
  snprintf(x.src, sizeof x.src, "%s/peer", x.dir);
  snprintf(x.tmp, sizeof x.tmp, "%s/tmp", x.dir);
  int rc = mkdir(x.dl, 0755) | mkdir(x.lib, 0755) | mkdir(x.src, 0755) |
           mkdir(x.tmp, 0755);
  for (int i = 0; i < 2; i++) {
    snprintf(x.flac[i], sizeof x.flac[i], "%s/%d.flac", x.src, i + 1);
    struct af_spec s = {.title = i ? "Second Song" : "First Song",
                        .artist = "The Band",
                        .album_artist = "The Band",
                        .album = "First Album",
                        .date = "2013",
                        .track = i + 1,
                        .seconds = 2,
                        .tune = i};
    rc |= af_make(x.flac[i], &s);
  }
  return rc ? -1 : 0;
}

static int teardown(void **state)
{
  int rc = it_teardown(state);
  tfs_rm_tree(x.dir);
  if (x.shm[0])
    tfs_rm_tree(x.shm);
  return rc;
}

static void wait_startup_poll(void);

static void start(const char *extra, const char *const *env)
{
  struct buf ini;
  buf_init(&ini, 8192);
  assert_int_equal(fake_all_start(&x.f->fa, KEY), SS_OK);
  fake_all_ini(&x.f->fa, KEY, &ini);
  buf_printf(&ini,
             "[download]\npoll_interval_seconds = 300\n"
             "slskd_download_path = %s\ntemp_path = %s\n"
             "[library]\npath = %s\n[probe]\ninterval_seconds = 3600\n%s",
             x.dl, x.tmp, x.lib, extra ? extra : "");
  fake_slskd_set_download_dir(x.f->fa.slskd, x.dl);
  int rc = daemon_start(&x.f->d, buf_cstr(&ini), env);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
  wait_startup_poll();
}

static struct fake_slskd *fk(void) { return x.f->fa.slskd; }

static void share_album(enum fake_sk_behaviour second)
{
  static const char *const names[2] = {ALBUM_DIR "\\01 - First Song.flac",
                                       ALBUM_DIR "\\02 - Second Song.flac"};
  for (int i = 0; i < 2; i++) {
    struct stat st;
    stat(x.flac[i], &st);
    fake_slskd_add_file(fk(), &(struct fake_sk_file){"alice", names[i],
                                                     st.st_size, 0, 16, 44100,
                                                     2, false, x.flac[i],
                                                     i ? second : FAKE_SK_OK});
  }
}

/* ---- driving the monitor ---- */

static long long monitor_runs(void)
{
  return it_unit_runs(x.f, "download_monitor");
}

/* Waits until the monitor has more than `after` runs. */
static bool runs_after(long long after, int timeout_ms)
{
  return it_wait_unit_runs(x.f, "download_monitor", after, IT_RUNS_COUNTED,
                           timeout_ms, true);
}

/* The monitor polls once at start-up; the tests wait for that poll to end
 * so that every later poll is one they asked for (kick). */
static void wait_startup_poll(void) { assert_true(runs_after(0, WAIT_MS)); }

/* One poll: run now, and wait until that run has ended. */
static void kick(void)
{
  for (int tries = 0; tries < 50; tries++) {
    long long runs = monitor_runs();
    /* Inside a run, run-now is coalesced (202, already_running): wait for
     * that run to end and ask again. */
    it_request_expect(x.f, "POST", "/api/workers/download_monitor/run", NULL,
                      NULL, 202);
    bool busy = strstr(buf_cstr(&x.f->r.body), "\"already_running\":true");
    assert_true(runs_after(runs, WAIT_MS));
    if (!busy)
      return;
  }
  fail_msg("the monitor never took a run-now");
}

static json_t *post_download(const char *body, long want)
{
  it_request_expect(x.f, "POST", "/api/downloads", it_json_headers, body,
                    want);
  return it_parse(&x.f->r);
}

static int64_t request(const char *body)
{
  json_t *doc = post_download(body, 201);
  IT_ASSERT_JSON_STR(doc, "state", "pending");
  int64_t id = json_integer_value(json_object_get(doc, "id"));
  json_decref(doc);
  assert_true(id > 0);
  return id;
}

static json_t *download(int64_t id)
{
  char path[64];
  snprintf(path, sizeof path, "/api/downloads/%lld", (long long)id);
  json_t *doc = it_get_json(it_url(x.f, path), NULL);
  assert_non_null(doc);
  return doc;
}

static const char *state_of(json_t *doc)
{
  return json_string_value(json_object_get(doc, "state"));
}

/* Polls until the request reaches state. */
static json_t *poll_until(int64_t id, const char *state)
{
  for (int i = 0; i < MAX_POLLS; i++) {
    json_t *doc = download(id);
    if (!strcmp(state_of(doc), state))
      return doc;
    json_decref(doc);
    kick();
  }
  json_t *doc = download(id);
  char *text = json_dumps(doc, JSON_COMPACT);
  fprintf(stderr, "error: download %lld never became %s: %s\n", (long long)id,
          state, text);
  free(text);
  IT_ASSERT_JSON_STR(doc, "state", state);
  return doc;
}

static json_t *monitor(void)
{
  json_t *doc = it_get_json(it_url(x.f, "/api/workers/status"), NULL);
  json_t *m = json_incref(it_worker(doc, "download_monitor"));
  json_decref(doc);
  return m;
}

static long long detail(json_t *m, const char *key)
{
  return json_integer_value(
    json_object_get(json_object_get(m, "details"), key));
}

static const char *library_file(int track, const char *title)
{
  static char p[2][256];
  snprintf(p[track - 1], sizeof p[0],
           "%s/The Band/First Album (2013)/1-%02d %s.flac", x.lib, track,
           title);
  return p[track - 1];
}

static int64_t track_rows(void)
{
  sqlite3 *db;
  sqlite3_stmt *st;
  int64_t n = -1;
  assert_int_equal(sqlite3_open_v2(x.f->d.db_path, &db, SQLITE_OPEN_READONLY,
                                   NULL),
                   SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM library_tracks", -1, &st,
                         NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* ---- the whole path ---- */

static void test_album_full_path(void **state)
{
  (void)state;
  start(NULL, NULL);
  share_album(FAKE_SK_OK);
  int64_t id = request("{\"album\": \"The Band - First Album\"}");
  /* Polls step it through search, results, enqueue, queued and half the
   * bytes; how many polls that takes depends on where the start-up poll
   * fell, so poll until it is half downloaded (bounded). */
  json_t *doc = NULL;
  for (int i = 0; i < 10; i++) {
    kick();
    json_decref(doc);
    doc = download(id);
    const char *st = json_string_value(json_object_get(doc, "state"));
    double pr = json_real_value(json_object_get(doc, "progress"));
    if (st && !strcmp(st, "downloading") && pr > 49.0)
      break;
  }
  IT_ASSERT_JSON_STR(doc, "state", "downloading");
  IT_ASSERT_JSON_STR(doc, "username", "alice");
  IT_ASSERT_JSON_INT(doc, "files_total", 2);
  double progress = json_real_value(json_object_get(doc, "progress"));
  assert_true(progress > 49.0 && progress < 51.0);
  json_t *files = json_object_get(doc, "files");
  IT_ASSERT_JSON_STR(json_array_get(files, 0), "state", "in_progress");
  IT_ASSERT_JSON_STR(json_array_get(files, 0), "slskd_state", "InProgress");
  json_decref(doc);
  json_t *m = monitor();
  assert_int_equal(detail(m, "in_progress"), 2);
  IT_ASSERT_JSON_STR(json_object_get(m, "details"), "last_poll",
                     "gerade eben");
  json_decref(m);
  assert_int_equal(hc_get(it_url(x.f, "/downloads"), &x.f->r), SS_OK);
  IT_ASSERT_STATUS(&x.f->r, 200);
  const char *html = buf_cstr(&x.f->r.body);
  assert_non_null(strstr(html, "hx-get=\"/downloads/list\""));
  assert_non_null(strstr(html, "<progress max=\"100\" value=\"50\">"));
  assert_non_null(strstr(html, "The Band \xe2\x80\x93 First Album"));
  assert_non_null(strstr(html, "href=\"/downloads\" aria-current=\"page\""));

  doc = poll_until(id, "completed");
  IT_ASSERT_JSON_INT(doc, "files_imported", 2);
  json_t *null_error = json_object_get(doc, "error");
  assert_true(json_is_null(null_error));
  json_decref(doc);
  assert_true(tfs_exists(library_file(1, "First Song")));
  assert_true(tfs_exists(library_file(2, "Second Song")));
  char src[300];
  snprintf(src, sizeof src, "%s/First Album (2013)/01 - First Song.flac",
           x.dl);
  assert_false(tfs_exists(src)); /* moved out of slskd's folder */
  assert_int_equal(track_rows(), 2);
  m = monitor();
  IT_ASSERT_JSON_STR(m, "status", "idle");
  assert_int_equal(detail(m, "downloads_completed"), 2);
  assert_int_equal(detail(m, "downloads_failed"), 0);
  assert_int_equal(detail(m, "in_progress"), 0);
  assert_int_equal(detail(m, "queued"), 0);
  json_decref(m);
  /* the counters survive a restart */
  assert_int_equal(daemon_restart(&x.f->d), SS_OK);
  m = monitor();
  assert_int_equal(detail(m, "downloads_completed"), 2);
  json_decref(m);
}

static void test_error_retried_elsewhere(void **state)
{
  (void)state;
  start(NULL, NULL);
  struct stat st;
  stat(x.flac[0], &st);
  fake_slskd_add_file(fk(),
                      &(struct fake_sk_file){"alice",
                                             ALBUM_DIR
                                             "\\01 - First Song.flac",
                                             st.st_size, 0, 16, 44100, 2,
                                             false, x.flac[0], FAKE_SK_ERROR});
  fake_slskd_add_file(
    fk(),
    &(struct fake_sk_file){"bob", "@@bob\\Singles\\The Band - First Song.flac",
                           st.st_size, 0, 16, 44100, 2, false, x.flac[0],
                           FAKE_SK_OK});
  fake_slskd_set_peer(fk(), "bob", false, 4, 1000);
  int64_t id = request("{\"query\": \"The Band - First Song\"}");
  json_t *doc = poll_until(id, "completed");
  IT_ASSERT_JSON_STR(doc, "username", "bob");
  json_t *files = json_object_get(doc, "files");
  assert_int_equal(json_array_size(files), 2);
  IT_ASSERT_JSON_STR(json_array_get(files, 1), "state", "failed");
  json_decref(doc);
  json_t *m = monitor();
  assert_int_equal(detail(m, "downloads_completed"), 1);
  assert_int_equal(detail(m, "downloads_failed"), 1);
  json_decref(m);
}

/* ---- names beyond ASCII (issue 9.10) ---- */

#define BJORK "Bj\xc3\xb6rk" /* NFC */
#define BJORK_NFD "Bjo\xcc\x88rk"
#define HOMOGENIC "@@%s\\%s\\01 - Hunter.flac"

/* A request by its body; polls (bounded) until state. */
static json_t *poll_long(int64_t id, const char *state, int max)
{
  for (int i = 0; i < max; i++) {
    json_t *doc = download(id);
    if (!strcmp(state_of(doc), state))
      return doc;
    json_decref(doc);
    kick();
  }
  return poll_until(id, state);
}

static void make_audio(const char *path, const char *artist, const char *album,
                       const char *title, int track, const char *args)
{
  struct af_spec s = {.title = title,
                      .artist = artist,
                      .album_artist = artist,
                      .album = album,
                      .date = "1997",
                      .track = track,
                      .seconds = 2,
                      .tune = track,
                      .args = args};
  assert_int_equal(af_make(path, &s), 0);
}

static void share_as(const char *user, const char *name, const char *src,
                     bool lossless, enum fake_sk_behaviour b)
{
  struct stat st;
  assert_int_equal(stat(src, &st), 0);
  fake_slskd_add_file(fk(), &(struct fake_sk_file){user, name, st.st_size,
                                                   lossless ? 0 : 320,
                                                   lossless ? 16 : 0,
                                                   lossless ? 44100 : 0, 2,
                                                   false, src, b});
}

static void hook_ok(const struct fake_req *req, struct fake_reply *rep,
                    void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "application/json", "{}");
}

static void test_unicode_names(void **state)
{
  (void)state;
  /* notifications (issue 11.5) carry the real names */
  struct fake_http *rx = NULL;
  assert_int_equal(fake_http_start(&rx, 0), SS_OK);
  fake_http_route(rx, "POST", "*", hook_ok, NULL);
  char hook[160];
  snprintf(hook, sizeof hook, "[notify]\nwebhook_url = %s/hook\n",
           fake_http_url(rx));
  start(hook, NULL);
  char hunter[192], joga[192], async[192], crue[192], ros[192];
  snprintf(hunter, sizeof hunter, "%s/hunter.flac", x.src);
  snprintf(joga, sizeof joga, "%s/joga.flac", x.src);
  snprintf(async, sizeof async, "%s/async.flac", x.src);
  snprintf(crue, sizeof crue, "%s/crue.flac", x.src);
  snprintf(ros, sizeof ros, "%s/ros.flac", x.src);
  make_audio(hunter, BJORK, "Homogenic", "Hunter", 1, NULL);
  make_audio(joga, BJORK, "Homogenic", "J\xc3\xb3ga", 5, NULL);
  make_audio(async, "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
             "async", "andata", 1, NULL);
  make_audio(crue,
             "M\xc3\xb6tley Cr\xc3\xbc"
             "e",
             "Dr. Feelgood", "Kickstart My Heart", 5, NULL);
  make_audio(ros, "Sigur R\xc3\xb3s", "\xc3\x81g\xc3\xa6tis byrjun",
             "Sv\xc3\xa9"
             "fn-g-englar",
             2, NULL);
  /* Five peers share Homogenic in NFD, NFC, upper case and ASCII-folded;
   * the fastest two refuse, so the request must walk past them. */
  static const struct {
    const char *user, *dir;
    int64_t speed;
    enum fake_sk_behaviour b;
  } peers[] = {
    {"nfd", "Music\\" BJORK_NFD "\\Homogenic (1997)", 5000000, FAKE_SK_REJECT},
    {"ascii", "Bjork - Homogenic", 4000000, FAKE_SK_REJECT},
    {"upper", "BJ\xc3\x96RK\\HOMOGENIC", 3000000, FAKE_SK_OK},
    {"nfc", BJORK "\\Homogenic", 2000000, FAKE_SK_OK},
    {"nfc2", "Shared\\" BJORK " - Homogenic [FLAC]", 1000000, FAKE_SK_OK},
  };
  for (size_t i = 0; i < 5; i++) {
    char name[256];
    snprintf(name, sizeof name, HOMOGENIC, peers[i].user, peers[i].dir);
    share_as(peers[i].user, name, hunter, true, peers[i].b);
    fake_slskd_set_peer(fk(), peers[i].user, true, 0, peers[i].speed);
  }
  int64_t id = request("{\"album\": \"" BJORK " - Homogenic\"}");
  json_t *doc = poll_long(id, "completed", 30);
  IT_ASSERT_JSON_STR(doc, "username", "upper");
  IT_ASSERT_JSON_INT(doc, "files_imported", 1);
  json_t *src = json_object_get(doc, "sources");
  assert_int_equal(json_array_size(src), 3);
  IT_ASSERT_JSON_STR(json_array_get(src, 0), "username", "nfd");
  IT_ASSERT_JSON_STR(json_array_get(src, 1), "username", "ascii");
  IT_ASSERT_JSON_STR(json_array_get(src, 2), "state", "completed");
  json_decref(doc);
  char path[512];
  snprintf(path, sizeof path, "%s/" BJORK "/Homogenic (1997)/1-01 Hunter.flac",
           x.lib);
  assert_true(tfs_exists(path));

  /* A track asked for in NFD, \u-escaped: searched in NFC, found in an
   * NFD share. */
  share_as("mac", "@@mac\\" BJORK_NFD "\\Homogenic\\05 Jo\xcc\x81ga.flac",
           joga, true, FAKE_SK_OK);
  id = request("{\"query\": \"Bjo\\u0308rk - Jo\\u0301ga\"}");
  doc = poll_long(id, "completed", 20);
  IT_ASSERT_JSON_STR(doc, "username", "mac");
  json_decref(doc);
  char sent[128];
  fake_slskd_last_search(fk(), sent, sizeof sent);
  assert_string_equal(sent, BJORK " J\xc3\xb3ga");

  /* other scripts and marks */
  const struct {
    const char *user, *name, *src, *body;
  } more[] = {
    {"jp",
     "@@jp\\\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80\\async"
     "\\01 andata.flac",
     async, "{\"album\": \"\\u5742\\u672c\\u9f8d\\u4e00 - async\"}"},
    {"crue", "@@c\\Motley Crue\\Dr. Feelgood\\05 - Kickstart My Heart.flac",
     crue,
     "{\"album\": \"M\xc3\xb6tley Cr\xc3\xbc"
     "e - Dr. Feelgood\"}"},
    {"ros",
     "@@r\\Sigur Ro\xcc\x81s\\A\xcc\x81g\xc3\xa6tis byrjun\\02 - "
     "Sve\xcc\x81"
     "fn-g-englar.flac",
     ros, "{\"album\": \"Sigur R\\u00f3s - \\u00c1g\\u00e6tis byrjun\"}"},
  };
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
    share_as(more[i].user, more[i].name, more[i].src, true, FAKE_SK_OK);
    id = request(more[i].body);
    doc = poll_long(id, "completed", 20);
    IT_ASSERT_JSON_STR(doc, "username", more[i].user);
    json_decref(doc);
  }
  /* one webhook event per imported request, named as asked for */
  assert_true(fake_http_wait(rx, "POST", "/hook", 5, 20000));
  bool bjork = false, sakamoto = false;
  char seen[2048] = "";
  for (uint64_t s = 1; s <= fake_http_seq(rx); s++) {
    struct fake_logged e;
    if (!fake_http_entry(rx, s, &e))
      continue;
    json_t *ev = json_loads(e.body, 0, NULL);
    const char *t = json_string_value(json_object_get(ev, "title"));
    IT_ASSERT_JSON_STR(ev, "event", "download_imported");
    bjork |= t && !strcmp(t, "Imported: " BJORK " \xe2\x80\x93 Homogenic");
    sakamoto |= t &&
                strstr(t, "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d"
                          "\xe4\xb8\x80") &&
                strstr(t, "async");
    if (t && strlen(seen) + strlen(t) + 3 < sizeof seen)
      strcat(strcat(seen, t), "; ");
    json_decref(ev);
  }
  if (!bjork || !sakamoto)
    fail_msg("notification titles: %s", seen);
  fake_http_stop(rx);
}

/* A download that fails for good (its only source refuses every file)
 * notifies once, with the real names, JSON-escaped in the webhook body
 * (issue 11.5). */
static void test_failed_download_notifies(void **state)
{
  (void)state;
  struct fake_http *rx = NULL;
  assert_int_equal(fake_http_start(&rx, 0), SS_OK);
  fake_http_route(rx, "POST", "*", hook_ok, NULL);
  char hook[160];
  snprintf(hook, sizeof hook, "[notify]\nwebhook_url = %s/hook\n",
           fake_http_url(rx));
  start(hook, NULL);
  char bells[192];
  snprintf(bells, sizeof bells, "%s/bells.flac", x.src);
  make_audio(bells, "AC/DC", "Back in Black", "Hells Bells <b>&\"'", 1, NULL);
  share_as("acdc",
           "@@acdc\\AC-DC\\Back in Black\\01 - Hells Bells <b>&\"'.flac",
           bells, true, FAKE_SK_ERROR);
  int64_t id = request("{\"query\": \"AC/DC - Hells Bells <b>&\\\"'\"}");
  json_t *doc = poll_long(id, "failed", 20);
  json_decref(doc);
  assert_true(fake_http_wait(rx, "POST", "/hook", 1, WAIT_MS));
  struct fake_logged e;
  assert_true(fake_http_entry(rx, 1, &e));
  /* the quote arrives escaped; the parsed title is the real name */
  assert_non_null(strstr(e.body, "Hells Bells <b>&\\\"'"));
  json_t *ev = json_loads(e.body, 0, NULL);
  assert_non_null(ev);
  IT_ASSERT_JSON_STR(ev, "event", "download_failed");
  IT_ASSERT_JSON_STR(
    ev, "title", "Download failed: AC/DC \xe2\x80\x93 Hells Bells <b>&\"'");
  assert_non_null(strstr(json_string_value(json_object_get(ev, "message")),
                         "AC/DC \xe2\x80\x93 Hells Bells <b>&\"'"));
  json_decref(ev);
  /* failed for good: one message, not one per poll */
  kick();
  assert_int_equal(fake_http_seq(rx), 1);
  fake_http_stop(rx);
}
/* ---- retry elsewhere (issue 9.11) ---- */

static void test_retry_walks_sources(void **state)
{
  (void)state;
  start(NULL, NULL);
  char mp3[2][192];
  static const char *const titles[2] = {"First Song", "Second Song"};
  for (int t = 0; t < 2; t++) {
    snprintf(mp3[t], sizeof mp3[t], "%s/%d.mp3", x.src, t + 1);
    make_audio(mp3[t], "The Band", "First Album", titles[t], t + 1,
               "-b:a 320k");
  }
  /* Three lossless sources fail at 50 % (one is a 24 kB/s peer, one has
   * a name that needs escaping), then two lossy ones, named otherwise. */
  static const struct {
    const char *user, *fmt;
    bool lossless;
    int64_t queue, speed;
    enum fake_sk_behaviour b;
  } five[] = {
    {"slowflac", "@@s\\Music\\The Band\\First Album\\%d. %s.flac", true, 0,
     24000, FAKE_SK_ERROR},
    {"<b>&\"'flac", "@@x\\The Band - First Album [FLAC]\\0%d %s.flac", true, 0,
     2000000, FAKE_SK_ERROR},
    {"fastflac", "@@f\\The Band\\First Album (2013)\\0%d - %s.flac", true, 2,
     3000000, FAKE_SK_ERROR},
    {"mp3peer", "@@m\\The Band - First Album (320)\\0%d. The Band - %s.mp3",
     false, 0, 500000, FAKE_SK_OK},
    {"mp3fast", "@@v\\The Band\\First Album mp3\\0%d - %s.mp3", false, 0,
     9000000, FAKE_SK_OK},
  };
  for (size_t i = 0; i < 5; i++) {
    for (int t = 0; t < 2 && i < 4; t++) {
      char name[256];
      snprintf(name, sizeof name, five[i].fmt, t + 1, titles[t]);
      share_as(five[i].user, name, five[i].lossless ? x.flac[t] : mp3[t],
               five[i].lossless, five[i].b);
    }
    fake_slskd_set_peer(fk(), five[i].user, true, five[i].queue,
                        five[i].speed);
  }
  /* the faster lossy peer offers less: 192 kbit/s, lower in the profile */
  for (int t = 0; t < 2; t++) {
    char name[256];
    snprintf(name, sizeof name, five[4].fmt, t + 1, titles[t]);
    fake_slskd_add_file(fk(), &(struct fake_sk_file){"mp3fast", name, 3000000,
                                                     192, 0, 0, 2, false,
                                                     mp3[t], FAKE_SK_OK});
  }
  int64_t id = request("{\"album\": \"The Band - First Album\"}");
  json_t *doc = poll_long(id, "completed", 40);
  IT_ASSERT_JSON_STR(doc, "username", "mp3peer");
  IT_ASSERT_JSON_INT(doc, "files_imported", 2);
  json_t *src = json_object_get(doc, "sources");
  static const char *const order[] = {"fastflac", "<b>&\"'flac", "slowflac",
                                      "mp3peer"};
  assert_int_equal(json_array_size(src), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *s = json_array_get(src, i);
    IT_ASSERT_JSON_STR(s, "username", order[i]);
    IT_ASSERT_JSON_STR(s, "state", i < 3 ? "failed" : "completed");
    const char *err = json_string_value(json_object_get(s, "error"));
    if (i < 3)
      assert_non_null(strstr(err, "Remote connection closed."));
    else
      assert_null(err);
  }
  IT_ASSERT_JSON_STR(json_array_get(src, 3), "quality", "mp3 320");
  json_decref(doc);
  snprintf(mp3[0], sizeof mp3[0],
           "%s/The Band/First Album (1997)/1-01 "
           "First Song.mp3",
           x.lib);
  assert_true(tfs_exists(mp3[0]));
  /* the list carries the sources too, and the page shows them escaped */
  doc = it_get_json(it_url(x.f, "/api/downloads"), NULL);
  src = json_object_get(json_array_get(json_object_get(doc, "downloads"), 0),
                        "sources");
  assert_int_equal(json_array_size(src), 4);
  json_decref(doc);
  assert_int_equal(hc_get(it_url(x.f, "/downloads/list"), &x.f->r), SS_OK);
  const char *html = buf_cstr(&x.f->r.body);
  assert_non_null(strstr(html, "&lt;b&gt;&amp;&quot;&#39;flac"));
  assert_null(strstr(html, "<b>&"));
  assert_non_null(strstr(html, "slowflac \xc2\xb7 flac 16/44.1 \xc2\xb7 "
                               "24 kB/s, free slot \xc2\xb7 failed: "));
  assert_non_null(strstr(html, "Remote connection closed."));
}

/* ---- slskd trouble ---- */

/* The monitor is in error, its message has needle and its machine
 * reason is reason. */
static void expect_error(const char *needle, const char *reason)
{
  kick();
  json_t *m = monitor();
  IT_ASSERT_JSON_STR(m, "status", "error");
  json_t *d = json_object_get(m, "details");
  const char *err = json_string_value(json_object_get(d, "last_error"));
  if (!err || !strstr(err, needle))
    fail_msg("last_error \"%s\" lacks \"%s\"", err ? err : "(null)", needle);
  IT_ASSERT_JSON_STR(d, "last_error_reason", reason);
  json_decref(m);
}

static void expect_idle(void)
{
  kick();
  json_t *m = monitor();
  IT_ASSERT_JSON_STR(m, "status", "idle");
  assert_true(json_is_null(
    json_object_get(json_object_get(m, "details"), "last_error")));
  assert_true(json_is_null(
    json_object_get(json_object_get(m, "details"), "last_error_reason")));
  json_decref(m);
}

static void test_slskd_trouble_then_back(void **state)
{
  (void)state;
  start(NULL, NULL);
  expect_idle();
  struct fake_http *h = fake_slskd_http(fk());
  struct fake_script drop = {.drop = true};
  fake_http_script(h, NULL, "/api/v0/*", &drop);
  expect_error("slskd unreachable at http://127.0.0.1:", "connection");
  fake_http_unscript(h, NULL, NULL);
  expect_idle();
  fake_slskd_set_api_key(fk(), "another-key-0123456789");
  expect_error("slskd refused the API key", "auth");
  fake_slskd_set_api_key(fk(), KEY);
  expect_idle();
  fake_slskd_set_list_mode(fk(), FAKE_SK_LIST_MALFORMED);
  expect_error("malformed reply", "protocol");
  fake_slskd_set_list_mode(fk(), FAKE_SK_LIST_TRUNCATED);
  expect_error("malformed reply", "protocol");
  fake_slskd_set_list_mode(fk(), FAKE_SK_LIST_HUGE);
  expect_error("too large", "protocol");
  fake_slskd_set_list_mode(fk(), FAKE_SK_LIST_OK);
  expect_idle();
}

/* slskd's entry of /api/workers/services/detail (new reference). */
static json_t *slskd_detail(void)
{
  json_t *doc = it_get_json(it_url(x.f, "/api/workers/services/detail"), NULL);
  assert_non_null(doc);
  json_t *s = json_incref(json_object_get(doc, "slskd"));
  json_decref(doc);
  return s;
}

/* The newest history entry of the monitor (new reference). */
static json_t *newest_run(void)
{
  json_t *doc = it_get_json(it_url(x.f, "/api/workers"), NULL);
  json_t *h = json_object_get(it_unit(doc, "download_monitor"), "history");
  json_t *top = json_incref(json_array_get(h, 0));
  json_decref(doc);
  assert_non_null(top);
  return top;
}

static void test_slskd_down_backs_off(void **state)
{
  (void)state;
  start(NULL, NULL);
  struct fake_http *h = fake_slskd_http(fk());
  struct fake_script drop = {.drop = true};
  fake_http_script(h, NULL, "/api/v0/*", &drop);
  expect_error("slskd unreachable", "connection");
  json_t *s = slskd_detail();
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 1);
  assert_true(json_is_string(json_object_get(s, "backoff_until")));
  json_decref(s);

  /* Scheduled polls now wait out the ladder's 30 s: no call, no new
   * error, one folded history entry; the unit stays in error. */
  assert_int_equal(it_patch_settings(x.f, "{\"download.poll_interval_"
                                          "seconds\": 2}"),
                   SS_OK);
  assert_true(runs_after(monitor_runs() + 1, WAIT_MS));
  json_t *run = newest_run();
  IT_ASSERT_JSON_STR(run, "result", "deferred");
  assert_true(json_integer_value(json_object_get(run, "repeats")) >= 2);
  assert_non_null(strstr(json_string_value(json_object_get(run, "message")),
                         "next try after"));
  json_decref(run);
  json_t *m = monitor();
  IT_ASSERT_JSON_STR(m, "status", "error");
  IT_ASSERT_JSON_STR(json_object_get(m, "details"), "last_error_reason",
                     "connection");
  json_decref(m);
  s = slskd_detail();
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 1);
  json_decref(s);

  /* Run now still tries at once: a second failure climbs the ladder. */
  expect_error("slskd unreachable", "connection");
  s = slskd_detail();
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 2);
  json_decref(s);
  /* One success steps back to zero. */
  fake_http_unscript(h, NULL, NULL);
  expect_idle();
  s = slskd_detail();
  IT_ASSERT_JSON_INT(s, "failures_in_a_row", 0);
  assert_true(json_is_null(json_object_get(s, "backoff_until")));
  json_decref(s);
}

/* ---- kill -9 during an import ---- */

static void crash_and_recover(const char *step, int n)
{
  static const char *const titles[2] = {"First Song", "Second Song"};
  char env[64], body[128];
  snprintf(env, sizeof env, "SOULSPOT_TEST_CRASH_AT=%s", step);
  const char *const crash_env[] = {env, NULL};
  assert_int_equal(daemon_stop(&x.f->d), 0);
  x.f->d.test_hooks = true; /* the build with the crash points */
  assert_int_equal(daemon_start(&x.f->d, NULL, crash_env), SS_OK);
  snprintf(body, sizeof body, "{\"query\": \"The Band - %s\"}", titles[n % 2]);
  int64_t id = request(body);
  for (int i = 0; i < MAX_POLLS && daemon_alive(&x.f->d); i++) {
    long long runs = monitor_runs();
    if (hc_request("POST", it_url(x.f, "/api/workers/download_monitor/run"),
                   NULL, NULL, &x.f->r) != SS_OK)
      break; /* died meanwhile */
    while (daemon_alive(&x.f->d) && !runs_after(runs, 50)) {
    }
  }
  assert_false(daemon_alive(&x.f->d)); /* it killed itself at step */
  x.f->d.test_hooks = false;           /* the product recovers */
  assert_int_equal(daemon_start(&x.f->d, NULL, NULL), SS_OK);
  json_t *doc = poll_until(id, "completed");
  IT_ASSERT_JSON_INT(doc, "files_imported", 1);
  json_decref(doc);
}

static void test_kill9_during_import(void **state)
{
  (void)state;
  static const char *const steps[] = {"journaled", "copied", "moved",
                                      "upserted"};
  /* A library on another file system takes the copy path, where
   * "copied" (copy fsynced, not yet linked into place) exists. */
  snprintf(x.shm, sizeof x.shm, "/dev/shm/test_downloads.XXXXXX");
  if (mkdtemp(x.shm))
    snprintf(x.lib, sizeof x.lib, "%s", x.shm);
  else
    x.shm[0] = '\0';
  start("[download]\nnaming_template = {album}/{track} {title}.{ext}\n", NULL);
  share_album(FAKE_SK_OK);
  int n = 0;
  for (int i = 0; i < 4; i++) {
    if (!x.shm[0] && !strcmp(steps[i], "copied"))
      continue; /* one file system: rename(2), no copy */
    crash_and_recover(steps[i], n);
    char p[256];
    snprintf(p, sizeof p, "%s/First Album/%02d %s%s.flac", x.lib, n % 2 + 1,
             n % 2 ? "Second Song" : "First Song", n >= 2 ? " (2)" : "");
    if (!tfs_exists(p))
      fail_msg("after a crash at %s: %s is missing", steps[i], p);
    n++;
    assert_int_equal(track_rows(), n); /* one row per import, never two */
  }
}

/* ---- Cleanup keeps active downloads ---- */

static void old_file(const char *path)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("partial", f);
  fclose(f);
  struct timespec t[2] = {{time(NULL) - 30 * 86400, 0},
                          {time(NULL) - 30 * 86400, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static bool is_gone(void *path) { return !tfs_exists(path); }

static void test_cleanup_keeps_active(void **state)
{
  (void)state;
  start("[automation]\ncleanup_interval_hours = 168\n", NULL);
  share_album(FAKE_SK_STALL);
  int64_t id = request("{\"album\": \"The Band - First Album\"}");
  for (int i = 0; i < 4; i++)
    kick();
  json_t *doc = download(id);
  IT_ASSERT_JSON_STR(doc, "state", "downloading");
  json_decref(doc);
  char dir[256], active[300], orphan[300];
  snprintf(dir, sizeof dir, "%s/First Album (2013)", x.tmp);
  mkdir(dir, 0755);
  snprintf(active, sizeof active, "%s/02 - Second Song.flac", dir);
  snprintf(orphan, sizeof orphan, "%s/leftover.part", x.tmp);
  old_file(active);
  old_file(orphan);
  assert_int_equal(it_patch_settings(x.f, "{\"automation.cleanup_enabled\":"
                                          " true}"),
                   SS_OK);
  IT_ASSERT_STATUS(&x.f->r, 200);
  assert_true(it_wait_until(is_gone, orphan, WAIT_MS));
  assert_true(tfs_exists(active)); /* belongs to an open download */
}

/* ---- API, page, Test connection ---- */

static void test_api_and_test_connection(void **state)
{
  (void)state;
  start(NULL, NULL);
  json_t *doc;
  static const char *const bad[] = {"not json",
                                    "[]",
                                    "{}",
                                    "{\"query\": 5}",
                                    "{\"bogus\": \"x\"}",
                                    "{\"query\": \"a\", \"album\": \"b\"}",
                                    "{\"query\": \"  \"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    doc = post_download(bad[i], 400);
    assert_true(json_is_string(json_object_get(doc, "error")));
    json_decref(doc);
  }
  doc = post_download("{\"spotify_track_id\": \"4uLU6hMCjMI75M1A2tKUQC\"}",
                      400);
  IT_ASSERT_JSON_STR(doc, "error",
                     "Spotify track 4uLU6hMCjMI75M1A2tKUQC is "
                     "not in the synced library");
  json_decref(doc);

  fake_slskd_set_search_polls(fk(), 0); /* stays searching */
  int64_t id = request("{\"query\": \"Nobody - Nothing\"}");
  char path[64];
  snprintf(path, sizeof path, "/api/downloads/%lld", (long long)id);
  it_request_expect(x.f, "DELETE", path, NULL, NULL, 200);
  doc = it_parse(&x.f->r);
  IT_ASSERT_JSON_STR(doc, "state", "cancelled");
  json_decref(doc);
  it_request_expect(x.f, "DELETE", path, NULL, NULL, 409);
  it_request_expect(x.f, "DELETE", "/api/downloads/999", NULL, NULL, 404);
  doc = it_get_json(it_url(x.f, "/api/downloads?state=cancelled"), NULL);
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_decref(doc);

  it_request_expect(x.f, "POST", "/api/slskd/test", NULL, NULL, 200);
  doc = it_parse(&x.f->r);
  IT_ASSERT_JSON_BOOL(doc, "ok", true);
  IT_ASSERT_JSON_STR(doc, "version", "0.26.0");
  IT_ASSERT_JSON_BOOL(doc, "logged_in", true);
  json_decref(doc);
  fake_slskd_set_logged_in(fk(), false);
  const char *const hx[] = {"HX-Request: true", NULL};
  assert_int_equal(hc_request("POST", it_url(x.f, "/api/slskd/test"), hx, NULL,
                              &x.f->r),
                   SS_OK);
  assert_non_null(strstr(buf_cstr(&x.f->r.body), "NOT logged in to Soulseek"));
  fake_slskd_set_api_key(fk(), "different-key-0123456789");
  assert_int_equal(hc_request("POST", it_url(x.f, "/api/slskd/test"), NULL,
                              NULL, &x.f->r),
                   SS_OK);
  doc = it_parse(&x.f->r);
  IT_ASSERT_JSON_BOOL(doc, "ok", false);
  IT_ASSERT_JSON_STR(doc, "error", "slskd refused the API key (HTTP 401)");
  json_decref(doc);
  assert_int_equal(hc_get(it_url(x.f, "/settings?tab=downloads"), &x.f->r),
                   SS_OK);
  assert_non_null(
    strstr(buf_cstr(&x.f->r.body), "hx-post=\"/api/slskd/test\""));
  assert_non_null(
    strstr(buf_cstr(&x.f->r.body), "id=\"field-download-quality_profile\""));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_album_full_path),         T(test_error_retried_elsewhere),
    T(test_unicode_names),           T(test_retry_walks_sources),
    T(test_slskd_trouble_then_back), T(test_slskd_down_backs_off),
    T(test_kill9_during_import),     T(test_cleanup_keeps_active),
    T(test_api_and_test_connection), T(test_failed_download_notifies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
