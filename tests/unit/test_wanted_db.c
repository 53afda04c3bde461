/*
 * test_wanted_db.c - the Wanted list and Watchlist store
 * (db/db_wanted_sqlite.c) on a fresh SQLite file per test: identity merge
 * (the same Spotify id, MusicBrainz id or normalised key from two sources
 * is one row, the ids merged), ignored and imported items never brought
 * back, bad input refused, list filters and paging, due ordering, items
 * in flight, requests and the hourly count, state changes, counts, and
 * every watchlist function.
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
#include "db/db_wanted.h"

#define T0 1700000000000LL /* 2023-11-14 22:13:20 UTC */
#define HOUR 3600000LL

static int setup(void **state)
{
  return tstore_setup(state, "test_wanted_db");
}

static int teardown(void **state) { return tstore_teardown(state); }

static struct wanted_item album(const char *source, const char *artist,
                                const char *title, const char *spotify_id,
                                const char *mb_id)
{
  struct wanted_item w;
  memset(&w, 0, sizeof w);
  w.kind = WANTED_ALBUM;
  snprintf(w.source, sizeof w.source, "%s", source);
  snprintf(w.artist, sizeof w.artist, "%s", artist);
  snprintf(w.title, sizeof w.title, "%s", title);
  snprintf(w.spotify_id, sizeof w.spotify_id, "%s", spotify_id);
  snprintf(w.mb_id, sizeof w.mb_id, "%s", mb_id);
  ownership_album_key(artist, title, w.norm_key, sizeof w.norm_key);
  w.auto_download = true;
  return w;
}

static int64_t add(struct db *db, const struct wanted_item *w, int64_t now,
                   bool want_added)
{
  int64_t id = -1;
  bool added = !want_added;
  assert_int_equal(db_wanted_add(db, w, now, &id, &added), SS_OK);
  assert_true(id > 0);
  assert_int_equal(added, want_added);
  return id;
}

static struct wanted_item get(struct db *db, int64_t id)
{
  struct wanted_item w;
  assert_int_equal(db_wanted_get(db, id, &w), SS_OK);
  return w;
}

static void test_add_and_get(void **state)
{
  struct tstore *st = *state;
  struct wanted_item w = album("watchlist", "Björk", "Homogenic", "", "");
  snprintf(w.release_date, sizeof w.release_date, "1997-09-22");
  snprintf(w.release_type, sizeof w.release_type, "album");
  w.expected_tracks = 10;
  w.watch_id = 7;
  int64_t id = add(st->db, &w, T0, true);
  struct wanted_item g = get(st->db, id);
  assert_int_equal(g.id, id);
  assert_int_equal(g.kind, WANTED_ALBUM);
  assert_string_equal(g.source, "watchlist");
  assert_string_equal(g.state, "wanted");
  assert_string_equal(g.norm_key, w.norm_key);
  assert_string_equal(g.artist, "Björk");
  assert_string_equal(g.title, "Homogenic");
  assert_string_equal(g.release_date, "1997-09-22");
  assert_string_equal(g.release_type, "album");
  assert_int_equal(g.expected_tracks, 10);
  assert_true(g.auto_download);
  assert_int_equal(g.watch_id, 7);
  assert_int_equal(g.attempts, 0);
  assert_int_equal(g.next_try_ms, 0);
  assert_int_equal(g.created_ms, T0);
  assert_int_equal(g.updated_ms, T0);
  assert_int_equal(db_wanted_get(st->db, id + 1, &g), SS_ENOTFOUND);

  /* a quality upgrade is a track with its current file */
  struct wanted_item u;
  memset(&u, 0, sizeof u);
  u.kind = WANTED_TRACK;
  snprintf(u.source, sizeof u.source, "quality_upgrade");
  snprintf(u.artist, sizeof u.artist, "<b>&\"'");
  snprintf(u.title, sizeof u.title, "坂本龍一 Energy Flow");
  ownership_track_key(u.artist, u.title, u.norm_key, sizeof u.norm_key);
  u.track_id = 42;
  snprintf(u.current_quality, sizeof u.current_quality, "mp3 128k");
  int64_t uid = add(st->db, &u, T0, true);
  g = get(st->db, uid);
  assert_int_equal(g.kind, WANTED_TRACK);
  assert_string_equal(g.artist, "<b>&\"'");
  assert_string_equal(g.title, "坂本龍一 Energy Flow");
  assert_int_equal(g.track_id, 42);
  assert_string_equal(g.current_quality, "mp3 128k");
  assert_false(g.auto_download);
}

