/* runtime.firstmoduledata: where the code starts (text: the base of every function entry),
 * the type descriptors ([types, etypes)) and the funcdata base (gofunc). Found by symbol,
 * or in a stripped binary by its first two words, which point at the pclntab header and
 * its function-name table: in .go.module from Go 1.26 on, in .noptrdata before.
 *
 * Its layout moved twice, and both moves are told from the data rather than from the
 * version: 1.20 put covctrs/ecovctrs after enoptrbss (every field from `end` on moved by
 * 16; the pclntab magic changed with it), and 1.27 put typedesclen between types and
 * etypes (and itaboffset/itabsize before rodata): a length where an address was. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define MD_TEXT 176
#define MD_NEED 400
#define TYPES_MAX (256ull << 20)

struct md_fields {
	uint64_t text, types, etypes, gofunc;
};

static uint64_t md_tail(const struct goreader *r)
{
	return r->magic == 0xfffffff0 ? 256 : 272;
}

static bool in_text(const struct goreader *r, uint64_t addr)
{
	const struct go_section *text = go_section(r, ".text");
	if (!text || !text->addr)
		return addr != 0;
	return addr >= text->addr && addr - text->addr < text->size;
}

/* The fields chang uses, if md looks like this binary's moduledata. */
static bool md_decode(struct goreader *r, const unsigned char *md, struct md_fields *out)
{
	uint64_t tail = md_tail(r);
	if (go_le64(md) != r->pcln_addr || go_le64(md + 8) != r->pcln_addr + r->funcname_off)
		return false;
	struct md_fields f = { .text = go_le64(md + MD_TEXT), .types = go_le64(md + tail + 24) };
	uint64_t w = go_le64(md + tail + 32);
	if (w > f.types) {
		/* types, etypes, rodata, gofunc */
		f.etypes = w;
		f.gofunc = go_le64(md + tail + 48);
	} else {
		/* 1.27: types, typedesclen, etypes, itaboffset, itabsize, rodata, gofunc */
		f.etypes = go_le64(md + tail + 40);
		f.gofunc = go_le64(md + tail + 72);
		if (f.etypes < f.types || w > f.etypes - f.types)
			return false;
	}
	/* the pclntab header's textStart, where the linker still wrote one, is runtime.text too */
	if (r->text_start && f.text != r->text_start)
		return false;
	if (!in_text(r, f.text) || !f.types || f.types >= f.etypes || f.etypes - f.types > TYPES_MAX || !f.gofunc)
		return false;
	*out = f;
	return true;
}

static uint64_t scan_section(struct goreader *r, const char *name, struct md_fields *f)
{
	const struct go_section *sc = go_section(r, name);
	if (!sc || !sc->addr || sc->size < MD_NEED || sc->size > (64u << 20))
		return 0;
	unsigned char *buf = xmalloc((size_t)sc->size);
	uint64_t found = 0;
	if (go_read(r, sc->addr, buf, (size_t)sc->size)) {
		for (uint64_t off = 0; off + MD_NEED <= sc->size; off += 8)
			if (go_le64(buf + off) == r->pcln_addr && md_decode(r, buf + off, f)) {
				found = sc->addr + off;
				break;
			}
	}
	free(buf);
	return found;
}

int go_moduledata_load(struct goreader *r, struct err *e)
{
	unsigned char md[MD_NEED];
	struct md_fields f;
	uint64_t addr = go_symbol(r, "runtime.firstmoduledata", NULL);
	if (!addr || !go_read(r, addr, md, sizeof(md)) || !md_decode(r, md, &f)) {
		addr = scan_section(r, ".go.module", &f);
		if (!addr)
			addr = scan_section(r, ".noptrdata", &f);
		if (!addr)
			return err_set(e, ERR_FAIL, "moduledata: runtime.firstmoduledata not found");
	}
	r->md_addr = addr;
	r->text_start = f.text;
	r->types = f.types;
	r->etypes = f.etypes;
	r->gofunc = f.gofunc;
	r->typelen = (size_t)(r->etypes - r->types);
	free(r->typebuf);
	free(r->tix);
	r->tix = NULL;
	r->ntix = 0;
	r->typebuf = xmalloc(r->typelen);
	if (!go_read(r, r->types, r->typebuf, r->typelen))
		return err_set(e, ERR_FAIL, "moduledata: cannot read the type descriptors at %#llx",
			       (unsigned long long)r->types);
	return 0;
}
