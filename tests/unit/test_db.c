/*
 * test_db.c - unit tests of the SQLite store (db_sqlite.c).
 *
 * Each test gets a fresh directory from mkdtemp() under /tmp with one
 * database file, and logs into a file there so tests can check what was (and
 * was not) logged.  A second, raw sqlite3 connection inspects the file and
 * injects failures (a trigger that raises on a chosen row), so atomicity is
 * checked against a real mid-transaction error.  The last tests cover the
 * dialect of the domain stores (db_sqlite_internal.h) on a scratch table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "db/db.h"
#include "db/db_sqlite_internal.h"

struct fx {
  char dir[64];
  char path[128];
  char log_path[128];
  int log_fd;
  struct db *db;
};

/* ---- fixture ---- */

static void unlink_in(const char *dir, const char *name)
{
  char p[192];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  unlink(p);
}

/* Releases everything setup() made, also after a partial setup. */
static void fx_free(struct fx *fx)
{
  db_close(fx->db);
  log_set_fd(2);
  if (fx->log_fd >= 0)
    close(fx->log_fd);
  clock_set_sources(NULL, NULL);
  const char *names[] = {"soulspot.db",     "soulspot.db-wal",
                         "soulspot.db-shm", "bad.db",
                         "bad.db-wal",      "bad.db-shm",
                         "bad.db-journal",  "log"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    unlink_in(fx->dir, names[i]);
  rmdir(fx->dir);
  free(fx);
}

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof *fx);
  if (!fx)
    return -1;
  fx->log_fd = -1;
  snprintf(fx->dir, sizeof fx->dir, "/tmp/test_db.XXXXXX");
  if (!mkdtemp(fx->dir)) {
    free(fx);
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/soulspot.db", fx->dir);
  snprintf(fx->log_path, sizeof fx->log_path, "%s/log", fx->dir);
  fx->log_fd = open(fx->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fx->log_fd >= 0)
    log_set_fd(fx->log_fd);
  int version = 0;
  if (fx->log_fd < 0 || db_open(fx->path, &fx->db) != SS_OK ||
      db_migrate(fx->db, &version) != SS_OK) {
    fx_free(fx);
    return -1;
  }
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  fx_free(*state);
  return 0;
}

/* ---- raw access to the file, bypassing the module ---- */

