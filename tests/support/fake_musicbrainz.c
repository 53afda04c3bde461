/*
 * fake_musicbrainz.c - see fake_musicbrainz.h.
 *
 * State (mode, pacing switch, arrival log, prolific count) lives under
 * one mutex; the seeded catalogue is static.  Replies are built with
 * jansson, so nothing a client sends is echoed unescaped.  The pacing
 * check and the arrival log sit behind the User-Agent check, like the
 * real edge, which refuses unidentified clients before counting them.
 */
#include "fake_musicbrainz.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"

#define MB_PREFIX "/ws/2/"
#define MB_ARTIST MB_PREFIX "artist/"
#define MB_RELEASE MB_PREFIX "release/"
#define MB_HELP                                                               \
  "For usage, please see: https://musicbrainz.org/development/mmd"
#define MB_GAP_MS 1000
#define ARRIVALS_MAX 512
#define FAKE_MB_ADDED_MAX 32

/* A release group published on demand (fake_musicbrainz_add_release_group). */
struct added_group {
  char artist[40], id[40], title[96], primary[16], date[16];
};

struct fake_musicbrainz {
  struct fake_http *http;
  pthread_mutex_t mu;
  char url[FAKE_URL_MAX + 8];
  enum fake_mb_mode mode;
  bool pacing;
  size_t prolific;
  int64_t arrivals[ARRIVALS_MAX]; /* ring */
  size_t n_arrivals;              /* total ever (ring index = n % MAX) */
  size_t overrate;
  struct added_group added[FAKE_MB_ADDED_MAX]; /* published on demand */
  size_t n_added;
};

/* ---- the seeded catalogue ---- */

struct seed_artist {
  const char *id, *name, *sort_name, *type, *country, *disambiguation;
};

static const struct seed_artist artists[] = {
  {FAKE_MB_BJORK, "Björk", "Björk", "Person", "IS", ""},
  {FAKE_MB_BJORK_TRIO, "Björk Guðmundsdóttir & tríó Guðmundar Ingólfssonar",
   "Björk Guðmundsdóttir & tríó Guðmundar Ingólfssonar", "Group", "IS", ""},
  {FAKE_MB_SIGUR_ROS, "Sigur Rós", "Sigur Rós", "Group", "IS", ""},
  {FAKE_MB_SAKAMOTO, "坂本龍一", "Sakamoto, Ryuichi", "Person", "JP", ""},
  {FAKE_MB_ACDC, "AC/DC", "AC/DC", "Group", "AU", "Australian hard rock band"},
  {FAKE_MB_GNR, "Guns N' Roses", "Guns N' Roses", "Group", "US", ""},
  {FAKE_MB_MARKUP, "<b>&\"'", "<b>&\"'", "Person", "XW",
   "<script>alert(1)</script>"},
  {FAKE_MB_PROLIFIC, "Prolific Tester", "Tester, Prolific", "Person", "DE",
   "generated"},
};
#define N_ARTISTS (sizeof artists / sizeof artists[0])

struct seed_group {
  const char *artist, *title, *primary; /* primary NULL = JSON null */
  const char *secondary;                /* "Compilation|Live" or "" */
  const char *date;
};

