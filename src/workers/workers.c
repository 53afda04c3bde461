/*
 * workers.c - the table of worker units (generated from
 * UNITS_TABLE, runtime/units.h) and shared preconditions.
 */
#include "workers/workers.h"

#include "core/clock.h"

#define UNIT_DEF_ROW(id, name, view, role) [UNIT_##id] = &name##_unit,
static const struct unit_def *const defs[UNIT__COUNT] = {
  UNITS_TABLE(UNIT_DEF_ROW)};
#undef UNIT_DEF_ROW

const struct unit_def *const *workers_defs(void) { return defs; }

bool workers_defer_for(struct unit_ctx *ctx, enum service_id svc)
{
  char note[UNIT_NOTE_MAX];
  if (unit_ctx_forced(ctx) ||
      !backoff_blocked(svc, clock_wall_ms(), note, sizeof note))
    return false;
  unit_ctx_set_note(ctx, "%s", note);
  return true;
}
