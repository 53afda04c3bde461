/*
 * settings_check.c - validation of setting values: one checker per type
 * (bool, int, enum, string, URL, HOST:PORT, host list) and the folder
 * rules (a folder is absolute, exists, is not a system folder and does not
 * contain or sit in another configured folder it must stay apart from).
 * Every source of values goes through settings__check_value, which turns
 * a text into its canonical form.  Messages never contain a value.
 *
 * Pure apart from reading the other folders' current values and the file
 * system (realpath); any thread.
 */
#include "config/settings_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/xalloc.h"

/* ---- messages ---- */

enum ss_err settings__fail(char *err, size_t errlen, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return SS_EINVAL;
}

void settings__printable_copy(char *out, size_t n, const char *s)
{
  size_t i = 0;
  for (; s[i] && i + 1 < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
  }
  out[i] = '\0';
}

/* ---- validation: helpers ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_alnum(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the UTF-8 sequence at s, or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, uint32_t *cp)
{
  size_t n;
  uint32_t min;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if ((s[0] & 0xe0) == 0xc0) {
    n = 2, min = 0x80, *cp = s[0] & 0x1f;
  } else if ((s[0] & 0xf0) == 0xe0) {
    n = 3, min = 0x800, *cp = s[0] & 0x0f;
  } else if ((s[0] & 0xf8) == 0xf0) {
    n = 4, min = 0x10000, *cp = s[0] & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
    return 0;
  return n;
}

static bool is_control(uint32_t cp)
{
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Checks a port: 1 to 5 digits, at most 65535, at least min_port. */
static bool parse_port(const char *s, size_t n, unsigned min_port,
                       unsigned *port)
{
  unsigned v = 0;
  if (n == 0 || n > 5)
    return false;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i]))
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *port = v;
  return v >= min_port && v <= 65535;
}

static bool valid_ip(int af, const char *s, size_t n)
{
  char tmp[64];
  unsigned char addr[16];
  if (n == 0 || n >= sizeof tmp)
    return false;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  return inet_pton(af, tmp, addr) == 1;
}

/* A host name, IPv4 address or bracketed IPv6 address. */
static bool valid_host(const char *h, size_t n)
{
  bool numeric = true;
  if (n == 0 || n > 253)
    return false;
  if (h[0] == '[')
    return n > 2 && h[n - 1] == ']' && valid_ip(AF_INET6, h + 1, n - 2);
  for (size_t i = 0; i < n; i++) {
    if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
      return false;
    if (!is_digit(h[i]) && h[i] != '.')
      numeric = false;
  }
  return !numeric || valid_ip(AF_INET, h, n);
}

/*
 * Splits "host:port" (host may be "[v6]").  Sets *port_at to the port text
 * or NULL when there is none.  Returns false for an unbracketed IPv6.
 */
static bool split_host_port(const char *s, size_t n, size_t *host_len,
                            const char **port_at)
{
  const char *colon;
  *port_at = NULL;
  *host_len = n;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close)
      return false;
    *host_len = (size_t)(close - s) + 1;
    if (*host_len == n)
      return true;
    if (s[*host_len] != ':')
      return false;
    *port_at = close + 2;
    return true;
  }
  colon = memchr(s, ':', n);
  if (!colon)
    return true;
  if (memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
    return false;
  *host_len = (size_t)(colon - s);
  *port_at = colon + 1;
  return true;
}

/* ---- validation: one function per type ---- */

static enum ss_err check_bool(const char *t, char *canon, int64_t *num,
                              char *err, size_t errlen)
{
  static const char *const yes[] = {"true", "1", "yes", "on"};
  static const char *const no[] = {"false", "0", "no", "off"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (!strcasecmp(t, yes[i]) || !strcasecmp(t, no[i])) {
      *num = !strcasecmp(t, yes[i]);
      strcpy(canon, *num ? "true" : "false");
      return SS_OK;
    }
  }
  return settings__fail(err, errlen, "must be true or false");
}

/* What parse_int64 found: a number, no number, or one out of int64_t. */
enum int_parse { INT_PARSE_OK, INT_PARSE_NAN, INT_PARSE_RANGE };

/*
 * Parses an optional sign and decimal digits (nothing else) into *num.
 */