/* The same release from two sources, or seen through two services, is
 * one row; the ids it learns are merged. */
static void test_identity_merge(void **state)
{
  struct tstore *st = *state;
  /* watchlist knows the Spotify album */
  struct wanted_item a = album("watchlist", "Sigur Rós", "Takk...",
                               "3QZm1uH4aqcXhFtFMcP6Gq", "");
  a.auto_download = false;
  int64_t id = add(st->db, &a, T0, true);
  /* discography sees it through MusicBrainz, spelled differently (NFD,
   * deluxe suffix): same key, the MusicBrainz id is merged */
  struct wanted_item b = album("discography", "Sigur Ro\xcc\x81s",
                               "Takk... (Deluxe Edition)", "",
                               "f7f6b7ab-7d5d-3d9c-9e3e-5d2e6a0b2b6e");
  assert_string_equal(a.norm_key, b.norm_key);
  assert_int_equal(add(st->db, &b, T0 + 1, false), id);
  struct wanted_item g = get(st->db, id);
  assert_string_equal(g.source, "watchlist"); /* the first source stays */
  assert_string_equal(g.spotify_id, "3QZm1uH4aqcXhFtFMcP6Gq");
  assert_string_equal(g.mb_id, "f7f6b7ab-7d5d-3d9c-9e3e-5d2e6a0b2b6e");
  assert_true(g.auto_download); /* b wants it downloaded */
  assert_int_equal(g.updated_ms, T0 + 1);
  /* by Spotify id alone, whatever the names */
  struct wanted_item c = album("playlist", "SIGUR ROS", "Takk",
                               "3QZm1uH4aqcXhFtFMcP6Gq", "");
  snprintf(c.norm_key, sizeof c.norm_key, "something else entirely");
  assert_int_equal(add(st->db, &c, T0 + 2, false), id);
  /* by MusicBrainz id alone */
  struct wanted_item d = album("manual", "x", "y", "",
                               "f7f6b7ab-7d5d-3d9c-9e3e-5d2e6a0b2b6e");
  assert_int_equal(add(st->db, &d, T0 + 3, false), id);
  /* a merge never takes an id another row holds */
  struct wanted_item e = album("manual", "Björk", "Vespertine", "sp-vesp", "");
  int64_t other = add(st->db, &e, T0, true);
  struct wanted_item f = album("manual", "Björk", "Vespertine", "", "mb-vesp");
  assert_int_equal(add(st->db, &f, T0, false), other);
  struct wanted_item h = album("manual", "Sigur Rós", "Takk...", "",
                               "mb-vesp");
  assert_int_equal(add(st->db, &h, T0, false), id);
  g = get(st->db, id);
  assert_string_equal(g.mb_id, "f7f6b7ab-7d5d-3d9c-9e3e-5d2e6a0b2b6e");
  /* the same key as a track is another item */
  struct wanted_item t = a;
  t.kind = WANTED_TRACK;
  assert_int_not_equal(add(st->db, &t, T0, true), id);
  int64_t total = 0;
  size_t n = 0;
  struct wanted_item list[8];
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, 0, list, 8, &n, &total),
                   SS_OK);
  assert_int_equal(total, 3);
}

