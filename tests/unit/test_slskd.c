/*
 * test_slskd.c - the slskd client: flag strings, timestamps, TimeSpans,
 * the nested transfer list with omitted nulls and \u escapes, search
 * responses, both enqueue reply shapes, caps and malformed replies; then
 * the calls against the fake slskd (auth, unreachable, 404, 409, 429,
 * cancel, huge/truncated/malformed lists).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/http_client.h"
#include "clients/jpull.h"
#include "clients/slskd.h"
#include "core/err.h"
#include "core/xalloc.h"
#include "core/fsutil.h"
#include "fake_all.h"

#define KEY "test-slskd-key-0123456789"

/* ---- flags ---- */

static void test_transfer_flags(void **state)
{
  (void)state;
  unsigned f = slskd_transfer_flags("Completed, Succeeded");
  assert_int_equal(f, SLSKD_TS_COMPLETED | SLSKD_TS_SUCCEEDED);
  assert_int_equal(slskd_phase_of(f), SLSKD_PHASE_SUCCEEDED);
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("completed,succeeded")),
                   SLSKD_PHASE_SUCCEEDED);
  static const char *const failed[] = {"Completed, Errored",
                                       "Completed, Rejected",
                                       "Completed, TimedOut",
                                       "Completed, Cancelled",
                                       "Completed, Aborted",
                                       "Completed"};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(slskd_phase_of(slskd_transfer_flags(failed[i])),
                     SLSKD_PHASE_FAILED);
  /* "Succeeded" without "Completed" is not a finished transfer */
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("Succeeded")),
                   SLSKD_PHASE_QUEUED);
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("Queued, Remotely")),
                   SLSKD_PHASE_QUEUED);
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("Requested")),
                   SLSKD_PHASE_QUEUED);
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("Initializing")),
                   SLSKD_PHASE_ACTIVE);
  assert_int_equal(slskd_phase_of(slskd_transfer_flags("InProgress")),
                   SLSKD_PHASE_ACTIVE);
  assert_int_equal(slskd_transfer_flags("Queued, Locally"),
                   SLSKD_TS_QUEUED | SLSKD_TS_LOCALLY);
  assert_int_equal(slskd_transfer_flags("48"),
                   SLSKD_TS_COMPLETED | SLSKD_TS_SUCCEEDED);
  assert_int_equal(slskd_transfer_flags("Bogus, InProgress"),
                   SLSKD_TS_IN_PROGRESS);
  assert_int_equal(slskd_transfer_flags(NULL), 0);
  assert_string_equal(slskd_failure_text(
                        slskd_transfer_flags("Completed, Rejected")),
                      "rejected by the peer");
  unsigned s = slskd_search_flags("Completed, TimedOut");
  assert_int_equal(s, SLSKD_SS_COMPLETED | SLSKD_SS_TIMED_OUT);
  assert_int_equal(slskd_search_flags("InProgress"), SLSKD_SS_IN_PROGRESS);
}

/* ---- times ---- */

static void test_times(void **state)
{
  (void)state;
  int64_t a, b, c;
  assert_int_equal(slskd_parse_time("2026-08-22T18:00:01.123456", &a), SS_OK);
  assert_int_equal(slskd_parse_time("2026-08-22T18:00:01.123Z", &b), SS_OK);
  assert_int_equal(a, b);
  assert_int_equal(a, 1787421601123LL);
  assert_int_equal(slskd_parse_time("2026-08-22T20:00:01.123+02:00", &c),
                   SS_OK);
  assert_int_equal(c, a);
  assert_int_equal(slskd_parse_time("2026-08-22T18:00:02.5", &c), SS_OK);
  assert_int_equal(c, 1787421602500LL);
  assert_int_equal(slskd_parse_time("1970-01-01T00:00:00Z", &c), SS_OK);
  assert_int_equal(c, 0);
  static const char *const bad[] = {"",
                                    "2026-08-22",
                                    "2026-13-22T18:00:01",
                                    "2026-08-22T18:00:01.",
                                    "2026-08-22T18:00:01Zjunk",
                                    "yesterday"};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(slskd_parse_time(bad[i], &c), SS_EINVAL);

  assert_int_equal(slskd_parse_timespan("00:03:12.5000000", &c), SS_OK);
  assert_int_equal(c, 192500);
  assert_int_equal(slskd_parse_timespan("00:00:20", &c), SS_OK);
  assert_int_equal(c, 20000);
  assert_int_equal(slskd_parse_timespan("1.02:03:04", &c), SS_OK);
  assert_int_equal(c, 93784000);
  assert_int_equal(slskd_parse_timespan("-00:00:01", &c), SS_OK);
  assert_int_equal(c, -1000);
  static const char *const bad_spans[] =
    {"", "12", "00:60:00", "24:00:00", "00:00:01.12345678", "1:2:3"};
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(slskd_parse_timespan(bad_spans[i], &c), SS_EINVAL);
}

