/*
 * fake_spotify.c - fake Spotify Accounts service and Web API (see
 * docs/INTEGRATIONS.md, the Spotify sections).  See fake_spotify.h.
 *
 * What: one fake_http server answers both the Accounts routes (/authorize,
 * /api/token) and the Web API under /v1.  The library is a set of counts;
 * every object is generated from its index when a page is asked for, so a
 * large library costs nothing until it is read.  Faults are checked per
 * endpoint kind after the request is counted and authenticated.
 *
 * Threading: fake_http runs one thread per connection; all state is under
 * fs->mu, which is never held while a reply is sent.
 * Ownership: the caller owns the struct returned by fake_spotify_start().
 */
#include "fake_all.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"
#include "http_test_client.h"

#define USER_ID "testuser"
#define MAX_FAULTS 8
#define ME_LIMIT_MAX 50
#define ARTIST_ALBUMS_MAX 10
#define HUGE_BYTES (700 * 1024)

struct fault {
  enum fake_spotify_endpoint e;
  int skip, times;
  enum fake_spotify_fault kind;
  int retry_after;
};

struct added_release {
  char id[32], artist_id[64], artist_name[256], name[256];
  char date[32], precision[16], group[16];
  int tracks;
  char (*track_names)[128]; /* tracks names (heap), or NULL: "Track N" */
};

struct fake_spotify {
  struct fake_http *http;
  pthread_mutex_t mu;
  char accounts_url[FAKE_URL_MAX];
  char api_url[FAKE_URL_MAX + 8];
  char client_id[SHORT_MAX];
  char client_secret[SHORT_MAX];
  char auth_code[SHORT_MAX];
  char refresh_token[SHORT_MAX];
  char access_token[SHORT_MAX];
  char challenge[SHORT_MAX]; /* code_challenge given to /authorize */
  unsigned seq;
  int expires_in;
  bool access_expired;
  bool refresh_revoked;
  bool rotate_refresh;
  bool code_used;
  bool deny;
  struct fake_spotify_library lib;
  int *versions; /* per owned playlist */
  int n_versions;
  int liked_extra;
  struct added_release *added; /* fake_spotify_add_release */
  size_t n_added, cap_added;
  size_t counts[FSP__COUNT];
  struct fault faults[MAX_FAULTS];
  size_t n_faults;
};

/* Flat OAuth error of the Accounts service. */
static void oauth_error(struct fake_reply *rep, int status, const char *err,
                        const char *desc)
{
  fake__reply_json(rep, status, "application/json",
                   json_pack("{s:s, s:s}", "error", err, "error_description",
                             desc));
}

/* Nested error of the Web API. */
static void web_error(struct fake_reply *rep, int status, const char *msg)
{
  fake__reply_json(rep, status, JSON_UTF8,
                   json_pack("{s:{s:i, s:s}}", "error", "status", status,
                             "message", msg));
}

/* ---- PKCE check (independent of the daemon's code) ---- */

static void b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
  static const char
    abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t j = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 6 && j + 1 < cap) {
      out[j++] = abc[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0 && j + 1 < cap)
    out[j++] = abc[(acc << (6 - bits)) & 63];
  out[j] = '\0';
}

static bool verifier_matches(const char *verifier, const char *challenge)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  char enc[128];
  size_t vl = strlen(verifier);
  if (vl < 43 || vl > 128 ||
      EVP_Digest(verifier, vl, md, &len, EVP_sha256(), NULL) != 1)
    return false;
  b64url(md, len, enc, sizeof enc);
  return strcmp(enc, challenge) == 0;
}

/* ---- Accounts service ---- */

/* Client credentials from Basic auth or the form; a public (PKCE) client
 * may send only its client_id when public_ok.  fs->mu held. */
static bool client_ok(struct fake_spotify *fs, const struct fake_req *req,
                      const char *body, bool public_ok, const char **why)
{
  char id[SHORT_MAX] = "", secret[SHORT_MAX] = "", decoded[2 * SHORT_MAX];
  bool has_secret = true;
  const char *auth = fake_req_header(req, "Authorization");
  if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
    char *colon;
    if (!fake__b64_decode(auth + 6, decoded, sizeof decoded) ||
        !(colon = strchr(decoded, ':'))) {
      *why = "Invalid client";
      return false;
    }
    *colon = '\0';
    fake__copy_str(id, sizeof id, decoded);
    fake__copy_str(secret, sizeof secret, colon + 1);
  } else {
    fake__form_get(body, "client_id", id, sizeof id);
    has_secret = fake__form_get(body, "client_secret", secret, sizeof secret);
  }
  if (strcmp(id, fs->client_id) != 0) {
    *why = "Invalid client";
    return false;
  }
  if (!has_secret && public_ok)
    return true;
  if (strcmp(secret, fs->client_secret) != 0) {
    *why = "Invalid client secret";
    return false;
  }
  return true;
}

/* A fresh access token reply; fs->mu held. */
static void issue_token(struct fake_spotify *fs, struct fake_reply *rep,
                        bool with_refresh)
{
  snprintf(fs->access_token, sizeof fs->access_token, "BQD-fake-access-%u",
           ++fs->seq);
  fs->access_expired = false;
  json_t *v = json_pack("{s:s, s:s, s:s, s:i}", "access_token",
                        fs->access_token, "token_type", "Bearer", "scope",
                        "user-follow-read user-library-read "
                        "playlist-read-private playlist-read-collaborative "
                        "user-read-private",
                        "expires_in", fs->expires_in);
  if (with_refresh)
    json_object_set_new(v, "refresh_token", json_string(fs->refresh_token));
  fake__reply_json(rep, 200, "application/json", v);
}

static void code_grant(struct fake_spotify *fs, const struct fake_req *req,
                       const char *body, struct fake_reply *rep)
{
  char value[SHORT_MAX] = "", verifier[256] = "";
  const char *why = NULL;
  bool has_verifier = fake__form_get(body, "code_verifier", verifier,
                                     sizeof verifier);
  bool pkce = fs->challenge[0] && has_verifier &&
              verifier_matches(verifier, fs->challenge);
  if (!client_ok(fs, req, body, pkce, &why)) {
    oauth_error(rep, 400, "invalid_client", why);
    return;
  }
  fake__form_get(body, "code", value, sizeof value);
  if (fs->code_used || strcmp(value, fs->auth_code) != 0) {
    oauth_error(rep, 400, "invalid_grant", "Invalid authorization code");
  } else if (!fake__form_get(body, "redirect_uri", value, sizeof value)) {
    oauth_error(rep, 400, "invalid_grant", "Invalid redirect URI");
  } else if (fs->challenge[0] && !pkce) {
    oauth_error(rep, 400, "invalid_grant", "code_verifier was incorrect");
  } else {
    fs->code_used = true;
    issue_token(fs, rep, true);
  }
}

