/* How well the stacks are named: how many frames have no name or only a guess, and which
 * modules they run in lack symbols, with what to fetch to name them later. */
#ifndef CHANG_SYMSUMMARY_H
#define CHANG_SYMSUMMARY_H
#include <stddef.h>
#include "model/snapshot.h"

struct symsummary {
	size_t frames;		/* physical frames of every stack (one per PC) */
	size_t unnamed;		/* without a function name */
	size_t near;		/* of those, with a partial table's nearest symbol as a guess */
	/* modules a stack runs in without a full symbol table or debug information (or whose
	 * file is missing), in the snapshot's order */
	const struct module **modules;
	size_t *module_frames;	/* frames in each of them */
	size_t nmodules;
};

void symsummary_build(const struct snapshot *s, struct symsummary *out);
void symsummary_free(struct symsummary *sum);
/* "dwarf", "symtab", "minidebuginfo", "dynsym", "none"; NULL when symbols/ never looked
 * (no stack runs in it). */
const char *module_symbols_kind(const struct module *m);
#endif