/* ---- the transfer list ---- */

static const char list_doc[] =
  "[{\"username\":\"someuser\",\"directories\":["
  "{\"directory\":\"@@abcde\\\\Music\\\\Artist\\\\Album (2001)\","
  "\"fileCount\":2,\"files\":["
  "{\"batchId\":\"509d1c1b-9ba0-4ce4-b3fd-dd4d7c361a34\","
  "\"id\":\"2fb7faec-1f94-4f40-8155-ce8ad67713c0\",\"username\":\"someuser\","
  "\"direction\":\"Download\","
  "\"filename\":\"@@abcde\\\\Music\\\\Artist\\\\Album (2001)\\\\01 - "
  "Caf\\u00E9 \\u0026 \\uD83C\\uDFB5.flac\",\"size\":31457280,"
  "\"state\":\"InProgress\",\"requestedAt\":\"2026-08-22T18:00:01.123456\","
  "\"enqueuedAt\":\"2026-08-22T18:00:02.5\","
  "\"startedAt\":\"2026-08-22T18:00:05.25Z\",\"bytesTransferred\":10485760,"
  "\"averageSpeed\":1048576,\"attempts\":0,\"removed\":false,"
  "\"bytesRemaining\":20971520,\"elapsedTime\":\"00:00:10.0012345\","
  "\"percentComplete\":33.333333333333336,\"remainingTime\":\"00:00:20\"},"
  "{\"id\":\"8c1d0000-0000-4000-8000-000000000001\","
  "\"direction\":\"Download\","
  "\"filename\":\"@@abcde\\\\Music\\\\Artist\\\\Album (2001)\\\\02 - "
  "Next.flac\",\"size\":29000000,\"state\":\"Completed, Rejected\","
  "\"requestedAt\":\"2026-08-22T18:00:01.2\","
  "\"endedAt\":\"2026-08-22T18:00:03.9Z\",\"bytesTransferred\":0,"
  "\"averageSpeed\":0,\"exception\":\"File not shared.\",\"attempts\":0,"
  "\"removed\":false,\"bytesRemaining\":29000000,\"percentComplete\":0}"
  "]}]}]";

static void test_transfers_parse(void **state)
{
  (void)state;
  struct slskd_transfers t;
  char err[256];
  assert_int_equal(slskd_transfers_parse(list_doc, strlen(list_doc), &t, err,
                                         sizeof err),
                   SS_OK);
  assert_int_equal(t.n, 2);
  const struct slskd_transfer *a = &t.v[0], *b = &t.v[1];
  assert_string_equal(a->id, "2fb7faec-1f94-4f40-8155-ce8ad67713c0");
  assert_string_equal(a->username, "someuser");
  assert_string_equal(a->filename,
                      "@@abcde\\Music\\Artist\\Album (2001)\\01 - "
                      "Caf\xc3\xa9 & \xf0\x9f\x8e\xb5.flac");
  assert_int_equal(a->size, 31457280);
  assert_int_equal(a->state, SLSKD_TS_IN_PROGRESS);
  assert_string_equal(a->state_text, "InProgress");
  assert_int_equal(a->bytes_transferred, 10485760);
  assert_true(a->average_speed == 1048576.0);
  assert_true(a->percent > 33.3 && a->percent < 33.4);
  assert_int_equal(a->requested_ms, 1787421601123LL);
  assert_int_equal(a->started_ms, 1787421605250LL);
  assert_int_equal(a->ended_ms, 0); /* omitted */
  assert_int_equal(a->elapsed_ms, 10001);
  assert_int_equal(a->remaining_ms, 20000);
  assert_int_equal(a->place_in_queue, -1);
  assert_null(a->exception);
  /* no username of its own: the group's */
  assert_string_equal(b->username, "someuser");
  assert_int_equal(slskd_phase_of(b->state), SLSKD_PHASE_FAILED);
  assert_string_equal(b->exception, "File not shared.");
  assert_int_equal(b->ended_ms, 1787421603900LL);
  assert_int_equal(b->elapsed_ms, -1);
  slskd_transfers_free(&t);

  assert_int_equal(slskd_transfers_parse("[]", 2, &t, err, sizeof err), SS_OK);
  assert_int_equal(t.n, 0);
  slskd_transfers_free(&t);
  /* the group's username may come after its directories */
  static const char late[] =
    "[{\"directories\":[{\"files\":[{\"id\":\"x\",\"filename\":\"a\\\\b\","
    "\"state\":\"Queued, Remotely\"}]}],\"username\":\"late\"}]";
  assert_int_equal(slskd_transfers_parse(late, strlen(late), &t, err,
                                         sizeof err),
                   SS_OK);
  assert_string_equal(t.v[0].username, "late");
  slskd_transfers_free(&t);
}

