/*
 * listener.h - the HTTP server's listening socket and its accept thread.
 *
 * libmicrohttpd 0.9.75 in poll mode accepts one connection per pass of a
 * pool thread's loop, and a pass walks every open connection: with
 * thousands of connections open, accepting slows to a few hundred per
 * second, the kernel's accept queue fills with whatever arrived first
 * (under a flood: the attacker's reconnects) and a new client waits behind
 * all of it.  So the server runs libmicrohttpd without a listen socket and
 * accepts here instead: one thread that drains the accept queue in a loop
 * (accept4 until EAGAIN) and hands each connection over through
 * listener_opts.take (the server calls MHD_add_connection).  While
 * listener_opts.room says the server is full, it stops accepting, so that
 * connections wait in the kernel's queue rather than being refused, and
 * looks again every LISTENER_FULL_WAIT_MS.
 *
 * Threading: take() and room() run on the listener's thread.  Ownership:
 * listener_start allocates, listener_stop stops the thread, closes the
 * socket and frees; connections handed to take() belong to the callee.
 */
#ifndef SS_HTTP_LISTENER_H
#define SS_HTTP_LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/err.h"

#define LISTENER_FULL_WAIT_MS 20

struct listener;

struct listener_opts {
  const struct sockaddr *addr; /* numeric address and port (0 = any) */
  socklen_t addr_len;
  int backlog;
  /* A new connection (non-blocking, close-on-exec socket). */
  void (*take)(void *arg, int fd, const struct sockaddr *peer,
               socklen_t peer_len);
  /* False while the server cannot take another connection. */
  bool (*room)(void *arg);
  void *arg;
};

/* Binds, listens and starts the accept thread.  SS_OK, or SS_EIO (errno
 * kept from the failing call). */
enum ss_err listener_start(const struct listener_opts *opts,
                           struct listener **out);
/* The bound port. */
int listener_port(const struct listener *l);
/* Stops accepting, joins the thread, closes the socket; NULL is a no-op. */
void listener_stop(struct listener *l);

#endif
