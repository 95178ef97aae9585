/* Evidence of who would release what others wait for, since the Go runtime records no
 * mutex owner, no channel consumer and no one who will call a WaitGroup's Done. For every
 * goroutine, the code of each of its current functions (outside the runtime and sync), from
 * the function's entry up to the call it is in now, is decoded (util/coderefs.c, Capstone)
 * for the objects goroutines wait on: a global sync.Mutex locked (the inlined fast path's
 * LOCK CMPXCHG or a call to Lock) and not unlocked (LOCK XADD, a call to Unlock); the global
 * holding a channel loaded for runtime.chanrecv/chansend/closechan/selectgo, or just loaded;
 * a global WaitGroup handed to Add or Done. It follows code in address order, not control
 * flow, and sees only globals: what is built on it says "likely", with this evidence. */
#include "go/internal.h"
#include "util/arch.h"
#include "util/coderefs.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define CODE_MAX (64u << 10)
#define MAX_OBJS 256
#define FRAMES_MAX 16

/* an address whose use in code means an object: a global mutex or WaitGroup itself, or the
 * global holding a channel */
struct watched {
	uint64_t addr;
	int oi;
};

/* what one function's code, on the way to one return address, did with each object */
struct fref {
	int oi;
	int net;		/* mutexes: locks minus unlocks in address order before the PC */
	bool held;		/* mutexes: a lock reaches the PC without passing an unlock */
	unsigned hows;
	uint64_t at;		/* the first instruction that used it */
};

/* one use of an object anywhere in the function, before it is known whether it leads to
 * the PC */
struct use {
	int oi;
	int effect;		/* +1 lock, -1 unlock, 0 neither */
	unsigned hows;
	uint64_t at, effect_at;
};

struct frame_memo {
	uint64_t entry, ret;	/* entry 0: free slot */
	struct fref *v;
	int n;
};

struct holders {
	struct goreader *r;
	const struct go_object **objs;
	int nobjs;
	struct watched *w;
	int nw;
	struct frame_memo *memo;
	size_t memo_cap, memo_n;
	struct code_scanner *cs;
	unsigned char *code;
	/* the frame being decoded */
	struct use *cur;
	size_t ncur, capcur;
};

