/*
 * settings_internal.h - what the parts of the settings module share.
 *
 * The module is one interface (settings.h) in five files, split by job:
 *   settings.c          the table, the value store, getters, subscribers,
 *                       and committing a validated batch (persist + apply)
 *   settings_check.c    validation: one checker per type, folder rules
 *   settings_sources.c  the INI file, the environment, --help
 *   settings_api.c      PATCH /api/settings, the JSON and schema renderers
 *   settings_doc.c      the commented INI file and the man page (build time)
 * Only these five files include this header.
 */
#ifndef SS_SETTINGS_INTERNAL_H
#define SS_SETTINGS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"

#define SETTINGS_MSG_MAX 256
#define SETTINGS_KEY_MAX 128

/* One validated value on its way into the store. */
struct change {
  enum setting_id id;
  char *text; /* heap, canonical; swapped with the old value on apply */
  int64_t num;
};

bool settings__valid_id(int id);

/* ---- settings_check.c ---- */

/* Formats into err (may be NULL) and returns SS_EINVAL. */
enum ss_err settings__fail(char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
/* Copies untrusted text for a message, replacing unprintable bytes. */
void settings__printable_copy(char *out, size_t n, const char *s);
/* Validates text for id into canon[SETTING_STR_MAX] and *num. */
enum ss_err settings__check_value(enum setting_id id, const char *text,
                                  char *canon, int64_t *num, char *err,
                                  size_t errlen);
/* Validates into a heap change record (free with settings__free_changes). */
enum ss_err settings__make_change(enum setting_id id, const char *text,
                                  struct change *out, char *err,
                                  size_t errlen);
void settings__free_changes(struct change *ch, size_t n);
/* The folder rules between the folders of a runtime batch ch[].  Each
 * broken rule goes into fields (key: message) when given, the first into
 * err. */
enum ss_err settings__check_folder_changes(const struct change *ch, size_t n,
                                           json_t *fields, char *err,
                                           size_t errlen);

/* ---- settings.c ---- */

/* Persists (when asked), applies and announces n validated changes; takes
 * ownership of the texts in ch[] and frees them. */
enum ss_err settings__commit_changes(struct change *ch, size_t n,
                                     bool persist);
/* A secret's mask sent back unchanged (keep the stored value). */
bool settings__is_mask_of_secret(enum setting_id id, const char *text);
/* Copies every value and number under one lock: texts[i] are heap
 * strings the caller frees. */
void settings__snapshot(char *texts[S__COUNT], int64_t nums[S__COUNT]);

/* ---- settings_sources.c ---- */

/* SOULSPOT_<KEY>: upper case, '.' -> '_'. */
void settings__env_name(enum setting_id id, char *out, size_t n);
/* "int 30..3600", "error|warn|info|debug", "HOST:PORT", ... */
void settings__describe_type(const struct setting_def *d, char *out, size_t n);

#endif
