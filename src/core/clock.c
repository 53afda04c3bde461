#include "core/clock.h"

#include <time.h>

static int64_t sys_wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static clock_source_fn wall_src = sys_wall;
static clock_source_fn mono_src = sys_mono;

int64_t clock_wall_ms(void) { return wall_src(); }
int64_t clock_mono_ms(void) { return mono_src(); }

void clock_set_sources(clock_source_fn wall, clock_source_fn mono)
{
  wall_src = wall ? wall : sys_wall;
  mono_src = mono ? mono : sys_mono;
}

struct timespec clock_mono_deadline(int64_t ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}
