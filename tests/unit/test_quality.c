/*
 * test_quality.c - the one quality comparator: profile parsing, formats
 * from search results and from probed codecs, rank, order, upgrades; and
 * the candidate ranking built on it (query words, one candidate per peer
 * for tracks, complete folders first for albums, free slot / queue /
 * speed order, track keys).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "downloads/candidates.h"
#include "downloads/quality.h"
#include "downloads/requests.h"

#define DEFAULT_PROFILE                                                       \
  "flac,alac,wav,mp3-320,aac-256,ogg-320,mp3-v0,mp3-256,mp3-192"

static struct quality_profile profile(const char *text)
{
  struct quality_profile p;
  char err[160];
  assert_int_equal(quality_profile_parse(text, &p, err, sizeof err), SS_OK);
  return p;
}

static struct quality_input search_q(const char *ext, int kbps, bool vbr,
                                     int depth, int rate)
{
  struct quality_input q;
  quality_from_search(ext, kbps, vbr, depth, rate, 0, 0, &q);
  return q;
}

static void test_profile_parse(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE);
  assert_int_equal(p.n, 9);
  assert_string_equal(p.e[0].format, "flac");
  assert_string_equal(p.e[3].format, "mp3");
  assert_int_equal(p.e[3].min_kbps, 320);
  assert_int_equal(p.e[6].vbr_min_kbps, 220);
  p = profile(" FLAC-24 , flac, mp3 ");
  assert_int_equal(p.n, 3);
  assert_int_equal(p.e[0].min_bit_depth, 24);
  assert_int_equal(p.e[2].min_kbps, 0);
  char err[160];
  static const char *const bad[] = {"",
                                    " , ",
                                    "flac,mp4-320",
                                    "mp3-abc",
                                    "mp3-0",
                                    "flac-v0",
                                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct quality_profile q;
    assert_int_equal(quality_profile_parse(bad[i], &q, err, sizeof err),
                     SS_EINVAL);
    assert_true(err[0] != '\0');
  }
}

static void test_formats(void **state)
{
  (void)state;
  struct quality_input q;
  quality_from_search("m4a", 0, false, 16, 44100, 0, 0, &q);
  assert_string_equal(q.format, "alac");
  quality_from_search("m4a", 256, false, 0, 0, 0, 0, &q);
  assert_string_equal(q.format, "aac");
  /* a missing bitrate is estimated from size and length */
  quality_from_search("mp3", 0, false, 0, 0, 8000000, 200, &q);
  assert_int_equal(q.bitrate_kbps, 320);
  quality_from_search("xyz", 320, false, 0, 0, 0, 0, &q);
  assert_string_equal(q.format, "");
  quality_from_codec("pcm_s16le", 1411200, false, 16, 44100, &q);
  assert_string_equal(q.format, "wav");
  quality_from_codec("vorbis", 320000, true, 0, 44100, &q);
  assert_string_equal(q.format, "ogg");
  assert_int_equal(q.bitrate_kbps, 320);
  quality_from_codec("flac", 900000, true, 24, 96000, &q);
  assert_false(q.vbr); /* lossless is never "VBR" */
  assert_true(quality_is_lossless("alac"));
  assert_false(quality_is_lossless("mp3"));
}

static void test_rank_and_order(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE);
  struct quality_input flac16 = search_q("flac", 0, false, 16, 44100);
  struct quality_input flac24 = search_q("flac", 0, false, 24, 96000);
  struct quality_input mp3_320 = search_q("mp3", 320, false, 0, 0);
  struct quality_input mp3_318 = search_q("mp3", 318, false, 0, 0);
  struct quality_input mp3_v0 = search_q("mp3", 245, true, 0, 0);
  struct quality_input mp3_256 = search_q("mp3", 256, false, 0, 0);
  struct quality_input mp3_128 = search_q("mp3", 128, false, 0, 0);
  struct quality_input ogg = search_q("ogg", 320, true, 0, 0);
  struct quality_input wma = search_q("wma", 320, false, 0, 0);
  assert_int_equal(quality_rank(&p, &flac16), 0);
  assert_int_equal(quality_rank(&p, &mp3_320), 3);
  assert_int_equal(quality_rank(&p, &mp3_318), 3); /* peers round */
  assert_int_equal(quality_rank(&p, &ogg), 5);
  assert_int_equal(quality_rank(&p, &mp3_v0), 6);
  assert_int_equal(quality_rank(&p, &mp3_256), 7);
  assert_int_equal(quality_rank(&p, &mp3_128), -1);
  assert_int_equal(quality_rank(&p, &wma), -1);
  assert_true(quality_cmp(&p, &flac24, &flac16) < 0);
  assert_true(quality_cmp(&p, &flac16, &mp3_320) < 0);
  assert_true(quality_cmp(&p, &mp3_320, &mp3_v0) < 0);
  assert_true(quality_cmp(&p, &mp3_256, &mp3_128) < 0);
  assert_true(quality_cmp(&p, &mp3_128, &mp3_256) > 0);
  assert_int_equal(quality_cmp(&p, &mp3_320, &mp3_320), 0);
  /* an upgrade must be accepted and strictly better */
  assert_true(quality_is_upgrade(&p, &flac16, &mp3_320));
  assert_false(quality_is_upgrade(&p, &mp3_320, &flac16));
  assert_false(quality_is_upgrade(&p, &mp3_320, &mp3_320));
  assert_false(quality_is_upgrade(&p, &wma, &mp3_128));
  /* a minimum bit depth only admits what reaches it */
  struct quality_profile hi = profile("flac-24,mp3-320");
  assert_int_equal(quality_rank(&hi, &flac24), 0);
  assert_int_equal(quality_rank(&hi, &flac16), -1);
  char d[64];
  quality_describe(&flac24, d, sizeof d);
  assert_string_equal(d, "flac 24/96");
  quality_describe(&mp3_v0, d, sizeof d);
  assert_string_equal(d, "mp3 VBR 245");
}

