/* Thread names and kernel state letters of a process's tasks, read from /proc after the
 * thaw. A thousand threads take a thousand opens of /proc/PID/task/TID/stat (7 ms of a
 * CPU), so the reads go on other CPUs while the caller unwinds. */
#ifndef CHANG_TASKNAMES_H
#define CHANG_TASKNAMES_H
#include <stddef.h>
#include <sys/types.h>
#include "model/snapshot.h"

struct tasknames;
/* Start reading: kstate of each task is set by other threads until tasknames_finish, and
 * nothing else of the tasks is touched. */
struct tasknames *tasknames_start(pid_t pid, struct task *tasks, size_t n);
/* Wait for the reading and set each task's name (allocated in a). */
void tasknames_finish(struct tasknames *tn, struct arena *a);
#endif
