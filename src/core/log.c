#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int log_threshold = LOG_LVL_INFO;
static int log_fd = 2;

int log_level_parse(const char *name)
{
  if (!strcmp(name, "error"))
    return LOG_LVL_ERROR;
  if (!strcmp(name, "warn"))
    return LOG_LVL_WARN;
  if (!strcmp(name, "info"))
    return LOG_LVL_INFO;
  if (!strcmp(name, "debug"))
    return LOG_LVL_DEBUG;
  return -1;
}

void log_set_level(int level) { log_threshold = level; }

void log_set_fd(int fd) { log_fd = fd; }

static const char *level_name(int level)
{
  switch (level) {
  case LOG_LVL_ERROR: return "error";
  case LOG_LVL_WARN: return "warn";
  case LOG_LVL_INFO: return "info";
  default: return "debug";
  }
}

void log__write(int level, const char *component, const char *fmt, ...)
{
  char line[1024];
  int n = snprintf(line, sizeof line, "<%d>%s %s: ", level, level_name(level),
                   component);
  if (n < 0)
    return;
  size_t off = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + off, sizeof line - off, fmt, ap);
  va_end(ap);
  if (m > 0)
    off += (size_t)m < sizeof line - off ? (size_t)m : sizeof line - off - 1;
  /* One event, one line: fold embedded newlines. */
  for (size_t i = 0; i < off; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  if (off >= sizeof line - 1)
    off = sizeof line - 2;
  line[off++] = '\n';
  (void)!write(log_fd, line, off);
}