static void expect_malformed(const char *doc)
{
  struct slskd_transfers t;
  char err[256] = "";
  int rc = slskd_transfers_parse(doc, strlen(doc), &t, err, sizeof err);
  if (rc != SS_EPROTO)
    fprintf(stderr, "accepted: %s\n", doc);
  assert_int_equal(rc, SS_EPROTO);
  assert_non_null(strstr(err, "malformed"));
  assert_int_equal(t.n, 0); /* all or nothing */
  assert_null(t.v);
}

static void test_transfers_malformed(void **state)
{
  (void)state;
  char half[sizeof list_doc];
  snprintf(half, sizeof half, "%.*s", (int)(sizeof list_doc / 2), list_doc);
  expect_malformed(half);                   /* truncated */
  expect_malformed("{\"error\":\"nope\"}"); /* not a list */
  expect_malformed("[] junk");              /* trailing data */
  expect_malformed("[{\"username\":\"u\",\"directories\":[{\"files\":"
                   "[{\"id\":17,\"filename\":\"x\",\"state\":\"Queued\"}]}"
                   "]}]"); /* id a number */
  expect_malformed("[{\"username\":\"u\",\"directories\":[{\"files\":"
                   "[{\"id\":\"x\",\"filename\":\"x\"}]}]}]"); /* no state */
  expect_malformed("[{\"directories\":[{\"files\":[{\"id\":\"x\","
                   "\"filename\":\"f\",\"state\":\"Queued\"}]}]}]"); /* user */
  expect_malformed("[{\"username\":\"u\",\"directories\":[{\"files\":"
                   "[{\"id\":\"x\",\"filename\":\"a\x01\",\"state\":\"Q\"}"
                   "]}]}]"); /* raw control */
  expect_malformed("[{\"username\":\"u\",\"directories\":[{\"files\":"
                   "[{\"id\":\"x\",\"filename\":\"f\",\"state\":\"Q\","
                   "\"requestedAt\":\"soon\"}]}]}]"); /* bad time */
  expect_malformed("[1,]");
  char deep[200];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 99);
  deep[199] = '\0';
  expect_malformed(deep); /* depth bomb */
}

