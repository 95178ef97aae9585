/* Many threads on one object: a condvar nobody signals, a semaphore nobody posts, a pipe
 * nobody drains. Locks with a known holder are left to the wait-for graph, which says more. */
#include "analyzers/describe.h"
#include "analyzers/findings.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

/* Waiting for input is what idle servers and pools do all day. */
static bool input_wait(enum wait_kind k)
{
	return k == WAIT_READ || k == WAIT_RECV || k == WAIT_ACCEPT || k == WAIT_EPOLL ||
	       k == WAIT_POLL;
}

static bool fd_wait(enum wait_kind k)
{
	return input_wait(k) || k == WAIT_WRITE || k == WAIT_SEND || k == WAIT_CONNECT;
}

static bool text_names_object(const char *t)
{
	return strncmp(t, "pipe:[", 6) == 0 || strncmp(t, "socket:[", 8) == 0 || t[0] == '/';
}

/* Waiting for events on its own is what an event loop or a listener does all day: a group
 * of idle ones is housekeeping, not a finding. */
static bool housekeeping(const struct wait *w)
{
	return w->idle && (w->kind == WAIT_EPOLL || w->kind == WAIT_POLL || w->kind == WAIT_SELECT ||
			   w->kind == WAIT_ACCEPT || w->kind == WAIT_SLEEP);
}

/* Whether a wait can join a group, i.e. names one shared object. */
static bool groupable(const struct wait *w)
{
	if (!w)
		return false;
	switch (w->kind) {
	case WAIT_CONDVAR: case WAIT_SEMAPHORE: case WAIT_BARRIER: case WAIT_FUTEX:
	case WAIT_CHANNEL:
		return w->address != 0;
	case WAIT_MUTEX: case WAIT_RWLOCK:
		return w->address != 0 && !(w->owner_known && w->owner_tid);
	default:
		return fd_wait(w->kind) && w->fd >= 0;
	}
}

static int cmp_key(const struct wait *a, const struct wait *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (fd_wait(a->kind)) {
		/* The same pipe through different descriptors is one object: a pipe's or a
		 * socket's link text carries its inode, a path names its file. Anon inodes
		 * (epoll, eventfd, timerfd) share one text: the open file itself tells them
		 * apart, by the lowest fd open on it. */
		if (a->fd_target && b->fd_target) {
			int c = strcmp(a->fd_target, b->fd_target);
			if (c || text_names_object(a->fd_target))
				return c;
		} else if (!a->fd_target != !b->fd_target) {
			return a->fd_target ? -1 : 1;
		}
		int fa = a->fd_file >= 0 ? a->fd_file : a->fd, fb = b->fd_file >= 0 ? b->fd_file : b->fd;
		return (fa > fb) - (fa < fb);
	}
	return (a->address > b->address) - (a->address < b->address);
}

static int cmp_task_idx(const void *x, const void *y, void *snap)
{
	const struct snapshot *s = snap;
	long a = *(const long *)x, b = *(const long *)y;
	int c = cmp_key(s->tasks[a].wait, s->tasks[b].wait);
	return c ? c : (a > b) - (a < b);
}

struct mgroup {
	long first, count;
	bool maybe_normal;
};

static int cmp_group(const void *x, const void *y)
{
	const struct mgroup *a = x, *b = y;
	if (a->maybe_normal != b->maybe_normal)
		return a->maybe_normal ? 1 : -1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return (a->first > b->first) - (a->first < b->first);
}

static int cmp_str(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	return strcmp(a ? a : "", b ? b : "");
}

/* The wait site most of the group shares ("queue_put (q.c:25)"). */
static const char *common_site(struct snapshot *s, const long *idx, long n, long *nsites)
{
	const char **sites = xcalloc((size_t)n, sizeof(*sites));
	for (long k = 0; k < n; k++)
		sites[k] = describe_site(&s->tasks[idx[k]], &s->arena);
	qsort(sites, (size_t)n, sizeof(*sites), cmp_str);
	const char *best = NULL;
	long best_n = 0, distinct = 0;
	for (long k = 0; k < n;) {
		long j = k + 1;
		while (j < n && cmp_str(&sites[k], &sites[j]) == 0)
			j++;
		distinct++;
		if (j - k > best_n) {
			best_n = j - k;
			best = sites[k];
		}
		k = j;
	}
	free(sites);
	*nsites = distinct;
	return best;
}