static enum int_parse parse_int64(const char *p, int64_t *num)
{
  uint64_t mag = 0;
  bool neg = false, overflow = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (!*p)
    return INT_PARSE_NAN;
  for (; *p; p++) {
    if (!is_digit(*p))
      return INT_PARSE_NAN;
    if (mag > ((uint64_t)INT64_MAX - 9) / 10)
      overflow = true;
    else
      mag = mag * 10 + (uint64_t)(*p - '0');
  }
  if (overflow)
    return INT_PARSE_RANGE;
  *num = neg ? -(int64_t)mag : (int64_t)mag;
  return INT_PARSE_OK;
}

static enum ss_err check_int(const struct setting_def *d, const char *t,
                             char *canon, int64_t *num, char *err,
                             size_t errlen)
{
  enum int_parse parsed = parse_int64(t, num);
  if (parsed == INT_PARSE_NAN)
    return settings__fail(err, errlen,
                          "must be a whole number between %" PRId64
                          " and %" PRId64,
                          d->min, d->max);
  if (parsed == INT_PARSE_RANGE || *num < d->min || *num > d->max)
    return settings__fail(err, errlen,
                          "must be between %" PRId64 " and %" PRId64, d->min,
                          d->max);
  snprintf(canon, SETTING_STR_MAX, "%" PRId64, *num);
  return SS_OK;
}

static enum ss_err check_enum(const struct setting_def *d, const char *t,
                              char *canon, char *err, size_t errlen)
{
  char list[SETTINGS_MSG_MAX];
  size_t tlen = strlen(t), used = 0;
  const char *c = d->choices;
  while (c && *c) {
    size_t n = strcspn(c, "|");
    if (n == tlen && !strncasecmp(c, t, n)) {
      memcpy(canon, c, n);
      canon[n] = '\0';
      return SS_OK;
    }
    int w = snprintf(list + used, sizeof list - used, "%s%.*s",
                     used ? ", " : "", (int)n, c);
    if (w > 0 && (size_t)w < sizeof list - used)
      used += (size_t)w;
    c += n + (c[n] == '|');
  }
  return settings__fail(err, errlen, "must be one of: %s",
                        used ? list : "(none)");
}

static enum ss_err check_string(const char *t, char *canon, char *err,
                                size_t errlen)
{
  const unsigned char *p = (const unsigned char *)t;
  while (*p) {
    uint32_t cp;
    size_t n = utf8_seq_len(p, &cp);
    if (n == 0)
      return settings__fail(err, errlen, "is not valid UTF-8");
    if (is_control(cp))
      return settings__fail(err, errlen,
                            "must not contain control characters");
    p += n;
  }
  strcpy(canon, t);
  return SS_OK;
}

/* ---- validation: folders ---- */

/* The folder settings Cleanup, import and the quarantine work in. */
static bool is_folder(enum setting_id id)
{
  return id == S_LIBRARY_PATH || id == S_LIBRARY_QUARANTINE_PATH ||
         id == S_DOWNLOAD_TEMP_PATH || id == S_DOWNLOAD_SLSKD_DOWNLOAD_PATH;
}

/* Cleanup deletes files below these. */
static bool is_cleaned(enum setting_id id)
{
  return id == S_DOWNLOAD_TEMP_PATH || id == S_DOWNLOAD_SLSKD_DOWNLOAD_PATH;
}

/* Absolute t without "//", "." and trailing '/', ".." taken back
 * lexically.  false when t is relative. */
static bool normalize_path(const char *t, char *out)
{
  size_t o = 0;
  if (t[0] != '/')
    return false;
  for (const char *p = t; *p;) {
    while (*p == '/')
      p++;
    size_t len = strcspn(p, "/");
    if (len == 0 || (len == 1 && p[0] == '.')) {
      p += len;
      continue;
    }
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      while (o > 0 && out[--o] != '/')
        ;
    } else {
      out[o++] = '/';
      memcpy(out + o, p, len);
      o += len;
    }
    p += len;
  }
  if (o == 0)
    out[o++] = '/';
  out[o] = '\0';
  return true;
}

