#include "core/elfcore.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTE_HDR 12
/* No kernel allows more tasks than PID_MAX_LIMIT; a core claiming more is lying. */
#define MAX_THREADS (4u * 1024 * 1024)
/* AT_VECTOR_SIZE is about 50; anything far beyond is not an auxv. */
#define MAX_AUXV 1024
/* Notes are read in windows so that memory stays bounded whatever the thread count; one
 * note may be larger (NT_FILE of a process with 65,530 mappings is a few MiB), up to this. */
#define NOTE_WINDOW (1u << 20)
#define NOTE_MAX (64u << 20)
/* Kernels write one PT_NOTE; more than a few means the same bytes named over and over. */
#define MAX_NOTE_SEGMENTS 8
/* max_map_count is 65,530 by default; millions of segments are a lie, not a process. */
#define MAX_PHDRS (4u * 1024 * 1024)

static uint64_t pad4(uint64_t x)
{
	return (x + 3) & ~3ULL;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* A note's owner name, with or without its NUL (writers differ). */
static bool note_owner_is(const unsigned char *name, uint32_t namesz, const char *owner)
{
	size_t l = strlen(owner);
	return namesz >= l && memcmp(name, owner, l) == 0 && (namesz == l || name[l] == 0);
}

static void note_thread_names(struct elfcore_notes *out, const unsigned char *d, uint32_t sz,
			      struct arena *a)
{
	const size_t rec = 4 + CHANG_THREAD_NAME_LEN;
	size_t n = sz / rec;
	if (n == 0)
		return;
	struct elfcore_name *v = ARENA_NEW(a, struct elfcore_name, out->nnames + n);
	if (out->nnames)
		memcpy(v, out->names, out->nnames * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const unsigned char *r = d + i * rec;
		size_t len = strnlen((const char *)r + 4, CHANG_THREAD_NAME_LEN);
		v[out->nnames++] = (struct elfcore_name){ (pid_t)get_u32(r), arena_strndup(a, (const char *)r + 4, len) };
	}
	out->names = v;
}

/* struct elf_prstatus starts the same on every 64-bit architecture (pr_pid at 32, pr_cursig
 * at 12); pr_reg, at arch->pr_reg_offset, is the architecture's own. */
#define PRSTATUS_PID 32
#define PRSTATUS_CURSIG 12
static void note_prstatus(struct elfcore_notes *out, const unsigned char *d, uint32_t sz)
{
	const struct arch *ar = out->arch ? out->arch : &arch_x86_64;
	if (sz < ar->pr_reg_offset + ar->nwords * 8) {
		out->short_notes++;
		return;
	}
	if (out->nthreads >= MAX_THREADS) {
		out->too_many_threads = true;
		return;
	}
	VEC_RESERVE(out->threads, out->capthreads, out->nthreads + 1);
	struct elfcore_thread *t = &out->threads[out->nthreads++];
	int32_t pid;
	int16_t sig;
	memcpy(&pid, d + PRSTATUS_PID, 4);
	memcpy(&sig, d + PRSTATUS_CURSIG, 2);
	t->tid = pid;
	t->cursig = sig;
	memset(&t->regs, 0, sizeof(t->regs));
	t->regs.arch = ar;
	memcpy(t->regs.w, d + ar->pr_reg_offset, ar->nwords * 8);
}

/* NT_SIGINFO: the kernel's siginfo_t of the signal that made the core (gdb writes one per
 * thread, its own stop): si_signo, si_errno, si_code, then the union, where a signal sent by
 * a process has si_pid and si_uid and a fault has si_addr. Only the first is kept. */
static void note_siginfo(struct elfcore_notes *out, const unsigned char *d, uint32_t sz)
{
	if (sz < 24) {
		out->short_notes++;
		return;
	}
	if (out->have_siginfo)
		return;
	struct elfcore_siginfo *si = &out->siginfo;
	memcpy(&si->signo, d, 4);
	memcpy(&si->err, d + 4, 4);
	memcpy(&si->code, d + 8, 4);
	memcpy(&si->pid, d + 16, 4);
	memcpy(&si->uid, d + 20, 4);
	memcpy(&si->addr, d + 16, 8);
	out->have_siginfo = true;
}

static void copy_field(char *dst, size_t cap, const unsigned char *src, size_t srclen)
{
	size_t n = strnlen((const char *)src, srclen < cap - 1 ? srclen : cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void note_prpsinfo(struct elfcore_notes *out, const unsigned char *d, uint32_t sz)
{
	const size_t need = offsetof(struct elf_prpsinfo, pr_psargs) + ELF_PRARGSZ;
	if (sz < need) {
		out->short_notes++;
		return;
	}
	if (out->have_psinfo)
		return;
	out->have_psinfo = true;
	int32_t pid;
	memcpy(&pid, d + offsetof(struct elf_prpsinfo, pr_pid), 4);
	out->pid = pid;
	out->sname = (char)d[offsetof(struct elf_prpsinfo, pr_sname)];
	copy_field(out->fname, sizeof(out->fname), d + offsetof(struct elf_prpsinfo, pr_fname), 16);
	copy_field(out->psargs, sizeof(out->psargs), d + offsetof(struct elf_prpsinfo, pr_psargs),
		   ELF_PRARGSZ);
	/* The kernel turns the NULs between arguments into spaces and may leave some at the end. */
	size_t n = strlen(out->psargs);
	while (n && out->psargs[n - 1] == ' ')
		out->psargs[--n] = 0;
}

static void note_auxv(struct elfcore_notes *out, const unsigned char *d, uint32_t sz, struct arena *a)
{
	if (sz < 16) {
		out->short_notes++;
		return;
	}
	if (out->auxv)
		return;
	size_t n = sz / 16, k = 0;
	if (n > MAX_AUXV)
		n = MAX_AUXV;
	out->auxv = arena_alloc(a, n * sizeof(*out->auxv));
	for (size_t i = 0; i < n; i++) {
		uint64_t type = get_u64(d + 16 * i), val = get_u64(d + 16 * i + 8);
		if (type == AT_NULL)
			break;
		out->auxv[k][0] = type;
		out->auxv[k][1] = val;
		k++;
	}
	out->nauxv = k;
}

/* NT_FILE: count, page size, count × {start, end, offset in pages}, then count names. */
static void note_file(struct elfcore_notes *out, const unsigned char *d, uint32_t sz, struct arena *a)
{
	if (out->have_files)
		return;
	out->have_files = true;
	if (sz < 16) {
		out->file_problem = "NT_FILE note too small to hold its header";
		return;
	}
	uint64_t count = get_u64(d), page = get_u64(d + 8);
	uint64_t fit = (sz - 16) / 24;
	if (count > fit) {
		out->file_problem = arena_printf(a, "NT_FILE claims %llu mappings but holds at most %llu",
						 (unsigned long long)count, (unsigned long long)fit);
		count = fit;
	}
	/* The kernel writes PAGE_SIZE, gdb writes 1 with offsets in bytes. */
	if (page == 0 || (page & (page - 1)) != 0 || page > (1ULL << 30)) {
		out->file_problem = arena_printf(a, "NT_FILE page size %llu is not a power of two; "
						 "file offsets ignored", (unsigned long long)page);
		page = 0;
	}
	out->page_size = page;
	out->files = arena_alloc(a, (size_t)count * sizeof(*out->files));
	const unsigned char *names = d + 16 + count * 24, *end = d + sz;
	size_t k = 0;
	bool bad_range = false, bad_ofs = false, names_short = false;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *e = d + 16 + i * 24;
		const char *path = NULL;
		if (names < end) {
			const unsigned char *nul = memchr(names, 0, (size_t)(end - names));
			if (nul) {
				if (nul > names)
					path = arena_strndup(a, (const char *)names, (size_t)(nul - names));
				names = nul + 1;
			} else {
				names = end;
				names_short = true;
			}
		} else {
			names_short = true;
		}
		uint64_t start = get_u64(e), stop = get_u64(e + 8), pgofs = get_u64(e + 16);
		if (start >= stop) {
			bad_range = true;
			continue;
		}
		struct elfcore_file *f = &out->files[k++];
		f->start = start;
		f->end = stop;
		f->path = path;
		if (page && pgofs <= UINT64_MAX / page)
			f->offset = pgofs * page;
		else if (page)
			bad_ofs = true;
	}
	out->nfiles = k;
	if (names_short && !out->file_problem)
		out->file_problem = "NT_FILE holds fewer names than mappings; some mappings are unnamed";
	if (bad_range && !out->file_problem)
		out->file_problem = "NT_FILE entries that end before they start were ignored";
	if (bad_ofs && !out->file_problem)
		out->file_problem = "NT_FILE file offsets that overflow were ignored";
}

size_t elfcore_parse_notes(const unsigned char *buf, size_t len, struct elfcore_notes *out,
			   struct arena *a, uint64_t *need)
{
	size_t off = 0;
	uint64_t want;
	if (need)
		*need = 0;
	while (off < len) {
		if (len - off < NOTE_HDR) {
			want = NOTE_HDR;
			goto incomplete;
		}
		uint32_t namesz = get_u32(buf + off), descsz = get_u32(buf + off + 4);
		uint32_t type = get_u32(buf + off + 8);
		/* Sizes are at most 2^32 each: no sum below can overflow 64 bits. */
		uint64_t name_off = (uint64_t)off + NOTE_HDR;
		uint64_t desc_off = name_off + pad4(namesz);
		uint64_t end = desc_off + descsz;
		uint64_t next = desc_off + pad4(descsz);
		if (end > len || (need && next > len)) {
			want = next - off;
			goto incomplete;
		}
		const unsigned char *name = buf + name_off, *desc = buf + desc_off;
		if (note_owner_is(name, namesz, "CORE")) {
			switch (type) {
			case NT_PRSTATUS:
				note_prstatus(out, desc, descsz);
				break;
			case NT_PRPSINFO:
				note_prpsinfo(out, desc, descsz);
				break;
			case NT_AUXV:
				note_auxv(out, desc, descsz, a);
				break;
			case NT_FILE:
				note_file(out, desc, descsz, a);
				break;
			case NT_SIGINFO:
				note_siginfo(out, desc, descsz);
				break;
			case NT_PRFPREG:
				out->nfpregs++;
				break;
			}
		} else if (note_owner_is(name, namesz, "CHANG") && type == NT_CHANG_THREAD_NAMES) {
			note_thread_names(out, desc, descsz, a);
		}
		/* The last note's padding may be missing at the very end of the data. */
		off = next > len ? len : (size_t)next;
	}
	return off;

incomplete:
	if (need) {
		*need = want;
		return off;
	}
	/* Zero bytes after the last note are padding, not a cut note. */
	for (size_t i = off; i < len; i++)
		if (buf[i]) {
			out->cut = true;
			break;
		}
	if (len - off >= NOTE_HDR)
		out->cut = true;
	return off;
}

void elfcore_notes_free(struct elfcore_notes *n)
{
	if (!n)
		return;
	free(n->threads);
	n->threads = NULL;
	n->nthreads = n->capthreads = 0;
}

bool elfcore_auxv(const struct elfcore_notes *n, uint64_t type, uint64_t *val)
{
	for (size_t i = 0; i < n->nauxv; i++)
		if (n->auxv[i][0] == type) {
			*val = n->auxv[i][1];
			return true;
		}
	return false;
}

int elfcore_check_header(const unsigned char *buf, size_t len, const char *name, struct err *e)
{
	if (len == 0)
		return err_set(e, ERR_FAIL, "%s: empty file", name);
	if (len < SELFMAG || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return err_set(e, ERR_FAIL, "%s: not an ELF file", name);
	if (len <= EI_DATA)
		return err_set(e, ERR_FAIL, "%s: truncated: the ELF header is incomplete (%zu of %zu bytes)",
			       name, len, sizeof(Elf64_Ehdr));
	if (buf[EI_CLASS] == ELFCLASS32)
		return err_set(e, ERR_FAIL, "%s: 32-bit ELF file; only 64-bit cores (x86_64, aarch64) are supported", name);
	if (buf[EI_CLASS] != ELFCLASS64)
		return err_set(e, ERR_FAIL, "%s: ELF file of unknown class %u", name, buf[EI_CLASS]);
	if (buf[EI_DATA] != ELFDATA2LSB)
		return err_set(e, ERR_FAIL, "%s: big-endian ELF file; only little-endian x86_64 and aarch64 cores are supported", name);
	if (len < sizeof(Elf64_Ehdr))
		return err_set(e, ERR_FAIL, "%s: truncated: the ELF header is incomplete (%zu of %zu bytes)",
			       name, len, sizeof(Elf64_Ehdr));
	Elf64_Ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_type != ET_CORE) {
		const char *what = eh.e_type == ET_EXEC ? "an ELF executable" :
				   eh.e_type == ET_DYN ? "an ELF shared object or PIE executable" :
				   eh.e_type == ET_REL ? "an ELF relocatable object" : "an ELF file";
		return err_set(e, ERR_FAIL, "%s: not a core file (%s, type %u)", name, what, eh.e_type);
	}
	if (!arch_by_machine(eh.e_machine)) {
		char m[64];
		return err_set(e, ERR_FAIL, "%s: core of %s: chang reads x86_64 and aarch64 cores only", name,
			       arch_machine_desc(eh.e_machine, m, sizeof(m)));
	}
	if (eh.e_phnum == 0)
		return err_set(e, ERR_FAIL, "%s: core without program headers", name);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return err_set(e, ERR_FAIL, "%s: program header size %u, expected %zu", name,
			       eh.e_phentsize, sizeof(Elf64_Phdr));
	return 0;
}

static size_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX)
			break;
		ssize_t k = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	return done;
}

