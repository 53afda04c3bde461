/*
 * reltime.h - German relative times exactly as the Workers API contract
 * specifies them.
 *
 *   never (then_ms <= 0)  "noch nie"
 *   < 60 s (or future)    "gerade eben"
 *   < 60 min              "vor N min"   (floor)
 *   < 24 h                "vor N h"     (floor)
 *   otherwise             "vor N d"     (floor)
 *
 * Pure function; any thread.
 */
#ifndef SS_RELTIME_H
#define SS_RELTIME_H

#include <stddef.h>
#include <stdint.h>

#define RELTIME_MAX 32

/* Writes into out (at least RELTIME_MAX bytes) and returns out. */
const char *reltime_de(int64_t now_ms, int64_t then_ms, char *out, size_t n);

/* The future counterpart (not part of the contract): "jetzt" when due,
 * "in N s", "in N min", "in N h", "in N d" (floor). */
const char *reltime_until_de(int64_t now_ms, int64_t when_ms, char *out,
                             size_t n);

#endif
