/* Go's own traceback in pcbuf mode (runtime.gentraceback in 1.18-1.20, the unwinder and
 * tracebackPCs from 1.21): frame sizes from the pclntab's pcsp table, never frame pointers,
 * inlined calls recorded as their own "return" PCs (entry + parentPc + 1), wrappers elided,
 * TOPFRAME and SPWRITE functions ending the walk. Reproducing it exactly is what makes the
 * "@ 0x…" lists equal Go's. Each distinct PC is decoded once (a cache keyed by PC), so
 * 100,000 goroutines parked at the same few call sites cost little more than one. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define FLAG_TOPFRAME 1
#define FLAG_SPWRITE 2
#define MAX_INLINE 64
#define MAX_STEPS 100000

struct logical {
	uint64_t rpc;
	uint8_t funcid;
};

struct pc_entry {
	uint64_t pc;
	bool trapmode, used, valid;
	struct go_func f;
	int32_t spdelta;
	int nlog;
	struct logical *log;	/* innermost inlined call first, the physical function last */
};

struct pc_cache {
	struct pc_entry *v;
	size_t cap, n;
};

static uint64_t hash_pc(uint64_t pc, bool trap)
{
	uint64_t h = (pc ^ (trap ? 0x9e3779b97f4a7c15ull : 0)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static void fill(struct goreader *r, struct pc_entry *e)
{
	e->valid = go_findfunc(r, e->pc, &e->f);
	if (!e->valid)
		return;
	e->spdelta = go_pcvalue(r, &e->f, e->f.pcsp, e->pc);
	/* A return address names the call before it (pc-1); a trapping or entry PC itself. */
	bool exact = e->trapmode || e->pc == e->f.entry;
	uint64_t rpc = exact ? e->pc + 1 : e->pc, tracepc = exact ? e->pc : e->pc - 1;
	struct logical buf[MAX_INLINE + 1];
	int n = 0;
	uint64_t tree = go_funcdata(r, &e->f, 3);	/* FUNCDATA_InlTree */
	while (tree && n < MAX_INLINE) {
		int32_t ix = go_pcdata(r, &e->f, 2, tracepc);	/* PCDATA_InlTreeIndex */
		struct go_inl inl;
		if (ix < 0 || !go_inl_at(r, tree, ix, &inl))
			break;
		buf[n++] = (struct logical){ rpc, inl.funcid };
		tracepc = e->f.entry + (uint64_t)(int64_t)inl.parentpc;
		rpc = tracepc + 1;
	}
	buf[n++] = (struct logical){ rpc, e->f.funcid };
	e->nlog = n;
	e->log = xmalloc(sizeof(*buf) * (size_t)n);
	memcpy(e->log, buf, sizeof(*buf) * (size_t)n);
}

static const struct pc_entry *lookup(struct goreader *r, uint64_t pc, bool trapmode)
{
	struct pc_cache *c = r->pcc;
	if (!c) {
		c = r->pcc = xcalloc(1, sizeof(*c));
		c->cap = 1024;
		c->v = xcalloc(c->cap, sizeof(*c->v));
	}
	if (c->n * 2 >= c->cap) {
		struct pc_entry *old = c->v;
		size_t oldcap = c->cap;
		c->cap *= 2;
		c->v = xcalloc(c->cap, sizeof(*c->v));
		for (size_t i = 0; i < oldcap; i++) {
			if (!old[i].used)
				continue;
			size_t h = hash_pc(old[i].pc, old[i].trapmode) & (c->cap - 1);
			while (c->v[h].used)
				h = (h + 1) & (c->cap - 1);
			c->v[h] = old[i];
		}
		free(old);
	}
	size_t h = hash_pc(pc, trapmode) & (c->cap - 1);
	while (c->v[h].used) {
		if (c->v[h].pc == pc && c->v[h].trapmode == trapmode)
			return &c->v[h];
		h = (h + 1) & (c->cap - 1);
	}
	struct pc_entry *e = &c->v[h];
	e->used = true;
	e->pc = pc;
	e->trapmode = trapmode;
	fill(r, e);
	c->n++;
	return e;
}

void go_pccache_free(struct goreader *r)
{
	struct pc_cache *c = r->pcc;
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		free(c->v[i].log);
	free(c->v);
	free(c);
	r->pcc = NULL;
}

/* Wrappers are hidden unless they called a panic (runtime.elideWrapperCalling). */
static bool elide_wrapper_calling(const struct goreader *r, int callee)
{
	return !(callee == r->fid.gopanic || callee == r->fid.sigpanic || callee == r->fid.panicwrap);
}

/* Calls injected by a signal leave their caller at a trapping PC, not a return address:
 * sigpanic in every version, asyncPreempt and debugCallV2 too from Go 1.21. */
static bool injected(const struct goreader *r, int fid)
{
	if (fid == r->fid.sigpanic)
		return true;
	bool newer = r->major > 1 || r->minor >= 21;
	return newer && (fid == r->fid.asyncpreempt || fid == r->fid.debugcallv2);
}

void go_unwind(struct goreader *r, uint64_t pc, uint64_t sp, uint64_t lr0, bool trap, bool syscall, uint64_t *pcs,
	       int max, struct go_unwind_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!r->uses_lr)
		lr0 = 0;
	if (pc == 0) {
		/* a call through a nil func value: start in the caller (arm64: whose return
		 * address the caller stored at the bottom of its frame, SP unchanged) */
		if (!go_u64(r, sp, &pc)) {
			res->error = "cannot read the stack";
			return;
		}
		if (!r->uses_lr)
			sp += 8;
		lr0 = 0;
	}
	int callee = 0;		/* funcID_normal */
	bool first = true;
	for (int steps = 0; steps < MAX_STEPS; steps++) {
		if (res->n >= max) {
			res->truncated = true;
			return;
		}
		const struct pc_entry *e = lookup(r, pc, trap);
		if (!e->valid) {
			if (first)
				res->error = "goroutine PC is in no Go function";
			return;
		}
		if (e->f.pcsp == 0)
			return;		/* no frame information: an external function */
		uint8_t flag = e->f.flag;
		if (first && syscall)
			flag &= (uint8_t)~FLAG_SPWRITE;	/* entersyscall saved PC/SP before any SP write */
		if (e->spdelta < 0 || (e->spdelta & 7)) {
			res->error = "bad frame size in the pcsp table";
			return;
		}
		/* amd64: the call pushed the return address just above the frame. arm64: it is in
		 * the link register, which a function with a frame stores at its bottom (0(SP));
		 * only the innermost frame of a frameless function still has it in the register
		 * (runtime.unwinder.resolveInternal) */
		uint64_t fp = sp + (uint64_t)e->spdelta + (r->uses_lr ? 0 : 8);
		uint64_t lr = first ? lr0 : 0;
		bool lr_ok = true;
		if (!(flag & (FLAG_TOPFRAME | FLAG_SPWRITE))) {
			if (!r->uses_lr)
				lr_ok = go_u64(r, fp - 8, &lr);
			else if ((first && sp < fp) || lr == 0)
				lr_ok = go_u64(r, sp, &lr);
		} else {
			lr = 0;
		}
		int k;
		for (k = 0; k < e->nlog && res->n < max; k++) {
			const struct logical *lg = &e->log[k];
			if (!(lg->funcid == r->fid.wrapper && elide_wrapper_calling(r, callee))) {
				if (r->unwind_argps)	/* arm64: past the caller's saved-LR slot */
					r->unwind_argps[res->n] = fp + (r->uses_lr ? 8 : 0);
				pcs[res->n++] = lg->rpc;
			}
			callee = lg->funcid;
		}
		if (k < e->nlog) {
			res->truncated = true;	/* the limit fell inside this frame's inlined calls */
			return;
		}
		if (!lr_ok) {
			res->error = "cannot read a return address from the stack";
			return;
		}
		if (lr == 0)
			return;
		bool next_trap = injected(r, e->f.funcid);
		if (!lookup(r, lr, next_trap)->valid)
			return;		/* as Go: the frame is recorded, the walk ends */
		if (pc == lr && sp == fp) {
			res->error = "traceback stuck";
			return;
		}
		trap = next_trap;
		pc = lr;
		sp = fp;
		first = false;
	}
	res->error = "too many frames";
}
