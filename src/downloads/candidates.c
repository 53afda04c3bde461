/*
 * candidates.c - ranked download candidates from search responses (see
 * candidates.h).
 *
 * What: filters files by query words, audio extension and the quality
 * profile, groups them per peer (tracks) or per peer folder (albums) and
 * sorts.  Pure; any thread.  Ownership: every string in the list is a
 * heap copy freed by candidates_free().
 */
#include "downloads/candidates.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textnorm.h"
#include "core/xalloc.h"
#include "core/fsutil.h"
#include "core/utf8.h"

static const char *const audio_exts[] = {"flac", "mp3", "m4a",  "mp4",
                                         "aac",  "ogg", "oga",  "opus",
                                         "wav",  "aif", "aiff", "ape",
                                         "wv",   "wma", "alac", NULL};

bool candidates_is_audio(const char *ext)
{
  for (const char *const *e = audio_exts; *e; e++)
    if (!strcmp(*e, ext))
      return true;
  return false;
}

/* ---- matching ---- */

/* Folded text without the spaces between its words (so "AC/DC", "AC-DC"
 * and "ACDC" all give "acdc"); returns the length. */
static size_t fold_compact(const char *text, char *out, size_t n)
{
  size_t len = textnorm_fold(text, out, n), o = 0;
  for (size_t i = 0; i < len; i++)
    if (out[i] != ' ')
      out[o++] = out[i];
  if (n)
    out[o] = '\0';
  return o;
}

void candidates_words(const char *text, struct cand_words *out)
{
  char folded[CAND_MAX_TOKENS * CAND_WORD_MAX];
  size_t others = 0;
  out->n = 0;
  textnorm_fold(text, folded, sizeof folded);
  for (const char *p = folded; *p && out->n < CAND_MAX_TOKENS;) {
    size_t len = strcspn(p, " ");
    if (len < CAND_WORD_MAX) {
      memcpy(out->w[out->n], p, len);
      out->w[out->n][len] = '\0';
      others += strcmp(out->w[out->n], "and") != 0;
      out->n++;
    }
    p += len + (p[len] == ' ');
  }
  /* "and" may be "&" or missing in a peer's name: not required when
   * other words are */
  size_t o = 0;
  for (size_t i = 0; i < out->n; i++)
    if (!others || strcmp(out->w[i], "and"))
      memmove(out->w[o++], out->w[i], CAND_WORD_MAX);
  out->n = o;
}

bool candidates_path_matches(const char *path, const struct cand_words *w)
{
  if (!w->n)
    return true;
  char hay[SLSKD_STR_MAX * 2];
  fold_compact(path, hay, sizeof hay);
  for (size_t i = 0; i < w->n; i++)
    if (!strstr(hay, w->w[i]))
      return false;
  return true;
}

void candidates_track_key(const char *remote, const char *artist, char *out,
                          size_t n)
{
  char dir[8], base[SLSKD_STR_MAX];
  if (!n)
    return;
  fs_split_peer_path(remote, dir, sizeof dir, base, sizeof base);
  char *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = '\0';
  const char *p = base;
  /* Leading track/disc numbers and separators: "01 - ", "1-02. ". */
  while (*p && (isdigit((unsigned char)*p) || strchr(" -._()", *p)))
    p++;
  if (!*p)
    p = base; /* a name of digits only */
  char key[SLSKD_STR_MAX], who[CAND_KEY_MAX];
  size_t len = fold_compact(p, key, sizeof key);
  size_t wl = fold_compact(artist, who, sizeof who);
  /* "01 Björk - Jóga" and "01 - Jóga" are the same track of her album */
  const char *k = wl && len > wl && !strncmp(key, who, wl) ? key + wl : key;
  utf8_copy(out, n, k);
}

/* The remote folder of a file: everything before the last separator. */
static char *dir_of(const char *remote)
{
  const char *last = NULL;
  for (const char *p = remote; *p; p++)
    if (*p == '\\' || *p == '/')
      last = p;
  return last ? xstrndup(remote, (size_t)(last - remote)) : xstrdup("");
}

static void add_file(struct candidate *c, const struct slskd_file *f,
                     const struct quality_input *q, int rank,
                     const char *album_artist)
{
  if (c->n_files >= CAND_MAX_FILES)
    return;
  c->files = xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
  struct cand_file *cf = &c->files[c->n_files++];
  cf->filename = xstrdup(f->filename);
  cf->size = f->size;
  cf->q = *q;
  cf->rank = rank;
  cf->key[0] = '\0';
  if (album_artist)
    candidates_track_key(f->filename, album_artist, cf->key, sizeof cf->key);
}

static void free_candidate(struct candidate *c)
{
  for (size_t i = 0; i < c->n_files; i++)
    free(c->files[i].filename);
  free(c->files);
  free(c->username);
  free(c->directory);
}

