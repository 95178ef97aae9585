/* Naming data addresses for humans: the ELF symbol that covers the address, refined with
 * DWARF into the member or element it points at ("jobs.not_full", "forks[2]"). */
#include "symbols/symbols.h"
#include "symbols/demangle.h"
#include "symbols/symbolizer_impl.h"
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/xalloc.h"

/* Append ".member" / "[i]" steps while offset stays inside a composite. */
static void describe_offset(Dwarf_Die *type, uint64_t off, char *buf, size_t cap)
{
	for (int depth = 0; depth < 16; depth++) {
		Dwarf_Die t;
		if (dwarf_peel_type(type, &t) != 0)
			break;
		int tag = dwarf_tag(&t);
		if (tag == DW_TAG_array_type) {
			Dwarf_Attribute at;
			Dwarf_Die elem;
			Dwarf_Word esz;
			if (!dwarf_formref_die(dwarf_attr_integrate(&t, DW_AT_type, &at), &elem) ||
			    dwarf_aggregate_size(&elem, &esz) != 0 || esz == 0)
				break;
			size_t l = strlen(buf);
			snprintf(buf + l, cap - l, "[%llu]", (unsigned long long)(off / esz));
			off %= esz;
			*type = elem;
			continue;
		}
		if (tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type) {
			Dwarf_Die m;
			bool found = false;
			if (dwarf_child(&t, &m) == 0) {
				do {
					if (dwarf_tag(&m) != DW_TAG_member)
						continue;
					Dwarf_Attribute at;
					Dwarf_Word loc = 0;
					if (tag != DW_TAG_union_type &&
					    dwarf_formudata(dwarf_attr(&m, DW_AT_data_member_location, &at), &loc) != 0)
						continue;
					Dwarf_Die mt;
					Dwarf_Word msz = 0;
					if (!dwarf_formref_die(dwarf_attr_integrate(&m, DW_AT_type, &at), &mt) ||
					    dwarf_aggregate_size(&mt, &msz) != 0)
						continue;
					if (off >= loc && off < loc + msz) {
						const char *mn = dwarf_diename(&m);
						/* "__"-members are a library's private parts
						 * (pthread_mutex_t.__data.__lock): the lock is
						 * named by the member that holds it */
						if (mn && strncmp(mn, "__", 2) == 0)
							break;
						size_t l = strlen(buf);
						snprintf(buf + l, cap - l, ".%s", mn ? mn : "?");
						off -= loc;
						*type = mt;
						found = true;
						break;
					}
				} while (dwarf_siblingof(&m, &m) == 0);
			}
			if (found)
				continue;
		}
		break;
	}
	if (off) {
		size_t l = strlen(buf);
		snprintf(buf + l, cap - l, "+0x%llx", (unsigned long long)off);
	}
}

static const char *lookup_name(struct symbolizer *sz, uint64_t addr, struct arena *a);

const char *symbolizer_data_name(struct symbolizer *sz, uint64_t addr, struct arena *a)
{
	if (!sz)
		return NULL;
	if (sz->names_count * 2 >= sz->names_cap) {
		size_t ncap = sz->names_cap ? sz->names_cap * 2 : 256;
		struct data_name *nt = xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < sz->names_cap; i++) {
			if (!sz->names[i].used)
				continue;
			size_t h = (sz->names[i].addr * 0x9e3779b97f4a7c15ULL >> 20) & (ncap - 1);
			while (nt[h].used)
				h = (h + 1) & (ncap - 1);
			nt[h] = sz->names[i];
		}
		free(sz->names);
		sz->names = nt;
		sz->names_cap = ncap;
	}
	size_t h = (addr * 0x9e3779b97f4a7c15ULL >> 20) & (sz->names_cap - 1);
	while (sz->names[h].used) {
		if (sz->names[h].addr == addr)
			return sz->names[h].name;
		h = (h + 1) & (sz->names_cap - 1);
	}
	/* names live in the snapshot's arena, which outlives the symbolizer */
	const char *n = lookup_name(sz, addr, &sz->snap->arena);
	sz->names[h] = (struct data_name){ .addr = addr, .name = n, .used = true };
	sz->names_count++;
	(void)a;
	return n;
}

static const char *lookup_name(struct symbolizer *sz, uint64_t addr, struct arena *a)
{
	if (!sz || !sz->dwfl)
		return NULL;
	Dwfl_Module *mod = dwfl_addrmodule(sz->dwfl, addr);
	if (!mod)
		return NULL;
	struct modindex *mi = symbolizer_modindex(sz, mod);
	if (!mi->syms_built) {
		mi->syms = symindex_build(mod);
		mi->syms_built = true;
	}
	struct symhit hit;
	if (!symindex_lookup(mi->syms, addr, &hit) || hit.type == STT_FUNC)
		return NULL;
	uint64_t off = addr - hit.start;
	/* only a symbol whose extent covers the address names it */
	if (hit.size && off >= hit.size)
		return NULL;
	char buf[512];
	size_t nl = strcspn(hit.name, "@");
	snprintf(buf, sizeof(buf), "%.*s", (int)nl, hit.name);
	/* A C++ or Rust name ("_ZN6ledger6LEDGER17h…E"): shown demangled ("ledger::LEDGER").
	 * DWARF files such variables under their namespaces, by their short names, where the
	 * index of top-level variables does not look: searching it would read every unit. */
	const char *dem = demangle(buf, a);
	if (dem)
		return off ? arena_printf(a, "%s+0x%llx", dem, (unsigned long long)off) : dem;
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	if (dw && !mi->vars_built) {
		mi->vars = varindex_build(dw);
		mi->vars_built = true;
	}
	Dwarf_Die var, type;
	Dwarf_Attribute at;
	if (dw && varindex_find(mi->vars, dw, buf, &var) &&
	    dwarf_formref_die(dwarf_attr_integrate(&var, DW_AT_type, &at), &type)) {
		describe_offset(&type, off, buf, sizeof(buf));
		return arena_strdup(a, buf);
	}
	if (off) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "+0x%llx", (unsigned long long)off);
	}
	return arena_strdup(a, buf);
}
