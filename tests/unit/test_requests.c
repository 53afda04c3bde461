/*
 * test_requests.c - the download request engine against the fake slskd,
 * with a temporary store, a hand-driven wall clock and a stub import:
 * request -> search -> candidates -> enqueue -> progress -> completed ->
 * imported; a failed transfer retried with another peer; retries
 * exhausted; a stalled transfer cancelled and replaced; album files
 * replaced from another folder; cancel; slskd down then back; malformed,
 * truncated and huge lists writing nothing; 429 under concurrent
 * enqueues; legacy enqueue replies; a search that never completes; input
 * validation and Spotify ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "db/db.h"
#include "db/db_downloads.h"
#include "downloads/requests.h"
#include "fake_all.h"

#define KEY "requests-test-key-0123456789"
#define SONG "@@alice\\Music\\Band\\Album (2001)\\01 - Song.flac"
#define SONG_B "@@bob\\Shared\\Band\\Singles\\Song.flac"

static int64_t now_ms = 1787421600000LL;
static int64_t fake_now(void) { return now_ms; }

struct fx {
  char dir[64];
  struct db *db;
  struct fake_slskd *fk;
  struct slskd *c;
  struct dl_config cfg;
  int import_missing; /* stub import: answer "not there yet" this often */
  size_t imports, open_calls, last_open;
};

static int stub_import(void *arg, struct db *db, const struct dl_file *f,
                       char *err, size_t errlen)
{
  struct fx *x = arg;
  x->imports++;
  if (x->import_missing > 0) {
    x->import_missing--;
    snprintf(err, errlen, "finished file not found");
    return SS_ENOTFOUND;
  }
  return db_dl_import_done(db, f->id, 1000 + f->id, clock_wall_ms());
}

static void stub_open(void *arg, const struct dl_files *files)
{
  struct fx *x = arg;
  x->open_calls++;
  x->last_open = files->n;
}

static int setup(void **state)
{
  struct fx *x = xcalloc(1, sizeof *x);
  snprintf(x->dir, sizeof x->dir, "/tmp/ss-requests-XXXXXX");
  if (!mkdtemp(x->dir))
    return -1;
  char path[128];
  int version;
  snprintf(path, sizeof path, "%s/t.db", x->dir);
  if (db_open(path, &x->db) || db_migrate(x->db, &version))
    return -1;
  if (fake_slskd_start(&x->fk, 0, KEY))
    return -1;
  x->c = slskd_new(fake_slskd_url(x->fk), KEY);
  char err[160];
  quality_profile_parse("flac,mp3-320,mp3-v0", &x->cfg.profile, err,
                        sizeof err);
  x->cfg.max_retries = 3;
  x->cfg.stall_ms = 30 * 60000;
  x->cfg.search_timeout_s = 30;
  x->cfg.max_enqueues = 2;
  x->cfg.poll_interval_ms = 10000;
  snprintf(x->cfg.slskd_url, sizeof x->cfg.slskd_url, "%s",
           fake_slskd_url(x->fk));
  snprintf(x->cfg.slskd_key, sizeof x->cfg.slskd_key, "%s", KEY);
  clock_set_sources(fake_now, NULL);
  *state = x;
  return 0;
}

static int teardown(void **state)
{
  struct fx *x = *state;
  char cmd[160];
  clock_set_sources(NULL, NULL);
  slskd_free(x->c);
  fake_slskd_stop(x->fk);
  db_close(x->db);
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
  if (system(cmd))
    return -1;
  free(x);
  return 0;
}

static int poll(struct fx *x, struct dl_poll_result *res)
{
  struct dl_hooks h = {x, NULL, NULL, stub_import, stub_open};
  now_ms += 10000;
  return requests_poll(x->db, x->c, &x->cfg, &h, res);
}

static void poll_ok(struct fx *x, struct dl_poll_result *res)
{
  int rc = poll(x, res);
  if (rc)
    fprintf(stderr, "poll: %s\n", res->error);
  assert_int_equal(rc, SS_OK);
}

static int64_t add(struct fx *x, const char *query, const char *album)
{
  struct dl_new in = {query, album, NULL, NULL};
  int64_t id = 0;
  char err[200];
  assert_int_equal(requests_create(x->db, &in, now_ms, &id, err, sizeof err),
                   SS_OK);
  return id;
}

