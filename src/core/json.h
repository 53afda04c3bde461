/*
 * json.h - small helpers for writing JSON into a struct buf.
 *
 * Hot endpoints render JSON by hand (a fixed shape, no allocation per
 * field); every string goes through json_str() so any content, including
 * quotes, control characters and invalid UTF-8, yields valid JSON.
 * Pure functions; any thread.
 */
#ifndef SS_JSON_H
#define SS_JSON_H

#include "core/buf.h"
#include "core/err.h"

/* Appends s as a quoted JSON string.  Invalid UTF-8 bytes become U+FFFD. */
enum ss_err json_str(struct buf *b, const char *s);

#endif
