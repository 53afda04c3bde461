/*
 * demo_fakes.c - `make demo`: soulspotd against the project's own fakes of
 * Spotify, slskd, MusicBrainz and the Cover Art Archive (tests/support),
 * with a small generated library, so a newcomer sees every worker at work
 * within a minute, without an account and without the internet.
 *
 *   demo-fakes --daemon PATH [--dir DIR] [--port PORT] [--check SECONDS]
 *
 * It makes DIR (default ./demo, emptied first) with
 *   library/   Björk, Sigur Rós, 坂本龍一, AC/DC as real short audio files
 *              (ffmpeg): one track twice (a duplicate), one only as a
 *              128 kbit/s MP3 (a quality upgrade)
 *   temp/      orphaned temp files three days old (Cleanup frees them)
 *   slskd/     the fake slskd's downloads folder
 *   peer/      what the fake peer "demo-peer" shares (FLAC)
 *   data/      the daemon's database; soulspotd.ini; soulspotd.log
 * starts the fakes on free ports, writes soulspotd.ini pointing every
 * service at them with every unit enabled, starts the daemon on
 * 127.0.0.1:PORT (default 8765; 0 picks a free one) and plays the
 * newcomer's part over the HTTP API, printing what happens:
 *   1. logs in to (fake) Spotify the way a browser does; the sync follows;
 *   2. the Duplicate Detector's first scan finds the duplicate; Cleanup's
 *      first run frees the temp files;
 *   3. asks for one download by hand (POST /api/downloads) and presses
 *      Run now on Quality Upgrade, which wants the 128 kbit/s track: both
 *      download from the fake slskd and arrive in the library.
 * Then it serves until Ctrl-C.  With --check it instead stops as soon as
 * every one of these is visible over the HTTP API (exit 0) or after
 * SECONDS (exit 1, naming what is missing); tests/integration/test_demo.c
 * runs it so.
 *
 * Threading: signals are blocked before any thread starts and taken with
 * sigtimedwait() on the main thread, which also does all the polling.
 * Ownership: everything started here is stopped before exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audio_fixtures.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "fake_all.h"
#include "http_test_client.h"
#include "tfs.h"

#define SLSKD_KEY "demo-slskd-api-key-0123456789"
#define PEER "demo-peer"
#define POLL_MS 500
#define START_MS 15000
#define PATH_LEN 1024
#define ORPHAN_AGE_S (3 * 86400)
/* Without --check: after this long, say what is missing and serve on. */
#define INTERACTIVE_S 120

extern char **environ;

struct demo {
  const char *daemon, *dir_arg;
  int port, check_s;
  char dir[PATH_LEN], lib[PATH_LEN], tmp[PATH_LEN], dl[PATH_LEN],
    peer[PATH_LEN], data[PATH_LEN];
  char url[64];
  struct fake_all fa;
  pid_t pid;
  sigset_t sigs;
};

/* A track of the generated library. */
struct track {
  const char *path; /* below library/ */
  const char *artist, *album, *title, *date;
  int number, tune;
  const char *args; /* encoder options (NULL = the format's default) */
};

static const struct track library[] = {
  {"Björk/Homogenic (1997)/01 Hunter.flac", "Björk", "Homogenic", "Hunter",
   "1997", 1, 1, NULL},
  /* Only as MP3 128k: Quality Upgrade wants it (FLAC is on the peer). */
  {"Björk/Homogenic (1997)/02 Jóga.mp3", "Björk", "Homogenic", "Jóga", "1997",
   2, 2, "-b:a 128k"},
  {"Sigur Rós/Takk... (2005)/02 Hoppípolla.flac", "Sigur Rós", "Takk...",
   "Hoppípolla", "2005", 2, 3, NULL},
  /* The duplicate: the same song again, as a stray MP3. */
  {"Sigur Rós/Unsorted/Hoppípolla.mp3", "Sigur Rós", "Takk...", "Hoppípolla",
   "2005", 2, 3, "-b:a 192k"},
  {"坂本龍一/async (2017)/01 andata.flac", "坂本龍一", "async", "andata",
   "2017", 1, 4, NULL},
  {"AC_DC/Back in Black (1980)/01 Hells Bells.mp3", "AC/DC", "Back in Black",
   "Hells Bells", "1980", 1, 5, "-b:a 320k"},
};

