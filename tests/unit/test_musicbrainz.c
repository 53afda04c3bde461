/*
 * test_musicbrainz.c - the MusicBrainz client (clients/musicbrainz.c) and
 * its pacer (clients/pacer.c):
 *
 *   parsers: dates (every form, leap days, absurd years), MBIDs, browse
 *   pages (types, null primary type, absurd dates kept with a note, caps,
 *   every truncation of a valid reply, missing keys, wrong types, bad
 *   UTF-8, control characters, huge strings, NFD names byte for byte),
 *   releases (media, disc numbers, lengths, artist credits), artist
 *   search (score as number or string, best first);
 *   against the fake: paging across 3 pages, the type filter, the item
 *   cap, 404, 400/403 not retried, release lookup and search with real
 *   names in NFC and NFD, pacing of two threads as seen by the fake's log,
 *   Retry-After honoured, a caller told how long to wait, cancel during a
 *   wait, truncated and huge replies, not configured.
 *
 * Each client test: a fresh fake and pacer; settings point at the fake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/backoff.h"
#include "clients/http_client.h"
#include "clients/musicbrainz.h"
#include "config/settings.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "fake_all.h"

#define NFD_BJORK "Bjo\xcc\x88rk"

static void set(enum setting_id id, const char *v)
{
  char err[256];
  assert_int_equal(settings_set(id, v, err, sizeof err), SS_OK);
}

/* ---------------- dates and ids ---------------- */

static void test_dates(void **state)
{
  struct mb_date d;
  char why[128];
  (void)state;
  static const struct {
    const char *text;
    int32_t sortable;
  } good[] = {
    {"", 0},
    {"1997", 19970000},
    {"1997-09", 19970900},
    {"1997-09-22", 19970922},
    {"2000-02-29", 20000229},
    {"2024-02-29", 20240229},
    {"1877-12-06", 18771206},
    {"2100-12-31", 21001231},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(mb_parse_date(good[i].text, &d, why, sizeof why), SS_OK);
    assert_true(d.valid);
    assert_int_equal(d.sortable, good[i].sortable);
    assert_string_equal(d.text, good[i].text);
  }
  static const char *const bad[] =
    {"0000",       "9999-12-31",       "1859",       "2101-01",
     "1997-13",    "1997-00",          "1997-02-30", "1900-02-29",
     "2011-02-29", "1997-04-31",       "1997-9-22",  "1997/09/22",
     "19970922",   "1997-09-22T00:00", " 1997",      "97",
     "abcd",       "1997-09-",         "1997-09-2x", "\xc3\xa9\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    why[0] = '\0';
    assert_int_equal(mb_parse_date(bad[i], &d, why, sizeof why), SS_EINVAL);
    assert_false(d.valid);
    assert_int_equal(d.sortable, 0);
    assert_string_equal(d.text, "");
    assert_non_null(strstr(why, "date \""));
  }
  mb_parse_date("9999-12-31", &d, why, sizeof why);
  assert_string_equal(why, "date \"9999-12-31\" has an absurd year");
  mb_parse_date("2011-02-29", &d, why, sizeof why);
  assert_string_equal(why, "date \"2011-02-29\" is not a real day");
  /* Sortable order follows the calendar, partial dates first. */
  struct mb_date a, b, c;
  mb_parse_date("1997", &a, why, sizeof why);
  mb_parse_date("1997-01", &b, why, sizeof why);
  mb_parse_date("1997-01-01", &c, why, sizeof why);
  assert_true(a.sortable < b.sortable && b.sortable < c.sortable);
}

static void test_mbids(void **state)
{
  char out[MB_ID_LEN + 1];
  (void)state;
  assert_int_equal(mb_mbid_canonical("87C5DEDD-371D-4A53-9F7F-80522FB7F3CB",
                                     out),
                   SS_OK);
  assert_string_equal(out, FAKE_MB_BJORK);
  assert_int_equal(mb_mbid_canonical(FAKE_MB_BJORK, out), SS_OK);
  static const char *const bad[] =
    {"",
     "00000000-0000-0000-0000-000000000000",
     "87c5dedd371d4a539f7f80522fb7f3cb",
     "87c5dedd-371d-4a53-9f7f-80522fb7f3c",
     "87c5dedd-371d-4a53-9f7f-80522fb7f3cbb",
     "87c5dedd-371d-4a53-9f7f-80522fb7f3cg",
     "87c5dedd-371d-4a53-9f7f_80522fb7f3cb",
     "../../etc/passwd",
     "87c5dedd-371d-4a53-9f7f-80522fb7f3cb?x=1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(mb_mbid_canonical(bad[i], out), SS_EINVAL);
    assert_string_equal(out, "");
  }
  assert_int_equal(mb_mbid_canonical(NULL, out), SS_EINVAL);
}