static const struct seed_group groups[] = {
  {FAKE_MB_BJORK, "Debut", "Album", "", "1993-07-05"},
  {FAKE_MB_BJORK, "Homogenic", "Album", "", "1997-09-22"},
  {FAKE_MB_BJORK, "Telegram", "Album", "Remix", "1996-11"},
  {FAKE_MB_BJORK, "Greatest Hits", "Album", "Compilation", "2002-11-04"},
  {FAKE_MB_BJORK, "Army of Me", "Single", "", "1995"},
  {FAKE_MB_BJORK, "Family Tree", "Other", "Compilation", "2002-11"},
  {FAKE_MB_BJORK, "Live at Shepherds Bush Empire", "Album", "Live", "1998"},
  {FAKE_MB_BJORK, "Björk Unplugged", "Broadcast", "Live", ""},
  {FAKE_MB_SIGUR_ROS, "Ágætis byrjun", "Album", "", "1999-06-12"},
  {FAKE_MB_SIGUR_ROS, "( )", "Album", "", "2002-10-28"},
  {FAKE_MB_SIGUR_ROS, "Takk…", "Album", "", "2005-09-12"},
  {FAKE_MB_SIGUR_ROS, "Rímur", "EP", "", "2001"},
  {FAKE_MB_SIGUR_ROS, "Hoppípolla", "Single", "", "2005-11-28"},
  {FAKE_MB_SAKAMOTO, "千のナイフ", "Album", "", "1978-10-25"},
  {FAKE_MB_SAKAMOTO, "async", "Album", "", "2017-03-29"},
  {FAKE_MB_SAKAMOTO, "戦場のメリークリスマス", "Album", "Soundtrack",
   "1983-04"},
  {FAKE_MB_ACDC, "Highway to Hell", "Album", "", "1979-07-27"},
  {FAKE_MB_ACDC, "Back in Black", "Album", "", "1980-07-25"},
  {FAKE_MB_ACDC, "Live", "Album", "Live", "1992-10-26"},
  {FAKE_MB_ACDC, "Iron Man 2", "Album", "Soundtrack|Compilation",
   "2010-04-19"},
  {FAKE_MB_ACDC, "Backtracks", "Album", "Compilation", "2009-11-10"},
  {FAKE_MB_GNR, "Appetite for Destruction", "Album", "", "1987-07-21"},
  {FAKE_MB_GNR, "G N' R Lies", "Album", "", "1988-11-29"},
  {FAKE_MB_GNR, "Live ?!*@ Like a Suicide", "EP", "Live", "1986-12"},
  {FAKE_MB_GNR, "Sweet Child o' Mine", "Single", "", "1988-08"},
  {FAKE_MB_MARKUP, "<script>alert(\"x\")</script> & 'more'", NULL, "", ""},
  {FAKE_MB_MARKUP, "Ünïcödé <i>", "EP", "", "2020-02-29"},
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

static const char *const known_types[] = {
  "album",      "single",          "ep",
  "broadcast",  "other",           "compilation",
  "soundtrack", "spokenword",      "interview",
  "audiobook",  "audio drama",     "live",
  "remix",      "dj-mix",          "mixtape/street",
  "demo",       "field recording",
};

bool fake_mbid_valid(const char *s, bool allow_upper)
{
  static const int parts[] = {8, 4, 4, 4, 12};
  for (size_t g = 0; g < 5; g++) {
    for (int i = 0; i < parts[g]; i++, s++) {
      char c = *s;
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                (allow_upper && c >= 'A' && c <= 'F');
      if (!ok)
        return false;
    }
    if (g < 4 && *s++ != '-')
      return false;
  }
  return *s == '\0';
}

/* "Name/Version ( contact )": no spaces in name/version, contact set. */
bool fake_musicbrainz_ua_ok(const char *ua)
{
  if (!ua)
    return false;
  size_t name = strcspn(ua, "/ ");
  if (name == 0 || ua[name] != '/')
    return false;
  const char *ver = ua + name + 1;
  size_t vlen = strcspn(ver, " ");
  if (vlen == 0 || strncmp(ver + vlen, " ( ", 3) != 0)
    return false;
  const char *contact = ver + vlen + 3;
  size_t len = strlen(contact);
  return len > 2 && strcmp(contact + len - 2, " )") == 0 &&
         strspn(contact, " ") < len - 2;
}

static void mb_error(struct fake_reply *rep, int status, const char *msg)
{
  fake__reply_json(rep, status, JSON_UTF8,
                   json_pack("{s:s, s:s}", "error", msg, "help", MB_HELP));
}

static bool mb_wants_json(const struct fake_req *req)
{
  const char *fmt = fake_req_arg(req, "fmt");
  const char *accept = fake_req_header(req, "Accept");
  if (fmt)
    return strcmp(fmt, "json") == 0;
  return accept && strstr(accept, "application/json");
}

static void mb_xml(struct fake_reply *rep, const char *inner)
{
  fake_reply_set(rep, 200, "application/xml; charset=utf-8",
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?><metadata "
                 "xmlns=\"http://musicbrainz.org/ns/mmd-2.0#\">");
  buf_puts(&rep->body, inner);
  buf_puts(&rep->body, "</metadata>");
}

static void ratelimit_headers(struct fake_reply *rep)
{
  char reset[32];
  snprintf(reset, sizeof reset, "%lld", (long long)time(NULL) + 1);
  fake_reply_header(rep, "x-ratelimit-limit", "1200");
  fake_reply_header(rep, "x-ratelimit-remaining", "1199");
  fake_reply_header(rep, "x-ratelimit-reset", reset);
}

static const struct seed_artist *find_artist(const char *mbid)
{
  for (size_t i = 0; i < N_ARTISTS; i++)
    if (!strcasecmp(artists[i].id, mbid))
      return &artists[i];
  return NULL;
}

static json_t *artist_json(const struct seed_artist *a)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:n, s:n, s:b}}", "id",
                   a->id, "name", a->name, "sort-name", a->sort_name, "type",
                   a->type, "country", a->country, "disambiguation",
                   a->disambiguation, "life-span", "begin", "end", "ended", 0);
}

