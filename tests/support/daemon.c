/*
 * daemon.c - runs the real soulspotd binary for integration tests.
 *
 * Everything the child needs (argv, envp, file names) is built before
 * fork(): the test process has other threads (fake servers, curl), so the
 * child only calls async-signal-safe functions until execve().  The child
 * closes every inherited descriptor above stderr, so a fake server's
 * listening socket never stays open inside a daemon after the fake stops.
 *
 * Waiting: the port file is polled every 10 ms against a deadline; process
 * exit is awaited with a pidfd and poll() (falling back to a 5 ms waitpid
 * poll when pidfds are unavailable).
 *
 * Threading: main test thread only.  Ownership: see daemon.h.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"

extern char **environ;

#define PORT_POLL_MS 10
#define STDERR_DUMP_MAX (16 * 1024)

/* ---- paths and files ---- */

/* BUILD/name into path. */
static const char *build_binary(char *path, size_t n, const char *name)
{
  const char *build = getenv("SOULSPOT_BUILD");
  if (build && *build) {
    snprintf(path, n, "%s/%s", build, name);
    return path;
  }
  /* BUILD/tests/<kind>/<test>: strip three components. */
  char exe[PATH_MAX - 16];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k <= 0) {
    snprintf(path, n, "./%s", name);
    return path;
  }
  exe[k] = '\0';
  for (int i = 0; i < 3; i++) {
    char *slash = strrchr(exe, '/');
    if (slash && slash != exe)
      *slash = '\0';
  }
  snprintf(path, n, "%s/%s", exe, name);
  return path;
}

const char *daemon_binary(void)
{
  static char path[PATH_MAX];
  return build_binary(path, sizeof path, "soulspotd");
}

const char *daemon_hooks_binary(void)
{
  static char path[PATH_MAX];
  return build_binary(path, sizeof path, "soulspotd-testhooks");
}

static const char *binary_of(const struct test_daemon *d)
{
  return d->test_hooks ? daemon_hooks_binary() : daemon_binary();
}

static int write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return SS_EIO;
  size_t len = strlen(text);
  bool ok = fwrite(text, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  return ok ? SS_OK : SS_EIO;
}

static int read_file(const char *path, struct buf *out)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return SS_EIO;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof chunk)) > 0)
    buf_append(out, chunk, (size_t)n);
  close(fd);
  return n < 0 ? SS_EIO : SS_OK;
}

static void trim(char *s)
{
  size_t len = strlen(s);
  while (len > 0 && strchr(" \t\r\n", s[len - 1]))
    s[--len] = '\0';
  size_t lead = strspn(s, " \t");
  memmove(s, s + lead, len - lead + 1);
}

/* True when the INI text assigns section.name = key (key "section.name"). */
static bool ini_sets(const char *text, const char *key)
{
  char section[128] = "";
  const char *p = text ? text : "";
  while (*p) {
    char line[1024];
    size_t len = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int)len, p);
    p += len + (p[len] == '\n');
    trim(line);
    if (line[0] == '[') {
      char *end = strchr(line, ']');
      if (end) {
        *end = '\0';
        snprintf(section, sizeof section, "%s", line + 1);
        trim(section);
      }
      continue;
    }
    char *eq = strchr(line, '=');
    if (!eq || line[0] == ';' || line[0] == '#')
      continue;
    *eq = '\0';
    trim(line);
    char full[300];
    snprintf(full, sizeof full, "%.127s.%.160s", section, line);
    if (strcmp(full, key) == 0)
      return true;
  }
  return false;
}

/* The test's INI plus hermetic service URLs for every one it leaves out. */
static char *hermetic_ini(const char *ini_text)
{
  static const struct {
    const char *key, *section, *name, *suffix;
  } urls[] = {
    {"spotify.accounts_url", "spotify", "accounts_url", ""},
    {"spotify.api_url", "spotify", "api_url", "/v1"},
    {"musicbrainz.url", "musicbrainz", "url", "/ws/2"},
    {"coverart.url", "coverart", "url", ""},
  };
  struct buf b;
  buf_init(&b, 1 << 20);
  buf_puts(&b, ini_text ? ini_text : "");
  if (b.len && b.data[b.len - 1] != '\n')
    buf_putc(&b, '\n');
  buf_puts(&b, "\n; added by tests/support/daemon.c: no internet\n");
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
    if (!ini_sets(ini_text, urls[i].key))
      buf_printf(&b, "[%s]\n%s = %s%s\n", urls[i].section, urls[i].name,
                 DAEMON_CLOSED_URL, urls[i].suffix);
  return buf_steal(&b, NULL);
}

