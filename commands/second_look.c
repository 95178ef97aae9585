#include "commands/second_look.h"
#include "analyzers/restart.h"
#include "model/syscalls.h"
#include "attach/sampler.h"
#include "attach/rereads.h"
#include "util/xalloc.h"
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

/* Goroutine findings that rest on no owner field: mass blocking (on an object, on one
 * peer's sockets), chains, inferred cycles. Their goroutines have no /proc state of their
 * own: their g structs and wait objects are read again instead (go/watch.c). */
static bool go_unproven(const struct finding *f)
{
	return (f->kind == FINDING_MASS_BLOCKING || f->kind == FINDING_BLOCKING_CHAIN || f->inferred) &&
	       f->ngoids > 0 && f->npids == 0;
}

static int cmp_goid(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, g = ((const struct task *)elem)->goid;
	return (k > g) - (k < g);
}

static long goroutine_index(const struct snapshot *s, uint64_t goid)
{
	const struct task *t = s->ngoroutines ? bsearch(&goid, s->goroutines, s->ngoroutines, sizeof(*s->goroutines),
							 cmp_goid) : NULL;
	return t ? (long)(t - s->goroutines) : -1;
}

/* One look at the running process: a goroutine of a finding still holds when every word
 * watched for it reads as at the capture; once it failed a look, it is not read again. */
static void go_look(const struct snapshot *s, bool *held)
{
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		if (!go_unproven(f))
			continue;
		for (int k = 0; k < f->ngoids; k++) {
			long g = goroutine_index(s, f->goids[k]);
			if (g < 0 || !held[g])
				continue;
			const struct goroutine_info *gi = s->goroutines[g].go;
			held[g] = gi && gi->nwatch > 0 && rereads_unchanged(s->pid, gi->watch, gi->nwatch);
		}
	}
}

/* true: keep the finding (confirmed, or marked maybe normal); false: drop it. */
static bool go_judge(struct snapshot *s, struct finding *f, const bool *held, int ms)
{
	int stayed = 0;
	for (int k = 0; k < f->ngoids; k++) {
		long g = goroutine_index(s, f->goids[k]);
		stayed += g >= 0 && held[g];
	}
	if (stayed == f->ngoids) {
		f->confirmed_ms = ms;
		return true;
	}
	/* many still stuck and a few gone on: slow rather than hung, perhaps; say so */
	if (f->kind == FINDING_MASS_BLOCKING && stayed >= 2 && stayed * 2 >= f->ngoids) {
		f->maybe_normal = true;
		f->summary = arena_printf(&s->arena, "%s Over a second look of %d ms, %d of its %d goroutines moved on: "
					  "it may be slow rather than stuck.", f->summary, ms, f->ngoids - stayed,
					  f->ngoids);
		return true;
	}
	return false;
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

static void judge(struct snapshot *s, const struct sample *a, const struct sample *b, const bool *held, int ms);

void second_look(struct snapshot *s, unsigned ms)
{
	if (s->source != SOURCE_ATTACH || ms == 0)
		return;
	size_t n = 0, ng = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		n += unproven(s, &s->findings[i]);
		ng += go_unproven(&s->findings[i]);
	}
	if (n == 0 && ng == 0)
		return;
	struct sample a = { 0 }, b = { 0 };
	bool *held = NULL;
	uint64_t t0 = mono_ns();
	if (n && sample_take(s->pid, &a) != 0)
		return;
	if (ng) {
		held = xmalloc(s->ngoroutines);
		memset(held, 1, s->ngoroutines);
		go_look(s, held);
	}
	sleep_until(t0 + (uint64_t)ms * 1000000u);
	if (n && sample_take(s->pid, &b) != 0) {
		sample_free(&a);
		free(held);
		return;
	}
	if (ng)
		go_look(s, held);
	int took = (int)((mono_ns() - t0) / 1000000u);
	judge(s, n ? &a : NULL, n ? &b : NULL, held, took > 0 ? took : 1);
	sample_free(&a);
	sample_free(&b);
	free(held);
}

void second_look_judge(struct snapshot *s, const struct sample *a, const struct sample *b, int ms)
{
	judge(s, a, b, NULL, ms);
}

/* a and b: the native samples (NULL when no native finding needed them); held: per
 * goroutine, whether it held still (NULL: goroutine findings are not judged). */
static void judge(struct snapshot *s, const struct sample *a, const struct sample *b, const bool *held, int ms)
{
	s->second_look_ms = ms;
	size_t k = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		struct finding *f = &s->findings[i];
		if (held && go_unproven(f) && !go_judge(s, f, held, ms)) {
			s->dropped_findings++;
			continue;
		}
		if (a && b && unproven(s, f)) {
			bool still = true;
			for (int j = 0; j < f->ntids && still; j++)
				still = held_still(s, a, b, f->tids[j]);
			if (!still) {
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