static void raw_exec(const char *path, const char *sql)
{
  sqlite3 *c = NULL;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  sqlite3_busy_timeout(c, 5000);
  char *err = NULL;
  int rc = sqlite3_exec(c, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    fprintf(stderr, "raw_exec: %s\n", err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(c);
  assert_int_equal(rc, SQLITE_OK);
}

/* Runs a one-row query; returns column 0 as an integer, text copied. */
static int64_t raw_query(const char *path, const char *sql, char *text,
                         size_t cap)
{
  sqlite3 *c = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  if (text) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(text, cap, "%s", t ? (const char *)t : "");
  }
  sqlite3_finalize(st);
  sqlite3_close(c);
  return v;
}

static int64_t raw_int(const char *path, const char *sql)
{
  return raw_query(path, sql, NULL, 0);
}

static char *read_log(struct fx *fx)
{
  static char text[16384];
  int fd = open(fx->log_path, O_RDONLY);
  assert_true(fd >= 0);
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';
  return text;
}

/* ---- collecting callbacks ---- */

#define MAX_ITEMS 64

struct kv {
  size_t n;
  char key[MAX_ITEMS][64];
  char value[MAX_ITEMS][256];
  int has_text[MAX_ITEMS];
  int64_t ival[MAX_ITEMS];
};

static void collect_setting(void *arg, const char *key, const char *value)
{
  struct kv *kv = arg;
  if (kv->n >= MAX_ITEMS)
    return;
  snprintf(kv->key[kv->n], sizeof kv->key[0], "%s", key);
  snprintf(kv->value[kv->n], sizeof kv->value[0], "%s", value);
  kv->has_text[kv->n] = 1;
  kv->n++;
}

static void collect_field(void *arg, const char *name, int64_t ival,
                          const char *text)
{
  struct kv *kv = arg;
  if (kv->n >= MAX_ITEMS)
    return;
  snprintf(kv->key[kv->n], sizeof kv->key[0], "%s", name);
  snprintf(kv->value[kv->n], sizeof kv->value[0], "%s", text ? text : "");
  kv->has_text[kv->n] = text != NULL;
  kv->ival[kv->n] = ival;
  kv->n++;
}

/* Index of key in kv, or -1. */
static int kv_find(const struct kv *kv, const char *key)
{
  for (size_t i = 0; i < kv->n; i++)
    if (!strcmp(kv->key[i], key))
      return (int)i;
  return -1;
}

static const char *kv_value(const struct kv *kv, const char *key)
{
  int i = kv_find(kv, key);
  return i < 0 ? NULL : kv->value[i];
}

static struct kv *load_settings(struct db *db)
{
  static struct kv kv;
  memset(&kv, 0, sizeof kv);
  assert_int_equal(db_settings_load(db, collect_setting, &kv), SS_OK);
  return &kv;
}

static struct kv *load_state(struct db *db, const char *unit)
{
  static struct kv kv;
  memset(&kv, 0, sizeof kv);
  assert_int_equal(db_worker_state_load(db, unit, collect_field, &kv), SS_OK);
  return &kv;
}

static int64_t fake_wall(void) { return 1700000000123LL; }

/* ---- tests ---- */

static void test_migrate_idempotent(void **state)
{
  struct fx *fx = *state;
  int v1 = -1, v2 = -1;
  assert_int_equal(db_migrate(fx->db, &v1), SS_OK);
  assert_true(v1 >= 1);
  assert_int_equal(db_migrate(fx->db, &v2), SS_OK);
  assert_int_equal(v2, v1);
  assert_int_equal(raw_int(fx->path, "PRAGMA user_version"), v1);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM sqlite_master"
                                     " WHERE name IN ('app_settings',"
                                     " 'worker_state', 'worker_runs',"
                                     " 'worker_runs_unit_id')"),
                   4);
  char mode[16];
  raw_query(fx->path, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  /* A second connection migrating the same file changes nothing. */
  struct db *other = NULL;
  int v3 = -1;
  assert_int_equal(db_open(fx->path, &other), SS_OK);
  assert_int_equal(db_migrate(other, &v3), SS_OK);
  assert_int_equal(v3, v1);
  db_close(other);
}

static void test_settings_round_trip(void **state)
{
  struct fx *fx = *state;
  clock_set_sources(fake_wall, NULL);
  const char *keys[] = {"log.level", "slskd.url"};
  const char *vals[] = {"debug", "http://localhost:5030"};
  assert_int_equal(db_settings_store(fx->db, keys, vals, 2), SS_OK);
  struct kv *kv = load_settings(fx->db);
  assert_int_equal(kv->n, 2);
  assert_string_equal(kv_value(kv, "log.level"), "debug");
  assert_string_equal(kv_value(kv, "slskd.url"), "http://localhost:5030");
  assert_int_equal(raw_int(fx->path, "SELECT min(updated_at) FROM"
                                     " app_settings"),
                   fake_wall());

  const char *k2[] = {"log.level"};
  const char *v2[] = {""};
  assert_int_equal(db_settings_store(fx->db, k2, v2, 1), SS_OK);
  kv = load_settings(fx->db);
  assert_int_equal(kv->n, 2);
  assert_string_equal(kv_value(kv, "log.level"), "");
  assert_string_equal(kv_value(kv, "slskd.url"), "http://localhost:5030");
  assert_int_equal(db_settings_store(fx->db, NULL, NULL, 0), SS_OK);
}

static void test_settings_store_atomic(void **state)
{
  struct fx *fx = *state;
  const char *k1[] = {"a"};
  const char *v1[] = {"1"};
  assert_int_equal(db_settings_store(fx->db, k1, v1, 1), SS_OK);
  /* A real failure on the third row, after two rows were written. */
  raw_exec(fx->path,
           "CREATE TRIGGER fail_boom BEFORE INSERT ON app_settings"
           " WHEN NEW.key = 'boom' BEGIN SELECT RAISE(ABORT, 'injected');"
           " END;");
  const char *keys[] = {"a", "spotify.client_secret", "boom"};
  const char *vals[] = {"2", "s3cr3t-value", "x"};
  assert_int_equal(db_settings_store(fx->db, keys, vals, 3), SS_EDB);

  struct kv *kv = load_settings(fx->db);
  assert_int_equal(kv->n, 1);
  assert_string_equal(kv_value(kv, "a"), "1");
  const char *log = read_log(fx);
  assert_non_null(strstr(log, "injected"));
  assert_null(strstr(log, "s3cr3t"));

  /* No transaction was left open: the connection still writes. */
  const char *k3[] = {"c"};
  const char *v3[] = {"3"};
  assert_int_equal(db_settings_store(fx->db, k3, v3, 1), SS_OK);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM app_settings"), 2);
}

