/* Reading /proc/PID/...: the kernel's own view of a live process, used before, during and
 * after the freeze. Parsers are pure functions over text so tests and fuzzers can feed them. */
#ifndef CHANG_PROCFS_H
#define CHANG_PROCFS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/snapshot.h"

/* Read a whole small /proc file into buf (NUL-terminated); returns length or -1. */
ssize_t procfs_read(const char *path, char *buf, size_t cap);
/* The same for a path relative to an open directory (thousands of /proc/PID/task/TID files
 * without walking /proc/PID each time). */
ssize_t procfs_read_at(int dirfd, const char *path, char *buf, size_t cap);
/* TIDs of /proc/PID/task, sorted; returns count or -1 (errno set). *out is malloc'ed. */
ssize_t procfs_list_tasks(pid_t pid, pid_t **out);
/* "55d0c-55d0e r-xp 00001000 08:01 1234   /usr/bin/x" -> m (path owned by caller's arena). */
bool procfs_parse_maps_line(const char *line, struct mapping *m, struct arena *a);
/* Parse /proc/PID/maps text into a sorted array in the arena. */
size_t procfs_parse_maps(const char *text, struct mapping **out, struct arena *a);
/* From a stat line: state letter, utime+stime ticks; comm may contain spaces and ')'. */
bool procfs_parse_stat(const char *line, char *state, uint64_t *cpu_ticks);
/* /proc/PID/task/TID/syscall: 1 when in a syscall (nr, args, sp, pc set), 0 when
 * "running", 2 when blocked outside a syscall ("-1 sp pc"), -1 when malformed. */
int procfs_parse_syscall(const char *line, long *nr, uint64_t args[6], uint64_t *sp, uint64_t *pc);
/* The value of a "Key:\tvalue" line of /proc/PID/status, copied into val. */
bool procfs_status_field(pid_t pid, const char *key, char *val, size_t cap);
#endif
