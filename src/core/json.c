#include "core/json.h"

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

/* Length of the valid UTF-8 sequence at p, or 0 when invalid. */
static size_t utf8_len(const unsigned char *p)
{
  if (p[0] < 0x80)
    return 1;
  size_t n;
  uint32_t cp;
  if ((p[0] & 0xE0) == 0xC0) {
    n = 2;
    cp = p[0] & 0x1F;
  } else if ((p[0] & 0xF0) == 0xE0) {
    n = 3;
    cp = p[0] & 0x0F;
  } else if ((p[0] & 0xF8) == 0xF0) {
    n = 4;
    cp = p[0] & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

enum ss_err json_str(struct buf *b, const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  buf_putc(b, '"');
  while (*p) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      buf_putc(b, '\\');
      buf_putc(b, (char)c);
      p++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n': buf_puts(b, "\\n"); break;
      case '\r': buf_puts(b, "\\r"); break;
      case '\t': buf_puts(b, "\\t"); break;
      default: buf_printf(b, "\\u%04x", c); break;
      }
      p++;
    } else if (c < 0x80) {
      buf_putc(b, (char)c);
      p++;
    } else {
      size_t n = utf8_len(p);
      if (n) {
        buf_append(b, p, n);
        p += n;
      } else {
        buf_puts(b, "\\ufffd");
        p++;
      }
    }
  }
  buf_putc(b, '"');
  return buf_ok(b) ? SS_OK : SS_ETOOBIG;
}
