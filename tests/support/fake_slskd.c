/*
 * fake_slskd.c - fake slskd HTTP API v0 (external-apis.md section 3 and the
 * checklist in 6).  See fake_services.h.
 */
#include "fake_services.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/xalloc.h"
#include "fake_common.h"


struct fake_slskd {
  struct fake_http *http;
  pthread_mutex_t mu;
  char api_key[FAKE_SECRET_MAX];
  bool logged_in;
};

static void sk_health(const struct fake_req *req, struct fake_reply *rep,
                      void *arg)
{
  (void)req;
  (void)arg;
  fake_reply_set(rep, 200, "text/plain", "Healthy");
}

/* Server state: null properties are omitted (address when disconnected). */
static json_t *sk_server_json(bool logged_in)
{
  if (logged_in)
    return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "address",
                     "vps.slsknet.org:2271", "ipEndPoint",
                     "208.76.170.59:2271", "state", "Connected, LoggedIn",
                     "isConnected", 1, "isConnecting", 0, "isLoggedIn", 1,
                     "isLoggingIn", 0, "isTransitioning", 0);
  return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "state", "Disconnected",
                   "isConnected", 0, "isConnecting", 0, "isLoggedIn", 0,
                   "isLoggingIn", 0, "isTransitioning", 0);
}

static json_t *sk_application_json(bool logged_in)
{
  json_t *app = json_pack(
      "{s:{s:s, s:s, s:s, s:b, s:b, s:b}, s:b, s:b, s:o,"
      " s:{s:b, s:b, s:b}, s:{s:b, s:b},"
      " s:{s:s, s:{s:s}, s:[]}}",
      "version", "full", "0.26.0.0", "current", "0.26.0", "latest", "0.26.0",
      "isUpdateAvailable", 0, "isCanary", 0, "isDevelopment", 0,
      "pendingReconnect", 0, "pendingRestart", 0, "server",
      sk_server_json(logged_in), "connectionWatchdog", "isEnabled", 1,
      "isAttemptingConnection", 0, "isAwaitingVpn", 0, "vpn", "isReady", 0,
      "isConnected", 0, "relay", "mode", "Controller", "controller", "state",
      "Disconnected", "agents");
  json_object_set_new(
      app, "health",
      json_pack("{s:{s:{s:i, s:i, s:i}}}", "search", "incoming", "latency", 0,
                "queueDepth", 0, "dropRate", 0));
  json_object_set_new(
      app, "user",
      json_pack("{s:s, s:{s:b, s:i}, s:{s:i, s:i, s:i, s:i}}", "username",
                "me", "privileges", "isPrivileged", 0, "privilegesRemaining",
                0, "statistics", "averageSpeed", 0, "directoryCount", 0,
                "fileCount", 0, "uploadCount", 0));
  json_object_set_new(
      app, "distributedNetwork",
      json_pack("{s:i, s:b, s:i, s:[], s:b, s:b}", "branchLevel", 0,
                "canAcceptChildren", 0, "childLimit", 0, "children",
                "hasParent", 0, "isBranchRoot", 0));
  json_object_set_new(
      app, "shares",
      json_pack("{s:b, s:b, s:b, s:b, s:b, s:i, s:[], s:i, s:i}",
                "scanPending", 0, "scanning", 0, "ready", 1, "faulted", 0,
                "cancelled", 0, "scanProgress", 1, "hosts", "directories",
                10, "files", 100));
  json_object_set_new(app, "rooms", json_array());
  json_object_set_new(app, "users", json_array());
  return app;
}

static void sk_api(const struct fake_req *req, struct fake_reply *rep,
                   void *arg)
{
  struct fake_slskd *fk = arg;
  const char *path = fake_req_path(req);
  const char *key = fake_req_header(req, "X-API-Key");
  bool get = strcmp(fake_req_method(req), "GET") == 0;
  pthread_mutex_lock(&fk->mu);
  bool auth_on = fk->api_key[0] != '\0';
  bool key_ok = !auth_on || (key && strcmp(key, fk->api_key) == 0);
  bool logged_in = fk->logged_in;
  pthread_mutex_unlock(&fk->mu);

  if (get && strcmp(path, "/api/v0/session/enabled") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, auth_on ? "true" : "false");
  } else if (!key_ok) {
    fake_reply_set(rep, 401, "", NULL); /* empty body, no content type */
  } else if (get && strcmp(path, "/api/v0/application") == 0) {
    fake__reply_json(rep, 200, JSON_UTF8, sk_application_json(logged_in));
  } else if (get && strcmp(path, "/api/v0/application/version") == 0) {
    fake_reply_set(rep, 200, JSON_UTF8, "\"0.26.0\"");
  } else if (get && strcmp(path, "/api/v0/server") == 0) {
    fake__reply_json(rep, 200, JSON_UTF8, sk_server_json(logged_in));
  } else {
    fake_reply_set(rep, 404, "", NULL);
  }
}

int fake_slskd_start(struct fake_slskd **out, int port, const char *api_key)
{
  struct fake_slskd *fk = xcalloc(1, sizeof *fk);
  pthread_mutex_init(&fk->mu, NULL);
  fake__copy_str(fk->api_key, sizeof fk->api_key, api_key);
  fk->logged_in = true;
  int rc = fake_http_start(&fk->http, port);
  if (rc != SS_OK) {
    fake_slskd_stop(fk);
    *out = NULL;
    return rc;
  }
  fake_http_route(fk->http, "GET", "/health", sk_health, fk);
  fake_http_route(fk->http, "HEAD", "/health", sk_health, fk);
  fake_http_route(fk->http, NULL, "/api/v0/*", sk_api, fk);
  *out = fk;
  return SS_OK;
}

void fake_slskd_stop(struct fake_slskd *fk)
{
  if (!fk)
    return;
  fake_http_stop(fk->http);
  pthread_mutex_destroy(&fk->mu);
  free(fk);
}

struct fake_http *fake_slskd_http(struct fake_slskd *fk) { return fk->http; }

const char *fake_slskd_url(const struct fake_slskd *fk)
{
  return fake_http_url(fk->http);
}

void fake_slskd_set_api_key(struct fake_slskd *fk, const char *api_key)
{
  pthread_mutex_lock(&fk->mu);
  fake__copy_str(fk->api_key, sizeof fk->api_key, api_key);
  pthread_mutex_unlock(&fk->mu);
}

void fake_slskd_set_logged_in(struct fake_slskd *fk, bool logged_in)
{
  pthread_mutex_lock(&fk->mu);
  fk->logged_in = logged_in;
  pthread_mutex_unlock(&fk->mu);
}