static void test_ignored_and_imported_stay(void **state)
{
  struct tstore *st = *state;
  struct wanted_item a = album("watchlist", "AC/DC", "Back in Black", "", "");
  a.auto_download = false;
  int64_t id = add(st->db, &a, T0, true);
  assert_int_equal(db_wanted_set_state(st->db, id, "ignored", "ignored by you",
                                       -1, T0),
                   SS_OK);
  struct wanted_item again = album("discography", "ac-dc",
                                   "Back In Black (2003 Remaster)", "", "");
  assert_int_equal(add(st->db, &again, T0 + HOUR, false), id);
  struct wanted_item g = get(st->db, id);
  assert_string_equal(g.state, "ignored");
  assert_string_equal(g.reason, "ignored by you");
  size_t n = 9;
  struct wanted_item due[4];
  assert_int_equal(db_wanted_due(st->db, T0 + 10 * HOUR, due, 4, &n), SS_OK);
  assert_int_equal(n, 0);

  struct wanted_item b = album("watchlist", "Guns N' Roses",
                               "Appetite for "
                               "Destruction",
                               "", "");
  int64_t bid = add(st->db, &b, T0, true);
  assert_int_equal(db_wanted_set_state(st->db, bid, "imported",
                                       "in the "
                                       "library",
                                       -1, T0),
                   SS_OK);
  assert_int_equal(add(st->db, &b, T0 + HOUR, false), bid);
  assert_string_equal(get(st->db, bid).state, "imported");

  /* retry: only given up or ignored items, back to wanted and due now */
  assert_int_equal(db_wanted_retry(st->db, bid, T0), SS_ESTATE);
  assert_int_equal(db_wanted_retry(st->db, bid + 100, T0), SS_ENOTFOUND);
  assert_int_equal(db_wanted_requested(st->db, id, 5, T0), SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, id, "ignored", "", T0 + HOUR,
                                       T0),
                   SS_OK);
  assert_int_equal(db_wanted_retry(st->db, id, T0 + 2 * HOUR), SS_OK);
  struct wanted_item r = get(st->db, id);
  assert_string_equal(r.state, "wanted");
  assert_int_equal(r.attempts, 0);
  assert_int_equal(r.next_try_ms, 0);
  assert_string_equal(r.reason, "");
  assert_int_equal(r.updated_ms, T0 + 2 * HOUR);
}

static void test_bad_input(void **state)
{
  struct tstore *st = *state;
  int64_t id = 5;
  bool added = true;
  struct wanted_item a = album("watchlist", "Björk", "Debut", "", "");
  struct wanted_item bad = a;
  bad.norm_key[0] = '\0';
  assert_int_equal(db_wanted_add(st->db, &bad, T0, &id, &added), SS_EINVAL);
  bad = a;
  snprintf(bad.source, sizeof bad.source, "radio");
  assert_int_equal(db_wanted_add(st->db, &bad, T0, &id, &added), SS_EINVAL);
  bad = a;
  snprintf(bad.state, sizeof bad.state, "lost");
  assert_int_equal(db_wanted_add(st->db, &bad, T0, &id, &added), SS_EINVAL);
  bad = a;
  bad.kind = (enum wanted_kind)7;
  assert_int_equal(db_wanted_add(st->db, &bad, T0, &id, &added), SS_EINVAL);
  assert_int_equal(db_wanted_add(st->db, NULL, T0, &id, &added), SS_EINVAL);
  /* strings filling their whole buffer (no terminator) are cut, never
   * read past */
  struct wanted_item full = a;
  memset(full.artist, 'x', sizeof full.artist);
  memset(full.reason, 'y', sizeof full.reason);
  id = add(st->db, &full, T0, true);
  struct wanted_item g = get(st->db, id);
  assert_int_equal(strlen(g.artist), sizeof g.artist - 1);
  assert_int_equal(db_wanted_set_state(st->db, id, "lost", "", -1, T0),
                   SS_EINVAL);
  assert_int_equal(db_wanted_set_state(st->db, id + 100, "wanted", "", -1, T0),
                   SS_ENOTFOUND);
  assert_int_equal(db_wanted_requested(st->db, id + 100, 3, T0), SS_ENOTFOUND);
  assert_int_equal(db_wanted_requested(st->db, id, 0, T0), SS_EINVAL);
  size_t n;
  int64_t total;
  struct wanted_item out[2];
  assert_int_equal(db_wanted_list(st->db, "lost", NULL, 0, out, 2, &n, &total),
                   SS_EINVAL);
  assert_int_equal(db_wanted_list(st->db, NULL, "radio", 0, out, 2, &n,
                                  &total),
                   SS_EINVAL);
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, -1, out, 2, &n, &total),
                   SS_EINVAL);
  /* nothing half-written: the failed adds left one row */
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, 0, out, 2, &n, &total),
                   SS_OK);
  assert_int_equal(total, 1);
}

