#include "unwind/unwind.h"
#include <string.h>

int unwind_parse_name(const char *name, enum unwinder *out)
{
	if (strcmp(name, "libunwind") == 0)
		*out = UNWINDER_LIBUNWIND;
	else if (strcmp(name, "libdw") == 0)
		*out = UNWINDER_LIBDW;
	else
		return -1;
	return 0;
}

bool unwind_accept_frame(struct task *t, uint64_t pc, uint64_t sp, uint64_t prev_sp, int max_frames)
{
	if (t->npcs >= max_frames) {
		t->truncated = true;
		return false;
	}
	if (pc == 0)
		return false;	/* the outermost frame (clone/_start) ends with a zero return address */
	/* Callers live at higher addresses: a frame whose SP goes down means a corrupt
	 * stack or bad CFI, and following it could loop forever. */
	if (t->npcs > 0 && sp < prev_sp) {
		t->unwind_error = "stack pointer went backwards (corrupt stack?)";
		return false;
	}
	if (t->npcs > 0 && sp == prev_sp && pc == t->pcs[t->npcs - 1]) {
		t->unwind_error = "unwinding made no progress";
		return false;
	}
	return true;
}

void unwind_push(struct task *t, uint64_t pc, int *cap, struct arena *a)
{
	if (t->npcs >= *cap) {
		int nc = *cap ? *cap * 2 : 32;
		uint64_t *n = ARENA_NEW(a, uint64_t, nc);
		if (t->npcs)
			memcpy(n, t->pcs, sizeof(uint64_t) * (size_t)t->npcs);
		t->pcs = n;
		*cap = nc;
	}
	t->pcs[t->npcs++] = pc;
}

int unwind_snapshot(struct snapshot *s, struct symbolizer *sz, enum unwinder which, int max_frames,
		    struct err *e)
{
	if (max_frames <= 0)
		max_frames = UNWIND_MAX_FRAMES_DEFAULT;
	return which == UNWINDER_LIBDW ? unwind_libdw(s, sz, max_frames, e)
				       : unwind_libunwind(s, max_frames, e);
}
