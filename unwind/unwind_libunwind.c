/* libunwind backend: libunwind's own DWARF unwind-table search (the routine its ptrace
 * and coredump accessors use) over the module's .eh_frame_hdr, with every byte and
 * register served from the frozen target. */
#include "unwind/backend.h"
#include "image/target.h"
#include "util/progress.h"
#include "util/xalloc.h"
#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <libunwind.h>
#include <libunwind-ptrace.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* This backend is x86_64's libunwind (its register numbers, its table search); a chang built
 * for another architecture (make cross-aarch64) has it serve nothing, and libdw's unwinder
 * walks instead (unwind_snapshot says so). The one architecture switch of the file. */
#if defined(__x86_64__)
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* Per module: where its binary-search table lives in the target. */
struct modtab {
	bool loaded, usable;
	/* CFI that libdw reads and libunwind does not: where that is all a module has, the
	 * unwinders' stacks would differ, and the walk stops to say so */
	const char *other_cfi;
	unw_dyn_info_t di;
};

/* Which CFI sections the module's file has besides .eh_frame_hdr. */
static const char *cfi_sections(Elf *e)
{
	size_t shstrndx;
	bool eh = false, debug = false;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		const char *n = gelf_getshdr(scn, &sh) ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
		if (!n || sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
			continue;
		eh |= strcmp(n, ".eh_frame") == 0;
		debug |= strcmp(n, ".debug_frame") == 0 || strcmp(n, ".zdebug_frame") == 0;
	}
	return eh && debug ? ".eh_frame and .debug_frame" : eh ? ".eh_frame" : debug ? ".debug_frame" : NULL;
}

struct uw_ctx {
	struct snapshot *s;
	struct target *t;
	struct modtab *tabs;
	/* the registers a walk starts from: the task's, or after a frame-pointer step the
	 * caller's as far as they are known */
	struct x86_64_regs regs;
	struct unwind_cfi_cache fdes;
};

/* Where each of libunwind's x86-64 register numbers (DWARF's order) is in the registers. */
static const size_t reg_off[] = {
	[UNW_X86_64_RAX] = offsetof(struct x86_64_regs, rax),
	[UNW_X86_64_RDX] = offsetof(struct x86_64_regs, rdx),
	[UNW_X86_64_RCX] = offsetof(struct x86_64_regs, rcx),
	[UNW_X86_64_RBX] = offsetof(struct x86_64_regs, rbx),
	[UNW_X86_64_RSI] = offsetof(struct x86_64_regs, rsi),
	[UNW_X86_64_RDI] = offsetof(struct x86_64_regs, rdi),
	[UNW_X86_64_RBP] = offsetof(struct x86_64_regs, rbp),
	[UNW_X86_64_RSP] = offsetof(struct x86_64_regs, rsp),
	[UNW_X86_64_R8] = offsetof(struct x86_64_regs, r8),
	[UNW_X86_64_R9] = offsetof(struct x86_64_regs, r9),
	[UNW_X86_64_R10] = offsetof(struct x86_64_regs, r10),
	[UNW_X86_64_R11] = offsetof(struct x86_64_regs, r11),
	[UNW_X86_64_R12] = offsetof(struct x86_64_regs, r12),
	[UNW_X86_64_R13] = offsetof(struct x86_64_regs, r13),
	[UNW_X86_64_R14] = offsetof(struct x86_64_regs, r14),
	[UNW_X86_64_R15] = offsetof(struct x86_64_regs, r15),
	[UNW_X86_64_RIP] = offsetof(struct x86_64_regs, rip),
};
#define NREGS (sizeof(reg_off) / sizeof(reg_off[0]))

