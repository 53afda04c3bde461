/*
 * test_scanner.c - unit tests of the library scanner (library/scanner.c)
 * and the quarantine (library/quarantine.c) on real ffmpeg-made files in a
 * temporary library with a fresh store per test.
 *
 * Covers: incremental scans (unchanged files are not probed, changed ones
 * are, vanished ones are marked gone, nothing is marked gone after a
 * canceled scan), corrupt files and names that are not UTF-8 (counted,
 * skipped, never fatal), symlinks and dot files skipped, the quarantine
 * folder never scanned, hashes only for new or changed files, the
 * fingerprint method finding an untagged copy, and resolve -> quarantine
 * -> rescan finds nothing new -> undo -> undo refusing to overwrite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"
#include "audio_fixtures.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_library.h"
#include "library/dupes.h"
#include "core/fsutil.h"
#include "library/quarantine.h"
#include "library/scanner.h"
#include "media/media.h"

struct fx {
  char dir[64];
  char lib[128];
  char q[128];
  struct db *db;
  int stop_after; /* should_stop turns true after this many polls (0 =
                     never) */
  int polls;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/test_scanner.XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->lib, sizeof fx->lib, "%s/lib", fx->dir);
  snprintf(fx->q, sizeof fx->q, "%s/quarantine", fx->dir);
  char db_path[160];
  snprintf(db_path, sizeof db_path, "%s/s.db", fx->dir);
  int v;
  if (mkdir(fx->lib, 0755) || db_open(db_path, &fx->db) ||
      db_migrate(fx->db, &v))
    return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  db_close(fx->db);
  tfs_rm_tree(fx->dir);
  free(fx);
  return 0;
}

/* lib/<rel>, creating folders on the way. */
static const char *lib_path(struct fx *fx, const char *rel)
{
  static char path[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", fx->lib, rel);
  for (char *p = path[k] + strlen(fx->lib) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path[k], 0755);
      *p = '/';
    }
  return path[k];
}

static void make(struct fx *fx, const char *rel, const char *artist,
                 const char *title, int tune, const char *args)
{
  struct af_spec s = {.artist = artist,
                      .title = title,
                      .tune = tune,
                      .args = args};
  assert_int_equal(af_make(lib_path(fx, rel), &s), 0);
}

static bool stop_cb(void *arg)
{
  struct fx *fx = arg;
  return fx->stop_after && ++fx->polls > fx->stop_after;
}

static int scan(struct fx *fx, bool hash, bool fp, struct scanner_stats *st)
{
  struct scanner_opts o = {.root = fx->lib,
                           .quarantine = fx->q,
                           .want_hash = hash,
                           .want_fingerprint = fp,
                           .batch = 2, /* several transactions */
                           .should_stop = stop_cb,
                           .stop_arg = fx};
  char err[256];
  return scanner_run(fx->db, &o, st, err, sizeof err);
}

static void bump_mtime(const char *path, int64_t sec)
{
  struct timespec t[2] = {{sec, 0}, {sec, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void test_incremental(void **state)
{
  struct fx *fx = *state;
  make(fx, "A/One/01 Song.flac", "A", "Song", 1, NULL);
  make(fx, "A/One/02 Other.mp3", "A", "Other", 2, NULL);
  make(fx, "B/x.ogg", "B", "X", 3, "-c:a libvorbis");
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.files, 3);
  assert_int_equal(st.probed, 3);
  assert_int_equal(st.unreadable, 0);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(fx->db, lib_path(fx, "B/x.ogg"),
                                            t),
                   SS_OK);
  assert_string_equal(t->media.codec, "vorbis");
  assert_string_equal(t->media.artist, "B");
  assert_false(t->gone);
  /* nothing changed: nothing probed */
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.files, 3);
  assert_int_equal(st.probed, 0);
  assert_int_equal(st.unchanged, 3);
  assert_int_equal(st.gone, 0);
  /* one changed, one vanished, one new */
  bump_mtime(lib_path(fx, "A/One/01 Song.flac"), 1000000);
  unlink(lib_path(fx, "A/One/02 Other.mp3"));
  make(fx, "C/new.mp3", "C", "New", 4, NULL);
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.files, 3);
  assert_int_equal(st.probed, 2);
  assert_int_equal(st.gone, 1);
  assert_int_equal(db_library_track_by_path(fx->db,
                                            lib_path(fx, "A/One/02 Other.mp3"),
                                            t),
                   SS_OK);
  assert_true(t->gone);
  /* it comes back unchanged: present again without a probe */
  make(fx, "A/One/02 Other.mp3", "A", "Other", 2, NULL);
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(db_library_track_by_path(fx->db,
                                            lib_path(fx, "A/One/02 Other.mp3"),
                                            t),
                   SS_OK);
  assert_false(t->gone);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.live, 4);
  assert_int_equal(c.gone, 0);
  free(t);
}

