/* --format=json: the whole snapshot with stable field names (documented in README.md). */
#include "report/report.h"
#include "report/jsonw.h"
#include "report/signal.h"
#include "report/symsummary.h"
#include "util/hex.h"
#include <string.h>
#include <time.h>

static void frame_json(struct jsonw *w, const struct snapshot *s, const struct pcsym *ps, uint64_t pc,
		       const struct sym_frame *f, bool scanned)
{
	uint64_t module_offset;
	const struct module *m = pcsym_module(s, ps, pc, &module_offset);
	jw_obj(w);
	jw_key(w, "pc");
	jw_hex(w, pc);
	jw_key(w, "function");
	jw_str(w, f ? f->function : NULL);
	if (f && f->mangled) {
		jw_key(w, "mangled");
		jw_str(w, f->mangled);
	}
	jw_key(w, "offset");
	if (f && f->func_entry && ps->lookup_pc >= f->func_entry)
		jw_hex(w, ps->lookup_pc - f->func_entry);
	else
		jw_null(w);
	jw_key(w, "file");
	jw_str(w, f ? f->file : NULL);
	jw_key(w, "line");
	if (f && f->line)
		jw_int(w, f->line);
	else
		jw_null(w);
	jw_key(w, "inlined");
	jw_bool(w, f && f->inlined);
	jw_key(w, "module");
	jw_str(w, m ? m->name : NULL);
	jw_key(w, "module_offset");
	if (m)
		jw_hex(w, module_offset);
	else
		jw_null(w);
	jw_key(w, "symbol_source");
	jw_str(w, f && (f->function || f->near_symbol) ? sym_source_name(f->source) : NULL);
	jw_key(w, "near_symbol");
	jw_str(w, f ? f->near_symbol : NULL);
	jw_key(w, "found_by");	/* a scan of the stack (unwind/scan.c); null: CFI or registers */
	jw_str(w, scanned ? "scan" : NULL);
	jw_obj_end(w);
}

/* One JSON frame per logical frame: inlined callees first, as they were called. */
static void frames_json(struct jsonw *w, const struct snapshot *s, const struct task *t)
{
	jw_arr(w);
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		bool scanned = t->scanned && t->scanned[i];
		if (!ps || ps->nframes == 0) {
			frame_json(w, s, ps, t->pcs[i], NULL, scanned);
			continue;
		}
		for (int k = 0; k < ps->nframes; k++)
			frame_json(w, s, ps, t->pcs[i], &ps->frames[k], scanned);
	}
	jw_arr_end(w);
}

static void wait_json(struct jsonw *w, const struct wait *wt)
{
	if (!wt) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "kind");
	jw_str(w, wait_kind_name(wt->kind));
	jw_key(w, "address");
	if (wt->address)
		jw_hex(w, wt->address);
	else
		jw_null(w);
	jw_key(w, "symbol");
	jw_str(w, wt->symbol);
	jw_key(w, "owner_tid");
	if (wt->owner_tid)
		jw_int(w, wt->owner_tid);
	else
		jw_null(w);
	jw_key(w, "owner_died");	/* the lock says its owner exited holding it, not who */
	jw_bool(w, wt->owner_died);
	/* locks that record no owner: a likely holder is inferred, never an owner */
	jw_key(w, "likely_owner_tid");
	if (wt->likely_owner)
		jw_int(w, wt->likely_owner);
	else
		jw_null(w);
	jw_key(w, "evidence");
	jw_str(w, wt->evidence);
	jw_key(w, "fd");
	if (wt->fd >= 0)
		jw_int(w, wt->fd);
	else
		jw_null(w);
	jw_key(w, "fd_target");
	jw_str(w, wt->fd_target);
	jw_key(w, "syscall");
	jw_str(w, wt->syscall);
	jw_key(w, "detail");
	jw_str(w, wt->detail);
	jw_key(w, "idle");
	jw_bool(w, wt->idle);
	jw_key(w, "restarted");
	jw_bool(w, wt->restarted);
	jw_obj_end(w);
}

static void tids_json(struct jsonw *w, const pid_t *tids, int n)
{
	jw_arr(w);
	for (int i = 0; i < n; i++)
		jw_int(w, tids[i]);
	jw_arr_end(w);
}

static void go_object_json(struct jsonw *w, const struct go_object *o, const char *op);

