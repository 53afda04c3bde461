/*
 * test_wanted.c - the dispatcher (automation/wanted.c) on a real store:
 * the ladder; dispatch order and the caps per run and per hour (settings
 * automation.max_requests_per_run / _per_hour); requests by text and what
 * they ask for; follow from the request states (downloading, completed
 * with the files in the library -> imported, completed without them,
 * failed, cancelled, vanished -> ladder, then given_up); the actions
 * search now / ignore / retry with their state checks.
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
#include "automation/wanted.h"
#include "config/settings.h"
#include "core/err.h"
#include "db/db_downloads.h"
#include "db/db_library.h"
#include "db/db_wanted.h"

#define T0 1700000000000LL
#define MIN 60000LL
#define HOUR 3600000LL
#define DAY (24 * HOUR)

static int setup(void **state)
{
  settings_init();
  return tstore_setup(state, "test_wanted");
}

static int teardown(void **state) { return tstore_teardown(state); }

static void set(enum setting_id id, const char *v)
{
  char err[256];
  assert_int_equal(settings_set(id, v, err, sizeof err), SS_OK);
}

static int64_t want(struct db *db, enum wanted_kind kind, const char *source,
                    const char *artist, const char *title, bool auto_dl,
                    int64_t next_try)
{
  struct wanted_item w;
  memset(&w, 0, sizeof w);
  w.kind = kind;
  snprintf(w.source, sizeof w.source, "%s", source);
  snprintf(w.artist, sizeof w.artist, "%s", artist);
  snprintf(w.title, sizeof w.title, "%s", title);
  if (kind == WANTED_ALBUM)
    ownership_album_key(artist, title, w.norm_key, sizeof w.norm_key);
  else
    ownership_track_key(artist, title, w.norm_key, sizeof w.norm_key);
  w.auto_download = auto_dl;
  w.next_try_ms = next_try;
  int64_t id = 0;
  bool added = false;
  assert_int_equal(db_wanted_add(db, &w, T0, &id, &added), SS_OK);
  assert_true(added);
  return id;
}

static struct wanted_item item(struct db *db, int64_t id)
{
  struct wanted_item w;
  assert_int_equal(db_wanted_get(db, id, &w), SS_OK);
  return w;
}

static struct dl_request_view request_of(struct db *db, int64_t wanted_id)
{
  struct wanted_item w = item(db, wanted_id);
  struct dl_request_view v;
  assert_true(w.request_id > 0);
  assert_int_equal(db_dl_request_get(db, w.request_id, &v), SS_OK);
  return v;
}

static struct wanted_pass_result dispatch(struct db *db, int64_t now)
{
  struct wanted_dispatch_config cfg;
  wanted_dispatch_config_load(&cfg);
  struct wanted_pass_result r;
  assert_int_equal(wanted_dispatch(db, &cfg, now, &r), SS_OK);
  return r;
}

static struct wanted_pass_result follow(struct db *db, int64_t now)
{
  struct wanted_pass_result r;
  assert_int_equal(wanted_follow(db, now, &r), SS_OK);
  return r;
}

static void test_ladder(void **state)
{
  (void)state;
  assert_int_equal(wanted_ladder_delay_ms(1), HOUR);
  assert_int_equal(wanted_ladder_delay_ms(2), 6 * HOUR);
  assert_int_equal(wanted_ladder_delay_ms(3), DAY);
  assert_int_equal(wanted_ladder_delay_ms(4), 3 * DAY);
  assert_int_equal(wanted_ladder_delay_ms(5), 7 * DAY);
  assert_int_equal(wanted_ladder_delay_ms(6), -1);
  assert_int_equal(wanted_ladder_delay_ms(60), -1);
  assert_int_equal(wanted_ladder_delay_ms(0), 0);
}

static void test_settings_defaults(void **state)
{
  (void)state;
  struct wanted_dispatch_config cfg;
  wanted_dispatch_config_load(&cfg);
  assert_int_equal(cfg.max_per_run, 10);
  assert_int_equal(cfg.max_per_hour, 30);
}

/* Requests by text ask for what the item names; due order is kept. */
static void test_dispatch_makes_requests(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  int64_t a = want(db, WANTED_ALBUM, "watchlist", "Sigur Rós", "Takk...", true,
                   T0 - MIN);
  int64_t t = want(db, WANTED_TRACK, "playlist", "AC/DC", "Thunderstruck",
                   true, T0 - HOUR);
  int64_t later = want(db, WANTED_ALBUM, "discography", "Björk", "Debut", true,
                       T0 + HOUR);
  int64_t manual = want(db, WANTED_ALBUM, "manual", "Guns N' Roses",
                        "Appetite for Destruction", false, 0);
  struct wanted_pass_result r = dispatch(db, T0);
  assert_int_equal(r.requested, 2);
  assert_int_equal(r.capped, 0);
  assert_int_equal(r.failed, 0);
  assert_string_equal(r.note, "");
  struct dl_request_view va = request_of(db, a), vt = request_of(db, t);
  assert_int_equal(va.r.kind, DL_ALBUM);
  assert_string_equal(va.r.artist, "Sigur Rós");
  assert_string_equal(va.r.title, "Takk...");
  assert_int_equal(vt.r.kind, DL_TRACK);
  assert_string_equal(vt.r.artist, "AC/DC");
  assert_string_equal(vt.r.title, "Thunderstruck");
  /* the overdue track was asked first */
  assert_true(vt.r.id < va.r.id);
  struct wanted_item w = item(db, a);
  assert_string_equal(w.state, "searching");
  assert_int_equal(w.attempts, 1);
  assert_int_equal(w.last_try_ms, T0);
  assert_string_equal(item(db, later).state, "wanted");
  assert_int_equal(item(db, later).request_id, 0);
  assert_int_equal(item(db, manual).request_id, 0);
  /* nothing is asked twice */
  r = dispatch(db, T0 + MIN);
  assert_int_equal(r.requested, 0);
  r = dispatch(db, T0 + HOUR);
  assert_int_equal(r.requested, 1);
  assert_string_equal(item(db, later).state, "searching");
}

