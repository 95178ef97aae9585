/* What every unwinder backend implements, and the rules they share (unwind/ only). One
 * table in unwind.c lists the backends, as strace's unwind.h does. */
#ifndef CHANG_UNWIND_BACKEND_H
#define CHANG_UNWIND_BACKEND_H
#include "unwind/unwind.h"

struct unwind_walk {
	struct symbolizer *sz;	/* may be NULL for backends that open modules themselves */
	int max_frames;
};

struct unwind_backend {
	const char *name;
	/* Walk every task that has registers and no PCs yet. */
	int (*walk)(struct snapshot *s, const struct unwind_walk *w, struct err *e);
};

extern const struct unwind_backend unwind_backend_libunwind;
extern const struct unwind_backend unwind_backend_libdw;

/* The walk's sanity rules, shared by both backends: returns false (and sets the task's
 * unwind_error) when the new frame must not be taken. */
bool unwind_accept_frame(struct task *t, uint64_t pc, uint64_t sp, uint64_t prev_sp, int max_frames);
void unwind_push(struct task *t, uint64_t pc, int *cap, struct arena *a);
/* The PC to look CFI up for, for frame i whose PC is pc: a return address points after
 * its call, which may be the next function's first byte. */
static inline uint64_t unwind_lookup_pc(size_t i, uint64_t pc)
{
	return i ? pc - 1 : pc;
}
/* Why a walk may not step out of frame i (pc) by guessing, when the module there gave the
 * backend no CFI for it (why_no_cfi: what the backend lacked in a module it has); NULL
 * when the PC is in no module (vDSO, generated code), where the backend's own fallback
 * stays. The text is in s's arena. */
const char *unwind_no_cfi_error(struct snapshot *s, size_t i, uint64_t pc, const char *why_no_cfi);
#endif
