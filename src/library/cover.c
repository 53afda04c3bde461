/*
 * cover.c - cover.jpg for an imported album (see cover.h).
 *
 * What: the album folder is the imported file's folder below the library
 * root; a small ring of recently tried folders (FNV-1a of the path, with
 * the time) keeps one album's tracks from asking the archive once each.
 * The fetch and the atomic write are clients/coverart.c's.
 */
#include "library/cover.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clients/coverart.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define RECENT 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  uint64_t hash;
  int64_t at_ms;
} recent[RECENT];
static size_t next_slot;

void cover_reset(void)
{
  pthread_mutex_lock(&mu);
  memset(recent, 0, sizeof recent);
  next_slot = 0;
  pthread_mutex_unlock(&mu);
}

static uint64_t fnv1a(const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* True (and the folder remembered) unless it was tried recently. */
static bool first_try(const char *dir, int64_t now)
{
  uint64_t h = fnv1a(dir);
  bool fresh = true;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < RECENT && fresh; i++)
    if (recent[i].hash == h && recent[i].at_ms &&
        now - recent[i].at_ms < COVER_RETRY_MS)
      fresh = false;
  if (fresh) {
    recent[next_slot].hash = h;
    recent[next_slot].at_ms = now;
    next_slot = (next_slot + 1) % RECENT;
  }
  pthread_mutex_unlock(&mu);
  return fresh;
}

static bool exists(const char *dir, const char *name)
{
  char p[4096];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return lstat(p, &st) == 0;
}

enum cover_outcome cover_after_import(const char *library_root,
                                      const char *dst,
                                      const struct media_info *m, char *note,
                                      size_t n)
{
  note[0] = '\0';
  if (!settings_bool(S_LIBRARY_SAVE_COVER_ART) || !library_root ||
      !library_root[0] || !dst)
    return COVER_SKIPPED;
  enum caa_entity entity = CAA_RELEASE;
  const char *mbid = m->mb_album_id;
  if (!mbid[0]) {
    entity = CAA_RELEASE_GROUP;
    mbid = m->mb_release_group_id;
  }
  if (!mbid[0])
    return COVER_SKIPPED;
  char dir[4096];
  const char *slash = strrchr(dst, '/');
  int len = slash ? (int)(slash - dst) : 0;
  if (dst[0] == '/')
    snprintf(dir, sizeof dir, "%.*s", len, dst);
  else
    snprintf(dir, sizeof dir, "%s%s%.*s", library_root, len ? "/" : "", len,
             dst);
  if (exists(dir, CAA_COVER_NAME ".jpg") ||
      exists(dir, CAA_COVER_NAME ".png") || !first_try(dir, clock_wall_ms()))
    return COVER_SKIPPED;
  struct caa_client *c = caa_client_new(NULL);
  struct caa_err err;
  char name[32];
  enum ss_err rc = caa_save_cover(c, entity, mbid, 0, dir, false, name,
                                  sizeof name, &err);
  caa_client_free(c);
  if (rc == SS_OK) {
    log_info("import", "cover art: %s/%s written", dir, name);
    return COVER_SAVED;
  }
  snprintf(note, n, "no cover art for %s: %s", dir, err.msg);
  log_info("import", "%s", note);
  return COVER_FAILED;
}
