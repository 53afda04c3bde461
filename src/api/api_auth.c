/*
 * api_auth.c - authentication of every request, the login page and the
 * Security tab of the settings page (issue 9, item 2).
 *
 * api_authorize() is the HTTP server's authorize hook; it runs after the
 * Host and cross-site checks and lets a request in when:
 *   1. its path is open: /healthz, /livez, /readyz, /login, /logout,
 *      /static/..., and the
 *      Spotify login callback (guarded by its own state record and cookie);
 *   2. server.allow_unauthenticated_remote is on (authentication off);
 *   3. it comes from loopback, server.auth_loopback_exempt is on and it
 *      carries no proxy header (X-Forwarded-For, X-Real-IP, Forwarded: a
 *      reverse proxy on this machine must not make everyone "local");
 *   4. it carries the API key (X-Api-Key header, Authorization: Bearer, or
 *      ?apikey=);
 *   5. it carries a live session cookie (AUTH_COOKIE).
 * Otherwise /api/... (and any write) gets 401 JSON, a page GET a 303 to
 * /login?next=PATH.  A wrong API key is 401 even with a good session.
 *
 * Messages reach pages as fixed codes mapped to fixed text, never as text
 * from the request; every dynamic string is escaped.  The key is shown
 * only to a request let in by loopback, session or the key itself.
 *
 * Threading: HTTP threads; the login and the Security forms open their own
 * store connection (api_open_store) for the rare database work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/pages.h"
#include "auth/auth.h"
#include "config/settings.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/html.h"
#include "core/log.h"
#include "db/db.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define NEXT_MAX 1024
#define COOKIE_MAX 256
#define SESSION_MAX_AGE_S (AUTH_SESSION_TTL_MS / 1000)

/* How a request was let in (http_req_auth). */
enum auth_via {
  VIA_OPEN = 1,
  VIA_UNAUTHENTICATED,
  VIA_LOOPBACK,
  VIA_KEY,
  VIA_SESSION
};

/* ------------------------------------------------------------- helpers */

/* Answered 401 JSON, never a redirect to the login page (/metrics: a
 * scraper cannot log in). */
static bool is_api_path(const char *path)
{
  return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") ||
         !strcmp(path, "/metrics");
}

static bool is_open_path(const char *path)
{
  return !strcmp(path, "/healthz") || !strcmp(path, "/livez") ||
         !strcmp(path, "/readyz") || !strcmp(path, "/login") ||
         !strcmp(path, "/logout") || !strncmp(path, "/static/", 8) ||
         !strcmp(path, "/auth/spotify/callback");
}

static bool forwarded(const struct http_req *req)
{
  return http_req_header(req, "X-Forwarded-For") ||
         http_req_header(req, "X-Real-IP") ||
         http_req_header(req, "Forwarded");
}

static bool session_cookie(const struct http_req *req, char *out, size_t n)
{
  return auth_cookie_value(http_req_header(req, "Cookie"), AUTH_COOKIE, out,
                           n);
}

static bool has_session(const struct http_req *req)
{
  char id[COOKIE_MAX];
  return session_cookie(req, id, sizeof id) &&
         auth_session_valid(id, clock_wall_ms());
}

/* Percent-encodes everything but unreserved characters and '/'. */
static void url_encode(struct buf *out, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
    if (plain)
      buf_putc(out, (char)*p);
    else
      buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
  }
}

static void redirect(struct http_resp *resp, const char *to)
{
  resp->status = 303;
  resp->content_type = "text/plain; charset=utf-8";
  buf_reset(&resp->body);
  http_resp_header(resp, "Location", to);
  http_resp_header(resp, "Cache-Control", "no-store");
}

static void set_session_cookie(struct http_req *req, struct http_resp *resp,
                               const char *id, long max_age)
{
  const char *proto = http_req_header(req, "X-Forwarded-Proto");
  char cookie[COOKIE_MAX + 128];
  snprintf(cookie, sizeof cookie,
           AUTH_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%ld%s",
           id, max_age,
           proto && !strcasecmp(proto, "https") ? "; Secure" : "");
  http_resp_header(resp, "Set-Cookie", cookie);
}

/* Refreshes key and password state from the store (a --set-password run
 * while the daemon is up counts at once). */
static enum ss_err open_and_load(struct db **db)
{
  enum ss_err rc = api_open_store(db);
  if (rc == SS_OK)
    rc = auth_store_load(*db, NULL);
  return rc;
}

/* ------------------------------------------------------------ the hook */

