/* Symbols for recorded goroutine PCs, resolved as runtime.CallersFrames does: the PC looked
 * up is pc-1 unless pc is its function's entry; the name is the inline tree's at that PC
 * (the innermost inlined call), the file and line come from the physical function's
 * tables there, and offsets count from the physical function's entry. Go's pcbuf already
 * holds one PC per inlined call, so each pcsym here carries exactly one frame. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>

struct sym_cache {
	const struct pcsym **v;
	size_t cap, n;
};

static uint64_t hash_pc(uint64_t pc)
{
	uint64_t h = pc * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static const char *intern(struct goreader *r, const char *s)
{
	/* names point into the pclntab copy, which is freed after capture */
	return s ? arena_strdup(&r->s->arena, s) : NULL;
}

static struct pcsym *resolve(struct goreader *r, uint64_t pc)
{
	struct arena *a = &r->s->arena;
	struct pcsym *ps = ARENA_NEW(a, struct pcsym, 1);
	ps->pc = pc;
	ps->lookup_pc = pc;
	struct go_func f;
	if (!go_findfunc(r, pc, &f))
		return ps;
	uint64_t look = pc > f.entry ? pc - 1 : pc;
	ps->lookup_pc = look;
	struct sym_frame *fr = ARENA_NEW(a, struct sym_frame, 1);
	const char *name = go_funcname(r, f.nameoff);
	uint64_t tree = go_funcdata(r, &f, 3);
	int32_t ix = tree ? go_pcdata(r, &f, 2, look) : -1;
	struct go_inl inl;
	if (ix >= 0 && go_inl_at(r, tree, ix, &inl)) {
		name = go_funcname(r, inl.nameoff);
		fr->inlined = true;
	}
	fr->function = intern(r, name);
	fr->file = intern(r, go_file(r, &f, go_pcvalue(r, &f, f.pcfile, look)));
	int32_t line = go_pcvalue(r, &f, f.pcln, look);
	fr->line = line > 0 ? line : 0;
	fr->func_entry = f.entry;
	ps->frames = fr;
	ps->nframes = 1;
	return ps;
}

const struct pcsym *go_symbolize(struct goreader *r, uint64_t pc)
{
	struct sym_cache *c = r->symc;
	if (!c) {
		c = r->symc = xcalloc(1, sizeof(*c));
		c->cap = 1024;
		c->v = xcalloc(c->cap, sizeof(*c->v));
	}
	if (c->n * 2 >= c->cap) {
		const struct pcsym **old = c->v;
		size_t oldcap = c->cap;
		c->cap *= 2;
		c->v = xcalloc(c->cap, sizeof(*c->v));
		for (size_t i = 0; i < oldcap; i++) {
			if (!old[i])
				continue;
			size_t h = hash_pc(old[i]->pc) & (c->cap - 1);
			while (c->v[h])
				h = (h + 1) & (c->cap - 1);
			c->v[h] = old[i];
		}
		free(old);
	}
	size_t h = hash_pc(pc) & (c->cap - 1);
	while (c->v[h]) {
		if (c->v[h]->pc == pc)
			return c->v[h];
		h = (h + 1) & (c->cap - 1);
	}
	c->v[h] = resolve(r, pc);
	c->n++;
	return c->v[h];
}

void go_symcache_free(struct goreader *r)
{
	if (!r->symc)
		return;
	free(r->symc->v);
	free(r->symc);
	r->symc = NULL;
}
