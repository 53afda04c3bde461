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
    {"M\xc3\xb6tley Cr\xc3\xbc" "e", "motley crue"},
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
  textnorm_fold("caf\xe9 \xff" "au", out, sizeof out);
  assert_string_equal(out, "caf au"); /* invalid bytes are spaces */
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
  textnorm_unaccent("M\xc3\xb6tley Cr\xc3\xbc" "e", out, sizeof out);
  assert_string_equal(out, "Motley Crue");
  textnorm_unaccent("\xe5\x9d\x82\xe6\x9c\xac", out, sizeof out);
  assert_string_equal(out, "\xe5\x9d\x82\xe6\x9c\xac"); /* unchanged */
  /* never cut inside a character */
  char small[5];
  assert_int_equal(textnorm_nfc("\xe5\x9d\x82\xe6\x9c\xac", small,
                                sizeof small), 3);
  assert_string_equal(small, "\xe5\x9d\x82");
  assert_int_equal(textnorm_nfc(NULL, small, sizeof small), 0);
  assert_string_equal(small, "");
  textnorm_nfc("a\xff" "b", out, sizeof out);
  assert_string_equal(out, "a b");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fold),
    cmocka_unit_test(test_nfc_and_unaccent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
