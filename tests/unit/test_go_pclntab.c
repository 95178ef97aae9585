/* The pclntab decoder, CallersFrames-style symbolization and the gentraceback-style unwinder
 * on a hand-built Go 1.20+ pclntab: two functions, pcvalue tables, an inline tree, and a
 * two-frame stack in a target image. Every expected value is worked out from the tables. */
#include "tests/unit/unit.h"
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>

#define TEXT 0x401000ull
#define GOFUNC 0x500000ull
#define STACK 0xc000100000ull

static unsigned char tab[4096];
static size_t tlen;

static size_t put(const void *p, size_t n)
{
	size_t at = tlen;
	memcpy(tab + tlen, p, n);
	tlen += n;
	return at;
}

static void put32at(size_t at, uint32_t v)
{
	memcpy(tab + at, &v, 4);
}

static void put64at(size_t at, uint64_t v)
{
	memcpy(tab + at, &v, 8);
}

/* A 1.20+ (magic 0xfffffff1) table. f0 = [0x0,0x40) TOPFRAME, with main.inl inlined at
 * [0x10,0x18) (parentPc 0x20); f1 = [0x40,0x60). */
static void build(struct goreader *r)
{
	memset(tab, 0, sizeof(tab));
	tlen = 72;
	size_t names = put("main.f0\0main.f1\0main.inl\0", 25);
	uint32_t cu[2] = { 0, 6 };
	size_t cutab = put(cu, sizeof(cu));
	size_t files = put("/a.go\0/b.go\0", 12);
	size_t pctab = tlen;
	put("\0", 1);	/* offset 0 means "no table" */
	/* values are zig-zag deltas from -1, each followed by its pc length */
	const unsigned char f0sp[] = { 2, 4, 16, 0x3c, 0 };		/* 0 on [0,4), 8 on [4,0x40) */
	const unsigned char f0ln[] = { 22, 0x20, 2, 0x20, 0 };		/* 10 on [0,0x20), 11 after */
	const unsigned char f0fl[] = { 2, 0x40, 0 };			/* file 0 */
	const unsigned char f0inl[] = { 0, 0x10, 2, 8, 1, 0x28, 0 };	/* -1, 0 on [0x10,0x18), -1 */
	const unsigned char f1sp[] = { 2, 4, 32, 0x1c, 0 };		/* 0 on [0,4), 16 after */
	const unsigned char f1ln[] = { 42, 0x20, 0 };			/* 20 */
	const unsigned char f1fl[] = { 4, 0x20, 0 };			/* file 1 */
	uint32_t o_f0sp = (uint32_t)(put(f0sp, sizeof(f0sp)) - pctab), o_f0ln = (uint32_t)(put(f0ln, sizeof(f0ln)) - pctab);
	uint32_t o_f0fl = (uint32_t)(put(f0fl, sizeof(f0fl)) - pctab), o_f0inl = (uint32_t)(put(f0inl, sizeof(f0inl)) - pctab);
	uint32_t o_f1sp = (uint32_t)(put(f1sp, sizeof(f1sp)) - pctab), o_f1ln = (uint32_t)(put(f1ln, sizeof(f1ln)) - pctab);
	uint32_t o_f1fl = (uint32_t)(put(f1fl, sizeof(f1fl)) - pctab);
	tlen = (tlen + 7) & ~7ul;
	size_t pcln = tlen;
	tlen += 3 * 8;	/* ftab: f0, f1, end */
	/* _func, 1.20 layout: 44 bytes, then pcdata and funcdata offsets */
	size_t f0 = tlen;
	tlen += 44 + 3 * 4 + 4 * 4;
	put32at(f0 + 0, 0);
	put32at(f0 + 4, 0);		/* "main.f0" */
	put32at(f0 + 16, o_f0sp);
	put32at(f0 + 20, o_f0fl);
	put32at(f0 + 24, o_f0ln);
	put32at(f0 + 28, 3);		/* npcdata */
	put32at(f0 + 32, 0);		/* cuOffset */
	tab[f0 + 41] = 1;		/* TOPFRAME */
	tab[f0 + 43] = 4;		/* nfuncdata */
	put32at(f0 + 44 + 8, o_f0inl);	/* PCDATA_InlTreeIndex */
	for (int i = 0; i < 3; i++)
		put32at(f0 + 56 + 4 * i, 0xffffffff);
	put32at(f0 + 56 + 12, 0);	/* FUNCDATA_InlTree at gofunc+0 */
	size_t f1 = tlen;
	tlen += 44;
	put32at(f1 + 0, 0x40);
	put32at(f1 + 4, 8);		/* "main.f1" */
	put32at(f1 + 16, o_f1sp);
	put32at(f1 + 20, o_f1fl);
	put32at(f1 + 24, o_f1ln);
	put32at(f1 + 32, 0);
	uint32_t ftab[6] = { 0, (uint32_t)(f0 - pcln), 0x40, (uint32_t)(f1 - pcln), 0x60, 0 };
	memcpy(tab + pcln, ftab, sizeof(ftab));
	put32at(0, 0xfffffff1);
	tab[6] = 1;
	tab[7] = 8;
	put64at(8, 2);
	put64at(24, TEXT);
	put64at(32, names);
	put64at(40, cutab);
	put64at(48, files);
	put64at(56, pctab);
	put64at(64, pcln);

	r->pcln = tab;
	r->pcln_len = tlen;
	r->magic = 0xfffffff1;
	r->nfunc = 2;
	r->text_start = TEXT;
	r->funcname_off = names;
	r->cu_off = cutab;
	r->filetab_off = files;
	r->pctab_off = pctab;
	r->functab_off = pcln;
	r->func_hdr = 44;
	r->funcid_at = 40;
	r->inl_size = 16;
	r->gofunc = GOFUNC;
	r->fid = (struct go_funcids){ .goexit = 8, .gopanic = 9, .sigpanic = 19, .panicwrap = 14,
				      .asyncpreempt = 3, .debugcallv2 = 5, .wrapper = 22 };
	r->major = 1;
	r->minor = 21;
}

