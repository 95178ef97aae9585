/* No false findings on healthy services, and honest limits: distinct epoll instances are
 * not one object because their link text is the same, idle event loops are housekeeping,
 * a finding no owner proves stands only if its threads held still over the second look,
 * and waits on objects that record no owner are counted and said, never hidden under a
 * bare "No deadlock found.". */
#include "analyzers/analyze.h"
#include "attach/sampler.h"
#include "commands/second_look.h"
#include "report/report.h"
#include "tests/unit/synthetic.h"
#include "tests/unit/unit.h"
#include "util/xalloc.h"
#include <stdlib.h>

static struct snapshot *new_snap(int n)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->tasks = ARENA_NEW(&s->arena, struct task, n);
	return s;
}

static struct wait *add(struct snapshot *s, pid_t tid, enum wait_kind kind, long nr, uint64_t arg0)
{
	struct task *t = &s->tasks[s->ntasks++];
	t->tid = tid;
	t->name = "t";
	t->kstate = 'S';
	t->syscall_nr = nr;
	t->syscall_args[0] = arg0;
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
	w->kind = kind;
	w->fd = -1;
	w->fd_file = -1;
	w->syscall = nr == 232 ? "epoll_wait" : nr == 1 ? "write" : nr == 202 ? "futex" : "read";
	t->wait = w;
	t->state = wait_kind_name(kind);
	return w;
}

static struct wait *add_fd(struct snapshot *s, pid_t tid, enum wait_kind kind, long nr, int fd, int file,
			   const char *text, bool idle)
{
	struct wait *w = add(s, tid, kind, nr, (uint64_t)fd);
	w->fd = fd;
	w->fd_file = file;
	w->fd_target = text;
	w->idle = idle;
	return w;
}

static int count_kind(const struct snapshot *s, enum finding_kind k)
{
	int n = 0;
	for (size_t i = 0; i < s->nfindings; i++)
		n += s->findings[i].kind == k;
	return n;
}

/* memcached: 16 worker event loops and the listener, each epoll_wait on its own epoll
 * instance; every fd reads anon_inode:[eventpoll]. */
static void distinct_epolls(void)
{
	struct snapshot *s = new_snap(40);
	for (int i = 0; i < 17; i++)
		add_fd(s, 100 + i, WAIT_EPOLL, 232, 3 + 2 * i, 3 + 2 * i, "anon_inode:[eventpoll]", true);
	analyze_findings(s, NULL);
	CHECKF(s->nfindings == 0, "17 event loops: %zu findings (%s)", s->nfindings,
	       s->nfindings ? s->findings[0].summary : "");
	snapshot_free(s);

	/* not idle, so not housekeeping: still 17 objects, not one group of 17 */
	s = new_snap(40);
	for (int i = 0; i < 17; i++)
		add_fd(s, 100 + i, WAIT_EPOLL, 232, 3 + 2 * i, 3 + 2 * i, "anon_inode:[eventpoll]", false);
	analyze_findings(s, NULL);
	CHECK(count_kind(s, FINDING_MASS_BLOCKING) == 0);
	snapshot_free(s);

	/* the same epoll instance through dup'ed fds is one object (kcmp said so) */
	s = new_snap(40);
	for (int i = 0; i < 12; i++)
		add_fd(s, 100 + i, WAIT_EPOLL, 232, 3 + (i & 1), 3, "anon_inode:[eventpoll]", false);
	analyze_findings(s, NULL);
	CHECKF(count_kind(s, FINDING_MASS_BLOCKING) == 1 && s->findings[0].count == 12, "dup'ed epoll: %zu",
	       s->nfindings);
	snapshot_free(s);

	/* twelve idle loops sharing one epoll instance: housekeeping, no finding */
	s = new_snap(40);
	for (int i = 0; i < 12; i++)
		add_fd(s, 100 + i, WAIT_EPOLL, 232, 3, 3, "anon_inode:[eventpoll]", true);
	analyze_findings(s, NULL);
	CHECK(s->nfindings == 0);
	snapshot_free(s);

	/* a pipe through different fds is still one object by its inode */
	s = new_snap(40);
	for (int i = 0; i < 12; i++)
		add_fd(s, 100 + i, WAIT_WRITE, 1, 5 + i, 5 + i, "pipe:[777]", false);
	analyze_findings(s, NULL);
	CHECK(count_kind(s, FINDING_MASS_BLOCKING) == 1 && s->findings[0].count == 12);
	snapshot_free(s);
}

