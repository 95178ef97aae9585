#include "symbols/symbols.h"
#include "symbols/debugfile.h"
#include "symbols/debuginfod.h"
#include "symbols/debugpkg.h"
#include "symbols/demangle.h"
#include "symbols/symbolizer_impl.h"
#include "util/progress.h"
#include "util/xalloc.h"
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct symbolizer *sz = symbolizer_current;
	/* The module's index was stashed in its userdata slot at report time. */
	size_t idx = (size_t)(uintptr_t)*userdata - 1;
	if (!sz || idx >= sz->snap->nmodules)
		return -1;
	int fd = target_module_fd(sz->target, idx);
	if (fd < 0)
		return -1;
	const struct module *m = &sz->snap->modules[idx];
	*file_name = strdup(m->file ? m->file : m->name);
	*elfp = NULL;
	return fd;
}

struct symbolizer *symbolizer_current;
static int fetch_debuginfo(struct symbolizer *sz, size_t i, const unsigned char *id, int len, char **name);

/* By build-id first, through chang's registry of inflated debug files (symbols/inflate.h
 * says why); elfutils' own search otherwise (debuglink, paths). elfutils' build-id lookup
 * cannot be used for the first: it keeps the Elf it opened for validation and ignores the
 * descriptor its caller hands back. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &id, &vaddr);
	struct symbolizer *sz = symbolizer_current;
	if (len > 0 && sz) {
		int fd = debugfile_open_by_build_id(id, len, sz->debuginfo_path, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					      debuglink_crc, debuginfo_file_name);
	if (fd < 0 && len > 0 && sz)
		fd = fetch_debuginfo(sz, (size_t)(uintptr_t)*userdata - 1, id, len, debuginfo_file_name);
	return fd >= 0 ? debugfile_substitute(fd) : fd;
}

/* What the servers gave for module i, added to what they gave before. */
static void note_fetched(struct symbolizer *sz, size_t i, const char *what)
{
	struct module *m = &sz->snap->modules[i];
	m->debuginfod_fetched = m->debuginfod_fetched
		? arena_printf(&sz->snap->arena, "%s and %s", m->debuginfod_fetched, what) : what;
}

static void note_failed(struct symbolizer *sz, size_t i, const char *what, const char *why)
{
	struct module *m = &sz->snap->modules[i];
	m->debuginfod_error = arena_printf(&sz->snap->arena, "%s: %s", what, why);
}

/* No debug file here: ask the debuginfod servers (symbols/debuginfod.h). */
static int fetch_debuginfo(struct symbolizer *sz, size_t i, const unsigned char *id, int len, char **name)
{
	if (i >= sz->snap->nmodules)
		return -1;
	struct module *m = &sz->snap->modules[i];
	char why[512], *path = NULL;
	int fd = debuginfod_fetch(DEBUGINFOD_DEBUGINFO, id, len, m->name, &path, why, sizeof(why));
	if (fd >= 0) {
		*name = path;
		note_fetched(sz, i, "debug info");
	} else if (fd == -1) {
		note_failed(sz, i, "debug info", why);
	}
	return fd >= 0 ? fd : -1;
}

/* A core's module whose file is not on this machine: its executable by build-id. */
static void fetch_missing_files(struct symbolizer *sz)
{
	struct snapshot *s = sz->snap;
	for (size_t i = 0; i < s->nmodules; i++) {
		struct module *m = &s->modules[i];
		if (!m->missing || m->target_build_id_len <= 0)
			continue;
		char why[512], *path = NULL;
		int fd = debuginfod_fetch(DEBUGINFOD_EXECUTABLE, m->target_build_id, m->target_build_id_len,
					  m->name, &path, why, sizeof(why));
		if (fd == -2)
			return;
		if (fd < 0) {
			note_failed(sz, i, "executable", why);
			continue;
		}
		if (target_adopt_module_file(sz->target, i, fd, path) == 0) {
			note_fetched(sz, i, "executable");
			/* the capture's warning that its frames stay unsymbolized is no longer true */
			size_t n = strlen(m->name);
			for (size_t k = 0; k < s->nwarnings; k++)
				if (strncmp(s->warnings[k], m->name, n) == 0 &&
				    strstr(s->warnings[k] + n, ": cannot open the mapped file"))
					snapshot_replace_warning(s, k, arena_printf(&s->arena, "%s: not on this machine; "
						"its file came from a debuginfod server by build-id (%s)", m->name, path));
		} else {
			close(fd);
			note_failed(sz, i, "executable", "the file the server sent does not carry the build-id");
		}
		free(path);
	}
}