/* ---------------- browse pages ---------------- */

static const char page_ok[] =
  "{\"release-group-count\":61,\"release-group-offset\":0,"
  "\"release-groups\":["
  "{\"id\":\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\",\"title\":\"Homogenic\","
  "\"primary-type\":\"Album\",\"primary-type-id\":\"f529b476\","
  "\"secondary-types\":[],\"secondary-type-ids\":[],"
  "\"first-release-date\":\"1997-09-22\",\"disambiguation\":\"\"},"
  "{\"id\":\"0B6C2DA8-AC60-4663-BEAE-BD3DC6DEA94B\",\"title\":\"Live \\u0001"
  "at "
  "X\",\"primary-type\":null,\"secondary-types\":[\"Live\",\"Compilation\"],"
  "\"first-release-date\":\"2009\",\"disambiguation\":null,\"extra\":{\"a\":["
  "1,"
  "2,{\"b\":null}]}},"
  "{\"title\":\"" NFD_BJORK " & 坂本龍一 <b>&\\\"'\",\"id\":"
  "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94c\",\"first-release-date\":"
  "\"9999-99-99\"}]}";

static void test_page_parse(void **state)
{
  struct mb_release_groups g = {0};
  size_t items = 0;
  char why[160];
  (void)state;
  assert_int_equal(mb_parse_release_group_page(page_ok, strlen(page_ok), &g,
                                               100, &items, why, sizeof why),
                   SS_OK);
  assert_int_equal(items, 3);
  assert_int_equal(g.n, 3);
  assert_int_equal(g.total, 61);
  assert_string_equal(g.v[0].title, "Homogenic");
  assert_string_equal(g.v[0].primary_type, "Album");
  assert_string_equal(g.v[0].secondary_types, "");
  assert_int_equal(g.v[0].first_release.sortable, 19970922);
  /* Upper-case id canonical; null primary type empty; types joined;
   * a control character blanked. */
  assert_string_equal(g.v[1].id, "0b6c2da8-ac60-4663-beae-bd3dc6dea94b");
  assert_string_equal(g.v[1].primary_type, "");
  assert_string_equal(g.v[1].secondary_types, "Live|Compilation");
  assert_string_equal(g.v[1].title, "Live  at X");
  assert_string_equal(g.v[1].disambiguation, "");
  assert_int_equal(g.v[1].first_release.sortable, 20090000);
  /* NFD, CJK and markup byte for byte; the absurd date is kept as invalid
   * with a note naming the title. */
  assert_string_equal(g.v[2].title, NFD_BJORK " & 坂本龍一 <b>&\"'");
  assert_false(g.v[2].first_release.valid);
  assert_int_equal(g.v[2].first_release.sortable, 0);
  assert_int_equal(g.bad_dates, 1);
  assert_non_null(strstr(g.note, NFD_BJORK));
  assert_non_null(strstr(g.note, "9999-99-99"));
  assert_true(g.v[0].first_release.valid);

  /* A second page appends; the cap keeps the first max_items. */
  assert_int_equal(mb_parse_release_group_page(page_ok, strlen(page_ok), &g, 4,
                                               &items, why, sizeof why),
                   SS_OK);
  assert_int_equal(items, 3);
  assert_int_equal(g.n, 4);
  assert_int_equal(g.bad_dates, 1); /* the dropped item is not counted */
  mb_release_groups_free(&g);
  assert_null(g.v);
}

static void expect_page_error(const char *body, const char *what)
{
  struct mb_release_groups g = {0};
  size_t items = 7;
  char why[160] = "";
  int rc = mb_parse_release_group_page(body, strlen(body), &g, 100, &items,
                                       why, sizeof why);
  if (rc != SS_EPROTO || !strstr(why, what))
    fprintf(stderr, "body %.60s: rc %d, why \"%s\", wanted \"%s\"\n", body, rc,
            why, what);
  assert_int_equal(rc, SS_EPROTO);
  assert_non_null(strstr(why, "malformed reply"));
  assert_non_null(strstr(why, what));
  assert_int_equal(items, 0);
  assert_int_equal(g.n, 0);
  mb_release_groups_free(&g);
}