static void test_jpull_strings(void **state)
{
  (void)state;
  struct jpull j;
  char out[16];
  size_t n;
  /* a lone surrogate and \u0000 become U+FFFD */
  jpull_init(&j, "\"a\\uD800b\\u0000\"", 16);
  assert_int_equal(jpull_string(&j, out, sizeof out, &n), SS_OK);
  assert_string_equal(out, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd");
  /* cut on a character boundary */
  jpull_init(&j, "\"aaaaaaaaaaaaa\\u00e9\\u00e9\"", 28);
  assert_int_equal(jpull_string(&j, out, sizeof out, &n), SS_OK);
  assert_true(j.truncated);
  assert_string_equal(out, "aaaaaaaaaaaaa\xc3\xa9");
  jpull_init(&j, "\"aaaaaaaaaaaaaa\xc3\xa9\"", 18);
  assert_int_equal(jpull_string(&j, out, sizeof out, &n), SS_OK);
  assert_true(j.truncated);
  assert_string_equal(out, "aaaaaaaaaaaaaa");
  jpull_init(&j, "1048576.0", 9);
  int64_t v;
  assert_int_equal(jpull_int(&j, &v), SS_OK);
  assert_int_equal(v, 1048576);
  jpull_init(&j, "1.5", 3);
  assert_int_equal(jpull_int(&j, &v), SS_EPROTO);
  jpull_init(&j, "null", 4);
  assert_int_equal(jpull_int(&j, &v), SS_ENOTFOUND);
  jpull_init(&j, "01", 2);
  assert_int_equal(jpull_int(&j, &v), SS_EPROTO);
}

/* ---- responses, enqueue, application ---- */

static void test_responses_parse(void **state)
{
  (void)state;
  static const char doc[] =
    "[{\"fileCount\":2,\"files\":["
    "{\"bitDepth\":16,\"code\":1,\"extension\":\"\","
    "\"filename\":\"@@a\\\\Music\\\\Artist\\\\Album\\\\01 - T.FLAC\","
    "\"length\":254,\"sampleRate\":44100,\"size\":31234567,"
    "\"isLocked\":false},"
    "{\"bitRate\":320,\"code\":1,\"extension\":\"mp3\","
    "\"filename\":\"@@a\\\\Music\\\\Artist\\\\Album\\\\02 - U\","
    "\"isVariableBitRate\":false,\"size\":8054321,\"isLocked\":false}],"
    "\"hasFreeUploadSlot\":true,\"lockedFileCount\":1,"
    "\"lockedFiles\":[{\"filename\":\"x\",\"size\":1}],\"queueLength\":3,"
    "\"token\":51234,\"uploadSpeed\":1310720,\"username\":\"peer1\"}]";
  struct slskd_responses r;
  char err[256];
  assert_int_equal(slskd_responses_parse(doc, strlen(doc), &r, err,
                                         sizeof err),
                   SS_OK);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.v[0].username, "peer1");
  assert_true(r.v[0].free_slot);
  assert_int_equal(r.v[0].queue_length, 3);
  assert_int_equal(r.v[0].upload_speed, 1310720);
  assert_int_equal(r.v[0].n_locked, 1);
  assert_int_equal(r.v[0].n_files, 2);
  const struct slskd_file *f = r.v[0].files;
  assert_string_equal(f[0].ext, "flac"); /* from the name, lower case */
  assert_int_equal(f[0].bit_depth, 16);
  assert_int_equal(f[0].sample_rate, 44100);
  assert_int_equal(f[0].bitrate, 0);    /* omitted */
  assert_string_equal(f[1].ext, "mp3"); /* no dot: the peer's field */
  assert_int_equal(f[1].bitrate, 320);
  assert_int_equal(f[1].length, 0);
  slskd_responses_free(&r);
}

static void test_enqueue_and_app_parse(void **state)
{
  (void)state;
  struct slskd_enqueue_reply e;
  char err[256];
  static const char modern[] =
    "{\"enqueued\":[{\"id\":\"abc\",\"username\":\"u\",\"filename\":\"a\\\\"
    "b.flac\",\"state\":\"Queued, Locally\"}],\"failed\":[{},{}]}";
  assert_int_equal(slskd_enqueue_parse(modern, strlen(modern), &e, err,
                                       sizeof err),
                   SS_OK);
  assert_false(e.legacy_empty);
  assert_int_equal(e.n_enqueued, 1);
  assert_string_equal(e.enqueued[0].id, "abc");
  assert_string_equal(e.enqueued[0].filename, "a\\b.flac");
  assert_int_equal(e.n_failed, 2);
  slskd_enqueue_reply_free(&e);
  assert_int_equal(slskd_enqueue_parse("", 0, &e, err, sizeof err), SS_OK);
  assert_true(e.legacy_empty);
  assert_int_equal(slskd_enqueue_parse("{\"enqueued\":", 12, &e, err,
                                       sizeof err),
                   SS_EPROTO);

  struct slskd_app app;
  static const char doc[] =
    "{\"version\":{\"full\":\"0.26.0.0\",\"current\":\"0.26.0\"},"
    "\"server\":{\"state\":\"Connected, LoggedIn\",\"isLoggedIn\":true},"
    "\"user\":{\"username\":\"me\"},\"rooms\":[]}";
  assert_int_equal(slskd_app_parse(doc, strlen(doc), &app, err, sizeof err),
                   SS_OK);
  assert_string_equal(app.version, "0.26.0");
  assert_true(app.logged_in);
  assert_string_equal(app.username, "me");
}

