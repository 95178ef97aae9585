/* Two kinds of evidence that a thread holds a lock:
 * - a word of its live stack (from its SP to the top of its stack mapping) or one of its
 *   registers points at the lock: a lock guard (Rust's MutexGuard holds &Mutex), or a
 *   spinlock pointer kept across the critical section;
 * - the code of its current functions, from each one's entry up to where it now is, takes
 *   the lock's address (x86-64 RIP-relative operands, decoded with Capstone): it went
 *   through code that locks a static lock, and sits somewhere after it.
 * Either can be stale (a guard already dropped, code that also unlocked), so a holder is
 * named only when one thread has more evidence than every other, and always as likely. A
 * thread waiting for the same lock is no holder. */
#include "analyzers/likely_holders.h"
#include "analyzers/describe.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include "util/coderefs.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define MAX_LOCKS 64
#define STACK_SCAN_MAX (256u << 10)
#define FUNC_CODE_MAX (64u << 10)
#define CODE_BUDGET (8u << 20)	/* bytes decoded per capture, at most */
#define FRAMES_MAX 24

struct hit {
	int64_t stack_off;	/* offset from SP of a word pointing at the lock; -1 none */
	const char *reg;	/* a register holding its address, or NULL */
	const char *function;	/* a current function that takes its address, or NULL */
	uint64_t code_at;
	const char *lock_call;	/* the lock function called with it just after, or NULL */
};

struct scan {
	struct snapshot *s;
	uint64_t locks[MAX_LOCKS];
	int nlocks;
	struct hit *hits;	/* [task * nlocks + lock] */
	size_t code_left;
	bool code_skipped;
	struct code_scanner *cs;	/* NULL when Capstone could not start */
};

static int lock_index(const struct scan *sc, uint64_t addr)
{
	for (int i = 0; i < sc->nlocks; i++)
		if (sc->locks[i] == addr)
			return i;
	return -1;
}

static void scan_stack(struct scan *sc, size_t ti)
{
	struct task *t = &sc->s->tasks[ti];
	if (!t->have_regs || !sc->s->target)
		return;
	uint64_t sp = regs_sp(&t->regs);
	const struct mapping *m = snapshot_mapping_at(sc->s, sp);
	if (!m)
		return;
	uint64_t end = m->end - sp > STACK_SCAN_MAX ? sp + STACK_SCAN_MAX : m->end;
	size_t len = (size_t)(end - sp) & ~(size_t)7;
	uint64_t *buf = xmalloc(len ? len : 8);
	size_t got = target_read(sc->s->target, sp, buf, len) / 8;
	for (size_t k = 0; k < got; k++) {
		int li = lock_index(sc, buf[k]);
		if (li >= 0 && sc->hits[ti * (size_t)sc->nlocks + (size_t)li].stack_off < 0)
			sc->hits[ti * (size_t)sc->nlocks + (size_t)li].stack_off = (int64_t)(k * 8);
	}
	free(buf);
	/* the registers a lock's address may still be in: callee-saved ones and arguments */
	static const struct { const char *name; int word; } x86_64[] = {
		{ "rbx", 5 }, { "rbp", 4 }, { "r12", 3 }, { "r13", 2 }, { "r14", 1 }, { "r15", 0 },
		{ "rdi", 14 }, { "rsi", 13 }, { "rdx", 12 }, { "rcx", 11 }, { "r8", 9 }, { "r9", 8 },
	}, aarch64[] = {
		{ "x19", 19 }, { "x20", 20 }, { "x21", 21 }, { "x22", 22 }, { "x23", 23 }, { "x24", 24 },
		{ "x25", 25 }, { "x26", 26 }, { "x27", 27 }, { "x28", 28 }, { "x0", 0 }, { "x1", 1 },
		{ "x2", 2 }, { "x3", 3 }, { "x4", 4 }, { "x5", 5 }, { "x6", 6 }, { "x7", 7 },
	};
	bool x86 = t->regs.arch->id == ARCH_X86_64;
	size_t nregs = x86 ? sizeof(x86_64) / sizeof(*x86_64) : sizeof(aarch64) / sizeof(*aarch64);
	for (size_t r = 0; r < nregs; r++) {
		const char *name = x86 ? x86_64[r].name : aarch64[r].name;
		int li = lock_index(sc, t->regs.w[x86 ? x86_64[r].word : aarch64[r].word]);
		if (li >= 0 && !sc->hits[ti * (size_t)sc->nlocks + (size_t)li].reg)
			sc->hits[ti * (size_t)sc->nlocks + (size_t)li].reg = name;
	}
}

