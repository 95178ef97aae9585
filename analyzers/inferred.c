/* Each thread has at most one out-edge (to the recorded owner, else the likely holder of what
 * it waits on), so a walk from every thread finds each cycle once. */
#include "analyzers/inferred.h"
#include "analyzers/describe.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

/* A chain says many threads are stuck behind one: it takes only likely holders with more
 * than one piece of evidence (a thread that merely took a lock's address, main initialising
 * it say, is no holder to blame), and no spinlock waiters: they spin, they are not blocked,
 * and analyzers/spinlock.c judges them. */
#define CHAIN_MIN_STRENGTH 2

static long next_edge(const struct snapshot *s, long i, bool *inferred, bool chain)
{
	const struct wait *w = s->tasks[i].wait;
	*inferred = false;
	if (!w)
		return -1;
	pid_t to = 0;
	if (w->owner_known && w->owner_tid && (w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK || w->kind == WAIT_JOIN))
		to = w->owner_tid;
	else if (w->likely_owner && (!chain || (w->likely_strength >= CHAIN_MIN_STRENGTH && w->kind != WAIT_SPINLOCK)))
		to = w->likely_owner, *inferred = true;
	const struct task *o = to ? snapshot_find_task(s, to) : NULL;
	return o ? (long)(o - s->tasks) : -1;
}

static long next_of(const struct snapshot *s, long i, bool *inferred)
{
	return next_edge(s, i, inferred, false);
}

static long chain_next(const struct snapshot *s, long i, bool *inferred)
{
	return next_edge(s, i, inferred, true);
}

static void emit(struct snapshot *s, const long *cyc, long k, struct finding_list *out)
{
	struct arena *a = &s->arena;
	long r = 0;	/* start at the lowest TID, as proven deadlocks do */
	for (long i = 1; i < k; i++)
		if (s->tasks[cyc[i]].tid < s->tasks[cyc[r]].tid)
			r = i;
	struct finding *f = findings_push(out, k == 1 ? FINDING_SELF_DEADLOCK : FINDING_DEADLOCK);
	f->inferred = true;
	f->evidence = "these locks record no owner: each holder is likely, from a pointer to the lock on its "
		      "stack or in a register (a guard) and/or its current code taking the lock's address "
		      "(each lock's own evidence says which)";
	f->tids = ARENA_NEW(a, pid_t, k);
	f->locks = ARENA_NEW(a, struct finding_lock, k);
	f->ntids = f->nlocks = (int)k;
	f->count = (int)k;
	char *text = arena_printf(a, "inferred deadlock of %ld threads (these locks record no owner; each "
				  "holder below is likely, from the evidence given): ", k);
	for (long i = 0; i < k; i++) {
		const struct task *t = &s->tasks[cyc[(r + i) % k]], *h = &s->tasks[cyc[(r + i + 1) % k]];
		const struct wait *w = t->wait;
		bool inf = !(w->owner_known && w->owner_tid == h->tid);
		f->tids[i] = t->tid;
		struct finding_lock *l = &f->locks[i];
		l->kind = w->kind;
		l->address = w->address;
		l->symbol = w->symbol;
		l->owner_tid = h->tid;
		l->owner_inferred = inf;
		l->evidence = inf ? w->evidence : NULL;
		int nw = 0;
		for (size_t u = 0; u < s->ntasks; u++)
			nw += s->tasks[u].wait && s->tasks[u].wait->kind == w->kind &&
			      s->tasks[u].wait->address == w->address;
		l->waiters = ARENA_NEW(a, pid_t, nw ? nw : 1);
		for (size_t u = 0; u < s->ntasks; u++)
			if (s->tasks[u].wait && s->tasks[u].wait->kind == w->kind &&
			    s->tasks[u].wait->address == w->address)
				l->waiters[l->nwaiters++] = s->tasks[u].tid;
		const char *obj = describe_wait_object(s, w, a);
		if (w->kind == WAIT_JOIN)
			text = arena_printf(a, "%s%s%s waits to join %s", text, i ? ", which" : "",
					    i ? "" : describe_thread(t, 0, a), describe_thread(h, 0, a));
		else
			text = arena_printf(a, "%s%s%s waits for %s, %s %s%s%s%s", text, i ? "; " : "",
					    describe_thread(t, 0, a), obj, inf ? "likely held by" : "held by",
					    describe_thread(h, 0, a), inf && w->evidence ? " (" : "",
					    inf && w->evidence ? w->evidence : "", inf && w->evidence ? ")" : "");
	}
	f->summary = arena_printf(a, "%s.", text);
}

