/*
 * jpull.c - pull reader for large JSON replies (see jpull.h).
 *
 * What: one forward pass over the text; containers are tracked by a small
 * fixed stack (closing byte and "a comma is due" per level), scalars are
 * decoded into caller storage.  Nothing is allocated.
 * Threading: a reader belongs to one thread.  Ownership: borrows the text.
 */
#include "clients/jpull.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"

#define NUM_MAX 64

void jpull_init(struct jpull *j, const char *text, size_t len)
{
  memset(j, 0, sizeof *j);
  j->start = j->p = text;
  j->end = text + len;
}

enum ss_err jpull_fail(struct jpull *j, const char *what)
{
  if (!j->failed) {
    j->failed = true;
    snprintf(j->err, sizeof j->err, "%s at byte %zu", what,
             (size_t)(j->p - j->start));
  }
  return SS_EPROTO;
}

static void skip_ws(struct jpull *j)
{
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
    j->p++;
}

enum jpull_type jpull_peek(struct jpull *j)
{
  if (j->failed)
    return JPULL_INVALID;
  skip_ws(j);
  if (j->p >= j->end)
    return JPULL_INVALID;
  switch (*j->p) {
  case 'n': return JPULL_NULL;
  case 't':
  case 'f': return JPULL_BOOL;
  case '"': return JPULL_STRING;
  case '[': return JPULL_ARRAY;
  case '{': return JPULL_OBJECT;
  default:
    return *j->p == '-' || (*j->p >= '0' && *j->p <= '9') ? JPULL_NUMBER
                                                          : JPULL_INVALID;
  }
}

static bool open_container(struct jpull *j, enum jpull_type want, char close)
{
  if (jpull_peek(j) != want) {
    jpull_fail(j, want == JPULL_ARRAY ? "expected an array"
                                      : "expected an object");
    return false;
  }
  if (j->depth >= JPULL_MAX_DEPTH) {
    jpull_fail(j, "nested too deeply");
    return false;
  }
  j->p++;
  j->depth++;
  j->need_comma[j->depth] = false;
  j->close[j->depth] = close;
  return true;
}

bool jpull_array(struct jpull *j)
{
  return open_container(j, JPULL_ARRAY, ']');
}

bool jpull_object(struct jpull *j)
{
  return open_container(j, JPULL_OBJECT, '}');
}

bool jpull_next(struct jpull *j)
{
  if (j->failed)
    return false;
  if (j->depth == 0) {
    jpull_fail(j, "not inside an array or object");
    return false;
  }
  skip_ws(j);
  if (j->p >= j->end) {
    jpull_fail(j, "unexpected end of input");
    return false;
  }
  if (*j->p == j->close[j->depth]) {
    j->p++;
    j->depth--;
    return false;
  }
  if (j->need_comma[j->depth]) {
    if (*j->p != ',') {
      jpull_fail(j, "expected ',' or a closing bracket");
      return false;
    }
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == j->close[j->depth]) {
      jpull_fail(j, "trailing comma");
      return false;
    }
  }
  j->need_comma[j->depth] = true;
  return true;
}

/* ---- strings ---- */

/* Reads four hex digits at p into *out; false when there are none. */
static bool hex4(const char *p, const char *end, unsigned *out)
{
  if (end - p < 4)
    return false;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return false;
  }
  *out = v;
  return true;
}

struct sink {
  char *out;
  size_t cap; /* usable bytes (n - 1) */
  size_t len;
  bool cut;
};

static void sink_bytes(struct sink *s, const char *p, size_t n)
{
  if (s->cut || !s->out)
    return;
  size_t room = s->cap - s->len;
  if (n > room) {
    memcpy(s->out + s->len, p, room); /* utf8_fit trims the end */
    s->len += room;
    s->cut = true;
    return;
  }
  memcpy(s->out + s->len, p, n);
  s->len += n;
}

static void sink_code_point(struct sink *s, unsigned cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  sink_bytes(s, u, n);
}

/* After the backslash of a \u escape: decodes one code point (a pair of
 * surrogates when they form one); U+FFFD for anything unusable. */