/* ---- candidates ---- */

static struct slskd_file sfile(const char *name, const char *ext, int kbps,
                               int depth)
{
  struct slskd_file f = {0};
  f.filename = (char *)name;
  snprintf(f.ext, sizeof f.ext, "%s", ext);
  f.bitrate = kbps;
  f.bit_depth = depth;
  f.sample_rate = depth ? 44100 : 0;
  f.size = 1000;
  return f;
}

static void test_track_candidates(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE);
  struct slskd_file a[] =
    {sfile("@@a\\Band\\Album\\01 - Song.mp3", "mp3", 320, 0),
     sfile("@@a\\Band\\Album\\01 - Song.flac", "flac", 0, 16),
     sfile("@@a\\Band\\Album\\cover.jpg", "jpg", 0, 0),
     sfile("@@a\\Band\\Song Hits\\02 - Other.flac", "flac", 0, 24)};
  struct slskd_file b[] = {sfile("@@b\\Band - Song.flac", "flac", 0, 16)};
  struct slskd_file c[] = {sfile("@@c\\Band\\Song.mp3", "mp3", 128, 0),
                           sfile("@@c\\Other\\Thing.flac", "flac", 0, 16)};
  struct slskd_file d[] = {sfile("@@d\\Band\\Song.flac", "flac", 0, 16)};
  struct slskd_response r[] = {{"slowpeer", false, 10, 1000, a, 4, 0},
                               {"fastpeer", true, 0, 5000000, b, 1, 0},
                               {"lowpeer", true, 0, 9000000, c, 2, 0},
                               {"busypeer", true, 50, 9000000, d, 1, 0}};
  struct slskd_responses resp = {r, 4};
  struct cand_query q = {DL_TRACK, "band song", "Song", 0};
  struct candidate_list l;
  candidates_build(&resp, &q, &p, 10, &l);
  /* lowpeer's 128 kbit/s file is not accepted, its flac does not match */
  assert_int_equal(l.n, 3);
  assert_int_equal(l.files_seen, 8);
  /* free slots first; among them the faster peer, whatever its queue */
  assert_string_equal(l.v[0].username, "busypeer");
  assert_string_equal(l.v[1].username, "fastpeer");
  assert_string_equal(l.v[2].username, "slowpeer"); /* no free slot */
  assert_int_equal(l.v[2].n_files, 1);              /* its best file */
  /* "Song Hits\\02 - Other.flac" has the words, but not in its name */
  assert_string_equal(l.v[2].files[0].filename,
                      "@@a\\Band\\Album\\01 - Song.flac");
  assert_string_equal(l.v[2].files[0].key, ""); /* tracks: no key */
  candidates_free(&l);
  candidates_build(&resp, &q, &p, 1, &l);
  assert_int_equal(l.n, 1);
  candidates_free(&l);
}