static int cmp_watched(const void *a, const void *b)
{
	const struct watched *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int object_at(const struct holders *h, uint64_t addr)
{
	size_t lo = 0, hi = (size_t)h->nw;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->w[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < (size_t)h->nw && h->w[lo].addr == addr ? h->w[lo].oi : -1;
}

static bool want(void *ctx, uint64_t target)
{
	return object_at(ctx, target) >= 0;
}

static const char *callee_name(struct goreader *r, uint64_t target)
{
	struct go_func f;
	return target && go_findfunc(r, target, &f) && f.entry == target ? go_funcname(r, f.nameoff) : NULL;
}

static bool named(const char *n, const char *a, const char *b)
{
	return n && (strcmp(n, a) == 0 || (b && strcmp(n, b) == 0));
}

static void hit(void *ctx, const struct code_ref *ref)
{
	struct holders *h = ctx;
	int oi = object_at(h, ref->addr);
	const struct go_object *o = h->objs[oi];
	const char *callee = ref->atomic ? NULL : callee_name(h->r, ref->callee);
	int net = 0;
	unsigned how = 1u << GO_REF_ADDRESS;
	if (o->kind == WAIT_MUTEX) {
		/* Go 1.24 moved the Mutex code into internal/sync, behind sync.Mutex */
		if (ref->atomic)
			net = ref->atomic;
		else if (named(callee, "sync.(*Mutex).Lock", "internal/sync.(*Mutex).Lock"))
			net = 1;
		else if (named(callee, "sync.(*Mutex).Unlock", "internal/sync.(*Mutex).Unlock"))
			net = -1;
	} else if (o->kind == WAIT_CHANNEL && callee) {
		if (named(callee, "runtime.chanrecv1", "runtime.chanrecv2"))
			how |= 1u << GO_REF_RECEIVED;
		else if (named(callee, "runtime.chansend1", NULL))
			how |= 1u << GO_REF_SENT;
		else if (named(callee, "runtime.closechan", NULL))
			how |= 1u << GO_REF_CLOSED;
		else if (strncmp(callee, "runtime.select", 14) == 0)
			how |= 1u << GO_REF_SELECTED;
	} else if (o->kind == WAIT_JOIN &&
		   named(callee, "sync.(*WaitGroup).Add", "sync.(*WaitGroup).Done")) {
		how |= 1u << GO_REF_ADDED;
	} else if (o->kind == WAIT_CONDVAR &&
		   named(callee, "sync.(*Cond).Signal", "sync.(*Cond).Broadcast")) {
		how |= 1u << GO_REF_SIGNALED;
	}
	VEC_RESERVE(h->cur, h->capcur, h->ncur + 1);
	h->cur[h->ncur++] = (struct use){ oi, net, how, ref->at, ref->effect_at ? ref->effect_at : ref->at };
}

/* The uses of the function's code [entry, end) that lead to ret, summed per object: a use
 * counts when it comes before ret in address order or control can get from it to ret; a
 * mutex is held when one of its locks gets to ret without passing one of its unlocks (by
 * address order, locks minus unlocks, when the function has jump tables). */
static int summarize(struct holders *h, const struct code_cfg *g, uint64_t ret, struct fref *out)
{
	int n = 0;
	bool cfg = g && code_cfg_complete(g);
	uint64_t *avoid = xmalloc(sizeof(*avoid) * (h->ncur ? h->ncur : 1));
	for (size_t i = 0; i < h->ncur; i++) {
		const struct use *u = &h->cur[i];
		bool counts = u->at < ret || (g && code_cfg_reaches(g, u->at, ret, NULL, 0));
		if (!counts)
			continue;
		int k;
		for (k = 0; k < n; k++)
			if (out[k].oi == u->oi)
				break;
		if (k == n) {
			if (n == MAX_OBJS)
				continue;
			out[n++] = (struct fref){ .oi = u->oi, .at = u->at };
		}
		out[k].hows |= u->hows;
		if (u->at < ret)
			out[k].net += u->effect;
		if (u->effect > 0 && !out[k].held && cfg) {
			size_t na = 0;
			for (size_t j = 0; j < h->ncur; j++)
				if (h->cur[j].oi == u->oi && h->cur[j].effect < 0)
					avoid[na++] = h->cur[j].effect_at;
			out[k].held = code_cfg_reaches(g, u->effect_at, ret, avoid, na);
		}
	}
	if (!cfg)
		for (int k = 0; k < n; k++)
			out[k].held = out[k].net > 0;
	free(avoid);
	return n;
}

static uint64_t hash2(uint64_t a, uint64_t b)
{
	uint64_t x = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return x ^ (x >> 29);
}

static struct frame_memo *memo_slot(struct holders *h, uint64_t entry, uint64_t ret)
{
	if (h->memo_n * 2 >= h->memo_cap) {
		struct frame_memo *old = h->memo;
		size_t oc = h->memo_cap;
		h->memo_cap = oc ? oc * 2 : 1024;
		h->memo = xcalloc(h->memo_cap, sizeof(*h->memo));
		for (size_t i = 0; i < oc; i++) {
			if (!old[i].entry)
				continue;
			size_t k = hash2(old[i].entry, old[i].ret) & (h->memo_cap - 1);
			while (h->memo[k].entry)
				k = (k + 1) & (h->memo_cap - 1);
			h->memo[k] = old[i];
		}
		free(old);
	}
	size_t k = hash2(entry, ret) & (h->memo_cap - 1);
	while (h->memo[k].entry) {
		if (h->memo[k].entry == entry && h->memo[k].ret == ret)
			return &h->memo[k];
		k = (k + 1) & (h->memo_cap - 1);
	}
	h->memo_n++;
	struct frame_memo *m = &h->memo[k];
	m->entry = entry;
	m->ret = ret;
	h->ncur = 0;
	/* the whole function: a loop's lock or unlock can sit after the PC in address order */
	uint64_t end = go_func_end(h->r, entry);
	if (end <= ret || end - entry > CODE_MAX)
		end = ret;
	size_t n = (size_t)(end - entry);
	struct code_cfg *g = NULL;
	if (go_read(h->r, entry, h->code, n)) {
		code_refs(h->cs, h->code, n, entry, want, hit, h);
		if (h->ncur && end > ret)
			g = code_cfg_build(h->cs, h->code, n, entry);
	}
	struct fref out[MAX_OBJS];
	m->n = h->ncur ? summarize(h, g, ret, out) : 0;
	if (m->n)
		m->v = arena_memdup(&h->r->s->arena, out, sizeof(*out) * (size_t)m->n);
	code_cfg_free(g);
	return m;
}

static bool skipped(const char *f)
{
	return !f || strncmp(f, "runtime.", 8) == 0 || strncmp(f, "sync.", 5) == 0 || strncmp(f, "internal/", 9) == 0;
}

/* One goroutine: what each of its current functions did, summed per object. */
static void goroutine_refs(struct holders *h, struct task *t)
{
	struct goroutine_info *gi = (struct goroutine_info *)t->go;
	struct go_ref refs[32];
	int nrefs = 0, nets[32];
	bool first = true;
	int frames = 0;
	for (int i = 0; i < t->npcs && t->syms && frames < FRAMES_MAX;) {
		const struct pcsym *ps = t->syms[i];
		uint64_t e = ps && ps->nframes ? ps->frames[0].func_entry : 0;
		/* the physical frame's inlined calls come first, each a PC of its own; its
		 * return address is that of its innermost inlined call */
		int j = i;
		while (j + 1 < t->npcs && t->syms[j + 1] && t->syms[j + 1]->nframes &&
		       t->syms[j + 1]->frames[0].func_entry == e && e)
			j++;
		const char *fn = ps && ps->nframes ? t->syms[j]->frames[0].function : NULL;
		uint64_t ret = t->pcs[i];
		int at = i;
		i = j + 1;
		if (!e || skipped(fn) || at == 0 || ret <= e || ret - e > CODE_MAX)
			continue;
		frames++;
		const struct frame_memo *m = memo_slot(h, e, ret);
		for (int k = 0; k < m->n; k++) {
			const struct fref *f = &m->v[k];
			const struct go_object *o = h->objs[f->oi];
			/* the last lock of the awaited mutex is the attempt that blocked: for it,
			 * locks minus unlocks before the PC, less that one */
			int net = first && o == gi->object && o->kind == WAIT_MUTEX ? f->net - 1 : f->held;
			int q;
			for (q = 0; q < nrefs; q++)
				if (refs[q].o == o)
					break;
			if (q == nrefs) {
				if (nrefs == 32)
					continue;
				refs[nrefs] = (struct go_ref){ o, 0, fn, f->at };
				nets[nrefs++] = 0;
			}
			refs[q].hows |= f->hows;
			nets[q] = net > nets[q] ? net : nets[q];
		}
		first = false;
	}
	const struct go_object *held[32];
	int nheld = 0;
	for (int q = 0; q < nrefs; q++)
		if (refs[q].o->kind == WAIT_MUTEX && nets[q] > 0) {
			refs[q].hows |= 1u << GO_REF_LOCKED;
			held[nheld++] = refs[q].o;
		}
	if (nrefs) {
		gi->refs = arena_memdup(&h->r->s->arena, refs, sizeof(*refs) * (size_t)nrefs);
		gi->nrefs = nrefs;
	}
	if (nheld) {
		gi->likely_holds = arena_memdup(&h->r->s->arena, held, sizeof(*held) * (size_t)nheld);
		gi->nlikely_holds = nheld;
	}
}

/* sync.Cond waiters: the runtime's notifyList records no object a goroutine could be found
 * from, so the Cond is the global the waiting function handed to sync.(*Cond).Wait (its code
 * loads it just before the call it is in now). Named, it is an object like the others. */
struct cond_find {
	struct goreader *r;
	uint64_t ret, found;
};

static bool any_static(void *ctx, uint64_t target)
{
	(void)ctx;
	(void)target;
	return true;
}

static void cond_ref(void *ctx, const struct code_ref *ref)
{
	struct cond_find *c = ctx;
	/* the call the goroutine is in: the one returning to ret */
	if (ref->callee && ref->effect_at < c->ret && ref->effect_at + 5 == c->ret &&
	    named(callee_name(c->r, ref->callee), "sync.(*Cond).Wait", NULL))
		c->found = ref->addr;
}

static void cond_objects(struct holders *h)
{
	struct goreader *r = h->r;
	struct go_object **made = NULL;
	size_t nmade = 0, cap = 0;
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *t = &r->gs[i];
		struct goroutine_info *gi = (struct goroutine_info *)t->go;
		if (gi->object || !gi->wait_reason || strcmp(gi->wait_reason, "sync.Cond.Wait") != 0 || !t->syms)
			continue;
		/* the first frame outside the runtime and sync, and the call it is in */
		for (int k = 1; k < t->npcs; k++) {
			const struct pcsym *ps = t->syms[k];
			const char *fn = ps && ps->nframes ? ps->frames[0].function : NULL;
			if (!fn || skipped(fn))
				continue;
			uint64_t e = ps->frames[0].func_entry, ret = t->pcs[k];
			if (e && ret > e && ret - e <= CODE_MAX && go_read(r, e, h->code, (size_t)(ret - e))) {
				struct cond_find c = { r, ret, 0 };
				code_refs(h->cs, h->code, (size_t)(ret - e), e, any_static, cond_ref, &c);
				struct go_object *o = NULL;
				for (size_t q = 0; c.found && q < nmade; q++)
					if (made[q]->address == c.found)
						o = made[q];
				if (c.found && !o) {
					o = ARENA_NEW(&r->s->arena, struct go_object, 1);
					o->kind = WAIT_CONDVAR;
					o->type = "sync.Cond";
					o->address = c.found;
					o->symbol = go_data_name(r, c.found);
					VEC_RESERVE(made, cap, nmade + 1);
					made[nmade++] = o;
				}
				if (o) {
					gi->object = o;
					gi->object_op = "waiting on";
				}
			}
			break;
		}
	}
	free(made);
}

void go_guess_holders(struct goreader *r)
{
	struct holders h = { .r = r };
	bool x86 = !r->s->arch || r->s->arch->id == ARCH_X86_64;
	if (x86 && (h.cs = code_scanner_new()) != NULL) {
		h.code = xmalloc(CODE_MAX);
		cond_objects(&h);
	}
	/* the objects goroutines wait on: only these can explain a wait */
	size_t capw = 0;
	for (size_t i = 0; i < r->ngs && h.nobjs < MAX_OBJS; i++) {
		const struct go_object *o = r->gs[i].go->object;
		uint64_t addr = !o ? 0 : o->kind == WAIT_CHANNEL ? o->holder
				 : o->kind == WAIT_MUTEX || o->kind == WAIT_JOIN || o->kind == WAIT_CONDVAR ? o->address : 0;
		if (!addr || object_at(&h, addr) >= 0)
			continue;
		h.objs = xrealloc(h.objs, sizeof(*h.objs) * (size_t)(h.nobjs + 1));
		h.objs[h.nobjs] = o;
		VEC_RESERVE(h.w, capw, (size_t)h.nw + 1);
		h.w[h.nw++] = (struct watched){ addr, h.nobjs++ };
		qsort(h.w, (size_t)h.nw, sizeof(*h.w), cmp_watched);
	}
	if (h.nobjs && !x86)
		snapshot_warn(r->s, "goroutines: no likely mutex holders, channel consumers or WaitGroup workers "
			      "on %s: chang reads x86_64 code only", r->s->arch->name);
	else if (h.nobjs && !h.cs)
		snapshot_warn(r->s, "goroutines: the disassembler (Capstone) could not start: no likely mutex "
			      "holders, channel consumers or WaitGroup workers");
	for (size_t i = 0; h.nobjs && h.cs && i < r->ngs; i++)
		goroutine_refs(&h, &r->gs[i]);
	code_scanner_free(h.cs);
	free(h.code);
	free(h.cur);
	free(h.memo);
	free(h.objs);
	free(h.w);
}
