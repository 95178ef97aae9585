/* Go's pclntab as chang decodes it (go/pclntab.c), with the symbolizer and the pcbuf
 * unwinder on top. The input is a little-endian u32 length, that many bytes of pclntab
 * (the .gopclntab section, read from the target at PCLN as go_pclntab_load does), and the
 * rest as memory mapped both at GOFUNC (inline trees) and at STACK (goroutine stacks).
 * .text is at 0x401000, where Go links amd64 executables, so real tables load unchanged. */
#include "fuzz.h"
#include "go/internal.h"
#include "util/xalloc.h"
#include <elf.h>

#define TEXT 0x401000ull
#define PCLN 0x4c0000ull
#define GOFUNC 0x500000ull
#define STACK 0xc000100000ull
#define SAMPLES 64

static void map_copy(struct target *t, uint64_t addr, const uint8_t *p, size_t n)
{
	if (!n)
		return;
	unsigned char *b = xmalloc(n);
	memcpy(b, p, n);
	memimage_add_buf(&t->mem, addr, b, n);
}

static void one_func(struct goreader *r, const struct go_func *f, uint64_t salt)
{
	go_funcname(r, f->nameoff);
	uint64_t pcs[] = { f->entry, f->entry + 1, f->entry + (salt & 0xff), f->entry + (salt >> 8 & 0xfff) };
	for (size_t k = 0; k < sizeof(pcs) / sizeof(*pcs); k++) {
		uint64_t pc = pcs[k];
		go_pcvalue(r, f, f->pcsp, pc);
		go_pcvalue(r, f, f->pcln, pc);
		go_file(r, f, go_pcvalue(r, f, f->pcfile, pc));
		for (uint32_t t = 0; t < 3; t++)
			go_pcdata(r, f, t, pc);
		struct go_inl inl;
		int32_t ix = go_pcdata(r, f, 2, pc);
		if (go_inl_at(r, go_funcdata(r, f, 3), ix, &inl))
			go_funcname(r, inl.nameoff);
		const struct pcsym *ps = go_symbolize(r, pc);
		FUZZ_CHECK(ps && ps->pc == pc && ps->nframes <= 1);
		if (ps->nframes && ps->frames[0].function)
			FUZZ_CHECK(strlen(ps->frames[0].function) < r->pcln_len);
		uint64_t out[40];
		struct go_unwind_result res;
		go_unwind(r, pc, STACK + (salt & 0x38), 0, salt & 1, salt & 2, out, 40, &res);
		FUZZ_CHECK(res.n >= 0 && res.n <= 40);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t plen = fuzz_take_u32(&data, &size);
	if (plen > size)
		plen = (uint32_t)size;
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct target t;
	memset(&t, 0, sizeof(t));
	t.snap = s;
	map_copy(&t, PCLN, data, plen);
	map_copy(&t, GOFUNC, data + plen, size - plen);
	map_copy(&t, STACK, data + plen, size - plen);

	struct go_section secs[] = {
		{ ".gopclntab", PCLN, plen, 0, SHT_PROGBITS },
		{ ".text", TEXT, 0x80000, 0, SHT_PROGBITS },
	};
	struct goreader r = { .t = &t, .s = s };
	r.elf.secs = secs;
	r.elf.nsecs = 2;
	r.gofunc = GOFUNC;
	r.major = 1;
	r.minor = 21;
	r.fid = (struct go_funcids){ .goexit = 8, .gopanic = 9, .sigpanic = 19, .panicwrap = 14,
				     .asyncpreempt = 3, .debugcallv2 = 5, .wrapper = 22 };
	struct err e = { 0 };
	if (go_pclntab_load(&r, &e) == 0) {
		FUZZ_CHECK(r.pcln_len == plen && r.nfunc > 0);
		/* a sample of functions spread over the table, so big real tables stay fast */
		uint64_t step = r.nfunc / SAMPLES + 1;
		for (uint64_t i = 0; i < r.nfunc; i += step) {
			struct go_func f;
			if (go_func_by_index(&r, i, &f))
				one_func(&r, &f, i * 0x9e3779b97f4a7c15ull >> 40);
		}
		/* and PCs from the memory part, as a stack would hold them */
		size_t rest = size - plen;
		for (size_t off = 0; off + 8 <= rest && off < 8 * SAMPLES; off += 8) {
			uint64_t pc;
			memcpy(&pc, data + plen + off, 8);
			struct go_func f;
			go_findfunc(&r, pc, &f);
			go_symbolize(&r, pc);
		}
		go_func_entry_by_name(&r, "runtime.goexit");
	} else {
		FUZZ_CHECK(e.msg[0] && strncmp(e.msg, "pclntab: ", 9) == 0);
		fuzz_note("go_pclntab_load", e.msg);
	}
	go_pccache_free(&r);
	go_symcache_free(&r);
	go_cache_free(&r);
	free(r.pcln);
	memimage_free(&t.mem);
	snapshot_free(s);
	return 0;
}
