/* --no-stop: a snapshot without ptrace, for when another debugger holds the process or
 * ptrace is forbidden. Blocked threads tell their syscall, SP and PC through
 * /proc/PID/task/TID/syscall; their stacks are read through /proc/PID/mem. */
#ifndef CHANG_NOSTOP_H
#define CHANG_NOSTOP_H
#include <stdbool.h>
#include "attach/freeze.h"
#include "model/snapshot.h"

/* Fill f with the process's threads (none of them seized). */
int nostop_list(struct freeze *f, pid_t pid, struct err *e);
/* Registers a blocked thread reveals without being stopped: SP, PC, syscall and args.
 * False for a running thread (it has no stable stack to read). */
bool nostop_regs(pid_t pid, struct task *t);
#endif