struct symbolizer *symbolizer_new(struct target *t, struct err *e)
{
	struct snapshot *s = t->snap;
	struct symbolizer *sz = xcalloc(1, sizeof(*sz));
	sz->target = t;
	sz->snap = s;
	char dip[8192];
	debugfile_search_path(t->opts, s->source == SOURCE_ATTACH ? s->pid : 0, dip, sizeof(dip));
	sz->debuginfo_path = xstrdup(dip);
	sz->callbacks.find_elf = find_elf;
	sz->callbacks.find_debuginfo = find_debuginfo;
	sz->callbacks.debuginfo_path = &sz->debuginfo_path;
	sz->dwfl = dwfl_begin(&sz->callbacks);
	if (!sz->dwfl) {
		err_set(e, ERR_FAIL, "libdwfl: %s", dwfl_errmsg(-1));
		symbolizer_free(sz);
		return NULL;
	}
	symbolizer_current = sz;
	s->debuginfod_possible = debuginfod_usable();
	const char *urls = s->debuginfod_possible ? debuginfod_urls() : NULL;
	s->debuginfod_urls = urls ? arena_strdup(&s->arena, urls) : NULL;
	fetch_missing_files(sz);
	dwfl_report_begin(sz->dwfl);
	for (size_t i = 0; i < s->nmodules; i++) {
		struct module *m = &s->modules[i];
		if (m->missing)
			continue;
		Dwfl_Module *dm = dwfl_report_module(sz->dwfl, m->name, m->start, m->end);
		if (!dm)
			continue;
		void **ud = NULL;
		dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		if (ud)
			*ud = (void *)(uintptr_t)(i + 1);
		m->dwfl_module = dm;
	}
	dwfl_report_end(sz->dwfl, NULL, NULL);
	s->symbolizer = sz;
	return sz;
}

void *symbolizer_dwfl(struct symbolizer *sz)
{
	return sz ? sz->dwfl : NULL;
}

const char *symbolizer_got_slot_name(struct symbolizer *sz, uint64_t slot)
{
	Dwfl_Module *m = sz && sz->dwfl ? dwfl_addrmodule(sz->dwfl, slot) : NULL;
	GElf_Addr bias;
	Elf *elf = m ? dwfl_module_getelf(m, &bias) : NULL;
	if (!elf)
		return NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Scn *symscn = elf_getscn(elf, sh.sh_link);
		GElf_Shdr symsh;
		Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
		if (!d || !syms || !gelf_getshdr(symscn, &symsh))
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			if (!gelf_getrela(d, (int)i, &r) || r.r_offset + bias != slot)
				continue;
			if (!gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
				return NULL;
			return elf_strptr(elf, symsh.sh_link, sym.st_name);
		}
	}
	return NULL;
}

const char *symbolizer_function_at(struct symbolizer *sz, uint64_t addr)
{
	Dwfl_Module *m = sz && sz->dwfl ? dwfl_addrmodule(sz->dwfl, addr) : NULL;
	return m ? dwfl_module_addrname(m, addr) : NULL;
}

void symbolizer_free(struct symbolizer *sz)
{
	if (!sz)
		return;
	if (sz->dwfl)
		dwfl_end(sz->dwfl);
	if (symbolizer_current == sz)
		symbolizer_current = NULL;
	free(sz->debuginfo_path);
	free(sz->table);
	free(sz->names);
	for (size_t i = 0; i < sz->nmods; i++) {
		symindex_free(sz->mods[i].syms);
		varindex_free(sz->mods[i].vars);
		cuindex_free(sz->mods[i].cus);
		funcsyms_free(sz->mods[i].funcs);
	}
	free(sz->mods);
	free(sz);
}

/* The name to show for a DWARF function DIE: its demangled linkage name, else its name. */
static const char *die_function_name(Dwarf_Die *die, const char **mangled, struct arena *a)
{
	Dwarf_Attribute at;
	const char *link = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &at) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &at))
		link = dwarf_formstring(&at);
	if (link) {
		const char *d = demangle(link, a);
		if (d) {
			*mangled = arena_strdup(a, link);
			return d;
		}
	}
	*mangled = NULL;
	const char *n = NULL;
	if (dwarf_attr_integrate(die, DW_AT_name, &at))
		n = dwarf_formstring(&at);
	return n ? arena_strdup(a, n) : NULL;
}

