/*
 * test_probe_wire.c - unit tests of probe_wire.c, the messages between the
 * daemon and soulspotd-probe: round trips with real-world names, the cap
 * of every text field (refused when decoding), every truncation of a valid
 * frame, trailing bytes, another version, numbers out of range, embedded NULs,
 * and the socket calls with a descriptor attached, end of stream and an
 * over-long message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "media/probe_wire.h"

static void sample_reply(struct pw_reply *r)
{
  memset(r, 0, sizeof *r);
  r->op = PW_OP_PROBE;
  struct media_info *m = &r->media;
  snprintf(m->title, sizeof m->title, "Jóga");
  snprintf(m->artist, sizeof m->artist, "Björk");
  snprintf(m->album_artist, sizeof m->album_artist, "坂本龍一");
  snprintf(m->album, sizeof m->album, "<b>&\"' AC/DC");
  snprintf(m->date, sizeof m->date, "1997-09-22");
  m->year = 1997;
  m->track_no = 3;
  m->track_total = 10;
  m->disc_no = 1;
  m->disc_total = 2;
  m->duration_ms = 305123;
  snprintf(m->codec, sizeof m->codec, "flac");
  snprintf(m->container, sizeof m->container, "flac");
  m->bitrate = 1411200;
  m->sample_rate = 96000;
  m->bit_depth = 24;
  m->channels = 2;
  m->lossless = true;
  snprintf(m->mb_recording_id, sizeof m->mb_recording_id,
           "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae");
  snprintf(m->mb_release_group_id, sizeof m->mb_release_group_id,
           "0f0c6b1e-52fb-3e0b-9bcb-6bb0a3f21c2c");
}

static void test_request_round_trip(void **state)
{
  (void)state;
  struct pw_request q = {.op = PW_OP_FINGERPRINT, .max_seconds = 30};
  snprintf(q.name, sizeof q.name, "Sigur Rós - Hoppípolla.flac");
  uint8_t buf[PW_FRAME_MAX];
  size_t n = pw_encode_request(&q, buf, sizeof buf);
  assert_true(n > 4);
  assert_int_equal(buf[0] | buf[1] << 8, n - 4); /* the length prefix */
  struct pw_request back;
  assert_int_equal(pw_decode_request(buf, n, &back), SS_OK);
  assert_int_equal(back.op, PW_OP_FINGERPRINT);
  assert_int_equal(back.max_seconds, 30);
  assert_string_equal(back.name, "Sigur Rós - Hoppípolla.flac");
  /* every truncation and one byte too many are refused */
  for (size_t k = 0; k < n; k++)
    assert_int_equal(pw_decode_request(buf, k, &back), SS_EPROTO);
  buf[n] = 0;
  assert_int_equal(pw_decode_request(buf, n + 1, &back), SS_EPROTO);
  /* bad op, bad version, too many seconds */
  q.op = 7;
  assert_int_equal(pw_encode_request(&q, buf, sizeof buf), 0);
  q.op = PW_OP_PROBE;
  q.max_seconds = PW_MAX_SECONDS + 1;
  assert_int_equal(pw_encode_request(&q, buf, sizeof buf), 0);
  q.max_seconds = 0;
  n = pw_encode_request(&q, buf, sizeof buf);
  buf[4] = PW_VERSION + 1;
  assert_int_equal(pw_decode_request(buf, n, &back), SS_EPROTO);
  buf[4] = PW_VERSION;
  buf[5] = 9; /* op */
  assert_int_equal(pw_decode_request(buf, n, &back), SS_EPROTO);
  /* a buffer too small is refused, never overrun */
  assert_int_equal(pw_encode_request(&q, buf, 8), 0);
}

