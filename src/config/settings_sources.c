/*
 * settings_sources.c - settings from the INI file (inih, with real line
 * numbers and every error reported with its line), from SOULSPOT_*
 * environment variables, and the --help text that lists both names of
 * every setting.  Loaders are all-or-nothing: every value is validated
 * before any is applied.  Main thread at start-up.
 */
#include "config/settings_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/xalloc.h"

/* ---- INI file ---- */

struct ini_ctx {
  FILE *fp;
  int line;                   /* physical line last handed to inih */
  int err_line;               /* line of the first error we found, 0 if none */
  char msg[SETTINGS_MSG_MAX]; /* message for err_line */
  int seen[S__COUNT];
  struct change ch[S__COUNT];
  size_t n;
};

static void ini_error(struct ini_ctx *c, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void ini_error(struct ini_ctx *c, const char *fmt, ...)
{
  va_list ap;
  if (c->err_line)
    return;
  c->err_line = c->line;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
}

/*
 * fgets-like reader that hands inih whole physical lines only, so inih's
 * line numbers are real ones.  An over-long line or a NUL byte is an error
 * (never silently split) and stops parsing.
 */
static char *ini_read_line(char *str, int num, void *stream)
{
  struct ini_ctx *c = stream;
  size_t len = 0, room = num > 2 ? (size_t)num - 2 : 0;
  int ch;
  while ((ch = getc(c->fp)) != EOF) {
    if (ch == '\n')
      break;
    if (ch == '\0' || len == room) {
      c->line++;
      ini_error(c,
                ch ? "line too long (at most %zu bytes)"
                   : "line contains a NUL byte",
                room);
      return NULL;
    }
    str[len++] = (char)ch;
  }
  if (ch == EOF && len == 0)
    return NULL;
  c->line++;
  if (ch == '\n')
    str[len++] = '\n';
  str[len] = '\0';
  return str;
}

static void ini_unknown_key(struct ini_ctx *c, const char *section,
                            const char *name, const char *key)
{
  char shown[SETTINGS_KEY_MAX];
  int id = settings_lookup(name);
  if (id >= 0) {
    const char *dot = strchr(name, '.');
    ini_error(c, "%s: write it as '%s = ...' in section [%.*s]", name, dot + 1,
              (int)(dot - name), name);
    return;
  }
  settings__printable_copy(shown, sizeof shown, section[0] ? key : name);
  ini_error(c, "%s: unknown setting", shown);
}

static int ini_handle(void *user, const char *section, const char *name,
                      const char *value)
{
  struct ini_ctx *c = user;
  char key[SETTINGS_KEY_MAX], msg[SETTINGS_MSG_MAX];
  int n = snprintf(key, sizeof key, "%s.%s", section, name);
  int id = section[0] && n > 0 && (size_t)n < sizeof key ? settings_lookup(key)
                                                         : -1;
  if (id < 0) {
    ini_unknown_key(c, section, name, key);
    return 0;
  }
  if (c->seen[id]) {
    ini_error(c, "%s: set twice (first on line %d)", key, c->seen[id]);
    return 0;
  }
  c->seen[id] = c->line;
  if (settings__make_change((enum setting_id)id, value, &c->ch[c->n], msg,
                            sizeof msg) != SS_OK) {
    ini_error(c, "%s: %s", key, msg);
    return 0;
  }
  c->n++;
  return 1;
}

/* Picks the first error: inih's own (syntax) or ours, by line number. */
static enum ss_err ini_report(const struct ini_ctx *c, int parse_rc,
                              const char *path, char *err, size_t errlen)
{
  if (parse_rc > 0 && (!c->err_line || parse_rc < c->err_line))
    return settings__fail(
      err, errlen, "%s:%d: syntax error (expected [section] or name = value)",
      path, parse_rc);
  if (c->err_line)
    return settings__fail(err, errlen, "%s:%d: %s", path, c->err_line, c->msg);
  if (parse_rc < 0) {
    settings__fail(err, errlen, "%s: cannot parse (out of memory)", path);
    return SS_EIO;
  }
  return SS_OK;
}

enum ss_err settings_load_ini(const char *path, char *err, size_t errlen)
{
  struct ini_ctx *c;
  int rc, parse_rc;
  FILE *fp;
  if (!path)
    return settings__fail(err, errlen, "no configuration file given");
  fp = fopen(path, "re");
  if (!fp) {
    settings__fail(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
    return SS_EIO;
  }
  c = xcalloc(1, sizeof *c);
  c->fp = fp;
  parse_rc = ini_parse_stream(ini_read_line, c, ini_handle, c);
  if (ferror(fp)) {
    settings__fail(err, errlen, "%s: cannot read (%s)", path, strerror(errno));
    rc = SS_EIO;
  } else {
    rc = ini_report(c, parse_rc, path, err, errlen);
  }
  fclose(fp);
  if (rc == SS_OK)
    rc = settings__commit_changes(c->ch, c->n, false);
  else
    settings__free_changes(c->ch, c->n);
  free(c);
  return rc;
}

/* ---- environment ---- */

/* Writes SOULSPOT_<KEY> (upper case, '.' -> '_') into out. */
void settings__env_name(enum setting_id id, char *out, size_t n)
{
  const char *k = settings_defs[id].key;
  size_t len = (size_t)snprintf(out, n, "SOULSPOT_%s", k);
  if (len >= n)
    len = n - 1;
  for (size_t i = sizeof "SOULSPOT_" - 1; i < len; i++) {
    if (out[i] == '.')
      out[i] = '_';
    else if (out[i] >= 'a' && out[i] <= 'z')
      out[i] = (char)(out[i] - 32);
  }
}

enum ss_err settings_load_env(char *err, size_t errlen)
{
  struct change ch[S__COUNT];
  size_t n = 0;
  for (int i = 0; i < S__COUNT; i++) {
    char name[SETTINGS_KEY_MAX], msg[SETTINGS_MSG_MAX];
    const char *v;
    settings__env_name((enum setting_id)i, name, sizeof name);
    v = getenv(name);
    if (!v)
      continue;
    if (settings__make_change((enum setting_id)i, v, &ch[n], msg,
                              sizeof msg) != SS_OK) {
      settings__free_changes(ch, n);
      if (settings_defs[i].flags & SF_SECRET)
        return settings__fail(err, errlen, "%s: invalid value (not shown)",
                              name);
      return settings__fail(err, errlen, "%s: %s", name, msg);
    }
    n++;
  }
  return settings__commit_changes(ch, n, false);
}

void settings__describe_type(const struct setting_def *d, char *out, size_t n)
{
  switch (d->type) {
  case ST_INT:
    snprintf(out, n, "int %" PRId64 "..%" PRId64, d->min, d->max);
    break;
  case ST_ENUM: snprintf(out, n, "%s", d->choices); break;
  case ST_BOOL: snprintf(out, n, "bool"); break;
  case ST_URL: snprintf(out, n, "http(s) URL"); break;
  case ST_LISTEN: snprintf(out, n, "HOST:PORT"); break;
  case ST_STRING: snprintf(out, n, "text"); break;
  }
}

void settings_print_help(FILE *out)
{
  fprintf(out, "Settings (INI file: [section] name = value; or the "
               "environment\nvariable shown; * = may change while "
               "running):\n");
  for (int i = 0; i < S__COUNT; i++) {
    const struct setting_def *d = &settings_defs[i];
    char type[SETTINGS_MSG_MAX], env[SETTINGS_KEY_MAX];
    settings__describe_type(d, type, sizeof type);
    settings__env_name((enum setting_id)i, env, sizeof env);
    fprintf(out, "\n  %s%s  (%s%s)\n      %s\n", d->key,
            d->flags & SF_RUNTIME ? " *" : "", type,
            d->flags & SF_SECRET ? ", secret" : "", d->help);
    fprintf(out, "      default: %s%s%s\n      env: %s\n",
            d->def[0] ? "\"" : "", d->def[0] ? d->def : "(empty)",
            d->def[0] ? "\"" : "", env);
  }
}
