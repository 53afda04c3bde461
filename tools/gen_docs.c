/*
 * gen_docs - build-time tool: writes the documents that come from the
 * settings table (src/config/settings_doc.c).
 *
 *   gen_docs ini OUT [KEY=VALUE...]   commented default INI; the given
 *                                     settings are written active
 *   gen_docs man OUT VERSION          the man page soulspotd(8)
 *
 * Writes OUT.tmp and renames it, so a failed run leaves no half file.
 * Runs on the build host only.
 */
#include <stdio.h>
#include <string.h>

#include "config/settings.h"
#include "core/err.h"

int main(int argc, char **argv)
{
  if (argc < 3 || (strcmp(argv[1], "ini") && strcmp(argv[1], "man")) ||
      (!strcmp(argv[1], "man") && argc != 4)) {
    fprintf(stderr, "usage: gen_docs ini OUT [KEY=VALUE...] | "
                    "gen_docs man OUT VERSION\n");
    return 2;
  }
  char tmp[4096], err[512] = "";
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    perror(tmp);
    return 1;
  }
  int rc = SS_OK;
  settings_init();
  if (!strcmp(argv[1], "ini"))
    rc = settings_write_ini(out, (const char *const *)argv + 3, err,
                            sizeof err);
  else
    settings_write_man(out, argv[3]);
  settings_cleanup();
  if (fclose(out) != 0 && rc == SS_OK)
    rc = SS_EIO;
  if (rc != SS_OK || rename(tmp, argv[2]) != 0) {
    fprintf(stderr, "gen_docs: %s: %s\n", argv[2],
            err[0] ? err : "write failed");
    remove(tmp);
    return 1;
  }
  return 0;
}