static void test_settings_store_rejects_null(void **state)
{
  struct fx *fx = *state;
  const char *keys[] = {"a", "b"};
  const char *vals[] = {"1", NULL};
  assert_int_equal(db_settings_store(fx->db, keys, vals, 2), SS_EINVAL);
  const char *nk[] = {NULL};
  const char *nv[] = {"1"};
  assert_int_equal(db_settings_store(fx->db, nk, nv, 1), SS_EINVAL);
  assert_int_equal(db_settings_store(fx->db, NULL, vals, 1), SS_EINVAL);
  assert_int_equal(load_settings(fx->db)->n, 0);
}

static void test_worker_state_round_trip(void **state)
{
  struct fx *fx = *state;
  struct db_field f[] = {
    {"files_deleted", 42, NULL},
    {"last_error", 0, "disk full"},
    {"note", 7, ""},
  };
  assert_int_equal(db_worker_state_store(fx->db, "cleanup", f, 3), SS_OK);
  struct db_field other[] = {{"files_deleted", 1, NULL}};
  assert_int_equal(db_worker_state_store(fx->db, "other", other, 1), SS_OK);

  struct kv *kv = load_state(fx->db, "cleanup");
  assert_int_equal(kv->n, 3);
  int i = kv_find(kv, "files_deleted");
  assert_true(i >= 0);
  assert_int_equal(kv->ival[i], 42);
  assert_false(kv->has_text[i]);
  i = kv_find(kv, "last_error");
  assert_true(i >= 0);
  assert_true(kv->has_text[i]);
  assert_string_equal(kv->value[i], "disk full");
  i = kv_find(kv, "note");
  assert_true(i >= 0);
  assert_true(kv->has_text[i]);
  assert_string_equal(kv->value[i], "");
  assert_int_equal(kv->ival[i], 7);

  /* Overwrite: the counter grows, the error is cleared to NULL. */
  struct db_field g[] = {
    {"files_deleted", INT64_MAX, NULL},
    {"last_error", 0, NULL},
  };
  assert_int_equal(db_worker_state_store(fx->db, "cleanup", g, 2), SS_OK);
  kv = load_state(fx->db, "cleanup");
  assert_int_equal(kv->n, 3);
  i = kv_find(kv, "files_deleted");
  assert_true(kv->ival[i] == INT64_MAX);
  i = kv_find(kv, "last_error");
  assert_false(kv->has_text[i]);
  assert_int_equal(load_state(fx->db, "other")->n, 1);
  assert_int_equal(load_state(fx->db, "nobody")->n, 0);

  struct db_field bad[] = {{"x", 1, NULL}, {NULL, 2, NULL}};
  assert_int_equal(db_worker_state_store(fx->db, "cleanup", bad, 2),
                   SS_EINVAL);
  assert_int_equal(kv_find(load_state(fx->db, "cleanup"), "x"), -1);
}

static struct db_run make_run(int64_t started, const char *result,
                              const char *msg)
{
  struct db_run r;
  memset(&r, 0, sizeof r);
  r.started_ms = started;
  r.duration_ms = started * 10;
  snprintf(r.result, sizeof r.result, "%s", result);
  snprintf(r.message, sizeof r.message, "%s", msg);
  return r;
}

