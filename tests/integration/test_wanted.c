/*
 * test_wanted.c - the Wanted list over HTTP against a real soulspotd:
 * a manual add (the same release again, in NFD, is the same item), bad
 * bodies and bad list parameters (400 with a reason), one item and 404,
 * the actions search now / ignore / retry with their state checks (409
 * with a reason, 404), a search that makes a real download request, the
 * cross-site check of the actions (403, nothing changed), items written
 * into the store before the start (given up, an upgrade, a hostile name)
 * on the /wanted page's tabs with every name escaped, the page's buttons,
 * the automation entry's details (open counts per source, downloads
 * triggered), and run now of the automation entry (every enabled part).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "automation/ownership.h"
#include "core/err.h"
#include "db/db.h"
#include "db/db_wanted.h"
#include "itest.h"

#define JSON_HDR "Content-Type: application/json"
#define EVIL "<b>&\"'"

static const char *const json_hdr[] = {JSON_HDR, NULL};

static json_t *post_json(struct it_fixture *f, const char *path,
                         const char *body, long want)
{
  assert_int_equal(hc_request("POST", it_url(f, path), json_hdr, body, &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, want);
  json_t *doc = it_parse(&f->r);
  assert_non_null(doc);
  return doc;
}

static json_t *get_json(struct it_fixture *f, const char *path, long want)
{
  long status = 0;
  json_t *doc = it_get_json(it_url(f, path), &status);
  assert_non_null(doc);
  if (status != want)
    fprintf(stderr, "error: GET %s: HTTP %ld, expected %ld\n", path, status,
            want);
  assert_int_equal(status, want);
  return doc;
}

static int64_t id_of(json_t *doc)
{
  json_t *v = json_object_get(doc, "id");
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static void seed(struct db *db, const char *source, const char *state,
                 enum wanted_kind kind, const char *artist, const char *title,
                 const char *reason)
{
  struct wanted_item w;
  memset(&w, 0, sizeof w);
  w.kind = kind;
  snprintf(w.source, sizeof w.source, "%s", source);
  snprintf(w.state, sizeof w.state, "%s", state);
  snprintf(w.artist, sizeof w.artist, "%s", artist);
  snprintf(w.title, sizeof w.title, "%s", title);
  snprintf(w.reason, sizeof w.reason, "%s", reason);
  if (kind == WANTED_ALBUM)
    ownership_album_key(artist, title, w.norm_key, sizeof w.norm_key);
  else
    ownership_track_key(artist, title, w.norm_key, sizeof w.norm_key);
  if (!strcmp(source, "quality_upgrade"))
    snprintf(w.current_quality, sizeof w.current_quality, "mp3 128k");
  int64_t id;
  bool added;
  assert_int_equal(db_wanted_add(db, &w, 1700000000000LL, &id, &added), SS_OK);
  assert_true(added);
}

/* Items written into the store before the daemon starts. */
static void prepare_store(struct it_fixture *f)
{
  assert_int_equal(daemon_prepare(&f->d, NULL), SS_OK);
  struct db *db = NULL;
  int version;
  assert_int_equal(db_open(f->d.db_path, &db), SS_OK);
  assert_int_equal(db_migrate(db, &version), SS_OK);
  seed(db, "watchlist", "given_up", WANTED_ALBUM, "AC/DC",
       "Flick of the "
       "Switch",
       "gave up after 6 attempts: download failed: no peer");
  seed(db, "quality_upgrade", "wanted", WANTED_TRACK, "坂本龍一",
       "Merry Christmas Mr. Lawrence", "");
  seed(db, "playlist", "wanted", WANTED_TRACK, EVIL, EVIL " song", EVIL);
  db_close(db);
}

