/*
 * fake_slskd.h - fake slskd HTTP API v0.  Implemented in fake_slskd.c;
 * included by fake_services.h.
 */
#ifndef SS_TEST_FAKE_SLSKD_H
#define SS_TEST_FAKE_SLSKD_H

#include <stdbool.h>

#include "fake_http.h"

/* ---- slskd ---- */
struct fake_slskd;
/* api_key NULL or "" = authentication disabled (every request passes). */
int fake_slskd_start(struct fake_slskd **out, int port, const char *api_key);
void fake_slskd_stop(struct fake_slskd *fk);
struct fake_http *fake_slskd_http(struct fake_slskd *fk);
const char *fake_slskd_url(const struct fake_slskd *fk);
void fake_slskd_set_api_key(struct fake_slskd *fk, const char *api_key);
/* Soulseek network state reported by /server and /application. */
void fake_slskd_set_logged_in(struct fake_slskd *fk, bool logged_in);

#endif
