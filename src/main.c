/*
 * main.c - soulspotd: command line, configuration, start and stop order.
 *
 * Start: settings (defaults < INI < environment < flags), the data folder,
 * the database (migrations, stored runtime settings), libcurl, the
 * notification sender, the worker runtime (its error hook queues
 * notifications), the service prober, then the HTTP server; the bound port
 * is written to DATA_DIR/soulspotd.port.  Signals are blocked in every thread
 * and taken by sigwait() here, so SIGTERM/SIGINT stop everything in reverse
 * order: HTTP (no new requests), prober, workers (each at a safe point),
 * the notification sender, database.  Under systemd (NOTIFY_SOCKET),
 * core/sdnotify.c reports READY=1 once the server listens, STATUS= lines
 * (status_line) and WATCHDOG=1 pings while runtime_live() while waiting
 * for a signal, and STOPPING=1.
 *
 * Before the workers start, the API key is loaded (made at the first
 * start) and a non-loopback address without a password is refused
 * (check_auth).  `--set-password` stores a password read from standard
 * input and exits.
 *
 * Exit codes: 0 clean stop, 1 runtime failure (cannot bind, cannot open the
 * database), 2 bad usage (flag, config file or value; a non-loopback
 * address without a password; a password that breaks a rule).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/auth.h"
#include "automation/wanted.h"
#include "config/cli.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sdnotify.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "http/server.h"
#include "library/quarantine.h"
#include "media/media.h"
#include "services/notify.h"
#include "services/prober.h"
#include "runtime/runtime.h"
#include "workers/workers.h"

#define EXIT_USAGE 2
/* Descriptors kept for everything but HTTP connections: the database
 * (one connection per unit thread, with WAL and SHM), outbound HTTP,
 * the library walk, logs. */
#define FD_RESERVE 256

/* The settings writer: PATCH handlers persist through this connection. */
static struct db *settings_db;
static pthread_mutex_t settings_db_mu = PTHREAD_MUTEX_INITIALIZER;

static enum ss_err persist_settings(void *arg, const enum setting_id *ids,
                                    const char *const *texts, size_t n)
{
  (void)arg;
  const char *keys[S__COUNT];
  if (n > S__COUNT)
    return SS_EINVAL;
  for (size_t i = 0; i < n; i++)
    keys[i] = settings_defs[ids[i]].key;
  pthread_mutex_lock(&settings_db_mu);
  enum ss_err rc = db_settings_store(settings_db, keys, texts, n);
  pthread_mutex_unlock(&settings_db_mu);
  return rc;
}

static void on_log_level_changed(void *arg)
{
  (void)arg;
  char level[16];
  settings_str(S_LOG_LEVEL, level, sizeof level);
  int l = log_level_parse(level);
  if (l >= 0)
    log_set_level(l);
}

/* A unit entered or left error (runtime hook, the unit's thread). */
static void on_unit_error_changed(const struct unit_def *def, bool error,
                                  const char *last_error,
                                  enum ss_reason reason)
{
  notify_unit_state(def->label, error, last_error, reason);
}

/* The media helper pool (soulspotd-probe beside this executable). */
static void on_media_pool_changed(void *arg)
{
  (void)arg;
  struct media_pool_opts o = {
    .helpers = (int)settings_int(S_LIBRARY_PROBE_HELPERS),
    .timeout_s = (int)settings_int(S_LIBRARY_PROBE_TIMEOUT_SECONDS),
  };
  media_pool_configure(&o);
}

static void apply_stored(void *arg, const char *key, const char *value)
{
  (void)arg;
  char err[256];
  int id = settings_lookup(key);
  if (id < 0 || !(settings_defs[id].flags & SF_RUNTIME)) {
    log_warn("main", "ignoring stored setting %s: not a runtime setting", key);
    return;
  }
  if (settings_set((enum setting_id)id, value, err, sizeof err) != SS_OK)
    log_warn("main", "ignoring stored setting %s: %s", key, err);
}

/* server.allowed_hosts for the HTTP server's Host check (any thread). */
static void extra_hosts(char *out, size_t n)
{
  settings_str(S_SERVER_ALLOWED_HOSTS, out, n);
}