static void test_corrupt_files_and_odd_names(void **state)
{
  struct fx *fx = *state;
  make(fx, "good.flac", "A", "Good", 1, NULL);
  make(fx, "we'ird \"name\" ü.mp3", "A", "Weird", 2, NULL);
  assert_int_equal(af_make_garbage(lib_path(fx, "garbage.mp3"), 5000), 0);
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, "trunc.flac"), 2000),
                   0);
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, "empty.mp3"), 0),
                   0);
  /* names that are not UTF-8: a file and a folder with a file inside */
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, "bad\xff.flac"), 1 << 20),
                   0);
  assert_int_equal(mkdir(lib_path(fx, "dir\xfe"), 0755), 0);
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, "dir\xfe/in.flac"), 1 << 20),
                   0);
  /* skipped: dot files, AppleDouble, non-audio, symlinks */
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, "._good.flac"), 100),
                   0);
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"),
                                    lib_path(fx, ".hidden/x.flac"), 1 << 20),
                   0);
  assert_int_equal(af_make_garbage(lib_path(fx, "cover.jpg"), 100), 0);
  char outside[160];
  snprintf(outside, sizeof outside, "%s/outside.flac", fx->dir);
  assert_int_equal(af_truncate_copy(lib_path(fx, "good.flac"), outside,
                                    1 << 20),
                   0);
  assert_int_equal(symlink(outside, lib_path(fx, "link.flac")), 0);
  assert_int_equal(symlink(fx->dir, lib_path(fx, "linkdir")), 0);
  struct scanner_stats st;
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.files, 5); /* good, weird, garbage, trunc, empty */
  assert_int_equal(st.unreadable, 3);
  assert_int_equal(st.bad_names, 2);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.live, 2);
  assert_int_equal(c.unreadable, 3);
  /* a rescan does not probe the corrupt files again, still counts them */
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.probed, 0);
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.unreadable, 3);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(fx->db,
                                            lib_path(fx,
                                                     "we'ird \"name\" ü.mp3"),
                                            t),
                   SS_OK);
  assert_string_equal(t->media.title, "Weird");
  assert_int_equal(db_library_track_by_path(fx->db, lib_path(fx, "link.flac"),
                                            t),
                   SS_ENOTFOUND);
  free(t);
}

static void test_hash_only_new_or_changed(void **state)
{
  struct fx *fx = *state;
  make(fx, "a.flac", "A", "One", 1, NULL);
  make(fx, "b.mp3", "A", "Two", 2, NULL);
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.hashed, 0);
  /* switching the method on hashes what has no hash yet */
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.hashed, 2);
  assert_int_equal(st.probed, 0);
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.hashed, 0);
  bump_mtime(lib_path(fx, "b.mp3"), 2000000);
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.hashed, 1);
  /* the same bytes under another name: a file-hash finding */
  assert_int_equal(af_truncate_copy(lib_path(fx, "a.flac"),
                                    lib_path(fx, "copy/a.flac"), 1 << 22),
                   0);
  assert_int_equal(scan(fx, true, false, &st), SS_OK);
  assert_int_equal(st.hashed, 1);
  struct dupes_stats ds;
  assert_int_equal(dupes_detect(fx->db, DUPES_FILE_HASH, NULL, NULL, 1000,
                                &ds),
                   SS_OK);
  assert_int_equal(ds.groups, 1);
  assert_int_equal(ds.new_groups, 1);
  char h[33];
  int fd = open(lib_path(fx, "a.flac"), O_RDONLY);
  assert_int_equal(scanner_hash_fd(fd, h), SS_OK);
  close(fd);
  assert_int_equal(strlen(h), 32);
}

static void test_quarantine_folder_not_scanned(void **state)
{
  struct fx *fx = *state;
  snprintf(fx->q, sizeof fx->q, "%s/lib/_quarantine", fx->dir);
  make(fx, "a.flac", "A", "One", 1, NULL);
  make(fx, "_quarantine/old/a.flac", "A", "One", 1, NULL);
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.files, 1);
}

