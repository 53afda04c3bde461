/*
 * fake_spotify.h - fake Spotify Accounts service (GET /authorize, POST
 * /api/token with flat OAuth errors) and Web API under /v1 (nested errors).
 * Implemented in fake_spotify.c; included by fake_all.h.
 *
 * It keeps the quirks listed in docs/INTEGRATIONS.md (Spotify sections):
 *   - the token endpoint takes a form body only; client auth by Basic, by
 *     form fields, or (PKCE public client) client_id + code_verifier, which
 *     is checked against the S256 code_challenge given to /authorize;
 *   - refresh replies omit refresh_token unless rotation is on;
 *   - flat token errors vs nested Web API errors;
 *   - absolute `next` links built from the fake's own base, `next: null`
 *     and `cursors.after: null` on the last page; cursor paging for
 *     /me/following inside an "artists" wrapper;
 *   - Feb-2026 dev mode: /playlists/{id}/items with `item` (and the
 *     deprecated `track`) per entry, `items:{href,total}` and `tracks:null`
 *     in /me/playlists, 403 on playlists the user does not own, 403 on the
 *     removed /playlists/{id}/tracks;
 *   - page-size caps: 50 for /me lists and playlist items, 10 for
 *     /artists/{id}/albums (default 5); above the cap a 400 "Invalid limit";
 *   - optional null items, local files (id null), images null or [];
 *   - 429 with Retry-After (classic or QUOTA_EXCEEDED body).
 * The library is generated on the fly from counts (cheap for 2 000
 * artists, 500 playlists and 20 000 entries), and every request is
 * counted per endpoint kind.
 */
#ifndef SS_TEST_FAKE_SPOTIFY_H
#define SS_TEST_FAKE_SPOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_http.h"

/* ---- Spotify ---- */
struct fake_spotify_opts {
  const char *client_id;     /* NULL = "test-client-id" */
  const char *client_secret; /* NULL = "test-client-secret" */
  const char *auth_code;     /* NULL = "test-auth-code" */
  const char *refresh_token; /* NULL = "test-refresh-token" */
};
struct fake_spotify;
int fake_spotify_start(struct fake_spotify **out, int port,
                       const struct fake_spotify_opts *opts /* or NULL */);
void fake_spotify_stop(struct fake_spotify *fs);
struct fake_http *fake_spotify_http(struct fake_spotify *fs);
/* Accounts base ("http://127.0.0.1:P") and Web API base (".../v1"). */
const char *fake_spotify_accounts_url(const struct fake_spotify *fs);
const char *fake_spotify_api_url(const struct fake_spotify *fs);
/* Current access token ("" before the first token request). */
void fake_spotify_access_token(struct fake_spotify *fs, char *out, size_t n);
/* Current refresh token. */
void fake_spotify_refresh_token(struct fake_spotify *fs, char *out, size_t n);
/* Makes the current access token answer 401 "The access token expired". */
void fake_spotify_expire_access_token(struct fake_spotify *fs);
/* Refresh token behaviour: revoke (invalid_grant "Refresh token revoked"),
 * rotate (a refresh reply carries a new refresh_token; default: omitted). */
void fake_spotify_revoke_refresh_token(struct fake_spotify *fs);
void fake_spotify_set_rotate_refresh(struct fake_spotify *fs, bool on);
/* expires_in of issued tokens (default 3600). */
void fake_spotify_set_expires_in(struct fake_spotify *fs, int seconds);
/* /authorize answers error=access_denied (the user declined). */
void fake_spotify_set_deny(struct fake_spotify *fs, bool on);

/* ---- the generated library ---- */
struct fake_spotify_library {
  int artists;           /* followed artists */
  int playlists;         /* playlists the user owns */
  int foreign_playlists; /* followed playlists of others (items: 403) */
  int entries;           /* entries spread over the owned playlists */
  int tracks;            /* distinct tracks entries use (0: entries/2+1) */
  int liked;             /* liked songs */
  int saved_albums;
  int albums_per_artist; /* discography size (0: 3) */
  bool quirks;           /* every 40th entry item:null, every 25th a local
                            file; every 7th artist images:null */
};
void fake_spotify_set_library(struct fake_spotify *fs,
                              const struct fake_spotify_library *lib);
/* Entries of owned playlist `index` (0-based) the fake serves now. */
int fake_spotify_playlist_entries(struct fake_spotify *fs, int index);
/* Changes owned playlist `index`: a new snapshot_id and one more entry. */
void fake_spotify_touch_playlist(struct fake_spotify *fs, int index);
/* Adds a new liked song at the top. */
void fake_spotify_like_one(struct fake_spotify *fs);

