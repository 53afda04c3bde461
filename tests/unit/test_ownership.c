/*
 * test_ownership.c - unit tests of automation/ownership.c: the normalised
 * keys with every tolerance (case, accents in NFC and NFD, punctuation,
 * "The", feat./ft., remaster/deluxe/edition suffixes, disc splits, other
 * scripts, markup characters) and what they must keep apart (live,
 * acoustic, remix), then the index over a real store: tracks by id and by
 * key, gone rows left out, albums owned, partly owned
 * (with the missing tracks) or not, by track list, by track count and by
 * MusicBrainz release group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tstore.h"
#include "automation/ownership.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_library.h"

/* "Björk" with a precomposed ö (NFC) and with o + combining diaeresis. */
#define BJORK_NFC "Bj\xc3\xb6rk"
#define BJORK_NFD "Bjo\xcc\x88rk"
#define ROS_NFC "Sigur R\xc3\xb3s"
#define ROS_NFD "Sigur Ro\xcc\x81s"

static void expect_same(size_t (*fn)(const char *, char *, size_t),
                        const char *a, const char *b)
{
  char ka[OWNERSHIP_KEY_MAX], kb[OWNERSHIP_KEY_MAX];
  fn(a, ka, sizeof ka);
  fn(b, kb, sizeof kb);
  if (strcmp(ka, kb) || !ka[0])
    fail_msg("\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a, ka, b, kb);
}

static void expect_differ(size_t (*fn)(const char *, char *, size_t),
                          const char *a, const char *b)
{
  char ka[OWNERSHIP_KEY_MAX], kb[OWNERSHIP_KEY_MAX];
  fn(a, ka, sizeof ka);
  fn(b, kb, sizeof kb);
  if (!strcmp(ka, kb))
    fail_msg("\"%s\" and \"%s\" both -> \"%s\"", a, b, ka);
}

static void expect_key(size_t (*fn)(const char *, char *, size_t),
                       const char *in, const char *want)
{
  char k[OWNERSHIP_KEY_MAX];
  size_t len = fn(in, k, sizeof k);
  if (strcmp(k, want))
    fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, k, want);
  assert_int_equal(len, strlen(want));
}

static void test_artist_keys(void **state)
{
  (void)state;
  expect_same(ownership_artist_key, BJORK_NFC, BJORK_NFD);
  expect_same(ownership_artist_key, BJORK_NFC, "BJORK");
  expect_key(ownership_artist_key, BJORK_NFD, "bjork");
  expect_same(ownership_artist_key, ROS_NFC, ROS_NFD);
  expect_key(ownership_artist_key, ROS_NFD, "sigur ros");
  expect_same(ownership_artist_key, "AC/DC", "ac-dc");
  expect_same(ownership_artist_key, "AC/DC", "AC DC");
  expect_same(ownership_artist_key, "The Beatles", "Beatles, The");
  expect_same(ownership_artist_key, "The Beatles", "beatles");
  expect_same(ownership_artist_key, "Beatles,The", "THE BEATLES");
  expect_same(ownership_artist_key, "Guns N' Roses", "Guns N Roses");
  expect_same(ownership_artist_key, "Guns N' Roses", "guns n’ roses");
  expect_same(ownership_artist_key, "Björk feat. Thom Yorke", BJORK_NFD);
  expect_same(ownership_artist_key, "Kanye West ft. Jay-Z", "Kanye West");
  expect_key(ownership_artist_key, "坂本龍一", "坂本龍一");
  expect_differ(ownership_artist_key, "坂本龍一", "坂本龍二");
  expect_key(ownership_artist_key, "<b>&\"'", "b");
  /* a band named only by punctuation keeps its name */
  expect_key(ownership_artist_key, "!!!", "!!!");
  /* ", The" only at the end, "the" inside stays */
  expect_differ(ownership_artist_key, "Catch the Rainbow", "Catch Rainbow");
  expect_same(ownership_artist_key, "Florence and the Machine",
              "Florence + The Machine");
  expect_differ(ownership_artist_key, "The Beatles", "The Beach Boys");
}