static void refresh_grant(struct fake_spotify *fs, const struct fake_req *req,
                          const char *body, struct fake_reply *rep)
{
  char value[SHORT_MAX] = "";
  const char *why = NULL;
  if (!client_ok(fs, req, body, true, &why)) {
    oauth_error(rep, 400, "invalid_client", why);
    return;
  }
  fake__form_get(body, "refresh_token", value, sizeof value);
  if (strcmp(value, fs->refresh_token) != 0) {
    oauth_error(rep, 400, "invalid_grant", "Invalid refresh token");
  } else if (fs->refresh_revoked) {
    oauth_error(rep, 400, "invalid_grant", "Refresh token revoked");
  } else {
    if (fs->rotate_refresh)
      snprintf(fs->refresh_token, sizeof fs->refresh_token,
               "AQC-fake-refresh-%u", fs->seq + 1);
    issue_token(fs, rep, fs->rotate_refresh);
  }
}

static bool take_fault(struct fake_spotify *fs, enum fake_spotify_endpoint e,
                       struct fault *out);
static void apply_fault(const struct fault *f, struct fake_reply *rep,
                        bool token);

static void sp_token(const struct fake_req *req, struct fake_reply *rep,
                     void *arg)
{
  struct fake_spotify *fs = arg;
  const char *ctype = fake_req_header(req, "Content-Type");
  const char *body = fake_req_body(req, NULL);
  char grant[64] = "";
  struct fault f;
  if (!ctype ||
      strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
    body = ""; /* a JSON body carries no form fields */
  pthread_mutex_lock(&fs->mu);
  fs->counts[FSP_TOKEN]++;
  bool has_grant = fake__form_get(body, "grant_type", grant, sizeof grant);
  if (has_grant && !strcmp(grant, "refresh_token"))
    fs->counts[FSP_TOKEN_REFRESH]++;
  if (take_fault(fs, FSP_TOKEN, &f)) {
    apply_fault(&f, rep, true);
  } else if (!has_grant) {
    const char *why = NULL;
    if (!client_ok(fs, req, body, false, &why))
      oauth_error(rep, 400, "invalid_client", why);
    else
      oauth_error(rep, 400, "unsupported_grant_type",
                  "grant_type parameter is missing");
  } else if (strcmp(grant, "authorization_code") == 0) {
    code_grant(fs, req, body, rep);
  } else if (strcmp(grant, "refresh_token") == 0) {
    refresh_grant(fs, req, body, rep);
  } else {
    oauth_error(rep, 400, "unsupported_grant_type",
                "grant_type must be client_credentials, authorization_code "
                "or refresh_token");
  }
  pthread_mutex_unlock(&fs->mu);
}

static void sp_authorize(const struct fake_req *req, struct fake_reply *rep,
                         void *arg)
{
  struct fake_spotify *fs = arg;
  const char *id = fake_req_arg(req, "client_id");
  const char *redirect = fake_req_arg(req, "redirect_uri");
  const char *state = fake_req_arg(req, "state");
  const char *type = fake_req_arg(req, "response_type");
  const char *challenge = fake_req_arg(req, "code_challenge");
  const char *method = fake_req_arg(req, "code_challenge_method");
  struct buf loc;
  pthread_mutex_lock(&fs->mu);
  bool id_ok = id && strcmp(id, fs->client_id) == 0;
  bool deny = fs->deny;
  buf_init(&loc, 4096);
  if (redirect) {
    buf_puts(&loc, redirect);
    if (deny) {
      buf_puts(&loc, "?error=access_denied");
    } else {
      buf_puts(&loc, "?code=");
      fake__url_encode(fs->auth_code, &loc);
    }
    fs->code_used = false;
    fake__copy_str(fs->challenge, sizeof fs->challenge,
                   challenge ? challenge : "");
  }
  pthread_mutex_unlock(&fs->mu);
  if (!id_ok) {
    fake_reply_set(rep, 400, HTML_UTF8, "INVALID_CLIENT: Invalid client");
  } else if (!redirect || !type || strcmp(type, "code") != 0) {
    fake_reply_set(rep, 400, HTML_UTF8,
                   "INVALID_CLIENT: Invalid redirect URI");
  } else if (challenge && (!method || strcmp(method, "S256") != 0)) {
    fake_reply_set(rep, 400, HTML_UTF8,
                   "INVALID_REQUEST: code_challenge_method must be S256");
  } else {
    if (state) {
      buf_puts(&loc, "&state=");
      fake__url_encode(state, &loc);
    }
    fake_reply_set(rep, 302, "", NULL);
    fake_reply_header(rep, "Location", buf_cstr(&loc));
  }
  buf_free(&loc);
}

/* ---- generated objects ---- */

static void make_id(char *out, size_t n, const char *prefix, long long i)
{
  snprintf(out, n, "%s%020lld", prefix, i);
}

static json_t *urls(const char *kind, const char *id)
{
  return json_pack("{s:s++}", "spotify", "https://open.spotify.com/", kind,
                   id ? id : "");
}

static json_t *images(int i, bool quirk)
{
  if (quirk && i % 7 == 3)
    return json_null();
  if (quirk && i % 7 == 5)
    return json_array();
  return json_pack("[{s:s, s:i, s:i}, {s:s, s:n, s:n}]", "url",
                   "https://i.scdn.co/image/ab67fake", "height", 640, "width",
                   640, "url", "https://i.scdn.co/image/ab67small", "height",
                   "width");
}

static json_t *simple_artist(const char *base, int a)
{
  char id[32], href[FAKE_URL_MAX + 64], uri[64], name[64];
  make_id(id, sizeof id, "ar", a);
  snprintf(href, sizeof href, "%s/v1/artists/%s", base, id);
  snprintf(uri, sizeof uri, "spotify:artist:%s", id);
  if (a % 5 == 4)
    snprintf(name, sizeof name, "Künstler & <Band> \"%d\"", a);
  else
    snprintf(name, sizeof name, "Artist %d", a);
  return json_pack("{s:o, s:s, s:s, s:s, s:s, s:s}", "external_urls",
                   urls("artist/", id), "href", href, "id", id, "name", name,
                   "type", "artist", "uri", uri);
}

/* The artist of track t's album (a followed artist). */
static int track_artist(const struct fake_spotify *fs, long long t)
{
  int n = fs->lib.artists > 0 ? fs->lib.artists : 1;
  return (int)((t / 10) % n);
}

static json_t *album_simple(const char *base, long long al, int artist,
                            const char *name)
{
  char id[32], href[FAKE_URL_MAX + 64], uri[64];
  make_id(id, sizeof id, "al", al);
  snprintf(href, sizeof href, "%s/v1/albums/%s", base, id);
  snprintf(uri, sizeof uri, "spotify:album:%s", id);
  return json_pack("{s:s, s:[o], s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:i,"
                   " s:s, s:s}",
                   "album_type", "album", "artists",
                   simple_artist(base, artist), "external_urls",
                   urls("album/", id), "href", href, "id", id, "images",
                   json_array(), "name", name, "release_date", "2001-05",
                   "release_date_precision", "month", "total_tracks", 10,
                   "type", "album", "uri", uri);
}

static json_t *track_obj(const struct fake_spotify *fs, const char *base,
                         long long t)
{
  char id[32], href[FAKE_URL_MAX + 64], uri[64], name[64], isrc[32], album[64];
  make_id(id, sizeof id, "tr", t);
  snprintf(href, sizeof href, "%s/v1/tracks/%s", base, id);
  snprintf(uri, sizeof uri, "spotify:track:%s", id);
  snprintf(name, sizeof name, "Track %lld", t);
  snprintf(isrc, sizeof isrc, "USFK1%07lld", t % 10000000);
  snprintf(album, sizeof album, "Album %lld", t / 10);
  int artist = track_artist(fs, t);
  return json_pack("{s:o, s:[o], s:i, s:i, s:b, s:{s:s}, s:o, s:s, s:s,"
                   " s:b, s:s, s:i, s:s, s:s}",
                   "album", album_simple(base, 900000 + t / 10, artist, album),
                   "artists", simple_artist(base, artist), "disc_number", 1,
                   "duration_ms", 120000 + (int)(t % 240) * 1000, "explicit",
                   0, "external_ids", "isrc", isrc, "external_urls",
                   urls("track/", id), "href", href, "id", id, "is_local", 0,
                   "name", name, "track_number", (int)(t % 10) + 1, "type",
                   "track", "uri", uri);
}

static json_t *local_track(int n)
{
  char name[64], uri[128];
  snprintf(name, sizeof name, "Local file %d", n);
  snprintf(uri, sizeof uri,
           "spotify:local:Local+Artist:Local+Album:"
           "Local+file+%d:180",
           n);
  return json_pack("{s:{s:n, s:s, s:[]}, s:[{s:n, s:s}], s:i, s:{},"
                   " s:n, s:b, s:s, s:s, s:s}",
                   "album", "id", "name", "Local Album", "images", "artists",
                   "id", "name", "Local Artist", "duration_ms", 180000,
                   "external_ids", "id", "is_local", 1, "name", name, "type",
                   "track", "uri", uri);
}

/* ---- paging ---- */

/* Reads limit/offset; answers 400 and returns false when out of range. */
static bool paging_args(const struct fake_req *req, struct fake_reply *rep,
                        int def, int max, int *limit, int *offset)
{
  const char *l = fake_req_arg(req, "limit");
  const char *o = fake_req_arg(req, "offset");
  char *end = NULL;
  *limit = def;
  *offset = 0;
  if (l) {
    long v = strtol(l, &end, 10);
    if (!*l || *end || v < 1 || v > max) {
      web_error(rep, 400, "Invalid limit");
      return false;
    }
    *limit = (int)v;
  }
  if (o) {
    long v = strtol(o, &end, 10);
    if (!*o || *end || v < 0 || v > 100000) {
      web_error(rep, 400, "Invalid offset");
      return false;
    }
    *offset = (int)v;
  }
  return true;
}

static json_t *page_link(const char *base, const char *path, const char *extra,
                         int offset, int limit)
{
  char url[2048];
  snprintf(url, sizeof url, "%s%s?offset=%d&limit=%d%s", base, path, offset,
           limit, extra ? extra : "");
  return json_string(url);
}

/* The seven-key offset paging object. */
static json_t *offset_page(const char *base, const char *path,
                           const char *extra, json_t *items, int offset,
                           int limit, int total)
{
  return json_pack("{s:o, s:o, s:i, s:o, s:i, s:o, s:i}", "href",
                   page_link(base, path, extra, offset, limit), "items", items,
                   "limit", limit, "next",
                   offset + limit < total
                     ? page_link(base, path, extra, offset + limit, limit)
                     : json_null(),
                   "offset", offset, "previous",
                   offset > 0
                     ? page_link(base, path, extra,
                                 offset > limit ? offset - limit : 0, limit)
                     : json_null(),
                   "total", total);
}

/* ---- Web API endpoints (fs->mu held) ---- */

static void sp_me(struct fake_reply *rep)
{
  fake__reply_json(rep, 200, JSON_UTF8,
                   json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:[]}",
                             "account_id", "aB3dE5fG7h", "display_name",
                             "Test User", "id", USER_ID, "type", "user", "uri",
                             "spotify:user:" USER_ID, "external_urls",
                             "spotify",
                             "https://open.spotify.com/user/" USER_ID,
                             "images"));
}

