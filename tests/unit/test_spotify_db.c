/*
 * test_spotify_db.c - unit tests of the Spotify store (db_spotify_sqlite.c):
 * the login row, list replacement with added/removed counts, removal vs
 * "no longer followed", playlist snapshots and entries, liked songs, saved
 * albums, artist albums (due order, re-check, links), text caps, and that
 * a repeated write never duplicates a row.
 *
 * Each test gets a fresh migrated database in a mkdtemp() folder; a raw
 * sqlite3 connection counts rows behind the interface.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "db/db.h"
#include "db/db_spotify.h"

struct fx {
  char dir[64];
  char path[128];
  struct db *db;
};

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  snprintf(fx->dir, sizeof fx->dir, "/tmp/ss-spdb-XXXXXX");
  if (!mkdtemp(fx->dir))
    return -1;
  snprintf(fx->path, sizeof fx->path, "%s/soulspotd.db", fx->dir);
  int version = 0;
  if (db_open(fx->path, &fx->db) != SS_OK ||
      db_migrate(fx->db, &version) != SS_OK)
    return -1;
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  char p[192];
  db_close(fx->db);
  const char *names[] = {"soulspotd.db", "soulspotd.db-wal",
                         "soulspotd.db-shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", fx->dir, names[i]);
    unlink(p);
  }
  rmdir(fx->dir);
  free(fx);
  return 0;
}

/* One integer from a raw query on the file. */
static int64_t q(struct fx *fx, const char *sql)
{
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  assert_int_equal(sqlite3_open(fx->path, &raw), SQLITE_OK);
  if (sqlite3_prepare_v2(raw, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  else
    fail_msg("query failed: %s: %s", sql, sqlite3_errmsg(raw));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return v;
}

/* ---- login ---- */

static void test_account_roundtrip(void **state)
{
  struct fx *fx = *state;
  struct db_spotify_account a = {0}, b;
  assert_int_equal(db_spotify_account_load(fx->db, &b), SS_ENOTFOUND);
  strcpy(a.access_token, "BQD-access");
  strcpy(a.refresh_token, "AQC-refresh");
  a.expires_at_ms = 1800000000000LL;
  strcpy(a.scopes, "user-follow-read");
  a.authorised_at_ms = 1790000000000LL;
  strcpy(a.display_name, "Jane <3");
  assert_int_equal(db_spotify_account_save(fx->db, &a), SS_OK);
  assert_int_equal(db_spotify_account_load(fx->db, &b), SS_OK);
  assert_string_equal(b.access_token, "BQD-access");
  assert_string_equal(b.refresh_token, "AQC-refresh");
  assert_int_equal(b.expires_at_ms, a.expires_at_ms);
  assert_int_equal(b.authorised_at_ms, a.authorised_at_ms);
  assert_string_equal(b.display_name, "Jane <3");
  assert_string_equal(b.reauth_reason, "");
  /* A second save replaces: still one row. */
  strcpy(a.reauth_reason, "Refresh token revoked");
  assert_int_equal(db_spotify_account_save(fx->db, &a), SS_OK);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_account"), 1);
  assert_int_equal(db_spotify_account_load(fx->db, &b), SS_OK);
  assert_string_equal(b.reauth_reason, "Refresh token revoked");
  assert_int_equal(db_spotify_account_delete(fx->db), SS_OK);
  assert_int_equal(db_spotify_account_load(fx->db, &b), SS_ENOTFOUND);
}

static void on_status(void *arg, const struct db_spotify_sync_status *s)
{
  struct db_spotify_sync_status *out = arg;
  if (!strcmp(s->type, "playlists"))
    *out = *s;
}

static void test_sync_status_roundtrip(void **state)
{
  struct fx *fx = *state;
  struct db_spotify_sync_status s = {.last_attempt_ms = 5,
                                     .last_ok_ms = 4,
                                     .items = 12};
  strcpy(s.type, "playlists");
  strcpy(s.last_result, "12 playlists");
  strcpy(s.last_error, "");
  strcpy(s.marker, "total=12;h=abc");
  assert_int_equal(db_spotify_status_store(fx->db, &s), SS_OK);
  strcpy(s.last_error, "boom");
  assert_int_equal(db_spotify_status_store(fx->db, &s), SS_OK);
  struct db_spotify_sync_status got = {0};
  assert_int_equal(db_spotify_status_load(fx->db, on_status, &got), SS_OK);
  assert_int_equal(got.items, 12);
  assert_int_equal(got.last_ok_ms, 4);
  assert_string_equal(got.last_error, "boom");
  assert_string_equal(got.marker, "total=12;h=abc");
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_sync_status"), 1);
}

/* ---- artists ---- */

static void test_artists_replace_and_remove(void **state)
{
  struct fx *fx = *state;
  struct sp_artist three[] = {{"a1", "One", NULL, NULL, NULL},
                              {"a2", "Two", NULL, NULL, NULL},
                              {"a3", "Three", NULL, NULL, NULL}};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_artists_replace(fx->db, three, 3, true, 100,
                                              &st),
                   SS_OK);
  assert_int_equal(st.total, 3);
  assert_int_equal(st.added, 3);
  assert_int_equal(st.removed, 0);
  /* The same list again: nothing new, nothing duplicated. */
  assert_int_equal(db_spotify_artists_replace(fx->db, three, 3, true, 200,
                                              &st),
                   SS_OK);
  assert_int_equal(st.added, 0);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_artists"), 3);
  /* a3 unfollowed, removal off: kept but no longer followed. */
  assert_int_equal(db_spotify_artists_replace(fx->db, three, 2, false, 300,
                                              &st),
                   SS_OK);
  assert_int_equal(st.total, 2);
  assert_int_equal(st.removed, 1);
  assert_int_equal(q(fx, "SELECT followed FROM spotify_artists"
                         " WHERE id = 'a3'"),
                   0);
  /* Removal on: a2 and a3 (already unfollowed is not counted) go. */
  assert_int_equal(db_spotify_artists_replace(fx->db, three, 1, true, 400,
                                              &st),
                   SS_OK);
  assert_int_equal(st.total, 1);
  assert_int_equal(st.removed, 1);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_artists"), 2);
  /* Following a3 again makes it followed. */
  assert_int_equal(db_spotify_artists_replace(fx->db, &three[2], 1, false, 500,
                                              &st),
                   SS_OK);
  assert_int_equal(q(fx, "SELECT followed FROM spotify_artists"
                         " WHERE id = 'a3'"),
                   1);
}

static void test_text_capped_on_utf8_boundary(void **state)
{
  struct fx *fx = *state;
  char *name = malloc(3001);
  for (int i = 0; i < 1000; i++)
    memcpy(name + 3 * i, "\xe2\x82\xac", 3); /* the euro sign */
  name[3000] = '\0';
  struct sp_artist a = {"big", name, NULL, NULL, NULL};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_artists_replace(fx->db, &a, 1, true, 1, &st),
                   SS_OK);
  int64_t len = q(fx,
                  "SELECT length(CAST(name AS BLOB)) FROM spotify_artists");
  assert_true(len <= SPOTIFY_TEXT_MAX);
  assert_int_equal(len % 3, 0);
  assert_int_equal(q(fx, "SELECT length(name) FROM spotify_artists") * 3, len);
  free(name);
}

