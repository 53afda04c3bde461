/*
 * api_notify.c - notifications: the status of each target, "Send test",
 * and the settings page's Notifications card.
 *
 *   GET  /api/notify/status       JSON: per target configured, sent,
 *                                 failed, test_pending, last attempt;
 *                                 dropped events
 *   GET  /api/notify/status/html  the same as the card's status lines
 *   POST /api/notify/test         {"target": "ntfy"} (or a form field
 *                                 target): queues a test message, 202
 *
 * Handlers never wait on the network: a test is queued for the sender
 * thread (services/notify.h) and its outcome shows in the status, which
 * the card polls (htmx).  Every dynamic string is escaped; no URL or token
 * is ever rendered.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/html.h"
#include "core/json.h"
#include "services/notify.h"

static const char *const target_labels[NOTIFY__TARGETS] = {"Webhook", "ntfy",
                                                           "Gotify"};

static void utc_time(char *out, size_t n, int64_t wall_ms)
{
  time_t t = (time_t)(wall_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void api_notify_status(struct http_req *req, struct http_resp *resp,
                              void *ctx)
{
  (void)req;
  (void)ctx;
  struct notify_target_status st[NOTIFY__TARGETS];
  uint64_t dropped = 0;
  notify_status(st, &dropped);
  struct buf *b = &resp->body;
  buf_puts(b, "{\"targets\":{");
  for (int t = 0; t < NOTIFY__TARGETS; t++) {
    const struct notify_target_status *s = &st[t];
    if (t)
      buf_putc(b, ',');
    json_str(b, notify_target_name((enum notify_target)t));
    buf_printf(b,
               ":{\"configured\":%s,\"sent\":%llu,\"failed\":%llu,"
               "\"test_pending\":%s,\"last\":",
               s->configured ? "true" : "false", (unsigned long long)s->sent,
               (unsigned long long)s->failed,
               s->test_pending ? "true" : "false");
    if (!s->has_last) {
      buf_puts(b, "null}");
      continue;
    }
    buf_printf(b, "{\"result\":\"%s\",\"test\":%s,\"at_ms\":%lld,\"error\":",
               s->last_ok ? "sent" : "error", s->last_test ? "true" : "false",
               (long long)s->last_ms);
    json_str(b, s->last_error);
    buf_puts(b, ",\"title\":");
    json_str(b, s->last_title);
    buf_puts(b, "}}");
  }
  buf_printf(b, "},\"dropped\":%llu}", (unsigned long long)dropped);
  http_resp_header(resp, "Cache-Control", "no-store");
}

/* The status lines of the card (one per target). */
static void render_status(struct buf *b)
{
  struct notify_target_status st[NOTIFY__TARGETS];
  uint64_t dropped = 0;
  notify_status(st, &dropped);
  buf_puts(b, "<ul class=\"notify-status\">\n");
  for (int t = 0; t < NOTIFY__TARGETS; t++) {
    const struct notify_target_status *s = &st[t];
    const char *name = notify_target_name((enum notify_target)t);
    buf_puts(b, "<li id=\"notify-status-");
    html_escape(b, name);
    buf_puts(b, "\" data-result=\"");
    buf_puts(b, !s->configured    ? "off"
                : s->test_pending ? "pending"
                : !s->has_last    ? "none"
                : s->last_ok      ? "sent"
                                  : "error");
    buf_puts(b, "\"><strong>");
    html_escape(b, target_labels[t]);
    buf_puts(b, "</strong>: ");
    if (!s->configured) {
      buf_puts(b, "not configured");
    } else if (s->test_pending) {
      buf_puts(b, "sending a test…");
    } else if (!s->has_last) {
      buf_puts(b, "nothing sent yet");
    } else {
      char when[40];
      utc_time(when, sizeof when, s->last_ms);
      buf_puts(b, s->last_ok ? "<i class=\"bi bi-check-circle-fill\" "
                               "aria-hidden=\"true\"></i> sent"
                             : "<i class=\"bi bi-exclamation-triangle-fill\" "
                               "aria-hidden=\"true\"></i> error: ");
      if (!s->last_ok)
        html_escape(b, s->last_error);
      buf_puts(b, s->last_test ? " (test) · " : " · ");
      html_escape(b, when);
      buf_puts(b, " · <span class=\"notify-title\">");
      html_escape(b, s->last_title);
      buf_puts(b, "</span>");
    }
    buf_printf(b, " <small>(%llu sent, %llu failed)</small></li>\n",
               (unsigned long long)s->sent, (unsigned long long)s->failed);
  }
  buf_puts(b, "</ul>\n");
  if (dropped)
    buf_printf(b,
               "<p class=\"msg\">%llu event(s) dropped: the queue was "
               "full.</p>\n",
               (unsigned long long)dropped);
}

