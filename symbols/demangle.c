#include "symbols/demangle.h"
#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>

/* GNU libiberty's demangler, the one binutils (c++filt) and gdb use: C++ (Itanium ABI,
 * "_Z"), Rust's legacy mangling ("_ZN...17h<hash>E", which overlaps C++'s, so libiberty
 * tries Rust first and keeps C++ for the rest) and Rust's v0 mangling ("_R"). gdb's flags:
 * parameters and const/volatile, without DMGL_VERBOSE, which would print the Rust hash
 * (rustfilt drops it) and spell out std::string's template arguments. */
#define DEMANGLE_FLAGS (DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO)

const char *demangle(const char *name, struct arena *a)
{
	if (!name || (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0))
		return NULL;
	char *d = cplus_demangle(name, DEMANGLE_FLAGS);
	if (!d)
		return NULL;
	const char *r = arena_strdup(a, d);
	free(d);
	return r;
}
