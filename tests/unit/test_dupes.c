/*
 * test_dupes.c - unit tests of duplicate detection (library/dupes.c) and
 * the library store (db/db_library_sqlite.c) it runs on.
 *
 * Pure parts: the normalisation table (upstream's examples, accents,
 * scripts, "feat.", remaster and bonus tags), title/artist cleaning, keys,
 * keep-best order, fingerprint similarity, duration runs, union-find.
 * Store parts run on a fresh SQLite file per test with rows inserted
 * through db_library.h: grouping, the duration guard, distinct findings
 * across rescans, dismiss, reopen after resolution, file-hash groups and
 * the suppression of the same finding by two methods.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_library.h"
#include "library/dupes.h"

/* ---- normalisation ---- */

static void test_normalize_table(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
    /* upstream's examples */
    {"HELLO", "hello"},
    {"The Beatles", "beatles"},
    {"Rock & Roll", "rock roll"},
    {"Café", "cafe"},
    /* "and" and "&" are the same word */
    {"Simon and Garfunkel", "simon garfunkel"},
    {"Simon & Garfunkel", "simon garfunkel"},
    /* accents, ligatures, width, case folding */
    {"Beyoncé", "beyonce"},
    {"Sigur Rós", "sigur ros"},
    {"Motörhead", "motorhead"},
    {"ﬁre", "fire"},
    {"ＡＢＣ", "abc"},
    {"Straße", "strasse"},
    {"ÉLAN", "elan"},
    /* other scripts stay (upstream dropped them) */
    {"坂本龍一", "坂本龍一"},
    {"Пётр Ильич", "петр ильич"},
    /* punctuation and spacing */
    {"  AC/DC  ", "ac dc"},
    {"Don't Stop", "don t stop"},
    {"P!nk", "p nk"},
    {"a\t\tb", "a b"},
    /* "the" only leading; alone it stays */
    {"The The", "the"},
    {"The", "the"},
    {"Catch the Rainbow", "catch the rainbow"},
    {"", ""},
    {"!!!", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[128];
    dupes_normalize(cases[i][0], out, sizeof out);
    if (strcmp(out, cases[i][1]))
      fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", cases[i][0], out,
               cases[i][1]);
  }
}

static void test_normalize_bounds_and_invalid_utf8(void **state)
{
  (void)state;
  char out[8];
  size_t n = dupes_normalize("alpha beta gamma", out, sizeof out);
  assert_int_equal(n, strlen(out));
  assert_true(n < sizeof out);
  assert_string_equal(out, "alpha"); /* cut on a word boundary */
  char big[4096];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char o2[64];
  dupes_normalize(big, o2, sizeof o2);
  assert_true(strlen(o2) < sizeof o2);
  /* Invalid bytes count as spaces, never crash. */
  dupes_normalize("caf\xe9 au lait\xff", o2, sizeof o2);
  assert_string_equal(o2, "caf au lait");
}

static void test_clean_title_table(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
    {"Help! (Remastered 2009)", "Help!"},
    {"Help! [2015 Remaster]", "Help!"},
    {"Help! - Remastered 2009", "Help!"},
    {"Help! - 2009 Remaster", "Help!"},
    {"Song (Bonus Track)", "Song"},
    {"Song [Deluxe Edition]", "Song"},
    {"Song (25th Anniversary Edition)", "Song"},
    {"Song (feat. Someone)", "Song"},
    {"Song [ft. Someone]", "Song"},
    {"Song feat. Someone", "Song"},
    {"Song ft Someone", "Song"},
    {"Song featuring Someone", "Song"},
    {"Song (Live)", "Song (Live)"}, /* a different recording */
    {"Song (Radio Edit)", "Song (Radio Edit)"},
    {"Left Behind", "Left Behind"}, /* "ft" inside a word */
    {"Soft Feathers", "Soft Feathers"},
    {"Song - Live at Wembley", "Song - Live at Wembley"},
    {"(Bonus Track)", "(Bonus Track)"}, /* all noise: kept */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[128];
    dupes_clean_title(cases[i][0], out, sizeof out);
    if (strcmp(out, cases[i][1]))
      fail_msg("clean_title(\"%s\") = \"%s\", want \"%s\"", cases[i][0], out,
               cases[i][1]);
  }
  static const char *const artists[][2] = {
    {"Artist feat. Guest", "Artist"},   {"Artist ft. Guest", "Artist"},
    {"Artist (feat. Guest)", "Artist"}, {"Artist Featuring Guest", "Artist"},
    {"Daft Punk", "Daft Punk"},         {"Left Boy", "Left Boy"},
  };
  for (size_t i = 0; i < sizeof artists / sizeof artists[0]; i++) {
    char out[128];
    dupes_clean_artist(artists[i][0], out, sizeof out);
    if (strcmp(out, artists[i][1]))
      fail_msg("clean_artist(\"%s\") = \"%s\"", artists[i][0], out);
  }
}