static void mb_artist_lookup(const struct fake_req *req,
                             struct fake_reply *rep, const char *mbid)
{
  ratelimit_headers(rep);
  if (!strcasecmp(mbid, FAKE_MB_VARIOUS_ARTISTS)) {
    if (!mb_wants_json(req)) {
      mb_xml(rep, "<artist id=\"" FAKE_MB_VARIOUS_ARTISTS
                  "\" type=\"Other\"><name>Various Artists</name><sort-name>"
                  "Various Artists</sort-name></artist>");
      return;
    }
    fake__reply_json(
      rep, 200, JSON_UTF8,
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:{s:n, s:n, s:b},"
                " s:[], s:[], s:n, s:n, s:n, s:n, s:n}",
                "id", FAKE_MB_VARIOUS_ARTISTS, "name", "Various Artists",
                "sort-name", "Various Artists", "type", "Other", "type-id",
                "ac897045-5043-3294-97a0-c8ff05f5e5a8", "disambiguation",
                "add compilations to this artist", "country", "life-span",
                "begin", "end", "ended", 0, "isnis", "ipis", "gender",
                "gender-id", "area", "begin-area", "end-area"));
    return;
  }
  const struct seed_artist *a = find_artist(mbid);
  if (!a)
    mb_error(rep, 404, "Not Found");
  else if (!mb_wants_json(req))
    mb_xml(rep, "<artist/>");
  else
    fake__reply_json(rep, 200, JSON_UTF8, artist_json(a));
}

/* ---- browse: release groups of an artist ---- */

struct group_view {
  char id[40], title[96];
  const char *primary, *secondary, *date;
  char date_buf[16];
};

