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

/*
 * Process-wide allocator tuning, called once by main() before any thread
 * starts: keep freed heap memory instead of handing it back to the kernel
 * after each burst (glibc: trim above 64 MiB, heap blocks up to 32 MiB).
 * A Download Monitor poll with 10 000 transfers churns ~20 MB (reply body,
 * parsed list, rows); returning that and faulting it in again every poll
 * costs, on a VM, TLB shoot-downs worth more than the poll's own work
 * (docs/PERFORMANCE.md, "Downloads").
 */
void xalloc_tune_process(void);

/*
 * Hands the free memory of every malloc arena back to the kernel
 * (malloc_trim(0)): the trim threshold above keeps it otherwise.  For a
 * thread that has just dropped a large share of what it held and is about
 * to sleep for a long time (an idle unit closing its database connection).
 * Any thread; costs a walk over the arenas' free lists.
 */
void xalloc_release_free(void);

#endif