/* True when path is dir or lies below it. */
static bool path_within(const char *path, const char *dir)
{
  size_t n = strlen(dir);
  if (n == 1) /* "/" */
    return true;
  return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* The rule a system folder breaks, or NULL.  Trees are refused with all
 * they hold; the others only themselves. */
static const char *system_rule(const char *p, char *why, size_t n)
{
  static const char *const trees[] = {"/etc",  "/usr",  "/bin", "/sbin",
                                      "/boot", "/proc", "/sys", NULL};
  static const char *const themselves[] = {"/",    "/var",     "/home",
                                           "/tmp", "/var/tmp", "/root",
                                           "/run", NULL};
  for (int i = 0; themselves[i]; i++)
    if (!strcmp(p, themselves[i])) {
      snprintf(why, n, "must not be the system folder %s", themselves[i]);
      return why;
    }
  for (int i = 0; trees[i]; i++)
    if (path_within(p, trees[i])) {
      snprintf(why, n, "must not be in the system folder %s", trees[i]);
      return why;
    }
  size_t first = strcspn(p + 1, "/") + 1;
  if (!strncmp(p, "/lib", 4)) { /* /lib, /lib32, /lib64, /libx32 ... */
    snprintf(why, n, "must not be in the system folder %.*s", (int)first, p);
    return why;
  }
  if (path_within(p, "/run") && !path_within(p, "/run/media")) {
    snprintf(why, n,
             "must not be in the system folder /run (removable "
             "drives under /run/media are fine)");
    return why;
  }
  if (path_within(p, "/dev") &&
      !(path_within(p, "/dev/shm") && strcmp(p, "/dev/shm"))) {
    snprintf(why, n,
             "must not be in the system folder /dev (a folder of "
             "your own in /dev/shm is fine)");
    return why;
  }
  return NULL;
}

/* realpath of a folder setting's value (the batch's when it has one);
 * the lexical form when it does not exist; "" when unset. */
static void folder_value(enum setting_id id, const char *const *batch,
                         char *out)
{
  char text[SETTING_STR_MAX], norm[SETTING_STR_MAX];
  if (batch && batch[id])
    snprintf(text, sizeof text, "%s", batch[id]);
  else
    settings_str(id, text, sizeof text);
  if (id == S_LIBRARY_QUARANTINE_PATH && !text[0]) { /* the default */
    char data[SETTING_STR_MAX];
    settings_str(S_SERVER_DATA_DIR, data, sizeof data);
    snprintf(text, sizeof text, "%s/quarantine", data);
  }
  out[0] = '\0';
  if (text[0] && !realpath(text, out) && normalize_path(text, norm))
    snprintf(out, PATH_MAX, "%s", norm);
}

/* The rules between id (at real) and the other folders, both ways: no
 * folder is the data folder; the library lies inside no other folder;
 * what Cleanup cleans holds neither the data folder nor the quarantine and
 * lies not inside the quarantine. */
static enum ss_err folder_relations(enum setting_id id, const char *real,
                                    const char *const *batch, char *err,
                                    size_t errlen)
{
  static const enum setting_id folders[] = {S_LIBRARY_PATH,
                                            S_LIBRARY_QUARANTINE_PATH,
                                            S_DOWNLOAD_TEMP_PATH,
                                            S_DOWNLOAD_SLSKD_DOWNLOAD_PATH};
  char o_real[PATH_MAX];
  folder_value(S_SERVER_DATA_DIR, NULL, o_real);
  if (o_real[0] && !strcmp(real, o_real))
    return settings__fail(err, errlen,
                          "must not be the data folder (server.data_dir)");
  if (o_real[0] && is_cleaned(id) && path_within(o_real, real))
    return settings__fail(err, errlen,
                          "must not contain the data folder "
                          "(server.data_dir): Cleanup deletes there");
  for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
    enum setting_id o = folders[i];
    bool q_vs_cleaned = (id == S_LIBRARY_QUARANTINE_PATH && is_cleaned(o)) ||
                        (o == S_LIBRARY_QUARANTINE_PATH && is_cleaned(id));
    if (o == id ||
        ((id != S_LIBRARY_PATH && o != S_LIBRARY_PATH) && !q_vs_cleaned))
      continue;
    folder_value(o, batch, o_real);
    if (!o_real[0])
      continue;
    const char *key = settings_defs[o].key;
    if (o == S_LIBRARY_PATH && path_within(o_real, real))
      return settings__fail(err, errlen,
                            "must not contain the library folder (%s)", key);
    if (id == S_LIBRARY_PATH && path_within(real, o_real))
      return settings__fail(err, errlen, "must not lie inside %s", key);
    if (q_vs_cleaned && path_within(o_real, real))
      return settings__fail(err, errlen,
                            "must not contain %s (Cleanup must never "
                            "delete quarantined files)",
                            key);
    if (q_vs_cleaned && path_within(real, o_real))
      return settings__fail(err, errlen,
                            "must not lie inside %s (Cleanup must never "
                            "delete quarantined files)",
                            key);
  }
  return SS_OK;
}