static void test_page_malformed(void **state)
{
  (void)state;
  expect_page_error("", "expected an object");
  expect_page_error("<?xml version=\"1.0\"?><metadata/>",
                    "expected an object");
  expect_page_error("[]", "expected an object");
  expect_page_error("{\"release-groups\":[]}", "no release-group-count");
  expect_page_error("{\"release-group-count\":1}", "no release-groups");
  expect_page_error("{\"release-group-count\":\"61\",\"release-groups\":[]}",
                    "expected a");
  expect_page_error("{\"release-group-count\":-1,\"release-groups\":[]}",
                    "negative count");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":{}}",
                    "expected an array");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[{\"id\":"
                    "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\"}]}",
                    "without id or title");
  expect_page_error(
    "{\"release-group-count\":1,\"release-groups\":[{\"title\":"
    "\"x\"}]}",
    "without id or title");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[{\"id\":"
                    "\"not-an-mbid\",\"title\":\"x\"}]}",
                    "not an MBID");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[{\"id\":"
                    "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\",\"title\":7}]}",
                    "expected a string");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[{\"id\":"
                    "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\",\"title\":\"x\","
                    "\"secondary-types\":\"Live\"}]}",
                    "expected an array");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[{\"id\":"
                    "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\",\"title\":"
                    "\"\xff\xfe\"}]}",
                    "invalid UTF-8");
  expect_page_error("{\"release-group-count\":1,\"release-groups\":[]} x",
                    "trailing data");
  /* Nested past jpull's depth cap. */
  char deep[200] = "{\"release-group-count\":1,\"x\":";
  for (int i = 0; i < 40; i++)
    strcat(deep, "[");
  expect_page_error(deep, "nested too deeply");
  /* Every truncation of a valid reply fails cleanly. */
  size_t len = strlen(page_ok);
  for (size_t cut = 0; cut < len; cut++) {
    struct mb_release_groups g = {0};
    char why[160];
    assert_int_equal(mb_parse_release_group_page(page_ok, cut, &g, 100, NULL,
                                                 why, sizeof why),
                     SS_EPROTO);
    assert_int_equal(g.n, 0);
    mb_release_groups_free(&g);
  }
}

static void test_page_huge_strings(void **state)
{
  struct buf b;
  struct mb_release_groups g = {0};
  char why[160];
  (void)state;
  buf_init(&b, 1 << 20);
  buf_puts(&b, "{\"release-group-count\":1,\"release-groups\":[{\"id\":"
               "\"0b6c2da8-ac60-4663-beae-bd3dc6dea94a\",\"title\":\"");
  for (int i = 0; i < 50000; i++)
    buf_puts(&b, "ö"); /* 2 bytes each: the cap falls inside one */
  buf_puts(&b, "\"}]}");
  assert_int_equal(mb_parse_release_group_page(b.data, b.len, &g, 10, NULL,
                                               why, sizeof why),
                   SS_OK);
  size_t n = strlen(g.v[0].title);
  assert_true(n < MB_TEXT_MAX && n >= MB_TEXT_MAX - 3);
  assert_int_equal(n % 2, 0); /* never cut inside a UTF-8 sequence */
  mb_release_groups_free(&g);
  buf_free(&b);
}

/* ---------------- release and search ---------------- */

static const char release_ok[] =
  "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\",\"title\":\"Homogenic\","
  "\"status\":null,\"date\":\"1997-09-22\",\"country\":\"GB\","
  "\"artist-credit\":[{\"name\":\"Björk\",\"joinphrase\":\" & \",\"artist\":"
  "{\"id\":\"x\"}},{\"name\":\"坂本龍一\",\"joinphrase\":\"\"}],"
  "\"release-group\":{\"id\":\"0b0c0d0e-3333-4444-8555-000000000001\"},"
  "\"media\":[{\"tracks\":[{\"id\":\"0b0c0d0e-6666-4777-8888-000000000002\","
  "\"position\":2,\"number\":\"A2\",\"length\":null,\"recording\":{\"id\":"
  "\"0b0c0d0e-7777-4888-8999-000000000002\",\"title\":\"Hunter\",\"length\":"
  "255000}}],\"position\":2},{\"position\":null,\"tracks\":[{\"id\":"
  "\"0b0c0d0e-6666-4777-8888-000000000003\",\"title\":\"" NFD_BJORK "\","
  "\"position\":1,\"length\":1000,\"recording\":null}]}]}";

static void test_release_parse(void **state)
{
  struct mb_release r;
  char why[160];
  (void)state;
  assert_int_equal(mb_parse_release(release_ok, strlen(release_ok), &r, why,
                                    sizeof why),
                   SS_OK);
  assert_string_equal(r.title, "Homogenic");
  assert_string_equal(r.status, "");
  assert_string_equal(r.artist_credit, "Björk & 坂本龍一");
  assert_string_equal(r.release_group_id,
                      "0b0c0d0e-3333-4444-8555-000000000001");
  assert_int_equal(r.date.sortable, 19970922);
  assert_int_equal(r.n_tracks, 2);
  /* The medium's position arrives after its tracks; a null one falls back
   * to the medium's index. */
  assert_int_equal(r.tracks[0].disc, 2);
  assert_int_equal(r.tracks[0].position, 2);
  assert_string_equal(r.tracks[0].number, "A2");
  assert_string_equal(r.tracks[0].title, "Hunter"); /* from the recording */
  assert_int_equal(r.tracks[0].length_ms, 255000);
  assert_int_equal(r.tracks[1].disc, 2);
  assert_string_equal(r.tracks[1].title, NFD_BJORK);
  assert_int_equal(r.tracks[1].length_ms, 1000);
  assert_string_equal(r.tracks[1].recording_id, "");
  assert_int_equal(r.discs, 2);
  assert_string_equal(r.note, "");
  mb_release_free(&r);

  static const char *const bad[] = {
    "{\"title\":\"x\"}", "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\"}",
    "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\",\"title\":\"x\","
    "\"media\":[{\"tracks\":[{\"title\":\"no id\"}]}]}",
    "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\",\"title\":\"x\","
    "\"media\":[{\"tracks\":[{\"id\":\"0b0c0d0e-6666-4777-8888-000000000003\","
    "\"length\":\"long\"}]}]}",
    "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\",\"title\":\"x\","
    "\"media\":7}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(mb_parse_release(bad[i], strlen(bad[i]), &r, why,
                                      sizeof why),
                     SS_EPROTO);
    assert_null(r.tracks);
    assert_non_null(strstr(why, "malformed reply"));
  }
  for (size_t cut = 0; cut < strlen(release_ok); cut++) {
    assert_int_equal(mb_parse_release(release_ok, cut, &r, why, sizeof why),
                     SS_EPROTO);
    assert_null(r.tracks);
  }
  /* An absurd release date: the release is kept, with a note. */
  static const char
    odd[] = "{\"id\":\"0b0c0d0e-2222-4333-8444-000000000001\",\"title\":\"x\","
            "\"date\":\"1997-02-30\"}";
  assert_int_equal(mb_parse_release(odd, strlen(odd), &r, why, sizeof why),
                   SS_OK);
  assert_false(r.date.valid);
  assert_non_null(strstr(r.note, "not a real day"));
  mb_release_free(&r);
}

static void test_search_parse(void **state)
{
  struct mb_artist_hits h;
  char why[160];
  (void)state;
  static const char ok[] =
    "{\"created\":\"2026-01-01T00:00:00.000Z\",\"count\":3,\"offset\":0,"
    "\"artists\":[{\"id\":\"0b0c0d0e-1111-4222-8333-000000000001\",\"name\":"
    "\"Björk Trio\",\"score\":70},{\"id\":\"" FAKE_MB_BJORK "\",\"name\":"
    "\"Björk\",\"sort-name\":\"Björk\",\"type\":\"Person\",\"country\":"
    "\"IS\",\"score\":\"100\",\"disambiguation\":null},{\"id\":\"" FAKE_MB_ACDC
    "\",\"name\":\"AC/DC\",\"score\":90}]}";
  assert_int_equal(mb_parse_artist_search(ok, strlen(ok), 10, &h, why,
                                          sizeof why),
                   SS_OK);
  assert_int_equal(h.n, 3);
  assert_int_equal(h.total, 3);
  assert_string_equal(h.v[0].name, "Björk");
  assert_int_equal(h.v[0].score, 100);
  assert_string_equal(h.v[0].country, "IS");
  assert_int_equal(h.v[1].score, 90);
  assert_int_equal(h.v[2].score, 70);
  mb_artist_hits_free(&h);
  assert_int_equal(mb_parse_artist_search(ok, strlen(ok), 1, &h, why,
                                          sizeof why),
                   SS_OK);
  assert_int_equal(h.n, 1);
  mb_artist_hits_free(&h);

  static const char *const bad[] =
    {"{\"artists\":[]}",
     "{\"count\":0}",
     "{\"count\":1,\"artists\":[{\"id\":\"" FAKE_MB_ACDC "\",\"name\":\"x\","
     "\"score\":150}]}",
     "{\"count\":1,\"artists\":[{\"id\":\"" FAKE_MB_ACDC "\",\"name\":\"x\","
     "\"score\":\"high\"}]}",
     "{\"count\":1,\"artists\":[{\"id\":\"" FAKE_MB_ACDC "\"}]}",
     "{\"release-group-count\":1,\"release-groups\":[]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(mb_parse_artist_search(bad[i], strlen(bad[i]), 10, &h,
                                            why, sizeof why),
                     SS_EPROTO);
    assert_null(h.v);
  }
}

