#include "attach/xproc.h"
#include "attach/filelocks.h"
#include "attach/procfs.h"
#include "attach/procscan.h"
#include "attach/sampler.h"
#include "attach/sockpeer.h"
#include "model/syscalls.h"
#include "util/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

struct follow {
	struct snapshot *s;
	struct procscan *ps;
	struct xprocess *procs;
	size_t nprocs, capp;
	struct xedge *edges;
	size_t nedges, cape;
};

static bool is_read(long nr)
{
	return nr == SYS_read || nr == SYS_pread64 || nr == SYS_readv || nr == SYS_preadv || nr == SYS_recvfrom ||
	       nr == SYS_recvmsg;
}

static bool is_write(long nr)
{
	return nr == SYS_write || nr == SYS_pwrite64 || nr == SYS_writev || nr == SYS_pwritev || nr == SYS_sendto ||
	       nr == SYS_sendmsg;
}

static struct xprocess *find_proc(struct follow *f, pid_t pid)
{
	for (size_t i = 0; i < f->nprocs; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

static void edge_inferred(struct follow *f, pid_t pid, pid_t tid, pid_t to_pid, pid_t to_tid, const char *object,
			  const char *relation, const char *evidence);

static void edge(struct follow *f, pid_t pid, pid_t tid, pid_t to_pid, pid_t to_tid, const char *object,
		 const char *relation)
{
	edge_inferred(f, pid, tid, to_pid, to_tid, object, relation, NULL);
}

static void edge_inferred(struct follow *f, pid_t pid, pid_t tid, pid_t to_pid, pid_t to_tid, const char *object,
			  const char *relation, const char *evidence)
{
	for (size_t i = 0; i < f->nedges; i++) {
		const struct xedge *e = &f->edges[i];
		if (e->tid == tid && e->to_pid == to_pid && e->to_tid == to_tid)
			return;
	}
	VEC_RESERVE(f->edges, f->cape, f->nedges + 1);
	f->edges[f->nedges++] = (struct xedge){ .pid = pid, .tid = tid, .to_pid = to_pid, .to_tid = to_tid,
						.object = arena_strdup(&f->s->arena, object),
						.relation = arena_strdup(&f->s->arena, relation),
						.evidence = evidence ? arena_strdup(&f->s->arena, evidence) : NULL };
}

static bool fd_link(pid_t pid, long fd, char *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)pid, fd);
	ssize_t k = readlink(path, out, cap - 1);
	if (k <= 0)
		return false;
	out[k] = 0;
	return true;
}

/* Edges of one blocked thread that reads or writes fd: the processes at the other end. */
static void fd_edges(struct follow *f, pid_t pid, pid_t tid, long fd, bool reading, char *doing, size_t cap)
{
	char link[256], kind[16];
	uint64_t ino;
	if (!fd_link(pid, fd, link, sizeof(link)))
		return;
	size_t dl = strlen(doing);
	snprintf(doing + dl, cap - dl, " on fd %ld (%s)", fd, link);
	if (!procscan_parse_anon(link, kind, sizeof(kind), &ino))
		return;
	const struct fd_owner *o;
	if (strcmp(kind, "pipe") == 0) {
		size_t n = procscan_inode_owners(f->ps, "pipe", ino, &o);
		for (size_t i = 0; i < n; i++) {
			if (o[i].pid == pid)
				continue;
			/* a reader waits for the write end's holders, a writer for the read end's */
			bool other_end = reading ? o[i].accmode != O_RDONLY : o[i].accmode != O_WRONLY;
			if (other_end)
				edge(f, pid, tid, o[i].pid, 0, link, reading ? "holds the write end of" : "holds the read end of");
		}
		return;
	}
	if (strcmp(kind, "socket") != 0)
		return;
	struct sockpeer sp;
	sockpeer_find(pid, ino, &sp);
	char obj[256];
	if (strcmp(sp.proto ? sp.proto : "", "unix") == 0)
		snprintf(obj, sizeof(obj), "unix socket %s", link);
	else
		snprintf(obj, sizeof(obj), "%s %s -> %s", sp.proto ? sp.proto : "socket", sp.local, sp.remote);
	dl = strlen(doing);
	if (sp.status == SOCKPEER_UNMATCHED)
		snprintf(doing + dl, cap - dl, ", %s; its peer is not in this network namespace", obj);
	else if (sp.status == SOCKPEER_UNKNOWN)
		snprintf(doing + dl, cap - dl, ", %s; peer unknown: %s", obj, sp.why);
	else
		snprintf(doing + dl, cap - dl, ", %s", obj);
	if (sp.status != SOCKPEER_FOUND)
		return;
	size_t n = procscan_inode_owners(f->ps, "socket", sp.peer_inode, &o);
	for (size_t i = 0; i < n; i++)
		if (o[i].pid != pid)
			edge(f, pid, tid, o[i].pid, 0, obj, "holds the other end of");
}

