/*
 * test_spotify_sync_pages.c - the page reader and item parsers of Spotify Sync
 * (workers/spotify_sync.c) through spotify_sync_read_page(), the entry
 * fuzz/fuzz_spotify_page.c uses.  The whole sync against the fake Spotify
 * is tested in tests/integration/test_spotify_sync.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "spotify/sync.h"

/* Reads json as a page of type t and checks the outcome; returns the error
 * text ("" on success). */
static const char *expect_page(enum spotify_sync_type t, const char *json,
                               int rc, size_t kept, int64_t skipped)
{
  static char err[256];
  size_t k = 0;
  int64_t s = 0;
  err[0] = '\0';
  assert_int_equal(spotify_sync_read_page(t, json, strlen(json), &k, &s, err,
                                          sizeof err),
                   rc);
  assert_int_equal(k, kept);
  assert_int_equal(s, skipped);
  return err;
}

static void test_cursor_page_of_artists(void **state)
{
  (void)state;
  /* One without a usable id is skipped. */
  expect_page(SYNC_ARTISTS,
              "{\"artists\":{\"items\":[{\"id\":\"0TnOYISbd1XYRBk9myaseg\","
              "\"name\":\"Bj\\u00f6rk\",\"images\":null},{\"id\":null,"
              "\"name\":\"x\"},{\"id\":\"a2\",\"name\":\"Sigur R\xc3\xb3s\","
              "\"genres\":[\"post-rock\",7]}],\"next\":null,\"cursors\":"
              "{\"after\":null},\"total\":3}}",
              SS_OK, 2, 1);
  /* Without the "artists" wrapper there is no paging object. */
  assert_non_null(
    strstr(expect_page(SYNC_ARTISTS, "{\"items\":[],\"next\":null}", SS_EPROTO,
                       0, 0),
           "no paging object"));
}

static void test_playlists_and_entries_dev_mode(void **state)
{
  (void)state;
  /* Feb 2026 shape: summary under "items", "tracks" null. */
  expect_page(SYNC_PLAYLISTS,
              "{\"items\":[{\"id\":\"3cEY\",\"name\":\"Road trip\",\"owner\":"
              "{\"display_name\":null,\"id\":\"jane\"},\"description\":null,"
              "\"items\":{\"href\":\"h\",\"total\":42},\"tracks\":null,"
              "\"snapshot_id\":\"AAAB\"}],\"next\":null,\"total\":1}",
              SS_OK, 1, 0);
  /* Entries: "item" (or the older "track"); an unavailable track keeps
   * its place, a local file is kept, 7 is not an entry. */
  expect_page(SYNC_LIKED_SONGS,
              "{\"items\":[{\"added_at\":null,\"item\":{\"id\":\"t1\","
              "\"name\":\"J\\u00f3ga\",\"artists\":[{\"id\":\"a\","
              "\"name\":\"Bj\\u00f6rk\"}],\"album\":{\"id\":\"al\"}}},"
              "{\"item\":null},{\"is_local\":true,\"track\":{\"id\":null,"
              "\"uri\":\"spotify:local:AC%2FDC:::60\"}},7],"
              "\"next\":null,\"total\":4}",
              SS_OK, 3, 1);
}

static void test_malformed_pages(void **state)
{
  (void)state;
  expect_page(SYNC_ALBUMS, "[]", SS_EPROTO, 0, 0);
  assert_non_null(
    strstr(expect_page(SYNC_ALBUMS, "{\"items\":{},\"next\":null}", SS_EPROTO,
                       0, 0),
           "items is not a list"));
  assert_non_null(
    strstr(expect_page(SYNC_ARTIST_ALBUMS, "{\"items\":[],\"next\":5}",
                       SS_EPROTO, 0, 0),
           "next is not a link"));
  /* One page only: a next link is where the entry stops. */
  expect_page(SYNC_ARTIST_ALBUMS,
              "{\"items\":[{\"id\":\"x\",\"name\":\"Homogenic\"}],"
              "\"next\":\"https://api.spotify.com/v1/artists/a/albums"
              "?offset=10\"}",
              SS_ETOOBIG, 1, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cursor_page_of_artists),
    cmocka_unit_test(test_playlists_and_entries_dev_mode),
    cmocka_unit_test(test_malformed_pages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
