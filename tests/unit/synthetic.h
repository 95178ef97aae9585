/* Building synthetic snapshots for the report tests: symbolized PCs and the stacks made of
 * them, in the snapshot's arena, as unwind/ and symbols/ would have left them. */
#ifndef CHANG_TEST_SYNTHETIC_H
#define CHANG_TEST_SYNTHETIC_H
#include "model/snapshot.h"
#include <string.h>

static inline struct sym_frame frame(const char *fn, const char *file, int line, uint64_t entry, bool inl)
{
	return (struct sym_frame){ .function = fn, .file = file, .line = line, .func_entry = entry, .inlined = inl };
}

static inline const struct pcsym *mk_pcsym(struct snapshot *s, uint64_t pc, uint64_t lookup, struct module *m,
					   int n, const struct sym_frame *fr)
{
	struct pcsym *p = ARENA_NEW(&s->arena, struct pcsym, 1);
	p->pc = pc;
	p->lookup_pc = lookup;
	p->module = m;
	p->nframes = n;
	p->frames = n ? arena_memdup(&s->arena, fr, sizeof(*fr) * (size_t)n) : NULL;
	return p;
}

static inline void set_stack(struct snapshot *s, struct task *t, int n, const struct pcsym *const *syms)
{
	t->pcs = ARENA_NEW(&s->arena, uint64_t, n);
	t->syms = arena_memdup(&s->arena, syms, sizeof(*syms) * (size_t)n);
	t->npcs = n;
	for (int i = 0; i < n; i++)
		t->pcs[i] = syms[i]->pc;
}
/* A stack of named frames, innermost first: names before "|" in module lib, after it in
 * module app. */
static inline void set_named_stack(struct snapshot *s, struct task *t, struct module *lib, struct module *app,
				   const char *const *names)
{
	const struct pcsym *v[12];
	int n = 0;
	struct module *m = lib;
	for (; *names && n < 12; names++) {
		if (strcmp(*names, "|") == 0) {
			m = app;
			continue;
		}
		struct sym_frame f = frame(*names, NULL, 0, 0x1000, false);
		v[n] = mk_pcsym(s, 0x1000 + (uint64_t)n * 16, 0x1000 + (uint64_t)n * 16, m, 1, &f);
		n++;
	}
	set_stack(s, t, n, v);
}

#endif
