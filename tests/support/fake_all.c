/*
 * fake_all.c - starts and stops the four fakes together and writes the
 * INI text that points the daemon at them.  The fakes themselves live in
 * fake_spotify.c, fake_slskd.c, fake_musicbrainz.c and fake_coverart.c.
 */
#include "fake_all.h"

#include <string.h>

#include "core/err.h"

/* ======================= all four ======================= */

int fake_all_start(struct fake_all *fa, const char *slskd_key)
{
  memset(fa, 0, sizeof *fa);
  int rc = fake_spotify_start(&fa->spotify, 0, NULL);
  if (rc == SS_OK)
    rc = fake_slskd_start(&fa->slskd, 0, slskd_key);
  if (rc == SS_OK)
    rc = fake_musicbrainz_start(&fa->musicbrainz, 0);
  if (rc == SS_OK)
    rc = fake_coverart_start(&fa->coverart, 0);
  if (rc != SS_OK)
    fake_all_stop(fa);
  return rc;
}

void fake_all_stop(struct fake_all *fa)
{
  fake_spotify_stop(fa->spotify);
  fake_slskd_stop(fa->slskd);
  fake_musicbrainz_stop(fa->musicbrainz);
  fake_coverart_stop(fa->coverart);
  memset(fa, 0, sizeof *fa);
}

void fake_all_ini(const struct fake_all *fa, const char *slskd_key,
                  struct buf *out)
{
  buf_printf(out, "[spotify]\naccounts_url = %s\napi_url = %s\n",
             fake_spotify_accounts_url(fa->spotify),
             fake_spotify_api_url(fa->spotify));
  buf_printf(out, "[musicbrainz]\nurl = %s\n",
             fake_musicbrainz_url(fa->musicbrainz));
  buf_printf(out, "[coverart]\nurl = %s\n", fake_coverart_url(fa->coverart));
  if (slskd_key)
    buf_printf(out, "[slskd]\nurl = %s\napi_key = %s\n",
               fake_slskd_url(fa->slskd), slskd_key);
}