int daemon_write_config(struct test_daemon *d, const char *ini_text)
{
  char *text = hermetic_ini(ini_text);
  int rc = write_file(d->config_path, text);
  free(text);
  return rc;
}

static int make_root(struct test_daemon *d)
{
  if (d->root[0])
    return SS_OK;
  char tmpl[] = "/tmp/soulspot-it-XXXXXX";
  if (!mkdtemp(tmpl))
    return SS_EIO;
  snprintf(d->root, sizeof d->root, "%s", tmpl);
  snprintf(d->data_dir, sizeof d->data_dir, "%s/data", tmpl);
  snprintf(d->config_path, sizeof d->config_path, "%s/soulspotd.ini", tmpl);
  snprintf(d->stderr_path, sizeof d->stderr_path, "%s/stderr.log", tmpl);
  snprintf(d->db_path, sizeof d->db_path, "%s/data/soulspotd.db", tmpl);
  snprintf(d->port_path, sizeof d->port_path, "%s/data/soulspotd.port", tmpl);
  if (mkdir(d->data_dir, 0700) != 0)
    return SS_EIO;
  return SS_OK;
}

/* ---- environment ---- */

static bool scrubbed(const char *entry)
{
  static const char *const proxies[] = {"http_proxy=", "https_proxy=",
                                        "all_proxy=", "no_proxy=",
                                        "ftp_proxy="};
  if (strncmp(entry, "SOULSPOT_", 9) == 0)
    return true;
  /* A test runner started by systemd must not make every daemon talk to
   * its manager: sd_notify tests pass their own socket. */
  if (strncmp(entry, "NOTIFY_SOCKET=", 14) == 0 ||
      strncmp(entry, "WATCHDOG_", 9) == 0)
    return true;
  for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
    if (strncasecmp(entry, proxies[i], strlen(proxies[i])) == 0)
      return true;
  return false;
}

/* NULL-terminated array of borrowed strings; free() the array only. */
static char **child_env(const char *const *extra)
{
  size_t n = 0, m = 0;
  for (char **e = environ; e && *e; e++)
    n++;
  for (size_t i = 0; extra && extra[i]; i++)
    n++;
  char **env = xcalloc(n + 1, sizeof *env);
  for (char **e = environ; e && *e; e++)
    if (!scrubbed(*e))
      env[m++] = *e;
  for (size_t i = 0; extra && extra[i]; i++)
    env[m++] = (char *)extra[i];
  env[m] = NULL;
  return env;
}

static char **copy_strv(const char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  char **out = xcalloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++)
    out[i] = xstrdup(v[i]);
  return out;
}

static void free_strv(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* ---- processes ---- */

/* fork + execve with stdout/stderr appended to files; -1 on failure. */
static pid_t spawn_in(char *const argv[], char *const envp[],
                      const char *in_path, const char *out_path,
                      const char *err_path)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(126);
  int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
  int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (in < 0 || out < 0 || err < 0)
    _exit(125);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  close_range(3, ~0u, 0);
  execve(argv[0], argv, envp);
  _exit(127);
}

static pid_t spawn(char *const argv[], char *const envp[],
                   const char *out_path, const char *err_path)
{
  return spawn_in(argv, envp, NULL, out_path, err_path);
}

static int decode_status(int st)
{
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return DAEMON_TIMEOUT;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Waits up to timeout_ms for pid to exit; true and *status when it did. */
static bool wait_exit(pid_t pid, int timeout_ms, int *status)
{
  int st = 0;
  int64_t deadline = clock_mono_ms() + timeout_ms;
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd >= 0) {
    for (;;) {
      int64_t left = deadline - clock_mono_ms();
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      int n = poll(&p, 1, left > 0 ? (int)left : 0);
      if (n > 0 || left <= 0 || (n < 0 && errno != EINTR))
        break;
    }
    close(pfd);
  }
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      *status = decode_status(st);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      *status = DAEMON_TIMEOUT;
      return true; /* already reaped elsewhere */
    }
    if (clock_mono_ms() >= deadline)
      return false;
    sleep_ms(5);
  }
}