static int artist_index(const char *id)
{
  if (!id || strncmp(id, "ar", 2) != 0 || strlen(id) != 22)
    return -1;
  char *end;
  long v = strtol(id + 2, &end, 10);
  return *end ? -1 : (int)v;
}

static void sp_following(struct fake_spotify *fs, const struct fake_req *req,
                         struct fake_reply *rep, const char *base)
{
  const char *type = fake_req_arg(req, "type");
  const char *after = fake_req_arg(req, "after");
  int limit, offset, n = fs->lib.artists, start = 0;
  if (!type || strcmp(type, "artist") != 0) {
    web_error(rep, 400, "Only valid type is artist");
    return;
  }
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  if (after) {
    int a = artist_index(after);
    if (a < 0 || a >= n) {
      web_error(rep, 400, "Invalid after");
      return;
    }
    start = a + 1;
  }
  json_t *items = json_array();
  int end = start + limit < n ? start + limit : n;
  for (int a = start; a < end; a++) {
    json_t *art = simple_artist(base, a);
    json_object_set_new(art, "images", images(a, fs->lib.quirks));
    json_array_append_new(items, art);
  }
  char last[32], href[FAKE_URL_MAX + 128], next[FAKE_URL_MAX + 128];
  make_id(last, sizeof last, "ar", end - 1);
  snprintf(href, sizeof href, "%s/v1/me/following?type=artist&limit=%d", base,
           limit);
  snprintf(next, sizeof next,
           "%s/v1/me/following?type=artist&after=%s&limit=%d", base, last,
           limit);
  bool more = end < n;
  fake__reply_json(rep, 200, JSON_UTF8,
                   json_pack("{s:{s:s, s:i, s:o, s:{s:o}, s:i, s:o}}",
                             "artists", "href", href, "limit", limit, "next",
                             more ? json_string(next) : json_null(), "cursors",
                             "after", more ? json_string(last) : json_null(),
                             "total", n, "items", items));
}