static void api_notify_status_html(struct http_req *req,
                                   struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  render_status(&resp->body);
  http_resp_header(resp, "Cache-Control", "no-store");
  api_finish_html(resp);
}

/* The target named by a JSON body {"target": ...} or a form field. */
static int request_target(struct http_req *req, char *name, size_t n)
{
  const char *ct = http_req_header(req, "Content-Type");
  name[0] = '\0';
  if (ct && !strncmp(ct, "application/json", 16)) {
    size_t len;
    const char *body = http_req_body(req, &len);
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *v = json_string_value(json_object_get(doc, "target"));
    if (v)
      snprintf(name, n, "%s", v);
    json_decref(doc);
  } else {
    char *v = http_req_form_value(req, "target");
    if (v)
      snprintf(name, n, "%s", v);
    free(v);
  }
  return notify_target_lookup(name);
}

static void api_notify_test(struct http_req *req, struct http_resp *resp,
                            void *ctx)
{
  (void)ctx;
  const char *hx = http_req_header(req, "HX-Request");
  bool html = hx && !strcmp(hx, "true");
  char name[32];
  int t = request_target(req, name, sizeof name);
  if (t < 0) {
    http_resp_error(resp, 400,
                    "target must be \"webhook\", \"ntfy\" or \"gotify\"");
    return;
  }
  enum ss_err rc = notify_test((enum notify_target)t);
  if (rc == SS_ESTATE) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s is not configured", name);
    http_resp_error(resp, 409, msg);
    return;
  }
  if (rc != SS_OK) {
    http_resp_error(resp, 503, "the notification queue is full");
    return;
  }
  resp->status = 202;
  if (html) {
    render_status(&resp->body);
    api_finish_html(resp);
    return;
  }
  buf_puts(&resp->body, "{\"queued\":true,\"target\":");
  json_str(&resp->body, name);
  buf_puts(&resp->body, "}");
}

void api_notify_card(struct buf *out, const struct http_req *req)
{
  (void)req;
  buf_puts(out, "<section class=\"card\" id=\"notify-card\">\n"
                "<div class=\"card-head\"><h2>Send test</h2></div>\n"
                "<div class=\"card-body\">\n<p class=\"msg\">Set a target "
                "below, then send it a test message. Bursts are limited to "
                "5 messages per 10 minutes per target; the rest arrive as "
                "one digest.</p>\n<div class=\"notify-buttons\">");
  for (int t = 0; t < NOTIFY__TARGETS; t++) {
    const char *name = notify_target_name((enum notify_target)t);
    buf_puts(out, "<button type=\"button\" class=\"btn btn-small\" "
                  "name=\"target\" value=\"");
    html_escape(out, name);
    buf_puts(out, "\" id=\"notify-test-");
    html_escape(out, name);
    buf_puts(out,
             "\" hx-post=\"/api/notify/test\" hx-target=\"#notify-status\" "
             "hx-swap=\"innerHTML\"><i class=\"bi bi-send\" "
             "aria-hidden=\"true\"></i> Send test: ");
    html_escape(out, target_labels[t]);
    buf_puts(out, "</button> ");
  }
  buf_puts(out, "</div>\n<div id=\"notify-status\" role=\"status\" "
                "aria-live=\"polite\" hx-get=\"/api/notify/status/html\" "
                "hx-trigger=\"load, every 2s\" hx-swap=\"innerHTML\">");
  render_status(out);
  buf_puts(out, "</div>\n</div>\n</section>\n");
}

static const struct http_route routes[] = {
  {"GET", "/api/notify/status", api_notify_status},
  {"GET", "/api/notify/status/html", api_notify_status_html},
  {"POST", "/api/notify/test", api_notify_test},
};

const struct http_route *api_notify_routes(size_t *count)
{
  *count = sizeof routes / sizeof routes[0];
  return routes;
}
