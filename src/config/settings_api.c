/*
 * settings_api.c - the settings API's side of the module: PATCH
 * /api/settings (a JSON object of key: typed value; all validated, then
 * persisted and applied at once, or nothing with a JSON reason per field),
 * GET /api/settings (typed values, secrets masked) and the schema.  HTTP
 * threads.
 */
#include "config/settings_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define PATCH_BODY_MAX ((size_t)64 * 1024)

/* ---- PATCH /api/settings ---- */

static enum ss_err reply_error(struct buf *errors, json_t *fields,
                               const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Writes {"error": msg[, "fields": fields]} into errors; steals fields. */
static enum ss_err reply_error(struct buf *errors, json_t *fields,
                               const char *fmt, ...)
{
  char msg[SETTINGS_MSG_MAX];
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
static enum ss_err json_to_text(enum setting_id id, const json_t *v,
                                char *text, char *err, size_t errlen)
{
  const struct setting_def *d = &settings_defs[id];
  switch (d->type) {
  case ST_BOOL:
    if (!json_is_boolean(v))
      return settings__fail(err, errlen,
                            "must be true or false (a JSON boolean)");
    strcpy(text, json_is_true(v) ? "true" : "false");
    return SS_OK;
  case ST_INT:
    if (!json_is_integer(v))
      return settings__fail(err, errlen,
                            "must be a whole number between %" PRId64
                            " and %" PRId64,
                            d->min, d->max);
    snprintf(text, SETTING_STR_MAX, "%" JSON_INTEGER_FORMAT,
             json_integer_value(v));
    return SS_OK;
  default:
    if (!json_is_string(v))
      return settings__fail(err, errlen, "must be a string");
    if (json_string_length(v) >= SETTING_STR_MAX ||
        strlen(json_string_value(v)) != json_string_length(v))
      return settings__fail(err, errlen, "is too long (at most %d bytes)",
                            SETTING_STR_MAX - 1);
    strcpy(text, json_string_value(v));
    return SS_OK;
  }
}

/*
 * Checks one member of the PATCH body.  Returns SS_OK with a change in
 * ch[*n] (or none, for a masked secret), or SS_EINVAL with msg set.
 */
static enum ss_err patch_member(const char *key, const json_t *v,
                                struct change *ch, size_t *n, char *msg,
                                size_t msglen)
{
  char text[SETTING_STR_MAX];
  int id = settings_lookup(key), rc;
  if (id < 0)
    return settings__fail(msg, msglen, "unknown setting");
  if (!(settings_defs[id].flags & SF_RUNTIME))
    return settings__fail(
      msg, msglen, "cannot be changed while running; edit the config file");
  rc = json_to_text((enum setting_id)id, v, text, msg, msglen);
  if (rc != SS_OK || settings__is_mask_of_secret((enum setting_id)id, text))
    return rc;
  if (*n >= S__COUNT) /* cannot happen: keys are unique */
    return settings__fail(msg, msglen, "too many settings");
  rc = settings__make_change((enum setting_id)id, text, &ch[*n], msg, msglen);
  if (rc == SS_OK)
    (*n)++;
  return rc;
}

/* Parses and checks the body; fills ch[]/n or writes errors. */
static enum ss_err patch_collect(const char *body, size_t len,
                                 struct change *ch, size_t *n,
                                 struct buf *errors)
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
  json_object_foreach(root, key, v)
  {
    char msg[SETTINGS_MSG_MAX];
    if (patch_member(key, v, ch, n, msg, sizeof msg) != SS_OK)
      json_object_set_new(fields, key, json_string(msg));
  }
  json_decref(root);
  if (json_object_size(fields) == 0 &&
      settings__check_folder_changes(ch, *n, fields, NULL, 0) == SS_OK) {
    json_decref(fields);
    return SS_OK;
  }
  settings__free_changes(ch, *n);
  *n = 0;
  return reply_error(errors, fields, "invalid settings");
}

enum ss_err settings_patch_json(const char *body, size_t len,
                                struct buf *errors)
{
  struct change ch[S__COUNT];
  size_t n = 0;
  enum ss_err rc = patch_collect(body, len, ch, &n, errors);
  if (rc != SS_OK)
    return rc;
  rc = settings__commit_changes(ch, n, true);
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

static enum ss_err dump_json(json_t *root, struct buf *out)
{
  char *text = json_dumps(root, JSON_COMPACT);
  enum ss_err rc = text ? buf_puts(out, text) : SS_EINVAL;
  free(text);
  json_decref(root);
  if (rc == SS_OK && !buf_ok(out))
    rc = SS_ETOOBIG;
  return rc;
}

enum ss_err settings_render_json(struct buf *out)
{
  json_t *settings = json_object();
  char *texts[S__COUNT];
  int64_t nums[S__COUNT];
  settings__snapshot(texts, nums);
  for (int i = 0; i < S__COUNT; i++) {
    json_object_set_new(settings, settings_defs[i].key,
                        value_json((enum setting_id)i, texts[i], nums[i]));
    free(texts[i]);
  }
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
  if (settings__check_value(id, d->def, canon, &num, NULL, 0) != SS_OK)
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

enum ss_err settings_render_schema_json(struct buf *out)
{
  json_t *arr = json_array();
  for (int i = 0; i < S__COUNT; i++)
    json_array_append_new(arr, schema_entry((enum setting_id)i));
  return dump_json(arr, out);
}