static void refuse(struct http_req *req, struct http_resp *resp,
                   const char *why)
{
  const char *path = http_req_path(req);
  const char *m = http_req_method(req);
  bool page_read = !strcmp(m, "GET") || !strcmp(m, "HEAD");
  if (is_api_path(path) || !page_read) {
    http_resp_error(resp, 401, why);
    return;
  }
  struct buf to;
  buf_init(&to, NEXT_MAX + 64);
  buf_puts(&to, "/login?next=");
  url_encode(&to, path);
  redirect(resp, buf_ok(&to) ? buf_cstr(&to) : "/login");
  buf_free(&to);
}

/* The credentials of "Authorization: Bearer KEY" (Prometheus'
 * authorization setting), or NULL. */
static const char *bearer_token(const struct http_req *req)
{
  const char *v = http_req_header(req, "Authorization");
  if (!v || strncasecmp(v, "Bearer ", 7))
    return NULL;
  v += 7;
  while (*v == ' ')
    v++;
  return v;
}

bool api_authorize(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  const char *path = http_req_path(req);
  if (is_open_path(path)) {
    http_req_set_auth(req, VIA_OPEN);
    return true;
  }
  if (settings_bool(S_SERVER_ALLOW_UNAUTHENTICATED_REMOTE)) {
    http_req_set_auth(req, VIA_UNAUTHENTICATED);
    return true;
  }
  const char *key = http_req_header(req, "X-Api-Key");
  if (!key)
    key = bearer_token(req);
  if (!key)
    key = http_req_query(req, "apikey");
  if (key) {
    if (!auth_key_matches(key)) {
      http_resp_error(resp, 401, "invalid API key");
      return false;
    }
    http_req_set_auth(req, VIA_KEY);
    return true;
  }
  if (settings_bool(S_SERVER_AUTH_LOOPBACK_EXEMPT) &&
      http_req_client_is_loopback(req) && !forwarded(req)) {
    http_req_set_auth(req, VIA_LOOPBACK);
    return true;
  }
  if (has_session(req)) {
    http_req_set_auth(req, VIA_SESSION);
    return true;
  }
  refuse(req, resp,
         "authentication required: log in at /login or send "
         "the API key in the X-Api-Key header");
  return false;
}

/* --------------------------------------------------------- login page */

/* Fixed messages of the login page and the Security card. */
static const struct {
  const char *code;
  bool good;
  const char *text;
} notices[] = {
  {"wrong", false, "Wrong password."},
  {"nopassword", false,
   "No password is set. Set one on this machine: open the settings page "
   "(Security tab) from http://127.0.0.1, or run "
   "\"soulspotd --set-password\"."},
  {"blocked", false,
   "Too many failed logins from this address. Try again later."},
  {"error", false, "Something went wrong; see the daemon's log."},
  {"key", true, "A new API key was made; the old one no longer works."},
  {"password", true, "The password was saved; other sessions were ended."},
  {"current", false, "The current password is wrong."},
  {"mismatch", false, "The two new passwords differ."},
  {"rules", false,
   "The password must have 8 to 256 characters and no control "
   "characters."},
};

static void render_notice(struct buf *out, const char *code)
{
  for (size_t i = 0; code && i < sizeof notices / sizeof notices[0]; i++) {
    if (strcmp(code, notices[i].code))
      continue;
    buf_puts(out, notices[i].good ? "<p class=\"field-saved\" role=\"status\">"
                                  : "<p class=\"field-error\" role=\"alert\" "
                                    "id=\"auth-error\">");
    html_escape(out, notices[i].text);
    buf_puts(out, "</p>\n");
    return;
  }
}

static void render_login(struct buf *out, const char *next, const char *notice,
                         int64_t blocked_s)
{
  pages_head(out, "Log in");
  buf_puts(out, "<body>\n<main class=\"main login\" id=\"main\">\n"
                "<section class=\"card\" aria-labelledby=\"login-title\">\n"
                "<div class=\"card-head\"><h1 id=\"login-title\">"
                "<i class=\"bi bi-disc\" aria-hidden=\"true\"></i> SoulSpot"
                "</h1></div>\n<div class=\"card-body\">\n");
  render_notice(out, notice);
  if (blocked_s > 0)
    buf_printf(out,
               "<p class=\"field-error\" id=\"auth-blocked\">Try again "
               "in %lld minute(s).</p>\n",
               (long long)((blocked_s + 59) / 60));
  buf_puts(out, "<form method=\"post\" action=\"/login\" id=\"login-form\">\n"
                "<input type=\"hidden\" name=\"next\" value=\"");
  html_escape(out, next);
  buf_puts(out, "\">\n<label class=\"field-label\" for=\"password\">Password"
                "</label>\n<input type=\"password\" id=\"password\" "
                "name=\"password\" autocomplete=\"current-password\" "
                "required autofocus>\n<button type=\"submit\" class=\"btn\" "
                "id=\"login-submit\">Log in</button>\n</form>\n"
                "</div>\n</section>\n</main>\n</body>\n</html>\n");
}

