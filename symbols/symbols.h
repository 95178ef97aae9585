/* Symbolization with elfutils' libdwfl over a target: each distinct PC once, inline frames
 * expanded, C++ names demangled, separate debug files found by build-id and debuglink. */
#ifndef CHANG_SYMBOLS_H
#define CHANG_SYMBOLS_H
#include "model/snapshot.h"
#include "image/target.h"
#include "util/err.h"

struct symbolizer;
/* Reports the snapshot's modules to a Dwfl (no file is parsed until a PC needs it). */
struct symbolizer *symbolizer_new(struct target *t, struct err *e);
/* Fill task->syms for every task and s->pcsyms. */
void symbolize_snapshot(struct symbolizer *sz, struct snapshot *s);
/* Name a data address for humans: "lock_a", "jobs.not_full", "forks[2]" (where DWARF
 * tells), else "symbol+0xOFF"; NULL when no symbol covers it (heap, stack). */
const char *symbolizer_data_name(struct symbolizer *sz, uint64_t addr, struct arena *a);
/* The ELF symbol (function) covering a code address, as the symbol table spells it
 * ("__pthread_spin_lock"), or NULL; owned by the symbolizer. */
const char *symbolizer_function_at(struct symbolizer *sz, uint64_t addr);
/* The symbol a GOT slot's relocation names (a PLT stub's `jmp *slot`: the function it
 * calls), read from the module's file, or NULL; owned by the symbolizer's ELF. */
const char *symbolizer_got_slot_name(struct symbolizer *sz, uint64_t slot);
/* The Dwfl, for the libdw unwinder (which must share the modules). */
void *symbolizer_dwfl(struct symbolizer *sz);
void symbolizer_free(struct symbolizer *sz);
#endif
