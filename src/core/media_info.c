/*
 * media_info.c - the one function of the plain media record: how complete
 * its tags are (media_info.h).
 */
#include "core/media_info.h"

#include <stddef.h>

int media_tag_score(const struct media_info *m)
{
  if (!m)
    return 0;
  return !!m->title[0] + !!m->artist[0] + !!m->album_artist[0] +
         !!m->album[0] + (m->date[0] || m->year) + (m->track_no > 0) +
         (m->disc_no > 0) + !!m->mb_recording_id[0] + !!m->mb_album_id[0];
}