/* The i-th release group of an artist (seeded or generated). */
static bool group_at(const struct fake_musicbrainz *fm,
                     const struct seed_artist *a, size_t prolific, size_t i,
                     struct group_view *g)
{
  static const char *const kinds[] = {"Album", "EP", "Single"};
  memset(g, 0, sizeof *g);
  if (!strcmp(a->id, FAKE_MB_PROLIFIC)) {
    if (i >= prolific)
      return false;
    snprintf(g->id, sizeof g->id, "0b0c0d0e-4444-4555-8666-%012zx", i + 1);
    snprintf(g->title, sizeof g->title, "Prolific Release %04zu", i + 1);
    snprintf(g->date_buf, sizeof g->date_buf, "%04zu-%02zu", 1970 + i % 50,
             1 + i % 12);
    g->primary = kinds[i % 3];
    g->secondary = i % 10 == 9 ? "Compilation" : "";
    g->date = g->date_buf;
    return true;
  }
  size_t k = 0;
  for (size_t j = 0; j < N_GROUPS; j++) {
    if (strcmp(groups[j].artist, a->id))
      continue;
    if (k++ != i)
      continue;
    snprintf(g->id, sizeof g->id, "0b0c0d0e-5555-4666-8777-%012zx", j + 1);
    snprintf(g->title, sizeof g->title, "%s", groups[j].title);
    g->primary = groups[j].primary;
    g->secondary = groups[j].secondary;
    g->date = groups[j].date;
    return true;
  }
  for (size_t j = 0; j < fm->n_added; j++) {
    const struct added_group *x = &fm->added[j];
    if (strcmp(x->artist, a->id) || k++ != i)
      continue;
    snprintf(g->id, sizeof g->id, "%s", x->id);
    snprintf(g->title, sizeof g->title, "%s", x->title);
    snprintf(g->date_buf, sizeof g->date_buf, "%s", x->date);
    g->primary = x->primary;
    g->secondary = "";
    g->date = g->date_buf;
    return true;
  }
  return false;
}

static bool word_in(const char *word, size_t n, const char *list)
{
  const char *p = list;
  while (*p) {
    size_t len = strcspn(p, "|");
    if (len == n && !strncasecmp(p, word, n))
      return true;
    p += len + (p[len] == '|');
  }
  return false;
}

/* Whether g passes the type filter ("album|live"; NULL = all). */
static bool type_match(const struct group_view *g, const char *types)
{
  if (!types)
    return true;
  const char *p = types;
  while (*p) {
    size_t len = strcspn(p, "|");
    if ((g->primary && strlen(g->primary) == len &&
         !strncasecmp(g->primary, p, len)) ||
        word_in(p, len, g->secondary))
      return true;
    p += len + (p[len] == '|');
  }
  return false;
}

static bool types_valid(const char *types)
{
  const char *p = types;
  if (!*p)
    return false;
  while (*p) {
    size_t len = strcspn(p, "|"), k;
    for (k = 0; k < sizeof known_types / sizeof known_types[0]; k++)
      if (strlen(known_types[k]) == len && !strncmp(known_types[k], p, len))
        break;
    if (k == sizeof known_types / sizeof known_types[0])
      return false;
    p += len + (p[len] == '|');
  }
  return true;
}

/* A non-negative integer query argument; def when absent, -1 when bad. */
static long int_arg(const struct fake_req *req, const char *name, long def)
{
  const char *v = fake_req_arg(req, name);
  char *end = NULL;
  if (!v)
    return def;
  long n = strtol(v, &end, 10);
  return !*v || *end || n < 0 ? -1 : n;
}

static json_t *group_json(const struct group_view *g)
{
  json_t *sec = json_array();
  const char *p = g->secondary;
  while (p && *p) {
    size_t len = strcspn(p, "|");
    json_array_append_new(sec, json_stringn(p, len));
    p += len + (p[len] == '|');
  }
  return json_pack("{s:s, s:s, s:o, s:o, s:[], s:s, s:s}", "id", g->id,
                   "title", g->title, "primary-type",
                   g->primary ? json_string(g->primary) : json_null(),
                   "secondary-types", sec, "secondary-type-ids",
                   "first-release-date", g->date, "disambiguation", "");
}

