/*
 * probe_wire.c - encoding, decoding and the socket calls of the probe
 * protocol (see probe_wire.h for the layout).
 *
 * What: a writer and a reader over a byte buffer with explicit
 * little-endian packing; the reader fails closed (a sticky `bad` flag)
 * on any read past the end, an over-long string or an embedded NUL, and
 * the decoders check every number's range afterwards.
 *
 * Threading: any thread; no state.
 */
#include "media/probe_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/utf8.h"

/* ---- writer ---- */

struct wr {
  uint8_t *p;
  size_t n, cap;
  bool bad;
};

static void put(struct wr *w, const void *src, size_t n)
{
  if (w->bad || n > w->cap - w->n) {
    w->bad = true;
    return;
  }
  memcpy(w->p + w->n, src, n);
  w->n += n;
}

static void put_u(struct wr *w, uint64_t v, int bytes)
{
  uint8_t b[8];
  for (int i = 0; i < bytes; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  put(w, b, (size_t)bytes);
}

/* A string cut to at most max bytes on a UTF-8 character boundary. */
static void put_str(struct wr *w, const char *s, size_t max)
{
  size_t len = utf8_cut(s, max);
  put_u(w, len, 2);
  put(w, s, len);
}

/* Writes the length prefix once the body is complete. */
static size_t finish(struct wr *w)
{
  if (w->bad || w->n < 4)
    return 0;
  uint32_t body = (uint32_t)(w->n - 4);
  for (int i = 0; i < 4; i++)
    w->p[i] = (uint8_t)(body >> (8 * i));
  return w->n;
}

static void start(struct wr *w, uint8_t *buf, size_t cap)
{
  *w = (struct wr){.p = buf, .cap = cap < PW_FRAME_MAX ? cap : PW_FRAME_MAX};
  put_u(w, 0, 4); /* the length, filled in by finish() */
  put_u(w, PW_VERSION, 1);
}

size_t pw_encode_request(const struct pw_request *r, uint8_t *buf, size_t cap)
{
  if (!r || !buf || (r->op != PW_OP_PROBE && r->op != PW_OP_FINGERPRINT) ||
      r->max_seconds < 0 || r->max_seconds > PW_MAX_SECONDS ||
      strnlen(r->name, sizeof r->name) > PW_NAME_MAX)
    return 0;
  struct wr w;
  start(&w, buf, cap);
  put_u(&w, (uint64_t)r->op, 1);
  put_u(&w, (uint64_t)r->max_seconds, 2);
  put_str(&w, r->name, PW_NAME_MAX);
  return finish(&w);
}

#define TEXT(w, field) put_str(w, field, sizeof(field) - 1)

static void put_media(struct wr *w, const struct media_info *m)
{
  TEXT(w, m->title);
  TEXT(w, m->artist);
  TEXT(w, m->album_artist);
  TEXT(w, m->album);
  TEXT(w, m->date);
  const int ints[] = {m->year, m->track_no, m->track_total, m->disc_no,
                      m->disc_total};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    put_u(w, (uint32_t)ints[i], 4);
  put_u(w, (uint64_t)m->duration_ms, 8);
  TEXT(w, m->codec);
  TEXT(w, m->container);
  put_u(w, (uint64_t)m->bitrate, 8);
  put_u(w, (uint32_t)m->sample_rate, 4);
  put_u(w, (uint32_t)m->bit_depth, 4);
  put_u(w, (uint32_t)m->channels, 4);
  put_u(w, m->lossless ? 1 : 0, 1);
  TEXT(w, m->mb_recording_id);
  TEXT(w, m->mb_track_id);
  TEXT(w, m->mb_album_id);
  TEXT(w, m->mb_artist_id);
  TEXT(w, m->mb_release_group_id);
}

size_t pw_encode_reply(const struct pw_reply *r, uint8_t *buf, size_t cap)
{
  if (!r || !buf || (r->op != PW_OP_PROBE && r->op != PW_OP_FINGERPRINT) ||
      r->rc > 0 || r->rc < -127 || r->fp_n > MEDIA_FP_MAX_ITEMS)
    return 0;
  struct wr w;
  start(&w, buf, cap);
  put_u(&w, (uint64_t)r->op, 1);
  put_u(&w, (uint8_t)(int8_t)r->rc, 1);
  put_u(&w, 0, 1);
  put_str(&w, r->err, PW_ERR_MAX);
  if (r->rc == SS_OK && r->op == PW_OP_PROBE)
    put_media(&w, &r->media);
  if (r->rc == SS_OK && r->op == PW_OP_FINGERPRINT) {
    put_u(&w, r->fp_n, 2);
    for (size_t i = 0; i < r->fp_n; i++)
      put_u(&w, r->fp[i], 4);
  }
  return finish(&w);
}

/* ---- reader ---- */

struct rd {
  const uint8_t *p;
  size_t n, off;
  bool bad;
};

static uint64_t get_u(struct rd *r, int bytes)
{
  if (r->bad || (size_t)bytes > r->n - r->off) {
    r->bad = true;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
  r->off += (size_t)bytes;
  return v;
}

static int32_t get_i32(struct rd *r) { return (int32_t)(uint32_t)get_u(r, 4); }
static int64_t get_i64(struct rd *r) { return (int64_t)get_u(r, 8); }

/* A string of at most size - 1 bytes into out (size bytes). */
static void get_str(struct rd *r, char *out, size_t size)
{
  size_t len = (size_t)get_u(r, 2);
  out[0] = '\0';
  if (r->bad || len >= size || len > r->n - r->off ||
      memchr(r->p + r->off, '\0', len)) {
    r->bad = true;
    return;
  }
  memcpy(out, r->p + r->off, len);
  out[len] = '\0';
  r->off += len;
}

/* Checks the length prefix and the version; positions r after them. */
static enum ss_err open_frame(struct rd *r, const uint8_t *frame, size_t len)
{
  *r = (struct rd){.p = frame, .n = len};
  if (!frame || len < 5 || len > PW_FRAME_MAX || get_u(r, 4) != len - 4 ||
      get_u(r, 1) != PW_VERSION)
    return SS_EPROTO;
  return SS_OK;
}

static bool in_range(int64_t v, int64_t lo, int64_t hi)
{
  return v >= lo && v <= hi;
}

enum ss_err pw_decode_request(const uint8_t *frame, size_t len,
                              struct pw_request *out)
{
  struct rd r;
  if (!out || open_frame(&r, frame, len))
    return SS_EPROTO;
  memset(out, 0, sizeof *out);
  out->op = (int)get_u(&r, 1);
  out->max_seconds = (int)get_u(&r, 2);
  get_str(&r, out->name, sizeof out->name);
  if (r.bad || r.off != r.n ||
      (out->op != PW_OP_PROBE && out->op != PW_OP_FINGERPRINT) ||
      out->max_seconds > PW_MAX_SECONDS)
    return SS_EPROTO;
  return SS_OK;
}

#define GET_TEXT(r, field) get_str(r, field, sizeof(field))

static bool get_media(struct rd *r, struct media_info *m)
{
  GET_TEXT(r, m->title);
  GET_TEXT(r, m->artist);
  GET_TEXT(r, m->album_artist);
  GET_TEXT(r, m->album);
  GET_TEXT(r, m->date);
  m->year = get_i32(r);
  m->track_no = get_i32(r);
  m->track_total = get_i32(r);
  m->disc_no = get_i32(r);
  m->disc_total = get_i32(r);
  m->duration_ms = get_i64(r);
  GET_TEXT(r, m->codec);
  GET_TEXT(r, m->container);
  m->bitrate = get_i64(r);
  m->sample_rate = get_i32(r);
  m->bit_depth = get_i32(r);
  m->channels = get_i32(r);
  uint64_t lossless = get_u(r, 1);
  m->lossless = lossless == 1;
  GET_TEXT(r, m->mb_recording_id);
  GET_TEXT(r, m->mb_track_id);
  GET_TEXT(r, m->mb_album_id);
  GET_TEXT(r, m->mb_artist_id);
  GET_TEXT(r, m->mb_release_group_id);
  /* ten years of audio; 100 Mbit/s; 10 MHz; 64 bits; 255 channels */
  return !r->bad && lossless <= 1 && in_range(m->year, 0, 9999) &&
         in_range(m->track_no, 0, 9999) && in_range(m->track_total, 0, 9999) &&
         in_range(m->disc_no, 0, 9999) && in_range(m->disc_total, 0, 9999) &&
         in_range(m->duration_ms, 0, INT64_C(315360000000)) &&
         in_range(m->bitrate, 0, 100000000) &&
         in_range(m->sample_rate, 0, 10000000) &&
         in_range(m->bit_depth, 0, 64) && in_range(m->channels, 0, 255);
}

enum ss_err pw_decode_reply(const uint8_t *frame, size_t len,
                            struct pw_reply *out)
{
  struct rd r;
  if (!out || open_frame(&r, frame, len))
    return SS_EPROTO;
  memset(out, 0, sizeof *out);
  out->op = (int)get_u(&r, 1);
  int rc8 = (int)get_u(&r, 1); /* an int8_t on the wire */
  out->rc = rc8 >= 128 ? rc8 - 256 : rc8;
  uint64_t pad = get_u(&r, 1);
  get_str(&r, out->err, sizeof out->err);
  if (r.bad || pad || out->rc > 0 || out->rc < SS_EPROTO ||
      (out->op != PW_OP_PROBE && out->op != PW_OP_FINGERPRINT))
    return SS_EPROTO;
  if (out->rc == SS_OK && out->op == PW_OP_PROBE &&
      !get_media(&r, &out->media))
    return SS_EPROTO;
  if (out->rc == SS_OK && out->op == PW_OP_FINGERPRINT) {
    out->fp_n = (size_t)get_u(&r, 2);
    if (out->fp_n > MEDIA_FP_MAX_ITEMS)
      return SS_EPROTO;
    for (size_t i = 0; i < out->fp_n; i++)
      out->fp[i] = (uint32_t)get_u(&r, 4);
  }
  return r.bad || r.off != r.n ? SS_EPROTO : SS_OK;
}

/* ---- the socket ---- */

enum ss_err pw_send(int sock, const uint8_t *frame, size_t len, int fd)
{
  struct iovec iov = {.iov_base = (void *)frame, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? SS_OK : SS_EIO;
}

/* Takes the descriptors out of a received message: the first into *fd,
 * any other closed. */
static void take_fds(struct msghdr *msg, int *fd)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int one;
      memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof one);
      if (*fd < 0)
        *fd = one;
      else
        close(one);
    }
  }
}

enum ss_err pw_recv(int sock, uint8_t *buf, size_t cap, size_t *len, int *fd)
{
  *len = 0;
  *fd = -1;
  struct iovec iov = {.iov_base = buf, .iov_len = cap};
  union {
    char buf[CMSG_SPACE(4 * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return SS_EIO;
  take_fds(&msg, fd);
  if (n == 0 && *fd < 0)
    return SS_ENOTFOUND;
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    if (*fd >= 0)
      close(*fd);
    *fd = -1;
    return SS_EPROTO;
  }
  *len = (size_t)n;
  return SS_OK;
}