static void test_list_filters_and_paging(void **state)
{
  struct tstore *st = *state;
  const char *srcs[] = {"watchlist", "discography", "quality_upgrade",
                        "playlist", "manual"};
  int64_t ids[10];
  for (int i = 0; i < 10; i++) {
    char title[32];
    snprintf(title, sizeof title, "Album %d", i);
    struct wanted_item w = album(srcs[i % 5], "Björk", title, "", "");
    ids[i] = add(st->db, &w, T0 + i, true);
  }
  assert_int_equal(db_wanted_set_state(st->db, ids[0], "given_up", "", -1, T0),
                   SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[1], "downloading", "", -1,
                                       T0),
                   SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[2], "imported", "", -1, T0),
                   SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[3], "ignored", "", -1, T0),
                   SS_OK);
  struct wanted_item out[10];
  size_t n;
  int64_t total;
  assert_int_equal(db_wanted_list(st->db, "open", NULL, 0, out, 10, &n,
                                  &total),
                   SS_OK);
  assert_int_equal(total, 7);
  assert_int_equal(n, 7);
  assert_int_equal(out[0].id, ids[9]); /* newest first */
  assert_int_equal(out[6].id, ids[1]);
  assert_int_equal(db_wanted_list(st->db, "given_up", NULL, 0, out, 10, &n,
                                  &total),
                   SS_OK);
  assert_int_equal(total, 1);
  assert_int_equal(out[0].id, ids[0]);
  assert_int_equal(db_wanted_list(st->db, NULL, "manual", 0, out, 10, &n,
                                  &total),
                   SS_OK);
  assert_int_equal(total, 2);
  assert_int_equal(out[0].id, ids[9]);
  assert_int_equal(out[1].id, ids[4]);
  assert_int_equal(db_wanted_list(st->db, "open", "quality_upgrade", 0, out,
                                  10, &n, &total),
                   SS_OK);
  assert_int_equal(total, 1); /* ids[2] is imported */
  assert_int_equal(out[0].id, ids[7]);
  /* paging: total is the whole count */
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, 3, out, 4, &n, &total),
                   SS_OK);
  assert_int_equal(total, 10);
  assert_int_equal(n, 4);
  assert_int_equal(out[0].id, ids[6]);
  assert_int_equal(out[3].id, ids[3]);
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, 9, out, 4, &n, &total),
                   SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(db_wanted_list(st->db, NULL, NULL, 50, out, 4, &n, &total),
                   SS_OK);
  assert_int_equal(n, 0);
  assert_int_equal(total, 10);
}

