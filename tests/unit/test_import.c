/*
 * test_import.c - finished downloads into the library: template rendering
 * and sanitising of hostile tags, source paths, the no-replace move (same
 * file system and the copy path), a whole import of a real FLAC made by
 * ffmpeg (tags -> path, track row linked to the request and its Spotify
 * id), and recovery from every point a crash can leave: journaled only,
 * moved, upserted, copied but source left, file lost, name taken by a
 * foreign file; corrupt audio; missing source; unset folders.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"
#include "audio_fixtures.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "db/db_downloads.h"
#include "db/db_library.h"
#include "downloads/requests.h"
#include "clients/backoff.h"
#include "clients/coverart.h"
#include "clients/http_client.h"
#include "config/settings.h"
#include "fake_all.h"
#include "library/cover.h"
#include "library/import.h"
#include "library/quarantine.h"
#include "media/media.h"

#define REMOTE "@@peer\\Music\\Band\\Album (2013)\\03 - Song.flac"

/* ---- pure parts ---- */

static const char *render(const char *tmpl, const struct import_fields *f)
{
  static char out[IMPORT_PATH_MAX + 64];
  if (import_render(tmpl, f, out, sizeof out) != SS_OK)
    return NULL;
  return out;
}

static void test_render(void **state)
{
  (void)state;
  const char *tmpl = "{albumartist}/{album} ({year})/{disc}-{track} "
                     "{title}.{ext}";
  struct import_fields f = {"Band", "Band feat. X", "Album", "Song",
                            "flac", 2013,           1,       3};
  assert_string_equal(render(tmpl, &f), "Band/Album (2013)/1-03 Song.flac");
  f.year = 0; /* no "()" left behind */
  assert_string_equal(render(tmpl, &f), "Band/Album/1-03 Song.flac");
  struct import_fields evil = {"../..",
                               "x",
                               "a/b\\c",
                               "..\x01\x1f"
                               "Tit:le?",
                               "mp3",
                               0,
                               0,
                               0};
  assert_string_equal(render(tmpl, &evil), "a-b-c/1-00 ..Tit_le_.mp3");
  struct import_fields dots = {"...", "x", ".hidden", "t", "ogg", 0, 2, 1};
  assert_string_equal(render(tmpl, &dots), "_hidden/2-01 t.ogg");
  /* {ext} is appended when the template lacks it */
  assert_string_equal(render("{artist} - {title}", &f),
                      "Band feat. X - Song.flac");
  assert_string_equal(render("/abs/{title}.{ext}", &f), "abs/Song.flac");
  assert_null(render("{nothing}", &(struct import_fields){0}));
  char longname[600];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  struct import_fields big = {longname, "a", "b", "c", "flac", 0, 0, 0};
  const char *r = render(tmpl, &big);
  assert_non_null(r);
  assert_int_equal(strcspn(r, "/"), IMPORT_COMPONENT_MAX);

  /* Found by fuzz/fuzz_import_template: the appended extension was not
   * sanitised, so a hostile one could leave the library folder. */
  struct import_fields hostile = {"Band",           "Band", "Album", "Song",
                                  "x/../../../etc", 0,      1,       3};
  assert_string_equal(render(tmpl, &hostile),
                      "Band/Album/1-03 Song.x-..-..-..-etc");
  assert_string_equal(render("{artist} - {title}", &hostile), "Band - Song");
  hostile.ext = "fl\\ac";
  assert_string_equal(render("{title}", &hostile), "Song");
  hostile.ext = "m4a\x01";
  assert_string_equal(render("{title}", &hostile), "Song");
  hostile.ext = "OPUS";
  assert_string_equal(render("{title}", &hostile), "Song.OPUS");
}

static void test_sanitize_and_source(void **state)
{
  (void)state;
  char out[256];
  import_sanitize("  A <b> | \"c\" *  ", out, sizeof out);
  assert_string_equal(out, "A _b_ _ _c_ _");
  import_sanitize("..", out, sizeof out);
  assert_string_equal(out, "_");
  import_sanitize("", out, sizeof out);
  assert_string_equal(out, "_");
  import_sanitize("Caf\xc3\xa9 ()", out, sizeof out);
  assert_string_equal(out, "Caf\xc3\xa9");
  assert_int_equal(import_source_path("/dl", REMOTE, out, sizeof out), SS_OK);
  assert_string_equal(out, "/dl/Album (2013)/03 - Song.flac");
  assert_int_equal(import_source_path("/dl", "x\\..\\f.flac", out, sizeof out),
                   SS_EINVAL);
  assert_int_equal(import_source_path("/dl", "x\\dir\\", out, sizeof out),
                   SS_EINVAL);
  assert_int_equal(import_source_path("/dl", "a.mp3", out, sizeof out), SS_OK);
  assert_string_equal(out, "/dl/a.mp3");
}

