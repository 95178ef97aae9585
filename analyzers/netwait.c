/* Network hangs: several threads blocked on connections to one peer (the same remote
 * address and port, each on its own socket) that does not answer them: an upstream that
 * hangs, a database that stopped replying. Each socket is its own object, so the mass
 * analyzer, which groups by object, never sees them together. Servers waiting for their
 * clients are not caught: every client connection has its own remote port. Goroutines
 * count as threads do, once go/ found the fd each waits on in the netpoller. */
#include "analyzers/findings.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_MIN 4		/* fewer waiters on one peer is ordinary request traffic */

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

static bool in_stack(const struct task *t, const char *fn)
{
	for (int i = 0; i < t->npcs; i++)
		for (int k = 0; t->syms && t->syms[i] && k < t->syms[i]->nframes; k++)
			if (t->syms[i]->frames[k].function && strcmp(t->syms[i]->frames[k].function, fn) == 0)
				return true;
	return false;
}

#define HTTP_READLOOP "net/http.(*persistConn).readLoop"
#define HTTP_ROUNDTRIP "net/http.(*persistConn).roundTrip"

/* ", the first for 3 minutes" from Go's wait minutes, which the runtime records once a
 * garbage collection saw the goroutine blocked; "" for threads and when none is known. */
static const char *how_long(struct snapshot *s, const struct task *v, const struct netwait *m, size_t n)
{
	int64_t most = -1;
	for (size_t k = 0; k < n; k++) {
		const struct goroutine_info *gi = v[m[k].task].go;
		if (gi && gi->wait_minutes > most)
			most = gi->wait_minutes;
	}
	if (most < 0)
		return "";
	if (most == 0)
		return ", each for less than a minute (Go's wait times)";
	return arena_printf(&s->arena, ", the longest for %lld minute%s (Go's wait times)", (long long)most,
			    most == 1 ? "" : "s");
}

static void peers(struct snapshot *s, struct task *v, size_t ntasks, bool go, struct finding_list *out)
{
	struct netwait *m = xcalloc(ntasks ? ntasks : 1, sizeof(*m));
	size_t n = 0;
	for (size_t i = 0; i < ntasks; i++) {
		const struct task *t = &v[i];
		if ((!go && t->kind != TASK_THREAD) || !on_peer(t->wait) || t->wait->idle)
			continue;
		if (peer_of(t->wait->fd_target, &m[n])) {
			m[n].task = (long)i;
			n++;
		}
	}
	qsort(m, n, sizeof(*m), cmp_peer);
	const char *who_kind = go ? "goroutines" : "threads";
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp(m[j].peer, m[i].peer) == 0)
			j++;
		if (j - i >= NET_MIN) {
			struct finding *f = findings_push(out, FINDING_MASS_BLOCKING);
			const struct task *t0 = &v[m[i].task];
			f->object = *t0->wait;
			f->count = (int)(j - i);
			if (go) {
				f->goids = ARENA_NEW(&s->arena, uint64_t, j - i);
				f->ngoids = f->count;
			} else {
				f->tids = ARENA_NEW(&s->arena, pid_t, j - i);
			}
			int reading = 0, readloops = 0;
			for (size_t k = i; k < j; k++) {
				const struct task *t = &v[m[k].task];
				if (go)
					f->goids[k - i] = t->goid;
				else
					f->tids[f->ntids++] = t->tid;
				reading += t->wait->kind == WAIT_READ || t->wait->kind == WAIT_RECV;
				readloops += go && in_stack(t, HTTP_READLOOP);
			}
			/* the process at the other end, when it is on this machine (attach/xproc.c) */
			const char *who = "";
			for (size_t k = 0; !go && k < s->nxedges && !who[0]; k++)
				if (s->xedges[k].tid == t0->tid && s->xedges[k].pid == s->pid)
					for (size_t q = 0; q < s->nxprocs; q++)
						if (s->xprocs[q].pid == s->xedges[k].to_pid)
							who = arena_printf(&s->arena, ", held by process %d \"%s\" on this machine",
									   (int)s->xprocs[q].pid, s->xprocs[q].comm);
			/* Go's HTTP client reads every pooled connection all the time, idle or not:
			 * its readLoops say a peer is silent only while requests wait for it */
			const char *verdict = "the peer is not responding";
			if (readloops == f->count) {
				int waiting = 0;
				for (size_t k = 0; k < ntasks; k++)
					waiting += in_stack(&v[k], HTTP_ROUNDTRIP);
				if (waiting)
					verdict = arena_printf(&s->arena, "the peer is not responding (%d goroutine%s wait in "
							       "net/http's persistConn.roundTrip for answers)",
							       waiting, waiting == 1 ? "" : "s");
				else {
					verdict = "no request waits in net/http's persistConn.roundTrip: these may be idle "
						  "pooled HTTP connections";
					f->maybe_normal = true;
				}
			}
			f->summary = arena_printf(&s->arena, "%d %s are blocked on %s connections to the same peer %s%s "
						  "(%d waiting for it to answer, %d to take data), each on its own socket%s: "
						  "%s.",
						  f->count, who_kind, m[i].proto, m[i].peer, who, reading, f->count - reading,
						  how_long(s, v, &m[i], j - i), verdict);
		}
		i = j;
	}
	free(m);
}

void netwait_findings(struct snapshot *s, struct finding_list *out)
{
	peers(s, s->tasks, s->ntasks, false, out);
	peers(s, s->goroutines, s->ngoroutines, true, out);
}
