/*
 * schema_spotify.c - the spotify domain's schema migration (slot 2 of the
 * append-only list in db_sqlite.c).  A migration is never edited once
 * shipped: a later change appends a new one.
 *
 * Tables:
 *   spotify_account           the one connected login (tokens are secrets:
 *                             they live only here, in the 0700 data dir)
 *   spotify_artists           followed artists (+ when their albums were read)
 *   spotify_albums            saved albums and artists' discographies
 *   spotify_artist_albums     artist -> album links from /artists/{id}/albums
 *   spotify_tracks            tracks met in playlists and liked songs
 *   spotify_playlists         the user's playlists; entries_snapshot is the
 *                             snapshot_id the stored entries belong to
 *   spotify_playlist_entries  one row per position of a playlist
 *   spotify_liked_songs       the saved tracks, newest first
 *   spotify_sync_status       per sync type: last attempt/success, result,
 *                             error, change marker
 * Every table is keyed by the Spotify id (or id + position), so writes are
 * upserts and a repeated sync never duplicates a row.
 */
#include "db/db_sqlite_internal.h"

const char db_schema_spotify[] =
  "CREATE TABLE spotify_account ("
  " id INTEGER PRIMARY KEY CHECK (id = 1),"
  " access_token TEXT NOT NULL,"
  " refresh_token TEXT NOT NULL,"
  " expires_at_ms INTEGER NOT NULL,"
  " scopes TEXT NOT NULL DEFAULT '',"
  " authorised_at_ms INTEGER NOT NULL,"
  " refreshed_at_ms INTEGER NOT NULL DEFAULT 0,"
  " user_id TEXT NOT NULL DEFAULT '',"
  " display_name TEXT NOT NULL DEFAULT '',"
  " reauth_reason TEXT NOT NULL DEFAULT '');"
  "CREATE TABLE spotify_artists ("
  " id TEXT PRIMARY KEY,"
  " name TEXT NOT NULL,"
  " uri TEXT NOT NULL DEFAULT '',"
  " image_url TEXT NOT NULL DEFAULT '',"
  " genres TEXT NOT NULL DEFAULT '',"
  " followed INTEGER NOT NULL DEFAULT 1,"
  " seen_stamp INTEGER NOT NULL DEFAULT 0,"
  " albums_synced_ms INTEGER NOT NULL DEFAULT 0,"
  " albums_count INTEGER NOT NULL DEFAULT 0,"
  " added_ms INTEGER NOT NULL,"
  " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
  "CREATE INDEX spotify_artists_name ON spotify_artists"
  " (name COLLATE NOCASE);"
  "CREATE INDEX spotify_artists_albums ON spotify_artists"
  " (followed, albums_synced_ms);"
  "CREATE TABLE spotify_albums ("
  " id TEXT PRIMARY KEY,"
  " name TEXT NOT NULL,"
  " artist_id TEXT NOT NULL DEFAULT '',"
  " artist_name TEXT NOT NULL DEFAULT '',"
  " album_type TEXT NOT NULL DEFAULT '',"
  " release_date TEXT NOT NULL DEFAULT '',"
  " total_tracks INTEGER NOT NULL DEFAULT 0,"
  " image_url TEXT NOT NULL DEFAULT '',"
  " upc TEXT NOT NULL DEFAULT '',"
  " saved INTEGER NOT NULL DEFAULT 0,"
  " saved_at TEXT NOT NULL DEFAULT '',"
  " seen_stamp INTEGER NOT NULL DEFAULT 0,"
  " added_ms INTEGER NOT NULL,"
  " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
  "CREATE INDEX spotify_albums_name ON spotify_albums (name COLLATE NOCASE);"
  "CREATE TABLE spotify_artist_albums ("
  " artist_id TEXT NOT NULL REFERENCES spotify_artists (id)"
  "   ON DELETE CASCADE,"
  " album_id TEXT NOT NULL,"
  " album_group TEXT NOT NULL DEFAULT '',"
  " PRIMARY KEY (artist_id, album_id)) WITHOUT ROWID;"
  "CREATE TABLE spotify_tracks ("
  " id TEXT PRIMARY KEY,"
  " name TEXT NOT NULL,"
  " artist_id TEXT NOT NULL DEFAULT '',"
  " artist_names TEXT NOT NULL DEFAULT '',"
  " album_id TEXT NOT NULL DEFAULT '',"
  " album_name TEXT NOT NULL DEFAULT '',"
  " duration_ms INTEGER NOT NULL DEFAULT 0,"
  " isrc TEXT NOT NULL DEFAULT '',"
  " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
  "CREATE TABLE spotify_playlists ("
  " id TEXT PRIMARY KEY,"
  " name TEXT NOT NULL,"
  " owner_id TEXT NOT NULL DEFAULT '',"
  " owner_name TEXT NOT NULL DEFAULT '',"
  " description TEXT NOT NULL DEFAULT '',"
  " collaborative INTEGER NOT NULL DEFAULT 0,"
  " snapshot_id TEXT NOT NULL DEFAULT '',"
  " total INTEGER NOT NULL DEFAULT 0,"
  " position INTEGER NOT NULL DEFAULT 0,"
  " followed INTEGER NOT NULL DEFAULT 1,"
  " seen_stamp INTEGER NOT NULL DEFAULT 0,"
  " entries_snapshot TEXT NOT NULL DEFAULT '',"
  " entries_count INTEGER NOT NULL DEFAULT 0,"
  " entries_error TEXT NOT NULL DEFAULT '',"
  " added_ms INTEGER NOT NULL,"
  " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
  "CREATE TABLE spotify_playlist_entries ("
  " playlist_id TEXT NOT NULL REFERENCES spotify_playlists (id)"
  "   ON DELETE CASCADE,"
  " position INTEGER NOT NULL,"
  " track_id TEXT NOT NULL DEFAULT '',"
  " uri TEXT NOT NULL DEFAULT '',"
  " name TEXT NOT NULL DEFAULT '',"
  " is_local INTEGER NOT NULL DEFAULT 0,"
  " added_at TEXT NOT NULL DEFAULT '',"
  " PRIMARY KEY (playlist_id, position)) WITHOUT ROWID;"
  "CREATE TABLE spotify_liked_songs ("
  " track_id TEXT PRIMARY KEY,"
  " position INTEGER NOT NULL,"
  " added_at TEXT NOT NULL DEFAULT '',"
  " seen_stamp INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
  "CREATE TABLE spotify_sync_status ("
  " type TEXT PRIMARY KEY,"
  " last_attempt_ms INTEGER NOT NULL DEFAULT 0,"
  " last_ok_ms INTEGER NOT NULL DEFAULT 0,"
  " items INTEGER NOT NULL DEFAULT 0,"
  " last_result TEXT NOT NULL DEFAULT '',"
  " last_error TEXT NOT NULL DEFAULT '',"
  " marker TEXT NOT NULL DEFAULT '') WITHOUT ROWID;";
