/*
 * workers.c - the table of worker units (generated from
 * UNITS_TABLE, runtime/units.h) and shared preconditions.
 */
#include "workers/workers.h"

#define UNIT_DEF_ROW(id, name, view, role) [UNIT_##id] = &name##_unit,
static const struct unit_def *const defs[UNIT__COUNT] = {
  UNITS_TABLE(UNIT_DEF_ROW)};
#undef UNIT_DEF_ROW

const struct unit_def *const *workers_defs(void) { return defs; }
