/* The stack-scanning fallback (unwind/scan.h). A word of the stack is taken for a return
 * address only when it points just after a call instruction in a module's code, and, where
 * the callee's entry is known, when that call leads to the callee (directly, through a PLT
 * slot, or through a function that jumps on to it: musl's __syscall_cp is one jmp to
 * __syscall_cp_c). A stale return address left in a frame by an earlier call fails that
 * test, since it called some other function. */
#include "unwind/backend.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include <capstone/capstone.h>
#include <elfutils/libdwfl.h>
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define SCAN_WORDS 4096		/* words read above the last good frame, per thread */
#define FOLLOW_INSNS 96		/* instructions decoded from a call's target to find its way on */
#define FOLLOW_PLACES 16	/* branch targets followed */
#define UNNAMED_FUNC_MAX 0x4000	/* how far a PC may lie from the entry of a function no symbol names */

/* One for every thread of a capture: a thousand threads share a few stacks, and each answer
 * (a function's entry, whether a word returns to a callee) costs a symbol-table scan or a
 * few decoded instructions, so answers are kept, keyed by the addresses they are about. */
struct unwind_scanner {
	struct snapshot *s;
	struct symbolizer *sz;
	Dwfl *dwfl;
	csh cs;
	bool have_cs;
	struct slot_fn { uint64_t slot, to; } slots[32];	/* slot_function's answers */
	int nslots;
	struct memo { uint64_t a, b; uint64_t v; bool used; } *memo;
	size_t memo_cap, memo_n;
};
#define scanner unwind_scanner

#define MEMO_ENTRY 1	/* b of entry_of's answers (an address is never 1 or 2) */
#define MEMO_OUTERMOST 2

static struct memo *memo_slot(struct scanner *sc, uint64_t a, uint64_t b)
{
	size_t i = (size_t)(((a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL)) >> 17) & (sc->memo_cap - 1);
	while (sc->memo[i].used && (sc->memo[i].a != a || sc->memo[i].b != b))
		i = (i + 1) & (sc->memo_cap - 1);
	return &sc->memo[i];
}

static bool memo_get(struct scanner *sc, uint64_t a, uint64_t b, uint64_t *v)
{
	if (!sc->memo_cap)
		return false;
	struct memo *m = memo_slot(sc, a, b);
	if (m->used)
		*v = m->v;
	return m->used;
}

static uint64_t memo_put(struct scanner *sc, uint64_t a, uint64_t b, uint64_t v)
{
	if ((sc->memo_n + 1) * 2 > sc->memo_cap) {
		struct memo *old = sc->memo;
		size_t ocap = sc->memo_cap;
		sc->memo_cap = ocap ? ocap * 2 : 1024;
		sc->memo = xcalloc(sc->memo_cap, sizeof(*sc->memo));
		for (size_t i = 0; i < ocap; i++)
			if (old[i].used)
				*memo_slot(sc, old[i].a, old[i].b) = old[i];
		free(old);
	}
	struct memo *m = memo_slot(sc, a, b);
	if (!m->used)
		sc->memo_n++;
	*m = (struct memo){ a, b, v, true };
	return v;
}

/* Where a thread's stack ends: these functions have no caller to return to. */
static const char *const outermost[] = { "__clone", "clone", "_start", "_start_c", "__libc_start_main",
	"libc_start_main_stage2", "start_thread", NULL };

static bool is_code(const struct snapshot *s, uint64_t addr)
{
	const struct mapping *m = snapshot_mapping_at(s, addr);
	const struct module *mod = snapshot_module_at(s, addr);
	return m && m->perms[2] == 'x' && mod && !mod->missing;
}

/* The entry of the function holding addr, from a symbol whose extent covers it; 0 when no
 * symbol says (a library with only .dynsym, an internal function). */
static uint64_t entry_of_symbols(struct scanner *sc, uint64_t addr);

static uint64_t entry_of(struct scanner *sc, uint64_t addr)
{
	uint64_t v;
	if (memo_get(sc, addr, MEMO_ENTRY, &v))
		return v;
	return memo_put(sc, addr, MEMO_ENTRY, entry_of_symbols(sc, addr));
}

