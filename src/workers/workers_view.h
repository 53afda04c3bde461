/*
 * workers_view.h - the Workers API's representations (docs/API.md,
 * Workers), as pure functions of a model.
 *
 * A struct workers_model is a plain copy of everything the status endpoints
 * show: the unit snapshots, the service probe results and the few settings
 * that appear in details.  workers_model_collect() fills it from the
 * runtime, the prober and the settings (any thread, never blocks on work);
 * the render functions turn it into the contract's JSON, the sidebar's HTML
 * fragment and the services JSON, with German relative times computed for
 * `now_ms`.  Keeping rendering pure makes every rule unit-testable.
 *
 * The frame (entry order, name, icon, status, the services) is rendered
 * here (workers_view.c); each contract entry's details are rendered next
 * to its unit by a struct worker_view that the unit's file defines
 * (`<name>_view` of its OWN or FIRST row in UNITS_TABLE), using the small
 * view_* kit below.  api/ only calls the render functions.
 */
#ifndef SS_WORKERS_VIEW_H
#define SS_WORKERS_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "db/db_wanted.h"
#include "clients/backoff.h"
#include "services/prober.h"
#include "runtime/runtime.h"
#include "workers/workers.h"

/* The entries of the contract, in its order: generated from UNITS_TABLE
 * (runtime/units.h), one per OWN or FIRST row. */
#define VIEW_ENUM_OWN(view) VIEW_##view,
#define VIEW_ENUM_FIRST(view) VIEW_##view,
#define VIEW_ENUM_MEMBER(view)
#define VIEW_ENUM_ROW(id, name, view, role) VIEW_ENUM_##role(view)
enum view_worker { UNITS_TABLE(VIEW_ENUM_ROW) VIEW__COUNT };
#undef VIEW_ENUM_ROW
#undef VIEW_ENUM_OWN
#undef VIEW_ENUM_FIRST
#undef VIEW_ENUM_MEMBER

struct workers_model {
  struct unit_snapshot units[UNIT__COUNT];
  struct service_status services[SVC__COUNT];
  struct backoff_state backoff[SVC__COUNT]; /* clients/backoff.h */
  int64_t token_refresh_threshold_minutes;
  bool spotify_connected;
  bool slskd_configured;
  bool cleanup_dry_run;
  int64_t cleanup_retention_days;
  char duplicate_method[64];
  struct spotify_view spotify; /* login, rate-limit block, per-type stats */
  struct wanted_counts wanted; /* open items per source, requests made */
};

struct view_status {
  enum unit_state status;
  bool running;
};

/* One contract entry: its fixed fields and its two detail renderers,
 * defined by the unit's own file as `const struct worker_view
 * <name>_view` (the OWN or FIRST row's name).  Static data. */
struct worker_view {
  const char *key, *name, *icon, *settings_url;
  /* The entry's "details" object, '{' to '}' (documented keys first). */
  void (*json)(struct buf *b, const struct workers_model *m, int64_t now_ms);
  /* The entry's German tooltip lines (view_html_line), error included. */
  void (*html)(struct buf *b, const struct workers_model *m, int64_t now_ms);
};

#define VIEW_DECL_OWN(name) extern const struct worker_view name##_view;
#define VIEW_DECL_FIRST(name) VIEW_DECL_OWN(name)
#define VIEW_DECL_MEMBER(name)
#define VIEW_DECL_ROW(id, name, view, role) VIEW_DECL_##role(name)
UNITS_TABLE(VIEW_DECL_ROW)
#undef VIEW_DECL_ROW
#undef VIEW_DECL_OWN
#undef VIEW_DECL_FIRST
#undef VIEW_DECL_MEMBER

void workers_model_collect(struct workers_model *m);

/* The units shown in entry w, in table order (out: UNIT__COUNT slots);
 * returns how many. */
size_t workers_view_units(enum view_worker w, enum unit_id *out);
/* A unit's name column of UNITS_TABLE ("watchlist", ...).  Static. */
const char *workers_unit_name(enum unit_id id);

/* Status of one unit as the contract shows it (stopped unless running,
 * an error stays an error). */
struct view_status workers_unit_status(const struct unit_snapshot *u);
/* Status of one contract entry (automation aggregates its three units:
 * docs/API.md, Status values). */
struct view_status workers_view_status(const struct workers_model *m,
                                       enum view_worker w);
/* The same rule over several states: error > active > idle (any running) >
 * stopped. */
struct view_status workers_aggregate(const struct view_status *s, size_t n);
const char *workers_state_name(enum unit_state s); /* "idle", ... */
const char *workers_state_de(enum unit_state s);   /* "Bereit", ... */
/* What to do about a failure of reason r, in plain words: German for the
 * sidebar partial, English for the dashboard; "" for SS_R_NONE.  Static
 * text, any thread. */
const char *workers_advice_de(enum ss_reason r);
const char *workers_advice_en(enum ss_reason r);

/* GET /api/workers/status */
enum ss_err workers_render_json(struct buf *out, const struct workers_model *m,
                                int64_t now_ms);
/* GET /api/workers/status/html */
enum ss_err workers_render_html(struct buf *out, const struct workers_model *m,
                                int64_t now_ms);
/* GET /api/workers/services: exactly four booleans. */
enum ss_err workers_render_services(struct buf *out,
                                    const struct workers_model *m);
/* GET /api/workers/services/detail: reason, latency, checked_at. */
enum ss_err workers_render_services_detail(struct buf *out,
                                           const struct workers_model *m,
                                           int64_t now_ms);

/* ---- the kit of the units' detail renderers ---- */

/* JSON: "key":"<German relative time of then_ms>" (no comma). */
void view_json_rel(struct buf *b, const char *key, int64_t now_ms,
                   int64_t then_ms);
/* JSON: ,"key":"2026-03-01T12:34:56Z" (UTC), or null when ms <= 0. */
void view_json_time(struct buf *b, const char *key, int64_t ms);
/* JSON: the string, or null when it is "". */
void view_json_str_or_null(struct buf *b, const char *s);
/* JSON: ,"last_error_reason":"auth" | ... | null. */
void view_json_reason(struct buf *b, enum ss_reason r);
/* JSON: ,"last_error":"..." | null, ,"last_error_reason":..., plus
 * ,"note":"..." when set. */
void view_json_error_note(struct buf *b, const struct unit_snapshot *u);

/* HTML: one tooltip line, escaped. */
void view_html_line(struct buf *b, const char *text);
/* HTML: view_html_line() of a printf result (cut at 511 bytes, never
 * inside a character), escaped
 * the same way. */
void view_html_linef(struct buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* HTML: "Tipp: ..." under an error line: what to do about its reason. */
void view_html_advice(struct buf *b, const struct unit_snapshot *u);
/* HTML: the last lines of a single unit's entry: its error and advice,
 * else its note while it runs. */
void view_html_error_note(struct buf *b, const struct unit_snapshot *u);
/* "5 min", "2 h", "90 s". */
void view_interval_de(char *out, size_t n, int64_t seconds);
/* HTML: the Spotify rate-limit block line, when one lasts (Token Refresh
 * and Spotify Sync; spotify_account.c). */
void view_html_spotify_block(struct buf *b, const struct workers_model *m,
                             int64_t now_ms);

#endif