/* ---------------- against the fake ---------------- */

struct fx {
  struct fake_musicbrainz *fm;
  struct fake_http *fh;
  struct mb_client *c;
  atomic_bool cancel;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  if (fake_musicbrainz_start(&fx->fm, 0) != SS_OK)
    return -1;
  fx->fh = fake_musicbrainz_http(fx->fm);
  set(S_MUSICBRAINZ_URL, fake_musicbrainz_url(fx->fm));
  set(S_MUSICBRAINZ_CONTACT, "tests@example.org");
  mb_pacer_reset();
  http_host_blocks_reset();
  backoff_reset_all();
  struct mb_client_opts o = {.cancel = &fx->cancel};
  fx->c = mb_client_new(&o);
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  mb_client_free(fx->c);
  fake_musicbrainz_stop(fx->fm);
  mb_pacer_reset();
  http_host_blocks_reset();
  backoff_reset_all();
  free(fx);
  return 0;
}

/* Every gap between the fake's logged arrivals is at least 1000 ms. */
static size_t assert_paced(struct fake_musicbrainz *fm, int64_t min_gap)
{
  int64_t at[64];
  size_t n = fake_musicbrainz_arrivals(fm, at, 64);
  for (size_t i = 1; i < n; i++) {
    if (at[i] - at[i - 1] < min_gap)
      fprintf(stderr, "arrivals %zu and %zu only %lld ms apart\n", i - 1, i,
              (long long)(at[i] - at[i - 1]));
    assert_true(at[i] - at[i - 1] >= min_gap);
  }
  assert_int_equal(fake_musicbrainz_overrate(fm), 0);
  return n;
}

