/*
 * sdnotify.h - telling systemd how the service is (sd_notify(3) through
 * libsystemd): READY=1 once the server listens, STATUS= lines, WATCHDOG=1
 * while the caller says the process is live, STOPPING=1 when a stop begins.
 *
 * Everything is a no-op when NOTIFY_SOCKET is unset (not started by
 * systemd as a Type=notify service); the watchdog runs only when systemd
 * also set WATCHDOG_USEC (WatchdogSec= in the unit) for this process.
 * What the status says and whether the process is live is the caller's
 * business (main.c: the worker units and runtime_live()).
 *
 * Threading: one thread (main) calls all of these.
 */
#ifndef SS_SDNOTIFY_H
#define SS_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDNOTIFY_STATUS_MAX 512
/* How often sdnotify_tick wants to run at most (ms). */
#define SDNOTIFY_TICK_MS 1000

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC (and WATCHDOG_PID); call once,
 * before the others (again in tests after changing them). */
void sdnotify_init(void);
/* True when NOTIFY_SOCKET was set. */
bool sdnotify_enabled(void);
/* The watchdog period systemd asked for, in microseconds; 0 = none. */
uint64_t sdnotify_watchdog_usec(void);
/* READY=1 with the first STATUS= line. */
void sdnotify_ready(const char *status);
/*
 * Sends STATUS= when status changed, and WATCHDOG=1 when the watchdog is
 * on and live is true.  While not live the pings stop (systemd restarts the
 * service after WatchdogSec=) and the status says why.  Returns the
 * milliseconds until it wants to run again (SDNOTIFY_TICK_MS, or half the
 * watchdog period when that is shorter), or -1 without NOTIFY_SOCKET.
 */
int64_t sdnotify_tick(const char *status, bool live, const char *why);
/* STOPPING=1 and a last STATUS= line. */
void sdnotify_stopping(void);

#endif
