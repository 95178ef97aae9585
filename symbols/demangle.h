#ifndef CHANG_DEMANGLE_H
#define CHANG_DEMANGLE_H
#include "util/arena.h"
/* The demangled C++ or Rust name in the arena ("ns::f(int)", "ledger::LEDGER",
 * "<T as core::fmt::Debug>::fmt"), or NULL when name is not a mangled C++ or Rust name. */
const char *demangle(const char *name, struct arena *a);
#endif