/* ---- fixture: folders, store, one completed file ---- */

struct fx {
  char root[64];
  char dl[128], lib[128], flac[160];
  struct db *db;
  struct import_config cfg;
  int64_t request_id;
};

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void mkdirs(const char *path)
{
  char cmd[512];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
  assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
  struct fx *x = xcalloc(1, sizeof *x);
  snprintf(x->root, sizeof x->root, "/tmp/ss-import-XXXXXX");
  if (!mkdtemp(x->root))
    return -1;
  snprintf(x->dl, sizeof x->dl, "%s/downloads", x->root);
  snprintf(x->lib, sizeof x->lib, "%s/library", x->root);
  snprintf(x->flac, sizeof x->flac, "%s/Album (2013)/03 - Song.flac", x->dl);
  char path[128];
  int version;
  snprintf(path, sizeof path, "%s/t.db", x->root);
  if (db_open(path, &x->db) || db_migrate(x->db, &version))
    return -1;
  snprintf(x->cfg.download_root, sizeof x->cfg.download_root, "%s", x->dl);
  snprintf(x->cfg.library_root, sizeof x->cfg.library_root, "%s", x->lib);
  snprintf(x->cfg.naming_template, sizeof x->cfg.naming_template,
           "{albumartist}/{album} ({year})/{disc}-{track} {title}.{ext}");
  *state = x;
  return 0;
}

static int teardown(void **state)
{
  struct fx *x = *state;
  char cmd[128];
  db_close(x->db);
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->root);
  int rc = system(cmd);
  free(x);
  return rc ? -1 : 0;
}

/* A request with one file in state completed, as after a transfer. */
/* A finished download of one file; its request may name a MusicBrainz
 * release group (rg, "" = none). */
static struct dl_file completed_file_of(struct fx *x, const char *spotify_id,
                                        const char *rg)
{
  struct dl_request r = {.kind = DL_TRACK, .created_ms = 1};
  snprintf(r.mb_release_group_id, sizeof r.mb_release_group_id, "%s", rg);
  snprintf(r.query, sizeof r.query, "Band Song");
  snprintf(r.title, sizeof r.title, "Song");
  snprintf(r.spotify_id, sizeof r.spotify_id, "%s", spotify_id);
  assert_int_equal(db_dl_request_add(x->db, &r, &x->request_id), SS_OK);
  assert_int_equal(db_dl_request_searching(x->db, x->request_id, "s", 2),
                   SS_OK);
  struct dl_cand_file cf = {REMOTE, 1000, ""};
  struct dl_candidate c = {"peer", "@@peer\\Music\\Band\\Album (2013)",
                           "flac", 1000,
                           true,   0,
                           1,      &cf,
                           1};
  assert_int_equal(db_dl_search_done(x->db, x->request_id, &c, 1, "", 3),
                   SS_OK);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, x->request_id, &fl, 1), SS_OK);
  struct dl_file_update u = {.id = fl.v[0].id,
                             .state = "completed",
                             .bytes = 1000,
                             .percent = 100};
  assert_int_equal(db_dl_files_update(x->db, &u, 1, 4), SS_OK);
  struct dl_file f;
  assert_int_equal(db_dl_file_get(x->db, fl.v[0].id, &f), SS_OK);
  db_dl_files_free(&fl);
  return f;
}

static struct dl_file completed_file(struct fx *x, const char *spotify_id)
{
  return completed_file_of(x, spotify_id, "");
}

static struct dl_file reload(struct fx *x, struct dl_file *f)
{
  int64_t id = f->id;
  db_dl_file_free(f);
  struct dl_file g;
  assert_int_equal(db_dl_file_get(x->db, id, &g), SS_OK);
  return g;
}

static void make_flac(struct fx *x, const char *path)
{
  char dir[256];
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = '\0';
  mkdirs(dir);
  struct af_spec s = {.title = "Song",
                      .artist = "Band",
                      .album_artist = "Band",
                      .album = "Album",
                      .date = "2013",
                      .track = 3,
                      .seconds = 2};
  (void)x;
  assert_int_equal(af_make(path, &s), 0);
}