static void test_due_order_and_requests(void **state)
{
  struct tstore *st = *state;
  struct wanted_item a = album("watchlist", "A", "One", "", "");
  struct wanted_item b = album("watchlist", "B", "Two", "", "");
  struct wanted_item c = album("watchlist", "C", "Three", "", "");
  struct wanted_item d = album("watchlist", "D", "Four", "", "");
  struct wanted_item e = album("manual", "E", "Five", "", "");
  b.next_try_ms = T0 - 5 * HOUR;
  c.next_try_ms = T0 + HOUR; /* not due yet */
  e.auto_download = false;   /* waits for a user */
  int64_t ia = add(st->db, &a, T0, true);
  int64_t ib = add(st->db, &b, T0, true);
  int64_t ic = add(st->db, &c, T0, true);
  int64_t id = add(st->db, &d, T0, true);
  add(st->db, &e, T0, true);
  struct wanted_item due[8];
  size_t n;
  assert_int_equal(db_wanted_due(st->db, T0, due, 8, &n), SS_OK);
  assert_int_equal(n, 3);
  /* oldest next try first, then id */
  assert_int_equal(due[0].id, ia);
  assert_int_equal(due[1].id, id);
  assert_int_equal(due[2].id, ib);
  assert_int_equal(db_wanted_due(st->db, T0, due, 1, &n), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(db_wanted_due(st->db, T0 + HOUR, due, 8, &n), SS_OK);
  assert_int_equal(n, 4);
  assert_int_equal(due[3].id, ic);

  /* requests: searching, attempts, log */
  assert_int_equal(db_wanted_requested(st->db, ia, 11, T0), SS_OK);
  assert_int_equal(db_wanted_requested(st->db, id, 12, T0 + HOUR / 2), SS_OK);
  struct wanted_item g = get(st->db, ia);
  assert_string_equal(g.state, "searching");
  assert_int_equal(g.attempts, 1);
  assert_int_equal(g.request_id, 11);
  assert_int_equal(g.last_try_ms, T0);
  assert_int_equal(db_wanted_due(st->db, T0, due, 8, &n), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(due[0].id, ib);
  assert_int_equal(db_wanted_in_flight(st->db, due, 8, &n), SS_OK);
  assert_int_equal(n, 2);
  assert_int_equal(due[0].id, ia);
  assert_int_equal(due[1].id, id);
  /* back to wanted by the ladder, then asked again: two requests */
  assert_int_equal(db_wanted_set_state(st->db, ia, "wanted", "no source",
                                       T0 + 2 * HOUR, T0 + HOUR),
                   SS_OK);
  g = get(st->db, ia);
  assert_string_equal(g.reason, "no source");
  assert_int_equal(g.next_try_ms, T0 + 2 * HOUR);
  assert_int_equal(db_wanted_set_state(st->db, ia, "wanted", "", -1, T0),
                   SS_OK);
  g = get(st->db, ia);
  assert_string_equal(g.reason, "no source");     /* "" keeps */
  assert_int_equal(g.next_try_ms, T0 + 2 * HOUR); /* -1 keeps */
  assert_int_equal(db_wanted_requested(st->db, ia, 13, T0 + 2 * HOUR), SS_OK);
  assert_int_equal(get(st->db, ia).attempts, 2);
  assert_int_equal(get(st->db, ia).request_id, 13);
  int64_t since;
  assert_int_equal(db_wanted_requests_since(st->db, T0, &since), SS_OK);
  assert_int_equal(since, 3);
  assert_int_equal(db_wanted_requests_since(st->db, T0 + 1, &since), SS_OK);
  assert_int_equal(since, 2);
  assert_int_equal(db_wanted_requests_since(st->db, T0 + 3 * HOUR, &since),
                   SS_OK);
  assert_int_equal(since, 0);
}

static void test_counts(void **state)
{
  struct tstore *st = *state;
  struct wanted_counts c;
  assert_int_equal(db_wanted_counts(st->db, &c), SS_OK);
  assert_int_equal(c.watchlist + c.manual + c.requests_made, 0);
  const char *srcs[] = {"watchlist",       "watchlist", "discography",
                        "quality_upgrade", "playlist",  "manual",
                        "manual",          "manual"};
  int64_t ids[8];
  for (int i = 0; i < 8; i++) {
    char title[16];
    snprintf(title, sizeof title, "T%d", i);
    struct wanted_item w = album(srcs[i], "Artist", title, "", "");
    ids[i] = add(st->db, &w, T0, true);
  }
  assert_int_equal(db_wanted_requested(st->db, ids[0], 1, T0), SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[1], "given_up", "", -1, T0),
                   SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[5], "imported", "", -1, T0),
                   SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[6], "ignored", "", -1, T0),
                   SS_OK);
  assert_int_equal(db_wanted_requested(st->db, ids[7], 2, T0), SS_OK);
  assert_int_equal(db_wanted_set_state(st->db, ids[7], "downloading", "", -1,
                                       T0),
                   SS_OK);
  assert_int_equal(db_wanted_counts(st->db, &c), SS_OK);
  assert_int_equal(c.watchlist, 1); /* searching is open */
  assert_int_equal(c.discography, 1);
  assert_int_equal(c.quality_upgrade, 1);
  assert_int_equal(c.playlist, 1);
  assert_int_equal(c.manual, 1); /* downloading is open */
  assert_int_equal(c.given_up, 1);
  assert_int_equal(c.imported, 1);
  assert_int_equal(c.ignored, 1);
  assert_int_equal(c.requests_made, 2);
}

