/*
 * media_info.h - the tags and audio properties of one music file, as a
 * plain record.
 *
 * The media layer (src/media/media.h) fills it from a file; the library
 * store (src/db/db_library.h) keeps it per track; the library and API
 * read it.  Living here, below both, it lets the store hold the record
 * without depending on the media layer (libav, Chromaprint).
 *
 * Pure data and a pure function; any thread.
 */
#ifndef SS_MEDIA_INFO_H
#define SS_MEDIA_INFO_H

#include <stdbool.h>
#include <stdint.h>

#define MEDIA_TEXT_MAX 256
#define MEDIA_ID_MAX 40

/* Items of a Chromaprint raw fingerprint kept per file: about 8 per second
 * of audio, so 256 cover the first ~32 s. */
#define MEDIA_FP_MAX_ITEMS 256

struct media_info {
  char title[MEDIA_TEXT_MAX];
  char artist[MEDIA_TEXT_MAX];
  char album_artist[MEDIA_TEXT_MAX];
  char album[MEDIA_TEXT_MAX];
  char date[32]; /* as tagged, e.g. "2013-09-19" or "2013" */
  int year;      /* 0 when unknown */
  int track_no, track_total, disc_no, disc_total; /* 0 when unknown */
  int64_t duration_ms;
  char codec[32];     /* "flac", "mp3", "aac", "vorbis", "opus", "alac" */
  char container[32]; /* "flac", "mp3", "ogg", "mov,mp4,m4a,...", ... */
  int64_t bitrate;    /* bits per second (stream, else container) */
  int sample_rate;
  int bit_depth; /* 0 for lossy codecs */
  int channels;
  bool lossless;
  char mb_recording_id[MEDIA_ID_MAX];
  char mb_track_id[MEDIA_ID_MAX];
  char mb_album_id[MEDIA_ID_MAX];
  char mb_artist_id[MEDIA_ID_MAX];
  char mb_release_group_id[MEDIA_ID_MAX];
};

/* Number of filled tags among title, artist, album artist, album, date,
 * track and disc numbers and the MusicBrainz recording and album ids
 * (0-9): how complete a copy is tagged.  Pure; any thread. */
int media_tag_score(const struct media_info *m);

#endif