static bool is_lock(enum wait_kind k)
{
	return k == WAIT_MUTEX || k == WAIT_RWLOCK;
}

/* The lock entry for thread i's wait inside a chain finding, once per lock. */
static void add_lock(struct snapshot *s, struct finding *f, int cap, long i, long holder)
{
	const struct wait *w = s->tasks[i].wait;
	for (int k = 0; k < f->nlocks; k++)
		if (f->locks[k].kind == w->kind && f->locks[k].address == w->address) {
			if (f->locks[k].nwaiters < cap)
				f->locks[k].waiters[f->locks[k].nwaiters++] = s->tasks[i].tid;
			return;
		}
	struct finding_lock *l = &f->locks[f->nlocks++];
	bool inf = !(w->owner_known && w->owner_tid == s->tasks[holder].tid);
	l->kind = w->kind;
	l->address = w->address;
	l->symbol = w->symbol;
	l->owner_tid = s->tasks[holder].tid;
	l->owner_inferred = inf;
	l->evidence = inf ? w->evidence : NULL;
	l->waiters = ARENA_NEW(&s->arena, pid_t, cap);
	l->waiters[l->nwaiters++] = s->tasks[i].tid;
}

/* One chain: every thread whose walk ends at root r, at least one of them over a likely
 * holder (chains of recorded owners only are waitgraph_findings'). */
static void emit_chain(struct snapshot *s, long r, const long *root, long n, struct finding_list *out)
{
	struct arena *a = &s->arena;
	int members = 0;
	for (long i = 0; i < n; i++)
		members += root[i] == r && i != r;
	struct finding *f = findings_push(out, FINDING_BLOCKING_CHAIN);
	f->inferred = true;
	f->evidence = "locks on the way record no owner: each holder is likely, from a pointer to the lock on "
		      "its stack or in a register (a guard) and/or its current code taking the lock's address";
	f->root_tid = s->tasks[r].tid;
	f->tids = ARENA_NEW(a, pid_t, members);
	f->locks = ARENA_NEW(a, struct finding_lock, members);
	for (long i = 0; i < n; i++) {
		if (root[i] != r || i == r)
			continue;
		f->tids[f->ntids++] = s->tasks[i].tid;
		bool inf;
		long h = chain_next(s, i, &inf);
		if (h >= 0 && is_lock(s->tasks[i].wait->kind))
			add_lock(s, f, members, i, h);
	}
	f->count = f->ntids;
	char *text = arena_printf(a, "inferred blocking chain: %d %s behind %s, which is %s", f->ntids,
				  f->ntids == 1 ? "thread is blocked" : "threads are blocked",
				  describe_thread(&s->tasks[r], 0, a), describe_doing(s, &s->tasks[r], a));
	const char *site = describe_site(&s->tasks[r], a);
	if (site)
		text = arena_printf(a, "%s in %s", text, site);
	for (int k = 0; k < f->nlocks; k++) {
		const struct finding_lock *l = &f->locks[k];
		const struct task *h = snapshot_find_task(s, l->owner_tid);
		const struct wait w = { .kind = l->kind, .address = l->address, .symbol = l->symbol };
		text = arena_printf(a, "%s%s%d %s for %s, %s %s%s%s%s", text, k ? "; " : ": ", l->nwaiters,
				    l->nwaiters == 1 ? "waits" : "wait", describe_wait_object(s, &w, a),
				    l->owner_inferred ? "likely held by" : "held by", describe_thread(h, 0, a),
				    l->evidence ? " (" : "", l->evidence ? l->evidence : "", l->evidence ? ")" : "");
	}
	f->summary = arena_printf(a, "%s.", text);
}