static int owned_entries(const struct fake_spotify *fs, int p)
{
  int n = fs->lib.playlists > 0 ? fs->lib.playlists : 1;
  int base = fs->lib.entries / n + (p < fs->lib.entries % n ? 1 : 0);
  return base + (p < fs->n_versions ? fs->versions[p] : 0);
}

static json_t *playlist_obj(const struct fake_spotify *fs, const char *base,
                            int i)
{
  bool own = i < fs->lib.playlists;
  int idx = own ? i : i - fs->lib.playlists;
  char id[32], href[FAKE_URL_MAX + 64], items_href[FAKE_URL_MAX + 96];
  char uri[64], name[64], snap[64];
  make_id(id, sizeof id, own ? "pl" : "pf", idx);
  snprintf(href, sizeof href, "%s/v1/playlists/%s", base, id);
  snprintf(items_href, sizeof items_href, "%s/items", href);
  snprintf(uri, sizeof uri, "spotify:playlist:%s", id);
  snprintf(name, sizeof name, own ? "Playlist %d" : "Editorial mix %d", idx);
  snprintf(snap, sizeof snap, "snap-%s-%d", id,
           own && idx < fs->n_versions ? fs->versions[idx] : 0);
  json_t *owner = json_pack("{s:o, s:o, s:s, s:s, s:s}", "display_name",
                            own ? json_string("Test User") : json_null(),
                            "external_urls", urls("user/", USER_ID), "href",
                            "https://api.spotify.com/v1/users/x", "id",
                            own ? USER_ID : "someoneelse", "type", "user");
  return json_pack(
    "{s:b, s:o, s:o, s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:{s:s, s:i},"
    " s:n, s:s, s:s}",
    "collaborative", 0, "description",
    idx % 3 == 0 ? json_null() : json_string(""), "external_urls",
    urls("playlist/", id), "href", href, "id", id, "images", images(i, true),
    "name", name, "owner", owner, "public",
    idx % 4 == 0 ? json_null() : json_true(), "snapshot_id", snap, "items",
    "href", items_href, "total", own ? owned_entries(fs, idx) : 30 + idx % 20,
    "tracks", "type", "playlist", "uri", uri);
}

static void sp_playlists(struct fake_spotify *fs, const struct fake_req *req,
                         struct fake_reply *rep, const char *base)
{
  int limit, offset;
  int total = fs->lib.playlists + fs->lib.foreign_playlists;
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  json_t *items = json_array();
  for (int i = offset; i < offset + limit && i < total; i++)
    json_array_append_new(items, playlist_obj(fs, base, i));
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, "/v1/me/playlists", NULL, items, offset,
                               limit, total));
}

static json_t *entry_obj(const struct fake_spotify *fs, const char *base,
                         int p, int j)
{
  int v = p < fs->n_versions ? fs->versions[p] : 0;
  int tracks = fs->lib.tracks > 0 ? fs->lib.tracks : fs->lib.entries / 2 + 1;
  long long t = ((long long)p * 7919 + (long long)j * 13 + v * 101) % tracks;
  bool quirks = fs->lib.quirks;
  json_t *item = NULL;
  bool local = quirks && j % 25 == 24;
  if (quirks && j % 40 == 39)
    item = json_null();
  else if (local)
    item = local_track(p * 1000 + j);
  else
    item = track_obj(fs, base, t);
  json_t *e = json_pack("{s:s, s:{s:s, s:s}, s:b}", "added_at",
                        "2024-05-01T12:00:00Z", "added_by", "id", USER_ID,
                        "type", "user", "is_local", local);
  if (quirks && j % 50 == 49)
    json_object_set_new(e, "added_at", json_null());
  /* `item` is current; the deprecated `track` still comes along on some
   * entries, and a few carry only `track`. */
  if (j % 11 == 5 && !json_is_null(item)) {
    json_object_set_new(e, "track", item);
  } else {
    if (j % 2 == 0)
      json_object_set(e, "track", item);
    json_object_set_new(e, "item", item);
  }
  return e;
}

static void sp_items(struct fake_spotify *fs, const struct fake_req *req,
                     struct fake_reply *rep, const char *base, const char *id)
{
  int limit, offset;
  if (!strncmp(id, "pf", 2)) {
    web_error(rep, 403, "Forbidden"); /* dev mode: not the user's */
    return;
  }
  char *end = NULL;
  long p = -1;
  if (!strncmp(id, "pl", 2) && strlen(id) == 22) {
    p = strtol(id + 2, &end, 10);
    if (*end)
      p = -1;
  }
  if (p < 0 || p >= fs->lib.playlists) {
    web_error(rep, 404, "Resource not found");
    return;
  }
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  int total = owned_entries(fs, (int)p);
  json_t *items = json_array();
  for (int j = offset; j < offset + limit && j < total; j++)
    json_array_append_new(items, entry_obj(fs, base, (int)p, j));
  struct buf extra;
  buf_init(&extra, 4096);
  const char *fields = fake_req_arg(req, "fields");
  const char *types = fake_req_arg(req, "additional_types");
  if (fields) {
    buf_puts(&extra, "&fields=");
    fake__url_encode(fields, &extra);
  }
  if (types) {
    buf_puts(&extra, "&additional_types=");
    fake__url_encode(types, &extra);
  }
  char path[96];
  snprintf(path, sizeof path, "/v1/playlists/%s/items", id);
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, path, buf_cstr(&extra), items, offset,
                               limit, total));
  buf_free(&extra);
}