static uint64_t entry_of_symbols(struct scanner *sc, uint64_t addr)
{
	Dwfl_Module *mod = sc->dwfl ? dwfl_addrmodule(sc->dwfl, addr) : NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name = mod ? dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL) : NULL;
	if (!name || sym.st_size == 0 || off >= sym.st_size)
		return 0;
	return addr - off;
}

/* One instruction at addr, or NULL (free with cs_free(insn, 1)). */
static cs_insn *decode(struct scanner *sc, uint64_t addr)
{
	unsigned char code[16];
	size_t n = target_read(sc->s->target, addr, code, sizeof(code));
	cs_insn *insn = NULL;
	if (n == 0 || cs_disasm(sc->cs, code, n, addr, 1, &insn) != 1)
		return NULL;
	return insn;
}

/* A GOT slot a live capture did not copy (only stacks and lock words are): the function
 * its relocation names, defined in a module other than the slot's. 0 when none. */
static uint64_t slot_function(struct scanner *sc, uint64_t slot)
{
	for (int i = 0; i < sc->nslots; i++)
		if (sc->slots[i].slot == slot)
			return sc->slots[i].to;
	const char *name = sc->sz ? symbolizer_got_slot_name(sc->sz, slot) : NULL;
	uint64_t to = 0;
	const struct module *home = snapshot_module_at(sc->s, slot);
	for (size_t m = 0; name && !to && m < sc->s->nmodules; m++) {
		Dwfl_Module *mod = sc->s->modules[m].dwfl_module;
		if (!mod || &sc->s->modules[m] == home)
			continue;
		int n = dwfl_module_getsymtab(mod);
		for (int k = 1; k < n && !to; k++) {
			GElf_Sym sym;
			GElf_Addr addr;
			const char *sn = dwfl_module_getsym_info(mod, k, &sym, &addr, NULL, NULL, NULL);
			if (sn && sym.st_shndx != SHN_UNDEF && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
			    strncmp(sn, name, strcspn(name, "@")) == 0 && sn[strcspn(name, "@")] == 0)
				to = addr;
		}
	}
	if (sc->nslots < (int)(sizeof(sc->slots) / sizeof(*sc->slots)))
		sc->slots[sc->nslots++] = (struct slot_fn){ slot, to };
	return to;
}

/* The target of a direct jump or call, or of an indirect one through a RIP-relative slot
 * (a PLT stub's jmp *GOT), read from the image; 0 when it has none. */
static uint64_t branch_target(struct scanner *sc, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	if (x->op_count != 1)
		return 0;
	if (x->operands[0].type == X86_OP_IMM)
		return (uint64_t)x->operands[0].imm;
	if (x->operands[0].type == X86_OP_MEM && x->operands[0].mem.base == X86_REG_RIP &&
	    x->operands[0].mem.index == X86_REG_INVALID) {
		uint64_t slot = insn->address + insn->size + (uint64_t)x->operands[0].mem.disp, v;
		if (target_read_u64(sc->s->target, slot, &v) && is_code(sc->s, v))
			return v;
		return slot_function(sc, slot);
	}
	return 0;
}

/* Whether code at t reaches entry: it is entry, or its code jumps there (a PLT stub's jmp
 * through its GOT slot, a wrapper's tail call, perhaps after a fast path that returns:
 * musl's pthread_mutex_lock ends in a jmp to __pthread_mutex_timedlock). The code is
 * followed along its direct jumps and branches, a bounded number of instructions. */
