/*
 * hwy_shim.c - lets valgrind 3.19 run programs that load libavcodec.
 *
 * libavcodec pulls in libjxl and with it libhwy, whose start-up code
 * calls hwy::platform::TimerResolution(), which executes rdtscp - an
 * instruction valgrind 3.19 does not know (SIGILL before main).  This
 * shared object, preloaded only by `scripts/run-tests.sh --valgrind`,
 * interposes that one function (reached through libhwy's PLT) with a
 * constant.  soulspotd never uses libhwy's timers; nothing else changes.
 */
#include <stdint.h>

/* hwy::platform::TimerResolution() (Itanium C++ mangling). */
uint64_t _ZN3hwy8platform15TimerResolutionEv(void);

uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }
