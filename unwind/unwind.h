/* Turning each task's registers and copied stack into a list of PCs. Two CFI unwinders
 * over the same target, chosen at run time; tests run both and require the same stacks.
 * Neither guesses past a PC whose module gives no CFI for it (a missing file, a module
 * without the tables the backend reads): the walk stops there and says why. */
#ifndef CHANG_UNWIND_H
#define CHANG_UNWIND_H
#include "model/snapshot.h"
#include "util/err.h"

/* symbols/: the libdw unwinder walks with the symbolizer's Dwfl, so that modules are
 * opened once; other callers need not know what it is. */
struct symbolizer;

enum unwinder { UNWINDER_LIBUNWIND, UNWINDER_LIBDW, UNWINDER_COUNT };
#define UNWINDER_DEFAULT UNWINDER_LIBDW
#define UNWIND_MAX_FRAMES_DEFAULT 256

/* Fill task->pcs for every task that has registers; a walk that stops before the outermost
 * frame sets the task's unwind_error. */
int unwind_snapshot(struct snapshot *s, struct symbolizer *sz, enum unwinder which, int max_frames,
		    struct err *e);
int unwind_parse_name(const char *name, enum unwinder *out);
const char *unwind_name(enum unwinder which);
#endif
