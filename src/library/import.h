/*
 * import.h - moves a finished download into the library, crash-safely.
 *
 * A file slskd finished lies at DOWNLOADS/<remote folder>/<name>
 * (download.slskd_download_path as soulspotd sees it).  Its import:
 *
 *   1. probe tags and audio properties (media_probe);
 *   2. render download.naming_template with them below library.path,
 *      every component sanitised (no '/', '\', "..", leading dots or
 *      control characters; <>:"|?* become '_'; 180-byte components, a
 *      1024-byte path), a free name chosen (" (2)" ... when taken);
 *   3. JOURNAL: store src and dst in the file's row (state importing);
 *   4. move (fs_move_beneath, core/fsutil.h): rename(2) without
 *      replacing (RENAME_NOREPLACE); across file systems copy into
 *      DIR/.soulspot-import-<id>.part, fsync, link into place, fsync the
 *      folder, then remove the source.  Every path below the download
 *      and library folders is resolved without following a symlink: a
 *      symlinked artist folder makes the import fail, nothing is written
 *      through it;
 *   5. upsert the library track (keyed by its path, so never twice), with
 *      the request id and, for a Spotify track request, the Spotify id;
 *      when the tags name no MusicBrainz release, the request's release
 *      group and release (a Wanted item's ids, dl_new.mb_*) instead;
 *   6. mark the file imported;
 *   7. with library.save_cover_art, the album's cover.jpg from the Cover
 *      Art Archive when its tags (or its request, step 5) name a
 *      MusicBrainz release or release group and the folder has none
 *      (library/cover.h; never fails the import).
 *
 * A quality upgrade (a request made with dl_new.upgrade_track_id) is
 * imported in place of the library file it replaces: the downloaded file
 * is probed and must be strictly better than that file by the comparator
 * (quality_is_upgrade; otherwise the file fails and the request tries the
 * next source); it goes to the old file's folder and name with its own
 * extension (" (2)" when a foreign file has that name); after the journal
 * (3) the old file moves into the quarantine (quarantine_replaced: its own
 * journal, undone by the duplicates undo of the upgrade's group) and only
 * then the new one into place; when that move fails the old file is
 * restored.  The new row keeps the old row's Spotify id when the request
 * has none; tags are the new file's own.
 *
 * After a kill -9 at any moment the next poll finds the row in state
 * completed (nothing happened: start over) or importing (journaled) and
 * resumes from what exists on disk: source only -> move again; target
 * only -> moved, continue; both -> a finished copy (fs_move_resume: remove the
 * source) or a foreign file at the target (choose a new name); neither ->
 * the file is lost, which fails the file so it is downloaded again.  No
 * step deletes the only copy of a file.
 *
 * Crash points for the kill -9 tests (core/testhook.h, test build only):
 * journaled, copied, moved, upserted.
 *
 * Threading: any thread with its own db.  Pure helpers are any-thread.
 */
#ifndef SS_IMPORT_H
#define SS_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_downloads.h"
#include "downloads/quality.h"

#define IMPORT_COMPONENT_MAX 180
#define IMPORT_PATH_MAX 1024

struct import_config {
  char download_root[SETTING_STR_MAX];
  char library_root[SETTING_STR_MAX];
  char naming_template[SETTING_STR_MAX];
  bool force_copy; /* tests: always take the cross-file-system path */
  /* quality upgrades: automation.quality_profile's target and the
   * quarantine folder (library.quarantine_path, else the data folder's) */
  struct quality_profile upgrade_target;
  char quarantine_dir[SETTING_STR_MAX];
};

/* Reads library.path, download.slskd_download_path and the template. */
void import_config_load(struct import_config *cfg);

struct import_fields {
  const char *albumartist, *artist, *album, *title, *ext;
  int year, disc, track;
};

/*
 * Renders tmpl with f into a relative path (components joined by '/').
 * Placeholders: {albumartist} {artist} {album} {title} {year} {disc}
 * {track} (two digits) {ext}; unknown ones render empty.  Empty brackets
 * left by empty values are dropped; ".ext" is appended when the template
 * does not end in it (only an ext of 1-15 ASCII letters and digits is
 * appended).  SS_OK, or SS_EINVAL when nothing usable remains or the path
 * is too long.
 */
enum ss_err import_render(const char *tmpl, const struct import_fields *f,
                          char *out, size_t n);
/* One safe path component from arbitrary text (see above); "_" when
 * nothing is left. */
void import_sanitize(const char *in, char *out, size_t n);
/* DOWNLOADS/<remote folder>/<name> of a remote path.  SS_EINVAL when a
 * part is unusable (empty, ".", ".."). */
enum ss_err import_source_path(const char *root, const char *remote, char *out,
                               size_t n);

/*
 * Imports finished file f (state completed or importing); the
 * dl_import_fn of requests.h (arg is a struct import_config).  SS_OK,
 * SS_ENOTFOUND (not there yet), SS_ESTATE (folders not configured),
 * SS_EPROTO (not audio), SS_EIO.
 */
enum ss_err import_file(void *cfg, struct db *db, const struct dl_file *f,
                        char *err, size_t errlen);

#endif