static void test_run_history_trimmed(void **state)
{
  struct fx *fx = *state;
  for (int i = 0; i < 3; i++) {
    struct db_run r = make_run(1000 + i, "ok", "other");
    assert_int_equal(db_worker_run_record(fx->db, "other", &r, NULL, 0),
                     SS_OK);
  }
  for (int i = 0; i < 25; i++) {
    char msg[32];
    snprintf(msg, sizeof msg, "run %d", i);
    struct db_run r = make_run(i, i % 2 ? "error" : "ok", msg);
    struct db_field f[] = {{"last_run", i, NULL}};
    assert_int_equal(db_worker_run_record(fx->db, "cleanup", &r, f, 1), SS_OK);
  }
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM worker_runs"
                                     " WHERE unit = 'cleanup'"),
                   DB_RUN_HISTORY);

  struct db_run out[30];
  size_t count = 99;
  assert_int_equal(db_worker_runs_load(fx->db, "cleanup", out, 30, &count),
                   SS_OK);
  assert_int_equal(count, DB_RUN_HISTORY);
  for (size_t i = 0; i < count; i++) {
    int64_t want = 24 - (int64_t)i;
    char msg[32];
    snprintf(msg, sizeof msg, "run %d", (int)want);
    assert_int_equal(out[i].started_ms, want);
    assert_int_equal(out[i].duration_ms, want * 10);
    assert_string_equal(out[i].result, want % 2 ? "error" : "ok");
    assert_string_equal(out[i].message, msg);
  }
  assert_int_equal(db_worker_runs_load(fx->db, "cleanup", out, 5, &count),
                   SS_OK);
  assert_int_equal(count, 5);
  assert_int_equal(out[0].started_ms, 24);
  assert_int_equal(out[4].started_ms, 20);

  assert_int_equal(db_worker_runs_load(fx->db, "other", out, 30, &count),
                   SS_OK);
  assert_int_equal(count, 3);
  assert_int_equal(out[0].started_ms, 1002);
  assert_int_equal(db_worker_runs_load(fx->db, "nobody", out, 30, &count),
                   SS_OK);
  assert_int_equal(count, 0);
  struct kv *kv = load_state(fx->db, "cleanup");
  assert_int_equal(kv->ival[kv_find(kv, "last_run")], 24);
}

static void test_run_load_truncates(void **state)
{
  struct fx *fx = *state;
  /* Rows longer than the fixed fields, written behind the module's back. */
  raw_exec(fx->path,
           "INSERT INTO worker_runs (unit, started_ms, duration_ms, result,"
           " message) VALUES ('u', 1, 2, 'a-result-longer-than-16',"
           " printf('%.1000c', 'x'));"
           "INSERT INTO worker_runs (unit, started_ms, duration_ms, result,"
           " message) VALUES ('u', 3, 4, 'ok',"
           " printf('%.254c', 'a') || char(228));");
  struct db_run out[2];
  size_t count = 0;
  assert_int_equal(db_worker_runs_load(fx->db, "u", out, 2, &count), SS_OK);
  assert_int_equal(count, 2);
  /* Newest first: the UTF-8 row; a 2-byte character is not cut in half. */
  assert_int_equal(out[0].started_ms, 3);
  assert_int_equal(strlen(out[0].message), 254);
  assert_int_equal(out[1].started_ms, 1);
  assert_int_equal(strlen(out[1].message), DB_RUN_MESSAGE_MAX - 1);
  assert_int_equal(strspn(out[1].message, "x"), DB_RUN_MESSAGE_MAX - 1);
  assert_string_equal(out[1].result, "a-result-longer");

  /* Unterminated fixed-size input is read only within its bounds. */
  struct db_run r;
  memset(r.result, 'r', sizeof r.result);
  memset(r.message, 'm', sizeof r.message);
  r.started_ms = 5;
  r.duration_ms = 6;
  assert_int_equal(db_worker_run_record(fx->db, "v", &r, NULL, 0), SS_OK);
  assert_int_equal(raw_int(fx->path, "SELECT length(message) FROM"
                                     " worker_runs WHERE unit = 'v'"),
                   DB_RUN_MESSAGE_MAX);
  assert_int_equal(db_worker_runs_load(fx->db, "v", out, 1, &count), SS_OK);
  assert_int_equal(count, 1);
  assert_int_equal(strlen(out[0].message), DB_RUN_MESSAGE_MAX - 1);
  assert_int_equal(strlen(out[0].result), sizeof r.result - 1);
}