/* An album item's MusicBrainz release group travels on its download
 * request (the import names the album and fetches its cover by it); a
 * track's recording id and a malformed id do not. */
static void test_request_carries_mbid(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  static const char rg[] = "0b0c0d0e-5555-4666-8777-000000000002";
  int64_t a = want(db, WANTED_ALBUM, "watchlist", "Bjo\xcc\x88rk", "Homogenic",
                   true, 0);
  int64_t t = want(db, WANTED_TRACK, "playlist",
                   "\xe5\x9d\x82\xe6\x9c\xac"
                   "\xe9\xbe\x8d\xe4\xb8\x80",
                   "andata", true, 0);
  int64_t bad = want(db, WANTED_ALBUM, "discography", "AC/DC", "Back in Black",
                     true, 0);
  struct wanted_item w;
  const struct {
    int64_t *id;
    const char *mb;
  } ids[] = {{&a, rg},
             {&t, "0b0c0d0e-5555-4666-8777-000000000003"},
             {&bad, "not-an-mbid"}};
  for (size_t i = 0; i < 3; i++) {
    w = item(db, *ids[i].id);
    snprintf(w.mb_id, sizeof w.mb_id, "%s", ids[i].mb);
    int64_t id;
    bool added;
    assert_int_equal(db_wanted_add(db, &w, T0, &id, &added), SS_OK);
    assert_false(added); /* merged: the id is learnt */
    assert_string_equal(item(db, *ids[i].id).mb_id, ids[i].mb);
  }
  assert_int_equal(dispatch(db, T0).requested, 3);
  assert_string_equal(request_of(db, a).r.mb_release_group_id, rg);
  assert_string_equal(request_of(db, a).r.artist, "Bjo\xcc\x88rk");
  assert_string_equal(request_of(db, t).r.mb_release_group_id, "");
  assert_string_equal(request_of(db, bad).r.mb_release_group_id, "");
}