static struct sample mk_sample(const struct snapshot *s, uint64_t slices)
{
	struct sample v = { xcalloc(s->ntasks, sizeof(struct thread_sample)), s->ntasks };
	for (size_t i = 0; i < s->ntasks; i++)
		v.t[i] = (struct thread_sample){ .tid = s->tasks[i].tid, .state = 'S',
						 .syscall_nr = s->tasks[i].syscall_nr,
						 .arg0 = s->tasks[i].syscall_args[0], .run_ns = 1000,
						 .slices = slices };
	return v;
}

/* Twelve writers stuck on one pipe, and a deadlock-free mutex chain. */
static struct snapshot *stuck(void)
{
	struct snapshot *s = new_snap(40);
	for (int i = 0; i < 12; i++)
		add_fd(s, 100 + i, WAIT_WRITE, 1, 5, 5, "pipe:[777]", false);
	analyze_findings(s, NULL);
	return s;
}

static void judge(void)
{
	/* held still: confirmed, with how long */
	struct snapshot *s = stuck();
	CHECK(s->nfindings == 1);
	struct sample a = mk_sample(s, 7), b = mk_sample(s, 7);
	second_look_judge(s, &a, &b, 150);
	CHECK(s->nfindings == 1 && s->findings[0].confirmed_ms == 150 && s->dropped_findings == 0 &&
	      s->second_look_ms == 150);
	sample_free(&a);
	sample_free(&b);
	snapshot_free(s);

	/* one of them was woken meanwhile: dropped, and counted */
	s = stuck();
	a = mk_sample(s, 7);
	b = mk_sample(s, 7);
	b.t[5].slices++;
	second_look_judge(s, &a, &b, 150);
	CHECK(s->nfindings == 0 && s->dropped_findings == 1);
	sample_free(&a);
	sample_free(&b);
	snapshot_free(s);

	/* one moved to another wait and sits there: not the finding's wait any more */
	s = stuck();
	a = mk_sample(s, 7);
	b = mk_sample(s, 7);
	a.t[3].syscall_nr = b.t[3].syscall_nr = 202;
	second_look_judge(s, &a, &b, 150);
	CHECK(s->nfindings == 0 && s->dropped_findings == 1);
	sample_free(&a);
	sample_free(&b);
	snapshot_free(s);

	/* a thread gone: dropped */
	s = stuck();
	a = mk_sample(s, 7);
	b = mk_sample(s, 7);
	b.n--;
	second_look_judge(s, &a, &b, 150);
	CHECK(s->nfindings == 0);
	sample_free(&a);
	sample_free(&b);
	snapshot_free(s);
}

/* --no-stop reads each thread and each lock word at its own moment: a thread that took the
 * lock in between seems to wait for itself. Such owner-based findings need the look too. */
static void judge_not_atomic(void)
{
	for (int moved = 0; moved < 2; moved++) {
		struct snapshot *s = new_snap(4);
		s->not_atomic = true;
		struct wait *w = add(s, 10, WAIT_MUTEX, 202, 0x1000);
		w->address = 0x1000;
		w->owner_tid = 10;
		w->owner_known = true;
		analyze_findings(s, NULL);
		CHECK(s->nfindings == 1 && s->findings[0].kind == FINDING_SELF_DEADLOCK);
		struct sample a = mk_sample(s, 3), b = mk_sample(s, 3 + (uint64_t)moved);
		second_look_judge(s, &a, &b, 150);
		if (moved)
			CHECK(s->nfindings == 0 && s->dropped_findings == 1);
		else
			CHECK(s->nfindings == 1 && s->findings[0].confirmed_ms == 150);
		sample_free(&a);
		sample_free(&b);
		snapshot_free(s);
	}
	/* from a frozen capture, the owner field proves it: no look needed, none taken */
	struct snapshot *s = new_snap(4);
	struct wait *w = add(s, 10, WAIT_MUTEX, 202, 0x1000);
	w->address = 0x1000;
	w->owner_tid = 10;
	w->owner_known = true;
	analyze_findings(s, NULL);
	struct sample a = mk_sample(s, 3), b = mk_sample(s, 4);
	second_look_judge(s, &a, &b, 150);
	CHECK(s->nfindings == 1 && s->findings[0].confirmed_ms == 0);
	sample_free(&a);
	sample_free(&b);
	snapshot_free(s);
}

