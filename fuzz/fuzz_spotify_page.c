/*
 * fuzz_spotify_page.c - libFuzzer target: Spotify Web API paging replies
 * as Spotify Sync reads them (spotify_sync_read_page in
 * src/workers/spotify_sync.c): the paging object (offset pages and the
 * cursor page wrapped in "artists"), the `next` link, and the item parsers
 * of artists, playlists, saved albums, playlist entries / liked songs and
 * an artist's albums, with their dev-mode spellings and nulls.
 *
 * The first byte picks the list type, the rest is the body.  Checks: a
 * reply is read or refused with a reason, never half-read silently.
 */
#include <string.h>

#include "core/err.h"
#include "spotify/sync.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!size)
    return 0;
  enum spotify_sync_type t = (enum spotify_sync_type)(data[0] % SYNC__COUNT);
  size_t kept = 0;
  int64_t skipped = 0;
  char err[256] = "";
  int rc = spotify_sync_read_page(t, (const char *)data + 1, size - 1, &kept,
                                  &skipped, err, sizeof err);
  if (rc != SS_OK)
    FUZZ_CHECK((rc == SS_EPROTO || rc == SS_ETOOBIG) && err[0]);
  FUZZ_CHECK(skipped >= 0 && kept <= size);
  return 0;
}
