/* How the text formats name a frame that its function's name does not place: by module and
 * offset ("libevent-2.1.so.7.0.1+0x2af13", the offset from the module's load address that
 * `eu-stack -b` prints), and a name from a partial symbol table marked as such. */
#ifndef CHANG_FRAME_LABEL_H
#define CHANG_FRAME_LABEL_H
#include <stdbool.h>
#include "model/snapshot.h"
#include "util/arena.h"

/* "MODULE+0xOFF" for the symbolized address of pc, or NULL when it is in no module. */
const char *frame_where(const struct snapshot *s, const struct pcsym *ps, uint64_t pc, struct arena *a);

/* The function cell: "name", with "+0xOFF" from its entry when with_offset and known; a
 * name from a partial table marked first: "[.dynsym] name+0xOFF", "[.gnu_debugdata] ...".
 * A guess (near) or no name at all: "MODULE+0xOFF", the guess marked first:
 * "[near name, .dynsym] MODULE+0xOFF". f may be NULL (no frame); then the module alone, or
 * the bare address outside any module. Every form ends in "+0xHEX", as Go's grammar has it. */
const char *frame_label(const struct snapshot *s, const struct pcsym *ps, uint64_t pc,
			const struct sym_frame *f, bool with_offset, struct arena *a);

/* Whether the frame has a function name (false: frame_label gives where it is). */
bool frame_named(const struct sym_frame *f);
#endif