static void test_manual_add_and_list(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  json_t
    *doc = post_json(f, "/api/wanted",
                     "{\"kind\":\"album\",\"artist\":\"Sigur R\xc3\xb3s\","
                     "\"title\":\"Takk...\"}",
                     201);
  int64_t id = id_of(doc);
  IT_ASSERT_JSON_STR(doc, "source", "manual");
  IT_ASSERT_JSON_STR(doc, "state", "wanted");
  IT_ASSERT_JSON_STR(doc, "kind", "album");
  IT_ASSERT_JSON_STR(doc, "artist", "Sigur R\xc3\xb3s");
  IT_ASSERT_JSON_INT(doc, "attempts", 0);
  IT_ASSERT_JSON_BOOL(doc, "auto_download", true);
  json_decref(doc);
  char loc[64], want_loc[64];
  assert_true(hc_header(&f->r, "Location", loc, sizeof loc));
  snprintf(want_loc, sizeof want_loc, "/api/wanted/%lld", (long long)id);
  assert_string_equal(loc, want_loc);
  /* the same release in NFD with a deluxe suffix: the same item */
  doc = post_json(f, "/api/wanted",
                  "{\"kind\":\"album\",\"artist\":\"sigur ro\xcc\x81s\","
                  "\"title\":\"Takk... (Deluxe Edition)\"}",
                  200);
  assert_int_equal(id_of(doc), id);
  json_decref(doc);
  /* a track of the same name is another item */
  doc = post_json(f, "/api/wanted",
                  "{\"kind\":\"track\",\"artist\":\"Sigur R\xc3\xb3s\","
                  "\"title\":\"Takk...\"}",
                  201);
  assert_int_not_equal(id_of(doc), id);
  json_decref(doc);

  /* bad bodies: 400 with a reason */
  it_expect_error(post_json(f, "/api/wanted", "not json", 400), "JSON");
  it_expect_error(post_json(f, "/api/wanted", "[1]", 400), "object");
  it_expect_error(post_json(f, "/api/wanted",
                            "{\"kind\":\"single\",\"artist\":\"a\",\"title\":"
                            "\"b\"}",
                            400),
                  "kind");
  it_expect_error(post_json(f, "/api/wanted",
                            "{\"kind\":\"album\",\"artist\":\"a\",\"title\":"
                            "\"\"}",
                            400),
                  "empty");
  it_expect_error(
    post_json(f, "/api/wanted",
              "{\"kind\":\"album\",\"artist\":\"a\",\"title\":1}", 400),
    "string");
  it_expect_error(post_json(f, "/api/wanted",
                            "{\"kind\":\"album\",\"artist\":\"a\",\"title\":"
                            "\"b\",\"state\":\"imported\"}",
                            400),
                  "unknown");

  /* the list, its filters and paging */
  doc = get_json(f, "/api/wanted", 200);
  IT_ASSERT_JSON_INT(doc, "total", 2);
  json_t *items = json_object_get(doc, "items");
  assert_int_equal(json_array_size(items), 2);
  IT_ASSERT_JSON_STR(json_array_get(items, 0), "kind", "track"); /* newest */
  json_decref(doc);
  doc = get_json(f, "/api/wanted?state=open&source=manual&offset=1&limit=1",
                 200);
  IT_ASSERT_JSON_INT(doc, "total", 2);
  IT_ASSERT_JSON_INT(doc, "offset", 1);
  IT_ASSERT_JSON_INT(doc, "limit", 1);
  assert_int_equal(id_of(json_array_get(json_object_get(doc, "items"), 0)),
                   id);
  json_decref(doc);
  doc = get_json(f, "/api/wanted?state=given_up", 200);
  IT_ASSERT_JSON_INT(doc, "total", 0);
  json_decref(doc);
  it_expect_error(get_json(f, "/api/wanted?state=lost", 400), "state");
  it_expect_error(get_json(f, "/api/wanted?state=", 400), "state");
  it_expect_error(get_json(f, "/api/wanted?source=radio", 400), "source");
  it_expect_error(get_json(f, "/api/wanted?offset=-1", 400), "offset");
  it_expect_error(get_json(f, "/api/wanted?limit=abc", 400), "limit");
  it_expect_error(get_json(f, "/api/wanted?limit=201", 400), "limit");

  /* one item */
  char path[96];
  snprintf(path, sizeof path, "/api/wanted/%lld", (long long)id);
  doc = get_json(f, path, 200);
  assert_int_equal(id_of(doc), id);
  IT_ASSERT_JSON_STR(doc, "title", "Takk...");
  json_decref(doc);
  it_expect_error(get_json(f, "/api/wanted/987654", 404), "no such");
  it_expect_error(get_json(f, "/api/wanted/abc", 404), "no such");
}

