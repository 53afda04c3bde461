/*
 * err.h - the one error convention of soulspotd.
 *
 * Every fallible function returns enum ss_err: SS_OK (0) on success or a
 * negative SS_E* code.  Keep a single `rc` variable and propagate it.  A
 * function with several outcomes that are not errors gets a small enum of
 * its own instead (settings_check.c's enum int_parse).  Out of memory is
 * never an error code: xalloc aborts in one place instead.
 */
#ifndef SS_ERR_H
#define SS_ERR_H

#include <assert.h>

/*
 * DEBUGASSERT(x): an invariant of our own code (a caller's contract, a
 * table's shape) - never a check of input, which gets an SS_E* return.
 * Active in Debug builds (`make asan`, `make fuzz`), compiled out under
 * NDEBUG (`make build`), as curl's DEBUGASSERT and libuv's assert.
 */
#define DEBUGASSERT(x) assert(x)

enum ss_err {
  SS_OK = 0,
  SS_EINVAL = -1,    /* bad input from a caller, a request or a file */
  SS_ETOOBIG = -2,   /* a capped buffer or limit was exceeded */
  SS_ENOTFOUND = -3, /* no such key, row, route or file */
  SS_EIO = -4,       /* file system or socket error */
  SS_EDB = -5,       /* database error */
  SS_ENET = -6,      /* network error talking to an external service */
  SS_EBUSY = -7,     /* already running / locked */
  SS_ESTATE = -8,    /* operation not allowed in the current state */
  SS_ECANCELED = -9, /* interrupted by shutdown or disable */
  SS_EPROTO = -10,   /* malformed reply from an external service */
  SS_EKILLED = -11,  /* a helper process crashed, hung or was killed */
  SS_ETIMEDOUT = -12 /* an external service did not answer in time */
};

/* Returns a static, human-readable name for an SS_E* code.  Any thread. */
const char *ss_strerror(enum ss_err err);

/*
 * Why something failed, for machines: the reason code a unit or a service
 * records beside its readable message (the status API's
 * last_error_reason, the dashboard's advice, metrics, notifications).
 * SS_R_NONE = no failure.
 */
enum ss_reason {
  SS_R_NONE = 0,
  SS_R_AUTH,           /* credentials refused or expired: log in again */
  SS_R_CONNECTION,     /* the service cannot be reached */
  SS_R_TIMEOUT,        /* the service did not answer in time */
  SS_R_RATE_LIMITED,   /* the service asked us to wait (429/503) */
  SS_R_NOT_CONFIGURED, /* a setting is missing or invalid */
  SS_R_PROTOCOL,       /* the service answered something we cannot use */
  SS_R_DISK,           /* a file or folder operation failed */
  SS_R_INTERNAL        /* our own fault (database, a bug) */
};
#define SS_REASON_COUNT 9
/* "auth", "connection", ...; "" for SS_R_NONE.  Any thread. */
const char *ss_reason_name(enum ss_reason r);
/* The reason an SS_E* code stands for when the caller knows no better:
 * SS_ENET connection, SS_ETIMEDOUT timeout, SS_EBUSY rate_limited,
 * SS_EPROTO/SS_ETOOBIG protocol, SS_EIO disk, SS_ESTATE auth, everything
 * else internal (SS_OK: none). */
enum ss_reason ss_reason_of(enum ss_err err);

#endif
