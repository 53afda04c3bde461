/*
 * schema_library.c - the library domain's schema migration (see the
 * append-only list in db_sqlite.c): tracks, duplicate groups and the
 * quarantine.  A migration is never edited once shipped; later changes
 * append a new one.
 *
 * library_tracks: one row per audio file ever seen under the library root,
 *   keyed by absolute path.  file_hash / fingerprint are NULL until
 *   computed; a size or mtime change resets them.
 *   seen_scan is the generation of the last scan that met the file.
 *   norm_key (migration 13) is the normalised "artist|title", written with
 *   the row by the scanner and the import; NULL until computed (the next
 *   detection fills it).
 * library_keys: the first home of the keys (migration 4), dropped by
 *   migration 13.
 * library_groups: one row per distinct finding, identified by its key
 *   ("<method>:<material>"); status open / resolved / dismissed / stale.
 * library_group_members: the tracks of a group.
 * library_quarantine: files moved away by a resolution; restored_ms is
 *   set by an undo.  It is also the journal of those moves (second
 *   migration): `pending` is 'resolve' from before a file moves into the
 *   quarantine until the move is recorded, 'undo' from before it moves
 *   back until that is recorded, '' otherwise; quarantine_recover() rolls
 *   every pending row forward or back after a crash.
 * library_meta: small counters (the scan generation).
 */
#include "db/db_sqlite_internal.h"

const char db_schema_library[] =
  "CREATE TABLE library_tracks ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL UNIQUE,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  mtime_ns INTEGER NOT NULL DEFAULT 0,"
  "  title TEXT NOT NULL DEFAULT '',"
  "  artist TEXT NOT NULL DEFAULT '',"
  "  album_artist TEXT NOT NULL DEFAULT '',"
  "  album TEXT NOT NULL DEFAULT '',"
  "  date TEXT NOT NULL DEFAULT '',"
  "  year INTEGER NOT NULL DEFAULT 0,"
  "  track_no INTEGER NOT NULL DEFAULT 0,"
  "  track_total INTEGER NOT NULL DEFAULT 0,"
  "  disc_no INTEGER NOT NULL DEFAULT 0,"
  "  disc_total INTEGER NOT NULL DEFAULT 0,"
  "  duration_ms INTEGER NOT NULL DEFAULT 0,"
  "  codec TEXT NOT NULL DEFAULT '',"
  "  container TEXT NOT NULL DEFAULT '',"
  "  bitrate INTEGER NOT NULL DEFAULT 0,"
  "  sample_rate INTEGER NOT NULL DEFAULT 0,"
  "  bit_depth INTEGER NOT NULL DEFAULT 0,"
  "  channels INTEGER NOT NULL DEFAULT 0,"
  "  lossless INTEGER NOT NULL DEFAULT 0,"
  "  mb_recording_id TEXT NOT NULL DEFAULT '',"
  "  mb_track_id TEXT NOT NULL DEFAULT '',"
  "  mb_album_id TEXT NOT NULL DEFAULT '',"
  "  mb_artist_id TEXT NOT NULL DEFAULT '',"
  "  mb_release_group_id TEXT NOT NULL DEFAULT '',"
  "  spotify_track_id TEXT NOT NULL DEFAULT '',"
  "  download_id INTEGER NOT NULL DEFAULT 0,"
  "  tag_score INTEGER NOT NULL DEFAULT 0,"
  "  unreadable INTEGER NOT NULL DEFAULT 0,"
  "  gone INTEGER NOT NULL DEFAULT 0,"
  "  quarantined INTEGER NOT NULL DEFAULT 0,"
  "  file_hash TEXT,"
  "  fingerprint BLOB,"
  "  seen_scan INTEGER NOT NULL DEFAULT 0,"
  "  added_ms INTEGER NOT NULL DEFAULT 0,"
  "  updated_ms INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX library_tracks_hash ON library_tracks (file_hash)"
  "  WHERE gone = 0 AND quarantined = 0 AND file_hash IS NOT NULL;"
  "CREATE TABLE library_keys ("
  "  track_id INTEGER PRIMARY KEY REFERENCES library_tracks (id)"
  "    ON DELETE CASCADE,"
  "  norm_key TEXT NOT NULL);"
  "CREATE INDEX library_keys_norm ON library_keys (norm_key)"
  "  WHERE norm_key <> '';"
  "CREATE INDEX library_tracks_seen ON library_tracks (seen_scan)"
  "  WHERE gone = 0;"
  "CREATE INDEX library_tracks_dur ON library_tracks (duration_ms)"
  "  WHERE gone = 0 AND quarantined = 0 AND length(fingerprint) > 0;"
  "CREATE TABLE library_groups ("
  "  id INTEGER PRIMARY KEY,"
  "  key TEXT NOT NULL UNIQUE,"
  "  method TEXT NOT NULL,"
  "  label TEXT NOT NULL DEFAULT '',"
  "  status TEXT NOT NULL DEFAULT 'open'"
  "    CHECK (status IN ('open', 'resolved', 'dismissed', 'stale')),"
  "  suggested_keep INTEGER NOT NULL DEFAULT 0,"
  "  keep INTEGER NOT NULL DEFAULT 0,"
  "  first_seen_ms INTEGER NOT NULL,"
  "  last_seen_ms INTEGER NOT NULL,"
  "  resolved_ms INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX library_groups_status ON library_groups (status, id);"
  "CREATE TABLE library_group_members ("
  "  group_id INTEGER NOT NULL REFERENCES library_groups (id)"
  "    ON DELETE CASCADE,"
  "  track_id INTEGER NOT NULL REFERENCES library_tracks (id)"
  "    ON DELETE CASCADE,"
  "  PRIMARY KEY (group_id, track_id)) WITHOUT ROWID;"
  "CREATE INDEX library_group_members_track"
  "  ON library_group_members (track_id);"
  "CREATE TABLE library_quarantine ("
  "  id INTEGER PRIMARY KEY,"
  "  group_id INTEGER REFERENCES library_groups (id) ON DELETE SET NULL,"
  "  track_id INTEGER REFERENCES library_tracks (id) ON DELETE SET NULL,"
  "  original_path TEXT NOT NULL,"
  "  quarantine_path TEXT NOT NULL,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  moved_ms INTEGER NOT NULL,"
  "  restored_ms INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX library_quarantine_group ON library_quarantine (group_id)"
  "  WHERE restored_ms = 0;"
  "CREATE INDEX library_quarantine_track ON library_quarantine (track_id)"
  "  WHERE restored_ms = 0;"
  "CREATE TABLE library_meta ("
  "  key TEXT PRIMARY KEY,"
  "  ival INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