static void test_actions(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  json_t *doc = post_json(f, "/api/wanted",
                          "{\"kind\":\"album\",\"artist\":\"Guns N' Roses\","
                          "\"title\":\"Appetite for Destruction\"}",
                          201);
  int64_t id = id_of(doc);
  json_decref(doc);
  char search[96], ignore[96], retry[96], path[96];
  snprintf(search, sizeof search, "/api/wanted/%lld/search", (long long)id);
  snprintf(ignore, sizeof ignore, "/api/wanted/%lld/ignore", (long long)id);
  snprintf(retry, sizeof retry, "/api/wanted/%lld/retry", (long long)id);

  /* from another site: refused, nothing changed */
  const char *const forged[] = {"Origin: http://evil.example", JSON_HDR, NULL};
  assert_int_equal(hc_request("POST", it_url(f, search), forged, "", &f->r),
                   SS_OK);
  IT_ASSERT_STATUS(&f->r, 403);
  snprintf(path, sizeof path, "/api/wanted/%lld", (long long)id);
  doc = get_json(f, path, 200);
  IT_ASSERT_JSON_STR(doc, "state", "wanted");
  json_decref(doc);

  /* retry only from given up / ignored */
  it_expect_error(post_json(f, retry, "", 409), "only given up or ignored");

  /* search now: a real download request */
  doc = post_json(f, search, "", 200);
  IT_ASSERT_JSON_STR(doc, "state", "searching");
  IT_ASSERT_JSON_INT(doc, "attempts", 1);
  int64_t req = json_integer_value(json_object_get(doc, "request_id"));
  assert_true(req > 0);
  json_decref(doc);
  snprintf(path, sizeof path, "/api/downloads/%lld", (long long)req);
  doc = get_json(f, path, 200);
  IT_ASSERT_JSON_STR(doc, "kind", "album");
  IT_ASSERT_JSON_STR(doc, "artist", "Guns N' Roses");
  IT_ASSERT_JSON_STR(doc, "title", "Appetite for Destruction");
  json_decref(doc);
  it_expect_error(post_json(f, search, "", 409), "already under way");

  /* ignore: its download is cancelled too */
  doc = post_json(f, ignore, "", 200);
  IT_ASSERT_JSON_STR(doc, "state", "ignored");
  IT_ASSERT_JSON_STR(doc, "reason", "ignored by you");
  json_decref(doc);
  doc = get_json(f, path, 200);
  IT_ASSERT_JSON_STR(doc, "state", "cancelled");
  json_decref(doc);
  it_expect_error(post_json(f, ignore, "", 409), "already ignored");
  it_expect_error(post_json(f, search, "", 409), "press retry first");

  /* retry: wanted again, attempts reset */
  doc = post_json(f, retry, "", 200);
  IT_ASSERT_JSON_STR(doc, "state", "wanted");
  IT_ASSERT_JSON_INT(doc, "attempts", 0);
  json_decref(doc);

  /* unknown items */
  it_expect_error(post_json(f, "/api/wanted/987654/search", "", 404),
                  "no wanted item");
  it_expect_error(post_json(f, "/api/wanted/987654/retry", "", 404),
                  "no wanted item");

  /* the automation entry's details count it */
  doc = get_json(f, "/api/workers/status", 200);
  json_t *det = json_object_get(it_worker(doc, "automation"), "details");
  json_t *open = json_object_get(det, "wanted_open");
  IT_ASSERT_JSON_INT(open, "manual", 1);
  IT_ASSERT_JSON_INT(open, "watchlist", 0);
  IT_ASSERT_JSON_INT(det, "downloads_triggered", 1);
  IT_ASSERT_JSON_INT(det, "wanted_given_up", 0);
  /* the contract's keys stay */
  assert_true(json_is_boolean(json_object_get(det, "watchlist_running")));
  assert_true(json_is_boolean(json_object_get(det, "discography_running")));
  assert_true(
    json_is_boolean(json_object_get(det, "quality_upgrade_running")));
  json_decref(doc);
}

