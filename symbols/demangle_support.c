/* What --version says of the C++ demangler: it is libstdc++'s, loaded with dlopen at the
 * first C++ name (symbols/demangle.c), so a static chang has none. */
#include "symbols/demangle.h"
#include <dlfcn.h>

const char *demangle_support(void)
{
#ifdef CHANG_STATIC
	return "C++ demangler: not in this static build (libstdc++'s is loaded with dlopen); C++ names stay mangled";
#else
	void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
	if (!h)
		h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (h)
		dlclose(h);
	return h ? "C++ demangler: libstdc++'s __cxa_demangle (loaded with dlopen)"
		 : "C++ demangler: not available (libstdc++.so.6 not found); C++ names stay mangled";
#endif
}
