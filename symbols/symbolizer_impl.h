/* The symbolizer's state, shared by the files of symbols/ only. */
#ifndef CHANG_SYMBOLIZER_IMPL_H
#define CHANG_SYMBOLIZER_IMPL_H
#include <elfutils/libdwfl.h>
#include "model/snapshot.h"
#include "image/target.h"
#include "symbols/funcsyms.h"
#include "symbols/symindex.h"

struct symbolizer {
	struct target *target;
	struct snapshot *snap;
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	struct pcsym **table;	/* open-addressing hash of resolved PCs */
	size_t cap, count;
	/* Names of data addresses already asked for: a thousand waiters ask about one lock,
	 * and each uncached lookup scans the whole symbol table (libdwfl's addrinfo). */
	struct data_name { uint64_t addr; const char *name; bool used; } *names;
	size_t names_cap, names_count;
	/* per module, built when a data address in it is first named (symbols/symindex.h) */
	struct modindex {
		Dwfl_Module *mod;
		struct symindex *syms;
		struct varindex *vars;
		struct cuindex *cus;
		struct funcsyms *funcs;	/* only for a module without a full symbol table */
		bool syms_built, vars_built, cus_built, funcs_built;
	} *mods;
	size_t nmods;
};
/* The lookup tables of one module (built by their users, on first need). */
struct modindex *symbolizer_modindex(struct symbolizer *sz, Dwfl_Module *mod);
/* libdwfl's find_elf callback has no user argument of its own: the symbolizer being
 * built is reached through this (chang builds one at a time). */
extern struct symbolizer *symbolizer_current;
#endif
