/*
 * schema_downloads.c - the downloads domain's schema migration (see the
 * append-only list in db_sqlite.c).  A migration is never edited once
 * shipped; later changes append a new one.
 *
 * download_requests: one row per user request (a track or an album).
 *   state: pending (search due) -> searching -> downloading -> completed |
 *   failed | cancelled.  search_id is our own GUID for slskd's search.
 * download_candidates: the ranked folders (album) or files (track) a
 *   search offered, best first (rank 0).
 * download_candidate_files: their files; track_key ties the same track
 *   across folders (album retries), used marks a file already tried.
 * download_files: every transfer we asked slskd for, and its import.
 *   state: want (enqueue due at not_before_ms) -> enqueued -> queued |
 *   in_progress -> completed (transfer done) -> importing (journaled: src
 *   and dst written before the move) -> imported; or failed / cancelled.
 *   superseded = a retry replaced this failed row.
 * download_progress: bytes, percentage and the time bytes last moved, per
 *   file, in a narrow table of its own: a poll with 10 000 moving
 *   transfers rewrites 10 000 short rows, not 10 000 wide ones.
 */
#include "db/db_sqlite_internal.h"

const char db_schema_downloads[] =
  "CREATE TABLE download_requests ("
  "  id INTEGER PRIMARY KEY,"
  "  kind TEXT NOT NULL CHECK (kind IN ('track', 'album')),"
  "  query TEXT NOT NULL,"
  "  artist TEXT NOT NULL DEFAULT '',"
  "  title TEXT NOT NULL DEFAULT '',"
  "  spotify_id TEXT NOT NULL DEFAULT '',"
  "  expected_tracks INTEGER NOT NULL DEFAULT 0,"
  "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
  "    'searching', 'downloading', 'completed', 'failed', 'cancelled')),"
  "  search_id TEXT NOT NULL DEFAULT '',"
  "  search_started_ms INTEGER NOT NULL DEFAULT 0,"
  "  search_tries INTEGER NOT NULL DEFAULT 0,"
  "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
  "  error TEXT NOT NULL DEFAULT '',"
  "  created_ms INTEGER NOT NULL,"
  "  updated_ms INTEGER NOT NULL,"
  "  finished_ms INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX download_requests_open ON download_requests (state)"
  "  WHERE state IN ('pending', 'searching', 'downloading');"
  "CREATE TABLE download_candidates ("
  "  id INTEGER PRIMARY KEY,"
  "  request_id INTEGER NOT NULL REFERENCES download_requests (id)"
  "    ON DELETE CASCADE,"
  "  rank INTEGER NOT NULL,"
  "  username TEXT NOT NULL,"
  "  directory TEXT NOT NULL,"
  "  quality TEXT NOT NULL DEFAULT '',"
  "  n_files INTEGER NOT NULL DEFAULT 0,"
  "  total_size INTEGER NOT NULL DEFAULT 0,"
  "  free_slot INTEGER NOT NULL DEFAULT 0,"
  "  queue_length INTEGER NOT NULL DEFAULT 0,"
  "  upload_speed INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX download_candidates_req ON download_candidates"
  "  (request_id, rank);"
  "CREATE TABLE download_candidate_files ("
  "  id INTEGER PRIMARY KEY,"
  "  candidate_id INTEGER NOT NULL REFERENCES download_candidates (id)"
  "    ON DELETE CASCADE,"
  "  request_id INTEGER NOT NULL,"
  "  filename TEXT NOT NULL,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  track_key TEXT NOT NULL DEFAULT '',"
  "  used INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX download_candidate_files_req ON download_candidate_files"
  "  (request_id, track_key);"
  "CREATE INDEX download_candidate_files_cand ON download_candidate_files"
  "  (candidate_id);"
  "CREATE TABLE download_files ("
  "  id INTEGER PRIMARY KEY,"
  "  request_id INTEGER NOT NULL REFERENCES download_requests (id)"
  "    ON DELETE CASCADE,"
  "  candidate_file_id INTEGER NOT NULL DEFAULT 0,"
  "  username TEXT NOT NULL,"
  "  filename TEXT NOT NULL,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  track_key TEXT NOT NULL DEFAULT '',"
  "  state TEXT NOT NULL DEFAULT 'want' CHECK (state IN ('want',"
  "    'enqueued', 'queued', 'in_progress', 'completed', 'importing',"
  "    'imported', 'failed', 'cancelled')),"
  "  transfer_id TEXT NOT NULL DEFAULT '',"
  "  slskd_state TEXT NOT NULL DEFAULT '',"
  "  retries INTEGER NOT NULL DEFAULT 0,"
  "  not_before_ms INTEGER NOT NULL DEFAULT 0,"
  "  enqueued_ms INTEGER NOT NULL DEFAULT 0,"
  "  import_tries INTEGER NOT NULL DEFAULT 0,"
  "  import_src TEXT NOT NULL DEFAULT '',"
  "  import_dst TEXT NOT NULL DEFAULT '',"
  "  track_id INTEGER NOT NULL DEFAULT 0,"
  "  superseded INTEGER NOT NULL DEFAULT 0,"
  "  error TEXT NOT NULL DEFAULT '',"
  "  created_ms INTEGER NOT NULL,"
  "  updated_ms INTEGER NOT NULL);"
  "CREATE INDEX download_files_req ON download_files (request_id);"
  "CREATE INDEX download_files_open ON download_files (state)"
  "  WHERE state IN ('want', 'enqueued', 'queued', 'in_progress',"
  "  'completed', 'importing');"
  "CREATE TABLE download_progress ("
  "  file_id INTEGER PRIMARY KEY REFERENCES download_files (id)"
  "    ON DELETE CASCADE,"
  "  bytes INTEGER NOT NULL DEFAULT 0,"
  "  percent REAL NOT NULL DEFAULT 0,"
  "  progress_ms INTEGER NOT NULL DEFAULT 0);";

