/*
 * fake_musicbrainz.h - fake MusicBrainz web service v2 under /ws/2
 * (docs/INTEGRATIONS.md, "MusicBrainz").  Implemented in
 * fake_musicbrainz.c; included by fake_all.h.
 *
 *   - 403 + x-ratelimit-who for a missing or generic User-Agent;
 *   - pacing: a request (with a good User-Agent) arriving less than
 *     1000 ms after the previous one gets the real over-rate 503
 *     (retry-after: 1); every arrival is logged with its monotonic time so
 *     tests can prove the client's spacing (fake_musicbrainz_arrivals);
 *   - JSON with fmt=json (or Accept: application/json), XML otherwise;
 *   - GET /ws/2/artist/{mbid}: Various Artists and the seeded artists;
 *   - GET /ws/2/release-group?artist=&type=&limit=&offset=: browse with
 *     release-group-count / release-group-offset, limit 25 by default and
 *     at most 100, 400 for a missing artist, a bad limit/offset or an
 *     unknown type;
 *   - GET /ws/2/release/{mbid}: a seeded release with two media;
 *   - GET /ws/2/artist?query=: search with count/offset/created and a
 *     score per artist (accent- and case-insensitive, like the real
 *     index);
 *   - bad or nil MBID -> 400 "Invalid mbid.", unknown -> 404 "Not Found"
 *     with the real help text;
 *   - modes: rate limited or busy 503 on every request, a huge reply, or
 *     a truncated release-group page.
 *
 * Seeded artists carry real-world names (Björk, Sigur Rós, 坂本龍一, AC/DC,
 * Guns N' Roses, <b>&"') with release groups of every type and every date
 * form ("", YYYY, YYYY-MM, YYYY-MM-DD); the "prolific" artist has a
 * settable number of generated release groups for paging tests.
 *
 * Threading: handlers run on the fake's connection threads; the setters
 * are safe from any thread.  Ownership: fake_musicbrainz_start returns an
 * object released by fake_musicbrainz_stop (NULL is fine).
 */
#ifndef SS_TEST_FAKE_MUSICBRAINZ_H
#define SS_TEST_FAKE_MUSICBRAINZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_http.h"

/* The "Various Artists" entity, used as a connectivity check. */
#define FAKE_MB_VARIOUS_ARTISTS "89ad4ac3-39f7-470e-963a-56509c546377"
#define FAKE_MB_BJORK "87c5dedd-371d-4a53-9f7f-80522fb7f3cb"
#define FAKE_MB_BJORK_TRIO "0b0c0d0e-1111-4222-8333-000000000001"
#define FAKE_MB_SIGUR_ROS "f6f2326f-6b25-4170-b89d-e235b25508e8"
#define FAKE_MB_SAKAMOTO "0b0c0d0e-1111-4222-8333-000000000002"
#define FAKE_MB_ACDC "66c662b6-6e2f-4930-8610-912e24c63ed1"
#define FAKE_MB_GNR "eeb1195b-f213-4ce1-b28c-8565211f8e43"
#define FAKE_MB_MARKUP "0b0c0d0e-1111-4222-8333-000000000003" /* <b>&"' */
#define FAKE_MB_PROLIFIC "0b0c0d0e-1111-4222-8333-0000000000ff"
/* A release by Björk & Sigur Rós with two media (3 + 2 tracks). */
#define FAKE_MB_RELEASE "0b0c0d0e-2222-4333-8444-000000000001"
#define FAKE_MB_RELEASE_GROUP "0b0c0d0e-3333-4444-8555-000000000001"
#define FAKE_MB_PROLIFIC_DEFAULT 250
/* FAKE_MB_HUGE's body: far more than socket buffers (tcp_rmem up to 32 MiB
 * here) take before the client hangs up. */
#define FAKE_MB_HUGE_BYTES (64u * 1024 * 1024)

enum fake_mb_mode {
  FAKE_MB_OK,
  FAKE_MB_RATE_LIMITED, /* 503, retry-after: 1, zone "ws ip=..." */
  FAKE_MB_BUSY,         /* 503, retry-after: 0, zone "global" */
  FAKE_MB_HUGE,         /* 200 with a 64 MiB JSON body (streamed) */
  FAKE_MB_TRUNCATED     /* release-group browse: 200 with the real page
                           cut in half */
};

struct fake_musicbrainz;
int fake_musicbrainz_start(struct fake_musicbrainz **out, int port);
void fake_musicbrainz_stop(struct fake_musicbrainz *fm);
struct fake_http *fake_musicbrainz_http(struct fake_musicbrainz *fm);
/* Base URL including the /ws/2 prefix. */
const char *fake_musicbrainz_url(const struct fake_musicbrainz *fm);
void fake_musicbrainz_set_mode(struct fake_musicbrainz *fm,
                               enum fake_mb_mode mode);
/* Over-rate 503s (default on). */
void fake_musicbrainz_set_pacing(struct fake_musicbrainz *fm, bool enforce);
/* Number of release groups of FAKE_MB_PROLIFIC. */
void fake_musicbrainz_set_prolific(struct fake_musicbrainz *fm, size_t n);
/* Copies the monotonic arrival times (ms) of requests with a good
 * User-Agent, oldest first, at most max (the newest are kept); returns
 * how many were copied. */
size_t fake_musicbrainz_arrivals(struct fake_musicbrainz *fm, int64_t *out,
                                 size_t max);
/* Over-rate 503s served so far. */
size_t fake_musicbrainz_overrate(struct fake_musicbrainz *fm);
/* Forgets arrivals and the over-rate count. */
void fake_musicbrainz_clear(struct fake_musicbrainz *fm);
/* Publishes a release group of a seeded artist (after its seeded ones in
 * the browse), e.g. a new album also published on the fake Spotify.
 * primary NULL = "Album", date NULL = "" (no date).  SS_EINVAL for an
 * unknown artist or a bad MBID, SS_ETOOBIG past 32. */
int fake_musicbrainz_add_release_group(struct fake_musicbrainz *fm,
                                       const char *artist_mbid,
                                       const char *group_mbid,
                                       const char *title, const char *primary,
                                       const char *date);

/* True when ua has the required "Name/Version ( contact )" form. */
bool fake_musicbrainz_ua_ok(const char *ua);
/* True for an 8-4-4-4-12 hex MBID (lower case unless allow_upper). */
bool fake_mbid_valid(const char *s, bool allow_upper);

#endif
