/*
 * fsutil.h - small file-system helpers shared by the import and the
 * quarantine (both move files across file systems safely).
 * Any thread; no state.
 */
#ifndef SS_FSUTIL_H
#define SS_FSUTIL_H

/* Copies everything readable from `in` to `out` (retrying EINTR and short
 * writes).  Returns SS_OK or SS_EIO; the caller fsyncs and closes. */
int fs_copy_fd(int in, int out);

#endif
