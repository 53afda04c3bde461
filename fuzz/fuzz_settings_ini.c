/*
 * fuzz_settings_ini.c - libFuzzer target: the INI configuration loader
 * (settings_load_ini in src/config/settings.c, on top of inih).
 *
 * The input is the file's text, handed over as /proc/self/fd/N of a memfd
 * so the loader reads it exactly as it reads a real file.  Every error
 * names the file; the store starts from the defaults for every input.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/settings.h"
#include "core/err.h"
#include "core/log.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    log_set_level(LOG_LVL_ERROR - 1);
    fd = memfd_create("fuzz.ini", 0);
    FUZZ_CHECK(fd >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
  settings_init();
  char err[512] = "";
  int rc = settings_load_ini(path, err, sizeof err);
  if (rc != SS_OK)
    FUZZ_CHECK(err[0] != '\0' && strstr(err, path) != NULL);
  settings_cleanup();
  return 0;
}