static const char *expected_dst(struct fx *x)
{
  static char p[256];
  snprintf(p, sizeof p, "%s/Band/Album (2013)/1-03 Song.flac", x->lib);
  return p;
}

static int do_import(struct fx *x, struct dl_file *f, char *err, size_t n)
{
  return import_file(&x->cfg, x->db, f, err, n);
}

static void assert_imported(struct fx *x, struct dl_file *f, const char *dst)
{
  *f = reload(x, f);
  assert_string_equal(f->state, "imported");
  struct library_track *t = xcalloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(x->db, dst, t), SS_OK);
  assert_int_equal(t->download_id, x->request_id);
  assert_string_equal(t->media.title, "Song");
  assert_string_equal(t->media.codec, "flac");
  struct library_counts c;
  assert_int_equal(db_library_counts(x->db, &c), SS_OK);
  assert_int_equal(c.live, 1); /* never a duplicate row */
  free(t);
  assert_true(tfs_exists(dst));
}

/* ---- moving ---- */

static void test_move(void **state)
{
  struct fx *x = *state;
  char src[200], dst[200], src2[200], err[200];
  mkdirs(x->dl);
  snprintf(src, sizeof src, "%s/a.flac", x->dl);
  snprintf(dst, sizeof dst, "%s/deep/er/a.flac", x->lib);
  write_file(src, "hello");
  mkdirs(x->lib);
  assert_int_equal(fs_move_beneath(x->dl, src, x->lib, dst, "import-1", false,
                                   err, sizeof err),
                   SS_OK);
  assert_false(tfs_exists(src));
  assert_true(tfs_exists(dst));
  /* never replaces */
  write_file(src, "other");
  assert_int_equal(fs_move_beneath(x->dl, src, x->lib, dst, "import-1", false,
                                   err, sizeof err),
                   SS_EBUSY);
  assert_int_equal(fs_move_beneath(x->dl, src, x->lib, dst, "import-1", true,
                                   err, sizeof err),
                   SS_EBUSY);
  assert_true(tfs_exists(src));
  /* the cross-file-system path: copy, fsync, link, remove the source */
  snprintf(src2, sizeof src2, "%s/b.flac", x->dl);
  snprintf(dst, sizeof dst, "%s/b.flac", x->lib);
  write_file(src2, "copied bytes");
  assert_int_equal(fs_move_beneath(x->dl, src2, x->lib, dst, "import-7", true,
                                   err, sizeof err),
                   SS_OK);
  assert_false(tfs_exists(src2));
  char buf[32] = "";
  FILE *f = fopen(dst, "r");
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  assert_string_equal(buf, "copied bytes");
  char tmp[220];
  snprintf(tmp, sizeof tmp, "%s/.soulspot-import-7.part", x->lib);
  assert_false(tfs_exists(tmp));
}

/* ---- whole imports ---- */

static void test_import_whole(void **state)
{
  struct fx *x = *state;
  char err[256] = "";
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "spotify123");
  int rc = do_import(x, &f, err, sizeof err);
  if (rc)
    fprintf(stderr, "import: %s\n", err);
  assert_int_equal(rc, SS_OK);
  assert_false(tfs_exists(x->flac));
  assert_imported(x, &f, expected_dst(x));
  struct library_track *t = xcalloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(x->db, expected_dst(x), t), SS_OK);
  assert_string_equal(t->spotify_track_id, "spotify123");
  free(t);
  db_dl_file_free(&f);
}

static void test_import_copy_path(void **state)
{
  struct fx *x = *state;
  char err[256] = "";
  x->cfg.force_copy = true;
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "");
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  assert_false(tfs_exists(x->flac));
  assert_imported(x, &f, expected_dst(x));
  db_dl_file_free(&f);
}

/* Journals the import as plan() would, without moving anything. */
static void journal(struct fx *x, struct dl_file *f, const char *dst)
{
  assert_int_equal(db_dl_import_begin(x->db, f->id, x->flac, dst, 5), SS_OK);
  *f = reload(x, f);
  assert_string_equal(f->state, "importing");
}

static void test_resume_journaled(void **state)
{
  struct fx *x = *state;
  char err[256];
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "");
  journal(x, &f, expected_dst(x)); /* crash before the move */
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  assert_imported(x, &f, expected_dst(x));
  db_dl_file_free(&f);
}

