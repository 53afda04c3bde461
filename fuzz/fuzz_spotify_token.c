/*
 * fuzz_spotify_token.c - libFuzzer target: replies of Spotify's token
 * endpoint (spotify_token_reply_parse in src/clients/spotify.c: the tokens
 * of a 200, the flat OAuth error of anything else, the nested Web API
 * error shape understood too).
 *
 * The first byte picks the status (200, 400, 401, 429, 503), the rest is
 * the body.  Checks: success means a non-empty access token and an expiry
 * within 60 s .. 24 h; a failure has a kind and a message within its
 * buffer.
 */
#include <string.h>

#include "clients/spotify.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const long statuses[] = {200, 400, 401, 429, 503};
  if (!size)
    return 0;
  long status = statuses[data[0] % 5];
  struct spotify_tokens t;
  struct spotify_err e;
  int rc = spotify_token_reply_parse(status, (const char *)data + 1, size - 1,
                                     &t, &e);
  if (rc == SS_OK) {
    FUZZ_CHECK(status == 200 && e.kind == SPOTIFY_OK);
    FUZZ_CHECK(t.access_token[0] &&
               strlen(t.access_token) < sizeof t.access_token);
    FUZZ_CHECK(t.expires_in_s >= 60 && t.expires_in_s <= 86400);
  } else {
    FUZZ_CHECK(e.kind != SPOTIFY_OK && e.msg[0]);
    FUZZ_CHECK(strlen(e.msg) < sizeof e.msg);
  }
  return 0;
}