static bool leads_to(struct scanner *sc, uint64_t t, uint64_t entry)
{
	uint64_t todo[FOLLOW_PLACES], seen[FOLLOW_PLACES];
	int ntodo = 0, nseen = 0, budget = FOLLOW_INSNS;
	todo[ntodo++] = t;
	while (ntodo > 0 && budget > 0) {
		uint64_t at = todo[--ntodo];
		bool again = false;
		for (int k = 0; k < nseen; k++)
			again |= seen[k] == at;
		if (at == entry)
			return true;
		if (again || nseen == FOLLOW_PLACES || !is_code(sc->s, at))
			continue;
		seen[nseen++] = at;
		for (; budget > 0; budget--) {
			cs_insn *insn = decode(sc, at);
			if (!insn)
				break;
			unsigned id = insn->id;
			bool branch = cs_insn_group(sc->cs, insn, CS_GRP_JUMP);
			uint64_t to = branch ? branch_target(sc, insn) : 0, next = at + insn->size;
			cs_free(insn, 1);
			if (to == entry && branch)
				return true;
			if (to && ntodo < FOLLOW_PLACES)
				todo[ntodo++] = to;
			if (id == X86_INS_JMP || id == X86_INS_RET || id == X86_INS_HLT || id == X86_INS_UD2)
				break;
			at = next;
		}
	}
	return false;
}

/* For a callee whose entry no symbol gives (a libc's internal function): whether t could be
 * its entry, below its PC and not far, and not inside a function that symbols place
 * elsewhere (a stale return address after a call to prctl is no caller of __timedwait_cp). */
static bool could_be_entry(struct scanner *sc, uint64_t t, uint64_t callee_pc)
{
	if (t > callee_pc || callee_pc - t > UNNAMED_FUNC_MAX || !is_code(sc->s, t))
		return false;
	uint64_t e = entry_of(sc, t);
	if (!e)
		return true;
	Dwfl_Module *mod = dwfl_addrmodule(sc->dwfl, t);
	GElf_Off off;
	GElf_Sym sym;
	return mod && dwfl_module_addrinfo(mod, t, &off, &sym, NULL, NULL, NULL) && callee_pc < e + sym.st_size;
}

/* The same without the entry: t, or where the jmp it starts with (a PLT stub, a wrapper
 * such as musl's __syscall_cp) leads, could be the callee's entry. */
static bool reaches_unnamed(struct scanner *sc, uint64_t t, uint64_t callee_pc)
{
	for (int hop = 0; hop < 3 && t; hop++) {
		if (could_be_entry(sc, t, callee_pc))
			return true;
		cs_insn *insn = decode(sc, t);
		if (insn && insn->id == X86_INS_ENDBR64) {
			uint64_t next = t + insn->size;
			cs_free(insn, 1);
			insn = decode(sc, next);
		}
		if (!insn)
			return false;
		uint64_t to = insn->id == X86_INS_JMP ? branch_target(sc, insn) : 0;
		cs_free(insn, 1);
		t = to;
	}
	return false;
}

/* Whether ret is a return address: the bytes before it decode as a call, in a module's
 * code, whose target (when direct) is code that leads to callee_entry (when known). */
static bool returns_to_code(struct scanner *sc, uint64_t ret, uint64_t callee_entry, uint64_t callee_pc);

static bool returns_to(struct scanner *sc, uint64_t ret, uint64_t callee_entry, uint64_t callee_pc)
{
	if (ret < 8 || !is_code(sc->s, ret - 1))
		return false;	/* most words: no memo needed */
	uint64_t v;
	if (memo_get(sc, ret, callee_pc, &v))
		return v;
	return memo_put(sc, ret, callee_pc, returns_to_code(sc, ret, callee_entry, callee_pc));
}

static bool returns_to_code(struct scanner *sc, uint64_t ret, uint64_t callee_entry, uint64_t callee_pc)
{
	if (ret < 8 || !is_code(sc->s, ret - 1))
		return false;
	unsigned char code[8];
	if (target_read(sc->s->target, ret - 8, code, sizeof(code)) != sizeof(code))
		return false;
	/* a call is E8 rel32 or FF /2 (2 to 7 bytes with prefixes, ModRM, SIB, displacement) */
	bool maybe = code[3] == 0xe8;
	for (int k = 2; k <= 7 && !maybe; k++)
		maybe = code[8 - k] == 0xff;
	if (!maybe)
		return false;
	for (int k = 2; k <= 8; k++) {
		cs_insn *insn = NULL;
		if (cs_disasm(sc->cs, code + 8 - k, (size_t)k, ret - (uint64_t)k, 1, &insn) != 1)
			continue;
		bool call = insn->id == X86_INS_CALL && insn->size == (uint16_t)k;
		/* direct, or through a GOT slot (-fno-plt): a target to check */
		uint64_t to = call ? branch_target(sc, insn) : 0;
		cs_free(insn, 1);
		if (!call)
			continue;
		if (!to)
			return true;	/* through a register: nothing to check it against */
		if (!is_code(sc->s, to))
			return false;
		return callee_entry ? leads_to(sc, to, callee_entry) : reaches_unnamed(sc, to, callee_pc);
	}
	return false;
}

