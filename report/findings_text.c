#include "report/findings_text.h"
#include "analyzers/describe.h"
#include "report/frame_label.h"
#include <string.h>

#define RULE "==================================================="
#define TIDS_SHOWN 16
#define FRAMES_SHOWN 40

static const char *lock_words(const struct snapshot *s, const struct finding_lock *l, struct arena *a)
{
	struct wait w = { .kind = l->kind, .address = l->address, .symbol = l->symbol, .fd = -1 };
	const char *name = describe_wait_object(s, &w, a);
	if (l->kind == WAIT_JOIN || !l->address || !l->symbol)
		return name;
	return arena_printf(a, "%s (%#llx)", name, (unsigned long long)l->address);
}

/* Where a thread running a goroutine's C call switched stacks: its frames past it are the
 * goroutine's, printed from the goroutine (the native unwinder would read g0's garbage). */
static bool stack_switch(const struct task *t, const struct sym_frame *f)
{
	return t->cgo_goroutine && f && f->function && strncmp(f->function, "runtime.asmcgocall", 18) == 0;
}

static void print_stack(FILE *out, const struct snapshot *s, const struct task *t, const char *indent)
{
	int shown = 0;
	bool cut = false;
	struct arena a = { 0 };
	for (int i = 0; i < t->npcs && shown < FRAMES_SHOWN && !cut; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		const char *mark = t->scanned && t->scanned[i] ? " [scanned]" : "";
		if (!ps || ps->nframes == 0) {
			fprintf(out, "%sat %s%s\n", indent, frame_label(s, ps, t->pcs[i], NULL, false, &a), mark);
			shown++;
			continue;
		}
		for (int k = 0; k < ps->nframes && shown < FRAMES_SHOWN; k++, shown++) {
			const struct sym_frame *f = &ps->frames[k];
			fprintf(out, "%sat %s", indent, frame_label(s, ps, t->pcs[i], f, false, &a));
			const char *where = f->file || !frame_named(f) ? NULL : frame_where(s, ps, t->pcs[i], &a);
			if (stack_switch(t, f))
				where = NULL, cut = true;	/* assembler: no line of its own */
			else if (f->file) {
				const char *base = strrchr(f->file, '/');
				fprintf(out, " (%s:%d)", base ? base + 1 : f->file, f->line);
			}
			if (where)
				fprintf(out, " (%s)", where);
			fprintf(out, "%s%s\n", f->inlined ? " [inlined]" : "", mark);
			if (cut)
				break;
		}
	}
	arena_free(&a);
	if (t->npcs == 0)
		fprintf(out, "%s(no stack%s%s)\n", indent, t->unwind_error ? ": " : "",
			t->unwind_error ? t->unwind_error : "");
	else if (!cut && (shown >= FRAMES_SHOWN || t->truncated))
		fprintf(out, "%s...\n", indent);
	if (cut) {
		fprintf(out, "%s-- the C call of goroutine %llu, whose Go frames follow:\n", indent,
			(unsigned long long)t->cgo_goroutine->goid);
		print_stack(out, s, t->cgo_goroutine, indent);
	}
}

static void print_thread_stack(FILE *out, const struct snapshot *s, pid_t tid, struct arena *a)
{
	const struct task *t = snapshot_find_task(s, tid);
	fprintf(out, "%s", describe_thread(t, tid, a));
	if (t && t->state)
		fprintf(out, " [%s]", t->state);
	fprintf(out, ":\n");
	if (t)
		print_stack(out, s, t, "\t");
}

static void print_tids(FILE *out, const char *label, const pid_t *tids, int n)
{
	if (n <= 0)
		return;
	fprintf(out, "  %s:", label);
	for (int i = 0; i < n && i < TIDS_SHOWN; i++)
		fprintf(out, " %d", (int)tids[i]);
	if (n > TIDS_SHOWN)
		fprintf(out, " … (%d more)", n - TIDS_SHOWN);
	fputc('\n', out);
}

static const struct xprocess *xproc_of(const struct snapshot *s, pid_t pid)
{
	for (size_t i = 0; i < s->nxprocs; i++)
		if (s->xprocs[i].pid == pid)
			return &s->xprocs[i];
	return NULL;
}

static const struct xthread *xthread_of(const struct xprocess *x, pid_t tid)
{
	for (int i = 0; x && i < x->nthreads; i++)
		if (x->threads[i].tid == tid)
			return &x->threads[i];
	return NULL;
}