static void load_modtab(struct uw_ctx *c, size_t i)
{
	struct modtab *mt = &c->tabs[i];
	mt->loaded = true;
	struct module *m = &c->s->modules[i];
	int fd = target_module_fd(c->t, i);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t phnum = 0;
	if (e)
		mt->other_cfi = cfi_sections(e);
	if (!e || elf_getphdrnum(e, &phnum) != 0) {
		if (e)
			elf_end(e);
		close(fd);
		return;
	}
	uint64_t first_vaddr = 0, text_lo = UINT64_MAX, text_hi = 0, ehdr_vaddr = 0;
	bool have_first = false, have_ehdr = false;
	for (size_t k = 0; k < phnum; k++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)k, &ph))
			continue;
		if (ph.p_type == PT_LOAD) {
			if (!have_first) {
				first_vaddr = ph.p_vaddr & ~(ph.p_align ? ph.p_align - 1 : 0xfff);
				have_first = true;
			}
			if (ph.p_flags & PF_X) {
				if (ph.p_vaddr < text_lo)
					text_lo = ph.p_vaddr;
				if (ph.p_vaddr + ph.p_memsz > text_hi)
					text_hi = ph.p_vaddr + ph.p_memsz;
			}
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			ehdr_vaddr = ph.p_vaddr;
			have_ehdr = true;
		}
	}
	elf_end(e);
	close(fd);
	if (!have_first || !have_ehdr || text_lo >= text_hi)
		return;
	uint64_t bias = m->start - first_vaddr;
	m->bias = bias;
	uint64_t hdr = bias + ehdr_vaddr;
	/* .eh_frame_hdr: version, eh_frame_ptr_enc, fde_count_enc, table_enc, then the
	 * encoded eh_frame pointer and FDE count; the table follows. */
	unsigned char h[4];
	if (target_read(c->t, hdr, h, 4) != 4 || h[0] != 1)
		return;
	if (h[3] != (0x30 | 0x0b))	/* DW_EH_PE_datarel | DW_EH_PE_sdata4 */
		return;
	uint64_t p = hdr + 4;
	int sz_ptr = (h[1] & 0x0f) == 0x0b || (h[1] & 0x0f) == 0x03 ? 4 : 8;	/* sdata4/udata4 else 8 */
	p += (uint64_t)sz_ptr;
	uint32_t count32 = 0;
	uint64_t count = 0;
	if ((h[2] & 0x0f) == 0x03 || (h[2] & 0x0f) == 0x0b) {
		if (!target_read_u32(c->t, p, &count32))
			return;
		count = count32;
		p += 4;
	} else if ((h[2] & 0x0f) == 0x04 || (h[2] & 0x0f) == 0x0c) {
		if (!target_read_u64(c->t, p, &count))
			return;
		p += 8;
	} else {
		return;
	}
	if (count == 0 || count > (1u << 26))
		return;
	memset(&mt->di, 0, sizeof(mt->di));
	mt->di.start_ip = bias + text_lo;
	mt->di.end_ip = bias + text_hi;
	mt->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	mt->di.u.rti.name_ptr = 0;
	mt->di.u.rti.segbase = hdr;
	mt->di.u.rti.table_data = p;
	mt->di.u.rti.table_len = (count * 8) / sizeof(unw_word_t);
	mt->usable = true;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct uw_ctx *c = arg;
	struct module *m = snapshot_module_at(c->s, ip);
	if (!m)
		return -UNW_ENOINFO;
	size_t i = (size_t)(m - c->s->modules);
	if (!c->tabs[i].loaded)
		load_modtab(c, i);
	if (!c->tabs[i].usable || ip < c->tabs[i].di.start_ip || ip >= c->tabs[i].di.end_ip)
		return -UNW_ENOINFO;
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &c->tabs[i].di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, arg);
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct uw_ctx *c = arg;
	if (write)
		return -UNW_EREADONLYREG;
	uint64_t v = 0;
	if (target_read_for_unwind(c->t, addr, &v, 8) != 8)
		return -UNW_EINVAL;
	*val = v;
	return 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	struct uw_ctx *c = arg;
	if (write)
		return -UNW_EREADONLYREG;
	if (reg < 0 || (size_t)reg >= NREGS)
		return -UNW_EBADREG;
	unsigned long long v;
	memcpy(&v, (const char *)&c->regs + reg_off[reg], sizeof(v));
	*val = v;
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cursor, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *offp, void *arg)
{
	return -UNW_ENOINFO;	/* names come from symbols/, not from libunwind */
}