static bool outermost_function(struct scanner *sc, uint64_t ret)
{
	uint64_t v;
	if (memo_get(sc, ret, MEMO_OUTERMOST, &v))
		return v;
	const char *name = sc->sz ? symbolizer_function_at(sc->sz, ret - 1) : NULL;
	if (!name)
		return memo_put(sc, ret, MEMO_OUTERMOST, false);
	size_t n = strcspn(name, "@");
	for (const char *const *o = outermost; *o; o++)
		if (strlen(*o) == n && strncmp(name, *o, n) == 0)
			return memo_put(sc, ret, MEMO_OUTERMOST, true);
	return memo_put(sc, ret, MEMO_OUTERMOST, false);
}

struct unwind_scanner *unwind_scanner_new(struct snapshot *s, struct symbolizer *sz)
{
	struct scanner *sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	sc->sz = sz;
	sc->dwfl = sz ? symbolizer_dwfl(sz) : NULL;
	sc->have_cs = cs_open(CS_ARCH_X86, CS_MODE_64, &sc->cs) == CS_ERR_OK;
	if (sc->have_cs)
		cs_option(sc->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return sc;
}

void unwind_scanner_free(struct unwind_scanner *sc)
{
	if (!sc)
		return;
	if (sc->have_cs)
		cs_close(&sc->cs);
	free(sc->memo);
	free(sc);
}

void unwind_scan_task(struct unwind_scanner *scn, struct task *t, uint64_t sp, int max_frames)
{
	struct snapshot *s = scn->s;
	struct scanner *const sc = scn;
	int cap = t->npcs;	/* the walk's array is full as far as anyone knows: a push copies it */
	if (!t->npcs || !s->target || !sc->have_cs) {
		t->unwind_error = t->unwind_error ? t->unwind_error : "the stack scan could not start";
		return;
	}
	int first = t->npcs;
	int from = t->npcs - 1;		/* the frame without CFI the walk stopped at */
	uint64_t prev = t->pcs[from];
	bool complete = false;
	int words = 0;
	uint64_t look = unwind_lookup_pc((size_t)(t->npcs - 1), prev), entry = entry_of(sc, look);
	for (uint64_t a = sp; words < SCAN_WORDS; a += 8, words++) {
		uint64_t v;
		if (target_read_for_unwind(s->target, a, &v, 8) != 8)
			break;
		if (!returns_to(sc, v, entry, look))
			continue;
		if (t->npcs >= max_frames) {
			t->truncated = true;
			break;
		}
		unwind_push(t, v, &cap, &s->arena);
		prev = v;
		look = unwind_lookup_pc((size_t)(t->npcs - 1), prev);
		entry = entry_of(sc, look);
		if (outermost_function(sc, v)) {
			complete = true;
			break;
		}
	}
	if (t->npcs > first) {
		bool *marks = ARENA_NEW(&s->arena, bool, (size_t)t->npcs);
		for (int i = first; i < t->npcs; i++)
			marks[i] = true;
		t->scanned = marks;
	}
	if (complete)
		t->unwind_error = NULL;
	else if (!t->truncated)
		t->unwind_error = arena_printf(&s->arena, "frame #%d (0x%llx) has no CFI; a scan of %d words of "
					       "stack above it found %d caller%s (marked scanned), then none "
					       "that returns from a call", from, (unsigned long long)t->pcs[from],
					       words, t->npcs - first, t->npcs - first == 1 ? "" : "s");
}