static void sp_liked(struct fake_spotify *fs, const struct fake_req *req,
                     struct fake_reply *rep, const char *base)
{
  int limit, offset;
  int total = fs->lib.liked + fs->liked_extra;
  int tracks = fs->lib.tracks > 0 ? fs->lib.tracks : fs->lib.entries / 2 + 1;
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  json_t *items = json_array();
  for (int i = offset; i < offset + limit && i < total; i++) {
    int k = total - 1 - i; /* newest first: song k was liked k-th */
    char when[32];
    snprintf(when, sizeof when, "2025-%02d-%02dT10:00:00Z", 1 + k / 28 % 12,
             1 + k % 28);
    json_array_append_new(items,
                          json_pack("{s:s, s:o}", "added_at", when, "track",
                                    track_obj(fs, base,
                                              (long long)tracks + k)));
  }
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, "/v1/me/tracks", NULL, items, offset,
                               limit, total));
}

static json_t *full_album(const char *base, int i, int artist)
{
  char name[64], upc[32];
  snprintf(name, sizeof name, "Saved Album %d", i);
  snprintf(upc, sizeof upc, "0%011d", i);
  json_t *al = album_simple(base, i, artist, name);
  json_object_set_new(al, "external_ids", json_pack("{s:s}", "upc", upc));
  json_object_set_new(al, "copyrights",
                      json_pack("[{s:s, s:s}]", "text", "(C) Fake", "type",
                                "C"));
  json_object_set_new(al, "genres", json_array());
  json_object_set_new(al, "tracks",
                      offset_page(base, "/v1/albums/x/tracks", NULL,
                                  json_array(), 0, 50, 0));
  return al;
}

static void sp_saved_albums(struct fake_spotify *fs,
                            const struct fake_req *req, struct fake_reply *rep,
                            const char *base)
{
  int limit, offset, total = fs->lib.saved_albums;
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  json_t *items = json_array();
  int n = fs->lib.artists > 0 ? fs->lib.artists : 1;
  for (int i = offset; i < offset + limit && i < total; i++)
    json_array_append_new(items, json_pack("{s:s, s:o}", "added_at",
                                           "2025-02-01T08:00:00Z", "album",
                                           full_album(base, i, i % n)));
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, "/v1/me/albums", NULL, items, offset,
                               limit, total));
}

/* ---- releases published on demand (fake_spotify_add_release) ---- */

/* True when group is listed in include_groups (absent: every group). */
static bool group_included(const char *inc, const char *group)
{
  if (!inc)
    return true;
  size_t n = strlen(group);
  for (const char *p = inc; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && !strncmp(p, group, n))
      return true;
    p += len + (comma != NULL);
  }
  return false;
}

/* The added release r as a simplified album object (real field set). */
static json_t *added_album(const char *base, const struct added_release *r)
{
  char href[FAKE_URL_MAX + 64], uri[64], ahref[FAKE_URL_MAX + 64], auri[64];
  snprintf(href, sizeof href, "%s/v1/albums/%s", base, r->id);
  snprintf(uri, sizeof uri, "spotify:album:%s", r->id);
  snprintf(ahref, sizeof ahref, "%s/v1/artists/%s", base, r->artist_id);
  snprintf(auri, sizeof auri, "spotify:artist:%s", r->artist_id);
  /* Spotify calls EPs "single"; compilations keep their group */
  const char *type = !strcmp(r->group, "appears_on") ? "album" : r->group;
  return json_pack(
    "{s:s, s:s, s:[{s:o, s:s, s:s, s:s, s:s, s:s}], s:[s,s], s:o, s:s,"
    " s:s, s:o, s:s, s:s, s:s, s:i, s:s, s:s}",
    "album_type", type, "album_group", r->group, "artists", "external_urls",
    urls("artist/", r->artist_id), "href", ahref, "id", r->artist_id, "name",
    r->artist_name, "type", "artist", "uri", auri, "available_markets", "DE",
    "US", "external_urls", urls("album/", r->id), "href", href, "id", r->id,
    "images", json_array(), "name", r->name, "release_date", r->date,
    "release_date_precision", r->precision, "total_tracks", r->tracks, "type",
    "album", "uri", uri);
}

/* Releases added for artist id, newest added first, included groups
 * only: appended to items from index `from` (offset) up to limit; *total
 * gets how many there are. */
static void added_page(const struct fake_spotify *fs, const char *base,
                       const char *id, const char *inc, int offset, int limit,
                       json_t *items, int *total)
{
  int k = 0;
  for (size_t i = fs->n_added; i-- > 0;) {
    const struct added_release *r = &fs->added[i];
    if (strcmp(r->artist_id, id) || !group_included(inc, r->group))
      continue;
    if (k >= offset && k < offset + limit)
      json_array_append_new(items, added_album(base, r));
    k++;
  }
  *total = k;
}

/* Whether artist id is one of the named artists releases were added for. */
static bool added_artist(const struct fake_spotify *fs, const char *id)
{
  for (size_t i = 0; i < fs->n_added; i++)
    if (!strcmp(fs->added[i].artist_id, id))
      return true;
  return false;
}

static void sp_artist_albums(struct fake_spotify *fs,
                             const struct fake_req *req,
                             struct fake_reply *rep, const char *base,
                             const char *id)
{
  static const char *const groups[] = {"album", "single", "compilation"};
  int limit, offset, a = artist_index(id);
  bool generated = a >= 0 && a < fs->lib.artists;
  int gen = !generated                      ? 0
            : fs->lib.albums_per_artist > 0 ? fs->lib.albums_per_artist
                                            : 3;
  if (!generated && !added_artist(fs, id)) {
    web_error(rep, 404, "Resource not found");
    return;
  }
  if (!paging_args(req, rep, 5, ARTIST_ALBUMS_MAX, &limit, &offset))
    return;
  const char *inc = fake_req_arg(req, "include_groups");
  json_t *items = json_array();
  int added = 0;
  /* the releases published on demand first (Spotify lists newest first) */
  added_page(fs, base, id, inc, offset, limit, items, &added);
  int total = added + gen;
  for (int k = offset > added ? offset - added : 0;
       (int)json_array_size(items) < limit && k < gen; k++) {
    char name[64];
    snprintf(name, sizeof name, "Release %d of artist %d", k, a);
    json_t *al = album_simple(base, 5000000 + (long long)a * 1000 + k, a,
                              name);
    json_object_set_new(al, "album_type", json_string(groups[k % 3]));
    json_object_set_new(al, "album_group", json_string(groups[k % 3]));
    json_array_append_new(items, al);
  }
  struct buf extra;
  buf_init(&extra, 1024);
  if (inc) {
    buf_puts(&extra, "&include_groups=");
    fake__url_encode(inc, &extra);
  }
  char path[160];
  snprintf(path, sizeof path, "/v1/artists/%s/albums", id);
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, path, buf_cstr(&extra), items, offset,
                               limit, total));
  buf_free(&extra);
}

