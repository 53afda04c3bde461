/*
 * media.c - media.h over a pool of soulspotd-probe helper processes.
 *
 * What: a call takes a free helper (starting one when fewer than the
 * pool's size run, else waiting for one), sends it the request with the
 * caller's descriptor attached (SCM_RIGHTS, probe_wire.h) and waits for
 * the reply at most the wall-clock limit.  A helper that times out is
 * killed (SIGKILL) and reaped; one that dies is reaped and its signal or
 * exit status becomes the call's reason; either way the slot is freed and
 * the next call starts a fresh helper.  A helper that ended normally
 * between two calls (it retires after half its CPU-time cap) is replaced
 * and the call is sent again, once.  A reaper thread, running only while
 * helpers exist, stops helpers idle for idle_s (closing the socket ends
 * them) and then ends itself, so an idle daemon holds no helper and no
 * extra thread.
 *
 * Helpers start with posix_spawn: the socket as descriptor 3, /dev/null as
 * 0 and 1, stderr shared, no blocked signals, and an environment holding
 * only the SOULSPOT_PROBE_TEST_* switches (never the daemon's secrets).
 *
 * Threading: any thread; one mutex guards the slots, a slot in use
 * belongs to its caller alone (only it waits for that process).
 *
 * Ownership: the caller keeps its descriptors; helpers are the pool's.
 */
#include "media/media.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "media/probe_wire.h"

extern char **environ;

#define POOL_MAX 64
#define HELPER_NAME "soulspotd-probe"
#define TEST_ENV_PREFIX "SOULSPOT_PROBE_TEST_"

struct helper {
  pid_t pid; /* 0: free slot */
  int sock;
  bool busy; /* owned by a call (or by the reaper while it stops it) */
  int64_t idle_since_ms;
};

static struct {
  pthread_mutex_t mu;
  pthread_cond_t freed; /* a slot became free or idle */
  pthread_cond_t wake;  /* the reaper: shutdown */
  pthread_cond_t reaper_done;
  struct helper slot[POOL_MAX];
  int running; /* slots with pid != 0 */
  bool reaper_running, stopping;
  char helper[PATH_MAX]; /* "" = not resolved yet */
  int helpers, timeout_s, idle_s;
} pool = {
  .mu = PTHREAD_MUTEX_INITIALIZER,
  .freed = PTHREAD_COND_INITIALIZER,
  .wake = PTHREAD_COND_INITIALIZER,
  .reaper_done = PTHREAD_COND_INITIALIZER,
};

void media_init(void) {}

void media_pool_configure(const struct media_pool_opts *o)
{
  pthread_mutex_lock(&pool.mu);
  snprintf(pool.helper, sizeof pool.helper, "%s",
           o && o->helper ? o->helper : "");
  pool.helpers = o ? o->helpers : 0;
  pool.timeout_s = o ? o->timeout_s : 0;
  pool.idle_s = o ? o->idle_s : 0;
  pthread_cond_broadcast(&pool.freed); /* a larger pool: waiters go on */
  pthread_mutex_unlock(&pool.mu);
}

int media_pool_running(void)
{
  pthread_mutex_lock(&pool.mu);
  int n = pool.running;
  pthread_mutex_unlock(&pool.mu);
  return n;
}

/* Under the lock. */
static int pool_size(void)
{
  int n = pool.helpers;
  if (n <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    n = cores > 0 ? (int)cores : 1;
  }
  return n < POOL_MAX ? n : POOL_MAX;
}

static int timeout_s(void)
{
  pthread_mutex_lock(&pool.mu);
  int t = pool.timeout_s > 0 ? pool.timeout_s : 30;
  pthread_mutex_unlock(&pool.mu);
  return t;
}

/* The helper's path under the lock: configured, $SOULSPOT_PROBE, or
 * beside /proc/self/exe. */
static void helper_path(char *out, size_t n)
{
  const char *env = getenv("SOULSPOT_PROBE");
  if (pool.helper[0]) {
    snprintf(out, n, "%s", pool.helper);
  } else if (env && env[0]) {
    snprintf(out, n, "%s", env);
  } else {
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
      slash[1] = '\0';
    snprintf(out, n, "%s%s", slash ? exe : "./", HELPER_NAME);
  }
}