/* ---- watchlist ---- */

static struct watch watch_of(const char *artist_id, const char *name)
{
  struct watch w;
  memset(&w, 0, sizeof w);
  snprintf(w.spotify_artist_id, sizeof w.spotify_artist_id, "%s", artist_id);
  snprintf(w.name, sizeof w.name, "%s", name);
  w.auto_download = true;
  return w;
}

static void test_watchlist(void **state)
{
  struct tstore *st = *state;
  struct watch w = watch_of("7w29UYBi0qsHi5RTcv3lmA", "Björk");
  int64_t id = 0;
  assert_int_equal(db_watch_add(st->db, &w, T0, &id), SS_OK);
  assert_true(id > 0);
  struct watch g;
  assert_int_equal(db_watch_get(st->db, id, &g), SS_OK);
  assert_string_equal(g.spotify_artist_id, "7w29UYBi0qsHi5RTcv3lmA");
  assert_string_equal(g.name, "Björk");
  assert_string_equal(g.since_date, "2023-11-14"); /* T0's UTC day */
  assert_int_equal(g.release_types, WATCH_DEFAULT_TYPES);
  assert_true(g.auto_download);
  assert_false(g.discography);
  assert_int_equal(g.last_check_ms, 0);
  assert_int_equal(g.created_ms, T0);
  /* the same artist again: SS_EBUSY and the existing row */
  int64_t again = 0;
  assert_int_equal(db_watch_add(st->db, &w, T0 + 1, &again), SS_EBUSY);
  assert_int_equal(again, id);
  assert_int_equal(db_watch_by_artist(st->db, "7w29UYBi0qsHi5RTcv3lmA", &g),
                   SS_OK);
  assert_int_equal(g.id, id);
  assert_int_equal(db_watch_by_artist(st->db, "nobody", &g), SS_ENOTFOUND);
  struct watch empty = watch_of("", "x");
  assert_int_equal(db_watch_add(st->db, &empty, T0, &again), SS_EINVAL);
  struct watch bad_types = watch_of("x", "x");
  bad_types.release_types = 0x100;
  assert_int_equal(db_watch_add(st->db, &bad_types, T0, &again), SS_EINVAL);

  struct watch s = watch_of("6UUrUCIZtQeOf8tC0WuzRy", "Sigur Rós");
  snprintf(s.since_date, sizeof s.since_date, "2005-09-12");
  s.release_types = WATCH_ALBUM | WATCH_COMPILATION;
  s.discography = true;
  int64_t sid = 0;
  assert_int_equal(db_watch_add(st->db, &s, T0, &sid), SS_OK);
  struct watch a = watch_of("711MCceyCBcFnzjGY4Q7Un", "AC/DC");
  int64_t aid = 0;
  assert_int_equal(db_watch_add(st->db, &a, T0, &aid), SS_OK);

  struct watch list[4];
  size_t n;
  int64_t total;
  assert_int_equal(db_watch_list(st->db, list, 4, &n, &total), SS_OK);
  assert_int_equal(total, 3);
  assert_int_equal(n, 3);
  assert_string_equal(list[0].name, "AC/DC"); /* by name */
  assert_string_equal(list[1].name, "Björk");
  assert_string_equal(list[2].name, "Sigur Rós");
  assert_string_equal(list[2].since_date, "2005-09-12");
  assert_int_equal(list[2].release_types, WATCH_ALBUM | WATCH_COMPILATION);
  assert_true(list[2].discography);
  assert_int_equal(db_watch_list(st->db, list, 1, &n, &total), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(total, 3);

  /* due: never checked first (by id), then the oldest check */
  assert_int_equal(db_watch_checked(st->db, id, "", T0 + HOUR), SS_OK);
  assert_int_equal(db_watch_checked(st->db, aid, "Spotify: 503", T0), SS_OK);
  assert_int_equal(db_watch_due(st->db, T0 + 2 * HOUR, list, 4, &n), SS_OK);
  assert_int_equal(n, 3);
  assert_int_equal(list[0].id, sid);
  assert_int_equal(list[1].id, aid);
  assert_string_equal(list[1].last_error, "Spotify: 503");
  assert_int_equal(list[2].id, id);
  assert_int_equal(db_watch_due(st->db, T0 + HOUR, list, 4, &n), SS_OK);
  assert_int_equal(n, 2);
  assert_int_equal(db_watch_due(st->db, T0 + 2 * HOUR, list, 1, &n), SS_OK);
  assert_int_equal(n, 1);
  assert_int_equal(db_watch_checked(st->db, 999, "", T0), SS_ENOTFOUND);

  /* update */
  assert_int_equal(db_watch_get(st->db, id, &g), SS_OK);
  g.auto_download = false;
  g.discography = true;
  g.release_types = WATCH_SINGLE;
  snprintf(g.mb_artist_id, sizeof g.mb_artist_id,
           "87c5dedd-371d-4a53-9f7f-80522fb7f3cb");
  snprintf(g.name, sizeof g.name, "not written");
  assert_int_equal(db_watch_update(st->db, &g), SS_OK);
  assert_int_equal(db_watch_get(st->db, id, &g), SS_OK);
  assert_false(g.auto_download);
  assert_true(g.discography);
  assert_int_equal(g.release_types, WATCH_SINGLE);
  assert_string_equal(g.mb_artist_id, "87c5dedd-371d-4a53-9f7f-80522fb7f3cb");
  assert_string_equal(g.name, "Björk");
  g.id = 999;
  assert_int_equal(db_watch_update(st->db, &g), SS_ENOTFOUND);

  /* delete: its wanted items stay, unlinked */
  struct wanted_item wi = album("watchlist", "Björk", "Fossora", "", "");
  wi.watch_id = id;
  int64_t wid = add(st->db, &wi, T0, true);
  assert_int_equal(db_watch_delete(st->db, id), SS_OK);
  assert_int_equal(db_watch_get(st->db, id, &g), SS_ENOTFOUND);
  assert_int_equal(db_watch_delete(st->db, id), SS_ENOTFOUND);
  struct wanted_item after = get(st->db, wid);
  assert_int_equal(after.watch_id, 0);
  assert_int_equal(db_watch_list(st->db, list, 4, &n, &total), SS_OK);
  assert_int_equal(total, 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_add_and_get, setup, teardown),
    cmocka_unit_test_setup_teardown(test_identity_merge, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ignored_and_imported_stay, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_list_filters_and_paging, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_due_order_and_requests, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
    cmocka_unit_test_setup_teardown(test_watchlist, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