static const char *cu_file(Dwarf_Die *cudie, Dwarf_Word idx)
{
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0 || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

struct modindex *symbolizer_modindex(struct symbolizer *sz, Dwfl_Module *mod)
{
	for (size_t i = 0; i < sz->nmods; i++)
		if (sz->mods[i].mod == mod)
			return &sz->mods[i];
	sz->mods = xrealloc(sz->mods, (sz->nmods + 1) * sizeof(*sz->mods));
	sz->mods[sz->nmods] = (struct modindex){ .mod = mod };
	return &sz->mods[sz->nmods++];
}

/* The compile unit holding pc: from chang's own index of .debug_aranges when the module
 * has one (symbols/symindex.h says why), else libdwfl's lookup. */
static Dwarf_Die *cu_at(struct symbolizer *sz, Dwfl_Module *mod, uint64_t pc, Dwarf_Die *mem, Dwarf_Addr *bias)
{
	Dwarf *dw = dwfl_module_getdwarf(mod, bias);
	if (!dw)
		return NULL;
	struct modindex *mi = symbolizer_modindex(sz, mod);
	if (!mi->cus_built) {
		mi->cus = cuindex_build(dw);
		mi->cus_built = true;
	}
	Dwarf_Off unit, next;
	size_t hsize;
	if (cuindex_find(mi->cus, pc - *bias, &unit) &&
	    dwarf_next_unit(dw, unit, &next, &hsize, NULL, NULL, NULL, NULL, NULL, NULL) == 0 &&
	    dwarf_offdie(dw, unit + hsize, mem))
		return mem;
	return dwfl_module_addrdie(mod, pc, bias);
}

/* File and line of pc from the unit's line table (libdwfl's would look the unit up again). */
static const char *line_at(Dwfl_Module *mod, Dwarf_Die *cudie, uint64_t pc, Dwarf_Addr bias, int *lineno)
{
	Dwarf_Line *l = cudie ? dwarf_getsrc_die(cudie, pc - bias) : NULL;
	if (l) {
		*lineno = 0;
		dwarf_lineno(l, lineno);
		return dwarf_linesrc(l, NULL, NULL);
	}
	Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
	return line ? dwfl_lineinfo(line, NULL, lineno, NULL, NULL, NULL) : NULL;
}

/* The module's symbol tables, looked at once: what names its frames, for the report. */
static struct module *probe_module(struct symbolizer *sz, Dwfl_Module *mod)
{
	void **ud = NULL;
	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	size_t idx = ud ? (size_t)(uintptr_t)*ud : 0;	/* index + 1, set at report time */
	if (idx == 0 || idx > sz->snap->nmodules)
		return NULL;
	struct module *m = &sz->snap->modules[idx - 1];
	if (!m->symbols_known)
		symtables_probe(mod, m);
	return m;
}

/* The ELF symbol for pc: the physical frame's name (when DWARF gave none) and the entry of
 * its function (when entry is not NULL). A full symbol table answers through libdwfl;
 * without one, .dynsym and MiniDebugInfo give the nearest symbol, marked as what it is. */
static void name_from_elf(struct symbolizer *sz, Dwfl_Module *mod, struct module *m, uint64_t pc,
			  struct sym_frame *phys, uint64_t *entry)
{
	struct arena *a = &sz->snap->arena;
	const char *symname = NULL;
	enum sym_source source = SYM_SYMTAB;
	bool near = false;
	if (!m || m->has_symtab) {
		/* libdwfl finds it by a scan of the whole symbol table */
		GElf_Off off = 0;
		GElf_Sym sym;
		symname = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
		/* a symbol without a size (musl's assembly: __clone, memset, __syscall_cp_asm)
		 * or one the PC lies past: the nearest below, a guess like .dynsym's */
		near = symname && off > 0 && (sym.st_size == 0 || off >= sym.st_size);
		if (symname && entry && !near)
			*entry = pc - off;
	} else {
		struct modindex *mi = symbolizer_modindex(sz, mod);
		if (!mi->funcs_built) {
			mi->funcs = funcsyms_build(mod, m);
			mi->funcs_built = true;
		}
		struct funchit hit;
		if (funcsyms_lookup(mi->funcs, pc, &hit)) {
			symname = hit.name;
			source = hit.source;
			near = hit.near;
			/* a guess gives no entry: an offset from it would be a made-up number */
			if (entry && !near)
				*entry = hit.start;
		}
	}
	if (phys->function || !symname)
		return;
	/* .symtab of glibc names some symbols with their version ("foo@GLIBC_2.2.5") */
	size_t nl = strcspn(symname, "@");
	char *plain = arena_strndup(a, symname, nl);
	const char *d = demangle(plain, a);
	phys->source = source;
	if (near) {
		phys->near_symbol = d ? d : plain;
		return;
	}
	phys->function = d ? d : plain;
	phys->mangled = d ? plain : NULL;
}

/* Frames for one address: inline chain from DWARF scopes when there is debug info,
 * else the ELF symbol alone. */
/* x86_64 Linux's rt_sigreturn trampoline (glibc's __restore_rt, which the kernel makes a
 * signal handler return to): mov $15,%rax; syscall. Told by its code, as gdb does, since
 * the address a handler returns to is the trampoline's first byte, before which lies
 * another function. */
static bool sigreturn_trampoline(struct symbolizer *sz, uint64_t pc)
{
	static const unsigned char code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
	unsigned char buf[sizeof(code)];
	return sz->target && target_read(sz->target, pc, buf, sizeof(buf)) == sizeof(buf) &&
	       memcmp(buf, code, sizeof(code)) == 0;
}

static void resolve(struct symbolizer *sz, struct pcsym *ps)
{
	struct arena *a = &sz->snap->arena;
	uint64_t pc = ps->lookup_pc;
	if (ps->pc != ps->lookup_pc && sigreturn_trampoline(sz, ps->pc)) {
		ps->module = snapshot_module_at(sz->snap, ps->pc);
		ps->nframes = 1;
		ps->frames = ARENA_NEW(a, struct sym_frame, 1);
		ps->frames[0].function = SIGNAL_FRAME_FUNCTION;
		ps->frames[0].source = SYM_SYMTAB;
		return;
	}
	Dwfl_Module *mod = dwfl_addrmodule(sz->dwfl, pc);
	ps->module = snapshot_module_at(sz->snap, ps->pc);
	if (!mod) {
		ps->nframes = 0;
		return;
	}
	struct module *m = probe_module(sz, mod);
	/* The ELF symbol is looked up only when DWARF does not name the function and give its
	 * entry. */
	uint64_t entry = 0;
	bool have_entry = false;

	struct sym_frame fr[64];
	int n = 0;
	const char *call_file = NULL;	/* where the outermost inlined frame was called from */
	int call_line = 0;
	Dwarf_Addr bias = 0;
	Dwarf_Die cumem;
	Dwarf_Die *cudie = cu_at(sz, mod, pc, &cumem, &bias);
	Dwarf_Die *scopes = NULL;
	int nscopes = cudie ? dwarf_getscopes(cudie, pc - bias, &scopes) : 0;
	if (nscopes > 0) {
		/* dwarf_getscopes continues past an inlined instance into its abstract
		 * definition's scopes; the concrete chain of callers comes from the DIE tree. */
		Dwarf_Die inner = scopes[0];
		free(scopes);
		scopes = NULL;
		nscopes = dwarf_getscopes_die(&inner, &scopes);
	}
	if (nscopes > 0) {
		/* Innermost frame: line table at pc; each inlined scope's call site gives the
		 * line of the frame that encloses it. */
		int lineno = 0;
		const char *file = line_at(mod, cudie, pc, bias, &lineno);
		for (int i = 0; i < nscopes && n < 64; i++) {
			int tag = dwarf_tag(&scopes[i]);
			if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
				continue;
			struct sym_frame *f = &fr[n++];
			memset(f, 0, sizeof(*f));
			f->function = die_function_name(&scopes[i], &f->mangled, a);
			f->source = SYM_DWARF;
			f->file = file ? arena_strdup(a, file) : NULL;
			f->line = lineno;
			f->inlined = tag == DW_TAG_inlined_subroutine;
			if (tag == DW_TAG_subprogram) {
				Dwarf_Addr lo;
				if (dwarf_entrypc(&scopes[i], &lo) == 0) {
					entry = lo + bias;
					have_entry = true;
				}
				break;
			}
			Dwarf_Attribute at;
			Dwarf_Word cf = 0, cl = 0;
			file = NULL;
			lineno = 0;
			if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &at), &cf) == 0)
				file = cu_file(cudie, cf);
			if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &at), &cl) == 0)
				lineno = (int)cl;
			call_file = file;
			call_line = lineno;
		}
		free(scopes);
	}
	/* Without DWARF for the physical function, the ELF symbol names it. */
	bool need_phys = n == 0 || fr[n - 1].inlined;
	if (need_phys && n == 64)
		n--;
	struct sym_frame *phys = need_phys ? &fr[n++] : &fr[n - 1];
	if (need_phys) {
		memset(phys, 0, sizeof(*phys));
		if (n > 1) {
			phys->file = call_file ? arena_strdup(a, call_file) : NULL;
			phys->line = call_line;
		} else {
			int lineno = 0;
			const char *file = line_at(mod, cudie, pc, bias, &lineno);
			phys->file = file ? arena_strdup(a, file) : NULL;
			phys->line = lineno;
		}
	}
	if (!phys->function || !have_entry)
		name_from_elf(sz, mod, m, pc, phys, have_entry ? NULL : &entry);
	for (int i = 0; i < n; i++)
		fr[i].func_entry = entry;
	ps->nframes = n;
	ps->frames = arena_memdup(a, fr, sizeof(*fr) * (size_t)n);
}

