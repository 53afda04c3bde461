/*
 * media.h - tags and audio properties of a music file, read by a helper
 * process (soulspotd-probe, libavformat + Chromaprint; issue 10).
 *
 * One call reads everything soulspotd needs to judge, name and
 * de-duplicate a file: the generic tag dictionary across ID3v2, Vorbis
 * comments and MP4 atoms (title, artist, album artist, album, date, track
 * and disc numbers, MusicBrainz ids) and the audio stream's properties
 * (codec, bitrate, sample rate, bit depth, channels, duration, lossless).
 *
 * The daemon links no media library: each call hands the file's
 * descriptor to a sandboxed helper from a small pool and waits for its
 * reply (see media.c).  Corrupt, truncated or non-audio files return
 * SS_EPROTO (or SS_EIO when unreadable) with a readable reason in err.
 * A helper that crashes or outlives the wall-clock limit is killed and
 * replaced, and the call returns SS_EKILLED with err "analysis crashed:
 * signal 11" or "analysis took longer than 30 s".
 *
 * Any thread; calls from several threads use several helpers, up to the
 * pool's size, and wait for one beyond it.
 */
#ifndef SS_MEDIA_H
#define SS_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/media_info.h" /* the record it fills */

/* The helper pool's settings. */
struct media_pool_opts {
  const char *helper; /* soulspotd-probe to run; NULL: $SOULSPOT_PROBE, else
                       * the one beside the running executable */
  int helpers;        /* at most this many at once; 0: one per core */
  int timeout_s;      /* wall-clock limit per file; 0: 30 */
  int idle_s;         /* an idle helper is stopped after this; 0: 60 */
};

/* Nothing to set up (kept for callers; the pool starts helpers on first
 * use).  Any thread. */
void media_init(void);
/* Sets the pool's settings (copied); running helpers keep working and
 * the new limits apply to the next call.  Any thread. */
void media_pool_configure(const struct media_pool_opts *o);
/* Stops every helper (waits for calls in progress to finish first).
 * The pool may be used again afterwards.  Any thread. */
void media_pool_shutdown(void);
/* Helpers running now. */
int media_pool_running(void);
/* Reads tags and audio properties of the file at path into *out. */
enum ss_err media_probe(const char *path, struct media_info *out, char *err,
                        size_t errlen);

/*
 * Same, reading from an open file descriptor (seekable, positioned
 * anywhere; the caller keeps ownership).  name is the file's name, used
 * only as a format hint (its extension) and in messages.  The scanner
 * opens files itself (O_NOFOLLOW) and hands the fd here, so no path is
 * resolved twice; the helper gets this descriptor, never a path.
 */
enum ss_err media_probe_fd(int fd, const char *name, struct media_info *out,
                           char *err, size_t errlen);

/*
 * Decodes up to the first max_seconds of the audio stream of fd and
 * computes its raw Chromaprint fingerprint into fp (at most
 * MEDIA_FP_MAX_ITEMS items); *n gets the count (0 for silence too short to
 * fingerprint).  SS_EPROTO for undecodable audio.  Any thread.
 */
enum ss_err media_fingerprint_fd(int fd, const char *name, int max_seconds,
                                 uint32_t *fp, size_t *n, char *err,
                                 size_t errlen);

#endif
