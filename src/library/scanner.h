/*
 * scanner.h - the library scanner: walks the library root and keeps the
 * store's library_tracks in step with the files, incrementally.
 *
 * A file is probed (media_probe_fd) only when it is new or its size or
 * mtime changed; otherwise it is only marked seen.  The content hash
 * (XXH3-128) and the Chromaprint fingerprint are computed when asked for
 * and missing (new, changed, or never computed).  Rows are written in
 * batched transactions; files the scan did not meet and that are really
 * gone (or now outside the root) are marked gone at the end of a complete
 * scan, never after a canceled one.
 *
 * Never fatal per file: unreadable or corrupt files are remembered as such
 * with the reason (and counted; a file that crashes or hangs the media
 * helper too, see media.h), names that are not UTF-8 are counted and skipped,
 * symbolic links and dot files are skipped, and the quarantine folder is
 * never entered.  should_stop is polled between files.
 *
 * Threading: the calling thread owns db; nothing is shared.
 */
#ifndef SS_LIBRARY_SCANNER_H
#define SS_LIBRARY_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

#define SCANNER_BATCH_DEFAULT 500
#define SCANNER_MAX_DEPTH 48
#define SCANNER_FP_SECONDS 30

struct scanner_opts {
  const char *root;       /* the library folder */
  const char *quarantine; /* never entered; may be NULL */
  bool want_hash;
  bool want_fingerprint;
  size_t batch;                   /* rows per transaction; 0 = default */
  bool (*should_stop)(void *arg); /* may be NULL */
  void *stop_arg;
};

struct scanner_stats {
  size_t files;  /* audio files met (tracks examined) */
  size_t probed; /* new or changed, probed */
  size_t unchanged;
  size_t unreadable;      /* probed without success in this scan */
  size_t analysis_failed; /* of those (or fingerprints), the helper crashed
                           * or took too long (media.h, SS_EKILLED) */
  size_t bad_names;       /* names that are not UTF-8 (files or folders) */
  size_t hashed;
  size_t fingerprinted;
  size_t gone; /* rows marked gone */
  size_t dirs;
};

/*
 * Scans once.  SS_OK; SS_ENOTFOUND / SS_EINVAL when the root is missing or
 * not a folder; SS_ECANCELED when should_stop said so (the rows written so
 * far stay); SS_EDB on a store failure.  err gets a readable reason.
 */
enum ss_err scanner_run(struct db *db, const struct scanner_opts *opts,
                        struct scanner_stats *stats, char *err, size_t errlen);

/* True for names with an audio extension the scanner probes. */
bool scanner_is_audio_name(const char *name);
/* True when s is valid UTF-8. */
bool scanner_valid_utf8(const char *s);
/* XXH3-128 of the content of fd as 32 lowercase hex digits. */
enum ss_err scanner_hash_fd(int fd, char out[33]);

#endif
