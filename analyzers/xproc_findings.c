/* Findings across processes, from the cross-process waits a live capture followed
 * (s->xprocs, s->xedges; attach/xproc.c):
 *
 * - deadlock: threads of two or more processes each blocked waiting for another's process,
 *   with nothing left that could act. A thread is stuck when it is blocked and everything
 *   it waits for is stuck: a process it waits for (to hold up its end of a pipe, a socket,
 *   a file lock, to exit) is stuck only when every one of its threads is. The largest set
 *   closed under that rule is found by removing, until nothing changes, every thread that
 *   waits for something that could still act (a running thread, a thread blocked on
 *   something chang cannot follow). What remains is proven from the kernel's own facts.
 * - blocking-chain: a lock of the target held by a thread of another process (a
 *   process-shared mutex, or a lock inherited across fork), proven by the owner field. */
#include "analyzers/xproc_findings.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	pid_t pid, tid;
	const char *comm;
	const char *doing;
	bool blocked;
	bool stuck;
	int comp;		/* connected component of the stuck set */
};

struct xgraph {
	struct snapshot *s;
	struct node *n;
	size_t nn;
};

static long node_of(const struct xgraph *g, pid_t tid)
{
	for (size_t i = 0; i < g->nn; i++)
		if (g->n[i].tid == tid)
			return (long)i;
	return -1;
}

/* Whether everything edge e waits for is stuck. */
static bool target_stuck(const struct xgraph *g, const struct xedge *e)
{
	if (e->to_tid) {
		long k = node_of(g, e->to_tid);
		return k >= 0 && g->n[k].stuck;
	}
	bool any = false;
	for (size_t i = 0; i < g->nn; i++) {
		if (g->n[i].pid != e->to_pid)
			continue;
		any = true;
		if (!g->n[i].stuck)
			return false;
	}
	return any;
}

static bool has_edges(const struct snapshot *s, pid_t tid)
{
	for (size_t i = 0; i < s->nxedges; i++)
		if (s->xedges[i].tid == tid)
			return true;
	return false;
}

/* A target thread's wait inside the target (a mutex held by another of its threads) also
 * holds it: the owner must be stuck too. */
static pid_t inner_owner(const struct snapshot *s, pid_t tid)
{
	const struct task *t = snapshot_find_task(s, tid);
	if (!t || !t->wait || !t->wait->owner_known || !t->wait->owner_tid || t->wait->owner_tid == tid)
		return 0;
	return snapshot_find_task(s, t->wait->owner_tid) ? t->wait->owner_tid : 0;
}

static void settle(struct xgraph *g)
{
	struct snapshot *s = g->s;
	for (size_t i = 0; i < g->nn; i++)
		g->n[i].stuck = g->n[i].blocked && (has_edges(s, g->n[i].tid) || inner_owner(s, g->n[i].tid));
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < g->nn; i++) {
			struct node *v = &g->n[i];
			if (!v->stuck)
				continue;
			bool ok = true;
			for (size_t k = 0; ok && k < s->nxedges; k++)
				if (s->xedges[k].tid == v->tid)
					ok = target_stuck(g, &s->xedges[k]);
			pid_t o = ok ? inner_owner(s, v->tid) : 0;
			if (o) {
				long k = node_of(g, o);
				ok = k >= 0 && g->n[k].stuck;
			}
			if (!ok) {
				v->stuck = false;
				changed = true;
			}
		}
	}
}

static bool linked(const struct xgraph *g, size_t a, size_t b)
{
	const struct snapshot *s = g->s;
	if (g->n[a].pid == g->n[b].pid)
		return true;	/* threads of one process fall together */
	for (size_t k = 0; k < s->nxedges; k++) {
		const struct xedge *e = &s->xedges[k];
		if ((e->tid == g->n[a].tid && e->to_pid == g->n[b].pid) ||
		    (e->tid == g->n[b].tid && e->to_pid == g->n[a].pid))
			return true;
	}
	return false;
}

static const char *edge_text(const struct xgraph *g, const struct node *v, struct arena *a)
{
	const struct snapshot *s = g->s;
	char buf[1024];
	size_t n = 0;
	buf[0] = 0;
	for (size_t k = 0; k < s->nxedges && n < sizeof(buf) - 200; k++) {
		const struct xedge *e = &s->xedges[k];
		if (e->tid != v->tid)
			continue;
		const char *comm = "?";
		for (size_t i = 0; i < s->nxprocs; i++)
			if (s->xprocs[i].pid == e->to_pid)
				comm = s->xprocs[i].comm;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sprocess %d \"%s\" (%s %s)", n ? " and " : "",
				      (int)e->to_pid, comm, e->relation, e->object);
	}
	return arena_strdup(a, buf);
}