/* ---- playlists and entries ---- */

struct stale_list {
  int n;
  char ids[8][32];
};

static void on_stale(void *arg, const char *id, const char *snap,
                     const char *name)
{
  struct stale_list *l = arg;
  (void)snap;
  (void)name;
  if (l->n < 8)
    snprintf(l->ids[l->n++], 32, "%s", id);
}

static void test_playlists_snapshots_and_entries(void **state)
{
  struct fx *fx = *state;
  struct sp_playlist pl[] = {{"p1", "Mine", "me", "Me", "", "s1", 2, false},
                             {"p2", "Theirs", "x", NULL, NULL, "s9", 5,
                              false}};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_playlists_replace(fx->db, pl, 2, false, 10, &st),
                   SS_OK);
  assert_int_equal(st.added, 2);
  struct stale_list l = {0};
  assert_int_equal(db_spotify_playlists_stale(fx->db, on_stale, &l), SS_OK);
  assert_int_equal(l.n, 2);

  struct sp_entry e[] = {{{"t1", "Song", "ar1", "A", "al1", "Al", "ISRC1",
                           1000},
                          "spotify:track:t1",
                          "2024-01-01T00:00:00Z",
                          false},
                         {{NULL, "Local", NULL, NULL, NULL, NULL, NULL, 0},
                          "spotify:local:x",
                          NULL,
                          true},
                         {{"t1", "Song", "ar1", "A", "al1", "Al", "", 1000},
                          "spotify:track:t1",
                          NULL,
                          false}};
  assert_int_equal(db_spotify_playlist_entries_replace(fx->db, "p1", "s1", e,
                                                       3, 11),
                   SS_OK);
  assert_int_equal(db_spotify_playlist_entries_error(fx->db, "p2", "s9",
                                                     "HTTP 403"),
                   SS_OK);
  memset(&l, 0, sizeof l);
  assert_int_equal(db_spotify_playlists_stale(fx->db, on_stale, &l), SS_OK);
  assert_int_equal(l.n, 0); /* both belong to their current snapshot */
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_playlist_entries"), 3);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_tracks"), 1);
  /* The empty ISRC of the repeat kept the known one. */
  assert_int_equal(q(fx, "SELECT isrc = 'ISRC1' FROM spotify_tracks"), 1);
  /* A new snapshot makes p1 stale; re-reading replaces, not appends. */
  pl[0].snapshot_id = "s2";
  assert_int_equal(db_spotify_playlists_replace(fx->db, pl, 2, false, 12, &st),
                   SS_OK);
  memset(&l, 0, sizeof l);
  db_spotify_playlists_stale(fx->db, on_stale, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.ids[0], "p1");
  assert_int_equal(db_spotify_playlist_entries_replace(fx->db, "p1", "s2", e,
                                                       1, 13),
                   SS_OK);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_playlist_entries"), 1);
  assert_int_equal(db_spotify_playlist_entries_replace(fx->db, "nope", "s", e,
                                                       1, 13),
                   SS_ENOTFOUND);
  /* Unfollowed with removal: the playlist and its entries go. */
  assert_int_equal(db_spotify_playlists_replace(fx->db, &pl[1], 1, true, 14,
                                                &st),
                   SS_OK);
  assert_int_equal(st.removed, 1);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_playlist_entries"), 0);
}