static void test_title_keys(void **state)
{
  (void)state;
  expect_same(ownership_title_key, "Song (feat. X)", "Song ft. X");
  expect_same(ownership_title_key, "Song [ft. X]", "Song featuring X");
  expect_same(ownership_title_key, "Song (feat. X)", "Song");
  expect_same(ownership_title_key, "Hyperballad - 2011 Remaster",
              "Hyperballad");
  expect_same(ownership_title_key, "Hyperballad (Remastered 2011)",
              "HYPERBALLAD");
  expect_same(ownership_title_key, "Hoppípolla", "Hoppipolla");
  expect_same(ownership_title_key, "Hoppi\xcc\x81polla", "Hoppípolla");
  expect_same(ownership_title_key, "Welcome to the Jungle (Album Version)",
              "Welcome to the Jungle");
  expect_same(ownership_title_key, "Energy Flow (Deluxe Edition)",
              "Energy Flow");
  expect_same(ownership_title_key, "<b>&\"'", "b");
  /* a different recording is never the same track */
  expect_differ(ownership_title_key, "Hyperballad (Live)", "Hyperballad");
  expect_differ(ownership_title_key, "Hyperballad (Live Version)",
                "Hyperballad");
  expect_differ(ownership_title_key, "Army of Me - Acoustic Version",
                "Army of Me");
  expect_differ(ownership_title_key, "Hunter (Remix)", "Hunter");
  /* a disc word in a track title is part of it */
  expect_differ(ownership_title_key, "Track (CD Version Disc 2 Demo)",
                "Track");
}

static void test_album_keys(void **state)
{
  (void)state;
  expect_same(ownership_album_title_key, "Album (2011 Remaster)", "Album");
  expect_same(ownership_album_title_key, "Homogenic (Deluxe Edition)",
              "Homogenic");
  expect_same(ownership_album_title_key, "Homogenic [Expanded Edition]",
              "homogenic");
  expect_same(ownership_album_title_key, "Homogenic - 2011 Remaster",
              "Homogenic");
  expect_same(ownership_album_title_key, "Takk... (Disc 1)", "Takk...");
  expect_same(ownership_album_title_key, "Takk... [Disc 2]", "Takk");
  expect_same(ownership_album_title_key, "Takk... CD2", "Takk");
  expect_same(ownership_album_title_key, "Takk... CD 2", "Takk");
  expect_same(ownership_album_title_key, "Takk... - Disc 1", "Takk");
  expect_same(ownership_album_title_key, "Takk... disc 3", "Takk");
  expect_same(ownership_album_title_key, "( )", "( )");
  expect_same(ownership_album_title_key, "Ágætis byrjun",
              "A\xcc\x81g\xc3\xa6tis byrjun");
  expect_same(ownership_album_title_key, "Appetite for Destruction",
              "APPETITE FOR DESTRUCTION (Remastered)");
  expect_key(ownership_album_title_key, "音楽図鑑 (2015 Edition)", "音楽図鑑");
  /* the only word stays even when it looks like a disc */
  expect_key(ownership_album_title_key, "CD2", "cd2");
  expect_differ(ownership_album_title_key, "Homogenic Live", "Homogenic");
  expect_differ(ownership_album_title_key, "Back in Black", "Black Ice");
}