static void mb_browse(struct fake_musicbrainz *fm, const struct fake_req *req,
                      struct fake_reply *rep)
{
  const char *artist = fake_req_arg(req, "artist");
  const char *types = fake_req_arg(req, "type");
  long limit = int_arg(req, "limit", 25), offset = int_arg(req, "offset", 0);
  if (!artist) {
    mb_error(rep, 400,
             "The browse request is missing a linked entity "
             "(artist, collection, label, release or "
             "release-group).");
    return;
  }
  if (!fake_mbid_valid(artist, true) ||
      !strcmp(artist, "00000000-0000-0000-0000-000000000000")) {
    mb_error(rep, 400, "Invalid mbid.");
    return;
  }
  if (limit < 1 || offset < 0) {
    mb_error(rep, 400, "Invalid limit or offset.");
    return;
  }
  if (types && !types_valid(types)) {
    mb_error(rep, 400, "Invalid release-group type.");
    return;
  }
  if (limit > 100)
    limit = 100;
  const struct seed_artist *a = find_artist(artist);
  if (!a) {
    mb_error(rep, 404, "Not Found");
    return;
  }
  if (!mb_wants_json(req)) {
    mb_xml(rep, "<release-group-list count=\"0\"/>");
    return;
  }
  pthread_mutex_lock(&fm->mu);
  size_t prolific = fm->prolific;
  json_t *list = json_array();
  size_t count = 0;
  struct group_view g;
  for (size_t i = 0; group_at(fm, a, prolific, i, &g); i++) {
    if (!type_match(&g, types))
      continue;
    if (count >= (size_t)offset && count < (size_t)(offset + limit))
      json_array_append_new(list, group_json(&g));
    count++;
  }
  pthread_mutex_unlock(&fm->mu);
  ratelimit_headers(rep);
  fake__reply_json(rep, 200, JSON_UTF8,
                   json_pack("{s:I, s:I, s:o}", "release-group-count",
                             (json_int_t)count, "release-group-offset",
                             (json_int_t)offset, "release-groups", list));
}

/* ---- lookup: one release ---- */

static json_t *track_json(int n, const char *title, json_t *length,
                          json_t *rec_length)
{
  char id[40], rec[40], num[8];
  snprintf(id, sizeof id, "0b0c0d0e-6666-4777-8888-%012d", n);
  snprintf(rec, sizeof rec, "0b0c0d0e-7777-4888-8999-%012d", n);
  snprintf(num, sizeof num, "%d", n > 3 ? n - 3 : n);
  return json_pack("{s:s, s:s, s:s, s:i, s:o, s:{s:s, s:s, s:o}}", "id", id,
                   "number", num, "title", title, "position",
                   n > 3 ? n - 3 : n, "length", length, "recording", "id", rec,
                   "title", title, "length", rec_length);
}

static void mb_release_lookup(const struct fake_req *req,
                              struct fake_reply *rep, const char *mbid)
{
  if (strcasecmp(mbid, FAKE_MB_RELEASE)) {
    mb_error(rep, 404, "Not Found");
    return;
  }
  if (!mb_wants_json(req)) {
    mb_xml(rep, "<release/>");
    return;
  }
  json_t *disc1 = json_pack(
    "{s:i, s:s, s:s, s:i, s:i, s:[o, o, o]}", "position", 1, "title", "",
    "format", "CD", "track-count", 3, "track-offset", 0, "tracks",
    track_json(1, "Jóga", json_integer(305000), json_integer(305000)),
    track_json(2, "Hunter", json_null(), json_integer(255000)),
    track_json(3, "Bachelorette", json_null(), json_null()));
  json_t *disc2 = json_pack("{s:i, s:s, s:s, s:i, s:i, s:[o, o]}", "position",
                            2, "title", "", "format", "CD", "track-count", 2,
                            "track-offset", 0, "tracks",
                            track_json(4, "Svefn-g-englar",
                                       json_integer(604000), json_null()),
                            track_json(5, "Bjo\xcc\x88rk (NFD) & 坂本龍一",
                                       json_integer(1000), json_null()));
  json_t *credit = json_pack(
    "[{s:s, s:s, s:{s:s, s:s}}, {s:s, s:s, s:{s:s, s:s}}]", "name", "Björk",
    "joinphrase", " & ", "artist", "id", FAKE_MB_BJORK, "name", "Björk",
    "name", "Sigur Rós", "joinphrase", "", "artist", "id", FAKE_MB_SIGUR_ROS,
    "name", "Sigur Rós");
  fake__reply_json(
    rep, 200, JSON_UTF8,
    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:[o, o]}",
              "id", FAKE_MB_RELEASE, "title", "Homogenic <Live> & \"More\"",
              "status", "Official", "date", "1997-09-22", "country", "GB",
              "artist-credit", credit, "release-group", "id",
              FAKE_MB_RELEASE_GROUP, "title", "Homogenic", "primary-type",
              "Album", "media", disc1, disc2));
}

