/*
 * fsutil.h - file operations confined to a root folder, and the one
 * no-replace move (import, quarantine resolve and undo).
 *
 * Every path handed in is absolute and must lie beneath the root given
 * with it (the root as configured or as realpath() resolves it).  The
 * root itself is opened normally (a configured root may be a symlink);
 * every component below it is resolved without following a symbolic
 * link and without leaving the root: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) where the kernel has it (Linux >= 5.6), else a
 * walk opening one component at a time with O_NOFOLLOW.  A folder swapped
 * for a symlink therefore makes the operation fail (SS_EINVAL, "... is a
 * symbolic link ...") instead of reaching outside.
 *
 * Any thread; no state besides the test switch.
 */
#ifndef SS_FSUTIL_H
#define SS_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/err.h"

/* Copies everything readable from `in` to `out` (retrying EINTR and short
 * writes).  Returns SS_OK or SS_EIO; the caller fsyncs and closes. */
enum ss_err fs_copy_fd(int in, int out);

/* The last folder name and the file name of a path as Soulseek peers
 * write it (either separator, "\\" or "/"); either may be "" when absent.
 * A string operation only: nothing is opened. */
void fs_split_peer_path(const char *remote, char *dir, size_t dn, char *base,
                        size_t bn);

/* The part of path below root ("" for root itself), or NULL when path
 * does not lie beneath root (textually, or below realpath(root)). */
const char *fs_below(const char *root, const char *path);

/*
 * Opens path beneath root with flags (O_CLOEXEC and O_NOFOLLOW are
 * added; mode for O_CREAT).  Returns the descriptor, or -1 with errno:
 * ELOOP when a component is a symlink, EXDEV when path is not beneath
 * root, as open(2) otherwise.
 */
int fs_open_beneath(const char *root, const char *path, int flags,
                    mode_t mode);
/* lstat of path beneath root.  SS_OK, SS_ENOTFOUND, SS_EINVAL (not
 * beneath root or a symlink on the way: err says which), SS_EIO. */
enum ss_err fs_lstat_beneath(const char *root, const char *path,
                             struct stat *st, char *err, size_t errlen);

/*
 * Moves the regular file src (beneath src_root) to dst (beneath dst_root)
 * without ever replacing dst; dst's missing folders are created (0755)
 * beneath dst_root.  rename(2) with RENAME_NOREPLACE (link + unlink where
 * unsupported); across file systems, or always with force_copy, a copy
 * to DSTDIR/.soulspot-<tag>.part keeping mode and times, fsync'ed, linked
 * into place, then the source is removed (if that fails, the copy goes
 * again: one copy, never two).  SS_OK; SS_EBUSY (dst exists); SS_EINVAL
 * (not beneath its root, a symlink on the way, src not a regular file);
 * SS_ENOTFOUND (src missing); SS_EIO.  err gets a readable reason.
 */
enum ss_err fs_move_beneath(const char *src_root, const char *src,
                            const char *dst_root, const char *dst,
                            const char *tag, bool force_copy, char *err,
                            size_t errlen);

/*
 * Brings a journaled move of src to dst to its end, whatever a crash
 * left: only src -> fs_move_beneath; only dst -> done; both, and dst is
 * src's finished copy (same inode, or same size and mtime: the copy keeps
 * times) -> src is removed; both, dst another file -> SS_EBUSY; neither
 * -> SS_ENOTFOUND.  Other codes as fs_move_beneath.  No step removes the
 * only copy of a file.
 */
enum ss_err fs_move_resume(const char *src_root, const char *src,
                           const char *dst_root, const char *dst,
                           const char *tag, bool force_copy, char *err,
                           size_t errlen);

/* mkdir -p of a root folder itself (as configured: may pass symlinks).
 * SS_OK, or SS_EIO with errno. */
enum ss_err fs_mkdir_p(const char *dir);

/* Tests: true forces the per-component walk as if the kernel had no
 * openat2.  Not thread-safe against running operations. */
void fs_force_component_walk(bool on);

#endif
