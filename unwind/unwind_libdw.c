/* libdw backend: libdwfl's unwinder (CFI from .eh_frame/.debug_frame, frame-pointer
 * fallback) with our own thread callbacks, so it walks the frozen copy rather than a
 * process it would have to ptrace itself. */
#include "unwind/backend.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include "util/progress.h"
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

struct dw_ctx {
	struct snapshot *s;
	size_t next;		/* next_thread's cursor */
	int max_frames;
	int cap;
	uint64_t prev_sp;
	struct task *cur;
	Dwfl *dwfl;
	bool last_has_cfi;	/* the last frame taken has CFI to step out of it */
	uint64_t last_pc;
	uint64_t last_rbp;
	bool last_by_fp;	/* the last frame taken was reached by the frame pointer */
	struct unwind_cfi_cache cfi;
	bool ended;		/* frame_cb stopped the walk at its normal end */
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct dw_ctx *c = arg;
	while (c->next < c->s->ntasks) {
		struct task *task = &c->s->tasks[c->next++];
		if (task->have_regs) {
			*thread_argp = task;
			return task->tid;
		}
	}
	return 0;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct dw_ctx *c = arg;
	struct task *task = snapshot_find_task(c->s, tid);
	if (!task || !task->have_regs)
		return false;
	*thread_argp = task;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct dw_ctx *c = arg;
	uint64_t v;
	if (target_read_for_unwind(c->s->target, addr, &v, 8) != 8)
		return false;
	*result = v;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct task *task = thread_arg;
	const struct regs *r = &task->regs;
	const struct arch *a = r->arch;
	Dwarf_Word regs[REGS_MAX_WORDS];
	for (int k = 0; k < a->ndwarf; k++)
		regs[k] = r->w[a->dwarf[k]];
	if (!dwfl_thread_state_registers(thread, 0, (unsigned)a->ndwarf, regs))
		return false;
	dwfl_thread_state_register_pc(thread, regs_pc(r));
	return true;
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* Whether the module at pc (already adjusted for lookup) has CFI for it, in .eh_frame or
 * .debug_frame: without it, libdwfl would step by guessing from the frame pointer. */
static bool has_cfi(Dwfl *dwfl, Dwarf_Addr pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	if (!mod)
		return false;
	Dwarf_Addr bias;
	Dwarf_Frame *fr = NULL;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
		free(fr);
		return true;
	}
	cfi = dwfl_module_dwarf_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
		free(fr);
		return true;
	}
	return false;
}

static const char no_cfi[] = "none in .eh_frame or .debug_frame";

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct dw_ctx *c = arg;
	struct task *task = c->cur;
	Dwarf_Addr pc;
	bool act;
	if (!dwfl_frame_pc(frame, &pc, &act))
		return DWARF_CB_ABORT;
	if (task->npcs > 0 && !c->last_has_cfi && unwind_want_scan(c->s, (size_t)task->npcs - 1, c->last_pc))
		return DWARF_CB_ABORT;	/* not by its frame pointer: the scan takes over */
	if (task->npcs > 0 && !c->last_has_cfi) {
		/* libdwfl stepped by the frame pointer: not out of a missing file, and only to code */
		const char *why = unwind_missing_module_error(c->s, (size_t)task->npcs - 1, c->last_pc);
		if (!why && pc)
			why = unwind_check_caller(c->s, (size_t)task->npcs - 1, c->last_pc, pc, true);
		if (why) {
			/* a frame-pointer chain ends where it stops leading to code: only a chain
			 * that never started is a walk cut short */
			if (c->last_by_fp && !unwind_missing_module_error(c->s, (size_t)task->npcs - 1, c->last_pc))
				c->ended = true;
			else
				task->unwind_error = why;
			return DWARF_CB_ABORT;
		}
	}
	bool by_fp = task->npcs > 0 && !c->last_has_cfi;
	if (task->npcs > 0 && !by_fp && pc) {
		const char *why = unwind_check_caller(c->s, (size_t)task->npcs - 1, c->last_pc, pc, false);
		if (why) {
			task->unwind_error = why;
			return DWARF_CB_ABORT;
		}
	}
	Dwarf_Word sp = 0;
	if (dwfl_frame_reg(frame, (unsigned)c->s->arch->dwarf_sp, &sp) != 0)
		sp = c->prev_sp;	/* unknown: do not fail the monotonic check on it */
	if (!unwind_accept_frame(task, pc, sp, c->prev_sp, c->max_frames)) {
		c->ended = !task->unwind_error && !task->truncated;
		return DWARF_CB_ABORT;
	}
	unwind_push(task, pc, &c->cap, &c->s->arena);
	c->prev_sp = sp;
	c->last_pc = pc;
	Dwarf_Addr look = act ? pc : pc - 1;
	int known = unwind_cfi_cache_get(&c->cfi, look);
	c->last_has_cfi = known >= 0 ? known : has_cfi(c->dwfl, look);
	if (known < 0)
		unwind_cfi_cache_put(&c->cfi, look, c->last_has_cfi);
	Dwarf_Word rbp = 1;	/* unknown: not the end of a frame-pointer chain */
	if (dwfl_frame_reg(frame, (unsigned)c->s->arch->dwarf_fp, &rbp) != 0)
		rbp = 1;
	c->last_rbp = rbp;
	c->last_by_fp = by_fp;
	return DWARF_CB_OK;
}

