/*
 * ownership.c - "is it already in the library?" (see ownership.h).
 *
 * Keys: the raw text loses its noise parts first (dupes_clean_title_with
 * with this module's idea of noise: remaster/deluxe/edition/version/
 * bonus/anniversary/expanded/feat parts, for albums also disc splits,
 * never a part that names a different recording: live, acoustic, remix,
 * demo, instrumental ...), then dupes_normalize() folds it (textnorm:
 * NFKD, case, accents, punctuation; "and" and a leading "the" dropped).
 * A key that folds to nothing ("!!!") falls back to the NFC text.
 *
 * Index: one walk over the library rows (db_library_own_rows) fills three
 * hash maps of exact strings (open addressing, XXH3 hashes, strings in one
 * arena): ids (Spotify track ids, MusicBrainz recording ids, release
 * groups with their track count), track keys (artist + title, for the
 * track artist and the album artist) and album keys with their track
 * count.  Artist and album names repeat over a library, so their keys are
 * computed once per distinct spelling (a memo map raw -> key); only titles
 * are folded per track.
 *
 * Threading and memory: see ownership.h.  Everything hangs off struct
 * ownership and is freed by ownership_free().
 */
#include "automation/ownership.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <xxhash.h>

#include "core/err.h"
#include "core/textnorm.h"
#include "core/xalloc.h"
#include "db/db_library.h"
#include "library/dupes.h"

#define SEP "\x1f"
#define RAW_MAX 1024
#define ID_KEY_MAX 96 /* kind, separator and an id */

/* ---- keys ---- */

static bool word_is(const char *w, size_t len, const char *word)
{
  return len == strlen(word) && !strncasecmp(w, word, len);
}

/* Words that make a bracket or dash part version noise. */
static bool edition_word(const char *w, size_t len)
{
  return dupes_noise_word(w, len) || word_is(w, len, "edition") ||
         word_is(w, len, "version") || word_is(w, len, "expanded") ||
         word_is(w, len, "remastered") || word_is(w, len, "reissue");
}

/* Words that name a different recording: such a part always stays. */
static bool distinct_word(const char *w, size_t len)
{
  static const char *const words[] = {"live",     "acoustic",  "remix",
                                      "mix",      "demo",      "instrumental",
                                      "karaoke",  "unplugged", "edit",
                                      "acapella", "cover",     NULL};
  for (int i = 0; words[i]; i++)
    if (word_is(w, len, words[i]))
      return true;
  return false;
}

static bool disc_word(const char *w, size_t len)
{
  return word_is(w, len, "disc") || word_is(w, len, "disk") ||
         word_is(w, len, "cd");
}

static bool title_noise(const char *part, size_t len)
{
  return dupes_has_word(part, len, edition_word) &&
         !dupes_has_word(part, len, distinct_word);
}

static bool album_noise(const char *part, size_t len)
{
  return title_noise(part, len) || dupes_has_word(part, len, disc_word);
}