static void test_browse_three_pages(void **state)
{
  struct fx *fx = *state;
  struct mb_release_groups g;
  struct mb_err err;
  struct fake_logged e;
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_PROLIFIC, NULL, 0,
                                            &g, &err),
                   SS_OK);
  assert_int_equal(g.n, FAKE_MB_PROLIFIC_DEFAULT);
  assert_int_equal(g.total, FAKE_MB_PROLIFIC_DEFAULT);
  assert_false(g.truncated);
  for (size_t i = 0; i < g.n; i++) {
    char want[32];
    snprintf(want, sizeof want, "Prolific Release %04zu", i + 1);
    assert_string_equal(g.v[i].title, want);
  }
  mb_release_groups_free(&g);
  assert_int_equal(fake_http_count(fx->fh, "GET", "/ws/2/release-group"), 3);
  assert_true(fake_http_last(fx->fh, "GET", "/ws/2/release-group", &e));
  assert_non_null(strstr(e.query, "offset=200"));
  assert_non_null(strstr(e.query, "limit=100"));
  assert_non_null(strstr(e.query, "fmt=json"));
  assert_non_null(strstr(e.query, "artist=" FAKE_MB_PROLIFIC));
  const char *ua = fake_logged_header(&e, "User-Agent");
  assert_non_null(ua);
  assert_true(fake_musicbrainz_ua_ok(ua));
  assert_non_null(strstr(ua, "soulspotd/"));
  assert_non_null(strstr(ua, "( tests@example.org )"));
  assert_int_equal(assert_paced(fx->fm, 1000), 3);
}

static void test_browse_types_and_cap(void **state)
{
  struct fx *fx = *state;
  struct mb_release_groups g;
  struct mb_err err;
  /* Björk's albums: the primary type Album, whatever the secondary. */
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_BJORK, "album", 0,
                                            &g, &err),
                   SS_OK);
  assert_int_equal(g.n, 5);
  for (size_t i = 0; i < g.n; i++)
    assert_string_equal(g.v[i].primary_type, "Album");
  mb_release_groups_free(&g);
  /* The markup artist: a null primary type and an empty date. */
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_MARKUP, NULL, 0, &g,
                                            &err),
                   SS_OK);
  assert_int_equal(g.n, 2);
  assert_string_equal(g.v[0].title, "<script>alert(\"x\")</script> & 'more'");
  assert_string_equal(g.v[0].primary_type, "");
  assert_true(g.v[0].first_release.valid);
  assert_string_equal(g.v[0].first_release.text, "");
  assert_int_equal(g.v[1].first_release.sortable, 20200229);
  mb_release_groups_free(&g);
  /* The cap: two pages read, the rest reported as truncated. */
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_PROLIFIC,
                                            "album|ep|single", 150, &g, &err),
                   SS_OK);
  assert_int_equal(g.n, 150);
  assert_int_equal(g.total, FAKE_MB_PROLIFIC_DEFAULT);
  assert_true(g.truncated);
  mb_release_groups_free(&g);
  assert_int_equal(fake_http_count(fx->fh, "GET", "/ws/2/release-group"), 4);
  /* Bad input never reaches the service. */
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_BJORK,
                                            "album&inc=x", 0, &g, &err),
                   SS_EINVAL);
  assert_int_equal(err.kind, MB_REFUSED);
  assert_int_equal(mb_artist_release_groups(fx->c, "Björk", NULL, 0, &g, &err),
                   SS_EINVAL);
  assert_int_equal(fake_http_count(fx->fh, "GET", "/ws/2/release-group"), 4);
  assert_paced(fx->fm, 1000);
}