static struct dl_request_view view(struct fx *x, int64_t id)
{
  struct dl_request_view v;
  assert_int_equal(db_dl_request_get(x->db, id, &v), SS_OK);
  return v;
}

static void share(struct fx *x, const char *user, const char *file,
                  enum fake_sk_behaviour b)
{
  fake_slskd_add_file(x->fk,
                      &(struct fake_sk_file){user, file, 30000000, 0, 16,
                                             44100, 200, false, NULL, b});
}

/* Polls until the request reaches state (at most max polls). */
static struct dl_request_view poll_until(struct fx *x, int64_t id,
                                         const char *state, int max)
{
  struct dl_poll_result res;
  for (int i = 0; i < max; i++) {
    struct dl_request_view v = view(x, id);
    if (!strcmp(v.r.state, state))
      return v;
    poll(x, &res);
  }
  struct dl_request_view v = view(x, id);
  if (strcmp(v.r.state, state))
    fprintf(stderr, "request %lld is %s (%s), wanted %s\n", (long long)id,
            v.r.state, v.r.error, state);
  assert_string_equal(v.r.state, state);
  return v;
}

/* ---- the whole path ---- */

static void test_track_full_path(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_OK);
  fake_slskd_set_progress_steps(x->fk, 2);
  int64_t id = add(x, "Band - Song", NULL);
  struct dl_request_view v = view(x, id);
  assert_string_equal(v.r.state, "pending");
  assert_string_equal(v.r.query, "Band Song");

  poll_ok(x, &res); /* search started */
  assert_true(res.worked);
  v = view(x, id);
  assert_string_equal(v.r.state, "searching");
  poll_ok(x, &res); /* complete -> candidates -> file wanted */
  v = view(x, id);
  assert_string_equal(v.r.state, "downloading");
  assert_int_equal(v.files_total, 1);
  assert_string_equal(v.username, "alice");
  poll_ok(x, &res); /* enqueued */
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_string_equal(fl.v[0].state, "enqueued");
  assert_true(fl.v[0].transfer_id[0] != '\0'); /* from the 0.24+ reply */
  db_dl_files_free(&fl);
  poll_ok(x, &res); /* Queued, Remotely */
  assert_int_equal(res.updated, 1);
  poll_ok(x, &res); /* InProgress, a third */
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_string_equal(fl.v[0].state, "in_progress");
  assert_int_equal(fl.v[0].bytes, 10000000);
  assert_true(fl.v[0].percent > 33 && fl.v[0].percent < 34);
  db_dl_files_free(&fl);
  v = view(x, id);
  assert_int_equal(v.bytes_done, 10000000);
  assert_int_equal(v.bytes_total, 30000000);
  poll_ok(x, &res); /* two thirds */
  poll_ok(x, &res); /* Completed, Succeeded -> imported */
  assert_int_equal(res.completed, 1);
  assert_int_equal(res.failed, 0);
  v = view(x, id);
  assert_string_equal(v.r.state, "completed");
  assert_int_equal(v.files_imported, 1);
  assert_string_equal(v.r.error, "");
  poll_ok(x, &res); /* nothing left to follow */
  assert_false(res.worked);
  assert_int_equal(x->last_open, 0);
  /* the search was deleted from slskd once read */
  assert_true(fake_http_count(fake_slskd_http(x->fk), "DELETE",
                              "/api/v0/searches/*") >= 1);
}

static void test_error_retried_elsewhere(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_ERROR);
  share(x, "bob", SONG_B, FAKE_SK_OK);
  fake_slskd_set_peer(x->fk, "bob", false, 5, 100); /* ranks second */
  int64_t id = add(x, "Band - Song", NULL);
  int64_t failed = 0, completed = 0;
  for (int i = 0; i < 14 && strcmp(view(x, id).r.state, "completed"); i++) {
    poll(x, &res);
    failed += res.failed;
    completed += res.completed;
  }
  struct dl_request_view v = view(x, id);
  assert_string_equal(v.r.state, "completed");
  assert_int_equal(failed, 1);
  assert_int_equal(completed, 1);
  assert_string_equal(v.username, "bob");
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_int_equal(fl.n, 2);
  assert_string_equal(fl.v[1].state, "failed"); /* oldest last */
  assert_non_null(strstr(fl.v[1].error, "transfer error"));
  assert_non_null(strstr(fl.v[1].error, "Remote connection closed."));
  assert_int_equal(fl.v[0].retries, 1);
  db_dl_files_free(&fl);
}