static void test_run_record_atomic(void **state)
{
  struct fx *fx = *state;
  raw_exec(fx->path,
           "CREATE TRIGGER fail_bad BEFORE INSERT ON worker_state"
           " WHEN NEW.name = 'bad' BEGIN SELECT RAISE(ABORT, 'injected');"
           " END;");
  struct db_run r = make_run(1, "ok", "m");
  struct db_field f[] = {{"good", 1, NULL}, {"bad", 2, NULL}};
  assert_int_equal(db_worker_run_record(fx->db, "u", &r, f, 2), SS_EDB);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM worker_runs"), 0);
  assert_int_equal(load_state(fx->db, "u")->n, 0);
  assert_int_equal(db_worker_run_record(fx->db, "u", &r, f, 1), SS_OK);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM worker_runs"), 1);
}

/* ---- concurrency ---- */

#define WRITES_PER_THREAD 100

struct writer {
  const char *path;
  int id;
  pthread_barrier_t *start;
  int failures;
};

static void *writer_main(void *arg)
{
  struct writer *w = arg;
  struct db *db = NULL;
  if (db_open(w->path, &db) != SS_OK) {
    w->failures++;
    pthread_barrier_wait(w->start);
    return NULL;
  }
  char unit[16];
  snprintf(unit, sizeof unit, "t%d", w->id);
  pthread_barrier_wait(w->start);
  for (int i = 0; i < WRITES_PER_THREAD; i++) {
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "t%d.a%d", w->id, i);
    snprintf(k2, sizeof k2, "t%d.b%d", w->id, i);
    const char *keys[] = {k1, k2};
    const char *vals[] = {"v", "w"};
    if (db_settings_store(db, keys, vals, 2) != SS_OK)
      w->failures++;
    struct db_run r = make_run(i, "ok", "");
    struct db_field f[] = {{"count", i + 1, NULL}};
    if (db_worker_run_record(db, unit, &r, f, 1) != SS_OK)
      w->failures++;
  }
  db_close(db);
  return NULL;
}

static void test_concurrent_writers(void **state)
{
  struct fx *fx = *state;
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  struct writer w[2] = {{fx->path, 0, &start, 0}, {fx->path, 1, &start, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start);
  assert_int_equal(w[0].failures, 0);
  assert_int_equal(w[1].failures, 0);
  assert_int_equal(load_settings(fx->db)->n > 0, 1);
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM app_settings"),
                   2 * 2 * WRITES_PER_THREAD);
  for (int i = 0; i < 2; i++) {
    struct kv *kv = load_state(fx->db, i ? "t1" : "t0");
    assert_int_equal(kv->n, 1);
    assert_int_equal(kv->ival[0], WRITES_PER_THREAD);
  }
  assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM worker_runs"),
                   2 * DB_RUN_HISTORY);
}

/* ---- versioning, restart, misuse ---- */

static void test_future_version_refused(void **state)
{
  struct fx *fx = *state;
  char path[160];
  snprintf(path, sizeof path, "%s/bad.db", fx->dir);
  raw_exec(path, "PRAGMA user_version = 999;");
  struct db *db = NULL;
  assert_int_equal(db_open(path, &db), SS_OK);
  int v = -1;
  assert_int_equal(db_migrate(db, &v), SS_EDB);
  assert_int_equal(v, -1);
  db_close(db);
  assert_int_equal(raw_int(path, "PRAGMA user_version"), 999);
  assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 0);
  assert_non_null(strstr(read_log(fx), "newer"));
}

static void test_restart_keeps_data(void **state)
{
  struct fx *fx = *state;
  const char *keys[] = {"log.level"};
  const char *vals[] = {"warn"};
  assert_int_equal(db_settings_store(fx->db, keys, vals, 1), SS_OK);
  struct db_field f[] = {{"downloads_completed", 12, NULL}};
  struct db_run r = make_run(77, "ok", "done");
  assert_int_equal(db_worker_run_record(fx->db, "dm", &r, f, 1), SS_OK);
  db_close(fx->db);
  fx->db = NULL;

  int v = 0;
  assert_int_equal(db_open(fx->path, &fx->db), SS_OK);
  assert_int_equal(db_migrate(fx->db, &v), SS_OK);
  assert_true(v >= 1);
  assert_string_equal(kv_value(load_settings(fx->db), "log.level"), "warn");
  struct kv *kv = load_state(fx->db, "dm");
  assert_int_equal(kv->n, 1);
  assert_int_equal(kv->ival[0], 12);
  struct db_run out[1];
  size_t count = 0;
  assert_int_equal(db_worker_runs_load(fx->db, "dm", out, 1, &count), SS_OK);
  assert_int_equal(count, 1);
  assert_int_equal(out[0].started_ms, 77);
  assert_string_equal(out[0].message, "done");
}

