#include "unwind/backend.h"
#include "image/target.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

static const struct unwind_backend *const backends[UNWINDER_COUNT] = {
	[UNWINDER_LIBUNWIND] = &unwind_backend_libunwind,
	[UNWINDER_LIBDW] = &unwind_backend_libdw,
};

int unwind_parse_name(const char *name, enum unwinder *out)
{
	for (int i = 0; i < UNWINDER_COUNT; i++)
		if (strcmp(name, backends[i]->name) == 0) {
			*out = (enum unwinder)i;
			return 0;
		}
	return -1;
}

const char *unwind_name(enum unwinder which)
{
	return which < UNWINDER_COUNT ? backends[which]->name : "?";
}

bool unwind_accept_frame(struct task *task, uint64_t pc, uint64_t sp, uint64_t prev_sp, int max_frames)
{
	if (task->npcs >= max_frames) {
		task->truncated = true;
		return false;
	}
	if (pc == 0)
		return false;	/* the outermost frame (clone/_start) ends with a zero return address */
	/* Callers live at higher addresses: a frame whose SP goes down means a corrupt
	 * stack or bad CFI, and following it could loop forever. */
	if (task->npcs > 0 && sp < prev_sp) {
		task->unwind_error = "stack pointer went backwards (corrupt stack?)";
		return false;
	}
	if (task->npcs > 0 && sp == prev_sp && pc == task->pcs[task->npcs - 1]) {
		task->unwind_error = "unwinding made no progress";
		return false;
	}
	return true;
}

void unwind_push(struct task *task, uint64_t pc, int *cap, struct arena *a)
{
	if (task->npcs >= *cap) {
		int nc = *cap ? *cap * 2 : 32;
		uint64_t *n = ARENA_NEW(a, uint64_t, nc);
		if (task->npcs)
			memcpy(n, task->pcs, sizeof(uint64_t) * (size_t)task->npcs);
		task->pcs = n;
		*cap = nc;
	}
	task->pcs[task->npcs++] = pc;
}

const char *unwind_missing_module_error(struct snapshot *s, size_t i, uint64_t pc)
{
	const struct module *m = snapshot_module_at(s, unwind_lookup_pc(i, pc));
	if (!m || !m->missing)
		return NULL;
	return arena_printf(&s->arena, "frame #%zu (0x%llx) is in %s, whose file is missing: "
			    "no CFI to unwind past it", i, (unsigned long long)pc, m->name);
}

bool unwind_want_scan(struct snapshot *s, size_t i, uint64_t pc)
{
	const struct module *m = snapshot_module_at(s, unwind_lookup_pc(i, pc));
	/* the scan decodes x86_64 calls */
	return s->libc == LIBC_MUSL && (!s->arch || s->arch->id == ARCH_X86_64) && m && !m->missing;
}

const char *unwind_check_caller(struct snapshot *s, size_t i, uint64_t prev_pc, uint64_t pc, bool by_fp)
{
	const struct mapping *m = snapshot_mapping_at(s, pc - 1);
	if ((m && m->perms[2] == 'x') || snapshot_module_at(s, pc - 1))
		return NULL;
	return arena_printf(&s->arena, "frame #%zu (0x%llx): %s 0x%llx, which is no code", i,
			    (unsigned long long)prev_pc,
			    by_fp ? "it has no CFI, and its frame pointer leads to" : "its CFI gives the return address",
			    (unsigned long long)pc);
}

bool unwind_fp_step(struct snapshot *s, uint64_t rbp, uint64_t sp, uint64_t *pc, uint64_t *new_sp,
		    uint64_t *new_rbp)
{
	struct target *t = s->target;
	if (rbp == 0 || target_read_for_unwind(t, rbp + 8, pc, 8) != 8)
		return false;
	if (target_read_for_unwind(t, rbp, new_rbp, 8) != 8)
		*new_rbp = 0;
	*new_sp = rbp + 16;
	return *new_sp > sp;
}

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

int unwind_cfi_cache_get(const struct unwind_cfi_cache *c, uint64_t pc)
{
	if (!c->cap)
		return -1;
	for (size_t i = slot_of(pc + 1, c->cap);; i = (i + 1) & (c->cap - 1)) {
		if (c->keys[i] == 0)
			return -1;
		if (c->keys[i] == pc + 1)
			return c->vals[i];
	}
}

void unwind_cfi_cache_put(struct unwind_cfi_cache *c, uint64_t pc, bool has)
{
	if ((c->n + 1) * 2 > c->cap) {
		struct unwind_cfi_cache big = { .cap = c->cap ? c->cap * 2 : 256 };
		big.keys = xcalloc(big.cap, sizeof(*big.keys));
		big.vals = xcalloc(big.cap, sizeof(*big.vals));
		for (size_t i = 0; i < c->cap; i++)
			if (c->keys[i])
				unwind_cfi_cache_put(&big, c->keys[i] - 1, c->vals[i]);
		unwind_cfi_cache_free(c);
		*c = big;
	}
	size_t i = slot_of(pc + 1, c->cap);
	while (c->keys[i] && c->keys[i] != pc + 1)
		i = (i + 1) & (c->cap - 1);
	if (!c->keys[i])
		c->n++;
	c->keys[i] = pc + 1;
	c->vals[i] = has;
}

void unwind_cfi_cache_free(struct unwind_cfi_cache *c)
{
	free(c->keys);
	free(c->vals);
	memset(c, 0, sizeof(*c));
}

int unwind_snapshot(struct snapshot *s, struct symbolizer *sz, enum unwinder which, int max_frames,
		    struct err *e)
{
	if (which >= UNWINDER_COUNT)
		return err_set(e, ERR_USAGE, "no such unwinder");
	struct unwind_walk w = { .sz = sz, .max_frames = max_frames > 0 ? max_frames : UNWIND_MAX_FRAMES_DEFAULT };
	if (s->arch && !backends[which]->serves(s->arch)) {
		snapshot_warn(s, "the %s unwinder cannot walk %s stacks (it serves only the architecture "
			      "it was built for); libdw's is used", backends[which]->name, s->arch->name);
		which = UNWINDER_LIBDW;
	}
	w.scan_sp = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*w.scan_sp));
	int r = backends[which]->walk(s, &w, e);
	struct unwind_scanner *scan = NULL;
	for (size_t i = 0; r == 0 && i < s->ntasks; i++) {
		if (!w.scan_sp[i])
			continue;
		if (!scan)
			scan = unwind_scanner_new(s, sz);
		unwind_scan_task(scan, &s->tasks[i], w.scan_sp[i], w.max_frames);
	}
	unwind_scanner_free(scan);
	free(w.scan_sp);
	return r;
}