/* ---- starting and stopping helpers ---- */

static enum ss_err spawn(const char *path, pid_t *pid, int *sock, char *err,
                         size_t errlen)
{
  if (access(path, X_OK)) { /* clearer than exit status 127 */
    snprintf(err, errlen, "cannot start %s: %s", path, strerror(errno));
    return SS_EIO;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
    snprintf(err, errlen, "cannot start %s: %s", HELPER_NAME, strerror(errno));
    return SS_EIO;
  }
  char *envp[16];
  size_t ne = 0;
  for (char **e = environ; e && *e && ne < 15; e++)
    if (!strncmp(*e, TEST_ENV_PREFIX, strlen(TEST_ENV_PREFIX)))
      envp[ne++] = *e;
  envp[ne] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {(char *)HELPER_NAME, NULL};
  int rc = posix_spawn(pid, path, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(sv[1]);
  if (rc) {
    close(sv[0]);
    snprintf(err, errlen, "cannot start %s: %s", path, strerror(rc));
    return SS_EIO;
  }
  *sock = sv[0];
  log_debug("media", "started %s (pid %d)", HELPER_NAME, (int)*pid);
  return SS_OK;
}

/* Waits for pid; *status gets its wait status. */
static void reap(pid_t pid, int *status)
{
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (status)
    *status = st;
}

static void *reaper_main(void *arg);

/* Under the lock: the reaper runs while helpers exist. */
static void reaper_ensure(void)
{
  if (pool.reaper_running || pool.stopping)
    return;
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 64 * 1024);
  if (pthread_create(&t, &a, reaper_main, NULL) == 0)
    pool.reaper_running = true;
  pthread_attr_destroy(&a);
}

/* Under the lock: frees a slot whose helper is gone (already reaped). */
static void slot_clear(struct helper *h)
{
  h->pid = 0;
  h->sock = -1;
  h->busy = false;
  pool.running--;
  pthread_cond_broadcast(&pool.freed);
}

/* Takes a helper for one call, starting one if the pool has room. */
static enum ss_err acquire(struct helper **out, char *err, size_t errlen)
{
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    struct helper *idle = NULL, *empty = NULL;
    for (int i = 0; i < POOL_MAX; i++) {
      struct helper *h = &pool.slot[i];
      if (h->pid && !h->busy && !idle)
        idle = h;
      if (!h->pid && !empty)
        empty = h;
    }
    if (idle) {
      idle->busy = true;
      *out = idle;
      pthread_mutex_unlock(&pool.mu);
      return SS_OK;
    }
    if (empty && pool.running < pool_size()) {
      char path[PATH_MAX];
      helper_path(path, sizeof path);
      empty->pid = -1; /* reserved while it starts */
      empty->busy = true;
      pool.running++;
      pthread_mutex_unlock(&pool.mu);
      pid_t pid;
      int sock;
      enum ss_err rc = spawn(path, &pid, &sock, err, errlen);
      pthread_mutex_lock(&pool.mu);
      if (rc) {
        slot_clear(empty);
      } else {
        empty->pid = pid;
        empty->sock = sock;
        *out = empty;
        reaper_ensure();
      }
      pthread_mutex_unlock(&pool.mu);
      return rc;
    }
    pthread_cond_wait(&pool.freed, &pool.mu);
  }
}

/* Gives a helper back after a call that left it working. */
static void release(struct helper *h)
{
  pthread_mutex_lock(&pool.mu);
  h->busy = false;
  h->idle_since_ms = clock_mono_ms();
  pthread_cond_broadcast(&pool.freed);
  pthread_mutex_unlock(&pool.mu);
}

/* Ends a helper the caller holds: close, kill when asked, reap. */
static void retire(struct helper *h, bool kill_it, int *status)
{
  close(h->sock);
  if (kill_it)
    kill(h->pid, SIGKILL);
  reap(h->pid, status);
  pthread_mutex_lock(&pool.mu);
  slot_clear(h);
  pthread_mutex_unlock(&pool.mu);
}

