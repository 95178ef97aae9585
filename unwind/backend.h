/* What every unwinder backend implements, and the rules they share (unwind/ only). One
 * table in unwind.c lists the backends, as strace's unwind.h does. */
#ifndef CHANG_UNWIND_BACKEND_H
#define CHANG_UNWIND_BACKEND_H
#include "unwind/unwind.h"

struct unwind_walk {
	struct symbolizer *sz;	/* may be NULL for backends that open modules themselves */
	int max_frames;
	/* Per task (index in s->tasks): the SP of the frame the walk stopped at for want of
	 * CFI, where the stack scan starts (unwind_want_scan); 0 when none. */
	uint64_t *scan_sp;
};

struct unwind_backend {
	const char *name;
	/* Whether it can walk stacks of architecture a (libunwind: only the one it was built
	 * for; libdwfl: any its backends know). */
	bool (*serves)(const struct arch *a);
	/* Walk every task that has registers and no PCs yet. */
	int (*walk)(struct snapshot *s, const struct unwind_walk *w, struct err *e);
};

extern const struct unwind_backend unwind_backend_libunwind;
extern const struct unwind_backend unwind_backend_libdw;

/* Whether a lookup PC has CFI, remembered: thousands of threads share their PCs, and the
 * question costs a table search (and for libdw an evaluation) each time. */
struct unwind_cfi_cache {
	uint64_t *keys;		/* pc + 1, 0 = empty */
	bool *vals;
	size_t cap, n;
};
/* 1 or 0 when known, -1 when not yet asked. */
int unwind_cfi_cache_get(const struct unwind_cfi_cache *c, uint64_t pc);
void unwind_cfi_cache_put(struct unwind_cfi_cache *c, uint64_t pc, bool has);
void unwind_cfi_cache_free(struct unwind_cfi_cache *c);

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
/* Why a walk may not step out of frame i (pc): its module's file is missing, so nothing
 * says whether the code keeps frame pointers and a guess would invent callers. NULL when
 * the PC is in a module that is there (it may still lack CFI: Go's stripped binaries keep
 * only frame pointers) or in no module (vDSO, generated code). Text in s's arena. */
const char *unwind_missing_module_error(struct snapshot *s, size_t i, uint64_t pc);
/* Frame i+1's PC (pc), found from frame i (prev_pc) by its CFI or by_fp by its frame
 * pointer, must be code: in an executable mapping or a module. Else the reason to stop
 * (s's arena), for both backends alike. */
const char *unwind_check_caller(struct snapshot *s, size_t i, uint64_t prev_pc, uint64_t pc, bool by_fp);
/* The frame-pointer step out of a frame without CFI, as libdwfl's x86-64 fallback takes it:
 * the caller's rbp at [rbp], its PC at [rbp+8], its SP rbp+16, which must lie above sp. */
bool unwind_fp_step(struct snapshot *s, uint64_t rbp, uint64_t sp, uint64_t *pc, uint64_t *new_sp,
		    uint64_t *new_rbp);
/* Musl's libraries (Debian's, Alpine's) carry no CFI for their own functions and keep no
 * frame pointers: on a musl target, a frame without CFI in a module that is there is not
 * stepped out of by its frame pointer (which would be any value the code left in rbp)
 * but by a scan of the stack (unwind/scan.c). Whether frame i (pc) is such a frame. */
bool unwind_want_scan(struct snapshot *s, size_t i, uint64_t pc);
/* Continue t's stack above its last frame (whose SP is sp) with the return addresses a
 * scan of the stack finds, each marked in t->scanned; sets or clears t->unwind_error. One
 * scanner serves every thread of the snapshot (it keeps its answers). */
struct unwind_scanner;
struct unwind_scanner *unwind_scanner_new(struct snapshot *s, struct symbolizer *sz);
void unwind_scan_task(struct unwind_scanner *sc, struct task *t, uint64_t sp, int max_frames);
void unwind_scanner_free(struct unwind_scanner *sc);
#endif