static void test_retries_exhausted(void **state)
{
  struct fx *x = *state;
  share(x, "alice", SONG, FAKE_SK_REJECT);
  share(x, "bob", SONG_B, FAKE_SK_OK);
  x->cfg.max_retries = 0;
  int64_t id = add(x, "Band - Song", NULL);
  struct dl_request_view v = poll_until(x, id, "failed", 12);
  assert_non_null(strstr(v.r.error, "rejected by the peer"));
  assert_int_equal(v.files_total, 1); /* bob never tried */
}

static void test_stall_cancelled_and_replaced(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_STALL);
  share(x, "bob", SONG_B, FAKE_SK_OK);
  fake_slskd_set_peer(x->fk, "bob", false, 5, 100);
  int64_t id = add(x, "Band - Song", NULL);
  for (int i = 0; i < 5; i++)
    poll_ok(x, &res);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_string_equal(fl.v[0].state, "queued");
  db_dl_files_free(&fl);
  size_t deletes = fake_http_count(fake_slskd_http(x->fk), "DELETE",
                                   "/api/v0/transfers/*");
  now_ms += 31 * 60000; /* past download.stall_timeout_minutes */
  poll_ok(x, &res);
  assert_int_equal(res.failed, 1);
  assert_int_equal(fake_http_count(fake_slskd_http(x->fk), "DELETE",
                                   "/api/v0/transfers/*"),
                   deletes + 1);
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_int_equal(fl.n, 2);
  assert_string_equal(fl.v[1].state, "failed");
  assert_string_equal(fl.v[1].error, "stalled: no progress for 30 min");
  assert_string_equal(fl.v[0].username, "bob");
  db_dl_files_free(&fl);
  struct dl_request_view v = poll_until(x, id, "completed", 10);
  assert_string_equal(v.username, "bob");
}

/* Time without a transfer list (slskd down, soulspotd stopped) is not a
 * peer's stall: the first list afterwards only refreshes progress. */
static void test_no_stall_after_outage(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_STALL);
  int64_t id = add(x, "Band - Song", NULL);
  for (int i = 0; i < 5; i++)
    poll_ok(x, &res);
  struct slskd *good = x->c;
  x->c = slskd_new("http://127.0.0.1:1", KEY);
  assert_int_equal(poll(x, &res), SS_ENET);
  now_ms += 45 * 60000; /* a long outage */
  assert_int_equal(poll(x, &res), SS_ENET);
  slskd_free(x->c);
  x->c = good;
  poll_ok(x, &res);
  assert_int_equal(res.failed, 0);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_int_equal(fl.n, 1);
  assert_string_equal(fl.v[0].state, "queued");
  db_dl_files_free(&fl);
  now_ms += 31 * 60000; /* now it is the peer */
  poll_ok(x, &res);
  assert_int_equal(res.failed, 1);
}

static void test_album_replacement(void **state)
{
  struct fx *x = *state;
  static const char *const a[] = {"@@a\\Band\\Record\\01 - One.flac",
                                  "@@a\\Band\\Record\\02 - Two.flac",
                                  "@@a\\Band\\Record\\03 - Three.flac"};
  share(x, "alice", a[0], FAKE_SK_OK);
  share(x, "alice", a[1], FAKE_SK_REJECT);
  share(x, "alice", a[2], FAKE_SK_OK);
  share(x, "bob", "@@b\\Band - Record\\2. two.flac", FAKE_SK_OK);
  fake_slskd_set_peer(x->fk, "bob", false, 9, 100);
  int64_t id = add(x, NULL, "Band - Record");
  struct dl_request_view v = poll_until(x, id, "completed", 14);
  assert_int_equal(v.files_total, 3);
  assert_int_equal(v.files_imported, 3);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_int_equal(fl.n, 4);
  assert_string_equal(fl.v[0].username, "bob");
  assert_string_equal(fl.v[0].track_key, "two");
  db_dl_files_free(&fl);
}

