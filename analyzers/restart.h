/* A wait interrupted by a stop (chang's own attach, gdb, strace, a job-control stop) comes
 * back as restart_syscall (nr 219 on x86_64) when the call was a futex with a timeout,
 * nanosleep, clock_nanosleep or poll: from then on orig_rax and /proc/N/task/T/syscall say
 * 219 on every later look, while the argument registers still hold the original call's
 * arguments (the kernel restarts it from its own restart block and leaves them alone;
 * checked on Linux 6.x with tests/programs/restarted_waits.c). The original call is told by
 * the code before the PC (glibc's and Go's wrappers load the number with "mov $NR, %eax"
 * right before "syscall"), else by the waiting frames' function names. */
#ifndef CHANG_RESTART_H
#define CHANG_RESTART_H
#include <stddef.h>
#include "model/snapshot.h"

#define SYS_NR_RESTART_SYSCALL 219

/* How the original call was told apart. */
enum restart_evidence { RESTART_UNKNOWN, RESTART_FROM_CODE, RESTART_FROM_FRAMES };

/* From the bytes that end just before a syscall's return address (code[n-2..n-1] must be
 * the syscall instruction 0f 05): the number a "mov $imm32, %eax" among the few instructions
 * before it loads, when that number is one of the calls the kernel restarts through
 * restart_syscall; -1 otherwise. Pure, for the sampler and the tests. */
long restart_nr_from_code(const unsigned char *code, size_t n);

/* Bytes of code worth reading before the PC for restart_nr_from_code. */
#define RESTART_CODE_WINDOW 24

/* The call a task in restart_syscall originally made (futex, nanosleep, clock_nanosleep,
 * poll), from the code before its PC in the target's memory, else from its frames' names,
 * checked against the argument registers; -1 when neither tells. */
long restart_original_nr(struct snapshot *s, const struct task *t, enum restart_evidence *how);
#endif
