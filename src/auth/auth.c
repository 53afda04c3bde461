/*
 * auth.c - API key, Argon2id password, login sessions, login rate limit.
 *
 * Design: the request path (every /api call) only needs the key and the
 * session table, so both live in memory behind one mutex; the password
 * hash is read from the database at each login (rare, and it lets the
 * `--set-password` command line take effect at once).  Argon2id parameters
 * are OWASP's minimum (t=2, m=19 MiB, one lane): a verify costs tens of
 * milliseconds and 19 MiB, and the rate limit keeps an attacker to
 * AUTH_FAILS_MAX tries per address and window.
 *
 * Nothing here logs a secret: messages name what happened, never a key, a
 * password, a hash or a session id.
 */
#include "auth/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>
#include <utf8proc.h>

#include "core/err.h"
#include "core/log.h"
#include "db/db.h"

#define SECRET_KEY "api_key"
#define SECRET_HASH "password_hash"
#define PWHASH_OPS 2
#define PWHASH_MEM (19u * 1024 * 1024)

struct session {
  char id[AUTH_SESSION_ID_LEN + 1];
  int64_t expires_ms; /* 0 = free slot */
  int64_t started_ms;
};

struct rate_slot {
  char addr[AUTH_ADDR_MAX];
  int fails;
  int64_t first_fail_ms;
  int64_t blocked_until_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char api_key[AUTH_KEY_LEN + 1];
static bool password_set;
static struct session sessions[AUTH_SESSIONS_MAX];
static struct rate_slot rate[AUTH_RATE_SLOTS];

enum ss_err auth_init(void)
{
  if (sodium_init() < 0) {
    log_error("auth", "libsodium cannot initialise");
    return SS_EIO;
  }
  return SS_OK;
}

void auth_reset(void)
{
  pthread_mutex_lock(&mu);
  sodium_memzero(api_key, sizeof api_key);
  sodium_memzero(sessions, sizeof sessions);
  memset(rate, 0, sizeof rate);
  password_set = false;
  pthread_mutex_unlock(&mu);
}

/* ------------------------------------------------------------- pure */

void auth_key_generate(char *out, size_t n)
{
  unsigned char raw[AUTH_KEY_LEN / 2];
  randombytes_buf(raw, sizeof raw);
  if (n >= AUTH_KEY_LEN + 1)
    sodium_bin2hex(out, n, raw, sizeof raw);
  else if (n)
    out[0] = '\0';
  sodium_memzero(raw, sizeof raw);
}

enum ss_err auth_password_rules(const char *password, char *err, size_t errlen)
{
  size_t len = password ? strlen(password) : 0;
  if (len < AUTH_PASSWORD_MIN) {
    snprintf(err, errlen, "the password must have at least %d characters",
             AUTH_PASSWORD_MIN);
    return SS_EINVAL;
  }
  if (len > AUTH_PASSWORD_MAX) {
    snprintf(err, errlen, "the password must have at most %d bytes",
             AUTH_PASSWORD_MAX);
    return SS_EINVAL;
  }
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)password;
  while (*p) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
    if (k <= 0) {
      snprintf(err, errlen, "the password is not valid UTF-8");
      return SS_EINVAL;
    }
    if (utf8proc_category(cp) == UTF8PROC_CATEGORY_CC) {
      snprintf(err, errlen,
               "the password must not contain control "
               "characters");
      return SS_EINVAL;
    }
    p += k;
  }
  return SS_OK;
}

bool auth_cookie_value(const char *cookie_header, const char *name, char *out,
                       size_t n)
{
  size_t klen = strlen(name);
  const char *c = cookie_header;
  while (c && *c) {
    c += strspn(c, " ;\t");
    size_t len = strcspn(c, ";");
    if (len > klen && !strncmp(c, name, klen) && c[klen] == '=') {
      size_t vlen = len - klen - 1;
      while (vlen && (c[klen + vlen] == ' ' || c[klen + vlen] == '\t'))
        vlen--;
      if (vlen >= n)
        return false;
      memcpy(out, c + klen + 1, vlen);
      out[vlen] = '\0';
      return true;
    }
    c += len;
  }
  return false;
}

