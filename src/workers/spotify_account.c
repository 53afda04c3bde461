/*
 * spotify_account.c - whether a Spotify account is connected, for the
 * workers that need one and for the status details.  Kept apart from the
 * unit table so readers of this fact do not pull in every worker.
 */
#include "workers/workers.h"

bool workers_spotify_connected(void)
{
  /* The Spotify login (authorization-code flow with PKCE) stores tokens;
   * until it exists no account can be connected. */
  return false;
}