static void test_norm_key(void **state)
{
  (void)state;
  char a[DUPES_KEY_MAX], b[DUPES_KEY_MAX];
  dupes_norm_key("The Beatles", "", "Help! (Remastered 2009)", NULL, a,
                 sizeof a);
  assert_string_equal(a, "beatles|help");
  dupes_norm_key("Beatles feat. Nobody", "", "HELP!", NULL, b, sizeof b);
  assert_string_equal(a, b);
  /* album artist stands in for a missing artist */
  dupes_norm_key("", "Björk", "Jóga", NULL, a, sizeof a);
  assert_string_equal(a, "bjork|joga");
  /* title from the file name without its track number */
  dupes_norm_key("Björk", "", "", "/m/Björk/Homogenic/03 - Jóga.flac", a,
                 sizeof a);
  assert_string_equal(a, "bjork|joga");
  dupes_norm_key("Björk", "", "", "/m/x/1-03 Jóga.mp3", a, sizeof a);
  assert_string_equal(a, "bjork|joga");
  /* no artist at all: not compared by metadata */
  assert_int_equal(dupes_norm_key("", "", "Intro", "/m/Intro.mp3", a,
                                  sizeof a),
                   0);
  assert_string_equal(a, "");
  assert_int_equal(dupes_norm_key("X", "", "", NULL, a, sizeof a), 0);
}

static void test_methods_parse(void **state)
{
  (void)state;
  assert_int_equal(dupes_methods_parse("metadata-hash"), DUPES_METADATA);
  assert_int_equal(dupes_methods_parse("metadata-hash+file-hash"),
                   DUPES_METADATA | DUPES_FILE_HASH);
  assert_int_equal(dupes_methods_parse("metadata-hash+file-hash+fingerprint"),
                   DUPES_METADATA | DUPES_FILE_HASH | DUPES_FINGERPRINT);
  assert_int_equal(dupes_methods_parse("fingerprint"), DUPES_FINGERPRINT);
  assert_int_equal(dupes_methods_parse("md5"), 0);
  assert_int_equal(dupes_methods_parse("metadata-hash+"), DUPES_METADATA);
  assert_int_equal(dupes_methods_parse("metadata-hash+bogus"), 0);
  assert_int_equal(dupes_methods_parse(""), 0);
  assert_string_equal(dupes_method_name(DUPES_FILE_HASH), "file-hash");
}

/* ---- keep-best ---- */

static void test_keep_best_order(void **state)
{
  (void)state;
  struct dupes_quality flac16 = {1, true, 16, 44100, 900000, 200000, 5};
  struct dupes_quality flac24 = {2, true, 24, 44100, 800000, 200000, 5};
  struct dupes_quality flac24_96 = {3, true, 24, 96000, 2000000, 200000, 5};
  struct dupes_quality mp3_320 = {4, false, 0, 48000, 320000, 200000, 9};
  struct dupes_quality mp3_128 = {5, false, 0, 48000, 128000, 200000, 9};
  struct dupes_quality mp3_320_short = {6, false, 0, 48000, 320000, 150000, 9};
  struct dupes_quality mp3_320_few_tags = {7,      false,  0, 48000,
                                           320000, 200000, 2};
  /* lossless first, even against a far higher lossy bitrate + tags */
  assert_true(dupes_quality_cmp(&flac16, &mp3_320) < 0);
  assert_true(dupes_quality_cmp(&mp3_320, &flac16) > 0);
  assert_true(dupes_quality_cmp(&flac24, &flac16) < 0);         /* bit depth */
  assert_true(dupes_quality_cmp(&flac24_96, &flac24) < 0);      /* rate */
  assert_true(dupes_quality_cmp(&mp3_320, &mp3_128) < 0);       /* bitrate */
  assert_true(dupes_quality_cmp(&mp3_320, &mp3_320_short) < 0); /* length */
  assert_true(dupes_quality_cmp(&mp3_320, &mp3_320_few_tags) < 0); /* tags */
  /* equal otherwise: the older row (smaller id) */
  struct dupes_quality twin = mp3_320;
  twin.id = 99;
  assert_true(dupes_quality_cmp(&mp3_320, &twin) < 0);
  assert_int_equal(dupes_quality_cmp(&twin, &twin), 0);
  /* near-equal bitrates (same 16 kbit/s step) fall through to duration */
  struct dupes_quality vbr_a = {10, false, 0, 44100, 245000, 200000, 5};
  struct dupes_quality vbr_b = {11, false, 0, 44100, 241000, 201500, 5};
  assert_true(dupes_quality_cmp(&vbr_b, &vbr_a) < 0);
  struct dupes_quality all[] = {mp3_128, mp3_320, flac16, flac24_96, flac24};
  assert_int_equal(dupes_best(all, 5), 3);
}

