#include "tfs.h"

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static int rm_entry(const char *p, const struct stat *st, int type,
                    struct FTW *ftw)
{
  (void)st, (void)type, (void)ftw;
  return remove(p);
}

void tfs_rm_tree(const char *dir)
{
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool tfs_exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}
