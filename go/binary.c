/* The executable's ELF facts Go support needs: section addresses (present even in
 * -ldflags='-s -w' builds), .symtab when there is one, the PIE load bias, and the version
 * recorded in .go.buildinfo. */
#include "go/internal.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The runtime globals chang looks up by name when .symtab exists. */
static const char *const wanted_syms[] = {
	"runtime.allglen", "runtime.allgptr", "runtime.semtable", "runtime.waitReasonStrings",
	"runtime.firstmoduledata", "runtime.fingRunning", "runtime.fingStatus", "runtime.buildVersion",
};

static int cmp_sym(const void *a, const void *b)
{
	const struct go_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->size < y->size) - (x->size > y->size);
}

static const char *strip_deleted(struct arena *a, const char *p)
{
	static const char del[] = " (deleted)";
	size_t n = strlen(p), k = sizeof(del) - 1;
	return n > k && strcmp(p + n - k, del) == 0 ? arena_strndup(a, p, n - k) : p;
}

/* bias = where the mapping of file offset off starts, minus where the ELF put that
 * offset. Cores and /proc/PID/maps both name the executable by path. */
static bool find_bias(struct goreader *r, Elf *e, uint64_t *bias)
{
	struct snapshot *s = r->s;
	const char *exe = s->executable ? strip_deleted(&s->arena, s->executable) : NULL;
	size_t nph;
	if (!exe || elf_getphdrnum(e, &nph) != 0)
		return false;
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (!m->path || strcmp(strip_deleted(&s->arena, m->path), exe) != 0)
			continue;
		for (size_t k = 0; k < nph && k < 64; k++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)k, &ph) || ph.p_type != PT_LOAD)
				continue;
			uint64_t pstart = ph.p_offset & ~0xfffull;
			if (m->offset != pstart)
				continue;
			*bias = m->start - (ph.p_vaddr & ~0xfffull);
			return true;
		}
	}
	return false;
}

int go_elf_load(struct goreader *r, struct err *e)
{
	struct go_elf *el = &r->elf;
	go_elf_free(el);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(r->exe_fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return err_set(e, ERR_FAIL, "executable: not an ELF file (%s)", elf_errmsg(-1));
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh) || (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		elf_end(elf);
		return err_set(e, ERR_FAIL, "executable: only linux/amd64 and linux/arm64 Go binaries are supported");
	}
	if (r->s && r->s->arch && r->s->arch->e_machine != eh.e_machine) {
		elf_end(elf);
		return err_set(e, ERR_FAIL, "executable: a Go binary for %s, but the target is %s",
			       eh.e_machine == EM_AARCH64 ? "arm64" : "amd64", r->s->arch->name);
	}
	r->uses_lr = eh.e_machine == EM_AARCH64;
	el->pie = eh.e_type == ET_DYN;
	el->bias = 0;
	if (el->pie && r->from_file) {
		/* where it is loaded, and its relocated data, only the process can tell */
		elf_end(elf);
		return err_set(e, ERR_FAIL, "executable: position-independent; read from the process");
	}
	if (el->pie && !find_bias(r, elf, &el->bias)) {
		elf_end(elf);
		return err_set(e, ERR_FAIL, "executable: position-independent, but no mapping of it was found "
			       "to tell its load address");
	}
	size_t shstrndx, nsec = 0;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0 || elf_getshdrnum(elf, &nsec) != 0) {
		elf_end(elf);
		return err_set(e, ERR_FAIL, "executable: no section headers");
	}
	if (nsec > 4096)
		nsec = 4096;
	el->secs = xcalloc(nsec ? nsec : 1, sizeof(*el->secs));
	Elf_Scn *symscn = NULL;
	GElf_Shdr symsh = { 0 };
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL && el->nsecs < nsec) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		struct go_section *gs = &el->secs[el->nsecs++];
		gs->name = arena_strdup(&r->s->arena, name);
		gs->addr = sh.sh_addr ? sh.sh_addr + el->bias : 0;
		gs->size = sh.sh_size;
		gs->offset = sh.sh_offset;
		gs->type = sh.sh_type;
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
		}
	}
	if (symscn && symsh.sh_entsize == sizeof(Elf64_Sym)) {
		Elf_Data *d = elf_getdata(symscn, NULL);
		size_t n = d ? d->d_size / sizeof(Elf64_Sym) : 0;
		if (n > 4000000)
			n = 4000000;
		el->objs = xcalloc(n ? n : 1, sizeof(*el->objs));
		el->funcsyms = xcalloc(sizeof(wanted_syms) / sizeof(*wanted_syms), sizeof(*el->funcsyms));
		/* names are copied into one buffer so the ELF handle can go */
		size_t cap = 1 << 16, len = 0;
		char *buf = xmalloc(cap);
		size_t *nameoffs = xcalloc(n ? n : 1, sizeof(size_t));
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			int type = GELF_ST_TYPE(sym.st_info);
			if (sym.st_shndx == SHN_UNDEF || (type != STT_OBJECT && type != STT_FUNC && type != STT_NOTYPE))
				continue;
			const char *name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			size_t l = strlen(name) + 1;
			if (len + l > cap) {
				while (len + l > cap)
					cap *= 2;
				buf = xrealloc(buf, cap);
			}
			memcpy(buf + len, name, l);
			bool wanted = false;
			for (size_t k = 0; k < sizeof(wanted_syms) / sizeof(*wanted_syms); k++)
				if (strcmp(name, wanted_syms[k]) == 0) {
					el->funcsyms[el->nfuncsyms++] = (struct go_sym){ sym.st_value + el->bias,
						sym.st_size, (const char *)(uintptr_t)len };
					wanted = true;
				}
			if (type == STT_OBJECT || wanted) {
				nameoffs[el->nobjs] = len;
				el->objs[el->nobjs++] = (struct go_sym){ sym.st_value + el->bias, sym.st_size, NULL };
			}
			len += l;
		}
		el->strtab = buf;
		for (size_t i = 0; i < el->nobjs; i++)
			el->objs[i].name = buf + nameoffs[i];
		for (size_t i = 0; i < el->nfuncsyms; i++)
			el->funcsyms[i].name = buf + (size_t)(uintptr_t)el->funcsyms[i].name;
		free(nameoffs);
		qsort(el->objs, el->nobjs, sizeof(*el->objs), cmp_sym);
	}
	elf_end(elf);
	return 0;
}