bool auth_next_is_local(const char *next)
{
  if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
    return false;
  for (const unsigned char *p = (const unsigned char *)next; *p; p++)
    if (*p < 0x20 || *p == 0x7f || *p == '\\')
      return false;
  return true;
}

/* ------------------------------------------------------------ store */

enum ss_err auth_store_load(struct db *db, bool *created)
{
  char key[AUTH_KEY_LEN + 8];
  char hash[crypto_pwhash_STRBYTES];
  if (created)
    *created = false;
  enum ss_err rc = db_secret_get(db, SECRET_KEY, key, sizeof key);
  if (rc == SS_OK && strlen(key) != AUTH_KEY_LEN)
    rc = SS_ENOTFOUND; /* damaged: make a new one */
  if (rc == SS_ENOTFOUND) {
    auth_key_generate(key, sizeof key);
    rc = db_secret_put(db, SECRET_KEY, key);
    if (rc == SS_OK && created)
      *created = true;
  }
  if (rc != SS_OK)
    return rc;
  enum ss_err hrc = db_secret_get(db, SECRET_HASH, hash, sizeof hash);
  if (hrc != SS_OK && hrc != SS_ENOTFOUND)
    return hrc;
  pthread_mutex_lock(&mu);
  memcpy(api_key, key, sizeof api_key);
  password_set = hrc == SS_OK && hash[0];
  pthread_mutex_unlock(&mu);
  sodium_memzero(key, sizeof key);
  sodium_memzero(hash, sizeof hash);
  return SS_OK;
}

enum ss_err auth_store_regenerate_key(struct db *db)
{
  char key[AUTH_KEY_LEN + 1];
  auth_key_generate(key, sizeof key);
  enum ss_err rc = db_secret_put(db, SECRET_KEY, key);
  if (rc == SS_OK) {
    pthread_mutex_lock(&mu);
    memcpy(api_key, key, sizeof api_key);
    pthread_mutex_unlock(&mu);
    log_info("auth", "a new API key was made; the old one no longer works");
  }
  sodium_memzero(key, sizeof key);
  return rc;
}

enum ss_err auth_store_set_password(struct db *db, const char *password,
                                    char *err, size_t errlen)
{
  char hash[crypto_pwhash_STRBYTES];
  enum ss_err rc = auth_password_rules(password, err, errlen);
  if (rc != SS_OK)
    return rc;
  if (crypto_pwhash_str(hash, password, strlen(password), PWHASH_OPS,
                        PWHASH_MEM) != 0) {
    snprintf(err, errlen, "not enough memory to hash the password");
    return SS_EIO;
  }
  rc = db_secret_put(db, SECRET_HASH, hash);
  sodium_memzero(hash, sizeof hash);
  if (rc != SS_OK) {
    snprintf(err, errlen, "cannot store the password");
    return rc;
  }
  pthread_mutex_lock(&mu);
  password_set = true;
  sodium_memzero(sessions, sizeof sessions);
  pthread_mutex_unlock(&mu);
  log_info("auth", "the password was changed; every session was ended");
  return SS_OK;
}

enum ss_err auth_store_check_password(struct db *db, const char *password)
{
  char hash[crypto_pwhash_STRBYTES];
  enum ss_err rc = db_secret_get(db, SECRET_HASH, hash, sizeof hash);
  if (rc == SS_OK && !hash[0])
    rc = SS_ENOTFOUND;
  if (rc != SS_OK)
    return rc;
  size_t len = password ? strlen(password) : 0;
  if (!len || len > AUTH_PASSWORD_MAX)
    rc = SS_EINVAL;
  else
    rc = crypto_pwhash_str_verify(hash, password, len) == 0 ? SS_OK
                                                            : SS_EINVAL;
  sodium_memzero(hash, sizeof hash);
  return rc;
}

