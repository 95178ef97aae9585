#include "symbols/symindex.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <dwarf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

struct sym {
	uint64_t start, size;
	const char *name;	/* in the module's string table, which outlives the index */
	unsigned char type, rank;	/* rank: global 0, weak 1, local 2 */
};

struct symindex {
	struct sym *v;
	size_t n;
};

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)y->rank - (int)x->rank;	/* at one address the global one comes last */
}

struct symindex *symindex_build(Dwfl_Module *mod)
{
	struct symindex *ix = xcalloc(1, sizeof(*ix));
	int n = dwfl_module_getsymtab(mod);
	if (n <= 1)
		return ix;
	ix->v = xmalloc((size_t)n * sizeof(*ix->v));
	for (int i = 1; i < n; i++) {
		GElf_Sym s;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &s, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(s.st_info), bind = GELF_ST_BIND(s.st_info);
		/* Data only: the addresses named here are locks and queues, and leaving out the
		 * functions (most of a big program's symbols) keeps the sort short. */
		if (!name || !name[0] || shndx == SHN_UNDEF ||
		    (type != STT_OBJECT && type != STT_NOTYPE && type != STT_COMMON))
			continue;
		ix->v[ix->n++] = (struct sym){ .start = addr, .size = s.st_size, .name = name,
					       .type = (unsigned char)type,
					       .rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2 };
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), cmp_sym);
	return ix;
}

void symindex_free(struct symindex *ix)
{
	if (!ix)
		return;
	free(ix->v);
	free(ix);
}

static int cmp_addr_sym(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct sym *)elem)->start;
	return (k > a) - (k < a);
}

bool symindex_lookup(const struct symindex *ix, uint64_t addr, struct symhit *hit)
{
	if (!ix || ix->n == 0)
		return false;
	size_t lo = upper_bound(ix->v, ix->n, sizeof(*ix->v), &addr, cmp_addr_sym);	/* first entry starting above addr */
	if (lo == 0)
		return false;
	/* Nested or overlapping extents are rare and short: a few entries back suffice. */
	const struct sym *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < 64; i--, k++) {
		const struct sym *s = &ix->v[i - 1];
		if (s->size && addr - s->start < s->size) {
			best = s;
			break;
		}
	}
	if (!best)
		best = &ix->v[lo - 1];
	*hit = (struct symhit){ .name = best->name, .start = best->start, .size = best->size, .type = best->type };
	return true;
}

struct var {
	const char *name;	/* in .debug_str */
	Dwarf_Off die;
};

struct varindex {
	struct var *slots;
	size_t cap, n;
	Dwarf *dw;
	Dwarf_Off next_cu;	/* compile units before it are indexed */
	bool done;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void put(struct varindex *vx, const char *name, Dwarf_Off die)
{
	if ((vx->n + 1) * 2 > vx->cap) {
		size_t ncap = vx->cap ? vx->cap * 2 : 256;
		struct var *ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < vx->cap; i++)
			if (vx->slots[i].name) {
				size_t h = hash_str(vx->slots[i].name) & (ncap - 1);
				while (ns[h].name)
					h = (h + 1) & (ncap - 1);
				ns[h] = vx->slots[i];
			}
		free(vx->slots);
		vx->slots = ns;
		vx->cap = ncap;
	}
	size_t h = hash_str(name) & (vx->cap - 1);
	while (vx->slots[h].name) {
		if (strcmp(vx->slots[h].name, name) == 0)
			return;	/* the first compile unit's wins, as a linear search would have it */
		h = (h + 1) & (vx->cap - 1);
	}
	vx->slots[h] = (struct var){ .name = name, .die = die };
	vx->n++;
}

static const struct var *get(const struct varindex *vx, const char *name)
{
	if (!vx->cap)
		return NULL;
	size_t h = hash_str(name) & (vx->cap - 1);
	while (vx->slots[h].name) {
		if (strcmp(vx->slots[h].name, name) == 0)
			return &vx->slots[h];
		h = (h + 1) & (vx->cap - 1);
	}
	return NULL;
}

