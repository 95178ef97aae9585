/* The wait-for graph has one edge per blocked task at most (to the thread holding what it
 * waits on), so every weakly connected part is a tree hanging off a root, a cycle, a
 * self-loop, or an owner that is gone. One walk per task, each task visited once, labels
 * every task with where its path ends; findings are read off those labels. */
#include "analyzers/describe.h"
#include "analyzers/findings.h"
#include "analyzers/signals.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEXT_NONE (-1L)
#define NEXT_GONE (-2L)	/* the owner TID is not a thread of the process */

enum end_kind { END_ROOT, END_CYCLE, END_SELF, END_GONE };

struct graph {
	struct snapshot *s;
	long n;
	long *next;
	enum end_kind *end_kind;
	long *end_id;		/* ROOT/SELF/GONE: the task ending the path; CYCLE: cycle number */
	long *cyc;		/* cycle members, cycle by cycle, each in edge order */
	long *cyc_start;	/* cycle c is cyc[cyc_start[c] .. cyc_start[c+1]) */
	long ncycles;
	long *bucket;		/* tasks grouped by where their path ends */
	long *bucket_start;	/* key k (task index, or n + cycle) is bucket[bs[k] .. bs[k+1]) */
	long *by_lock;		/* tasks with an edge, sorted by (kind, address, tid) */
	long nby_lock;
};

static bool edge_kind(enum wait_kind k)
{
	return k == WAIT_MUTEX || k == WAIT_RWLOCK || k == WAIT_JOIN;
}

static bool lock_kind(enum wait_kind k)
{
	return k == WAIT_MUTEX || k == WAIT_RWLOCK;
}

static const struct wait *wait_of(const struct graph *g, long i)
{
	return g->s->tasks[i].wait;
}

static long end_key(const struct graph *g, long i)
{
	return g->end_kind[i] == END_CYCLE ? g->n + g->end_id[i] : g->end_id[i];
}

static int cmp_by_lock(const void *a, const void *b, void *graph)
{
	long x = *(const long *)a, y = *(const long *)b;
	const struct wait *wx = wait_of(graph, x), *wy = wait_of(graph, y);
	if (wx->kind != wy->kind)
		return wx->kind < wy->kind ? -1 : 1;
	if (wx->address != wy->address)
		return wx->address < wy->address ? -1 : 1;
	return (x > y) - (x < y);
}

static void build(struct graph *g, struct snapshot *s)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	long n = g->n = (long)s->ntasks;
	size_t cap = n ? (size_t)n : 1;
	g->next = xcalloc(cap, sizeof(long));
	g->end_kind = xcalloc(cap, sizeof(*g->end_kind));
	g->end_id = xcalloc(cap, sizeof(long));
	g->cyc = xcalloc(cap, sizeof(long));
	g->cyc_start = xcalloc(cap + 1, sizeof(long));
	g->by_lock = xcalloc(cap, sizeof(long));
	for (long i = 0; i < n; i++) {
		const struct wait *w = s->tasks[i].wait;
		g->next[i] = NEXT_NONE;
		if (w && edge_kind(w->kind) && w->owner_died && !w->owner_tid) {
			g->next[i] = NEXT_GONE;	/* its owner exited; the lock no longer says who */
			g->by_lock[g->nby_lock++] = i;
			continue;
		}
		if (!w || !edge_kind(w->kind) || !w->owner_known || !w->owner_tid)
			continue;
		struct task *o = snapshot_find_task(s, w->owner_tid);
		g->next[i] = o ? (long)(o - s->tasks) : NEXT_GONE;
		g->by_lock[g->nby_lock++] = i;
	}
	qsort_r(g->by_lock, (size_t)g->nby_lock, sizeof(long), cmp_by_lock, g);

	/* mark: 0 unvisited, 1 on the current walk, 2 labelled. */
	unsigned char *mark = xcalloc(cap, 1);
	long *pos = xcalloc(cap, sizeof(long));
	long *stack = xcalloc(cap, sizeof(long));
	long ncyc = 0;
	for (long i = 0; i < n; i++) {
		if (mark[i])
			continue;
		long sp = 0, v = i;
		enum end_kind ek;
		long eid;
		for (;;) {
			if (mark[v] == 2) {
				ek = g->end_kind[v];
				eid = g->end_id[v];
				break;
			}
			if (mark[v] == 1) {
				/* Back on this walk: stack[pos[v]..sp) is a new cycle. */
				ek = END_CYCLE;
				eid = g->ncycles;
				for (long k = pos[v]; k < sp; k++)
					g->cyc[ncyc++] = stack[k];
				g->cyc_start[++g->ncycles] = ncyc;
				break;
			}
			mark[v] = 1;
			pos[v] = sp;
			stack[sp++] = v;
			long nx = g->next[v];
			if (nx == NEXT_NONE || nx == NEXT_GONE || nx == v) {
				ek = nx == NEXT_NONE ? END_ROOT : nx == NEXT_GONE ? END_GONE : END_SELF;
				eid = v;
				break;
			}
			v = nx;
		}
		for (long k = 0; k < sp; k++) {
			mark[stack[k]] = 2;
			g->end_kind[stack[k]] = ek;
			g->end_id[stack[k]] = eid;
		}
	}
	free(mark);
	free(pos);
	free(stack);

	/* Counting sort of the tasks by end key; tid order within a bucket. */
	long nkeys = n + g->ncycles;
	g->bucket_start = xcalloc((size_t)nkeys + 2, sizeof(long));
	g->bucket = xcalloc(cap, sizeof(long));
	for (long i = 0; i < n; i++)
		g->bucket_start[end_key(g, i) + 1]++;
	for (long k = 0; k < nkeys; k++)
		g->bucket_start[k + 1] += g->bucket_start[k];
	long *fill = xcalloc((size_t)nkeys + 1, sizeof(long));
	for (long i = 0; i < n; i++) {
		long k = end_key(g, i);
		g->bucket[g->bucket_start[k] + fill[k]++] = i;
	}
	free(fill);
}

