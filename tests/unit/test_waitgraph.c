/* The wait-for graph analyses on hand-built snapshots: cycles (several, with tails, each
 * reported once), self-deadlocks, abandoned locks, blocking chains and their roots, mass
 * blocking with its threshold, and the order findings come out in. */
#include "analyzers/analyze.h"
#include "tests/unit/unit.h"
#include <stdlib.h>

#define MAXT 12000

struct spec {
	pid_t tid;
	enum wait_kind kind;
	uint64_t addr;		/* lock or object */
	pid_t owner;		/* 0: none recorded */
	int fd;
	const char *fd_target;
	bool idle;
};

static struct snapshot *make(const struct spec *sp, int n)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	s->tasks = ARENA_NEW(&s->arena, struct task, n);
	s->ntasks = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct task *t = &s->tasks[i];
		t->tid = sp[i].tid;
		t->name = "t";
		t->syscall_nr = -1;
		t->kstate = 'S';
		if (i > 0 && sp[i].tid <= sp[i - 1].tid)
			abort();	/* the model keeps tasks in tid order */
		if (sp[i].kind == WAIT_NONE) {
			t->state = "running";
			continue;
		}
		struct wait *w = ARENA_NEW(&s->arena, struct wait, 1);
		w->kind = sp[i].kind;
		w->address = sp[i].addr;
		w->owner_tid = sp[i].owner;
		w->owner_known = sp[i].owner != 0;
		w->fd = sp[i].fd ? sp[i].fd : -1;
		w->fd_target = sp[i].fd_target;
		w->syscall = w->fd >= 0 ? "write" : "futex";
		w->idle = sp[i].idle;
		t->wait = w;
		t->state = wait_kind_name(w->kind);
	}
	return s;
}

static int count_kind(const struct snapshot *s, enum finding_kind k)
{
	int n = 0;
	for (size_t i = 0; i < s->nfindings; i++)
		n += s->findings[i].kind == k;
	return n;
}

static const struct finding *nth(const struct snapshot *s, enum finding_kind k, int seq)
{
	for (size_t i = 0; i < s->nfindings; i++)
		if (s->findings[i].kind == k && s->findings[i].seq == seq)
			return &s->findings[i];
	return NULL;
}

static bool tids_are(const struct finding *f, const pid_t *want, int n)
{
	if (!f || f->ntids != n)
		return false;
	for (int i = 0; i < n; i++)
		if (f->tids[i] != want[i])
			return false;
	return true;
}

static bool has_tid(const pid_t *v, int n, pid_t t)
{
	for (int i = 0; i < n; i++)
		if (v[i] == t)
			return true;
	return false;
}

#define M(tid, addr, owner) { tid, WAIT_MUTEX, addr, owner, 0, NULL, false }
#define RW(tid, addr, owner) { tid, WAIT_RWLOCK, addr, owner, 0, NULL, false }
#define JOIN(tid, owner) { tid, WAIT_JOIN, 0x7000 + (owner), owner, 0, NULL, false }
#define CV(tid, addr, idle) { tid, WAIT_CONDVAR, addr, 0, 0, NULL, idle }
#define RUN(tid) { tid, WAIT_NONE, 0, 0, 0, NULL, false }

/* Two cycles, one with a tail of waiters (and a waiter behind the tail), in a process
 * where other threads do unrelated things. */
