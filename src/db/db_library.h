/*
 * db_library.h - the local music library in the store: one row per audio
 * file under the library root, plus duplicate findings and the quarantine.
 *
 * Writers: the library scanner (Duplicate Detector's first step), the
 * import of finished downloads (Download Monitor).  A track is identified by
 * its path below the library root; `size` and `mtime_ns` let the scanner
 * skip unchanged files.  Same threading rules as db.h.
 */
#ifndef SS_DB_LIBRARY_H
#define SS_DB_LIBRARY_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "media/media.h"

#define LIBRARY_PATH_MAX 4096

struct library_track {
  int64_t id;                   /* 0 for a new row */
  char path[LIBRARY_PATH_MAX];  /* absolute path */
  int64_t size;
  int64_t mtime_ns;
  struct media_info media;
  char spotify_track_id[64];    /* "" when unknown */
  int64_t download_id;          /* 0 when not from a download request */
  bool gone;                    /* vanished from disk */
};

/* Inserts or updates the row with the same path, in one transaction;
 * *id gets its id (may be NULL). */
int db_library_track_upsert(struct db *db, const struct library_track *t,
                            int64_t *id);
/* SS_OK and *out filled, or SS_ENOTFOUND. */
int db_library_track_by_path(struct db *db, const char *path,
                             struct library_track *out);

#endif
