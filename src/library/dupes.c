/*
 * dupes.c - normalisation, keep-best order, fingerprint similarity,
 * grouping and the detection pass (see dupes.h for the rules).
 *
 * What: the pure functions work on caller buffers and never allocate
 * beyond one textnorm_fold() per normalisation (freed before returning).
 * The detection pass streams candidate rows from the store (only rows that
 * share a key with another row - keys are stored with the rows by the
 * scanner and the import, the pass computes only missing ones - or
 * fingerprinted rows in duration order with a sliding window), builds the
 * groups in memory and hands them to db_library_groups_sync() in one
 * transaction.
 *
 * Threading: pure functions on any thread; dupes_detect() on the thread
 * that owns db.
 *
 * Ownership: dupes_union() returns two heap arrays the caller frees;
 * everything else is freed before returning.
 */
#include "library/dupes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/textnorm.h"
#include "core/xalloc.h"
#include "db/db_library.h"

#define NORM_INPUT_MAX 1024
#define KEY_BATCH 10000
#define KEYS_REINDEX_MIN 50000
#define FP_OFFSETS 2

/* ---- methods ---- */

static const struct {
  enum dupes_method bit;
  const char *name;
} method_names[] = {
  {DUPES_METADATA, "metadata-hash"},
  {DUPES_FILE_HASH, "file-hash"},
  {DUPES_FINGERPRINT, "fingerprint"},
};
#define N_METHODS (sizeof method_names / sizeof method_names[0])

unsigned dupes_methods_parse(const char *text)
{
  unsigned bits = 0;
  const char *p = text ? text : "";
  while (*p) {
    size_t len = strcspn(p, "+");
    unsigned bit = 0;
    for (size_t i = 0; i < N_METHODS; i++)
      if (strlen(method_names[i].name) == len &&
          !strncmp(p, method_names[i].name, len))
        bit = method_names[i].bit;
    if (!bit)
      return 0;
    bits |= bit;
    p += len + (p[len] == '+');
  }
  return bits;
}

const char *dupes_method_name(enum dupes_method m)
{
  for (size_t i = 0; i < N_METHODS; i++)
    if (method_names[i].bit == m)
      return method_names[i].name;
  return "unknown";
}

/* ---- normalisation ---- */

struct words {
  char *out;
  size_t n, len;
  int count;
  bool full;
};

/* Appends one word (not "and"; a first "the" is held back until another
 * word follows). */
static void words_add(struct words *w, const char *word, size_t wl,
                      bool *pending_the)
{
  if (wl == 3 && !memcmp(word, "and", 3))
    return;
  if (w->count == 0 && wl == 3 && !memcmp(word, "the", 3) && !*pending_the) {
    *pending_the = true;
    return;
  }
  *pending_the = false;
  if (w->full)
    return;
  size_t need = wl + (w->len ? 1 : 0);
  if (w->len + need >= w->n) {
    w->full = true;
    return;
  }
  if (w->len)
    w->out[w->len++] = ' ';
  memcpy(w->out + w->len, word, wl);
  w->len += wl;
  w->out[w->len] = '\0';
  w->count++;
}

size_t dupes_normalize(const char *in, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  char folded[NORM_INPUT_MAX * 4];
  textnorm_fold(in, folded, sizeof folded);
  struct words w = {.out = out, .n = n};
  bool pending_the = false;
  for (const char *p = folded; *p;) {
    size_t wl = strcspn(p, " ");
    words_add(&w, p, wl, &pending_the);
    p += wl + (p[wl] == ' ');
  }
  if (pending_the) /* "The" alone stays */
    words_add(&w, "the", 3, &pending_the);
  return w.len;
}

/* ---- title and artist noise ---- */

static bool ascii_prefix(const char *w, size_t len, const char *word)
{
  size_t k = strlen(word);
  return len >= k && !strncasecmp(w, word, k);
}

static bool ascii_equal(const char *w, size_t len, const char *word)
{
  return len == strlen(word) && !strncasecmp(w, word, len);
}

static bool is_feat_word(const char *w, size_t len)
{
  return ascii_equal(w, len, "feat") || ascii_equal(w, len, "ft") ||
         ascii_equal(w, len, "featuring");
}