static bool all_digits(const char *s, size_t len)
{
  if (!len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* Drops a trailing "cd 2" / "cd2" / "disc 1" / "disk 3" from folded
 * words, when other words stay before it. */
static size_t drop_disc_words(char *s, size_t len)
{
  char *last = strrchr(s, ' ');
  if (!last)
    return len;
  const char *w = last + 1;
  size_t wl = len - (size_t)(w - s);
  size_t letters = 0;
  while (letters < wl && w[letters] >= 'a' && w[letters] <= 'z')
    letters++;
  if (letters < wl && disc_word(w, letters) &&
      all_digits(w + letters, wl - letters)) {
    *last = '\0';
    return (size_t)(last - s);
  }
  if (all_digits(w, wl)) {
    *last = '\0';
    char *prev = strrchr(s, ' ');
    const char *pw = prev ? prev + 1 : s;
    if (prev && disc_word(pw, strlen(pw))) {
      *prev = '\0';
      return (size_t)(prev - s);
    }
    *last = ' ';
  }
  return len;
}

/* Folds cleaned text into out; falls back to the NFC of raw when the
 * folding leaves nothing. */
static size_t fold_or_raw(const char *cleaned, const char *raw, char *out,
                          size_t n)
{
  size_t len = dupes_normalize(cleaned, out, n);
  if (!len)
    len = textnorm_nfc(raw, out, n);
  return len;
}

size_t ownership_artist_key(const char *artist, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  char raw[RAW_MAX], cleaned[RAW_MAX];
  snprintf(raw, sizeof raw, "%s", artist ? artist : "");
  /* "Beatles, The" -> "Beatles" */
  char *comma = strrchr(raw, ',');
  if (comma && comma != raw) {
    const char *p = comma + 1;
    while (*p == ' ')
      p++;
    size_t wl = strcspn(p, " ");
    if (word_is(p, wl, "the") && p[wl + strspn(p + wl, " ")] == '\0')
      *comma = '\0';
  }
  dupes_clean_artist(raw, cleaned, sizeof cleaned);
  return fold_or_raw(cleaned, artist ? artist : "", out, n);
}

size_t ownership_title_key(const char *title, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  char cleaned[RAW_MAX];
  dupes_clean_title_with(title, title_noise, cleaned, sizeof cleaned);
  return fold_or_raw(cleaned, title ? title : "", out, n);
}

size_t ownership_album_title_key(const char *album, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  char cleaned[RAW_MAX];
  dupes_clean_title_with(album, album_noise, cleaned, sizeof cleaned);
  size_t len = dupes_normalize(cleaned, out, n);
  if (len)
    return drop_disc_words(out, len);
  return textnorm_nfc(album ? album : "", out, n);
}

/* Copies s into out[n] (cut to fit; n > 0); returns the length. */
static size_t copy_cut(char *out, size_t n, const char *s)
{
  size_t len = strlen(s);
  if (len >= n)
    len = n - 1;
  memcpy(out, s, len);
  out[len] = '\0';
  return len;
}

/* "<artist key>\x1f<second>", cut to fit (keys are folded words: a cut
 * inside a character never happens for keys shorter than n). */
static size_t join_key(const char *artist_key, const char *second, char *out,
                       size_t n)
{
  size_t len = copy_cut(out, n, artist_key);
  if (len + 1 < n) {
    out[len++] = SEP[0];
    len += copy_cut(out + len, n - len, second);
  }
  return len;
}

size_t ownership_album_key(const char *artist, const char *album, char *out,
                           size_t n)
{
  if (!out || n == 0)
    return 0;
  char a[OWNERSHIP_KEY_MAX / 2], t[OWNERSHIP_KEY_MAX / 2];
  ownership_artist_key(artist, a, sizeof a);
  ownership_album_title_key(album, t, sizeof t);
  return join_key(a, t, out, n);
}

size_t ownership_track_key(const char *artist, const char *title, char *out,
                           size_t n)
{
  if (!out || n == 0)
    return 0;
  char a[OWNERSHIP_KEY_MAX / 2], t[OWNERSHIP_KEY_MAX / 2];
  ownership_artist_key(artist, a, sizeof a);
  ownership_title_key(title, t, sizeof t);
  return join_key(a, t, out, n);
}

/* ---- string maps ---- */

struct slot {
  uint64_t hash;
  size_t off; /* key in the arena; SIZE_MAX = empty */
  size_t val; /* a count, or the arena offset of a memoised key */
};

struct map {
  struct slot *slots;
  size_t cap, n; /* cap is a power of two */
};

struct arena {
  char *buf;
  size_t len, cap;
};

static size_t arena_add(struct arena *a, const char *s, size_t len)
{
  if (a->len + len + 1 > a->cap) {
    size_t cap = a->cap ? a->cap : 1 << 16;
    while (a->len + len + 1 > cap)
      cap *= 2;
    a->buf = xrealloc(a->buf, cap);
    a->cap = cap;
  }
  size_t off = a->len;
  memcpy(a->buf + off, s, len);
  a->buf[off + len] = '\0';
  a->len += len + 1;
  return off;
}

static void map_init(struct map *m, size_t cap)
{
  m->cap = cap;
  m->n = 0;
  m->slots = xmalloc(cap * sizeof *m->slots);
  for (size_t i = 0; i < cap; i++)
    m->slots[i].off = SIZE_MAX;
}

/* The slot of s (len bytes): its entry, or the empty slot it would take. */
static struct slot *map_find(const struct map *m, const struct arena *a,
                             const char *s, size_t len, uint64_t h)
{
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    struct slot *sl = &m->slots[i];
    if (sl->off == SIZE_MAX)
      return sl;
    if (sl->hash == h && !memcmp(a->buf + sl->off, s, len) &&
        a->buf[sl->off + len] == '\0')
      return sl;
  }
}

static void map_grow(struct map *m)
{
  struct map bigger;
  map_init(&bigger, m->cap * 2);
  for (size_t i = 0; i < m->cap; i++) {
    const struct slot *sl = &m->slots[i];
    if (sl->off == SIZE_MAX)
      continue;
    size_t mask = bigger.cap - 1;
    size_t j = (size_t)sl->hash & mask;
    while (bigger.slots[j].off != SIZE_MAX)
      j = (j + 1) & mask;
    bigger.slots[j] = *sl;
  }
  bigger.n = m->n;
  free(m->slots);
  *m = bigger;
}

/* The entry for s, created with val 0 when new. */
static struct slot *map_put(struct map *m, struct arena *a, const char *s)
{
  if ((m->n + 1) * 2 > m->cap)
    map_grow(m);
  size_t len = strlen(s);
  uint64_t h = XXH3_64bits(s, len);
  struct slot *sl = map_find(m, a, s, len, h);
  if (sl->off == SIZE_MAX) {
    sl->hash = h;
    sl->off = arena_add(a, s, len);
    sl->val = 0;
    m->n++;
  }
  return sl;
}

static const struct slot *map_get(const struct map *m, const struct arena *a,
                                  const char *s)
{
  size_t len = strlen(s);
  const struct slot *sl = map_find(m, a, s, len, XXH3_64bits(s, len));
  return sl->off == SIZE_MAX ? NULL : sl;
}

/* ---- the index ---- */

struct ownership {
  struct arena arena;
  struct map ids;    /* "s\x1f<spotify track>", "r\x1f<mb recording>",
                        "g\x1f<mb release group>" -> track count */
  struct map tracks; /* track keys */
  struct map albums; /* album keys -> track count */
  struct map artist_memo, album_memo; /* raw -> key offset (build only) */
  size_t track_count;
};

typedef size_t (*key_fn)(const char *raw, char *out, size_t n);

/* The key of raw through memo: computed once per distinct spelling. */
static const char *memo_key(struct ownership *o, struct map *memo, key_fn fn,
                            const char *raw)
{
  struct slot *sl = map_put(memo, &o->arena, raw);
  if (sl->val == 0) {
    char key[OWNERSHIP_KEY_MAX / 2];
    size_t len = fn(raw, key, sizeof key);
    /* arena offsets are never 0 for a key: the raw string came first */
    sl->val = arena_add(&o->arena, key, len);
  }
  return o->arena.buf + sl->val;
}

static void count_id(struct ownership *o, char kind, const char *id)
{
  if (!id || !id[0])
    return;
  char k[ID_KEY_MAX];
  snprintf(k, sizeof k, "%c" SEP "%s", kind, id);
  map_put(&o->ids, &o->arena, k)->val++;
}

static void add_pair(struct ownership *o, struct map *m, const char *a,
                     const char *b, bool count)
{
  char k[OWNERSHIP_KEY_MAX];
  join_key(a, b, k, sizeof k);
  struct slot *sl = map_put(m, &o->arena, k);
  if (count)
    sl->val++;
  else
    sl->val = 1;
}

static enum ss_err add_row(void *arg, const struct library_own_row *r)
{
  struct ownership *o = arg;
  /* copies: memo_key may move the arena under earlier pointers */
  char artist[OWNERSHIP_KEY_MAX / 2], album_artist[OWNERSHIP_KEY_MAX / 2];
  char album[OWNERSHIP_KEY_MAX / 2], title[OWNERSHIP_KEY_MAX / 2];
  copy_cut(artist, sizeof artist,
           memo_key(o, &o->artist_memo, ownership_artist_key,
                    r->artist[0] ? r->artist : r->album_artist));
  copy_cut(album_artist, sizeof album_artist,
           r->album_artist[0] ? memo_key(o, &o->artist_memo,
                                         ownership_artist_key, r->album_artist)
                              : artist);
  ownership_title_key(r->title, title, sizeof title);
  o->track_count++;
  count_id(o, 's', r->spotify_track_id);
  count_id(o, 'r', r->mb_recording_id);
  count_id(o, 'g', r->mb_release_group_id);
  if (title[0] && artist[0]) {
    add_pair(o, &o->tracks, artist, title, false);
    if (strcmp(artist, album_artist))
      add_pair(o, &o->tracks, album_artist, title, false);
  }
  if (r->album[0]) {
    copy_cut(album, sizeof album,
             memo_key(o, &o->album_memo, ownership_album_title_key, r->album));
    add_pair(o, &o->albums, album_artist, album, true);
    if (strcmp(artist, album_artist))
      add_pair(o, &o->albums, artist, album, true);
  }
  return SS_OK;
}

enum ss_err ownership_load(struct db *db, struct ownership **out)
{
  if (!out)
    return SS_EINVAL;
  *out = NULL;
  struct ownership *o = xcalloc(1, sizeof *o);
  map_init(&o->ids, 1024);
  map_init(&o->tracks, 1024);
  map_init(&o->albums, 1024);
  map_init(&o->artist_memo, 1024);
  map_init(&o->album_memo, 1024);
  arena_add(&o->arena, "", 0); /* offset 0 is never a memoised key */
  enum ss_err rc = db_library_own_rows(db, add_row, o);
  free(o->artist_memo.slots);
  free(o->album_memo.slots);
  o->artist_memo.slots = o->album_memo.slots = NULL;
  if (rc) {
    ownership_free(o);
    return rc;
  }
  *out = o;
  return SS_OK;
}

void ownership_free(struct ownership *o)
{
  if (!o)
    return;
  free(o->ids.slots);
  free(o->tracks.slots);
  free(o->albums.slots);
  free(o->artist_memo.slots);
  free(o->album_memo.slots);
  free(o->arena.buf);
  free(o);
}

size_t ownership_track_count(const struct ownership *o)
{
  return o ? o->track_count : 0;
}

static size_t id_count(const struct ownership *o, char kind, const char *id)
{
  if (!id || !id[0])
    return 0;
  char k[ID_KEY_MAX];
  snprintf(k, sizeof k, "%c" SEP "%s", kind, id);
  const struct slot *sl = map_get(&o->ids, &o->arena, k);
  return sl ? sl->val : 0;
}

/* A track by id, else by "<artist key>\x1f<title key>". */
static bool has_track_keyed(const struct ownership *o, const char *artist_key,
                            const char *title, const char *spotify_track_id,
                            const char *mb_recording_id)
{
  if (id_count(o, 's', spotify_track_id) || id_count(o, 'r', mb_recording_id))
    return true;
  if (!title || !title[0])
    return false;
  char t[OWNERSHIP_KEY_MAX / 2], k[OWNERSHIP_KEY_MAX];
  ownership_title_key(title, t, sizeof t);
  join_key(artist_key, t, k, sizeof k);
  return map_get(&o->tracks, &o->arena, k) != NULL;
}

bool ownership_has_track(const struct ownership *o, const char *artist,
                         const char *title, const char *spotify_track_id,
                         const char *mb_recording_id)
{
  if (!o)
    return false;
  char a[OWNERSHIP_KEY_MAX / 2];
  ownership_artist_key(artist, a, sizeof a);
  return has_track_keyed(o, a, title, spotify_track_id, mb_recording_id);
}

enum ownership_state ownership_album(const struct ownership *o,
                                     const struct ownership_album_in *a,
                                     bool *missing)
{
  if (!o || !a)
    return OWN_NONE;
  if (a->tracks && a->n_tracks) {
    char artist_key[OWNERSHIP_KEY_MAX / 2];
    ownership_artist_key(a->artist, artist_key, sizeof artist_key);
    size_t have = 0;
    for (size_t i = 0; i < a->n_tracks; i++) {
      const struct ownership_track_in *t = &a->tracks[i];
      bool owned = has_track_keyed(o, artist_key, t->title, t->spotify_id,
                                   t->mb_id);
      have += owned;
      if (missing)
        missing[i] = !owned;
    }
    return have == a->n_tracks ? OWN_FULL : have ? OWN_PARTIAL : OWN_NONE;
  }
  size_t count = id_count(o, 'g', a->mb_release_group_id);
  if (a->album && a->album[0]) {
    char k[OWNERSHIP_KEY_MAX];
    ownership_album_key(a->artist, a->album, k, sizeof k);
    const struct slot *sl = map_get(&o->albums, &o->arena, k);
    if (sl && sl->val > count)
      count = sl->val;
  }
  if (!count)
    return OWN_NONE;
  /* with no track count, any track of it counts as having it */
  if (a->total_tracks <= 0 || count >= (size_t)a->total_tracks)
    return OWN_FULL;
  return OWN_PARTIAL;
}