/* ---- fingerprints, runs, union ---- */

static void test_fp_similarity(void **state)
{
  (void)state;
  uint32_t a[64], b[64], c[64];
  for (int i = 0; i < 64; i++) {
    a[i] = 0x9e3779b9u * (uint32_t)(i + 1);
    b[i] = a[i] ^ (1u << (i % 32)); /* one bit off per item */
    c[i] = ~a[i];
  }
  assert_true(dupes_fp_similarity(a, 64, a, 64) == 1.0);
  double s = dupes_fp_similarity(a, 64, b, 64);
  assert_true(s > 0.96 && s < 0.97);
  assert_true(dupes_fp_similarity(a, 64, c, 64) < 0.7);
  /* shifted by two items: still found */
  assert_true(dupes_fp_similarity(a, 64, a + 2, 62) == 1.0);
  /* too short to judge */
  assert_true(dupes_fp_similarity(a, DUPES_FP_MIN_ITEMS - 1, a,
                                  DUPES_FP_MIN_ITEMS - 1) == 0.0);
  assert_true(dupes_fp_similarity(NULL, 0, a, 64) == 0.0);
}

static void test_duration_runs(void **state)
{
  (void)state;
  int64_t d[] = {0, 0, 180000, 181000, 184000, 200000, 360000, 362000};
  size_t starts[8];
  size_t n = dupes_duration_runs(d, 8, starts);
  assert_int_equal(n, 4);
  assert_int_equal(starts[0], 0); /* unknown durations */
  assert_int_equal(starts[1], 2); /* 3:00 .. 3:04 chain */
  assert_int_equal(starts[2], 5); /* 3:20 alone */
  assert_int_equal(starts[3], 6); /* 6:00, 6:02 */
  assert_int_equal(dupes_duration_runs(d, 0, starts), 0);
}

static void test_union(void **state)
{
  (void)state;
  const int64_t pairs[][2] = {{5, 9}, {9, 2}, {7, 8}, {2, 5}, {30, 31}};
  int64_t *members;
  size_t *len;
  size_t n = dupes_union(pairs, 5, &members, &len);
  assert_int_equal(n, 3);
  assert_int_equal(len[0], 3);
  assert_int_equal(members[0], 2);
  assert_int_equal(members[1], 5);
  assert_int_equal(members[2], 9);
  assert_int_equal(len[1], 2);
  assert_int_equal(members[3], 7);
  assert_int_equal(members[4], 8);
  assert_int_equal(len[2], 2);
  assert_int_equal(members[5], 30);
  free(members);
  free(len);
  assert_int_equal(dupes_union(pairs, 0, &members, &len), 0);
  assert_null(members);
}

/* ---- detection on a store ---- */

struct fx {
  char dir[64];
  char path[128];
  struct db *db;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/test_dupes.XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->path, sizeof fx->path, "%s/s.db", fx->dir);
  int version;
  if (db_open(fx->path, &fx->db) || db_migrate(fx->db, &version))
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

static int64_t add_track(struct db *db, const char *path, const char *artist,
                         const char *title, int64_t dur_ms, bool lossless,
                         int64_t bitrate)
{
  struct library_track *t = calloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s", path);
  snprintf(t->media.artist, sizeof t->media.artist, "%s", artist);
  snprintf(t->media.title, sizeof t->media.title, "%s", title);
  snprintf(t->media.codec, sizeof t->media.codec, "%s",
           lossless ? "flac" : "mp3");
  t->media.duration_ms = dur_ms;
  t->media.lossless = lossless;
  t->media.bit_depth = lossless ? 16 : 0;
  t->media.sample_rate = 44100;
  t->media.bitrate = bitrate;
  t->size = 1000;
  t->mtime_ns = 1;
  int64_t id = 0;
  assert_int_equal(db_library_track_upsert(db, t, &id), SS_OK);
  free(t);
  return id;
}

static struct dupes_stats detect(struct db *db, unsigned methods, int64_t now)
{
  struct dupes_stats st;
  assert_int_equal(dupes_detect(db, methods, NULL, NULL, now, &st), SS_OK);
  return st;
}

static void open_groups(struct db *db, struct library_group *g, size_t max,
                        size_t *n)
{
  int64_t total;
  assert_int_equal(db_library_groups_list(db, "open", 0, g, max, n, &total),
                   SS_OK);
  assert_int_equal((int64_t)*n, total);
}

struct ids {
  int64_t v[16];
  size_t n;
};

