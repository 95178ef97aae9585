/* The pclntab of Go 1.18+ (magic 0xfffffff0, and 0xfffffff1 from 1.20): the function
 * table, pcvalue tables (sp delta, file, line, pcdata), function and file names, and the
 * inline trees. It is copied once from the target's memory, where a PIE's textStart is
 * already relocated; every offset inside it is checked against the copy's length. */
#include "go/internal.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdlib.h>
#include <string.h>

#define PCLN_MAX (512ull << 20)

static bool in_pcln(const struct goreader *r, uint64_t off, uint64_t len)
{
	return off <= r->pcln_len && len <= r->pcln_len - off;
}

int go_pclntab_load(struct goreader *r, struct err *e)
{
	const struct go_section *sc = go_section(r, ".gopclntab");
	if (!sc)
		sc = go_section(r, ".data.rel.ro.gopclntab");
	if (!sc || !sc->addr || sc->size < 72)
		return err_set(e, ERR_FAIL, "pclntab: the executable has no .gopclntab section");
	if (sc->size > PCLN_MAX)
		return err_set(e, ERR_FAIL, "pclntab: implausible size %llu", (unsigned long long)sc->size);
	r->pcln_addr = sc->addr;
	r->pcln_len = (size_t)sc->size;
	free(r->pcln);
	r->pcln = xmalloc(r->pcln_len);
	if (!go_read(r, sc->addr, r->pcln, r->pcln_len))
		return err_set(e, ERR_FAIL, "pclntab: cannot read %#llx..+%zu from the target",
			       (unsigned long long)sc->addr, r->pcln_len);
	const unsigned char *h = r->pcln;
	r->magic = go_le32(h);
	switch (r->magic) {
	case 0xfffffff0:
		r->func_hdr = 40;
		r->funcid_at = 36;
		r->inl_size = 20;
		break;
	case 0xfffffff1:
		r->func_hdr = 44;
		r->funcid_at = 40;
		r->inl_size = 16;
		break;
	case 0xfffffffb:
	case 0xfffffffa:
		return err_set(e, ERR_FAIL, "pclntab: built by Go 1.17 or older (magic %#x); chang reads "
			       "goroutines of Go 1.18 and later only", r->magic);
	default:
		return err_set(e, ERR_FAIL, "pclntab: unknown magic %#x", r->magic);
	}
	/* PCQuantum: 1 on amd64, 4 on arm64 (fixed-size instructions) */
	if (h[4] != 0 || h[5] != 0 || h[6] != (r->uses_lr ? 4 : 1) || h[7] != 8)
		return err_set(e, ERR_FAIL, "pclntab: not an %s table (quantum %u, pointer size %u)",
			       r->uses_lr ? "arm64" : "amd64", h[6], h[7]);
	r->pcquantum = h[6];
	r->nfunc = go_le64(h + 8);
	r->text_start = go_le64(h + 24);
	r->funcname_off = go_le64(h + 32);
	r->cu_off = go_le64(h + 40);
	r->filetab_off = go_le64(h + 48);
	r->pctab_off = go_le64(h + 56);
	r->functab_off = go_le64(h + 64);
	if (r->nfunc == 0 || r->nfunc > 10000000 || !in_pcln(r, r->functab_off, (r->nfunc + 1) * 8) ||
	    !in_pcln(r, r->funcname_off, 1) || !in_pcln(r, r->cu_off, 0) || !in_pcln(r, r->filetab_off, 0) ||
	    !in_pcln(r, r->pctab_off, 0))
		return err_set(e, ERR_FAIL, "pclntab: header offsets out of range");
	/* Go 1.26 writes 0 here: the runtime takes the text start from moduledata.text, and so
	 * does chang (go_moduledata_load). Earlier versions write runtime.text, which is not the
	 * start of .text when gcc linked the program (cgo: C start-up code comes first). */
	if (r->text_start) {
		const struct go_section *text = go_section(r, ".text");
		if (text && text->addr && (r->text_start < text->addr || r->text_start - text->addr >= text->size))
			return err_set(e, ERR_FAIL, "pclntab: textStart %#llx lies outside .text %#llx..+%#llx",
				       (unsigned long long)r->text_start, (unsigned long long)text->addr,
				       (unsigned long long)text->size);
	}
	return 0;
}

static bool decode_func(struct goreader *r, uint32_t funcoff, struct go_func *f)
{
	uint64_t at = r->functab_off + funcoff;
	if (!in_pcln(r, at, r->func_hdr))
		return false;
	const unsigned char *p = r->pcln + at;
	f->raw = p;
	f->entry = r->text_start + go_le32(p);
	f->nameoff = (int32_t)go_le32(p + 4);
	f->pcsp = go_le32(p + 16);
	f->pcfile = go_le32(p + 20);
	f->pcln = go_le32(p + 24);
	f->npcdata = go_le32(p + 28);
	f->cuoff = go_le32(p + 32);
	f->funcid = p[r->funcid_at];
	f->flag = p[r->funcid_at + 1];
	f->nfuncdata = p[r->funcid_at + 3];
	if (f->npcdata > 1024 || !in_pcln(r, at + r->func_hdr, (uint64_t)f->npcdata * 4 + (uint64_t)f->nfuncdata * 4))
		return false;
	return true;
}

bool go_func_by_index(struct goreader *r, uint64_t i, struct go_func *f)
{
	if (i >= r->nfunc)
		return false;
	const unsigned char *ft = r->pcln + r->functab_off;
	return decode_func(r, go_le32(ft + i * 8 + 4), f);
}

static int cmp_off_functab(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, e = go_le32(elem);
	return (k > e) - (k < e);
}