/* A finding across processes: each thread as pid/tid "name", what it does and whom it waits
 * for; stacks for the target's own threads (the others were not stopped). */
static void print_cross_process(FILE *out, const struct snapshot *s, const struct finding *f, struct arena *a)
{
	fprintf(out, "%s#%d (across processes): %s\n%s\n", finding_kind_name(f->kind), f->seq, f->summary, RULE);
	for (int i = 0; i < f->ntids; i++) {
		const struct xprocess *x = xproc_of(s, f->tid_pids[i]);
		const struct xthread *t = xthread_of(x, f->tids[i]);
		fprintf(out, "%d/%d \"%s\"%s: %s\n", (int)f->tid_pids[i], (int)f->tids[i], x ? x->comm : "?",
			x && x->target ? " (the target)" : "", t ? t->doing : "?");
		for (size_t k = 0; k < s->nxedges; k++) {
			const struct xedge *e = &s->xedges[k];
			if (e->tid != f->tids[i])
				continue;
			const struct xprocess *y = xproc_of(s, e->to_pid);
			fprintf(out, "  waits for process %d \"%s\", which %s %s\n", (int)e->to_pid, y ? y->comm : "?",
				e->relation, e->object);
		}
	}
	fprintf(out, "\nStacks of the target's threads listed above:\n%s\n", RULE);
	for (int i = 0; i < f->ntids; i++)
		if (f->tid_pids[i] == s->pid)
			print_thread_stack(out, s, f->tids[i], a);
	fputc('\n', out);
}

static const struct task *goroutine_of(const struct snapshot *s, uint64_t goid)
{
	for (size_t i = 0; i < s->ngoroutines; i++)
		if (s->goroutines[i].goid == goid)
			return &s->goroutines[i];
	return NULL;
}

/* A Go chain step by step, each inferred edge with its evidence, and the root's stack. */
static void print_chain(FILE *out, const struct snapshot *s, const struct finding *f, struct arena *a)
{
	for (int i = 0; i < f->nchain; i++) {
		const struct chain_link *c = &f->chain[i];
		const char *who = c->count > 1 ? arena_printf(a, "%d goroutines (e.g. %llu)", c->count,
							     (unsigned long long)c->goid)
					       : arena_printf(a, "goroutine %llu", (unsigned long long)c->goid);
		const char *obj = !c->object ? "" : c->object->symbol ? c->object->symbol
					       : arena_printf(a, "%#llx", (unsigned long long)c->object->address);
		fprintf(out, "  %s%s%s%s %s %s%s\n", c->next_goid ? "" : "root: ", who, c->site ? " in " : "",
			c->site ? c->site : "", c->op, c->object && c->object->type ? c->object->type : "",
			c->object ? arena_printf(a, " %s", obj) : "");
		if (c->next_goid)
			fprintf(out, "    -> goroutine %llu, which %s\n       (inferred: %s)\n",
				(unsigned long long)c->next_goid, c->relation, c->evidence ? c->evidence : "no evidence kept");
	}
	const struct task *root = f->chain[f->nchain - 1].next_goid ? NULL : goroutine_of(s, f->chain[f->nchain - 1].goid);
	if (root) {
		fprintf(out, "  root goroutine %llu:\n", (unsigned long long)root->goid);
		print_stack(out, s, root, "\t");
	}
}

/* What a second look compared: /proc's view of threads, or the goroutines' own records. */
static const char *look_what(const struct finding *f)
{
	return f->ngoids ? "the same goroutines parked at the same PCs, their wait objects' state as it was"
			 : "same waits, no CPU time, no wake-ups";
}