/* ---- search: artists by name ---- */

/* Case-, accent- and normalisation-insensitive form (caller frees). */
static char *fold(const char *s)
{
  utf8proc_uint8_t *out = NULL;
  if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
                   UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                     UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                     UTF8PROC_STRIPMARK) < 0)
    return xstrdup("");
  return (char *)out;
}

/* artist:"name" (backslash escapes) or a bare name -> name. */
static void query_name(const char *q, char *out, size_t n)
{
  size_t o = 0;
  if (!strncmp(q, "artist:", 7))
    q += 7;
  bool quoted = *q == '"';
  if (quoted)
    q++;
  for (; *q && o + 1 < n; q++) {
    if (quoted && *q == '"')
      break;
    if (*q == '\\' && q[1])
      q++;
    out[o++] = *q;
  }
  out[o] = '\0';
}

static void mb_search(const struct fake_req *req, struct fake_reply *rep)
{
  const char *q = fake_req_arg(req, "query");
  long limit = int_arg(req, "limit", 25), offset = int_arg(req, "offset", 0);
  char name[512], created[32];
  if (!q || !*q || limit < 1 || offset < 0) {
    mb_error(rep, 400, "Missing or bad query, limit or offset.");
    return;
  }
  if (!mb_wants_json(req)) {
    mb_xml(rep, "<artist-list count=\"0\"/>");
    return;
  }
  query_name(q, name, sizeof name);
  char *want = fold(name);
  json_t *hits = json_array();
  for (int pass = 100; pass >= 70; pass -= 30) {
    for (size_t i = 0; i < N_ARTISTS; i++) {
      char *have = fold(artists[i].name);
      bool exact = !strcmp(have, want);
      bool partial = !exact && *want && strstr(have, want);
      free(have);
      if ((pass == 100 && !exact) || (pass == 70 && !partial))
        continue;
      json_t *a = artist_json(&artists[i]);
      json_object_set_new(a, "score", json_integer(pass));
      json_array_append_new(hits, a);
    }
  }
  free(want);
  size_t total = json_array_size(hits);
  json_t *page = json_array();
  for (size_t i = (size_t)offset; i < total && i < (size_t)(offset + limit);
       i++)
    json_array_append(page, json_array_get(hits, i));
  json_decref(hits);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S.000Z",
           gmtime(&(time_t){time(NULL)}));
  fake__reply_json(rep, 200, JSON_UTF8,
                   json_pack("{s:s, s:I, s:I, s:o}", "created", created,
                             "count", (json_int_t)total, "offset",
                             (json_int_t)offset, "artists", page));
}

/* ---- modes, pacing, routing ---- */

/* 503 of the chosen kind; false when the fake is not throttling. */
static bool mb_throttle(enum fake_mb_mode mode, bool overrate,
                        struct fake_reply *rep)
{
  if (mode == FAKE_MB_RATE_LIMITED || overrate) {
    mb_error(rep, 503,
             "Your requests are exceeding the allowable rate limit. Please "
             "see http://wiki.musicbrainz.org/XMLWebService for more "
             "information.");
    fake_reply_header(rep, "x-ratelimit-zone", "ws ip=127.0.0.1");
    fake_reply_header(rep, "x-ratelimit-remaining", "0");
    fake_reply_header(rep, "retry-after", "1");
    return true;
  }
  if (mode == FAKE_MB_BUSY) {
    mb_error(rep, 503,
             "The MusicBrainz web server is currently busy. Please try "
             "again later.");
    fake_reply_header(rep, "x-ratelimit-zone", "global");
    fake_reply_header(rep, "retry-after", "0");
    return true;
  }
  return false;
}