static void test_stop_cancels_without_marking_gone(void **state)
{
  struct fx *fx = *state;
  char name[32];
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "%d.flac", i);
    make(fx, name, "A", name, i, NULL);
  }
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  unlink(lib_path(fx, "0.flac"));
  fx->stop_after = 2;
  assert_int_equal(scan(fx, false, false, &st), SS_ECANCELED);
  assert_true(st.files < 4);
  assert_int_equal(st.gone, 0);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.gone, 0); /* not after a canceled scan */
  fx->stop_after = 0;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.gone, 1);
}

static void test_bad_roots(void **state)
{
  struct fx *fx = *state;
  struct scanner_stats st;
  char err[256];
  struct scanner_opts o = {.root = "/nonexistent/library"};
  assert_int_equal(scanner_run(fx->db, &o, &st, err, sizeof err),
                   SS_ENOTFOUND);
  assert_non_null(strstr(err, "/nonexistent/library"));
  make(fx, "a.flac", "A", "One", 1, NULL);
  o.root = lib_path(fx, "a.flac");
  assert_int_equal(scanner_run(fx->db, &o, &st, err, sizeof err), SS_EINVAL);
  assert_true(err[0] != '\0');
  assert_false(scanner_is_audio_name("x.txt"));
  assert_false(scanner_is_audio_name(".flac"));
  assert_true(scanner_is_audio_name("x.FLAC"));
  assert_false(scanner_valid_utf8("a\xc3"));
  assert_true(scanner_valid_utf8("Jóga"));
}

static void test_fingerprint_finds_untagged_copy(void **state)
{
  struct fx *fx = *state;
  make(fx, "tagged.flac", "A", "Song", 7, NULL);
  make(fx, "track01.mp3", NULL, NULL, 7, "-b:a 128k");
  make(fx, "different.flac", "A", "Song", 3, NULL);
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, true, &st), SS_OK);
  assert_int_equal(st.fingerprinted, 3);
  struct dupes_stats ds;
  assert_int_equal(dupes_detect(fx->db, DUPES_FINGERPRINT, NULL, NULL, 1000,
                                &ds),
                   SS_OK);
  assert_int_equal(ds.groups, 1);
  struct library_group g;
  size_t n;
  int64_t total;
  assert_int_equal(db_library_groups_list(fx->db, "open", 0, &g, 1, &n,
                                          &total),
                   SS_OK);
  assert_string_equal(g.method, "fingerprint");
  assert_int_equal(g.n_members, 2);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_id(fx->db, g.suggested_keep, t), SS_OK);
  assert_non_null(strstr(t->path, "tagged.flac")); /* lossless kept */
  free(t);
  /* a rescan computes no fingerprint again */
  assert_int_equal(scan(fx, false, true, &st), SS_OK);
  assert_int_equal(st.fingerprinted, 0);
  /* metadata also groups the two tagged "A|Song" files (different audio,
   * same length): a separate finding, for the review to judge */
  assert_int_equal(dupes_detect(fx->db, DUPES_METADATA | DUPES_FINGERPRINT,
                                NULL, NULL, 2000, &ds),
                   SS_OK);
  assert_int_equal(ds.groups, 2);
}

/* ---- quarantine ---- */

static int64_t only_open_group(struct fx *fx, struct library_group *g)
{
  size_t n;
  int64_t total;
  assert_int_equal(db_library_groups_list(fx->db, "open", 0, g, 1, &n, &total),
                   SS_OK);
  assert_int_equal(total, 1);
  return g->id;
}

/* The scanner stores each new file's metadata key with its row (issue
 * 10): the detection that follows computes none. */
static void test_scan_stores_keys(void **state)
{
  struct fx *fx = *state;
  make(fx, "Björk/Jóga.flac", "Björk", "Jóga", 1, NULL);
  make(fx, "BJÖRK/Joga.mp3", "BJO\xcc\x88RK", "Jo\xcc\x81ga", 1, "-b:a 128k");
  make(fx, "Sigur Rós/Hoppípolla.ogg", "Sigur Rós", "Hoppípolla", 2, NULL);
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.probed, 3);
  int64_t pending = -1;
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 0);
  struct dupes_stats ds;
  assert_int_equal(dupes_detect(fx->db, DUPES_METADATA, NULL, NULL, 1000, &ds),
                   SS_OK);
  assert_int_equal(ds.keys_computed, 0);
  assert_int_equal(ds.groups, 1);
  struct library_group g;
  only_open_group(fx, &g);
  assert_string_equal(g.method, "metadata-hash");
  assert_int_equal(g.n_members, 2);
}