bool daemon_alive(struct test_daemon *d)
{
  int st;
  if (d->pid <= 0)
    return false;
  if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
    fprintf(stderr, "[daemon] pid %d exited with status %d\n", (int)d->pid,
            decode_status(st));
    d->pid = 0;
    return false;
  }
  return true;
}

/* Reads the port file: a number 1-65535, optionally a newline. */
static int read_port(const char *path)
{
  char text[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  char *end;
  long port = strtol(text, &end, 10);
  if (end == text || (*end && strcmp(end, "\n") != 0))
    return 0;
  return port > 0 && port <= 65535 ? (int)port : 0;
}

static void dump_stderr(const struct test_daemon *d)
{
  struct buf b;
  buf_init(&b, STDERR_DUMP_MAX);
  daemon_read_stderr(d, &b);
  fprintf(stderr, "[daemon] stderr of %s:\n%s\n", d->root, buf_cstr(&b));
  buf_free(&b);
}

static int wait_port(struct test_daemon *d)
{
  int64_t t0 = clock_mono_ms();
  int64_t deadline = t0 + DAEMON_START_TIMEOUT_MS;
  for (;;) {
    int port = read_port(d->port_path);
    if (port > 0) {
      d->port = port;
      snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", port);
      d->start_ms = clock_mono_ms() - t0;
      return SS_OK;
    }
    if (!daemon_alive(d)) {
      fprintf(stderr, "[daemon] exited before writing %s\n", d->port_path);
      dump_stderr(d);
      return SS_ESTATE;
    }
    if (clock_mono_ms() >= deadline) {
      fprintf(stderr, "[daemon] no port file after %d ms\n",
              DAEMON_START_TIMEOUT_MS);
      dump_stderr(d);
      daemon_kill9(d);
      return SS_ETOOBIG;
    }
    sleep_ms(PORT_POLL_MS);
  }
}

static int launch(struct test_daemon *d)
{
  char out_path[DAEMON_PATH_MAX + 16];
  snprintf(out_path, sizeof out_path, "%s/stdout.log", d->root);
  char *argv[] = {(char *)binary_of(d),
                  "--listen",
                  (char *)(d->listen ? d->listen : "127.0.0.1:0"),
                  "--data-dir",
                  d->data_dir,
                  "--config",
                  d->config_path,
                  NULL};
  char **envp = child_env((const char *const *)d->env);
  unlink(d->port_path);
  d->port = 0;
  d->url[0] = '\0';
  d->pid = spawn(argv, envp, out_path, d->stderr_path);
  free(envp);
  if (d->pid < 0) {
    d->pid = 0;
    return SS_EIO;
  }
  return wait_port(d);
}

int daemon_prepare(struct test_daemon *d, const char *ini_text)
{
  if (make_root(d) != SS_OK) {
    fprintf(stderr, "[daemon] cannot create a temporary folder\n");
    return SS_EIO;
  }
  return daemon_write_config(d, ini_text);
}

int daemon_start(struct test_daemon *d, const char *ini_text,
                 const char *const *extra_env)
{
  struct stat st;
  if (d->pid > 0)
    return SS_ESTATE;
  if (make_root(d) != SS_OK) {
    fprintf(stderr, "[daemon] cannot create a temporary folder\n");
    return SS_EIO;
  }
  if (ini_text || stat(d->config_path, &st) != 0)
    if (daemon_write_config(d, ini_text) != SS_OK)
      return SS_EIO;
  free_strv(d->env);
  d->env = copy_strv(extra_env);
  if (access(binary_of(d), X_OK) != 0) {
    fprintf(stderr, "[daemon] %s is not an executable\n", binary_of(d));
    return SS_ENOTFOUND;
  }
  return launch(d);
}

int daemon_stop_within(struct test_daemon *d, int sig, int timeout_ms,
                       int64_t *elapsed_ms)
{
  int status = 0;
  int64_t t0 = clock_mono_ms();
  if (elapsed_ms)
    *elapsed_ms = 0;
  if (d->pid <= 0)
    return 0;
  kill(d->pid, sig);
  if (!wait_exit(d->pid, timeout_ms, &status)) {
    fprintf(stderr, "[daemon] still running %d ms after signal %d\n",
            timeout_ms, sig);
    daemon_kill9(d);
    status = DAEMON_TIMEOUT;
  }
  if (elapsed_ms)
    *elapsed_ms = clock_mono_ms() - t0;
  d->pid = 0;
  return status;
}

int daemon_stop(struct test_daemon *d)
{
  return daemon_stop_within(d, SIGTERM, DAEMON_STOP_TIMEOUT_MS, NULL);
}

int daemon_restart(struct test_daemon *d)
{
  int status = daemon_stop(d);
  if (status != 0) {
    fprintf(stderr, "[daemon] stop before restart gave status %d\n", status);
    dump_stderr(d);
    return SS_EIO;
  }
  return launch(d);
}

void daemon_kill9(struct test_daemon *d)
{
  int st;
  if (d->pid <= 0)
    return;
  kill(d->pid, SIGKILL);
  while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR) {
  }
  d->pid = 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void daemon_cleanup(struct test_daemon *d)
{
  daemon_kill9(d);
  if (d->root[0] && getenv("SOULSPOT_KEEP_TMP"))
    fprintf(stderr, "[daemon] kept %s\n", d->root);
  else if (d->root[0] && strncmp(d->root, "/tmp/soulspot-it-", 17) == 0)
    nftw(d->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free_strv(d->env);
  memset(d, 0, sizeof *d);
}

int daemon_read_stderr(const struct test_daemon *d, struct buf *out)
{
  return read_file(d->stderr_path, out);
}

const char *daemon_urlf(const struct test_daemon *d, char *out, size_t n,
                        const char *path)
{
  snprintf(out, n, "%s%s", d->url, path);
  return out;
}

/* ---- one-shot CLI runs ---- */

static char **cli_argv(const char *const *args)
{
  size_t n = 0;
  while (args && args[n])
    n++;
  char **argv = xcalloc(n + 2, sizeof *argv);
  argv[0] = (char *)daemon_binary();
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = (char *)args[i];
  return argv;
}

static int temp_file(char *path, size_t n)
{
  snprintf(path, n, "/tmp/soulspot-cli-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0)
    return SS_EIO;
  close(fd);
  return SS_OK;
}

int daemon_run_cli(const char *const *args, const char *const *extra_env,
                   int *exit_code, struct buf *out, struct buf *err)
{
  return daemon_run_cli_input(args, extra_env, NULL, exit_code, out, err);
}

int daemon_run_cli_input(const char *const *args, const char *const *extra_env,
                         const char *input, int *exit_code, struct buf *out,
                         struct buf *err)
{
  char out_path[64], err_path[64], in_path[64] = "";
  int status = DAEMON_TIMEOUT;
  *exit_code = DAEMON_TIMEOUT;
  if (temp_file(out_path, sizeof out_path) != SS_OK)
    return SS_EIO;
  if (temp_file(err_path, sizeof err_path) != SS_OK) {
    unlink(out_path);
    return SS_EIO;
  }
  if (input && (temp_file(in_path, sizeof in_path) != SS_OK ||
                write_file(in_path, input) != SS_OK)) {
    unlink(out_path);
    unlink(err_path);
    if (in_path[0])
      unlink(in_path);
    return SS_EIO;
  }
  char **argv = cli_argv(args);
  char **envp = child_env(extra_env);
  pid_t pid = spawn_in(argv, envp, in_path[0] ? in_path : NULL, out_path,
                       err_path);
  free(argv);
  free(envp);
  int rc = SS_EIO;
  if (pid > 0) {
    rc = SS_OK;
    if (!wait_exit(pid, DAEMON_CLI_TIMEOUT_MS, &status)) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      status = DAEMON_TIMEOUT;
    }
    *exit_code = status;
  }
  if (out)
    read_file(out_path, out);
  if (err)
    read_file(err_path, err);
  unlink(out_path);
  unlink(err_path);
  if (in_path[0])
    unlink(in_path);
  return rc;
}
