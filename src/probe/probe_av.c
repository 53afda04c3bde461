/*
 * probe_av.c - probe_av.h over libavformat / libavcodec / libswresample /
 * Chromaprint.  Linked only into soulspotd-probe (the daemon has none of
 * these libraries; issue 10).
 *
 * What: every read goes through a custom AVIOContext over a file
 * descriptor the daemon opened and passed over, so libavformat never
 * opens a path or a URL itself; demuxers are limited to audio containers
 * (format_whitelist) and nested opens to local files.  Tags come from the
 * container's dictionary, then the audio stream's (Ogg keeps Vorbis
 * comments there); av_dict_get() matches keys case-insensitively, so one
 * list of names covers ID3v2 (TXXX), Vorbis comments and MP4 freeform
 * atoms.  Text is copied truncated on a UTF-8 boundary with control
 * characters blanked.
 *
 * Threading: any thread; libav* contexts live only for one call.
 * probe_av_init() runs once (pthread_once) and only lowers libav's log level.
 *
 * Ownership: nothing allocated here survives a call; the caller owns fds.
 */
#include "probe/probe_av.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chromaprint.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "core/err.h"
#include "core/utf8.h"

#define IO_BUF_SIZE 65536
/* Demuxers worth probing for music; anything else is "not audio". */
#define AUDIO_DEMUXERS                                                        \
  "flac,mp3,ogg,mov,matroska,wav,w64,aiff,ape,wv,asf,aac,dsf,tta,mpc,mpc8,"   \
  "caf,au"
#define FP_RATE 11025

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_quiet(void) { av_log_set_level(AV_LOG_QUIET); }

void probe_av_init(void) { pthread_once(&init_once, init_quiet); }

/* ---- custom I/O over a file descriptor ---- */

static int io_read(void *opaque, uint8_t *buf, int size)
{
  int fd = *(const int *)opaque;
  ssize_t n;
  do
    n = read(fd, buf, (size_t)size);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return AVERROR(errno);
  return n == 0 ? AVERROR_EOF : (int)n;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
  int fd = *(const int *)opaque;
  if (whence & AVSEEK_SIZE) { /* lseek only: no fstat in the sandbox */
    off_t cur = lseek(fd, 0, SEEK_CUR);
    off_t end = cur < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (end < 0 || lseek(fd, cur, SEEK_SET) < 0)
      return AVERROR(errno);
    return (int64_t)end;
  }
  off_t r = lseek(fd, (off_t)offset, whence & ~AVSEEK_FORCE);
  return r < 0 ? AVERROR(errno) : (int64_t)r;
}

struct input {
  int fd;
  AVIOContext *pb;
  AVFormatContext *fmt;
  int stream;
};

static void input_close(struct input *in)
{
  if (in->fmt)
    avformat_close_input(&in->fmt);
  if (in->pb) {
    av_freep(&in->pb->buffer);
    avio_context_free(&in->pb);
  }
}

static void set_err(char *err, size_t errlen, const char *what, int averr)
{
  char msg[AV_ERROR_MAX_STRING_SIZE] = "";
  if (averr)
    av_strerror(averr, msg, sizeof msg);
  if (err && errlen)
    snprintf(err, errlen, "%s%s%s", what, averr ? ": " : "", msg);
}

/* Nested opens (a container naming another file) are refused: the helper
 * reads only the descriptor it was given, and its sandbox would kill it
 * for an open(2) anyway. */
static int deny_open(struct AVFormatContext *s, AVIOContext **pb,
                     const char *url, int flags, AVDictionary **options)
{
  (void)s, (void)pb, (void)url, (void)flags, (void)options;
  return AVERROR(EPERM);
}

/* Opens the container on in->fd and picks the audio stream. */
static enum ss_err input_open(struct input *in, const char *name, char *err,
                              size_t errlen)
{
  probe_av_init();
  if (lseek(in->fd, 0, SEEK_SET) < 0) {
    set_err(err, errlen, "not seekable", AVERROR(errno));
    return SS_EIO;
  }
  unsigned char *buf = av_malloc(IO_BUF_SIZE);
  in->pb = avio_alloc_context(buf, IO_BUF_SIZE, 0, &in->fd, io_read, NULL,
                              io_seek);
  if (!buf || !in->pb) {
    av_free(buf);
    set_err(err, errlen, "out of memory", 0);
    return SS_EIO;
  }
  in->fmt = avformat_alloc_context();
  if (!in->fmt) {
    set_err(err, errlen, "out of memory", 0);
    return SS_EIO;
  }
  in->fmt->pb = in->pb;
  in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  in->fmt->io_open = deny_open;
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "format_whitelist", AUDIO_DEMUXERS, 0);
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  int r = avformat_open_input(&in->fmt, name ? name : "", NULL, &opts);
  av_dict_free(&opts);
  if (r < 0) { /* fmt was freed by libavformat */
    set_err(err, errlen, r == AVERROR(EIO) ? "unreadable" : "not audio", r);
    return r == AVERROR(EIO) ? SS_EIO : SS_EPROTO;
  }
  if ((r = avformat_find_stream_info(in->fmt, NULL)) < 0) {
    set_err(err, errlen, "corrupt", r);
    return SS_EPROTO;
  }
  in->stream = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL,
                                   0);
  if (in->stream < 0) {
    set_err(err, errlen, "no audio stream", 0);
    return SS_EPROTO;
  }
  return SS_OK;
}