/* What the peer shares: FLAC files made from these. */
static const struct track shared[] = {
  {"Björk\\Homogenic (1997)\\02 - Jóga.flac", "Björk", "Homogenic", "Jóga",
   "1997", 2, 2, NULL},
  {"坂本龍一\\Merry Christmas Mr. Lawrence (1983)\\01 - Merry Christmas Mr. "
   "Lawrence.flac",
   "坂本龍一", "Merry Christmas Mr. Lawrence", "Merry Christmas Mr. Lawrence",
   "1983", 1, 6, NULL},
};
#define MANUAL_QUERY "坂本龍一 - Merry Christmas Mr. Lawrence"

static const char *const orphans[] = {"incomplete/Björk - Jóga.mp3.part",
                                      "search-cache.tmp",
                                      "AC_DC - Thunderstruck.flac.partial",
                                      NULL};
static const long orphan_sizes[] = {3 << 20, 1 << 20, 5 << 20};

/* ---- small helpers ---- */

static double since_start(void)
{
  static int64_t t0;
  if (!t0)
    t0 = clock_mono_ms();
  return (double)(clock_mono_ms() - t0) / 1000.0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
  va_list ap;
  printf("[%5.1f s] ", since_start());
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static int mkdirs(const char *path)
{
  char p[PATH_LEN];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
      return -1;
    *s = '/';
  }
  return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Makes the folders of path (a file path). */
static int mkparent(const char *path)
{
  char p[PATH_LEN];
  snprintf(p, sizeof p, "%s", path);
  char *slash = strrchr(p, '/');
  if (!slash)
    return 0;
  *slash = '\0';
  return mkdirs(p);
}

/* Waits up to ms for SIGINT/SIGTERM; true when one came. */
static bool interrupted(struct demo *d, int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return sigtimedwait(&d->sigs, NULL, &ts) > 0;
}

/* ---- the demo folder ---- */

static int make_audio(const char *path, const struct track *t)
{
  struct af_spec s = {.title = t->title,
                      .artist = t->artist,
                      .album_artist = t->artist,
                      .album = t->album,
                      .date = t->date,
                      .track = t->number,
                      .seconds = 3,
                      .tune = t->tune,
                      .args = t->args};
  return mkparent(path) || af_make(path, &s) ? -1 : 0;
}

static int make_tree(struct demo *d)
{
  if (!realpath(d->dir_arg, d->dir)) {
    if (mkdirs(d->dir_arg) != 0 || !realpath(d->dir_arg, d->dir))
      return -1;
  }
  snprintf(d->lib, sizeof d->lib, "%s/library", d->dir);
  snprintf(d->tmp, sizeof d->tmp, "%s/temp", d->dir);
  snprintf(d->dl, sizeof d->dl, "%s/slskd", d->dir);
  snprintf(d->peer, sizeof d->peer, "%s/peer", d->dir);
  snprintf(d->data, sizeof d->data, "%s/data", d->dir);
  const char *fresh[] = {d->lib, d->tmp, d->dl, d->peer, d->data};
  for (size_t i = 0; i < sizeof fresh / sizeof fresh[0]; i++) {
    tfs_rm_tree(fresh[i]);
    if (mkdirs(fresh[i]) != 0)
      return -1;
  }
  if (chmod(d->data, 0700) != 0) /* it holds the database */
    return -1;
  char path[2 * PATH_LEN];
  for (size_t i = 0; i < sizeof library / sizeof library[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", d->lib, library[i].path);
    if (make_audio(path, &library[i]) != 0)
      return -1;
  }
  for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
    snprintf(path, sizeof path, "%s/%zu.flac", d->peer, i);
    if (make_audio(path, &shared[i]) != 0)
      return -1;
  }
  /* Orphans, three days old: older than automation.cleanup_retention_days. */
  struct timespec old[2] = {{time(NULL) - ORPHAN_AGE_S, 0},
                            {time(NULL) - ORPHAN_AGE_S, 0}};
  for (size_t i = 0; orphans[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", d->tmp, orphans[i]);
    int fd = mkparent(path) ? -1 : open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || ftruncate(fd, orphan_sizes[i]) != 0 ||
        futimens(fd, old) != 0) {
      if (fd >= 0)
        close(fd);
      return -1;
    }
    close(fd);
  }
  return 0;
}

/* ---- the fakes ---- */

static int start_fakes(struct demo *d)
{
  if (fake_all_start(&d->fa, SLSKD_KEY) != SS_OK)
    return -1;
  struct fake_spotify_library lib = {.artists = 6,
                                     .playlists = 2,
                                     .entries = 12,
                                     .liked = 8,
                                     .saved_albums = 3};
  fake_spotify_set_library(d->fa.spotify, &lib);
  fake_slskd_set_download_dir(d->fa.slskd, d->dl);
  fake_slskd_set_progress_steps(d->fa.slskd, 3); /* progress shows a while */
  for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
    char src[PATH_LEN + 32], remote[512];
    struct stat st;
    snprintf(src, sizeof src, "%s/%zu.flac", d->peer, i);
    snprintf(remote, sizeof remote, "@@%s\\Music\\%s", PEER, shared[i].path);
    if (stat(src, &st) != 0)
      return -1;
    fake_slskd_add_file(d->fa.slskd,
                        &(struct fake_sk_file){PEER, remote, st.st_size, 0, 16,
                                               44100, 3, false, src,
                                               FAKE_SK_OK});
  }
  return 0;
}

