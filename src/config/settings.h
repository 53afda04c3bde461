/*
 * settings.h - every setting of soulspotd, declared once.
 *
 * SETTINGS_TABLE below is the single declaration of each setting: its key,
 * type, default, bounds, whether it may change while running and whether it
 * is a secret.  From it come:
 *   - enum setting_id (S_<NAME>), used by code to read a value cheaply;
 *   - the INI parser (section = text before the first '.', name = the rest);
 *   - environment overrides (SOULSPOT_ + key upper-cased, '.' -> '_');
 *   - validation (one function, used by every source);
 *   - `--help` text and README's configuration table;
 *   - the settings API (GET/PATCH /api/settings) and the settings page.
 *
 * Precedence, lowest first: default, INI file, environment, values stored in
 * the database by the settings API/page (runtime settings only).  A value
 * stored through the API is the user's latest intent and so wins.
 *
 * Threading: the value store is guarded by one mutex.  Getters may be called
 * from any thread after settings_init(); they copy.  Subscribers are called
 * after a successful change, on the changing thread, without the lock held.
 *
 * Secrets are never logged, rendered or returned: the API shows "********"
 * for a secret that is set, and a PATCH carrying that mask leaves it alone.
 */
#ifndef SS_SETTINGS_H
#define SS_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"

enum setting_type {
  ST_BOOL,   /* "true"/"false" (INI/env also 1/0, yes/no, on/off) */
  ST_INT,    /* integer within [min, max] */
  ST_STRING, /* free text, at most SETTING_STR_MAX-1 bytes, no control chars */
  ST_URL,    /* empty, or an http:// or https:// URL without spaces */
  ST_ENUM,   /* one of the '|'-separated choices */
  ST_LISTEN  /* HOST:PORT, port 0-65535 */
};

#define SF_RUNTIME 1u /* may change while running (settings API/page) */
#define SF_SECRET 2u  /* never logged, rendered or returned */

#define SETTING_STR_MAX 1024
#define SETTING_SECRET_MASK "********"

