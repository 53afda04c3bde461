/*
 * fake_all.h - local fakes of the four external services, speaking the
 * wire formats described in docs/INTEGRATIONS.md.
 *
 *   fake_spotify      Accounts service (GET /authorize, POST /api/token with
 *                     flat OAuth errors) and Web API under /v1 (nested
 *                     errors; GET /v1/ without a token -> 401 "No token
 *                     provided"; GET /v1/me with a valid token)
 *   fake_slskd        GET /health -> "Healthy"; /api/v0 routes behind X-API-Key
 *                     (missing/bad key -> 401, empty body); application,
 *                     application/version, server, session/enabled
 *   fake_musicbrainz  /ws/2: 403 + x-ratelimit-who for a missing or generic
 *                     User-Agent; artist lookup (Various Artists) as JSON
 *                     with fmt=json, XML otherwise; 400/404 for bad/unknown
 *                     MBIDs; rate-limited and busy 503 modes
 *   fake_coverart     /release-group/{mbid}[/front...] and /release/{mbid}:
 *                     307 to another host (a second fake standing in for
 *                     archive.org) for known MBIDs, 404 HTML otherwise, 400
 *                     HTML for upper-case or malformed MBIDs
 *
 * Each fake owns one struct fake_http (two for coverart) that tests may
 * script or inspect directly (fake_*_http).  Later issues add endpoints by
 * registering more routes in fake_all.c.
 *
 * Threading: handlers run on the fake's connection threads; the setters
 * below are safe from any thread.  Ownership: *_start returns an object
 * released by the matching *_stop (NULL is fine).
 */
#ifndef SS_TEST_FAKE_ALL_H
#define SS_TEST_FAKE_ALL_H

#include <stdbool.h>

#include "fake_http.h"
#include "fake_slskd.h"
#include "fake_spotify.h"

#define FAKE_SECRET_MAX 256
/* The MusicBrainz "Various Artists" entity, used as a connectivity check. */
#define FAKE_MB_VARIOUS_ARTISTS "89ad4ac3-39f7-470e-963a-56509c546377"
/* A release group the Cover Art Archive fake knows (and its release). */
#define FAKE_CAA_RELEASE_GROUP "0b6c2da8-ac60-4663-beae-bd3dc6dea94a"
#define FAKE_CAA_RELEASE "76df3287-6cda-33eb-8e9a-044b5e15ffdd"

/* ---- MusicBrainz ---- */
enum fake_mb_mode {
  FAKE_MB_OK,
  FAKE_MB_RATE_LIMITED, /* 503, retry-after: 1, zone "ws ip=..." */
  FAKE_MB_BUSY          /* 503, retry-after: 0, zone "global" */
};
struct fake_musicbrainz;
int fake_musicbrainz_start(struct fake_musicbrainz **out, int port);
void fake_musicbrainz_stop(struct fake_musicbrainz *fm);
struct fake_http *fake_musicbrainz_http(struct fake_musicbrainz *fm);
/* Base URL including the /ws/2 prefix. */
const char *fake_musicbrainz_url(const struct fake_musicbrainz *fm);
void fake_musicbrainz_set_mode(struct fake_musicbrainz *fm,
                               enum fake_mb_mode mode);
/* True when ua has the required "Name/Version ( contact )" form. */
bool fake_musicbrainz_ua_ok(const char *ua);

/* ---- Cover Art Archive ---- */
struct fake_coverart;
int fake_coverart_start(struct fake_coverart **out, int port);
void fake_coverart_stop(struct fake_coverart *fc);
struct fake_http *fake_coverart_http(struct fake_coverart *fc);
/* The stand-in for archive.org that the 307s point at. */
struct fake_http *fake_coverart_archive_http(struct fake_coverart *fc);
const char *fake_coverart_url(const struct fake_coverart *fc);
/* Registers a release group with a front image in release release_mbid. */
int fake_coverart_add(struct fake_coverart *fc, const char *group_mbid,
                      const char *release_mbid);

/* True for an 8-4-4-4-12 hex MBID (lower case unless allow_upper). */
bool fake_mbid_valid(const char *s, bool allow_upper);

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
