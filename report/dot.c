#include "report/dot.h"
#include "analyzers/describe.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

/* Plain waiters of one lock beyond this many are drawn as a single node. */
#define DOT_WAITERS_SHOWN 4

static void dot_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static bool edge_wait(const struct wait *w)
{
	return w && (w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK || w->kind == WAIT_JOIN) &&
	       w->owner_known && w->owner_tid;
}

static int cmp_lock(const void *x, const void *y, void *snap)
{
	const struct snapshot *s = snap;
	const struct wait *a = s->tasks[*(const long *)x].wait;
	const struct wait *b = s->tasks[*(const long *)y].wait;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->address != b->address)
		return a->address < b->address ? -1 : 1;
	return (*(const long *)x > *(const long *)y) - (*(const long *)x < *(const long *)y);
}

struct marks {
	unsigned char *task;	/* per task index: MARK_* bits */
};
#define MARK_CYCLE 1
#define MARK_ROOT 2
#define MARK_OWNER 4
#define MARK_DRAWN 8

static bool lock_in_cycle(const struct snapshot *s, enum wait_kind kind, uint64_t addr)
{
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		if (f->kind != FINDING_DEADLOCK && f->kind != FINDING_SELF_DEADLOCK)
			continue;
		for (int k = 0; k < f->nlocks; k++)
			if (f->locks[k].kind == kind && f->locks[k].address == addr)
				return true;
	}
	return false;
}

static void thread_node(FILE *out, const struct snapshot *s, const struct task *t, unsigned marks,
			struct arena *a)
{
	const char *label = arena_printf(a, "%s\n%s", describe_thread(t, t->tid, a),
					 t->state ? t->state : "?");
	if (marks & MARK_ROOT) {
		const char *site = describe_site(t, a);
		label = arena_printf(a, "%s\n%s%s%s", label, describe_doing(s, t, a),
				     site ? "\nin " : "", site ? site : "");
	}
	fprintf(out, "  t%d [shape=box, label=", (int)t->tid);
	dot_str(out, label);
	if (marks & MARK_CYCLE)
		fprintf(out, ", color=red, fontcolor=red, penwidth=2");
	else if (marks & MARK_ROOT)
		fprintf(out, ", style=filled, fillcolor=\"#ffd8a8\"");
	fprintf(out, "];\n");
}

static void ensure_thread(FILE *out, const struct snapshot *s, pid_t tid, struct marks *m,
			  struct arena *a)
{
	const struct task *t = snapshot_find_task(s, tid);
	if (!t) {
		return;
	}
	long i = t - s->tasks;
	if (m->task[i] & MARK_DRAWN)
		return;
	m->task[i] |= MARK_DRAWN;
	thread_node(out, s, t, m->task[i], a);
}

static bool in_xdeadlock(const struct snapshot *s, pid_t tid)
{
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		for (int k = 0; f->npids && f->kind == FINDING_DEADLOCK && k < f->ntids; k++)
			if (f->tids[k] == tid)
				return true;
	}
	return false;
}

static bool involved(const struct snapshot *s, pid_t pid, pid_t tid)
{
	for (size_t k = 0; k < s->nxedges; k++) {
		const struct xedge *e = &s->xedges[k];
		if (e->tid == tid || e->to_tid == tid || (e->to_pid == pid && !e->to_tid))
			return true;
	}
	return false;
}

/* Waits across processes: one cluster per process, its threads that wait or are waited
 * for, and an edge per wait (to the process's cluster when no one thread is named). */