static void usage(FILE *out)
{
  fprintf(
    out, "Usage: soulspotd [OPTIONS]\n"
         "\n"
         "Self-hosted music automation: keeps a Spotify login fresh, mirrors\n"
         "the Spotify library, follows slskd downloads, automates releases,\n"
         "cleans temp files and finds duplicates.\n"
         "\n"
         "Options:\n");
  for (int i = 0; i < CLI__COUNT; i++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s%s%s", cli_options[i].name,
             cli_options[i].arg ? " " : "",
             cli_options[i].arg ? cli_options[i].arg : "");
    fprintf(out, "  %-18s  %s\n", flag, cli_options[i].help);
  }
  fprintf(out, "\nSettings (INI key `section.name`, or environment variable; "
               "see also soulspotd(8)):\n");
  settings_print_help(out);
}

static enum ss_err write_port_file(const char *dir, int port)
{
  char path[4096], tmp[4096 + 8];
  snprintf(path, sizeof path, "%s/soulspotd.port", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return SS_EIO;
  fprintf(f, "%d\n", port);
  if (fclose(f) != 0 || rename(tmp, path) != 0)
    return SS_EIO;
  return SS_OK;
}

static enum ss_err mkdir_p(const char *dir)
{
  char path[4096];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return SS_EIO;
    *p = '/';
  }
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return SS_EIO;
  return SS_OK;
}

/* The data folder holds the database with every secret: say so when other
 * users may look into it. */
static void warn_if_shared(const char *dir)
{
  struct stat st;
  if (stat(dir, &st) == 0 && (st.st_mode & 077))
    log_warn("main",
             "the data folder %s is open to other users (mode "
             "%04o); the database is kept private (0600), but consider "
             "`chmod 700 %s`",
             dir, (unsigned)(st.st_mode & 07777), dir);
}

/* 127.0.0.0/8 or ::1. */
static bool is_loopback_host(const char *host)
{
  unsigned char a[16];
  if (inet_pton(AF_INET, host, a) == 1)
    return a[0] == 127;
  static const unsigned char v6_loopback[16] = {[15] = 1};
  return inet_pton(AF_INET6, host, a) == 1 && !memcmp(a, v6_loopback, 16);
}

/* Loads (or makes, at the first start) the API key; refuses a
 * non-loopback address without a password unless the user allowed it.
 * Returns 0 to go on, else the exit code. */
static int check_auth(struct db *db, const char *host, const char *listen)
{
  bool created = false;
  if (auth_init() != SS_OK || auth_store_load(db, &created) != SS_OK) {
    fprintf(stderr, "soulspotd: cannot load the authentication data\n");
    return 1;
  }
  if (created)
    log_info("main", "made an API key; see the settings page, Security tab");
  if (settings_bool(S_SERVER_ALLOW_UNAUTHENTICATED_REMOTE)) {
    log_warn("main",
             "server.allow_unauthenticated_remote is on: anyone who "
             "can reach %s can read and change every setting",
             listen);
    return 0;
  }
  if (!is_loopback_host(host) && !auth_has_password()) {
    fprintf(stderr,
            "soulspotd: refusing to listen on %s without a password: "
            "set one with `soulspotd --set-password` (reads it from standard "
            "input), or set server.allow_unauthenticated_remote=true\n",
            listen);
    return EXIT_USAGE;
  }
  return 0;
}

/*
 * Raises the soft descriptor limit to the hard one and returns how many
 * HTTP connections fit: server.max_connections, lowered to the limit
 * minus FD_RESERVE (never below 64).  Logs the outcome.
 */
static int connection_cap(void)
{
  int wanted = (int)settings_int(S_SERVER_MAX_CONNECTIONS);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    log_warn("main", "cannot read the descriptor limit: %s", strerror(errno));
    return wanted;
  }
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
    else
      log_warn("main", "cannot raise the descriptor limit to %llu: %s",
               (unsigned long long)rl.rlim_max, strerror(errno));
  }
  int cap = wanted;
  if (rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)wanted + FD_RESERVE) {
    cap = rl.rlim_cur > 64 + FD_RESERVE ? (int)rl.rlim_cur - FD_RESERVE : 64;
    log_warn("main",
             "descriptor limit %llu allows %d HTTP connections, "
             "not server.max_connections=%d (raise LimitNOFILE / ulimit -n)",
             (unsigned long long)rl.rlim_cur, cap, wanted);
  }
  log_info("main", "descriptor limit %llu, HTTP connection cap %d",
           (unsigned long long)rl.rlim_cur, cap);
  return cap;
}

/* systemd's STATUS= line: "listening on URL; 6 of 8 units enabled, 0 in
 * error" and the units in error. */