static void test_not_found_and_refused(void **state)
{
  struct fx *fx = *state;
  struct mb_release_groups g;
  struct mb_release r;
  struct mb_err err;
  assert_int_equal(
    mb_artist_release_groups(fx->c, "11111111-2222-3333-4444-555555555555",
                             NULL, 0, &g, &err),
    SS_ENOTFOUND);
  assert_int_equal(err.kind, MB_NOT_FOUND);
  assert_int_equal(err.status, 404);
  assert_non_null(strstr(err.msg, "11111111-2222-3333-4444-555555555555"));
  assert_int_equal(mb_release_lookup(fx->c,
                                     "11111111-2222-3333-4444-555555555555",
                                     &r, &err),
                   SS_ENOTFOUND);
  assert_int_equal(err.kind, MB_NOT_FOUND);
  /* 400 and 403 are answers, not hiccups: exactly one request each. */
  uint64_t seq = fake_http_seq(fx->fh);
  struct fake_script s400 = {.status = 400,
                             .times = 1,
                             .body = "{\"error\":\"Invalid mbid.\",\"help\":"
                                     "\"For usage\"}"};
  fake_http_script(fx->fh, "GET", "*", &s400);
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err),
                   SS_EINVAL);
  assert_int_equal(err.kind, MB_REFUSED);
  assert_non_null(strstr(err.msg, "Invalid mbid."));
  struct fake_script s403 = {.status = 403, .times = 1, .body = "{}"};
  fake_http_script(fx->fh, "GET", "*", &s403);
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err),
                   SS_EINVAL);
  assert_non_null(strstr(err.msg, "musicbrainz.contact"));
  assert_int_equal(fake_http_seq(fx->fh), seq + 2);
  /* Not configured: no request at all. */
  set(S_MUSICBRAINZ_URL, "");
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err),
                   SS_ESTATE);
  assert_int_equal(err.kind, MB_NOT_CONFIGURED);
  assert_int_equal(fake_http_seq(fx->fh), seq + 2);
}

static void test_release_lookup(void **state)
{
  struct fx *fx = *state;
  struct mb_release r;
  struct mb_err err;
  struct fake_logged e;
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err), SS_OK);
  assert_string_equal(r.title, "Homogenic <Live> & \"More\"");
  assert_string_equal(r.artist_credit, "Björk & Sigur Rós");
  assert_string_equal(r.release_group_id, FAKE_MB_RELEASE_GROUP);
  assert_string_equal(r.status, "Official");
  assert_int_equal(r.discs, 2);
  assert_int_equal(r.n_tracks, 5);
  assert_string_equal(r.tracks[0].title, "Jóga");
  assert_int_equal(r.tracks[0].length_ms, 305000);
  assert_int_equal(r.tracks[1].length_ms, 255000); /* the recording's */
  assert_int_equal(r.tracks[2].length_ms, -1);
  assert_int_equal(r.tracks[3].disc, 2);
  assert_int_equal(r.tracks[3].position, 1);
  assert_string_equal(r.tracks[4].title, NFD_BJORK " (NFD) & 坂本龍一");
  mb_release_free(&r);
  assert_true(fake_http_last(fx->fh, "GET", "/ws/2/release/*", &e));
  assert_non_null(strstr(e.query, "fmt=json"));
  assert_non_null(strstr(e.query, "recordings"));
}

static void expect_top_hit(struct fx *fx, const char *query, const char *id,
                           const char *name)
{
  struct mb_artist_hits h;
  struct mb_err err;
  assert_int_equal(mb_artist_search(fx->c, query, 5, &h, &err), SS_OK);
  assert_true(h.n >= 1);
  assert_string_equal(h.v[0].id, id);
  assert_string_equal(h.v[0].name, name);
  assert_int_equal(h.v[0].score, 100);
  for (size_t i = 1; i < h.n; i++)
    assert_true(h.v[i].score <= h.v[i - 1].score);
  mb_artist_hits_free(&h);
}

