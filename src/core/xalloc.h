/*
 * xalloc.h - allocation that never returns NULL.
 *
 * A daemon cannot do anything useful after malloc fails, so the x* wrappers
 * log and abort in exactly one place (xalloc.c).  Call sites never check for
 * NULL.  Bounded failures (input too large) are handled by buf's limits
 * instead.  All functions may be called from any thread.
 */
#ifndef SS_XALLOC_H
#define SS_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
/* Returns a heap copy of s (NULL stays NULL); the caller frees it. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