/* root[i]: the thread where i's walk ends (no further edge), -1 when it ends in a cycle;
 * via[i]: the walk took a likely-holder edge. */
static void chains(struct snapshot *s, long n, struct finding_list *out)
{
	long *root = xcalloc((size_t)n, sizeof(long)), *path = xcalloc((size_t)n, sizeof(long));
	/* via: the walk took a likely-holder edge; path_inf: the edge out of path[k] is one */
	unsigned char *via = xcalloc((size_t)n, 1), *mark = xcalloc((size_t)n, 1);
	unsigned char *path_inf = xcalloc((size_t)n, 1);
	for (long i = 0; i < n; i++) {
		long len = 0, v = i;
		while (v >= 0 && mark[v] == 0) {
			mark[v] = 1;
			path[len] = v;
			bool inf;
			v = chain_next(s, v, &inf);
			path_inf[len++] = inf && v >= 0;	/* an edge to no thread here is none */
		}
		/* the walk ended at a thread with no edge (v < 0: the last on the path), a cycle
		 * (v on this path) or a thread already resolved */
		long end = v < 0 ? path[len - 1] : mark[v] == 1 ? -1 : root[v];
		bool inf_after = v >= 0 && mark[v] == 2 && via[v];
		for (long k = len - 1; k >= 0; k--) {
			long x = path[k];
			root[x] = end;
			inf_after |= path_inf[k];
			via[x] = end >= 0 && inf_after;
			mark[x] = 2;
		}
	}
	/* per root, in one pass: does a walk reach it over a likely holder, and through a lock
	 * (a chain needs both); mark is reused: bit 0 inferred, bit 1 lock */
	memset(mark, 0, (size_t)n);
	for (long i = 0; i < n; i++)
		if (root[i] >= 0 && root[i] != i)
			mark[root[i]] |= (via[i] ? 1 : 0) | (is_lock(s->tasks[i].wait->kind) ? 2 : 0);
	for (long r = 0; r < n; r++)
		if (root[r] == r && mark[r] == 3)
			emit_chain(s, r, root, n, out);
	free(root);
	free(path);
	free(path_inf);
	free(via);
	free(mark);
}

void inferred_findings(struct snapshot *s, struct finding_list *out)
{
	long n = (long)s->ntasks;
	if (n == 0)
		return;
	bool any = false;
	for (long i = 0; i < n && !any; i++)
		any = s->tasks[i].wait && s->tasks[i].wait->likely_owner;
	if (!any)
		return;
	unsigned char *mark = xcalloc((size_t)n, 1);	/* 0 new, 1 on this walk, 2 done */
	long *path = xcalloc((size_t)n, sizeof(long));
	for (long i = 0; i < n; i++) {
		long len = 0, v = i;
		while (v >= 0 && mark[v] == 0) {
			mark[v] = 1;
			path[len++] = v;
			bool inf;
			v = next_of(s, v, &inf);
		}
		if (v >= 0 && mark[v] == 1) {
			long at = 0;
			while (path[at] != v)
				at++;
			bool through_inferred = false;
			for (long k = at; k < len; k++) {
				bool inf;
				next_of(s, path[k], &inf);
				through_inferred |= inf;
			}
			if (through_inferred)
				emit(s, &path[at], len - at, out);
		}
		for (long k = 0; k < len; k++)
			mark[path[k]] = 2;
	}
	free(mark);
	free(path);
	chains(s, n, out);
}