static void scan_detect(struct fx *fx, int64_t now, struct dupes_stats *ds)
{
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(dupes_detect(fx->db, DUPES_METADATA, NULL, NULL, now, ds),
                   SS_OK);
}

static void test_resolve_quarantine_undo(void **state)
{
  struct fx *fx = *state;
  make(fx, "A/Song.flac", "Artist", "Song", 1, NULL);
  make(fx, "B/Sub/Song.mp3", "Artist", "Song (Remastered)", 1, NULL);
  struct dupes_stats ds;
  scan_detect(fx, 1000, &ds);
  assert_int_equal(ds.new_groups, 1);
  struct library_group g;
  int64_t gid = only_open_group(fx, &g);
  struct quarantine_result res;
  /* a keeper that is not a member is refused */
  assert_int_equal(quarantine_resolve(fx->db, gid, 999999, fx->lib, fx->q,
                                      1100, &res),
                   SS_ENOTFOUND);
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1100,
                                      &res),
                   SS_OK);
  assert_int_equal(res.moved, 1);
  const char *mp3 = lib_path(fx, "B/Sub/Song.mp3");
  char qpath[256];
  snprintf(qpath, sizeof qpath, "%s/B/Sub/Song.mp3", fx->q);
  assert_false(tfs_exists(mp3));
  assert_true(tfs_exists(qpath)); /* relative path kept */
  assert_true(tfs_exists(lib_path(fx, "A/Song.flac")));
  struct library_group one;
  assert_int_equal(db_library_group_get(fx->db, gid, &one), SS_OK);
  assert_string_equal(one.status, "resolved");
  /* resolving twice is refused */
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1200,
                                      &res),
                   SS_ESTATE);
  /* a rescan finds nothing new, the group stays resolved */
  scan_detect(fx, 2000, &ds);
  assert_int_equal(ds.new_groups, 0);
  assert_int_equal(ds.open_groups, 0);
  assert_int_equal(db_library_group_get(fx->db, gid, &one), SS_OK);
  assert_string_equal(one.status, "resolved");
  /* undo: back in place, open again, not new */
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 2100, &res),
                   SS_OK);
  assert_int_equal(res.moved, 1);
  assert_true(tfs_exists(mp3));
  assert_false(tfs_exists(qpath));
  assert_int_equal(db_library_group_get(fx->db, gid, &one), SS_OK);
  assert_string_equal(one.status, "open");
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.probed, 0); /* mtime and size kept by the move */
  assert_int_equal(dupes_detect(fx->db, DUPES_METADATA, NULL, NULL, 3000, &ds),
                   SS_OK);
  assert_int_equal(ds.new_groups, 0);
  assert_int_equal(ds.open_groups, 1);
  /* undo with nothing in the quarantine */
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 3100, &res),
                   SS_ESTATE);
  /* resolve again, then a new file takes the path: undo refuses */
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 3200,
                                      &res),
                   SS_OK);
  assert_int_equal(af_make_garbage(mp3, 1234), 0);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 3300, &res),
                   SS_EBUSY);
  assert_int_equal(res.failed, 1);
  assert_true(tfs_exists(qpath));
  struct stat sb;
  assert_int_equal(stat(mp3, &sb), 0);
  assert_int_equal(sb.st_size, 1234); /* not overwritten */
  assert_int_equal(quarantine_undo(fx->db, 424242, fx->lib, fx->q, 3400, &res),
                   SS_ENOTFOUND);
  /* the scan meets the new file: a live row again, the quarantined copy
   * stays recorded (undo still refuses rather than overwrite) */
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.quarantined, 0);
  assert_int_equal(c.unreadable, 1);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 3500, &res),
                   SS_EBUSY);
  assert_true(tfs_exists(qpath));
}

/* A quarantined file moved back by hand is found again by the scan. */
static void test_manual_restore_is_noticed(void **state)
{
  struct fx *fx = *state;
  make(fx, "a.flac", "Artist", "Song", 1, NULL);
  make(fx, "b.mp3", "Artist", "Song", 1, NULL);
  struct dupes_stats ds;
  scan_detect(fx, 1000, &ds);
  struct library_group g;
  int64_t gid = only_open_group(fx, &g);
  struct quarantine_result res;
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1100,
                                      &res),
                   SS_OK);
  char qpath[256];
  snprintf(qpath, sizeof qpath, "%s/b.mp3", fx->q);
  assert_int_equal(rename(qpath, lib_path(fx, "b.mp3")), 0);
  scan_detect(fx, 2000, &ds);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.quarantined, 0);
  assert_int_equal(c.live, 2);
  assert_int_equal(ds.open_groups, 1); /* duplicates again */
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 2100, &res),
                   SS_ESTATE);
}