/* The function a direct call lands in, through a PLT stub's GOT slot when it is one
 * (`[endbr64;] [bnd] jmp *GOT(%rip)`), by its symbol name. */
static const char *call_target_name(struct scan *sc, uint64_t target)
{
	unsigned char stub[16];
	size_t n = target_read(sc->s->target, target, stub, sizeof(stub));
	uint64_t slot, fn;
	if (!code_jump_slot(sc->cs, stub, n, target, &slot))
		return symbolizer_function_at(sc->s->symbolizer, target);
	/* the slot's relocation names the function; a copied slot, where it landed */
	const char *name = symbolizer_got_slot_name(sc->s->symbolizer, slot);
	if (!name && target_read_u64(sc->s->target, slot, &fn))
		name = symbolizer_function_at(sc->s->symbolizer, fn);
	return name;
}

/* A lock function: pthread_mutex_lock, pthread_spin_lock, pthread_rwlock_wrlock, a Rust or
 * C++ ...::lock, not unlock, init or destroy. */
static bool lock_function(const char *name)
{
	char buf[128];
	const char *fn = describe_plain_function(name, buf, sizeof(buf));
	const char *l = strstr(fn, "lock");
	return l && !strstr(fn, "unlock") && !strstr(fn, "init") && !strstr(fn, "destroy") &&
	       !strstr(fn, "trylock") && !strstr(fn, "clock");
}

struct code_ctx {
	struct scan *sc;
	size_t ti;
	const char *fn;
};

static bool want_lock(void *ctx, uint64_t target)
{
	const struct code_ctx *c = ctx;
	return lock_index(c->sc, target) >= 0;
}

static void lock_ref(void *ctx, const struct code_ref *r)
{
	const struct code_ctx *c = ctx;
	struct hit *h = &c->sc->hits[c->ti * (size_t)c->sc->nlocks + (size_t)lock_index(c->sc, r->addr)];
	if (h->function && h->lock_call)
		return;
	/* the code up to the PC only: a call after it is still to come */
	const char *name = r->callee ? call_target_name(c->sc, r->callee) : NULL;
	const char *lc = name && lock_function(name) ? name : NULL;
	if (!h->function || lc) {
		h->function = c->fn;
		h->code_at = r->at;
		h->lock_call = lc;
	}
}

/* RIP-relative operands in [entry, end): the static addresses the code takes. */
static void scan_code(struct scan *sc, size_t ti, const char *fn, uint64_t entry, uint64_t end)
{
	size_t len = (size_t)(end - entry);
	if (len > sc->code_left) {
		sc->code_skipped = true;
		return;
	}
	sc->code_left -= len;
	unsigned char *code = xmalloc(len);
	size_t n = target_read(sc->s->target, entry, code, len);
	struct code_ctx c = { sc, ti, fn };
	code_refs(sc->cs, code, n, entry, want_lock, lock_ref, &c);
	free(code);
}

static void scan_frames(struct scan *sc, size_t ti)
{
	struct task *t = &sc->s->tasks[ti];
	if (!t->syms || !sc->cs || !sc->s->target)
		return;
	for (int i = 0; i < t->npcs && i < FRAMES_MAX; i++) {
		const struct pcsym *ps = t->syms[i];
		if (!ps || !ps->nframes)
			continue;
		const struct sym_frame *phys = &ps->frames[ps->nframes - 1];
		uint64_t entry = phys->func_entry, end = t->pcs[i];
		if (!entry || end <= entry || end - entry > FUNC_CODE_MAX)
			continue;
		scan_code(sc, ti, phys->function ? phys->function : "?", entry, end);
	}
}

/* A pointer on the stack or in a register, and code that took the address: one point each;
 * code that handed it to a lock function: two. */
static int score(const struct hit *h)
{
	return (h->stack_off >= 0 || h->reg) + (h->function != NULL) + (h->lock_call != NULL);
}

