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
#include <time.h>

typedef int64_t (*clock_source_fn)(void);

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
/* The system's CLOCK_MONOTONIC now + ms, as pthread_cond_timedwait wants
 * it with a CLOCK_MONOTONIC condvar (never the test sources: a condvar
 * waits on the real clock). */
struct timespec clock_mono_deadline(int64_t ms);
/* NULL restores the system clock for that source. */
void clock_set_sources(clock_source_fn wall, clock_source_fn mono);

#endif
