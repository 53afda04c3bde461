/*
 * tfs.h - file-system helpers for tests: remove a temp tree, test a path.
 */
#ifndef SS_TEST_TFS_H
#define SS_TEST_TFS_H

#include <stdbool.h>

/* Removes dir and everything below it, never following symlinks. */
void tfs_rm_tree(const char *dir);
/* True when something (a link included) exists at path. */
bool tfs_exists(const char *path);

#endif