/* ---- tags ---- */

/* Copies s into out (n bytes), blanking control characters and cutting on
 * a UTF-8 character boundary; leading/trailing blanks trimmed. */
static void copy_text(char *out, size_t n, const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  size_t len = utf8_cut(s, n - 1);
  for (size_t i = 0; i < len; i++)
    out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
  while (len > 0 && out[len - 1] == ' ')
    len--;
  out[len] = '\0';
}

static const char *dict_find(const AVDictionary *d, const char *const *keys)
{
  for (; *keys; keys++) {
    const AVDictionaryEntry *e = av_dict_get(d, *keys, NULL, 0);
    if (e && e->value && e->value[0])
      return e->value;
  }
  return NULL;
}

/* First non-empty value among keys: container first, then the stream. */
static const char *tag(const struct input *in, const char *const *keys)
{
  const char *v = dict_find(in->fmt->metadata, keys);
  if (!v)
    v = dict_find(in->fmt->streams[in->stream]->metadata, keys);
  return v;
}

static void tag_text(const struct input *in, char *out, size_t n,
                     const char *const *keys)
{
  const char *v = tag(in, keys);
  copy_text(out, n, v ? v : "");
}

/* "3", "3/12" -> *num = 3, *total = 12 (when a total is present). */
static void parse_pair(const char *s, int *num, int *total)
{
  if (!s)
    return;
  char *end;
  long a = strtol(s, &end, 10);
  if (end != s && a > 0 && a < 10000)
    *num = (int)a;
  if (*end == '/') {
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end != t && b > 0 && b < 10000)
      *total = (int)b;
  }
}

static void parse_total(const char *s, int *total)
{
  int dummy = 0;
  if (s && !*total)
    parse_pair(s, total, &dummy);
}

static int year_of(const char *date)
{
  int y = 0, digits = 0;
  for (const char *p = date; *p && digits < 4; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    y = y * 10 + (*p - '0');
    digits++;
  }
  return digits == 4 && y >= 1000 ? y : 0;
}

static void read_tags(const struct input *in, struct media_info *out)
{
  static const char *const k_title[] = {"title", NULL};
  static const char *const k_artist[] = {"artist", NULL};
  static const char *const k_aartist[] = {"album_artist", "albumartist",
                                          "album artist", NULL};
  static const char *const k_album[] = {"album", NULL};
  static const char *const k_date[] = {"date", "year", "originaldate", NULL};
  static const char *const k_track[] = {"track", "tracknumber", NULL};
  static const char *const k_ttotal[] = {"tracktotal", "totaltracks", NULL};
  static const char *const k_disc[] = {"disc", "discnumber", NULL};
  static const char *const k_dtotal[] = {"disctotal", "totaldiscs", NULL};
  static const char *const k_rec[] = {"musicbrainz_trackid",
                                      "MusicBrainz Track Id", NULL};
  static const char *const k_rtrack[] = {"musicbrainz_releasetrackid",
                                         "MusicBrainz Release Track Id", NULL};
  static const char *const k_albumid[] = {"musicbrainz_albumid",
                                          "MusicBrainz Album Id", NULL};
  static const char *const k_artistid[] = {"musicbrainz_artistid",
                                           "MusicBrainz Artist Id", NULL};
  static const char *const k_rgid[] = {"musicbrainz_releasegroupid",
                                       "MusicBrainz Release Group Id", NULL};

  tag_text(in, out->title, sizeof out->title, k_title);
  tag_text(in, out->artist, sizeof out->artist, k_artist);
  tag_text(in, out->album_artist, sizeof out->album_artist, k_aartist);
  tag_text(in, out->album, sizeof out->album, k_album);
  tag_text(in, out->date, sizeof out->date, k_date);
  out->year = year_of(out->date);
  parse_pair(tag(in, k_track), &out->track_no, &out->track_total);
  parse_total(tag(in, k_ttotal), &out->track_total);
  parse_pair(tag(in, k_disc), &out->disc_no, &out->disc_total);
  parse_total(tag(in, k_dtotal), &out->disc_total);
  tag_text(in, out->mb_recording_id, sizeof out->mb_recording_id, k_rec);
  tag_text(in, out->mb_track_id, sizeof out->mb_track_id, k_rtrack);
  tag_text(in, out->mb_album_id, sizeof out->mb_album_id, k_albumid);
  tag_text(in, out->mb_artist_id, sizeof out->mb_artist_id, k_artistid);
  tag_text(in, out->mb_release_group_id, sizeof out->mb_release_group_id,
           k_rgid);
}

