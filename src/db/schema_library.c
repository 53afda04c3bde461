/*
 * schema_library.c - the library domain's schema migration (see the append-only
 * list in db_sqlite.c).  Placeholder until the domain's tables land; a
 * migration is never edited once shipped.
 */
#include "db/db_sqlite_internal.h"

const char db_schema_library[] = "SELECT 1;";
