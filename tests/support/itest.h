/*
 * itest.h - shared helpers of the integration tests (cmocka).
 *
 * Waiting: it_wait_* poll a condition every IT_POLL_MS until it holds or a
 * deadline passes; tests never sleep for a fixed time.  JSON: responses are
 * parsed with jansson; the caller json_decref()s what it_get_json returns.
 * A common fixture (struct it_fixture) holds one daemon, the four fakes and
 * a response buffer; its teardown stops the daemon with SIGTERM and fails
 * the test when the daemon crashed, did not exit 0, or printed a sanitizer
 * report - so every integration test also checks a clean shutdown.
 *
 * Threading: main test thread only.
 */
#ifndef SS_TEST_ITEST_H
#define SS_TEST_ITEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "daemon.h"
#include "fake_all.h"
#include "http_test_client.h"

#define IT_POLL_MS 10
#define IT_URL_MAX 512

/* What most integration tests need; zeroed by it_setup. */
struct it_fixture {
  struct test_daemon d;
  struct fake_all fa;
  struct hc_resp r;
  char url[IT_URL_MAX]; /* scratch for it_url */
};

/* cmocka setup/teardown for struct it_fixture. */
int it_setup(void **state);
int it_teardown(void **state);

/* d->url + path in f->url; returns it. */
const char *it_url(struct it_fixture *f, const char *path);

/* GET url and parse the body as JSON; NULL (with a message on stderr) on
 * transport or parse errors.  *status (may be NULL) gets the HTTP status. */
json_t *it_get_json(const char *url, long *status);
/* Parses r's body; NULL with a message on failure. */
json_t *it_parse(const struct hc_resp *r);

/* Sends PATCH /api/settings with a JSON body (Content-Type set). */
int it_patch_settings(struct it_fixture *f, const char *json_body);
/* Same with extra headers ("Name: value", NULL-terminated). */
int it_patch_settings_h(struct it_fixture *f, const char *json_body,
                        const char *const *headers);

/* POST /api/workers/{unit}/run (the dashboard's Run now); returns the
 * HTTP status (202 queued), or an SS_E* code when nothing answered. */
int it_run_now(struct it_fixture *f, const char *unit);
/* The same, asked again while it only folds into a run in progress
 * ("queued": false), so that a forced run happens; 202 or as above. */
int it_run_now_queued(struct it_fixture *f, const char *unit);

/* Starts the four fakes (slskd with slskd_key), gives the fake Spotify the
 * library l (NULL: its default), then the daemon with the fakes' settings
 * (slskd's url only), a Spotify client id and secret when client, a probe
 * interval of an hour and extra (NULL: none); env as daemon_start's
 * (non-NULL: the test build).  Last, it points spotify.redirect_uri at the
 * daemon (asserting 200).  Fails the test on any error. */
void it_start_spotify(struct it_fixture *f, const char *slskd_key,
                      const struct fake_spotify_library *l, bool client,
                      const char *extra, const char *const *env);

/* Sends method to path (it_url) with headers ("Name: value",
 * NULL-terminated; may be NULL) and body (may be NULL), and asserts that
 * it was answered with HTTP status want (printing the body otherwise).
 * The reply stays in f->r. */
void it_request_expect(struct it_fixture *f, const char *method,
                       const char *path, const char *const *headers,
                       const char *body, long want);
/* {"Content-Type: application/json", NULL}: headers of a JSON body. */
extern const char *const it_json_headers[];

typedef bool (*it_pred_fn)(void *arg);
/* Polls pred until it returns true or timeout_ms pass; returns its last
 * answer. */
bool it_wait_until(it_pred_fn pred, void *arg, int timeout_ms);

typedef bool (*it_json_pred_fn)(json_t *doc, void *arg);
/* Polls GET url until pred(doc) holds; false on timeout.  *elapsed_ms (may
 * be NULL) gets the time until it held. */
bool it_wait_json(const char *url, it_json_pred_fn pred, void *arg,
                  int timeout_ms, int64_t *elapsed_ms);

/* One unit's row of GET /api/workers. */
struct it_unit_state {
  long long runs; /* since start-up; 0 when the row is missing */
  bool active;    /* state "active": running now */
  bool worked;    /* its last run did work: result "ok" or "error" */
};
/* Reads unit's row of GET /api/workers into *out (zeroed when the request
 * or the row failed). */
void it_unit_state(struct it_fixture *f, const char *unit,
                   struct it_unit_state *out);
