#include "core/linkmap.h"
#include "util/xalloc.h"
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096ULL
#define MAX_PHDRS 64
/* Far more than any process loads (a dlopen-heavy server has a few hundred); a longer chain
 * is a loop or garbage. */
#define MAX_LINKS 16384
#define MAX_DYN 4096
/* How many core segments below a library's l_ld are searched for its ELF header: text,
 * read-only data, RELRO and data sit there, with a gap or two between. */
#define MAX_BACK 12

int elf_read_phdrs_fd(int fd, Elf64_Phdr *ph, int cap)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
		return 0;
	int n = eh.e_phnum < cap ? eh.e_phnum : cap;
	ssize_t want = (ssize_t)(sizeof(*ph) * (size_t)n);
	if (eh.e_phoff > (uint64_t)INT64_MAX || pread(fd, ph, (size_t)want, (off_t)eh.e_phoff) != want)
		return 0;
	return n;
}

/* The program headers of an ELF image whose header is at addr in the target's memory. */
static int read_phdrs_mem(struct target *t, uint64_t addr, Elf64_Phdr *ph, int cap)
{
	Elf64_Ehdr eh;
	if (target_read(t, addr, &eh, sizeof(eh)) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > PAGE)
		return 0;
	int n = eh.e_phnum < cap ? eh.e_phnum : cap;
	size_t want = sizeof(*ph) * (size_t)n;
	return target_read(t, addr + eh.e_phoff, ph, want) == want ? n : 0;
}

static const Elf64_Phdr *find_phdr(const Elf64_Phdr *ph, int n, uint32_t type)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == type)
			return &ph[i];
	return NULL;
}

struct builder {
	struct linkmap *out;
	struct arena *a;
	size_t cap;
	struct elfcore_file *v;		/* heap while building */
};

/* The file-backed part of each PT_LOAD, page-rounded the way the kernel maps it (the
 * anonymous .bss beyond p_filesz is no part of the file), as NT_FILE would list it. */
static void add_segments(struct builder *b, const char *name, const Elf64_Phdr *ph, int n, uint64_t bias)
{
	uint64_t prev_end = 0;
	for (int i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_filesz == 0)
			continue;
		uint64_t start = bias + (ph[i].p_vaddr & ~(PAGE - 1));
		uint64_t end = bias + ((ph[i].p_vaddr + ph[i].p_filesz + PAGE - 1) & ~(PAGE - 1));
		uint64_t off = ph[i].p_offset & ~(PAGE - 1);
		if (start < prev_end) {
			/* two segments sharing a page: the page is the earlier one's */
			off += prev_end - start;
			start = prev_end;
		}
		if (end <= start)
			continue;
		VEC_RESERVE(b->v, b->cap, b->out->nfiles + 1);
		b->v[b->out->nfiles++] = (struct elfcore_file){ start, end, off, name };
		prev_end = end;
	}
	b->out->nmodules++;
}

/* The executable: AT_PHDR is where its program headers are mapped, PT_PHDR where they are
 * in its own addresses; the difference is its load bias. Returns the address of its
 * dynamic section (0 for a static executable). */
static uint64_t add_executable(struct builder *b, struct target *t, const struct elfcore_notes *n,
			       const char *exe, const char *name)
{
	uint64_t at_phdr = 0, at_phnum = 0;
	if (!elfcore_auxv(n, AT_PHDR, &at_phdr) || !elfcore_auxv(n, AT_PHNUM, &at_phnum) || at_phdr == 0) {
		b->out->problem = "AUXV does not say where the executable's program headers are";
		return 0;
	}
	Elf64_Phdr ph[MAX_PHDRS];
	int nph = at_phnum < MAX_PHDRS ? (int)at_phnum : MAX_PHDRS;
	size_t want = sizeof(Elf64_Phdr) * (size_t)nph;
	if (target_read(t, at_phdr, ph, want) != want) {
		/* not dumped: the executable's own file has the same headers */
		int fd = exe ? target_open_regular(NULL, exe, NULL, NULL) : -1;
		nph = fd >= 0 ? elf_read_phdrs_fd(fd, ph, MAX_PHDRS) : 0;
		if (fd >= 0)
			close(fd);
		if (nph == 0) {
			b->out->problem = "the executable's program headers are not in the core";
			return 0;
		}
	}
	const Elf64_Phdr *pp = find_phdr(ph, nph, PT_PHDR);
	uint64_t bias = 0;
	if (pp) {
		bias = at_phdr - pp->p_vaddr;
	} else {
		/* no PT_PHDR: the headers follow the ELF header in the first segment */
		bool found = false;
		for (int i = 0; i < nph && !found; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
				bias = at_phdr - sizeof(Elf64_Ehdr) - ph[i].p_vaddr;
				found = true;
			}
		if (!found) {
			b->out->problem = "the executable has neither PT_PHDR nor a segment at offset 0";
			return 0;
		}
	}
	add_segments(b, name, ph, nph, bias);
	const Elf64_Phdr *dyn = find_phdr(ph, nph, PT_DYNAMIC);
	return dyn ? bias + dyn->p_vaddr : 0;
}

