/*
 * clock.h - the one place soulspotd reads the time.
 *
 * Wall time (ms since the Unix epoch) feeds persisted timestamps and German
 * relative times; monotonic time feeds scheduling and durations.  Tests
 * replace either source with clock_set_sources() to drive time by hand.
 * Reading is safe from any thread; replace the sources only before threads
 * start (or from a single-threaded test).
 */
#ifndef SS_CLOCK_H
#define SS_CLOCK_H

#include <stdint.h>

typedef int64_t (*clock_source_fn)(void);

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
/* NULL restores the system clock for that source. */
void clock_set_sources(clock_source_fn wall, clock_source_fn mono);

#endif