/*
 * THE rules for folder settings (library, quarantine, temp and slskd
 * download folders): empty means unset; otherwise an absolute path,
 * stored without "//", "." , ".." and trailing '/', that is no system
 * folder, checked as written and as realpath() resolves it.  With batch
 * (the values a change sets, indexed by id; others come from the store)
 * also the rules between the folders (folder_relations).
 */
static enum ss_err check_folder(enum setting_id id, const char *t, char *canon,
                                const char *const *batch, char *err,
                                size_t errlen)
{
  char real[PATH_MAX], why[SETTINGS_MSG_MAX];
  enum ss_err rc = check_string(t, canon, err, errlen);
  if (rc != SS_OK || !t[0])
    return rc;
  if (!normalize_path(t, canon))
    return settings__fail(err, errlen,
                          "must be an absolute path (starting with /)");
  if (system_rule(canon, why, sizeof why))
    return settings__fail(err, errlen, "%s", why);
  if (!realpath(canon, real))
    snprintf(real, sizeof real, "%s", canon);
  else if (system_rule(real, why, sizeof why))
    return settings__fail(err, errlen, "%s (it resolves to %s)", why, real);
  return batch ? folder_relations(id, real, batch, err, errlen) : SS_OK;
}

static enum ss_err check_authority(const char *a, size_t n, char *err,
                                   size_t errlen)
{
  size_t host_len;
  const char *port;
  unsigned port_num;
  if (memchr(a, '@', n))
    return settings__fail(err, errlen,
                          "must not contain a user name or password");
  if (n == 0)
    return settings__fail(err, errlen, "must name a host after the scheme");
  if (!split_host_port(a, n, &host_len, &port) || !valid_host(a, host_len))
    return settings__fail(err, errlen, "has an invalid host");
  if (port && !parse_port(port, n - (size_t)(port - a), 1, &port_num))
    return settings__fail(err, errlen, "has an invalid port (1-65535)");
  return SS_OK;
}

