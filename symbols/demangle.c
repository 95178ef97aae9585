#include "symbols/demangle.h"
#include <stdlib.h>
#include <string.h>

/* libstdc++'s demangler: the same one gdb, eu-stack and c++filt agree with. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

const char *demangle(const char *name, struct arena *a)
{
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status != 0) {
		free(d);
		return NULL;
	}
	const char *r = arena_strdup(a, d);
	free(d);
	return r;
}