static void test_album_candidates(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE);
  struct slskd_file a[] =
    {sfile("@@a\\Band\\Record (2001)\\01 - One.flac", "flac", 0, 16),
     sfile("@@a\\Band\\Record (2001)\\02 - Two.flac", "flac", 0, 16),
     sfile("@@a\\Band\\Record (2001)\\folder.jpg", "jpg", 0, 0),
     sfile("@@a\\Band\\Record [MP3]\\01 - One.mp3", "mp3", 320, 0),
     sfile("@@a\\Band\\Record [MP3]\\02 - Two.mp3", "mp3", 320, 0),
     sfile("@@a\\Band\\Record [MP3]\\03 - Three.mp3", "mp3", 320, 0)};
  struct slskd_file b[] = {
    sfile("@@b\\Band - Record\\1. one.flac", "flac", 0, 16)};
  struct slskd_response r[] = {{"peer", true, 0, 100, a, 6, 0},
                               {"other", true, 0, 100, b, 1, 0}};
  struct slskd_responses resp = {r, 2};
  struct cand_query q = {DL_ALBUM, "Band Record", "Record", 3};
  struct candidate_list l;
  candidates_build(&resp, &q, &p, 10, &l);
  assert_int_equal(l.n, 3);
  /* the complete mp3 folder beats the incomplete flac folders */
  assert_string_equal(l.v[0].directory, "@@a\\Band\\Record [MP3]");
  assert_true(l.v[0].complete);
  assert_int_equal(l.v[0].n_files, 3);
  assert_string_equal(l.v[1].directory, "@@a\\Band\\Record (2001)");
  assert_int_equal(l.v[1].n_files, 2); /* the jpg is not audio */
  assert_string_equal(l.v[1].files[0].key, "one");
  assert_string_equal(l.v[2].files[0].key, "one"); /* "1. one.flac" */
  candidates_free(&l);

  char key[CAND_KEY_MAX];
  candidates_track_key("x\\1-02 - Caf\xc3\xa9 (Live).flac", "", key,
                       sizeof key);
  assert_string_equal(key, "cafelive");
  candidates_track_key("x\\2001.mp3", "", key, sizeof key);
  assert_string_equal(key, "2001");
  struct cand_words w;
  candidates_words("AC/DC - Back", &w);
  assert_int_equal(w.n, 3);
  assert_string_equal(w.w[1], "dc");
  assert_true(candidates_path_matches("x\\ac-dc\\BACK.flac", &w));
  assert_true(candidates_path_matches("x\\ACDC\\Back in Black.flac", &w));
  assert_false(candidates_path_matches("x\\acdc.flac", &w));
}

/* Names as users type them and peers share them: NFC, NFD (macOS
 * shares), ASCII-folded, upper case, other punctuation. */