static void child_edges(struct follow *f, pid_t pid, pid_t tid, long who)
{
	if (who > 0) {
		edge(f, pid, tid, (pid_t)who, 0, "(waitpid)", "is its child");
		return;
	}
	pid_t *kids;
	size_t n = procscan_children(pid, &kids);
	for (size_t i = 0; i < n; i++)
		edge(f, pid, tid, kids[i], 0, "(waitpid for any child)", "is its child");
	free(kids);
}

static void lock_edges(struct follow *f, pid_t pid, pid_t tid, long fd, char *doing, size_t cap)
{
	char path[64], link[256];
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)pid, fd);
	struct stat st;
	if (stat(path, &st) != 0 || !fd_link(pid, fd, link, sizeof(link)))
		return;
	size_t dl = strlen(doing);
	snprintf(doing + dl, cap - dl, " on %s", link);
	pid_t *holders;
	size_t n = filelocks_holders(major(st.st_dev), minor(st.st_dev), st.st_ino, pid, &holders);
	for (size_t i = 0; i < n; i++)
		edge(f, pid, tid, holders[i], 0, link, "holds the lock on");
	free(holders);
}

/* A peer thread in futex(FUTEX_WAIT) on a word laid out as a process-shared glibc mutex
 * (kind with the PTHREAD_MUTEX_PSHARED bit, an owner TID beside it) that a thread of another
 * process owns. The peer is not stopped and its stack not read, so the type comes from the
 * word's shape, not from the waiting frame: the edge is inferred, and says why. */
static void futex_edges(struct follow *f, pid_t pid, pid_t tid, const uint64_t a[6], char *doing, size_t cap)
{
	uint32_t m[5];	/* __lock, __count, __owner, __nusers, __kind */
	struct iovec local = { m, sizeof(m) }, remote = { (void *)(uintptr_t)a[0], sizeof(m) };
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(m))
		return;
	pid_t owner = (pid_t)(m[2] & 0x3fffffff);
	bool pshared = (m[4] & 128) != 0;	/* PTHREAD_MUTEX_PSHARED_BIT */
	if (!pshared || owner <= 0 || m[0] == 0)
		return;
	pid_t opid = procscan_tid_owner(owner);
	size_t dl = strlen(doing);
	snprintf(doing + dl, cap - dl, " on 0x%llx", (unsigned long long)a[0]);
	if (opid <= 0 || opid == pid)
		return;
	char obj[64], ev[160];
	snprintf(obj, sizeof(obj), "the process-shared mutex at 0x%llx", (unsigned long long)a[0]);
	snprintf(ev, sizeof(ev), "the futex word is laid out as a process-shared glibc mutex (kind 0x%x) "
		 "whose owner field is thread %d", m[4], (int)owner);
	edge_inferred(f, pid, tid, opid, owner, obj, "holds", ev);
}

/* What a blocked thread waits for, from its system call and arguments. */
static void thread_edges(struct follow *f, pid_t pid, pid_t tid, long nr, const uint64_t a[6], char *doing,
			 size_t cap)
{
	const char *name = syscall_name(nr);
	if (name)
		snprintf(doing, cap, "%s()", name);
	else
		snprintf(doing, cap, "syscall %ld", nr);
	if (is_read(nr) || is_write(nr))
		fd_edges(f, pid, tid, (long)(int)a[0], is_read(nr), doing, cap);
	else if (nr == SYS_wait4)
		child_edges(f, pid, tid, (long)(int)a[0]);
	else if (nr == SYS_waitid)
		child_edges(f, pid, tid, a[0] == 1 /* P_PID */ ? (long)(int)a[1] : -1);
	else if (nr == SYS_flock)
		lock_edges(f, pid, tid, (long)(int)a[0], doing, cap);
	else if (nr == SYS_fcntl && (a[1] == F_SETLKW || a[1] == F_OFD_SETLKW))
		lock_edges(f, pid, tid, (long)(int)a[0], doing, cap);
	else if (nr == SYS_futex && pid != f->s->pid && (a[1] & 127) == 0 /* FUTEX_WAIT, shared */)
		futex_edges(f, pid, tid, a, doing, cap);
}

