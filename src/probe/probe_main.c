/*
 * probe_main.c - soulspotd-probe, the helper process that parses music
 * files for the daemon (issue 10).  The daemon starts it (media.c) with a
 * SOCK_SEQPACKET socket as descriptor 3 and nothing else open.
 *
 * What: before its first request it locks itself down: no new
 * privileges, no core files, no files written, a cap on address space,
 * CPU time and descriptors, then a seccomp filter (libseccomp) that kills
 * the process on any system call outside a short list: reading and
 * seeking the received descriptors, receiving requests and sending
 * replies, memory, and exiting.  Then, per request: receive the request
 * with the file's descriptor (probe_wire.h), read it (probe_av.c), reply,
 * close the descriptor.  It never opens a path.  End of stream (the
 * daemon closed its side or went away) ends it with status 0; so does
 * having used half its CPU-time cap (the daemon starts a fresh one).
 *
 * Test switches (only in soulspotd-probe-testhooks, built with
 * SOULSPOT_TEST_HOOKS): SOULSPOT_PROBE_TEST_CRASH / _HANG / _OPEN name a
 * file; for that file the helper dereferences NULL (signal 11), blocks
 * forever, or calls open(2) after the filter is in place (which the
 * filter must punish with SIGSYS).
 *
 * Threading: one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "core/err.h"
#include "media/probe_wire.h"
#include "probe/probe_av.h"

#define SOCK_FD 3
/* Address space: libav and its codec libraries map about 200 MiB of
 * virtual memory before reading anything; the rest is for one file. */
#define LIMIT_AS (768UL << 20)
#define LIMIT_CPU_S                                                           \
  600 /* CPU seconds over the helper's life; retires at half */
#define LIMIT_NOFILE 16

/* AddressSanitizer builds (make asan, make fuzz): ASan reserves terabytes
 * of shadow address space and leak-checks at exit through ptrace, which
 * neither the address-space cap nor the filter allow.  There the cap is
 * left out, this process does not leak-check, its reports may be written
 * to stderr, and a crash signal is left to kill it as in the product
 * (ASan's own handler needs calls the filter refuses: SIGSYS instead of
 * the real signal); everything else stays as in the product. */
#if defined(__SANITIZE_ADDRESS__)
#define PROBE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROBE_ASAN 1
#endif
#endif
#ifdef PROBE_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
  return "detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0";
}
#endif

/* ---- the sandbox ---- */

/* Every system call the helper makes after the filter is loaded, seen
 * with `strace -f` over the unit tests' FLAC, MP3, Ogg, M4A, WAV, garbage
 * and truncated files (probe and fingerprint). */
static const int allowed_syscalls[] = {
  /* requests and replies on descriptor 3, the received file */
  SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(read), SCMP_SYS(lseek),
  SCMP_SYS(close),
  /* memory: malloc, libav's aligned buffers; glibc's realloc and free of
   * large blocks (mremap, madvise) */
  SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
  SCMP_SYS(madvise),
  /* pthread_once (libav's lazy tables) wakes waiters even single-threaded */
  SCMP_SYS(futex),
  /* the CPU-time check after each request (no vDSO for process clocks) */
  SCMP_SYS(clock_gettime),
  /* leaving (a glibc abort() is not allowed its signal calls: it ends by
   * SIGSYS, which the daemon reports like any crash) */
  SCMP_SYS(exit_group),
#ifdef PROBE_ASAN
  SCMP_SYS(write), /* sanitizer reports */
#endif
};