static void test_resume_moved_and_upserted(void **state)
{
  struct fx *x = *state;
  char err[256];
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "");
  journal(x, &f, expected_dst(x));
  char dir[256];
  snprintf(dir, sizeof dir, "%s/Band/Album (2013)", x->lib);
  mkdirs(dir);
  assert_int_equal(rename(x->flac, expected_dst(x)), 0); /* crash: moved */
  /* ... and even upserted, before the file row said "imported" */
  struct library_track *t = xcalloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s", expected_dst(x));
  int64_t first = 0, again = 0;
  assert_int_equal(db_library_track_upsert(x->db, t, &first), SS_OK);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  assert_imported(x, &f, expected_dst(x));
  assert_int_equal(db_library_track_by_path(x->db, expected_dst(x), t), SS_OK);
  again = t->id;
  assert_int_equal(again, first); /* the same row, updated */
  free(t);
  db_dl_file_free(&f);
}

static void test_resume_copied_source_left(void **state)
{
  struct fx *x = *state;
  char err[256], cmd[600];
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "");
  journal(x, &f, expected_dst(x));
  char dir[256];
  snprintf(dir, sizeof dir, "%s/Band/Album (2013)", x->lib);
  mkdirs(dir);
  /* crash after link, before unlink (the copy keeps the times) */
  snprintf(cmd, sizeof cmd, "cp --preserve=timestamps '%s' '%s'", x->flac,
           expected_dst(x));
  assert_int_equal(system(cmd), 0);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  assert_false(tfs_exists(x->flac)); /* the leftover source is gone */
  assert_imported(x, &f, expected_dst(x));
  db_dl_file_free(&f);
}

static void test_resume_name_taken(void **state)
{
  struct fx *x = *state;
  char err[256], dir[256], alt[300];
  make_flac(x, x->flac);
  struct dl_file f = completed_file(x, "");
  journal(x, &f, expected_dst(x));
  snprintf(dir, sizeof dir, "%s/Band/Album (2013)", x->lib);
  mkdirs(dir);
  write_file(expected_dst(x), "someone else's file");
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  snprintf(alt, sizeof alt, "%s/1-03 Song (2).flac", dir);
  assert_imported(x, &f, alt);
  FILE *fp = fopen(expected_dst(x), "r");
  char buf[64] = "";
  assert_non_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  assert_string_equal(buf, "someone else's file"); /* untouched */
  db_dl_file_free(&f);
}

static void test_resume_lost(void **state)
{
  struct fx *x = *state;
  char err[256];
  struct dl_file f = completed_file(x, "");
  journal(x, &f, expected_dst(x)); /* neither file exists */
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_EIO);
  assert_non_null(strstr(err, "vanished"));
  db_dl_file_free(&f);
}

/* The artist folder in the library is a symlink to elsewhere (made
 * before the import, or swapped in after it was journaled): the import
 * refuses, nothing is written outside, the download stays. */
static void symlinked_artist_folder(struct fx *x, bool journaled)
{
  char err[256] = "", outside[160], band[160];
  make_flac(x, x->flac);
  snprintf(outside, sizeof outside, "%s/outside", x->root);
  snprintf(band, sizeof band, "%s/Band", x->lib);
  mkdirs(outside);
  mkdirs(x->lib);
  assert_int_equal(symlink(outside, band), 0);
  struct dl_file f = completed_file(x, "");
  if (journaled)
    journal(x, &f, expected_dst(x));
  int rc = do_import(x, &f, err, sizeof err);
  assert_int_not_equal(rc, SS_OK);
  if (!strstr(err, "symbolic link"))
    fail_msg("unreadable refusal: %s", err);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", outside);
  assert_int_equal(system(cmd), 0); /* nothing written outside */
  assert_true(tfs_exists(x->flac));
  db_dl_file_free(&f);
}

static void test_import_refuses_symlinked_artist_folder(void **state)
{
  symlinked_artist_folder(*state, false);
  fs_force_component_walk(true); /* the same without openat2 */
  struct fx *x = *state;
  char band[160];
  snprintf(band, sizeof band, "%s/Band", x->lib);
  assert_int_equal(unlink(band), 0);
  tfs_rm_tree(x->lib);
  char outside[160];
  snprintf(outside, sizeof outside, "%s/outside", x->root);
  tfs_rm_tree(outside);
  symlinked_artist_folder(x, true);
  fs_force_component_walk(false);
}

