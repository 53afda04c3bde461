/*
 * fake_services.c - runs the four fake external services stand-alone, for
 * manual runs of soulspotd and for benchmarks:
 *
 *   fake_services [--spotify PORT] [--slskd PORT] [--musicbrainz PORT]
 *                 [--coverart PORT] [--slskd-key KEY]
 *                 [--artists N] [--playlists N] [--entries N]
 *
 * --artists/--playlists/--entries give the fake Spotify a generated
 * library of that size (followed artists, owned playlists, entries over
 * them; default: none).
 *
 * Ports default to 0 (ephemeral).  Prints each URL and an INI snippet that
 * points soulspotd at the fakes, then serves until SIGINT or SIGTERM.
 *
 * Threading: signals are blocked before the fakes start their threads and
 * taken with sigwait() on the main thread.  Ownership: everything started
 * here is stopped before exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "fake_all.h"

struct options {
  int spotify, slskd, musicbrainz, coverart;
  int artists, playlists, entries;
  const char *slskd_key;
};

static void usage(FILE *out)
{
  fprintf(out, "usage: fake_services [--spotify PORT] [--slskd PORT] "
               "[--musicbrainz PORT] [--coverart PORT] [--slskd-key KEY]\n"
               "       [--artists N] [--playlists N] [--entries N]\n");
}

static int parse_port(const char *text, int *out)
{
  char *end;
  long v = strtol(text, &end, 10);
  if (!*text || *end || v < 0 || v > 65535)
    return SS_EINVAL;
  *out = (int)v;
  return SS_OK;
}

static int parse_args(int argc, char **argv, struct options *o)
{
  for (int i = 1; i < argc; i += 2) {
    const char *flag = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    int *port = NULL;
    if (strcmp(flag, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (!val)
      return SS_EINVAL;
    if (strcmp(flag, "--spotify") == 0)
      port = &o->spotify;
    else if (strcmp(flag, "--slskd") == 0)
      port = &o->slskd;
    else if (strcmp(flag, "--musicbrainz") == 0)
      port = &o->musicbrainz;
    else if (strcmp(flag, "--coverart") == 0)
      port = &o->coverart;
    else if (strcmp(flag, "--artists") == 0)
      port = &o->artists;
    else if (strcmp(flag, "--playlists") == 0)
      port = &o->playlists;
    else if (strcmp(flag, "--entries") == 0)
      port = &o->entries;
    else if (strcmp(flag, "--slskd-key") == 0)
      o->slskd_key = val;
    else
      return SS_EINVAL;
    if (port && parse_port(val, port) != SS_OK)
      return SS_EINVAL;
  }
  return SS_OK;
}

static int start_all(const struct options *o, struct fake_all *fa)
{
  int rc = fake_spotify_start(&fa->spotify, o->spotify, NULL);
  if (rc == SS_OK && (o->artists || o->playlists || o->entries)) {
    struct fake_spotify_library lib = {.artists = o->artists,
                                       .playlists = o->playlists,
                                       .entries = o->entries};
    fake_spotify_set_library(fa->spotify, &lib);
  }
  if (rc == SS_OK)
    rc = fake_slskd_start(&fa->slskd, o->slskd, o->slskd_key);
  if (rc == SS_OK)
    rc = fake_musicbrainz_start(&fa->musicbrainz, o->musicbrainz);
  if (rc == SS_OK)
    rc = fake_coverart_start(&fa->coverart, o->coverart);
  return rc;
}

static void print_urls(const struct fake_all *fa, const char *key)
{
  struct buf ini;
  printf("spotify accounts  %s\n", fake_spotify_accounts_url(fa->spotify));
  printf("spotify api       %s\n", fake_spotify_api_url(fa->spotify));
  printf("slskd             %s\n", fake_slskd_url(fa->slskd));
  printf("musicbrainz       %s\n", fake_musicbrainz_url(fa->musicbrainz));
  printf("coverart          %s\n", fake_coverart_url(fa->coverart));
  buf_init(&ini, 4096);
  fake_all_ini(fa, key, &ini);
  printf("\n; soulspotd.ini\n%s", buf_cstr(&ini));
  buf_free(&ini);
  fflush(stdout);
}

int main(int argc, char **argv)
{
  struct options o = {.slskd_key = "fake-slskd-api-key-0123456789"};
  struct fake_all fa;
  sigset_t set;
  int sig = 0;

  if (parse_args(argc, argv, &o) != SS_OK) {
    usage(stderr);
    return 2;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  memset(&fa, 0, sizeof fa);
  if (start_all(&o, &fa) != SS_OK) {
    fprintf(stderr, "fake_services: cannot bind a port\n");
    fake_all_stop(&fa);
    return 1;
  }
  print_urls(&fa, o.slskd_key);
  sigwait(&set, &sig);
  fake_all_stop(&fa);
  return 0;
}
