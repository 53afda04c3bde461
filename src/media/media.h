/*
 * media.h - tags and audio properties of a music file (libavformat).
 *
 * One call reads everything soulspotd needs to judge, name and
 * de-duplicate a file: the generic tag dictionary across ID3v2, Vorbis
 * comments and MP4 atoms (title, artist, album artist, album, date, track
 * and disc numbers, MusicBrainz ids) and the audio stream's properties
 * (codec, bitrate, sample rate, bit depth, channels, duration, lossless).
 *
 * Pure with respect to soulspotd state; any thread; no allocation survives
 * the call.  Corrupt, truncated or non-audio files return SS_EPROTO (or
 * SS_EIO when unreadable) with a readable reason in err.
 */
#ifndef SS_MEDIA_H
#define SS_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "core/media_info.h" /* the record it fills */

/* Call once at start-up before threads (quiets libav logging).  Also safe
 * to call again from any thread: later calls do nothing. */
void media_init(void);
/* Reads tags and audio properties of the file at path into *out. */
int media_probe(const char *path, struct media_info *out, char *err,
                size_t errlen);

/*
 * Same, reading from an open file descriptor (seekable, positioned
 * anywhere; the caller keeps ownership).  name is the file's name, used
 * only as a format hint (its extension) and in messages.  The scanner
 * opens files itself (O_NOFOLLOW) and hands the fd here, so no path is
 * resolved twice.
 */
int media_probe_fd(int fd, const char *name, struct media_info *out,
                   char *err, size_t errlen);

/*
 * Decodes up to the first max_seconds of the audio stream of fd and
 * computes its raw Chromaprint fingerprint into fp (at most
 * MEDIA_FP_MAX_ITEMS items); *n gets the count (0 for silence too short to
 * fingerprint).  SS_EPROTO for undecodable audio.  Any thread.
 */
int media_fingerprint_fd(int fd, const char *name, int max_seconds,
                         uint32_t *fp, size_t *n, char *err, size_t errlen);

#endif
