#include "attach/sampler.h"
#include "analyzers/restart.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A wait that an earlier stop turned into restart_syscall is the call it continues: read
 * the code before its PC (one pread of a few bytes, the process keeps running). */
static long restarted_nr(pid_t pid, int *memfd, uint64_t pc)
{
	if (*memfd == -1) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		*memfd = open(path, O_RDONLY | O_CLOEXEC);
		if (*memfd < 0)
			*memfd = -2;
	}
	unsigned char code[RESTART_CODE_WINDOW];
	if (*memfd < 0 || pc < sizeof(code) ||
	    pread(*memfd, code, sizeof(code), (off_t)(pc - sizeof(code))) != (ssize_t)sizeof(code))
		return SYS_NR_RESTART_SYSCALL;
	long nr = restart_nr_from_code(code, sizeof(code));
	return nr >= 0 ? nr : SYS_NR_RESTART_SYSCALL;
}

int sample_take(pid_t pid, struct sample *out)
{
	memset(out, 0, sizeof(*out));
	pid_t *tids = NULL;
	ssize_t n = procfs_list_tasks(pid, &tids);
	if (n < 0) {
		free(tids);
		return -1;
	}
	out->t = xcalloc((size_t)(n ? n : 1), sizeof(*out->t));
	int memfd = -1;
	for (ssize_t i = 0; i < n; i++) {
		struct thread_sample *t = &out->t[out->n];
		char path[96], buf[1024];
		t->tid = tids[i];
		t->syscall_nr = -1;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tids[i]);
		if (procfs_read(path, buf, sizeof(buf)) <= 0 || !procfs_parse_stat(buf, &t->state, NULL))
			continue;	/* exited meanwhile */
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tids[i]);
		unsigned long long run = 0, wait = 0, slices = 0;
		if (procfs_read(path, buf, sizeof(buf)) > 0)
			sscanf(buf, "%llu %llu %llu", &run, &wait, &slices);
		t->run_ns = run;
		t->slices = slices;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tids[i]);
		ssize_t got = procfs_read(path, buf, sizeof(buf));
		t->no_access = got < 0 && (errno == EACCES || errno == EPERM);
		if (got > 0) {
			long nr;
			uint64_t args[6], sp, pc;
			if (procfs_parse_syscall(buf, &nr, args, &sp, &pc) == 1) {
				t->syscall_nr = nr == SYS_NR_RESTART_SYSCALL ? restarted_nr(pid, &memfd, pc) : nr;
				t->arg0 = args[0];
				memcpy(t->args, args, sizeof(t->args));
			}
		}
		out->n++;
	}
	if (memfd >= 0)
		close(memfd);
	free(tids);
	return 0;
}

static int cmp_tid_sample(const void *key, const void *elem)
{
	pid_t k = *(const pid_t *)key, t = ((const struct thread_sample *)elem)->tid;
	return (k > t) - (k < t);
}

const struct thread_sample *sample_find(const struct sample *s, pid_t tid)
{
	return s->n ? bsearch(&tid, s->t, s->n, sizeof(*s->t), cmp_tid_sample) : NULL;
}

bool sample_slept_through(const struct thread_sample *x, const struct thread_sample *y)
{
	return x->syscall_nr >= 0 && x->syscall_nr == y->syscall_nr && x->arg0 == y->arg0 &&
	       x->slices == y->slices && x->run_ns == y->run_ns && (y->state == 'S' || y->state == 'D');
}

void sample_free(struct sample *s)
{
	free(s->t);
	s->t = NULL;
	s->n = 0;
}

bool sample_progress(const struct sample *a, const struct sample *b)
{
	if (a->n != b->n)
		return true;
	for (size_t i = 0; i < a->n; i++) {
		const struct thread_sample *x = &a->t[i], *y = &b->t[i];
		if (x->tid != y->tid || x->slices != y->slices || x->run_ns != y->run_ns)
			return true;
	}
	return false;
}

bool sample_same_waits(const struct sample *a, const struct sample *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct thread_sample *x = &a->t[i], *y = &b->t[i];
		if (x->tid != y->tid || x->syscall_nr != y->syscall_nr || x->arg0 != y->arg0)
			return false;
	}
	return true;
}

bool sample_idle_syscall(long nr)
{
	switch (nr) {
	case 7:		/* poll */
	case 23:	/* select */
	case 34:	/* pause */
	case 35:	/* nanosleep */
	case 43:	/* accept */
	case 61:	/* wait4 */
	case 128:	/* rt_sigtimedwait */
	case 130:	/* rt_sigsuspend */
	case 230:	/* clock_nanosleep */
	case 232:	/* epoll_wait */
	case 247:	/* waitid */
	case 270:	/* pselect6 */
	case 271:	/* ppoll */
	case 281:	/* epoll_pwait */
	case 288:	/* accept4 */
	case 441:	/* epoll_pwait2 */
		return true;
	default:
		return false;
	}
}
