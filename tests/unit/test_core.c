/* Unit tests: capped buffers, HTML escaping, JSON strings, xalloc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/html.h"
#include "core/json.h"
#include "core/xalloc.h"

static void test_reason_codes(void **state)
{
  (void)state;
  assert_string_equal(ss_reason_name(SS_R_NONE), "");
  static const char *const names[] =
    {"",         "auth",         "connection",
     "timeout",  "rate_limited", "not_configured",
     "protocol", "disk",         "internal"};
  for (int r = 0; r < SS_REASON_COUNT; r++)
    assert_string_equal(ss_reason_name((enum ss_reason)r), names[r]);
  assert_string_equal(ss_reason_name((enum ss_reason)99), "");
  assert_int_equal(ss_reason_of(SS_OK), SS_R_NONE);
  assert_int_equal(ss_reason_of(SS_ENET), SS_R_CONNECTION);
  assert_int_equal(ss_reason_of(SS_ETIMEDOUT), SS_R_TIMEOUT);
  assert_int_equal(ss_reason_of(SS_EBUSY), SS_R_RATE_LIMITED);
  assert_int_equal(ss_reason_of(SS_EPROTO), SS_R_PROTOCOL);
  assert_int_equal(ss_reason_of(SS_ETOOBIG), SS_R_PROTOCOL);
  assert_int_equal(ss_reason_of(SS_EIO), SS_R_DISK);
  assert_int_equal(ss_reason_of(SS_ESTATE), SS_R_AUTH);
  assert_int_equal(ss_reason_of(SS_EDB), SS_R_INTERNAL);
  assert_string_equal(ss_strerror(SS_ETIMEDOUT), "timed out");
}

static void test_buf_grows_and_terminates(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  assert_string_equal(buf_cstr(&b), "");
  for (int i = 0; i < 1000; i++)
    assert_int_equal(buf_printf(&b, "%d,", i), SS_OK);
  assert_true(b.len > 2000);
  assert_int_equal(b.data[b.len], '\0');
  assert_memory_equal(b.data, "0,1,2,", 6);
  buf_free(&b);
}

static void test_buf_limit_is_sticky(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 10);
  assert_int_equal(buf_puts(&b, "0123456789"), SS_OK);
  assert_true(buf_ok(&b));
  assert_int_equal(buf_putc(&b, 'x'), SS_ETOOBIG);
  assert_false(buf_ok(&b));
  /* Later small appends still fail: the overflow is sticky. */
  assert_int_equal(buf_append(&b, "", 0), SS_ETOOBIG);
  assert_int_equal(b.len, 10);
  buf_reset(&b);
  assert_true(buf_ok(&b));
  assert_int_equal(buf_printf(&b, "%s", "abcdefghijkl"), SS_ETOOBIG);
  assert_int_equal(b.len, 0);
  buf_free(&b);
}

static void test_buf_long_printf(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  char big[1000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(buf_printf(&b, "<%s>", big), SS_OK);
  assert_int_equal(b.len, 1001);
  size_t len;
  char *p = buf_steal(&b, &len);
  assert_int_equal(len, 1001);
  assert_int_equal(p[1000], '>');
  assert_null(b.data);
  free(p);
}

static void test_html_escape_everything(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  assert_int_equal(html_escape(&b, "<script>alert('x\")&</script>"), SS_OK);
  assert_string_equal(buf_cstr(&b), "&lt;script&gt;alert(&#39;x&quot;)&amp;"
                                    "&lt;/script&gt;");
  buf_reset(&b);
  html_escape(&b, "plain Ünïcode");
  assert_string_equal(buf_cstr(&b), "plain Ünïcode");
  buf_reset(&b);
  html_escapef(&b, "%d<%s", 5, "&");
  assert_string_equal(buf_cstr(&b), "5&lt;&amp;");
  buf_free(&b);
}

static void test_html_escape_respects_limit(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 8);
  assert_int_equal(html_escape(&b, "<<<"), SS_ETOOBIG);
  buf_free(&b);
}

static void test_json_str_roundtrips(void **state)
{
  (void)state;
  const char *inputs[] = {"plain", "quote\" back\\slash", "ctl\x01\n\t\r",
                          "Grüße ✓ 🎵", "</script>"};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(json_str(&b, inputs[i]), SS_OK);
    json_error_t err;
    json_t *v = json_loads(buf_cstr(&b), JSON_DECODE_ANY, &err);
    assert_non_null(v);
    assert_string_equal(json_string_value(v), inputs[i]);
    json_decref(v);
    buf_free(&b);
  }
}

static void test_json_str_invalid_utf8(void **state)
{
  (void)state;
  struct buf b;
  buf_init(&b, 0);
  json_str(&b, "a\xff"
               "b\xc3"
               "\xed\xa0\x80"); /* stray, truncated, surrogate */
  json_error_t err;
  json_t *v = json_loads(buf_cstr(&b), JSON_DECODE_ANY, &err);
  assert_non_null(v);
  assert_non_null(strstr(json_string_value(v), "a\xef\xbf\xbd"
                                               "b"));
  json_decref(v);
  buf_free(&b);
}

static void test_xalloc(void **state)
{
  (void)state;
  char *s = xasprintf("%s-%d", "x", 42);
  assert_string_equal(s, "x-42");
  char *t = xstrndup("abcdef", 3);
  assert_string_equal(t, "abc");
  assert_null(xstrdup(NULL));
  free(s);
  free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reason_codes),
    cmocka_unit_test(test_buf_grows_and_terminates),
    cmocka_unit_test(test_buf_limit_is_sticky),
    cmocka_unit_test(test_buf_long_printf),
    cmocka_unit_test(test_html_escape_everything),
    cmocka_unit_test(test_html_escape_respects_limit),
    cmocka_unit_test(test_json_str_roundtrips),
    cmocka_unit_test(test_json_str_invalid_utf8),
    cmocka_unit_test(test_xalloc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
