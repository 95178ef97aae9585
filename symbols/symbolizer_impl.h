/* The symbolizer's state, shared by the files of symbols/ only. */
#ifndef CHANG_SYMBOLIZER_IMPL_H
#define CHANG_SYMBOLIZER_IMPL_H
#include <elfutils/libdwfl.h>
#include "model/snapshot.h"
#include "target/target.h"

struct symbolizer {
	struct target *target;
	struct snapshot *snap;
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	struct pcsym **table;	/* open-addressing hash of resolved PCs */
	size_t cap, count;
};
/* libdwfl's find_elf callback has no user argument of its own: the symbolizer being
 * built is reached through this (chang builds one at a time). */
extern struct symbolizer *symbolizer_current;
#endif