static void test_import_problems(void **state)
{
  struct fx *x = *state;
  char err[256];
  struct dl_file f = completed_file(x, "");
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_ENOTFOUND);
  assert_non_null(strstr(err, "finished file not found at"));
  char dir[256];
  snprintf(dir, sizeof dir, "%s/Album (2013)", x->dl);
  mkdirs(dir);
  assert_int_equal(af_make_garbage(x->flac, 4096), 0);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_EPROTO);
  assert_non_null(strstr(err, "not a readable audio file"));
  assert_true(tfs_exists(x->flac)); /* left where it was */
  x->cfg.library_root[0] = '\0';
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_ESTATE);
  assert_non_null(strstr(err, "library.path is not set"));
  db_dl_file_free(&f);
}

/* ---- quality upgrade: in place, the old file to the quarantine ---- */

#define BJORK "Bj\xc3\xb6rk"
#define JOGA "J\xc3\xb3ga"
#define UP_REMOTE "@@peer\\Music\\" BJORK "\\Homogenic\\05 - " JOGA ".flac"

/* A library MP3 at 128 kbit/s (probed and stored like the scanner does);
 * its path in out. */
static int64_t library_mp3(struct fx *x, char *out, size_t n)
{
  snprintf(out, n, "%s/" BJORK "/Homogenic (1997)/1-05 " JOGA ".mp3", x->lib);
  char dir[256];
  snprintf(dir, sizeof dir, "%s", out);
  *strrchr(dir, '/') = '\0';
  mkdirs(dir);
  struct af_spec s = {.title = JOGA,
                      .artist = BJORK,
                      .album_artist = BJORK,
                      .album = "Homogenic",
                      .date = "1997",
                      .track = 5,
                      .seconds = 2,
                      .args = "-b:a 128k"};
  assert_int_equal(af_make(out, &s), 0);
  struct library_track *t = xcalloc(1, sizeof *t);
  struct stat st;
  char err[200];
  assert_int_equal(stat(out, &st), 0);
  snprintf(t->path, sizeof t->path, "%s", out);
  t->size = st.st_size;
  assert_int_equal(media_probe(out, &t->media, err, sizeof err), SS_OK);
  snprintf(t->spotify_track_id, sizeof t->spotify_track_id, "sp0005");
  int64_t id = 0;
  assert_int_equal(db_library_track_upsert(x->db, t, &id), SS_OK);
  free(t);
  return id;
}

/* An upgrade request for track_id whose one file (remote) finished; the
 * downloaded file (made by the caller) lies at DOWNLOADS/Homogenic/. */
static struct dl_file upgrade_file(struct fx *x, int64_t track_id)
{
  char err[200];
  struct dl_new in = {.query = BJORK " - " JOGA, .upgrade_track_id = track_id};
  assert_int_equal(requests_create(x->db, &in, 1, &x->request_id, err,
                                   sizeof err),
                   SS_OK);
  struct dl_upgrade up;
  assert_int_equal(db_dl_request_upgrade(x->db, x->request_id, &up), SS_OK);
  assert_int_equal(up.track_id, track_id);
  assert_string_equal(up.format, "mp3"); /* measured, not the name */
  assert_true(up.bitrate_kbps >= 120 && up.bitrate_kbps <= 136);
  assert_int_equal(db_dl_request_searching(x->db, x->request_id, "s", 2),
                   SS_OK);
  struct dl_cand_file cf = {UP_REMOTE, 1000, ""};
  struct dl_candidate c = {"peer", "@@peer\\Music\\" BJORK "\\Homogenic",
                           "flac", 1000,
                           true,   0,
                           1,      &cf,
                           1};
  assert_int_equal(db_dl_search_done(x->db, x->request_id, &c, 1, "", 3),
                   SS_OK);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, x->request_id, &fl, 1), SS_OK);
  struct dl_file_update u = {.id = fl.v[0].id,
                             .state = "completed",
                             .bytes = 1000,
                             .percent = 100};
  assert_int_equal(db_dl_files_update(x->db, &u, 1, 4), SS_OK);
  struct dl_file f;
  assert_int_equal(db_dl_file_get(x->db, fl.v[0].id, &f), SS_OK);
  db_dl_files_free(&fl);
  return f;
}