/* A free local port (the demo's default 8765 may be taken). */
static int free_port(void)
{
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(s, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (s >= 0)
    close(s);
  return port;
}

/* ---- the daemon ---- */

static int write_ini(struct demo *d, char *path, size_t n)
{
  struct buf ini;
  buf_init(&ini, 16384);
  buf_printf(&ini, "; soulspotd demo (make demo): every service is a local "
                   "fake, every unit on\n");
  fake_all_ini(&d->fa, SLSKD_KEY, &ini);
  buf_printf(
    &ini,
    "[spotify]\nclient_id = test-client-id\n"
    "redirect_uri = %s/auth/spotify/callback\n"
    "token_check_interval_seconds = 30\n"
    "sync_check_interval_seconds = 10\n"
    "artists_sync_interval_minutes = 1\n"
    "playlists_sync_interval_minutes = 1\n"
    "albums_sync_interval_minutes = 1\n"
    "artist_albums_sync_interval_minutes = 1\n"
    "[musicbrainz]\ncontact = demo@soulspotd.invalid\n"
    "[download]\nmonitor_enabled = true\npoll_interval_seconds = 2\n"
    "slskd_download_path = %s\ntemp_path = %s\n"
    "[library]\npath = %s\n"
    "[automation]\n"
    "watchlist_enabled = true\nwatchlist_interval_minutes = 15\n"
    "discography_enabled = true\ndiscography_interval_hours = 1\n"
    "quality_upgrade_enabled = true\nquality_upgrade_interval_hours = 1\n"
    "quality_profile = high\n"
    "cleanup_enabled = true\ncleanup_interval_hours = 1\n"
    "cleanup_retention_days = 1\n"
    "duplicate_detection_enabled = true\n"
    "duplicate_scan_interval_hours = 6\n"
    "duplicate_detection_method = metadata-hash\n"
    "[probe]\ninterval_seconds = 5\n",
    d->url, d->dl, d->tmp, d->lib);
  snprintf(path, n, "%s/soulspotd.ini", d->dir);
  FILE *f = fopen(path, "w");
  int rc = f && fputs(buf_cstr(&ini), f) >= 0 ? 0 : -1;
  if (f && fclose(f) != 0)
    rc = -1;
  buf_free(&ini);
  return rc;
}

static int start_daemon(struct demo *d)
{
  char ini[PATH_LEN + 32], log[PATH_LEN + 32], listen[64],
    port_file[PATH_LEN + 32];
  snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", d->port);
  snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
  snprintf(log, sizeof log, "%s/soulspotd.log", d->dir);
  snprintf(port_file, sizeof port_file, "%s/soulspotd.port", d->data);
  if (!d->daemon)
    return -1; /* parse_args requires --daemon */
  if (write_ini(d, ini, sizeof ini) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none;
  sigemptyset(&none);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
  char *argv[] = {(char *)d->daemon, "--config", ini,    "--data-dir",
                  d->data,           "--listen", listen, NULL};
  int rc = posix_spawn(&d->pid, d->daemon, &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) {
    fprintf(stderr, "demo: cannot start %s: %s\n", d->daemon, strerror(rc));
    d->pid = 0;
    return -1;
  }
  int64_t until = clock_mono_ms() + START_MS;
  while (access(port_file, F_OK) != 0) {
    int st;
    if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
      d->pid = 0;
      fprintf(stderr,
              "demo: soulspotd exited at start; see %s (port %d "
              "taken? make demo DEMO_PORT=0 picks a free one)\n",
              log, d->port);
      return -1;
    }
    if (clock_mono_ms() > until || interrupted(d, 50)) {
      fprintf(stderr, "demo: soulspotd did not start; see %s\n", log);
      return -1;
    }
  }
  return 0;
}

static int stop_daemon(struct demo *d)
{
  if (!d->pid)
    return 0;
  kill(d->pid, SIGTERM);
  int st = 0;
  while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
    ;
  d->pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the storyline, over the HTTP API ---- */

/* GET path as JSON (NULL when it did not answer 200 with JSON). */
static json_t *get_json(struct demo *d, const char *path)
{
  char url[256];
  struct hc_resp r = {0};
  snprintf(url, sizeof url, "%s%s", d->url, path);
  json_t *doc = NULL;
  if (hc_get(url, &r) == SS_OK && r.status == 200)
    doc = json_loads(buf_cstr(&r.body), 0, NULL);
  hc_resp_free(&r);
  return doc;
}

static long post(struct demo *d, const char *path, const char *json)
{
  char url[256];
  const char *const h[] = {"Content-Type: application/json", NULL};
  struct hc_resp r = {0};
  snprintf(url, sizeof url, "%s%s", d->url, path);
  long status = hc_request("POST", url, h, json, &r) == SS_OK ? r.status : 0;
  hc_resp_free(&r);
  return status;
}

static json_t *details(json_t *status, const char *worker)
{
  return json_object_get(json_object_get(json_object_get(status, "workers"),
                                         worker),
                         "details");
}

static json_int_t detail_int(json_t *status, const char *worker,
                             const char *key)
{
  return json_integer_value(json_object_get(details(status, worker), key));
}

enum milestone {
  M_LOGIN,
  M_SYNC,
  M_DUPLICATE,
  M_CLEANUP,
  M_DOWNLOAD,
  M_UPGRADE,
  M__COUNT
};
static const char *const milestone_names[M__COUNT] =
  {"Spotify login",       "Spotify sync",      "duplicate found",
   "cleanup freed space", "download imported", "quality upgrade imported"};

struct story {
  bool done[M__COUNT];
  bool upgrade_pressed, manual_asked;
  json_int_t last_progress[M__COUNT]; /* of the two downloads */
};

/* One look at the daemon; says what became true since the last one. */
static void look(struct demo *d, struct story *s)
{
  json_t *st = get_json(d, "/api/workers/status");
  if (!st)
    return;
  if (!s->done[M_LOGIN] &&
      json_is_true(
        json_object_get(details(st, "token_refresh"), "account_connected"))) {
    s->done[M_LOGIN] = true;
    say("Spotify: logged in (fake account); Token Refresh keeps the login "
        "fresh");
  }
  json_t *stats = json_object_get(details(st, "spotify_sync"), "stats");
  json_t *art = json_object_get(stats, "artists");
  json_t *pls = json_object_get(stats, "playlists");
  if (!s->done[M_SYNC] &&
      json_integer_value(json_object_get(art, "count")) > 0 &&
      json_integer_value(json_object_get(pls, "count")) > 0) {
    s->done[M_SYNC] = true;
    say("Spotify Sync: %s; %s (/library/artists, /library/playlists)",
        json_string_value(json_object_get(art, "last_result")),
        json_string_value(json_object_get(pls, "last_result")));
  }
  json_int_t groups = detail_int(st, "duplicate_detector", "groups_open");
  if (!s->done[M_DUPLICATE] && groups > 0) {
    s->done[M_DUPLICATE] = true;
    say("Duplicate Detector: scanned %lld tracks, found %lld duplicate "
        "group(s): Sigur Rós - Hoppípolla twice (/library/duplicates)",
        (long long)detail_int(st, "duplicate_detector", "tracks_scanned"),
        (long long)groups);
  }
  json_int_t freed = detail_int(st, "cleanup", "bytes_freed");
  if (!s->done[M_CLEANUP] && freed > 0) {
    s->done[M_CLEANUP] = true;
    say("Cleanup: deleted %lld orphaned temp files, freed %.1f MiB",
        (long long)detail_int(st, "cleanup", "files_deleted"),
        (double)freed / (1 << 20));
  }
  /* Once the library is scanned: ask for a download, press Run now. */
  if (detail_int(st, "duplicate_detector", "tracks_scanned") > 0 &&
      !s->upgrade_pressed) {
    s->upgrade_pressed = true;
    long rc = post(d, "/api/workers/automation.quality_upgrade/run", NULL);
    say("Quality Upgrade: Run now (HTTP %ld): Björk - Jóga is only MP3 "
        "128k in the library",
        rc);
  }
  if (s->done[M_LOGIN] && !s->manual_asked) {
    s->manual_asked = true;
    long rc = post(d, "/api/downloads", "{\"query\": \"" MANUAL_QUERY "\"}");
    say("Downloads: asked for \"%s\" (HTTP %ld; /downloads)", MANUAL_QUERY,
        rc);
  }
  json_decref(st);

  json_t *dl = get_json(d, "/api/downloads?limit=20");
  size_t i;
  json_t *req;
  json_array_foreach(json_object_get(dl, "downloads"), i, req)
  {
    const char *q = json_string_value(json_object_get(req, "query"));
    const char *state = json_string_value(json_object_get(req, "state"));
    json_int_t imported = json_integer_value(
      json_object_get(req, "files_imported"));
    bool manual = q && strstr(q, "Merry Christmas");
    enum milestone m = manual ? M_DOWNLOAD : M_UPGRADE;
    if (!q || !state || s->done[m])
      continue;
    if (!strcmp(state, "completed") && imported > 0) {
      s->done[m] = true;
      say("%s: \"%s\" downloaded from %s and imported into the library%s",
          manual ? "Download" : "Quality Upgrade",
          manual ? MANUAL_QUERY : "Björk - Jóga",
          json_string_value(json_object_get(req, "username")),
          manual ? ""
                 : " (FLAC in place of the MP3; the old file is in the "
                   "quarantine)");
    } else if (!strcmp(state, "downloading")) {
      json_int_t p = (json_int_t)json_real_value(
        json_object_get(req, "progress"));
      if (p != s->last_progress[m])
        say("Download Monitor: \"%s\" %lld %%",
            manual ? MANUAL_QUERY : "Björk - Jóga", (long long)p);
      s->last_progress[m] = p;
    }
  }
  json_decref(dl);
}

static bool all_done(const struct story *s)
{
  for (int i = 0; i < M__COUNT; i++)
    if (!s->done[i])
      return false;
  return true;
}

/* Returns 0 when every milestone was reached (within deadline_ms, if
 * > 0), 1 otherwise, 2 when interrupted. */
static int play(struct demo *d, int64_t deadline_ms)
{
  struct story s;
  memset(&s, 0, sizeof s);
  for (int i = 0; i < M__COUNT; i++)
    s.last_progress[i] = -1;
  char location[256] = "";
  say("soulspotd is up at %s (log: %s/soulspotd.log)", d->url, d->dir);
  if (fake_spotify_browser_login(d->fa.spotify, d->url, false, false, location,
                                 sizeof location) != SS_OK)
    say("Spotify login did not go through (%s)", location);
  int64_t until = deadline_ms > 0 ? clock_mono_ms() + deadline_ms : 0;
  while (!all_done(&s)) {
    int st;
    if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
      d->pid = 0;
      say("soulspotd ended unexpectedly; see %s/soulspotd.log", d->dir);
      return 1;
    }
    look(d, &s);
    if (all_done(&s))
      break;
    if (until && clock_mono_ms() > until) {
      for (int i = 0; i < M__COUNT; i++)
        if (!s.done[i])
          say("missing: %s", milestone_names[i]);
      return 1;
    }
    if (interrupted(d, POLL_MS))
      return 2;
  }
  say("all done: every worker has shown what it does.");
  return 0;
}

/* ---- main ---- */

static void usage(FILE *out)
{
  fprintf(out, "usage: demo-fakes --daemon PATH [--dir DIR] [--port PORT] "
               "[--check SECONDS]\n");
}

/* A whole number in [lo, hi], or -1. */
static int number_arg(const char *v, long lo, long hi)
{
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  return errno || end == v || *end || n < lo || n > hi ? -1 : (int)n;
}

static int parse_args(int argc, char **argv, struct demo *d)
{
  for (int i = 1; i < argc; i += 2) { /* flag value pairs */
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--help")) {
      usage(stdout);
      exit(0);
    }
    if (!v)
      return -1;
    if (!strcmp(argv[i], "--daemon"))
      d->daemon = v;
    else if (!strcmp(argv[i], "--dir"))
      d->dir_arg = v;
    else if (!strcmp(argv[i], "--port"))
      d->port = number_arg(v, 0, 65535);
    else if (!strcmp(argv[i], "--check"))
      d->check_s = number_arg(v, 0, 86400);
    else
      return -1;
  }
  return d->daemon && d->port >= 0 && d->port <= 65535 && d->check_s >= 0 ? 0
                                                                          : -1;
}