/* X(ID, key, type, default, min, max, choices, flags, help) */
#define SETTINGS_TABLE(X)                                                     \
  X(SERVER_LISTEN, "server.listen", ST_LISTEN, "127.0.0.1:8765", 0, 0, NULL,  \
    0, "Address and port the HTTP server binds (--listen)")                   \
  X(SERVER_DATA_DIR, "server.data_dir", ST_STRING, "./data", 0, 0, NULL, 0,   \
    "Folder holding the SQLite database (--data-dir)")                        \
  X(SERVER_THREADS, "server.threads", ST_INT, "2", 1, 16, NULL, 0,            \
    "HTTP worker threads")                                                    \
  X(SERVER_ALLOWED_HOSTS, "server.allowed_hosts", ST_STRING, "", 0, 0, NULL,  \
    SF_RUNTIME,                                                               \
    "Extra host names (name or name:port, comma-separated), "                 \
    "e.g. of a reverse proxy")                                                \
  X(SERVER_AUTH_LOOPBACK_EXEMPT, "server.auth_loopback_exempt", ST_BOOL,      \
    "true", 0, 0, NULL, 0,                                                    \
    "Requests from this machine (loopback) need no login or API key")         \
  X(SERVER_ALLOW_UNAUTHENTICATED_REMOTE,                                      \
    "server.allow_unauthenticated_remote", ST_BOOL, "false", 0, 0, NULL, 0,   \
    "Turn authentication off, even on a non-loopback address (unsafe)")       \
  X(SERVER_MAX_CONNECTIONS, "server.max_connections", ST_INT, "8192", 64,     \
    1000000, NULL, 0,                                                         \
    "Open HTTP connections at most (lowered to fit the "                      \
    "descriptor limit)")                                                      \
  X(SERVER_MAX_CONNECTIONS_PER_ADDRESS, "server.max_connections_per_address", \
    ST_INT, "64", 1, 1000000, NULL, 0,                                        \
    "Open HTTP connections per client "                                       \
    "address, loopback (a reverse proxy) included")                           \
  X(SERVER_REQUEST_TIMEOUT_SECONDS, "server.request_timeout_seconds", ST_INT, \
    "10", 1, 3600, NULL, 0,                                                   \
    "A connection must deliver a whole request "                              \
    "within this many seconds of opening or of its last response")            \
  X(LOG_LEVEL, "log.level", ST_ENUM, "info", 0, 0, "error|warn|info|debug",   \
    SF_RUNTIME, "Log level")                                                  \
  X(SPOTIFY_TOKEN_REFRESH_ENABLED, "spotify.token_refresh_enabled", ST_BOOL,  \
    "true", 0, 0, NULL, SF_RUNTIME, "Token Refresh worker on/off")            \
  X(SPOTIFY_TOKEN_CHECK_INTERVAL_SECONDS,                                     \
    "spotify.token_check_interval_seconds", ST_INT, "300", 30, 3600, NULL,    \
    SF_RUNTIME, "How often Token Refresh checks the token (s)")               \
  X(SPOTIFY_TOKEN_REFRESH_THRESHOLD_MINUTES,                                  \
    "spotify.token_refresh_threshold_minutes", ST_INT, "10", 1, 55, NULL,     \
    SF_RUNTIME, "Refresh when the token expires within this many minutes")    \
  X(SPOTIFY_AUTO_SYNC_ENABLED, "spotify.auto_sync_enabled", ST_BOOL, "true",  \
    0, 0, NULL, SF_RUNTIME, "Spotify Sync worker on/off")                     \
  X(SPOTIFY_SYNC_CHECK_INTERVAL_SECONDS,                                      \
    "spotify.sync_check_interval_seconds", ST_INT, "60", 10, 3600, NULL,      \
    SF_RUNTIME, "How often Spotify Sync looks for due sync types (s)")        \
  X(SPOTIFY_AUTO_SYNC_ARTISTS, "spotify.auto_sync_artists", ST_BOOL, "true",  \
    0, 0, NULL, SF_RUNTIME, "Sync followed artists")                          \
  X(SPOTIFY_AUTO_SYNC_PLAYLISTS, "spotify.auto_sync_playlists", ST_BOOL,      \
    "true", 0, 0, NULL, SF_RUNTIME, "Sync playlists")                         \
  X(SPOTIFY_AUTO_SYNC_LIKED_SONGS, "spotify.auto_sync_liked_songs", ST_BOOL,  \
    "true", 0, 0, NULL, SF_RUNTIME, "Sync liked songs")                       \
  X(SPOTIFY_AUTO_SYNC_SAVED_ALBUMS, "spotify.auto_sync_saved_albums",         \
    ST_BOOL, "true", 0, 0, NULL, SF_RUNTIME, "Sync saved albums")             \
  X(SPOTIFY_AUTO_SYNC_ARTIST_ALBUMS, "spotify.auto_sync_artist_albums",       \
    ST_BOOL, "true", 0, 0, NULL, SF_RUNTIME,                                  \
    "Sync the albums of followed artists, a few per pass")                    \
  X(SPOTIFY_ARTISTS_SYNC_INTERVAL_MINUTES,                                    \
    "spotify.artists_sync_interval_minutes", ST_INT, "5", 1, 1440, NULL,      \
    SF_RUNTIME, "Followed artists sync interval (min)")                       \
  X(SPOTIFY_PLAYLISTS_SYNC_INTERVAL_MINUTES,                                  \
    "spotify.playlists_sync_interval_minutes", ST_INT, "10", 1, 1440, NULL,   \
    SF_RUNTIME, "Playlists and liked songs sync interval (min)")              \
  X(SPOTIFY_ALBUMS_SYNC_INTERVAL_MINUTES,                                     \
    "spotify.albums_sync_interval_minutes", ST_INT, "15", 1, 1440, NULL,      \
    SF_RUNTIME, "Saved albums sync interval (min)")                           \
  X(SPOTIFY_ACCOUNTS_URL, "spotify.accounts_url", ST_URL,                     \
    "https://accounts.spotify.com", 0, 0, NULL, SF_RUNTIME,                   \
    "Spotify Accounts service base URL")                                      \
  X(SPOTIFY_API_URL, "spotify.api_url", ST_URL, "https://api.spotify.com/v1", \
    0, 0, NULL, SF_RUNTIME, "Spotify Web API base URL")                       \
  X(SPOTIFY_CLIENT_ID, "spotify.client_id", ST_STRING, "", 0, 0, NULL,        \
    SF_RUNTIME, "Spotify app client id")                                      \
  X(SPOTIFY_CLIENT_SECRET, "spotify.client_secret", ST_STRING, "", 0, 0,      \
    NULL, SF_RUNTIME | SF_SECRET, "Spotify app client secret (optional)")     \
  X(SPOTIFY_REDIRECT_URI, "spotify.redirect_uri", ST_URL,                     \
    "http://127.0.0.1:8765/auth/spotify/callback", 0, 0, NULL, SF_RUNTIME,    \
    "OAuth redirect URI registered with Spotify")                             \
  X(DOWNLOAD_MONITOR_ENABLED, "download.monitor_enabled", ST_BOOL, "true", 0, \
    0, NULL, SF_RUNTIME, "Download Monitor worker on/off")                    \
  X(DOWNLOAD_POLL_INTERVAL_SECONDS, "download.poll_interval_seconds", ST_INT, \
    "10", 2, 300, NULL, SF_RUNTIME,                                           \
    "How often slskd transfers are polled (s)")                               \
  X(DOWNLOAD_SLSKD_DOWNLOAD_PATH, "download.slskd_download_path", ST_STRING,  \
    "", 0, 0, NULL, SF_RUNTIME,                                               \
    "slskd's download folder as soulspotd sees it")                           \
  X(DOWNLOAD_TEMP_PATH, "download.temp_path", ST_STRING, "", 0, 0, NULL,      \
    SF_RUNTIME, "Temporary folder watched by Cleanup")                        \
  X(SLSKD_URL, "slskd.url", ST_URL, "", 0, 0, NULL, SF_RUNTIME,               \
    "slskd base URL, e.g. http://127.0.0.1:5030 (empty: not configured)")     \
  X(SLSKD_API_KEY, "slskd.api_key", ST_STRING, "", 0, 0, NULL,                \
    SF_RUNTIME | SF_SECRET, "slskd API key")                                  \
  X(MUSICBRAINZ_URL, "musicbrainz.url", ST_URL,                               \
    "https://musicbrainz.org/ws/2", 0, 0, NULL, SF_RUNTIME,                   \
    "MusicBrainz web service base URL")                                       \
  X(MUSICBRAINZ_CONTACT, "musicbrainz.contact", ST_STRING, "", 0, 0, NULL,    \
    SF_RUNTIME, "Contact (URL or e-mail) sent in the MusicBrainz User-Agent") \
  X(COVERART_URL, "coverart.url", ST_URL, "https://coverartarchive.org", 0,   \
    0, NULL, SF_RUNTIME, "Cover Art Archive base URL")                        \
  X(LIBRARY_PATH, "library.path", ST_STRING, "", 0, 0, NULL, SF_RUNTIME,      \
    "Music library root folder")                                              \
  X(LIBRARY_SAVE_COVER_ART, "library.save_cover_art", ST_BOOL, "true", 0, 0,  \
    NULL, SF_RUNTIME,                                                         \
    "Write cover.jpg from the Cover Art Archive into imported album folders") \
  X(AUTOMATION_WATCHLIST_ENABLED, "automation.watchlist_enabled", ST_BOOL,    \
    "false", 0, 0, NULL, SF_RUNTIME, "Watchlist (new releases) on/off")       \
  X(AUTOMATION_WATCHLIST_INTERVAL_MINUTES,                                    \
    "automation.watchlist_interval_minutes", ST_INT, "60", 15, 1440, NULL,    \
    SF_RUNTIME, "Watchlist interval (min)")                                   \
  X(AUTOMATION_DISCOGRAPHY_ENABLED, "automation.discography_enabled",         \
    ST_BOOL, "false", 0, 0, NULL, SF_RUNTIME,                                 \
    "Discography (missing albums) on/off")                                    \
  X(AUTOMATION_DISCOGRAPHY_INTERVAL_HOURS,                                    \
    "automation.discography_interval_hours", ST_INT, "24", 1, 168, NULL,      \
    SF_RUNTIME, "Discography interval (h)")                                   \
  X(AUTOMATION_QUALITY_UPGRADE_ENABLED, "automation.quality_upgrade_enabled", \
    ST_BOOL, "false", 0, 0, NULL, SF_RUNTIME, "Quality upgrade on/off")       \
  X(AUTOMATION_QUALITY_UPGRADE_INTERVAL_HOURS,                                \
    "automation.quality_upgrade_interval_hours", ST_INT, "24", 1, 168, NULL,  \
    SF_RUNTIME, "Quality upgrade interval (h)")                               \
  X(AUTOMATION_QUALITY_PROFILE, "automation.quality_profile", ST_ENUM,        \
    "high", 0, 0, "medium|high|lossless", SF_RUNTIME,                         \
    "Target quality for upgrades")                                            \
  X(AUTOMATION_QUALITY_UPGRADE_MAX_PER_RUN,                                   \
    "automation.quality_upgrade_max_per_run", ST_INT, "50", 1, 1000, NULL,    \
    SF_RUNTIME, "Tracks a quality upgrade pass adds to the Wanted list")      \
  X(AUTOMATION_CLEANUP_ENABLED, "automation.cleanup_enabled", ST_BOOL,        \
    "false", 0, 0, NULL, SF_RUNTIME, "Cleanup worker on/off")                 \
  X(AUTOMATION_CLEANUP_INTERVAL_HOURS, "automation.cleanup_interval_hours",   \
    ST_INT, "24", 1, 168, NULL, SF_RUNTIME, "Cleanup interval (h)")           \
  X(AUTOMATION_CLEANUP_DRY_RUN, "automation.cleanup_dry_run", ST_BOOL,        \
    "false", 0, 0, NULL, SF_RUNTIME, "Only report what Cleanup would delete") \
  X(AUTOMATION_CLEANUP_RETENTION_DAYS, "automation.cleanup_retention_days",   \
    ST_INT, "7", 1, 90, NULL, SF_RUNTIME,                                     \
    "Keep orphaned temp files this many days")                                \
  X(AUTOMATION_DUPLICATE_DETECTION_ENABLED,                                   \
    "automation.duplicate_detection_enabled", ST_BOOL, "false", 0, 0, NULL,   \
    SF_RUNTIME, "Duplicate Detector on/off")                                  \
  X(AUTOMATION_DUPLICATE_SCAN_INTERVAL_HOURS,                                 \
    "automation.duplicate_scan_interval_hours", ST_INT, "168", 6, 720, NULL,  \
    SF_RUNTIME, "Duplicate scan interval (h)")                                \
  X(AUTOMATION_DUPLICATE_DETECTION_METHOD,                                    \
    "automation.duplicate_detection_method", ST_ENUM, "metadata-hash", 0, 0,  \
    "metadata-hash|file-hash|fingerprint|metadata-hash+file-hash|"            \
    "metadata-hash+fingerprint|metadata-hash+file-hash+fingerprint",          \
    SF_RUNTIME, "How duplicates are recognised")                              \
  X(SPOTIFY_ARTIST_ALBUMS_SYNC_INTERVAL_MINUTES,                              \
    "spotify.artist_albums_sync_interval_minutes", ST_INT, "2", 1, 1440,      \
    NULL, SF_RUNTIME, "How often a few artists' albums are synced (min)")     \
  X(SPOTIFY_ARTIST_ALBUMS_PER_PASS, "spotify.artist_albums_per_pass", ST_INT, \
    "5", 1, 50, NULL, SF_RUNTIME, "Artists whose albums are synced per pass") \
  X(SPOTIFY_ARTIST_ALBUMS_RESYNC_HOURS, "spotify.artist_albums_resync_hours", \
    ST_INT, "24", 1, 720, NULL, SF_RUNTIME,                                   \
    "Re-check an artist's albums after this many hours")                      \
  X(SPOTIFY_REMOVE_UNFOLLOWED_ARTISTS, "spotify.remove_unfollowed_artists",   \
    ST_BOOL, "true", 0, 0, NULL, SF_RUNTIME,                                  \
    "Remove artists no longer followed on Spotify")                           \
  X(SPOTIFY_REMOVE_UNFOLLOWED_PLAYLISTS,                                      \
    "spotify.remove_unfollowed_playlists", ST_BOOL, "false", 0, 0, NULL,      \
    SF_RUNTIME, "Remove playlists no longer followed on Spotify")             \
  X(DOWNLOAD_NAMING_TEMPLATE, "download.naming_template", ST_STRING,          \
    "{albumartist}/{album} ({year})/{disc}-{track} {title}.{ext}", 0, 0,      \
    NULL, SF_RUNTIME, "Where imported files go below the library folder")     \
  X(DOWNLOAD_QUALITY_PROFILE, "download.quality_profile", ST_STRING,          \
    "flac,alac,wav,mp3-320,aac-256,ogg-320,mp3-v0,mp3-256,mp3-192", 0, 0,     \
    NULL, SF_RUNTIME, "Accepted formats, best first (comma-separated)")       \
  X(DOWNLOAD_MAX_RETRIES, "download.max_retries", ST_INT, "3", 0, 10, NULL,   \
    SF_RUNTIME, "Other sources tried after the first one fails (0: none)")    \
  X(DOWNLOAD_STALL_TIMEOUT_MINUTES, "download.stall_timeout_minutes", ST_INT, \
    "30", 1, 1440, NULL, SF_RUNTIME,                                          \
    "Cancel and retry elsewhere after this long without progress (min)")      \
  X(DOWNLOAD_SEARCH_TIMEOUT_SECONDS, "download.search_timeout_seconds",       \
    ST_INT, "30", 5, 300, NULL, SF_RUNTIME, "slskd search timeout (s)")       \
  X(DOWNLOAD_MAX_CONCURRENT_ENQUEUES, "download.max_concurrent_enqueues",     \
    ST_INT, "2", 1, 10, NULL, SF_RUNTIME,                                     \
    "Enqueue requests sent to slskd at the same time")                        \
  X(LIBRARY_QUARANTINE_PATH, "library.quarantine_path", ST_STRING, "", 0, 0,  \
    NULL, SF_RUNTIME,                                                         \
    "Where resolved duplicates are moved (empty: DATA_DIR/quarantine)")       \
  X(LIBRARY_PROBE_HELPERS, "library.probe_helpers", ST_INT, "0", 0, 16, NULL, \
    SF_RUNTIME, "Media analysis helper processes at most (0: one per core)")  \
  X(LIBRARY_PROBE_TIMEOUT_SECONDS, "library.probe_timeout_seconds", ST_INT,   \
    "30", 5, 600, NULL, SF_RUNTIME,                                           \
    "Longest analysis of one file before it is stopped and marked (s)")       \
  X(AUTOMATION_CLEANUP_MAX_FILES_PER_RUN,                                     \
    "automation.cleanup_max_files_per_run", ST_INT, "1000", 1, 100000, NULL,  \
    SF_RUNTIME, "Cleanup deletes at most this many files per run")            \
  X(AUTOMATION_CLEANUP_MAX_MB_PER_RUN, "automation.cleanup_max_mb_per_run",   \
    ST_INT, "10240", 1, 1048576, NULL, SF_RUNTIME,                            \
    "Cleanup frees at most this many MiB per run")                            \
  X(AUTOMATION_MAX_REQUESTS_PER_RUN, "automation.max_requests_per_run",       \
    ST_INT, "10", 1, 100, NULL, SF_RUNTIME,                                   \
    "Download requests one automation run makes from the Wanted list")        \
  X(AUTOMATION_MAX_REQUESTS_PER_HOUR, "automation.max_requests_per_hour",     \
    ST_INT, "30", 1, 1000, NULL, SF_RUNTIME,                                  \
    "Download requests made from the Wanted list per hour at most")           \
  X(AUTOMATION_WATCH_FOLLOWED_ARTISTS, "automation.watch_followed_artists",   \
    ST_BOOL, "false", 0, 0, NULL, SF_RUNTIME,                                 \
    "Watch every followed Spotify artist")                                    \
  X(AUTOMATION_WATCHLIST_ARTISTS_PER_RUN,                                     \
    "automation.watchlist_artists_per_run", ST_INT, "5", 1, 100, NULL,        \
    SF_RUNTIME, "Watched artists a watchlist run checks")                     \
  X(AUTOMATION_DISCOGRAPHY_MAX_PER_RUN, "automation.discography_max_per_run", \
    ST_INT, "50", 1, 1000, NULL, SF_RUNTIME,                                  \
    "Releases a discography pass adds to the Wanted list")                    \
  X(PROBE_INTERVAL_SECONDS, "probe.interval_seconds", ST_INT, "60", 5, 3600,  \
    NULL, SF_RUNTIME, "How often external services are probed (s)")           \
  X(PROBE_TIMEOUT_SECONDS, "probe.timeout_seconds", ST_INT, "5", 1, 30, NULL, \
    SF_RUNTIME, "Timeout of one service probe (s)")                           \
  X(NOTIFY_WEBHOOK_URL, "notify.webhook_url", ST_URL, "", 0, 0, NULL,         \
    SF_RUNTIME | SF_SECRET,                                                   \
    "Webhook URL: a JSON POST per notification "                              \
    "(empty: off)")                                                           \
  X(NOTIFY_NTFY_URL, "notify.ntfy_url", ST_URL, "", 0, 0, NULL, SF_RUNTIME,   \
    "ntfy server and topic, e.g. https://ntfy.sh/my-topic (empty: off)")      \
  X(NOTIFY_NTFY_TOKEN, "notify.ntfy_token", ST_STRING, "", 0, 0, NULL,        \
    SF_RUNTIME | SF_SECRET, "ntfy access token (optional)")                   \
  X(NOTIFY_GOTIFY_URL, "notify.gotify_url", ST_URL, "", 0, 0, NULL,           \
    SF_RUNTIME,                                                               \
    "Gotify server URL, e.g. https://gotify.example.org "                     \
    "(empty: off)")                                                           \
  X(NOTIFY_GOTIFY_TOKEN, "notify.gotify_token", ST_STRING, "", 0, 0, NULL,    \
    SF_RUNTIME | SF_SECRET, "Gotify application token")                       \
  X(NOTIFY_TIMEOUT_SECONDS, "notify.timeout_seconds", ST_INT, "10", 1, 60,    \
    NULL, SF_RUNTIME, "Timeout of one notification call (s)")                 \
  X(NOTIFY_ON_UNIT_ERRORS, "notify.on_unit_errors", ST_BOOL, "true", 0, 0,    \
    NULL, SF_RUNTIME, "Notify when a worker enters or leaves error")          \
  X(NOTIFY_ON_DOWNLOADS, "notify.on_downloads", ST_BOOL, "true", 0, 0, NULL,  \
    SF_RUNTIME, "Notify when a download is imported or fails for good")       \
  X(NOTIFY_ON_RELEASES, "notify.on_releases", ST_BOOL, "true", 0, 0, NULL,    \
    SF_RUNTIME, "Notify when the watchlist wants new releases")               \
  X(NOTIFY_ON_SPOTIFY_LOGIN, "notify.on_spotify_login", ST_BOOL, "true", 0,   \
    0, NULL, SF_RUNTIME, "Notify when the Spotify login needs renewal")

