/* Which Debian package installed a module's file, so that a report can name the -dbgsym
 * package holding its symbols. Read from dpkg's file lists (what `dpkg -S` reads), once,
 * and only for the modules that lack symbols. */
#ifndef CHANG_DEBUGPKG_H
#define CHANG_DEBUGPKG_H
#include "model/snapshot.h"

/* Sets m->package for each module a stack runs in that has no full symbol table and whose
 * file is the one the target ran (same build-id). The file lists are in info_dir (dpkg's
 * /var/lib/dpkg/info); a system without dpkg leaves every package NULL. */
void debugpkg_fill(struct snapshot *s, const char *info_dir);
#endif