/* One PT_NOTE segment of size bytes (already bounded by the file), read window by window. */
static void read_notes(int fd, uint64_t off, uint64_t size, struct elfcore *c, struct arena *a)
{
	size_t win = NOTE_WINDOW, cap = 0;
	unsigned char *buf = NULL;
	uint64_t pos = 0;
	while (pos < size) {
		size_t want = size - pos < win ? (size_t)(size - pos) : win;
		bool final = want == size - pos;
		if (want > cap) {
			free(buf);
			buf = xmalloc(want);
			cap = want;
		}
		size_t got = pread_full(fd, buf, want, off + pos);
		if (got < want) {
			final = true;
			c->notes_cut = true;
		}
		uint64_t need = 0;
		size_t used = elfcore_parse_notes(buf, got, &c->notes, a, final ? NULL : &need);
		pos += used;
		if (final)
			break;
		if (used == 0) {
			if (need > NOTE_MAX) {
				c->note_too_big = true;
				break;
			}
			if (need <= win)
				break;	/* cannot happen; never loop without progress */
			win = (size_t)need;
		}
	}
	free(buf);
}

static int load_cmp(const void *x, const void *y)
{
	const struct elfcore_load *a = x, *b = y;
	if (a->vaddr != b->vaddr)
		return a->vaddr < b->vaddr ? -1 : 1;
	if (a->memsz != b->memsz)
		return a->memsz > b->memsz ? -1 : 1;
	return 0;
}