static void test_caps_per_run_and_hour(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  set(S_AUTOMATION_MAX_REQUESTS_PER_RUN, "3");
  set(S_AUTOMATION_MAX_REQUESTS_PER_HOUR, "5");
  for (int i = 0; i < 12; i++) {
    char title[32];
    snprintf(title, sizeof title, "Album %d", i);
    want(db, WANTED_ALBUM, "discography", "坂本龍一", title, true, 0);
  }
  struct wanted_pass_result r = dispatch(db, T0);
  assert_int_equal(r.requested, 3);
  assert_int_equal(r.capped, 9);
  assert_non_null(strstr(r.note, "per-run cap"));
  r = dispatch(db, T0 + MIN);
  assert_int_equal(r.requested, 2); /* 5 in this hour */
  assert_int_equal(r.capped, 7);
  assert_non_null(strstr(r.note, "hourly cap reached (5 requests"));
  r = dispatch(db, T0 + 2 * MIN);
  assert_int_equal(r.requested, 0);
  assert_int_equal(r.capped, 7);
  /* once the first three are an hour old, three more fit */
  r = dispatch(db, T0 + HOUR);
  assert_int_equal(r.requested, 0);
  r = dispatch(db, T0 + HOUR + 1);
  assert_int_equal(r.requested, 3);
  r = dispatch(db, T0 + HOUR + MIN);
  assert_int_equal(r.requested, 0);
  int64_t made = 0;
  assert_int_equal(db_wanted_requests_since(db, 0, &made), SS_OK);
  assert_int_equal(made, 8);
  set(S_AUTOMATION_MAX_REQUESTS_PER_RUN, "10");
  set(S_AUTOMATION_MAX_REQUESTS_PER_HOUR, "30");
}

/* An item whose request cannot be made waits an hour with the reason. */
static void test_request_refused(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  /* punctuation only: no searchable words */
  int64_t id = want(db, WANTED_TRACK, "manual", "!!!", "?!", true, 0);
  struct wanted_pass_result r = dispatch(db, T0);
  assert_int_equal(r.requested, 0);
  assert_int_equal(r.failed, 1);
  struct wanted_item w = item(db, id);
  assert_string_equal(w.state, "wanted");
  assert_int_equal(w.attempts, 0);
  assert_int_equal(w.next_try_ms, T0 + HOUR);
  assert_non_null(strstr(w.reason, "no download request could be made"));
}

static void add_library_track(struct db *db, const char *artist,
                              const char *album, const char *title)
{
  static int n;
  struct library_track *t = calloc(1, sizeof *t);
  snprintf(t->path, sizeof t->path, "/music/%d.flac", n++);
  snprintf(t->media.artist, sizeof t->media.artist, "%s", artist);
  snprintf(t->media.album, sizeof t->media.album, "%s", album);
  snprintf(t->media.title, sizeof t->media.title, "%s", title);
  t->size = 1;
  t->mtime_ns = 1;
  assert_int_equal(db_library_track_upsert(db, t, NULL), SS_OK);
  free(t);
}

static void request_state(struct db *db, int64_t wanted_id, const char *s,
                          const char *error)
{
  assert_int_equal(db_dl_request_set_state(db, item(db, wanted_id).request_id,
                                           s, error, T0),
                   SS_OK);
}