static void test_two_cycles_with_tail(void)
{
	const struct spec sp[] = {
		RUN(1),
		M(10, 0xA0, 11),	/* 10 -> A (held by 11) */
		M(11, 0xB0, 10),	/* 11 -> B (held by 10): cycle 10,11 */
		M(12, 0xB0, 10),	/* tail on B */
		M(13, 0xC0, 12),	/* behind the tail: C held by 12 */
		M(20, 0xD0, 22),	/* ring 20 -> 22 -> 21 -> 20 */
		M(21, 0xE0, 20),
		M(22, 0xF0, 21),
		CV(30, 0x500, false),
	};
	struct snapshot *s = make(sp, sizeof(sp) / sizeof(*sp));
	analyze_findings(s, NULL);
	CHECKF(count_kind(s, FINDING_DEADLOCK) == 2, "deadlocks: %d", count_kind(s, FINDING_DEADLOCK));
	CHECK(count_kind(s, FINDING_BLOCKING_CHAIN) == 0);
	CHECK(count_kind(s, FINDING_SELF_DEADLOCK) == 0);
	const struct finding *d1 = nth(s, FINDING_DEADLOCK, 1), *d2 = nth(s, FINDING_DEADLOCK, 2);
	CHECK(tids_are(d1, (pid_t[]){ 10, 11 }, 2));
	/* The ring reads from its lowest TID along the edges: 20 waits for 22, 22 for 21. */
	CHECK(tids_are(d2, (pid_t[]){ 20, 22, 21 }, 3));
	if (d1 && d1->nlocks == 2) {
		CHECK(d1->locks[0].address == 0xA0 && d1->locks[0].owner_tid == 11);
		CHECK(d1->locks[1].address == 0xB0 && d1->locks[1].owner_tid == 10);
		/* B's waiters include the tail, which is not a cycle member */
		CHECK(d1->locks[1].nwaiters == 2 && has_tid(d1->locks[1].waiters, 2, 12));
		CHECK(d1->count == 4);	/* 2 in the cycle, 12 and 13 behind */
		CHECK(strstr(d1->summary, "2 threads are deadlocked") != NULL);
		CHECK(strstr(d1->summary, "2 more threads are blocked behind them") != NULL);
	} else {
		CHECK(!"deadlock 1 has two locks");
	}
	if (d2 && d2->nlocks == 3) {
		CHECK(d2->locks[0].address == 0xD0 && d2->locks[0].owner_tid == 22);
		CHECK(d2->locks[1].address == 0xF0 && d2->locks[1].owner_tid == 21);
		CHECK(d2->locks[2].address == 0xE0 && d2->locks[2].owner_tid == 20);
		CHECK(d2->count == 3);
	} else {
		CHECK(!"deadlock 2 has three locks");
	}
	CHECK(analyze_found_hang(s));
	snapshot_free(s);
}

/* A chain that is not a cycle: no deadlock, one root. */
static void test_no_cycle_chain(void)
{
	const struct spec sp[] = {
		{ 50, WAIT_READ, 0, 0, 3, "pipe:[77]", false },	/* the root, in read() */
		M(51, 0x100, 50), M(52, 0x100, 50), M(53, 0x100, 50), M(54, 0x100, 50),
		M(55, 0x200, 50),	/* a second lock the root holds */
		M(56, 0x300, 51),	/* behind a waiter */
		JOIN(57, 50),		/* joins the root */
		JOIN(60, 61), CV(61, 0x900, true),	/* a join on an idle worker: not a chain */
	};
	struct snapshot *s = make(sp, sizeof(sp) / sizeof(*sp));
	s->tasks[0].wait->syscall = "read";
	analyze_findings(s, NULL);
	CHECK(count_kind(s, FINDING_DEADLOCK) == 0);
	CHECKF(count_kind(s, FINDING_BLOCKING_CHAIN) == 1, "chains: %d", count_kind(s, FINDING_BLOCKING_CHAIN));
	CHECK(!analyze_found_hang(s));
	const struct finding *c = nth(s, FINDING_BLOCKING_CHAIN, 1);
	if (c) {
		CHECK(c->root_tid == 50);
		CHECK(tids_are(c, (pid_t[]){ 51, 52, 53, 54, 55, 56, 57 }, 7));
		CHECK(c->nlocks == 2 && c->locks[0].address == 0x100 && c->locks[0].nwaiters == 4 &&
		      c->locks[1].address == 0x200 && c->locks[1].nwaiters == 1);
		CHECKF(strstr(c->summary, "5 threads wait for mutex heap 0x100 and mutex heap 0x200 held by "
				       "thread 50") != NULL, "%s", c->summary);
		CHECKF(strstr(c->summary, "plus 1 joining it and 1 more blocked behind them") != NULL, "%s", c->summary);
		CHECKF(strstr(c->summary, "which is blocked in read() on fd 3 (pipe:[77])") != NULL,
		       "%s", c->summary);
	}
	/* the root is a suspect, whatever its wait looked like */
	CHECK(!s->tasks[0].wait->idle);
	snapshot_free(s);
}