static void collect_ids(void *arg, const struct library_track *t)
{
  struct ids *ids = arg;
  ids->v[ids->n++] = t->id;
}

static void test_metadata_groups_and_keep_best(void **state)
{
  struct fx *fx = *state;
  int64_t mp3 = add_track(fx->db, "/lib/a/help.mp3", "The Beatles", "Help!",
                          140000, false, 320000);
  int64_t flac = add_track(fx->db, "/lib/b/help.flac", "Beatles",
                           "Help! (Remastered 2009)", 141500, true, 900000);
  add_track(fx->db, "/lib/c/yesterday.mp3", "The Beatles", "Yesterday", 125000,
            false, 320000);
  /* same song, but a 6-minute live take: the duration guard splits it */
  add_track(fx->db, "/lib/d/help-live.mp3", "The Beatles", "Help!", 360000,
            false, 320000);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.groups, 1);
  assert_int_equal(st.new_groups, 1);
  assert_int_equal(st.open_groups, 1);
  assert_int_equal(st.keys_computed, 4);
  struct library_group g[4];
  size_t n;
  open_groups(fx->db, g, 4, &n);
  assert_int_equal(n, 1);
  assert_string_equal(g[0].method, "metadata-hash");
  assert_int_equal(g[0].suggested_keep, flac); /* lossless wins */
  assert_int_equal(g[0].n_members, 2);
  char want[64];
  snprintf(want, sizeof want, "metadata-hash:beatles|help#%lld",
           (long long)mp3);
  assert_string_equal(g[0].key, want);
  struct ids ids = {0};
  assert_int_equal(db_library_group_members(fx->db, g[0].id, collect_ids,
                                            &ids),
                   SS_OK);
  assert_int_equal(ids.n, 2);
  assert_int_equal(ids.v[0], mp3);
  assert_int_equal(ids.v[1], flac);
}

static void test_rescan_finds_nothing_new(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 200500, false, 192000);
  add_track(fx->db, "/lib/3.mp3", "B", "Other", 100000, false, 192000);
  add_track(fx->db, "/lib/4.mp3", "B", "Other (Bonus Track)", 100000, false,
            192000);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.new_groups, 2);
  for (int i = 0; i < 3; i++) {
    st = detect(fx->db, DUPES_METADATA, 2000 + i);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.new_groups, 0);
    assert_int_equal(st.open_groups, 2);
    assert_int_equal(st.keys_computed, 0); /* keys are kept */
  }
  /* A third copy joins the same finding: not a new one. */
  add_track(fx->db, "/lib/5.flac", "A", "Song", 199000, true, 800000);
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.new_groups, 0);
  struct library_group g[4];
  size_t n;
  open_groups(fx->db, g, 4, &n);
  assert_int_equal(n, 2);
  bool found = false;
  for (size_t i = 0; i < n; i++)
    if (g[i].n_members == 3)
      found = true;
  assert_true(found);
}

static void test_dismissed_never_comes_back(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false, 192000);
  detect(fx->db, DUPES_METADATA, 1000);
  struct library_group g[2];
  size_t n;
  open_groups(fx->db, g, 2, &n);
  assert_int_equal(n, 1);
  assert_int_equal(db_library_group_set_status(fx->db, g[0].id, "dismissed",
                                               1500),
                   SS_OK);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.groups, 1);
  assert_int_equal(st.new_groups, 0);
  assert_int_equal(st.open_groups, 0);
  /* even when another copy appears */
  add_track(fx->db, "/lib/3.mp3", "A", "Song", 200000, false, 192000);
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.new_groups, 0);
  assert_int_equal(st.open_groups, 0);
  int64_t total;
  assert_int_equal(db_library_groups_list(fx->db, "dismissed", 0, g, 2, &n,
                                          &total),
                   SS_OK);
  assert_int_equal(total, 1);
}

static void test_vanished_group_goes_stale_and_returns(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  int64_t b = add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false,
                        192000);
  detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(db_library_mark_gone(fx->db, &b, 1), SS_OK);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.groups, 0);
  assert_int_equal(st.open_groups, 0);
  /* the file is back: the same finding, not a new one */
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false, 192000);
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.open_groups, 1);
  assert_int_equal(st.new_groups, 0);
}

/* The first member leaving (its key anchor) keeps the finding's identity;
 * a different song by the same tracks' neighbours is a new finding. */