enum setting_id {
#define SETTING_ENUM_ENTRY(id, ...) S_##id,
  SETTINGS_TABLE(SETTING_ENUM_ENTRY)
#undef SETTING_ENUM_ENTRY
    S__COUNT
};

struct setting_def {
  const char *key;
  enum setting_type type;
  const char *def;     /* default as text */
  int64_t min, max;    /* ST_INT bounds */
  const char *choices; /* ST_ENUM: "a|b|c" */
  unsigned flags;      /* SF_* */
  const char *help;
};

extern const struct setting_def settings_defs[S__COUNT];

/* Returns the id of key, or -1 when no such setting exists. */
int settings_lookup(const char *key);

/*
 * Checks text against the definition of id.  On success writes the
 * canonical text form ("true", "42", ...) into canon (SETTING_STR_MAX bytes)
 * and returns SS_OK; otherwise SS_EINVAL with a message naming the problem
 * (and the bounds or choices) in err.  Pure; any thread.
 */
enum ss_err settings_validate(enum setting_id id, const char *text,
                              char *canon, char *err, size_t errlen);

/* Sets every value to its default.  Call once, before threads start. */
void settings_init(void);
/* Frees the store (tests, shutdown). */
void settings_cleanup(void);

/*
 * Loads an INI file.  Unknown sections/keys and invalid values are errors:
 * returns SS_EINVAL / SS_EIO with "FILE:LINE: message" in err.
 */
