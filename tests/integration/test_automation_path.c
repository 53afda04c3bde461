/*
 * test_automation_path.c - issue 8's whole paths against a real soulspotd
 * and every fake, each hop asserted over the HTTP API and on disk:
 *
 *   - new releases: watch Björk, 坂本龍一 and AC/DC -> the fake Spotify and
 *     the fake MusicBrainz publish a new album of each -> the watchlist
 *     wants it (one item with both ids) -> a download request carrying the
 *     MusicBrainz release group -> the fake slskd's search, transfers of
 *     real FLAC files (Björk's tagged in NFD) -> import into the library
 *     folder -> the items are imported and each album folder has cover.jpg
 *     from the fake Cover Art Archive (through its 307 to the archive host),
 *     although the files carry no MusicBrainz tags -> after a restart the
 *     watchlist wants and requests nothing again;
 *   - quality upgrade: a 128 kbit/s MP3 in the library -> the Quality
 *     Upgrade wants it -> a FLAC from the fake slskd replaces it in place
 *     (same folder and name), the MP3 in the quarantine under a resolved
 *     quality-upgrade group, the tags kept -> undo puts the MP3 back;
 *   - a partly owned album: two of three tracks of a new release are in
 *     the library -> the watchlist reads the album's track list from
 *     Spotify and wants only the missing track (a truncated track list
 *     first: the watch says why and nothing is wanted).
 *
 * The Download Monitor's interval is the maximum: every poll is a run now
 * that the test waits for (never a sleep).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio_fixtures.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "itest.h"
#include "tfs.h"

#define KEY "automation-path-key-0123456789"
#define WAIT_MS 60000
#define MAX_POLLS 40
#define JSON_HDR "Content-Type: application/json"
#define BJORK_ID "7w29UYBi0qsHi5RN8CHbT7"
#define SAKAMOTO_ID "1PmSkwaM8sPJ1a7OfHbNyA"
#define ACDC_ID "711MCceyCBcFnzjGY4Q7Un"
#define BJORK "Bj\xc3\xb6rk"      /* NFC */
#define BJORK_NFD "Bjo\xcc\x88rk" /* NFD: o + U+0308 */
#define SAKAMOTO "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"
#define JOGA "J\xc3\xb3ga"

static const char *const json_hdr[] = {JSON_HDR, NULL};

struct path_fx {
  struct it_fixture *f;
  char dir[64], dl[128], lib[128], peer[128], tmp[128], quar[128];
};

static struct path_fx x;

static int setup(void **state)
{
  if (it_setup(state))
    return -1;
  memset(&x, 0, sizeof x);
  x.f = *state;
  snprintf(x.dir, sizeof x.dir, "/tmp/test_automation_path.XXXXXX");
  if (!mkdtemp(x.dir) || !af_available())
    return -1;
  snprintf(x.dl, sizeof x.dl, "%s/slskd", x.dir);
  snprintf(x.lib, sizeof x.lib, "%s/music", x.dir);
  snprintf(x.peer, sizeof x.peer, "%s/peer", x.dir);
  snprintf(x.tmp, sizeof x.tmp, "%s/tmp", x.dir);
  snprintf(x.quar, sizeof x.quar, "%s/quarantine", x.dir);
  return mkdir(x.dl, 0755) | mkdir(x.lib, 0755) | mkdir(x.peer, 0755) |
             mkdir(x.tmp, 0755)
           ? -1
           : 0;
}

static int teardown(void **state)
{
  int rc = it_teardown(state);
  tfs_rm_tree(x.dir);
  return rc;
}

/* ---- the daemon, the monitor, the units ---- */

static int64_t unit_runs(const char *unit, const char **result)
{
  json_t *doc = it_get_json(it_url(x.f, "/api/workers"), NULL);
  json_t *u = it_unit(doc, unit);
  int64_t n = json_integer_value(json_object_get(u, "runs"));
  static char res[32];
  const char *st = json_string_value(json_object_get(u, "state"));
  const char *last = json_string_value(json_object_get(u, "last_result"));
  snprintf(res, sizeof res, "%s",
           st && !strcmp(st, "active") ? "active"
           : last                      ? last
                                       : "");
  if (result)
    *result = res;
  json_decref(doc);
  return n;
}

struct run_wait {
  const char *unit;
  int64_t after;
};

static bool run_done(void *arg)
{
  struct run_wait *w = arg;
  const char *res;
  return unit_runs(w->unit, &res) > w->after && strcmp(res, "active");
}