static void test_reply_round_trip(void **state)
{
  (void)state;
  struct pw_reply r, back;
  sample_reply(&r);
  uint8_t buf[PW_FRAME_MAX];
  size_t n = pw_encode_reply(&r, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_OK);
  assert_int_equal(back.rc, SS_OK);
  assert_memory_equal(&back.media, &r.media, sizeof r.media);
  for (size_t k = 0; k < n; k++)
    assert_int_equal(pw_decode_reply(buf, k, &back), SS_EPROTO);

  /* a fingerprint, full size */
  memset(&r, 0, sizeof r);
  r.op = PW_OP_FINGERPRINT;
  r.fp_n = MEDIA_FP_MAX_ITEMS;
  for (size_t i = 0; i < r.fp_n; i++)
    r.fp[i] = 0xdeadbeefu ^ (uint32_t)(i * 2654435761u);
  n = pw_encode_reply(&r, buf, sizeof buf);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_OK);
  assert_int_equal(back.fp_n, MEDIA_FP_MAX_ITEMS);
  assert_memory_equal(back.fp, r.fp, sizeof r.fp);
  r.fp_n = MEDIA_FP_MAX_ITEMS + 1;
  assert_int_equal(pw_encode_reply(&r, buf, sizeof buf), 0);

  /* an error reply carries the reason and nothing else */
  memset(&r, 0, sizeof r);
  r.op = PW_OP_PROBE;
  r.rc = SS_EPROTO;
  snprintf(r.err, sizeof r.err, "not audio: Invalid data found");
  n = pw_encode_reply(&r, buf, sizeof buf);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_OK);
  assert_int_equal(back.rc, SS_EPROTO);
  assert_string_equal(back.err, "not audio: Invalid data found");
  assert_string_equal(back.media.title, "");
}

/* Offset of the title's length field in an encoded probe reply. */
#define TITLE_OFF (4 + 1 + 1 + 1 + 1 + 2)

static void test_reply_caps(void **state)
{
  (void)state;
  struct pw_reply r, back;
  sample_reply(&r);
  r.err[0] = '\0';
  /* a title filling its field (255 bytes) crosses whole */
  char big[301];
  for (int i = 0; i < 150; i++)
    memcpy(big + 2 * i, "ö", 2);
  big[300] = '\0';
  memcpy(r.media.title, big, MEDIA_TEXT_MAX - 1); /* 255: half a char */
  r.media.title[MEDIA_TEXT_MAX - 1] = '\0';
  uint8_t buf[PW_FRAME_MAX];
  size_t n = pw_encode_reply(&r, buf, sizeof buf);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_OK);
  assert_int_equal(strlen(back.media.title), MEDIA_TEXT_MAX - 1);
  assert_memory_equal(back.media.title, big, MEDIA_TEXT_MAX - 1);

  /* a decoder refuses a text longer than its field */
  sample_reply(&r);
  n = pw_encode_reply(&r, buf, sizeof buf);
  uint8_t evil[PW_FRAME_MAX];
  size_t title_len = strlen(r.media.title);
  size_t rest = n - TITLE_OFF - 2 - title_len;
  size_t long_len = MEDIA_TEXT_MAX; /* one more than fits */
  memcpy(evil, buf, TITLE_OFF);
  evil[TITLE_OFF] = (uint8_t)long_len;
  evil[TITLE_OFF + 1] = (uint8_t)(long_len >> 8);
  memset(evil + TITLE_OFF + 2, 'a', long_len);
  memcpy(evil + TITLE_OFF + 2 + long_len, buf + TITLE_OFF + 2 + title_len,
         rest);
  size_t en = TITLE_OFF + 2 + long_len + rest;
  uint32_t body = (uint32_t)(en - 4);
  for (int i = 0; i < 4; i++)
    evil[i] = (uint8_t)(body >> (8 * i));
  assert_int_equal(pw_decode_reply(evil, en, &back), SS_EPROTO);
  /* the same frame with a fitting length decodes */
  long_len = MEDIA_TEXT_MAX - 1;
  evil[TITLE_OFF] = (uint8_t)long_len;
  evil[TITLE_OFF + 1] = (uint8_t)(long_len >> 8);
  memmove(evil + TITLE_OFF + 2 + long_len, evil + TITLE_OFF + 2 + long_len + 1,
          rest);
  en--;
  body = (uint32_t)(en - 4);
  for (int i = 0; i < 4; i++)
    evil[i] = (uint8_t)(body >> (8 * i));
  assert_int_equal(pw_decode_reply(evil, en, &back), SS_OK);
  assert_int_equal(strlen(back.media.title), MEDIA_TEXT_MAX - 1);
  /* an embedded NUL is refused */
  evil[TITLE_OFF + 2 + 10] = '\0';
  assert_int_equal(pw_decode_reply(evil, en, &back), SS_EPROTO);
  /* a length prefix that disagrees with the frame */
  n = pw_encode_reply(&r, buf, sizeof buf);
  buf[0]++;
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_EPROTO);
}

