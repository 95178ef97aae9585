/* Per-module lookup tables for naming data addresses, built once per module on first use:
 * the ELF data symbols (objects, and untyped ones) sorted by address, and the top-level
 * DWARF variables by name. libdwfl
 * answers an address by scanning every symbol, and finding a variable's DIE meant walking
 * every compile unit: in a program of 100,000 functions each lock name cost milliseconds. */
#ifndef CHANG_SYMINDEX_H
#define CHANG_SYMINDEX_H
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

struct symindex;
struct symindex *symindex_build(Dwfl_Module *mod);
void symindex_free(struct symindex *ix);

struct symhit {
	const char *name;	/* as in the symbol table (may carry "@VERSION") */
	uint64_t start, size;
	int type;		/* STT_* */
};
/* The data symbol whose extent covers addr, else the closest one starting at or below it
 * (the caller decides whether a sizeless one names it); false when there is none. */
bool symindex_lookup(const struct symindex *ix, uint64_t addr, struct symhit *hit);

/* The DIE of the top-level variable of that name in dw (a definition, or a declaration
 * with a location), from the first compile unit that has one; built as it is searched. */
struct varindex;
struct varindex *varindex_build(Dwarf *dw);
bool varindex_find(struct varindex *vx, Dwarf *dw, const char *name, Dwarf_Die *out);
void varindex_free(struct varindex *vx);

/* Compile units by address, from .debug_aranges read directly: libdwfl's first address
 * lookup in glibc's debug info built a descriptor for each of its 1,700 units (2.3 ms).
 * Empty (callers fall back to libdwfl) when there is no such section, as with clang. */
struct cuindex;
struct cuindex *cuindex_build(Dwarf *dw);
/* The offset of the unit whose ranges hold addr (a DWARF address, without the bias). */
bool cuindex_find(const struct cuindex *cx, uint64_t addr, Dwarf_Off *unit);
void cuindex_free(struct cuindex *cx);
#endif
