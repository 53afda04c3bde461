/*
 * fuzz.h - helpers shared by the libFuzzer targets in fuzz/.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput() for one parser of
 * soulspotd and is built only with -DSOULSPOT_FUZZ=ON (clang, libFuzzer,
 * ASan, UBSan; see fuzz/CMakeLists.txt).  scripts/fuzz.sh runs them with
 * the seeds in fuzz/corpus/<name>/.  A crash found here becomes a unit test
 * in tests/unit plus the fix.
 */
#ifndef SS_FUZZ_H
#define SS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An invariant of the code under test: a crash libFuzzer reports (kept
 * even when NDEBUG is set). */
#define FUZZ_CHECK(cond)                                                      \
  do {                                                                        \
    if (!(cond))                                                              \
      __builtin_trap();                                                       \
  } while (0)

/* A NUL-terminated copy of the input; the caller frees it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Splits s (NUL-terminated, modified) at each '\n' into at most max
 * fields; returns how many.  Fields after the last separator stay whole. */
static inline size_t fuzz_split(char *s, char **fields, size_t max)
{
  size_t n = 0;
  while (n < max) {
    fields[n++] = s;
    char *nl = strchr(s, '\n');
    if (!nl || n == max)
      break;
    *nl = '\0';
    s = nl + 1;
  }
  return n;
}

#endif
