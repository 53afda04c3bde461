#include "core/reltime.h"

#include <inttypes.h>
#include <stdio.h>

const char *reltime_de(int64_t now_ms, int64_t then_ms, char *out, size_t n)
{
  if (then_ms <= 0) {
    snprintf(out, n, "noch nie");
    return out;
  }
  /* Whole seconds first, as the contract truncates before comparing. */
  int64_t s = now_ms / 1000 - then_ms / 1000;
  if (s < 60)
    snprintf(out, n, "gerade eben");
  else if (s < 3600)
    snprintf(out, n, "vor %" PRId64 " min", s / 60);
  else if (s < 86400)
    snprintf(out, n, "vor %" PRId64 " h", s / 3600);
  else
    snprintf(out, n, "vor %" PRId64 " d", s / 86400);
  return out;
}

const char *reltime_until_de(int64_t now_ms, int64_t when_ms, char *out,
                             size_t n)
{
  int64_t d = when_ms / 1000 - now_ms / 1000;
  if (d <= 0)
    snprintf(out, n, "jetzt");
  else if (d < 60)
    snprintf(out, n, "in %" PRId64 " s", d);
  else if (d < 3600)
    snprintf(out, n, "in %" PRId64 " min", d / 60);
  else if (d < 86400)
    snprintf(out, n, "in %" PRId64 " h", d / 3600);
  else
    snprintf(out, n, "in %" PRId64 " d", d / 86400);
  return out;
}
