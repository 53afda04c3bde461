/*
 * quality.h - THE quality comparator of soulspotd.
 *
 * A quality profile is an ordered list of accepted formats, best first,
 * as written in download.quality_profile:
 *   "flac,alac,wav,mp3-320,aac-256,ogg-320,mp3-v0,mp3-256,mp3-192"
 * Each entry is a format and an optional qualifier:
 *   lossless (flac, alac, wav, aiff, ape, wv): a minimum bit depth
 *     ("flac-24"); without one any bit depth is accepted;
 *   lossy (mp3, aac, ogg, opus, wma): a minimum bitrate in kbit/s
 *     ("mp3-320", 3 % tolerance for peers' rounding) or an MP3 VBR preset
 *     ("mp3-v0": VBR averaging >= 220 kbit/s, "mp3-v2": >= 170).
 *
 * A file is described by struct quality_input, built from what a search
 * result reports (quality_from_search) or what the media probe read from
 * a file on disk (quality_from_codec), so search candidates and library
 * files are judged by the same rule.  A file's rank is the index of the
 * first entry it satisfies (-1: not accepted).  quality_cmp orders two
 * files: accepted before not accepted, lower rank first, then higher bit
 * depth, sample rate and bitrate (16 kbit/s steps).  The download ranking
 * and the automation's quality upgrade both call quality_cmp; nothing else
 * judges quality.
 *
 * Pure functions; any thread.
 */
#ifndef SS_QUALITY_H
#define SS_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define QUALITY_MAX_ENTRIES 32
#define QUALITY_FORMAT_MAX 8

struct quality_entry {
  char format[QUALITY_FORMAT_MAX]; /* canonical: "flac", "mp3", ... */
  int min_kbps;                    /* lossy minimum; 0 = any */
  int vbr_min_kbps;  /* "v0"/"v2": VBR with this average; 0 = none */
  int min_bit_depth; /* lossless minimum; 0 = any */
};

struct quality_profile {
  struct quality_entry e[QUALITY_MAX_ENTRIES];
  size_t n;
};

struct quality_input {
  char format[QUALITY_FORMAT_MAX]; /* canonical; "" when unknown */
  int bitrate_kbps;                /* 0 when unknown */
  bool vbr;
  int bit_depth;   /* 0 when unknown */
  int sample_rate; /* Hz; 0 when unknown */
};

/* Parses a profile.  SS_OK, or SS_EINVAL naming the bad entry in err. */
enum ss_err quality_profile_parse(const char *text,
                                  struct quality_profile *out, char *err,
                                  size_t errlen);
/* True for a canonical lossless format. */
bool quality_is_lossless(const char *format);

/*
 * From a search result: the extension (from the file name), the audio
 * attributes the peer reported (0 / false when omitted), size in bytes and
 * length in seconds (used to estimate a missing bitrate).  "m4a"/"mp4" is
 * ALAC when a bit depth or >= 500 kbit/s is reported, else AAC.
 */
void quality_from_search(const char *ext, int bitrate_kbps, bool vbr,
                         int bit_depth, int sample_rate, int64_t size,
                         int length_s, struct quality_input *out);
/* From a probed file: libav codec name ("flac", "mp3", "aac", "vorbis",
 * "opus", "alac", "pcm_s16le", ...), bitrate in bit/s, bit depth and
 * sample rate.  A lossy file is VBR when vbr is set. */
void quality_from_codec(const char *codec, int64_t bitrate_bps, bool vbr,
                        int bit_depth, int sample_rate,
                        struct quality_input *out);

/* Index of the first entry q satisfies; -1 when not accepted. */
int quality_rank(const struct quality_profile *p,
                 const struct quality_input *q);
/* < 0 when a is better, > 0 when b is, 0 when equal in quality. */
int quality_cmp(const struct quality_profile *p, const struct quality_input *a,
                const struct quality_input *b);
/* True when cand is accepted and strictly better than have - and never a
 * lossy file for a lossless one, whatever the profile says. */
bool quality_is_upgrade(const struct quality_profile *p,
                        const struct quality_input *cand,
                        const struct quality_input *have);
/*
 * The target of automation.quality_profile as a profile text for
 * quality_profile_parse (NULL for an unknown level):
 *   lossless: any lossless format;
 *   high:     lossless, or lossy of at least mp3 224 (V0 averages ~245),
 *             aac 256, ogg 256, opus 160 kbit/s;
 *   medium:   as high, or lossy of at least mp3 192, aac 160, ogg 192,
 *             opus 128 kbit/s.
 * A library file is below the target when quality_rank() under it is -1
 * (the quality upgrade wants it); a download for it must be accepted by
 * the target and strictly better (quality_is_upgrade).  Every entry of a
 * level counts as reaching it, so an ALAC file is never "upgraded" to
 * FLAC nor a 256 kbit/s AAC to a 320 kbit/s MP3.  VBR presets are not
 * used: the scanner measures the bitrate, not whether it varies.
 */
const char *quality_target_profile(const char *level);
/* "flac 24/96", "mp3 320", "mp3 VBR 245", "?" for display. */
void quality_describe(const struct quality_input *q, char *out, size_t n);

#endif