enum ss_err settings_load_ini(const char *path, char *err, size_t errlen);
/* Applies SOULSPOT_* environment overrides; SS_EINVAL names the variable. */
enum ss_err settings_load_env(char *err, size_t errlen);
/*
 * Sets one value from text with source name for messages (e.g. "--listen").
 * Used for command-line flags and for values loaded from the database.
 */
enum ss_err settings_set(enum setting_id id, const char *text, char *err,
                         size_t errlen);

/* Getters: any thread. */
bool settings_bool(enum setting_id id);
int64_t settings_int(enum setting_id id);
/* Copies the text value into out (truncated to n-1); returns its length. */
size_t settings_str(enum setting_id id, char *out, size_t n);
/* Heap copy of the text value; the caller frees it. */
char *settings_strdup(enum setting_id id);
/* True when the (string) setting is non-empty. */
bool settings_is_set(enum setting_id id);
/* Bumped by every successful change; cheap change detection. */
uint64_t settings_generation(void);

/*
 * Persist hook: called by settings_patch_json() with the validated changes
 * before they are applied.  If it fails, nothing is applied.  ids/texts have
 * n entries; texts are canonical.  Set once at start-up.
 */
typedef enum ss_err (*settings_persist_fn)(void *arg,
                                           const enum setting_id *ids,
                                           const char *const *texts, size_t n);