static void status_line(const char *where, char *out, size_t n)
{
  int enabled = 0, in_error = 0;
  char failed[256] = "";
  size_t flen = 0;
  for (int i = 0; i < UNIT__COUNT; i++) {
    struct unit_snapshot s;
    runtime_snapshot((enum unit_id)i, &s);
    enabled += s.enabled;
    if (s.state != UNIT_ERROR)
      continue;
    in_error++;
    int w = snprintf(failed + flen, sizeof failed - flen, "%s%s",
                     flen ? ", " : "", runtime_def((enum unit_id)i)->key);
    if (w > 0 && (size_t)w < sizeof failed - flen)
      flen += (size_t)w;
  }
  snprintf(out, n, "listening on %s; %d of %d units enabled, %d in error%s%s",
           where, enabled, (int)UNIT__COUNT, in_error, in_error ? ": " : "",
           failed);
}

/* Splits "HOST:PORT" / "[v6]:PORT" (validated by settings already). */
static void split_listen(const char *listen, char *host, size_t n, int *port)
{
  const char *colon = strrchr(listen, ':');
  size_t hlen = (size_t)(colon - listen);
  if (listen[0] == '[') {
    listen++;
    hlen -= 2;
  }
  if (hlen >= n)
    hlen = n - 1;
  memcpy(host, listen, hlen);
  host[hlen] = '\0';
  *port = (int)strtol(colon + 1, NULL, 10); /* validated: 0-65535 */
}

