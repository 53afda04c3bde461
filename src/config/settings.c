/*
 * settings.c - the value store behind SETTINGS_TABLE.
 *
 * What: settings_defs[] is generated from the X-macro table.  Every source
 * of values (defaults, INI file, environment, command line, database,
 * settings API and page) goes through settings_validate(), which turns a
 * text into its canonical form ("true", "42", a URL without trailing '/').
 * Loaders and the API are all-or-nothing: everything is validated (and, for
 * the API, persisted) before anything is applied.
 *
 * Threading: two mutexes.  store_lock guards the values, the subscriber
 * list and the persist hook and is held only for short copies.  change_lock
 * serialises writers across "persist + apply", so the database and memory
 * always agree on the latest change; the persist hook runs with it held and
 * must not change settings itself.  Subscribers run on the changing thread
 * after both locks are released.  The generation is an atomic counter bumped
 * (after the values are in place) by every successful change.
 *
 * Ownership: the store owns one heap string per setting (canonical text);
 * getters copy.  Messages never contain a value, so secrets cannot leak
 * through them.
 */
#include "config/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define MAX_SUBSCRIBERS 8
#define PATCH_BODY_MAX ((size_t)64 * 1024)
#define MSG_MAX 256
#define KEY_MAX 128

/* ---- the table ---- */

#define SETTING_DEF_ENTRY(id_, key_, type_, def_, min_, max_, choices_,     \
                          flags_, help_)                                    \
  [S_##id_] = {.key = key_, .type = type_, .def = def_, .min = min_,        \
               .max = max_, .choices = choices_, .flags = flags_,           \
               .help = help_},
const struct setting_def settings_defs[S__COUNT] = {
  SETTINGS_TABLE(SETTING_DEF_ENTRY)
};
#undef SETTING_DEF_ENTRY

/* ---- the store ---- */

struct subscriber {
  settings_changed_fn fn;
  void *arg;
};

/* One validated value on its way into the store. */
struct change {
  enum setting_id id;
  char *text; /* heap, canonical; swapped with the old value on apply */
  int64_t num;
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t change_lock = PTHREAD_MUTEX_INITIALIZER;
static char *values[S__COUNT];
static int64_t numbers[S__COUNT];
static struct subscriber subscribers[MAX_SUBSCRIBERS];
static size_t subscriber_count;
static settings_persist_fn persist_fn;
static void *persist_arg;
static atomic_uint_fast64_t generation;

static bool valid_id(int id) { return id >= 0 && id < S__COUNT; }

int settings_lookup(const char *key)
{
  if (!key)
    return -1;
  for (int i = 0; i < S__COUNT; i++)
    if (!strcmp(settings_defs[i].key, key))
      return i;
  return -1;
}

/* ---- messages ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return SS_EINVAL;
}

/* Copies untrusted text for a message, replacing unprintable bytes. */
static void printable_copy(char *out, size_t n, const char *s)
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

static int check_bool(const char *t, char *canon, int64_t *num, char *err,
                      size_t errlen)
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
  return fail(err, errlen, "must be true or false");
}

/*
 * Parses an optional sign and decimal digits (nothing else) into *num.
 * Returns 0 when the text is not such a number, -1 when it does not fit.
 */
static int parse_int64(const char *p, int64_t *num)
{
  uint64_t mag = 0;
  bool neg = false, overflow = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (!*p)
    return 0;
  for (; *p; p++) {
    if (!is_digit(*p))
      return 0;
    if (mag > ((uint64_t)INT64_MAX - 9) / 10)
      overflow = true;
    else
      mag = mag * 10 + (uint64_t)(*p - '0');
  }
  if (overflow)
    return -1;
  *num = neg ? -(int64_t)mag : (int64_t)mag;
  return 1;
}

static int check_int(const struct setting_def *d, const char *t, char *canon,
                     int64_t *num, char *err, size_t errlen)
{
  int parsed = parse_int64(t, num);
  if (parsed == 0)
    return fail(err, errlen,
                "must be a whole number between %" PRId64 " and %" PRId64,
                d->min, d->max);
  if (parsed < 0 || *num < d->min || *num > d->max)
    return fail(err, errlen, "must be between %" PRId64 " and %" PRId64,
                d->min, d->max);
  snprintf(canon, SETTING_STR_MAX, "%" PRId64, *num);
  return SS_OK;
}