/* One simplified track of added release r (index k of fs->added), track
 * number t (1-based): the real field set of /albums/{id}/tracks. */
static json_t *added_track(const char *base, const struct added_release *r,
                           size_t k, int t)
{
  char id[32], href[FAKE_URL_MAX + 64], uri[64], ahref[FAKE_URL_MAX + 64],
    auri[64], name[128];
  make_id(id, sizeof id, "nt", (long long)k * 1000 + t);
  snprintf(href, sizeof href, "%s/v1/tracks/%s", base, id);
  snprintf(uri, sizeof uri, "spotify:track:%s", id);
  snprintf(ahref, sizeof ahref, "%s/v1/artists/%s", base, r->artist_id);
  snprintf(auri, sizeof auri, "spotify:artist:%s", r->artist_id);
  if (r->track_names && r->track_names[t - 1][0])
    snprintf(name, sizeof name, "%s", r->track_names[t - 1]);
  else
    snprintf(name, sizeof name, "Track %d", t);
  return json_pack("{s:[{s:o, s:s, s:s, s:s, s:s, s:s}], s:i, s:i, s:b,"
                   " s:o, s:s, s:s, s:b, s:s, s:n, s:i, s:s, s:s}",
                   "artists", "external_urls", urls("artist/", r->artist_id),
                   "href", ahref, "id", r->artist_id, "name", r->artist_name,
                   "type", "artist", "uri", auri, "disc_number", 1,
                   "duration_ms", 180000 + t * 1000, "explicit", 0,
                   "external_urls", urls("track/", id), "href", href, "id", id,
                   "is_local", 0, "name", name, "preview_url", "track_number",
                   t, "type", "track", "uri", uri);
}

/* GET /v1/albums/{id}/tracks of a release published on demand: an offset
 * page of simplified tracks (limit 20 by default, at most 50). */
static void sp_album_tracks(struct fake_spotify *fs,
                            const struct fake_req *req, struct fake_reply *rep,
                            const char *base, const char *id)
{
  size_t k = 0;
  while (k < fs->n_added && strcmp(fs->added[k].id, id))
    k++;
  if (k == fs->n_added) {
    web_error(rep, 404, "Resource not found");
    return;
  }
  int limit, offset;
  if (!paging_args(req, rep, 20, ME_LIMIT_MAX, &limit, &offset))
    return;
  const struct added_release *r = &fs->added[k];
  json_t *items = json_array();
  for (int t = offset + 1; t <= offset + limit && t <= r->tracks; t++)
    json_array_append_new(items, added_track(base, r, k, t));
  char path[96];
  snprintf(path, sizeof path, "/v1/albums/%s/tracks", id);
  fake__reply_json(rep, 200, JSON_UTF8,
                   offset_page(base, path, NULL, items, offset, limit,
                               r->tracks));
}

/* ---- dispatch, faults ---- */

/* The endpoint kind of a /v1 path; *id gets the {id} segment. */
static enum fake_spotify_endpoint classify(const char *path, char *id,
                                           size_t n)
{
  id[0] = '\0';
  if (!strcmp(path, "/v1/me"))
    return FSP_ME;
  if (!strcmp(path, "/v1/me/following"))
    return FSP_FOLLOWING;
  if (!strcmp(path, "/v1/me/playlists"))
    return FSP_PLAYLISTS;
  if (!strcmp(path, "/v1/me/tracks"))
    return FSP_LIKED;
  if (!strcmp(path, "/v1/me/albums"))
    return FSP_SAVED_ALBUMS;
  const char *rest = NULL, *suffix = NULL;
  enum fake_spotify_endpoint e = FSP_OTHER_API;
  if (!strncmp(path, "/v1/playlists/", 14)) {
    rest = path + 14;
    suffix = strchr(rest, '/');
    if (suffix && !strcmp(suffix, "/items"))
      e = FSP_ITEMS;
    else if (suffix && !strcmp(suffix, "/tracks"))
      e = FSP_OLD_TRACKS;
  } else if (!strncmp(path, "/v1/artists/", 12)) {
    rest = path + 12;
    suffix = strchr(rest, '/');
    if (suffix && !strcmp(suffix, "/albums"))
      e = FSP_ARTIST_ALBUMS;
  } else if (!strncmp(path, "/v1/albums/", 11)) {
    rest = path + 11;
    suffix = strchr(rest, '/');
    if (suffix && !strcmp(suffix, "/tracks"))
      e = FSP_ALBUM_TRACKS;
  }
  if (e != FSP_OTHER_API) {
    size_t len = (size_t)(suffix - rest);
    if (len >= n)
      len = n - 1;
    memcpy(id, rest, len);
    id[len] = '\0';
  }
  return e;
}

/* fs->mu held. */
static bool take_fault(struct fake_spotify *fs, enum fake_spotify_endpoint e,
                       struct fault *out)
{
  for (size_t i = 0; i < fs->n_faults; i++) {
    struct fault *f = &fs->faults[i];
    if (f->e != e || f->times < 0)
      continue;
    if (f->skip > 0) {
      f->skip--;
      continue;
    }
    *out = *f;
    if (f->times > 0 && --f->times == 0)
      f->times = -1; /* used up */
    return true;
  }
  return false;
}

