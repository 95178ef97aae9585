#include "symbols/funcsyms.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

struct fsym {
	uint64_t start, size;
	const char *name;	/* in libdwfl's string tables, which outlive the index */
	unsigned char source, rank;	/* rank: global 0, weak 1, local 2 */
};

struct funcsyms {
	struct fsym *v;
	size_t n;
};

/* Whether e has a section of that type (and, if name, that name) with contents. */
static bool has_section(Elf *e, Elf64_Word type, const char *name)
{
	size_t shstrndx;
	if (!e || elf_getshdrstrndx(e, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_size == 0)
			continue;
		const char *n = name ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
		if (!name || (n && strcmp(n, name) == 0))
			return true;
	}
	return false;
}

void symtables_probe(Dwfl_Module *mod, struct module *m)
{
	GElf_Addr bias;
	Elf *main_elf = dwfl_module_getelf(mod, &bias);
	/* libdwfl takes the first .symtab of the file and of its debug file; without one,
	 * .dynsym and MiniDebugInfo's table together (find_symtab in elfutils) */
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	Elf *debug_elf = dw ? dwarf_getelf(dw) : NULL;
	m->has_debuginfo = dw != NULL;
	m->has_symtab = has_section(main_elf, SHT_SYMTAB, NULL) ||
			(debug_elf && debug_elf != main_elf && has_section(debug_elf, SHT_SYMTAB, NULL));
	m->has_dynsym = has_section(main_elf, SHT_DYNSYM, NULL);
	m->has_minidebuginfo = has_section(main_elf, SHT_PROGBITS, ".gnu_debugdata");
	m->symbols_known = true;
}

/* The values of the defined functions of the file's own .dynsym, sorted: libdwfl's merged
 * table does not say which of its two tables a symbol came from. */
static uint64_t *dynsym_values(Elf *e, size_t *n)
{
	*n = 0;
	uint64_t *v = NULL;
	size_t cap = 0;
	for (Elf_Scn *scn = NULL; e && (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 1; d && i < count; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			VEC_RESERVE(v, cap, *n + 1);
			v[(*n)++] = s.st_value;
		}
	}
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_fsym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)y->rank - (int)x->rank;	/* at one address the global one comes last */
}

struct funcsyms *funcsyms_build(Dwfl_Module *mod, const struct module *m)
{
	struct funcsyms *fx = xcalloc(1, sizeof(*fx));
	int n = dwfl_module_getsymtab(mod);
	if (n <= 1)
		return fx;
	GElf_Addr bias;
	size_t ndyn = 0;
	uint64_t *dyn = m->has_minidebuginfo ? dynsym_values(dwfl_module_getelf(mod, &bias), &ndyn) : NULL;
	if (ndyn > 1)
		qsort(dyn, ndyn, sizeof(*dyn), cmp_u64);
	fx->v = xmalloc((size_t)n * sizeof(*fx->v));
	for (int i = 1; i < n; i++) {
		GElf_Sym s;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &s, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(s.st_info), bind = GELF_ST_BIND(s.st_info);
		if (!name || !name[0] || shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		bool in_dynsym = !m->has_minidebuginfo ||
				 (ndyn && bsearch(&s.st_value, dyn, ndyn, sizeof(*dyn), cmp_u64) != NULL);
		fx->v[fx->n++] = (struct fsym){
			.start = addr, .size = s.st_size, .name = name,
			.source = (unsigned char)(in_dynsym ? SYM_DYNSYM : SYM_MINIDEBUGINFO),
			.rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2,
		};
	}
	free(dyn);
	qsort(fx->v, fx->n, sizeof(*fx->v), cmp_fsym);
	return fx;
}

void funcsyms_free(struct funcsyms *fx)
{
	if (!fx)
		return;
	free(fx->v);
	free(fx);
}

static int cmp_addr_fsym(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct fsym *)elem)->start;
	return (k > a) - (k < a);
}

bool funcsyms_lookup(const struct funcsyms *fx, uint64_t addr, struct funchit *hit)
{
	if (!fx || fx->n == 0)
		return false;
	size_t lo = upper_bound(fx->v, fx->n, sizeof(*fx->v), &addr, cmp_addr_fsym);	/* first entry starting above addr */
	if (lo == 0)
		return false;
	/* Functions do not nest, but aliases and cold parts overlap: a few entries back
	 * find any whose extent covers addr. */
	const struct fsym *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++) {
		const struct fsym *s = &fx->v[i - 1];
		if (s->size && addr - s->start < s->size) {
			best = s;
			break;
		}
	}
	bool near = best == NULL;
	if (!best)
		best = &fx->v[lo - 1];
	*hit = (struct funchit){ .name = best->name, .start = best->start, .size = best->size,
				 .source = (enum sym_source)best->source, .near = near };
	return true;
}
