/*
 * test_utf8.c - cutting UTF-8 to a byte budget (core/utf8): every budget
 * over Björk (NFC and NFD), Sigur Rós, 坂本龍一 and a 4-byte character
 * leaves whole characters only; stray and truncated sequences, NULs as
 * data, NULL and zero-size buffers are safe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "core/utf8.h"

#define BJORK_NFC "Bj\xc3\xb6rk"
#define BJORK_NFD "Bjo\xcc\x88rk"
#define SAKAMOTO "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"
#define GCLEF "\xf0\x9d\x84\x9e" /* U+1D11E, four bytes */

/* Whether s[0..len) is whole UTF-8 characters (the texts here are valid). */
static bool whole_chars(const char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (i + n > len)
      return false;
    i += n;
  }
  return true;
}

static void test_every_budget_keeps_whole_characters(void **state)
{
  (void)state;
  static const char *const texts[] = {BJORK_NFC,
                                      BJORK_NFD,
                                      "Sigur R\xc3\xb3s",
                                      SAKAMOTO,
                                      "AC/DC " GCLEF " Guns N' Roses",
                                      "<b>&\"'"};
  for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
    size_t len = strlen(texts[t]);
    for (size_t max = 0; max <= len + 1; max++) {
      size_t cut = utf8_cut(texts[t], max);
      assert_true(cut <= max && cut <= len);
      assert_true(whole_chars(texts[t], cut));
      /* the most that fits: one more character would not */
      if (cut < len && cut < max) {
        unsigned char c = (unsigned char)texts[t][cut];
        size_t next = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        assert_true(cut + next > max);
      }
      if (max >= len)
        assert_int_equal(cut, len);
    }
  }
  /* the cases by hand */
  assert_int_equal(utf8_cut(BJORK_NFC, 3), 2); /* "Bj", not "Bj\xc3" */
  assert_int_equal(utf8_cut(BJORK_NFC, 4), 4); /* "Bjö" */
  assert_int_equal(utf8_cut(BJORK_NFD, 4), 3); /* "Bjo", mark left out */
  assert_int_equal(utf8_cut(SAKAMOTO, 8), 6);  /* 坂本 */
  assert_int_equal(utf8_cut("x" GCLEF "y", 4), 1);
  assert_int_equal(utf8_cut("x" GCLEF "y", 5), 5);
}

static void test_copy(void **state)
{
  (void)state;
  char out[5];
  assert_int_equal(utf8_copy(out, sizeof out, "Sigur R\xc3\xb3s"), 4);
  assert_string_equal(out, "Sigu");
  assert_int_equal(utf8_copy(out, sizeof out, SAKAMOTO), 3);
  assert_string_equal(out, "\xe5\x9d\x82");
  assert_int_equal(utf8_copy(out, sizeof out, "AC/DC"), 4);
  assert_string_equal(out, "AC/D");
  assert_int_equal(utf8_copy(out, sizeof out, NULL), 0);
  assert_string_equal(out, "");
  assert_int_equal(utf8_copy(out, 1, BJORK_NFC), 0);
  assert_string_equal(out, "");
  assert_int_equal(utf8_copy(out, 0, BJORK_NFC), 0);
  assert_int_equal(utf8_copy(NULL, 5, BJORK_NFC), 0);
}

static void test_invalid_and_binary_input(void **state)
{
  (void)state;
  /* a sequence truncated at the end of the data is dropped */
  assert_int_equal(utf8_fit("ab\xe2\x82", 4), 2);
  assert_int_equal(utf8_fit("ab\xf0\x9d\x84", 5), 2);
  /* stray continuation bytes are not characters to finish: kept */
  assert_int_equal(utf8_fit("a\x80\x80\x80\x80", 5), 5);
  /* a lone lead byte at the end is an incomplete character */
  assert_int_equal(utf8_fit("a\xc3", 2), 1);
  /* ... but utf8_cut does not cut (nor check) a string that fits */
  assert_int_equal(utf8_cut("a\xc3", 2), 2);
  assert_int_equal(utf8_cut("a\xc3", 1), 1);
  /* NULs are data to utf8_fit, the end to utf8_cut */
  assert_int_equal(utf8_fit("a\0\xc3\xb6", 4), 4);
  assert_int_equal(utf8_fit("a\0\xc3\xb6", 3), 2);
  assert_int_equal(utf8_cut("a\0\xc3\xb6", 4), 1);
  assert_int_equal(utf8_fit("", 0), 0);
  assert_int_equal(utf8_cut(NULL, 10), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_budget_keeps_whole_characters),
    cmocka_unit_test(test_copy),
    cmocka_unit_test(test_invalid_and_binary_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