/* Run now and wait for that run to end (a run-now inside a run is
 * coalesced: wait for it and ask again).  Returns its result. */
static const char *run_unit(const char *unit)
{
  for (int tries = 0; tries < 50; tries++) {
    struct run_wait w = {unit, unit_runs(unit, NULL)};
    char path[96];
    snprintf(path, sizeof path, "/api/workers/%s/run", unit);
    assert_int_equal(hc_request("POST", it_url(x.f, path), NULL, NULL,
                                &x.f->r),
                     SS_OK);
    IT_ASSERT_STATUS(&x.f->r, 202);
    bool busy = strstr(buf_cstr(&x.f->r.body), "\"already_running\":true");
    if (!it_wait_until(run_done, &w, WAIT_MS))
      fail_msg("no finished %s run", unit);
    if (!busy) {
      const char *res;
      unit_runs(unit, &res);
      return res;
    }
  }
  fail_msg("%s never took a run-now", unit);
  return "";
}

/* The unit's first finished run after the start or the login. */
static bool ran(void *arg)
{
  const char *res;
  unit_runs(arg, &res);
  return !strcmp(res, "ok") || !strcmp(res, "error") ||
         !strcmp(res, "skipped");
}

static void start(const char *automation, bool login)
{
  struct buf ini;
  assert_int_equal(fake_all_start(&x.f->fa, KEY), SS_OK);
  buf_init(&ini, 8192);
  fake_all_ini(&x.f->fa, KEY, &ini);
  buf_printf(&ini,
             "[spotify]\nclient_id = test-client-id\n"
             "client_secret = test-client-secret\n"
             "[musicbrainz]\ncontact = https://soulspot.test/contact\n"
             "[probe]\ninterval_seconds = 3600\n"
             "[download]\npoll_interval_seconds = 300\n"
             "slskd_download_path = %s\ntemp_path = %s\n"
             "[library]\npath = %s\nquarantine_path = %s\n"
             "[automation]\n%s",
             x.dl, x.tmp, x.lib, x.quar, automation);
  fake_slskd_set_download_dir(x.f->fa.slskd, x.dl);
  int rc = daemon_start(&x.f->d, buf_cstr(&ini), NULL);
  buf_free(&ini);
  assert_int_equal(rc, SS_OK);
  assert_true(it_wait_until(ran, "download_monitor", WAIT_MS));
  if (!login)
    return;
  char body[256], loc[512];
  snprintf(body, sizeof body,
           "{\"spotify.redirect_uri\":\"%s/auth/spotify/callback\"}",
           x.f->d.url);
  assert_int_equal(it_patch_settings(x.f, body), SS_OK);
  IT_ASSERT_STATUS(&x.f->r, 200);
  assert_int_equal(fake_spotify_browser_login(x.f->fa.spotify, x.f->d.url,
                                              false, false, loc, sizeof loc),
                   SS_OK);
  assert_string_equal(loc, "/settings?tab=spotify&spotify_login=ok");
  /* the login re-runs the watchlist once (nothing watched yet) */
  assert_true(it_wait_until(ran, "automation.watchlist", WAIT_MS));
}

static json_t *get(const char *path)
{
  long status = 0;
  json_t *doc = it_get_json(it_url(x.f, path), &status);
  assert_non_null(doc);
  if (status != 200)
    fail_msg("GET %s: HTTP %ld", path, status);
  return doc;
}