static void test_self_deadlock(void)
{
	const struct spec sp[] = {
		M(30, 0x40, 30),	/* locks what it holds */
		M(31, 0x40, 30),	/* waits behind it */
		M(32, 0x50, 31),	/* and behind that one */
	};
	struct snapshot *s = make(sp, 3);
	analyze_findings(s, NULL);
	CHECK(count_kind(s, FINDING_SELF_DEADLOCK) == 1);
	CHECK(count_kind(s, FINDING_DEADLOCK) == 0);
	CHECK(count_kind(s, FINDING_BLOCKING_CHAIN) == 0);
	const struct finding *f = nth(s, FINDING_SELF_DEADLOCK, 1);
	if (f) {
		CHECK(tids_are(f, (pid_t[]){ 30 }, 1));
		CHECK(f->nlocks == 1 && f->locks[0].owner_tid == 30 && f->locks[0].nwaiters == 2);
		CHECK(f->count == 3);
		CHECKF(strstr(f->summary, "which it already holds") && strstr(f->summary, "2 other threads"),
		       "%s", f->summary);
	}
	CHECK(analyze_found_hang(s));
	snapshot_free(s);
}

static void test_abandoned(void)
{
	const struct spec sp[] = {
		M(40, 0x60, 999),	/* owner 999 is no thread of the process */
		M(41, 0x60, 999),
		M(42, 0x70, 41),	/* behind a waiter of the abandoned lock */
		RW(43, 0x80, 998),	/* a writer that exited */
	};
	struct snapshot *s = make(sp, 4);
	analyze_findings(s, NULL);
	CHECKF(count_kind(s, FINDING_ABANDONED_LOCK) == 2, "%d", count_kind(s, FINDING_ABANDONED_LOCK));
	CHECK(count_kind(s, FINDING_BLOCKING_CHAIN) == 0);
	const struct finding *a = nth(s, FINDING_ABANDONED_LOCK, 1), *b = nth(s, FINDING_ABANDONED_LOCK, 2);
	if (a && b) {
		const struct finding *m = a->locks[0].kind == WAIT_MUTEX ? a : b;
		const struct finding *r = m == a ? b : a;
		CHECK(tids_are(m, (pid_t[]){ 40, 41, 42 }, 3));
		CHECK(m->locks[0].owner_tid == 999 && m->locks[0].nwaiters == 2);
		CHECKF(strstr(m->summary, "held by thread 999, which is not a thread of this process") != NULL,
		       "%s", m->summary);
		CHECK(tids_are(r, (pid_t[]){ 43 }, 1) && r->locks[0].kind == WAIT_RWLOCK);
		CHECKF(strstr(r->summary, "write-locked by thread 998") != NULL, "%s", r->summary);
	}
	snapshot_free(s);
}

/* An rwlock writer and a mutex owner in one cycle. */
static void test_rwlock_mutex_cycle(void)
{
	const struct spec sp[] = { RW(70, 0x1000, 71), M(71, 0x2000, 70) };
	struct snapshot *s = make(sp, 2);
	analyze_findings(s, NULL);
	const struct finding *d = nth(s, FINDING_DEADLOCK, 1);
	CHECK(count_kind(s, FINDING_DEADLOCK) == 1);
	if (d && d->nlocks == 2) {
		CHECK(d->locks[0].kind == WAIT_RWLOCK && d->locks[1].kind == WAIT_MUTEX);
		CHECKF(strstr(d->summary, "rwlock heap 0x1000 held by writer thread 71") != NULL, "%s", d->summary);
	}
	snapshot_free(s);
}

/* A join is an edge like any other: joining a thread that waits for your lock deadlocks. */
static void test_join_cycle(void)
{
	const struct spec sp[] = { JOIN(80, 81), M(81, 0x3000, 80) };
	struct snapshot *s = make(sp, 2);
	analyze_findings(s, NULL);
	const struct finding *d = nth(s, FINDING_DEADLOCK, 1);
	CHECK(count_kind(s, FINDING_DEADLOCK) == 1);
	if (d)
		CHECKF(strstr(d->summary, "waits to join thread 81") != NULL, "%s", d->summary);
	snapshot_free(s);
}