static void deadlocks(struct xgraph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	for (size_t i = 0; i < g->nn; i++)
		g->n[i].comp = -1;
	int ncomp = 0;
	for (size_t i = 0; i < g->nn; i++) {
		if (!g->n[i].stuck || g->n[i].comp >= 0)
			continue;
		/* flood the component */
		g->n[i].comp = ncomp;
		for (bool grew = true; grew;) {
			grew = false;
			for (size_t a = 0; a < g->nn; a++)
				if (g->n[a].stuck && g->n[a].comp == ncomp)
					for (size_t b = 0; b < g->nn; b++)
						if (g->n[b].stuck && g->n[b].comp < 0 && linked(g, a, b)) {
							g->n[b].comp = ncomp;
							grew = true;
						}
		}
		ncomp++;
	}
	for (int c = 0; c < ncomp; c++) {
		pid_t pids[64];
		int np = 0, nt = 0;
		for (size_t i = 0; i < g->nn; i++) {
			if (g->n[i].comp != c)
				continue;
			nt++;
			bool seen = false;
			for (int k = 0; k < np; k++)
				seen |= pids[k] == g->n[i].pid;
			if (!seen && np < 64)
				pids[np++] = g->n[i].pid;
		}
		if (np < 2)
			continue;	/* inside one process: the target's own analyzers speak for it */
		struct finding *f = findings_push(out, FINDING_DEADLOCK);
		f->confirmed_ms = (int)s->xproc_confirm_ms;
		f->pids = ARENA_NEW(&s->arena, pid_t, np);
		memcpy(f->pids, pids, (size_t)np * sizeof(pid_t));
		f->npids = np;
		f->tids = ARENA_NEW(&s->arena, pid_t, nt);
		f->tid_pids = ARENA_NEW(&s->arena, pid_t, nt);
		char buf[4096];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%d processes are deadlocked: ", np);
		for (size_t i = 0; i < g->nn; i++) {
			const struct node *v = &g->n[i];
			if (v->comp != c)
				continue;
			f->tid_pids[f->ntids] = v->pid;
			f->tids[f->ntids++] = v->tid;
			if (n < sizeof(buf) - 300)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d/%d \"%s\" in %s waits for %s",
						      f->ntids > 1 ? "; " : "", (int)v->pid, (int)v->tid, v->comm,
						      v->doing, edge_text(g, v, &s->arena));
		}
		const char *evidence = NULL;
		for (size_t k = 0; k < s->nxedges; k++) {
			long a = node_of(g, s->xedges[k].tid);
			if (a >= 0 && g->n[a].comp == c && s->xedges[k].evidence)
				evidence = s->xedges[k].evidence;
		}
		f->inferred = evidence != NULL;
		if (evidence)
			f->evidence = arena_strdup(&s->arena, evidence);
		snprintf(buf + n, sizeof(buf) - n, ". Every thread of these processes is blocked (read from /proc, "
			 "confirmed by a second look), so none can act%s%s.", evidence ? "; inferred: " : "",
			 evidence ? evidence : "");
		f->summary = arena_strdup(&s->arena, buf);
	}
}

/* A lock of the target whose owner field names a live thread of another process. */
static void foreign_owners(struct xgraph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	for (size_t k = 0; k < s->nxedges; k++) {
		const struct xedge *e = &s->xedges[k];
		if (e->pid != s->pid || !e->to_tid)
			continue;
		long w = node_of(g, e->tid), o = node_of(g, e->to_tid);
		if (w < 0 || o < 0 || g->n[w].stuck)
			continue;	/* a deadlock says it already */
		struct finding *f = findings_push(out, FINDING_BLOCKING_CHAIN);
		f->confirmed_ms = (int)s->xproc_confirm_ms;
		f->root_tid = e->to_tid;
		f->pids = ARENA_NEW(&s->arena, pid_t, 2);
		f->pids[0] = s->pid;
		f->pids[1] = e->to_pid;
		f->npids = 2;
		f->tids = ARENA_NEW(&s->arena, pid_t, 2);
		f->tid_pids = ARENA_NEW(&s->arena, pid_t, 2);
		f->tids[0] = e->tid;
		f->tid_pids[0] = s->pid;
		f->tids[1] = e->to_tid;
		f->tid_pids[1] = e->to_pid;
		f->ntids = 2;
		char buf[1024];
		snprintf(buf, sizeof(buf), "thread %d \"%s\" waits for %s, held by thread %d of process %d \"%s\" "
			 "(the lock's owner field names it, and that thread is alive there), which is in %s.",
			 (int)e->tid, g->n[w].comm, e->object, (int)e->to_tid, (int)e->to_pid, g->n[o].comm, g->n[o].doing);
		f->summary = arena_strdup(&s->arena, buf);
	}
}

void xproc_findings(struct snapshot *s, struct finding_list *out)
{
	if (!s->nxedges)
		return;
	struct xgraph g = { .s = s };
	size_t total = 0;
	for (size_t i = 0; i < s->nxprocs; i++)
		total += (size_t)s->xprocs[i].nthreads;
	g.n = xcalloc(total ? total : 1, sizeof(*g.n));
	for (size_t i = 0; i < s->nxprocs; i++) {
		const struct xprocess *x = &s->xprocs[i];
		for (int k = 0; k < x->nthreads; k++)
			g.n[g.nn++] = (struct node){ .pid = x->pid, .tid = x->threads[k].tid, .comm = x->comm,
						     .doing = x->threads[k].doing, .blocked = x->threads[k].blocked };
	}
	settle(&g);
	deadlocks(&g, out);
	foreign_owners(&g, out);
	free(g.n);
}