static void test_reply_ranges(void **state)
{
  (void)state;
  struct pw_reply r, back;
  uint8_t buf[PW_FRAME_MAX];
  struct {
    int *field;
    int bad;
  } cases[] = {{&r.media.year, 10000},
               {&r.media.track_no, -1},
               {&r.media.channels, 256},
               {&r.media.bit_depth, 65},
               {&r.media.sample_rate, -44100}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sample_reply(&r);
    *cases[i].field = cases[i].bad;
    size_t n = pw_encode_reply(&r, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(pw_decode_reply(buf, n, &back), SS_EPROTO);
  }
  sample_reply(&r);
  r.media.duration_ms = -5;
  size_t n = pw_encode_reply(&r, buf, sizeof buf);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_EPROTO);
  /* rc must be one of ours */
  sample_reply(&r);
  r.rc = -99;
  r.op = PW_OP_FINGERPRINT;
  n = pw_encode_reply(&r, buf, sizeof buf);
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_EPROTO);
  r.rc = 1;
  assert_int_equal(pw_encode_reply(&r, buf, sizeof buf), 0);
  /* a fingerprint count above the cap */
  memset(&r, 0, sizeof r);
  r.op = PW_OP_FINGERPRINT;
  r.fp_n = 1;
  n = pw_encode_reply(&r, buf, sizeof buf);
  buf[4 + 4 + 2] = 0x01; /* n = 0x0101 = 257 */
  buf[4 + 4 + 3] = 0x01;
  assert_int_equal(pw_decode_reply(buf, n, &back), SS_EPROTO);
}

static void test_socket_with_descriptor(void **state)
{
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  char path[] = "/tmp/test_probe_wire.XXXXXX";
  int file = mkstemp(path);
  assert_true(file >= 0);
  unlink(path);
  assert_int_equal(write(file, "Guns N' Roses", 13), 13);

  struct pw_request q = {.op = PW_OP_PROBE};
  snprintf(q.name, sizeof q.name, "AC_DC - T.N.T..mp3");
  uint8_t buf[PW_FRAME_MAX];
  size_t n = pw_encode_request(&q, buf, sizeof buf);
  assert_int_equal(pw_send(sv[0], buf, n, file), SS_OK);
  uint8_t in[PW_FRAME_MAX];
  size_t len;
  int got;
  assert_int_equal(pw_recv(sv[1], in, sizeof in, &len, &got), SS_OK);
  assert_int_equal(len, n);
  assert_true(got >= 0 && got != file);
  char text[16] = "";
  assert_int_equal(pread(got, text, sizeof text - 1, 0), 13);
  assert_string_equal(text, "Guns N' Roses");
  close(got);

  /* a message larger than the reader's buffer is refused, not cut */
  assert_int_equal(pw_send(sv[0], buf, n, -1), SS_OK);
  assert_int_equal(pw_recv(sv[1], in, 4, &len, &got), SS_EPROTO);
  assert_int_equal(got, -1);
  /* end of stream */
  close(sv[0]);
  assert_int_equal(pw_recv(sv[1], in, sizeof in, &len, &got), SS_ENOTFOUND);
  close(sv[1]);
  close(file);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request_round_trip),
    cmocka_unit_test(test_reply_round_trip),
    cmocka_unit_test(test_reply_caps),
    cmocka_unit_test(test_reply_ranges),
    cmocka_unit_test(test_socket_with_descriptor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
