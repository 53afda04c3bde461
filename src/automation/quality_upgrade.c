/*
 * quality_upgrade.c - library tracks below the target quality -> Wanted
 * (see quality_upgrade.h).
 *
 * What: one walk over the live tracks without an item (a single query),
 * the comparator's rank for each, the worst max of them sorted, then one
 * db_wanted_add per chosen track with its display fields.
 * Threading: the caller's thread and db.  Ownership: the candidate array
 * is heap memory handed to the caller.
 */
#include "automation/quality_upgrade.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "db/db_library.h"
#include "db/db_wanted.h"

enum ss_err qu_config_level(struct qu_config *cfg, const char *level)
{
  char perr[160];
  const char *text = quality_target_profile(level);
  if (!text)
    return SS_EINVAL;
  return quality_profile_parse(text, &cfg->target, perr, sizeof perr);
}

enum ss_err qu_config_load(struct qu_config *cfg)
{
  char level[SETTING_STR_MAX];
  memset(cfg, 0, sizeof *cfg);
  settings_str(S_AUTOMATION_QUALITY_PROFILE, level, sizeof level);
  cfg->max_per_run = (int)settings_int(
    S_AUTOMATION_QUALITY_UPGRADE_MAX_PER_RUN);
  return qu_config_level(cfg, level);
}

bool qu_below_target(const struct quality_profile *target,
                     const struct quality_input *q)
{
  return quality_rank(target, q) < 0;
}

struct walk {
  const struct quality_profile *target;
  struct qu_candidate *v;
  size_t n, cap;
  int64_t scanned;
};

static enum ss_err on_row(void *arg, const struct library_quality_row *r)
{
  struct walk *w = arg;
  struct quality_input q;
  w->scanned++;
  quality_from_codec(r->codec, r->bitrate, false, r->bit_depth, r->sample_rate,
                     &q);
  if (!qu_below_target(w->target, &q))
    return SS_OK;
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 256;
    w->v = xrealloc(w->v, w->cap * sizeof *w->v);
  }
  w->v[w->n++] = (struct qu_candidate){r->id, q};
  return SS_OK;
}

/* Worst first: the comparator's order reversed, then the older track. */
static int worst_first(const void *a, const void *b, void *arg)
{
  const struct qu_candidate *x = a, *y = b;
  int c = quality_cmp(arg, &y->q, &x->q);
  if (c)
    return c;
  return x->track_id < y->track_id ? -1 : x->track_id > y->track_id;
}

enum ss_err quality_upgrade_find(struct db *db,
                                 const struct quality_profile *target,
                                 size_t max, struct qu_candidate **out,
                                 size_t *n, int64_t *scanned, int64_t *below)
{
  struct walk w = {.target = target};
  *out = NULL;
  *n = 0;
  enum ss_err rc = db_library_upgrade_rows(db, on_row, &w);
  *scanned = w.scanned;
  *below = (int64_t)w.n;
  if (rc) {
    free(w.v);
    return rc;
  }
  if (w.n > 1)
    qsort_r(w.v, w.n, sizeof *w.v, worst_first, (void *)target);
  *n = w.n < max ? w.n : max;
  if (!*n) {
    free(w.v);
    return SS_OK;
  }
  *out = w.v;
  return SS_OK;
}

static const char *first(const char *a, const char *b)
{
  return a && a[0] ? a : b ? b : "";
}

/* The Wanted item for candidate c (display fields from its row). */
static enum ss_err want_one(struct db *db, const struct qu_candidate *c,
                            struct library_track *t, struct wanted_item *w,
                            int64_t now_ms, bool *added)
{
  enum ss_err rc = db_library_track_by_id(db, c->track_id, t);
  if (rc)
    return rc == SS_ENOTFOUND ? SS_OK : rc; /* gone since: skip */
  memset(w, 0, sizeof *w);
  w->kind = WANTED_TRACK;
  snprintf(w->source, sizeof w->source, "quality_upgrade");
  snprintf(w->norm_key, sizeof w->norm_key, QU_KEY_PREFIX "%lld",
           (long long)c->track_id);
  snprintf(w->artist, sizeof w->artist, "%s",
           first(t->media.artist, t->media.album_artist));
  snprintf(w->title, sizeof w->title, "%s", t->media.title);
  snprintf(w->album, sizeof w->album, "%s", t->media.album);
  w->auto_download = true;
  w->track_id = c->track_id;
  quality_describe(&c->q, w->current_quality, sizeof w->current_quality);
  int64_t id = 0;
  return db_wanted_add(db, w, now_ms, &id, added);
}

enum ss_err quality_upgrade_run(struct db *db, const struct qu_config *cfg,
                                int64_t now_ms, struct qu_result *out)
{
  struct qu_candidate *c = NULL;
  size_t n = 0;
  memset(out, 0, sizeof *out);
  size_t max = cfg->max_per_run > 0 ? (size_t)cfg->max_per_run : 0;
  enum ss_err rc = quality_upgrade_find(db, &cfg->target, max, &c, &n,
                                        &out->scanned, &out->below);
  struct library_track *t = xmalloc(sizeof *t);
  struct wanted_item *w = xmalloc(sizeof *w);
  for (size_t i = 0; !rc && i < n; i++) {
    bool added = false;
    rc = want_one(db, &c[i], t, w, now_ms, &added);
    out->added += added;
  }
  out->capped = (int)(out->below - (int64_t)n);
  if (out->added)
    log_info("automation",
             "quality upgrade: %d track(s) below the target "
             "wanted (%lld below, %d left for later)",
             out->added, (long long)out->below, out->capped);
  free(t);
  free(w);
  free(c);
  return rc;
}
