/*
 * cover.h - cover.jpg for an imported album (issue 8 point 7).
 *
 * After a file is imported (library/import.c), cover_after_import() puts
 * the album's front cover from the Cover Art Archive beside it, when
 * library.save_cover_art is on, the file's tags name a MusicBrainz
 * release (MUSICBRAINZ_ALBUMID; else its release group) and the folder
 * has no cover.jpg / cover.png yet.  The image passes the client's checks
 * (clients/coverart.h: JPEG or PNG by type and signature, at most
 * CAA_IMAGE_MAX bytes, nothing written unless all of it passed) and is
 * written atomically; an existing cover is never replaced.  Each album
 * folder is tried at most once per COVER_RETRY_MS (the other tracks of
 * the same album do not ask again).  A missing or refused cover never
 * fails the import: the reason is logged and returned in note.
 *
 * Threading: any thread (the recent-folder memory is locked).
 */
#ifndef SS_LIBRARY_COVER_H
#define SS_LIBRARY_COVER_H

#include <stddef.h>

#include "core/media_info.h"

#define COVER_RETRY_MS (6LL * 3600 * 1000)

enum cover_outcome {
  COVER_SAVED,   /* written now */
  COVER_SKIPPED, /* off, no MBID, a cover exists, or tried recently */
  COVER_FAILED   /* no cover, refused (size, type), network: see note */
};

/* library_root + dst (the imported file, relative to it); m: its tags. */
enum cover_outcome cover_after_import(const char *library_root,
                                      const char *dst,
                                      const struct media_info *m, char *note,
                                      size_t n);
/* Forgets the folders tried (tests). */
void cover_reset(void);

#endif