static int walk(struct snapshot *s, const struct unwind_walk *w, struct err *e)
{
	Dwfl *dwfl = symbolizer_dwfl(w->sz);
	if (!dwfl)
		return err_set(e, ERR_FAIL, "libdw unwinder: no modules to unwind with");
	struct dw_ctx c = { .s = s, .max_frames = w->max_frames, .dwfl = dwfl };
	/* libdwfl learns the architecture (its Ebl backend: x86_64's or aarch64's, whatever the
	 * host) from an ELF it is given. The registers are the target's architecture's whatever
	 * files were found (a core from elsewhere may have none), so the ELF is a bare header
	 * of that architecture rather than a module that may be missing. It must outlive the
	 * walks: the backend keeps a pointer to it. */
	if (!s->arch)
		return err_set(e, ERR_FAIL, "libdw unwinder: the target's architecture is not known");
	Elf64_Ehdr *ehdr = arena_alloc(&s->arena, sizeof(*ehdr));
	*ehdr = (Elf64_Ehdr){
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_CORE,
		.e_machine = s->arch->e_machine,
		.e_version = EV_CURRENT,
		.e_ehsize = sizeof(Elf64_Ehdr),
	};
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)ehdr, sizeof(*ehdr));
	if (!elf)
		return err_set(e, ERR_FAIL, "libdw unwinder: %s", elf_errmsg(-1));
	/* The backend libdwfl opens keeps a pointer to it: it lives until the walks are done. */
	if (!dwfl_attach_state(dwfl, elf, s->pid ? s->pid : 1, &thread_cbs, &c)) {
		elf_end(elf);
		return err_set(e, ERR_FAIL, "libdw unwinder: %s", dwfl_errmsg(-1));
	}
	progress_begin("unwinding threads", s->ntasks);
	for (size_t i = 0; i < s->ntasks; i++) {
		progress_step(i);
		struct task *task = &s->tasks[i];
		if (!task->have_regs || task->npcs)
			continue;
		c.cur = task;
		c.cap = 0;
		c.prev_sp = 0;
		c.ended = false;
		c.last_by_fp = false;
		int r = dwfl_getthread_frames(dwfl, task->tid, frame_cb, &c);
		if (task->npcs && !c.last_has_cfi && !task->truncated &&
		    unwind_want_scan(s, (size_t)task->npcs - 1, c.last_pc)) {
			w->scan_sp[i] = c.prev_sp;
			task->unwind_error = arena_printf(&s->arena, "frame #%d (0x%llx) has no CFI (%s)",
							  task->npcs - 1, (unsigned long long)c.last_pc, no_cfi);
			continue;
		}
		/* a frame without CFI whose rbp is 0 is the end of a frame-pointer chain (Go's
		 * mstart, glibc's clone and _start clear it), and so is a frame reached by the
		 * frame pointer that leads nowhere (Go's stripped binaries have no CFI at all) */
		if (r != 0 && task->npcs && !c.last_has_cfi && (c.last_rbp == 0 || c.last_by_fp))
			c.ended = true;
		if (r != 0 && !c.ended && !task->unwind_error && !task->truncated) {
			/* libdwfl's own stop: say where, and why when chang knows better */
			const char *why = task->npcs && !c.last_has_cfi
				? unwind_missing_module_error(s, (size_t)task->npcs - 1, c.last_pc) : NULL;
			if (!why && task->npcs && !c.last_has_cfi)
				why = arena_printf(&s->arena, "frame #%d (0x%llx) has no CFI (%s) and no frame "
						   "pointer to follow", task->npcs - 1, (unsigned long long)c.last_pc, no_cfi);
			if (!why && task->npcs == 0)
				why = arena_printf(&s->arena, "libdw could not start the walk: %s", dwfl_errmsg(-1));
			task->unwind_error = why ? why : arena_printf(&s->arena, "libdw stopped after frame #%d: %s",
								  task->npcs - 1, dwfl_errmsg(-1));
		}
	}
	progress_end();
	unwind_cfi_cache_free(&c.cfi);
	elf_end(elf);
	return 0;
}

/* libdwfl's Ebl backends (x86_64, aarch64 and more) are built into every elfutils,
 * whatever the host: it unwinds foreign cores. */
static bool serves(const struct arch *a)
{
	return a != NULL;
}

const struct unwind_backend unwind_backend_libdw = { .name = "libdw", .serves = serves, .walk = walk };
