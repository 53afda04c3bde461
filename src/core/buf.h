/*
 * buf.h - a growable byte buffer with a hard cap.
 *
 * Every body we read (HTTP requests, external replies) and every body we
 * render (JSON, HTML) goes through a struct buf.  A buf never grows past its
 * limit: the append that would cross it fails with SS_ETOOBIG and marks the
 * buffer as overflowed (sticky), so a renderer may append blindly and check
 * buf_ok() once at the end.  data is always NUL-terminated once non-empty.
 *
 * The caller embeds the struct and owns it: buf_init() / buf_free().  A buf is
 * not thread-safe; one thread at a time.
 */
#ifndef SS_BUF_H
#define SS_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct buf {
  char *data;    /* NULL until the first append */
  size_t len;    /* bytes used, excluding the NUL */
  size_t cap;    /* bytes allocated */
  size_t limit;  /* hard cap on len */
  bool overflow; /* an append failed because of limit */
};

#define BUF_LIMIT_DEFAULT ((size_t)1 << 20)

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
/* Empties the buffer (keeps memory) and clears the overflow flag. */
void buf_reset(struct buf *b);
enum ss_err buf_append(struct buf *b, const void *p, size_t n);
enum ss_err buf_puts(struct buf *b, const char *s);
enum ss_err buf_putc(struct buf *b, char c);
enum ss_err buf_printf(struct buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* True while no append has failed. */
static inline bool buf_ok(const struct buf *b) { return !b->overflow; }
/* Returns the contents ("" when empty); valid until the next append. */
static inline const char *buf_cstr(const struct buf *b)
{
  return b->data ? b->data : "";
}
/* Hands the heap memory to the caller (who frees it) and empties b. */
char *buf_steal(struct buf *b, size_t *len);

#endif