bool dupes_noise_word(const char *w, size_t len)
{
  return ascii_prefix(w, len, "remaster") || ascii_equal(w, len, "bonus") ||
         ascii_equal(w, len, "deluxe") || ascii_equal(w, len, "anniversary") ||
         is_feat_word(w, len);
}

static bool is_ascii_letter(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* True when s[0..len) holds an ASCII word accepted by pred. */
bool dupes_has_word(const char *s, size_t len,
                    bool (*pred)(const char *, size_t))
{
  size_t i = 0;
  while (i < len) {
    while (i < len && !is_ascii_letter(s[i]))
      i++;
    size_t start = i;
    while (i < len && is_ascii_letter(s[i]))
      i++;
    if (i > start && pred(s + start, i - start))
      return true;
  }
  return false;
}

/* Offset of the first feat word that starts a word after position 0
 * (preceded by a space or an opening bracket), or -1. */
static long feat_cut(const char *s)
{
  size_t len = strlen(s);
  for (size_t i = 1; i < len; i++) {
    if (!is_ascii_letter(s[i]) || is_ascii_letter(s[i - 1]))
      continue;
    if (s[i - 1] != ' ' && s[i - 1] != '(' && s[i - 1] != '[')
      continue;
    size_t e = i;
    while (e < len && is_ascii_letter(s[e]))
      e++;
    if (is_feat_word(s + i, e - i) && (e == len || !is_ascii_letter(s[e])))
      return (long)(i - 1);
  }
  return -1;
}

static void trim(char *s)
{
  size_t len = strlen(s);
  while (len && (s[len - 1] == ' ' || s[len - 1] == '-'))
    s[--len] = '\0';
  size_t lead = strspn(s, " ");
  memmove(s, s + lead, strlen(s + lead) + 1);
}

/* Removes "(...)" / "[...]" parts that noise() calls noise. */
static void drop_noise_brackets(char *s, dupes_noise_fn noise)
{
  size_t i = 0;
  while (s[i]) {
    char open = s[i];
    if (open != '(' && open != '[') {
      i++;
      continue;
    }
    char *close = strchr(s + i + 1, open == '(' ? ')' : ']');
    if (!close)
      break;
    size_t end = (size_t)(close - s) + 1;
    if (noise(s + i + 1, end - i - 2)) {
      size_t from = i;
      while (from > 0 && s[from - 1] == ' ')
        from--;
      memmove(s + from, s + end, strlen(s + end) + 1);
      i = from;
    } else {
      i = end;
    }
  }
}

/* Cuts a trailing " - ..." (or en dash) part that noise() calls noise. */
static void drop_noise_suffix(char *s, dupes_noise_fn noise)
{
  static const char *const dashes[] = {" - ", " \xe2\x80\x93 ", NULL};
  for (int d = 0; dashes[d]; d++) {
    char *last = NULL;
    for (char *p = strstr(s, dashes[d]); p; p = strstr(p + 1, dashes[d]))
      last = p;
    if (last && last != s && noise(last, strlen(last)))
      *last = '\0';
  }
}

static bool noise_part(const char *part, size_t len)
{
  return dupes_has_word(part, len, dupes_noise_word);
}

size_t dupes_clean_title(const char *title, char *out, size_t n)
{
  return dupes_clean_title_with(title, noise_part, out, n);
}

size_t dupes_clean_title_with(const char *title, dupes_noise_fn noise,
                              char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  snprintf(out, n, "%s", title ? title : "");
  drop_noise_brackets(out, noise);
  drop_noise_suffix(out, noise);
  long cut = feat_cut(out);
  if (cut > 0)
    out[cut] = '\0';
  trim(out);
  if (!out[0]) /* the whole title was noise: keep it */
    snprintf(out, n, "%s", title ? title : "");
  return strlen(out);
}

size_t dupes_clean_artist(const char *artist, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  snprintf(out, n, "%s", artist ? artist : "");
  long cut = feat_cut(out);
  if (cut > 0)
    out[cut] = '\0';
  trim(out);
  if (!out[0])
    snprintf(out, n, "%s", artist ? artist : "");
  return strlen(out);
}

/* The file name of path without extension and leading track number. */
static void title_from_path(const char *path, char *out, size_t n)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(out, n, "%s", base);
  char *dot = strrchr(out, '.');
  if (dot && dot != out)
    *dot = '\0';
  const char *p = out;
  while (isdigit((unsigned char)*p))
    p++;
  if (p != out && (*p == '-' || *p == '.') && isdigit((unsigned char)p[1])) {
    p++;
    while (isdigit((unsigned char)*p))
      p++;
  }
  if (p != out && (*p == ' ' || *p == '-' || *p == '.' || *p == '_')) {
    while (*p == ' ' || *p == '-' || *p == '.' || *p == '_')
      p++;
    if (*p)
      memmove(out, p, strlen(p) + 1);
  }
}