static void test_resolve_refuses_missing_keeper(void **state)
{
  struct fx *fx = *state;
  make(fx, "a.flac", "Artist", "Song", 1, NULL);
  make(fx, "b.mp3", "Artist", "Song", 1, NULL);
  struct dupes_stats ds;
  scan_detect(fx, 1000, &ds);
  struct library_group g;
  int64_t gid = only_open_group(fx, &g);
  unlink(lib_path(fx, "a.flac")); /* the suggested keeper vanished */
  struct quarantine_result res;
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1100,
                                      &res),
                   SS_ESTATE);
  assert_true(tfs_exists(lib_path(fx, "b.mp3"))); /* the last copy stays */
  assert_non_null(strstr(res.message, "missing"));
}

static void test_move_never_overwrites_and_crosses_filesystems(void **state)
{
  struct fx *fx = *state;
  const char *src = lib_path(fx, "src.bin");
  assert_int_equal(af_make_garbage(src, 3000), 0);
  bump_mtime(src, 1234567);
  char dst[256];
  snprintf(dst, sizeof dst, "%s/deep/er/dst.bin", fx->q);
  assert_int_equal(fs_mkdir_p(fx->q), 0);
  assert_int_equal(af_make_garbage(lib_path(fx, "taken.bin"), 10), 0);
  char err[256];
  assert_int_equal(fs_move_beneath(fx->lib, src, fx->lib,
                                   lib_path(fx, "taken.bin"), "t", false, err,
                                   sizeof err),
                   SS_EBUSY);
  assert_true(tfs_exists(src));
  assert_int_equal(fs_move_beneath(fx->lib, src, fx->q, dst, "t", false, err,
                                   sizeof err),
                   SS_OK);
  assert_false(tfs_exists(src));
  /* /dev/shm is another file system here: copy, fsync, unlink */
  char shm[128];
  snprintf(shm, sizeof shm, "/dev/shm/test_scanner_%d/x.bin", (int)getpid());
  struct stat a, b;
  if (stat("/dev/shm", &a) == 0 && stat(fx->dir, &b) == 0 &&
      a.st_dev != b.st_dev) {
    assert_int_equal(fs_move_beneath(fx->q, dst, "/dev/shm", shm, "t", false,
                                     err, sizeof err),
                     SS_OK);
    assert_false(tfs_exists(dst));
    assert_int_equal(stat(shm, &a), 0);
    assert_int_equal(a.st_size, 3000);
    assert_int_equal(a.st_mtim.tv_sec, 1234567); /* times kept */
    assert_int_equal(fs_move_beneath("/dev/shm", shm, fx->q, dst, "t", false,
                                     err, sizeof err),
                     SS_OK);
    char d[128];
    snprintf(d, sizeof d, "/dev/shm/test_scanner_%d", (int)getpid());
    rmdir(d);
  }
  assert_int_equal(stat(dst, &a), 0);
  assert_int_equal(a.st_mtim.tv_sec, 1234567);
  /* a symlink is not moved */
  assert_int_equal(symlink(dst, lib_path(fx, "l.bin")), 0);
  assert_int_equal(fs_move_beneath(fx->lib, lib_path(fx, "l.bin"), fx->lib,
                                   lib_path(fx, "l2.bin"), "t", false, err,
                                   sizeof err),
                   SS_EINVAL);
}

/* ---- symlinks swapped in after the scan ---- */

#define KEEP_REL "Sigur Rós/Ágætis byrjun/01 Svefn-g-englar.flac"
#define TAKK_DIR "Sigur Rós/Takk"
#define MOVE_REL TAKK_DIR "/01 Svefn-g-englar.mp3"

/* A group of two Sigur Rós copies; the mp3 is the one to move. */
static int64_t sigur_ros_group(struct fx *fx)
{
  make(fx, KEEP_REL, "Sigur Rós", "Svefn-g-englar", 1, NULL);
  make(fx, MOVE_REL, "Sigur Rós", "Svefn-g-englar", 1, "-b:a 128k");
  struct dupes_stats ds;
  scan_detect(fx, 1000, &ds);
  struct library_group g;
  return only_open_group(fx, &g);
}

/* fx->dir/outside holding a file named like the mp3; lib/TAKK_DIR moved
 * away (to fx->dir/takk-real) and replaced by a symlink to outside. */