/* Why a track is unreadable: the analysis' reason, e.g. "not audio: ...",
 * "analysis crashed: signal 11" (issue 10). */
const char db_schema_library_reason[] =
  "ALTER TABLE library_tracks ADD COLUMN unreadable_reason TEXT NOT NULL"
  "  DEFAULT '';";

/* The quarantine's move journal (see above). */
const char db_schema_library_journal[] =
  "ALTER TABLE library_quarantine ADD COLUMN pending TEXT NOT NULL"
  "  DEFAULT '' CHECK (pending IN ('', 'resolve', 'undo'));"
  "CREATE INDEX library_quarantine_pending ON library_quarantine (id)"
  "  WHERE pending <> '';";

/* The metadata key becomes a column of library_tracks (issue 10): written
 * with the row by the scanner and the import (NULL: not computed yet, the
 * next detection fills it in batches), so a detection reads keys in index
 * order instead of computing and sorting them.  Existing keys are copied;
 * library_keys and its index go.  library_keys_norm keeps its name and
 * covers the live rows only; library_tracks_nokey finds the rows still
 * without a key; library_tracks_unreadable lists the files the scanner
 * could not read (the library's unreadable page). */
const char db_schema_library_keycol[] =
  "ALTER TABLE library_tracks ADD COLUMN norm_key TEXT;"
  "UPDATE library_tracks SET norm_key = (SELECT k.norm_key FROM"
  "  library_keys k WHERE k.track_id = library_tracks.id);"
  "DROP TABLE library_keys;"
  "CREATE INDEX library_keys_norm ON library_tracks (norm_key)"
  "  WHERE norm_key <> '' AND gone = 0 AND quarantined = 0"
  "  AND unreadable = 0;"
  "CREATE INDEX library_tracks_nokey ON library_tracks (id)"
  "  WHERE norm_key IS NULL;"
  "CREATE INDEX library_tracks_unreadable ON library_tracks (id)"
  "  WHERE gone = 0 AND unreadable = 1;";