static void test_search(void **state)
{
  struct fx *fx = *state;
  struct mb_artist_hits h;
  struct mb_err err;
  expect_top_hit(fx, "Björk", FAKE_MB_BJORK, "Björk");
  expect_top_hit(fx, NFD_BJORK, FAKE_MB_BJORK, "Björk"); /* NFD query */
  expect_top_hit(fx, "<b>&\"'", FAKE_MB_MARKUP, "<b>&\"'");
  expect_top_hit(fx, "坂本龍一", FAKE_MB_SAKAMOTO, "坂本龍一");
  expect_top_hit(fx, "Sigur Ros", FAKE_MB_SIGUR_ROS, "Sigur Rós");
  expect_top_hit(fx, "AC/DC", FAKE_MB_ACDC, "AC/DC");
  assert_int_equal(mb_artist_search(fx->c, "Guns N' Roses", 5, &h, &err),
                   SS_OK);
  assert_int_equal(h.n, 1);
  assert_string_equal(h.v[0].name, "Guns N' Roses");
  mb_artist_hits_free(&h);
  /* Björk also matches the trio, ranked below. */
  assert_int_equal(mb_artist_search(fx->c, "bjork", 5, &h, &err), SS_OK);
  assert_int_equal(h.n, 2);
  assert_int_equal(h.total, 2);
  assert_int_equal(h.v[1].score, 70);
  mb_artist_hits_free(&h);
  assert_int_equal(mb_artist_search(fx->c, "", 5, &h, &err), SS_EINVAL);
  assert_int_equal(mb_artist_search(fx->c, "\xff\xfe", 5, &h, &err),
                   SS_EINVAL);
}

struct caller {
  struct fx *fx;
  int calls;
  int ok;
};

static void *caller_main(void *arg)
{
  struct caller *cl = arg;
  struct mb_client *c = mb_client_new(NULL); /* its own curl handle */
  for (int i = 0; i < cl->calls; i++) {
    struct mb_release r;
    struct mb_err err;
    if (mb_release_lookup(c, FAKE_MB_RELEASE, &r, &err) == SS_OK)
      cl->ok++;
    mb_release_free(&r);
  }
  mb_client_free(c);
  return NULL;
}

static void test_pacing_two_threads(void **state)
{
  struct fx *fx = *state;
  pthread_t t[2];
  struct caller cl[2] = {{fx, 2, 0}, {fx, 2, 0}};
  fake_musicbrainz_clear(fx->fm);
  for (int i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, caller_main, &cl[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(cl[0].ok + cl[1].ok, 4);
  assert_int_equal(assert_paced(fx->fm, 1000), 4);
}

static void test_fake_catches_unpaced(void **state)
{
  struct fx *fx = *state;
  struct mb_release r;
  struct mb_err err;
  /* Proof that the pacing test can fail: with the pacer forgotten between
   * two calls, the fake sees them too close and answers 503. */
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err), SS_OK);
  mb_release_free(&r);
  mb_pacer_reset();
  struct mb_client_opts o = {.max_wait_ms = 10};
  struct mb_client *c = mb_client_new(&o);
  assert_int_equal(mb_release_lookup(c, FAKE_MB_RELEASE, &r, &err), SS_EBUSY);
  assert_int_equal(err.kind, MB_RATE_LIMITED);
  assert_int_equal(fake_musicbrainz_overrate(fx->fm), 1);
  mb_client_free(c);
}

static void test_retry_after_honoured(void **state)
{
  struct fx *fx = *state;
  struct mb_release r;
  struct mb_err err;
  struct fake_logged first, second;
  struct fake_script s = {.status = 503,
                          .times = 1,
                          .body = "{\"error\":\"Your requests are exceeding "
                                  "the allowable rate limit.\"}",
                          .headers = {"Retry-After: 4"}};
  fake_http_script(fx->fh, "GET", "*", &s);
  uint64_t seq = fake_http_seq(fx->fh);
  assert_int_equal(mb_release_lookup(fx->c, FAKE_MB_RELEASE, &r, &err), SS_OK);
  mb_release_free(&r);
  assert_int_equal(fake_http_seq(fx->fh), seq + 2);
  assert_true(fake_http_entry(fx->fh, seq + 1, &first));
  assert_true(fake_http_entry(fx->fh, seq + 2, &second));
  /* Longer than the retries would last if they were not held back. */
  assert_true(second.at_ms - first.at_ms >= 4000);
}

static void test_told_how_long_to_wait(void **state)
{
  struct fx *fx = *state;
  struct mb_release r;
  struct mb_err err;
  fake_musicbrainz_set_mode(fx->fm, FAKE_MB_RATE_LIMITED);
  struct mb_client_opts o = {.max_wait_ms = 200};
  struct mb_client *c = mb_client_new(&o);
  int64_t before = clock_wall_ms();
  assert_int_equal(mb_release_lookup(c, FAKE_MB_RELEASE, &r, &err), SS_EBUSY);
  assert_int_equal(err.kind, MB_RATE_LIMITED);
  assert_true(err.until_ms > before);
  assert_non_null(strstr(err.msg, "wait"));
  assert_non_null(strstr(err.msg, "exceeding"));
  assert_true(mb_blocked_until(NULL, 0) > 0);
  /* One request, then the caller was told instead of sleeping. */
  assert_int_equal(fake_http_count(fx->fh, "GET", "*"), 1);
  /* Every other caller is held back by the same block. */
  assert_int_equal(mb_release_lookup(c, FAKE_MB_RELEASE, &r, &err), SS_EBUSY);
  assert_int_equal(fake_http_count(fx->fh, "GET", "*"), 1);
  mb_client_free(c);
}