/* Whether some thread of the process reads (or receives from) the object these write to. */
static bool someone_reads(const struct snapshot *s, const struct wait *w)
{
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct wait *o = s->tasks[i].wait;
		if (o && (o->kind == WAIT_READ || o->kind == WAIT_RECV || o->kind == WAIT_POLL ||
			  o->kind == WAIT_EPOLL || o->kind == WAIT_SELECT) &&
		    (!o->fd_target || strcmp(o->fd_target, w->fd_target) == 0))
			return true;
	}
	return false;
}

void mass_findings(struct snapshot *s, int threshold, struct finding_list *out)
{
	long n = (long)s->ntasks;
	long *idx = xcalloc(n ? (size_t)n : 1, sizeof(long));
	long m = 0;
	for (long i = 0; i < n; i++)
		if (groupable(s->tasks[i].wait))
			idx[m++] = i;
	qsort_r(idx, (size_t)m, sizeof(long), cmp_task_idx, s);

	struct mgroup *gv = xcalloc(m ? (size_t)m : 1, sizeof(*gv));
	long ng = 0;
	for (long k = 0; k < m;) {
		long j = k + 1;
		while (j < m && cmp_key(s->tasks[idx[k]].wait, s->tasks[idx[j]].wait) == 0)
			j++;
		long count = j - k;
		bool big = threshold > 0 ? count >= threshold : count >= 10 && count * 10 >= n;
		bool chores = true;
		for (long q = k; q < j && chores; q++)
			chores = housekeeping(s->tasks[idx[q]].wait);
		if (big && !chores) {
			bool all_idle = true;
			for (long q = k; q < j && all_idle; q++)
				all_idle = s->tasks[idx[q]].wait->idle;
			gv[ng++] = (struct mgroup){ k, count,
						  all_idle || input_wait(s->tasks[idx[k]].wait->kind) };
		}
		k = j;
	}
	qsort(gv, (size_t)ng, sizeof(*gv), cmp_group);

	for (long g = 0; g < ng; g++) {
		const long *members = &idx[gv[g].first];
		long count = gv[g].count;
		const struct wait *w = s->tasks[members[0]].wait;
		struct finding *f = findings_push(out, FINDING_MASS_BLOCKING);
		f->count = (int)count;
		f->maybe_normal = gv[g].maybe_normal;
		f->object = *w;
		f->object.owner_tid = 0;
		f->object.owner_known = false;
		f->object.idle = f->maybe_normal;
		/* Members are sorted by key then task index, and tasks by tid. */
		f->tids = ARENA_NEW(&s->arena, pid_t, count);
		f->ntids = (int)count;
		for (long k = 0; k < count; k++)
			f->tids[k] = s->tasks[members[k]].tid;

		long nsites;
		const char *site = common_site(s, members, count, &nsites);
		const char *obj = describe_wait_object(s, w, &s->arena);
		int pct = n ? (int)(count * 100 / n) : 0;
		const char *where = !site ? "" : nsites == 1 ? arena_printf(&s->arena, " in %s", site)
				    : arena_printf(&s->arena, " (most in %s)", site);
		const char *what;
		if (fd_wait(w->kind))
			what = arena_printf(&s->arena, "%ld threads (%d%% of the process) are blocked in "
					    "%s() on %s%s", count, pct, w->syscall ? w->syscall : "?",
					    obj, where);
		else
			what = arena_printf(&s->arena, "%ld threads (%d%% of the process) wait on %s%s",
					    count, pct, obj, where);
		const char *why = "";
		if (f->maybe_normal && input_wait(w->kind))
			why = "; they wait for input, which may be normal for a server or a pool";
		else if (f->maybe_normal)
			why = "; this looks like an idle worker pool waiting for work, which may be normal";
		else if ((w->kind == WAIT_WRITE || w->kind == WAIT_SEND) && w->fd_target &&
			 !someone_reads(s, w))
			why = "; no thread of this process is reading the other end";
		else if (w->kind == WAIT_MUTEX || w->kind == WAIT_RWLOCK)
			why = w->detail ? arena_printf(&s->arena, " (%s)", w->detail) : "";
		f->summary = arena_printf(&s->arena, "%s%s.", what, why);
	}
	free(gv);
	free(idx);
}
