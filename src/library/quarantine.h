/*
 * quarantine.h - resolving duplicate groups by moving the other copies
 * into a quarantine folder, and undoing that.
 *
 * A resolution keeps one member of an open group (the user's choice, else
 * the keep-best suggestion) and moves every other present copy to
 * QUARANTINE/<path relative to the library root> (" (2)" etc. appended
 * when that name is taken), recording each move in the store; the group
 * becomes "resolved".  Undo moves every recorded file back to its original
 * path - never over an existing file - and reopens the group.
 *
 * Moves never overwrite: rename(2) with RENAME_NOREPLACE (link+unlink
 * where that flag is unsupported); across file systems the file is copied
 * to a temporary name, fsync'ed, its mode and times kept, linked into
 * place and only then is the source unlinked.
 *
 * Threading: any thread with its own db (HTTP handlers open one).  Two
 * resolutions of the same group at once are not expected; the store's
 * records stay consistent either way.
 */
#ifndef SS_LIBRARY_QUARANTINE_H
#define SS_LIBRARY_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define QUARANTINE_MSG_MAX 320

struct quarantine_result {
  size_t moved;     /* files moved (resolve) or restored (undo) */
  size_t failed;    /* files left where they were */
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
int quarantine_resolve(struct db *db, int64_t group_id, int64_t keep,
                       const char *library_root, const char *qdir,
                       int64_t now_ms, struct quarantine_result *res);

/*
 * Moves the group's quarantined files back.  SS_OK when all came back
 * (the group is open again); SS_ENOTFOUND for no such group; SS_ESTATE
 * when nothing is in the quarantine; SS_EBUSY when some original path is
 * taken (those files stay in the quarantine).
 */
int quarantine_undo(struct db *db, int64_t group_id, int64_t now_ms,
                    struct quarantine_result *res);

/* Moves src to dst without ever replacing dst (see above); creates dst's
 * missing parent folders.  SS_OK, SS_EBUSY (dst exists), SS_EIO. */
int quarantine_move_file(const char *src, const char *dst, char *err,
                         size_t errlen);

#endif