static void test_identity_survives_members_changing(void **state)
{
  struct fx *fx = *state;
  int64_t first = add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false,
                            128000);
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 201000, false, 192000);
  add_track(fx->db, "/lib/3.mp3", "A", "Song", 199000, false, 192000);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.new_groups, 1);
  struct library_group before[2], after[2];
  size_t n;
  open_groups(fx->db, before, 2, &n);
  assert_int_equal(db_library_mark_gone(fx->db, &first, 1), SS_OK);
  st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.new_groups, 0);
  open_groups(fx->db, after, 2, &n);
  assert_int_equal(n, 1);
  assert_int_equal(after[0].id, before[0].id);
  assert_string_equal(after[0].key, before[0].key);
  assert_int_equal(after[0].n_members, 2);
  /* the same tracks' artist gets a second, different song: new finding */
  add_track(fx->db, "/lib/4.mp3", "A", "Other", 100000, false, 192000);
  add_track(fx->db, "/lib/5.mp3", "A", "Other", 100000, false, 192000);
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.new_groups, 1);
  assert_int_equal(st.open_groups, 2);
}

static void test_resolved_group_reopens_with_new_copy(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.flac", "A", "Song", 200000, true, 800000);
  int64_t loser = add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false,
                            192000);
  detect(fx->db, DUPES_METADATA, 1000);
  struct library_group g[2];
  size_t n;
  open_groups(fx->db, g, 2, &n);
  struct library_quarantine_entry e = {.group_id = g[0].id,
                                       .track_id = loser,
                                       .size = 1000,
                                       .moved_ms = 1100};
  snprintf(e.original_path, sizeof e.original_path, "/lib/2.mp3");
  snprintf(e.quarantine_path, sizeof e.quarantine_path, "/q/2.mp3");
  assert_int_equal(db_library_quarantine_add(fx->db, &e), SS_OK);
  assert_int_equal(db_library_group_set_status(fx->db, g[0].id, "resolved",
                                               1100),
                   SS_OK);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.groups, 0); /* the loser is quarantined */
  struct library_counts c;
  assert_int_equal(db_library_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.quarantined, 1);
  assert_int_equal(c.live, 1);
  /* a new copy of the kept song appears: reopened, counted */
  add_track(fx->db, "/lib/3.mp3", "A", "Song", 200000, false, 192000);
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.new_groups, 1);
  assert_int_equal(st.open_groups, 1);
  struct library_group one;
  assert_int_equal(db_library_group_get(fx->db, g[0].id, &one), SS_OK);
  assert_string_equal(one.status, "open");
  assert_int_equal(one.n_members, 2);
}

static void set_hash(struct db *db, const char *path, const char *hash)
{
  struct library_scan_item *it = calloc(1, sizeof *it);
  snprintf(it->t.path, sizeof it->t.path, "%s", path);
  it->set_hash = true;
  snprintf(it->file_hash, sizeof it->file_hash, "%s", hash);
  assert_int_equal(db_library_scan_write(db, 1, it, 1), SS_OK);
  free(it);
}

static void test_file_hash_and_one_finding_per_set(void **state)
{
  struct fx *fx = *state;
  /* byte-identical copies with different tags */
  add_track(fx->db, "/lib/x.mp3", "A", "One", 200000, false, 192000);
  add_track(fx->db, "/lib/y.mp3", "", "", 200000, false, 192000);
  /* identical content and identical tags: one finding, not two */
  add_track(fx->db, "/lib/p.mp3", "B", "Two", 100000, false, 192000);
  add_track(fx->db, "/lib/q.mp3", "B", "Two", 100000, false, 192000);
  set_hash(fx->db, "/lib/x.mp3", "00112233445566778899aabbccddeeff");
  set_hash(fx->db, "/lib/y.mp3", "00112233445566778899aabbccddeeff");
  set_hash(fx->db, "/lib/p.mp3", "ffeeddccbbaa99887766554433221100");
  set_hash(fx->db, "/lib/q.mp3", "ffeeddccbbaa99887766554433221100");
  struct dupes_stats st = detect(fx->db, DUPES_FILE_HASH, 1000);
  assert_int_equal(st.groups, 2);
  st = detect(fx->db, DUPES_FILE_HASH | DUPES_METADATA, 2000);
  assert_int_equal(st.groups, 2); /* metadata's B|Two is the same finding */
  assert_int_equal(st.new_groups, 0);
  struct library_group g[4];
  size_t n;
  open_groups(fx->db, g, 4, &n);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(g[i].method, "file-hash");
  /* metadata alone now: B|Two is found by metadata (a new key) and the
   * file-hash groups go stale */
  st = detect(fx->db, DUPES_METADATA, 3000);
  assert_int_equal(st.groups, 1);
  assert_int_equal(st.new_groups, 1);
  assert_int_equal(st.open_groups, 1);
}