static void test_unicode_candidates(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE);
  static const char *const cases[][2] = {
    /* album query, a peer's folder that must match */
    {"Björk - Homogenic", "@@p\\Music\\Bjo\xcc\x88rk\\Homogenic (1997)"},
    {"Bjo\xcc\x88rk - Homogenic", "@@p\\Music\\Björk\\Homogenic"},
    {"Björk - Homogenic", "@@p\\Music\\Bjork - Homogenic [FLAC]"},
    {"Björk - Homogenic", "@@p\\MUSIC\\BJÖRK\\HOMOGENIC"},
    {"Sigur Rós - Ágætis byrjun", "@@p\\Sigur Ro\xcc\x81s\\A\xcc\x81g"
                                  "\xc3\xa6tis Byrjun"},
    {"Sigur Ro\xcc\x81s - A\xcc\x81gætis byrjun",
     "@@p\\Sigur Rós\\Ágætis byrjun (1999)"},
    {"坂本龍一 - async", "@@p\\坂本 龍一\\async"},
    {"Mötley Crüe - Dr. Feelgood", "@@p\\Mo\xcc\x88tley Cru\xcc\x88"
                                   "e\\Dr "
                                   "Feelgood"},
    {"Mötley Crüe - Dr. Feelgood", "@@p\\Motley Crue - Dr.Feelgood"},
    {"AC/DC - Back in Black", "@@p\\ACDC\\Back In Black"},
    {"AC/DC - Back in Black", "@@p\\AC-DC - Back in Black"},
    {"Guns N' Roses - Appetite for Destruction",
     "@@p\\Guns N Roses\\Appetite For Destruction"},
    {"Guns N’ Roses - Appetite for Destruction",
     "@@p\\Guns 'n' Roses - Appetite for Destruction"},
    {"Simon and Garfunkel - Bookends", "@@p\\Simon & Garfunkel\\Bookends"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char name[512];
    snprintf(name, sizeof name, "%s\\01 - Track.flac", cases[i][1]);
    struct slskd_file f[] = {sfile(name, "flac", 0, 16)};
    struct slskd_response r[] = {{"peer", true, 0, 100, f, 1, 0}};
    struct slskd_responses resp = {r, 1};
    char query[256];
    requests_search_text(cases[i][0], "", query, sizeof query);
    struct cand_query q = {DL_ALBUM, query, "", 0, NULL};
    struct candidate_list l;
    candidates_build(&resp, &q, &p, 10, &l);
    if (l.n != 1)
      fail_msg("\"%s\" did not match \"%s\"", cases[i][0], cases[i][1]);
    candidates_free(&l);
  }
  /* and what must not match */
  struct cand_words w;
  candidates_words("Björk - Homogenic", &w);
  assert_false(candidates_path_matches("@@p\\Bjorn\\Homogenic", &w));
  assert_false(candidates_path_matches("@@p\\Björk\\Debut", &w));
  candidates_words("Sigur Rós", &w);
  assert_false(candidates_path_matches("@@p\\Sigur Ras", &w));

  /* tracks: the title's words in the file name, NFC against NFD */
  struct slskd_file t[] =
    {sfile("@@q\\Bjo\xcc\x88rk\\Homogenic\\05 - Jo\xcc\x81ga.flac", "flac", 0,
           16),
     sfile("@@q\\Bjo\xcc\x88rk\\Homogenic\\06 - Unravel.flac", "flac", 0, 16)};
  struct slskd_response rt[] = {{"nfd", true, 0, 100, t, 2, 0}};
  struct slskd_responses resp = {rt, 1};
  struct cand_query q = {DL_TRACK, "Björk Jóga", "Jóga", 0, NULL};
  struct candidate_list l;
  candidates_build(&resp, &q, &p, 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.v[0].files[0].filename, t[0].filename);
  candidates_free(&l);

  /* track keys: one key for one track in every spelling */
  static const char *const joga[] = {"x\\05 - Jóga.flac",
                                     "x\\5. jo\xcc\x81ga.mp3",
                                     "x\\05 Björk - Jóga.mp3",
                                     "x\\05 - BJO\xcc\x88RK - JÓGA.mp3",
                                     "x\\Jóga.ogg"};
  for (size_t i = 0; i < sizeof joga / sizeof joga[0]; i++) {
    char key[CAND_KEY_MAX];
    candidates_track_key(joga[i], "Björk", key, sizeof key);
    if (strcmp(key, "joga"))
      fail_msg("key of \"%s\" is \"%s\"", joga[i], key);
  }
  char key[CAND_KEY_MAX], small[8];
  candidates_track_key("x\\01 - 坂本龍一.flac", "", key, sizeof key);
  assert_string_equal(key, "坂本龍一");
  candidates_track_key("x\\01 - 坂本龍一.flac", "", small, sizeof small);
  assert_string_equal(small, "坂本"); /* whole characters only */
  candidates_track_key("x\\01 - Björk.flac", "Björk", key, sizeof key);
  assert_string_equal(key, "bjork"); /* the name is not only the artist */
}

/* ---- quality upgrade: the targets and the strictly-better rule ---- */

static struct quality_input codec_q(const char *codec, int kbps, int depth)
{
  struct quality_input q;
  quality_from_codec(codec, (int64_t)kbps * 1000, false, depth,
                     depth ? 44100 : 48000, &q);
  return q;
}

static struct quality_profile target(const char *level)
{
  const char *text = quality_target_profile(level);
  assert_non_null(text);
  return profile(text);
}

static void test_upgrade_targets(void **state)
{
  (void)state;
  assert_null(quality_target_profile("ultra"));
  assert_null(quality_target_profile(NULL));
  struct quality_profile lossless = target("lossless"), high = target("high"),
                         medium = target("medium");
  struct quality_input mp3_128 = codec_q("mp3", 128, 0);
  struct quality_input mp3_192 = codec_q("mp3", 192, 0);
  struct quality_input mp3_v0 = codec_q("mp3", 245, 0); /* as measured */
  struct quality_input mp3_320 = codec_q("mp3", 320, 0);
  struct quality_input aac_256 = codec_q("aac", 256, 0);
  struct quality_input wma_320 = codec_q("wmav2", 320, 0);
  struct quality_input flac16 = codec_q("flac", 900, 16);
  struct quality_input alac = codec_q("alac", 900, 16);
  /* below a level = not accepted by its profile */
  assert_int_equal(quality_rank(&lossless, &mp3_320), -1);
  assert_true(quality_rank(&high, &mp3_320) >= 0);
  assert_true(quality_rank(&high, &mp3_v0) >= 0);
  assert_true(quality_rank(&high, &aac_256) >= 0);
  assert_int_equal(quality_rank(&high, &mp3_192), -1);
  assert_true(quality_rank(&medium, &mp3_192) >= 0);
  const struct quality_profile *levels[] = {&lossless, &high, &medium};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(quality_rank(levels[i], &mp3_128), -1);
    assert_int_equal(quality_rank(levels[i], &wma_320), -1);
    /* every lossless format reaches every level */
    assert_true(quality_rank(levels[i], &flac16) >= 0);
    assert_true(quality_rank(levels[i], &alac) >= 0);
  }
}