struct reentry {
  struct db *db;
  int rc;
};

static void reenter(void *arg, const char *key, const char *value)
{
  struct reentry *re = arg;
  (void)key;
  (void)value;
  const char *k[] = {"x"};
  const char *v[] = {"y"};
  re->rc = db_settings_store(re->db, k, v, 1);
}

static void test_reentry_refused(void **state)
{
  struct fx *fx = *state;
  const char *keys[] = {"a"};
  const char *vals[] = {"1"};
  assert_int_equal(db_settings_store(fx->db, keys, vals, 1), SS_OK);
  struct reentry re = {fx->db, SS_OK};
  assert_int_equal(db_settings_load(fx->db, reenter, &re), SS_OK);
  assert_int_equal(re.rc, SS_ESTATE);
  assert_int_equal(load_settings(fx->db)->n, 1);
}

static void test_open_bad_path(void **state)
{
  (void)state;
  struct db *db = (struct db *)&db;
  assert_int_equal(db_open("/nonexistent-dir/x/soulspot.db", &db), SS_EIO);
  assert_null(db);
  assert_int_equal(db_open(NULL, &db), SS_EINVAL);
  db_close(NULL);
}

/* ---- the dialect of the domain stores (db_sqlite_internal.h) ----
 * Tested on a scratch table; a failed bind is seen logged with its parameter,
 * never its value. */

enum {
  SLOT_INSERT = DB__SLOTS_WANTED + 50,
  SLOT_INSERT_NAME,
  SLOT_GET,
  SLOT_COUNT,
  SLOT_ALL,
  SLOT_NAME
};

static int dialect_setup(void **state)
{
  if (setup(state))
    return -1;
  struct fx *fx = *state;
  if (sqlite3_exec(db__conn(fx->db),
                   "CREATE TABLE artists (id INTEGER PRIMARY KEY,"
                   " name TEXT NOT NULL, score REAL, note TEXT)",
                   NULL, NULL, NULL) != SQLITE_OK) {
    fx_free(fx);
    return -1;
  }
  return 0;
}

static int insert(struct db *db, const char *name, double score,
                  const char *note)
{
  struct db__q q;
  int rc = db__prepare(db, SLOT_INSERT,
                       "INSERT INTO artists (name, score, note)"
                       " VALUES (?1, ?2, ?3)",
                       &q);
  if (rc)
    return rc;
  db__bind_text(&q, 1, name);
  db__bind_double(&q, 2, score);
  if (note)
    db__bind_text(&q, 3, note);
  else
    db__bind_null(&q, 3);
  return db__exec(&q, "artist insert");
}

static int64_t count(struct db *db)
{
  struct db__q q;
  int64_t n = -1;
  assert_int_equal(db__prepare(db, SLOT_COUNT, "SELECT COUNT(*) FROM artists",
                               &q),
                   SS_OK);
  assert_int_equal(db__scalar(&q, &n, "artist count"), SS_OK);
  return n;
}

struct artist {
  int64_t id;
  char name[8];
  double score;
  int has_note;
};

static int artist_row(sqlite3_stmt *row, void *out)
{
  struct artist *a = out;
  a->id = sqlite3_column_int64(row, 0);
  db__col_text(row, 1, a->name, sizeof a->name);
  a->score = sqlite3_column_double(row, 2);
  a->has_note = sqlite3_column_type(row, 3) != SQLITE_NULL;
  return SS_OK;
}

static int get(struct db *db, int64_t id, struct artist *out)
{
  struct db__q q;
  int rc = db__prepare(db, SLOT_GET,
                       "SELECT id, name, score, note FROM artists"
                       " WHERE id = ?1",
                       &q);
  if (rc)
    return rc;
  db__bind_int64(&q, 1, id);
  return db__get(&q, artist_row, out, "artist get");
}

/* A bind that fails (a parameter the statement does not have) is an error
 * of the call: nothing runs, the failure is logged with its index. */