void go_elf_free(struct go_elf *el)
{
	free(el->secs);
	free(el->objs);
	free(el->funcsyms);
	free(el->strtab);
	memset(el, 0, sizeof(*el));
}

const struct go_section *go_section(const struct goreader *r, const char *name)
{
	for (size_t i = 0; i < r->elf.nsecs; i++)
		if (strcmp(r->elf.secs[i].name, name) == 0)
			return &r->elf.secs[i];
	return NULL;
}

uint64_t go_symbol(const struct goreader *r, const char *name, uint64_t *size)
{
	for (size_t i = 0; i < r->elf.nfuncsyms; i++)
		if (strcmp(r->elf.funcsyms[i].name, name) == 0) {
			if (size)
				*size = r->elf.funcsyms[i].size;
			return r->elf.funcsyms[i].addr;
		}
	if (size)
		*size = 0;
	return 0;
}

static int cmp_addr_sym(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct go_sym *)elem)->addr;
	return (k > a) - (k < a);
}

const char *go_data_name(struct goreader *r, uint64_t addr)
{
	const struct go_elf *el = &r->elf;
	size_t lo = upper_bound(el->objs, el->nobjs, sizeof(*el->objs), &addr, cmp_addr_sym);
	/* the nearest symbols at or below addr: a sized one that covers it, else a zero-sized
	 * marker at it (runtime.bss shares its address with the first variable of .bss) */
	const char *marker = NULL;
	for (size_t i = lo, steps = 0; i > 0 && steps < 8; i--, steps++) {
		const struct go_sym *o = &el->objs[i - 1];
		if (o->size == 0) {
			if (addr == o->addr && !marker)
				marker = o->name;
			continue;
		}
		if (addr == o->addr)
			return arena_strdup(&r->s->arena, o->name);
		if (addr - o->addr < o->size)
			return arena_printf(&r->s->arena, "%s+%#llx", o->name, (unsigned long long)(addr - o->addr));
	}
	if (marker)
		return arena_strdup(&r->s->arena, marker);
	/* stripped: the section is all a reader can be told */
	static const char *const datasecs[] = { ".noptrdata", ".data", ".bss", ".noptrbss" };
	for (size_t k = 0; k < sizeof(datasecs) / sizeof(*datasecs); k++) {
		const struct go_section *sc = go_section(r, datasecs[k]);
		if (sc && sc->addr && addr >= sc->addr && addr - sc->addr < sc->size)
			return arena_printf(&r->s->arena, "%s+%#llx", sc->name, (unsigned long long)(addr - sc->addr));
	}
	return NULL;
}

static bool uvarint(const unsigned char *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; *pos < n && shift < 64; shift += 7) {
		unsigned char b = p[(*pos)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Go 1.18+ writes the version inline after the 32-byte header ("\xff Go buildinf:", pointer
 * size, flags with bit 1 set); older layouts held pointers, which chang does not support. */
const char *go_buildinfo_version(struct goreader *r)
{
	const struct go_section *sc = go_section(r, ".go.buildinfo");
	unsigned char buf[128];
	if (!sc || sc->size < 33)
		return NULL;
	size_t want = sc->size < sizeof(buf) ? (size_t)sc->size : sizeof(buf);
	if (pread(r->exe_fd, buf, want, (off_t)sc->offset) != (ssize_t)want)
		return NULL;
	if (memcmp(buf, "\xff Go buildinf:", 14) != 0 || !(buf[15] & 2))
		return NULL;
	size_t pos = 32;
	uint64_t len;
	if (!uvarint(buf, want, &pos, &len) || len == 0 || len > want - pos)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (buf[pos + i] < 0x20 || buf[pos + i] >= 0x7f)
			return NULL;
	return arena_strndup(&r->s->arena, (const char *)buf + pos, (size_t)len);
}