static int check_enum(const struct setting_def *d, const char *t,
                      char *canon, char *err, size_t errlen)
{
  char list[MSG_MAX];
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
  return fail(err, errlen, "must be one of: %s", used ? list : "(none)");
}

static int check_string(const char *t, char *canon, char *err,
                        size_t errlen)
{
  const unsigned char *p = (const unsigned char *)t;
  while (*p) {
    uint32_t cp;
    size_t n = utf8_seq_len(p, &cp);
    if (n == 0)
      return fail(err, errlen, "is not valid UTF-8");
    if (is_control(cp))
      return fail(err, errlen, "must not contain control characters");
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
  static const char *const trees[] = {"/etc", "/usr", "/bin", "/sbin",
                                      "/boot", "/proc", "/sys", NULL};
  static const char *const themselves[] = {"/", "/var", "/home", "/tmp",
                                           "/var/tmp", "/root", "/run",
                                           NULL};
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
    snprintf(why, n, "must not be in the system folder /run (removable "
                     "drives under /run/media are fine)");
    return why;
  }
  if (path_within(p, "/dev") &&
      !(path_within(p, "/dev/shm") && strcmp(p, "/dev/shm"))) {
    snprintf(why, n, "must not be in the system folder /dev (a folder of "
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
static int folder_relations(enum setting_id id, const char *real,
                            const char *const *batch, char *err,
                            size_t errlen)
{
  static const enum setting_id folders[] = {
    S_LIBRARY_PATH, S_LIBRARY_QUARANTINE_PATH, S_DOWNLOAD_TEMP_PATH,
    S_DOWNLOAD_SLSKD_DOWNLOAD_PATH};
  char o_real[PATH_MAX];
  folder_value(S_SERVER_DATA_DIR, NULL, o_real);
  if (o_real[0] && !strcmp(real, o_real))
    return fail(err, errlen, "must not be the data folder (server.data_dir)");
  if (o_real[0] && is_cleaned(id) && path_within(o_real, real))
    return fail(err, errlen, "must not contain the data folder "
                             "(server.data_dir): Cleanup deletes there");
  for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
    enum setting_id o = folders[i];
    bool q_vs_cleaned = (id == S_LIBRARY_QUARANTINE_PATH && is_cleaned(o)) ||
                        (o == S_LIBRARY_QUARANTINE_PATH && is_cleaned(id));
    if (o == id || ((id != S_LIBRARY_PATH && o != S_LIBRARY_PATH) &&
                    !q_vs_cleaned))
      continue;
    folder_value(o, batch, o_real);
    if (!o_real[0])
      continue;
    const char *key = settings_defs[o].key;
    if (o == S_LIBRARY_PATH && path_within(o_real, real))
      return fail(err, errlen, "must not contain the library folder (%s)",
                  key);
    if (id == S_LIBRARY_PATH && path_within(real, o_real))
      return fail(err, errlen, "must not lie inside %s", key);
    if (q_vs_cleaned && path_within(o_real, real))
      return fail(err, errlen, "must not contain %s (Cleanup must never "
                               "delete quarantined files)", key);
    if (q_vs_cleaned && path_within(real, o_real))
      return fail(err, errlen, "must not lie inside %s (Cleanup must never "
                               "delete quarantined files)", key);
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
static int check_folder(enum setting_id id, const char *t, char *canon,
                        const char *const *batch, char *err, size_t errlen)
{
  char real[PATH_MAX], why[MSG_MAX];
  int rc = check_string(t, canon, err, errlen);
  if (rc != SS_OK || !t[0])
    return rc;
  if (!normalize_path(t, canon))
    return fail(err, errlen, "must be an absolute path (starting with /)");
  if (system_rule(canon, why, sizeof why))
    return fail(err, errlen, "%s", why);
  if (!realpath(canon, real))
    snprintf(real, sizeof real, "%s", canon);
  else if (system_rule(real, why, sizeof why))
    return fail(err, errlen, "%s (it resolves to %s)", why, real);
  return batch ? folder_relations(id, real, batch, err, errlen) : SS_OK;
}

static int check_authority(const char *a, size_t n, char *err,
                           size_t errlen)
{
  size_t host_len;
  const char *port;
  unsigned port_num;
  if (memchr(a, '@', n))
    return fail(err, errlen, "must not contain a user name or password");
  if (n == 0)
    return fail(err, errlen, "must name a host after the scheme");
  if (!split_host_port(a, n, &host_len, &port) || !valid_host(a, host_len))
    return fail(err, errlen, "has an invalid host");
  if (port && !parse_port(port, n - (size_t)(port - a), 1, &port_num))
    return fail(err, errlen, "has an invalid port (1-65535)");
  return SS_OK;
}

static int check_url(const char *t, char *canon, char *err, size_t errlen)
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
    return fail(err, errlen, "must start with http:// or https://");
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
      return fail(err, errlen,
                  "must not contain spaces, control or non-ASCII characters");
  if (strchr(t, '#'))
    return fail(err, errlen, "must not contain a fragment (#)");
  auth_len = strcspn(t + scheme, "/?");
  int rc = check_authority(t + scheme, auth_len, err, errlen);
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

static int check_listen(const char *t, char *canon, char *err,
                        size_t errlen)
{
  size_t len = strlen(t), host_len;
  const char *port;
  unsigned port_num;
  if (!split_host_port(t, len, &host_len, &port))
    return fail(err, errlen,
                "must be HOST:PORT; write IPv6 as [::1]:PORT");
  if (!port || host_len == 0)
    return fail(err, errlen, "must be HOST:PORT, e.g. 127.0.0.1:8765");
  if (!valid_host(t, host_len))
    return fail(err, errlen, "has an invalid host");
  if (!parse_port(port, len - (size_t)(port - t), 0, &port_num))
    return fail(err, errlen, "has an invalid port (0-65535)");
  snprintf(canon, SETTING_STR_MAX, "%.*s:%u", (int)host_len, t, port_num);
  return SS_OK;
}

/* server.allowed_hosts: comma-separated "name" or "name:port" entries;
 * canonical form "a, b:8080" (blanks trimmed, empty entries dropped). */
static int check_host_list(const char *t, char *canon, char *err,
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
    if (len && (memchr(p, '/', len) ||
                check_authority(p, len, err, errlen) != SS_OK))
      return fail(err, errlen, "entry %zu is not a host name with an "
                  "optional :port (comma-separated list)", entry);
    if (len)
      used += (size_t)snprintf(canon + used, SETTING_STR_MAX - used, "%s%.*s",
                               used ? ", " : "", (int)len, p);
    p += n;
  }
  return SS_OK;
}

/* Validates text; writes canonical text to canon and the number to *num. */
static int check_value(enum setting_id id, const char *text, char *canon,
                       int64_t *num, char *err, size_t errlen)
{
  const struct setting_def *d;
  *num = 0;
  if (!valid_id((int)id))
    return fail(err, errlen, "unknown setting");
  if (!text)
    return fail(err, errlen, "has no value");
  if (strnlen(text, SETTING_STR_MAX) >= SETTING_STR_MAX)
    return fail(err, errlen, "is too long (at most %d bytes)",
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
  return fail(err, errlen, "has an unknown type");
}

int settings_validate(enum setting_id id, const char *text, char *canon,
                      char *err, size_t errlen)
{
  char scratch[SETTING_STR_MAX];
  int64_t num;
  int rc = check_value(id, text, canon ? canon : scratch, &num, err, errlen);
  if (rc != SS_OK && canon)
    canon[0] = '\0';
  return rc;
}

/* Validates into a heap change record. */
static int make_change(enum setting_id id, const char *text,
                       struct change *out, char *err, size_t errlen)
{
  char canon[SETTING_STR_MAX];
  int rc = check_value(id, text, canon, &out->num, err, errlen);
  if (rc != SS_OK)
    return rc;
  out->id = id;
  out->text = xstrdup(canon);
  return SS_OK;
}

static void free_changes(struct change *ch, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(ch[i].text);
    ch[i].text = NULL;
  }
}

/* The folder rules between the folders of a runtime change ch[] (see
 * check_folder).  Each broken rule goes into fields (key: message) when
 * given, the first into err. */
static int check_folder_changes(const struct change *ch, size_t n,
                                json_t *fields, char *err, size_t errlen)
{
  const char *batch[S__COUNT] = {0};
  int rc = SS_OK;
  for (size_t i = 0; i < n; i++)
    batch[ch[i].id] = ch[i].text;
  for (size_t i = 0; i < n; i++) {
    char canon[SETTING_STR_MAX], msg[MSG_MAX];
    if (!is_folder(ch[i].id) || !ch[i].text[0] ||
        check_folder(ch[i].id, ch[i].text, canon, batch, msg,
                     sizeof msg) == SS_OK)
      continue;
    if (rc == SS_OK)
      fail(err, errlen, "%s", msg);
    rc = SS_EINVAL;
    if (fields)
      json_object_set_new(fields, settings_defs[ch[i].id].key,
                          json_string(msg));
  }
  return rc;
}

/* ---- applying changes ---- */

static void notify_subscribers(void)
{
  struct subscriber copy[MAX_SUBSCRIBERS];
  size_t n;
  pthread_mutex_lock(&store_lock);
  n = subscriber_count;
  memcpy(copy, subscribers, n * sizeof copy[0]);
  pthread_mutex_unlock(&store_lock);
  for (size_t i = 0; i < n; i++)
    copy[i].fn(copy[i].arg);
}

/* Swaps the new texts into the store; ch[] then holds the old ones. */
static void apply_changes(struct change *ch, size_t n)
{
  pthread_mutex_lock(&store_lock);
  for (size_t i = 0; i < n; i++) {
    char *old = values[ch[i].id];
    values[ch[i].id] = ch[i].text;
    numbers[ch[i].id] = ch[i].num;
    ch[i].text = old;
  }
  atomic_fetch_add(&generation, 1);
  pthread_mutex_unlock(&store_lock);
}

static int run_persist_hook(const struct change *ch, size_t n)
{
  enum setting_id ids[S__COUNT];
  const char *texts[S__COUNT];
  settings_persist_fn fn;
  void *arg;
  int rc;
  pthread_mutex_lock(&store_lock);
  fn = persist_fn;
  arg = persist_arg;
  pthread_mutex_unlock(&store_lock);
  if (!fn)
    return SS_OK;
  for (size_t i = 0; i < n; i++) {
    ids[i] = ch[i].id;
    texts[i] = ch[i].text;
  }
  rc = fn(arg, ids, texts, n);
  return rc == SS_OK ? SS_OK : (rc < 0 ? rc : SS_EIO);
}

static void log_changes(const struct change *ch, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const struct setting_def *d = &settings_defs[ch[i].id];
    if (d->flags & SF_SECRET)
      log_info("settings", "%s changed", d->key);
    else
      log_info("settings", "%s set to '%s'", d->key, ch[i].text);
  }
}

/*
 * Persists (when asked), applies and announces n validated changes.  Takes
 * ownership of the texts in ch[] and frees them.
 */
static int commit_changes(struct change *ch, size_t n, bool persist)
{
  int rc = SS_OK;
  if (n == 0)
    return SS_OK;
  pthread_mutex_lock(&change_lock);
  if (persist)
    rc = run_persist_hook(ch, n);
  if (rc == SS_OK) {
    if (persist)
      log_changes(ch, n);
    apply_changes(ch, n);
  }
  pthread_mutex_unlock(&change_lock);
  free_changes(ch, n);
  if (rc == SS_OK)
    notify_subscribers();
  return rc;
}

/* ---- lifecycle ---- */

void settings_init(void)
{
  pthread_mutex_lock(&store_lock);
  for (int i = 0; i < S__COUNT; i++) {
    char canon[SETTING_STR_MAX], err[MSG_MAX];
    int64_t num = 0;
    if (check_value((enum setting_id)i, settings_defs[i].def, canon, &num,
                    err, sizeof err) != SS_OK) {
      log_error("settings", "default of %s is invalid: %s",
                settings_defs[i].key, err);
      snprintf(canon, sizeof canon, "%s", settings_defs[i].def);
    }
    free(values[i]);
    values[i] = xstrdup(canon);
    numbers[i] = num;
  }
  pthread_mutex_unlock(&store_lock);
}

void settings_cleanup(void)
{
  pthread_mutex_lock(&store_lock);
  for (int i = 0; i < S__COUNT; i++) {
    free(values[i]);
    values[i] = NULL;
    numbers[i] = 0;
  }
  subscriber_count = 0;
  persist_fn = NULL;
  persist_arg = NULL;
  pthread_mutex_unlock(&store_lock);
}

/* ---- getters ---- */

bool settings_bool(enum setting_id id)
{
  bool v;
  if (!valid_id((int)id))
    return false;
  pthread_mutex_lock(&store_lock);
  v = numbers[id] != 0;
  pthread_mutex_unlock(&store_lock);
  return v;
}

int64_t settings_int(enum setting_id id)
{
  int64_t v;
  if (!valid_id((int)id))
    return 0;
  pthread_mutex_lock(&store_lock);
  v = numbers[id];
  pthread_mutex_unlock(&store_lock);
  return v;
}

/* Returns the number of bytes copied (never more than n - 1). */
size_t settings_str(enum setting_id id, char *out, size_t n)
{
  size_t len = 0;
  if (!out || n == 0)
    return 0;
  out[0] = '\0';
  if (!valid_id((int)id))
    return 0;
  pthread_mutex_lock(&store_lock);
  if (values[id]) {
    len = strlen(values[id]);
    if (len > n - 1)
      len = n - 1;
    memcpy(out, values[id], len);
    out[len] = '\0';
  }
  pthread_mutex_unlock(&store_lock);
  return len;
}

char *settings_strdup(enum setting_id id)
{
  char *copy;
  if (!valid_id((int)id))
    return xstrdup("");
  pthread_mutex_lock(&store_lock);
  copy = xstrdup(values[id] ? values[id] : "");
  pthread_mutex_unlock(&store_lock);
  return copy;
}

bool settings_is_set(enum setting_id id)
{
  bool set;
  if (!valid_id((int)id))
    return false;
  pthread_mutex_lock(&store_lock);
  set = values[id] && values[id][0];
  pthread_mutex_unlock(&store_lock);
  return set;
}

uint64_t settings_generation(void) { return atomic_load(&generation); }

/* ---- hooks ---- */

void settings_set_persist(settings_persist_fn fn, void *arg)
{
  pthread_mutex_lock(&store_lock);
  persist_fn = fn;
  persist_arg = arg;
  pthread_mutex_unlock(&store_lock);
}

void settings_subscribe(settings_changed_fn fn, void *arg)
{
  bool full;
  if (!fn)
    return;
  pthread_mutex_lock(&store_lock);
  full = subscriber_count == MAX_SUBSCRIBERS;
  if (!full)
    subscribers[subscriber_count++] = (struct subscriber){fn, arg};
  pthread_mutex_unlock(&store_lock);
  if (full)
    log_error("settings", "more than %d subscribers; one was dropped",
              MAX_SUBSCRIBERS);
}


void settings_unsubscribe(settings_changed_fn fn, void *arg)
{
  pthread_mutex_lock(&store_lock);
  for (size_t i = 0; i < subscriber_count; i++) {
    if (subscribers[i].fn == fn && subscribers[i].arg == arg) {
      memmove(&subscribers[i], &subscribers[i + 1],
              (subscriber_count - i - 1) * sizeof subscribers[0]);
      subscriber_count--;
      break;
    }
  }
  pthread_mutex_unlock(&store_lock);
}
/* ---- single values ---- */

int settings_set(enum setting_id id, const char *text, char *err,
                 size_t errlen)
{
  char msg[MSG_MAX];
  struct change ch;
  if (!valid_id((int)id))
    return fail(err, errlen, "unknown setting");
  if (make_change(id, text, &ch, msg, sizeof msg) != SS_OK)
    return fail(err, errlen, "%s: %s", settings_defs[id].key, msg);
  return commit_changes(&ch, 1, false);
}

static bool is_mask_of_secret(enum setting_id id, const char *text)
{
  return (settings_defs[id].flags & SF_SECRET) && text &&
         !strcmp(text, SETTING_SECRET_MASK);
}

int settings_apply_text(enum setting_id id, const char *text, char *err,
                        size_t errlen)
{
  struct change ch;
  int rc;
  if (!valid_id((int)id))
    return fail(err, errlen, "unknown setting");
  if (!(settings_defs[id].flags & SF_RUNTIME))
    return fail(err, errlen,
                "cannot be changed while running; edit the config file");
  if (is_mask_of_secret(id, text))
    return SS_OK;
  rc = make_change(id, text, &ch, err, errlen);
  if (rc != SS_OK)
    return rc;
  if (check_folder_changes(&ch, 1, NULL, err, errlen) != SS_OK) {
    free_changes(&ch, 1);
    return SS_EINVAL;
  }
  rc = commit_changes(&ch, 1, true);
  if (rc != SS_OK)
    fail(err, errlen, "could not save settings");
  return rc;
}

/* ---- INI file ---- */

struct ini_ctx {
  FILE *fp;
  int line;          /* physical line last handed to inih */
  int err_line;      /* line of the first error we found, 0 if none */
  char msg[MSG_MAX]; /* message for err_line */
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
      ini_error(c, ch ? "line too long (at most %zu bytes)"
                      : "line contains a NUL byte", room);
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
  char shown[KEY_MAX];
  int id = settings_lookup(name);
  if (id >= 0) {
    const char *dot = strchr(name, '.');
    ini_error(c, "%s: write it as '%s = ...' in section [%.*s]", name,
              dot + 1, (int)(dot - name), name);
    return;
  }
  printable_copy(shown, sizeof shown, section[0] ? key : name);
  ini_error(c, "%s: unknown setting", shown);
}

static int ini_handle(void *user, const char *section, const char *name,
                      const char *value)
{
  struct ini_ctx *c = user;
  char key[KEY_MAX], msg[MSG_MAX];
  int n = snprintf(key, sizeof key, "%s.%s", section, name);
  int id = section[0] && n > 0 && (size_t)n < sizeof key
               ? settings_lookup(key) : -1;
  if (id < 0) {
    ini_unknown_key(c, section, name, key);
    return 0;
  }
  if (c->seen[id]) {
    ini_error(c, "%s: set twice (first on line %d)", key, c->seen[id]);
    return 0;
  }
  c->seen[id] = c->line;
  if (make_change((enum setting_id)id, value, &c->ch[c->n], msg,
                  sizeof msg) != SS_OK) {
    ini_error(c, "%s: %s", key, msg);
    return 0;
  }
  c->n++;
  return 1;
}

/* Picks the first error: inih's own (syntax) or ours, by line number. */
static int ini_report(const struct ini_ctx *c, int parse_rc,
                      const char *path, char *err, size_t errlen)
{
  if (parse_rc > 0 && (!c->err_line || parse_rc < c->err_line))
    return fail(err, errlen,
                "%s:%d: syntax error (expected [section] or name = value)",
                path, parse_rc);
  if (c->err_line)
    return fail(err, errlen, "%s:%d: %s", path, c->err_line, c->msg);
  if (parse_rc < 0) {
    fail(err, errlen, "%s: cannot parse (out of memory)", path);
    return SS_EIO;
  }
  return SS_OK;
}

int settings_load_ini(const char *path, char *err, size_t errlen)
{
  struct ini_ctx *c;
  int rc, parse_rc;
  FILE *fp;
  if (!path)
    return fail(err, errlen, "no configuration file given");
  fp = fopen(path, "re");
  if (!fp) {
    fail(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
    return SS_EIO;
  }
  c = xcalloc(1, sizeof *c);
  c->fp = fp;
  parse_rc = ini_parse_stream(ini_read_line, c, ini_handle, c);
  if (ferror(fp)) {
    fail(err, errlen, "%s: cannot read (%s)", path, strerror(errno));
    rc = SS_EIO;
  } else {
    rc = ini_report(c, parse_rc, path, err, errlen);
  }
  fclose(fp);
  if (rc == SS_OK)
    rc = commit_changes(c->ch, c->n, false);
  else
    free_changes(c->ch, c->n);
  free(c);
  return rc;
}

/* ---- environment ---- */

/* Writes SOULSPOT_<KEY> (upper case, '.' -> '_') into out. */
static void env_name(enum setting_id id, char *out, size_t n)
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

int settings_load_env(char *err, size_t errlen)
{
  struct change ch[S__COUNT];
  size_t n = 0;
  for (int i = 0; i < S__COUNT; i++) {
    char name[KEY_MAX], msg[MSG_MAX];
    const char *v;
    env_name((enum setting_id)i, name, sizeof name);
    v = getenv(name);
    if (!v)
      continue;
    if (make_change((enum setting_id)i, v, &ch[n], msg, sizeof msg) !=
        SS_OK) {
      free_changes(ch, n);
      if (settings_defs[i].flags & SF_SECRET)
        return fail(err, errlen, "%s: invalid value (not shown)", name);
      return fail(err, errlen, "%s: %s", name, msg);
    }
    n++;
  }
  return commit_changes(ch, n, false);
}

/* ---- PATCH /api/settings ---- */

static int reply_error(struct buf *errors, json_t *fields, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* Writes {"error": msg[, "fields": fields]} into errors; steals fields. */
static int reply_error(struct buf *errors, json_t *fields, const char *fmt,
                       ...)
{
  char msg[MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *body = json_pack("{s:s}", "error", msg);
  if (fields)
    json_object_set_new(body, "fields", fields);
  if (errors) {
    char *text = json_dumps(body, JSON_COMPACT);
    if (text)
      buf_puts(errors, text);
    free(text);
  }
  json_decref(body);
  return SS_EINVAL;
}

/* Converts a JSON value to text when its type fits the setting. */
static int json_to_text(enum setting_id id, const json_t *v, char *text,
                        char *err, size_t errlen)
{
  const struct setting_def *d = &settings_defs[id];
  switch (d->type) {
  case ST_BOOL:
    if (!json_is_boolean(v))
      return fail(err, errlen, "must be true or false (a JSON boolean)");
    strcpy(text, json_is_true(v) ? "true" : "false");
    return SS_OK;
  case ST_INT:
    if (!json_is_integer(v))
      return fail(err, errlen,
                  "must be a whole number between %" PRId64 " and %" PRId64,
                  d->min, d->max);
    snprintf(text, SETTING_STR_MAX, "%" JSON_INTEGER_FORMAT,
             json_integer_value(v));
    return SS_OK;
  default:
    if (!json_is_string(v))
      return fail(err, errlen, "must be a string");
    if (json_string_length(v) >= SETTING_STR_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
      return fail(err, errlen, "is too long (at most %d bytes)",
                  SETTING_STR_MAX - 1);
    strcpy(text, json_string_value(v));
    return SS_OK;
  }
}

/*
 * Checks one member of the PATCH body.  Returns SS_OK with a change in
 * ch[*n] (or none, for a masked secret), or SS_EINVAL with msg set.
 */
static int patch_member(const char *key, const json_t *v, struct change *ch,
                        size_t *n, char *msg, size_t msglen)
{
  char text[SETTING_STR_MAX];
  int id = settings_lookup(key), rc;
  if (id < 0)
    return fail(msg, msglen, "unknown setting");
  if (!(settings_defs[id].flags & SF_RUNTIME))
    return fail(msg, msglen,
                "cannot be changed while running; edit the config file");
  rc = json_to_text((enum setting_id)id, v, text, msg, msglen);
  if (rc != SS_OK || is_mask_of_secret((enum setting_id)id, text))
    return rc;
  if (*n >= S__COUNT) /* cannot happen: keys are unique */
    return fail(msg, msglen, "too many settings");
  rc = make_change((enum setting_id)id, text, &ch[*n], msg, msglen);
  if (rc == SS_OK)
    (*n)++;
  return rc;
}

/* Parses and checks the body; fills ch[]/n or writes errors. */
static int patch_collect(const char *body, size_t len, struct change *ch,
                         size_t *n, struct buf *errors)
{
  json_error_t jerr;
  json_t *root, *fields, *v;
  const char *key;
  if (len > PATCH_BODY_MAX)
    return reply_error(errors, NULL, "request body too large");
  root = json_loadb(body ? body : "", body ? len : 0,
                    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!root)
    return reply_error(errors, NULL, "invalid JSON (line %d, column %d)",
                       jerr.line, jerr.column);
  if (!json_is_object(root) || json_object_size(root) == 0) {
    bool object = json_is_object(root);
    json_decref(root);
    return reply_error(errors, NULL, "%s",
                       object ? "no settings given"
                              : "body must be a JSON object");
  }
  fields = json_object();
  json_object_foreach(root, key, v) {
    char msg[MSG_MAX];
    if (patch_member(key, v, ch, n, msg, sizeof msg) != SS_OK)
      json_object_set_new(fields, key, json_string(msg));
  }
  json_decref(root);
  if (json_object_size(fields) == 0 &&
      check_folder_changes(ch, *n, fields, NULL, 0) == SS_OK) {
    json_decref(fields);
    return SS_OK;
  }
  free_changes(ch, *n);
  *n = 0;
  return reply_error(errors, fields, "invalid settings");
}

int settings_patch_json(const char *body, size_t len, struct buf *errors)
{
  struct change ch[S__COUNT];
  size_t n = 0;
  int rc = patch_collect(body, len, ch, &n, errors);
  if (rc != SS_OK)
    return rc;
  rc = commit_changes(ch, n, true);
  if (rc != SS_OK) {
    log_error("settings", "could not save settings: %s", ss_strerror(rc));
    reply_error(errors, NULL, "could not save settings");
  }
  return rc;
}

/* ---- rendering ---- */

static json_t *text_json(const char *s)
{
  json_t *j = json_string(s);
  return j ? j : json_string("");
}

/* The JSON form of a value: typed, secrets masked. */
static json_t *value_json(enum setting_id id, const char *text, int64_t num)
{
  const struct setting_def *d = &settings_defs[id];
  if (d->flags & SF_SECRET)
    return json_string(text && text[0] ? SETTING_SECRET_MASK : "");
  if (d->type == ST_BOOL)
    return num ? json_true() : json_false();
  if (d->type == ST_INT)
    return json_integer(num);
  return text_json(text ? text : "");
}

static int dump_json(json_t *root, struct buf *out)
{
  char *text = json_dumps(root, JSON_COMPACT);
  int rc = text ? buf_puts(out, text) : SS_EINVAL;
  free(text);
  json_decref(root);
  if (rc == SS_OK && !buf_ok(out))
    rc = SS_ETOOBIG;
  return rc;
}

int settings_render_json(struct buf *out)
{
  json_t *settings = json_object();
  pthread_mutex_lock(&store_lock);
  for (int i = 0; i < S__COUNT; i++)
    json_object_set_new(settings, settings_defs[i].key,
                        value_json((enum setting_id)i, values[i], numbers[i]));
  pthread_mutex_unlock(&store_lock);
  return dump_json(json_pack("{s:o}", "settings", settings), out);
}

static const char *type_name(enum setting_type t)
{
  switch (t) {
  case ST_BOOL: return "bool";
  case ST_INT: return "int";
  case ST_STRING: return "string";
  case ST_URL: return "url";
  case ST_ENUM: return "enum";
  case ST_LISTEN: return "listen";
  }
  return "string";
}

static json_t *choices_json(const char *choices)
{
  json_t *arr = json_array();
  const char *c = choices ? choices : "";
  while (*c) {
    size_t n = strcspn(c, "|");
    json_array_append_new(arr, json_stringn(c, n));
    c += n + (c[n] == '|');
  }
  return arr;
}

static json_t *schema_entry(enum setting_id id)
{
  const struct setting_def *d = &settings_defs[id];
  char canon[SETTING_STR_MAX] = "";
  int64_t num = 0;
  if (check_value(id, d->def, canon, &num, NULL, 0) != SS_OK)
    snprintf(canon, sizeof canon, "%s", d->def);
  json_t *e = json_pack("{s:s, s:s, s:o}", "key", d->key, "type",
                        type_name(d->type), "default",
                        value_json(id, canon, num));
  if (d->type == ST_INT) {
    json_object_set_new(e, "min", json_integer(d->min));
    json_object_set_new(e, "max", json_integer(d->max));
  }
  if (d->type == ST_ENUM)
    json_object_set_new(e, "choices", choices_json(d->choices));
  json_object_set_new(e, "runtime", json_boolean(d->flags & SF_RUNTIME));
  json_object_set_new(e, "secret", json_boolean(d->flags & SF_SECRET));
  json_object_set_new(e, "help", text_json(d->help));
  return e;
}

int settings_render_schema_json(struct buf *out)
{
  json_t *arr = json_array();
  for (int i = 0; i < S__COUNT; i++)
    json_array_append_new(arr, schema_entry((enum setting_id)i));
  return dump_json(arr, out);
}

/* "int 30..3600", "error|warn|info|debug", "HOST:PORT", ... */
static void describe_type(const struct setting_def *d, char *out, size_t n)
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
    char type[MSG_MAX], env[KEY_MAX];
    describe_type(d, type, sizeof type);
    env_name((enum setting_id)i, env, sizeof env);
    fprintf(out, "\n  %s%s  (%s%s)\n      %s\n", d->key,
            d->flags & SF_RUNTIME ? " *" : "", type,
            d->flags & SF_SECRET ? ", secret" : "", d->help);
    fprintf(out, "      default: %s%s%s\n      env: %s\n",
            d->def[0] ? "\"" : "", d->def[0] ? d->def : "(empty)",
            d->def[0] ? "\"" : "", env);
  }
}