/* ---- liked songs, saved albums ---- */

static void test_liked_and_saved(void **state)
{
  struct fx *fx = *state;
  struct sp_entry liked[] =
    {{{"t1", "A", NULL, NULL, NULL, NULL, NULL, 1}, NULL, "d1", false},
     {{"t2", "B", NULL, NULL, NULL, NULL, NULL, 1}, NULL, "d2", false},
     {{NULL, "gone", NULL, NULL, NULL, NULL, NULL, 0}, NULL, NULL, false}};
  struct sp_write_stats st;
  assert_int_equal(db_spotify_liked_replace(fx->db, liked, 3, 1, &st), SS_OK);
  assert_int_equal(st.total, 2);
  assert_int_equal(st.added, 2);
  assert_int_equal(db_spotify_liked_replace(fx->db, &liked[1], 1, 2, &st),
                   SS_OK);
  assert_int_equal(st.total, 1);
  assert_int_equal(st.added, 0);
  assert_int_equal(st.removed, 1);

  struct sp_album al[] = {{"al1", "X", "ar1", "A", "album", "2001", NULL,
                           "upc1", "d", NULL, 10},
                          {"al2", "Y", "ar1", "A", "single", "2002", NULL,
                           NULL, "d", NULL, 1}};
  assert_int_equal(db_spotify_saved_albums_replace(fx->db, al, 2, 1, &st),
                   SS_OK);
  assert_int_equal(st.total, 2);
  assert_int_equal(st.added, 2);
  assert_int_equal(db_spotify_saved_albums_replace(fx->db, al, 1, 2, &st),
                   SS_OK);
  assert_int_equal(st.total, 1);
  assert_int_equal(st.removed, 1);
  /* Unsaved albums stay as rows (artists' albums may use them). */
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_albums"), 2);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_albums"
                         " WHERE saved = 1"),
                   1);
}

/* ---- artist albums ---- */

struct due_list {
  int n;
  char ids[8][16];
};

