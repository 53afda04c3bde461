/*
 * quality.c - quality profiles and the one comparator (see quality.h).
 *
 * What: profile parsing, canonical format names from extensions and codec
 * names, rank and ordering.  Pure; any thread; no allocation.
 */
#include "downloads/quality.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

#define TOLERANCE_PCT 97 /* 320 kbit/s reported as 311 still counts */
#define V0_KBPS 220
#define V2_KBPS 170
#define ALAC_MIN_KBPS 500

struct alias {
  const char *name;
  const char *format;
};

/* Extensions and profile spellings -> canonical format. */
static const struct alias aliases[] = {{"flac", "flac"},  {"alac", "alac"},
                                       {"wav", "wav"},    {"wave", "wav"},
                                       {"aif", "aiff"},   {"aiff", "aiff"},
                                       {"ape", "ape"},    {"wv", "wv"},
                                       {"mp3", "mp3"},    {"aac", "aac"},
                                       {"ogg", "ogg"},    {"oga", "ogg"},
                                       {"vorbis", "ogg"}, {"opus", "opus"},
                                       {"wma", "wma"},    {NULL, NULL}};

static const char *const lossless[] = {"flac", "alac", "wav", "aiff",
                                       "ape",  "wv",   NULL};

static const char *canonical(const char *name)
{
  for (const struct alias *a = aliases; a->name; a++)
    if (!strcasecmp(a->name, name))
      return a->format;
  return NULL;
}

bool quality_is_lossless(const char *format)
{
  for (const char *const *f = lossless; *f; f++)
    if (!strcmp(*f, format))
      return true;
  return false;
}

static enum ss_err parse_qualifier(struct quality_entry *e, const char *q)
{
  if (!*q)
    return SS_OK;
  if ((q[0] == 'v' || q[0] == 'V') && !strcmp(e->format, "mp3") &&
      (q[1] == '0' || q[1] == '2') && !q[2]) {
    e->vbr_min_kbps = q[1] == '0' ? V0_KBPS : V2_KBPS;
    return SS_OK;
  }
  char *end;
  long v = strtol(q, &end, 10);
  if (*end || v <= 0 || v > 9999)
    return SS_EINVAL;
  if (quality_is_lossless(e->format))
    e->min_bit_depth = (int)v;
  else
    e->min_kbps = (int)v;
  return SS_OK;
}

static enum ss_err parse_entry(const char *text, size_t n,
                               struct quality_entry *e)
{
  char tok[32], *dash;
  if (!n || n >= sizeof tok)
    return SS_EINVAL;
  memcpy(tok, text, n);
  tok[n] = '\0';
  memset(e, 0, sizeof *e);
  dash = strchr(tok, '-');
  if (dash)
    *dash = '\0';
  const char *fmt = canonical(tok);
  if (!fmt)
    return SS_EINVAL;
  snprintf(e->format, sizeof e->format, "%s", fmt);
  return parse_qualifier(e, dash ? dash + 1 : "");
}

enum ss_err quality_profile_parse(const char *text,
                                  struct quality_profile *out, char *err,
                                  size_t errlen)
{
  memset(out, 0, sizeof *out);
  const char *p = text ? text : "";
  while (*p) {
    p += strspn(p, " ,");
    size_t n = strcspn(p, ",");
    size_t t = n;
    while (t && p[t - 1] == ' ')
      t--;
    if (!t) {
      p += n;
      continue;
    }
    if (out->n == QUALITY_MAX_ENTRIES) {
      snprintf(err, errlen, "more than %d formats", QUALITY_MAX_ENTRIES);
      return SS_EINVAL;
    }
    if (parse_entry(p, t, &out->e[out->n])) {
      snprintf(err, errlen,
               "unknown format \"%.*s\" (e.g. flac, mp3-320, "
               "mp3-v0, aac-256)",
               (int)(t > 40 ? 40 : t), p);
      return SS_EINVAL;
    }
    out->n++;
    p += n;
  }
  if (!out->n) {
    snprintf(err, errlen, "no formats listed");
    return SS_EINVAL;
  }
  return SS_OK;
}

void quality_from_search(const char *ext, int bitrate_kbps, bool vbr,
                         int bit_depth, int sample_rate, int64_t size,
                         int length_s, struct quality_input *out)
{
  memset(out, 0, sizeof *out);
  out->bitrate_kbps = bitrate_kbps > 0 ? bitrate_kbps : 0;
  out->vbr = vbr;
  out->bit_depth = bit_depth > 0 ? bit_depth : 0;
  out->sample_rate = sample_rate > 0 ? sample_rate : 0;
  if (!out->bitrate_kbps && size > 0 && length_s > 0)
    out->bitrate_kbps = (int)(size * 8 / length_s / 1000);
  const char *fmt = ext ? canonical(ext) : NULL;
  if (!fmt && ext && (!strcasecmp(ext, "m4a") || !strcasecmp(ext, "mp4")))
    fmt = out->bit_depth || out->bitrate_kbps >= ALAC_MIN_KBPS ? "alac"
                                                               : "aac";
  snprintf(out->format, sizeof out->format, "%s", fmt ? fmt : "");
  if (quality_is_lossless(out->format))
    out->vbr = false;
}

