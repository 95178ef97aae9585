/* Symbolization with elfutils' libdwfl over a target: each distinct PC once, inline frames
 * expanded, C++ names demangled, separate debug files found by build-id and debuglink. */
#ifndef CHANG_SYMBOLS_H
#define CHANG_SYMBOLS_H
#include "model/snapshot.h"
#include "target/target.h"
#include "util/err.h"

struct symbolizer;
/* Reports the snapshot's modules to a Dwfl (no file is parsed until a PC needs it). */
struct symbolizer *symbolizer_new(struct target *t, struct err *e);
/* Fill task->syms for every task and s->pcsyms. */
void symbolize_snapshot(struct symbolizer *sz, struct snapshot *s);
/* Name a data address for humans: "lock_a", "jobs.not_full", "forks[2]" (where DWARF
 * tells), else "symbol+0xOFF"; NULL when no symbol covers it (heap, stack). */
const char *symbolizer_data_name(struct symbolizer *sz, uint64_t addr, struct arena *a);
/* The Dwfl, for the libdw unwinder (which must share the modules). */
void *symbolizer_dwfl(struct symbolizer *sz);
void symbolizer_free(struct symbolizer *sz);
#endif