/* Its runs since start-up alone. */
long long it_unit_runs(struct it_fixture *f, const char *unit);
/* What it_wait_unit_runs waits for besides more than `after` runs. */
enum it_runs_until {
  IT_RUNS_COUNTED, /* the count alone */
  IT_RUNS_ENDED,   /* and the unit is not running */
  IT_RUNS_WORKED   /* and not running, its last run did work (a run that
                    * found nothing to do, skipped, does not count) */
};
/* Polls unit's row of GET /api/workers until it has more than `after` runs
 * and `until` holds; false on timeout, with the row on stderr unless
 * quiet. */
bool it_wait_unit_runs(struct it_fixture *f, const char *unit, long long after,
                       enum it_runs_until until, int timeout_ms, bool quiet);

/* Borrowed workers.<key> object of a /api/workers/status document. */
json_t *it_worker(json_t *status_doc, const char *key);
/* Borrowed unit object (by "key") of a GET /api/workers document. */
json_t *it_unit(json_t *units_doc, const char *key);
/* The array of units of a GET /api/workers document (borrowed). */
json_t *it_units_array(json_t *units_doc);
/* Waits until unit's history (GET /api/workers) holds a run with result
 * `result` ("deferred", "error", ...), a message containing needle (NULL:
 * any) and a start (its last one, when folded) at or after since_ms (wall
 * ms, 0: any); false on timeout, with the newest entry on stderr. */
bool it_wait_run(struct it_fixture *f, const char *unit, const char *result,
                 const char *needle, int64_t since_ms, int timeout_ms);

/* Asserts a 4xx/5xx body {"error": "..."} whose reason contains words;
 * consumes doc. */
void it_expect_error(json_t *doc, const char *words);

/* The element of doc's "items" array whose "title" is title (a list
 * such as /api/wanted), or NULL; borrowed from doc. */
json_t *it_item_titled(json_t *doc, const char *title);

/* Case-insensitive substring test (ASCII folding). */
bool it_contains_ci(const char *hay, const char *needle);
/* Number of non-overlapping occurrences of needle in hay. */
size_t it_count(const char *hay, const char *needle);

/* Asserts an HTTP status, printing the body when it differs. */
#define IT_ASSERT_STATUS(resp, want)                                          \
  do {                                                                        \
    if ((resp)->status != (long)(want))                                       \
      fprintf(stderr, "error: HTTP %ld, expected %d (%s): %.2000s\n",         \
              (resp)->status, (int)(want), (resp)->error,                     \
              buf_cstr(&(resp)->body));                                       \
    assert_int_equal((resp)->status, (want));                                 \
  } while (0)

/* Asserts a string JSON member equal to want. */
#define IT_ASSERT_JSON_STR(obj, key, want)                                    \
  do {                                                                        \
    json_t *v_ = json_object_get((obj), (key));                               \
    if (!json_is_string(v_) || strcmp(json_string_value(v_), (want)) != 0)    \
      fprintf(stderr, "error: %s: expected \"%s\", got %s\n", (key), (want),  \
              v_ ? (json_is_string(v_) ? json_string_value(v_)                \
                                       : "(not a string)")                    \
                 : "(missing)");                                              \
    assert_true(json_is_string(v_));                                          \
    assert_string_equal(json_string_value(v_), (want));                       \
  } while (0)

/* Asserts an integer JSON member (not a real, not a string) equal to want. */
#define IT_ASSERT_JSON_INT(obj, key, want)                                    \
  do {                                                                        \
    json_t *v_ = json_object_get((obj), (key));                               \
    if (!json_is_integer(v_) || json_integer_value(v_) != (want))             \
      fprintf(stderr, "error: %s: expected integer %lld, got %s%lld\n",       \
              (key), (long long)(want),                                       \
              json_is_integer(v_) ? "" : "(not an integer) ",                 \
              (long long)json_integer_value(v_));                             \
    assert_true(json_is_integer(v_));                                         \
    assert_int_equal(json_integer_value(v_), (want));                         \
  } while (0)

/* Asserts a boolean JSON member equal to want. */
#define IT_ASSERT_JSON_BOOL(obj, key, want)                                   \
  do {                                                                        \
    json_t *v_ = json_object_get((obj), (key));                               \
    if (!json_is_boolean(v_) || json_is_true(v_) != (bool)(want))             \
      fprintf(stderr, "error: %s: expected %s\n", (key),                      \
              (want) ? "true" : "false");                                     \
    assert_true(json_is_boolean(v_));                                         \
    assert_int_equal(json_is_true(v_), (bool)(want));                         \
  } while (0)

#endif