static void graph_free(struct graph *g)
{
	free(g->next);
	free(g->end_kind);
	free(g->end_id);
	free(g->cyc);
	free(g->cyc_start);
	free(g->bucket);
	free(g->bucket_start);
	free(g->by_lock);
}

/* by_lock holds task indices sorted by the lock they wait on (kind, then address). */
struct lock_key {
	const struct graph *g;
	const struct wait *w;
};

static int cmp_lock_key(const void *key, const void *elem)
{
	const struct lock_key *k = key;
	const struct wait *m = wait_of(k->g, *(const long *)elem);
	if (k->w->kind != m->kind)
		return k->w->kind < m->kind ? -1 : 1;
	return (k->w->address > m->address) - (k->w->address < m->address);
}

/* Tasks waiting directly on the lock task i waits on: a range of by_lock. */
static void lock_waiters(const struct graph *g, long i, long *first, long *count)
{
	const struct wait *w = wait_of(g, i);
	struct lock_key key = { g, w };
	long lo = (long)lower_bound(g->by_lock, (size_t)g->nby_lock, sizeof(*g->by_lock), &key, cmp_lock_key);
	long k = lo;
	while (k < g->nby_lock && wait_of(g, g->by_lock[k])->kind == w->kind &&
	       wait_of(g, g->by_lock[k])->address == w->address)
		k++;
	*first = lo;
	*count = k - lo;
}

static void fill_lock(const struct graph *g, long i, struct finding_lock *l)
{
	struct snapshot *s = g->s;
	const struct wait *w = wait_of(g, i);
	l->kind = w->kind;
	l->address = w->address;
	l->symbol = w->symbol;
	l->owner_tid = w->owner_tid;
	long first, count;
	lock_waiters(g, i, &first, &count);
	l->waiters = ARENA_NEW(&s->arena, pid_t, count ? count : 1);
	l->nwaiters = (int)count;
	for (long k = 0; k < count; k++)
		l->waiters[k] = s->tasks[g->by_lock[first + k]].tid;
}