void settings_set_persist(settings_persist_fn fn, void *arg);

/* Subscribers run after every successful change (up to 8). */
typedef void (*settings_changed_fn)(void *arg);
void settings_subscribe(settings_changed_fn fn, void *arg);
/* Removes a subscription made with the same fn and arg. */
void settings_unsubscribe(settings_changed_fn fn, void *arg);

/*
 * Applies a JSON object of key -> value (bools as JSON booleans, integers as
 * JSON integers, strings as strings), all or nothing.  On SS_OK the changes
 * are persisted, applied and subscribers notified.  On SS_EINVAL, errors gets
 * the response body {"error": "...", "fields": {key: message}} and nothing
 * changes.  Unknown keys, non-runtime keys, wrong JSON types and values
 * outside bounds are all rejected.  Any thread.
 */
enum ss_err settings_patch_json(const char *body, size_t len,
                                struct buf *errors);

/*
 * Validates, persists and applies one value given as text (the settings
 * page posts forms).  Same rules and hook as settings_patch_json(); on
 * SS_EINVAL err names the problem and nothing changes.
 */
enum ss_err settings_apply_text(enum setting_id id, const char *text,
                                char *err, size_t errlen);

/* Appends {"settings": {key: value, ...}} with secrets masked. */
enum ss_err settings_render_json(struct buf *out);
/* Appends [{"key","type","default","min","max","choices","runtime","secret",
 * "help"}, ...] describing the table. */
enum ss_err settings_render_schema_json(struct buf *out);
/* Prints the table as `--help` text. */
void settings_print_help(FILE *out);

/*
 * The commented default INI file (settings_doc.c): every setting grouped by
 * section with its meaning, type, default and environment name, commented
 * out; overrides ("key=value", NULL-terminated, may be NULL) are written
 * active instead.  SS_EINVAL (err says why, nothing written) when an
 * override is not a valid value of a setting; SS_EIO on a write error.
 */
enum ss_err settings_write_ini(FILE *out, const char *const *overrides,
                               char *err, size_t errlen);
/* The man page soulspotd(8) in roff: options (config/cli.h), every setting,
 * files, environment, signals, exit status. */
void settings_write_man(FILE *out, const char *version);

#endif