static void print_deadlock(FILE *out, const struct snapshot *s, const struct finding *f, struct arena *a)
{
	if (f->npids) {
		print_cross_process(out, s, f, a);
		return;
	}
	fprintf(out, "%s#%d%s: %s", finding_kind_name(f->kind), f->seq, f->inferred ? " (inferred)" : "", f->summary);
	bool spins = false;
	for (int i = 0; i < f->nlocks; i++)
		spins |= f->locks[i].kind == WAIT_SPINLOCK;
	if (f->confirmed_ms && spins)
		fprintf(out, " Over a second look of %d ms the spinning threads kept spinning (out of the kernel, "
			"on a CPU) and their locks stayed taken.", f->confirmed_ms);
	else if (f->confirmed_ms)
		fprintf(out, " Unchanged over a second look of %d ms (%s).", f->confirmed_ms, look_what(f));
	fprintf(out, "\n%s\n", RULE);
	if (f->nchain) {
		print_chain(out, s, f, a);
		fputc('\n', out);
		return;
	}
	for (int i = 0; i < f->ntids; i++) {
		const struct task *t = snapshot_find_task(s, f->tids[i]);
		const struct finding_lock *l = i < f->nlocks ? &f->locks[i] : NULL;
		fprintf(out, "%s:\n", describe_thread(t, f->tids[i], a));
		if (!l)
			continue;
		pid_t owner = l->owner_tid;
		const char *holder = describe_thread(snapshot_find_task(s, owner), owner, a);
		if (l->kind == WAIT_JOIN)
			fprintf(out, "  waiting to join %s\n", holder);
		else if (l->owner_inferred)
			fprintf(out, "  waiting to lock %s,\n  which is likely held by %s\n  (inferred: %s)\n",
				lock_words(s, l, a), holder, l->evidence ? l->evidence : "no evidence kept");
		else
			fprintf(out, "  waiting to lock %s,\n  which is held by %s%s\n", lock_words(s, l, a),
				l->kind == WAIT_RWLOCK ? "writer " : "", holder);
		if (l->nwaiters > 1)
			fprintf(out, "  (%d threads wait for it)\n", l->nwaiters);
	}
	fprintf(out, "\nStacks of the threads listed above:\n%s\n", RULE);
	for (int i = 0; i < f->ntids; i++)
		print_thread_stack(out, s, f->tids[i], a);
	fputc('\n', out);
}

static void print_other(FILE *out, const struct snapshot *s, const struct finding *f, struct arena *a)
{
	fprintf(out, "%s#%d%s: %s", finding_kind_name(f->kind), f->seq,
		f->maybe_normal ? " (may be normal)" : "", f->summary);
	if (f->confirmed_ms)
		fprintf(out, " Unchanged over a second look of %d ms (%s).", f->confirmed_ms, look_what(f));
	fputc('\n', out);
	switch (f->kind) {
	case FINDING_SELF_DEADLOCK:
		if (f->nlocks && f->locks[0].nwaiters > 1)
			print_tids(out, "waiters", f->locks[0].waiters, f->locks[0].nwaiters);
		if (f->ntids)
			print_thread_stack(out, s, f->tids[0], a);
		break;
	case FINDING_ABANDONED_LOCK:
		if (f->nlocks && f->locks[0].owner_tid)
			fprintf(out, "  lock: %s, last owner thread %d (gone)\n",
				lock_words(s, &f->locks[0], a), (int)f->locks[0].owner_tid);
		else if (f->nlocks)
			fprintf(out, "  lock: %s, last owner gone (the lock no longer records which thread)\n",
				lock_words(s, &f->locks[0], a));
		print_tids(out, "blocked", f->tids, f->ntids);
		if (f->ntids)
			print_thread_stack(out, s, f->tids[0], a);
		break;
	case FINDING_BLOCKING_CHAIN:
		if (f->nchain) {
			print_chain(out, s, f, a);
			break;
		}
		if (f->npids) {
			print_tids(out, "blocked", f->tids, 1);
			break;
		}
		for (int i = 0; i < f->nlocks; i++) {
			const struct finding_lock *l = &f->locks[i];
			if (l->owner_tid == f->root_tid && !l->owner_inferred)
				fprintf(out, "  holds %s\n", lock_words(s, l, a));
			else
				fprintf(out, "  %s %s by %d\n", lock_words(s, l, a),
					l->owner_inferred ? "likely held" : "held", (int)l->owner_tid);
		}
		print_tids(out, "blocked behind it", f->tids, f->ntids);
		fprintf(out, "  root blocker ");
		print_thread_stack(out, s, f->root_tid, a);
		break;
	case FINDING_SIGNAL_UNSAFE:
		if (f->ntids)
			print_thread_stack(out, s, f->tids[0], a);
		break;
	case FINDING_MASS_BLOCKING:
		print_tids(out, "threads", f->tids, f->ntids);
		if (f->ntids) {
			fprintf(out, "  where they wait, e.g. ");
			print_thread_stack(out, s, f->tids[0], a);
		}
		break;
	default:
		break;
	}
	fputc('\n', out);
}