static void test_joined_keys(void **state)
{
  (void)state;
  char a[OWNERSHIP_KEY_MAX], b[OWNERSHIP_KEY_MAX];
  ownership_album_key("Beatles, The", "Abbey Road (2019 Mix)", a, sizeof a);
  /* "Mix" names a different recording: it stays */
  assert_string_equal(a, "beatles\x1f"
                         "abbey road 2019 mix");
  ownership_album_key("The Beatles", "Abbey Road (Remastered 2009)", a,
                      sizeof a);
  ownership_album_key("beatles", "ABBEY ROAD", b, sizeof b);
  assert_string_equal(a, b);
  assert_string_equal(a, "beatles\x1f"
                         "abbey road");
  ownership_track_key(BJORK_NFD, "Jóga (feat. X)", a, sizeof a);
  ownership_track_key(BJORK_NFC, "Joga", b, sizeof b);
  assert_string_equal(a, b);
  assert_string_equal(a, "bjork\x1f"
                         "joga");
  /* the artist part separates: same title, other artist */
  ownership_track_key("AC/DC", "Thunderstruck", a, sizeof a);
  ownership_track_key("Guns N' Roses", "Thunderstruck", b, sizeof b);
  assert_string_not_equal(a, b);
  /* small buffers: cut, terminated, never overrun */
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  size_t len = ownership_album_key("Sigur Rós", "Ágætis byrjun", tiny,
                                   sizeof tiny);
  assert_true(len < sizeof tiny);
  assert_int_equal(strlen(tiny), len);
  /* NULL input is "" */
  assert_int_equal(ownership_title_key(NULL, a, sizeof a), 0);
  assert_string_equal(a, "");
}

/* ---- the index over a store ---- */

struct fx {
  struct tstore st;
  struct db *db;
  int n;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  if (tstore_open(&fx->st, "test_ownership"))
    return -1;
  fx->db = fx->st.db;
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  tstore_close(&fx->st);
  free(fx);
  return 0;
}

struct row {
  const char *artist, *album_artist, *album, *title;
  const char *spotify, *mb_recording, *mb_group;
  bool gone;
};

static int64_t add(struct fx *fx, const struct row *r)
{
  struct library_track *t = calloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "/music/%d.flac", fx->n++);
  snprintf(t->media.artist, sizeof t->media.artist, "%s",
           r->artist ? r->artist : "");
  snprintf(t->media.album_artist, sizeof t->media.album_artist, "%s",
           r->album_artist ? r->album_artist : "");
  snprintf(t->media.album, sizeof t->media.album, "%s",
           r->album ? r->album : "");
  snprintf(t->media.title, sizeof t->media.title, "%s",
           r->title ? r->title : "");
  snprintf(t->spotify_track_id, sizeof t->spotify_track_id, "%s",
           r->spotify ? r->spotify : "");
  snprintf(t->media.mb_recording_id, sizeof t->media.mb_recording_id, "%s",
           r->mb_recording ? r->mb_recording : "");
  snprintf(t->media.mb_release_group_id, sizeof t->media.mb_release_group_id,
           "%s", r->mb_group ? r->mb_group : "");
  t->gone = r->gone;
  t->size = 1000;
  t->mtime_ns = 1;
  int64_t id = 0;
  assert_int_equal(db_library_track_upsert(fx->db, t, &id), SS_OK);
  free(t);
  return id;
}

static struct ownership *load(struct fx *fx)
{
  struct ownership *o = NULL;
  assert_int_equal(ownership_load(fx->db, &o), SS_OK);
  assert_non_null(o);
  return o;
}

static void test_empty_library(void **state)
{
  struct fx *fx = *state;
  struct ownership *o = load(fx);
  assert_int_equal(ownership_track_count(o), 0);
  assert_false(ownership_has_track(o, BJORK_NFC, "Joga", NULL, NULL));
  struct ownership_album_in a = {.artist = BJORK_NFC,
                                 .album = "Homogenic",
                                 .total_tracks = 10};
  assert_int_equal(ownership_album(o, &a, NULL), OWN_NONE);
  ownership_free(o);
  ownership_free(NULL);
}

