/* The findings text (jstack-like deadlocks, then the rest) and the DOT wait-for graph, on
 * hand-built snapshots: what they say, in which order, and that graphviz accepts the graph
 * (when graphviz is installed). */
#include "analyzers/analyze.h"
#include "report/dot.h"
#include "report/findings_text.h"
#include "tests/unit/unit.h"
#include <stdlib.h>
#include <unistd.h>

static struct sym_frame frames_a[] = {
	{ .function = "___pthread_mutex_lock", .file = "pthread_mutex_lock.c", .line = 93 },
	{ .function = "take_second", .file = "/src/abba.c", .line = 14 },
};
static struct sym_frame frames_b[] = {
	{ .function = "lock_inline", .file = "/src/abba.c", .line = 20, .inlined = true },
	{ .function = "transfer", .file = "/src/abba.c", .line = 30 },
};

static struct module libc = { .name = "/usr/lib/x86_64-linux-gnu/libc.so.6" };
/* frames of a libc without symbols: a .dynsym guess, and nothing at all */
static struct sym_frame frames_c[] = {
	{ .near_symbol = "memcpy", .source = SYM_DYNSYM },
	{ .function = NULL },
};

static void set_stack(struct snapshot *s, struct task *t)
{
	struct pcsym *p = ARENA_NEW(&s->arena, struct pcsym, 2);
	p[0] = (struct pcsym){ .pc = 0x1000, .nframes = 1, .frames = &frames_a[0], .module = &libc };
	p[1] = (struct pcsym){ .pc = 0x2000, .nframes = 1, .frames = &frames_a[1] };
	t->pcs = ARENA_NEW(&s->arena, uint64_t, 5);
	t->pcs[0] = 0x1000;
	t->pcs[1] = 0x2000;
	t->pcs[2] = 0x3000;
	t->pcs[3] = 0x4000;
	t->pcs[4] = 0x5000;
	t->npcs = 5;
	t->syms = ARENA_NEW(&s->arena, const struct pcsym *, 5);
	t->syms[0] = &p[0];
	t->syms[1] = &p[1];
	struct pcsym *q = ARENA_NEW(&s->arena, struct pcsym, 1);
	*q = (struct pcsym){ .pc = 0x3000, .nframes = 2, .frames = frames_b };
	t->syms[2] = q;
	struct pcsym *r = ARENA_NEW(&s->arena, struct pcsym, 2);
	r[0] = (struct pcsym){ .pc = 0x4000, .lookup_pc = 0x3fff, .nframes = 1, .frames = &frames_c[0], .module = &libc };
	r[1] = (struct pcsym){ .pc = 0x5000, .lookup_pc = 0x4fff, .nframes = 1, .frames = &frames_c[1], .module = &libc };
	t->syms[3] = &r[0];
	t->syms[4] = &r[1];
}

static struct wait *mutex_wait(struct snapshot *s, uint64_t addr, const char *sym, pid_t owner)
{
	struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
	*w = (struct wait){ .kind = WAIT_MUTEX, .address = addr, .symbol = sym, .owner_tid = owner,
			    .owner_known = true, .fd = -1, .syscall = "futex" };
	return w;
}

/* Two AB-BA pairs, a crowd of eight behind the first, an idle pool of 12 on a condvar. */
static struct snapshot *build(void)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->pid = 1;
	s->executable = "/bin/demo";
	int n = 2 + 2 + 8 + 12;
	s->tasks = ARENA_NEW(&s->arena, struct task, n);
	s->ntasks = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct task *t = &s->tasks[i];
		t->tid = 10 + i;
		t->name = i == 0 ? "quote\"d" : "w";
		t->syscall_nr = 202;
		set_stack(s, t);
	}
	s->tasks[0].wait = mutex_wait(s, 0x100, "lock_b", 11);
	s->tasks[1].wait = mutex_wait(s, 0x200, "lock_a", 10);
	s->tasks[2].wait = mutex_wait(s, 0x300, NULL, 13);
	s->tasks[3].wait = mutex_wait(s, 0x400, "other", 12);
	for (int i = 4; i < 12; i++)
		s->tasks[i].wait = mutex_wait(s, 0x200, "lock_a", 10);
	for (int i = 12; i < n; i++) {
		struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
		*w = (struct wait){ .kind = WAIT_CONDVAR, .address = 0x900, .symbol = "pool.has_work",
				    .fd = -1, .syscall = "futex", .idle = true };
		s->tasks[i].wait = w;
	}
	for (int i = 0; i < n; i++)
		s->tasks[i].state = wait_kind_name(s->tasks[i].wait->kind);
	analyze_findings(s, NULL);
	return s;
}