static uint64_t hash_key(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

/* The pcsym for (pc, innermost), created and resolved on first sight: 1,000 threads
 * typically share a few dozen PCs, so each is resolved once. */
static const struct pcsym *lookup(struct symbolizer *sz, uint64_t pc, bool innermost)
{
	uint64_t key = (pc << 1) | (innermost ? 1 : 0);
	if (sz->count * 2 >= sz->cap) {
		size_t ncap = sz->cap ? sz->cap * 2 : 1024;
		struct pcsym **nt = xcalloc(ncap, sizeof(*nt));
		for (size_t i = 0; i < sz->cap; i++) {
			struct pcsym *p = sz->table[i];
			if (!p)
				continue;
			uint64_t k = (p->pc << 1) | (p->lookup_pc == p->pc ? 1 : 0);
			size_t h = hash_key(k) & (ncap - 1);
			while (nt[h])
				h = (h + 1) & (ncap - 1);
			nt[h] = p;
		}
		free(sz->table);
		sz->table = nt;
		sz->cap = ncap;
	}
	size_t h = hash_key(key) & (sz->cap - 1);
	while (sz->table[h]) {
		struct pcsym *p = sz->table[h];
		if (p->pc == pc && (p->lookup_pc == p->pc) == innermost)
			return p;
		h = (h + 1) & (sz->cap - 1);
	}
	struct pcsym *p = ARENA_NEW(&sz->snap->arena, struct pcsym, 1);
	p->pc = pc;
	/* pc 0 cannot be a return address; keep the lookup inside the address space */
	p->lookup_pc = innermost || pc == 0 ? pc : pc - 1;
	resolve(sz, p);
	sz->table[h] = p;
	sz->count++;
	return p;
}

void symbolize_snapshot(struct symbolizer *sz, struct snapshot *s)
{
	size_t frames = 0;
	progress_begin("symbolizing threads", s->ntasks);
	for (size_t i = 0; i < s->ntasks; i++) {
		progress_step(i);
		struct task *task = &s->tasks[i];
		if (task->syms)
			continue;	/* symbolized by its reader (go/ uses the pclntab) */
		task->syms = ARENA_NEW(&s->arena, const struct pcsym *, task->npcs ? task->npcs : 1);
		for (int k = 0; k < task->npcs; k++) {
			/* A goroutine's innermost PC is a return address too (g.sched.pc). */
			bool innermost = k == 0 && task->kind == TASK_THREAD;
			task->syms[k] = lookup(sz, task->pcs[k], innermost);
			frames += (size_t)task->syms[k]->nframes;
		}
	}
	progress_end();
	s->pcsyms = ARENA_NEW(&s->arena, struct pcsym *, sz->count ? sz->count : 1);
	size_t n = 0;
	for (size_t i = 0; i < sz->cap; i++)
		if (sz->table[i])
			s->pcsyms[n++] = sz->table[i];
	s->npcsyms = n;
	/* only now is it known which modules the stacks run in and which of them lack symbols */
	debugpkg_fill(s, "/var/lib/dpkg/info");
	s->stats.frames = frames;
	s->stats.distinct_pcs = n;
}