/* ---- audio properties ---- */

static void read_audio(const struct input *in, struct media_info *out)
{
  const AVStream *st = in->fmt->streams[in->stream];
  const AVCodecParameters *par = st->codecpar;
  copy_text(out->codec, sizeof out->codec, avcodec_get_name(par->codec_id));
  copy_text(out->container, sizeof out->container, in->fmt->iformat->name);
  out->bitrate = par->bit_rate > 0 ? par->bit_rate : in->fmt->bit_rate;
  if (out->bitrate < 0)
    out->bitrate = 0;
  out->sample_rate = par->sample_rate > 0 ? par->sample_rate : 0;
  out->channels = par->ch_layout.nb_channels > 0 ? par->ch_layout.nb_channels
                                                 : 0;
  const AVCodecDescriptor *d = avcodec_descriptor_get(par->codec_id);
  out->lossless = d && (d->props & AV_CODEC_PROP_LOSSLESS);
  if (out->lossless) {
    int bits = par->bits_per_raw_sample;
    if (bits <= 0)
      bits = par->bits_per_coded_sample;
    if (bits <= 0 && par->format >= 0)
      bits = av_get_bytes_per_sample((enum AVSampleFormat)par->format) * 8;
    out->bit_depth = bits > 0 && bits <= 64 ? bits : 0;
  }
  int64_t ms = 0;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
    ms = av_rescale_q(st->duration, st->time_base, (AVRational){1, 1000});
  else if (in->fmt->duration != AV_NOPTS_VALUE && in->fmt->duration > 0)
    ms = in->fmt->duration / (AV_TIME_BASE / 1000);
  out->duration_ms = ms > 0 ? ms : 0;
}

enum ss_err probe_av_read(int fd, const char *name, struct media_info *out,
                          char *err, size_t errlen)
{
  if (fd < 0 || !out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  if (err && errlen)
    err[0] = '\0';
  struct input in = {.fd = fd, .stream = -1};
  enum ss_err rc = input_open(&in, name, err, errlen);
  if (rc == SS_OK) {
    read_tags(&in, out);
    read_audio(&in, out);
  }
  input_close(&in);
  return rc;
}

/* ---- fingerprint ---- */

struct fp_job {
  struct input in;
  AVCodecContext *dec;
  SwrContext *swr;
  ChromaprintContext *cp;
  AVPacket *pkt;
  AVFrame *frame;
  int16_t *pcm;
  int pcm_cap;
  int64_t fed; /* samples given to Chromaprint */
  int64_t limit;
};

static void fp_job_free(struct fp_job *j)
{
  if (j->cp)
    chromaprint_free(j->cp);
  swr_free(&j->swr);
  avcodec_free_context(&j->dec);
  av_packet_free(&j->pkt);
  av_frame_free(&j->frame);
  av_free(j->pcm);
  input_close(&j->in);
}

static enum ss_err fp_setup(struct fp_job *j, char *err, size_t errlen)
{
  const AVCodecParameters *par = j->in.fmt->streams[j->in.stream]->codecpar;
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec) {
    set_err(err, errlen, "no decoder", 0);
    return SS_EPROTO;
  }
  j->dec = avcodec_alloc_context3(codec);
  j->pkt = av_packet_alloc();
  j->frame = av_frame_alloc();
  j->cp = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
  if (!j->dec || !j->pkt || !j->frame || !j->cp) {
    set_err(err, errlen, "out of memory", 0);
    return SS_EIO;
  }
  int r = avcodec_parameters_to_context(j->dec, par);
  if (r >= 0)
    r = avcodec_open2(j->dec, codec, NULL);
  if (r < 0) {
    set_err(err, errlen, "cannot open decoder", r);
    return SS_EPROTO;
  }
  AVChannelLayout in_layout = {0}, mono = AV_CHANNEL_LAYOUT_MONO;
  if (j->dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC ||
      j->dec->ch_layout.nb_channels <= 0)
    av_channel_layout_default(&in_layout, j->dec->ch_layout.nb_channels > 0
                                            ? j->dec->ch_layout.nb_channels
                                            : 2);
  else
    av_channel_layout_copy(&in_layout, &j->dec->ch_layout);
  r = swr_alloc_set_opts2(&j->swr, &mono, AV_SAMPLE_FMT_S16, FP_RATE,
                          &in_layout, j->dec->sample_fmt, j->dec->sample_rate,
                          0, NULL);
  av_channel_layout_uninit(&in_layout);
  if (r < 0 || (r = swr_init(j->swr)) < 0) {
    set_err(err, errlen, "cannot resample", r);
    return SS_EPROTO;
  }
  if (!chromaprint_start(j->cp, FP_RATE, 1)) {
    set_err(err, errlen, "chromaprint start failed", 0);
    return SS_EPROTO;
  }
  return SS_OK;
}