/* Quality upgrades (later migration): a request made for a Wanted
 * quality_upgrade item names the library track it replaces and the
 * measured quality of that file (format, kbit/s, VBR, bit depth, sample
 * rate), so its search takes only strictly better candidates and its
 * import replaces the file in place.  upgrade_track_id 0 = a plain
 * request.  The index lets a quality upgrade pass skip the tracks that
 * already have an item. */
const char db_schema_downloads_upgrade[] =
  "ALTER TABLE download_requests ADD COLUMN upgrade_track_id INTEGER NOT NULL"
  "  DEFAULT 0;"
  "ALTER TABLE download_requests ADD COLUMN upgrade_format TEXT NOT NULL"
  "  DEFAULT '';"
  "ALTER TABLE download_requests ADD COLUMN upgrade_kbps INTEGER NOT NULL"
  "  DEFAULT 0;"
  "ALTER TABLE download_requests ADD COLUMN upgrade_vbr INTEGER NOT NULL"
  "  DEFAULT 0;"
  "ALTER TABLE download_requests ADD COLUMN upgrade_bit_depth INTEGER NOT"
  "  NULL DEFAULT 0;"
  "ALTER TABLE download_requests ADD COLUMN upgrade_sample_rate INTEGER NOT"
  "  NULL DEFAULT 0;"
  "CREATE INDEX wanted_track ON wanted (track_id) WHERE track_id <> 0;";

/* The MusicBrainz ids of what a request is for (later migration): a
 * request made for a Wanted item carries the item's release group (and a
 * release when known), so its import can name the album in the library
 * row and fetch cover.jpg even when the downloaded files carry no
 * MusicBrainz tags.  "" = unknown. */
const char db_schema_downloads_mbids[] =
  "ALTER TABLE download_requests ADD COLUMN mb_release_group_id TEXT NOT"
  "  NULL DEFAULT '';"
  "ALTER TABLE download_requests ADD COLUMN mb_release_id TEXT NOT NULL"
  "  DEFAULT '';";
