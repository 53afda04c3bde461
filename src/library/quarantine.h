/*
 * quarantine.h - resolving duplicate groups by moving the other copies
 * into a quarantine folder, and undoing that, crash-safely.
 *
 * A resolution keeps one member of an open group (the user's choice, else
 * the keep-best suggestion) and moves every other present copy to
 * QUARANTINE/<path relative to the library root> (" (2)" etc. appended
 * when that name is taken); the group becomes "resolved".  Undo moves
 * every recorded file back to its original path - never over an existing
 * file - and reopens the group.
 *
 * Every move is journaled in its library_quarantine row (db_library.h):
 * intent -> move -> commit.  After a kill -9 at any point,
 * quarantine_recover() (run at start, before every resolve, undo and
 * scan) rolls each pending move forward (finishing it with
 * fs_move_resume) or back (the file never left, or its target was taken),
 * so every file is either in the library or recorded in the quarantine,
 * and a resolved group with nothing left in the quarantine is open again.
 *
 * Moves go through fs_move_beneath (core/fsutil.h): never replacing, and
 * never through a symlink below the library or quarantine folder - a
 * folder swapped for a symlink makes that copy fail with a readable
 * reason instead of moving a file from (or to) outside.
 *
 * Crash points for the kill -9 tests (core/testhook.h, test build only):
 * resolve_intended, resolve_moved, undo_intended, undo_moved (and copied,
 * inside a move across file systems).
 *
 * Threading: any thread with its own db (HTTP handlers open one); resolve,
 * undo and recovery are serialised by one process-wide lock.
 */
#ifndef SS_LIBRARY_QUARANTINE_H
#define SS_LIBRARY_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

#define QUARANTINE_MSG_MAX 320

struct quarantine_result {
  size_t moved;  /* files moved (resolve) or restored (undo) */
  size_t failed; /* files left where they were */
  char message[QUARANTINE_MSG_MAX]; /* readable summary or first problem */
};

/* The quarantine folder: library.quarantine_path, else
 * server.data_dir/quarantine.  Writes into out and returns it. */
const char *quarantine_dir(char *out, size_t n);

/*
 * Resolves group_id keeping track keep (0 = the chosen or suggested
 * keeper).  SS_OK when every other copy moved; SS_ENOTFOUND (no such
 * group, or keep is not a member); SS_ESTATE (group not open, or the copy
 * to keep is missing); SS_EIO when some copies could not be moved (those
 * that did are recorded and can be undone).
 */
enum ss_err quarantine_resolve(struct db *db, int64_t group_id, int64_t keep,
                               const char *library_root, const char *qdir,
                               int64_t now_ms, struct quarantine_result *res);

/*
 * Moves the group's quarantined files back.  SS_OK when all came back
 * (the group is open again); SS_ENOTFOUND for no such group; SS_ESTATE
 * when nothing is in the quarantine; SS_EBUSY when some original path is
 * taken (those files stay in the quarantine); SS_EIO otherwise.
 */
enum ss_err quarantine_undo(struct db *db, int64_t group_id,
                            const char *library_root, const char *qdir,
                            int64_t now_ms, struct quarantine_result *res);

/*
 * Settles every journaled move a crash left pending (see above).
 * res->moved counts moves settled, res->failed those left pending (a
 * folder unreachable or a store failure; retried next time).  SS_OK, or
 * SS_EIO when some are left.
 */
enum ss_err quarantine_recover(struct db *db, const char *library_root,
                               const char *qdir, int64_t now_ms,
                               struct quarantine_result *res);
/* quarantine_recover with the configured folders (at start), logging
 * what it settled. */
enum ss_err quarantine_recover_configured(struct db *db);

/*
 * Quality upgrade (import.h): moves library track track_id's file into
 * the quarantine, journaled like a resolve, under the upgrade's duplicate
 * group (db_library_upgrade_group, label shown on the duplicates page),
 * so that quarantine_undo of *group_id brings it back.  SS_OK when the
 * file is in the quarantine - also when an earlier call put it there (a
 * resumed import); SS_ENOTFOUND when it is not in the library any more
 * (gone, moved by hand, or quarantined by a duplicate resolution);
 * otherwise err says why and the file stayed.
 */
enum ss_err quarantine_replaced(struct db *db, int64_t track_id,
                                const char *label, const char *library_root,
                                const char *qdir, int64_t now_ms,
                                int64_t *group_id, char *err, size_t errlen);

#endif
