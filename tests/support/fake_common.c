/*
 * fake_common.c - helpers shared by the fake services (tests only).
 */
#include "fake_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fake__copy_str(char *dst, size_t n, const char *src)
{
  snprintf(dst, n, "%s", src ? src : "");
}

/* Sets a JSON body from a jansson value (stolen). */
void fake__reply_json(struct fake_reply *rep, int status,
                      const char *content_type, json_t *v)
{
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  fake_reply_set(rep, status, content_type, text ? text : "null");
  free(text);
  json_decref(v);
}

/* ---- form bodies and Basic auth ---- */

static int hex_val(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes application/x-www-form-urlencoded text of length n into out. */
void fake__form_decode(const char *s, size_t n, char *out, size_t cap)
{
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    if (s[i] == '+') {
      out[o++] = ' ';
    } else if (s[i] == '%' && i + 2 < n && hex_val(s[i + 1]) >= 0 &&
               hex_val(s[i + 2]) >= 0) {
      out[o++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
}

/* Finds field name in a form body; false when absent. */
bool fake__form_get(const char *body, const char *name, char *out, size_t cap)
{
  size_t nlen = strlen(name);
  const char *p = body;
  while (p && *p) {
    size_t len = strcspn(p, "&");
    if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      fake__form_decode(p + nlen + 1, len - nlen - 1, out, cap);
      return true;
    }
    p = p[len] ? p + len + 1 : NULL;
  }
  return false;
}

static int b64_val(char c)
{
  const char *
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = c ? strchr(alpha, c) : NULL;
  return p ? (int)(p - alpha) : -1;
}

/* Decodes standard base64 into out (NUL-terminated); false if invalid. */
bool fake__b64_decode(const char *s, char *out, size_t cap)
{
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++) {
    int v = b64_val(*s);
    if (v < 0)
      return false;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o + 1 >= cap)
        return false;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = '\0';
  return true;
}

/* Percent-encodes s for a query component. */
void fake__url_encode(const char *s, struct buf *out)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr("-._~", c))
      buf_putc(out, (char)c);
    else
      buf_printf(out, "%%%02X", c);
  }
}
