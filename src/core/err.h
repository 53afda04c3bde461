/*
 * err.h - the one error convention of soulspotd.
 *
 * Every fallible function returns int: SS_OK (0) on success or a negative
 * SS_E* code.  Keep a single `rc` variable and propagate it.  Out of memory is
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
  SS_EINVAL = -1,     /* bad input from a caller, a request or a file */
  SS_ETOOBIG = -2,    /* a capped buffer or limit was exceeded */
  SS_ENOTFOUND = -3,  /* no such key, row, route or file */
  SS_EIO = -4,        /* file system or socket error */
  SS_EDB = -5,        /* database error */
  SS_ENET = -6,       /* network error talking to an external service */
  SS_EBUSY = -7,      /* already running / locked */
  SS_ESTATE = -8,     /* operation not allowed in the current state */
  SS_ECANCELED = -9,  /* interrupted by shutdown or disable */
  SS_EPROTO = -10,    /* malformed reply from an external service */
  SS_EKILLED = -11    /* a helper process crashed, hung or was killed */
};

/* Returns a static, human-readable name for an SS_E* code.  Any thread. */
const char *ss_strerror(int err);

#endif