int main(int argc, char **argv)
{
  int64_t t0 = clock_mono_ms(); /* start-up time includes config and db */
  xalloc_tune_process();        /* process-wide, before any thread starts */
  sdnotify_init();              /* reads NOTIFY_SOCKET, WATCHDOG_USEC */
  /* getopt_long returns the option's index + 1 (0 means "flag set"). */
  struct option opts[CLI__COUNT + 1] = {{NULL, 0, NULL, 0}};
  for (int i = 0; i < CLI__COUNT; i++)
    opts[i] = (struct option){cli_options[i].name,
                              cli_options[i].arg ? required_argument
                                                 : no_argument,
                              NULL, 1 + i};
  const char *listen = NULL, *data_dir = NULL, *config = NULL;
  bool set_password = false;
  char err[512];

  settings_init();
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 1 + CLI_LISTEN: listen = optarg; break;
    case 1 + CLI_DATA_DIR: data_dir = optarg; break;
    case 1 + CLI_CONFIG: config = optarg; break;
    case 1 + CLI_HELP: usage(stdout); return 0;
    case 1 + CLI_VERSION: printf("soulspotd %s\n", SOULSPOT_VERSION); return 0;
    case 1 + CLI_SET_PASSWORD: set_password = true; break;
    default:
      fprintf(stderr,
              "soulspotd: unknown or incomplete option '%s' "
              "(see --help)\n",
              argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "soulspotd: unexpected argument '%s' (see --help)\n",
            argv[optind]);
    return EXIT_USAGE;
  }
  if (config && settings_load_ini(config, err, sizeof err) != SS_OK) {
    fprintf(stderr, "soulspotd: config: %s\n", err);
    return EXIT_USAGE;
  }
  if (settings_load_env(err, sizeof err) != SS_OK) {
    fprintf(stderr, "soulspotd: environment: %s\n", err);
    return EXIT_USAGE;
  }
  if (listen && settings_set(S_SERVER_LISTEN, listen, err, sizeof err)) {
    fprintf(stderr, "soulspotd: --listen: %s\n", err);
    return EXIT_USAGE;
  }
  if (data_dir && settings_set(S_SERVER_DATA_DIR, data_dir, err, sizeof err)) {
    fprintf(stderr, "soulspotd: --data-dir: %s\n", err);
    return EXIT_USAGE;
  }

  char dir[SETTING_STR_MAX], db_path[SETTING_STR_MAX + 32];
  settings_str(S_SERVER_DATA_DIR, dir, sizeof dir);
  if (mkdir_p(dir) != SS_OK) {
    fprintf(stderr, "soulspotd: --data-dir: cannot create '%s': %s\n", dir,
            strerror(errno));
    return EXIT_USAGE;
  }
  snprintf(db_path, sizeof db_path, "%s/soulspotd.db", dir);
  warn_if_shared(dir);

  /* Signals go to sigwait() below, never to a worker thread. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  int version = 0;
  db_make_private(db_path); /* before the first connection */
  if (db_open(db_path, &settings_db) != SS_OK ||
      db_migrate(settings_db, &version) != SS_OK) {
    fprintf(stderr, "soulspotd: cannot open database %s\n", db_path);
    db_close(settings_db);
    return 1;
  }
  db_settings_load(settings_db, apply_stored, NULL);
  settings_set_persist(persist_settings, NULL);
  on_log_level_changed(NULL);
  settings_subscribe(on_log_level_changed, NULL);
  on_media_pool_changed(NULL);
  settings_subscribe(on_media_pool_changed, NULL);
  quarantine_recover_configured(settings_db); /* moves a crash cut short */
  wanted_stats_refresh(settings_db);          /* the status API's counts */

  char listen_text[SETTING_STR_MAX], host[256];
  int port;
  settings_str(S_SERVER_LISTEN, listen_text, sizeof listen_text);
  split_listen(listen_text, host, sizeof host, &port);
  int auth_rc = 0;
  if (set_password) {
    int prc = auth_init() != SS_OK
                ? SS_EIO
                : auth_cli_set_password(settings_db, stdin, stderr);
    auth_rc = prc == SS_OK ? 0 : prc == SS_EINVAL ? EXIT_USAGE : 1;
  }
  if (set_password || (auth_rc = check_auth(settings_db, host, listen_text))) {
    db_close(settings_db);
    return auth_rc;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct runtime_opts ropts = {.db_path = db_path, .defs = workers_defs()};
  runtime_set_error_hook(on_unit_error_changed);
  if (notify_start() != SS_OK || runtime_start(&ropts) != SS_OK ||
      prober_start() != SS_OK) {
    fprintf(stderr, "soulspotd: cannot start workers\n");
    return 1;
  }

  size_t n_routes;
  const struct http_route *routes = api_routes(&n_routes);
  struct http_server_opts hopts = {
    .host = host,
    .port = port,
    .threads = (int)settings_int(S_SERVER_THREADS),
    .max_connections = connection_cap(),
    .max_per_address = (int)settings_int(S_SERVER_MAX_CONNECTIONS_PER_ADDRESS),
    .request_timeout_s = (int)settings_int(S_SERVER_REQUEST_TIMEOUT_SECONDS),
    .routes = routes,
    .n_routes = n_routes,
    .extra_hosts = extra_hosts,
    .authorize = api_authorize,
  };
  struct http_server *srv = NULL;
  enum ss_err rc = http_server_start(&hopts, &srv);
  if (rc != SS_OK) {
    fprintf(stderr, "soulspotd: cannot listen on %s\n", listen_text);
    prober_stop();
    runtime_stop();
    notify_stop();
    db_close(settings_db);
    return 1;
  }
  int bound = http_server_port(srv);
  if (write_port_file(dir, bound) != SS_OK)
    log_warn("main", "cannot write %s/soulspotd.port", dir);
  char where[300];
  snprintf(where, sizeof where, "http://%s%s%s:%d",
           strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
           bound);
  log_info("main",
           "soulspotd %s listening on %s (schema v%d, started in "
           "%lld ms)",
           SOULSPOT_VERSION, where, version,
           (long long)(clock_mono_ms() - t0));

  char status[SDNOTIFY_STATUS_MAX], why[256];
  status_line(where, status, sizeof status);
  sdnotify_ready(status); /* READY=1 (systemd Type=notify) */

  /* Wait for SIGTERM/SIGINT; under systemd, wake up for its ticks: the
   * status line, and the watchdog while every unit thread beats. */
  int sig = 0;
  for (;;) {
    int64_t wait_ms = -1;
    if (sdnotify_enabled()) {
      status_line(where, status, sizeof status);
      bool live = runtime_live(why, sizeof why);
      wait_ms = sdnotify_tick(status, live, why);
    }
    if (wait_ms < 0) {
      sigwait(&sigs, &sig);
      break;
    }
    struct timespec ts = {.tv_sec = wait_ms / 1000,
                          .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
    sig = sigtimedwait(&sigs, NULL, &ts);
    if (sig > 0)
      break;
  }
  sdnotify_stopping();
  log_info("main", "received %s, stopping",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
  http_server_stop(srv);
  prober_stop();
  runtime_stop();
  media_pool_shutdown(); /* after the units: no call is in progress */
  notify_stop();         /* after the units: nothing queues any more */
  pthread_mutex_lock(&settings_db_mu);
  db_close(settings_db);
  settings_db = NULL;
  pthread_mutex_unlock(&settings_db_mu);
  curl_global_cleanup();
  settings_cleanup();
  log_info("main", "stopped");
  return 0;
}