/* A process other than the target, read from /proc. */
static void read_peer(struct follow *f, struct xprocess *x)
{
	char comm[64];
	x->comm = arena_strdup(&f->s->arena, procscan_comm(x->pid, comm, sizeof(comm)));
	struct sample now;
	if (sample_take(x->pid, &now) != 0) {
		x->gone = errno == ENOENT || errno == ESRCH;
		x->unreadable = !x->gone;
		return;
	}
	x->threads = ARENA_NEW(&f->s->arena, struct xthread, now.n ? now.n : 1);
	for (size_t i = 0; i < now.n; i++) {
		const struct thread_sample *ts = &now.t[i];
		struct xthread *t = &x->threads[x->nthreads++];
		t->tid = ts->tid;
		t->kstate = ts->state;
		t->syscall_nr = -1;
		if (ts->no_access) {
			x->unreadable = true;	/* needs ptrace access, as chang's own attach does */
			t->doing = "unknown (no access)";
			continue;
		}
		char doing[512] = "";
		/* the sampler names the call a restart_syscall continues, when the code tells */
		if ((ts->state == 'S' || ts->state == 'D') && ts->syscall_nr >= 0) {
			t->blocked = true;
			t->syscall_nr = ts->syscall_nr;
			t->arg0 = ts->arg0;
			thread_edges(f, x->pid, t->tid, ts->syscall_nr, ts->args, doing, sizeof(doing));
		} else {
			snprintf(doing, sizeof(doing), "%s", ts->state == 'R' ? "running" : ts->state == 'Z' ? "exited"
					 : ts->state == 'T' || ts->state == 't' ? "stopped" : "not in a system call");
		}
		t->doing = arena_strdup(&f->s->arena, doing);
	}
	sample_free(&now);
}

static struct xprocess *add_proc(struct follow *f, pid_t pid)
{
	VEC_RESERVE(f->procs, f->capp, f->nprocs + 1);
	struct xprocess *x = &f->procs[f->nprocs++];
	memset(x, 0, sizeof(*x));
	x->pid = pid;
	return x;
}

static pid_t target_ppid(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	const char *p = strrchr(buf, ')');
	int ppid = 0;
	char st;
	return p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 ? (pid_t)ppid : 0;
}

/* The target: its threads as captured, their decoded waits, and its mutex owners that are
 * threads of other processes (process-shared mutexes, or locks inherited across fork). */
static void read_target(struct follow *f)
{
	struct snapshot *s = f->s;
	struct xprocess *x = add_proc(f, s->pid);
	x->target = true;
	char comm[64];
	x->comm = arena_strdup(&s->arena, procscan_comm(s->pid, comm, sizeof(comm)));
	x->threads = ARENA_NEW(&s->arena, struct xthread, s->ntasks ? s->ntasks : 1);
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *k = &s->tasks[i];
		struct xthread *t = &x->threads[x->nthreads++];
		t->tid = k->tid;
		t->kstate = k->kstate;
		t->blocked = k->wait != NULL;
		t->syscall_nr = k->syscall_nr;
		t->arg0 = k->syscall_args[0];
		char doing[512] = "";
		if (k->syscall_nr >= 0 && k->wait)
			thread_edges(f, s->pid, k->tid, k->syscall_nr, k->syscall_args, doing, sizeof(doing));
		const struct wait *w = k->wait;
		if (w && w->owner_known && w->owner_tid > 0 && !snapshot_find_task(s, w->owner_tid)) {
			pid_t owner = procscan_tid_owner(w->owner_tid);
			if (owner > 0 && owner != s->pid) {
				/* the owner field names a thread of the parent: the lock was held there
				 * when this process forked, and no thread here will ever release it */
				bool parent = owner == target_ppid(s->pid);
				char obj[256];
				const char *note = parent ? " (this is the parent: the lock was held there when this "
							    "process forked, and no thread here will release it)" : "";
				if (w->symbol)
					snprintf(obj, sizeof(obj), "the %s %s%s", wait_kind_name(w->kind), w->symbol, note);
				else
					snprintf(obj, sizeof(obj), "the %s at 0x%llx%s", wait_kind_name(w->kind),
						 (unsigned long long)w->address, note);
				edge(f, s->pid, k->tid, owner, w->owner_tid, obj, "holds");
			}
		}
		t->doing = arena_strdup(&s->arena, doing[0] ? doing : k->state ? k->state : "?");
	}
}

