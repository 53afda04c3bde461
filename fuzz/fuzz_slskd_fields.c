/*
 * fuzz_slskd_fields.c - libFuzzer target: the scalar parsers of slskd's
 * wire format (src/clients/slskd.c): flag-enum strings ("Completed,
 * Succeeded"), ISO 8601 timestamps with and without offset, .NET TimeSpans
 * ("[-][d.]hh:mm:ss[.fffffff]"), percent-encoding of a path segment and
 * splitting of remote paths.
 *
 * Checks: a parsed timestamp is inside years 0000..9999 and parsing is
 * stable; a TimeSpan's sign follows its text; an escaped segment holds
 * only unreserved bytes and '%XX'.
 */
#include <ctype.h>
#include <string.h>

#include "clients/slskd.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = fuzz_cstr(data, size);
  slskd_phase_of(slskd_transfer_flags(s));
  slskd_search_flags(s);

  int64_t ms = 0, again = 0;
  if (slskd_parse_time(s, &ms) == SS_OK) {
    /* 0000-01-01 .. 9999-12-31 (+ a day of offset either side). */
    FUZZ_CHECK(ms >= -62167305600000LL && ms <= 253402387200000LL);
    FUZZ_CHECK(slskd_parse_time(s, &again) == SS_OK && again == ms);
  }
  if (slskd_parse_timespan(s, &ms) == SS_OK)
    FUZZ_CHECK(s[0] == '-' ? ms <= 0 : ms >= 0);

  char esc[256];
  slskd_path_escape(s, esc, sizeof esc);
  FUZZ_CHECK(strlen(esc) < sizeof esc);
  for (const char *p = esc; *p; p++)
    FUZZ_CHECK(isalnum((unsigned char)*p) || strchr("-._~%", *p));

  char dir[32], base[32];
  fs_split_peer_path(s, dir, sizeof dir, base, sizeof base);
  FUZZ_CHECK(strlen(dir) < sizeof dir && strlen(base) < sizeof base);
  free(s);
  return 0;
}