static void test_follow(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  int64_t done = want(db, WANTED_ALBUM, "watchlist", "Björk", "Homogenic",
                      true, 0);
  int64_t empty = want(db, WANTED_ALBUM, "watchlist", "Björk", "Post", true,
                       0);
  int64_t failed = want(db, WANTED_TRACK, "playlist", "AC/DC", "Hells Bells",
                        true, 0);
  int64_t cancelled = want(db, WANTED_TRACK, "manual", "Guns N' Roses",
                           "Patience", true, 0);
  int64_t busy = want(db, WANTED_ALBUM, "discography", "Sigur Rós", "( )",
                      true, 0);
  assert_int_equal(dispatch(db, T0).requested, 5);

  /* nothing happened yet */
  struct wanted_pass_result r = follow(db, T0 + MIN);
  assert_int_equal(r.imported + r.retrying + r.given_up, 0);
  assert_string_equal(item(db, busy).state, "searching");

  request_state(db, busy, "downloading", "");
  request_state(db, done, "completed", "");
  request_state(db, empty, "completed", "");
  request_state(db, failed, "failed", "no peer shares it");
  request_state(db, cancelled, "cancelled", "");
  /* Homogenic's files are in the library (a remaster, spelled in NFD) */
  add_library_track(db, "Bjo\xcc\x88rk", "Homogenic (2011 Remaster)",
                    "Hunter");
  r = follow(db, T0 + 2 * MIN);
  assert_int_equal(r.imported, 1);
  assert_int_equal(r.retrying, 3);
  assert_int_equal(r.given_up, 0);
  assert_string_equal(item(db, busy).state, "downloading");
  struct wanted_item w = item(db, done);
  assert_string_equal(w.state, "imported");
  assert_non_null(strstr(w.reason, "in the library"));
  w = item(db, empty);
  assert_string_equal(w.state, "wanted");
  assert_non_null(strstr(w.reason, "not in the library"));
  assert_int_equal(w.next_try_ms, T0 + 2 * MIN + HOUR);
  w = item(db, failed);
  assert_string_equal(w.state, "wanted");
  assert_string_equal(w.reason, "attempt 1 failed: download failed: no peer "
                                "shares it");
  assert_int_equal(w.next_try_ms, T0 + 2 * MIN + HOUR);
  w = item(db, cancelled);
  assert_string_equal(w.state, "wanted");
  assert_non_null(strstr(w.reason, "download cancelled"));

  /* the ladder: 1 h, 6 h, 1 d, 3 d, 7 d, then given up */
  int64_t now = T0 + 2 * MIN; /* when the first failure was followed */
  const int64_t waits[] = {HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY};
  for (int attempt = 1; attempt <= 5; attempt++) {
    w = item(db, failed);
    assert_int_equal(w.next_try_ms, now + waits[attempt - 1]);
    now = w.next_try_ms;
    dispatch(db, now - MIN); /* not due yet */
    assert_string_equal(item(db, failed).state, "wanted");
    dispatch(db, now);
    w = item(db, failed);
    assert_string_equal(w.state, "searching");
    assert_int_equal(w.attempts, attempt + 1);
    request_state(db, failed, "failed", "nobody has it");
    follow(db, now);
  }
  w = item(db, failed);
  assert_string_equal(w.state, "given_up");
  assert_string_equal(w.reason, "gave up after 6 attempts: download failed: "
                                "nobody has it");
  /* given up stays given up */
  dispatch(db, now + 30 * DAY);
  follow(db, now + 30 * DAY);
  assert_string_equal(item(db, failed).state, "given_up");
  assert_int_equal(item(db, failed).attempts, 6);
}

static void test_vanished_request(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  int64_t id = want(db, WANTED_TRACK, "manual", "Björk", "Jóga", true, 0);
  assert_int_equal(dispatch(db, T0).requested, 1);
  /* the download history was pruned under the item */
  assert_int_equal(db_wanted_requested(db, id, 999999, T0), SS_OK);
  struct wanted_pass_result r = follow(db, T0 + MIN);
  assert_int_equal(r.retrying, 1);
  struct wanted_item w = item(db, id);
  assert_string_equal(w.state, "wanted");
  assert_non_null(strstr(w.reason, "the download request is gone"));
}