static void swap_takk_for_symlink(struct fx *fx, char *outside, size_t n)
{
  char real[256], victim[300];
  snprintf(outside, n, "%s/outside", fx->dir);
  snprintf(real, sizeof real, "%s/takk-real", fx->dir);
  snprintf(victim, sizeof victim, "%s/01 Svefn-g-englar.mp3", outside);
  assert_int_equal(mkdir(outside, 0755), 0);
  assert_int_equal(af_make_garbage(victim, 777), 0);
  assert_int_equal(rename(lib_path(fx, TAKK_DIR), real), 0);
  assert_int_equal(symlink(outside, lib_path(fx, TAKK_DIR)), 0);
}

static size_t entries_in(const char *dir)
{
  DIR *d = opendir(dir);
  size_t n = 0;
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

static void resolve_refuses_symlinked_folder(struct fx *fx)
{
  int64_t gid = sigur_ros_group(fx);
  char outside[200], victim[300], qpath[300];
  swap_takk_for_symlink(fx, outside, sizeof outside);
  snprintf(victim, sizeof victim, "%s/01 Svefn-g-englar.mp3", outside);
  struct quarantine_result res;
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1100,
                                      &res),
                   SS_EIO);
  assert_int_equal(res.moved, 0);
  assert_int_equal(res.failed, 1);
  if (!strstr(res.message, "symbolic link"))
    fail_msg("unreadable refusal: %s", res.message);
  assert_true(tfs_exists(victim)); /* the outside file never moved */
  snprintf(qpath, sizeof qpath, "%s/" MOVE_REL, fx->q);
  assert_false(tfs_exists(qpath));
  struct library_quarantine_entry e[2];
  size_t n = 9;
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, e, 2, &n),
                   SS_OK);
  assert_int_equal(n, 0);
  assert_int_equal(db_library_quarantine_pending(fx->db, e, 2, &n), SS_OK);
  assert_int_equal(n, 0); /* no journal row left behind either */
  struct library_group g;
  assert_int_equal(db_library_group_get(fx->db, gid, &g), SS_OK);
  assert_string_equal(g.status, "open");
}

static void test_resolve_refuses_symlinked_folder(void **state)
{
  resolve_refuses_symlinked_folder(*state);
}

static void test_resolve_refuses_symlinked_folder_walk(void **state)
{
  fs_force_component_walk(true); /* a kernel without openat2 */
  resolve_refuses_symlinked_folder(*state);
  fs_force_component_walk(false);
}

static void undo_never_writes_outside(struct fx *fx)
{
  int64_t gid = sigur_ros_group(fx);
  struct quarantine_result res;
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1100,
                                      &res),
                   SS_OK);
  char outside[200], qpath[300];
  snprintf(outside, sizeof outside, "%s/outside", fx->dir);
  assert_int_equal(mkdir(outside, 0755), 0);
  /* the emptied folder becomes a symlink to outside */
  assert_int_equal(rmdir(lib_path(fx, TAKK_DIR)), 0);
  assert_int_equal(symlink(outside, lib_path(fx, TAKK_DIR)), 0);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 1200, &res),
                   SS_EIO);
  assert_int_equal(res.failed, 1);
  if (!strstr(res.message, "symbolic link"))
    fail_msg("unreadable refusal: %s", res.message);
  assert_int_equal(entries_in(outside), 0); /* nothing written outside */
  snprintf(qpath, sizeof qpath, "%s/" MOVE_REL, fx->q);
  assert_true(tfs_exists(qpath)); /* still in the quarantine, recorded */
  struct library_quarantine_entry e[2];
  size_t n = 0;
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, e, 2, &n),
                   SS_OK);
  assert_int_equal(n, 1);
  assert_string_equal(e[0].pending, "");
  /* the folder is real again: undo works */
  assert_int_equal(unlink(lib_path(fx, TAKK_DIR)), 0);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 1300, &res),
                   SS_OK);
  assert_true(tfs_exists(lib_path(fx, MOVE_REL)));
}

static void test_undo_never_writes_outside(void **state)
{
  undo_never_writes_outside(*state);
}

static void test_undo_never_writes_outside_walk(void **state)
{
  fs_force_component_walk(true);
  undo_never_writes_outside(*state);
  fs_force_component_walk(false);
}

/* ---- the journal: every state a crash can leave ---- */

