/*
 * utf8.c - see utf8.h.
 *
 * The cut looks only at the end: back over at most three continuation
 * bytes to the start of the last character, and drop that character when
 * its lead byte asks for more bytes than are there.
 */
#include "core/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Bytes a character starting with lead c has (1 for anything not a lead). */
static size_t sequence_length(unsigned char c)
{
  return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

size_t utf8_fit(const char *s, size_t len)
{
  if (len == 0)
    return 0;
  size_t lead = len - 1;
  while (lead > 0 && len - lead < 4 && is_continuation((unsigned char)s[lead]))
    lead--;
  if (is_continuation((unsigned char)s[lead]))
    return len; /* stray continuation bytes: not a character to finish */
  return len - lead < sequence_length((unsigned char)s[lead]) ? lead : len;
}

size_t utf8_cut(const char *s, size_t max)
{
  if (!s)
    return 0;
  size_t len = strnlen(s, max < SIZE_MAX ? max + 1 : max);
  return len <= max ? len : utf8_fit(s, max);
}

size_t utf8_copy(char *dst, size_t n, const char *src)
{
  if (!dst || n == 0)
    return 0;
  size_t len = utf8_cut(src, n - 1);
  if (len)
    memcpy(dst, src, len);
  dst[len] = '\0';
  return len;
}
