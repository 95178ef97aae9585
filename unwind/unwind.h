/* Turning each task's registers and copied stack into a list of PCs. Two CFI unwinders
 * over the same target, chosen at run time; tests run both and require the same stacks. */
#ifndef CHANG_UNWIND_H
#define CHANG_UNWIND_H
#include "model/snapshot.h"
#include "symbols/symbols.h"
#include "util/err.h"

enum unwinder { UNWINDER_LIBUNWIND, UNWINDER_LIBDW };
#define UNWINDER_DEFAULT UNWINDER_LIBDW
#define UNWIND_MAX_FRAMES_DEFAULT 256

/* Fill task->pcs for every task that has registers. */
int unwind_snapshot(struct snapshot *s, struct symbolizer *sz, enum unwinder which, int max_frames,
		    struct err *e);
int unwind_parse_name(const char *name, enum unwinder *out);

/* Backends. */
int unwind_libunwind(struct snapshot *s, int max_frames, struct err *e);
int unwind_libdw(struct snapshot *s, struct symbolizer *sz, int max_frames, struct err *e);

/* The walk's sanity rules, shared by both backends: returns false (and sets the task's
 * unwind_error) when the new frame must not be taken. */
bool unwind_accept_frame(struct task *t, uint64_t pc, uint64_t sp, uint64_t prev_sp, int max_frames);
void unwind_push(struct task *t, uint64_t pc, int *cap, struct arena *a);
#endif
