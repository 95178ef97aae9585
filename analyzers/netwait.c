/* Network hangs: several threads blocked on connections to one peer (the same remote
 * address and port, each on its own socket) that does not answer them: an upstream that
 * hangs, a database that stopped replying. Each socket is its own object, so the mass
 * analyzer, which groups by object, never sees them together. Servers waiting for their
 * clients are not caught: every client connection has its own remote port. */
#include "analyzers/findings.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_MIN 4		/* fewer threads on one peer is ordinary request traffic */

struct netwait {
	long task;
	char peer[96];		/* "127.0.0.1:5432", or "[::1]:80" */
	const char *proto;
};

static bool on_peer(const struct wait *w)
{
	return w && (w->kind == WAIT_READ || w->kind == WAIT_RECV || w->kind == WAIT_WRITE || w->kind == WAIT_SEND) &&
	       w->fd_target && strstr(w->fd_target, " -> ");
}

/* "socket:[1] tcp 127.0.0.1:4 -> 127.0.0.1:5 ESTABLISHED": the remote end and the protocol. */
static bool peer_of(const char *t, struct netwait *n)
{
	const char *arrow = strstr(t, " -> ");
	const char *sp = strchr(t, ' ');
	if (!arrow || !sp)
		return false;
	n->proto = strncmp(sp + 1, "tcp", 3) == 0 ? "tcp" : strncmp(sp + 1, "udp", 3) == 0 ? "udp" : "socket";
	const char *r = arrow + 4;
	size_t len = strcspn(r, " ");
	if (len == 0 || len >= sizeof(n->peer))
		return false;
	memcpy(n->peer, r, len);
	n->peer[len] = 0;
	return true;
}

static int cmp_peer(const void *a, const void *b)
{
	const struct netwait *x = a, *y = b;
	int c = strcmp(x->peer, y->peer);
	return c ? c : (x->task > y->task) - (x->task < y->task);
}

void netwait_findings(struct snapshot *s, struct finding_list *out)
{
	struct netwait *v = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *t = &s->tasks[i];
		if (t->kind != TASK_THREAD || !on_peer(t->wait) || t->wait->idle)
			continue;
		if (peer_of(t->wait->fd_target, &v[n])) {
			v[n].task = (long)i;
			n++;
		}
	}
	qsort(v, n, sizeof(*v), cmp_peer);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(v[j].peer, v[i].peer) == 0)
			j++;
		if (j - i >= NET_MIN) {
			struct finding *f = findings_push(out, FINDING_MASS_BLOCKING);
			const struct task *t0 = &s->tasks[v[i].task];
			f->object = *t0->wait;
			f->count = (int)(j - i);
			f->tids = ARENA_NEW(&s->arena, pid_t, j - i);
			int reading = 0;
			for (size_t k = i; k < j; k++) {
				const struct task *t = &s->tasks[v[k].task];
				f->tids[f->ntids++] = t->tid;
				reading += t->wait->kind == WAIT_READ || t->wait->kind == WAIT_RECV;
			}
			/* the process at the other end, when it is on this machine (attach/xproc.c) */
			const char *who = "";
			for (size_t k = 0; k < s->nxedges && !who[0]; k++)
				if (s->xedges[k].tid == t0->tid && s->xedges[k].pid == s->pid)
					for (size_t q = 0; q < s->nxprocs; q++)
						if (s->xprocs[q].pid == s->xedges[k].to_pid)
							who = arena_printf(&s->arena, ", held by process %d \"%s\" on this machine",
									   (int)s->xprocs[q].pid, s->xprocs[q].comm);
			f->summary = arena_printf(&s->arena, "%d threads are blocked on %s connections to the same peer %s%s "
						  "(%d waiting for it to answer, %d to take data), each on its own socket: "
						  "the peer is not responding.",
						  f->count, v[i].proto, v[i].peer, who, reading, f->count - reading);
		}
		i = j;
	}
	free(v);
}