/* Resamples one decoded frame and feeds it. */
static enum ss_err fp_feed_frame(struct fp_job *j)
{
  int want = swr_get_out_samples(j->swr, j->frame->nb_samples);
  if (want <= 0)
    return SS_OK;
  if (want > j->pcm_cap) {
    av_free(j->pcm);
    j->pcm = av_malloc((size_t)want * sizeof *j->pcm);
    j->pcm_cap = j->pcm ? want : 0;
    if (!j->pcm)
      return SS_EIO;
  }
  uint8_t *outp = (uint8_t *)j->pcm;
  int got = swr_convert(j->swr, &outp, want,
                        (const uint8_t **)j->frame->extended_data,
                        j->frame->nb_samples);
  if (got < 0)
    return SS_EPROTO;
  if (j->fed + got > j->limit)
    got = (int)(j->limit - j->fed);
  if (got > 0 && !chromaprint_feed(j->cp, j->pcm, got))
    return SS_EPROTO;
  j->fed += got;
  return SS_OK;
}

/* Drains decoded frames; SS_OK, or SS_ECANCELED once the limit is met. */
static enum ss_err fp_drain(struct fp_job *j)
{
  for (;;) {
    int r = avcodec_receive_frame(j->dec, j->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
      return SS_OK;
    if (r < 0)
      return SS_OK; /* a bad frame: skip it */
    enum ss_err rc = fp_feed_frame(j);
    av_frame_unref(j->frame);
    if (rc)
      return rc;
    if (j->fed >= j->limit)
      return SS_ECANCELED;
  }
}

static enum ss_err fp_decode(struct fp_job *j)
{
  enum ss_err rc = SS_OK;
  while (rc == SS_OK && av_read_frame(j->in.fmt, j->pkt) >= 0) {
    if (j->pkt->stream_index == j->in.stream &&
        avcodec_send_packet(j->dec, j->pkt) >= 0)
      rc = fp_drain(j);
    av_packet_unref(j->pkt);
  }
  if (rc == SS_OK && avcodec_send_packet(j->dec, NULL) >= 0)
    rc = fp_drain(j);
  return rc == SS_ECANCELED ? SS_OK : rc;
}

enum ss_err probe_av_fingerprint(int fd, const char *name, int max_seconds,
                                 uint32_t *fp, size_t *n, char *err,
                                 size_t errlen)
{
  if (fd < 0 || !fp || !n || max_seconds <= 0)
    return SS_EINVAL;
  *n = 0;
  if (err && errlen)
    err[0] = '\0';
  struct fp_job j = {.in = {.fd = fd, .stream = -1}};
  j.limit = (int64_t)max_seconds * FP_RATE;
  enum ss_err rc = input_open(&j.in, name, err, errlen);
  if (rc == SS_OK)
    rc = fp_setup(&j, err, errlen);
  if (rc == SS_OK)
    rc = fp_decode(&j);
  if (rc == SS_OK && j.fed == 0) {
    set_err(err, errlen, "no decodable audio", 0);
    rc = SS_EPROTO;
  }
  uint32_t *raw = NULL;
  int size = 0;
  if (rc == SS_OK && (!chromaprint_finish(j.cp) ||
                      !chromaprint_get_raw_fingerprint(j.cp, &raw, &size))) {
    set_err(err, errlen, "chromaprint failed", 0);
    rc = SS_EPROTO;
  }
  if (rc == SS_OK && raw && size > 0) {
    size_t k = (size_t)size < MEDIA_FP_MAX_ITEMS ? (size_t)size
                                                 : MEDIA_FP_MAX_ITEMS;
    memcpy(fp, raw, k * sizeof *fp);
    *n = k;
  }
  if (raw)
    chromaprint_dealloc(raw);
  fp_job_free(&j);
  return rc;
}