#define JOGA_KEEP "Bj\xc3\xb6rk/Homogenic/01 J\xc3\xb3ga.flac" /* NFC */
#define JOGA_COPY "Bjo\xcc\x88rk/<b>&\"'/Jo\xcc\x81ga.mp3"     /* NFD */

struct accounted {
  struct fx *fx;
  size_t in_library, in_quarantine;
};

/* Every member is either at its path in the library or recorded in the
 * quarantine and there; nothing is pending. */
static void check_member(void *arg, const struct library_track *t)
{
  struct accounted *a = arg;
  struct library_quarantine_entry e;
  if (t->quarantined) {
    assert_int_equal(db_library_quarantine_of_track(a->fx->db, t->id, &e),
                     SS_OK);
    assert_string_equal(e.pending, "");
    if (!tfs_exists(e.quarantine_path))
      fail_msg("%s is recorded in the quarantine, but not there",
               e.quarantine_path);
    a->in_quarantine++;
  } else {
    if (!tfs_exists(t->path))
      fail_msg("%s is neither in the library nor recorded", t->path);
    a->in_library++;
  }
}

static void assert_accounted(struct fx *fx, int64_t gid, size_t in_q)
{
  struct accounted a = {fx, 0, 0};
  assert_int_equal(db_library_group_members(fx->db, gid, check_member, &a),
                   SS_OK);
  assert_int_equal(a.in_library + a.in_quarantine, 2);
  assert_int_equal(a.in_quarantine, in_q);
  struct library_quarantine_entry e[4];
  size_t n = 9;
  assert_int_equal(db_library_quarantine_pending(fx->db, e, 4, &n), SS_OK);
  assert_int_equal(n, 0);
}

static void recover(struct fx *fx, int64_t now, size_t settled)
{
  struct quarantine_result res;
  assert_int_equal(quarantine_recover(fx->db, fx->lib, fx->q, now, &res),
                   SS_OK);
  assert_int_equal(res.moved, settled);
}

static void group_status_is(struct fx *fx, int64_t gid, const char *want)
{
  struct library_group g;
  assert_int_equal(db_library_group_get(fx->db, gid, &g), SS_OK);
  assert_string_equal(g.status, want);
}

/* The Björk group (NFC keeper, NFD copy) and the journal entry that
 * would move the copy to QUARANTINE/qrel; returns the group id. */
static int64_t joga_group(struct fx *fx, const char *qrel,
                          struct library_quarantine_entry *e)
{
  make(fx, JOGA_KEEP, "Bj\xc3\xb6rk", "J\xc3\xb3ga", 1, NULL);
  make(fx, JOGA_COPY, "Bjo\xcc\x88rk", "Jo\xcc\x81ga", 1, "-b:a 128k");
  struct dupes_stats ds;
  scan_detect(fx, 1000, &ds);
  struct library_group g;
  int64_t gid = only_open_group(fx, &g);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(fx->db, lib_path(fx, JOGA_COPY),
                                            t),
                   SS_OK);
  *e = (struct library_quarantine_entry){.group_id = gid,
                                         .track_id = t->id,
                                         .size = t->size,
                                         .moved_ms = 1100};
  snprintf(e->original_path, sizeof e->original_path, "%s", t->path);
  snprintf(e->quarantine_path, sizeof e->quarantine_path, "%s/%s", fx->q,
           qrel);
  free(t);
  assert_int_equal(fs_mkdir_p(fx->q), 0);
  return gid;
}