static void test_cancel(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_STALL);
  int64_t id = add(x, "Band - Song", NULL);
  for (int i = 0; i < 4; i++)
    poll_ok(x, &res);
  assert_int_equal(db_dl_request_cancel(x->db, id, now_ms), SS_OK);
  assert_int_equal(db_dl_request_cancel(x->db, id, now_ms), SS_ESTATE);
  poll_ok(x, &res);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_string_equal(fl.v[0].state, "cancelled");
  db_dl_files_free(&fl);
  char st[64];
  fake_slskd_advance(x->fk, 1); /* slskd cancels asynchronously */
  assert_true(fake_slskd_transfer_state(x->fk, "alice", SONG, st, sizeof st));
  assert_string_equal(st, "Completed, Cancelled");
  assert_string_equal(view(x, id).r.state, "cancelled");
  assert_int_equal(db_dl_request_cancel(x->db, 999, now_ms), SS_ENOTFOUND);
}

static void test_slskd_down_then_back(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_OK);
  int64_t id = add(x, "Band - Song", NULL);
  struct slskd *good = x->c;
  x->c = slskd_new("http://127.0.0.1:1", KEY);
  assert_int_equal(poll(x, &res), SS_ENET);
  assert_non_null(strstr(res.error, "slskd unreachable at"));
  assert_string_equal(view(x, id).r.state, "pending");
  slskd_free(x->c);
  x->c = slskd_new(fake_slskd_url(x->fk), "refused-key-123456");
  assert_int_equal(poll(x, &res), SS_ESTATE);
  assert_string_equal(res.error, "slskd refused the API key (HTTP 401)");
  slskd_free(x->c);
  x->c = good;
  poll_ok(x, &res);
  poll_until(x, id, "completed", 10);
}

static void test_bad_lists_write_nothing(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_OK);
  fake_slskd_set_progress_steps(x->fk, 5);
  int64_t id = add(x, "Band - Song", NULL);
  for (int i = 0; i < 5; i++)
    poll_ok(x, &res);
  struct dl_files before, after;
  assert_int_equal(db_dl_files_of(x->db, id, &before, 10), SS_OK);
  assert_string_equal(before.v[0].state, "in_progress");
  static const enum fake_sk_list_mode modes[] = {FAKE_SK_LIST_MALFORMED,
                                                 FAKE_SK_LIST_TRUNCATED,
                                                 FAKE_SK_LIST_HUGE};
  static const char *const why[] = {"malformed", "malformed", "too large"};
  for (int m = 0; m < 3; m++) {
    fake_slskd_set_list_mode(x->fk, modes[m]);
    assert_int_not_equal(poll(x, &res), SS_OK);
    assert_non_null(strstr(res.error, why[m]));
    assert_int_equal(res.updated, 0);
    assert_int_equal(db_dl_files_of(x->db, id, &after, 10), SS_OK);
    assert_int_equal(after.v[0].bytes, before.v[0].bytes);
    assert_string_equal(after.v[0].state, before.v[0].state);
    db_dl_files_free(&after);
  }
  db_dl_files_free(&before);
  fake_slskd_set_list_mode(x->fk, FAKE_SK_LIST_OK);
  poll_until(x, id, "completed", 12);
}

static void test_concurrent_enqueues(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  char file[96], user[16], query[32];
  for (int i = 0; i < 3; i++) {
    snprintf(user, sizeof user, "peer%d", i);
    snprintf(file, sizeof file, "@@p%d\\Band\\Tune%d.flac", i, i);
    share(x, user, file, FAKE_SK_OK);
    snprintf(query, sizeof query, "Band - Tune%d", i);
    add(x, query, NULL);
  }
  fake_slskd_set_enqueue_delay(x->fk, 300);
  x->cfg.max_enqueues = 3; /* more than slskd allows: 429s, then waits */
  for (int i = 0; i < 4; i++)
    poll_ok(x, &res);
  struct dl_gauges g;
  assert_int_equal(db_dl_gauges(x->db, &g), SS_OK);
  assert_true(fake_slskd_enqueue_busy(x->fk) >= 1);
  assert_int_equal(fake_slskd_enqueue_peak(x->fk), 2);
  assert_int_equal(fake_slskd_transfer_count(x->fk), 3);
  assert_int_equal(g.queued, 3); /* all enqueued in the end */
}