/* ------------------------------------------------------- key in memory */

void auth_key_copy(char *out, size_t n)
{
  pthread_mutex_lock(&mu);
  snprintf(out, n, "%s", api_key);
  pthread_mutex_unlock(&mu);
}

bool auth_key_matches(const char *candidate)
{
  if (!candidate || strlen(candidate) != AUTH_KEY_LEN)
    return false;
  pthread_mutex_lock(&mu);
  bool ok = api_key[0] && sodium_memcmp(api_key, candidate, AUTH_KEY_LEN) == 0;
  pthread_mutex_unlock(&mu);
  return ok;
}

bool auth_has_password(void)
{
  pthread_mutex_lock(&mu);
  bool set = password_set;
  pthread_mutex_unlock(&mu);
  return set;
}

/* ----------------------------------------------------------- sessions */

void auth_session_start(int64_t now_ms, char *id_out, size_t n)
{
  unsigned char raw[32];
  char id[AUTH_SESSION_ID_LEN + 1];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(id, sizeof id, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  pthread_mutex_lock(&mu);
  struct session *slot = &sessions[0];
  for (size_t i = 0; i < AUTH_SESSIONS_MAX; i++) {
    struct session *s = &sessions[i];
    if (s->expires_ms <= now_ms) { /* free or expired */
      slot = s;
      break;
    }
    if (s->started_ms < slot->started_ms)
      slot = s;
  }
  memcpy(slot->id, id, sizeof slot->id);
  slot->started_ms = now_ms;
  slot->expires_ms = now_ms + AUTH_SESSION_TTL_MS;
  pthread_mutex_unlock(&mu);
  snprintf(id_out, n, "%s", id);
  sodium_memzero(id, sizeof id);
}

/* The live slot whose id equals id, or NULL; caller holds mu. */
static struct session *session_find(const char *id, int64_t now_ms)
{
  if (!id || strlen(id) != AUTH_SESSION_ID_LEN)
    return NULL;
  struct session *found = NULL;
  for (size_t i = 0; i < AUTH_SESSIONS_MAX; i++) {
    struct session *s = &sessions[i];
    if (s->expires_ms > now_ms &&
        sodium_memcmp(s->id, id, AUTH_SESSION_ID_LEN) == 0)
      found = s;
  }
  return found;
}

bool auth_session_valid(const char *id, int64_t now_ms)
{
  pthread_mutex_lock(&mu);
  bool ok = session_find(id, now_ms) != NULL;
  pthread_mutex_unlock(&mu);
  return ok;
}

void auth_session_end(const char *id)
{
  pthread_mutex_lock(&mu);
  struct session *s = session_find(id, INT64_MIN);
  if (s)
    sodium_memzero(s, sizeof *s);
  pthread_mutex_unlock(&mu);
}

void auth_sessions_clear(void)
{
  pthread_mutex_lock(&mu);
  sodium_memzero(sessions, sizeof sessions);
  pthread_mutex_unlock(&mu);
}

/* --------------------------------------------------------- rate limit */

/* Which slot to reuse first: 0 free or stale (window and block over),
 * 1 counting failures, 2 blocked (kept as long as possible, so that many
 * other addresses cannot wash a block out). */
static int rate_rank(const struct rate_slot *r, int64_t now_ms)
{
  if (!r->addr[0])
    return 0;
  if (r->blocked_until_ms > now_ms)
    return 2;
  return now_ms - r->first_fail_ms > AUTH_FAIL_WINDOW_MS ? 0 : 1;
}

/* The slot of addr, or NULL; with claim, the lowest-ranked slot (oldest
 * first failure among equals) is taken for it.  Caller holds mu. */
static struct rate_slot *rate_slot(const char *addr, int64_t now_ms,
                                   bool claim)
{
  struct rate_slot *victim = NULL;
  int victim_rank = 3;
  for (size_t i = 0; i < AUTH_RATE_SLOTS; i++) {
    struct rate_slot *r = &rate[i];
    if (r->addr[0] && !strcmp(r->addr, addr))
      return r;
    int rank = rate_rank(r, now_ms);
    if (rank < victim_rank ||
        (rank == victim_rank && r->first_fail_ms < victim->first_fail_ms)) {
      victim = r;
      victim_rank = rank;
    }
  }
  if (!claim)
    return NULL;
  memset(victim, 0, sizeof *victim);
  snprintf(victim->addr, sizeof victim->addr, "%s", addr);
  return victim;
}

int64_t auth_login_blocked_for(const char *addr, int64_t now_ms)
{
  pthread_mutex_lock(&mu);
  struct rate_slot *r = rate_slot(addr, now_ms, false);
  int64_t wait_ms = r && r->blocked_until_ms > now_ms
                      ? r->blocked_until_ms - now_ms
                      : 0;
  pthread_mutex_unlock(&mu);
  return (wait_ms + 999) / 1000;
}

void auth_login_failed(const char *addr, int64_t now_ms)
{
  pthread_mutex_lock(&mu);
  struct rate_slot *r = rate_slot(addr, now_ms, true);
  if (!r->fails || now_ms - r->first_fail_ms > AUTH_FAIL_WINDOW_MS) {
    r->fails = 0;
    r->first_fail_ms = now_ms;
  }
  if (++r->fails >= AUTH_FAILS_MAX) {
    r->blocked_until_ms = now_ms + AUTH_BLOCK_MS;
    r->fails = 0;
    r->first_fail_ms = now_ms;
  }
  bool blocked = r->blocked_until_ms > now_ms;
  pthread_mutex_unlock(&mu);
  if (blocked)
    log_warn("auth",
             "too many failed logins from %.63s: blocked for %lld "
             "minutes",
             addr, (long long)(AUTH_BLOCK_MS / 60000));
}

void auth_login_succeeded(const char *addr)
{
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < AUTH_RATE_SLOTS; i++)
    if (rate[i].addr[0] && !strcmp(rate[i].addr, addr))
      memset(&rate[i], 0, sizeof rate[i]);
  pthread_mutex_unlock(&mu);
}