static void test_paths(void **state)
{
  (void)state;
  char out[64], dir[32], base[32];
  slskd_path_escape("we ird/\xc3\xa4%", out, sizeof out);
  assert_string_equal(out, "we%20ird%2F%C3%A4%25");
  fs_split_peer_path("@@a\\Music\\Album\\01.flac", dir, sizeof dir, base,
                     sizeof base);
  assert_string_equal(dir, "Album");
  assert_string_equal(base, "01.flac");
  fs_split_peer_path("plain.mp3", dir, sizeof dir, base, sizeof base);
  assert_string_equal(dir, "");
  assert_string_equal(base, "plain.mp3");
  char g1[SLSKD_ID_MAX], g2[SLSKD_ID_MAX];
  slskd_new_guid(g1);
  slskd_new_guid(g2);
  assert_int_equal(strlen(g1), 36);
  assert_int_equal(g1[14], '4');
  assert_string_not_equal(g1, g2);
}

/* ---- calls against the fake ---- */

struct fx {
  struct fake_slskd *fk;
  struct slskd *c;
};

static int setup(void **state)
{
  struct fx *f = xcalloc(1, sizeof *f);
  if (fake_slskd_start(&f->fk, 0, KEY) != SS_OK)
    return -1;
  f->c = slskd_new(fake_slskd_url(f->fk), KEY);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  http_host_blocks_reset();
  slskd_free(f->c);
  fake_slskd_stop(f->fk);
  free(f);
  return 0;
}

static void test_auth_and_reachability(void **state)
{
  struct fx *f = *state;
  struct slskd_app app;
  assert_int_equal(slskd_application(f->c, &app), SS_OK);
  assert_string_equal(app.version, "0.26.0");
  assert_true(app.logged_in);
  struct slskd *bad = slskd_new(fake_slskd_url(f->fk), "wrong-key-xxxxxxxx");
  struct slskd_transfers t;
  assert_int_equal(slskd_downloads(bad, &t), SS_ESTATE);
  assert_int_equal(slskd_last_status(bad), 401);
  assert_string_equal(slskd_last_error(bad),
                      "slskd refused the API key (HTTP 401)");
  assert_null(strstr(slskd_last_error(bad), "wrong-key"));
  slskd_free(bad);
  struct slskd *down = slskd_new("http://127.0.0.1:1/", KEY);
  assert_int_equal(slskd_downloads(down, &t), SS_ENET);
  assert_non_null(strstr(slskd_last_error(down),
                         "slskd unreachable at http://127.0.0.1:1:"));
  slskd_free(down);
}

static void test_search_flow(void **state)
{
  struct fx *f = *state;
  fake_slskd_add_file(f->fk, &(struct fake_sk_file){
                               "p\xc3\xbc"
                               "er",
                               "@@x\\Music\\Band\\Album\\01 - Song.flac", 1000,
                               0, 16, 44100, 200, false, NULL, FAKE_SK_OK});
  fake_slskd_add_file(f->fk,
                      &(struct fake_sk_file){"other", "@@y\\Other\\Thing.mp3",
                                             10, 320, 0, 0, 0, false, NULL,
                                             FAKE_SK_OK});
  fake_slskd_set_search_polls(f->fk, 2);
  char id[SLSKD_ID_MAX];
  slskd_new_guid(id);
  assert_int_equal(slskd_search_start(f->c, id, "band song", 15000), SS_OK);
  struct slskd_search s;
  struct slskd_responses r;
  assert_int_equal(slskd_search_get(f->c, id, &s), SS_OK);
  assert_false(s.complete);
  /* responses stay [] until the search completes */
  assert_int_equal(slskd_search_responses(f->c, id, &r), SS_OK);
  assert_int_equal(r.n, 0);
  slskd_responses_free(&r);
  assert_int_equal(slskd_search_get(f->c, id, &s), SS_OK);
  assert_true(s.complete);
  assert_int_equal(s.state, SLSKD_SS_COMPLETED | SLSKD_SS_TIMED_OUT);
  assert_int_equal(slskd_search_responses(f->c, id, &r), SS_OK);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.v[0].username, "p\xc3\xbc"
                                       "er"); /* \u00FC */
  assert_string_equal(r.v[0].files[0].ext, "flac");
  slskd_responses_free(&r);
  assert_int_equal(slskd_search_get(f->c, "no-such-id", &s), SS_ENOTFOUND);
  fake_slskd_set_logged_in(f->fk, false);
  slskd_new_guid(id);
  assert_int_equal(slskd_search_start(f->c, id, "x", 15000), SS_ESTATE);
  assert_non_null(strstr(slskd_last_error(f->c), "not logged in"));
}