static void upgrade_config(struct fx *x)
{
  char err[160];
  snprintf(x->cfg.quarantine_dir, sizeof x->cfg.quarantine_dir,
           "%s/quarantine", x->root);
  assert_int_equal(quality_profile_parse(quality_target_profile("high"),
                                         &x->cfg.upgrade_target, err,
                                         sizeof err),
                   SS_OK);
}

static void downloaded(struct fx *x, const char *args, char *src, size_t n)
{
  snprintf(src, n, "%s/Homogenic/05 - " JOGA ".flac", x->dl);
  char dir[256];
  snprintf(dir, sizeof dir, "%s/Homogenic", x->dl);
  mkdirs(dir);
  struct af_spec s = {.title = JOGA,
                      .artist = BJORK,
                      .album_artist = BJORK,
                      .album = "Homogenic",
                      .date = "1997",
                      .track = 5,
                      .seconds = 2,
                      .tune = 1,
                      .args = args};
  assert_int_equal(af_make(src, &s), 0);
}

static void test_upgrade_in_place(void **state)
{
  struct fx *x = *state;
  char old[512], src[512], want[512], err[300];
  upgrade_config(x);
  int64_t old_id = library_mp3(x, old, sizeof old);
  struct dl_file f = upgrade_file(x, old_id);
  downloaded(x, NULL, src, sizeof src);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  /* in place: the old folder and name, the new extension */
  snprintf(want, sizeof want,
           "%s/" BJORK "/Homogenic (1997)/1-05 " JOGA ".flac", x->lib);
  assert_true(tfs_exists(want));
  assert_false(tfs_exists(old));
  assert_false(tfs_exists(src));
  struct library_track *t = xcalloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(x->db, want, t), SS_OK);
  assert_string_equal(t->media.codec, "flac");
  assert_string_equal(t->spotify_track_id, "sp0005"); /* kept */
  int64_t new_id = t->id;
  assert_int_equal(db_library_track_by_id(x->db, old_id, t), SS_OK);
  assert_true(t->quarantined);
  /* the old copy is in the quarantine, under a resolved group */
  struct library_quarantine_entry e;
  assert_int_equal(db_library_quarantine_of_track(x->db, old_id, &e), SS_OK);
  assert_true(tfs_exists(e.quarantine_path));
  struct library_group g;
  assert_int_equal(db_library_group_get(x->db, e.group_id, &g), SS_OK);
  assert_string_equal(g.status, "resolved");
  assert_string_equal(g.method, "quality-upgrade");
  assert_int_equal(g.keep, new_id);
  f = reload(x, &f);
  assert_string_equal(f.state, "imported");
  db_dl_file_free(&f);
  /* undo brings the old copy back beside the new one */
  struct quarantine_result res;
  assert_int_equal(quarantine_undo(x->db, e.group_id, x->lib,
                                   x->cfg.quarantine_dir, 9, &res),
                   SS_OK);
  assert_true(tfs_exists(old));
  assert_true(tfs_exists(want));
  assert_int_equal(db_library_track_by_id(x->db, old_id, t), SS_OK);
  assert_false(t->quarantined);
  free(t);
}

/* The peer's ".flac" measures as a 128 kbit/s MP3: not better, refused,
 * and the library file stays. */
static void test_upgrade_refuses_not_better(void **state)
{
  struct fx *x = *state;
  char old[512], src[512], err[300];
  upgrade_config(x);
  int64_t old_id = library_mp3(x, old, sizeof old);
  struct dl_file f = upgrade_file(x, old_id);
  downloaded(x, "-c:a libmp3lame -b:a 128k -f mp3", src, sizeof src);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_EPROTO);
  assert_non_null(strstr(err, "not better"));
  assert_true(tfs_exists(old));
  assert_true(tfs_exists(src));
  struct library_quarantine_entry e;
  assert_int_equal(db_library_quarantine_of_track(x->db, old_id, &e),
                   SS_ENOTFOUND);
  db_dl_file_free(&f);
}

/* The library file vanished before the import: a plain import, nothing
 * quarantined. */
static void test_upgrade_old_gone(void **state)
{
  struct fx *x = *state;
  char old[512], src[512], want[512], err[300];
  upgrade_config(x);
  int64_t old_id = library_mp3(x, old, sizeof old);
  struct dl_file f = upgrade_file(x, old_id);
  downloaded(x, NULL, src, sizeof src);
  assert_int_equal(unlink(old), 0);
  assert_int_equal(do_import(x, &f, err, sizeof err), SS_OK);
  snprintf(want, sizeof want,
           "%s/" BJORK "/Homogenic (1997)/1-05 " JOGA ".flac", x->lib);
  assert_true(tfs_exists(want));
  struct library_quarantine_entry e;
  assert_int_equal(db_library_quarantine_of_track(x->db, old_id, &e),
                   SS_ENOTFOUND);
  db_dl_file_free(&f);
}

