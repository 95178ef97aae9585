/* runtime.firstmoduledata: where the type descriptors ([types, etypes)) and the funcdata
 * base (gofunc) are. Found by symbol, or in a stripped binary by its first two words,
 * which point at the pclntab header and its function-name table. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define MD_TEXT 176
#define MD_NEED 400
#define TYPES_MAX (256ull << 20)

/* Go 1.20 put covctrs/ecovctrs after enoptrbss: every field from `end` on moved by 16. */
static uint64_t md_tail(const struct goreader *r)
{
	return r->magic == 0xfffffff0 ? 256 : 272;
}

static bool md_plausible(struct goreader *r, const unsigned char *md)
{
	uint64_t tail = md_tail(r);
	uint64_t text = go_le64(md + MD_TEXT), types = go_le64(md + tail + 24), etypes = go_le64(md + tail + 32);
	uint64_t gofunc = go_le64(md + tail + 48);
	return go_le64(md) == r->pcln_addr && go_le64(md + 8) == r->pcln_addr + r->funcname_off &&
	       text == r->text_start && types && types < etypes && etypes - types <= TYPES_MAX && gofunc;
}

static uint64_t scan_noptrdata(struct goreader *r)
{
	const struct go_section *sc = go_section(r, ".noptrdata");
	if (!sc || !sc->addr || sc->size < MD_NEED || sc->size > (64u << 20))
		return 0;
	unsigned char *buf = xmalloc((size_t)sc->size);
	uint64_t found = 0;
	if (go_read(r, sc->addr, buf, (size_t)sc->size)) {
		for (uint64_t off = 0; off + MD_NEED <= sc->size; off += 8)
			if (go_le64(buf + off) == r->pcln_addr && md_plausible(r, buf + off)) {
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
	uint64_t addr = go_symbol(r, "runtime.firstmoduledata", NULL);
	if (!addr || !go_read(r, addr, md, sizeof(md)) || !md_plausible(r, md)) {
		addr = scan_noptrdata(r);
		if (!addr || !go_read(r, addr, md, sizeof(md)))
			return err_set(e, ERR_FAIL, "moduledata: runtime.firstmoduledata not found");
	}
	uint64_t tail = md_tail(r);
	r->md_addr = addr;
	r->types = go_le64(md + tail + 24);
	r->etypes = go_le64(md + tail + 32);
	r->gofunc = go_le64(md + tail + 48);
	r->typelen = (size_t)(r->etypes - r->types);
	r->typebuf = xmalloc(r->typelen);
	if (!go_read(r, r->types, r->typebuf, r->typelen))
		return err_set(e, ERR_FAIL, "moduledata: cannot read the type descriptors at %#llx",
			       (unsigned long long)r->types);
	return 0;
}