static void add(struct target *t, uint64_t addr, const void *p, size_t n)
{
	unsigned char *b = xmalloc(n);
	memcpy(b, p, n);
	memimage_add_buf(&t->mem, addr, b, n);
}

static void unit_tests(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target t = { 0 };
	t.snap = s;
	struct goreader r = { .t = &t, .s = s };
	build(&r);
	/* inline tree entry 0: funcID 0, nameOff of "main.inl", parentPc 0x20 */
	unsigned char inl[16] = { 0 };
	int32_t nameoff = 16, parent = 0x20;
	memcpy(inl + 4, &nameoff, 4);
	memcpy(inl + 8, &parent, 4);
	add(&t, GOFUNC, inl, sizeof(inl));
	/* f1's frame (16 bytes) then its return address into f0's inlined call, then f0's */
	uint64_t stack[8] = { 0, 0, TEXT + 0x14, 0, 0, 0, 0, 0 };
	add(&t, STACK, stack, sizeof(stack));

	struct go_func f;
	CHECK(go_findfunc(&r, TEXT, &f) && f.entry == TEXT && strcmp(go_funcname(&r, f.nameoff), "main.f0") == 0);
	CHECK(go_findfunc(&r, TEXT + 0x5f, &f) && f.entry == TEXT + 0x40);
	CHECK(!go_findfunc(&r, TEXT + 0x60, &f));
	CHECK(!go_findfunc(&r, TEXT - 1, &f));
	CHECK(go_findfunc(&r, TEXT + 0x3f, &f) && f.entry == TEXT && f.flag == 1);
	CHECKF(go_pcvalue(&r, &f, f.pcsp, TEXT + 3) == 0, "sp %d", go_pcvalue(&r, &f, f.pcsp, TEXT + 3));
	CHECK(go_pcvalue(&r, &f, f.pcsp, TEXT + 4) == 8);
	CHECK(go_pcvalue(&r, &f, f.pcln, TEXT + 0x1f) == 10);
	CHECK(go_pcvalue(&r, &f, f.pcln, TEXT + 0x20) == 11);
	CHECK(go_pcvalue(&r, &f, f.pcln, TEXT + 0x40) == -1);	/* past the table */
	CHECK(go_pcdata(&r, &f, 2, TEXT + 0xf) == -1);
	CHECK(go_pcdata(&r, &f, 2, TEXT + 0x10) == 0);
	CHECK(go_pcdata(&r, &f, 2, TEXT + 0x18) == -1);
	CHECK(go_pcdata(&r, &f, 7, TEXT + 0x10) == -1);	/* no such table */
	CHECK(go_funcdata(&r, &f, 3) == GOFUNC && go_funcdata(&r, &f, 0) == 0);
	const char *file = go_file(&r, &f, go_pcvalue(&r, &f, f.pcfile, TEXT + 1));
	CHECK(file && strcmp(file, "/a.go") == 0);
	CHECK(go_findfunc(&r, TEXT + 0x41, &f));
	file = go_file(&r, &f, go_pcvalue(&r, &f, f.pcfile, TEXT + 0x41));
	CHECK(file && strcmp(file, "/b.go") == 0);
	CHECK(go_func_entry_by_name(&r, "main.f1") == TEXT + 0x40 && go_func_entry_by_name(&r, "main.inl") == 0);

	/* parked in f1 at 0x50: its return address lands in f0's inlined call, which Go records
	 * as that address and then entry+parentPc+1 for f0 itself; TOPFRAME ends the walk */
	uint64_t pcs[8];
	struct go_unwind_result ur;
	go_unwind(&r, TEXT + 0x50, STACK, 0, false, false, pcs, 8, &ur);
	CHECKF(ur.n == 3 && !ur.error && !ur.truncated, "n=%d error=%s", ur.n, ur.error ? ur.error : "");
	CHECKF(pcs[0] == TEXT + 0x50 && pcs[1] == TEXT + 0x14 && pcs[2] == TEXT + 0x21, "pcs %#llx %#llx %#llx",
	       (unsigned long long)pcs[0], (unsigned long long)pcs[1], (unsigned long long)pcs[2]);
	/* a thread's interrupted PC is not a return address: recorded +1 */
	go_unwind(&r, TEXT + 0x50, STACK, 0, true, false, pcs, 8, &ur);
	CHECK(ur.n == 3 && pcs[0] == TEXT + 0x51);
	/* the depth limit cuts inside the inline expansion and says so */
	go_unwind(&r, TEXT + 0x50, STACK, 0, false, false, pcs, 2, &ur);
	CHECK(ur.n == 2 && ur.truncated);
	/* a PC in no function is an error, not a guess */
	go_unwind(&r, TEXT + 0x100, STACK, 0, false, false, pcs, 8, &ur);
	CHECK(ur.n == 0 && ur.error);

	/* CallersFrames: pc-1, the inline tree's name, the physical entry */
	const struct pcsym *ps = go_symbolize(&r, TEXT + 0x14);
	CHECK(ps->nframes == 1 && ps->lookup_pc == TEXT + 0x13);
	CHECK(strcmp(ps->frames[0].function, "main.inl") == 0 && ps->frames[0].inlined);
	CHECK(ps->frames[0].func_entry == TEXT && ps->frames[0].line == 10);
	ps = go_symbolize(&r, TEXT + 0x21);
	CHECK(strcmp(ps->frames[0].function, "main.f0") == 0 && !ps->frames[0].inlined && ps->frames[0].line == 11);
	ps = go_symbolize(&r, TEXT + 0x40);	/* at an entry: not decremented */
	CHECK(ps->lookup_pc == TEXT + 0x40 && strcmp(ps->frames[0].function, "main.f1") == 0);
	CHECK(go_symbolize(&r, TEXT + 0x14) == go_symbolize(&r, TEXT + 0x14));	/* once per PC */
	ps = go_symbolize(&r, TEXT + 0x1000);
	CHECK(ps->nframes == 0);

	/* corrupt offsets must not read outside the table */
	size_t saved = r.pcln_len;
	r.pcln_len = 80;
	CHECK(!go_findfunc(&r, TEXT + 0x41, &f));
	r.pcln_len = saved;

	go_pccache_free(&r);
	go_symcache_free(&r);
	go_cache_free(&r);
	memimage_free(&t.mem);
	snapshot_free(s);
}
