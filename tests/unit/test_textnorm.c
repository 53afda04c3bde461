/*
 * test_textnorm.c - the shared Unicode folding (core/textnorm): NFC and
 * NFD spellings fold alike, case and accents go, punctuation splits
 * words, other scripts stay, invalid UTF-8 and short buffers are safe.
 * (dupes_normalize's own rules on top are in test_dupes.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/textnorm.h"

#define BJORK_NFC "Bj\xc3\xb6rk"
#define BJORK_NFD "Bjo\xcc\x88rk"

static void test_fold(void **state)
{
  (void)state;
  static const char *const cases[][2] = {
    {BJORK_NFC, "bjork"},
    {BJORK_NFD, "bjork"},
    {"BJ\xc3\x96RK", "bjork"},
    {"Sigur Ro\xcc\x81s", "sigur ros"},
    {"M\xc3\xb6tley Cr\xc3\xbc"
     "e",
     "motley crue"},
    {"AC/DC", "ac dc"},
    {"Guns N' Roses", "guns n roses"},
    {"Guns N\xe2\x80\x99 Roses", "guns n roses"},
    {"\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
     "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"},
    {"<b>&\"'", "b"},
    {"  ", ""},
    {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[64];
    size_t n = textnorm_fold(cases[i][0], out, sizeof out);
    if (strcmp(out, cases[i][1]) || n != strlen(out))
      fail_msg("fold(\"%s\") = \"%s\", want \"%s\"", cases[i][0], out,
               cases[i][1]);
  }
  char out[8];
  assert_int_equal(textnorm_fold(NULL, out, sizeof out), 0);
  assert_string_equal(out, "");
  assert_int_equal(textnorm_fold("alpha beta gamma", out, sizeof out), 5);
  assert_string_equal(out, "alpha"); /* cut on a word boundary */
  textnorm_fold("caf\xe9 \xff"
                "au",
                out, sizeof out);
  assert_string_equal(out, "caf au"); /* invalid bytes are spaces */
}

/* ASCII input takes a path without utf8proc: every ASCII byte folds as
 * utf8proc folds it (a trailing no-break space, a separator, sends the
 * same text through utf8proc). */
static void test_fold_ascii_same_as_unicode_path(void **state)
{
  (void)state;
  char in[8], in_nbsp[16], a[16], b[16];
  for (int c = 1; c < 128; c++) {
    snprintf(in, sizeof in, "x%cY%c9", c, c);
    snprintf(in_nbsp, sizeof in_nbsp, "%s\xc2\xa0", in);
    size_t la = textnorm_fold(in, a, sizeof a);
    size_t lb = textnorm_fold(in_nbsp, b, sizeof b);
    if (la != lb || strcmp(a, b))
      fail_msg("byte 0x%02x: \"%s\" vs \"%s\"", c, a, b);
  }
  /* cut on a word boundary, as on the other path */
  static char big[1500], big_nbsp[sizeof big + 2];
  char oa[sizeof big], ob[sizeof big];
  for (size_t i = 0; i + 1 < sizeof big; i++)
    big[i] = i % 7 == 6 ? ' ' : (char)('A' + i % 26);
  snprintf(big_nbsp, sizeof big_nbsp, "%s\xc2\xa0", big);
  for (size_t n = 1; n <= sizeof oa; n += 37) {
    size_t la = textnorm_fold(big, oa, n);
    size_t lb = textnorm_fold(big_nbsp, ob, n);
    assert_string_equal(oa, ob);
    assert_int_equal(la, lb);
  }
}

static void test_nfc_and_unaccent(void **state)
{
  (void)state;
  char out[64];
  textnorm_nfc(BJORK_NFD " - Jo\xcc\x81ga", out, sizeof out);
  assert_string_equal(out, BJORK_NFC " - J\xc3\xb3ga");
  textnorm_nfc(BJORK_NFC, out, sizeof out);
  assert_string_equal(out, BJORK_NFC); /* NFC stays */
  textnorm_unaccent(BJORK_NFD " Homogenic", out, sizeof out);
  assert_string_equal(out, "Bjork Homogenic"); /* case kept */
  textnorm_unaccent("M\xc3\xb6tley Cr\xc3\xbc"
                    "e",
                    out, sizeof out);
  assert_string_equal(out, "Motley Crue");
  textnorm_unaccent("\xe5\x9d\x82\xe6\x9c\xac", out, sizeof out);
  assert_string_equal(out, "\xe5\x9d\x82\xe6\x9c\xac"); /* unchanged */
  /* never cut inside a character */
  char small[5];
  assert_int_equal(textnorm_nfc("\xe5\x9d\x82\xe6\x9c\xac", small,
                                sizeof small),
                   3);
  assert_string_equal(small, "\xe5\x9d\x82");
  assert_int_equal(textnorm_nfc(NULL, small, sizeof small), 0);
  assert_string_equal(small, "");
  textnorm_nfc("a\xff"
               "b",
               out, sizeof out);
  assert_string_equal(out, "a b");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fold),
    cmocka_unit_test(test_fold_ascii_same_as_unicode_path),
    cmocka_unit_test(test_nfc_and_unaccent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