static void test_legacy_enqueue(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  share(x, "alice", SONG, FAKE_SK_OK);
  fake_slskd_set_legacy_enqueue(x->fk, true);
  int64_t id = add(x, "Band - Song", NULL);
  for (int i = 0; i < 3; i++)
    poll_ok(x, &res);
  struct dl_files fl;
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_string_equal(fl.v[0].state, "enqueued");
  assert_string_equal(fl.v[0].transfer_id, ""); /* empty 201 */
  db_dl_files_free(&fl);
  poll_ok(x, &res); /* learnt from the list by peer and path */
  assert_int_equal(db_dl_files_of(x->db, id, &fl, 10), SS_OK);
  assert_int_equal(strlen(fl.v[0].transfer_id), 36);
  db_dl_files_free(&fl);
  poll_until(x, id, "completed", 6);
}

static void test_import_waits_then_fails(void **state)
{
  struct fx *x = *state;
  share(x, "alice", SONG, FAKE_SK_OK);
  x->import_missing = 100;
  x->cfg.max_retries = 0;
  int64_t id = add(x, "Band - Song", NULL);
  struct dl_request_view v = poll_until(x, id, "failed", 30);
  assert_int_equal(x->imports, REQ_IMPORT_MAX_TRIES);
  assert_string_equal(v.r.error, "finished file not found");
}

static void test_search_never_completes(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  fake_slskd_set_search_polls(x->fk, 0);
  int64_t id = add(x, "Nothing - Here", NULL);
  poll_ok(x, &res);
  poll_ok(x, &res);
  assert_string_equal(view(x, id).r.state, "searching");
  now_ms += 30 * 4000 + 61000; /* past the soft limit: ask slskd to stop */
  poll_ok(x, &res);
  assert_int_equal(fake_http_count(fake_slskd_http(x->fk), "PUT",
                                   "/api/v0/searches/*"),
                   1);
  struct dl_request_view v = poll_until(x, id, "failed", 3);
  assert_non_null(strstr(v.r.error, "no result matched"));
}

static void test_not_logged_in(void **state)
{
  struct fx *x = *state;
  struct dl_poll_result res;
  fake_slskd_set_logged_in(x->fk, false);
  int64_t id = add(x, "Band - Song", NULL);
  assert_int_equal(poll(x, &res), SS_ESTATE);
  assert_non_null(strstr(res.error, "not logged in"));
  assert_string_equal(view(x, id).r.state, "pending");
}

/* ---- creating requests ---- */

static void test_create_validation(void **state)
{
  struct fx *x = *state;
  int64_t id;
  char err[200];
  struct dl_new none = {NULL, NULL, NULL, NULL};
  assert_int_equal(requests_create(x->db, &none, 0, &id, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "exactly one"));
  struct dl_new two = {"a", "b", NULL, NULL};
  assert_int_equal(requests_create(x->db, &two, 0, &id, err, sizeof err),
                   SS_EINVAL);
  struct dl_new blank = {"   ", NULL, NULL, NULL};
  assert_int_equal(requests_create(x->db, &blank, 0, &id, err, sizeof err),
                   SS_EINVAL);
  struct dl_new ctl = {"a\nb", NULL, NULL, NULL};
  assert_int_equal(requests_create(x->db, &ctl, 0, &id, err, sizeof err),
                   SS_EINVAL);
  struct dl_new punct = {"--- !!", NULL, NULL, NULL};
  assert_int_equal(requests_create(x->db, &punct, 0, &id, err, sizeof err),
                   SS_EINVAL);
  assert_non_null(strstr(err, "searchable"));
  struct dl_new sp = {NULL, NULL, "4uLU6hMCjMI75M1A2tKUQC", NULL};
  assert_int_equal(requests_create(x->db, &sp, 0, &id, err, sizeof err),
                   SS_ENOTFOUND);
  assert_non_null(strstr(err, "is not in the synced library"));
  struct dl_new bad_id = {NULL, NULL, "../x", NULL};
  assert_int_equal(requests_create(x->db, &bad_id, 0, &id, err, sizeof err),
                   SS_EINVAL);
}

