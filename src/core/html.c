#include "core/html.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

enum ss_err html_escape(struct buf *b, const char *s)
{
  const char *run = s;
  for (; *s; s++) {
    const char *rep;
    switch (*s) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default: continue;
    }
    buf_append(b, run, (size_t)(s - run));
    buf_puts(b, rep);
    run = s + 1;
  }
  buf_append(b, run, (size_t)(s - run));
  return buf_ok(b) ? SS_OK : SS_ETOOBIG;
}

enum ss_err html_escapef(struct buf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return SS_EINVAL;
  return html_escape(b, tmp);
}
