/*
 * settings.c - the value store behind SETTINGS_TABLE (the module's parts
 * are listed in settings_internal.h).
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
#include "config/settings_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/xalloc.h"

#define MAX_SUBSCRIBERS 8

/* ---- the table ---- */

#define SETTING_DEF_ENTRY(id_, key_, type_, def_, min_, max_, choices_,       \
                          flags_, help_)                                      \
  [S_##id_] = {.key = key_,                                                   \
               .type = type_,                                                 \
               .def = def_,                                                   \
               .min = min_,                                                   \
               .max = max_,                                                   \
               .choices = choices_,                                           \
               .flags = flags_,                                               \
               .help = help_},
const struct setting_def settings_defs[S__COUNT] = {
  SETTINGS_TABLE(SETTING_DEF_ENTRY)};
#undef SETTING_DEF_ENTRY

/* ---- the store ---- */

struct subscriber {
  settings_changed_fn fn;
  void *arg;
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

bool settings__valid_id(int id) { return id >= 0 && id < S__COUNT; }

int settings_lookup(const char *key)
{
  if (!key)
    return -1;
  for (int i = 0; i < S__COUNT; i++)
    if (!strcmp(settings_defs[i].key, key))
      return i;
  return -1;
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

static enum ss_err run_persist_hook(const struct change *ch, size_t n)
{
  enum setting_id ids[S__COUNT];
  const char *texts[S__COUNT];
  settings_persist_fn fn;
  void *arg;
  enum ss_err rc;
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
enum ss_err settings__commit_changes(struct change *ch, size_t n, bool persist)
{
  enum ss_err rc = SS_OK;
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
  settings__free_changes(ch, n);
  if (rc == SS_OK)
    notify_subscribers();
  return rc;
}

/* ---- lifecycle ---- */

void settings_init(void)
{
  pthread_mutex_lock(&store_lock);
  for (int i = 0; i < S__COUNT; i++) {
    char canon[SETTING_STR_MAX], err[SETTINGS_MSG_MAX];
    int64_t num = 0;
    if (settings__check_value((enum setting_id)i, settings_defs[i].def, canon,
                              &num, err, sizeof err) != SS_OK) {
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
  if (!settings__valid_id((int)id))
    return false;
  pthread_mutex_lock(&store_lock);
  v = numbers[id] != 0;
  pthread_mutex_unlock(&store_lock);
  return v;
}

int64_t settings_int(enum setting_id id)
{
  int64_t v;
  if (!settings__valid_id((int)id))
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
  if (!settings__valid_id((int)id))
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
  if (!settings__valid_id((int)id))
    return xstrdup("");
  pthread_mutex_lock(&store_lock);
  copy = xstrdup(values[id] ? values[id] : "");
  pthread_mutex_unlock(&store_lock);
  return copy;
}

bool settings_is_set(enum setting_id id)
{
  bool set;
  if (!settings__valid_id((int)id))
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

enum ss_err settings_set(enum setting_id id, const char *text, char *err,
                         size_t errlen)
{
  char msg[SETTINGS_MSG_MAX];
  struct change ch;
  if (!settings__valid_id((int)id))
    return settings__fail(err, errlen, "unknown setting");
  if (settings__make_change(id, text, &ch, msg, sizeof msg) != SS_OK)
    return settings__fail(err, errlen, "%s: %s", settings_defs[id].key, msg);
  return settings__commit_changes(&ch, 1, false);
}

bool settings__is_mask_of_secret(enum setting_id id, const char *text)
{
  return (settings_defs[id].flags & SF_SECRET) && text &&
         !strcmp(text, SETTING_SECRET_MASK);
}

enum ss_err settings_apply_text(enum setting_id id, const char *text,
                                char *err, size_t errlen)
{
  struct change ch;
  enum ss_err rc;
  if (!settings__valid_id((int)id))
    return settings__fail(err, errlen, "unknown setting");
  if (!(settings_defs[id].flags & SF_RUNTIME))
    return settings__fail(
      err, errlen, "cannot be changed while running; edit the config file");
  if (settings__is_mask_of_secret(id, text))
    return SS_OK;
  rc = settings__make_change(id, text, &ch, err, errlen);
  if (rc != SS_OK)
    return rc;
  if (settings__check_folder_changes(&ch, 1, NULL, err, errlen) != SS_OK) {
    settings__free_changes(&ch, 1);
    return SS_EINVAL;
  }
  rc = settings__commit_changes(&ch, 1, true);
  if (rc != SS_OK)
    settings__fail(err, errlen, "could not save settings");
  return rc;
}

/* ---- snapshot (settings_api.c renders from it) ---- */

void settings__snapshot(char *texts[S__COUNT], int64_t nums[S__COUNT])
{
  pthread_mutex_lock(&store_lock);
  for (int i = 0; i < S__COUNT; i++) {
    texts[i] = xstrdup(values[i] ? values[i] : "");
    nums[i] = numbers[i];
  }
  pthread_mutex_unlock(&store_lock);
}
