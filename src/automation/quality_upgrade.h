/*
 * quality_upgrade.h - the Quality Upgrade: library tracks whose measured
 * quality is below automation.quality_profile become Wanted items.
 *
 * A pass reads every present, readable, not quarantined library track
 * that no quality_upgrade item names yet (db_library_upgrade_rows) and
 * judges the quality the scanner MEASURED - codec, bitrate, bit depth,
 * sample rate; never the file name, so a ".flac" that is really a
 * 128 kbit/s MP3 counts as that MP3 - with THE comparator
 * (downloads/quality.h).
 *
 * The rule: automation.quality_profile names a target profile
 * (quality_target_profile: lossless / high / medium); a track is below
 * it when quality_rank() under that profile is -1, i.e. no entry accepts
 * it.  Every entry of the target counts as reaching it (an ALAC file
 * under "lossless" or a 256 kbit/s AAC under "high" is not wanted), so a
 * lossless file is never wanted at any level.
 *
 * Below-target tracks are wanted worst first (quality_cmp), at most
 * automation.quality_upgrade_max_per_run per pass; the rest wait for the
 * next pass.  Each becomes one item (db_wanted_add): kind track, source
 * quality_upgrade, norm_key "upgrade:<track id>" (one item per library
 * file, never merged with a "missing track" item of the same song),
 * track_id, current_quality ("mp3 128"), auto_download on.
 *
 * An item is never re-added while it exists: its state and next_try_ms
 * (the dispatcher's retry ladder, automation/wanted.h) decide when it is
 * tried again, a given_up or ignored item stays so, and an imported one
 * is done (its old file is in the quarantine; an undo does not bring the
 * item back).  The download side is downloads/requests.h
 * (dl_new.upgrade_track_id: only strictly better candidates) and the
 * import library/import.h (in place, the old file to the quarantine).
 *
 * Threading: the automation unit's thread with its own db.  Memory: the
 * candidate list of quality_upgrade_find is the caller's (free()).
 */
#ifndef SS_AUTOMATION_QUALITY_UPGRADE_H
#define SS_AUTOMATION_QUALITY_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "downloads/quality.h"

#define QU_KEY_PREFIX "upgrade:"

struct qu_config {
  struct quality_profile target; /* of automation.quality_profile */
  int max_per_run;               /* automation.quality_upgrade_max_per_run */
};

/* Reads the two settings.  SS_OK, or SS_EINVAL for an unknown level. */
enum ss_err qu_config_load(struct qu_config *cfg);
/* Parses a level ("lossless", "high", "medium") into cfg->target. */
enum ss_err qu_config_level(struct qu_config *cfg, const char *level);

/* True when the measured quality q is below the target (see above). */
bool qu_below_target(const struct quality_profile *target,
                     const struct quality_input *q);

struct qu_candidate {
  int64_t track_id;
  struct quality_input q; /* measured */
};

/*
 * The below-target tracks that no item names yet, worst first (then by
 * id), at most max in *out (malloc'ed, the caller frees; NULL when none).
 * *scanned gets the tracks looked at, *below all below the target (also
 * those beyond max).  SS_OK or SS_EDB.
 */
enum ss_err quality_upgrade_find(struct db *db,
                                 const struct quality_profile *target,
                                 size_t max, struct qu_candidate **out,
                                 size_t *n, int64_t *scanned, int64_t *below);

struct qu_result {
  int64_t scanned; /* tracks looked at */
  int64_t below;   /* below the target and not yet wanted */
  int added;       /* items added in this pass */
  int capped;      /* below the target, left for a later pass */
};

/* One pass: find, then add up to cfg->max_per_run items.  SS_OK or
 * SS_EDB. */
enum ss_err quality_upgrade_run(struct db *db, const struct qu_config *cfg,
                                int64_t now_ms, struct qu_result *out);

#endif
