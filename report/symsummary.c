#include "report/symsummary.h"
#include "util/xalloc.h"
#include <stdlib.h>

const char *module_symbols_kind(const struct module *m)
{
	if (!m->symbols_known)
		return NULL;
	return m->has_debuginfo ? "dwarf" : m->has_symtab ? "symtab" : m->has_minidebuginfo ? "minidebuginfo"
		: m->has_dynsym ? "dynsym" : "none";
}

static bool lacks_symbols(const struct module *m)
{
	return m->missing || (m->symbols_known && !m->has_debuginfo && !m->has_symtab);
}

static void count_task(const struct snapshot *s, const struct task *t, struct symsummary *sum, size_t *per_module)
{
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		const struct sym_frame *phys = ps && ps->nframes ? &ps->frames[ps->nframes - 1] : NULL;
		uint64_t off;
		const struct module *m = pcsym_module(s, ps, t->pcs[i], &off);
		sum->frames++;
		if (!phys || !phys->function)
			sum->unnamed++;
		if (phys && !phys->function && phys->near_symbol)
			sum->near++;
		if (m)
			per_module[m - s->modules]++;
	}
}

void symsummary_build(const struct snapshot *s, struct symsummary *sum)
{
	*sum = (struct symsummary){ 0 };
	size_t *per_module = xcalloc(s->nmodules ? s->nmodules : 1, sizeof(*per_module));
	for (size_t i = 0; i < s->ntasks; i++)
		count_task(s, &s->tasks[i], sum, per_module);
	for (size_t i = 0; i < s->ngoroutines; i++)
		count_task(s, &s->goroutines[i], sum, per_module);
	sum->modules = xcalloc(s->nmodules ? s->nmodules : 1, sizeof(*sum->modules));
	sum->module_frames = xcalloc(s->nmodules ? s->nmodules : 1, sizeof(*sum->module_frames));
	for (size_t i = 0; i < s->nmodules; i++) {
		if (!per_module[i] || !lacks_symbols(&s->modules[i]))
			continue;
		sum->modules[sum->nmodules] = &s->modules[i];
		sum->module_frames[sum->nmodules++] = per_module[i];
	}
	free(per_module);
}

void symsummary_free(struct symsummary *sum)
{
	free(sum->modules);
	free(sum->module_frames);
	*sum = (struct symsummary){ 0 };
}