static void test_spotify_ids(void **state)
{
  struct fx *x = *state;
  sqlite3 *raw;
  char path[128];
  snprintf(path, sizeof path, "%s/t.db", x->dir);
  assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
  assert_int_equal(sqlite3_exec(raw,
                                "INSERT INTO spotify_albums (id, name, "
                                "artist_name, total_tracks, added_ms, "
                                "updated_ms) VALUES ('alb1', 'Back in "
                                "Black', 'AC/DC', 10, 0, 0);"
                                "INSERT INTO spotify_tracks (id, name, "
                                "artist_names, updated_ms) VALUES ('t1', "
                                "'Hells Bells', 'AC/DC, Guest', 0);",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(raw);
  int64_t id;
  char err[200];
  struct dl_new in = {NULL, NULL, NULL, "alb1"};
  assert_int_equal(requests_create(x->db, &in, 0, &id, err, sizeof err),
                   SS_OK);
  struct dl_request_view v = view(x, id);
  assert_int_equal(v.r.kind, DL_ALBUM);
  assert_string_equal(v.r.query, "AC DC Back in Black");
  assert_int_equal(v.r.expected_tracks, 10);
  assert_string_equal(v.r.spotify_id, "alb1");
  struct dl_new unknown = {NULL, NULL, NULL, "alb2"};
  assert_int_equal(requests_create(x->db, &unknown, 0, &id, err, sizeof err),
                   SS_ENOTFOUND);
  struct dl_new track = {NULL, NULL, "t1", NULL};
  assert_int_equal(requests_create(x->db, &track, 0, &id, err, sizeof err),
                   SS_OK);
  v = view(x, id);
  assert_int_equal(v.r.kind, DL_TRACK);
  assert_string_equal(v.r.query, "AC DC Hells Bells"); /* main artist */
  assert_string_equal(v.r.spotify_id, "t1");
}

/* ---- names beyond ASCII ---- */

#define BJORK_NFC "Bj\xc3\xb6rk"
#define BJORK_NFD "Bjo\xcc\x88rk"

static void test_unicode_names(void **state)
{
  struct fx *x = *state;
  /* an album: peers share it in NFC, NFD and ASCII-folded; the first two
   * (by name) refuse, so the request must walk to the third */
  share(x, "nfd", "@@nfd\\Music\\" BJORK_NFD "\\Homogenic\\01 - Hunter.flac",
        FAKE_SK_OK);
  share(x, "nfc", "@@nfc\\" BJORK_NFC " - Homogenic\\01 - Hunter.flac",
        FAKE_SK_REJECT);
  share(x, "ascii", "@@a\\Bjork\\Homogenic (1997)\\01 Hunter.flac",
        FAKE_SK_REJECT);
  int64_t id = add(x, NULL, BJORK_NFC " - Homogenic");
  struct dl_request_view v = poll_until(x, id, "completed", 24);
  assert_int_equal(v.files_imported, 1);
  assert_string_equal(v.username, "nfd");
  struct dl_source s[4];
  size_t n = 0;
  assert_int_equal(db_dl_sources_of(x->db, id, s, 4, &n), SS_OK);
  assert_int_equal(n, 3);
  assert_string_equal(s[0].username, "ascii");
  assert_string_equal(s[1].username, "nfc");
  /* a track asked for in NFD: searched in NFC, found in NFD and NFC */
  share(x, "nfd",
        "@@nfd\\Music\\" BJORK_NFD "\\Homogenic\\05 - Jo\xcc\x81ga"
        ".flac",
        FAKE_SK_OK);
  id = add(x, BJORK_NFD " - Jo\xcc\x81ga", NULL);
  v = view(x, id);
  assert_string_equal(v.r.query, BJORK_NFC " J\xc3\xb3ga");
  v = poll_until(x, id, "completed", 14);
  assert_string_equal(v.username, "nfd");
  char sent[128];
  fake_slskd_last_search(x->fk, sent, sizeof sent);
  assert_string_equal(sent, BJORK_NFC " J\xc3\xb3ga");
  /* other scripts, marks and punctuation */
  share(x, "jp",
        "@@jp\\\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80"
        "\\async\\01 - andata.flac",
        FAKE_SK_OK);
  id = add(x, NULL,
           "\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80 - "
           "async");
  poll_until(x, id, "completed", 14);
  share(x, "mc",
        "@@mc\\Motley Crue\\Dr. Feelgood\\01 - T.N.T. (Terror "
        "'N Tinseltown).flac",
        FAKE_SK_OK);
  id = add(x, NULL,
           "M\xc3\xb6tley Cr\xc3\xbc"
           "e - Dr. Feelgood");
  poll_until(x, id, "completed", 14);
}

/* Clients that do not fold accents: "Björk" finds only NFC names, so an
 * ASCII-folded share needs a second search without the accents. */
static void test_unaccented_search(void **state)
{
  struct fx *x = *state;
  struct fake_http *h = fake_slskd_http(x->fk);
  fake_slskd_set_strict_search(x->fk, true);
  share(x, "ascii", "@@a\\Bjork\\Homogenic\\01 - Hunter.flac", FAKE_SK_OK);
  int64_t id = add(x, NULL, BJORK_NFC " - Homogenic");
  struct dl_request_view v = poll_until(x, id, "completed", 14);
  assert_string_equal(v.username, "ascii");
  assert_string_equal(v.r.query, "Bjork Homogenic");
  char sent[128];
  fake_slskd_last_search(x->fk, sent, sizeof sent);
  assert_string_equal(sent, "Bjork Homogenic");
  assert_int_equal(fake_http_count(h, "POST", "/api/v0/searches"), 2);
  /* without accents (or without any to drop) one search is all */
  id = add(x, NULL, "Nobody - Nothing");
  v = poll_until(x, id, "failed", 10);
  assert_non_null(strstr(v.r.error, "no result matched"));
  id = add(x, NULL, "\xe5\x9d\x82\xe6\x9c\xac - async");
  poll_until(x, id, "failed", 10);
  assert_int_equal(fake_http_count(h, "POST", "/api/v0/searches"), 4);
  /* nothing either way: two searches, then failed */
  id = add(x, NULL,
           "M\xc3\xb6tley Cr\xc3\xbc"
           "e - Nothing");
  v = poll_until(x, id, "failed", 10);
  assert_non_null(strstr(v.r.error, "no result matched"));
  assert_int_equal(fake_http_count(h, "POST", "/api/v0/searches"), 6);
}

/* ---- retry elsewhere ---- */

struct source {
  const char *user, *dir;
  bool lossless;
  bool free_slot;
  int64_t queue, speed;
  enum fake_sk_behaviour b;
};

/* Three lossless sources failing at 50 % (one of them a 24 kB/s peer),
 * then two lossy ones; the lossy ones name their files differently. */
static const struct source five[] = {
  {"slowpeer", "@@s\\Music\\Band\\Record\\%d. %s.flac", true, true, 0, 24000,
   FAKE_SK_ERROR},
  {"flac2", "@@f2\\Band - Record [FLAC]\\0%d %s.flac", true, true, 0, 2000000,
   FAKE_SK_ERROR},
  {"flac1", "@@f1\\Band\\Record (2001)\\0%d - %s.flac", true, true, 3, 3000000,
   FAKE_SK_ERROR},
  {"mp3peer", "@@m\\Band - Record (320)\\0%d. Band - %s.mp3", false, true, 0,
   500000, FAKE_SK_OK},
  {"v0peer", "@@v\\Band\\Record\\0%d - %s.mp3", false, true, 0, 9000000,
   FAKE_SK_OK},
};

static void share_five(struct fx *x)
{
  static const char *const titles[] = {"One", "Two"};
  for (size_t i = 0; i < 5; i++) {
    const struct source *s = &five[i];
    fake_slskd_set_peer(x->fk, s->user, s->free_slot, s->queue, s->speed);
    for (int t = 0; t < 2; t++) {
      char name[256];
      snprintf(name, sizeof name, s->dir, t + 1, titles[t]);
      bool v0 = !strcmp(s->user, "v0peer");
      fake_slskd_add_file(
        x->fk,
        &(struct fake_sk_file){s->user, name, s->lossless ? 30000000 : 8000000,
                               s->lossless ? 0 : (v0 ? 245 : 320),
                               s->lossless ? 16 : 0, s->lossless ? 44100 : 0,
                               200, v0, NULL, s->b});
    }
  }
}

static void test_retry_walks_sources(void **state)
{
  struct fx *x = *state;
  share_five(x);
  int64_t id = add(x, NULL, "Band - Record");
  struct dl_request_view v = poll_until(x, id, "completed", 60);
  assert_int_equal(v.files_imported, 2);
  assert_string_equal(v.username, "mp3peer");
  /* tried best first: lossless by speed (free slots all), then the best
   * lossy one; the V0 source was not needed */
  static const char *const order[] = {"flac1", "flac2", "slowpeer", "mp3peer"};
  struct dl_source s[12];
  size_t n = 0;
  assert_int_equal(db_dl_sources_of(x->db, id, s, 12, &n), SS_OK);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(s[i].username, order[i]);
    assert_int_equal(s[i].files, 2);
  }
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(db_dl_source_state(&s[i]), "failed");
    assert_int_equal(s[i].failed, 2);
    assert_non_null(strstr(s[i].error, "Remote connection closed."));
  }
  assert_string_equal(db_dl_source_state(&s[3]), "completed");
  assert_string_equal(s[3].quality, "mp3 320");
  assert_string_equal(s[3].error, "");
}

