/*
 * fake_common.h - helpers shared by the fake services (tests only).
 */
#ifndef SS_TEST_FAKE_COMMON_H
#define SS_TEST_FAKE_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "fake_http.h"

#define JSON_UTF8 "application/json; charset=utf-8"
#define HTML_UTF8 "text/html; charset=utf-8"
#define SHORT_MAX 128

void fake__copy_str(char *dst, size_t n, const char *src);
/* Sets a JSON body from a jansson value (stolen). */
void fake__reply_json(struct fake_reply *rep, int status,
                      const char *content_type, json_t *v);
/* application/x-www-form-urlencoded helpers. */
void fake__form_decode(const char *s, size_t n, char *out, size_t cap);
bool fake__form_get(const char *body, const char *name, char *out, size_t cap);
bool fake__b64_decode(const char *s, char *out, size_t cap);
/* Percent-encodes s for a query component. */
void fake__url_encode(const char *s, struct buf *out);

#endif