/* ------------------------------------------------------ command line */

/* Reads one line (without its line end) into out; echo is off while a
 * terminal types it.  SS_ETOOBIG when longer than n - 2 bytes. */
static enum ss_err read_secret_line(FILE *in, char *out, size_t n)
{
  struct termios old, quiet;
  bool tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
  if (tty) {
    fputs("New password: ", stderr);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(in), TCSANOW, &quiet);
  }
  bool got = fgets(out, (int)n, in) != NULL;
  if (tty) {
    tcsetattr(fileno(in), TCSANOW, &old);
    fputc('\n', stderr);
  }
  if (!got)
    return SS_EINVAL;
  size_t len = strcspn(out, "\r\n");
  bool whole = out[len] != '\0' || feof(in);
  out[len] = '\0';
  return whole ? SS_OK : SS_ETOOBIG;
}

enum ss_err auth_cli_set_password(struct db *db, FILE *in, FILE *msg)
{
  char pw[AUTH_PASSWORD_MAX + 2], err[160];
  enum ss_err rc = read_secret_line(in, pw, sizeof pw);
  if (rc == SS_ETOOBIG)
    snprintf(err, sizeof err, "the password must have at most %d bytes",
             AUTH_PASSWORD_MAX);
  else if (rc != SS_OK)
    snprintf(err, sizeof err, "no password on standard input");
  else
    rc = auth_store_set_password(db, pw, err, sizeof err);
  sodium_memzero(pw, sizeof pw);
  if (rc == SS_OK)
    fputs("soulspotd: password saved; a running soulspotd uses it for the "
          "next login\n",
          msg);
  else
    fprintf(msg, "soulspotd: --set-password: %s\n", err);
  return rc == SS_ETOOBIG ? SS_EINVAL : rc;
}
