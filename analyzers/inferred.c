/* Each thread has at most one out-edge (to the recorded owner, else the likely holder of what
 * it waits on), so a walk from every thread finds each cycle once. */
#include "analyzers/inferred.h"
#include "analyzers/describe.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

static long next_of(const struct snapshot *s, long i, bool *inferred)
{
	const struct wait *w = s->tasks[i].wait;
	*inferred = false;
	if (!w)
		return -1;
	pid_t to = 0;
	if (w->owner_known && w->owner_tid && (w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK || w->kind == WAIT_JOIN))
		to = w->owner_tid;
	else if (w->likely_owner)
		to = w->likely_owner, *inferred = true;
	const struct task *o = to ? snapshot_find_task(s, to) : NULL;
	return o ? (long)(o - s->tasks) : -1;
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
}