static const char *evidence_text(struct snapshot *s, const struct hit *h, const char *lock)
{
	const char *st = NULL, *code = NULL;
	if (h->stack_off >= 0)
		st = arena_printf(&s->arena, "its stack holds a pointer to %s at sp+%#llx (a lock guard)", lock,
				  (unsigned long long)h->stack_off);
	else if (h->reg)
		st = arena_printf(&s->arena, "its register %s points at %s", h->reg, lock);
	if (h->function && h->lock_call)
		code = arena_printf(&s->arena, "%s, where it is now, called %s on %s before (code at %#llx)",
				    h->function, h->lock_call, lock, (unsigned long long)h->code_at);
	else if (h->function)
		code = arena_printf(&s->arena, "%s, where it is now, took the address of %s before (code at %#llx)",
				    h->function, lock, (unsigned long long)h->code_at);
	if (st && code)
		return arena_printf(&s->arena, "%s; %s", st, code);
	return st ? st : code;
}

static void choose(struct scan *sc, struct task *t, int li)
{
	struct snapshot *s = sc->s;
	struct wait *w = t->wait;
	int best = 0, nbest = 0;
	size_t bi = 0;
	for (size_t u = 0; u < s->ntasks; u++) {
		const struct task *o = &s->tasks[u];
		if (o == t || (o->wait && o->wait->kind == w->kind && o->wait->address == w->address))
			continue;
		int sc_ = score(&sc->hits[u * (size_t)sc->nlocks + (size_t)li]);
		if (sc_ > best) {
			best = sc_;
			nbest = 1;
			bi = u;
		} else if (sc_ == best && sc_ > 0) {
			nbest++;
		}
	}
	const char *lock = describe_wait_object(s, w, &s->arena);
	if (best == 0)
		return;
	if (nbest > 1) {
		w->evidence = arena_printf(&s->arena, "%d threads show the same evidence of holding %s: no likely "
					   "holder", nbest, lock);
		return;
	}
	w->likely_owner = s->tasks[bi].tid;
	w->likely_strength = best;
	w->evidence = evidence_text(s, &sc->hits[bi * (size_t)sc->nlocks + (size_t)li], lock);
}

void infer_likely_holders(struct snapshot *s)
{
	struct scan sc = { .s = s, .code_left = CODE_BUDGET };
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct wait *w = s->tasks[i].wait;
		if (w && w->holder_inferable && w->address && lock_index(&sc, w->address) < 0 &&
		    sc.nlocks < MAX_LOCKS)
			sc.locks[sc.nlocks++] = w->address;
	}
	if (!sc.nlocks)
		return;
	sc.hits = xcalloc(s->ntasks * (size_t)sc.nlocks, sizeof(*sc.hits));
	for (size_t k = 0; k < s->ntasks * (size_t)sc.nlocks; k++)
		sc.hits[k].stack_off = -1;
	/* the code reading below (RIP-relative operands, PLT stubs) is x86_64's */
	bool x86 = s->arch && s->arch->id == ARCH_X86_64;
	sc.cs = x86 ? code_scanner_new() : NULL;
	if (!x86)
		snapshot_warn(s, "likely lock holders of a %s target rest on stacks and registers only: "
			      "chang reads x86_64 code only", s->arch ? s->arch->name : "?");
	else if (!sc.cs)
		snapshot_warn(s, "the disassembler (Capstone) could not start: likely lock holders rest on "
			      "stacks and registers only");
	for (size_t i = 0; i < s->ntasks; i++) {
		scan_stack(&sc, i);
		scan_frames(&sc, i);
	}
	if (sc.code_skipped)
		snapshot_warn(s, "likely lock holders: code of some threads' functions was not read (over %u MB "
			      "in all); their evidence rests on stacks and registers", CODE_BUDGET >> 20);
	for (size_t i = 0; i < s->ntasks; i++) {
		struct task *t = &s->tasks[i];
		int li = t->wait && t->wait->holder_inferable ? lock_index(&sc, t->wait->address) : -1;
		if (li >= 0)
			choose(&sc, t, li);
	}
	code_scanner_free(sc.cs);
	free(sc.hits);
}