/* Go blocking chains: each step, the goroutine that would release it, inferred, with the
 * evidence; the root last. */
static void chain_json(struct jsonw *w, const struct finding *f)
{
	jw_key(w, "root_goid");	/* null for a cycle, which has none */
	if (f->chain[f->nchain - 1].next_goid)
		jw_null(w);
	else
		jw_uint(w, f->chain[f->nchain - 1].goid);
	jw_key(w, "chain");
	jw_arr(w);
	for (int i = 0; i < f->nchain; i++) {
		const struct chain_link *c = &f->chain[i];
		jw_obj(w);
		jw_key(w, "goid");
		jw_uint(w, c->goid);
		jw_key(w, "count");
		jw_int(w, c->count);
		jw_key(w, "site");
		jw_str(w, c->site);
		jw_key(w, "object");
		go_object_json(w, c->object, c->op);
		jw_key(w, "next_goid");
		if (c->next_goid)
			jw_uint(w, c->next_goid);
		else
			jw_null(w);
		jw_key(w, "relation");
		jw_str(w, c->relation);
		jw_key(w, "inferred");
		jw_bool(w, c->inferred);
		jw_key(w, "evidence");
		jw_str(w, c->evidence);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void finding_json(struct jsonw *w, const struct finding *f)
{
	jw_obj(w);
	jw_key(w, "kind");
	jw_str(w, finding_kind_name(f->kind));
	jw_key(w, "id");
	char id[48];
	snprintf(id, sizeof(id), "%s#%d", finding_kind_name(f->kind), f->seq);
	jw_str(w, id);
	jw_key(w, "summary");
	jw_str(w, f->summary);
	jw_key(w, "tids");
	tids_json(w, f->tids, f->ntids);
	jw_key(w, "locks");
	jw_arr(w);
	for (int i = 0; i < f->nlocks; i++) {
		const struct finding_lock *l = &f->locks[i];
		jw_obj(w);
		jw_key(w, "kind");
		jw_str(w, wait_kind_name(l->kind));
		jw_key(w, "address");
		jw_hex(w, l->address);
		jw_key(w, "symbol");
		jw_str(w, l->symbol);
		jw_key(w, "owner_tid");
		if (l->owner_tid)
			jw_int(w, l->owner_tid);
		else
			jw_null(w);
		jw_key(w, "inferred");
		jw_bool(w, l->owner_inferred);
		jw_key(w, "evidence");
		jw_str(w, l->evidence);
		jw_key(w, "waiters");
		tids_json(w, l->waiters, l->nwaiters);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (f->nchain)
		chain_json(w, f);
	else if (f->kind == FINDING_BLOCKING_CHAIN) {
		jw_key(w, "root_tid");
		jw_int(w, f->root_tid);
	}
	if (f->kind == FINDING_MASS_BLOCKING) {
		jw_key(w, "count");
		jw_int(w, f->count);
		jw_key(w, "object");
		wait_json(w, &f->object);
	}
	if (f->ngoids) {
		jw_key(w, "goids");
		jw_arr(w);
		for (int i = 0; i < f->ngoids; i++)
			jw_uint(w, f->goids[i]);
		jw_arr_end(w);
	}
	jw_key(w, "inferred");
	jw_bool(w, f->inferred);
	jw_key(w, "maybe_normal");
	jw_bool(w, f->maybe_normal);
	jw_key(w, "confirmed_ms");
	if (f->confirmed_ms)
		jw_int(w, f->confirmed_ms);
	else
		jw_null(w);
	if (f->evidence) {
		jw_key(w, "evidence");
		jw_str(w, f->evidence);
	}
	jw_key(w, "cross_process");
	jw_bool(w, f->npids > 0);
	if (f->npids) {
		jw_key(w, "pids");
		jw_arr(w);
		for (int i = 0; i < f->npids; i++)
			jw_int(w, f->pids[i]);
		jw_arr_end(w);
		jw_key(w, "members");	/* each of tids with its process */
		jw_arr(w);
		for (int i = 0; i < f->ntids; i++) {
			jw_obj(w);
			jw_key(w, "pid");
			jw_int(w, f->tid_pids[i]);
			jw_key(w, "tid");
			jw_int(w, f->tids[i]);
			jw_obj_end(w);
		}
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

/* The waits that leave the process, and the processes they lead to. */
static void cross_process_json(struct jsonw *w, const struct snapshot *s)
{
	jw_key(w, "cross_process");
	if (!s->xproc_followed) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "confirm_ms");
	jw_double(w, s->xproc_confirm_ms);
	jw_key(w, "edges");
	jw_arr(w);
	for (size_t i = 0; i < s->nxedges; i++) {
		const struct xedge *e = &s->xedges[i];
		jw_obj(w);
		jw_key(w, "pid");
		jw_int(w, e->pid);
		jw_key(w, "tid");
		jw_int(w, e->tid);
		jw_key(w, "to_pid");
		jw_int(w, e->to_pid);
		jw_key(w, "to_tid");
		if (e->to_tid)
			jw_int(w, e->to_tid);
		else
			jw_null(w);
		jw_key(w, "relation");
		jw_str(w, e->relation);
		jw_key(w, "object");
		jw_str(w, e->object);
		jw_key(w, "inferred");
		jw_bool(w, e->evidence != NULL);
		if (e->evidence) {
			jw_key(w, "evidence");
			jw_str(w, e->evidence);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "processes");
	jw_arr(w);
	for (size_t i = 0; i < s->nxprocs; i++) {
		const struct xprocess *x = &s->xprocs[i];
		jw_obj(w);
		jw_key(w, "pid");
		jw_int(w, x->pid);
		jw_key(w, "name");
		jw_str(w, x->comm);
		jw_key(w, "target");
		jw_bool(w, x->target);
		jw_key(w, "unreadable");
		jw_bool(w, x->unreadable);
		jw_key(w, "threads");
		jw_arr(w);
		for (int k = 0; k < x->nthreads; k++) {
			const struct xthread *t = &x->threads[k];
			jw_obj(w);
			jw_key(w, "tid");
			jw_int(w, t->tid);
			jw_key(w, "kernel_state");
			char st[2] = { t->kstate, 0 };
			jw_str(w, st);
			jw_key(w, "blocked");
			jw_bool(w, t->blocked);
			jw_key(w, "doing");
			jw_str(w, t->doing);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

/* Go targets: what the runtime records per goroutine, beside the OS threads. */
static void go_object_json(struct jsonw *w, const struct go_object *o, const char *op)
{
	if (!o && !op) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "op");
	jw_str(w, op);
	jw_key(w, "type");
	jw_str(w, o ? o->type : NULL);
	jw_key(w, "address");
	if (o && o->address)
		jw_hex(w, o->address);
	else
		jw_null(w);
	jw_key(w, "symbol");
	jw_str(w, o ? o->symbol : NULL);
	if (o && o->kind == WAIT_CHANNEL) {
		jw_key(w, "buffered");
		jw_uint(w, o->qcount);
		jw_key(w, "capacity");
		jw_uint(w, o->capacity);
		jw_key(w, "closed");
		jw_bool(w, o->closed);
		jw_key(w, "senders_waiting");
		jw_int(w, o->senders);
		jw_key(w, "receivers_waiting");
		jw_int(w, o->receivers);
	} else if (o) {
		jw_key(w, "state");
		jw_str(w, o->state);
		jw_key(w, "locked");
		jw_bool(w, o->locked);
		jw_key(w, "waiters");
		jw_int(w, o->sema_waiters);
	}
	jw_obj_end(w);
}

static void goroutines_json(struct jsonw *w, const struct snapshot *s)
{
	jw_arr(w);
	for (size_t i = 0; i < s->ngoroutines; i++) {
		const struct task *t = &s->goroutines[i];
		const struct goroutine_info *gi = t->go;
		jw_obj(w);
		jw_key(w, "goid");
		jw_uint(w, t->goid);
		jw_key(w, "tid");
		if (t->tid)
			jw_int(w, t->tid);
		else
			jw_null(w);
		jw_key(w, "status");
		jw_str(w, gi ? gi->status : NULL);
		jw_key(w, "wait_reason");
		jw_str(w, gi ? gi->wait_reason : NULL);
		jw_key(w, "wait_minutes");
		if (gi && gi->wait_minutes >= 0)
			jw_int(w, gi->wait_minutes);
		else
			jw_null(w);
		jw_key(w, "locked_to_thread");
		jw_bool(w, gi && gi->locked_to_thread);
		jw_key(w, "created_by");
		if (gi && gi->created_by) {
			jw_obj(w);
			jw_key(w, "function");
			jw_str(w, gi->created_by);
			jw_key(w, "file");
			jw_str(w, gi->created_file);
			jw_key(w, "line");
			jw_int(w, gi->created_line);
			jw_key(w, "parent_goid");
			if (gi->parent_goid)
				jw_uint(w, gi->parent_goid);
			else
				jw_null(w);
			jw_obj_end(w);
		} else {
			jw_null(w);
		}
		jw_key(w, "labels");
		jw_obj(w);
		for (int k = 0; gi && k < gi->nlabels; k++) {
			jw_key(w, gi->labels[k].key);
			jw_str(w, gi->labels[k].value);
		}
		jw_obj_end(w);
		jw_key(w, "state");
		jw_str(w, t->state);
		jw_key(w, "wait");
		wait_json(w, t->wait);
		jw_key(w, "object");
		if (gi)
			go_object_json(w, gi->object, gi->object_op);
		else
			jw_null(w);
		jw_key(w, "likely_holds");
		jw_arr(w);
		for (int k = 0; gi && k < gi->nlikely_holds; k++) {
			const struct go_object *h = gi->likely_holds[k];
			if (h->symbol)
				jw_str(w, h->symbol);
			else
				jw_hex(w, h->address);
		}
		jw_arr_end(w);
		jw_key(w, "unwind_error");
		jw_str(w, t->unwind_error);
		jw_key(w, "truncated");
		jw_bool(w, t->truncated);
		jw_key(w, "group");
		jw_int(w, t->group);
		jw_key(w, "frames");
		frames_json(w, s, t);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* The signal that made a core, or null (gcore, chang's own cores). */
static void signal_json(struct jsonw *w, const struct snapshot *s)
{
	const struct core_signal *cs = s->core_signal;
	if (!cs) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "signo");
	jw_int(w, cs->signo);
	jw_key(w, "name");
	jw_str(w, signal_name(cs->signo));
	jw_key(w, "code");
	if (cs->have_info)
		jw_int(w, cs->code);
	else
		jw_null(w);
	jw_key(w, "code_name");
	jw_str(w, cs->have_info ? signal_code_name(cs->signo, cs->code) : NULL);
	jw_key(w, "sender_pid");
	if (cs->have_sender)
		jw_int(w, cs->sender_pid);
	else
		jw_null(w);
	jw_key(w, "sender_uid");
	if (cs->have_sender)
		jw_uint(w, cs->sender_uid);
	else
		jw_null(w);
	jw_key(w, "addr");
	if (cs->have_addr)
		jw_hex(w, cs->addr);
	else
		jw_null(w);
	jw_key(w, "tid");
	jw_int(w, cs->tid);
	jw_obj_end(w);
}

static void snapshot_json(struct jsonw *w, const struct snapshot *s)
{
	jw_obj(w);
	jw_key(w, "chang_version");
	jw_str(w, CHANG_VERSION);
	jw_key(w, "source");
	jw_str(w, s->source == SOURCE_ATTACH ? "attach" : "core");
	jw_key(w, "arch");
	if (s->arch)
		jw_str(w, s->arch->name);
	else
		jw_null(w);
	jw_key(w, "pid");
	jw_int(w, s->pid);
	jw_key(w, "ns_pid");
	if (s->ns_pid)
		jw_int(w, s->ns_pid);
	else
		jw_null(w);
	jw_key(w, "executable");
	jw_str(w, s->executable);
	jw_key(w, "cmdline");
	jw_str(w, s->cmdline);
	jw_key(w, "libc");
	jw_str(w, libc_kind_name(s->libc));
	jw_key(w, "libc_evidence");
	jw_str(w, s->libc_evidence);
	char tbuf[64];
	report_format_time(s->capture_time_ns, tbuf, sizeof(tbuf));
	jw_key(w, "capture_time");
	jw_str(w, tbuf);
	jw_key(w, "pause_ms");
	if (s->source == SOURCE_ATTACH)
		jw_double(w, (double)s->pause_ns / 1e6);
	else
		jw_null(w);
	if (s->saved_core) {
		const struct saved_core *sc = s->saved_core;
		jw_key(w, "saved_core");
		jw_obj(w);
		jw_key(w, "path");
		jw_str(w, sc->path);
		jw_key(w, "core_size");
		jw_str(w, sc->size_kind);
		jw_key(w, "size");
		if (sc->error)
			jw_null(w);
		else
			jw_uint(w, sc->size);
		jw_key(w, "pause_ms");
		jw_double(w, (double)sc->pause_ns / 1e6);
		jw_key(w, "error");
		jw_str(w, sc->error);
		jw_obj_end(w);
	}
	if (s->source == SOURCE_CORE) {
		jw_key(w, "signal");
		signal_json(w, s);
		jw_key(w, "thread_states");
		jw_str(w, "inferred");
	}
	jw_key(w, "atomic");
	jw_bool(w, !s->not_atomic);
	jw_key(w, "job_stopped");
	jw_bool(w, s->job_stopped);
	jw_key(w, "thread_count");
	jw_uint(w, s->ntasks);
	jw_key(w, "warnings");
	jw_arr(w);
	for (size_t i = 0; i < s->nwarnings; i++)
		jw_str(w, s->warnings[i]);
	jw_arr_end(w);

	jw_key(w, "second_look");
	if (s->second_look_ms) {
		jw_obj(w);
		jw_key(w, "ms");
		jw_int(w, s->second_look_ms);
		jw_key(w, "dropped_findings");
		jw_int(w, s->dropped_findings);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "unchecked_waits");
	jw_int(w, s->unchecked_waits);
	jw_key(w, "inferred_holder_waits");
	jw_int(w, s->inferred_holder_waits);
	struct symsummary sum;
	symsummary_build(s, &sum);
	jw_key(w, "symbols");
	jw_obj(w);
	jw_key(w, "frames");
	jw_uint(w, sum.frames);
	jw_key(w, "unnamed");
	jw_uint(w, sum.unnamed);
	jw_key(w, "near");
	jw_uint(w, sum.near);
	jw_key(w, "modules_without_symbols");
	jw_arr(w);
	for (size_t i = 0; i < sum.nmodules; i++)
		jw_str(w, sum.modules[i]->name);
	jw_arr_end(w);
	jw_obj_end(w);
	symsummary_free(&sum);

	jw_key(w, "findings");
	jw_arr(w);
	for (size_t i = 0; i < s->nfindings; i++)
		finding_json(w, &s->findings[i]);
	jw_arr_end(w);
	cross_process_json(w, s);

	jw_key(w, "threads");
	jw_arr(w);
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *t = &s->tasks[i];
		jw_obj(w);
		jw_key(w, "tid");
		jw_int(w, t->tid);
		jw_key(w, "ns_tid");
		if (t->ns_tid)
			jw_int(w, t->ns_tid);
		else
			jw_null(w);
		jw_key(w, "name");
		jw_str(w, t->name);
		jw_key(w, "cgo_goid");	/* Go: the goroutine whose C call runs on this thread */
		if (t->cgo_goroutine)
			jw_uint(w, t->cgo_goroutine->goid);
		else
			jw_null(w);
		jw_key(w, "kernel_state");
		char ks[2] = { t->kstate ? t->kstate : '?', 0 };
		jw_str(w, ks);
		jw_key(w, "state");
		jw_str(w, t->state);
		jw_key(w, "wait");
		wait_json(w, t->wait);
		jw_key(w, "pc");
		if (t->have_regs)
			jw_hex(w, regs_pc(&t->regs));
		else
			jw_null(w);
		jw_key(w, "sp");
		if (t->have_regs)
			jw_hex(w, regs_sp(&t->regs));
		else
			jw_null(w);
		jw_key(w, "syscall_nr");
		if (t->syscall_nr >= 0)
			jw_int(w, t->syscall_nr);
		else
			jw_null(w);
		jw_key(w, "unwind_error");
		jw_str(w, t->unwind_error);
		jw_key(w, "truncated");
		jw_bool(w, t->truncated);
		jw_key(w, "group");
		jw_int(w, t->group);
		jw_key(w, "frames");
		frames_json(w, s, t);
		jw_obj_end(w);
	}
	jw_arr_end(w);

	if (s->go_version) {
		jw_key(w, "go_version");
		jw_str(w, s->go_version);
		jw_key(w, "go_error");
		if (s->go_error)
			jw_str(w, s->go_error);
		else
			jw_null(w);
		jw_key(w, "goroutine_count");
		jw_uint(w, s->ngoroutines);
		jw_key(w, "goroutines");
		goroutines_json(w, s);
	}

	jw_key(w, "groups");
	jw_arr(w);
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct group *g = &s->groups[i];
		jw_obj(w);
		jw_key(w, "count");
		jw_int(w, g->count);
		jw_key(w, "tids");
		jw_arr(w);
		for (int k = 0; k < g->count; k++)
			jw_int(w, g->tasks[k]->tid);
		jw_arr_end(w);
		if (g->count && g->tasks[0]->kind == TASK_GOROUTINE) {
			jw_key(w, "goids");
			jw_arr(w);
			for (int k = 0; k < g->count; k++)
				jw_uint(w, g->tasks[k]->goid);
			jw_arr_end(w);
			jw_key(w, "labels");
			jw_str(w, g->tasks[0]->go ? g->tasks[0]->go->labels_text : NULL);
		}
		jw_key(w, "state");
		jw_str(w, g->count ? g->tasks[0]->state : NULL);
		jw_key(w, "frames");
		frames_json(w, s, g->tasks[0]);
		jw_obj_end(w);
	}
	jw_arr_end(w);

	jw_key(w, "modules");
	jw_arr(w);
	struct arena a = { 0 };
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct module *m = &s->modules[i];
		jw_obj(w);
		jw_key(w, "name");
		jw_str(w, m->name);
		jw_key(w, "file");
		jw_str(w, m->file);
		jw_key(w, "start");
		jw_hex(w, m->start);
		jw_key(w, "end");
		jw_hex(w, m->end);
		char hex[81];
		int idlen = m->build_id_len ? m->build_id_len : m->target_build_id_len;
		hex_encode(m->build_id_len ? m->build_id : m->target_build_id, idlen > 0 ? (size_t)idlen : 0, hex);
		jw_key(w, "build_id");
		jw_str(w, hex[0] ? hex : NULL);
		jw_key(w, "missing");
		jw_bool(w, m->missing);
		jw_key(w, "mismatched");
		jw_bool(w, m->mismatched);
		jw_key(w, "symbols");
		jw_str(w, module_symbols_kind(m));
		jw_key(w, "package");
		jw_str(w, m->package);
		jw_key(w, "debug_package");
		jw_str(w, m->package ? arena_printf(&a, "%s-dbgsym", m->package) : NULL);
		jw_key(w, "debuginfod_fetched");
		jw_str(w, m->debuginfod_fetched);
		jw_key(w, "debuginfod_error");
		jw_str(w, m->debuginfod_error);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	arena_free(&a);
	jw_obj_end(w);
}

int report_json(FILE *out, const struct snapshot *s, struct err *e)
{
	struct jsonw w;
	jw_init(&w, out, 1);
	snapshot_json(&w, s);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the JSON report failed") : 0;
}

static bool same_members(const struct finding *a, const struct finding *b)
{
	if (a->ntids != b->ntids || a->kind != b->kind)
		return false;
	for (int i = 0; i < a->ntids; i++) {
		bool found = false;
		for (int k = 0; k < b->ntids && !found; k++)
			found = a->tids[i] == b->tids[k] && a->tid_pids[i] == b->tid_pids[k];
		if (!found)
			return false;
	}
	return true;
}

int report_json_set(FILE *out, const struct snapshot *const *ss, size_t n, struct err *e)
{
	struct jsonw w;
	jw_init(&w, out, 1);
	jw_obj(&w);
	jw_key(&w, "chang_version");
	jw_str(&w, CHANG_VERSION);
	jw_key(&w, "processes");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++)
		snapshot_json(&w, ss[i]);
	jw_arr_end(&w);
	/* The findings across processes, once each: every process's report carries them. */
	jw_key(&w, "findings");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ss[i]->nfindings; k++) {
			const struct finding *f = &ss[i]->findings[k];
			if (!f->npids)
				continue;
			bool dup = false;
			for (size_t j = 0; j < i && !dup; j++)
				for (size_t q = 0; q < ss[j]->nfindings && !dup; q++)
					dup = ss[j]->findings[q].npids && same_members(f, &ss[j]->findings[q]);
			for (size_t q = 0; q < k && !dup; q++)
				dup = ss[i]->findings[q].npids && same_members(f, &ss[i]->findings[q]);
			if (!dup)
				finding_json(&w, f);
		}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return ferror(out) ? err_set(e, ERR_FAIL, "writing the JSON report failed") : 0;
}