static enum ss_err sandbox(void)
{
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
    return SS_EIO;
  const struct {
    int res;
    rlim_t v;
  } limits[] = {{RLIMIT_AS, LIMIT_AS},
                {RLIMIT_CPU, LIMIT_CPU_S},
                {RLIMIT_NOFILE, LIMIT_NOFILE},
                {RLIMIT_CORE, 0},
                {RLIMIT_FSIZE, 0},
                {RLIMIT_NPROC, 0}};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
#ifdef PROBE_ASAN
    if (limits[i].res == RLIMIT_AS)
      continue;
#endif
    struct rlimit rl = {limits[i].v, limits[i].v};
    if (setrlimit(limits[i].res, &rl))
      return SS_EIO;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx)
    return SS_EIO;
  int rc = 0;
  for (size_t i = 0;
       !rc && i < sizeof allowed_syscalls / sizeof allowed_syscalls[0]; i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
  if (!rc)
    rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc ? SS_EIO : SS_OK;
}

/* ---- test switches ---- */

#ifdef SOULSPOT_TEST_HOOKS
static const char *test_crash, *test_hang, *test_open;

static void test_hooks_read(void)
{
  test_crash = getenv("SOULSPOT_PROBE_TEST_CRASH");
  test_hang = getenv("SOULSPOT_PROBE_TEST_HANG");
  test_open = getenv("SOULSPOT_PROBE_TEST_OPEN");
}

static bool names(const char *want, const char *name)
{
  const char *slash = strrchr(name, '/');
  return want && !strcmp(want, slash ? slash + 1 : name);
}

/* Not UBSan-checked: the NULL store must fault as it does in the product,
 * not end in a sanitizer report the filter refuses to let out. */
__attribute__((no_sanitize("undefined"))) static void
test_hooks_run(const char *name)
{
  if (names(test_crash, name))
    *(volatile int *)NULL = 11; /* NOLINT: the crash under test */
  if (names(test_hang, name))
    for (char c;;) /* the daemon sends nothing while it waits */
      if (read(SOCK_FD, &c, 1) <= 0)
        _exit(3);
  if (names(test_open, name)) {
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0)
      _exit(4); /* the filter let it through */
  }
}
#else
static void test_hooks_read(void) {}
static void test_hooks_run(const char *name) { (void)name; }
#endif

/* ---- the loop ---- */

static void serve(const struct pw_request *q, int fd, struct pw_reply *r)
{
  memset(r, 0, sizeof *r);
  r->op = q->op;
  if (fd < 0) {
    r->rc = SS_EINVAL;
    snprintf(r->err, sizeof r->err, "no file descriptor received");
    return;
  }
  test_hooks_run(q->name);
  if (q->op == PW_OP_PROBE)
    r->rc = probe_av_read(fd, q->name, &r->media, r->err, sizeof r->err);
  else
    r->rc = probe_av_fingerprint(fd, q->name, q->max_seconds, r->fp, &r->fp_n,
                                 r->err, sizeof r->err);
}

static bool cpu_spent(void)
{
  struct timespec ts;
  return clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 &&
         ts.tv_sec >= LIMIT_CPU_S / 2;
}

int main(int argc, char **argv)
{
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "soulspotd-probe: started by soulspotd only (socket on "
                    "descriptor 3)\n");
    return 2;
  }
  probe_av_init();
  test_hooks_read();
  if (sandbox() != SS_OK) {
    fprintf(stderr, "soulspotd-probe: cannot set up the sandbox: %s\n",
            strerror(errno));
    return 2;
  }
  static uint8_t in[PW_FRAME_MAX], out[PW_FRAME_MAX];
  static struct pw_request q;
  static struct pw_reply r;
  for (;;) {
    size_t len;
    int fd;
    enum ss_err rc = pw_recv(SOCK_FD, in, sizeof in, &len, &fd);
    if (rc == SS_ENOTFOUND)
      return 0;
    if (rc || pw_decode_request(in, len, &q)) {
      if (fd >= 0)
        close(fd);
      return 2; /* not our daemon talking */
    }
    serve(&q, fd, &r);
    if (fd >= 0)
      close(fd);
    size_t n = pw_encode_reply(&r, out, sizeof out);
    if (!n || pw_send(SOCK_FD, out, n, -1))
      return 2;
    if (cpu_spent())
      return 0;
  }
}
