/*
 * test_quality_upgrade.c - the Quality Upgrade's candidate selection on a
 * real store: measured quality, not the extension (a ".flac" that is an
 * MP3 at 128 kbit/s is wanted); lossless and at-target files never
 * wanted; worst first under the cap; an item is never re-added, whatever
 * its state (the ladder / given_up decide).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "automation/quality_upgrade.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "db/db_library.h"
#include "db/db_wanted.h"

static char dir[64];

static struct db *open_db(void)
{
  char path[128];
  int version;
  struct db *db;
  snprintf(dir, sizeof dir, "/tmp/ss-qu-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.db", dir);
  assert_int_equal(db_open(path, &db), SS_OK);
  assert_int_equal(db_migrate(db, &version), SS_OK);
  return db;
}

static void close_db(struct db *db)
{
  char cmd[128];
  db_close(db);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static int64_t track(struct db *db, const char *name, const char *codec,
                     int kbps, int depth)
{
  struct library_track *t = xcalloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "/music/%s", name);
  snprintf(t->media.codec, sizeof t->media.codec, "%s", codec);
  snprintf(t->media.artist, sizeof t->media.artist, "Bj\xc3\xb6rk");
  snprintf(t->media.title, sizeof t->media.title, "%s", name);
  t->media.bitrate = (int64_t)kbps * 1000;
  t->media.bit_depth = depth;
  t->media.sample_rate = 44100;
  int64_t id = 0;
  assert_int_equal(db_library_track_upsert(db, t, &id), SS_OK);
  free(t);
  return id;
}

static void test_selection(void **state)
{
  (void)state;
  struct db *db = open_db();
  int64_t fake = track(db, "fake.flac", "mp3", 128, 0); /* measured mp3 */
  int64_t low = track(db, "low.mp3", "mp3", 96, 0);
  track(db, "real.flac", "flac", 900, 16);
  track(db, "alac.m4a", "alac", 900, 16);
  track(db, "good.mp3", "mp3", 320, 0);
  int64_t mid = track(db, "mid.mp3", "mp3", 192, 0);
  struct qu_config cfg = {.max_per_run = 2};
  assert_int_equal(qu_config_level(&cfg, "high"), SS_OK);
  struct qu_candidate *c;
  size_t n;
  int64_t scanned, below;
  assert_int_equal(quality_upgrade_find(db, &cfg.target, 10, &c, &n, &scanned,
                                        &below),
                   SS_OK);
  assert_int_equal(scanned, 6);
  assert_int_equal(below, 3);
  assert_int_equal(n, 3);
  /* worst first */
  assert_int_equal(c[0].track_id, low);
  assert_int_equal(c[1].track_id, fake);
  assert_int_equal(c[2].track_id, mid);
  free(c);
  /* the cap: two now, the third next pass */
  struct qu_result r;
  assert_int_equal(quality_upgrade_run(db, &cfg, 1000, &r), SS_OK);
  assert_int_equal(r.added, 2);
  assert_int_equal(r.capped, 1);
  struct wanted_item *w = xcalloc(4, sizeof *w);
  size_t nw;
  int64_t total;
  assert_int_equal(db_wanted_list(db, NULL, "quality_upgrade", 0, w, 4, &nw,
                                  &total),
                   SS_OK);
  assert_int_equal(total, 2);
  for (size_t i = 0; i < nw; i++) {
    assert_true(w[i].track_id == low || w[i].track_id == fake);
    assert_true(w[i].auto_download);
    assert_int_equal(w[i].kind, WANTED_TRACK);
    if (w[i].track_id == fake)
      assert_string_equal(w[i].current_quality, "mp3 128");
    /* a failed one is given up: it must stay so */
    assert_int_equal(db_wanted_set_state(db, w[i].id, "given_up", "nothing",
                                         -1, 2000),
                     SS_OK);
  }
  assert_int_equal(quality_upgrade_run(db, &cfg, 3000, &r), SS_OK);
  assert_int_equal(r.added, 1); /* only mid */
  assert_int_equal(quality_upgrade_run(db, &cfg, 4000, &r), SS_OK);
  assert_int_equal(r.added, 0);
  assert_int_equal(r.below, 0);
  assert_int_equal(db_wanted_list(db, "given_up", "quality_upgrade", 0, w, 4,
                                  &nw, &total),
                   SS_OK);
  assert_int_equal(total, 2);
  /* lossless: the 320 kbit/s mp3 is below it too; never a lossless file */
  assert_int_equal(qu_config_level(&cfg, "lossless"), SS_OK);
  assert_int_equal(quality_upgrade_find(db, &cfg.target, 10, &c, &n, &scanned,
                                        &below),
                   SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(scanned, 3);
  free(c);
  free(w);
  close_db(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_selection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
