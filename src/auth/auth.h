/*
 * auth.h - who may use soulspotd: the API key, the password, login
 * sessions and the login rate limit (libsodium underneath).
 *
 *   - API key: 32 hex characters from randombytes_buf(), made at the first
 *     start and stored in the database (auth_secrets "api_key");
 *     compared in constant time (sodium_memcmp).
 *   - Password: stored only as an Argon2id string from crypto_pwhash_str()
 *     (auth_secrets "password_hash"); verified with
 *     crypto_pwhash_str_verify().  Read from the database at every login, so
 *     `soulspotd --set-password` takes effect without a restart.
 *   - Sessions: a random id (32 bytes, base64url) in an HttpOnly cookie,
 *     kept in memory with an absolute expiry (AUTH_SESSION_TTL_MS); at most
 *     AUTH_SESSIONS_MAX, the oldest is dropped first.  A restart or a
 *     password change ends every session.
 *   - Rate limit: per client address, AUTH_FAILS_MAX failed logins within
 *     AUTH_FAIL_WINDOW_MS block that address for AUTH_BLOCK_MS.
 *
 * Secrets (key, password, hash, session ids) are never logged.
 *
 * Threading: every function may be called from any thread after
 * auth_init(); the in-memory state is guarded by one mutex.  The store
 * functions take the caller's struct db (one connection per thread, db.h).
 */
#ifndef SS_AUTH_H
#define SS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct db;

#define AUTH_KEY_LEN 32        /* hex characters */
#define AUTH_SESSION_ID_LEN 43 /* base64url of 32 bytes */
#define AUTH_SESSIONS_MAX 64
#define AUTH_SESSION_TTL_MS (30LL * 24 * 3600 * 1000)
#define AUTH_PASSWORD_MIN 8   /* bytes */
#define AUTH_PASSWORD_MAX 256 /* bytes */
#define AUTH_FAILS_MAX 5
#define AUTH_FAIL_WINDOW_MS (15LL * 60 * 1000)
#define AUTH_BLOCK_MS (15LL * 60 * 1000)
#define AUTH_ADDR_MAX 64    /* client address text */
#define AUTH_RATE_SLOTS 256 /* addresses tracked at once */
#define AUTH_COOKIE "soulspot_session"

/* Initialises libsodium and the state (idempotent).  SS_OK or SS_EIO. */
enum ss_err auth_init(void);
/* Forgets the key, every session and the rate-limit table (tests). */
void auth_reset(void);

/* ---- store: the database side ---- */

/* Loads the API key, making and storing one when there is none, and
 * whether a password is set.  *created (may be NULL) tells whether a key
 * was made. */
enum ss_err auth_store_load(struct db *db, bool *created);
/* Makes a new API key, stores it and uses it at once; the old one stops
 * working. */
enum ss_err auth_store_regenerate_key(struct db *db);
/* Checks the rules (AUTH_PASSWORD_MIN..MAX bytes, valid UTF-8, no control
 * characters), hashes and stores the password and ends every session.
 * SS_EINVAL with a message in err (never the password) when it breaks a
 * rule. */
enum ss_err auth_store_set_password(struct db *db, const char *password,
                                    char *err, size_t errlen);
/* Verifies password against the stored hash: SS_OK on a match, SS_EINVAL
 * on a mismatch, SS_ENOTFOUND when no password is set. */
enum ss_err auth_store_check_password(struct db *db, const char *password);

/* `soulspotd --set-password`: reads one line from in (echo off on a
 * terminal), sets it as the password and writes one message to msg.
 * SS_OK, SS_EINVAL (empty input or a broken rule) or a store error. */
enum ss_err auth_cli_set_password(struct db *db, FILE *in, FILE *msg);

/* ---- memory side ---- */

/* The current API key (AUTH_KEY_LEN + 1 bytes); "" before auth_store_load. */
void auth_key_copy(char *out, size_t n);
/* Constant-time: true when candidate is the current key. */
bool auth_key_matches(const char *candidate);
/* Whether a password is set (as of the last load or change). */
bool auth_has_password(void);

/* Starts a session: writes its id (AUTH_SESSION_ID_LEN + 1 bytes). */
void auth_session_start(int64_t now_ms, char *id_out, size_t n);
/* True when id names a live session (constant-time comparison). */
bool auth_session_valid(const char *id, int64_t now_ms);
/* Ends the session id names (nothing when unknown). */
void auth_session_end(const char *id);
/* Ends every session. */
void auth_sessions_clear(void);

/* 0 when addr may try to log in now, else the seconds until it may. */
int64_t auth_login_blocked_for(const char *addr, int64_t now_ms);
/* Records a failed login of addr. */
void auth_login_failed(const char *addr, int64_t now_ms);
/* A successful login clears addr's failures. */
void auth_login_succeeded(const char *addr);

/* Pure helpers (exposed for tests). */
/* Key from 16 random bytes as lower-case hex; out has AUTH_KEY_LEN + 1. */
void auth_key_generate(char *out, size_t n);
/* SS_OK, or SS_EINVAL with the broken rule in err. */
enum ss_err auth_password_rules(const char *password, char *err,
                                size_t errlen);
/* The value of cookie `name` in a Cookie header into out; false when
 * absent or too long. */
bool auth_cookie_value(const char *cookie_header, const char *name, char *out,
                       size_t n);
/* True when next is a path on this site ("/..." but not "//" or "/\\", no
 * control characters): safe to redirect to after a login. */
bool auth_next_is_local(const char *next);

#endif