static void test_upgrade_strictly_better(void **state)
{
  (void)state;
  struct quality_profile high = target("high"), lossless = target("lossless");
  struct quality_input mp3_128 = codec_q("mp3", 128, 0);
  struct quality_input mp3_96 = codec_q("mp3", 96, 0);
  struct quality_input mp3_192 = codec_q("mp3", 192, 0);
  struct quality_input mp3_320 = codec_q("mp3", 320, 0);
  struct quality_input flac16 = codec_q("flac", 900, 16);
  struct quality_input flac24 = codec_q("flac", 2000, 24);
  assert_true(quality_is_upgrade(&high, &flac16, &mp3_128));
  assert_true(quality_is_upgrade(&high, &mp3_320, &mp3_128));
  assert_false(quality_is_upgrade(&high, &mp3_128, &mp3_128)); /* equal */
  assert_false(quality_is_upgrade(&high, &mp3_96, &mp3_128));  /* lower */
  /* better, but still below the target: not what the item wants */
  assert_false(quality_is_upgrade(&high, &mp3_192, &mp3_128));
  assert_false(quality_is_upgrade(&high, &mp3_320, &flac16));
  assert_false(quality_is_upgrade(&lossless, &flac16, &flac16));
  assert_true(quality_is_upgrade(&lossless, &flac24, &flac16));
  /* never lossless -> lossy, even under a profile that ranks it higher */
  struct quality_profile odd = profile("mp3-320,flac");
  assert_true(quality_cmp(&odd, &mp3_320, &flac16) < 0);
  assert_false(quality_is_upgrade(&odd, &mp3_320, &flac16));
}

/* An upgrade request's search takes only strictly better files. */
static void test_upgrade_candidates(void **state)
{
  (void)state;
  struct quality_profile p = profile(DEFAULT_PROFILE), high = target("high");
  struct slskd_file a[] = {sfile("@@a\\Bjork\\Joga.mp3", "mp3", 128, 0)};
  struct slskd_file b[] = {sfile("@@b\\Bjork\\Joga.mp3", "mp3", 192, 0)};
  struct slskd_file c[] = {sfile("@@c\\Bjork\\Joga.flac", "flac", 0, 16)};
  struct slskd_file d[] = {sfile("@@d\\Bjork\\Joga.mp3", "mp3", 320, 0)};
  struct slskd_response r[] = {{"same", true, 0, 9000000, a, 1, 0},
                               {"better_low", true, 0, 8000000, b, 1, 0},
                               {"flac", true, 0, 1000, c, 1, 0},
                               {"mp3_320", true, 0, 7000000, d, 1, 0}};
  struct slskd_responses resp = {r, 4};
  struct quality_input have = codec_q("mp3", 128, 0);
  struct cand_query q = {DL_TRACK, "bjork joga", "Joga", 0,
                         NULL,     &have,        &high};
  struct candidate_list l;
  candidates_build(&resp, &q, &p, 10, &l);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.v[0].username, "flac");
  assert_string_equal(l.v[1].username, "mp3_320");
  candidates_free(&l);
  /* a plain request takes the 192 kbit/s file too */
  q.upgrade_from = NULL;
  candidates_build(&resp, &q, &p, 10, &l);
  assert_int_equal(l.n, 3);
  candidates_free(&l);
  /* a lossless file: only a better lossless one */
  struct quality_profile lossless = target("lossless");
  struct slskd_file e[] = {sfile("@@e\\Bjork\\Joga.flac", "flac", 0, 24)};
  r[0] = (struct slskd_response){"flac24", true, 0, 1000, e, 1, 0};
  have = codec_q("flac", 900, 16);
  q.upgrade_from = &have;
  q.upgrade_target = &lossless;
  candidates_build(&resp, &q, &p, 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.v[0].username, "flac24");
  candidates_free(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_profile_parse),
    cmocka_unit_test(test_formats),
    cmocka_unit_test(test_rank_and_order),
    cmocka_unit_test(test_track_candidates),
    cmocka_unit_test(test_album_candidates),
    cmocka_unit_test(test_unicode_candidates),
    cmocka_unit_test(test_upgrade_targets),
    cmocka_unit_test(test_upgrade_strictly_better),
    cmocka_unit_test(test_upgrade_candidates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