/* ---- cover art at import (library/cover.h) ---- */

/* A downloaded file of album `album` tagged with MusicBrainz release
 * mbid, imported; returns its album folder in dir. */
static void import_tagged(struct fx *x, const char *album, const char *mbid,
                          char *dir, size_t n)
{
  char args[128], err[256] = "";
  snprintf(args, sizeof args, "-metadata MUSICBRAINZ_ALBUMID=%s", mbid);
  char folder[256];
  snprintf(folder, sizeof folder, "%s", x->flac);
  *strrchr(folder, '/') = '\0';
  mkdirs(folder);
  struct af_spec s = {.title = "Song",
                      .artist = "Bj\xc3\xb6rk",
                      .album_artist = "Bj\xc3\xb6rk",
                      .album = album,
                      .date = "1997",
                      .track = 1,
                      .seconds = 2,
                      .args = args};
  assert_int_equal(af_make(x->flac, &s), 0);
  struct dl_file f = completed_file(x, "");
  int rc = do_import(x, &f, err, sizeof err);
  if (rc)
    fail_msg("import: %s", err);
  f = reload(x, &f);
  assert_string_equal(f.state, "imported"); /* a cover never fails it */
  snprintf(dir, n, "%s/Bj\xc3\xb6rk/%s (1997)", x->lib, album);
  db_dl_file_free(&f);
}

static bool has_cover(const char *dir)
{
  char p[512], q[512];
  snprintf(p, sizeof p, "%s/cover.jpg", dir);
  snprintf(q, sizeof q, "%s/cover.png", dir);
  return tfs_exists(p) || tfs_exists(q);
}

/* The fake archive, coverart.url pointing at it, covers on, nothing
 * remembered. */
static struct fake_coverart *cover_fake_start(void)
{
  struct fake_coverart *fc;
  char err[256];
  assert_int_equal(fake_coverart_start(&fc, 0), SS_OK);
  assert_int_equal(settings_set(S_COVERART_URL, fake_coverart_url(fc), err,
                                sizeof err),
                   SS_OK);
  assert_int_equal(settings_set(S_LIBRARY_SAVE_COVER_ART, "true", err,
                                sizeof err),
                   SS_OK);
  http_host_blocks_reset();
  backoff_reset_all();
  cover_reset();
  return fc;
}

