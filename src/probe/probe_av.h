/*
 * probe_av.h - tags, audio properties and Chromaprint fingerprints of a
 * music file read from a descriptor (libavformat, libavcodec,
 * Chromaprint).  Only soulspotd-probe links this; the daemon reaches it
 * through media.h, which hands the descriptor to a helper process.
 *
 * Pure with respect to soulspotd state; any thread; no allocation
 * survives a call.  Corrupt, truncated or non-audio input returns
 * SS_EPROTO (or SS_EIO when unreadable) with a readable reason in err.
 */
#ifndef SS_PROBE_AV_H
#define SS_PROBE_AV_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/media_info.h"

/* Once, before the first read (quiets libav logging); later calls do
 * nothing. */
void probe_av_init(void);

/* Reads tags and audio properties of fd (seekable, rewound first; the
 * caller keeps it) into *out.  name is a format hint (its extension) only. */
enum ss_err probe_av_read(int fd, const char *name, struct media_info *out,
                          char *err, size_t errlen);

/* Decodes up to the first max_seconds of fd's audio and computes its raw
 * Chromaprint fingerprint into fp (at most MEDIA_FP_MAX_ITEMS items); *n
 * gets the count.  SS_EPROTO for undecodable audio. */
enum ss_err probe_av_fingerprint(int fd, const char *name, int max_seconds,
                                 uint32_t *fp, size_t *n, char *err,
                                 size_t errlen);

#endif