static void draw_xproc(FILE *out, const struct snapshot *s, struct arena *a)
{
	if (!s->nxedges)
		return;
	fprintf(out, "  compound=true;\n");
	for (size_t i = 0; i < s->nxprocs; i++) {
		const struct xprocess *x = &s->xprocs[i];
		fprintf(out, "  subgraph cluster_p%d {\n    label=", (int)x->pid);
		dot_str(out, arena_printf(a, "process %d \"%s\"%s%s", (int)x->pid, x->comm, x->target ? " (target)" : "",
					  x->unreadable ? "\n(could not be read)" : ""));
		fprintf(out, ";\n    style=rounded;\n");
		fprintf(out, "    p%d_anchor [shape=point, style=invis];\n", (int)x->pid);
		for (int k = 0; k < x->nthreads; k++) {
			const struct xthread *t = &x->threads[k];
			if (!involved(s, x->pid, t->tid))
				continue;
			fprintf(out, "    x%d_%d [shape=box, label=", (int)x->pid, (int)t->tid);
			dot_str(out, arena_printf(a, "%d/%d\n%s", (int)x->pid, (int)t->tid, t->doing ? t->doing : "?"));
			fprintf(out, "%s];\n", in_xdeadlock(s, t->tid) ? ", color=red, fontcolor=red, penwidth=2" : "");
		}
		fprintf(out, "  }\n");
	}
	for (size_t k = 0; k < s->nxedges; k++) {
		const struct xedge *e = &s->xedges[k];
		bool red = in_xdeadlock(s, e->tid);
		if (e->to_tid)
			fprintf(out, "  x%d_%d -> x%d_%d [label=", (int)e->pid, (int)e->tid, (int)e->to_pid, (int)e->to_tid);
		else
			fprintf(out, "  x%d_%d -> p%d_anchor [lhead=cluster_p%d, label=", (int)e->pid, (int)e->tid,
				(int)e->to_pid, (int)e->to_pid);
		dot_str(out, arena_printf(a, "%s %s%s", e->relation, e->object, e->evidence ? "\n(inferred)" : ""));
		fprintf(out, "%s%s];\n", red ? ", color=red, penwidth=2" : "", e->evidence ? ", style=dashed" : "");
	}
}