static void test_import_cover_art(void **state)
{
  struct fx *x = *state;
  char err[256], dir[512], path[600];
  struct fake_coverart *fc = cover_fake_start();
  /* the release's front cover lands beside the track, byte for byte */
  import_tagged(x, "Homogenic", FAKE_CAA_RELEASE, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/cover.jpg", dir);
  size_t want_len, len;
  const unsigned char *want = fake_coverart_image(false, &want_len);
  unsigned char *got = xmalloc(want_len + 1);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  len = fread(got, 1, want_len + 1, fp);
  fclose(fp);
  assert_int_equal(len, want_len);
  assert_memory_equal(got, want, len);
  free(got);
  /* 200 MB, the wrong type, a JPEG that is HTML: refused, nothing
   * written, the import itself fine */
  static const struct {
    enum fake_caa_mode mode;
    const char *album;
  } bad[] = {{FAKE_CAA_HUGE, "Huge"},
             {FAKE_CAA_HUGE_CHUNKED, "Huge Chunked"},
             {FAKE_CAA_WRONG_TYPE, "Wrong Type"},
             {FAKE_CAA_FAKE_JPEG, "Fake JPEG"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fake_coverart_set_mode(fc, bad[i].mode);
    import_tagged(x, bad[i].album, FAKE_CAA_RELEASE, dir, sizeof dir);
    if (has_cover(dir))
      fail_msg("a cover was written for mode %d", (int)bad[i].mode);
  }
  /* the reason is readable */
  fake_coverart_set_mode(fc, FAKE_CAA_HUGE);
  cover_reset();
  struct media_info m;
  memset(&m, 0, sizeof m);
  snprintf(m.mb_album_id, sizeof m.mb_album_id, "%s", FAKE_CAA_RELEASE);
  char note[320];
  snprintf(path, sizeof path, "%s/x.flac", dir);
  assert_int_equal(cover_after_import(x->lib, path, &m, note, sizeof note),
                   COVER_FAILED);
  if (!strstr(note, "no cover art for") || !strstr(note, "larger"))
    fail_msg("reason: \"%s\"", note);
  /* setting off: nothing fetched */
  fake_coverart_set_mode(fc, FAKE_CAA_JPEG);
  assert_int_equal(settings_set(S_LIBRARY_SAVE_COVER_ART, "false", err,
                                sizeof err),
                   SS_OK);
  import_tagged(x, "Off", FAKE_CAA_RELEASE, dir, sizeof dir);
  assert_false(has_cover(dir));
  assert_int_equal(settings_set(S_LIBRARY_SAVE_COVER_ART, "true", err,
                                sizeof err),
                   SS_OK);
  /* no MusicBrainz id: nothing to ask for */
  memset(&m, 0, sizeof m);
  assert_int_equal(cover_after_import(x->lib, path, &m, note, sizeof note),
                   COVER_SKIPPED);
  fake_coverart_stop(fc);
  http_host_blocks_reset();
  backoff_reset_all();
}

/* Files without MusicBrainz tags, downloaded for a Wanted release: the
 * request's release group names the album in the library row and brings
 * its cover; a bad (upper-case) id from a caller is refused at creation. */
static void test_import_cover_from_request(void **state)
{
  struct fx *x = *state;
  char err[256] = "", path[600];
  struct fake_coverart *fc = cover_fake_start();
  assert_int_equal(fake_coverart_add(fc,
                                     "0b6c2da8-ac60-4663-beae-"
                                     "bd3dc6dea94b",
                                     FAKE_CAA_RELEASE),
                   SS_OK);
  make_flac(x, x->flac); /* no MusicBrainz tags */
  struct dl_file f = completed_file_of(x, "",
                                       "0b6c2da8-ac60-4663-beae-bd3dc6dea94b");
  assert_string_equal(f.mb_release_group_id,
                      "0b6c2da8-ac60-4663-beae-bd3dc6dea94b");
  int rc = do_import(x, &f, err, sizeof err);
  if (rc)
    fail_msg("import: %s", err);
  assert_imported(x, &f, expected_dst(x));
  struct library_track *t = xcalloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(x->db, expected_dst(x), t), SS_OK);
  assert_string_equal(t->media.mb_release_group_id,
                      "0b6c2da8-ac60-4663-beae-bd3dc6dea94b");
  assert_string_equal(t->media.mb_album_id, "");
  free(t);
  snprintf(path, sizeof path, "%s/Band/Album (2013)/cover.jpg", x->lib);
  assert_true(tfs_exists(path));
  db_dl_file_free(&f);

  /* requests_create checks and canonicalises the ids */
  struct dl_new in =
    {.album = "Band - Album",
     .mb_release_group_id = "0B6C2DA8-AC60-4663-BEAE-BD3DC6DEA94B"};
  int64_t id = 0;
  assert_int_equal(requests_create(x->db, &in, 10, &id, err, sizeof err),
                   SS_OK);
  struct dl_request_view v;
  assert_int_equal(db_dl_request_get(x->db, id, &v), SS_OK);
  assert_string_equal(v.r.mb_release_group_id,
                      "0b6c2da8-ac60-4663-beae-bd3dc6dea94b");
  in.mb_release_id = "../../etc/passwd";
  assert_int_equal(requests_create(x->db, &in, 10, &id, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "mb_release_id must be a MusicBrainz id"));
  fake_coverart_stop(fc);
  http_host_blocks_reset();
}

int main(void)
{
  media_init();
  if (!af_available()) {
    fprintf(stderr, "ffmpeg is required for test_import\n");
    return 1;
  }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_render),
    cmocka_unit_test(test_sanitize_and_source),
    T(test_move),
    T(test_import_whole),
    T(test_import_copy_path),
    T(test_resume_journaled),
    T(test_resume_moved_and_upserted),
    T(test_resume_copied_source_left),
    T(test_resume_name_taken),
    T(test_resume_lost),
    T(test_import_refuses_symlinked_artist_folder),
    T(test_import_problems),
    T(test_upgrade_in_place),
    T(test_upgrade_refuses_not_better),
    T(test_upgrade_old_gone),
    T(test_import_cover_art),
    T(test_import_cover_from_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