static void test_recover_every_crash_state(void **state)
{
  struct fx *fx = *state;
  struct library_quarantine_entry e;
  int64_t gid = joga_group(fx, JOGA_COPY, &e);
  char qdir[300];
  snprintf(qdir, sizeof qdir, "%s/Bjo\xcc\x88rk/<b>&\"'", fx->q);
  assert_int_equal(fs_mkdir_p(qdir), 0);
  struct quarantine_result res;
  int64_t id;

  /* resolve: journaled, not moved -> rolled forward */
  assert_int_equal(db_library_quarantine_intend(fx->db, &e, &id), SS_OK);
  recover(fx, 1200, 1);
  assert_accounted(fx, gid, 1);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 1300, &res),
                   SS_OK); /* undo works after recovery */
  assert_accounted(fx, gid, 0);

  /* resolve: moved, not recorded -> recorded */
  assert_int_equal(db_library_quarantine_intend(fx->db, &e, &id), SS_OK);
  assert_int_equal(rename(e.original_path, e.quarantine_path), 0);
  recover(fx, 1400, 1);
  assert_accounted(fx, gid, 1);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 1500, &res),
                   SS_OK);

  /* resolve: journaled, the file gone meanwhile -> the intent dropped */
  char aside[200];
  snprintf(aside, sizeof aside, "%s/aside.mp3", fx->dir);
  assert_int_equal(rename(e.original_path, aside), 0);
  assert_int_equal(db_library_quarantine_intend(fx->db, &e, &id), SS_OK);
  recover(fx, 1600, 1);
  struct library_quarantine_entry list[4];
  size_t n = 9;
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, list, 4, &n),
                   SS_OK);
  assert_int_equal(n, 0);
  assert_int_equal(rename(aside, e.original_path), 0);
  assert_accounted(fx, gid, 0);

  /* undo: journaled, not moved -> rolled forward, the group open again */
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1700,
                                      &res),
                   SS_OK);
  group_status_is(fx, gid, "resolved");
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, list, 4, &n),
                   SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(db_library_quarantine_set_pending(fx->db, list[0].id, true),
                   SS_OK);
  recover(fx, 1800, 1);
  assert_accounted(fx, gid, 0);
  group_status_is(fx, gid, "open");

  /* undo: moved back, not recorded -> recorded, open again */
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 1900,
                                      &res),
                   SS_OK);
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, list, 4, &n),
                   SS_OK);
  assert_int_equal(db_library_quarantine_set_pending(fx->db, list[0].id, true),
                   SS_OK);
  assert_int_equal(rename(list[0].quarantine_path, list[0].original_path), 0);
  recover(fx, 2000, 1);
  assert_accounted(fx, gid, 0);
  group_status_is(fx, gid, "open");

  /* undo: journaled, the original path taken -> rolled back: still in the
   * quarantine, recorded; undo works once the path is free */
  assert_int_equal(quarantine_resolve(fx->db, gid, 0, fx->lib, fx->q, 2100,
                                      &res),
                   SS_OK);
  assert_int_equal(db_library_quarantine_of_group(fx->db, gid, list, 4, &n),
                   SS_OK);
  assert_int_equal(db_library_quarantine_set_pending(fx->db, list[0].id, true),
                   SS_OK);
  assert_int_equal(af_make_garbage(list[0].original_path, 99), 0);
  recover(fx, 2200, 1);
  assert_accounted(fx, gid, 1);
  group_status_is(fx, gid, "resolved");
  assert_int_equal(unlink(list[0].original_path), 0);
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 2300, &res),
                   SS_OK);
  assert_accounted(fx, gid, 0);

  /* a rescan drops nothing */
  struct scanner_stats st;
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.gone, 0);
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.live, 2);
}

/* The scan settles what a crash left before it looks for gone files. */
static void test_scan_recovers_first(void **state)
{
  struct fx *fx = *state;
  struct library_quarantine_entry e;
  int64_t gid = joga_group(fx, "j.mp3", &e);
  int64_t id;
  assert_int_equal(db_library_quarantine_intend(fx->db, &e, &id), SS_OK);
  assert_int_equal(rename(e.original_path, e.quarantine_path), 0);
  struct scanner_stats st; /* a crash between the move and its record */
  assert_int_equal(scan(fx, false, false, &st), SS_OK);
  assert_int_equal(st.gone, 0); /* quarantined, not gone */
  assert_accounted(fx, gid, 1);
  struct quarantine_result res;
  assert_int_equal(quarantine_undo(fx->db, gid, fx->lib, fx->q, 1300, &res),
                   SS_OK);
  assert_accounted(fx, gid, 0);
}

int main(void)
{
  if (!af_available()) {
    fprintf(stderr, "error: ffmpeg is required\n");
    return 1;
  }
  media_init();
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_incremental),
    T(test_corrupt_files_and_odd_names),
    T(test_hash_only_new_or_changed),
    T(test_quarantine_folder_not_scanned),
    T(test_stop_cancels_without_marking_gone),
    T(test_bad_roots),
    T(test_fingerprint_finds_untagged_copy),
    T(test_scan_stores_keys),
    T(test_resolve_quarantine_undo),
    T(test_manual_restore_is_noticed),
    T(test_resolve_refuses_missing_keeper),
    T(test_move_never_overwrites_and_crosses_filesystems),
    T(test_resolve_refuses_symlinked_folder),
    T(test_resolve_refuses_symlinked_folder_walk),
    T(test_undo_never_writes_outside),
    T(test_undo_never_writes_outside_walk),
    T(test_recover_every_crash_state),
    T(test_scan_recovers_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