/*
 * A release published on demand (the watchlist's "new album"): it heads
 * GET /artists/{artist_id}/albums (newest first, filtered by
 * include_groups like the real service) in the real simplified-album
 * shape with release_date + release_date_precision.  artist_id need not
 * be a generated artist: an id with added releases is a known artist
 * (Björk, 坂本龍一, AC/DC by their own ids); any other id stays 404.
 * precision NULL = "day", album_group NULL = "album" (album, single,
 * compilation, appears_on), total_tracks 0 = 10.  Its tracks are served
 * by GET /albums/{id}/tracks (offset paging of simplified tracks, limit
 * 20 by default, at most 50; names from track_names, else "Track N").
 * album_id (may be NULL) gets the new album's id.  Any thread.
 */
struct fake_spotify_release {
  const char *artist_id, *artist_name, *name;
  const char *release_date; /* "2026", "2026-12", "2026-12-24", or junk */
  const char *precision;
  const char *album_group;
  int total_tracks;
  const char *const *track_names; /* total_tracks names, NULL-ended;
                                    NULL = "Track N" */
};
void fake_spotify_add_release(struct fake_spotify *fs,
                              const struct fake_spotify_release *r,
                              char *album_id, size_t n);

/* ---- request counts per endpoint ---- */
enum fake_spotify_endpoint {
  FSP_ME,            /* GET /v1/me */
  FSP_FOLLOWING,     /* /v1/me/following */
  FSP_PLAYLISTS,     /* /v1/me/playlists */
  FSP_ITEMS,         /* /v1/playlists/{id}/items */
  FSP_OLD_TRACKS,    /* /v1/playlists/{id}/tracks (403) */
  FSP_LIKED,         /* /v1/me/tracks */
  FSP_SAVED_ALBUMS,  /* /v1/me/albums */
  FSP_ARTIST_ALBUMS, /* /v1/artists/{id}/albums */
  FSP_ALBUM_TRACKS,  /* /v1/albums/{id}/tracks of added releases */
  FSP_OTHER_API,     /* any other /v1 path */
  FSP_TOKEN,         /* POST /api/token */
  FSP_TOKEN_REFRESH, /* ... with grant_type=refresh_token */
  FSP__COUNT
};
size_t fake_spotify_count(struct fake_spotify *fs,
                          enum fake_spotify_endpoint e);
/* Every /v1 request (FSP_ME .. FSP_OTHER_API). */
size_t fake_spotify_api_count(struct fake_spotify *fs);
void fake_spotify_reset_counts(struct fake_spotify *fs);

/* ---- faults ---- */
enum fake_spotify_fault {
  FSF_MALFORMED,     /* 200 with invalid JSON */
  FSF_TRUNCATED,     /* 200 with the real page cut in half */
  FSF_HUGE,          /* 200 with a 700 KiB body */
  FSF_SHAPE,         /* 200 with valid JSON of the wrong shape */
  FSF_500,           /* 500, nested error */
  FSF_503,           /* 503, nested error (token: flat) */
  FSF_429,           /* 429 + Retry-After, "API rate limit exceeded" */
  FSF_429_QUOTA,     /* 429 + Retry-After, reason QUOTA_EXCEEDED */
  FSF_401,           /* 401 "The access token expired" */
  FSF_DROP,          /* close the connection without a reply */
  FSF_INVALID_CLIENT /* token endpoint: 400 invalid_client */
};
/*
 * After letting `skip` requests to endpoint e through, the next `times`
 * ones get fault (times 0 = until cleared).  retry_after is the 429's
 * Retry-After in seconds.  Up to 8 faults at once.
 */
void fake_spotify_fault(struct fake_spotify *fs, enum fake_spotify_endpoint e,
                        int skip, enum fake_spotify_fault fault, int times,
                        int retry_after);
void fake_spotify_clear_faults(struct fake_spotify *fs);

/*
 * The browser's part of a login against a daemon at daemon_url whose
 * spotify.redirect_uri points at daemon_url/auth/spotify/callback: GET
 * /auth/spotify/login, follow the 302 to this fake's /authorize, follow
 * its redirect back to the callback with the state cookie, and copy the
 * callback's final Location (e.g. "/settings?tab=spotify&spotify_login=ok")
 * into location.  tamper_state sends a different state to the callback;
 * no_cookie drops the state cookie.  SS_OK when every step answered.
 */
int fake_spotify_browser_login(struct fake_spotify *fs, const char *daemon_url,
                               bool tamper_state, bool no_cookie,
                               char *location, size_t n);

#endif