static void test_failed_bind_is_an_error(void **state)
{
  struct fx *fx = *state;
  struct db__q q;
  assert_int_equal(db__prepare(fx->db, SLOT_INSERT_NAME,
                               "INSERT INTO artists (name) VALUES (?1)", &q),
                   SS_OK);
  db__bind_text(&q, 1, "Sigur Rós");
  db__bind_int64(&q, 7, 1); /* no such parameter */
  db__bind_text(&q, 1, "Björk");
  assert_int_equal(db__exec(&q, "artist insert"), SS_EDB);
  assert_int_equal(count(fx->db), 0);
  assert_non_null(strstr(read_log(fx), "artist insert: binding parameter 7"));
  assert_null(strstr(read_log(fx), "Sigur"));
  /* The same q is clean again after the failure. */
  db__bind_text(&q, 1, "Björk");
  assert_int_equal(db__exec(&q, "artist insert"), SS_OK);
  assert_int_equal(count(fx->db), 1);
}

static void test_get_one_row(void **state)
{
  struct fx *fx = *state;
  struct artist a;
  assert_int_equal(insert(fx->db, "AC/DC", 4.5, NULL), SS_OK);
  int64_t id = db__last_id(fx->db);
  assert_int_equal(db__changes(fx->db), 1);
  memset(&a, 0, sizeof a);
  assert_int_equal(get(fx->db, id, &a), SS_OK);
  assert_int_equal(a.id, id);
  assert_string_equal(a.name, "AC/DC");
  assert_true(a.score == 4.5);
  assert_false(a.has_note);
  assert_int_equal(get(fx->db, id + 1, &a), SS_ENOTFOUND);
  assert_int_equal(get(NULL, id, &a), SS_EINVAL);
}

/* db__run binds an array of values by position; NULL stays SQL NULL and a
 * capped text is cut on a character. */
static void test_run_with_values(void **state)
{
  struct fx *fx = *state;
  struct artist a;
  assert_int_equal(db__run(fx->db, SLOT_INSERT,
                           "INSERT INTO artists (name, score, note)"
                           " VALUES (?1, ?2, ?3)",
                           DB__VALS(DB__TEXT_MAX("Björk", 3), DB__DOUBLE(2.5),
                                    DB__NULL),
                           "artist insert"),
                   SS_OK);
  int64_t id = db__last_id(fx->db);
  assert_int_equal(get(fx->db, id, &a), SS_OK);
  assert_string_equal(a.name, "Bj");
  assert_true(a.score == 2.5);
  assert_false(a.has_note);
  assert_int_equal(db__run(fx->db, SLOT_ALL,
                           "UPDATE artists SET note = ?1 WHERE id = ?2",
                           DB__VALS(DB__TEXT("Björk"), DB__INT(id)),
                           "artist note"),
                   SS_OK);
  assert_int_equal(db__changes(fx->db), 1);
  assert_int_equal(get(fx->db, id, &a), SS_OK);
  assert_true(a.has_note);
  /* One value too many is a failed bind: nothing runs. */
  assert_int_equal(db__run(fx->db, SLOT_ALL,
                           "UPDATE artists SET note = ?1 WHERE id = ?2",
                           DB__VALS(DB__NULL, DB__INT(id), DB__INT(1)),
                           "artist note"),
                   SS_EDB);
  assert_int_equal(get(fx->db, id, &a), SS_OK);
  assert_true(a.has_note);
}

static void test_bad_slot_and_sql(void **state)
{
  struct fx *fx = *state;
  struct db__q q;
  assert_int_equal(db__prepare(fx->db, -1, "SELECT 1", &q), SS_EINVAL);
  assert_int_equal(db__prepare(fx->db, DB__EXTRA_STMTS, "SELECT 1", &q),
                   SS_EINVAL);
  assert_int_equal(db__prepare(fx->db, SLOT_ALL, "SELEC nothing", &q), SS_EDB);
}

