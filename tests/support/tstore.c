/*
 * tstore.c - temporary stores for unit tests (see tstore.h).
 */
#include "tstore.h"

#include <stdio.h>
#include <stdlib.h>

#include "tfs.h"

int tstore_open(struct tstore *t, const char *name)
{
  snprintf(t->dir, sizeof t->dir, "/tmp/%s.XXXXXX", name);
  if (!mkdtemp(t->dir))
    return -1;
  snprintf(t->path, sizeof t->path, "%s/s.db", t->dir);
  int version;
  t->db = NULL;
  if (db_open(t->path, &t->db) || db_migrate(t->db, &version)) {
    tstore_close(t);
    return -1;
  }
  return 0;
}

void tstore_close(struct tstore *t)
{
  db_close(t->db);
  t->db = NULL;
  tfs_rm_tree(t->dir);
}

int tstore_setup(void **state, const char *name)
{
  struct tstore *t = calloc(1, sizeof *t);
  if (!t || tstore_open(t, name)) {
    free(t);
    return -1;
  }
  *state = t;
  return 0;
}

int tstore_teardown(void **state)
{
  struct tstore *t = *state;
  tstore_close(t);
  free(t);
  return 0;
}
