/*
 * fuzz_settings_patch.c - libFuzzer target: the body of PATCH /api/settings
 * (settings_patch_json in src/config/settings.c).
 *
 * Any body either changes every named setting or none: on SS_OK the
 * rendered settings are valid output, on an error the error body is JSON
 * {"error": ...} and no value changed (checked through the rendered
 * settings, which must be byte-identical to those before the call).
 */
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static bool ready;
  if (!ready) {
    log_set_level(LOG_LVL_ERROR - 1); /* quiet */
    settings_init();
    ready = true;
  }
  struct buf before, after, errors;
  buf_init(&before, 1 << 20);
  buf_init(&after, 1 << 20);
  buf_init(&errors, 64 * 1024);
  FUZZ_CHECK(settings_render_json(&before) == SS_OK);
  int rc = settings_patch_json((const char *)data, size, &errors);
  FUZZ_CHECK(settings_render_json(&after) == SS_OK);
  if (rc == SS_OK) {
    json_t *doc = json_loadb(after.data, after.len, 0, NULL);
    FUZZ_CHECK(json_is_object(json_object_get(doc, "settings")));
    json_decref(doc);
  } else {
    FUZZ_CHECK(rc == SS_EINVAL);
    json_t *doc = json_loadb(errors.data, errors.len, 0, NULL);
    FUZZ_CHECK(json_is_string(json_object_get(doc, "error")));
    json_decref(doc);
    FUZZ_CHECK(before.len == after.len &&
               !memcmp(before.data, after.data, before.len));
  }
  buf_free(&before);
  buf_free(&after);
  buf_free(&errors);
  return 0;
}
