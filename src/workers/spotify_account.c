/*
 * spotify_account.c - whether a Spotify account is connected and the
 * Spotify part of the status view, for the workers that need one and for
 * the status details.  Kept apart from the unit table so readers of this
 * fact do not pull in every worker.
 *
 * The login itself is cached by clients/spotify.c (loaded once from the
 * store, updated on login, disconnect and invalid_grant), so these calls
 * are cheap on HTTP threads.
 */
#include <stdio.h>
#include <string.h>

#include "clients/spotify.h"
#include "core/reltime.h"
#include "workers/workers.h"
#include "workers/workers_view.h"

bool workers_spotify_connected(void) { return spotify_connected(); }

void workers_spotify_view(struct spotify_view *out)
{
  struct spotify_status st;
  spotify_status(&st);
  memset(out, 0, sizeof *out);
  out->stored = st.stored;
  out->connected = st.connected;
  snprintf(out->reauth_reason, sizeof out->reauth_reason, "%s",
           st.reauth_reason);
  snprintf(out->display_name, sizeof out->display_name, "%s", st.display_name);
  out->access_expires_ms = st.access_expires_ms;
  out->refresh_expires_ms = st.refresh_expires_ms;
  out->blocked_until_ms = st.blocked_until_ms;
  snprintf(out->blocked_reason, sizeof out->blocked_reason, "%s",
           st.blocked_reason);
  spotify_sync_stats(out->types);
}

void view_html_spotify_block(struct buf *b, const struct workers_model *m,
                             int64_t now_ms)
{
  char until[RELTIME_MAX];
  if (!m->spotify.blocked_until_ms)
    return;
  view_html_linef(b, "Spotify-Rate-Limit: pausiert, weiter %s",
                  reltime_until_de(now_ms, m->spotify.blocked_until_ms, until,
                                   sizeof until));
}
