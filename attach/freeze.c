#include "attach/freeze.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_tid_frozen(const void *key, const void *elem)
{
	pid_t k = *(const pid_t *)key, t = ((const struct frozen_thread *)elem)->tid;
	return (k > t) - (k < t);
}

static void on_alarm(int sig)
{
	(void)sig;	/* only there to make waitpid return EINTR */
}

static int cmp_thread(const void *a, const void *b)
{
	const struct frozen_thread *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

void freeze_explain_eperm(pid_t pid, struct err *e)
{
	char tracer[32] = "0", uid[64] = "", cap[32] = "";
	procfs_status_field(pid, "TracerPid", tracer, sizeof(tracer));
	if (atoi(tracer) != 0) {
		char comm[64] = "?", path[64];
		snprintf(path, sizeof(path), "/proc/%d/comm", atoi(tracer));
		if (procfs_read(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = 0;
		err_set(e, ERR_FAIL, "process %d: already traced by process %d (%s); a process can "
			"have only one tracer: detach that debugger first", (int)pid, atoi(tracer), comm);
		return;
	}
	procfs_status_field(pid, "Uid", uid, sizeof(uid));
	unsigned ruid = 0;
	sscanf(uid, "%u", &ruid);
	procfs_status_field(getpid(), "CapEff", cap, sizeof(cap));
	unsigned long long caps = strtoull(cap, NULL, 16);
	bool has_ptrace_cap = caps & (1ull << 19);	/* CAP_SYS_PTRACE */
	char yama[16] = "";
	bool have_yama = procfs_read("/proc/sys/kernel/yama/ptrace_scope", yama, sizeof(yama)) > 0;
	if (ruid != getuid() && !has_ptrace_cap) {
		err_set(e, ERR_FAIL, "process %d: permission denied: it belongs to uid %u and chang "
			"runs as uid %u without CAP_SYS_PTRACE; run chang as that user or as root",
			(int)pid, ruid, (unsigned)getuid());
	} else if (have_yama && atoi(yama) >= 1 && !has_ptrace_cap) {
		err_set(e, ERR_FAIL, "process %d: permission denied by Yama (kernel.yama.ptrace_scope=%d "
			"lets only parents or CAP_SYS_PTRACE trace); run as root or set the sysctl to 0",
			(int)pid, atoi(yama));
	} else if (!has_ptrace_cap && getuid() == 0) {
		err_set(e, ERR_FAIL, "process %d: permission denied although chang runs as root: the "
			"container lacks CAP_SYS_PTRACE (or a seccomp profile forbids ptrace); add "
			"--cap-add=SYS_PTRACE", (int)pid);
	} else {
		err_set(e, ERR_FAIL, "process %d: permission denied by ptrace (a security module or "
			"seccomp policy refused it, or the process is not dumpable)", (int)pid);
	}
}

static bool is_zombie(pid_t pid, pid_t tid)
{
	char path[96], buf[512], st = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return procfs_read(path, buf, sizeof(buf)) > 0 && procfs_parse_stat(buf, &st, NULL) &&
	       (st == 'Z' || st == 'X');
}

/* Seize what /proc lists now; returns how many new threads were seized. */
static ssize_t seize_new(struct freeze *f, struct err *e)
{
	pid_t *tids = NULL;
	ssize_t nt = procfs_list_tasks(f->pid, &tids);
	if (nt < 0) {
		int en = errno;
		free(tids);
		if (f->n == 0)
			return err_set(e, ERR_FAIL, "process %d: %s", (int)f->pid,
				       en == ENOENT ? "no such process" : strerror(en));
		return 0;	/* exited during the freeze: keep what we have */
	}
	size_t added = 0, old = f->n;
	for (ssize_t i = 0; i < nt; i++) {
		/* f->t[0..old) is sorted; new ones are appended and sorted below */
		if (old && bsearch(&tids[i], f->t, old, sizeof(*f->t), cmp_tid_frozen))
			continue;
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) != 0) {
			int en = errno;
			if (en == ESRCH)
				continue;	/* exited between listing and seizing */
			if (is_zombie(f->pid, tids[i])) {
				/* It cannot be traced, and it has nothing to stop: report it as is. */
				VEC_RESERVE(f->t, f->cap, f->n + 1);
				f->t[f->n++] = (struct frozen_thread){ .tid = tids[i], .stop = TS_ZOMBIE };
				added++;
				continue;
			}
			bool any_seized = false;
			for (size_t k = 0; k < f->n && !any_seized; k++)
				any_seized = f->t[k].seized;
			if (!any_seized) {
				free(tids);
				if (en == EPERM) {
					freeze_explain_eperm(f->pid, e);
					return -1;
				}
				return err_set(e, ERR_FAIL, "process %d: cannot attach: %s", (int)f->pid,
					       strerror(en));
			}
			continue;
		}
		VEC_RESERVE(f->t, f->cap, f->n + 1);
		f->t[f->n++] = (struct frozen_thread){ .tid = tids[i], .seized = true };
		added++;
		if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) != 0 && errno == ESRCH)
			f->t[f->n - 1].stop = TS_EXITED;
	}
	free(tids);
	if (f->n > 1)
		qsort(f->t, f->n, sizeof(*f->t), cmp_thread);
	return (ssize_t)added;
}

