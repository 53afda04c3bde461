/*
 * test_package.c - `make deb`: CPack builds the Debian package from the
 * build folder (the install rules of CMakeLists.txt and
 * packaging/install-config.cmake); its file list, control data and
 * maintainer scripts, the settings file it ships (loads, sets the data
 * folder, everything else default), the binary it ships (runs), and the
 * systemd unit: the lines the service relies on, and `systemd-analyze
 * verify` on the unit inside the unpacked package (--root, with the host's
 * targets copied in: the package's root has no systemd of its own).
 *
 * Skipped when cpack or dpkg-deb are missing (non-Debian hosts); the
 * verify step is skipped when systemd-analyze is missing.  One package is
 * built for all tests (group setup), a few seconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config/settings.h"
#include "core/buf.h"
#include "core/err.h"
#include "itest.h"
#include "tfs.h"

#define OUT_MAX (1 << 20)

static struct {
  bool skip;
  char tmp[64];
  char deb[PATH_MAX];
  char root[PATH_MAX]; /* the package unpacked */
} pkg;

/* Runs a shell command, output (stdout and stderr) into out; returns the
 * exit status (-1 when it did not exit normally). */
static int sh(struct buf *out, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static int sh(struct buf *out, const char *fmt, ...)
{
  char cmd[4 * PATH_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
    if (out)
      buf_append(out, chunk, n);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have(const char *tool)
{
  return sh(NULL, "command -v %s >/dev/null", tool) == 0;
}

static int group_setup(void **state)
{
  (void)state;
  if (!have("cpack") || !have("dpkg-deb")) {
    pkg.skip = true;
    return 0;
  }
  char build[PATH_MAX];
  snprintf(build, sizeof build, "%s", daemon_binary());
  *strrchr(build, '/') = '\0';
  snprintf(pkg.tmp, sizeof pkg.tmp, "/tmp/test_package.XXXXXX");
  if (!mkdtemp(pkg.tmp))
    return -1;
  struct buf out;
  buf_init(&out, OUT_MAX);
  int rc = sh(&out, "cpack --config '%s/CPackConfig.cmake' -G DEB -B '%s'",
              build, pkg.tmp);
  if (rc != 0) {
    fprintf(stderr, "error: cpack exit %d:\n%s\n", rc, buf_cstr(&out));
    buf_free(&out);
    return -1;
  }
  buf_free(&out);
  char pattern[PATH_MAX];
  glob_t g;
  snprintf(pattern, sizeof pattern, "%s/soulspotd_*.deb", pkg.tmp);
  if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc != 1) {
    fprintf(stderr, "error: expected one %s\n", pattern);
    return -1;
  }
  snprintf(pkg.deb, sizeof pkg.deb, "%s", g.gl_pathv[0]);
  globfree(&g);
  snprintf(pkg.root, sizeof pkg.root, "%s/root", pkg.tmp);
  return sh(NULL, "dpkg-deb -x '%s' '%s'", pkg.deb, pkg.root) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  if (pkg.tmp[0])
    tfs_rm_tree(pkg.tmp);
  return 0;
}

static void skip_unless_built(void)
{
  if (pkg.skip) {
    fprintf(stderr, "note: cpack or dpkg-deb missing, package not tested\n");
    skip();
  }
}

/* True when text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
  size_t n = strlen(line);
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    if (len == n && !strncmp(p, line, n))
      return true;
    p += len + (p[len] == '\n');
  }
  return false;
}

static void assert_line(const char *text, const char *line)
{
  if (!has_line(text, line))
    fail_msg("no line \"%s\" in:\n%.4000s", line, text);
}

static void read_file(const char *path, struct buf *out)
{
  FILE *f = fopen(path, "r");
  if (!f)
    fail_msg("cannot open %s", path);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    buf_append(out, chunk, n);
  fclose(f);
}

static void test_file_list(void **state)
{
  (void)state;
  skip_unless_built();
  struct buf out;
  buf_init(&out, OUT_MAX);
  assert_int_equal(sh(&out, "dpkg-deb -c '%s' | awk '{print $1, $6}'",
                      pkg.deb),
                   0);
  const char *list = buf_cstr(&out);
  static const char *const want[] =
    {"-rwxr-xr-x ./usr/bin/soulspotd",
     "-rwxr-xr-x ./usr/bin/soulspotd-probe",
     "-rw-r--r-- ./etc/soulspotd/soulspotd.ini",
     "-rw-r--r-- ./usr/lib/systemd/system/soulspotd.service",
     "-rw-r--r-- ./usr/share/man/man8/soulspotd.8.gz",
     "-rw-r--r-- ./usr/share/doc/soulspotd/copyright",
     "-rw-r--r-- ./usr/share/doc/soulspotd/README.md",
     NULL};
  for (size_t i = 0; want[i]; i++)
    assert_line(list, want[i]);
  /* Nothing of the build beyond that: no tests, fakes, tools, benches. */
  size_t files = 0;
  for (const char *p = list; *p; p += strcspn(p, "\n") + 1) {
    if (*p == '-')
      files++;
    if (!p[strcspn(p, "\n")])
      break;
  }
  assert_int_equal(files, 8); /* the seven above and API.md */
  assert_null(strstr(list, "fake"));
  assert_null(strstr(list, "test"));
  buf_free(&out);
}

static void test_control_and_scripts(void **state)
{
  (void)state;
  skip_unless_built();
  struct buf out;
  buf_init(&out, OUT_MAX);
  assert_int_equal(sh(&out, "dpkg-deb -f '%s' Package Version Depends",
                      pkg.deb),
                   0);
  assert_line(buf_cstr(&out), "Package: soulspotd");
  assert_line(buf_cstr(&out), "Version: " SOULSPOT_VERSION);
  assert_non_null(strstr(buf_cstr(&out), "Depends: adduser, "));
  assert_non_null(strstr(buf_cstr(&out), "libmicrohttpd"));
  assert_non_null(strstr(buf_cstr(&out), "libsqlite3"));
  assert_non_null(strstr(buf_cstr(&out), "libsystemd0"));
  assert_non_null(strstr(buf_cstr(&out), "libavformat")); /* the probe */
  buf_reset(&out);

  char ctl[PATH_MAX + 16];
  snprintf(ctl, sizeof ctl, "%s/control", pkg.tmp);
  assert_int_equal(sh(NULL, "dpkg-deb -e '%s' '%s'", pkg.deb, ctl), 0);
  static const char *const scripts[] = {"postinst", "prerm", "postrm"};
  for (size_t i = 0; i < 3; i++) {
    char path[PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", ctl, scripts[i]);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    assert_int_equal(sh(NULL, "sh -n '%s'", path), 0); /* parses */
  }
  snprintf(ctl + strlen(ctl), sizeof ctl - strlen(ctl), "/conffiles");
  read_file(ctl, &out);
  assert_line(buf_cstr(&out), "/etc/soulspotd/soulspotd.ini");
  buf_reset(&out);
  *strrchr(ctl, '/') = '\0';
  snprintf(ctl + strlen(ctl), sizeof ctl - strlen(ctl), "/postinst");
  read_file(ctl, &out);
  const char *postinst = buf_cstr(&out);
  assert_non_null(strstr(postinst, "adduser --system --group --home "
                                   "/var/lib/soulspotd"));
  assert_non_null(strstr(postinst, "install -d -o soulspotd -g soulspotd "
                                   "-m 0700 /var/lib/soulspotd"));
  buf_free(&out);
}

/* The shipped settings file loads; it sets the data folder of the unit's
 * ReadWritePaths= and leaves everything else at its default. */
static void test_settings_file(void **state)
{
  (void)state;
  skip_unless_built();
  char path[PATH_MAX + 64], err[512] = "";
  snprintf(path, sizeof path, "%s/etc/soulspotd/soulspotd.ini", pkg.root);
  settings_init();
  int rc = settings_load_ini(path, err, sizeof err);
  if (rc != SS_OK)
    fprintf(stderr, "error: %s\n", err);
  assert_int_equal(rc, SS_OK);
  for (int i = 0; i < S__COUNT; i++) {
    char got[SETTING_STR_MAX];
    settings_str((enum setting_id)i, got, sizeof got);
    assert_string_equal(got, i == S_SERVER_DATA_DIR ? "/var/lib/soulspotd"
                                                    : settings_defs[i].def);
  }
  settings_cleanup();
}

static void test_binary_runs(void **state)
{
  (void)state;
  skip_unless_built();
  struct buf out;
  buf_init(&out, OUT_MAX);
  assert_int_equal(sh(&out, "'%s/usr/bin/soulspotd' --version", pkg.root), 0);
  assert_string_equal(buf_cstr(&out), "soulspotd " SOULSPOT_VERSION "\n");
  buf_free(&out);
}

static void test_systemd_unit(void **state)
{
  (void)state;
  skip_unless_built();
  char unit_dir[PATH_MAX + 32], unit[PATH_MAX + 64];
  snprintf(unit_dir, sizeof unit_dir, "%s/usr/lib/systemd/system", pkg.root);
  snprintf(unit, sizeof unit, "%s/soulspotd.service", unit_dir);
  struct buf out;
  buf_init(&out, OUT_MAX);
  read_file(unit, &out);
  static const char *const want[] =
    {"Type=notify",
     "NotifyAccess=main",
     "WatchdogSec=60",
     "ExecStart=/usr/bin/soulspotd --config /etc/soulspotd/soulspotd.ini",
     "User=soulspotd",
     "Group=soulspotd",
     "ProtectSystem=strict",
     "ReadWritePaths=/var/lib/soulspotd",
     "StateDirectory=soulspotd",
     "NoNewPrivileges=true",
     "PrivateTmp=true",
     "ProtectHome=read-only",
     "PrivateDevices=true",
     "CapabilityBoundingSet=",
     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
     "SystemCallFilter=@system-service seccomp",
     "MemoryDenyWriteExecute=true",
     "WantedBy=multi-user.target",
     NULL};
  for (size_t i = 0; want[i]; i++)
    assert_line(buf_cstr(&out), want[i]);
  buf_reset(&out);

  if (!have("systemd-analyze")) {
    fprintf(stderr, "note: systemd-analyze missing, unit not verified\n");
    buf_free(&out);
    return;
  }
  /* verify resolves the unit's dependencies (sysinit.target, ...) below
   * --root: give it the host's targets.  It reports bad lines on stderr
   * and still exits 0, so any output is a failure. */
  assert_int_equal(sh(NULL, "cp -n /lib/systemd/system/*.target '%s'/",
                      unit_dir),
                   0);
  int rc = sh(&out,
              "systemd-analyze verify --man=no --root='%s' "
              "soulspotd.service",
              pkg.root);
  if (rc != 0 || out.len != 0)
    fprintf(stderr, "error: systemd-analyze verify exit %d:\n%s\n", rc,
            buf_cstr(&out));
  assert_int_equal(rc, 0);
  assert_int_equal(out.len, 0);
  buf_free(&out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_file_list),
    cmocka_unit_test(test_control_and_scripts),
    cmocka_unit_test(test_settings_file),
    cmocka_unit_test(test_binary_runs),
    cmocka_unit_test(test_systemd_unit),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
