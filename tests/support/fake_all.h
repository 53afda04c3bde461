/*
 * fake_all.h - local fakes of the four external services, speaking the
 * wire formats described in docs/INTEGRATIONS.md.
 *
 *   fake_spotify      Accounts service (GET /authorize, POST /api/token with
 *                     flat OAuth errors) and Web API under /v1 (nested
 *                     errors; GET /v1/ without a token -> 401 "No token
 *                     provided"; GET /v1/me with a valid token)
 *   fake_slskd        GET /health -> "Healthy"; /api/v0 routes behind
 * X-API-Key (missing/bad key -> 401, empty body); application,
 *                     application/version, server, session/enabled
 *   fake_musicbrainz  /ws/2 (fake_musicbrainz.h): lookups, release-group
 *                     browse with paging, artist search, 1 req/s pacing
 *                     with 503 + Retry-After, 400/404 like the real one
 *   fake_coverart     Cover Art Archive (fake_coverart.h): 307 to a second
 *                     "archive" listener, then the image; 404 = no cover
 *
 * Each fake owns one struct fake_http (two for coverart) that tests may
 * script or inspect directly (fake_*_http).  Later issues add endpoints by
 * registering more routes in their own files.
 *
 * Threading: handlers run on the fake's connection threads; the setters
 * below are safe from any thread.  Ownership: *_start returns an object
 * released by the matching *_stop (NULL is fine).
 */
#ifndef SS_TEST_FAKE_ALL_H
#define SS_TEST_FAKE_ALL_H

#include <stdbool.h>

#include "fake_coverart.h"
#include "fake_http.h"
#include "fake_musicbrainz.h"
#include "fake_slskd.h"
#include "fake_spotify.h"

#define FAKE_SECRET_MAX 256

/* ---- all four at once (ephemeral ports) ---- */
struct fake_all {
  struct fake_spotify *spotify;
  struct fake_slskd *slskd;
  struct fake_musicbrainz *musicbrainz;
  struct fake_coverart *coverart;
};
/* Starts every fake; slskd requires slskd_key.  On failure stops them. */
int fake_all_start(struct fake_all *fa, const char *slskd_key);
void fake_all_stop(struct fake_all *fa);
/*
 * Appends INI text pointing the daemon at the fakes: spotify.accounts_url,
 * spotify.api_url, musicbrainz.url, coverart.url, and - when slskd_key is
 * not NULL - slskd.url and slskd.api_key = slskd_key.
 */
void fake_all_ini(const struct fake_all *fa, const char *slskd_key,
                  struct buf *out);

#endif
