/*
 * Unit test: README's configuration table matches the settings table
 * (key, default, runtime flag), in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"

static char *readme;

static int setup(void **state)
{
  (void)state;
  FILE *f = fopen(SOULSPOT_SOURCE_DIR "/README.md", "r");
  assert_non_null(f);
  readme = calloc(1, 1 << 20);
  assert_non_null(readme);
  size_t n = fread(readme, 1, (1 << 20) - 1, f);
  fclose(f);
  assert_true(n > 0);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  free(readme);
  return 0;
}

/* Returns the README table row of key (up to the newline), or NULL. */
static char *row_of(const char *key)
{
  char needle[256];
  snprintf(needle, sizeof needle, "\n| `%s` |", key);
  const char *at = strstr(readme, needle);
  if (!at)
    return NULL;
  at++;
  size_t len = strcspn(at, "\n");
  char *row = calloc(1, len + 1);
  memcpy(row, at, len);
  return row;
}

/* Cell i (0-based) of a Markdown row "| a | b \| c | d |", trimmed; an
 * escaped pipe does not split cells.  Caller frees. */
static char *cell(const char *row, int i)
{
  const char *p = strchr(row, '|');
  assert_non_null(p);
  p++;
  for (int k = 0; k < i; k++) {
    while (*p && !(*p == '|' && p[-1] != '\\'))
      p++;
    assert_true(*p == '|');
    p++;
  }
  const char *end = p;
  while (*end && !(*end == '|' && end[-1] != '\\'))
    end++;
  while (*p == ' ')
    p++;
  while (end > p && end[-1] == ' ')
    end--;
  char *c = calloc(1, (size_t)(end - p) + 1);
  memcpy(c, p, (size_t)(end - p));
  return c;
}

static void test_every_setting_is_documented(void **state)
{
  (void)state;
  for (int i = 0; i < S__COUNT; i++) {
    const struct setting_def *d = &settings_defs[i];
    char *row = row_of(d->key);
    if (!row)
      fail_msg("README lacks a row for %s", d->key);
    char *def = cell(row, 2), *runtime = cell(row, 3);
    char want[SETTING_STR_MAX + 4];
    if (d->def[0])
      snprintf(want, sizeof want, "`%s`", d->def);
    else
      snprintf(want, sizeof want, "(empty)");
    if (strcmp(def, want))
      fail_msg("README default of %s is %s, table says %s", d->key, def, want);
    assert_string_equal(runtime, (d->flags & SF_RUNTIME) ? "yes" : "restart");
    free(def);
    free(runtime);
    free(row);
  }
}

static void test_no_unknown_setting_documented(void **state)
{
  (void)state;
  const char *p = readme;
  while ((p = strstr(p, "\n| `"))) {
    p += 4;
    size_t len = strcspn(p, "`");
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)len, p);
    if (strchr(key, '.') && !strchr(key, ' ') && !strchr(key, '/'))
      if (settings_lookup(key) < 0)
        fail_msg("README documents unknown setting %s", key);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_setting_is_documented),
    cmocka_unit_test(test_no_unknown_setting_documented),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