void quality_from_codec(const char *codec, int64_t bitrate_bps, bool vbr,
                        int bit_depth, int sample_rate,
                        struct quality_input *out)
{
  memset(out, 0, sizeof *out);
  const char *fmt = codec ? canonical(codec) : NULL;
  if (!fmt && codec && !strncmp(codec, "pcm_", 4))
    fmt = "wav";
  if (!fmt && codec && !strcmp(codec, "wavpack"))
    fmt = "wv";
  if (!fmt && codec && !strncmp(codec, "wmav", 4))
    fmt = "wma";
  snprintf(out->format, sizeof out->format, "%s", fmt ? fmt : "");
  out->bitrate_kbps = bitrate_bps > 0 ? (int)(bitrate_bps / 1000) : 0;
  out->vbr = vbr && !quality_is_lossless(out->format);
  out->bit_depth = bit_depth > 0 ? bit_depth : 0;
  out->sample_rate = sample_rate > 0 ? sample_rate : 0;
}

static bool satisfies(const struct quality_entry *e,
                      const struct quality_input *q)
{
  if (strcmp(e->format, q->format))
    return false;
  if (e->min_bit_depth)
    return (q->bit_depth ? q->bit_depth : 16) >= e->min_bit_depth;
  if (e->vbr_min_kbps)
    return q->vbr && (!q->bitrate_kbps || q->bitrate_kbps >= e->vbr_min_kbps);
  if (e->min_kbps)
    return q->bitrate_kbps * 100 >= e->min_kbps * TOLERANCE_PCT;
  return true;
}

int quality_rank(const struct quality_profile *p,
                 const struct quality_input *q)
{
  for (size_t i = 0; i < p->n; i++)
    if (satisfies(&p->e[i], q))
      return (int)i;
  return -1;
}

static int cmp_desc(int a, int b) { return a > b ? -1 : a < b ? 1 : 0; }

int quality_cmp(const struct quality_profile *p, const struct quality_input *a,
                const struct quality_input *b)
{
  int ra = quality_rank(p, a), rb = quality_rank(p, b);
  if (ra != rb) {
    if (ra < 0 || rb < 0)
      return ra < 0 ? 1 : -1;
    return ra < rb ? -1 : 1;
  }
  int c = cmp_desc(a->bit_depth, b->bit_depth);
  if (!c)
    c = cmp_desc(a->sample_rate, b->sample_rate);
  if (!c)
    c = cmp_desc(a->bitrate_kbps / 16, b->bitrate_kbps / 16);
  return c;
}

bool quality_is_upgrade(const struct quality_profile *p,
                        const struct quality_input *cand,
                        const struct quality_input *have)
{
  if (quality_is_lossless(have->format) && !quality_is_lossless(cand->format))
    return false;
  return quality_rank(p, cand) >= 0 && quality_cmp(p, cand, have) < 0;
}

#define LOSSLESS_ALL "flac,alac,wav,aiff,ape,wv"
#define HIGH_LOSSY "mp3-320,aac-256,ogg-256,opus-160,mp3-224"

const char *quality_target_profile(const char *level)
{
  if (!level)
    return NULL;
  if (!strcmp(level, "lossless"))
    return LOSSLESS_ALL;
  if (!strcmp(level, "high"))
    return LOSSLESS_ALL "," HIGH_LOSSY;
  if (!strcmp(level, "medium"))
    return LOSSLESS_ALL "," HIGH_LOSSY ",aac-160,ogg-192,opus-128,mp3-192";
  return NULL;
}

void quality_describe(const struct quality_input *q, char *out, size_t n)
{
  if (!q->format[0]) {
    snprintf(out, n, "?");
  } else if (quality_is_lossless(q->format)) {
    if (q->bit_depth && q->sample_rate)
      snprintf(out, n, "%s %d/%g", q->format, q->bit_depth,
               q->sample_rate / 1000.0);
    else
      snprintf(out, n, "%s", q->format);
  } else if (q->bitrate_kbps) {
    snprintf(out, n, "%s %s%d", q->format, q->vbr ? "VBR " : "",
             q->bitrate_kbps);
  } else {
    snprintf(out, n, "%s", q->format);
  }
}