static bool xproc_unreadable(const struct snapshot *s)
{
	for (size_t i = 0; i < s->nxprocs; i++)
		if (s->xprocs[i].unreadable)
			return true;
	return false;
}

void report_findings_text(FILE *out, const struct snapshot *s)
{
	struct arena a = { 0 };
	int ndead = 0, ninferred = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		if (s->findings[i].kind != FINDING_DEADLOCK)
			continue;
		print_deadlock(out, s, &s->findings[i], &a);
		ndead++;
		ninferred += s->findings[i].inferred;
	}
	if (ndead && ninferred == ndead)
		fprintf(out, "Found %d inferred deadlock%s (no owner recorded: likely holders, with their "
			"evidence).\n", ndead, ndead == 1 ? "" : "s");
	else if (ninferred)
		fprintf(out, "Found %d deadlock%s, %d of them inferred.\n", ndead, ndead == 1 ? "" : "s", ninferred);
	else if (ndead)
		fprintf(out, "Found %d deadlock%s.\n", ndead, ndead == 1 ? "" : "s");
	else if (s->unchecked_waits || xproc_unreadable(s))
		fprintf(out, "No deadlock found among the waits that could be checked.\n");
	else if (s->inferred_holder_waits)
		fprintf(out, "No deadlock found; %d thread%s wait%s on locks that record no owner, checked "
			"through likely holders (see each wait): a cycle through a wrong guess would be "
			"missed.\n", s->inferred_holder_waits, s->inferred_holder_waits == 1 ? "" : "s",
			s->inferred_holder_waits == 1 ? "s" : "");
	else
		fprintf(out, "No deadlock found.\n");
	/* Honest limits: what the cycle search could not see. */
	if (s->unchecked_waits)
		fprintf(out, "%d thread%s wait%s on objects that record no owner (semaphores, bare "
			"futexes, glibc-internal locks): cycles among them could not be checked.\n",
			s->unchecked_waits, s->unchecked_waits == 1 ? "" : "s",
			s->unchecked_waits == 1 ? "s" : "");
	/* the same for waits that lead into processes chang could not read */
	for (size_t i = 0; i < s->nxprocs; i++)
		if (s->xprocs[i].unreadable)
			fprintf(out, "Process %d \"%s\", which a thread here waits for, could not be read (another "
				"user's; run as root or with CAP_SYS_PTRACE): cycles through it could not be checked.\n",
				(int)s->xprocs[i].pid, s->xprocs[i].comm);
	fputc('\n', out);
	for (size_t i = 0; i < s->nfindings; i++)
		if (s->findings[i].kind != FINDING_DEADLOCK)
			print_other(out, s, &s->findings[i], &a);
	if (s->dropped_findings)
		fprintf(out, "%d finding%s dropped: %s threads or goroutines moved on (ran, woke up or "
			"changed waits) during a second look of %d ms, as a busy healthy process does.\n\n",
			s->dropped_findings, s->dropped_findings == 1 ? "" : "s",
			s->dropped_findings == 1 ? "its" : "their", s->second_look_ms);
	arena_free(&a);
}

void report_xproc_text(FILE *out, const struct snapshot *s)
{
	if (!s->nxedges)
		return;
	fprintf(out, "Waits that leave the process (other processes read from /proc, not stopped; "
		"second look after %.0f ms):\n", s->xproc_confirm_ms);
	for (size_t k = 0; k < s->nxedges; k++) {
		const struct xedge *e = &s->xedges[k];
		const struct xprocess *from = xproc_of(s, e->pid), *to = xproc_of(s, e->to_pid);
		const struct xthread *t = xthread_of(from, e->tid);
		fprintf(out, "  %d/%d \"%s\" in %s\n    waits for process %d \"%s\", which %s %s", (int)e->pid,
			(int)e->tid, from ? from->comm : "?", t ? t->doing : "?", (int)e->to_pid, to ? to->comm : "?",
			e->relation, e->object);
		if (to && to->unreadable)
			fprintf(out, "; its threads cannot be read (no permission)");
		else if (to && !to->target) {
			fprintf(out, "; its threads:");
			for (int i = 0; i < to->nthreads && i < 8; i++)
				fprintf(out, "%s %d %s", i ? ";" : "", (int)to->threads[i].tid, to->threads[i].doing);
			if (to->nthreads > 8)
				fprintf(out, "; … (%d more)", to->nthreads - 8);
		}
		fputc('\n', out);
	}
	fputc('\n', out);
}
