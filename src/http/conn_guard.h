/*
 * conn_guard.h - request deadlines and idle eviction for the HTTP server.
 *
 * libmicrohttpd's connection timeout is an idle timeout: every byte a
 * client sends resets it, so a client that sends one byte every few
 * seconds (slowloris) or connects and sends nothing holds a connection
 * slot for as long as it likes.  The guard adds what libmicrohttpd lacks:
 *
 *   - a request deadline: a connection must deliver a complete request
 *     (headers and body) within request_timeout_ms of being opened, or of
 *     its previous response; bytes do not extend it;
 *   - idle eviction near the cap: while at least 3/4 of max_connections
 *     are open, a connection that has waited more than near_cap_idle_ms
 *     for its next request is closed (idle keep-alive, silent or slow
 *     clients), so that new clients find a free slot.
 *
 * A connection that misses either limit is cut with shutdown(2) on its
 * socket; libmicrohttpd then sees end-of-stream and closes it on its own
 * thread.  A reaper thread scans the registry every scan_ms.
 *
 * Threading: conn_guard_add/remove and the request_* marks are called on
 * libmicrohttpd's threads (the connection-notify, access and completed
 * callbacks); the reaper runs on its own thread.  Entries are linked and
 * unlinked under one mutex, which the reaper holds while it cuts, and
 * conn_guard_remove is called before libmicrohttpd closes the socket, so
 * the reaper never touches a descriptor that was closed or reused.  The
 * request marks are single atomic stores.
 * Ownership: conn_guard_start allocates the guard, conn_guard_stop frees
 * it (after the HTTP daemon has stopped: no entry may remain); an entry is
 * allocated by conn_guard_add and freed by conn_guard_remove.
 */
#ifndef SS_HTTP_CONN_GUARD_H
#define SS_HTTP_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct conn_guard;
struct conn_guard_entry;

struct conn_guard_opts {
  int max_connections;    /* the server's cap (near-cap threshold) */
  int request_timeout_ms; /* the request deadline */
  int near_cap_idle_ms;   /* idle wait allowed near the cap */
  int scan_ms;            /* reaper period */
};

struct conn_guard_stats {
  size_t open;           /* connections registered now */
  uint64_t cut_deadline; /* cut for missing the request deadline */
  uint64_t cut_idle;     /* cut as idle near the cap */
};

/* Starts the reaper thread.  SS_OK or SS_EIO (thread creation failed). */
enum ss_err conn_guard_start(const struct conn_guard_opts *opts,
                             struct conn_guard **out);
/* Stops the reaper and frees the guard; NULL is a no-op. */
void conn_guard_stop(struct conn_guard *g);

/* A new connection on socket fd, waiting for its first request. */
struct conn_guard_entry *conn_guard_add(struct conn_guard *g, int fd);
/* The connection is about to be closed; frees e (NULL is a no-op). */
void conn_guard_remove(struct conn_guard *g, struct conn_guard_entry *e);

/* The request has been received completely: no deadline while it is
 * handled and answered. */
void conn_guard_request_received(struct conn_guard_entry *e);
/* The response is done: the connection waits for its next request. */
void conn_guard_request_done(struct conn_guard_entry *e);

/* Connections registered now (any thread, without locking). */
size_t conn_guard_open(struct conn_guard *g);
/* Counters (any thread). */
void conn_guard_get_stats(struct conn_guard *g, struct conn_guard_stats *st);

#endif
