/*
 * textnorm.c - Unicode text folding with utf8proc (see textnorm.h).
 *
 * What: the input is first copied with invalid UTF-8 bytes replaced by
 * spaces (utf8proc refuses invalid input as a whole), then mapped once by
 * utf8proc_map(); folding then splits the mapped text into words of
 * letters and digits.  Pure; any thread; the mapped buffer is freed
 * before returning.
 */
#include "core/textnorm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* Copies at most n-1 bytes of in, each invalid UTF-8 byte as a space. */
static void sanitize_utf8(const char *in, char *out, size_t n)
{
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)in;
  size_t len = strlen(in), o = 0;
  while (len > 0 && o + 4 < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)len, &cp);
    if (k <= 0 || cp < 0) {
      out[o++] = ' ';
      p++;
      len--;
      continue;
    }
    memcpy(out + o, p, (size_t)k);
    o += (size_t)k;
    p += k;
    len -= (size_t)k;
  }
  out[o] = '\0';
}

static bool is_word_cp(utf8proc_int32_t cp)
{
  switch (utf8proc_category(cp)) {
  case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    return true;
  default:
    return false;
  }
}

/* utf8proc_map() of the sanitised input; NULL when empty or refused. */
static utf8proc_uint8_t *map(const char *in, utf8proc_option_t opts,
                             utf8proc_ssize_t *len)
{
  char clean[TEXTNORM_INPUT_MAX];
  if (!in || !*in)
    return NULL;
  sanitize_utf8(in, clean, sizeof clean);
  utf8proc_uint8_t *mapped = NULL;
  *len = utf8proc_map((const utf8proc_uint8_t *)clean, 0, &mapped,
                      opts | UTF8PROC_NULLTERM | UTF8PROC_STABLE);
  if (*len < 0) {
    free(mapped);
    return NULL;
  }
  return mapped;
}

/* Appends word (wl bytes) after a space; false once it does not fit. */
static bool add_word(char *out, size_t n, size_t *o, const char *word,
                     size_t wl)
{
  size_t need = wl + (*o ? 1 : 0);
  if (*o + need >= n)
    return false;
  if (*o)
    out[(*o)++] = ' ';
  memcpy(out + *o, word, wl);
  *o += wl;
  out[*o] = '\0';
  return true;
}

size_t textnorm_fold(const char *in, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  utf8proc_ssize_t left = 0;
  utf8proc_uint8_t *mapped =
    map(in, UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
              UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP,
        &left);
  if (!mapped)
    return 0;
  size_t o = 0;
  bool full = false;
  const utf8proc_uint8_t *p = mapped, *word = NULL;
  while (left > 0 && !full) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(p, left, &cp);
    if (k <= 0)
      break;
    if (is_word_cp(cp)) {
      if (!word)
        word = p;
    } else if (word) {
      full = !add_word(out, n, &o, (const char *)word, (size_t)(p - word));
      word = NULL;
    }
    p += k;
    left -= k;
  }
  if (word && !full)
    add_word(out, n, &o, (const char *)word, (size_t)(p - word));
  free(mapped);
  return o;
}

/* Copies mapped text into out, never cutting a character. */
static size_t copy_mapped(const utf8proc_uint8_t *m, utf8proc_ssize_t len,
                          char *out, size_t n)
{
  size_t o = 0;
  while (len > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(m, len, &cp);
    if (k <= 0 || o + (size_t)k >= n)
      break;
    memcpy(out + o, m, (size_t)k);
    o += (size_t)k;
    m += k;
    len -= k;
  }
  out[o] = '\0';
  return o;
}

static size_t compose(const char *in, utf8proc_option_t extra, char *out,
                      size_t n)
{
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  utf8proc_ssize_t len = 0;
  utf8proc_uint8_t *m = map(in, UTF8PROC_COMPOSE | extra, &len);
  if (!m)
    return 0;
  size_t o = copy_mapped(m, len, out, n);
  free(m);
  return o;
}

size_t textnorm_nfc(const char *in, char *out, size_t n)
{
  return compose(in, 0, out, n);
}

size_t textnorm_unaccent(const char *in, char *out, size_t n)
{
  return compose(in, UTF8PROC_STRIPMARK, out, n);
}