int report_dot(FILE *out, const struct snapshot *s, struct err *e)
{
	struct arena a = { 0 };
	long n = (long)s->ntasks;
	struct marks m = { xcalloc(n ? (size_t)n : 1, 1) };
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		/* cross-process findings are drawn by draw_xproc */
		for (int k = 0; !f->npids && k < f->ntids && (f->kind == FINDING_DEADLOCK || f->kind == FINDING_SELF_DEADLOCK);
		     k++) {
			const struct task *t = snapshot_find_task(s, f->tids[k]);
			if (t)
				m.task[t - s->tasks] |= MARK_CYCLE;
		}
		if (f->kind == FINDING_BLOCKING_CHAIN) {
			const struct task *t = snapshot_find_task(s, f->root_tid);
			if (t)
				m.task[t - s->tasks] |= MARK_ROOT;
		}
	}
	long *idx = xcalloc(n ? (size_t)n : 1, sizeof(long));
	long ne = 0;
	for (long i = 0; i < n; i++) {
		const struct wait *w = s->tasks[i].wait;
		if (!edge_wait(w))
			continue;
		idx[ne++] = i;
		const struct task *o = snapshot_find_task(s, w->owner_tid);
		if (o)
			m.task[o - s->tasks] |= MARK_OWNER;
	}
	qsort_r(idx, (size_t)ne, sizeof(long), cmp_lock, (void *)s);

	fprintf(out, "digraph chang {\n");
	fprintf(out, "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=");
	dot_str(out, arena_printf(&a, "chang: process %d (%s), %zu thread%s, %zu finding%s", (int)s->pid,
				  s->executable ? s->executable : "?", s->ntasks, s->ntasks == 1 ? "" : "s",
				  s->nfindings, s->nfindings == 1 ? "" : "s"));
	fprintf(out, "];\n  node [fontname=\"Helvetica\", fontsize=10];\n"
		     "  edge [fontname=\"Helvetica\", fontsize=9];\n");

	/* Every thread that matters on its own: cycle members, roots, owners. */
	for (long i = 0; i < n; i++)
		if (m.task[i] & (MARK_CYCLE | MARK_ROOT | MARK_OWNER))
			ensure_thread(out, s, s->tasks[i].tid, &m, &a);

	int lock_id = 0, crowd_id = 0;
	for (long k = 0; k < ne;) {
		long j = k + 1;
		const struct wait *w = s->tasks[idx[k]].wait;
		while (j < ne && s->tasks[idx[j]].wait->kind == w->kind &&
		       s->tasks[idx[j]].wait->address == w->address)
			j++;
		bool cyc = lock_in_cycle(s, w->kind, w->address);
		const char *hot = cyc ? ", color=red, fontcolor=red, penwidth=2" : "";
		const struct task *owner = snapshot_find_task(s, w->owner_tid);
		char owner_id[32];
		snprintf(owner_id, sizeof(owner_id), "t%d", (int)w->owner_tid);
		if (!owner) {
			fprintf(out, "  gone%d [shape=box, style=dashed, label=", (int)w->owner_tid);
			dot_str(out, arena_printf(&a, "thread %d\nnot in the process\n(exited holding it)",
						  (int)w->owner_tid));
			fprintf(out, "];\n");
			snprintf(owner_id, sizeof(owner_id), "gone%d", (int)w->owner_tid);
		}
		/* A join has no lock between the two threads: the joiner points at the thread. */
		char target[32];
		if (w->kind == WAIT_JOIN) {
			snprintf(target, sizeof(target), "%s", owner_id);
		} else {
			snprintf(target, sizeof(target), "l%d", lock_id++);
			fprintf(out, "  %s [shape=octagon, label=", target);
			const char *name = describe_object_name(s, w->address, w->symbol, &a);
			dot_str(out, arena_printf(&a, "%s\n%s", wait_kind_name(w->kind), name));
			fprintf(out, "%s];\n", hot);
			fprintf(out, "  %s -> %s [label=\"held by\"%s];\n", target, owner_id, hot);
		}
		const char *verb = w->kind == WAIT_JOIN ? "joins" : "waits";
		long plain = 0;
		for (long q = k; q < j; q++)
			if (!(m.task[idx[q]] & (MARK_CYCLE | MARK_ROOT | MARK_OWNER)))
				plain++;
		for (long q = k; q < j; q++) {
			unsigned mk = m.task[idx[q]];
			bool alone = (mk & (MARK_CYCLE | MARK_ROOT | MARK_OWNER)) || plain <= DOT_WAITERS_SHOWN;
			if (!alone)
				continue;
			ensure_thread(out, s, s->tasks[idx[q]].tid, &m, &a);
			bool red = cyc && (mk & MARK_CYCLE);
			fprintf(out, "  t%d -> %s [label=\"%s\"%s];\n", (int)s->tasks[idx[q]].tid, target, verb,
				red ? ", color=red, penwidth=2" : "");
		}
		if (plain > DOT_WAITERS_SHOWN) {
			const char *site = describe_site(&s->tasks[idx[k]], &a);
			fprintf(out, "  c%d [shape=box3d, label=", crowd_id);
			dot_str(out, arena_printf(&a, "%ld threads%s%s", plain, site ? "\ne.g. in " : "",
						  site ? site : ""));
			fprintf(out, "];\n  c%d -> %s [label=\"%s\"];\n", crowd_id, target, verb);
			crowd_id++;
		}
		k = j;
	}

	/* Crowds on objects without an owner (condvars, pipes) from the mass findings. */
	int mass_id = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		const struct finding *f = &s->findings[i];
		if (f->kind != FINDING_MASS_BLOCKING)
			continue;
		const char *obj = describe_wait_object(s, &f->object, &a);
		const char *style = f->maybe_normal ? ", color=gray50, fontcolor=gray40" : ", color=\"#c92a2a\"";
		fprintf(out, "  m%d [shape=ellipse, label=", mass_id);
		dot_str(out, arena_printf(&a, "%s%s", obj ? obj : wait_kind_name(f->object.kind),
					  f->maybe_normal ? "\n(may be normal)" : ""));
		fprintf(out, "%s];\n  mc%d [shape=box3d, label=", style, mass_id);
		const struct task *t0 = f->ntids ? snapshot_find_task(s, f->tids[0]) : NULL;
		const char *site = t0 ? describe_site(t0, &a) : NULL;
		if (f->object.fd >= 0)
			dot_str(out, arena_printf(&a, "%d threads\n%s()%s%s", f->count,
						  f->object.syscall ? f->object.syscall : "?",
						  site ? " in " : "", site ? site : ""));
		else
			dot_str(out, arena_printf(&a, "%d threads%s%s", f->count, site ? "\nin " : "",
						  site ? site : ""));
		fprintf(out, "%s];\n  mc%d -> m%d [label=\"wait\"%s];\n", style, mass_id, mass_id, style);
		mass_id++;
	}
	draw_xproc(out, s, &a);
	fprintf(out, "}\n");
	free(idx);
	free(m.task);
	arena_free(&a);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the graph failed") : 0;
}