static void test_page(void **state)
{
  struct it_fixture *f = *state;
  prepare_store(f);
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  /* the counts are there from the start */
  json_t *doc = get_json(f, "/api/workers/status", 200);
  json_t *det = json_object_get(it_worker(doc, "automation"), "details");
  json_t *open = json_object_get(det, "wanted_open");
  IT_ASSERT_JSON_INT(open, "quality_upgrade", 1);
  IT_ASSERT_JSON_INT(open, "playlist", 1);
  IT_ASSERT_JSON_INT(det, "wanted_given_up", 1);
  json_decref(doc);

  /* Missing: the playlist track, escaped; not the upgrade */
  assert_int_equal(hc_get(it_url(f, "/wanted"), &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  const char *html = buf_cstr(&f->r.body);
  assert_non_null(strstr(html, "href=\"/wanted\"")); /* nav link */
  assert_non_null(strstr(html, "aria-current=\"page\">Missing"));
  assert_non_null(strstr(html, "&lt;b&gt;&amp;&quot;&#39; song"));
  assert_null(strstr(html, EVIL));
  assert_null(strstr(html, "Merry Christmas"));
  assert_non_null(strstr(html, "Search now"));
  /* Upgrades */
  assert_int_equal(hc_get(it_url(f, "/wanted?tab=upgrades"), &f->r), SS_OK);
  html = buf_cstr(&f->r.body);
  assert_non_null(strstr(html, "Merry Christmas Mr. Lawrence"));
  assert_non_null(strstr(html, "mp3 128k"));
  assert_null(strstr(html, "&lt;b&gt;"));
  /* Given up: the reason in plain words and a Retry button */
  assert_int_equal(hc_get(it_url(f, "/wanted/list?tab=given_up"), &f->r),
                   SS_OK);
  html = buf_cstr(&f->r.body);
  assert_non_null(strstr(html, "Flick of the Switch"));
  assert_non_null(strstr(html, "gave up after 6 attempts"));
  assert_non_null(strstr(html, "data-action=\"retry\""));

  /* a button: retry from the page answers the list with a notice */
  doc = get_json(f, "/api/wanted?state=given_up", 200);
  int64_t id = id_of(json_array_get(json_object_get(doc, "items"), 0));
  json_decref(doc);
  char path[96];
  snprintf(path, sizeof path, "/wanted/%lld/retry?tab=given_up",
           (long long)id);
  const char *const hx[] = {"HX-Request: true", NULL};
  assert_int_equal(hc_request("POST", it_url(f, path), hx, "", &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  html = buf_cstr(&f->r.body);
  assert_non_null(strstr(html, "Back on the list."));
  assert_non_null(strstr(html, "Nothing was given up."));
  /* the same button again: the reason, in the page */
  assert_int_equal(hc_request("POST", it_url(f, path), hx, "", &f->r), SS_OK);
  IT_ASSERT_STATUS(&f->r, 200);
  assert_non_null(strstr(buf_cstr(&f->r.body),
                         "only given up or ignored items can be retried"));
  snprintf(path, sizeof path, "/api/wanted/%lld", (long long)id);
  doc = get_json(f, path, 200);
  IT_ASSERT_JSON_STR(doc, "state", "wanted");
  json_decref(doc);
}

static bool watchlist_ran(json_t *doc, void *arg)
{
  (void)arg;
  return json_array_size(json_object_get(it_unit(doc, "automation.watchlist"),
                                         "history")) > 0;
}

/* Run now of the contract's "automation" entry runs every enabled part. */
static void test_run_now_automation(void **state)
{
  struct it_fixture *f = *state;
  assert_int_equal(daemon_start(&f->d, NULL, NULL), SS_OK);
  /* every part off (the default): 409 */
  it_expect_error(post_json(f, "/api/workers/automation/run", "", 409),
                  "disabled");
  assert_int_equal(it_patch_settings(f, "{\"automation.watchlist_enabled\":"
                                        "true}"),
                   SS_OK);
  json_t *doc = post_json(f, "/api/workers/automation/run", "", 202);
  IT_ASSERT_JSON_STR(doc, "worker", "automation");
  assert_true(json_is_true(json_object_get(doc, "queued")) ||
              json_is_true(json_object_get(doc, "already_running")));
  json_decref(doc);
  /* the watchlist ran (it says why it skipped); the parts that are off
   * did not */
  doc = get_json(f, "/api/workers", 200);
  assert_int_equal(json_array_size(
                     json_object_get(it_unit(doc, "automation.discography"),
                                     "history")),
                   0);
  json_decref(doc);
  assert_true(
    it_wait_json(it_url(f, "/api/workers"), watchlist_ran, NULL, 10000, NULL));
  it_expect_error(post_json(f, "/api/workers/automations/run", "", 404),
                  "unknown worker");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_manual_add_and_list, it_setup,
                                    it_teardown),
    cmocka_unit_test_setup_teardown(test_actions, it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_page, it_setup, it_teardown),
    cmocka_unit_test_setup_teardown(test_run_now_automation, it_setup,
                                    it_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
