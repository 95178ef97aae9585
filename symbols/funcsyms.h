/* Which symbol tables a module has, and, for a module without a full one, its function
 * symbols: the dynamic symbol table (.dynsym) and MiniDebugInfo (.gnu_debugdata, an
 * xz-compressed ELF with a .symtab, which libdwfl reads beside .dynsym as one table).
 * Such a table lacks the static functions, so the nearest symbol below a PC is often
 * another function: a lookup says so (near) rather than pass it off as the name. */
#ifndef CHANG_FUNCSYMS_H
#define CHANG_FUNCSYMS_H
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include "model/snapshot.h"

/* Sets m->has_debuginfo, has_symtab, has_dynsym, has_minidebuginfo and symbols_known. */
void symtables_probe(Dwfl_Module *mod, struct module *m);

struct funcsyms;
/* From libdwfl's table of a module without a full symbol table (m as probed). */
struct funcsyms *funcsyms_build(Dwfl_Module *mod, const struct module *m);
void funcsyms_free(struct funcsyms *fx);

struct funchit {
	const char *name;	/* as in the table (may carry "@VERSION") */
	uint64_t start, size;	/* start with the load bias applied */
	enum sym_source source;	/* SYM_DYNSYM or SYM_MINIDEBUGINFO */
	bool near;		/* addr lies past the symbol's extent, or it has none */
};
/* The function symbol covering addr, else the nearest one below it; false when none. */
bool funcsyms_lookup(const struct funcsyms *fx, uint64_t addr, struct funchit *hit);
#endif