/* Index the next compile unit's top-level variables; false when there is none. */
static bool index_next_cu(struct varindex *vx)
{
	Dwarf_Off next;
	size_t hsize;
	if (vx->done || dwarf_nextcu(vx->dw, vx->next_cu, &next, &hsize, NULL, NULL, NULL) != 0) {
		vx->done = true;
		return false;
	}
	Dwarf_Die cu, child;
	if (dwarf_offdie(vx->dw, vx->next_cu + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
		do {
			if (dwarf_tag(&child) != DW_TAG_variable || !dwarf_hasattr(&child, DW_AT_type))
				continue;
			const char *n = dwarf_diename(&child);
			/* a declaration may lack the type's full definition: only a definition,
			 * or a declaration with a location, names a lock */
			if (n && (!dwarf_hasattr(&child, DW_AT_declaration) || dwarf_hasattr(&child, DW_AT_location)))
				put(vx, n, dwarf_dieoffset(&child));
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	vx->next_cu = next;
	return true;
}

struct varindex *varindex_build(Dwarf *dw)
{
	struct varindex *vx = xcalloc(1, sizeof(*vx));
	vx->dw = dw;
	vx->done = dw == NULL;
	return vx;
}

/* Compile units are indexed as far as the first that defines the name, no further: the
 * variables a report names are usually in the program's first units, and a program of
 * 100,000 functions has many more after them. */
bool varindex_find(struct varindex *vx, Dwarf *dw, const char *name, Dwarf_Die *out)
{
	if (!vx || dw != vx->dw)
		return false;
	const struct var *v;
	while (!(v = get(vx, name)) && index_next_cu(vx))
		;
	return v && dwarf_offdie(dw, v->die, out) != NULL;
}

void varindex_free(struct varindex *vx)
{
	if (!vx)
		return;
	free(vx->slots);
	free(vx);
}

struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off unit;
};

struct cuindex {
	struct cu_range *v;
	size_t n;
};

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

static bool section_data(Elf *e, const char *want, const unsigned char **p, size_t *len)
{
	size_t shstrndx;
	if (!e || elf_getshdrstrndx(e, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) || strcmp(name, want) != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED))
			return false;	/* libdw inflates it; its own lookup is used then */
		Elf_Data *d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf)
			return false;
		*p = d->d_buf;
		*len = d->d_size;
		return true;
	}
	return false;
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct cuindex *cuindex_build(Dwarf *dw)
{
	struct cuindex *cx = xcalloc(1, sizeof(*cx));
	const unsigned char *p;
	size_t len, cap = 0;
	if (!section_data(dw ? dwarf_getelf(dw) : NULL, ".debug_aranges", &p, &len))
		return cx;
	/* Sets of (address, length) tuples, one set per unit: a 4- or 12-byte length, version
	 * 2, the unit's offset (4 or 8 bytes), address size, segment size, padding to twice the
	 * address size, then tuples until (0, 0). */
	for (size_t off = 0; off + 4 <= len;) {
		uint64_t ulen = get_le(p + off, 4);
		int ofs = 4;
		size_t hdr = 4;
		if (ulen == 0xffffffffu) {
			if (off + 12 > len)
				break;
			ulen = get_le(p + off + 4, 8);
			ofs = 8;
			hdr = 12;
		}
		if (ulen > len - off - hdr)
			break;
		size_t end = off + hdr + (size_t)ulen, q = off + hdr;
		if (q + 2 + (size_t)ofs + 2 > end)
			break;
		uint64_t version = get_le(p + q, 2);
		uint64_t unit = get_le(p + q + 2, ofs);
		unsigned asz = p[q + 2 + ofs], seg = p[q + 3 + ofs];
		q += 4 + (size_t)ofs;
		if (version != 2 || asz != 8 || seg != 0) {
			off = end;
			continue;
		}
		q = off + (((q - off) + 15) & ~(size_t)15);	/* tuples start 2 * address size in */
		for (; q + 16 <= end; q += 16) {
			uint64_t a = get_le(p + q, 8), l = get_le(p + q + 8, 8);
			if (a == 0 && l == 0)
				break;
			if (l == 0 || a + l < a)
				continue;
			if (cx->n == cap) {
				cap = cap ? cap * 2 : 1024;
				cx->v = xrealloc(cx->v, cap * sizeof(*cx->v));
			}
			cx->v[cx->n++] = (struct cu_range){ a, a + l, unit };
		}
		off = end;
	}
	if (cx->n > 1)
		qsort(cx->v, cx->n, sizeof(*cx->v), cmp_range);
	return cx;
}

static int cmp_addr_curange(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct cu_range *)elem)->lo;
	return (k > a) - (k < a);
}

bool cuindex_find(const struct cuindex *cx, uint64_t addr, Dwarf_Off *unit)
{
	if (!cx || cx->n == 0)
		return false;
	size_t lo = upper_bound(cx->v, cx->n, sizeof(*cx->v), &addr, cmp_addr_curange);
	/* ranges of different units do not overlap; a few back covers any that do */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
		if (addr < cx->v[i - 1].hi) {
			*unit = cx->v[i - 1].unit;
			return true;
		}
	return false;
}

void cuindex_free(struct cuindex *cx)
{
	if (!cx)
		return;
	free(cx->v);
	free(cx);
}
