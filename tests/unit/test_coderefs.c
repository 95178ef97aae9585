/* util/coderefs.c on hand-assembled x86-64: which static addresses code takes, what each is
 * for (LOCK CMPXCHG, LOCK XADD, the call), and the flow graph's reachability, where a loop
 * puts an unlock before the PC in address order that runs only after it. */
#include "unit.h"
#include "util/coderefs.h"

/* 0x1000 lea 0x100(%rip),%rsi      -> 0x1107
 * 0x1007 lock cmpxchg %edi,(%rsi)     the lock
 * 0x100b jmp 0x1018
 * 0x100d lea 0xf3(%rip),%rsi       -> 0x1107
 * 0x1014 lock xadd %ebx,(%rsi)        the unlock, laid out before the PC
 * 0x1018 call 0x1100                  returns to the PC, 0x101d
 * 0x101d jmp 0x100d
 * 0x101f ret */
static const unsigned char code[] = {
	0x48, 0x8d, 0x35, 0x00, 0x01, 0x00, 0x00,
	0xf0, 0x0f, 0xb1, 0x3e,
	0xeb, 0x0b,
	0x48, 0x8d, 0x35, 0xf3, 0x00, 0x00, 0x00,
	0xf0, 0x0f, 0xc1, 0x1e,
	0xe8, 0xe3, 0x00, 0x00, 0x00,
	0xeb, 0xee,
	0xc3,
};

struct seen {
	struct code_ref r[8];
	int n;
};

static bool want(void *ctx, uint64_t a)
{
	(void)ctx;
	return a == 0x1107;
}

static void hit(void *ctx, const struct code_ref *r)
{
	struct seen *s = ctx;
	if (s->n < 8)
		s->r[s->n++] = *r;
}

static void unit_tests(void)
{
	struct code_scanner *cs = code_scanner_new();
	CHECK(cs != NULL);
	if (!cs)
		return;
	struct seen s = { 0 };
	code_refs(cs, code, sizeof(code), 0x1000, want, hit, &s);
	CHECKF(s.n == 2, "%d refs", s.n);
	if (s.n == 2) {
		CHECK(s.r[0].at == 0x1000 && s.r[0].atomic == 1 && s.r[0].effect_at == 0x1007);
		CHECK(s.r[1].at == 0x100d && s.r[1].atomic == -1 && s.r[1].effect_at == 0x1014);
		CHECKF(s.r[1].callee == 0x1100, "callee %#llx", (unsigned long long)s.r[1].callee);
	}
	struct code_cfg *g = code_cfg_build(cs, code, sizeof(code), 0x1000);
	CHECK(code_cfg_complete(g));
	uint64_t unlock = 0x1014, lock = 0x1007, call = 0x1018;
	/* the lock gets to the PC without the unlock: held there */
	CHECK(code_cfg_reaches(g, 0x1007, 0x101d, &unlock, 1));
	/* without the call, the unlock gets nowhere */
	CHECK(!code_cfg_reaches(g, 0x1014, 0x101d, &call, 1));
	CHECK(code_cfg_reaches(g, 0x1014, 0x1007, NULL, 0) == false);	/* the lock is never re-run */
	CHECK(code_cfg_reaches(g, 0x101d, 0x1014, &lock, 1));		/* the back edge */
	CHECK(!code_cfg_reaches(g, 0x101f, 0x1000, NULL, 0));		/* nothing after ret */
	code_cfg_free(g);
	/* a PLT stub: endbr64; bnd jmp *0x2000(%rip) */
	static const unsigned char plt[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, 0x00, 0x20, 0x00, 0x00 };
	uint64_t slot = 0;
	CHECK(code_jump_slot(cs, plt, sizeof(plt), 0x5000, &slot) && slot == 0x5000 + 11 + 0x2000);
	CHECK(!code_jump_slot(cs, code, sizeof(code), 0x1000, &slot));
	code_scanner_free(cs);
}
