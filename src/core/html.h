/*
 * html.h - escaping for every dynamic string that reaches a page.
 *
 * html_escape() is safe for both text and double- or single-quoted attribute
 * values.  Renderers write literal markup with buf_puts() and every value
 * through html_escape().  Pure functions; any thread.
 */
#ifndef SS_HTML_H
#define SS_HTML_H

#include "core/buf.h"
#include "core/err.h"

/* Appends s with & < > " ' escaped.  Returns SS_OK or SS_ETOOBIG. */
enum ss_err html_escape(struct buf *b, const char *s);
/* printf, then escape the result. */
enum ss_err html_escapef(struct buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif
