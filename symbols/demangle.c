#include "symbols/demangle.h"
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef char *demangle_fn(const char *mangled, char *buf, size_t *len, int *status);

/* libstdc++'s demangler, the one gdb, eu-stack and c++filt agree with, loaded at the first
 * C++ name: linking it in cost every run half a millisecond of start-up, C programs too. */
static demangle_fn *cxa_demangle(void)
{
	static demangle_fn *fn;
	static bool tried;
	if (!tried) {
		tried = true;
#ifdef CHANG_STATIC
		return NULL;	/* a static program cannot load a shared library (symbols/demangle_support.c) */
#endif
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			fn = (demangle_fn *)dlsym(h, "__cxa_demangle");
	}
	return fn;
}

const char *demangle(const char *name, struct arena *a)
{
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	demangle_fn *fn = cxa_demangle();
	if (!fn)
		return NULL;	/* no libstdc++ on this machine: names stay mangled */
	int status = 0;
	char *d = fn(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return NULL;
	}
	const char *r = arena_strdup(a, d);
	free(d);
	return r;
}