static void test_actions(void **state)
{
  struct tstore *st = *state;
  struct db *db = st->db;
  char err[256];
  /* search now: whatever auto_download and next try say */
  int64_t m = want(db, WANTED_ALBUM, "manual", "Sigur Rós", "Ágætis byrjun",
                   false, T0 + DAY);
  assert_int_equal(wanted_search_now(db, m, T0, err, sizeof err), SS_OK);
  struct wanted_item w = item(db, m);
  assert_string_equal(w.state, "searching");
  assert_int_equal(w.attempts, 1);
  assert_int_equal(request_of(db, m).r.kind, DL_ALBUM);
  /* twice: already under way */
  assert_int_equal(wanted_search_now(db, m, T0, err, sizeof err), SS_ESTATE);
  assert_string_equal(err, "a download is already under way");
  assert_int_equal(wanted_search_now(db, 4242, T0, err, sizeof err),
                   SS_ENOTFOUND);
  assert_string_equal(err, "no wanted item 4242");

  /* ignore: stops its download, never dispatched, never re-added */
  int64_t req = item(db, m).request_id;
  assert_int_equal(wanted_ignore(db, m, T0, err, sizeof err), SS_OK);
  w = item(db, m);
  assert_string_equal(w.state, "ignored");
  struct dl_request_view v;
  assert_int_equal(db_dl_request_get(db, req, &v), SS_OK);
  assert_string_equal(v.r.state, "cancelled");
  assert_int_equal(wanted_ignore(db, m, T0, err, sizeof err), SS_ESTATE);
  assert_string_equal(err, "already ignored");
  assert_int_equal(wanted_search_now(db, m, T0, err, sizeof err), SS_ESTATE);
  assert_string_equal(err, "ignored: press retry first");
  /* following the cancelled request does not bring it back */
  follow(db, T0 + MIN);
  assert_string_equal(item(db, m).state, "ignored");

  /* retry: back to wanted, attempts reset, due now */
  assert_int_equal(wanted_retry(db, m, T0 + HOUR, err, sizeof err), SS_OK);
  w = item(db, m);
  assert_string_equal(w.state, "wanted");
  assert_int_equal(w.attempts, 0);
  assert_int_equal(w.next_try_ms, 0);
  assert_int_equal(wanted_retry(db, m, T0, err, sizeof err), SS_ESTATE);
  assert_string_equal(err, "only given up or ignored items can be retried");
  assert_int_equal(wanted_retry(db, 4242, T0, err, sizeof err), SS_ENOTFOUND);

  /* a given up item: search now and retry both work */
  int64_t g = want(db, WANTED_TRACK, "watchlist", "AC/DC", "T.N.T.", true, 0);
  assert_int_equal(db_wanted_set_state(db, g, "given_up", "gave up", 0, T0),
                   SS_OK);
  assert_int_equal(wanted_search_now(db, g, T0, err, sizeof err), SS_OK);
  assert_string_equal(item(db, g).state, "searching");

  /* imported: nothing to do */
  int64_t i = want(db, WANTED_TRACK, "watchlist", "AC/DC", "Jailbreak", true,
                   0);
  assert_int_equal(db_wanted_set_state(db, i, "imported", "", 0, T0), SS_OK);
  assert_int_equal(wanted_search_now(db, i, T0, err, sizeof err), SS_ESTATE);
  assert_string_equal(err, "already in the library");
  assert_int_equal(wanted_ignore(db, i, T0, err, sizeof err), SS_ESTATE);
  assert_int_equal(wanted_retry(db, i, T0, err, sizeof err), SS_ESTATE);

  /* search now respects the hourly cap */
  set(S_AUTOMATION_MAX_REQUESTS_PER_HOUR, "2");
  int64_t c = want(db, WANTED_TRACK, "manual", "Björk", "Army of Me", false,
                   0);
  assert_int_equal(wanted_search_now(db, c, T0, err, sizeof err), SS_EBUSY);
  assert_non_null(strstr(err, "hourly cap reached"));
  assert_string_equal(item(db, c).state, "wanted");
  assert_int_equal(wanted_search_now(db, c, T0 + 2 * HOUR, err, sizeof err),
                   SS_OK);
  set(S_AUTOMATION_MAX_REQUESTS_PER_HOUR, "30");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ladder),
    cmocka_unit_test_setup_teardown(test_settings_defaults, setup, teardown),
    cmocka_unit_test_setup_teardown(test_request_carries_mbid, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_dispatch_makes_requests, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_caps_per_run_and_hour, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_request_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
    cmocka_unit_test_setup_teardown(test_vanished_request, setup, teardown),
    cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