/* Sorted, and every address in at most one segment: a lying core's overlaps are trimmed
 * (the earlier segment wins) so that the index and the maps stay unambiguous. */
static void index_loads(struct elfcore *c)
{
	if (c->nloads == 0)
		return;
	qsort(c->loads, c->nloads, sizeof(*c->loads), load_cmp);
	size_t k = 0;
	uint64_t prev_end = 0;
	for (size_t i = 0; i < c->nloads; i++) {
		struct elfcore_load l = c->loads[i];
		if (k && l.vaddr < prev_end) {
			uint64_t end = l.vaddr + l.memsz;
			c->loads_bad++;
			if (end <= prev_end)
				continue;
			uint64_t delta = prev_end - l.vaddr;
			l.vaddr = prev_end;
			l.memsz -= delta;
			l.offset += delta;
			l.filesz = l.filesz > delta ? l.filesz - delta : 0;
			l.avail = l.avail > delta ? l.avail - delta : 0;
		}
		c->loads[k++] = l;
		prev_end = l.vaddr + l.memsz;
	}
	c->nloads = k;
}

static int read_phnum(int fd, const Elf64_Ehdr *eh, uint64_t fsize, const char *name, size_t *phnum,
		      struct err *e)
{
	if (eh->e_phnum != PN_XNUM) {
		*phnum = eh->e_phnum;
		return 0;
	}
	/* More than 65,534 segments: the real count is in section header 0's sh_info. */
	Elf64_Shdr sh;
	if (eh->e_shoff == 0 || eh->e_shoff >= fsize || fsize - eh->e_shoff < sizeof(sh) ||
	    pread_full(fd, &sh, sizeof(sh), eh->e_shoff) != sizeof(sh))
		return err_set(e, ERR_FAIL, "%s: truncated: the extended program header count is missing",
			       name);
	*phnum = sh.sh_info;
	return 0;
}

