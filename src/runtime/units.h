/*
 * units.h - THE list of worker units: one row per unit.
 *
 *   X(ID, name, VIEW, ROLE)
 *
 * ID    enum unit_id member (UNIT_<ID>, runtime/runtime.h);
 * name  the unit's definition is `const struct unit_def <name>_unit`,
 *       defined in src/workers/<file>.c (workers/workers.h declares it and
 *       workers/workers.c indexes it by ID, both generated from this list);
 * VIEW  the Workers API contract entry the unit is shown in (enum
 *       view_worker member VIEW_<VIEW>, workers/workers_view.h): its own,
 *       or an aggregated entry shared with other units (AUTOMATION);
 * ROLE  OWN (the unit is the entry), FIRST (opens an aggregated entry) or
 *       MEMBER (joins the entry opened by the row above it).  An OWN or
 *       FIRST row's file also defines `const struct worker_view
 *       <name>_view`: the entry's key, name, icon and detail renderers.
 *
 * Row order is the order of enum unit_id and of the contract's entries
 * (GET /api/workers/status, the sidebar).  A pure list: no includes, so
 * runtime/ can expand the ID column without depending on workers/.
 */
#ifndef SS_UNITS_H
#define SS_UNITS_H

#define UNITS_TABLE(X)                                                        \
  X(TOKEN_REFRESH, token_refresh, TOKEN_REFRESH, OWN)                         \
  X(SPOTIFY_SYNC, spotify_sync, SPOTIFY_SYNC, OWN)                            \
  X(DOWNLOAD_MONITOR, download_monitor, DOWNLOAD_MONITOR, OWN)                \
  X(WATCHLIST, watchlist, AUTOMATION, FIRST)                                  \
  X(DISCOGRAPHY, discography, AUTOMATION, MEMBER)                             \
  X(QUALITY_UPGRADE, quality_upgrade, AUTOMATION, MEMBER)                     \
  X(CLEANUP, cleanup, CLEANUP, OWN)                                           \
  X(DUPLICATE_DETECTOR, duplicate_detector, DUPLICATE_DETECTOR, OWN)

#endif
