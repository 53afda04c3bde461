/*
 * sdnotify.c - systemd notifications (see sdnotify.h).
 *
 * main() calls sdnotify_tick() from its signal wait loop, waiting for
 * SIGTERM/SIGINT at most the returned time, so no thread of its own is
 * needed.  With a watchdog, the tick runs at least every half period, as
 * sd_watchdog_enabled(3) advises, and pings on every tick while live.
 * Changes of liveness are logged once each, not at every tick.
 */
#include "core/sdnotify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/log.h"

static struct {
  bool on;                /* NOTIFY_SOCKET set */
  uint64_t watchdog_usec; /* 0 = no watchdog */
  bool withheld;          /* the last tick did not ping */
  char last_status[SDNOTIFY_STATUS_MAX];
} sdn;

void sdnotify_init(void)
{
  const char *sock = getenv("NOTIFY_SOCKET");
  memset(&sdn, 0, sizeof sdn);
  sdn.on = sock && *sock;
  uint64_t usec = 0;
  /* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us. */
  if (sdn.on && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    sdn.watchdog_usec = usec;
}

bool sdnotify_enabled(void) { return sdn.on; }

uint64_t sdnotify_watchdog_usec(void) { return sdn.watchdog_usec; }

void sdnotify_ready(const char *status)
{
  if (!sdn.on)
    return;
  snprintf(sdn.last_status, sizeof sdn.last_status, "%s", status);
  if (sd_notifyf(0, "READY=1\nSTATUS=%s", sdn.last_status) <= 0) {
    log_warn("sdnotify", "cannot tell systemd READY=1 (NOTIFY_SOCKET is set "
                         "but nobody receives)");
    return;
  }
  if (sdn.watchdog_usec)
    log_info("sdnotify",
             "ready; watchdog every %llu ms while every unit "
             "is live",
             (unsigned long long)(sdn.watchdog_usec / 2000));
}

static void send_status(const char *status)
{
  if (!strcmp(status, sdn.last_status))
    return;
  snprintf(sdn.last_status, sizeof sdn.last_status, "%s", status);
  sd_notifyf(0, "STATUS=%s", sdn.last_status);
}

int64_t sdnotify_tick(const char *status, bool live, const char *why)
{
  if (!sdn.on)
    return -1;
  int64_t period = SDNOTIFY_TICK_MS;
  if (!sdn.watchdog_usec) {
    send_status(status);
    return period;
  }
  int64_t half = (int64_t)(sdn.watchdog_usec / 2000);
  if (half < period)
    period = half > 0 ? half : 1;
  if (live) {
    if (sdn.withheld)
      log_info("sdnotify", "every unit is live again: watchdog pings resume");
    sdn.withheld = false;
    send_status(status);
    sd_notify(0, "WATCHDOG=1");
    return period;
  }
  if (!sdn.withheld)
    log_error("sdnotify",
              "withholding the watchdog ping (systemd will "
              "restart the service): %s",
              why && *why ? why : "not live");
  sdn.withheld = true;
  char text[SDNOTIFY_STATUS_MAX];
  snprintf(text, sizeof text, "%s; watchdog withheld: %s", status,
           why && *why ? why : "not live");
  send_status(text);
  return period;
}

void sdnotify_stopping(void)
{
  if (!sdn.on)
    return;
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