static void test_tracks_by_key_and_id(void **state)
{
  struct fx *fx = *state;
  add(fx, &(struct row){BJORK_NFD, NULL, "Homogenic (Remastered)",
                        "Jóga (feat. Nobody)"});
  add(fx, &(struct row){"Beatles, The", NULL, "Abbey Road", "Something"});
  add(fx, &(struct row){"Guns N' Roses", NULL, "Appetite",
                        "Sweet Child O' Mine", "4sPmO7WMQUAf45kwMOtONw"});
  add(fx, &(struct row){"Whoever", NULL, NULL, "Untitled", NULL,
                        "b1a9c0e9-d987-4042-ae91-78d6a3267d69"});
  /* a compilation track: found by its album artist too */
  add(fx, &(struct row){"坂本龍一", "Various Artists", "Sampler",
                        "Merry Christmas Mr. Lawrence"});
  add(fx, &(struct row){"AC/DC", NULL, "Back in Black", "Hells Bells",
                        .gone = true});
  add(fx, &(struct row){"<b>&\"'", NULL, "x", "<i>"});
  struct ownership *o = load(fx);
  assert_int_equal(ownership_track_count(o), 6);
  assert_true(ownership_has_track(o, BJORK_NFC, "Joga", NULL, NULL));
  assert_true(ownership_has_track(o, "BJORK", "JÓGA - 2011 Remaster", "", ""));
  assert_true(ownership_has_track(o, "The Beatles", "Something", NULL, NULL));
  assert_false(
    ownership_has_track(o, "The Beatles", "Something (Live)", NULL, NULL));
  /* by Spotify id, whatever the names say */
  assert_true(ownership_has_track(o, "GNR", "Sweet Child",
                                  "4sPmO7WMQUAf45kwMOtONw", NULL));
  assert_true(
    ownership_has_track(o, "Guns N Roses", "Sweet Child O Mine", NULL, NULL));
  assert_false(
    ownership_has_track(o, "X", "Y", "0000000000000000000000", NULL));
  assert_true(ownership_has_track(o, "?", "?", NULL,
                                  "b1a9c0e9-d987-4042-ae91-78d6a3267d69"));
  assert_true(ownership_has_track(o, "坂本龍一", "Merry Christmas Mr Lawrence",
                                  NULL, NULL));
  assert_true(ownership_has_track(o, "Various Artists",
                                  "Merry Christmas Mr. Lawrence", NULL, NULL));
  /* gone rows are not owned (a quarantined track is gone too) */
  assert_false(ownership_has_track(o, "AC/DC", "Hells Bells", NULL, NULL));
  assert_true(ownership_has_track(o, "<b>&\"'", "<i>", NULL, NULL));
  assert_false(ownership_has_track(o, BJORK_NFC, "", NULL, NULL));
  assert_false(ownership_has_track(o, BJORK_NFC, NULL, NULL, NULL));
  ownership_free(o);
}

