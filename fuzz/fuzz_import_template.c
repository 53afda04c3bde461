/*
 * fuzz_import_template.c - libFuzzer target: the import naming template
 * (import_render, import_sanitize, import_source_path in
 * src/library/import.c).
 *
 * Input: lines "template\nalbumartist\nartist\nalbum\ntitle\next\nremote"
 * plus three bytes of year/disc/track taken from the start.  Checks the
 * promises of import.h: a rendered path is relative, below its root (no
 * "." or ".." component, no empty component, no backslash), within
 * IMPORT_PATH_MAX and every component within IMPORT_COMPONENT_MAX (plus an
 * appended ".ext").
 */
#include <stdbool.h>
#include <string.h>

#include "core/err.h"
#include "library/import.h"
#include "fuzz.h"

/* No empty, "." or ".." component; with names_too also no control bytes
 * and capped lengths (what import_sanitize promises). */
static void check_components(const char *path, bool names_too)
{
  FUZZ_CHECK(path[0] != '\0' && path[0] != '/');
  if (names_too) {
    FUZZ_CHECK(strlen(path) < IMPORT_PATH_MAX);
    FUZZ_CHECK(!strchr(path, '\\'));
  }
  const char *p = path;
  while (*p) {
    size_t n = strcspn(p, "/");
    FUZZ_CHECK(n > 0 && (!names_too || n <= IMPORT_COMPONENT_MAX + 16));
    FUZZ_CHECK(!(n == 1 && p[0] == '.') &&
               !(n == 2 && p[0] == '.' && p[1] == '.'));
    for (size_t i = 0; names_too && i < n; i++)
      FUZZ_CHECK((unsigned char)p[i] >= 0x20 && p[i] != 0x7f);
    p += n;
    if (*p == '/')
      p++;
  }
}

static void check_relative(const char *path) { check_components(path, true); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  char *s = fuzz_cstr(data + 3, size - 3);
  char *f[7] = {0};
  size_t n = fuzz_split(s, f, 7);
  for (size_t i = n; i < 7; i++)
    f[i] = "";
  struct import_fields in = {.albumartist = f[1],
                             .artist = f[2],
                             .album = f[3],
                             .title = f[4],
                             .ext = f[5],
                             .year = data[0] * 8,
                             .disc = data[1] % 100,
                             .track = data[2]};
  char out[IMPORT_PATH_MAX + 64];
  if (import_render(f[0], &in, out, sizeof out) == SS_OK)
    check_relative(out);

  char comp[IMPORT_COMPONENT_MAX + 64];
  import_sanitize(f[1], comp, sizeof comp);
  FUZZ_CHECK(comp[0] && !strchr(comp, '/') && !strchr(comp, '\\'));
  FUZZ_CHECK(strcmp(comp, ".") && strcmp(comp, ".."));
  FUZZ_CHECK(strlen(comp) <= IMPORT_COMPONENT_MAX);

  char src[IMPORT_PATH_MAX + 64];
  if (import_source_path("/downloads", f[6], src, sizeof src) == SS_OK) {
    FUZZ_CHECK(!strncmp(src, "/downloads/", 11));
    check_components(src + 11, false);
  }
  free(s);
  return 0;
}