int elfcore_read(int fd, const char *name, struct elfcore *c, struct arena *a, struct err *e)
{
	memset(c, 0, sizeof(*c));
	struct stat st;
	if (fstat(fd, &st) != 0)
		return err_set(e, ERR_FAIL, "%s: %s", name, strerror(errno));
	c->file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;

	unsigned char hb[sizeof(Elf64_Ehdr)];
	size_t hn = pread_full(fd, hb, sizeof(hb), 0);
	if (elfcore_check_header(hb, hn, name, e) != 0)
		return -1;
	Elf64_Ehdr eh;
	memcpy(&eh, hb, sizeof(eh));
	c->arch = c->notes.arch = arch_by_machine(eh.e_machine);
	size_t phnum = 0;
	if (read_phnum(fd, &eh, c->file_size, name, &phnum, e) != 0)
		return -1;
	if (phnum == 0)
		return err_set(e, ERR_FAIL, "%s: core without program headers", name);
	if (eh.e_phoff >= c->file_size || c->file_size - eh.e_phoff < sizeof(Elf64_Phdr))
		return err_set(e, ERR_FAIL, "%s: truncated: the program headers are missing "
			       "(the file ends at %llu bytes)", name, (unsigned long long)c->file_size);
	c->phnum = phnum;
	uint64_t fit = (c->file_size - eh.e_phoff) / sizeof(Elf64_Phdr);
	size_t nread = phnum < fit ? phnum : (size_t)fit;
	if (nread > MAX_PHDRS)
		nread = MAX_PHDRS;

	struct { uint64_t off, size; } notes[MAX_NOTE_SEGMENTS];
	size_t nnotes = 0, capl = 0;
	enum { CHUNK = 4096 };
	Elf64_Phdr *ph = xmalloc(CHUNK * sizeof(*ph));
	for (size_t base = 0; base < nread; base += CHUNK) {
		size_t asked = nread - base < CHUNK ? nread - base : CHUNK;
		size_t got = pread_full(fd, ph, asked * sizeof(*ph), eh.e_phoff + base * sizeof(*ph));
		size_t n = got / sizeof(*ph);
		for (size_t i = 0; i < n; i++) {
			const Elf64_Phdr *p = &ph[i];
			c->phnum_read++;
			uint64_t avail = p->p_offset >= c->file_size ? 0 : c->file_size - p->p_offset;
			if (p->p_type == PT_NOTE) {
				c->nnotes_segments++;
				if (p->p_filesz > avail)
					c->notes_cut = true;
				if (nnotes < MAX_NOTE_SEGMENTS && avail > 0) {
					notes[nnotes].off = p->p_offset;
					notes[nnotes].size = p->p_filesz < avail ? p->p_filesz : avail;
					nnotes++;
				}
				continue;
			}
			if (p->p_type != PT_LOAD)
				continue;
			if (p->p_memsz == 0 || p->p_vaddr + p->p_memsz < p->p_vaddr) {
				c->loads_bad++;
				continue;
			}
			VEC_RESERVE(c->loads, capl, c->nloads + 1);
			struct elfcore_load *l = &c->loads[c->nloads++];
			l->vaddr = p->p_vaddr;
			l->memsz = p->p_memsz;
			l->offset = p->p_offset;
			l->filesz = p->p_filesz;
			l->flags = p->p_flags;
			/* A segment holds at most memsz bytes, whatever p_filesz says. */
			uint64_t want = p->p_filesz < p->p_memsz ? p->p_filesz : p->p_memsz;
			l->avail = want < avail ? want : avail;
			if (l->avail < want) {
				c->loads_cut++;
				c->bytes_missing += want - l->avail;
			}
		}
		if (n < asked)
			break;
	}
	free(ph);
	index_loads(c);
	for (size_t i = 0; i < nnotes; i++)
		read_notes(fd, notes[i].off, notes[i].size, c, a);
	return 0;
}

void elfcore_free(struct elfcore *c)
{
	if (!c)
		return;
	free(c->loads);
	c->loads = NULL;
	c->nloads = 0;
	elfcore_notes_free(&c->notes);
}

static int cmp_addr_load(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct elfcore_load *)elem)->vaddr;
	return (k > a) - (k < a);
}

const struct elfcore_load *elfcore_find_load(const struct elfcore *c, uint64_t addr)
{
	size_t lo = upper_bound(c->loads, c->nloads, sizeof(*c->loads), &addr, cmp_addr_load);
	if (lo > 0 && addr - c->loads[lo - 1].vaddr < c->loads[lo - 1].memsz)
		return &c->loads[lo - 1];
	return NULL;
}

void elfcore_perms(uint32_t flags, char out[5])
{
	out[0] = flags & PF_R ? 'r' : '-';
	out[1] = flags & PF_W ? 'w' : '-';
	out[2] = flags & PF_X ? 'x' : '-';
	out[3] = 'p';
	out[4] = 0;
}