static json_t *post(const char *path, const char *body, long want)
{
  assert_int_equal(hc_request("POST", it_url(x.f, path), json_hdr, body,
                              &x.f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&x.f->r, want);
  json_t *doc = it_parse(&x.f->r);
  assert_non_null(doc);
  return doc;
}

/* The Wanted items of source (borrowed list in *doc, caller decrefs). */
static json_t *wanted(const char *source)
{
  char path[96];
  snprintf(path, sizeof path, "/api/wanted?source=%s&limit=200", source);
  return get(path);
}

struct imported_arg {
  const char *source;
  int want;
};

static int count_imported(const char *source)
{
  json_t *doc = wanted(source);
  size_t i;
  json_t *it;
  int n = 0;
  json_array_foreach(json_object_get(doc, "items"), i, it)
  {
    n += !strcmp(json_string_value(json_object_get(it, "state")), "imported");
  }
  json_decref(doc);
  return n;
}

/* Polls the Download Monitor (each poll one run now) until `want` items
 * of source are imported. */
static void poll_until_imported(const char *source, int want)
{
  for (int i = 0; i < MAX_POLLS; i++) {
    if (count_imported(source) >= want)
      return;
    const char *res = run_unit("download_monitor");
    if (strcmp(res, "ok") && strcmp(res, "idle"))
      fprintf(stderr, "download_monitor run: %s\n", res);
  }
  json_t *doc = wanted(source);
  char *dump = json_dumps(doc, JSON_INDENT(1));
  json_decref(doc);
  fail_msg("not %d imported %s items after %d polls: %s", want, source,
           MAX_POLLS, dump);
}

/* ---- files ---- */

/* A real FLAC (or MP3 by the extension) rendered into path. */
static void render(const char *path, const char *artist, const char *album,
                   const char *title, int track, int tune, const char *args)
{
  char dir[512];
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = '\0';
  assert_int_equal(fs_mkdir_p(dir), SS_OK);
  struct af_spec s = {.title = title,
                      .artist = artist,
                      .album_artist = artist,
                      .album = album,
                      .date = "2099",
                      .track = track,
                      .seconds = 2,
                      .tune = tune,
                      .args = args};
  if (af_make(path, &s))
    fail_msg("ffmpeg could not render %s", path);
}

/* Shares a rendered file as peer "user" under remote (backslashes). */
static void share(const char *user, const char *remote, const char *local,
                  int bit_depth)
{
  struct stat st;
  assert_int_equal(stat(local, &st), 0);
  fake_slskd_add_file(x.f->fa.slskd,
                      &(struct fake_sk_file){user, remote, st.st_size, 0,
                                             bit_depth, 44100, 2, false, local,
                                             FAKE_SK_OK});
}

static bool same_bytes(const char *path, const unsigned char *want, size_t len)
{
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return false;
  unsigned char *got = malloc(len + 1);
  size_t n = fread(got, 1, len + 1, fp);
  fclose(fp);
  bool same = n == len && !memcmp(got, want, len);
  free(got);
  return same;
}

/* ---- new releases, end to end ---- */

struct release {
  const char *artist_id, *artist, *tag_artist, *mb_artist, *rg, *release;
  const char *album, *date, *tracks[2], *folder;
};

static const struct release releases[] = {
  {BJORK_ID,
   BJORK,
   BJORK_NFD,
   FAKE_MB_BJORK,
   "0b0c0d0e-6666-4777-8888-000000000001",
   "0b0c0d0e-7777-4888-8999-000000000001",
   "Fossora",
   "2099-09-30",
   {"Atopos", "Ovule"},
   "@@nfd\\Music\\Bjork\\Fossora (2099)"},
  {SAKAMOTO_ID,
   SAKAMOTO,
   SAKAMOTO,
   FAKE_MB_SAKAMOTO,
   "0b0c0d0e-6666-4777-8888-000000000002",
   "0b0c0d0e-7777-4888-8999-000000000002",
   "12",
   "2099-01-17",
   {"20220123", "20220207"},
   "@@jp\\Music\\" SAKAMOTO "\\12 (2099)"},
  {ACDC_ID,
   "AC/DC",
   "AC/DC",
   FAKE_MB_ACDC,
   "0b0c0d0e-6666-4777-8888-000000000003",
   "0b0c0d0e-7777-4888-8999-000000000003",
   "Power Up",
   "2099-11-13",
   {"Realize", "Shot in the Dark"},
   "@@rock\\Music\\AC-DC\\Power Up (2099)"},
};
#define N_RELEASES (sizeof releases / sizeof releases[0])

/* Publishes r on Spotify and MusicBrainz, its cover on the archive, and
 * its two tracks (real FLAC files) on a peer. */
static void publish(const struct release *r, size_t k)
{
  struct fake_spotify_release sp = {r->artist_id, r->artist, r->album, r->date,
                                    "day",        "album",   2,        NULL};
  fake_spotify_add_release(x.f->fa.spotify, &sp, NULL, 0);
  assert_int_equal(fake_musicbrainz_add_release_group(x.f->fa.musicbrainz,
                                                      r->mb_artist, r->rg,
                                                      r->album, "Album",
                                                      r->date),
                   SS_OK);
  assert_int_equal(fake_coverart_add(x.f->fa.coverart, r->rg, r->release),
                   SS_OK);
  char peer[64];
  snprintf(peer, sizeof peer, "peer%zu", k);
  for (int t = 0; t < 2; t++) {
    char local[512], remote[512];
    snprintf(local, sizeof local, "%s/%zu/%d.flac", x.peer, k, t + 1);
    render(local, r->tag_artist, r->album, r->tracks[t], t + 1, t, NULL);
    snprintf(remote, sizeof remote, "%s\\%02d - %s.flac", r->folder, t + 1,
             r->tracks[t]);
    share(peer, remote, local, 16);
  }
}

static int64_t watch(const char *spotify_id, const char *mbid)
{
  char body[256];
  snprintf(body, sizeof body,
           "{\"spotify_artist_id\":\"%s\",\"mb_artist_id\":\"%s\"}",
           spotify_id, mbid);
  json_t *doc = post("/api/watchlist", body, 201);
  int64_t id = json_integer_value(json_object_get(doc, "id"));
  json_decref(doc);
  return id;
}

/* The library folder of the first imported file of request id. */
static void album_folder(int64_t id, char *out, size_t n)
{
  char path[64];
  snprintf(path, sizeof path, "/api/downloads/%lld", (long long)id);
  json_t *doc = get(path);
  IT_ASSERT_JSON_STR(doc, "state", "completed");
  IT_ASSERT_JSON_INT(doc, "files_imported", 2);
  json_t *files = json_object_get(doc, "files");
  const char *lp = json_string_value(
    json_object_get(json_array_get(files, 0), "library_path"));
  assert_non_null(lp);
  assert_true(lp[0] != '\0');
  if (lp[0] == '/')
    snprintf(out, n, "%s", lp);
  else
    snprintf(out, n, "%s/%s", x.lib, lp);
  *strrchr(out, '/') = '\0';
  json_decref(doc);
}

static void test_new_release_to_library(void **state)
{
  (void)state;
  start("watchlist_enabled = true\nwatchlist_interval_minutes = 1440\n", true);
  for (size_t k = 0; k < N_RELEASES; k++) {
    watch(releases[k].artist_id, releases[k].mb_artist);
    publish(&releases[k], k);
  }
  /* the watchlist wants each new album once, with both ids */
  const char *res = run_unit("automation.watchlist");
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s", res);
  json_t *doc = wanted("watchlist");
  IT_ASSERT_JSON_INT(doc, "total", (json_int_t)N_RELEASES);
  int64_t req[N_RELEASES];
  for (size_t k = 0; k < N_RELEASES; k++) {
    json_t *it = it_item_titled(doc, releases[k].album);
    if (!it)
      fail_msg("%s is not wanted", releases[k].album);
    IT_ASSERT_JSON_STR(it, "artist", releases[k].artist);
    IT_ASSERT_JSON_STR(it, "mb_id", releases[k].rg);
    assert_true(strlen(json_string_value(json_object_get(it, "spotify_id"))));
    IT_ASSERT_JSON_BOOL(it, "auto_download", true);
    /* the watchlist run dispatched it at once */
    IT_ASSERT_JSON_STR(it, "state", "searching");
    req[k] = json_integer_value(json_object_get(it, "request_id"));
    assert_true(req[k] > 0);
  }
  json_decref(doc);
  /* each download request carries the release group */
  for (size_t k = 0; k < N_RELEASES; k++) {
    char path[64];
    snprintf(path, sizeof path, "/api/downloads/%lld", (long long)req[k]);
    doc = get(path);
    IT_ASSERT_JSON_STR(doc, "kind", "album");
    IT_ASSERT_JSON_STR(doc, "mb_release_group_id", releases[k].rg);
    json_decref(doc);
  }
  /* search, transfer, import: every item reaches imported */
  poll_until_imported("watchlist", (int)N_RELEASES);
  char last[512];
  fake_slskd_last_search(x.f->fa.slskd, last, sizeof last);
  assert_true(last[0] != '\0');
  assert_int_equal(fake_slskd_transfer_count(x.f->fa.slskd), 2 * N_RELEASES);
  size_t img_len;
  const unsigned char *img = fake_coverart_image(false, &img_len);
  for (size_t k = 0; k < N_RELEASES; k++) {
    char folder[1024], cover[1100];
    album_folder(req[k], folder, sizeof folder);
    snprintf(cover, sizeof cover, "%s/cover.jpg", folder);
    if (!same_bytes(cover, img, img_len))
      fail_msg("no cover.jpg from the archive in %s", folder);
    /* named by the files' own tags (Björk's in NFD) */
    if (!strstr(folder, releases[k].album) ||
        (k == 0 && !strstr(folder, BJORK_NFD)))
      fail_msg("album folder %s", folder);
  }
  doc = wanted("watchlist");
  json_t *it = it_item_titled(doc, "Fossora");
  assert_non_null(strstr(json_string_value(json_object_get(it, "reason")),
                         "in the library (2 of 2 files imported)"));
  json_decref(doc);

  /* after a restart nothing is wanted or requested again */
  doc = get("/api/downloads");
  json_int_t downloads = json_integer_value(json_object_get(doc, "total"));
  json_decref(doc);
  assert_int_equal(downloads, (json_int_t)N_RELEASES);
  assert_int_equal(daemon_restart(&x.f->d), SS_OK);
  res = run_unit("automation.watchlist");
  if (strcmp(res, "ok"))
    fail_msg("watchlist run after the restart: %s", res);
  run_unit("download_monitor");
  doc = wanted("watchlist");
  IT_ASSERT_JSON_INT(doc, "total", (json_int_t)N_RELEASES);
  json_decref(doc);
  assert_int_equal(count_imported("watchlist"), (int)N_RELEASES);
  doc = get("/api/downloads");
  IT_ASSERT_JSON_INT(doc, "total", downloads);
  json_decref(doc);
}

/* ---- quality upgrade, end to end ---- */

/* The resolved quality-upgrade group (a new reference), or NULL. */
static json_t *upgrade_group(void)
{
  json_t *doc = get("/api/library/duplicates?status=resolved");
  size_t i;
  json_t *g, *found = NULL;
  json_array_foreach(json_object_get(doc, "groups"), i, g)
  {
    if (!strcmp(json_string_value(json_object_get(g, "method")),
                "quality-upgrade"))
      found = json_incref(g);
  }
  json_decref(doc);
  return found;
}

/* The duplicate detector's scan counted at least *(int *)arg tracks. */
static bool scanned(void *arg)
{
  json_t *doc = get("/api/workers/status");
  json_t *d = json_object_get(it_worker(doc, "duplicate_detector"), "details");
  bool ok = json_integer_value(json_object_get(d, "tracks_scanned")) >=
            *(int *)arg;
  json_decref(doc);
  return ok;
}

static void test_quality_upgrade_to_library(void **state)
{
  (void)state;
  char mp3[512], qfile[512], want_flac[512], peer_flac[512];
  snprintf(mp3, sizeof mp3, "%s/" BJORK "/Homogenic (1997)/05 " JOGA ".mp3",
           x.lib);
  snprintf(want_flac, sizeof want_flac,
           "%s/" BJORK "/Homogenic (1997)/05 " JOGA ".flac", x.lib);
  render(mp3, BJORK, "Homogenic", JOGA, 5, 3, "-b:a 128k");
  snprintf(peer_flac, sizeof peer_flac, "%s/joga.flac", x.peer);
  render(peer_flac, BJORK, "Homogenic", JOGA, 5, 3, NULL);
  start("duplicate_detection_enabled = true\n"
        "quality_upgrade_enabled = true\n"
        "quality_upgrade_interval_hours = 168\n"
        "quality_profile = high\n",
        false);
  share("flacpeer", "@@flac\\Music\\Bjork\\Homogenic\\05 - " JOGA ".flac",
        peer_flac, 16);
  /* the scanner measured the MP3 */
  assert_true(it_wait_until(scanned, &(int){1}, WAIT_MS));
  const char *res = run_unit("automation.quality_upgrade");
  if (strcmp(res, "ok"))
    fail_msg("quality upgrade run: %s", res);
  json_t *doc = wanted("quality_upgrade");
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_t *it = json_array_get(json_object_get(doc, "items"), 0);
  IT_ASSERT_JSON_STR(it, "title", JOGA);
  assert_non_null(
    strstr(json_string_value(json_object_get(it, "current_quality")), "mp3"));
  json_decref(doc);
  poll_until_imported("quality_upgrade", 1);

  /* in place: the FLAC has the MP3's folder and name, the MP3 is in the
   * quarantine under a resolved quality-upgrade group */
  assert_true(tfs_exists(want_flac));
  assert_false(tfs_exists(mp3));
  json_t *g = upgrade_group();
  if (!g)
    fail_msg("no resolved quality-upgrade group");
  json_t *q = json_array_get(json_object_get(g, "quarantine"), 0);
  assert_non_null(q);
  const char *orig = json_string_value(json_object_get(q, "original_path"));
  assert_non_null(strstr(orig, "05 " JOGA ".mp3"));
  const char *qpath = json_string_value(json_object_get(q, "quarantine_path"));
  snprintf(qfile, sizeof qfile, "%s%s%s", qpath[0] == '/' ? "" : x.quar,
           qpath[0] == '/' ? "" : "/", qpath);
  assert_true(tfs_exists(qfile));
  /* the tags are kept: the new copy is the same song */
  size_t i;
  json_t *m;
  bool seen_flac = false;
  json_array_foreach(json_object_get(g, "members"), i, m)
  {
    if (strcmp(json_string_value(json_object_get(m, "codec")), "flac"))
      continue;
    seen_flac = true;
    IT_ASSERT_JSON_STR(m, "title", JOGA);
    IT_ASSERT_JSON_STR(m, "artist", BJORK);
    IT_ASSERT_JSON_STR(m, "album", "Homogenic");
  }
  assert_true(seen_flac);
  int64_t gid = json_integer_value(json_object_get(g, "id"));
  json_decref(g);

  /* undo: the MP3 is back where it was */
  char path[96];
  snprintf(path, sizeof path, "/api/library/duplicates/%lld/undo",
           (long long)gid);
  doc = post(path, "", 200);
  IT_ASSERT_JSON_BOOL(doc, "ok", true);
  json_decref(doc);
  assert_true(tfs_exists(mp3));
}

/* ---- a partly owned album ---- */

static void test_partly_owned_album(void **state)
{
  (void)state;
  static const char *const names[] = {"Atopos", "Ovule", "Mycelia", NULL};
  for (int t = 0; t < 2; t++) {
    char path[512];
    snprintf(path, sizeof path, "%s/" BJORK_NFD "/Fossora (2099)/%02d %s.flac",
             x.lib, t + 1, names[t]);
    render(path, BJORK_NFD, "Fossora", names[t], t + 1, t, NULL);
  }
  start("watchlist_enabled = true\nwatchlist_interval_minutes = 1440\n"
        "duplicate_detection_enabled = true\n",
        true);
  assert_true(it_wait_until(scanned, &(int){2}, WAIT_MS));
  json_t *doc = post("/api/watchlist",
                     "{\"spotify_artist_id\":\"" BJORK_ID "\","
                     "\"auto_download\":false}",
                     201);
  json_decref(doc);
  struct fake_spotify_release sp = {BJORK_ID, BJORK,   "Fossora", "2099-09-30",
                                    "day",    "album", 3,         names};
  fake_spotify_add_release(x.f->fa.spotify, &sp, NULL, 0);
  /* a truncated track list: the watch says why, nothing is wanted (not
   * the whole album either) */
  fake_spotify_fault(x.f->fa.spotify, FSP_ALBUM_TRACKS, 0, FSF_TRUNCATED, 1,
                     0);
  const char *res = run_unit("automation.watchlist");
  assert_string_equal(res, "error");
  doc = get("/api/watchlist");
  const char *why = json_string_value(
    json_object_get(json_array_get(json_object_get(doc, "items"), 0),
                    "last_error"));
  if (!why || !strstr(why, "track list of \"Fossora\""))
    fail_msg("no readable reason: %s", why ? why : "(none)");
  json_decref(doc);
  doc = wanted("watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 0);
  json_decref(doc);
  /* the next run reads it */
  size_t lists = fake_spotify_count(x.f->fa.spotify, FSP_ALBUM_TRACKS);
  res = run_unit("automation.watchlist");
  if (strcmp(res, "ok"))
    fail_msg("watchlist run: %s", res);
  /* the track list was read, and only the missing track is wanted */
  assert_true(fake_spotify_count(x.f->fa.spotify, FSP_ALBUM_TRACKS) > lists);
  doc = wanted("watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_t *it = json_array_get(json_object_get(doc, "items"), 0);
  IT_ASSERT_JSON_STR(it, "kind", "track");
  IT_ASSERT_JSON_STR(it, "title", "Mycelia");
  IT_ASSERT_JSON_STR(it, "album", "Fossora");
  IT_ASSERT_JSON_STR(it, "artist", BJORK);
  IT_ASSERT_JSON_STR(it, "state", "wanted"); /* auto download off */
  json_decref(doc);
  /* a second run wants nothing more */
  res = run_unit("automation.watchlist");
  assert_string_equal(res, "ok");
  doc = wanted("watchlist");
  IT_ASSERT_JSON_INT(doc, "total", 1);
  json_decref(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_new_release_to_library, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_quality_upgrade_to_library, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_partly_owned_album, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
