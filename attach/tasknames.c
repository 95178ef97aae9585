#include "attach/tasknames.h"
#include "attach/procfs.h"
#include "util/xalloc.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define CHUNK 32
#define COMM_MAX 16	/* the kernel's TASK_COMM_LEN: stat's name is never longer */

struct job {
	pid_t pid;
	int taskdir;	/* /proc/PID/task, or -1 */
	struct task *tasks;
	size_t n;
	char (*names)[COMM_MAX];	/* the arena is not shared between threads: names wait here */
	atomic_size_t next;
};

/* One read of stat gives both: the name is what stands between the first '(' and the last
 * ')' (it is comm, which may itself hold parentheses), the state follows. */
static void read_one(const struct job *j, struct task *t, char *name)
{
	char path[96], buf[1024];
	if (j->taskdir >= 0)
		snprintf(path, sizeof(path), "%d/stat", (int)t->tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)j->pid, (int)t->tid);
	t->kstate = '?';
	name[0] = 0;
	if (procfs_read_at(j->taskdir >= 0 ? j->taskdir : AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return;
	procfs_parse_stat(buf, &t->kstate, NULL);
	const char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (lp && rp && rp > lp) {
		size_t len = (size_t)(rp - lp - 1);
		if (len >= COMM_MAX)
			len = COMM_MAX - 1;
		memcpy(name, lp + 1, len);
		name[len] = 0;
	}
}

static void *work(void *arg)
{
	struct job *j = arg;
	for (;;) {
		size_t from = atomic_fetch_add(&j->next, CHUNK);
		if (from >= j->n)
			return NULL;
		size_t to = from + CHUNK < j->n ? from + CHUNK : j->n;
		for (size_t i = from; i < to; i++)
			read_one(j, &j->tasks[i], j->names[i]);
	}
}

struct tasknames {
	struct job job;
	pthread_t th[3];
	size_t started;
};

struct tasknames *tasknames_start(pid_t pid, struct task *tasks, size_t n)
{
	struct tasknames *tn = xcalloc(1, sizeof(*tn));
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	tn->job = (struct job){ .pid = pid, .taskdir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), .tasks = tasks,
				.n = n, .names = xmalloc((n ? n : 1) * COMM_MAX) };
	atomic_init(&tn->job.next, 0);
	/* The caller goes on unwinding on its CPU; the others read. A few tasks are read here. */
	size_t helpers = n >= 4 * CHUNK ? (size_t)get_nprocs() - 1 : 0;
	if (helpers > 3)
		helpers = 3;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (size_t i = 0; i < helpers; i++)
		if (pthread_create(&tn->th[tn->started], NULL, work, &tn->job) == 0)
			tn->started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (tn->started == 0)
		work(&tn->job);
	return tn;
}

void tasknames_finish(struct tasknames *tn, struct arena *a)
{
	if (!tn)
		return;
	work(&tn->job);	/* take a share of what is left rather than wait for it */
	for (size_t i = 0; i < tn->started; i++)
		pthread_join(tn->th[i], NULL);
	for (size_t i = 0; i < tn->job.n; i++)
		tn->job.tasks[i].name = tn->job.names[i][0] ? arena_strdup(a, tn->job.names[i]) : "";
	free(tn->job.names);
	if (tn->job.taskdir >= 0)
		close(tn->job.taskdir);
	free(tn);
}
