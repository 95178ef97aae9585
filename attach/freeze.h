/* Freezing a live process without changing it: PTRACE_SEIZE + PTRACE_INTERRUPT on every
 * thread (no SIGSTOP, so no signal is generated and job control is untouched), a wait per
 * TID (never waitpid(-1), which is O(N) per call), and a detach that hands back any signal
 * a thread was about to receive. */
#ifndef CHANG_FREEZE_H
#define CHANG_FREEZE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/clock.h"
#include "util/err.h"

enum thread_stop {
	TS_NONE,	/* not stopped (yet) */
	TS_INTERRUPT,	/* our PTRACE_INTERRUPT trap */
	TS_GROUP,	/* job-control stop (the process was or is being stopped) */
	TS_SIGNAL,	/* signal-delivery-stop: sig must be re-injected at detach */
	TS_EXITED,	/* the thread exited meanwhile */
	TS_TIMEOUT,	/* did not stop within the timeout (D state, ...) */
	TS_ZOMBIE,	/* a thread that exited but is not reaped (a leader after pthread_exit) */
};

struct frozen_thread {
	pid_t tid;
	enum thread_stop stop;
	int sig;		/* TS_SIGNAL: signal to deliver on detach; TS_GROUP: stop signal */
	bool seized;
};

struct freeze {
	pid_t pid;
	struct frozen_thread *t;
	size_t n, cap;
	uint64_t t_start_ns, t_frozen_ns, t_thawed_ns;	/* CLOCK_MONOTONIC */
	bool job_stopped;
};

/* Seize and stop every thread, re-listing /proc/PID/task until no new one appears.
 * On failure nothing stays traced. */
int freeze_process(struct freeze *f, pid_t pid, unsigned timeout_ms, struct err *e);
/* Detach every thread, re-injecting pending signals; safe to call twice. */
void thaw_process(struct freeze *f);
void freeze_free(struct freeze *f);
/* Explain why PTRACE_SEIZE was refused (tracer, uid, Yama, capabilities). */
void freeze_explain_eperm(pid_t pid, struct err *e);
#endif
