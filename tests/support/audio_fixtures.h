/*
 * audio_fixtures.h - real, short, tagged audio files for the library tests,
 * generated on the fly with Debian's ffmpeg (no audio is committed).
 *
 * af_make() renders a melody (a sequence of tones chosen by `tune`, so two
 * tunes give different audio and fingerprints) of `seconds` length into
 * path; the extension picks the format (.flac, .mp3, .ogg, .opus, .m4a,
 * .wav) and args adds encoder options (e.g. "-b:a 128k").  Tags are set
 * when non-NULL.  ffmpeg runs without a shell (posix_spawnp) with stdin
 * closed, so odd file names are safe.
 *
 * Threading: main test thread only.
 */
#ifndef SS_TEST_AUDIO_FIXTURES_H
#define SS_TEST_AUDIO_FIXTURES_H

#include <stdbool.h>

struct af_spec {
  const char *title, *artist, *album_artist, *album, *date;
  int track;              /* 0 = no track tag */
  int seconds;            /* 0 = 6 */
  int tune;               /* melody variant */
  int sample_rate;        /* 0 = 44100 */
  const char *sample_fmt; /* "s16", "s32" (24-bit FLAC) or NULL */
  const char *args;       /* extra encoder options, space-separated, or NULL */
};

/* True when ffmpeg can be run. */
bool af_available(void);
/* Renders spec into path.  0 on success, -1 (with a message) otherwise. */
int af_make(const char *path, const struct af_spec *spec);
/* Writes len bytes of garbage (a "corrupt" audio file). */
int af_make_garbage(const char *path, int len);
/* Copies the first len bytes of src into dst (a truncated file). */
int af_truncate_copy(const char *src, const char *dst, long len);

#endif
