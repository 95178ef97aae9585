/* A Go release newer than any chang was tested with is read the same way (everything that
 * can be is taken from the binary's own data), then checked before it is believed: every
 * runtime.allgs entry decoded, every PC of every goroutine inside a function of the
 * pclntab, every whole stack ending in runtime.goexit, where each goroutine starts, and no
 * walk stopped by an error. A layout that moved would fail at least one of these. */
#include "go/internal.h"

static bool resolves(struct goreader *r, uint64_t pc, struct go_func *f)
{
	return go_findfunc(r, pc - 1, f) || go_findfunc(r, pc, f);
}

bool go_verify(struct goreader *r, struct go_verdict *v)
{
	*v = (struct go_verdict){ 0 };
	for (size_t i = 0; i < r->ngs; i++) {
		const struct task *t = &r->gs[i];
		if (t->npcs == 0 && !t->unwind_error)
			continue;	/* no stack to check (running, with --no-stop) */
		v->checked++;
		if (t->unwind_error) {
			v->unwalked++;
			continue;
		}
		struct go_func f = { 0 };
		bool all = true;
		for (int k = 0; k < t->npcs && all; k++)
			all = resolves(r, t->pcs[k], &f);
		if (!all) {
			v->unresolved++;
			continue;
		}
		if (!t->truncated && (!resolves(r, t->pcs[t->npcs - 1], &f) || f.funcid != r->fid.goexit))
			v->unended++;
	}
	return r->unreadable == 0 && v->checked > 0 && !v->unresolved && !v->unended && !v->unwalked;
}