/* Text bound with a cap is cut on a character, reading no byte past it. */
static void test_text_max_cuts_on_a_character(void **state)
{
  struct fx *fx = *state;
  struct artist a;
  char fixed[5] = {'B', 'j', '\xc3', '\xb6', 'r'}; /* not terminated */
  struct db__q q;
  assert_int_equal(db__prepare(fx->db, SLOT_INSERT_NAME,
                               "INSERT INTO artists (name) VALUES (?1)", &q),
                   SS_OK);
  db__bind_text_max(&q, 1, fixed, 3); /* "Bj" + half of "ö" */
  assert_int_equal(db__exec(&q, "artist insert"), SS_OK);
  assert_int_equal(get(fx->db, db__last_id(fx->db), &a), SS_OK);
  assert_string_equal(a.name, "Bj");
  db__bind_text_max(&q, 1, fixed, sizeof fixed);
  assert_int_equal(db__exec(&q, "artist insert"), SS_OK);
  assert_int_equal(get(fx->db, db__last_id(fx->db), &a), SS_OK);
  assert_string_equal(a.name, "Bj\xc3\xb6r");
  /* Read back into a small buffer: cut before the character too. */
  assert_int_equal(insert(fx->db, "坂本龍一", 0, "x"), SS_OK);
  assert_int_equal(get(fx->db, db__last_id(fx->db), &a), SS_OK);
  assert_string_equal(a.name, "坂本");
  assert_true(a.has_note);
}

struct walk {
  int seen;
  int stop_at;
};

static int walk_row(sqlite3_stmt *row, void *arg)
{
  struct walk *w = arg;
  assert_string_not_equal(db__col_str(row, 1), "");
  return ++w->seen == w->stop_at ? SS_ECANCELED : SS_OK;
}

static int dup_row(sqlite3_stmt *row, void *out)
{
  *(char **)out = db__col_dup(row, 0);
  return SS_OK;
}

static void test_each_and_fill(void **state)
{
  struct fx *fx = *state;
  const char *names[] = {"Björk", "Guns N' Roses", "<b>&\"'", "Sigur Rós"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(insert(fx->db, names[i], (double)i, NULL), SS_OK);
  struct db__q q;
  const char *all = "SELECT id, name, score, note FROM artists ORDER BY id";
  struct walk w = {0, 0};
  assert_int_equal(db__prepare(fx->db, SLOT_ALL, all, &q), SS_OK);
  assert_int_equal(db__each(&q, walk_row, &w, "walk"), SS_OK);
  assert_int_equal(w.seen, 4);
  w = (struct walk){0, 2};
  assert_int_equal(db__prepare(fx->db, SLOT_ALL, all, &q), SS_OK);
  assert_int_equal(db__each(&q, walk_row, &w, "walk"), SS_ECANCELED);
  assert_int_equal(w.seen, 2);

  struct artist out[3];
  size_t n = 99;
  assert_int_equal(db__prepare(fx->db, SLOT_ALL, all, &q), SS_OK);
  assert_int_equal(db__fill(&q, artist_row, out, sizeof *out, 3, &n, "fill"),
                   SS_OK);
  assert_int_equal(n, 3);
  assert_string_equal(out[0].name, "Björk");
  assert_string_equal(out[2].name, "<b>&\"'");
  assert_true(out[2].score == 2.0);
  struct artist more[8];
  assert_int_equal(db__prepare(fx->db, SLOT_ALL, all, &q), SS_OK);
  assert_int_equal(db__fill(&q, artist_row, more, sizeof *more, 8, &n, "fill"),
                   SS_OK);
  assert_int_equal(n, 4);
  assert_string_equal(more[3].name, "Sigur R");
  char *name = NULL;
  assert_int_equal(db__prepare(fx->db, SLOT_NAME,
                               "SELECT name FROM artists WHERE id = ?1", &q),
                   SS_OK);
  db__bind_int64(&q, 1, out[1].id);
  assert_int_equal(db__get(&q, dup_row, &name, "one"), SS_OK);
  assert_string_equal(name, "Guns N' Roses");
  free(name);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
    cmocka_unit_test_setup_teardown(test_settings_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_settings_store_atomic, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_settings_store_rejects_null, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_worker_state_round_trip, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_run_history_trimmed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_load_truncates, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_record_atomic, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_future_version_refused, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_restart_keeps_data, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reentry_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_bad_path, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_bind_is_an_error,
                                    dialect_setup, teardown),
    cmocka_unit_test_setup_teardown(test_get_one_row, dialect_setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_slot_and_sql, dialect_setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_run_with_values, dialect_setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_text_max_cuts_on_a_character,
                                    dialect_setup, teardown),
    cmocka_unit_test_setup_teardown(test_each_and_fill, dialect_setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