struct waiter {
  struct mb_client *c;
  int rc;
  struct mb_err err;
};

static void *waiter_main(void *arg)
{
  struct waiter *w = arg;
  struct mb_release r;
  w->rc = mb_release_lookup(w->c, FAKE_MB_RELEASE, &r, &w->err);
  mb_release_free(&r);
  return NULL;
}

static void test_cancel_during_wait(void **state)
{
  struct fx *fx = *state;
  struct fake_script s = {.status = 503,
                          .times = 1,
                          .body = "{}",
                          .headers = {"Retry-After: 120"}};
  fake_http_script(fx->fh, "GET", "*", &s);
  struct mb_client_opts o = {.cancel = &fx->cancel, .max_wait_ms = -1};
  struct waiter w = {.c = mb_client_new(&o)};
  pthread_t t;
  pthread_create(&t, NULL, waiter_main, &w);
  assert_true(fake_http_wait(fx->fh, "GET", "*", 1, 5000));
  /* Wait until the block is in place, then stop the caller. */
  while (!mb_blocked_until(NULL, 0))
    ;
  atomic_store(&fx->cancel, true);
  pthread_join(t, NULL);
  assert_int_equal(w.rc, SS_ECANCELED);
  assert_int_equal(w.err.kind, MB_CANCELED);
  assert_int_equal(fake_http_count(fx->fh, "GET", "*"), 1);
  mb_client_free(w.c);
}

static void test_truncated_and_huge(void **state)
{
  struct fx *fx = *state;
  struct mb_release_groups g;
  struct mb_err err;
  struct fake_script s = {.status = 200,
                          .times = 1,
                          .body = "{\"release-group-count\":3,\"release-gr"};
  fake_http_script(fx->fh, "GET", "*", &s);
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_BJORK, NULL, 0, &g,
                                            &err),
                   SS_EPROTO);
  assert_int_equal(err.kind, MB_MALFORMED);
  assert_non_null(strstr(err.msg, "malformed reply"));
  assert_null(g.v);
  /* Not JSON at all (an XML page, as without fmt=json). */
  struct fake_script xml = {.status = 200,
                            .times = 1,
                            .content_type = "application/xml",
                            .body = "<?xml version=\"1.0\"?><metadata/>"};
  fake_http_script(fx->fh, "GET", "*", &xml);
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_BJORK, NULL, 0, &g,
                                            &err),
                   SS_EPROTO);
  /* 64 MiB: refused from the Content-Length, hardly any of it read. */
  fake_musicbrainz_set_mode(fx->fm, FAKE_MB_HUGE);
  assert_int_equal(mb_artist_release_groups(fx->c, FAKE_MB_BJORK, NULL, 0, &g,
                                            &err),
                   SS_EPROTO);
  assert_int_equal(err.kind, MB_MALFORMED);
  assert_non_null(strstr(err.msg, "larger than 2048 KiB"));
  /* Not the whole body: the fake stops producing when the client closes.
   * How much it produced before is up to the kernel's socket buffers and
   * the scheduler (more than MB_REPLY_MAX on a loaded machine), so the
   * bound is the body's size, not the client's cap. */
  assert_true(fake_http_streamed(fx->fh) < FAKE_MB_HUGE_BYTES);
  assert_null(g.v);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  settings_init();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_dates),
    cmocka_unit_test(test_mbids),
    cmocka_unit_test(test_page_parse),
    cmocka_unit_test(test_page_malformed),
    cmocka_unit_test(test_page_huge_strings),
    cmocka_unit_test(test_release_parse),
    cmocka_unit_test(test_search_parse),
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    C(test_browse_three_pages),
    C(test_browse_types_and_cap),
    C(test_not_found_and_refused),
    C(test_release_lookup),
    C(test_search),
    C(test_pacing_two_threads),
    C(test_fake_catches_unpaced),
    C(test_retry_after_honoured),
    C(test_told_how_long_to_wait),
    C(test_cancel_during_wait),
    C(test_truncated_and_huge),
  };
  int rc = cmocka_run_group_tests_name("unit/musicbrainz", tests, NULL, NULL);
  settings_cleanup();
  curl_global_cleanup();
  return rc;
}