static void login_page(struct http_resp *resp, int status, const char *next,
                       const char *notice, int64_t blocked_s)
{
  buf_reset(&resp->body);
  resp->status = status;
  resp->content_type = HTML_TYPE;
  http_resp_header(resp, "Cache-Control", "no-store");
  render_login(&resp->body, auth_next_is_local(next) ? next : "/", notice,
               blocked_s);
}

void api_login_page(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  struct db *db = NULL;
  if (open_and_load(&db) != SS_OK) {
    db_close(db);
    login_page(resp, 500, http_req_query(req, "next"), "error", 0);
    return;
  }
  db_close(db);
  char addr[AUTH_ADDR_MAX];
  http_req_client_addr(req, addr, sizeof addr);
  int64_t blocked = auth_login_blocked_for(addr, clock_wall_ms());
  login_page(resp, 200, http_req_query(req, "next"),
             blocked               ? "blocked"
             : auth_has_password() ? NULL
                                   : "nopassword",
             blocked);
}

void api_login_submit(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  char *password = http_req_form_value(req, "password");
  char *next = http_req_form_value(req, "next");
  char addr[AUTH_ADDR_MAX];
  http_req_client_addr(req, addr, sizeof addr);
  int64_t now = clock_wall_ms();
  int64_t blocked = auth_login_blocked_for(addr, now);
  struct db *db = NULL;
  if (blocked) {
    login_page(resp, 429, next, "blocked", blocked);
    char after[24];
    snprintf(after, sizeof after, "%lld", (long long)blocked);
    http_resp_header(resp, "Retry-After", after);
  } else if (api_open_store(&db) != SS_OK) {
    login_page(resp, 500, next, "error", 0);
  } else {
    enum ss_err rc = auth_store_check_password(db, password ? password : "");
    if (rc == SS_OK) {
      char id[AUTH_SESSION_ID_LEN + 1];
      auth_login_succeeded(addr);
      auth_session_start(now, id, sizeof id);
      redirect(resp, auth_next_is_local(next) ? next : "/");
      set_session_cookie(req, resp, id, (long)SESSION_MAX_AGE_S);
      log_info("auth", "login from %.63s", addr);
    } else if (rc == SS_ENOTFOUND) {
      login_page(resp, 401, next, "nopassword", 0);
    } else if (rc == SS_EINVAL) {
      auth_login_failed(addr, now);
      log_info("auth", "failed login from %.63s", addr);
      int64_t wait = auth_login_blocked_for(addr, now);
      login_page(resp, 401, next, wait ? "blocked" : "wrong", wait);
    } else {
      login_page(resp, 500, next, "error", 0);
    }
  }
  db_close(db);
  free(password);
  free(next);
}

void api_logout(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)ctx;
  char id[COOKIE_MAX];
  if (session_cookie(req, id, sizeof id))
    auth_session_end(id);
  redirect(resp, "/login");
  set_session_cookie(req, resp, "", 0);
}

/* ------------------------------------------------- the Security card */

static bool may_see_key(const struct http_req *req)
{
  int via = req ? http_req_auth(req) : 0;
  return via == VIA_LOOPBACK || via == VIA_KEY || via == VIA_SESSION;
}