static void test_keep_choice_and_status(void **state)
{
  struct fx *fx = *state;
  int64_t a = add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false,
                        128000);
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false, 192000);
  int64_t other = add_track(fx->db, "/lib/3.mp3", "B", "X", 200000, false,
                            192000);
  detect(fx->db, DUPES_METADATA, 1000);
  struct library_group g[2];
  size_t n;
  open_groups(fx->db, g, 2, &n);
  assert_int_equal(db_library_group_set_keep(fx->db, g[0].id, a), SS_OK);
  assert_int_equal(db_library_group_set_keep(fx->db, g[0].id, other),
                   SS_ENOTFOUND);
  struct library_group one;
  assert_int_equal(db_library_group_get(fx->db, g[0].id, &one), SS_OK);
  assert_int_equal(one.keep, a);
  assert_int_equal(db_library_group_set_status(fx->db, g[0].id, "bogus", 1),
                   SS_EINVAL);
  assert_int_equal(db_library_group_set_status(fx->db, 9999, "open", 1),
                   SS_ENOTFOUND);
  assert_int_equal(db_library_group_get(fx->db, 9999, &one), SS_ENOTFOUND);
  /* the kept choice survives a rescan */
  detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(db_library_group_get(fx->db, g[0].id, &one), SS_OK);
  assert_int_equal(one.keep, a);
}

/* The key index dropped for a bulk fill (or lost in a crash) comes back. */
static void test_key_index_heals(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  add_track(fx->db, "/lib/2.mp3", "A", "Song", 200000, false, 192000);
  int64_t pending = 0;
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 2);
  assert_int_equal(db_library_keys_index(fx->db, false), SS_OK);
  assert_int_equal(db_library_keys_index(fx->db, false), SS_OK);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.groups, 1);
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 0);
  sqlite3 *c;
  assert_int_equal(sqlite3_open(fx->path, &c), SQLITE_OK);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(c,
                                      "SELECT count(*) FROM sqlite_master"
                                      " WHERE name = 'library_keys_norm'",
                                      -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(c);
  /* a changed track loses its key until the next detection */
  add_track(fx->db, "/lib/2.mp3", "A", "Song (Live)", 200000, false, 192000);
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 1);
  st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.keys_computed, 1);
  assert_int_equal(st.groups, 0);
}

static void test_upsert_keeps_hash_until_content_changes(void **state)
{
  struct fx *fx = *state;
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  set_hash(fx->db, "/lib/1.mp3", "0123456789abcdef0123456789abcdef");
  struct library_seen seen;
  assert_int_equal(db_library_seen(fx->db, "/lib/1.mp3", &seen), SS_OK);
  assert_true(seen.has_hash);
  /* same size and mtime (e.g. the import adds its ids): hash stays */
  add_track(fx->db, "/lib/1.mp3", "A", "Song", 200000, false, 128000);
  assert_int_equal(db_library_seen(fx->db, "/lib/1.mp3", &seen), SS_OK);
  assert_true(seen.has_hash);
  struct library_track *t = calloc(1, sizeof *t);
  assert_int_equal(db_library_track_by_path(fx->db, "/lib/1.mp3", t), SS_OK);
  t->size = 2000;
  assert_int_equal(db_library_track_upsert(fx->db, t, NULL), SS_OK);
  assert_int_equal(db_library_seen(fx->db, "/lib/1.mp3", &seen), SS_OK);
  assert_false(seen.has_hash);
  assert_int_equal(db_library_track_by_path(fx->db, "/nope", t), SS_ENOTFOUND);
  free(t);
}

/* ---- keys stored with the row (issue 10) ---- */

/* add_track() as the scanner and the import write it: with its key. */
static int64_t add_keyed(struct db *db, const char *path, const char *artist,
                         const char *title, int64_t dur_ms)
{
  struct library_track *t = calloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s", path);
  snprintf(t->media.artist, sizeof t->media.artist, "%s", artist);
  snprintf(t->media.title, sizeof t->media.title, "%s", title);
  snprintf(t->media.codec, sizeof t->media.codec, "mp3");
  t->media.duration_ms = dur_ms;
  t->media.bitrate = 320000;
  t->size = 1000;
  t->mtime_ns = 1;
  dupes_track_key(t);
  int64_t id = 0;
  assert_int_equal(db_library_track_upsert(db, t, &id), SS_OK);
  free(t);
  return id;
}

