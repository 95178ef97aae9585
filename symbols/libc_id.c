#include "symbols/libc_id.h"
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <string.h>

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* musl's dynamic linker is its libc: /lib/ld-musl-x86_64.so.1 (a link to it), Alpine's
 * /lib/libc.musl-x86_64.so.1, Debian's /usr/lib/x86_64-linux-musl/libc.so, a musl root's
 * /usr/lib/musl/lib/libc.so. glibc's are libc.so.6 and ld-linux-x86-64.so.2. */
static enum libc_kind kind_of_path(const char *path)
{
	const char *b = base_of(path);
	if (strncmp(b, "ld-musl-", 8) == 0 || strncmp(b, "libc.musl-", 10) == 0 ||
	    (strcmp(b, "libc.so") == 0 && strstr(path, "musl")))
		return LIBC_MUSL;
	if (strncmp(b, "libc.so.6", 9) == 0 || strncmp(b, "ld-linux", 8) == 0 ||
	    strncmp(b, "libc-2.", 7) == 0)
		return LIBC_GLIBC;
	return LIBC_UNKNOWN;
}

/* The dynamic linker the executable asks for (PT_INTERP), or NULL. */
static const char *interpreter(Dwfl_Module *mod, struct arena *a)
{
	GElf_Addr bias;
	Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
	size_t n;
	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		size_t size;
		const char *raw = elf_rawfile(elf, &size);
		if (!raw || ph.p_offset >= size || ph.p_filesz == 0 || ph.p_filesz > size - ph.p_offset)
			return NULL;
		return arena_strndup(a, raw + ph.p_offset, strnlen(raw + ph.p_offset, ph.p_filesz));
	}
	return NULL;
}

/* Functions only one of the two libraries defines, as a static binary's symbol table
 * holds them (the library's own, linked in). musl: its cancellable-syscall and wait
 * helpers and its start-up; glibc: the start-up of 2.34 and later, its static-PIE
 * relocator and its internal aliases (__GI_*). */
static const char *const musl_marks[] = { "__timedwait_cp", "__syscall_cp_c", "__init_libc",
	"__libc_start_init", "__init_tp", NULL };
static const char *const glibc_marks[] = { "__libc_start_call_main", "_dl_relocate_static_pie",
	"__libc_setup_tls", "_IO_stdin_used", "__libc_multiple_threads", NULL };

static const char *marked(const char *name, const char *const *marks)
{
	for (const char *const *m = marks; *m; m++)
		if (strcmp(name, *m) == 0)
			return *m;
	return strncmp(name, "__GI_", 5) == 0 && marks == glibc_marks ? "__GI_*" : NULL;
}

static enum libc_kind kind_of_symbols(Dwfl_Module *mod, const char **which)
{
	int n = mod ? dwfl_module_getsymtab(mod) : -1;
	const char *musl = NULL, *glibc = NULL;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *name = dwfl_module_getsym(mod, i, &sym, NULL);
		if (!name || !*name)
			continue;
		if (!musl)
			musl = marked(name, musl_marks);
		if (!glibc)
			glibc = marked(name, glibc_marks);
	}
	/* both sets (a program defining a name of the other's): no verdict */
	if (!musl == !glibc)
		return LIBC_UNKNOWN;
	*which = musl ? musl : glibc;
	return musl ? LIBC_MUSL : LIBC_GLIBC;
}

void libc_identify(struct snapshot *s)
{
	struct arena *a = &s->arena;
	const struct module *exe = NULL;
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct module *m = &s->modules[i];
		if (s->executable && m->name && strcmp(m->name, s->executable) == 0)
			exe = m;
	}
	/* The interpreter the executable names says it before any library is looked at. */
	const char *interp = exe ? interpreter(exe->dwfl_module, a) : NULL;
	if (interp && kind_of_path(interp) != LIBC_UNKNOWN) {
		s->libc = kind_of_path(interp);
		s->libc_evidence = arena_printf(a, "interpreter %s", interp);
		return;
	}
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct module *m = &s->modules[i];
		enum libc_kind k = m->name ? kind_of_path(m->name) : LIBC_UNKNOWN;
		if (k != LIBC_UNKNOWN) {
			s->libc = k;
			s->libc_evidence = arena_printf(a, "library %s", m->name);
			return;
		}
	}
	/* A static executable: its symbol table. */
	const char *which = NULL;
	enum libc_kind k = exe && !interp ? kind_of_symbols(exe->dwfl_module, &which) : LIBC_UNKNOWN;
	if (k != LIBC_UNKNOWN) {
		s->libc = k;
		s->libc_evidence = arena_printf(a, "static executable defining %s", which);
		return;
	}
	s->libc = LIBC_UNKNOWN;
	s->libc_evidence = !exe ? "the executable is not among the modules read"
		: interp ? arena_printf(a, "interpreter %s is neither glibc's nor musl's, nor is any library", interp)
		: exe->missing ? "static executable whose file is missing"
		: "static executable whose symbol table names neither glibc's nor musl's functions";
}
