/*
 * flood.h - hostile connection load for tests and benchmarks.
 *
 * A flood holds many TCP connections to a local port from many loopback
 * source addresses (the whole of 127.0.0.0/8 is loopback on Linux, so the
 * client sockets are bound to 127.0.0.2, 127.0.0.3, ... before connecting;
 * 127.0.0.1 stays free for the well-behaved client being measured):
 *
 *   - slowloris connections send a request one byte every trickle_ms and
 *     never finish its headers;
 *   - idle connections connect and send nothing.
 *
 * Connections are non-blocking and driven by one poll(2) loop on a thread
 * of the flood's own, so the caller's thread stays free to measure.  A
 * connection the server closes is counted and, with reconnect set, opened
 * again at once (what a real attacker does).  At most FLOOD_CONNECTING
 * connects are in flight at a time.
 *
 * flood_get() is the measured client: one GET on a fresh connection from a
 * chosen source address, with a timeout.  flood_fd_count() counts a
 * process's open descriptors (how many connections the daemon really
 * holds), flood_raise_nofile() lifts this process's own descriptor limit.
 *
 * Threading: flood_start/stats/stop from one thread; flood_get and the
 * helpers from any thread.  Ownership: flood_stop() closes every
 * connection and frees the flood.
 */
#ifndef SS_TEST_FLOOD_H
#define SS_TEST_FLOOD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FLOOD_CONNECTING 256
#define FLOOD_TRICKLE_MS 3000

struct flood;

struct flood_opts {
  int port;        /* on 127.0.0.1 */
  int slowloris;   /* connections trickling one byte every trickle_ms */
  int idle;        /* connections that send nothing */
  int trickle_ms;  /* 0 = FLOOD_TRICKLE_MS */
  int per_address; /* connections per source address (>= 1) */
  int first_host;  /* first source address: 127.0.0.0 + first_host (>= 2) */
  bool reconnect;  /* re-open connections the server closes */
};

struct flood_stats {
  int open;                  /* connected now */
  int connecting;            /* connect in flight */
  uint64_t closed_by_server; /* connections the server ended */
  uint64_t connect_failures; /* connects refused or failed */
  uint64_t bytes_sent;       /* slowloris bytes */
};

/* Starts the flood's thread.  SS_OK, SS_EINVAL or SS_EIO. */
int flood_start(const struct flood_opts *opts, struct flood **out);
void flood_get_stats(struct flood *f, struct flood_stats *st);
/* Stops the thread, closes every connection, frees; NULL is a no-op. */
void flood_stop(struct flood *f);

/* Writes source address number host (127.0.0.0 + host) as dotted text. */
void flood_addr_text(int host, char *out, size_t n);

/*
 * Connects from src (dotted IPv4, NULL = the kernel's choice) to
 * 127.0.0.1:port within timeout_ms and returns the non-blocking socket, or
 * -1.  The caller closes it.
 */
int flood_connect(const char *src, int port, int timeout_ms);
/* True when the server ends the connection (end-of-stream or reset)
 * within timeout_ms; bytes it sends before that are read and dropped. */
bool flood_wait_closed(int fd, int timeout_ms);

/*
 * GET path with "Connection: close" on a fresh connection from src (NULL =
 * the kernel's choice) to 127.0.0.1:port.  Returns the response's status
 * code, or -1 when no status line arrived within timeout_ms (refused,
 * closed, timed out).  *elapsed_us (may be NULL) gets the time from
 * connect to the end of the response.
 */
int flood_get(const char *src, int port, const char *path, int timeout_ms,
              int64_t *elapsed_us);

/* Reads a response on fd until the server closes it; returns its status
 * code, or -1 (no status line, reset, or timeout_ms passed). */
int flood_read_status(int fd, int timeout_ms);

/* Open descriptors of process pid (from /proc), or -1. */
int flood_fd_count(pid_t pid);
/* Raises this process's soft descriptor limit towards want (at most to the
 * hard limit); returns the soft limit now in force. */
long flood_raise_nofile(long want);

#endif
