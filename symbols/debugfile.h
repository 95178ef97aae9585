/* Separate debug files, inflated once per chang process (symbols/inflate.h) and possibly
 * ahead of time: `chang attach` starts inflating the debug files of the modules the target
 * maps right after the thaw, on another thread, beside the reading of /proc (before the
 * freeze it slowed the freeze by half on a machine of two CPUs). Inflated images are kept on disk for later runs (symbols/debugcache.h). */
#ifndef CHANG_DEBUGFILE_H
#define CHANG_DEBUGFILE_H
#include <stddef.h>
#include "image/target.h"

/* The directories searched for debug files, in elfutils' debuginfo_path syntax
 * (--debuginfo-path, the sysroot's /usr/lib/debug, a live target's own /usr/lib/debug when
 * its root is not chang's (a container: /proc/PID/root/usr/lib/debug), .debug,
 * /usr/lib/debug). live_pid: the attached process, 0 for a core. */
void debugfile_search_path(const struct target_options *o, pid_t live_pid, char *buf, size_t cap);

/* Start inflating, on a background thread, the debug files that the build-ids of these
 * module files name under the search path. Returns at once. */
void debugfile_prefetch(const char *const *module_paths, size_t n, const char *search_path);

/* The debug file of this build-id under the search path, checked to carry that build-id:
 * its inflated image when there is one (prefetched or made now), else the file itself; -1
 * when there is none. *name is set to the file's path (malloc'ed). */
int debugfile_open_by_build_id(const unsigned char *id, int len, const char *search_path, char **name);

/* libdwfl found a debug file, open on fd: returns the fd to read instead (fd is then
 * closed), waiting for the prefetch of that file if it is under way, else fd itself. */
int debugfile_substitute(int fd);

/* How many debug files were inflated by this process, and how many read from the cache. */
void debugfile_stats(unsigned *inflated, unsigned *cached);

/* Wait for the background thread and release every inflated image (also run at exit once
 * the thread was started). */
void debugfile_shutdown(void);
#endif