/* Logs the arrival; true when it came too soon after the previous one. */
static bool arrive(struct fake_musicbrainz *fm, enum fake_mb_mode *mode)
{
  int64_t now = clock_mono_ms();
  pthread_mutex_lock(&fm->mu);
  bool early = false;
  if (fm->n_arrivals > 0) {
    int64_t prev = fm->arrivals[(fm->n_arrivals - 1) % ARRIVALS_MAX];
    early = fm->pacing && now - prev < MB_GAP_MS;
  }
  fm->arrivals[fm->n_arrivals % ARRIVALS_MAX] = now;
  fm->n_arrivals++;
  if (early)
    fm->overrate++;
  *mode = fm->mode;
  pthread_mutex_unlock(&fm->mu);
  return early;
}

static void mb_huge(struct fake_reply *rep)
{
  fake_reply_set(rep, 200, JSON_UTF8,
                 "{\"release-group-count\":1,\"release-groups\":[{\"id\":\"");
  rep->stream_len = FAKE_MB_HUGE_BYTES;
  rep->stream_fill = 'a';
}

static void mb_handler(const struct fake_req *req, struct fake_reply *rep,
                       void *arg)
{
  struct fake_musicbrainz *fm = arg;
  const char *ua = fake_req_header(req, "User-Agent");
  const char *path = fake_req_path(req);
  enum fake_mb_mode mode;
  fake_reply_header(rep, "Server", "openresty");
  if (!ua || !*ua || !fake_musicbrainz_ua_ok(ua)) {
    fake__reply_json(rep, 403, JSON_UTF8,
                     json_pack("{s:s}", "error",
                               "Your requests are being throttled by "
                               "MusicBrainz because the application you are "
                               "using has not identified itself. Please "
                               "update your application, and see "
                               "http://musicbrainz.org/doc/XML_Web_Service/"
                               "Rate_Limiting for more information."));
    fake_reply_header(rep, "x-ratelimit-who",
                      ua && *ua ? "ua-generic" : "ua-missing");
    return;
  }
  bool early = arrive(fm, &mode);
  if (mb_throttle(mode, early, rep))
    return;
  if (mode == FAKE_MB_HUGE) {
    mb_huge(rep);
    return;
  }
  if (!strcmp(path, MB_PREFIX "release-group")) {
    mb_browse(fm, req, rep);
    if (mode == FAKE_MB_TRUNCATED && rep->status == 200) {
      rep->body.len /= 2; /* the real page cut in half */
      if (rep->body.data)
        rep->body.data[rep->body.len] = '\0';
    }
    return;
  }
  if (!strcmp(path, MB_PREFIX "artist")) {
    mb_search(req, rep);
    return;
  }
  const char *mbid = NULL;
  bool release = false;
  if (!strncmp(path, MB_ARTIST, strlen(MB_ARTIST)))
    mbid = path + strlen(MB_ARTIST);
  else if (!strncmp(path, MB_RELEASE, strlen(MB_RELEASE))) {
    mbid = path + strlen(MB_RELEASE);
    release = true;
  }
  if (!mbid) {
    mb_error(rep, 404, "Not Found");
    return;
  }
  if (!fake_mbid_valid(mbid, true) ||
      !strcmp(mbid, "00000000-0000-0000-0000-000000000000"))
    mb_error(rep, 400, "Invalid mbid.");
  else if (release)
    mb_release_lookup(req, rep, mbid);
  else
    mb_artist_lookup(req, rep, mbid);
}