static enum ss_err read_u_escape(struct jpull *j, unsigned *cp)
{
  unsigned hi;
  if (!hex4(j->p, j->end, &hi))
    return jpull_fail(j, "bad \\u escape");
  j->p += 4;
  if (hi >= 0xD800 && hi <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
      j->p[1] == 'u') {
    unsigned lo;
    if (!hex4(j->p + 2, j->end, &lo))
      return jpull_fail(j, "bad \\u escape");
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      j->p += 6;
      *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
      return SS_OK;
    }
  }
  *cp = (hi >= 0xD800 && hi <= 0xDFFF) || hi == 0 ? 0xFFFD : hi;
  return SS_OK;
}

static enum ss_err read_escape(struct jpull *j, struct sink *s)
{
  if (j->p >= j->end)
    return jpull_fail(j, "unterminated string");
  char c = *j->p++;
  unsigned cp = 0xFFFD;
  switch (c) {
  case '"':
  case '\\':
  case '/': sink_bytes(s, &c, 1); return SS_OK;
  case 'b': sink_bytes(s, "\b", 1); return SS_OK;
  case 'f': sink_bytes(s, "\f", 1); return SS_OK;
  case 'n': sink_bytes(s, "\n", 1); return SS_OK;
  case 'r': sink_bytes(s, "\r", 1); return SS_OK;
  case 't': sink_bytes(s, "\t", 1); return SS_OK;
  case 'u':
    if (read_u_escape(j, &cp))
      return SS_EPROTO;
    sink_code_point(s, cp);
    return SS_OK;
  default: return jpull_fail(j, "bad escape");
  }
}

static enum ss_err read_string(struct jpull *j, struct sink *s)
{
  j->p++; /* opening quote */
  for (;;) {
    const char *run = j->p;
    while (j->p < j->end && *j->p != '"' && *j->p != '\\' &&
           (unsigned char)*j->p >= 0x20)
      j->p++;
    sink_bytes(s, run, (size_t)(j->p - run));
    if (j->p >= j->end)
      return jpull_fail(j, "unterminated string");
    char c = *j->p++;
    if (c == '"')
      break;
    if (c != '\\') {
      j->p--;
      return jpull_fail(j, "control character in string");
    }
    if (read_escape(j, s))
      return SS_EPROTO;
  }
  if (s->out) {
    if (s->cut)
      s->len = utf8_fit(s->out, s->len); /* no half character at the cut */
    s->out[s->len] = '\0';
  }
  j->truncated = s->cut;
  return SS_OK;
}

static enum ss_err literal(struct jpull *j, const char *word)
{
  size_t n = strlen(word);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
    return jpull_fail(j, "bad literal");
  j->p += n;
  return SS_OK;
}

/* A null in place of a scalar: consumed, reported as absent. */
static enum ss_err take_null(struct jpull *j)
{
  return literal(j, "null") ? SS_EPROTO : SS_ENOTFOUND;
}

enum ss_err jpull_string(struct jpull *j, char *out, size_t n, size_t *len)
{
  enum jpull_type t = jpull_peek(j);
  if (out && n)
    out[0] = '\0';
  if (len)
    *len = 0;
  if (t == JPULL_NULL)
    return take_null(j);
  if (t != JPULL_STRING)
    return jpull_fail(j, "expected a string");
  struct sink s = {out && n ? out : NULL, n ? n - 1 : 0, 0, false};
  enum ss_err rc = read_string(j, &s);
  if (len)
    *len = s.len;
  return rc;
}

bool jpull_key(struct jpull *j, char *key, size_t n)
{
  if (jpull_peek(j) != JPULL_STRING) {
    jpull_fail(j, "expected a key");
    return false;
  }
  if (jpull_string(j, key, n, NULL) != SS_OK)
    return false;
  if (key && n && j->truncated)
    key[0] = '\0'; /* a cut key matches nothing */
  skip_ws(j);
  if (j->p >= j->end || *j->p != ':') {
    jpull_fail(j, "expected ':'");
    return false;
  }
  j->p++;
  return true;
}

/* ---- numbers ---- */

static size_t scan_digits(const char *p, const char *end)
{
  size_t n = 0;
  while (p + n < end && p[n] >= '0' && p[n] <= '9')
    n++;
  return n;
}