bool go_findfunc(struct goreader *r, uint64_t pc, struct go_func *f)
{
	if (pc < r->text_start)
		return false;
	uint64_t off = pc - r->text_start;
	const unsigned char *ft = r->pcln + r->functab_off;
	if (off >= go_le32(ft + r->nfunc * 8))
		return false;
	/* the last entry whose entryoff <= off: functab is (entryoff, funcoff) pairs of le32 */
	uint64_t lo = upper_bound(ft, r->nfunc, 8, &off, cmp_off_functab);
	if (lo == 0)
		return false;
	return decode_func(r, go_le32(ft + (lo - 1) * 8 + 4), f);
}

uint64_t go_func_end(struct goreader *r, uint64_t pc)
{
	if (pc < r->text_start)
		return 0;
	uint64_t off = pc - r->text_start;
	const unsigned char *ft = r->pcln + r->functab_off;
	if (off >= go_le32(ft + r->nfunc * 8))
		return 0;
	/* the first entry past pc starts the next function (the table ends with the text's end) */
	uint64_t lo = upper_bound(ft, r->nfunc, 8, &off, cmp_off_functab);
	return r->text_start + go_le32(ft + lo * 8);
}

const char *go_funcname(struct goreader *r, int32_t nameoff)
{
	if (nameoff < 0 || !in_pcln(r, r->funcname_off + (uint64_t)nameoff, 1))
		return NULL;
	const char *p = (const char *)r->pcln + r->funcname_off + nameoff;
	size_t max = r->pcln_len - (size_t)(r->funcname_off + (uint64_t)nameoff);
	if (!memchr(p, 0, max))
		return NULL;
	return p;
}

static bool varint(const unsigned char *p, size_t n, size_t *pos, uint32_t *v)
{
	uint32_t x = 0;
	for (unsigned shift = 0; *pos < n && shift < 35; shift += 7) {
		unsigned char b = p[(*pos)++];
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int32_t go_pcvalue(struct goreader *r, const struct go_func *f, uint32_t off, uint64_t targetpc)
{
	if (off == 0)
		return -1;
	uint64_t start = r->pctab_off + off;
	if (!in_pcln(r, start, 1))
		return -1;
	const unsigned char *p = r->pcln + start;
	size_t n = r->pcln_len - (size_t)start, pos = 0;
	uint64_t pc = f->entry;
	int32_t val = -1;
	/* a table never has more steps than bytes */
	for (size_t steps = 0; steps <= n; steps++) {
		uint32_t uv, pcd;
		if (pos >= n)
			return -1;
		if (p[pos] == 0 && steps > 0)
			return -1;
		if (!varint(p, n, &pos, &uv) || !varint(p, n, &pos, &pcd))
			return -1;
		/* Go's int32 arithmetic wraps; C's signed overflow is undefined, so add unsigned */
		val = (int32_t)((uint32_t)val + (-(uv & 1) ^ (uv >> 1)));
		pc += (uint64_t)pcd * (r->pcquantum ? r->pcquantum : 1);
		if (targetpc < pc)
			return val;
	}
	return -1;
}

int32_t go_pcdata(struct goreader *r, const struct go_func *f, uint32_t table, uint64_t pc)
{
	if (table >= f->npcdata)
		return -1;
	return go_pcvalue(r, f, go_le32(f->raw + r->func_hdr + table * 4), pc);
}

uint64_t go_funcdata(struct goreader *r, const struct go_func *f, uint32_t i)
{
	if (i >= f->nfuncdata || !r->gofunc)
		return 0;
	uint32_t off = go_le32(f->raw + r->func_hdr + f->npcdata * 4 + i * 4);
	if (off == 0xffffffff)
		return 0;
	return r->gofunc + off;
}

const char *go_file(struct goreader *r, const struct go_func *f, int32_t fileno)
{
	if (fileno < 0)
		return NULL;
	uint64_t cu = r->cu_off + ((uint64_t)f->cuoff + (uint64_t)fileno) * 4;
	if (!in_pcln(r, cu, 4))
		return NULL;
	uint32_t foff = go_le32(r->pcln + cu);
	if (foff == 0xffffffff)
		return NULL;
	uint64_t at = r->filetab_off + foff;
	if (!in_pcln(r, at, 1))
		return NULL;
	const char *p = (const char *)r->pcln + at;
	if (!memchr(p, 0, r->pcln_len - (size_t)at))
		return NULL;
	return p;
}

bool go_inl_at(struct goreader *r, uint64_t tree, int32_t ix, struct go_inl *out)
{
	unsigned char b[20];
	if (!tree || ix < 0 || ix > 1000000)
		return false;
	if (!go_read(r, tree + (uint64_t)ix * r->inl_size, b, r->inl_size))
		return false;
	if (r->inl_size == 20) {
		/* 1.18/1.19: parent i16, funcID u8, pad, file i32, line i32, func_ i32, parentPc i32 */
		out->funcid = b[2];
		out->nameoff = (int32_t)go_le32(b + 12);
		out->parentpc = (int32_t)go_le32(b + 16);
	} else {
		/* 1.20+: funcID u8, pad[3], nameOff i32, parentPc i32, startLine i32 */
		out->funcid = b[0];
		out->nameoff = (int32_t)go_le32(b + 4);
		out->parentpc = (int32_t)go_le32(b + 8);
	}
	return true;
}

uint64_t go_func_entry_by_name(struct goreader *r, const char *name)
{
	struct go_func f;
	for (uint64_t i = 0; i < r->nfunc; i++) {
		if (!go_func_by_index(r, i, &f))
			continue;
		const char *n = go_funcname(r, f.nameoff);
		if (n && strcmp(n, name) == 0)
			return f.entry;
	}
	return 0;
}