static void on_due(void *arg, const char *id, const char *name)
{
  struct due_list *d = arg;
  (void)name;
  if (d->n < 8)
    snprintf(d->ids[d->n++], 16, "%s", id);
}

static void test_artist_albums_gradual(void **state)
{
  struct fx *fx = *state;
  struct sp_artist a[] = {{"a1", "Zed", NULL, NULL, NULL},
                          {"a2", "Abe", NULL, NULL, NULL},
                          {"a3", "Moe", NULL, NULL, NULL}};
  struct sp_write_stats st;
  db_spotify_artists_replace(fx->db, a, 3, true, 1, &st);
  struct due_list d = {0};
  /* Never read first, by name; at most `limit`. */
  assert_int_equal(db_spotify_artist_albums_due(fx->db, 1000, 2, on_due, &d),
                   SS_OK);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.ids[0], "a2");
  assert_string_equal(d.ids[1], "a3");
  struct sp_album rel[] = {{"r1", "R1", "a2", "Abe", "album", "2001", NULL,
                            NULL, NULL, "album", 9},
                           {"r2", "R2", "a2", "Abe", "single", "2002", NULL,
                            NULL, NULL, "single", 1}};
  assert_int_equal(db_spotify_artist_albums_replace(fx->db, "a2", rel, 2, 500),
                   SS_OK);
  assert_int_equal(db_spotify_artist_albums_replace(fx->db, "a3", rel, 0, 600),
                   SS_OK);
  assert_int_equal(db_spotify_artist_albums_replace(fx->db, "zz", rel, 1, 600),
                   SS_ENOTFOUND);
  int64_t never = 0, stale = 0;
  assert_int_equal(db_spotify_artist_albums_pending(fx->db, 550, &never,
                                                    &stale),
                   SS_OK);
  assert_int_equal(never, 1);
  assert_int_equal(stale, 1); /* a2 read at 500 < 550 */
  memset(&d, 0, sizeof d);
  db_spotify_artist_albums_due(fx->db, 550, 5, on_due, &d);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.ids[0], "a1"); /* never read */
  assert_string_equal(d.ids[1], "a2"); /* then the oldest */
  /* Replacing the links drops the ones no longer listed. */
  assert_int_equal(db_spotify_artist_albums_replace(fx->db, "a2", rel, 1, 700),
                   SS_OK);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_artist_albums"), 1);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_albums"), 2);
  /* Removing the artist removes its links. */
  db_spotify_artists_replace(fx->db, a, 1, true, 800, &st);
  assert_int_equal(q(fx, "SELECT COUNT(*) FROM spotify_artist_albums"), 0);
}

static void count_rows(void *arg, const struct db_spotify_row *r)
{
  (void)r;
  (*(int *)arg)++;
}

static void test_counts_and_lists(void **state)
{
  struct fx *fx = *state;
  struct sp_artist a[] = {{"a1", "B", NULL, NULL, NULL},
                          {"a2", "a", NULL, NULL, NULL}};
  struct sp_write_stats st;
  db_spotify_artists_replace(fx->db, a, 2, true, 1, &st);
  struct db_spotify_counts c;
  assert_int_equal(db_spotify_counts(fx->db, &c), SS_OK);
  assert_int_equal(c.artists, 2);
  assert_int_equal(c.playlists, 0);
  int n = 0;
  assert_int_equal(db_spotify_list_artists(fx->db, 0, 1, count_rows, &n),
                   SS_OK);
  assert_int_equal(n, 1);
  n = 0;
  db_spotify_list_artists(fx->db, 1, 10, count_rows, &n);
  assert_int_equal(n, 1);
  n = 0;
  db_spotify_list_entries(fx->db, "none", 0, 10, count_rows, &n);
  assert_int_equal(n, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    T(test_account_roundtrip),
    T(test_sync_status_roundtrip),
    T(test_artists_replace_and_remove),
    T(test_text_capped_on_utf8_boundary),
    T(test_playlists_snapshots_and_entries),
    T(test_liked_and_saved),
    T(test_artist_albums_gradual),
    T(test_counts_and_lists),
#undef T
  };
  return cmocka_run_group_tests_name("spotify_db", tests, NULL, NULL);
}
