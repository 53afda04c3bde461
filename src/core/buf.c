#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/xalloc.h"

void buf_init(struct buf *b, size_t limit)
{
  memset(b, 0, sizeof *b);
  b->limit = limit ? limit : BUF_LIMIT_DEFAULT;
}

void buf_free(struct buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->overflow = false;
}

void buf_reset(struct buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
  b->overflow = false;
}

static enum ss_err reserve(struct buf *b, size_t extra)
{
  /* The text and its NUL always fit the allocation, within the limit. */
  DEBUGASSERT(b->len <= b->limit && (!b->data || b->len < b->cap));
  if (b->overflow)
    return SS_ETOOBIG;
  if (extra > b->limit - b->len) {
    b->overflow = true;
    return SS_ETOOBIG;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return SS_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  if (cap > b->limit + 1)
    cap = b->limit + 1;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
  return SS_OK;
}

enum ss_err buf_append(struct buf *b, const void *p, size_t n)
{
  DEBUGASSERT(p || n == 0);
  enum ss_err rc = reserve(b, n);
  if (rc != SS_OK)
    return rc;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return SS_OK;
}

enum ss_err buf_puts(struct buf *b, const char *s)
{
  return buf_append(b, s, strlen(s));
}

enum ss_err buf_putc(struct buf *b, char c) { return buf_append(b, &c, 1); }

enum ss_err buf_printf(struct buf *b, const char *fmt, ...)
{
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return SS_EINVAL;
  if ((size_t)n < sizeof small)
    return buf_append(b, small, (size_t)n);
  enum ss_err rc = reserve(b, (size_t)n);
  if (rc != SS_OK)
    return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return SS_OK;
}

char *buf_steal(struct buf *b, size_t *len)
{
  char *p = b->data ? b->data : xstrdup("");
  if (len)
    *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  b->overflow = false;
  return p;
}
