#include "core/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xalloc.h"

#define COPY_CHUNK (256 * 1024)

int fs_copy_fd(int in, int out)
{
  char *chunk = xmalloc(COPY_CHUNK);
  int rc = SS_OK;
  for (;;) {
    ssize_t n = read(in, chunk, COPY_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = n < 0 ? SS_EIO : SS_OK;
      break;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, chunk + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        rc = SS_EIO;
        break;
      }
      off += w;
    }
    if (rc)
      break;
  }
  free(chunk);
  return rc;
}
