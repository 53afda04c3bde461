/*
 * utf8.h - cutting UTF-8 text to a byte budget without splitting a
 * character: the one rule behind every capped copy of a name, a message
 * or a wire string (the daemon's buffers are byte-sized, its text is not).
 *
 * A character the cut would split is left out whole.  Bytes that are not
 * UTF-8 count as characters of their own, so invalid input still gets a
 * bounded, NUL-free-of-halves result; these functions do not validate.
 *
 * Pure functions; any thread; nothing allocated.
 */
#ifndef SS_CORE_UTF8_H
#define SS_CORE_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of s[0..len) that does not end inside
 * a multi-byte character.  Reads s[0..len) only (NULs are data). */
size_t utf8_fit(const char *s, size_t len);

/* The length of C string s (NULL = "") cut to at most max bytes on a
 * character boundary; a string of max bytes or fewer is not cut (nor
 * checked).  Reads s up to its NUL, at most max + 1 bytes. */
size_t utf8_cut(const char *s, size_t max);

/* Copies C string src (NULL = "") into dst of n > 0 bytes, cut with
 * utf8_cut(src, n - 1), NUL-terminated.  Returns the length copied. */
size_t utf8_copy(char *dst, size_t n, const char *src);

#endif