static void test_retry_limit_counts_sources(void **state)
{
  struct fx *x = *state;
  share_five(x);
  x->cfg.max_retries = 2; /* three sources */
  int64_t id = add(x, NULL, "Band - Record");
  struct dl_request_view v = poll_until(x, id, "failed", 60);
  assert_non_null(strstr(v.r.error, "3 sources tried, none worked"));
  struct dl_source s[12];
  size_t n = 0;
  assert_int_equal(db_dl_sources_of(x->db, id, s, 12, &n), SS_OK);
  assert_int_equal(n, 3);
  assert_string_equal(s[2].username, "slowpeer");
}

static void test_helpers(void **state)
{
  (void)state;
  char out[64];
  requests_search_text("AC/DC", "Back in Black (Live)", out, sizeof out);
  assert_string_equal(out, "AC DC Back in Black Live");
  requests_search_text("", "Don't Stop", out, sizeof out);
  assert_string_equal(out, "Don't Stop");
  /* a short buffer: whole characters and words, no trailing space */
  requests_search_text("Bj\xc3\xb6rk", "J\xc3\xb3ga", out, 8);
  assert_string_equal(out, "Bj\xc3\xb6rk");
  requests_search_text("Bj\xc3\xb6rk", "J\xc3\xb3ga", out, 4);
  assert_string_equal(out, "Bj"); /* not "Bj\xc3" */
  requests_search_text("\xe5\x9d\x82\xe6\x9c\xac\xe9\xbe\x8d\xe4\xb8\x80",
                       "Merry Christmas", out, 5);
  assert_string_equal(out, "\xe5\x9d\x82");
  assert_string_equal(requests_state_for(
                        slskd_transfer_flags("Completed, Succeeded")),
                      "completed");
  assert_string_equal(requests_state_for(
                        slskd_transfer_flags("Queued, Remotely")),
                      "queued");
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_track_full_path),
    T(test_error_retried_elsewhere),
    T(test_retries_exhausted),
    T(test_stall_cancelled_and_replaced),
    T(test_no_stall_after_outage),
    T(test_album_replacement),
    T(test_cancel),
    T(test_slskd_down_then_back),
    T(test_bad_lists_write_nothing),
    T(test_concurrent_enqueues),
    T(test_legacy_enqueue),
    T(test_import_waits_then_fails),
    T(test_search_never_completes),
    T(test_not_logged_in),
    T(test_create_validation),
    T(test_spotify_ids),
    T(test_unicode_names),
    T(test_unaccented_search),
    T(test_retry_walks_sources),
    T(test_retry_limit_counts_sources),
    cmocka_unit_test(test_helpers),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
