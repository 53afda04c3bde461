/*
 * textnorm.c - Unicode text folding with utf8proc (see textnorm.h).
 *
 * What: the input is first copied with invalid UTF-8 bytes replaced by
 * spaces (utf8proc refuses invalid input as a whole), then mapped once by
 * utf8proc; folding then splits the mapped text into words of letters and
 * digits.  Folding is on the hot path of ownership (a pass folds every
 * title of the library), so ASCII input skips utf8proc (the result is the
 * same, see fold_ascii) and other input is decomposed into code points on
 * the stack (no allocation; utf8proc_map() only for inputs that grow past
 * it).  Pure; any thread; a mapped buffer is freed before returning.
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
  case UTF8PROC_CATEGORY_LU:
  case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO:
  case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_NO: return true;
  default: return false;
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

#define FOLD_OPTIONS                                                          \
  (UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |                 \
   UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP)

/* What sanitize_utf8() keeps of an input: the folding never sees more. */
#define FOLD_INPUT_MAX (TEXTNORM_INPUT_MAX - 4)
/* Code points of a decomposed input held on the stack (NFKD of 2 KiB
 * seldom grows past 4x); longer ones take utf8proc_map(). */
#define FOLD_CPS_MAX (TEXTNORM_INPUT_MAX * 2)

static bool ascii_alnum(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* ASCII input folds without utf8proc: NFKD, case folding and mark
 * stripping leave ASCII as it is but for case, and every ASCII character
 * that is not a letter or digit separates words.  false (out untouched)
 * when in holds a byte >= 0x80 within what the folding reads. */
static bool fold_ascii(const char *in, char *out, size_t n, size_t *len)
{
  size_t end = 0;
  while (end < FOLD_INPUT_MAX && in[end]) {
    if ((unsigned char)in[end] >= 0x80)
      return false;
    end++;
  }
  size_t o = 0;
  for (size_t i = 0; i < end;) {
    while (i < end && !ascii_alnum((unsigned char)in[i]))
      i++;
    size_t start = i;
    while (i < end && ascii_alnum((unsigned char)in[i]))
      i++;
    if (i == start)
      break;
    size_t wl = i - start, need = wl + (o ? 1 : 0);
    if (o + need >= n)
      break;
    if (o)
      out[o++] = ' ';
    for (size_t k = start; k < i; k++) {
      char c = in[k];
      out[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
  }
  out[o] = '\0';
  *len = o;
  return true;
}

static size_t cp_len(utf8proc_int32_t cp)
{
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Appends the word cps[0..k) as UTF-8 after a space; false once it does
 * not fit. */
static bool add_cp_word(char *out, size_t n, size_t *o,
                        const utf8proc_int32_t *cps, size_t k)
{
  size_t need = *o ? 1 : 0;
  for (size_t i = 0; i < k; i++)
    need += cp_len(cps[i]);
  if (*o + need >= n)
    return false;
  if (*o)
    out[(*o)++] = ' ';
  for (size_t i = 0; i < k; i++)
    *o += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)out + *o);
  out[*o] = '\0';
  return true;
}

/* The folding through utf8proc_map(), for inputs that decompose into
 * more code points than the stack holds. */
static size_t fold_mapped(const char *in, char *out, size_t n)
{
  utf8proc_ssize_t left = 0;
  utf8proc_uint8_t *mapped = map(in, FOLD_OPTIONS, &left);
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

size_t textnorm_fold(const char *in, char *out, size_t n)
{
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  if (!in || !*in)
    return 0;
  size_t o = 0;
  if (fold_ascii(in, out, n, &o))
    return o;
  char clean[TEXTNORM_INPUT_MAX];
  sanitize_utf8(in, clean, sizeof clean);
  utf8proc_int32_t cps[FOLD_CPS_MAX];
  utf8proc_ssize_t ncp = utf8proc_decompose((const utf8proc_uint8_t *)clean, 0,
                                            cps, FOLD_CPS_MAX,
                                            FOLD_OPTIONS | UTF8PROC_NULLTERM |
                                              UTF8PROC_STABLE);
  if (ncp < 0 || ncp > FOLD_CPS_MAX)
    return fold_mapped(in, out, n);
  size_t word = 0;
  bool in_word = false;
  for (utf8proc_ssize_t i = 0; i <= ncp; i++) {
    bool w = i < ncp && is_word_cp(cps[i]);
    if (w && !in_word) {
      word = (size_t)i;
      in_word = true;
    } else if (!w && in_word) {
      if (!add_cp_word(out, n, &o, cps + word, (size_t)i - word))
        break;
      in_word = false;
    }
  }
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