static char *render(void (*fn)(FILE *, const struct snapshot *), int (*fn2)(FILE *, const struct snapshot *, struct err *),
		    const struct snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (fn)
		fn(f, s);
	else {
		struct err e = { 0 };
		CHECK(fn2(f, s, &e) == 0);
	}
	fclose(f);
	return buf;
}

static void test_text(void)
{
	struct snapshot *s = build();
	CHECK(s->nfindings == 3);
	char *t = render(report_findings_text, NULL, s);
	char *found = strstr(t, "Found 2 deadlocks.\n");
	CHECKF(found != NULL, "%s", t);
	char *d1 = strstr(t, "deadlock#1: 2 threads are deadlocked"), *d2 = strstr(t, "deadlock#2:");
	char *mass = strstr(t, "mass-blocking#1 (may be normal): 12 threads");
	CHECK(d1 && d2 && mass && d1 < d2 && d2 < found && found < mass);
	CHECKF(strstr(t, "thread 10 \"quote\"d\":\n  waiting to lock mutex lock_b (0x100),\n"
			 "  which is held by thread 11 \"w\"\n") != NULL, "%s", t);
	/* lock_a: the cycle member and the crowd of eight wait for it */
	CHECK(strstr(t, "  (9 threads wait for it)\n") != NULL);
	/* a lock without a symbol is not named twice */
	CHECKF(strstr(t, "waiting to lock mutex heap 0x300,\n") != NULL, "%s", t);
	CHECK(strstr(t, "Stacks of the threads listed above:\n") != NULL);
	CHECKF(strstr(t, "\tat ___pthread_mutex_lock (pthread_mutex_lock.c:93)\n\tat take_second (abba.c:14)\n"
			 "\tat lock_inline (abba.c:20) [inlined]\n\tat transfer (abba.c:30)\n"
			 "\tat [near memcpy, .dynsym] libc.so.6+0x3fff\n\tat libc.so.6+0x4fff\n") != NULL, "%s", t);
	free(t);
	snapshot_free(s);

	s = snapshot_new(SOURCE_CORE);
	t = render(report_findings_text, NULL, s);
	CHECK(strcmp(t, "No deadlock found.\n\n") == 0);
	free(t);
	snapshot_free(s);
}

static void test_dot(void)
{
	struct snapshot *s = build();
	char *d = render(NULL, report_dot, s);
	CHECK(strncmp(d, "digraph chang {\n", 16) == 0 && strstr(d, "\n}\n"));
	/* the quote in a thread name is escaped */
	CHECKF(strstr(d, "label=\"thread 10 \\\"quote\\\"d\\\"\\nmutex\"") != NULL, "%s", d);
	/* the eight plain waiters of lock_a are one node; cycle members stay separate */
	CHECKF(strstr(d, "label=\"8 threads\\ne.g. in take_second (abba.c:14)\"") != NULL, "%s", d);
	CHECK(strstr(d, "t10 -> l") && strstr(d, "t11 -> l") && !strstr(d, "t14 "));
	int red = 0;
	for (const char *p = d; (p = strstr(p, ", color=red")); p++)
		red++;
	CHECKF(red == 16, "red marks %d (4 threads, 4 locks, 8 edges)\n%s", red, d);
	CHECKF(strstr(d, "label=\"12 threads\\nin take_second (abba.c:14)\"") != NULL, "%s", d);
	CHECK(strstr(d, "(may be normal)") != NULL);
	if (access("/usr/bin/dot", X_OK) == 0) {
		char path[] = "/tmp/chang-dot-XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0) {
			CHECK(write(fd, d, strlen(d)) == (ssize_t)strlen(d));
			close(fd);
			char cmd[128];
			snprintf(cmd, sizeof(cmd), "/usr/bin/dot -Tsvg %s > /dev/null", path);
			CHECK(system(cmd) == 0);
			unlink(path);
		}
	} else {
		UNIT_SKIP("graphviz not installed: the graph was not rendered");
	}
	free(d);
	snapshot_free(s);
}

static void unit_tests(void)
{
	test_text();
	test_dot();
}