static void raw(const char *path, const char *sql)
{
  sqlite3 *c;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(c, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(c);
  assert_int_equal(rc, SQLITE_OK);
}

/* The stored key of track id ("" for NULL). */
static void stored_key(const char *path, int64_t id, char *out, size_t n)
{
  sqlite3 *c;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(c,
                                      "SELECT coalesce(norm_key, '')"
                                      " FROM library_tracks WHERE id = ?1",
                                      -1, &q, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(q, 1, id);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(c);
}

struct named {
  const char *artist, *title;
};

/* Spelling variants of real names: NFC and NFD, case, accents, curly and
 * straight apostrophes; "AC/DC" and "ACDC" stay apart (punctuation is a
 * word break, so "ac dc" is not "acdc"). */
static const struct named variants[] = {
  {"Björk", "Jóga"},
  {"Bjo\xcc\x88rk", "Jo\xcc\x81ga"},
  {"BJÖRK", "JÓGA"},
  {"Sigur Rós", "Hoppípolla"},
  {"Sigur Ros", "Hoppipolla"},
  {"Guns N' Roses", "Patience"},
  {"Guns N\xe2\x80\x99 Roses", "Patience"},
  {"坂本龍一", "Merry Christmas Mr. Lawrence"},
  {"坂本龍一", "Merry Christmas Mr. Lawrence (Remastered 2019)"},
  {"AC/DC", "Thunderstruck"},
  {"ACDC", "Thunderstruck"},
  {"<b>&\"'", "<b>&\"'"},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

/* Keys written with the rows are the keys the detection computes, and
 * the detection then computes none and finds the same groups. */
static void test_stored_keys_match_computed(void **state)
{
  struct fx *fx = *state;
  int64_t ids[N_VARIANTS];
  char path[64];
  for (size_t i = 0; i < N_VARIANTS; i++) {
    snprintf(path, sizeof path, "/lib/%zu.mp3", i);
    ids[i] = add_keyed(fx->db, path, variants[i].artist, variants[i].title,
                       200000 + (int64_t)i * 100);
  }
  int64_t pending = -1;
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 0);
  char stored[N_VARIANTS][DUPES_KEY_MAX];
  for (size_t i = 0; i < N_VARIANTS; i++)
    stored_key(fx->path, ids[i], stored[i], sizeof stored[i]);
  assert_string_equal(stored[0], "bjork|joga");
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.keys_computed, 0);
  /* Björk x3, Sigur Rós x2, Guns N' Roses x2, 坂本龍一 x2 */
  assert_int_equal(st.groups, 4);
  /* the same keys when the detection computes them */
  raw(fx->path, "UPDATE library_tracks SET norm_key = NULL");
  st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.keys_computed, N_VARIANTS);
  assert_int_equal(st.groups, 4);
  assert_int_equal(st.new_groups, 0);
  for (size_t i = 0; i < N_VARIANTS; i++) {
    char again[DUPES_KEY_MAX];
    stored_key(fx->path, ids[i], again, sizeof again);
    assert_string_equal(again, stored[i]);
  }
}

static void members_are(struct db *db, const char *key_prefix,
                        const int64_t *want, size_t n)
{
  struct library_group g[8];
  size_t count;
  open_groups(db, g, 8, &count);
  for (size_t i = 0; i < count; i++) {
    if (strncmp(g[i].key, key_prefix, strlen(key_prefix)))
      continue;
    struct ids ids = {0};
    assert_int_equal(db_library_group_members(db, g[i].id, collect_ids, &ids),
                     SS_OK);
    assert_int_equal(ids.n, n);
    for (size_t k = 0; k < n; k++)
      assert_int_equal(ids.v[k], want[k]);
    return;
  }
  fail_msg("no group %s", key_prefix);
}

/* A big library's keys are read by two threads split at a sampled key:
 * rows on both sides of the split (Björk below, 坂本龍一 above) and the run
 * whose key is the split key itself (Sigur Rós) come out as one pass over all
 * of them would give them. */
static void test_split_read_gives_the_same_groups(void **state)
{
  struct fx *fx = *state;
  int64_t bjork1 = add_keyed(fx->db, "/lib/a.flac", "Björk", "Jóga", 300000);
  int64_t sigur1 = add_keyed(fx->db, "/lib/b.mp3", "Sigur Rós", "Hoppípolla",
                             268000);
  int64_t sakamoto1 = add_keyed(fx->db, "/lib/c.mp3", "坂本龍一",
                                "Merry Christmas Mr. Lawrence", 280000);
  add_keyed(fx->db, "/lib/d.mp3", "AC/DC", "Thunderstruck", 292000);
  /* a row far up: every sample lands on it, its key becomes the split */
  char key[DUPES_KEY_MAX], sql[1024];
  dupes_norm_key("SIGUR RO\xcc\x81S", "", "Hoppi\xcc\x81polla", NULL, key,
                 sizeof key);
  snprintf(sql, sizeof sql,
           "INSERT INTO library_tracks (id, path, artist, title,"
           " duration_ms, norm_key) VALUES (200000, '/lib/e.mp3',"
           " 'SIGUR RO\xcc\x81S', 'Hoppi\xcc\x81polla', 268200, '%s')",
           key);
  raw(fx->path, sql);
  int64_t bjork3 = add_keyed(fx->db, "/lib/f.mp3", "BJÖRK", "JÓGA", 299000);
  int64_t sigur2 = add_keyed(fx->db, "/lib/g.mp3", "Sigur Ros", "Hoppipolla",
                             268500);
  int64_t sakamoto2 = add_keyed(fx->db, "/lib/h.mp3", "坂本龍一",
                                "Merry Christmas Mr. Lawrence", 281000);
  add_keyed(fx->db, "/lib/i.mp3", "ACDC", "Thunderstruck", 292000);
  assert_true(bjork3 > 200000);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.groups, 3);
  const int64_t bjork[] = {bjork1, bjork3};
  const int64_t sigur[] = {sigur1, 200000, sigur2};
  const int64_t sakamoto[] = {sakamoto1, sakamoto2};
  members_are(fx->db, "metadata-hash:bjork|joga#", bjork, 2);
  members_are(fx->db, "metadata-hash:sigur ros|hoppipolla#", sigur, 3);
  members_are(fx->db, "metadata-hash:坂本龍一|", sakamoto, 2);
  st = detect(fx->db, DUPES_METADATA, 2000);
  assert_int_equal(st.groups, 3);
  assert_int_equal(st.new_groups, 0);
}