/* Whether the module at ip has an FDE for it. libunwind's own unw_get_proc_info cannot
 * tell: on x86-64 it makes up a one-byte procedure when there is none. */
static bool have_fde(struct uw_ctx *c, unw_addr_space_t as, uint64_t ip)
{
	int known = unwind_cfi_cache_get(&c->fdes, ip);
	if (known >= 0)
		return known;
	unw_proc_info_t pi;
	memset(&pi, 0, sizeof(pi));
	bool has = find_proc_info(as, ip, &pi, 0, c) >= 0;
	unwind_cfi_cache_put(&c->fdes, ip, has);
	return has;
}

/* What libunwind lacked for pc, which lies in a module it knows. */
static const char *no_table(struct uw_ctx *c, uint64_t pc)
{
	struct module *m = snapshot_module_at(c->s, pc - 1);
	if (!m)
		m = snapshot_module_at(c->s, pc);
	if (!m)
		return "no module";
	size_t i = (size_t)(m - c->s->modules);
	if (!c->tabs[i].loaded)
		load_modtab(c, i);
	return c->tabs[i].usable ? "no entry for it in .eh_frame_hdr"
				 : "no .eh_frame_hdr that libunwind can read (libdw also reads .eh_frame and .debug_frame)";
}

/* Step out of frame k (pc, sp), which has no FDE, by the frame pointer and restart the
 * cursor on the caller. Returns 0 to go on, 1 to stop (*why says why, or is NULL at the
 * stack's normal end). */
static int fp_step(struct uw_ctx *c, unw_cursor_t *cur, unw_addr_space_t as, size_t k, uint64_t pc,
		   uint64_t sp, bool by_fp, const char **why)
{
	struct snapshot *s = c->s;
	*why = unwind_missing_module_error(s, k, pc);
	if (*why)
		return 1;
	struct module *m = snapshot_module_at(s, unwind_lookup_pc(k, pc));
	if (m) {
		size_t i = (size_t)(m - s->modules);
		if (!c->tabs[i].loaded)
			load_modtab(c, i);
		if (!c->tabs[i].usable && c->tabs[i].other_cfi) {
			*why = arena_printf(&s->arena, "frame #%zu (0x%llx) in %s: libunwind reads only "
					    ".eh_frame_hdr, which it lacks; its %s is read by --unwinder=libdw",
					    k, (unsigned long long)pc, m->file ? m->file : m->name,
					    c->tabs[i].other_cfi);
			return 1;
		}
	}
	unw_word_t rbp = 1;
	uint64_t npc, nsp, nrbp;
	if (unw_get_reg(cur, UNW_X86_64_RBP, &rbp) == 0 && rbp == 0)
		return 1;	/* the end of a frame-pointer chain, as in the libdw unwinder */
	if (!unwind_fp_step(s, rbp, sp, &npc, &nsp, &nrbp)) {
		if (by_fp)
			return 1;	/* the end of a frame-pointer chain */
		*why = arena_printf(&s->arena, "frame #%zu (0x%llx) has no CFI (%s) and no frame pointer to "
				    "follow", k, (unsigned long long)pc, no_table(c, pc));
		return 1;
	}
	if (npc == 0)
		return 1;
	*why = unwind_check_caller(s, k, pc, npc, true);
	if (*why) {
		if (by_fp)
			*why = NULL;	/* likewise */
		return 1;
	}
	/* what the cursor knows of this frame's registers carries over to the caller's */
	for (size_t r = 0; r < NREGS; r++) {
		unw_word_t v;
		if (unw_get_reg(cur, (int)r, &v) == 0)
			memcpy((char *)&c->regs + reg_off[r], &v, sizeof(v));
	}
	c->regs.rip = npc;
	c->regs.rsp = nsp;
	c->regs.rbp = nrbp;
	if (unw_init_remote(cur, as, c) < 0) {
		*why = "libunwind could not restart the walk after a frame-pointer step";
		return 1;
	}
	return 0;
}

