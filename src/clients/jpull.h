/*
 * jpull.h - a small pull reader for large JSON replies.
 *
 * jansson builds a tree of hash tables; for slskd's transfer list (10 000
 * transfers are about 6 MB) that alone costs well over 100 ms.  jpull walks
 * the text once without building anything: the caller asks for the next
 * array element or object key and reads scalars straight into its own
 * storage.  Strings are decoded (every escape, \u surrogate pairs, invalid
 * pairs and \u0000 become U+FFFD) into caller buffers with a cap; longer
 * strings are cut at a UTF-8 boundary and flagged.
 *
 * Errors are sticky: the first syntax error, wrong type or depth overflow
 * sets j->failed with a message naming the byte offset, and every later
 * call returns false / SS_EPROTO, so a reader may check once at the end.
 * Nesting is capped at JPULL_MAX_DEPTH.  JSON null is reported as "absent"
 * (SS_ENOTFOUND) by the scalar readers.
 *
 * Pure; one reader per thread; the text must outlive the reader.
 */
#ifndef SS_JPULL_H
#define SS_JPULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define JPULL_MAX_DEPTH 32

enum jpull_type {
  JPULL_NULL,
  JPULL_BOOL,
  JPULL_NUMBER,
  JPULL_STRING,
  JPULL_ARRAY,
  JPULL_OBJECT,
  JPULL_INVALID /* end of input or a byte no value starts with */
};

struct jpull {
  const char *start, *p, *end;
  int depth;
  bool need_comma[JPULL_MAX_DEPTH + 1];
  char close[JPULL_MAX_DEPTH + 1]; /* ']' or '}' per open level */
  bool failed;
  bool truncated; /* the last string read was cut to fit */
  char err[128];
};

void jpull_init(struct jpull *j, const char *text, size_t len);
/* Type of the next value (skips white space; consumes nothing). */
enum jpull_type jpull_peek(struct jpull *j);
/* Consumes '[' / '{'; false (and failed) when the next value is not one. */
bool jpull_array(struct jpull *j);
bool jpull_object(struct jpull *j);
/* Inside the innermost array or object: true when another element
 * follows (its comma consumed); false when the container ended (closing
 * bracket consumed) or on error. */
bool jpull_next(struct jpull *j);
/* Inside an object after jpull_next(): reads the key and its ':'.  Keys
 * longer than n-1 bytes are cut (and never match a short name). */
bool jpull_key(struct jpull *j, char *key, size_t n);
/* Scalars: SS_OK, SS_ENOTFOUND for null (consumed), SS_EPROTO otherwise
 * (wrong type or syntax; the reader has failed). */
enum ss_err jpull_string(struct jpull *j, char *out, size_t n, size_t *len);
enum ss_err jpull_double(struct jpull *j, double *out);
/* An integral number (1048576 and 1048576.0 alike) within int64. */
enum ss_err jpull_int(struct jpull *j, int64_t *out);
enum ss_err jpull_bool(struct jpull *j, bool *out);
/* Skips the next value whatever it is (nested values included). */
bool jpull_skip(struct jpull *j);
/* After the top-level value: true when only white space is left. */
bool jpull_at_end(struct jpull *j);
/* Sets the error (first one wins) and returns SS_EPROTO. */
enum ss_err jpull_fail(struct jpull *j, const char *what);
/* After the top-level value: fails on trailing data; then SS_OK, or
 * SS_EPROTO with "malformed reply: <error at byte N>" in why. */
enum ss_err jpull_finish(struct jpull *j, char *why, size_t n);

#endif
