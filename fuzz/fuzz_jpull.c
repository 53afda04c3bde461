/*
 * fuzz_jpull.c - libFuzzer target: the JSON pull reader (src/clients/jpull.c).
 *
 * Walks any input the way the slskd parsers do: every value of every
 * array and object is read with the reader that fits its type (strings
 * into a small buffer, so the cut-at-a-UTF-8-boundary path runs), and
 * every second container is skipped whole with jpull_skip().  Checks the
 * reader's own promises: a string is NUL-terminated within its buffer
 * and, when the input is ASCII (escapes only), valid UTF-8 even when cut;
 * after a failure every call keeps failing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clients/jpull.h"
#include "core/err.h"
#include "fuzz.h"

static void walk(struct jpull *j, int depth);

static void check_utf8(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t len = p[i] < 0x80             ? 1
                 : (p[i] & 0xE0) == 0xC0 ? 2
                 : (p[i] & 0xF0) == 0xE0 ? 3
                 : (p[i] & 0xF8) == 0xF0 ? 4
                                         : 0;
    FUZZ_CHECK(len && i + len <= n);
    for (size_t k = 1; k < len; k++)
      FUZZ_CHECK((p[i + k] & 0xC0) == 0x80);
    i += len;
  }
}

/* True when the input has raw non-ASCII bytes: jpull passes them through
 * as they are (only its escapes are decoded), so only an ASCII input must
 * come out as valid UTF-8. */
static bool raw_non_ascii;

static void value(struct jpull *j, int depth)
{
  char s[24];
  size_t len = 0;
  double d;
  int64_t i;
  bool b;
  switch (jpull_peek(j)) {
  case JPULL_STRING:
    if (jpull_string(j, s, sizeof s, &len) == SS_OK) {
      FUZZ_CHECK(len < sizeof s && s[len] == '\0');
      if (!raw_non_ascii)
        check_utf8(s, len);
    }
    break;
  case JPULL_NUMBER:
    if (depth & 1)
      jpull_double(j, &d);
    else
      jpull_int(j, &i);
    break;
  case JPULL_BOOL: jpull_bool(j, &b); break;
  case JPULL_NULL: jpull_string(j, s, sizeof s, NULL); break;
  case JPULL_ARRAY:
  case JPULL_OBJECT:
    if (depth & 1)
      jpull_skip(j);
    else
      walk(j, depth + 1);
    break;
  default: jpull_skip(j); break;
  }
}

static void walk(struct jpull *j, int depth)
{
  char key[16];
  if (jpull_peek(j) == JPULL_OBJECT) {
    if (!jpull_object(j))
      return;
    while (jpull_next(j) && jpull_key(j, key, sizeof key))
      value(j, depth);
  } else if (jpull_array(j)) {
    while (jpull_next(j))
      value(j, depth);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  raw_non_ascii = false;
  for (size_t i = 0; i < size && !raw_non_ascii; i++)
    raw_non_ascii = data[i] >= 0x80;
  struct jpull j;
  jpull_init(&j, (const char *)data, size);
  value(&j, 0);
  bool end = jpull_at_end(&j);
  if (j.failed) {
    /* Errors are sticky. */
    FUZZ_CHECK(!end);
    FUZZ_CHECK(!jpull_next(&j));
    FUZZ_CHECK(jpull_string(&j, (char[4]){0}, 4, NULL) == SS_EPROTO);
  }
  return 0;
}