static void *reaper_main(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&pool.mu);
  while (!pool.stopping && pool.running > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&pool.wake, &pool.mu, &ts);
    int64_t idle_ms = (pool.idle_s > 0 ? pool.idle_s : 60) * INT64_C(1000);
    int64_t now = clock_mono_ms();
    for (int i = 0; i < POOL_MAX && !pool.stopping; i++) {
      struct helper *h = &pool.slot[i];
      if (h->pid <= 0 || h->busy || now - h->idle_since_ms < idle_ms)
        continue;
      h->busy = true;
      pthread_mutex_unlock(&pool.mu);
      log_debug("media", "stopping idle %s (pid %d)", HELPER_NAME,
                (int)h->pid);
      retire(h, false, NULL); /* end of stream ends it */
      pthread_mutex_lock(&pool.mu);
    }
  }
  pool.reaper_running = false;
  pthread_cond_broadcast(&pool.reaper_done);
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

void media_pool_shutdown(void)
{
  pthread_mutex_lock(&pool.mu);
  pool.stopping = true;
  pthread_cond_broadcast(&pool.wake);
  while (pool.reaper_running)
    pthread_cond_wait(&pool.reaper_done, &pool.mu);
  for (;;) {
    struct helper *h = NULL;
    bool busy = false;
    for (int i = 0; i < POOL_MAX; i++) {
      if (pool.slot[i].pid && pool.slot[i].busy)
        busy = true;
      else if (pool.slot[i].pid > 0 && !h)
        h = &pool.slot[i];
    }
    if (!h && !busy)
      break;
    if (!h) {
      pthread_cond_wait(&pool.freed, &pool.mu);
      continue;
    }
    h->busy = true;
    pthread_mutex_unlock(&pool.mu);
    retire(h, false, NULL);
    pthread_mutex_lock(&pool.mu);
  }
  pool.stopping = false;
  pthread_mutex_unlock(&pool.mu);
}

/* ---- one call ---- */

/* Waits for the reply until deadline (monotonic ms): SS_OK with the
 * frame, SS_ECANCELED on timeout, else pw_recv's code. */
static enum ss_err await_reply(int sock, int64_t deadline, uint8_t *buf,
                               size_t cap, size_t *len)
{
  for (;;) {
    int64_t left = deadline - clock_mono_ms();
    if (left <= 0)
      return SS_ECANCELED;
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return SS_EIO;
    if (r == 0)
      continue; /* loop re-checks the deadline */
    int fd;
    enum ss_err rc = pw_recv(sock, buf, cap, len, &fd);
    if (fd >= 0)
      close(fd); /* helpers never send descriptors */
    return rc;
  }
}

/* The reason a helper's wait status gives. */
static void death_reason(int status, char *err, size_t errlen)
{
  if (WIFSIGNALED(status))
    snprintf(err, errlen, "analysis crashed: signal %d", WTERMSIG(status));
  else
    snprintf(err, errlen, "analysis failed: exit status %d",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* One request/reply with a held helper.  *retry is set when the helper
 * had ended normally before it saw the request. */
static enum ss_err exchange(struct helper *h, const uint8_t *req,
                            size_t req_len, int fd, struct pw_reply *reply,
                            char *err, size_t errlen, bool *retry)
{
  uint8_t buf[PW_FRAME_MAX];
  int limit = timeout_s();
  int status = 0;
  enum ss_err rc = pw_send(h->sock, req, req_len, fd);
  size_t len = 0;
  if (rc == SS_OK)
    rc = await_reply(h->sock, clock_mono_ms() + limit * INT64_C(1000), buf,
                     sizeof buf, &len);
  if (rc == SS_OK && pw_decode_reply(buf, len, reply) == SS_OK) {
    release(h);
    return SS_OK;
  }
  if (rc == SS_ECANCELED) {
    retire(h, true, NULL);
    snprintf(err, errlen, "analysis took longer than %d s", limit);
    return SS_EKILLED;
  }
  if (rc == SS_OK) { /* a malformed reply: it is not to be trusted */
    retire(h, true, NULL);
    snprintf(err, errlen, "analysis sent a malformed reply");
    return SS_EKILLED;
  }
  bool gone = rc == SS_ENOTFOUND ||
              (rc == SS_EIO && (errno == EPIPE || errno == ECONNRESET));
  retire(h, !gone, &status); /* anything else: make sure it ends */
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    *retry = true; /* retired or stopped before our request */
    snprintf(err, errlen, "analysis helper ended");
    return SS_EKILLED;
  }
  death_reason(status, err, errlen);
  return SS_EKILLED;
}

static enum ss_err call(const struct pw_request *q, int fd,
                        struct pw_reply *reply, char *err, size_t errlen)
{
  uint8_t req[PW_FRAME_MAX];
  size_t n = pw_encode_request(q, req, sizeof req);
  if (!n) {
    snprintf(err, errlen, "request does not fit");
    return SS_EINVAL;
  }
  enum ss_err rc = SS_EKILLED;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct helper *h;
    if ((rc = acquire(&h, err, errlen)))
      return rc;
    bool retry = false;
    rc = exchange(h, req, n, fd, reply, err, errlen, &retry);
    if (!retry)
      break;
  }
  if (rc == SS_EKILLED)
    log_warn("media", "%s: %s", q->name, err);
  return rc;
}