static struct spec big[MAXT];

static void test_mass_threshold_and_order(void)
{
	/* 200 threads: 25 on a condvar (12.5%), 15 on another (7.5%), 30 idle workers, 40 on
	 * one pipe through two descriptors, 50 on a mutex whose owner is known. */
	int n = 0;
	pid_t tid = 100;
	for (int i = 0; i < 25; i++)
		big[n++] = (struct spec)CV(tid++, 0xC0DE0, false);
	for (int i = 0; i < 15; i++)
		big[n++] = (struct spec)CV(tid++, 0xC0DE8, false);
	for (int i = 0; i < 30; i++)
		big[n++] = (struct spec)CV(tid++, 0xF00D0, true);
	for (int i = 0; i < 40; i++)
		big[n++] = (struct spec){ tid++, WAIT_WRITE, 0, 0, 5 + (i & 1), "pipe:[4711]", false };
	pid_t owner = tid++;
	big[n++] = (struct spec)RUN(owner);
	for (int i = 0; i < 50; i++)
		big[n++] = (struct spec)M(tid++, 0xDB, owner);
	while (n < 200)
		big[n++] = (struct spec)RUN(tid++);
	pid_t self = tid++;
	big[n++] = (struct spec)M(self, 0xEE, self);	/* and one self-deadlock */
	struct snapshot *s = make(big, n);
	analyze_findings(s, NULL);
	CHECKF(count_kind(s, FINDING_MASS_BLOCKING) == 3, "mass: %d", count_kind(s, FINDING_MASS_BLOCKING));
	/* real problems first (largest first), the idle pool last */
	const struct finding *m1 = nth(s, FINDING_MASS_BLOCKING, 1), *m2 = nth(s, FINDING_MASS_BLOCKING, 2),
			     *m3 = nth(s, FINDING_MASS_BLOCKING, 3);
	if (m1 && m2 && m3) {
		CHECK(m1->count == 40 && m1->object.kind == WAIT_WRITE && !m1->maybe_normal);
		CHECK(m2->count == 25 && m2->object.address == 0xC0DE0 && !m2->maybe_normal);
		CHECK(m3->count == 30 && m3->object.address == 0xF00D0 && m3->maybe_normal);
		CHECKF(strstr(m1->summary, "no thread of this process is reading") != NULL, "%s", m1->summary);
		CHECKF(strstr(m3->summary, "may be normal") != NULL, "%s", m3->summary);
		CHECK(m1->ntids == 40 && m1->tids[0] < m1->tids[39]);
	}
	/* severity order: self-deadlock, then the chain, then mass */
	CHECK(s->nfindings == 5);
	if (s->nfindings == 5) {
		CHECK(s->findings[0].kind == FINDING_SELF_DEADLOCK);
		CHECK(s->findings[1].kind == FINDING_BLOCKING_CHAIN && s->findings[1].count == 50);
		for (int i = 2; i < 5; i++)
			CHECK(s->findings[i].kind == FINDING_MASS_BLOCKING && s->findings[i].seq == i - 1);
	}
	snapshot_free(s);

	/* An explicit threshold replaces both default conditions. */
	s = make(big, n);
	analyze_findings(s, &(struct analyze_options){ .mass_threshold = 15 });
	CHECKF(count_kind(s, FINDING_MASS_BLOCKING) == 4, "threshold 15: %d", count_kind(s, FINDING_MASS_BLOCKING));
	snapshot_free(s);
	s = make(big, n);
	analyze_findings(s, &(struct analyze_options){ .mass_threshold = 41 });
	CHECK(count_kind(s, FINDING_MASS_BLOCKING) == 0);
	snapshot_free(s);

	/* Ten threads are not 10% of 200: nothing by default. */
	n = 0;
	for (int i = 0; i < 10; i++)
		big[n++] = (struct spec)CV(1000 + i, 0xAB, false);
	for (int i = 0; i < 190; i++)
		big[n++] = (struct spec)RUN(2000 + i);
	s = make(big, n);
	analyze_findings(s, NULL);
	CHECK(s->nfindings == 0);
	snapshot_free(s);
}