static void test_albums(void **state)
{
  struct fx *fx = *state;
  /* Takk... split over two discs, tagged differently per disc */
  add(fx, &(struct row){ROS_NFD, NULL, "Takk... (Disc 1)", "Glósóli"});
  add(fx, &(struct row){ROS_NFC, NULL, "Takk... CD2", "Hoppípolla"});
  add(fx, &(struct row){ROS_NFC, "Sigur Rós", "Takk...", "Sæglópur"});
  /* two of three tracks of Homogenic */
  add(fx,
      &(struct row){BJORK_NFC, NULL, "Homogenic (2011 Remaster)", "Hunter"});
  add(fx, &(struct row){BJORK_NFD, NULL, "Homogenic", "Jóga"});
  /* by release group only (the names are someone else's spelling) */
  add(fx, &(struct row){"AC-DC", NULL, "BiB", "a", .mb_group = "rg-bib"});
  add(fx, &(struct row){"AC-DC", NULL, "BiB", "b", .mb_group = "rg-bib"});
  struct ownership *o = load(fx);

  struct ownership_album_in takk = {.artist = "Sigur Ros",
                                    .album = "Takk... (Deluxe Edition)",
                                    .total_tracks = 3};
  assert_int_equal(ownership_album(o, &takk, NULL), OWN_FULL);
  takk.total_tracks = 11;
  assert_int_equal(ownership_album(o, &takk, NULL), OWN_PARTIAL);
  takk.total_tracks = 0; /* unknown count: a track of it is enough */
  assert_int_equal(ownership_album(o, &takk, NULL), OWN_FULL);

  const struct ownership_track_in homogenic_tracks[] = {
    {"Hunter", NULL, NULL},
    {"Jóga (feat. Nobody)", NULL, NULL},
    {"Bachelorette", "spotify-bachelorette", NULL},
  };
  bool missing[3] = {true, true, false};
  struct ownership_album_in homogenic = {.artist = BJORK_NFD,
                                         .album = "Homogenic",
                                         .total_tracks = 3,
                                         .tracks = homogenic_tracks,
                                         .n_tracks = 3};
  assert_int_equal(ownership_album(o, &homogenic, missing), OWN_PARTIAL);
  assert_false(missing[0]);
  assert_false(missing[1]);
  assert_true(missing[2]);
  /* the missing track arrives (by its Spotify id) */
  add(fx, &(struct row){"Björk", NULL, "Homogenic", "Bachelorette (Live)",
                        "spotify-bachelorette"});
  ownership_free(o);
  o = load(fx);
  assert_int_equal(ownership_album(o, &homogenic, missing), OWN_FULL);
  assert_false(missing[2]);
  /* nothing of it */
  const struct ownership_track_in debut_tracks[] = {{"Human Behaviour"},
                                                    {"Venus as a Boy"}};
  struct ownership_album_in debut = {.artist = BJORK_NFC,
                                     .album = "Debut",
                                     .tracks = debut_tracks,
                                     .n_tracks = 2};
  assert_int_equal(ownership_album(o, &debut, missing), OWN_NONE);
  assert_true(missing[0] && missing[1]);
  debut.tracks = NULL;
  debut.n_tracks = 0;
  assert_int_equal(ownership_album(o, &debut, NULL), OWN_NONE);

  struct ownership_album_in bib = {.artist = "AC/DC",
                                   .album = "Back in Black",
                                   .mb_release_group_id = "rg-bib",
                                   .total_tracks = 2};
  assert_int_equal(ownership_album(o, &bib, NULL), OWN_FULL);
  bib.total_tracks = 10;
  assert_int_equal(ownership_album(o, &bib, NULL), OWN_PARTIAL);
  bib.mb_release_group_id = "rg-other";
  assert_int_equal(ownership_album(o, &bib, NULL), OWN_NONE);
  ownership_free(o);
}

/* Many rows: the maps grow past their first size and keep every key. */
static void test_many_rows(void **state)
{
  struct fx *fx = *state;
  for (int i = 0; i < 3000; i++) {
    char artist[32], album[32], title[32];
    snprintf(artist, sizeof artist, "Artist %d", i % 300);
    snprintf(album, sizeof album, "Album %d", i % 700);
    snprintf(title, sizeof title, "Title %d", i);
    add(fx, &(struct row){artist, NULL, album, title});
  }
  struct ownership *o = load(fx);
  assert_int_equal(ownership_track_count(o), 3000);
  for (int i = 0; i < 3000; i += 7) {
    char artist[32], title[32];
    snprintf(artist, sizeof artist, "ARTIST %d", i % 300);
    snprintf(title, sizeof title, "title %d", i);
    assert_true(ownership_has_track(o, artist, title, NULL, NULL));
    snprintf(title, sizeof title, "title %d", i + 3000);
    assert_false(ownership_has_track(o, artist, title, NULL, NULL));
  }
  ownership_free(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_artist_keys),
    cmocka_unit_test(test_title_keys),
    cmocka_unit_test(test_album_keys),
    cmocka_unit_test(test_joined_keys),
    cmocka_unit_test_setup_teardown(test_empty_library, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tracks_by_key_and_id, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_albums, setup, teardown),
    cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