static char *text_of(struct snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct err e = { 0 };
	report_write(f, FMT_TEXT, s, &e);
	fclose(f);
	return buf;
}

/* Python's threading.Lock is a sem_t: an AB-BA deadlock on two of them is two threads
 * in sem_wait, which no owner field links. */
static void honest_limits(void)
{
	struct snapshot *s = new_snap(8);
	s->pid = 1;
	add(s, 10, WAIT_SEMAPHORE, 202, 0x1000);
	add(s, 11, WAIT_SEMAPHORE, 202, 0x2000);
	add(s, 12, WAIT_EPOLL, 232, 3)->idle = true;
	analyze_findings(s, NULL);
	CHECK(s->unchecked_waits == 2 && s->nfindings == 0);
	char *t = text_of(s);
	CHECKF(t && !strstr(t, "No deadlock found.\n") && strstr(t, "No deadlock found among") && strstr(t, "2 threads wait on objects that record no owner") &&
	       strstr(t, "could not be checked"), "%s", t ? t : "(null)");
	free(t);
	snapshot_free(s);

	/* mutexes whose owners are recorded: nothing unchecked, the plain sentence */
	s = new_snap(8);
	struct wait *w = add(s, 10, WAIT_MUTEX, 202, 0x1000);
	w->owner_tid = 11;
	w->owner_known = true;
	add(s, 11, WAIT_SLEEP, 230, 0);
	analyze_findings(s, NULL);
	CHECK(s->unchecked_waits == 0);
	t = text_of(s);
	CHECK(t && strstr(t, "No deadlock found.\n"));
	free(t);
	snapshot_free(s);
}

/* Twelve goroutines on one semaphore, asked for by `caller` under the runtime's parking. */
static struct snapshot *go_sema_waiters(const char *caller, const char *outer)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->goroutines = ARENA_NEW(&s->arena, struct task, 12);
	s->ngoroutines = 12;
	struct go_object *o = ARENA_NEW(&s->arena, struct go_object, 1);
	o->kind = WAIT_SEMAPHORE;
	o->type = "semaphore";
	o->address = 0x9650c;
	const char *names[] = { "runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1", caller, outer };
	const struct pcsym *v[5];
	for (int k = 0; k < 5; k++) {
		struct sym_frame f = frame(names[k], NULL, 0, 0x1000, false);
		v[k] = mk_pcsym(s, 0x401000 + (uint64_t)k * 16, 0x401000 + (uint64_t)k * 16, NULL, 1, &f);
	}
	for (int i = 0; i < 12; i++) {
		struct task *t = &s->goroutines[i];
		t->kind = TASK_GOROUTINE;
		t->goid = (uint64_t)i + 1;
		struct goroutine_info *gi = ARENA_NEW(&s->arena, struct goroutine_info, 1);
		gi->object = o;
		gi->object_op = "acquiring";
		t->go = gi;
		set_stack(s, t, 5, v);
	}
	return s;
}

/* The garbage collector's own semaphore is the runtime's housekeeping; a program's own is not. */
static void go_runtime_semaphores(void)
{
	struct snapshot *s = go_sema_waiters("runtime.gcStart", "runtime.mallocgc");
	analyze_findings(s, NULL);
	CHECKF(s->nfindings == 0, "GC semaphore: %s", s->nfindings ? s->findings[0].summary : "");
	snapshot_free(s);
	s = go_sema_waiters("sync.runtime_Semacquire", "main.(*limiter).acquire");
	analyze_findings(s, NULL);
	CHECK(s->nfindings == 1 && s->findings[0].kind == FINDING_MASS_BLOCKING && s->findings[0].count == 12);
	snapshot_free(s);
}

static void unit_tests(void)
{
	go_runtime_semaphores();
	judge_not_atomic();
	distinct_epolls();
	judge();
	honest_limits();
}
