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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_TEXT_MAX 256
#define MEDIA_ID_MAX 40

struct media_info {
  char title[MEDIA_TEXT_MAX];
  char artist[MEDIA_TEXT_MAX];
  char album_artist[MEDIA_TEXT_MAX];
  char album[MEDIA_TEXT_MAX];
  char date[32];        /* as tagged, e.g. "2013-09-19" or "2013" */
  int year;             /* 0 when unknown */
  int track_no, track_total, disc_no, disc_total; /* 0 when unknown */
  int64_t duration_ms;
  char codec[32];       /* "flac", "mp3", "aac", "vorbis", "opus", "alac" */
  char container[32];   /* "flac", "mp3", "ogg", "mov,mp4,m4a,...", ... */
  int64_t bitrate;      /* bits per second (stream, else container) */
  int sample_rate;
  int bit_depth;        /* 0 for lossy codecs */
  int channels;
  bool lossless;
  char mb_recording_id[MEDIA_ID_MAX];
  char mb_track_id[MEDIA_ID_MAX];
  char mb_album_id[MEDIA_ID_MAX];
  char mb_artist_id[MEDIA_ID_MAX];
  char mb_release_group_id[MEDIA_ID_MAX];
};

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

/* Number of filled tags among title, artist, album artist, album, date,
 * track and disc numbers and the MusicBrainz recording and album ids
 * (0-9): how complete a copy is tagged.  Pure; any thread. */
int media_tag_score(const struct media_info *m);

/* Items of a Chromaprint raw fingerprint kept per file: about 8 per second
 * of audio, so 256 cover the first ~32 s. */
#define MEDIA_FP_MAX_ITEMS 256

/*
 * Decodes up to the first max_seconds of the audio stream of fd and
 * computes its raw Chromaprint fingerprint into fp (at most
 * MEDIA_FP_MAX_ITEMS items); *n gets the count (0 for silence too short to
 * fingerprint).  SS_EPROTO for undecodable audio.  Any thread.
 */
int media_fingerprint_fd(int fd, const char *name, int max_seconds,
                         uint32_t *fp, size_t *n, char *err, size_t errlen);

#endif