void candidates_free(struct candidate_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free_candidate(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static struct candidate *find_or_add(struct candidate_list *l, size_t from,
                                     const struct slskd_response *r,
                                     const char *dir)
{
  for (size_t i = from; i < l->n; i++)
    if (!strcmp(l->v[i].username, r->username) &&
        (!dir || !strcmp(l->v[i].directory, dir)))
      return &l->v[i];
  l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  struct candidate *c = &l->v[l->n++];
  memset(c, 0, sizeof *c);
  c->username = xstrdup(r->username);
  c->directory = xstrdup(dir ? dir : "");
  c->free_slot = r->free_slot;
  c->queue_length = r->queue_length;
  c->upload_speed = r->upload_speed;
  return c;
}

/* Track: keeps the better of the peer's current file and f. */
static void keep_best(struct candidate *c, const struct slskd_file *f,
                      const struct quality_input *q, int rank,
                      const struct quality_profile *p)
{
  if (c->n_files) {
    struct cand_file *cur = &c->files[0];
    int cmp = quality_cmp(p, q, &cur->q);
    if (cmp > 0 || (cmp == 0 && f->size <= cur->size))
      return;
    free(cur->filename);
    c->n_files = 0;
  }
  add_file(c, f, q, rank, NULL);
  free(c->directory);
  c->directory = dir_of(f->filename);
}

struct words {
  struct cand_words query, title;
  /* album: the last folder seen and whether it matched (a peer lists
   * its files folder by folder) */
  char *dir;
  bool dir_match;
};

/* The file name part of a remote path. */
static const char *base_of(const char *remote)
{
  const char *b = remote;
  for (const char *p = remote; *p; p++)
    if (*p == '\\' || *p == '/')
      b = p + 1;
  return b;
}

static bool file_matches(const struct slskd_file *f, const char *dir,
                         bool album, struct words *w)
{
  if (!album)
    return candidates_path_matches(f->filename, &w->query) &&
           candidates_path_matches(base_of(f->filename), &w->title);
  if (!w->dir || strcmp(w->dir, dir)) {
    free(w->dir);
    w->dir = xstrdup(dir);
    w->dir_match = candidates_path_matches(dir, &w->query);
  }
  return w->dir_match;
}

static void take_response(struct candidate_list *l,
                          const struct slskd_response *r,
                          const struct cand_query *q,
                          const struct quality_profile *p, struct words *w)
{
  bool album = q->kind == DL_ALBUM;
  size_t from = l->n; /* this peer's folders start here */
  for (size_t i = 0; i < r->n_files; i++) {
    const struct slskd_file *f = &r->files[i];
    l->files_seen++;
    if (!candidates_is_audio(f->ext))
      continue;
    char *dir = dir_of(f->filename);
    bool match = file_matches(f, dir, album, w);
    struct quality_input qi;
    quality_from_search(f->ext, f->bitrate, f->vbr, f->bit_depth,
                        f->sample_rate, f->size, f->length, &qi);
    int rank = quality_rank(p, &qi);
    if (match && rank >= 0 && q->upgrade_from &&
        !quality_is_upgrade(q->upgrade_target, &qi, q->upgrade_from))
      rank = -1; /* not better than the file it would replace */
    if (match && rank >= 0) {
      l->files_accepted++;
      struct candidate *c = find_or_add(l, from, r, album ? dir : NULL);
      if (album)
        add_file(c, f, &qi, rank, q->artist ? q->artist : "");
      else
        keep_best(c, f, &qi, rank, p);
    }
    free(dir);
  }
}

static void summarise(struct candidate *c, const struct cand_query *q,
                      const struct quality_profile *p)
{
  c->rank = -1;
  c->total_size = 0;
  for (size_t i = 0; i < c->n_files; i++) {
    struct cand_file *f = &c->files[i];
    c->total_size += f->size;
    if (i == 0 || quality_cmp(p, &f->q, &c->worst) > 0) {
      c->worst = f->q;
      c->rank = f->rank;
    }
  }
  c->complete = q->kind == DL_ALBUM && q->expected_tracks > 0 &&
                c->n_files >= (size_t)q->expected_tracks;
}

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

int candidates_cmp(const struct candidate *a, const struct candidate *b,
                   const struct quality_profile *p, bool album)
{
  int c = 0;
  if (album && a->complete != b->complete)
    return a->complete ? -1 : 1;
  if (a->rank != b->rank)
    return a->rank < b->rank ? -1 : 1;
  if (a->free_slot != b->free_slot)
    return a->free_slot ? -1 : 1;
  /* A free slot starts at once, whatever the queue says: then only the
   * speed counts.  Without one, the shorter queue starts first. */
  if (!a->free_slot && (c = cmp_i64(a->queue_length, b->queue_length)))
    return c;
  if ((c = cmp_i64(b->upload_speed, a->upload_speed)))
    return c;
  if ((c = cmp_i64(a->queue_length, b->queue_length)))
    return c;
  if ((c = quality_cmp(p, &a->worst, &b->worst)))
    return c;
  if ((c = cmp_i64((int64_t)b->n_files, (int64_t)a->n_files)))
    return c;
  if ((c = strcmp(a->username, b->username)))
    return c;
  return strcmp(a->directory, b->directory);
}

struct sort_ctx {
  const struct quality_profile *p;
  bool album;
};

static int sort_cmp(const void *a, const void *b, void *arg)
{
  const struct sort_ctx *s = arg;
  return candidates_cmp(a, b, s->p, s->album);
}

void candidates_build(const struct slskd_responses *r,
                      const struct cand_query *q,
                      const struct quality_profile *p, size_t max,
                      struct candidate_list *out)
{
  struct words *w = xcalloc(1, sizeof *w);
  candidates_words(q->query, &w->query);
  candidates_words(q->title, &w->title);
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < r->n; i++)
    take_response(out, &r->v[i], q, p, w);
  free(w->dir);
  free(w);
  for (size_t i = 0; i < out->n; i++)
    summarise(&out->v[i], q, p);
  struct sort_ctx s = {p, q->kind == DL_ALBUM};
  if (out->n > 1)
    qsort_r(out->v, out->n, sizeof *out->v, sort_cmp, &s);
  while (out->n > max)
    free_candidate(&out->v[--out->n]);
}