static void test_enqueue_list_cancel(void **state)
{
  struct fx *f = *state;
  struct slskd_want w[2] = {{"@@x\\A\\B\\01.flac", 100},
                            {"@@x\\A\\B\\02.flac", 200}};
  struct slskd_enqueue_reply e;
  fake_slskd_set_auto_advance(f->fk, false);
  assert_int_equal(slskd_enqueue(f->c, "a user/x", w, 2, &e), SS_OK);
  assert_int_equal(e.n_enqueued, 2);
  char id0[SLSKD_ID_MAX];
  snprintf(id0, sizeof id0, "%s", e.enqueued[0].id);
  slskd_enqueue_reply_free(&e);
  /* again: already queued files land in "failed" ({} entries) */
  assert_int_equal(slskd_enqueue(f->c, "a user/x", w, 1, &e), SS_OK);
  assert_int_equal(e.n_enqueued, 0);
  assert_int_equal(e.n_failed, 1);
  slskd_enqueue_reply_free(&e);
  fake_slskd_set_legacy_enqueue(f->fk, true);
  struct slskd_want w3 = {"@@x\\A\\B\\03.flac", 300};
  assert_int_equal(slskd_enqueue(f->c, "a user/x", &w3, 1, &e), SS_OK);
  assert_true(e.legacy_empty);
  slskd_enqueue_reply_free(&e);

  struct slskd_transfers t;
  assert_int_equal(slskd_downloads(f->c, &t), SS_OK);
  assert_int_equal(t.n, 3);
  assert_string_equal(t.v[0].username, "a user/x");
  assert_string_equal(t.v[0].state_text, "Queued, Locally");
  slskd_transfers_free(&t);
  /* cancel is asynchronous: Completed, Cancelled after the next step */
  assert_int_equal(slskd_cancel(f->c, "a user/x", id0, false), SS_OK);
  assert_int_equal(slskd_cancel(f->c, "a user/x", "unknown-id", true), SS_OK);
  char st[64];
  assert_true(fake_slskd_transfer_state(f->fk, "a user/x", w[0].filename, st,
                                        sizeof st));
  assert_string_equal(st, "Queued, Locally");
  fake_slskd_advance(f->fk, 1);
  assert_true(fake_slskd_transfer_state(f->fk, "a user/x", w[0].filename, st,
                                        sizeof st));
  assert_string_equal(st, "Completed, Cancelled");
  /* empty list, offline peer */
  assert_int_equal(slskd_enqueue(f->c, "a user/x", w, 0, &e), SS_EPROTO);
  fake_slskd_add_file(f->fk,
                      &(struct fake_sk_file){"gone", "@@g\\x.flac", 1, 0, 0, 0,
                                             0, false, NULL, FAKE_SK_OFFLINE});
  struct slskd_want g = {"@@g\\x.flac", 1};
  assert_int_equal(slskd_enqueue(f->c, "gone", &g, 1, &e), SS_EPROTO);
  assert_int_equal(slskd_last_status(f->c), 500);
  assert_non_null(strstr(slskd_last_error(f->c), "appears to be offline"));
}

struct busy_arg {
  const char *url;
  int rc;
};

static void *enqueue_thread(void *arg)
{
  struct busy_arg *a = arg;
  struct slskd *c = slskd_new(a->url, KEY);
  struct slskd_want w = {"@@b\\x.flac", 1};
  struct slskd_enqueue_reply e;
  a->rc = slskd_enqueue(c, "busy", &w, 1, &e);
  slskd_enqueue_reply_free(&e);
  slskd_free(c);
  return NULL;
}

