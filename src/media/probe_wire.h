/*
 * probe_wire.h - the messages between the daemon and soulspotd-probe, the
 * helper process that runs libavformat and Chromaprint (issue 10).
 *
 * One request, one reply, each one SOCK_SEQPACKET message that starts
 * with its own length.  A request carries the file's descriptor
 * (SCM_RIGHTS); the helper never opens a path.  Every field has a hard
 * cap; a decoder refuses a message that breaks any of them, has bytes
 * left over, or carries another version.
 *
 *   frame     u32 body length (little endian), then the body
 *   request   u8 version, u8 op, u16 max_seconds, str name
 *   reply     u8 version, u8 op, i8 rc (SS_*), u8 0, str err, then
 *             op PROBE, rc SS_OK: the struct media_info fields in order
 *             (str title artist album_artist album date; i32 year
 *             track_no track_total disc_no disc_total; i64 duration_ms;
 *             str codec container; i64 bitrate; i32 sample_rate
 *             bit_depth channels; u8 lossless; str the five MusicBrainz
 *             ids)
 *             op FINGERPRINT, rc SS_OK: u16 n, n x u32
 *   str       u16 byte length, the bytes (no NUL inside), at most the
 *             field's buffer size - 1
 *
 * Pure functions; any thread.  pw_send / pw_recv do one sendmsg/recvmsg.
 */
#ifndef SS_PROBE_WIRE_H
#define SS_PROBE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/media_info.h"

#define PW_VERSION 1
#define PW_NAME_MAX 255   /* bytes of the file name hint */
#define PW_ERR_MAX 159    /* bytes of a reason */
#define PW_FRAME_MAX 8192 /* any message, length prefix included */
#define PW_MAX_SECONDS 600

enum pw_op { PW_OP_PROBE = 1, PW_OP_FINGERPRINT = 2 };

struct pw_request {
  int op;                     /* enum pw_op */
  int max_seconds;            /* fingerprint: audio decoded at most (1..600) */
  char name[PW_NAME_MAX + 1]; /* the file's name: format hint, messages */
};

struct pw_reply {
  int op;
  int rc;                          /* SS_OK or a negative SS_E* code */
  char err[PW_ERR_MAX + 1];        /* reason when rc != SS_OK */
  struct media_info media;         /* PW_OP_PROBE */
  uint32_t fp[MEDIA_FP_MAX_ITEMS]; /* PW_OP_FINGERPRINT */
  size_t fp_n;
};

/* Encode into buf (cap bytes): the whole frame, length prefix included.
 * Returns its size, or 0 when a field breaks its cap (the request) or
 * buf is too small.  Over-long reply texts are cut (on a UTF-8
 * boundary), never refused. */
size_t pw_encode_request(const struct pw_request *r, uint8_t *buf, size_t cap);
size_t pw_encode_reply(const struct pw_reply *r, uint8_t *buf, size_t cap);

/* Decode one whole frame of len bytes.  SS_OK, or SS_EPROTO for anything
 * malformed (out is then unspecified). */
enum ss_err pw_decode_request(const uint8_t *frame, size_t len,
                              struct pw_request *out);
enum ss_err pw_decode_reply(const uint8_t *frame, size_t len,
                            struct pw_reply *out);

/* Sends one frame on a SOCK_SEQPACKET socket, with fd attached when
 * fd >= 0.  SS_OK or SS_EIO (errno kept). */
enum ss_err pw_send(int sock, const uint8_t *frame, size_t len, int fd);
/* Receives one frame into buf (cap bytes); *len gets its size and *fd the
 * attached descriptor or -1 (extra descriptors are closed).  SS_OK;
 * SS_ENOTFOUND on end of stream; SS_EPROTO for a truncated message;
 * SS_EIO (errno kept). */
enum ss_err pw_recv(int sock, uint8_t *buf, size_t cap, size_t *len, int *fd);

#endif
