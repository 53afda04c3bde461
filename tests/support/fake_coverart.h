/*
 * fake_coverart.h - fake Cover Art Archive (docs/INTEGRATIONS.md, "Cover
 * Art Archive") with a second listener standing in for archive.org.
 * Implemented in fake_coverart.c; included by fake_all.h.
 *
 *   /release-group/{mbid}[/front[-250|-500|-1200]] and /release/{mbid}...:
 *   307 to the archive host ("http://localhost:P", another host name than
 *   the 127.0.0.1 of the first) for known MBIDs; the archive answers
 *   /download/... with a 302 to /storage/..., which serves index.json or
 *   the image bytes.  404 HTML for unknown MBIDs (no cover), 400 HTML for
 *   upper-case or malformed MBIDs and for /back of a release group.
 *
 * Modes (fake_coverart_set_mode) bend the chain for client tests: a PNG
 * instead of the JPEG, a 200 MB image (with Content-Length, or chunked),
 * a wrong content type, an endless redirect loop, a redirect to file://,
 * a protocol-relative Location.  The image bytes served in the normal
 * modes are available to compare (fake_coverart_image).
 *
 * Threading: handlers run on the fakes' connection threads; setters are
 * safe from any thread.  Ownership: fake_coverart_start returns an object
 * released by fake_coverart_stop (NULL is fine).
 */
#ifndef SS_TEST_FAKE_COVERART_H
#define SS_TEST_FAKE_COVERART_H

#include <stdbool.h>
#include <stddef.h>

#include "fake_http.h"

/* A release group the fake knows (and its release). */
#define FAKE_CAA_RELEASE_GROUP "0b6c2da8-ac60-4663-beae-bd3dc6dea94a"
#define FAKE_CAA_RELEASE "76df3287-6cda-33eb-8e9a-044b5e15ffdd"
#define FAKE_CAA_HUGE_BYTES (200ull * 1024 * 1024)

enum fake_caa_mode {
  FAKE_CAA_JPEG, /* default */
  FAKE_CAA_PNG,
  FAKE_CAA_HUGE,             /* 200 MB image/jpeg with Content-Length */
  FAKE_CAA_HUGE_CHUNKED,     /* the same without Content-Length */
  FAKE_CAA_WRONG_TYPE,       /* 200 text/html */
  FAKE_CAA_FAKE_JPEG,        /* image/jpeg that is really HTML */
  FAKE_CAA_REDIRECT_LOOP,    /* the archive redirects to itself forever */
  FAKE_CAA_REDIRECT_FILE,    /* 307 to file:///etc/passwd */
  FAKE_CAA_PROTOCOL_RELATIVE /* 307 Location: //localhost:P/... */
};

struct fake_coverart;
int fake_coverart_start(struct fake_coverart **out, int port);
void fake_coverart_stop(struct fake_coverart *fc);
struct fake_http *fake_coverart_http(struct fake_coverart *fc);
/* The stand-in for archive.org that the 307s point at. */
struct fake_http *fake_coverart_archive_http(struct fake_coverart *fc);
const char *fake_coverart_url(const struct fake_coverart *fc);
/* Registers a release group with a front image in release release_mbid. */
int fake_coverart_add(struct fake_coverart *fc, const char *group_mbid,
                      const char *release_mbid);
void fake_coverart_set_mode(struct fake_coverart *fc, enum fake_caa_mode m);
/* The bytes served as the image in the JPEG (png = false) or PNG mode;
 * static, *len set. */
const unsigned char *fake_coverart_image(bool png, size_t *len);

#endif
