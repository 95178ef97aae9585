/* The on-disk cache of inflated debug files: inflating glibc's takes a CPU 15 ms on every
 * run, reading the inflated copy back nothing. Entries are named by build-id and the source
 * file's size and time, written whole before they get a name, checked when opened, and the
 * least recently used go when the cache passes its size ($CHANG_CACHE_MAX_MB, 512 MiB).
 *
 * Where: $CHANG_CACHE_DIR, else $XDG_CACHE_HOME/chang/debuginfo, else
 * ~/.cache/chang/debuginfo. CHANG_CACHE_DIR=off (or empty) turns it off. */
#ifndef CHANG_DEBUGCACHE_H
#define CHANG_DEBUGCACHE_H
#include <stdbool.h>
#include <sys/stat.h>

/* The cached image of the debug file with this build-id, whose file is src; -1 if none. */
int debugcache_open(const unsigned char *id, int len, const struct stat *src);
/* An empty, unnamed file in the cache to write an image into; -1 when there is no cache. */
int debugcache_create(void);
/* Name the file debugcache_create made (it stays open) and keep the cache within its size. */
void debugcache_commit(int fd, const unsigned char *id, int len, const struct stat *src);
#endif
