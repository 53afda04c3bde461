/*
 * workers_view.h - the Workers API's three representations, as pure
 * functions of a model.
 *
 * A struct workers_model is a plain copy of everything the status endpoints
 * show: the unit snapshots, the service probe results and the few settings
 * that appear in details.  workers_model_collect() fills it from the
 * runtime, the prober and the settings (any thread, never blocks on work);
 * the render functions turn it into the contract's JSON, the sidebar's HTML
 * fragment and the services JSON, with German relative times computed for
 * `now_ms`.  Keeping rendering pure makes every rule unit-testable.
 */
#ifndef SS_WORKERS_VIEW_H
#define SS_WORKERS_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "db/db_wanted.h"
#include "services/backoff.h"
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
  struct backoff_state backoff[SVC__COUNT]; /* services/backoff.h */
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

void workers_model_collect(struct workers_model *m);

/* The units shown in entry w, in table order (out: UNIT__COUNT slots);
 * returns how many. */
size_t workers_view_units(enum view_worker w, enum unit_id *out);

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
int workers_render_json(struct buf *out, const struct workers_model *m,
                        int64_t now_ms);
/* GET /api/workers/status/html */
int workers_render_html(struct buf *out, const struct workers_model *m,
                        int64_t now_ms);
/* GET /api/workers/services: exactly four booleans. */
int workers_render_services(struct buf *out, const struct workers_model *m);
/* GET /api/workers/services/detail: reason, latency, checked_at. */
int workers_render_services_detail(struct buf *out,
                                   const struct workers_model *m,
                                   int64_t now_ms);

#endif