/* 10,000 threads in one chain and a 1,000-thread ring: linear, no recursion. */
static void test_scale(void)
{
	int n = 0;
	big[n++] = (struct spec)RUN(1);
	for (pid_t t = 2; t <= 10000; t++)
		big[n++] = (struct spec)M(t, 0x10000 + (uint64_t)t, t - 1);
	for (pid_t t = 10001; t <= 11000; t++)
		big[n++] = (struct spec)M(t, 0x90000 + (uint64_t)t, t == 11000 ? 10001 : t + 1);
	struct snapshot *s = make(big, n);
	analyze_findings(s, NULL);
	const struct finding *c = nth(s, FINDING_BLOCKING_CHAIN, 1), *d = nth(s, FINDING_DEADLOCK, 1);
	CHECK(count_kind(s, FINDING_DEADLOCK) == 1 && count_kind(s, FINDING_BLOCKING_CHAIN) == 1);
	CHECK(c && c->root_tid == 1 && c->ntids == 9999);
	CHECK(d && d->ntids == 1000 && d->tids[0] == 10001 && d->tids[1] == 10002);
	CHECK(d && strstr(d->summary, "more links") != NULL);
	snapshot_free(s);
}

static void test_empty(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	analyze_findings(s, NULL);
	CHECK(s->nfindings == 0);
	snapshot_free(s);
}

/* Locks that record no owner (Rust's, spinlocks): a cycle through likely holders is an
 * inferred deadlock, after the proven one, each inferred edge with its evidence; a likely
 * holder is never an owner, and a chain of likely holders without a cycle is no deadlock. */
static void test_inferred_cycle_ranked_after_proven(void)
{
	struct spec sp[] = {
		{ 10, WAIT_MUTEX, 0x1000, 0, 0, NULL, false }, { 11, WAIT_MUTEX, 0x2000, 0, 0, NULL, false },	/* inferred AB-BA */
		{ 20, WAIT_MUTEX, 0x3000, 21, 0, NULL, false }, { 21, WAIT_MUTEX, 0x4000, 20, 0, NULL, false },	/* proven AB-BA */
		{ 30, WAIT_SPINLOCK, 0x5000, 0, 0, NULL, false }, { 31, WAIT_NONE, 0, 0, 0, NULL, false },	/* holder runs */
	};
	struct snapshot *s = make(sp, 6);
	s->tasks[0].wait->likely_owner = 11;
	s->tasks[0].wait->evidence = "its stack holds a pointer to it";
	s->tasks[1].wait->likely_owner = 10;
	s->tasks[1].wait->evidence = "its code called a lock function on it";
	s->tasks[4].wait->likely_owner = 31;
	analyze_findings(s, NULL);
	CHECKF(count_kind(s, FINDING_DEADLOCK) == 2, "deadlocks: %d", count_kind(s, FINDING_DEADLOCK));
	const struct finding *p = nth(s, FINDING_DEADLOCK, 1), *q = nth(s, FINDING_DEADLOCK, 2);
	CHECK(p && !p->inferred && tids_are(p, (pid_t[]){ 20, 21 }, 2));
	CHECK(q && q->inferred && tids_are(q, (pid_t[]){ 10, 11 }, 2) && q->nlocks == 2);
	CHECK(q && strncmp(q->summary, "inferred deadlock", 17) == 0);
	for (int i = 0; q && i < q->nlocks; i++)
		CHECKF(q->locks[i].owner_inferred && q->locks[i].evidence &&
		       q->locks[i].owner_tid == q->tids[(i + 1) % 2], "lock %d", i);
	CHECK(s->tasks[0].wait->owner_tid == 0 && !s->tasks[0].wait->owner_known);
	snapshot_free(s);
}

static void unit_tests(void)
{
	test_inferred_cycle_ranked_after_proven();
	test_two_cycles_with_tail();
	test_no_cycle_chain();
	test_self_deadlock();
	test_abandoned();
	test_rwlock_mutex_cycle();
	test_join_cycle();
	test_mass_threshold_and_order();
	test_scale();
	test_empty();
}
