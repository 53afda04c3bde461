/*
 * audio_fixtures.c - ffmpeg-generated test audio (see audio_fixtures.h).
 *
 * Builds an argv for ffmpeg (lavfi aevalsrc melody, metadata, encoder
 * options) and runs it with posix_spawnp, output discarded.  Nothing is
 * kept between calls.
 */
#include "audio_fixtures.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 64

extern char **environ;

static int run_argv(char *const *argv)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc)
    return -1;
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

bool af_available(void)
{
  char *argv[] = {"ffmpeg", "-hide_banner", "-version", NULL};
  return run_argv(argv) == 0;
}

struct args {
  char *v[MAX_ARGS];
  char store[MAX_ARGS][512];
  int n;
};

static void add(struct args *a, const char *fmt, const char *value)
{
  if (a->n >= MAX_ARGS - 1)
    return;
  snprintf(a->store[a->n], sizeof a->store[a->n], fmt, value);
  a->v[a->n] = a->store[a->n];
  a->n++;
  a->v[a->n] = NULL;
}

static void add_tag(struct args *a, const char *key, const char *value)
{
  if (!value)
    return;
  char kv[512];
  snprintf(kv, sizeof kv, "%s=%s", key, value);
  add(a, "%s", "-metadata");
  add(a, "%s", kv);
}

int af_make(const char *path, const struct af_spec *s)
{
  struct af_spec none = {0};
  if (!s)
    s = &none;
  struct args a = {.n = 0};
  char src[256], num[32];
  int seconds = s->seconds > 0 ? s->seconds : 6;
  int rate = s->sample_rate > 0 ? s->sample_rate : 44100;
  /* A tune: 8 tones per cycle, four a second, base and step by tune. */
  snprintf(src, sizeof src,
           "aevalsrc=0.4*sin(2*PI*(%d+%d*floor(mod(t*4\\,%d)))*t):s=%d:d=%d",
           180 + 37 * (s->tune % 11), 45 + 13 * (s->tune % 7), 5 + s->tune % 4,
           rate, seconds);
  add(&a, "%s", "ffmpeg");
  add(&a, "%s", "-nostdin");
  add(&a, "%s", "-y");
  add(&a, "%s", "-loglevel");
  add(&a, "%s", "error");
  add(&a, "%s", "-f");
  add(&a, "%s", "lavfi");
  add(&a, "%s", "-i");
  add(&a, "%s", src);
  add_tag(&a, "title", s->title);
  add_tag(&a, "artist", s->artist);
  add_tag(&a, "album_artist", s->album_artist);
  add_tag(&a, "album", s->album);
  add_tag(&a, "date", s->date);
  if (s->track > 0) {
    snprintf(num, sizeof num, "%d", s->track);
    add_tag(&a, "track", num);
  }
  if (s->sample_fmt) {
    add(&a, "%s", "-sample_fmt");
    add(&a, "%s", s->sample_fmt);
  }
  char extra[512];
  snprintf(extra, sizeof extra, "%s", s->args ? s->args : "");
  for (char *save = NULL, *tok = strtok_r(extra, " ", &save); tok;
       tok = strtok_r(NULL, " ", &save))
    add(&a, "%s", tok);
  add(&a, "%s", path);
  if (run_argv(a.v)) {
    fprintf(stderr, "error: ffmpeg could not make %s\n", path);
    return -1;
  }
  return 0;
}

int af_make_garbage(const char *path, int len)
{
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  unsigned x = 12345;
  for (int i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    fputc((int)(x >> 16) & 0xff, f);
  }
  return fclose(f) ? -1 : 0;
}

int af_truncate_copy(const char *src, const char *dst, long len)
{
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  int rc = in && out ? 0 : -1;
  for (long i = 0; !rc && i < len; i++) {
    int c = fgetc(in);
    if (c == EOF)
      break;
    fputc(c, out);
  }
  if (in)
    fclose(in);
  if (out && fclose(out))
    rc = -1;
  return rc;
}