int fake_musicbrainz_start(struct fake_musicbrainz **out, int port)
{
  struct fake_musicbrainz *fm = xcalloc(1, sizeof *fm);
  pthread_mutex_init(&fm->mu, NULL);
  fm->pacing = true;
  fm->prolific = FAKE_MB_PROLIFIC_DEFAULT;
  int rc = fake_http_start(&fm->http, port);
  if (rc != SS_OK) {
    fake_musicbrainz_stop(fm);
    *out = NULL;
    return rc;
  }
  snprintf(fm->url, sizeof fm->url, "%s/ws/2", fake_http_url(fm->http));
  fake_http_route(fm->http, "GET", MB_PREFIX "*", mb_handler, fm);
  fake_http_route(fm->http, "HEAD", MB_PREFIX "*", mb_handler, fm);
  *out = fm;
  return SS_OK;
}

void fake_musicbrainz_stop(struct fake_musicbrainz *fm)
{
  if (!fm)
    return;
  fake_http_stop(fm->http);
  pthread_mutex_destroy(&fm->mu);
  free(fm);
}

struct fake_http *fake_musicbrainz_http(struct fake_musicbrainz *fm)
{
  return fm->http;
}

const char *fake_musicbrainz_url(const struct fake_musicbrainz *fm)
{
  return fm->url;
}

void fake_musicbrainz_set_mode(struct fake_musicbrainz *fm,
                               enum fake_mb_mode mode)
{
  pthread_mutex_lock(&fm->mu);
  fm->mode = mode;
  pthread_mutex_unlock(&fm->mu);
}

void fake_musicbrainz_set_pacing(struct fake_musicbrainz *fm, bool enforce)
{
  pthread_mutex_lock(&fm->mu);
  fm->pacing = enforce;
  pthread_mutex_unlock(&fm->mu);
}

void fake_musicbrainz_set_prolific(struct fake_musicbrainz *fm, size_t n)
{
  pthread_mutex_lock(&fm->mu);
  fm->prolific = n;
  pthread_mutex_unlock(&fm->mu);
}

size_t fake_musicbrainz_arrivals(struct fake_musicbrainz *fm, int64_t *out,
                                 size_t max)
{
  pthread_mutex_lock(&fm->mu);
  size_t have = fm->n_arrivals < ARRIVALS_MAX ? fm->n_arrivals : ARRIVALS_MAX;
  size_t n = have < max ? have : max;
  for (size_t i = 0; i < n; i++)
    out[i] = fm->arrivals[(fm->n_arrivals - n + i) % ARRIVALS_MAX];
  pthread_mutex_unlock(&fm->mu);
  return n;
}

size_t fake_musicbrainz_overrate(struct fake_musicbrainz *fm)
{
  pthread_mutex_lock(&fm->mu);
  size_t n = fm->overrate;
  pthread_mutex_unlock(&fm->mu);
  return n;
}

void fake_musicbrainz_clear(struct fake_musicbrainz *fm)
{
  pthread_mutex_lock(&fm->mu);
  fm->n_arrivals = 0;
  fm->overrate = 0;
  pthread_mutex_unlock(&fm->mu);
}

int fake_musicbrainz_add_release_group(struct fake_musicbrainz *fm,
                                       const char *artist_mbid,
                                       const char *group_mbid,
                                       const char *title, const char *primary,
                                       const char *date)
{
  if (!find_artist(artist_mbid) || !fake_mbid_valid(group_mbid, false))
    return SS_EINVAL;
  pthread_mutex_lock(&fm->mu);
  int rc = SS_ETOOBIG;
  if (fm->n_added < FAKE_MB_ADDED_MAX) {
    struct added_group *x = &fm->added[fm->n_added++];
    fake__copy_str(x->artist, sizeof x->artist, artist_mbid);
    fake__copy_str(x->id, sizeof x->id, group_mbid);
    fake__copy_str(x->title, sizeof x->title, title);
    fake__copy_str(x->primary, sizeof x->primary, primary ? primary : "Album");
    fake__copy_str(x->date, sizeof x->date, date ? date : "");
    rc = SS_OK;
  }
  pthread_mutex_unlock(&fm->mu);
  return rc;
}
