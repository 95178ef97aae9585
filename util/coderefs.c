#include "util/coderefs.h"
#include "util/xalloc.h"
#include <capstone/capstone.h>
#include <stdlib.h>

/* what follows an address being taken: the call it is for comes within a few instructions */
#define LOOKAHEAD 8

struct code_scanner {
	csh h;
	cs_insn *insn, *next;
};

struct code_scanner *code_scanner_new(void)
{
	csh h;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return NULL;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	struct code_scanner *cs = xcalloc(1, sizeof(*cs));
	cs->h = h;
	cs->insn = cs_malloc(h);
	cs->next = cs_malloc(h);
	return cs;
}

void code_scanner_free(struct code_scanner *cs)
{
	if (!cs)
		return;
	cs_free(cs->insn, 1);
	cs_free(cs->next, 1);
	cs_close(&cs->h);
	free(cs);
}

/* +1 LOCK CMPXCHG, -1 LOCK XADD, 0 anything else */
static int atomic_op(const cs_insn *i)
{
	const cs_x86 *x = &i->detail->x86;
	if (x->prefix[0] != X86_PREFIX_LOCK)
		return 0;
	return i->id == X86_INS_CMPXCHG ? 1 : i->id == X86_INS_XADD ? -1 : 0;
}

static void follow(struct code_scanner *cs, const uint8_t *p, size_t n, uint64_t addr, struct code_ref *r)
{
	for (int k = 0; k < LOOKAHEAD && n > 0 && cs_disasm_iter(cs->h, &p, &n, &addr, cs->next); k++) {
		if (cs->next->id == X86_INS_CALL) {
			const cs_x86 *x = &cs->next->detail->x86;
			if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
				r->callee = (uint64_t)x->operands[0].imm;
			return;	/* the first call after it is the one it is for */
		}
		if (!r->atomic)
			r->atomic = atomic_op(cs->next);
	}
}

void code_refs(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr,
	       bool (*want)(void *ctx, uint64_t target), void (*hit)(void *ctx, const struct code_ref *r),
	       void *ctx)
{
	const uint8_t *p = code;
	while (n > 0) {
		if (!cs_disasm_iter(cs->h, &p, &n, &addr, cs->insn)) {
			/* data or padding inside the range: step over one byte and go on */
			p++, n--, addr++;
			continue;
		}
		const cs_x86 *x = &cs->insn->detail->x86;
		for (int k = 0; k < x->op_count; k++) {
			if (x->operands[k].type != X86_OP_MEM || x->operands[k].mem.base != X86_REG_RIP)
				continue;
			uint64_t target = cs->insn->address + cs->insn->size + (uint64_t)x->operands[k].mem.disp;
			if (!want(ctx, target))
				continue;
			struct code_ref r = { .at = cs->insn->address, .addr = target, .atomic = atomic_op(cs->insn) };
			follow(cs, p, n, addr, &r);
			hit(ctx, &r);
		}
	}
}

bool code_jump_slot(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr, uint64_t *slot)
{
	const uint8_t *p = code;
	for (int k = 0; k < 2 && n > 0 && cs_disasm_iter(cs->h, &p, &n, &addr, cs->insn); k++) {
		const cs_x86 *x = &cs->insn->detail->x86;
		if (cs->insn->id == X86_INS_ENDBR64)
			continue;
		if (cs->insn->id != X86_INS_JMP || x->op_count != 1 || x->operands[0].type != X86_OP_MEM ||
		    x->operands[0].mem.base != X86_REG_RIP)
			return false;
		*slot = cs->insn->address + cs->insn->size + (uint64_t)x->operands[0].mem.disp;
		return true;
	}
	return false;
}