int main(int argc, char **argv)
{
  static struct demo d = {.dir_arg = "demo", .port = 8765};
  if (parse_args(argc, argv, &d) != 0) {
    usage(stderr);
    return 2;
  }
  if (!af_available()) {
    fprintf(stderr, "demo: ffmpeg is needed to make the demo library "
                    "(scripts/bootstrap.sh installs it)\n");
    return 1;
  }
  sigemptyset(&d.sigs);
  sigaddset(&d.sigs, SIGINT);
  sigaddset(&d.sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &d.sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  since_start();
  if (d.port == 0)
    d.port = free_port();
  int rc = 1;
  if (make_tree(&d) != 0) {
    fprintf(stderr, "demo: cannot make the demo folder %s\n", d.dir_arg);
    return 1;
  }
  say("demo library in %s: Björk, Sigur Rós, 坂本龍一, AC/DC; 3 orphaned "
      "temp files",
      d.lib);
  if (start_fakes(&d) != 0) {
    fprintf(stderr, "demo: cannot start the fakes\n");
    fake_all_stop(&d.fa);
    return 1;
  }
  say("fakes: Spotify %s, slskd %s, MusicBrainz %s, Cover Art Archive %s",
      fake_spotify_accounts_url(d.fa.spotify), fake_slskd_url(d.fa.slskd),
      fake_musicbrainz_url(d.fa.musicbrainz),
      fake_coverart_url(d.fa.coverart));
  if (start_daemon(&d) == 0) {
    rc = play(&d, (d.check_s ? d.check_s : INTERACTIVE_S) * 1000LL);
    if (!d.check_s && rc != 2 && d.pid) {
      say("open %s in a browser; Ctrl-C stops the demo", d.url);
      while (!interrupted(&d, 1000))
        ;
      rc = 0; /* served until the user stopped it */
    }
    int exit_code = stop_daemon(&d);
    if (exit_code != 0) {
      fprintf(stderr, "demo: soulspotd exited with %d; see %s/soulspotd.log\n",
              exit_code, d.dir);
      rc = 1;
    }
  } else {
    stop_daemon(&d);
  }
  fake_all_stop(&d.fa);
  if (rc == 2)
    rc = 0; /* Ctrl-C during the storyline: a normal end */
  return rc;
}