size_t dupes_norm_key(const char *artist, const char *album_artist,
                      const char *title, const char *path, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  char raw[MEDIA_TEXT_MAX * 2], a[DUPES_KEY_MAX], t[DUPES_KEY_MAX];
  const char *who = artist && artist[0] ? artist : album_artist;
  dupes_clean_artist(who ? who : "", raw, sizeof raw);
  size_t al = dupes_normalize(raw, a, sizeof a / 2);
  if (title && title[0])
    snprintf(raw, sizeof raw, "%s", title);
  else if (path)
    title_from_path(path, raw, sizeof raw);
  else
    raw[0] = '\0';
  char cleaned[sizeof raw];
  dupes_clean_title(raw, cleaned, sizeof cleaned);
  size_t tl = dupes_normalize(cleaned, t, sizeof t / 2);
  if (!al || !tl || al + tl + 2 > n)
    return 0;
  return (size_t)snprintf(out, n, "%s|%s", a, t);
}

_Static_assert(LIBRARY_KEY_MAX == DUPES_KEY_MAX, "one key size");

/* The key of a row as the store hands it out for keying. */
static size_t key_of_input(const struct library_key_input *in, char *out,
                           size_t n)
{
  return dupes_norm_key(in->artist, in->album_artist, in->title, in->file_name,
                        out, n);
}

void dupes_track_key(struct library_track *t)
{
  /* the same input as db_library_keys_missing() gives for the stored row */
  struct library_key_input *in = xcalloc(1, sizeof *in);
  snprintf(in->artist, sizeof in->artist, "%s", t->media.artist);
  snprintf(in->album_artist, sizeof in->album_artist, "%s",
           t->media.album_artist);
  snprintf(in->title, sizeof in->title, "%s", t->media.title);
  db_library_key_file_name(t->path, in->file_name, sizeof in->file_name);
  key_of_input(in, t->norm_key, sizeof t->norm_key);
  t->has_norm_key = true;
  free(in);
}

/* ---- keep-best ---- */

#define BETTER_IF_GREATER(x, y)                                               \
  do {                                                                        \
    if ((x) != (y))                                                           \
      return (x) > (y) ? -1 : 1;                                              \
  } while (0)

int dupes_quality_cmp(const struct dupes_quality *a,
                      const struct dupes_quality *b)
{
  BETTER_IF_GREATER(a->lossless, b->lossless);
  BETTER_IF_GREATER(a->bit_depth, b->bit_depth);
  BETTER_IF_GREATER(a->sample_rate, b->sample_rate);
  BETTER_IF_GREATER(a->bitrate / 16000, b->bitrate / 16000);
  BETTER_IF_GREATER(a->duration_ms / 1000, b->duration_ms / 1000);
  BETTER_IF_GREATER(a->tag_score, b->tag_score);
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return 0;
}

size_t dupes_best(const struct dupes_quality *q, size_t n)
{
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (dupes_quality_cmp(&q[i], &q[best]) < 0)
      best = i;
  return best;
}

/* ---- fingerprints ---- */