static bool deadline_passed(uint64_t deadline)
{
	return mono_ns() >= deadline;
}

/* Wait until every seized thread reports a stop, or the deadline passes. One interval
 * timer covers the whole wait: after the deadline it keeps firing, so any waitpid still
 * blocked returns EINTR (re-arming a timer per thread would cost two syscalls each). */
static void wait_stops(struct freeze *f, uint64_t deadline)
{
	uint64_t now = mono_ns();
	uint64_t left = deadline > now ? deadline - now : 1000;
	struct itimerval it = {
		.it_value = { .tv_sec = (time_t)(left / 1000000000ull),
			      .tv_usec = (suseconds_t)(left % 1000000000ull / 1000) + 1 },
		.it_interval = { .tv_sec = 0, .tv_usec = 10000 },
	};
	setitimer(ITIMER_REAL, &it, NULL);
	for (size_t i = 0; i < f->n; i++) {
		struct frozen_thread *t = &f->t[i];
		while (t->stop == TS_NONE) {
			if (mono_ns() >= deadline) {
				t->stop = TS_TIMEOUT;
				break;
			}
			int status;
			pid_t r = waitpid(t->tid, &status, __WALL);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				t->stop = TS_EXITED;	/* ECHILD: gone */
				break;
			}
			if (WIFEXITED(status) || WIFSIGNALED(status)) {
				t->stop = TS_EXITED;
				t->seized = false;
				break;
			}
			if (!WIFSTOPPED(status))
				continue;
			int sig = WSTOPSIG(status);
			int event = status >> 16;
			if (event == PTRACE_EVENT_STOP) {
				if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
					t->stop = TS_GROUP;
					t->sig = sig;
					f->job_stopped = true;
				} else {
					t->stop = TS_INTERRUPT;
				}
			} else if (event == 0) {
				/* A signal was about to be delivered: the thread is stopped, and the
				 * signal must go back in on detach or the target loses it. */
				t->stop = TS_SIGNAL;
				t->sig = sig;
			} else {
				t->stop = TS_INTERRUPT;
			}
		}
	}
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
}

int freeze_process(struct freeze *f, pid_t pid, unsigned timeout_ms, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	uint64_t deadline = mono_ns() + (uint64_t)(timeout_ms ? timeout_ms : 5000) * 1000000ull;
	f->t_start_ns = mono_ns();
	for (int round = 0; round < 1000; round++) {
		ssize_t added = seize_new(f, e);
		if (added < 0) {
			thaw_process(f);
			return -1;
		}
		if (added == 0 && round > 0)
			break;
		/* A thread not yet stopped can still clone: stop everyone before re-listing. */
		wait_stops(f, deadline);
		if (deadline_passed(deadline))
			break;
	}
	f->t_frozen_ns = mono_ns();
	if (f->n == 0)
		return err_set(e, ERR_FAIL, "process %d: no threads could be attached", (int)pid);
	return 0;
}

void thaw_process(struct freeze *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct frozen_thread *t = &f->t[i];
		if (!t->seized)
			continue;
		int sig = t->stop == TS_SIGNAL ? t->sig : 0;
		if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)sig) != 0 && errno == ESRCH &&
		    t->stop == TS_TIMEOUT) {
			/* Still running with our interrupt pending: detach needs a stop, so give it
			 * a last moment; if it never stops, our exit detaches it (exit_ptrace). */
			int status;
			for (int k = 0; k < 20; k++) {
				if (waitpid(t->tid, &status, __WALL | WNOHANG) == t->tid) {
					int s2 = (WIFSTOPPED(status) && (status >> 16) == 0) ? WSTOPSIG(status) : 0;
					ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)s2);
					break;
				}
				usleep(1000);
			}
		}
		t->seized = false;
	}
	f->t_thawed_ns = mono_ns();
}

void freeze_free(struct freeze *f)
{
	if (!f)
		return;
	free(f->t);
	f->t = NULL;
	f->n = f->cap = 0;
}
