/* Cheap samples of a live process for chang watch: per thread, what the kernel says
 * without stopping anything (state, syscall, CPU time and wake-ups from schedstat). */
#ifndef CHANG_SAMPLER_H
#define CHANG_SAMPLER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct thread_sample {
	pid_t tid;
	char state;		/* from stat */
	long syscall_nr;	/* -1 when running or not in a syscall; for restart_syscall, the
				 * call it continues when the code before the PC tells */
	uint64_t arg0;		/* the futex address, the fd ... (args[0]) */
	uint64_t args[6];
	bool no_access;		/* its syscall file needs ptrace access to the process */
	uint64_t run_ns;	/* time on a CPU */
	uint64_t slices;	/* times it was scheduled in: grows with every wake-up */
};

struct sample {
	struct thread_sample *t;	/* sorted by tid */
	size_t n;
};

/* Returns -1 when the process is gone. */
int sample_take(pid_t pid, struct sample *out);
void sample_free(struct sample *s);
/* The sample of thread tid, or NULL. */
const struct thread_sample *sample_find(const struct sample *s, pid_t tid);
/* Slept through: in a system call at both samples, the same call on the same first
 * argument, asleep (S or D) at the second, and neither ran nor was woken in between. */
bool sample_slept_through(const struct thread_sample *x, const struct thread_sample *y);
/* Did any thread run, wake up, appear or vanish between a and b? */
bool sample_progress(const struct sample *a, const struct sample *b);
/* Same threads in the same syscalls on the same objects? */
bool sample_same_waits(const struct sample *a, const struct sample *b);
/* A wait that a healthy idle program also sits in (event loops, sleeps, accept). */
bool sample_idle_syscall(long nr);
#endif