/* DT_DEBUG's value: the dynamic linker's struct r_debug. */
static uint64_t find_r_debug(struct target *t, uint64_t dynamic, struct linkmap *out)
{
	for (size_t i = 0; i < MAX_DYN; i++) {
		Elf64_Dyn d;
		if (target_read(t, dynamic + i * sizeof(d), &d, sizeof(d)) != sizeof(d)) {
			out->problem = "the executable's dynamic section is not in the core";
			return 0;
		}
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG) {
			if (d.d_un.d_ptr == 0)
				out->problem = "DT_DEBUG is 0: the dynamic linker had not run yet";
			return d.d_un.d_ptr;
		}
	}
	out->problem = "the executable's dynamic section has no DT_DEBUG";
	return 0;
}

/* A library's program headers and load bias: from its ELF header in the core (the kernel
 * dumps a mapping's first page when it is an ELF header), the one whose PT_DYNAMIC lands
 * on l_ld; else from its file. */
static int library_phdrs(struct target *t, const struct elfcore *c, const char *name, uint64_t l_addr,
			 uint64_t l_ld, Elf64_Phdr *ph, uint64_t *bias, bool *from_memory)
{
	const struct elfcore_load *l = elfcore_find_load(c, l_ld);
	size_t k = l ? (size_t)(l - c->loads) + 1 : 0;
	if (!l) {
		/* l_ld not dumped: the segment just below it */
		for (k = c->nloads; k > 0 && c->loads[k - 1].vaddr > l_ld; k--)
			;
	}
	for (size_t back = 0; k > 0 && back < MAX_BACK; k--, back++) {
		uint64_t at = c->loads[k - 1].vaddr;
		int n = read_phdrs_mem(t, at, ph, MAX_PHDRS);
		const Elf64_Phdr *dyn = n ? find_phdr(ph, n, PT_DYNAMIC) : NULL;
		const Elf64_Phdr *first = NULL;
		for (int i = 0; i < n && !first; i++)
			if (ph[i].p_type == PT_LOAD)
				first = &ph[i];
		if (!dyn || !first)
			continue;
		uint64_t b = at - (first->p_vaddr & ~(PAGE - 1));
		if (b + dyn->p_vaddr == l_ld) {
			*bias = b;
			*from_memory = true;
			return n;
		}
	}
	const char *root = t->opts ? t->opts->sysroot : NULL;
	int fd = target_open_regular(root, name, NULL, NULL);
	if (fd < 0)
		return 0;
	int n = elf_read_phdrs_fd(fd, ph, MAX_PHDRS);
	close(fd);
	const Elf64_Phdr *dyn = n ? find_phdr(ph, n, PT_DYNAMIC) : NULL;
	/* prelinked files load away from l_addr's assumption; l_ld says where they are */
	*bias = dyn ? l_ld - dyn->p_vaddr : l_addr;
	*from_memory = false;
	return n;
}

void linkmap_read(struct target *t, const struct elfcore *c, const char *exe, const char *execfn,
		  struct linkmap *out, struct arena *a)
{
	memset(out, 0, sizeof(*out));
	struct builder b = { .out = out, .a = a };
	const struct elfcore_notes *n = &c->notes;
	const char *exe_name = execfn ? execfn : exe ? exe : "[exe]";
	uint64_t dynamic = add_executable(&b, t, n, exe, exe_name);
	uint64_t rdebug = dynamic ? find_r_debug(t, dynamic, out) : 0;
	uint64_t vdso = 0;
	elfcore_auxv(n, AT_SYSINFO_EHDR, &vdso);
	uint64_t lm = 0;
	if (rdebug && !target_read_u64(t, rdebug + offsetof(struct r_debug, r_map), &lm))
		out->problem = "struct r_debug is not in the core";
	size_t steps = 0;
	/* Brent's cycle detection: a lying list that loops is found in O(length) steps */
	uint64_t tortoise = lm;
	size_t power = 1, lam = 0;
	for (; lm && steps < MAX_LINKS; steps++) {
		struct link_map e;
		if (target_read(t, lm, &e, sizeof(e)) != sizeof(e)) {
			out->problem = arena_printf(a, "link_map entry at 0x%llx is not in the core",
						    (unsigned long long)lm);
			break;
		}
		lm = (uint64_t)(uintptr_t)e.l_next;
		if (lm && lm == tortoise) {
			out->problem = "the dynamic linker's list loops";
			lm = 0;	/* this entry is still taken, the loop ends after it */
		}
		if (++lam == power) {
			tortoise = lm;
			power *= 2;
			lam = 0;
		}
		uint64_t l_ld = (uint64_t)(uintptr_t)e.l_ld, name_at = (uint64_t)(uintptr_t)e.l_name;
		if (l_ld == dynamic || (vdso && e.l_addr == vdso))
			continue;	/* the executable itself, and the vDSO (no file) */
		char buf[4096];
		size_t got = name_at ? target_read(t, name_at, buf, sizeof(buf)) : 0;
		size_t len = strnlen(buf, got);
		if (len == 0 || len == got)
			continue;	/* no name to find a file by */
		out->nlibs_listed++;
		const char *name = arena_strndup(a, buf, len);
		Elf64_Phdr ph[MAX_PHDRS];
		uint64_t bias = 0;
		bool mem = false;
		int nph = library_phdrs(t, c, name, e.l_addr, l_ld, ph, &bias, &mem);
		if (nph == 0) {
			out->no_segments++;
			continue;
		}
		out->from_memory += mem;
		add_segments(&b, name, ph, nph, bias);
	}
	if (steps == MAX_LINKS)
		out->problem = "the dynamic linker's list is longer than any process's";
	out->files = b.v ? arena_memdup(a, b.v, sizeof(*b.v) * out->nfiles) : NULL;
	free(b.v);
}
