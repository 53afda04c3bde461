/*
 * cleanup_walk.h - finds and deletes orphaned files below one root folder
 * without ever following a symbolic link or leaving the root.
 *
 * Orphan: a regular file older than the cutoff (mtime) that is either
 *   - anywhere below a temp root (all_files), or
 *   - named *.part, *.tmp or *.partial (any case), or
 *   - below a folder named "incomplete" or ".incomplete" (where slskd
 *     keeps unfinished transfers),
 * and is not the file of an active download (the check the download
 * module registers with cleanup_set_active_download_check()).
 *
 * The walk holds an open descriptor per folder level: folders are opened
 * with openat(O_DIRECTORY | O_NOFOLLOW) relative to their parent and
 * checked to be on the root's file system; entries are typed by readdir
 * (links are never followed, files that cannot be orphans are not even
 * stat'ed), candidates examined with fstatat(AT_SYMLINK_NOFOLLOW) and
 * removed with unlinkat() relative to their folder, right after a last
 * fstatat() shows the same regular file
 * (device, inode, size, mtime) - a file swapped for a symlink or another
 * file in between is skipped.  Symbolic links are never followed nor
 * removed; other file systems mounted below the root are not entered.
 * Empty folders are removed (never the root) when they were old enough or
 * the walk emptied them.  Caps bound files and bytes per walk; a dry run
 * counts what would go and touches nothing.
 *
 * Threading: cleanup_walk() runs on the caller's thread; the active
 * download check may be set from any thread and is read atomically.
 */
#ifndef SS_LIBRARY_CLEANUP_WALK_H
#define SS_LIBRARY_CLEANUP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define CLEANUP_MAX_DEPTH 64

/* True when path (absolute) belongs to a download still in progress. */
typedef bool (*cleanup_active_fn)(const char *path);

/* Registers the download module's check (NULL = none active).  Any
 * thread; the function must be thread-safe. */
void cleanup_set_active_download_check(cleanup_active_fn fn);
/* Asks the registered check; false when none is registered. */
bool cleanup_is_active_download(const char *path);

/* True for *.part, *.tmp, *.partial (case-insensitive). */
bool cleanup_is_orphan_name(const char *name);
/* True for "incomplete" / ".incomplete" (case-insensitive). */
bool cleanup_is_incomplete_dir(const char *name);

struct cleanup_opts {
  int64_t cutoff_s; /* wall seconds: orphans have mtime < cutoff_s */
  bool all_files;   /* temp root: every file qualifies */
  bool dry_run;
  int64_t max_files; /* budget of this walk (> 0) */
  int64_t max_bytes;
  bool (*should_stop)(void *arg); /* may be NULL; polled per entry */
  void *stop_arg;
  /* Test hook: runs right before the last check and the unlinkat(). */
  void (*before_delete)(void *arg, int dirfd, const char *name);
  void *hook_arg;
};

struct cleanup_result {
  int64_t files; /* deleted, or would be in a dry run */
  int64_t bytes;
  int64_t dirs;            /* empty folders removed */
  int64_t skipped_active;  /* files of active downloads */
  int64_t skipped_changed; /* changed between scan and delete */
  int64_t skipped_links;   /* symbolic links met (never followed) */
  int64_t errors;          /* entries that could not be examined/removed */
  bool capped;             /* stopped or skipped files because of a cap */
  bool canceled;
};

/*
 * Walks root once.  SS_OK (also when capped or canceled: see the result);
 * SS_ENOTFOUND when root does not exist; SS_EINVAL when it is not a
 * folder, is a symbolic link, or is "/".  err gets a readable reason.
 */
enum ss_err cleanup_walk(const char *root, const struct cleanup_opts *opts,
                         struct cleanup_result *res, char *err, size_t errlen);

#endif
