#include "util/coderefs.h"
#include "util/xalloc.h"
#include <capstone/capstone.h>
#include <stdint.h>
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
			if (!r->atomic)
				r->effect_at = cs->next->address;
			return;	/* the first call after it is the one it is for */
		}
		if (!r->atomic && (r->atomic = atomic_op(cs->next)) != 0)
			r->effect_at = cs->next->address;
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
			if (r.atomic)
				r.effect_at = r.at;
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

enum flow { FALL, BRANCH, JUMP, END };

struct code_cfg {
	uint64_t *addr;		/* each instruction's address, ascending */
	uint64_t *target;	/* BRANCH and JUMP: where to */
	uint8_t *flow;
	size_t n;
	bool complete;
};

struct code_cfg *code_cfg_build(struct code_scanner *cs, const uint8_t *code, size_t n, uint64_t addr)
{
	struct code_cfg *g = xcalloc(1, sizeof(*g));
	size_t cap = 0;
	g->complete = true;
	const uint8_t *p = code;
	while (n > 0) {
		if (!cs_disasm_iter(cs->h, &p, &n, &addr, cs->insn)) {
			p++, n--, addr++;
			continue;
		}
		if (g->n == cap) {
			cap = cap ? cap * 2 : 256;
			g->addr = xreallocarray(g->addr, cap, sizeof(*g->addr));
			g->target = xreallocarray(g->target, cap, sizeof(*g->target));
			g->flow = xreallocarray(g->flow, cap, sizeof(*g->flow));
		}
		const cs_insn *i = cs->insn;
		const cs_x86 *x = &i->detail->x86;
		uint8_t flow = FALL;
		uint64_t target = 0;
		bool imm = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
		if (i->id == X86_INS_JMP) {
			flow = imm ? JUMP : END;
			g->complete &= imm;
		} else if (cs_insn_group(cs->h, i, CS_GRP_JUMP)) {
			flow = imm ? BRANCH : FALL;
		} else if (cs_insn_group(cs->h, i, CS_GRP_RET) || i->id == X86_INS_UD2 || i->id == X86_INS_INT3 ||
			   i->id == X86_INS_HLT) {
			flow = END;
		}
		if (flow == JUMP || flow == BRANCH)
			target = (uint64_t)x->operands[0].imm;
		g->addr[g->n] = i->address;
		g->target[g->n] = target;
		g->flow[g->n++] = flow;
	}
	return g;
}

void code_cfg_free(struct code_cfg *g)
{
	if (!g)
		return;
	free(g->addr);
	free(g->target);
	free(g->flow);
	free(g);
}

bool code_cfg_complete(const struct code_cfg *g)
{
	return g->complete;
}

static size_t index_of(const struct code_cfg *g, uint64_t a)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (g->addr[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->n && g->addr[lo] == a ? lo : SIZE_MAX;
}

bool code_cfg_reaches(const struct code_cfg *g, uint64_t from, uint64_t to, const uint64_t *avoid, size_t navoid)
{
	size_t start = index_of(g, from);
	if (start == SIZE_MAX || !g->n)
		return false;
	uint8_t *seen = xcalloc(g->n, 1);
	size_t *todo = xmalloc(sizeof(*todo) * g->n), ntodo = 0;
	for (size_t k = 0; k < navoid; k++) {
		size_t a = index_of(g, avoid[k]);
		if (a != SIZE_MAX)
			seen[a] = 1;
	}
	bool found = false;
	/* from the successors of `from` */
	size_t cur = start;
	for (;;) {
		size_t next[2];
		int nn = 0;
		if (g->flow[cur] == FALL || g->flow[cur] == BRANCH)
			if (cur + 1 < g->n)
				next[nn++] = cur + 1;
		if (g->flow[cur] == BRANCH || g->flow[cur] == JUMP) {
			size_t t = index_of(g, g->target[cur]);
			if (t != SIZE_MAX)
				next[nn++] = t;
		}
		for (int k = 0; k < nn; k++) {
			if (g->addr[next[k]] == to) {
				found = true;
				break;
			}
			if (!seen[next[k]]) {
				seen[next[k]] = 1;
				todo[ntodo++] = next[k];
			}
		}
		if (found || !ntodo)
			break;
		cur = todo[--ntodo];
	}
	free(seen);
	free(todo);
	return found;
}
