/*
 * schema_wanted.c - the automation domain's schema migration (see the
 * append-only list in db_sqlite.c).  A migration is never edited once
 * shipped; later changes append a new one.
 *
 * wanted: one row per release (album) or track the library should have;
 *   states and identity rules in db_wanted.h.  norm_key, spotify_id and
 *   mb_id are each unique per kind (partial indexes: "" is no id).
 *   request_id is the newest download request made for it (no foreign
 *   key: download history may be pruned independently).
 * wanted_requests: one row per download request made for an item (the
 *   hourly cap and "downloads triggered" count requests, not items).
 * watchlist: one row per watched artist (Spotify id unique).
 *
 * Migration 10 (db_schema_wanted_sources): the discography pass's own
 * check time per watch; watch_declined, the artists a user unwatched (so
 * "watch every followed artist" does not bring them back until watched
 * again); the "download missing tracks" switch of a Spotify playlist.
 */
#include "db/db_sqlite_internal.h"

const char db_schema_wanted[] =
  "CREATE TABLE wanted ("
  "  id INTEGER PRIMARY KEY,"
  "  kind TEXT NOT NULL CHECK (kind IN ('album', 'track')),"
  "  source TEXT NOT NULL CHECK (source IN ('watchlist', 'discography',"
  "    'quality_upgrade', 'playlist', 'manual')),"
  "  state TEXT NOT NULL DEFAULT 'wanted' CHECK (state IN ('wanted',"
  "    'searching', 'downloading', 'imported', 'given_up', 'ignored')),"
  "  norm_key TEXT NOT NULL CHECK (norm_key <> ''),"
  "  spotify_id TEXT NOT NULL DEFAULT '',"
  "  mb_id TEXT NOT NULL DEFAULT '',"
  "  artist TEXT NOT NULL DEFAULT '',"
  "  title TEXT NOT NULL DEFAULT '',"
  "  album TEXT NOT NULL DEFAULT '',"
  "  release_date TEXT NOT NULL DEFAULT '',"
  "  release_type TEXT NOT NULL DEFAULT '',"
  "  expected_tracks INTEGER NOT NULL DEFAULT 0,"
  "  auto_download INTEGER NOT NULL DEFAULT 0,"
  "  watch_id INTEGER NOT NULL DEFAULT 0,"
  "  track_id INTEGER NOT NULL DEFAULT 0,"
  "  current_quality TEXT NOT NULL DEFAULT '',"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  last_try_ms INTEGER NOT NULL DEFAULT 0,"
  "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
  "  reason TEXT NOT NULL DEFAULT '',"
  "  request_id INTEGER NOT NULL DEFAULT 0,"
  "  created_ms INTEGER NOT NULL,"
  "  updated_ms INTEGER NOT NULL);"
  "CREATE UNIQUE INDEX wanted_key ON wanted(kind, norm_key);"
  "CREATE UNIQUE INDEX wanted_spotify ON wanted(kind, spotify_id)"
  "  WHERE spotify_id <> '';"
  "CREATE UNIQUE INDEX wanted_mb ON wanted(kind, mb_id) WHERE mb_id <> '';"
  "CREATE INDEX wanted_due ON wanted(state, next_try_ms);"
  "CREATE INDEX wanted_request ON wanted(request_id) WHERE request_id <> 0;"
  "CREATE TABLE wanted_requests ("
  "  id INTEGER PRIMARY KEY,"
  "  wanted_id INTEGER NOT NULL,"
  "  request_id INTEGER NOT NULL,"
  "  made_ms INTEGER NOT NULL);"
  "CREATE INDEX wanted_requests_made ON wanted_requests(made_ms);"
  "CREATE TABLE watchlist ("
  "  id INTEGER PRIMARY KEY,"
  "  spotify_artist_id TEXT NOT NULL UNIQUE CHECK (spotify_artist_id <> ''),"
  "  mb_artist_id TEXT NOT NULL DEFAULT '',"
  "  name TEXT NOT NULL DEFAULT '',"
  "  auto_download INTEGER NOT NULL DEFAULT 1,"
  "  discography INTEGER NOT NULL DEFAULT 0,"
  "  release_types INTEGER NOT NULL DEFAULT 7,"
  "  since_date TEXT NOT NULL,"
  "  last_check_ms INTEGER NOT NULL DEFAULT 0,"
  "  last_error TEXT NOT NULL DEFAULT '',"
  "  created_ms INTEGER NOT NULL);"
  "CREATE INDEX watchlist_due ON watchlist(last_check_ms);";

const char db_schema_wanted_sources[] =
  "ALTER TABLE watchlist ADD COLUMN discography_check_ms INTEGER NOT NULL"
  "  DEFAULT 0;"
  "CREATE TABLE watch_declined ("
  "  spotify_artist_id TEXT PRIMARY KEY,"
  "  declined_ms INTEGER NOT NULL) WITHOUT ROWID;"
  "ALTER TABLE spotify_playlists ADD COLUMN download_missing INTEGER NOT NULL"
  "  DEFAULT 0;";