void api_auth_security_card(struct buf *out, const struct http_req *req)
{
  const char *notice = req ? http_req_query(req, "security") : NULL;
  buf_puts(out, "<section class=\"card\" id=\"security\">\n"
                "<div class=\"card-head\"><h2>Authentication</h2></div>\n"
                "<div class=\"card-body\">\n");
  render_notice(out, notice);
  if (may_see_key(req)) {
    char key[AUTH_KEY_LEN + 1];
    auth_key_copy(key, sizeof key);
    buf_puts(out, "<p>API key (send it as the <code>X-Api-Key</code> header "
                  "or <code>?apikey=</code>): <code id=\"api-key\">");
    html_escape(out, key);
    buf_puts(out, "</code></p>\n");
  } else {
    buf_puts(out, "<p class=\"muted\">Log in to see the API key.</p>\n");
  }
  buf_puts(out, "<form method=\"post\" action=\"/settings/security/key\">"
                "<button type=\"submit\" class=\"btn\" id=\"regenerate-key\">"
                "<i class=\"bi bi-arrow-repeat\" aria-hidden=\"true\"></i> "
                "Regenerate API key</button></form>\n");
  bool has = auth_has_password();
  buf_puts(out, has ? "<p id=\"password-state\">A password is set.</p>\n"
                    : "<p id=\"password-state\">No password is set: only "
                      "this machine can use soulspotd's pages.</p>\n");
  buf_puts(out, "<form method=\"post\" action=\"/settings/security/password\" "
                "id=\"password-form\" class=\"fields\">\n");
  if (has)
    buf_puts(out, "<label class=\"field-label\" for=\"pw-current\">Current "
                  "password</label><input type=\"password\" id=\"pw-current\" "
                  "name=\"current\" autocomplete=\"current-password\">\n");
  buf_puts(out, "<label class=\"field-label\" for=\"pw-new\">New password"
                "</label><input type=\"password\" id=\"pw-new\" "
                "name=\"password\" autocomplete=\"new-password\" "
                "minlength=\"8\" required>\n"
                "<label class=\"field-label\" for=\"pw-confirm\">Repeat the "
                "new password</label><input type=\"password\" "
                "id=\"pw-confirm\" name=\"confirm\" "
                "autocomplete=\"new-password\" minlength=\"8\" required>\n"
                "<button type=\"submit\" class=\"btn\" id=\"set-password\">"
                "Set password</button>\n</form>\n");
  if (req && http_req_auth(req) == VIA_SESSION)
    buf_puts(out, "<form method=\"post\" action=\"/logout\"><button "
                  "type=\"submit\" class=\"btn\" id=\"logout\">Log out"
                  "</button></form>\n");
  buf_puts(out, "<p class=\"field-hint\">Requests from this machine need no "
                "login while server.auth_loopback_exempt is on. Behind a "
                "reverse proxy on this machine, requests carrying "
                "X-Forwarded-For are not treated as local.</p>\n"
                "</div>\n</section>\n");
}

static void back_to_security(struct http_resp *resp, const char *code)
{
  char to[96];
  snprintf(to, sizeof to, "/settings?tab=security&security=%s", code);
  redirect(resp, to);
}

void api_security_key(struct http_req *req, struct http_resp *resp, void *ctx)
{
  (void)req;
  (void)ctx;
  struct db *db = NULL;
  enum ss_err rc = api_open_store(&db);
  if (rc == SS_OK)
    rc = auth_store_regenerate_key(db);
  db_close(db);
  back_to_security(resp, rc == SS_OK ? "key" : "error");
}

/* The outcome code of a password change. */
static const char *change_password(struct http_req *req, struct db *db,
                                   const char *current, const char *pw,
                                   const char *confirm)
{
  char addr[AUTH_ADDR_MAX], err[160];
  http_req_client_addr(req, addr, sizeof addr);
  int64_t now = clock_wall_ms();
  if (auth_login_blocked_for(addr, now))
    return "blocked";
  if (auth_has_password()) {
    enum ss_err rc = auth_store_check_password(db, current ? current : "");
    if (rc == SS_EINVAL) {
      auth_login_failed(addr, now);
      return "current";
    }
    if (rc != SS_OK && rc != SS_ENOTFOUND)
      return "error";
  }
  if (!pw || !confirm || strcmp(pw, confirm))
    return "mismatch";
  enum ss_err rc = auth_store_set_password(db, pw, err, sizeof err);
  return rc == SS_OK ? "password" : rc == SS_EINVAL ? "rules" : "error";
}

void api_security_password(struct http_req *req, struct http_resp *resp,
                           void *ctx)
{
  (void)ctx;
  char *current = http_req_form_value(req, "current");
  char *pw = http_req_form_value(req, "password");
  char *confirm = http_req_form_value(req, "confirm");
  struct db *db = NULL;
  const char *code = open_and_load(&db) == SS_OK
                       ? change_password(req, db, current, pw, confirm)
                       : "error";
  db_close(db);
  back_to_security(resp, code);
  /* Every session ended with the change; this browser stays logged in. */
  if (!strcmp(code, "password") && http_req_auth(req) == VIA_SESSION) {
    char id[AUTH_SESSION_ID_LEN + 1];
    auth_session_start(clock_wall_ms(), id, sizeof id);
    set_session_cookie(req, resp, id, (long)SESSION_MAX_AGE_S);
  }
  free(current);
  free(pw);
  free(confirm);
}