/* Migration 13 copies the keys of a store that kept them in library_keys
 * (migration 4); rows without one get it at the next detection. */
static void test_migration_copies_keys(void **state)
{
  struct fx *fx = *state;
  int64_t a = add_keyed(fx->db, "/lib/1.mp3", "Björk", "Jóga", 300000);
  int64_t b = add_keyed(fx->db, "/lib/2.mp3", "BJÖRK", "Jóga", 300500);
  add_keyed(fx->db, "/lib/3.mp3", "Sigur Rós", "Hoppípolla", 268000);
  db_close(fx->db);
  fx->db = NULL;
  /* back to the shape of migration 12: keys in their own table, b's only */
  char sql[1024];
  snprintf(sql, sizeof sql,
           "DROP INDEX library_keys_norm; DROP INDEX library_tracks_nokey;"
           " DROP INDEX IF EXISTS library_tracks_unreadable;"
           " CREATE TABLE library_keys (track_id INTEGER PRIMARY KEY"
           " REFERENCES library_tracks (id) ON DELETE CASCADE,"
           " norm_key TEXT NOT NULL);"
           " CREATE INDEX library_keys_norm ON library_keys (norm_key)"
           " WHERE norm_key <> '';"
           " INSERT INTO library_keys SELECT id, norm_key FROM library_tracks"
           " WHERE id = %lld;"
           " ALTER TABLE library_tracks DROP COLUMN norm_key;"
           " PRAGMA user_version = 12;",
           (long long)b);
  raw(fx->path, sql);
  int version = 0;
  assert_int_equal(db_open(fx->path, &fx->db), SS_OK);
  assert_int_equal(db_migrate(fx->db, &version), SS_OK);
  char key[DUPES_KEY_MAX];
  stored_key(fx->path, b, key, sizeof key);
  assert_string_equal(key, "bjork|joga");
  stored_key(fx->path, a, key, sizeof key);
  assert_string_equal(key, ""); /* NULL: not computed yet */
  int64_t pending = 0;
  assert_int_equal(db_library_keys_pending(fx->db, &pending), SS_OK);
  assert_int_equal(pending, 2);
  struct dupes_stats st = detect(fx->db, DUPES_METADATA, 1000);
  assert_int_equal(st.keys_computed, 2);
  assert_int_equal(st.groups, 1);
  stored_key(fx->path, a, key, sizeof key);
  assert_string_equal(key, "bjork|joga");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_normalize_table),
    cmocka_unit_test(test_normalize_bounds_and_invalid_utf8),
    cmocka_unit_test(test_clean_title_table),
    cmocka_unit_test(test_norm_key),
    cmocka_unit_test(test_methods_parse),
    cmocka_unit_test(test_keep_best_order),
    cmocka_unit_test(test_fp_similarity),
    cmocka_unit_test(test_duration_runs),
    cmocka_unit_test(test_union),
    cmocka_unit_test_setup_teardown(test_metadata_groups_and_keep_best, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_rescan_finds_nothing_new, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_dismissed_never_comes_back, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_vanished_group_goes_stale_and_returns,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_identity_survives_members_changing,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_resolved_group_reopens_with_new_copy,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_file_hash_and_one_finding_per_set,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_keep_choice_and_status, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_key_index_heals, setup, teardown),
    cmocka_unit_test_setup_teardown(
      test_upsert_keeps_hash_until_content_changes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stored_keys_match_computed, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_split_read_gives_the_same_groups,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_migration_copies_keys, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