static enum ss_err check_url(const char *t, char *canon, char *err,
                             size_t errlen)
{
  size_t len = strlen(t), scheme, auth_len;
  if (len == 0) {
    canon[0] = '\0';
    return SS_OK;
  }
  if (!strncasecmp(t, "http://", 7))
    scheme = 7;
  else if (!strncasecmp(t, "https://", 8))
    scheme = 8;
  else
    return settings__fail(err, errlen, "must start with http:// or https://");
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
      return settings__fail(
        err, errlen,
        "must not contain spaces, control or non-ASCII characters");
  if (strchr(t, '#'))
    return settings__fail(err, errlen, "must not contain a fragment (#)");
  auth_len = strcspn(t + scheme, "/?");
  enum ss_err rc = check_authority(t + scheme, auth_len, err, errlen);
  if (rc != SS_OK)
    return rc;
  for (size_t i = 0; i < scheme; i++)
    canon[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
  memcpy(canon + scheme, t + scheme, len - scheme + 1);
  if (!strchr(canon, '?'))
    while (len > scheme + auth_len && canon[len - 1] == '/')
      canon[--len] = '\0';
  return SS_OK;
}

static enum ss_err check_listen(const char *t, char *canon, char *err,
                                size_t errlen)
{
  size_t len = strlen(t), host_len;
  const char *port;
  unsigned port_num;
  if (!split_host_port(t, len, &host_len, &port))
    return settings__fail(err, errlen,
                          "must be HOST:PORT; write IPv6 as [::1]:PORT");
  if (!port || host_len == 0)
    return settings__fail(err, errlen,
                          "must be HOST:PORT, e.g. 127.0.0.1:8765");
  if (!valid_host(t, host_len))
    return settings__fail(err, errlen, "has an invalid host");
  if (!parse_port(port, len - (size_t)(port - t), 0, &port_num))
    return settings__fail(err, errlen, "has an invalid port (0-65535)");
  snprintf(canon, SETTING_STR_MAX, "%.*s:%u", (int)host_len, t, port_num);
  return SS_OK;
}

/* server.allowed_hosts: comma-separated "name" or "name:port" entries;
 * canonical form "a, b:8080" (blanks trimmed, empty entries dropped). */
static enum ss_err check_host_list(const char *t, char *canon, char *err,
                                   size_t errlen)
{
  size_t used = 0, entry = 0;
  canon[0] = '\0';
  for (const char *p = t; *p; p += *p == ',') {
    entry++;
    p += strspn(p, " \t");
    size_t n = strcspn(p, ","), len = n;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
      len--;
    if (len &&
        (memchr(p, '/', len) || check_authority(p, len, err, errlen) != SS_OK))
      return settings__fail(err, errlen,
                            "entry %zu is not a host name with an "
                            "optional :port (comma-separated list)",
                            entry);
    if (len)
      used += (size_t)snprintf(canon + used, SETTING_STR_MAX - used, "%s%.*s",
                               used ? ", " : "", (int)len, p);
    p += n;
  }
  return SS_OK;
}

/* Validates text; writes canonical text to canon and the number to *num. */
enum ss_err settings__check_value(enum setting_id id, const char *text,
                                  char *canon, int64_t *num, char *err,
                                  size_t errlen)
{
  const struct setting_def *d;
  *num = 0;
  if (!settings__valid_id((int)id))
    return settings__fail(err, errlen, "unknown setting");
  if (!text)
    return settings__fail(err, errlen, "has no value");
  if (strnlen(text, SETTING_STR_MAX) >= SETTING_STR_MAX)
    return settings__fail(err, errlen, "is too long (at most %d bytes)",
                          SETTING_STR_MAX - 1);
  d = &settings_defs[id];
  if (id == S_SERVER_ALLOWED_HOSTS)
    return check_host_list(text, canon, err, errlen);
  switch (d->type) {
  case ST_BOOL: return check_bool(text, canon, num, err, errlen);
  case ST_INT: return check_int(d, text, canon, num, err, errlen);
  case ST_ENUM: return check_enum(d, text, canon, err, errlen);
  case ST_STRING:
    return is_folder(id) ? check_folder(id, text, canon, NULL, err, errlen)
                         : check_string(text, canon, err, errlen);
  case ST_URL: return check_url(text, canon, err, errlen);
  case ST_LISTEN: return check_listen(text, canon, err, errlen);
  }
  return settings__fail(err, errlen, "has an unknown type");
}

enum ss_err settings_validate(enum setting_id id, const char *text,
                              char *canon, char *err, size_t errlen)
{
  char scratch[SETTING_STR_MAX];
  int64_t num;
  enum ss_err rc = settings__check_value(id, text, canon ? canon : scratch,
                                         &num, err, errlen);
  if (rc != SS_OK && canon)
    canon[0] = '\0';
  return rc;
}

/* Validates into a heap change record. */
enum ss_err settings__make_change(enum setting_id id, const char *text,
                                  struct change *out, char *err, size_t errlen)
{
  char canon[SETTING_STR_MAX];
  enum ss_err rc = settings__check_value(id, text, canon, &out->num, err,
                                         errlen);
  if (rc != SS_OK)
    return rc;
  out->id = id;
  out->text = xstrdup(canon);
  return SS_OK;
}

void settings__free_changes(struct change *ch, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(ch[i].text);
    ch[i].text = NULL;
  }
}

/* The folder rules between the folders of a runtime change ch[] (see
 * check_folder).  Each broken rule goes into fields (key: message) when
 * given, the first into err. */
enum ss_err settings__check_folder_changes(const struct change *ch, size_t n,
                                           json_t *fields, char *err,
                                           size_t errlen)
{
  const char *batch[S__COUNT] = {0};
  enum ss_err rc = SS_OK;
  for (size_t i = 0; i < n; i++)
    batch[ch[i].id] = ch[i].text;
  for (size_t i = 0; i < n; i++) {
    char canon[SETTING_STR_MAX], msg[SETTINGS_MSG_MAX];
    if (!is_folder(ch[i].id) || !ch[i].text[0] ||
        check_folder(ch[i].id, ch[i].text, canon, batch, msg, sizeof msg) ==
          SS_OK)
      continue;
    if (rc == SS_OK)
      settings__fail(err, errlen, "%s", msg);
    rc = SS_EINVAL;
    if (fields)
      json_object_set_new(fields, settings_defs[ch[i].id].key,
                          json_string(msg));
  }
  return rc;
}
