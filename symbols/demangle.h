#ifndef CHANG_DEMANGLE_H
#define CHANG_DEMANGLE_H
#include "util/arena.h"
/* The demangled C++ name in the arena, or NULL when name is not a mangled C++ name. */
const char *demangle(const char *name, struct arena *a);
/* One line for --version: whether C++ names can be demangled in this build. */
const char *demangle_support(void);
#endif
