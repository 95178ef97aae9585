/* A guess at who holds a sync.Mutex, which records no owner. For each goroutine blocked
 * locking a mutex, the code of its blocked function from entry up to the call it blocks in
 * is scanned for locks of the other contended global mutexes: `LEA mu(SB)` followed by the
 * inlined Lock fast path (LOCK CMPXCHG) or a call to sync.(*Mutex).Lock, minus those undone
 * by the inlined Unlock (LOCK XADD) or a call to Unlock. It follows code in address order,
 * not control flow, and sees only globals: findings built on it say "likely". */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define CODE_MAX (64u << 10)
#define LOOKAHEAD 40
#define MAX_HELD 16

struct tally {
	const struct go_object *o;
	int n;
};

/* The call site in the goroutine's first frame outside sync and the runtime: its function's
 * entry and the return address of the call it blocks in. */
static bool blocked_site(const struct task *t, uint64_t *entry, uint64_t *ret)
{
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		if (!ps || !ps->nframes || !ps->frames[0].function)
			return false;
		const char *f = ps->frames[0].function;
		/* Go 1.24 moved the Mutex code into internal/sync, behind sync.Mutex */
		if (strncmp(f, "runtime.", 8) == 0 || strncmp(f, "sync.", 5) == 0 || strncmp(f, "internal/sync.", 14) == 0)
			continue;
		/* the physical frame's own return address is that of its innermost inlined call */
		uint64_t e = ps->frames[0].func_entry;
		int j = i;
		while (j > 0 && t->syms[j - 1] && t->syms[j - 1]->nframes && t->syms[j - 1]->frames[0].func_entry == e)
			j--;
		*entry = e;
		*ret = t->pcs[j];
		return e && *ret > e;
	}
	return false;
}

static void count(struct tally *v, int *nv, const struct go_object *o, int d)
{
	for (int i = 0; i < *nv; i++)
		if (v[i].o == o) {
			v[i].n += d;
			return;
		}
	if (*nv < MAX_HELD)
		v[(*nv)++] = (struct tally){ o, d };
}

/* What follows `LEA mu` within a few instructions: +1 lock, -1 unlock, 0 neither. */
static int effect(struct goreader *r, const unsigned char *code, size_t n, size_t at, uint64_t base)
{
	for (size_t k = at; k + 5 <= n && k < at + LOOKAHEAD; k++) {
		if (code[k] == 0xf0) {
			/* LOCK [REX] 0F B1 is CMPXCHG, Mutex.Lock's fast path; 0F C1 is XADD, Unlock's */
			size_t q = k + 1 + ((code[k + 1] & 0xf0) == 0x40);
			if (code[q] == 0x0f && code[q + 1] == 0xb1)
				return 1;
			if (code[q] == 0x0f && code[q + 1] == 0xc1)
				return -1;
		}
		if (code[k] == 0xe8) {
			uint64_t target = base + k + 5 + (uint64_t)(int64_t)(int32_t)go_le32(code + k + 1);
			struct go_func f;
			const char *name = go_findfunc(r, target, &f) && f.entry == target ? go_funcname(r, f.nameoff) : NULL;
			if (name && (strcmp(name, "sync.(*Mutex).Lock") == 0 ||
				     strcmp(name, "internal/sync.(*Mutex).Lock") == 0))
				return 1;
			if (name && (strcmp(name, "sync.(*Mutex).Unlock") == 0 ||
				     strcmp(name, "internal/sync.(*Mutex).Unlock") == 0))
				return -1;
			return 0;	/* some other call consumed the address */
		}
	}
	return 0;
}

static const struct go_object *mutex_at(const struct go_object *const *objs, int nobjs, uint64_t addr)
{
	for (int i = 0; i < nobjs; i++)
		if (objs[i]->address == addr)
			return objs[i];
	return NULL;
}

void go_guess_holders(struct goreader *r)
{
	/* the contended mutexes: only these can explain a wait */
	const struct go_object **objs = NULL;
	int nobjs = 0;
	size_t cap = 0;
	for (size_t i = 0; i < r->ngs; i++) {
		const struct go_object *o = r->gs[i].go->object;
		if (!o || o->kind != WAIT_MUTEX || mutex_at(objs, nobjs, o->address) || nobjs >= 256)
			continue;
		VEC_RESERVE(objs, cap, (size_t)nobjs + 1);
		objs[nobjs++] = o;
	}
	if (!nobjs)
		return;
	unsigned char *code = xmalloc(CODE_MAX);
	/* goroutines blocked at one call site share the answer */
	uint64_t last_entry = 0, last_ret = 0;
	const struct go_object *held[MAX_HELD];
	int nheld = 0;
	const struct go_object *last_wait = NULL;
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *t = &r->gs[i];
		struct goroutine_info *gi = (struct goroutine_info *)t->go;
		if (!gi->object || gi->object->kind != WAIT_MUTEX)
			continue;
		uint64_t entry, ret;
		if (!blocked_site(t, &entry, &ret))
			continue;
		if (entry != last_entry || ret != last_ret || gi->object != last_wait) {
			last_entry = entry;
			last_ret = ret;
			last_wait = gi->object;
			nheld = 0;
			size_t n = ret - entry > CODE_MAX ? CODE_MAX : (size_t)(ret - entry);
			if (!go_read(r, entry, code, n))
				continue;
			struct tally v[MAX_HELD];
			int nv = 0;
			for (size_t k = 0; k + 7 <= n; k++) {
				if ((code[k] != 0x48 && code[k] != 0x4c) || code[k + 1] != 0x8d || (code[k + 2] & 0xc7) != 0x05)
					continue;
				uint64_t target = entry + k + 7 + (uint64_t)(int64_t)(int32_t)go_le32(code + k + 3);
				const struct go_object *o = mutex_at(objs, nobjs, target);
				if (o)
					count(v, &nv, o, effect(r, code, n, k + 7, entry));
			}
			/* the last lock of the awaited mutex is the attempt that blocked */
			count(v, &nv, gi->object, -1);
			for (int k = 0; k < nv; k++)
				if (v[k].n > 0)
					held[nheld++] = v[k].o;
		}
		if (!nheld)
			continue;
		gi->likely_holds = arena_memdup(&r->s->arena, held, sizeof(*held) * (size_t)nheld);
		gi->nlikely_holds = nheld;
	}
	free(code);
	free(objs);
}