static void apply_fault(const struct fault *f, struct fake_reply *rep,
                        bool token)
{
  char ra[16];
  switch (f->kind) {
  case FSF_MALFORMED:
    fake_reply_set(rep, 200, JSON_UTF8,
                   "{\"href\": \"x\", \"items\": [ {\"id\": ");
    break;
  case FSF_HUGE: {
    struct buf big;
    buf_init(&big, HUGE_BYTES + 256);
    buf_puts(&big, "{\"items\":[],\"next\":null,\"padding\":\"");
    while (big.len < HUGE_BYTES)
      buf_puts(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    buf_puts(&big, "\"}");
    fake_reply_set(rep, 200, JSON_UTF8, buf_cstr(&big));
    buf_free(&big);
    break;
  }
  case FSF_SHAPE:
    fake_reply_set(rep, 200, JSON_UTF8, "{\"items\":\"nope\",\"next\":42}");
    break;
  case FSF_500:
  case FSF_503:
    if (token)
      oauth_error(rep, f->kind == FSF_500 ? 500 : 503, "server_error",
                  "Service unavailable");
    else
      web_error(rep, f->kind == FSF_500 ? 500 : 503,
                f->kind == FSF_500 ? "Internal Server Error"
                                   : "Service unavailable");
    break;
  case FSF_429:
  case FSF_429_QUOTA:
    snprintf(ra, sizeof ra, "%d", f->retry_after);
    if (f->kind == FSF_429)
      web_error(rep, 429, "API rate limit exceeded");
    else
      fake__reply_json(rep, 429, JSON_UTF8,
                       json_pack("{s:{s:i, s:s, s:s}}", "error", "status", 429,
                                 "message", "Too many requests", "reason",
                                 "QUOTA_EXCEEDED"));
    fake_reply_header(rep, "Retry-After", ra);
    break;
  case FSF_401: web_error(rep, 401, "The access token expired"); break;
  case FSF_INVALID_CLIENT:
    oauth_error(rep, 400, "invalid_client", "Invalid client");
    break;
  case FSF_DROP:
  default: rep->drop = true; break;
  }
}

/* Fills rep with the real answer of endpoint e; fs->mu held. */
static void answer(struct fake_spotify *fs, const struct fake_req *req,
                   struct fake_reply *rep, enum fake_spotify_endpoint e,
                   const char *id)
{
  const char *base = fake_req_base_url(req);
  bool get = strcmp(fake_req_method(req), "GET") == 0;
  if (!get)
    web_error(rep, 405, "Method not allowed");
  else if (e == FSP_ME)
    sp_me(rep);
  else if (e == FSP_FOLLOWING)
    sp_following(fs, req, rep, base);
  else if (e == FSP_PLAYLISTS)
    sp_playlists(fs, req, rep, base);
  else if (e == FSP_ITEMS)
    sp_items(fs, req, rep, base, id);
  else if (e == FSP_OLD_TRACKS)
    web_error(rep, 403, "Forbidden"); /* removed for dev-mode apps */
  else if (e == FSP_LIKED)
    sp_liked(fs, req, rep, base);
  else if (e == FSP_SAVED_ALBUMS)
    sp_saved_albums(fs, req, rep, base);
  else if (e == FSP_ARTIST_ALBUMS)
    sp_artist_albums(fs, req, rep, base, id);
  else if (e == FSP_ALBUM_TRACKS)
    sp_album_tracks(fs, req, rep, base, id);
  else
    web_error(rep, 404, "Service not found");
}

static void sp_api(const struct fake_req *req, struct fake_reply *rep,
                   void *arg)
{
  struct fake_spotify *fs = arg;
  const char *auth = fake_req_header(req, "Authorization");
  char id[128];
  enum fake_spotify_endpoint e = classify(fake_req_path(req), id, sizeof id);
  pthread_mutex_lock(&fs->mu);
  fs->counts[e]++;
  bool known = auth && !strncasecmp(auth, "Bearer ", 7) &&
               fs->access_token[0] && !strcmp(auth + 7, fs->access_token);
  struct fault f;
  if (!auth || !*auth)
    web_error(rep, 401, "No token provided");
  else if (strncasecmp(auth, "Bearer ", 7) != 0)
    web_error(rep, 400, "Only valid bearer authentication supported");
  else if (!known)
    web_error(rep, 401, "Invalid access token");
  else if (fs->access_expired)
    web_error(rep, 401, "The access token expired");
  else if (take_fault(fs, e, &f)) {
    if (f.kind == FSF_TRUNCATED) {
      answer(fs, req, rep, e, id);
      rep->body.len /= 2;
      if (rep->body.data)
        rep->body.data[rep->body.len] = '\0';
    } else {
      apply_fault(&f, rep, false);
    }
  } else {
    answer(fs, req, rep, e, id);
  }
  pthread_mutex_unlock(&fs->mu);
}

static const char *or_default(const char *v, const char *def)
{
  return v ? v : def;
}

int fake_spotify_start(struct fake_spotify **out, int port,
                       const struct fake_spotify_opts *opts)
{
  struct fake_spotify_opts none = {0};
  struct fake_spotify *fs = xcalloc(1, sizeof *fs);
  if (!opts)
    opts = &none;
  pthread_mutex_init(&fs->mu, NULL);
  fs->expires_in = 3600;
  fake__copy_str(fs->client_id, sizeof fs->client_id,
                 or_default(opts->client_id, "test-client-id"));
  fake__copy_str(fs->client_secret, sizeof fs->client_secret,
                 or_default(opts->client_secret, "test-client-secret"));
  fake__copy_str(fs->auth_code, sizeof fs->auth_code,
                 or_default(opts->auth_code, "test-auth-code"));
  fake__copy_str(fs->refresh_token, sizeof fs->refresh_token,
                 or_default(opts->refresh_token, "test-refresh-token"));
  int rc = fake_http_start(&fs->http, port);
  if (rc != SS_OK) {
    fake_spotify_stop(fs);
    *out = NULL;
    return rc;
  }
  fake__copy_str(fs->accounts_url, sizeof fs->accounts_url,
                 fake_http_url(fs->http));
  snprintf(fs->api_url, sizeof fs->api_url, "%s/v1", fs->accounts_url);
  fake_http_route(fs->http, "POST", "/api/token", sp_token, fs);
  fake_http_route(fs->http, "GET", "/authorize", sp_authorize, fs);
  fake_http_route(fs->http, NULL, "/v1", sp_api, fs);
  fake_http_route(fs->http, NULL, "/v1/*", sp_api, fs);
  *out = fs;
  return SS_OK;
}

void fake_spotify_stop(struct fake_spotify *fs)
{
  if (!fs)
    return;
  fake_http_stop(fs->http);
  pthread_mutex_destroy(&fs->mu);
  free(fs->versions);
  for (size_t i = 0; i < fs->n_added; i++)
    free(fs->added[i].track_names);
  free(fs->added);
  free(fs);
}

struct fake_http *fake_spotify_http(struct fake_spotify *fs)
{
  return fs->http;
}

const char *fake_spotify_accounts_url(const struct fake_spotify *fs)
{
  return fs->accounts_url;
}

const char *fake_spotify_api_url(const struct fake_spotify *fs)
{
  return fs->api_url;
}

void fake_spotify_access_token(struct fake_spotify *fs, char *out, size_t n)
{
  pthread_mutex_lock(&fs->mu);
  fake__copy_str(out, n, fs->access_token);
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_refresh_token(struct fake_spotify *fs, char *out, size_t n)
{
  pthread_mutex_lock(&fs->mu);
  fake__copy_str(out, n, fs->refresh_token);
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_expire_access_token(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->access_expired = true;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_revoke_refresh_token(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->refresh_revoked = true;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_set_rotate_refresh(struct fake_spotify *fs, bool on)
{
  pthread_mutex_lock(&fs->mu);
  fs->rotate_refresh = on;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_set_expires_in(struct fake_spotify *fs, int seconds)
{
  pthread_mutex_lock(&fs->mu);
  fs->expires_in = seconds;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_set_deny(struct fake_spotify *fs, bool on)
{
  pthread_mutex_lock(&fs->mu);
  fs->deny = on;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_set_library(struct fake_spotify *fs,
                              const struct fake_spotify_library *lib)
{
  pthread_mutex_lock(&fs->mu);
  fs->lib = *lib;
  if (lib->playlists > fs->n_versions) {
    fs->versions = xrealloc(fs->versions,
                            (size_t)lib->playlists * sizeof *fs->versions);
    memset(fs->versions + fs->n_versions, 0,
           (size_t)(lib->playlists - fs->n_versions) * sizeof *fs->versions);
    fs->n_versions = lib->playlists;
  }
  pthread_mutex_unlock(&fs->mu);
}

int fake_spotify_playlist_entries(struct fake_spotify *fs, int index)
{
  pthread_mutex_lock(&fs->mu);
  int n = index < fs->lib.playlists ? owned_entries(fs, index) : 0;
  pthread_mutex_unlock(&fs->mu);
  return n;
}

void fake_spotify_touch_playlist(struct fake_spotify *fs, int index)
{
  pthread_mutex_lock(&fs->mu);
  if (index >= 0 && index < fs->n_versions)
    fs->versions[index]++;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_like_one(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->liked_extra++;
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_add_release(struct fake_spotify *fs,
                              const struct fake_spotify_release *r,
                              char *album_id, size_t n)
{
  pthread_mutex_lock(&fs->mu);
  if (fs->n_added == fs->cap_added) {
    fs->cap_added = fs->cap_added ? fs->cap_added * 2 : 16;
    fs->added = xrealloc(fs->added, fs->cap_added * sizeof *fs->added);
  }
  struct added_release *a = &fs->added[fs->n_added++];
  memset(a, 0, sizeof *a);
  make_id(a->id, sizeof a->id, "nr", (long long)fs->n_added);
  fake__copy_str(a->artist_id, sizeof a->artist_id, r->artist_id);
  fake__copy_str(a->artist_name, sizeof a->artist_name, r->artist_name);
  fake__copy_str(a->name, sizeof a->name, r->name);
  fake__copy_str(a->date, sizeof a->date, r->release_date);
  fake__copy_str(a->precision, sizeof a->precision,
                 r->precision ? r->precision : "day");
  fake__copy_str(a->group, sizeof a->group,
                 r->album_group ? r->album_group : "album");
  a->tracks = r->total_tracks > 0 ? r->total_tracks : 10;
  if (r->track_names) {
    a->track_names = xcalloc((size_t)a->tracks, sizeof *a->track_names);
    for (int i = 0; i < a->tracks && r->track_names[i]; i++)
      fake__copy_str(a->track_names[i], sizeof a->track_names[i],
                     r->track_names[i]);
  }
  if (album_id)
    fake__copy_str(album_id, n, a->id);
  pthread_mutex_unlock(&fs->mu);
}

size_t fake_spotify_count(struct fake_spotify *fs,
                          enum fake_spotify_endpoint e)
{
  pthread_mutex_lock(&fs->mu);
  size_t n = fs->counts[e];
  pthread_mutex_unlock(&fs->mu);
  return n;
}

size_t fake_spotify_api_count(struct fake_spotify *fs)
{
  size_t n = 0;
  pthread_mutex_lock(&fs->mu);
  for (int e = FSP_ME; e <= FSP_OTHER_API; e++)
    n += fs->counts[e];
  pthread_mutex_unlock(&fs->mu);
  return n;
}

void fake_spotify_reset_counts(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  memset(fs->counts, 0, sizeof fs->counts);
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_fault(struct fake_spotify *fs, enum fake_spotify_endpoint e,
                        int skip, enum fake_spotify_fault fault, int times,
                        int retry_after)
{
  pthread_mutex_lock(&fs->mu);
  if (fs->n_faults < MAX_FAULTS)
    fs->faults[fs->n_faults++] = (struct fault){e, skip, times, fault,
                                                retry_after};
  pthread_mutex_unlock(&fs->mu);
}

void fake_spotify_clear_faults(struct fake_spotify *fs)
{
  pthread_mutex_lock(&fs->mu);
  fs->n_faults = 0;
  pthread_mutex_unlock(&fs->mu);
}

/* ---- the browser's part of a login ---- */

/* Replaces the value of `state=` in url (in place, within n). */
static void tamper(char *url, size_t n)
{
  char *p = strstr(url, "state=");
  if (!p)
    return;
  char *end = p + 6 + strcspn(p + 6, "&");
  char rest[2048];
  fake__copy_str(rest, sizeof rest, end);
  snprintf(p, n - (size_t)(p - url), "state=forged-state%s", rest);
}

int fake_spotify_browser_login(struct fake_spotify *fs, const char *daemon_url,
                               bool tamper_state, bool no_cookie,
                               char *location, size_t n)
{
  struct hc_resp r = {0};
  char url[4096], cookie[512] = "", header[600];
  (void)fs;
  location[0] = '\0';
  snprintf(url, sizeof url, "%s/auth/spotify/login", daemon_url);
  int rc = hc_get(url, &r);
  if (rc == SS_OK && r.status != 302) {
    hc_header(&r, "Location", location, n);
    hc_resp_free(&r);
    return SS_OK; /* refused or sent back to the settings page */
  }
  if (rc != SS_OK || !hc_header(&r, "Location", url, sizeof url) ||
      !hc_header(&r, "Set-Cookie", cookie, sizeof cookie)) {
    hc_resp_free(&r);
    return SS_EPROTO;
  }
  cookie[strcspn(cookie, ";")] = '\0';
  rc = hc_get(url, &r); /* Spotify's consent page */
  if (rc != SS_OK || r.status != 302 ||
      !hc_header(&r, "Location", url, sizeof url)) {
    hc_resp_free(&r);
    return SS_EPROTO;
  }
  if (tamper_state)
    tamper(url, sizeof url);
  snprintf(header, sizeof header, "Cookie: %s", cookie);
  const char *const headers[] = {header, NULL};
  rc = hc_request("GET", url, no_cookie ? NULL : headers, NULL, &r);
  if (rc == SS_OK && !hc_header(&r, "Location", location, n))
    rc = SS_EPROTO;
  hc_resp_free(&r);
  return rc;
}