static int walk(struct snapshot *s, const struct unwind_walk *w, struct err *e)
{
	static unw_accessors_t acc = {
		.find_proc_info = find_proc_info,
		.put_unwind_info = put_unwind_info,
		.get_dyn_info_list_addr = get_dyn_info_list_addr,
		.access_mem = access_mem,
		.access_reg = access_reg,
		.access_fpreg = access_fpreg,
		.resume = resume,
		.get_proc_name = get_proc_name,
	};
	unw_addr_space_t as = unw_create_addr_space(&acc, 0);
	if (!as)
		return err_set(e, ERR_FAIL, "libunwind: cannot create an address space");
	unw_set_caching_policy(as, UNW_CACHE_PER_THREAD);
	struct uw_ctx c = { .s = s, .t = s->target };
	c.tabs = xcalloc(s->nmodules ? s->nmodules : 1, sizeof(*c.tabs));
	progress_begin("unwinding threads", s->ntasks);
	for (size_t i = 0; i < s->ntasks; i++) {
		progress_step(i);
		struct task *task = &s->tasks[i];
		if (!task->have_regs || task->npcs)
			continue;	/* no registers, or already walked (by go/, say) */
		c.regs = task->regs.x;
		unw_cursor_t cur;
		int cap = 0;
		if (unw_init_remote(&cur, as, &c) < 0) {
			task->unwind_error = "libunwind could not start the walk";
			continue;
		}
		uint64_t prev_sp = 0;
		bool by_fp = false;	/* the current frame was reached by the frame pointer */
		for (;;) {
			unw_word_t pc = 0, sp = 0;
			unw_get_reg(&cur, UNW_REG_IP, &pc);
			unw_get_reg(&cur, UNW_REG_SP, &sp);
			if (task->npcs > 0 && !by_fp && pc) {
				const char *why = unwind_check_caller(s, (size_t)task->npcs - 1, task->pcs[task->npcs - 1], pc, false);
				if (why) {
					task->unwind_error = why;
					break;
				}
			}
			if (!unwind_accept_frame(task, pc, sp, prev_sp, w->max_frames))
				break;
			unwind_push(task, pc, &cap, &s->arena);
			prev_sp = sp;
			/* Without an entry in the module's .eh_frame_hdr, unw_step would guess by its
			 * own heuristics; chang's rule, the same as the libdw unwinder's, is taken
			 * instead (unwind/backend.h). */
			size_t k = (size_t)task->npcs - 1;
			if (!have_fde(&c, as, unwind_lookup_pc(k, pc)) && unwind_want_scan(s, k, pc)) {
				w->scan_sp[i] = sp;
				task->unwind_error = arena_printf(&s->arena, "frame #%zu (0x%llx) has no CFI (%s)",
								  k, (unsigned long long)pc, no_table(&c, pc));
				break;
			}
			if (!have_fde(&c, as, unwind_lookup_pc(k, pc))) {
				const char *why = NULL;
				if (fp_step(&c, &cur, as, k, pc, sp, by_fp, &why) == 0) {
					by_fp = true;
					continue;
				}
				task->unwind_error = why;
				break;
			}
			by_fp = false;
			int r = unw_step(&cur);
			if (r <= 0) {
				if (r < 0 && !task->unwind_error)
					task->unwind_error = arena_printf(&s->arena, "libunwind stopped after frame #%d: %s",
								       task->npcs - 1, unw_strerror(r));
				break;
			}
		}
	}
	progress_end();
	unwind_cfi_cache_free(&c.fdes);
	free(c.tabs);
	unw_destroy_addr_space(as);
	return 0;
}

/* The libunwind this backend uses is the x86_64 one (its _Ux86_64 search, x86_64's
 * registers): it reads x86_64 stacks only, on any host that has that libunwind. */
static bool serves(const struct arch *a)
{
	return a && a->id == ARCH_X86_64;
}

#else
static bool serves(const struct arch *a)
{
	return false;
}

static int walk(struct snapshot *s, const struct unwind_walk *w, struct err *e)
{
	return err_set(e, ERR_FAIL, "the libunwind unwinder of this chang reads x86_64 stacks only");
}
#endif

const struct unwind_backend unwind_backend_libunwind = { .name = "libunwind", .serves = serves, .walk = walk };