/* The request's name: the last component of name, cut to fit. */
static void request_name(struct pw_request *q, const char *name)
{
  const char *slash = name ? strrchr(name, '/') : NULL;
  const char *base = slash ? slash + 1 : name ? name : "";
  size_t len = strlen(base);
  if (len > PW_NAME_MAX) /* keep the end: the extension is the hint */
    base += len - PW_NAME_MAX;
  while ((*base & 0xC0) == 0x80)
    base++;
  snprintf(q->name, sizeof q->name, "%s", base);
}

/* ---- media.h ---- */

static void clear_err(char *err, size_t errlen)
{
  if (err && errlen)
    err[0] = '\0';
}

/* One question to a helper: SS_OK with *r filled, or an error with its
 * reason in err. */
static enum ss_err ask(struct pw_request *q, const char *name, int fd,
                       struct pw_reply *r, char *err, size_t errlen)
{
  char why[PW_ERR_MAX + 1] = "";
  request_name(q, name);
  enum ss_err rc = call(q, fd, r, why, sizeof why);
  if (rc == SS_OK && r->op != q->op) {
    rc = SS_EPROTO;
    snprintf(why, sizeof why, "analysis answered another question");
  } else if (rc == SS_OK && (rc = r->rc) != SS_OK) {
    snprintf(why, sizeof why, "%s", r->err);
  }
  if (rc && err && errlen)
    snprintf(err, errlen, "%s", why);
  return rc;
}

enum ss_err media_probe_fd(int fd, const char *name, struct media_info *out,
                           char *err, size_t errlen)
{
  if (fd < 0 || !out)
    return SS_EINVAL;
  memset(out, 0, sizeof *out);
  clear_err(err, errlen);
  struct pw_request q = {.op = PW_OP_PROBE};
  struct pw_reply r;
  enum ss_err rc = ask(&q, name, fd, &r, err, errlen);
  if (rc == SS_OK)
    *out = r.media;
  return rc;
}

enum ss_err media_probe(const char *path, struct media_info *out, char *err,
                        size_t errlen)
{
  if (!path || !out)
    return SS_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    memset(out, 0, sizeof *out);
    if (err && errlen)
      snprintf(err, errlen, "cannot open: %s", strerror(e));
    return e == ENOENT ? SS_ENOTFOUND : SS_EIO;
  }
  enum ss_err rc = media_probe_fd(fd, path, out, err, errlen);
  close(fd);
  return rc;
}

enum ss_err media_fingerprint_fd(int fd, const char *name, int max_seconds,
                                 uint32_t *fp, size_t *n, char *err,
                                 size_t errlen)
{
  if (fd < 0 || !fp || !n || max_seconds <= 0 || max_seconds > PW_MAX_SECONDS)
    return SS_EINVAL;
  *n = 0;
  clear_err(err, errlen);
  struct pw_request q = {.op = PW_OP_FINGERPRINT, .max_seconds = max_seconds};
  struct pw_reply r;
  enum ss_err rc = ask(&q, name, fd, &r, err, errlen);
  if (rc == SS_OK) {
    memcpy(fp, r.fp, r.fp_n * sizeof *fp);
    *n = r.fp_n;
  }
  return rc;
}