struct sbuf {
	char *p;
	size_t n, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k <= 0)
		return;
	VEC_RESERVE(b->p, b->cap, b->n + (size_t)k + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

static const char *sb_finish(struct sbuf *b, struct arena *a)
{
	const char *r = arena_strdup(a, b->p ? b->p : "");
	free(b->p);
	memset(b, 0, sizeof(*b));
	return r;
}

static const char *thread_name(const struct graph *g, long i)
{
	return describe_thread(&g->s->tasks[i], 0, &g->s->arena);
}

static const char *plural(long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* " waits for mutex lock_b held by thread 7 "b"" / " waits to join thread 7 "b"" */
static void sb_link(struct sbuf *b, const struct graph *g, long from, long to)
{
	struct snapshot *s = g->s;
	const struct wait *w = wait_of(g, from);
	if (w->kind == WAIT_JOIN) {
		sb_printf(b, " waits to join %s", thread_name(g, to));
		return;
	}
	sb_printf(b, " waits for %s held by %s%s", describe_wait_object(s, w, &s->arena),
		  w->kind == WAIT_RWLOCK ? "writer " : "", thread_name(g, to));
}

#define CYCLE_WORDS_MAX 12

static void deadlocks(struct graph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	for (long c = 0; c < g->ncycles; c++) {
		long *m = &g->cyc[g->cyc_start[c]];
		long k = g->cyc_start[c + 1] - g->cyc_start[c];
		/* Start at the lowest TID so the same deadlock reads the same in every capture. */
		long r = 0;
		for (long i = 1; i < k; i++)
			if (s->tasks[m[i]].tid < s->tasks[m[r]].tid)
				r = i;
		struct finding *f = findings_push(out, FINDING_DEADLOCK);
		f->tids = ARENA_NEW(&s->arena, pid_t, k);
		f->locks = ARENA_NEW(&s->arena, struct finding_lock, k);
		f->ntids = f->nlocks = (int)k;
		for (long i = 0; i < k; i++) {
			long v = m[(r + i) % k];
			f->tids[i] = s->tasks[v].tid;
			fill_lock(g, v, &f->locks[i]);
		}
		long key = g->n + c;
		long behind = g->bucket_start[key + 1] - g->bucket_start[key] - k;
		f->count = (int)(k + behind);

		struct sbuf b = { 0 };
		sb_printf(&b, "%ld threads are deadlocked: %s", k, thread_name(g, m[r]));
		for (long i = 0; i < k; i++) {
			long from = m[(r + i) % k], to = m[(r + i + 1) % k];
			if (k > CYCLE_WORDS_MAX && i == CYCLE_WORDS_MAX - 2) {
				sb_printf(&b, ", … %ld more links …, then %s", k - CYCLE_WORDS_MAX + 1,
					  thread_name(g, m[(r + k - 1) % k]));
				i = k - 2;
				continue;
			}
			if (i > 0)
				sb_printf(&b, ", which");
			sb_link(&b, g, from, to);
		}
		if (behind > 0)
			sb_printf(&b, "; %ld more %s blocked behind them", behind,
				  plural(behind, "thread is", "threads are"));
		sb_printf(&b, ".");
		f->summary = sb_finish(&b, &s->arena);
	}
}

static void self_deadlocks(struct graph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	for (long i = 0; i < g->n; i++) {
		if (g->next[i] != i)
			continue;
		const struct wait *w = wait_of(g, i);
		struct finding *f = findings_push(out, FINDING_SELF_DEADLOCK);
		f->tids = ARENA_NEW(&s->arena, pid_t, 1);
		f->tids[0] = s->tasks[i].tid;
		f->ntids = 1;
		f->locks = ARENA_NEW(&s->arena, struct finding_lock, 1);
		f->nlocks = 1;
		fill_lock(g, i, &f->locks[0]);
		long behind = g->bucket_start[i + 1] - g->bucket_start[i] - 1;
		f->count = (int)(1 + behind);
		const char *why = "";
		const char *sig = signal_handler_of(&s->tasks[i]);
		if (sig && (w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK))
			why = arena_printf(&s->arena, " (a %s handler re-entered it: the signal interrupted the "
					   "thread while it held the lock, and the handler now waits for it)", sig);
		else if (w->kind == WAIT_MUTEX)
			why = " (a non-recursive mutex locked twice by the same thread)";
		else if (w->kind == WAIT_RWLOCK)
			why = " (it holds the write lock)";
		struct sbuf b = { 0 };
		sb_printf(&b, "%s waits for %s, which it already holds itself%s", thread_name(g, i),
			  describe_wait_object(s, w, &s->arena), why);
		if (behind > 0)
			sb_printf(&b, "; %ld other %s blocked behind it", behind,
				  plural(behind, "thread is", "threads are"));
		sb_printf(&b, ".");
		f->summary = sb_finish(&b, &s->arena);
	}
}

static const char *gone_reason(const struct snapshot *s, uint64_t addr)
{
	const struct mapping *m = snapshot_mapping_at(s, addr);
	if (m && m->perms[3] == 's')
		return "it exited without unlocking, or it is a thread of another process sharing "
		       "this memory";
	return "it exited without unlocking";
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* Every task whose path ends at one of the given end tasks, in tid order. */
static pid_t *collect_behind(const struct graph *g, const long *ends, long nends, long skip_root,
			     int *count)
{
	long total = 0;
	for (long e = 0; e < nends; e++)
		total += g->bucket_start[ends[e] + 1] - g->bucket_start[ends[e]];
	long *idx = xcalloc(total ? (size_t)total : 1, sizeof(long));
	long n = 0;
	for (long e = 0; e < nends; e++)
		for (long k = g->bucket_start[ends[e]]; k < g->bucket_start[ends[e] + 1]; k++)
			if (g->bucket[k] != skip_root)
				idx[n++] = g->bucket[k];
	qsort(idx, (size_t)n, sizeof(long), cmp_long);
	pid_t *tids = ARENA_NEW(&g->s->arena, pid_t, n ? n : 1);
	for (long k = 0; k < n; k++)
		tids[k] = g->s->tasks[idx[k]].tid;
	free(idx);
	*count = (int)n;
	return tids;
}

static void abandoned(struct graph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	/* by_lock is sorted by lock: the waiters on one abandoned lock are adjacent. */
	long *ends = xcalloc(g->nby_lock ? (size_t)g->nby_lock : 1, sizeof(long));
	for (long k = 0; k < g->nby_lock;) {
		long i = g->by_lock[k], first, count;
		lock_waiters(g, i, &first, &count);
		k = first + count;
		if (g->next[i] != NEXT_GONE)
			continue;
		/* an owner alive in another process is not gone: analyzers/xproc_findings.c says it */
		if (snapshot_foreign_thread(s, wait_of(g, i)->owner_tid))
			continue;
		for (long j = 0; j < count; j++)
			ends[j] = g->by_lock[first + j];
		const struct wait *w = wait_of(g, i);
		struct finding *f = findings_push(out, FINDING_ABANDONED_LOCK);
		f->tids = collect_behind(g, ends, count, -1, &f->ntids);
		f->count = f->ntids;
		f->locks = ARENA_NEW(&s->arena, struct finding_lock, 1);
		f->nlocks = 1;
		fill_lock(g, i, &f->locks[0]);
		struct sbuf b = { 0 };
		if (!w->owner_tid)
			sb_printf(&b, "%s was held by a thread that exited without unlocking it (the lock "
				  "records that its owner died, no longer which thread it was); %ld %s for it",
				  describe_wait_object(s, w, &s->arena), count,
				  plural(count, "thread waits", "threads wait"));
		else
			sb_printf(&b, "%s is %s by thread %d, which is not a thread of this process (%s); "
				  "%ld %s for it", describe_wait_object(s, w, &s->arena),
				  w->kind == WAIT_RWLOCK ? "write-locked" : "held", (int)w->owner_tid,
				  gone_reason(s, w->address), count, plural(count, "thread waits", "threads wait"));
		if (f->ntids > count)
			sb_printf(&b, " and %ld more behind them", (long)f->ntids - count);
		sb_printf(&b, ".");
		f->summary = sb_finish(&b, &s->arena);
	}
	free(ends);
}

struct chain {
	long root;
	long behind;
};

static int cmp_chain(const void *a, const void *b)
{
	const struct chain *x = a, *y = b;
	if (x->behind != y->behind)
		return x->behind > y->behind ? -1 : 1;
	return (x->root > y->root) - (x->root < y->root);
}

static void chains(struct graph *g, struct finding_list *out)
{
	struct snapshot *s = g->s;
	struct chain *v = xcalloc(g->n ? (size_t)g->n : 1, sizeof(*v));
	long nv = 0;
	for (long r = 0; r < g->n; r++) {
		if (g->next[r] != NEXT_NONE)
			continue;
		long behind = g->bucket_start[r + 1] - g->bucket_start[r] - 1;
		if (behind <= 0)
			continue;
		/* Threads joining a worker that waits for work are how programs end, not
		 * hangs: a chain needs a lock somewhere in it. */
		bool any_lock = false;
		for (long k = g->bucket_start[r]; k < g->bucket_start[r + 1] && !any_lock; k++)
			any_lock = g->bucket[k] != r && lock_kind(wait_of(g, g->bucket[k])->kind);
		if (any_lock)
			v[nv++] = (struct chain){ r, behind };
	}
	qsort(v, (size_t)nv, sizeof(*v), cmp_chain);
	long *direct = xcalloc(g->n ? (size_t)g->n : 1, sizeof(long));
	for (long c = 0; c < nv; c++) {
		long r = v[c].root;
		struct task *root = &s->tasks[r];
		struct finding *f = findings_push(out, FINDING_BLOCKING_CHAIN);
		f->root_tid = root->tid;
		f->tids = collect_behind(g, &r, 1, r, &f->ntids);
		f->count = f->ntids;
		/* The locks the root holds that someone waits on directly, one entry each;
		 * threads joining the root are behind it too but hold it by no lock. */
		long nd = 0, ndirect_threads = 0;
		for (long k = g->bucket_start[r]; k < g->bucket_start[r + 1]; k++) {
			long x = g->bucket[k];
			if (g->next[x] != r || !lock_kind(wait_of(g, x)->kind))
				continue;
			ndirect_threads++;
			bool seen = false;
			for (long d = 0; d < nd && !seen; d++)
				seen = wait_of(g, direct[d])->kind == wait_of(g, x)->kind &&
				       wait_of(g, direct[d])->address == wait_of(g, x)->address;
			if (!seen)
				direct[nd++] = x;
		}
		f->locks = ARENA_NEW(&s->arena, struct finding_lock, nd ? nd : 1);
		f->nlocks = (int)nd;
		struct sbuf what = { 0 };
		for (long d = 0; d < nd; d++) {
			fill_lock(g, direct[d], &f->locks[d]);
			sb_printf(&what, "%s%s", d == 0 ? "" : d == nd - 1 ? " and " : ", ",
				  describe_wait_object(s, wait_of(g, direct[d]), &s->arena));
		}
		const char *objs = nd ? sb_finish(&what, &s->arena) : "a lock";
		free(what.p);
		const char *site = describe_site(root, &s->arena);
		struct sbuf b = { 0 };
		long others = f->ntids - ndirect_threads;
		if (ndirect_threads)
			sb_printf(&b, "%ld %s for %s held by %s", ndirect_threads,
				  plural(ndirect_threads, "thread waits", "threads wait"), objs,
				  thread_name(g, r));
		else
			sb_printf(&b, "%d %s behind %s", f->ntids,
				  plural(f->ntids, "thread is blocked", "threads are blocked"), thread_name(g, r));
		long joiners = 0;
		for (long k = g->bucket_start[r]; k < g->bucket_start[r + 1]; k++)
			joiners += g->next[g->bucket[k]] == r && wait_of(g, g->bucket[k])->kind == WAIT_JOIN;
		if (ndirect_threads && joiners && others > joiners)
			sb_printf(&b, " (plus %ld joining it and %ld more blocked behind them)", joiners,
				  others - joiners);
		else if (ndirect_threads && joiners)
			sb_printf(&b, " (plus %ld joining it)", joiners);
		else if (ndirect_threads && others)
			sb_printf(&b, " (plus %ld more blocked behind them)", others);
		sb_printf(&b, ", which is %s%s%s.", describe_doing(s, root, &s->arena),
			  site ? " in " : "", site ? site : "");
		f->summary = sb_finish(&b, &s->arena);
	}
	free(direct);
	free(v);
}

void waitgraph_findings(struct snapshot *s, struct finding_list *out)
{
	struct graph g;
	build(&g, s);
	for (long i = 0; i < g.n; i++) {
		long o = g.next[i];
		if (o >= 0 && s->tasks[o].wait)
			s->tasks[o].wait->idle = false;
	}
	deadlocks(&g, out);
	self_deadlocks(&g, out);
	abandoned(&g, out);
	chains(&g, out);
	graph_free(&g);
}