/* Validates the JSON number grammar; *integral when no fraction or
 * exponent.  Returns its length, 0 when malformed. */
static size_t scan_number(const char *p, const char *end, bool *integral)
{
  const char *q = p;
  if (q < end && *q == '-')
    q++;
  size_t d = scan_digits(q, end);
  if (!d || (d > 1 && *q == '0'))
    return 0;
  q += d;
  *integral = true;
  if (q < end && *q == '.') {
    d = scan_digits(++q, end);
    if (!d)
      return 0;
    q += d;
    *integral = false;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end && (*q == '+' || *q == '-'))
      q++;
    d = scan_digits(q, end);
    if (!d)
      return 0;
    q += d;
    *integral = false;
  }
  return (size_t)(q - p);
}

static enum ss_err read_number(struct jpull *j, double *dv, int64_t *iv,
                               bool *integral)
{
  enum jpull_type t = jpull_peek(j);
  if (t == JPULL_NULL)
    return take_null(j);
  if (t != JPULL_NUMBER)
    return jpull_fail(j, "expected a number");
  size_t n = scan_number(j->p, j->end, integral);
  if (!n || n >= NUM_MAX)
    return jpull_fail(j, "bad number");
  char tmp[NUM_MAX];
  memcpy(tmp, j->p, n);
  tmp[n] = '\0';
  j->p += n;
  *dv = strtod(tmp, NULL);
  *iv = 0;
  if (*integral) {
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno == ERANGE)
      *integral = false; /* out of range: keep the double */
    else
      *iv = v;
  }
  return SS_OK;
}

enum ss_err jpull_double(struct jpull *j, double *out)
{
  int64_t iv;
  bool integral;
  return read_number(j, out, &iv, &integral);
}

enum ss_err jpull_int(struct jpull *j, int64_t *out)
{
  double dv;
  int64_t iv;
  bool integral;
  enum ss_err rc = read_number(j, &dv, &iv, &integral);
  if (rc)
    return rc;
  if (integral) {
    *out = iv;
    return SS_OK;
  }
  if (!isfinite(dv) || dv != floor(dv) || dv < -9.2e18 || dv > 9.2e18)
    return jpull_fail(j, "expected an integer");
  *out = (int64_t)dv;
  return SS_OK;
}

enum ss_err jpull_bool(struct jpull *j, bool *out)
{
  enum jpull_type t = jpull_peek(j);
  if (t == JPULL_NULL)
    return take_null(j);
  if (t != JPULL_BOOL)
    return jpull_fail(j, "expected a boolean");
  *out = *j->p == 't';
  return literal(j, *out ? "true" : "false");
}

bool jpull_skip(struct jpull *j)
{
  double d;
  bool b;
  switch (jpull_peek(j)) {
  case JPULL_ARRAY:
    if (!jpull_array(j))
      return false;
    while (jpull_next(j))
      if (!jpull_skip(j))
        return false;
    return !j->failed;
  case JPULL_OBJECT:
    if (!jpull_object(j))
      return false;
    while (jpull_next(j))
      if (!jpull_key(j, NULL, 0) || !jpull_skip(j))
        return false;
    return !j->failed;
  case JPULL_STRING: return jpull_string(j, NULL, 0, NULL) == SS_OK;
  case JPULL_NUMBER: return jpull_double(j, &d) == SS_OK;
  case JPULL_BOOL: return jpull_bool(j, &b) == SS_OK;
  case JPULL_NULL: return literal(j, "null") == SS_OK;
  case JPULL_INVALID: break;
  }
  jpull_fail(j, j->p >= j->end ? "unexpected end of input"
                               : "unexpected character");
  return false;
}

bool jpull_at_end(struct jpull *j)
{
  skip_ws(j);
  return !j->failed && j->depth == 0 && j->p == j->end;
}

enum ss_err jpull_finish(struct jpull *j, char *why, size_t n)
{
  if (!j->failed && !jpull_at_end(j))
    jpull_fail(j, "trailing data");
  if (j->failed) {
    snprintf(why, n, "malformed reply: %s", j->err);
    return SS_EPROTO;
  }
  return SS_OK;
}
