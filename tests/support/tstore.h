/*
 * tstore.h - a fresh, migrated SQLite store in a temporary folder for
 * unit tests of the domain stores and of the code above them.
 */
#ifndef SS_TEST_TSTORE_H
#define SS_TEST_TSTORE_H

#include "db/db.h"

struct tstore {
  char dir[96];   /* /tmp/<name>.XXXXXX */
  char path[128]; /* <dir>/s.db */
  struct db *db;
};

/* Creates the folder and the store (every migration applied).  0 or -1
 * (cmocka setup convention). */
int tstore_open(struct tstore *t, const char *name);
/* Closes the store and removes the folder. */
void tstore_close(struct tstore *t);
/* cmocka setup / teardown: *state gets a heap struct tstore named name. */
int tstore_setup(void **state, const char *name);
int tstore_teardown(void **state);

#endif
