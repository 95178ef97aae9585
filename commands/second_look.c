#include "commands/second_look.h"
#include "analyzers/restart.h"
#include "model/syscalls.h"
#include "attach/sampler.h"
#include "util/clock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

/* Mass blocking and chains rest on no owner field. With --no-stop nothing does: each thread
 * and each lock word was read at its own moment while the process ran, so a thread that
 * took the lock between its syscall being read and the word being read looks like it waits
 * for itself. Cross-process findings had their own second look (attach/xproc.c); inferred
 * ones need this one. */
static bool unproven(const struct snapshot *s, const struct finding *f)
{
	return (s->not_atomic || f->kind == FINDING_MASS_BLOCKING || f->kind == FINDING_BLOCKING_CHAIN ||
		f->inferred) &&
	       f->ngoids == 0 && f->ntids > 0 && f->npids == 0;
}

/* A thread spinning on a spinlock runs all the time: it is still spinning when it stayed out
 * of the kernel, kept running, and the lock's word still says taken (read from the process
 * now, without stopping it). */
static bool still_spinning(const struct snapshot *s, const struct thread_sample *x,
			   const struct thread_sample *y, const struct task *t)
{
	if (x->syscall_nr >= 0 || y->syscall_nr >= 0 || y->run_ns <= x->run_ns)
		return false;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)s->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int32_t word = 1;
	bool taken = fd >= 0 && pread(fd, &word, sizeof(word), (off_t)t->wait->address) == sizeof(word) &&
		     word <= 0;
	if (fd >= 0)
		close(fd);
	return taken;
}

/* The thread sat in the wait the snapshot decoded, the same call on the same first
 * argument in both samples, and neither ran nor was woken in between. */
static bool held_still(const struct snapshot *s, const struct sample *a, const struct sample *b, pid_t tid)
{
	const struct thread_sample *x = sample_find(a, tid), *y = sample_find(b, tid);
	const struct task *t = snapshot_find_task(s, tid);
	if (x && y && t && t->wait && t->wait->kind == WAIT_SPINLOCK)
		return still_spinning(s, x, y, t);
	if (!x || !y || !t || !t->wait || !sample_slept_through(x, y))
		return false;
	/* The capture's stop restarted timed waits: the sampler names the call they continue
	 * when the code tells; when it cannot, restart_syscall still keeps the arguments. */
	const char *name = syscall_name(x->syscall_nr);
	if (x->syscall_nr != SYS_NR_RESTART_SYSCALL &&
	    (!name || !t->wait->syscall || strcmp(name, t->wait->syscall) != 0))
		return false;
	return x->arg0 == t->syscall_args[0];
}

static void sleep_until(uint64_t deadline_ns)
{
	for (uint64_t now = mono_ns(); now < deadline_ns; now = mono_ns()) {
		struct timespec ts = { (time_t)((deadline_ns - now) / 1000000000u),
				       (long)((deadline_ns - now) % 1000000000u) };
		if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
			break;
	}
}

void second_look(struct snapshot *s, unsigned ms)
{
	if (s->source != SOURCE_ATTACH || ms == 0)
		return;
	size_t n = 0;
	for (size_t i = 0; i < s->nfindings; i++)
		n += unproven(s, &s->findings[i]);
	if (n == 0)
		return;
	struct sample a, b;
	uint64_t t0 = mono_ns();
	if (sample_take(s->pid, &a) != 0)
		return;
	sleep_until(t0 + (uint64_t)ms * 1000000u);
	if (sample_take(s->pid, &b) != 0) {
		sample_free(&a);
		return;
	}
	int took = (int)((mono_ns() - t0) / 1000000u);
	second_look_judge(s, &a, &b, took > 0 ? took : 1);
	sample_free(&a);
	sample_free(&b);
}

void second_look_judge(struct snapshot *s, const struct sample *a, const struct sample *b, int ms)
{
	s->second_look_ms = ms;
	size_t k = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		struct finding *f = &s->findings[i];
		if (unproven(s, f)) {
			bool held = true;
			for (int j = 0; j < f->ntids && held; j++)
				held = held_still(s, a, b, f->tids[j]);
			if (!held) {
				s->dropped_findings++;
				continue;
			}
			f->confirmed_ms = s->second_look_ms;
		}
		s->findings[k++] = *f;
	}
	s->nfindings = k;
	/* Numbers within a kind stay 1, 2, 3 ... */
	int seq[FINDING__COUNT] = { 0 };
	for (size_t i = 0; i < k; i++)
		s->findings[i].seq = ++seq[s->findings[i].kind];
}