double dupes_fp_similarity(const uint32_t *a, size_t na, const uint32_t *b,
                           size_t nb)
{
  double best = 0.0;
  if (!a || !b)
    return 0.0;
  for (long off = -FP_OFFSETS; off <= FP_OFFSETS; off++) {
    size_t sa = off > 0 ? (size_t)off : 0, sb = off < 0 ? (size_t)-off : 0;
    if (sa >= na || sb >= nb)
      continue;
    size_t m = na - sa < nb - sb ? na - sa : nb - sb;
    if (m < DUPES_FP_MIN_ITEMS)
      continue;
    size_t bits = 0;
    for (size_t i = 0; i < m; i++)
      bits += (size_t)__builtin_popcount(a[sa + i] ^ b[sb + i]);
    double s = 1.0 - (double)bits / (32.0 * (double)m);
    if (s > best)
      best = s;
  }
  return best;
}

/* ---- grouping ---- */

size_t dupes_duration_runs(const int64_t *durations, size_t n,
                           size_t *run_start)
{
  size_t runs = 0;
  for (size_t i = 0; i < n; i++) {
    bool unknown = durations[i] <= 0;
    bool starts = i == 0 || (unknown != (durations[i - 1] <= 0)) ||
                  (!unknown &&
                   durations[i] - durations[i - 1] > DUPES_DURATION_GUARD_MS);
    if (starts)
      run_start[runs++] = i;
  }
  return runs;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static size_t uf_find(size_t *parent, size_t i)
{
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

static size_t index_of(const int64_t *ids, size_t n, int64_t id)
{
  const int64_t *at = bsearch(&id, ids, n, sizeof *ids, cmp_i64);
  return (size_t)(at - ids);
}

size_t dupes_union(const int64_t (*pairs)[2], size_t n_pairs,
                   int64_t **members, size_t **group_len)
{
  *members = NULL;
  *group_len = NULL;
  if (!n_pairs)
    return 0;
  int64_t *ids = xmalloc(2 * n_pairs * sizeof *ids);
  for (size_t i = 0; i < n_pairs; i++) {
    ids[2 * i] = pairs[i][0];
    ids[2 * i + 1] = pairs[i][1];
  }
  qsort(ids, 2 * n_pairs, sizeof *ids, cmp_i64);
  size_t m = 0;
  for (size_t i = 0; i < 2 * n_pairs; i++)
    if (!m || ids[m - 1] != ids[i])
      ids[m++] = ids[i];
  size_t *parent = xmalloc(m * sizeof *parent);
  for (size_t i = 0; i < m; i++)
    parent[i] = i;
  for (size_t i = 0; i < n_pairs; i++) {
    size_t x = uf_find(parent, index_of(ids, m, pairs[i][0]));
    size_t y = uf_find(parent, index_of(ids, m, pairs[i][1]));
    if (x != y)
      parent[x > y ? x : y] = x < y ? x : y; /* root = smallest index */
  }
  /* Roots in id order; members follow in id order within each group. */
  size_t *slot = xmalloc(m * sizeof *slot), n_groups = 0;
  size_t *len = xcalloc(m, sizeof *len);
  for (size_t i = 0; i < m; i++) {
    size_t r = uf_find(parent, i);
    if (r == i)
      slot[i] = n_groups++;
    len[slot[r]]++;
  }
  size_t *start = xmalloc((n_groups + 1) * sizeof *start);
  start[0] = 0;
  for (size_t g = 0; g < n_groups; g++)
    start[g + 1] = start[g] + len[g];
  int64_t *out = xmalloc(m * sizeof *out);
  size_t *fill = xcalloc(n_groups ? n_groups : 1, sizeof *fill);
  for (size_t i = 0; i < m; i++) {
    size_t g = slot[uf_find(parent, i)];
    out[start[g] + fill[g]++] = ids[i];
  }
  free(fill);
  free(start);
  free(slot);
  free(parent);
  free(ids);
  *members = out;
  *group_len = len;
  return n_groups;
}

/* ---- the detection pass ---- */

struct found {
  char *key;
  char *prefix; /* NULL: matched by exact key only */
  const char *method;
  char *label;
  int64_t keep;
  int64_t *members;
  size_t n;
};

struct cand {
  struct dupes_quality q;
  char *label;
};

struct pass {
  struct found *groups;
  size_t n_groups, cap_groups;
  /* (track id, group index) of earlier methods, sorted: suppression */
  int64_t (*index)[2];
  size_t n_index;
  /* the run being collected */
  struct cand *cands;
  size_t n_cands, cap_cands;
  char *run_key;
  const char *method;
};

static void cand_push(struct pass *p, const struct library_dupe_row *r)
{
  if (p->n_cands == p->cap_cands) {
    p->cap_cands = p->cap_cands ? 2 * p->cap_cands : 16;
    p->cands = xrealloc(p->cands, p->cap_cands * sizeof *p->cands);
  }
  struct cand *c = &p->cands[p->n_cands++];
  c->q = (struct dupes_quality){r->id,          r->lossless, r->bit_depth,
                                r->sample_rate, r->bitrate,  r->duration_ms,
                                r->tag_score};
  c->label = xstrdup(r->label ? r->label : "");
}

static void cands_clear(struct pass *p)
{
  for (size_t i = 0; i < p->n_cands; i++)
    free(p->cands[i].label);
  p->n_cands = 0;
}

static int cmp_pair(const void *a, const void *b)
{
  const int64_t *x = a, *y = b;
  if (x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* True when every id of ids[] is in one group of an earlier method. */
static bool already_found(const struct pass *p, const int64_t *ids, size_t n)
{
  size_t lo = 0, hi = p->n_index;
  while (lo < hi) { /* first entry of ids[0] */
    size_t mid = (lo + hi) / 2;
    if (p->index[mid][0] < ids[0])
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t k = lo; k < p->n_index && p->index[k][0] == ids[0]; k++) {
    int64_t g = p->index[k][1];
    const struct found *f = &p->groups[g];
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
      hits += bsearch(&ids[i], f->members, f->n, sizeof *ids, cmp_i64) != 0;
    if (hits == n)
      return true;
  }
  return false;
}

/* Rebuilds the suppression index over every group found so far. */
static void index_rebuild(struct pass *p)
{
  size_t total = 0;
  for (size_t g = 0; g < p->n_groups; g++)
    total += p->groups[g].n;
  p->index = xrealloc(p->index, (total ? total : 1) * sizeof *p->index);
  size_t k = 0;
  for (size_t g = 0; g < p->n_groups; g++)
    for (size_t i = 0; i < p->groups[g].n; i++) {
      p->index[k][0] = p->groups[g].members[i];
      p->index[k++][1] = (int64_t)g;
    }
  qsort(p->index, total, sizeof *p->index, cmp_pair);
  p->n_index = total;
}

static int cmp_cand_id(const void *a, const void *b)
{
  return cmp_i64(&((const struct cand *)a)->q.id,
                 &((const struct cand *)b)->q.id);
}

/* Emits cands[from, from+n) as one group (unless an earlier method found
 * it).  Key: "<method>:<material>", or with anchored "<method>:<material>#
 * <smallest member id>" and that key up to '#' as the prefix under which
 * an existing group sharing a member is the same finding. */
static void emit(struct pass *p, size_t from, size_t n, const char *material,
                 bool anchored)
{
  if (n < 2)
    return;
  struct cand *c = p->cands + from;
  qsort(c, n, sizeof *c, cmp_cand_id);
  int64_t *ids = xmalloc(n * sizeof *ids);
  struct dupes_quality *q = xmalloc(n * sizeof *q);
  for (size_t i = 0; i < n; i++) {
    ids[i] = c[i].q.id;
    q[i] = c[i].q;
  }
  if (already_found(p, ids, n)) {
    free(ids);
    free(q);
    return;
  }
  size_t best = dupes_best(q, n);
  if (p->n_groups == p->cap_groups) {
    p->cap_groups = p->cap_groups ? 2 * p->cap_groups : 64;
    p->groups = xrealloc(p->groups, p->cap_groups * sizeof *p->groups);
  }
  p->groups[p->n_groups++] = (struct found){
    .key = anchored
             ? xasprintf("%s:%s#%lld", p->method, material, (long long)ids[0])
             : xasprintf("%s:%s", p->method, material),
    .prefix = anchored ? xasprintf("%s:%s#", p->method, material) : NULL,
    .method = p->method,
    .label = xstrdup(c[best].label),
    .keep = c[best].q.id,
    .members = ids,
    .n = n,
  };
  free(q);
}

static int cmp_cand_duration(const void *a, const void *b)
{
  const struct cand *x = a, *y = b;
  if (x->q.duration_ms != y->q.duration_ms)
    return x->q.duration_ms < y->q.duration_ms ? -1 : 1;
  return cmp_i64(&x->q.id, &y->q.id);
}

/* Metadata: one key's rows, split by the duration guard. */
static void flush_meta_run(struct pass *p)
{
  size_t n = p->n_cands;
  if (n >= 2) {
    qsort(p->cands, n, sizeof *p->cands, cmp_cand_duration);
    int64_t *d = xmalloc(n * sizeof *d);
    size_t *starts = xmalloc(n * sizeof *starts);
    for (size_t i = 0; i < n; i++)
      d[i] = p->cands[i].q.duration_ms;
    size_t runs = dupes_duration_runs(d, n, starts);
    for (size_t r = 0; r < runs; r++) {
      size_t from = starts[r], to = r + 1 < runs ? starts[r + 1] : n;
      emit(p, from, to - from, p->run_key, true);
    }
    free(d);
    free(starts);
  }
  cands_clear(p);
}

static void flush_hash_run(struct pass *p)
{
  emit(p, 0, p->n_cands, p->run_key, false);
  cands_clear(p);
}

/* Rows arrive ordered by key; a new key closes the previous run. */
static enum ss_err on_keyed_row(void *arg, const struct library_dupe_row *r)
{
  struct pass *p = arg;
  if (p->run_key && strcmp(p->run_key, r->key)) {
    if (p->method == dupes_method_name(DUPES_METADATA))
      flush_meta_run(p);
    else
      flush_hash_run(p);
    free(p->run_key);
    p->run_key = NULL;
  }
  if (!p->run_key)
    p->run_key = xstrdup(r->key);
  cand_push(p, r);
  return SS_OK;
}

static enum ss_err run_keyed(struct db *db, struct pass *p,
                             enum dupes_method m)
{
  p->method = dupes_method_name(m);
  enum ss_err rc = m == DUPES_METADATA
                     ? db_library_meta_candidates(db, on_keyed_row, p)
                     : db_library_hash_candidates(db, on_keyed_row, p);
  if (rc == SS_OK && p->run_key) {
    if (m == DUPES_METADATA)
      flush_meta_run(p);
    else
      flush_hash_run(p);
  }
  cands_clear(p);
  free(p->run_key);
  p->run_key = NULL;
  return rc;
}

/* Fingerprints: a window of rows within the duration guard. */
struct fp_row {
  struct cand c;
  uint32_t fp[MEDIA_FP_MAX_ITEMS];
  size_t n;
};

struct fp_state {
  struct pass *p;
  struct fp_row *win; /* ring buffer */
  size_t head, count, cap;
  int64_t (*pairs)[2];
  size_t n_pairs, cap_pairs;
  struct cand *matched;
  size_t n_matched, cap_matched;
  size_t comparisons;
};

static void fp_remember(struct fp_state *s, const struct cand *c)
{
  if (s->n_matched == s->cap_matched) {
    s->cap_matched = s->cap_matched ? 2 * s->cap_matched : 64;
    s->matched = xrealloc(s->matched, s->cap_matched * sizeof *s->matched);
  }
  s->matched[s->n_matched] = *c;
  s->matched[s->n_matched++].label = xstrdup(c->label);
}

static void fp_pair(struct fp_state *s, const struct fp_row *a,
                    const struct fp_row *b)
{
  if (s->n_pairs == s->cap_pairs) {
    s->cap_pairs = s->cap_pairs ? 2 * s->cap_pairs : 64;
    s->pairs = xrealloc(s->pairs, s->cap_pairs * sizeof *s->pairs);
  }
  s->pairs[s->n_pairs][0] = a->c.q.id;
  s->pairs[s->n_pairs++][1] = b->c.q.id;
  fp_remember(s, &a->c);
  fp_remember(s, &b->c);
}

static enum ss_err on_fp_row(void *arg, const struct library_dupe_row *r)
{
  struct fp_state *s = arg;
  /* Drop rows too short to fall within the guard of this one. */
  while (s->count && r->duration_ms - s->win[s->head].c.q.duration_ms >
                       DUPES_DURATION_GUARD_MS) {
    free(s->win[s->head].c.label);
    s->head = (s->head + 1) % s->cap;
    s->count--;
  }
  if (s->count == s->cap) { /* grow the ring, keeping order */
    size_t ncap = s->cap ? 2 * s->cap : 64;
    struct fp_row *nw = xmalloc(ncap * sizeof *nw);
    for (size_t i = 0; i < s->count; i++)
      nw[i] = s->win[(s->head + i) % s->cap];
    free(s->win);
    s->win = nw;
    s->cap = ncap;
    s->head = 0;
  }
  struct fp_row *row = &s->win[(s->head + s->count) % s->cap];
  row->c.q = (struct dupes_quality){r->id,        r->lossless,
                                    r->bit_depth, r->sample_rate,
                                    r->bitrate,   r->duration_ms,
                                    r->tag_score};
  row->c.label = xstrdup(r->label ? r->label : "");
  row->n = r->fp_n < MEDIA_FP_MAX_ITEMS ? r->fp_n : MEDIA_FP_MAX_ITEMS;
  memcpy(row->fp, r->fp, row->n * sizeof *row->fp);
  for (size_t i = 0; i < s->count; i++) {
    const struct fp_row *o = &s->win[(s->head + i) % s->cap];
    s->comparisons++;
    if (dupes_fp_similarity(o->fp, o->n, row->fp, row->n) >=
        DUPES_FP_MIN_SIMILARITY)
      fp_pair(s, o, row);
  }
  s->count++;
  return SS_OK;
}

static int cmp_cand_id_ptr(const void *a, const void *b)
{
  return cmp_cand_id(a, b);
}

static enum ss_err run_fingerprint(struct db *db, struct pass *p,
                                   size_t *compared)
{
  struct fp_state s = {.p = p};
  p->method = dupes_method_name(DUPES_FINGERPRINT);
  enum ss_err rc = db_library_fp_rows(db, on_fp_row, &s);
  for (size_t i = 0; i < s.count; i++)
    free(s.win[(s.head + i) % s.cap].c.label);
  free(s.win);
  *compared = s.comparisons;
  if (rc == SS_OK && s.n_pairs) {
    qsort(s.matched, s.n_matched, sizeof *s.matched, cmp_cand_id_ptr);
    int64_t *members;
    size_t *len;
    size_t groups = dupes_union((const int64_t(*)[2])s.pairs, s.n_pairs,
                                &members, &len);
    size_t at = 0;
    for (size_t g = 0; g < groups; g++) {
      for (size_t i = 0; i < len[g]; i++) {
        struct cand key = {.q = {.id = members[at + i]}};
        const struct cand *c = bsearch(&key, s.matched, s.n_matched,
                                       sizeof *s.matched, cmp_cand_id_ptr);
        if (c) {
          if (p->n_cands == p->cap_cands) {
            p->cap_cands = p->cap_cands ? 2 * p->cap_cands : 16;
            p->cands = xrealloc(p->cands, p->cap_cands * sizeof *p->cands);
          }
          p->cands[p->n_cands] = *c;
          p->cands[p->n_cands++].label = xstrdup(c->label);
        }
      }
      emit(p, 0, p->n_cands, "", true);
      cands_clear(p);
      at += len[g];
    }
    free(members);
    free(len);
  }
  for (size_t i = 0; i < s.n_matched; i++)
    free(s.matched[i].label);
  free(s.matched);
  free(s.pairs);
  return rc;
}

static enum ss_err fill_keys(struct db *db, dupes_stop_fn stop, void *arg,
                             size_t *computed);

/* Computes metadata keys of rows that have none yet, in batches; many at
 * once (a first scan of a big library) are indexed after filling. */
static enum ss_err compute_keys(struct db *db, dupes_stop_fn stop, void *arg,
                                size_t *computed)
{
  int64_t pending = 0;
  enum ss_err rc = db_library_keys_pending(db, &pending);
  bool reindex = !rc && pending >= KEYS_REINDEX_MIN;
  if (reindex)
    rc = db_library_keys_index(db, false);
  if (!rc)
    rc = fill_keys(db, stop, arg, computed);
  enum ss_err irc = db_library_keys_index(db,
                                          true); /* also heals after a crash */
  return rc ? rc : irc;
}

static enum ss_err fill_keys(struct db *db, dupes_stop_fn stop, void *arg,
                             size_t *computed)
{
  struct library_key_input *in = xmalloc(KEY_BATCH * sizeof *in);
  int64_t *ids = xmalloc(KEY_BATCH * sizeof *ids);
  char(*keys)[DUPES_KEY_MAX] = xmalloc(KEY_BATCH * sizeof *keys);
  const char **kp = xmalloc(KEY_BATCH * sizeof *kp);
  int64_t after = 0;
  enum ss_err rc = SS_OK;
  for (;;) {
    size_t n = 0;
    if ((rc = db_library_keys_missing(db, after, in, KEY_BATCH, &n)) || !n)
      break;
    for (size_t i = 0; i < n; i++) {
      ids[i] = in[i].id;
      key_of_input(&in[i], keys[i], sizeof keys[i]);
      kp[i] = keys[i];
    }
    if ((rc = db_library_keys_store(db, ids, kp, n)))
      break;
    *computed += n;
    after = in[n - 1].id;
    if (stop && stop(arg)) {
      rc = SS_ECANCELED;
      break;
    }
  }
  free(kp);
  free(keys);
  free(ids);
  free(in);
  return rc;
}

static void pass_free(struct pass *p)
{
  for (size_t g = 0; g < p->n_groups; g++) {
    free(p->groups[g].key);
    free(p->groups[g].prefix);
    free(p->groups[g].label);
    free(p->groups[g].members);
  }
  free(p->groups);
  free(p->index);
  cands_clear(p);
  free(p->cands);
  free(p->run_key);
}

static enum ss_err store_groups(struct db *db, const struct pass *p,
                                int64_t now_ms, struct dupes_stats *out)
{
  struct library_group_in *in = xcalloc(p->n_groups ? p->n_groups : 1,
                                        sizeof *in);
  for (size_t g = 0; g < p->n_groups; g++)
    in[g] = (struct library_group_in){.key = p->groups[g].key,
                                      .match_prefix = p->groups[g].prefix,
                                      .method = p->groups[g].method,
                                      .label = p->groups[g].label,
                                      .suggested_keep = p->groups[g].keep,
                                      .members = p->groups[g].members,
                                      .n_members = p->groups[g].n};
  enum ss_err rc = db_library_groups_sync(db, in, p->n_groups, now_ms,
                                          &out->new_groups, &out->open_groups);
  free(in);
  out->groups = p->n_groups;
  return rc;
}

enum ss_err dupes_detect(struct db *db, unsigned methods,
                         dupes_stop_fn should_stop, void *stop_arg,
                         int64_t now_ms, struct dupes_stats *out)
{
  struct dupes_stats dummy;
  if (!out)
    out = &dummy;
  memset(out, 0, sizeof *out);
  if (!db || !methods)
    return SS_EINVAL;
  struct pass p = {0};
  enum ss_err rc = SS_OK;
  if (methods & DUPES_METADATA)
    rc = compute_keys(db, should_stop, stop_arg, &out->keys_computed);
  if (!rc && (methods & DUPES_FILE_HASH)) {
    rc = run_keyed(db, &p, DUPES_FILE_HASH);
    index_rebuild(&p);
  }
  if (!rc && should_stop && should_stop(stop_arg))
    rc = SS_ECANCELED;
  if (!rc && (methods & DUPES_FINGERPRINT)) {
    rc = run_fingerprint(db, &p, &out->fp_pairs);
    index_rebuild(&p);
  }
  if (!rc && should_stop && should_stop(stop_arg))
    rc = SS_ECANCELED;
  if (!rc && (methods & DUPES_METADATA))
    rc = run_keyed(db, &p, DUPES_METADATA);
  if (!rc)
    rc = store_groups(db, &p, now_ms, out);
  pass_free(&p);
  return rc;
}