/* A 503 with Retry-After blocks slskd's host for every client (the shared
 * per-host block of http_client.h): no request until then. */
static void test_retry_after_blocks_the_host(void **state)
{
  struct fx *f = *state;
  struct fake_http *fh = fake_slskd_http(f->fk);
  struct fake_script busy = {.status = 503,
                             .headers = {"Retry-After: 60"},
                             .times = 1};
  fake_http_script(fh, "GET", "/api/v0/application", &busy);
  struct slskd_app app;
  assert_int_not_equal(slskd_application(f->c, &app), SS_OK);
  size_t before = fake_http_count(fh, NULL, "*");
  struct slskd *other = slskd_new(fake_slskd_url(f->fk), KEY);
  struct slskd_transfers t;
  assert_int_equal(slskd_downloads(other, &t), SS_EBUSY);
  assert_non_null(strstr(slskd_last_error(other), "rate limited until"));
  assert_int_equal(fake_http_count(fh, NULL, "*"), before);
  slskd_free(other);
  /* Once the block is gone (here: forgotten) calls go through again. */
  http_host_blocks_reset();
  assert_int_equal(slskd_application(f->c, &app), SS_OK);
}

static void test_enqueue_429(void **state)
{
  struct fx *f = *state;
  struct busy_arg a[4];
  pthread_t t[4];
  fake_slskd_set_enqueue_delay(f->fk, 300);
  for (int i = 0; i < 4; i++) {
    a[i] = (struct busy_arg){fake_slskd_url(f->fk), 0};
    pthread_create(&t[i], NULL, enqueue_thread, &a[i]);
  }
  int busy = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    busy += a[i].rc == SS_EBUSY;
  }
  assert_true(busy >= 1); /* at most two run at once */
  assert_true(fake_slskd_enqueue_peak(f->fk) <= 2);
  assert_int_equal(fake_slskd_enqueue_busy(f->fk), (size_t)busy);
}

static void test_bad_lists(void **state)
{
  struct fx *f = *state;
  struct slskd_transfers t;
  fake_slskd_set_list_mode(f->fk, FAKE_SK_LIST_MALFORMED);
  assert_int_equal(slskd_downloads(f->c, &t), SS_EPROTO);
  assert_non_null(strstr(slskd_last_error(f->c), "malformed"));
  fake_slskd_set_list_mode(f->fk, FAKE_SK_LIST_TRUNCATED);
  struct slskd_want w = {"@@x\\A\\01.flac", 100};
  struct slskd_enqueue_reply e;
  assert_int_equal(slskd_enqueue(f->c, "u", &w, 1, &e), SS_OK);
  slskd_enqueue_reply_free(&e);
  assert_int_equal(slskd_downloads(f->c, &t), SS_EPROTO);
  fake_slskd_set_list_mode(f->fk, FAKE_SK_LIST_HUGE);
  assert_int_equal(slskd_downloads(f->c, &t), SS_ETOOBIG);
  assert_non_null(strstr(slskd_last_error(f->c), "too large"));
  assert_int_equal(t.n, 0);
  fake_slskd_set_list_mode(f->fk, FAKE_SK_LIST_OK);
  assert_int_equal(slskd_downloads(f->c, &t), SS_OK);
  assert_int_equal(t.n, 1);
  slskd_transfers_free(&t);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_transfer_flags),
    cmocka_unit_test(test_times),
    cmocka_unit_test(test_transfers_parse),
    cmocka_unit_test(test_transfers_malformed),
    cmocka_unit_test(test_jpull_strings),
    cmocka_unit_test(test_responses_parse),
    cmocka_unit_test(test_enqueue_and_app_parse),
    cmocka_unit_test(test_paths),
    cmocka_unit_test_setup_teardown(test_auth_and_reachability, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_search_flow, setup, teardown),
    cmocka_unit_test_setup_teardown(test_enqueue_list_cancel, setup, teardown),
    cmocka_unit_test_setup_teardown(test_enqueue_429, setup, teardown),
    cmocka_unit_test_setup_teardown(test_retry_after_blocks_the_host, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_bad_lists, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
