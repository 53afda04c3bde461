/*
 * log.h - leveled, journald-friendly logging.
 *
 * One line per event, written with a single write(2) so threads never
 * interleave.  Lines start with a syslog priority prefix ("<6>") that
 * journald understands.  The level is checked in the macro before any
 * formatting, so a disabled level costs one compare.
 *
 * Never pass a secret (token, key, password) to these functions.
 * Any thread may log.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

enum log_level {
  LOG_LVL_ERROR = 3,
  LOG_LVL_WARN = 4,
  LOG_LVL_INFO = 6,
  LOG_LVL_DEBUG = 7
};

extern int log_threshold; /* events above this level are dropped */

/* Parses "error", "warn", "info" or "debug"; returns -1 when unknown. */
int log_level_parse(const char *name);
void log_set_level(int level);
/* Redirects output (default 2 = stderr); tests point it at a pipe. */
void log_set_fd(int fd);

void log__write(int level, const char *component, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

#define log_at(lvl, comp, ...)                                                \
  do {                                                                        \
    if ((lvl) <= log_threshold)                                               \
      log__write((lvl), (comp), __VA_ARGS__);                                 \
  } while (0)
#define log_error(comp, ...) log_at(LOG_LVL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_at(LOG_LVL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...) log_at(LOG_LVL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_at(LOG_LVL_DEBUG, comp, __VA_ARGS__)

#endif