/* The second look: a thread counts as blocked only if, a moment later, it still sleeps in
 * the same call on the same first argument, having neither run nor been woken. The peers
 * were read one by one while running, so a single reading could catch a thread between two
 * calls. */
static void confirm(struct follow *f)
{
	enum { CONFIRM_MS = 50 };
	struct sample *before = xcalloc(f->nprocs, sizeof(*before)), after;
	for (size_t i = 0; i < f->nprocs; i++)
		if (sample_take(f->procs[i].pid, &before[i]) != 0)
			before[i].n = 0;
	struct timespec pause = { 0, CONFIRM_MS * 1000 * 1000 };
	nanosleep(&pause, NULL);
	for (size_t i = 0; i < f->nprocs; i++) {
		struct xprocess *x = &f->procs[i];
		if (sample_take(x->pid, &after) != 0)
			after.n = 0;
		for (int k = 0; k < x->nthreads; k++) {
			struct xthread *t = &x->threads[k];
			if (!t->blocked)
				continue;
			const struct thread_sample *a = sample_find(&before[i], t->tid), *b = sample_find(&after, t->tid);
			/* the call read first (frozen, for the target) is the one it still sleeps in;
			 * a call the sampler could not name from a restart keeps its arguments */
			t->blocked = a && b && sample_slept_through(a, b) &&
				     (b->syscall_nr == t->syscall_nr || b->syscall_nr == SYS_restart_syscall) &&
				     b->arg0 == t->arg0;
		}
		sample_free(&after);
		sample_free(&before[i]);
	}
	free(before);
	f->s->xproc_confirm_ms = CONFIRM_MS;
}

void xproc_follow(struct snapshot *s)
{
	if (s->source != SOURCE_ATTACH)
		return;
	struct follow f = { .s = s, .ps = procscan_new() };
	read_target(&f);
	/* Breadth first over the processes the edges reach, up to a bound. */
	for (size_t done = 0; done < f.nedges; done++) {
		pid_t to = f.edges[done].to_pid;
		if (find_proc(&f, to))
			continue;
		if (f.nprocs >= XPROC_MAX_PROCESSES) {
			snapshot_warn(s, "cross-process waits: more than %d processes involved; the rest not followed",
				      XPROC_MAX_PROCESSES);
			break;
		}
		read_peer(&f, add_proc(&f, to));
	}
	if (f.nedges)
		confirm(&f);
	const pid_t *unread;
	size_t nunread = procscan_unreadable(f.ps, &unread);
	if (nunread && f.nedges)
		snapshot_warn(s, "cross-process waits: %zu processes could not be read (another user's; run as root "
			      "or with CAP_SYS_PTRACE): a pipe or socket end they hold is not seen", nunread);
	for (size_t i = 0; i < f.nprocs; i++)
		if (f.procs[i].unreadable)
			snapshot_warn(s, "process %d \"%s\": its threads could not be read (no permission)",
				      (int)f.procs[i].pid, f.procs[i].comm);
	s->xprocs = ARENA_NEW(&s->arena, struct xprocess, f.nprocs ? f.nprocs : 1);
	memcpy(s->xprocs, f.procs, f.nprocs * sizeof(*f.procs));
	s->nxprocs = f.nprocs;
	s->xedges = ARENA_NEW(&s->arena, struct xedge, f.nedges ? f.nedges : 1);
	if (f.nedges)
		memcpy(s->xedges, f.edges, f.nedges * sizeof(*f.edges));
	s->nxedges = f.nedges;
	s->xproc_followed = true;
	free(f.procs);
	free(f.edges);
	procscan_free(f.ps);
}
