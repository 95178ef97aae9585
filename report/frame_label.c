#include "report/frame_label.h"
#include <inttypes.h>

const char *frame_where(const struct snapshot *s, const struct pcsym *ps, uint64_t pc, struct arena *a)
{
	uint64_t off;
	const struct module *m = pcsym_module(s, ps, pc, &off);
	return m ? arena_printf(a, "%s+0x%" PRIx64, module_basename(m), off) : NULL;
}

static const char *section_of(enum sym_source src)
{
	return src == SYM_DYNSYM ? ".dynsym" : src == SYM_MINIDEBUGINFO ? ".gnu_debugdata" : NULL;
}

bool frame_named(const struct sym_frame *f)
{
	return f && f->function;
}

const char *frame_label(const struct snapshot *s, const struct pcsym *ps, uint64_t pc,
			const struct sym_frame *f, bool with_offset, struct arena *a)
{
	const char *sect = f ? section_of(f->source) : NULL;
	/* The mark goes first, so that the cell still ends in "NAME+0xOFF" (Go's grammar)
	 * and holds what a reader searches for */
	if (!frame_named(f)) {
		const char *where = frame_where(s, ps, pc, a);
		const char *place = where ? where : arena_printf(a, "0x%" PRIx64, ps ? ps->lookup_pc : pc);
		if (f && f->near_symbol)
			return arena_printf(a, "[near %s, %s] %s", f->near_symbol, sect ? sect : ".symtab", place);
		return place;
	}
	const char *name = f->function;
	if (with_offset && f->func_entry && ps && f->func_entry <= ps->lookup_pc)
		name = arena_printf(a, "%s+0x%" PRIx64, name, ps->lookup_pc - f->func_entry);
	return sect ? arena_printf(a, "[%s] %s", sect, name) : name;
}
