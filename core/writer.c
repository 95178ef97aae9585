#include "core/writer.h"
#include "attach/copy.h"
#include "attach/procfs.h"
#include "core/elfcore.h"
#include "util/clock.h"
#include "util/outfile.h"
#include "util/sigdefer.h"
#include "util/xalloc.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

_Static_assert(sizeof(elf_gregset_t) == sizeof(struct user_regs_struct), "pr_reg is user_regs_struct");

#define PAGE 4096ULL
/* Output is staged and flushed in multiples of HOLE_BLOCK from offset 0, so that all-zero
 * blocks of an uncompressed core become holes (thread stacks are mostly zeros). */
#define HOLE_BLOCK 4096
#define STAGE (1024 * 1024)
/* Caps on what the mini core takes from one mapping or one link-map walk: a corrupt link
 * map or a huge .bss must not turn a mini core into a full one. */
#define MINI_MAP_MAX (16ULL << 20)
#define LINK_MAP_MAX 4096
#define LINK_MAP_NODE 1152	/* glibc's struct link_map, public part and the TLS fields */
#define NAME_MAX_READ 512
#define TCB_BELOW 4096		/* static TLS blocks sit below the thread pointer */
#define TCB_ABOVE 4096		/* struct pthread above it */

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct fpregs {
	pid_t tid;
	bool valid;
	struct user_fpregs_struct fp;
};

struct core_save {
	pid_t pid;
	bool full;
	enum comp comp;
	struct outfile out;	/* util/outfile: atomic for a regular file, in place otherwise */
	/* read before the freeze: they do not change while the process lives */
	struct elf_prpsinfo ps;
	pid_t ppid, pgrp, sid;
	unsigned char *auxv;
	size_t auxv_len;
	/* from the freeze */
	struct fpregs *fp;
	size_t nfp;
	/* full: thread names read before the freeze (the notes are written inside it, before
	 * the capture reads names); sorted by tid */
	struct prename { pid_t tid; char name[CHANG_THREAD_NAME_LEN + 1]; } *names;
	size_t nnames;
	uint64_t pause_ns;
	bool written;		/* full: the file is complete */
	uint64_t file_size;
	struct err err;		/* the first problem met in the freeze */
};

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n > k && strcmp(s + n - k, suf) == 0;
}

/* ---- the output stream: sparse file, gzip or zstd ---- */

struct cout {
	int fd;
	bool seq;		/* not seekable (a FIFO, a device): written in order, holes as zeros */
	enum comp comp;
	const char *path;
	uint64_t pos;		/* uncompressed bytes so far: the offsets the core's headers use */
	uint64_t file_off;	/* bytes in the file */
	unsigned char *stage;	/* plain: pending bytes at file offset file_off */
	size_t nstage;
	unsigned char *cbuf;	/* compressed: the compressor's output */
	z_stream z;
	ZSTD_CCtx *zc;
	struct err *e;
	bool failed;
};

static int write_all(struct cout *o, const unsigned char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = o->seq ? write(o->fd, p, n) : pwrite(o->fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->failed = true;
			if (w < 0 && (errno == ENOSPC || errno == EDQUOT))
				return err_set(o->e, ERR_FAIL, "%s: no space left on the device (%llu MiB written)",
					       o->path, (unsigned long long)(off >> 20));
			return err_set(o->e, ERR_FAIL, "%s: write failed: %s", o->path,
				       w < 0 ? strerror(errno) : "no progress");
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int flush_stage(struct cout *o)
{
	size_t i = 0, n = o->nstage;
	while (i < n) {
		size_t bl = n - i < HOLE_BLOCK ? n - i : HOLE_BLOCK;
		if (!o->seq && all_zero(o->stage + i, bl)) {
			i += bl;
			continue;
		}
		size_t k = i + bl;
		while (k < n) {
			size_t b2 = n - k < HOLE_BLOCK ? n - k : HOLE_BLOCK;
			if (!o->seq && all_zero(o->stage + k, b2))
				break;
			k += b2;
		}
		if (write_all(o, o->stage + i, k - i, o->file_off + i) != 0)
			return -1;
		i = k;
	}
	o->file_off += n;
	o->nstage = 0;
	return 0;
}

static int cout_open(struct cout *o, const struct outfile *f, enum comp comp, const char *path, struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->fd = f->fd;
	o->seq = !f->seekable;
	o->comp = comp;
	o->path = path;
	o->e = e;
	if (comp == COMP_NONE) {
		o->stage = xmalloc(STAGE);
		return 0;
	}
	o->cbuf = xmalloc(STAGE);
	/* Level 1: a full core is compressed while the target is stopped. */
	if (comp == COMP_GZIP) {
		if (deflateInit2(&o->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return o->failed = true, err_set(e, ERR_FAIL, "%s: zlib: cannot initialise", path);
		return 0;
	}
	o->zc = ZSTD_createCCtx();
	if (!o->zc)
		return o->failed = true, err_set(e, ERR_FAIL, "%s: zstd: cannot initialise", path);
	ZSTD_CCtx_setParameter(o->zc, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(o->zc, ZSTD_c_checksumFlag, 1);
	return 0;
}

/* Feed p[0..n) to the compressor (end: finish the stream). */
static int compress_some(struct cout *o, const unsigned char *p, size_t n, bool end)
{
	if (o->comp == COMP_GZIP) {
		o->z.next_in = (unsigned char *)p;
		o->z.avail_in = (uInt)n;
		for (;;) {
			o->z.next_out = o->cbuf;
			o->z.avail_out = STAGE;
			int rc = deflate(&o->z, end ? Z_FINISH : Z_NO_FLUSH);
			size_t got = STAGE - o->z.avail_out;
			if (got && write_all(o, o->cbuf, got, o->file_off) != 0)
				return -1;
			o->file_off += got;
			if (rc == Z_STREAM_ERROR)
				return o->failed = true, err_set(o->e, ERR_FAIL, "%s: zlib: compression failed", o->path);
			if (end ? rc == Z_STREAM_END : o->z.avail_in == 0 && o->z.avail_out != 0)
				return 0;
		}
	}
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { o->cbuf, STAGE, 0 };
		size_t rc = ZSTD_compressStream2(o->zc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(rc))
			return o->failed = true, err_set(o->e, ERR_FAIL, "%s: zstd: %s", o->path, ZSTD_getErrorName(rc));
		if (out.pos && write_all(o, o->cbuf, out.pos, o->file_off) != 0)
			return -1;
		o->file_off += out.pos;
		if (end ? rc == 0 : in.pos == in.size && out.pos < out.size)
			return 0;
	}
}

static int cout_put(struct cout *o, const void *p, size_t n)
{
	if (o->failed)
		return -1;
	if (n == 0)
		return 0;
	o->pos += n;
	if (o->comp != COMP_NONE) {
		const unsigned char *c = p;
		while (n) {
			/* zlib counts in uInt */
			size_t k = n < (1u << 30) ? n : (1u << 30);
			if (compress_some(o, c, k, false) != 0)
				return -1;
			c += k;
			n -= k;
		}
		return 0;
	}
	const unsigned char *c = p;
	while (n) {
		size_t k = STAGE - o->nstage < n ? STAGE - o->nstage : n;
		memcpy(o->stage + o->nstage, c, k);
		o->nstage += k;
		c += k;
		n -= k;
		if (o->nstage == STAGE && flush_stage(o) != 0)
			return -1;
	}
	return 0;
}

static int cout_zeros(struct cout *o, uint64_t n)
{
	static const unsigned char zeros[65536];
	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		if (cout_put(o, zeros, k) != 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Finish the stream; returns the file's size or -1. */
static int cout_close(struct cout *o, uint64_t *size)
{
	int r = o->failed ? -1 : 0;
	if (r == 0 && o->comp == COMP_NONE) {
		r = flush_stage(o);
		/* A core that ends in holes still has its full length. */
		if (r == 0 && !o->seq && ftruncate(o->fd, (off_t)o->file_off) != 0)
			r = err_set(o->e, ERR_FAIL, "%s: %s", o->path, strerror(errno));
	} else if (r == 0) {
		r = compress_some(o, NULL, 0, true);
	}
	if (o->comp == COMP_GZIP)
		deflateEnd(&o->z);
	if (o->zc)
		ZSTD_freeCCtx(o->zc);
	free(o->stage);
	free(o->cbuf);
	*size = o->file_off;
	return r;
}

/* ---- the notes ---- */

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	VEC_RESERVE(b->p, b->cap, b->n + n);
	if (d)
		memcpy(b->p + b->n, d, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
}

static void put_note(struct buf *b, const char *name, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = { .n_namesz = (Elf64_Word)strlen(name) + 1, .n_descsz = (Elf64_Word)len, .n_type = type };
	put(b, &nh, sizeof(nh));
	put(b, name, nh.n_namesz);
	put(b, NULL, (4 - nh.n_namesz % 4) % 4);
	put(b, desc, len);
	put(b, NULL, (4 - len % 4) % 4);
}

static int fp_cmp(const void *x, const void *y)
{
	const struct fpregs *a = x, *b = y;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static const struct fpregs *find_fp(const struct core_save *cs, pid_t tid)
{
	struct fpregs key = { .tid = tid };
	return cs->nfp ? bsearch(&key, cs->fp, cs->nfp, sizeof(*cs->fp), fp_cmp) : NULL;
}

static bool is_file_path(const char *p)
{
	return p && p[0] == '/';
}

static void put_nt_file(struct buf *b, const struct snapshot *s)
{
	struct buf d = { 0 };
	uint64_t count = 0, page = PAGE;
	for (size_t i = 0; i < s->nmaps; i++)
		count += is_file_path(s->maps[i].path);
	put(&d, &count, 8);
	put(&d, &page, 8);
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (!is_file_path(m->path))
			continue;
		uint64_t e[3] = { m->start, m->end, m->offset / PAGE };
		put(&d, e, sizeof(e));
	}
	for (size_t i = 0; i < s->nmaps; i++)
		if (is_file_path(s->maps[i].path))
			put(&d, s->maps[i].path, strlen(s->maps[i].path) + 1);
	put_note(b, "CORE", NT_FILE, d.p, d.n);
	free(d.p);
}

static void put_thread(struct buf *b, const struct core_save *cs, const struct task *t)
{
	struct elf_prstatus pr;
	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = t->tid;
	pr.pr_ppid = cs->ppid;
	pr.pr_pgrp = cs->pgrp;
	pr.pr_sid = cs->sid;
	memcpy(&pr.pr_reg, &t->regs, sizeof(pr.pr_reg));
	const struct fpregs *fp = find_fp(cs, t->tid);
	pr.pr_fpvalid = fp && fp->valid;
	put_note(b, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
}

/* Thread names, which the kernel's cores lack: chang core shows them as attach did. */
static const char *prename_of(const struct core_save *cs, pid_t tid)
{
	size_t lo = 0, hi = cs->nnames;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cs->names[mid].tid == tid)
			return cs->names[mid].name;
		if (cs->names[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}


static void put_thread_names(struct buf *b, const struct core_save *cs, const struct task **order, size_t n)
{
	const size_t rec = 4 + CHANG_THREAD_NAME_LEN;
	unsigned char *d = xcalloc(n ? n : 1, rec);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = order[i]->name && order[i]->name[0] ? order[i]->name : prename_of(cs, order[i]->tid);
		if (!name || !name[0])
			continue;
		uint32_t tid = (uint32_t)order[i]->tid;
		memcpy(d + k * rec, &tid, 4);
		memcpy(d + k * rec + 4, name, strnlen(name, CHANG_THREAD_NAME_LEN));
		k++;
	}
	if (k)
		put_note(b, "CHANG", NT_CHANG_THREAD_NAMES, d, k * rec);
	free(d);
}

/* In the kernel's order: the first thread (gdb's current one: the main thread here), the
 * process notes, then each thread's registers. Threads whose registers could not be read
 * (did not stop in time) are left out: the core cannot say where they were. */
static void build_notes(struct buf *b, const struct core_save *cs, const struct snapshot *s)
{
	const struct task **order = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*order));
	size_t n = 0;
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].have_regs && s->tasks[i].tid == cs->pid)
			order[n++] = &s->tasks[i];
	for (size_t i = 0; i < s->ntasks; i++)
		if (s->tasks[i].have_regs && s->tasks[i].tid != cs->pid)
			order[n++] = &s->tasks[i];
	for (size_t i = 0; i < n; i++) {
		put_thread(b, cs, order[i]);
		if (i == 0) {
			put_note(b, "CORE", NT_PRPSINFO, &cs->ps, sizeof(cs->ps));
			if (cs->auxv_len)
				put_note(b, "CORE", NT_AUXV, cs->auxv, cs->auxv_len);
			put_nt_file(b, s);
			put_thread_names(b, cs, order, n);
		}
		const struct fpregs *fp = find_fp(cs, order[i]->tid);
		if (fp && fp->valid)
			put_note(b, "CORE", NT_FPREGSET, &fp->fp, sizeof(fp->fp));
	}
	free(order);
}

/* ---- segments and the file ---- */

struct seg {
	uint64_t start, memsz, filesz;
	uint32_t flags;
};

static uint32_t pflags(const char perms[5])
{
	return (perms[0] == 'r' ? PF_R : 0) | (perms[1] == 'w' ? PF_W : 0) | (perms[2] == 'x' ? PF_X : 0);
}

/* The ELF header, the program headers (PN_XNUM past 65,534 segments) and the notes; the
 * segments' bytes follow from the returned offset, in order. */
static int write_headers(struct cout *o, const struct buf *notes, const struct seg *segs, size_t nsegs,
			 uint64_t *data_off)
{
	size_t nph = nsegs + 1;
	bool xnum = nph >= PN_XNUM;
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = xnum ? PN_XNUM : (Elf64_Half)nph;
	uint64_t off = sizeof(eh) + nph * sizeof(Elf64_Phdr);
	if (xnum) {
		eh.e_shoff = off;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
		off += sizeof(Elf64_Shdr);
	}
	uint64_t note_off = off;
	off = (off + notes->n + PAGE - 1) & ~(PAGE - 1);
	*data_off = off;
	if (cout_put(o, &eh, sizeof(eh)) != 0)
		return -1;
	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = note_off, .p_filesz = notes->n,
			  .p_align = 4 };
	if (cout_put(o, &ph, sizeof(ph)) != 0)
		return -1;
	for (size_t i = 0; i < nsegs; i++) {
		ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = segs[i].flags, .p_offset = off,
				   .p_vaddr = segs[i].start, .p_filesz = segs[i].filesz,
				   .p_memsz = segs[i].memsz, .p_align = PAGE };
		off += segs[i].filesz;
		if (cout_put(o, &ph, sizeof(ph)) != 0)
			return -1;
	}
	if (xnum) {
		Elf64_Shdr sh = { .sh_info = (Elf64_Word)nph, .sh_size = 0 };
		if (cout_put(o, &sh, sizeof(sh)) != 0)
			return -1;
	}
	if (cout_put(o, notes->p, notes->n) != 0)
		return -1;
	return cout_zeros(o, *data_off - o->pos);
}

static enum comp comp_of(const char *path)
{
	if (ends_with(path, ".gz"))
		return COMP_GZIP;
	if (ends_with(path, ".zst"))
		return COMP_ZSTD;
	return COMP_NONE;
}

/* ---- reading the stopped process ---- */

static size_t read_mem(pid_t pid, int memfd, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0 && memfd >= 0)
		n = pread(memfd, buf, len, (off_t)addr);
	return n > 0 ? (size_t)n : 0;
}

static const struct mapping *map_at(const struct snapshot *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr < s->maps[lo - 1].end ? &s->maps[lo - 1] : NULL;
}

/* Copy [addr, addr+len) into the image, clipped to the mapping holding addr. */
static void grab(struct target *t, const struct snapshot *s, int memfd, uint64_t addr, uint64_t len)
{
	const struct mapping *m = map_at(s, addr);
	if (!m || m->perms[0] != 'r' || len == 0)
		return;
	if (len > m->end - addr)
		len = m->end - addr;
	if (len > MINI_MAP_MAX)
		len = MINI_MAP_MAX;
	copy_range(t->pid, memfd, &t->mem, addr, len);
}

/* How far from a the image's copied regions reach without a gap (at most end). Jumps
 * region by region: it runs once per thread inside the freeze. */
static uint64_t covered_to(struct memimage *m, uint64_t a, uint64_t end)
{
	while (a < end) {
		unsigned char b;
		if (memimage_read(m, a, &b, 1) != 1)	/* also sorts the regions */
			return a;
		size_t lo = 0, hi = m->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (m->r[mid].start <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint64_t next = a;
		for (size_t i = lo; i > 0 && lo - i < 64; i--) {
			const struct region *r = &m->r[i - 1];
			if (a - r->start < r->len && r->start + r->len > next)
				next = r->start + r->len;
		}
		if (next == a)
			return a;	/* served by a file fallback, not a copy */
		a = next;
	}
	return end;
}

/* grab, unless the image already holds every byte (a stack copy often does). */
static void grab_missing(struct target *t, const struct snapshot *s, int memfd, uint64_t addr, uint64_t len)
{
	const struct mapping *m = map_at(s, addr);
	if (!m)
		return;
	if (len > m->end - addr)
		len = m->end - addr;
	uint64_t a = covered_to(&t->mem, addr, addr + len);
	if (a < addr + len)
		grab(t, s, memfd, a, addr + len - a);
}

static bool auxv_get(const struct core_save *cs, uint64_t type, uint64_t *val)
{
	for (size_t i = 0; i + 16 <= cs->auxv_len; i += 16) {
		uint64_t kv[2];
		memcpy(kv, cs->auxv + i, 16);
		if (kv[0] == type) {
			*val = kv[1];
			return true;
		}
		if (kv[0] == AT_NULL)
			break;
	}
	return false;
}

/* From an ELF image's program headers in the copied memory: its load bias and the address
 * ranges of PT_DYNAMIC and PT_GNU_RELRO (zero when absent). */
struct elfinfo {
	uint64_t bias, dyn, dynsz, relro, relrosz;
};

static bool elf_info(struct target *t, uint64_t base, uint64_t phdr_addr, struct elfinfo *ei)
{
	Elf64_Ehdr eh;
	memset(ei, 0, sizeof(*ei));
	if (memimage_read(&t->mem, base, &eh, sizeof(eh)) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return false;
	if (!phdr_addr)
		phdr_addr = base + eh.e_phoff;
	Elf64_Phdr ph[256];
	size_t want = eh.e_phnum * sizeof(Elf64_Phdr);
	if (memimage_read(&t->mem, phdr_addr, ph, want) != want)
		return false;
	uint64_t lowest = UINT64_MAX, phdr_vaddr = 0;
	bool have_phdr = false;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < lowest)
			lowest = ph[i].p_vaddr;
		if (ph[i].p_type == PT_PHDR) {
			phdr_vaddr = ph[i].p_vaddr;
			have_phdr = true;
		}
	}
	if (lowest == UINT64_MAX)
		return false;
	ei->bias = have_phdr ? phdr_addr - phdr_vaddr : base - (lowest & ~(PAGE - 1));
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC) {
			ei->dyn = ei->bias + ph[i].p_vaddr;
			ei->dynsz = ph[i].p_memsz < 65536 ? ph[i].p_memsz : 65536;
		} else if (ph[i].p_type == PT_GNU_RELRO) {
			ei->relro = ei->bias + ph[i].p_vaddr;
			ei->relrosz = ph[i].p_memsz;
		}
	}
	return true;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct ival {
	uint64_t start, end;
};

/* The libraries whose data gdb and libthread_db read to list threads and libraries. */
static bool is_runtime_lib(const char *path, const char *ldso)
{
	if (!path)
		return false;
	if (ldso && strcmp(path, ldso) == 0)
		return true;
	const char *b = base_name(path);
	return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-2.", 7) == 0 ||
	       strncmp(b, "libpthread", 10) == 0;
}

/* Follow r_debug.r_map: every link_map node and its name, so gdb finds the libraries. */
static void grab_link_map(struct target *t, const struct snapshot *s, int memfd, uint64_t r_debug)
{
	grab_missing(t, s, memfd, r_debug, 40);
	uint64_t lm;
	if (memimage_read(&t->mem, r_debug + 8, &lm, 8) != 8)
		return;
	for (int i = 0; lm && i < LINK_MAP_MAX; i++) {
		grab_missing(t, s, memfd, lm, LINK_MAP_NODE);
		uint64_t name, next;
		if (memimage_read(&t->mem, lm + 8, &name, 8) != 8 || memimage_read(&t->mem, lm + 24, &next, 8) != 8)
			return;
		if (name)
			grab_missing(t, s, memfd, name, NAME_MAX_READ);
		lm = next;
	}
}

static void gather_mini(struct core_save *cs, struct target *t, struct snapshot *s, int memfd)
{
	uint64_t at_base = 0, at_phdr = 0;
	auxv_get(cs, AT_BASE, &at_base);
	auxv_get(cs, AT_PHDR, &at_phdr);
	const struct mapping *ldm = at_base ? map_at(s, at_base) : NULL;
	const char *ldso = ldm ? ldm->path : NULL;

	/* The first page of every mapped ELF: its header and program headers, and in them
	 * the build-id note, which is how gdb and chang match files to the core. */
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (is_file_path(m->path) && m->offset == 0 && m->perms[0] == 'r' && strncmp(m->path, "/dev/", 5) != 0) {
			unsigned char mg[4];
			if (read_mem(cs->pid, memfd, m->start, mg, 4) == 4 && memcmp(mg, ELFMAG, SELFMAG) == 0)
				grab(t, s, memfd, m->start, PAGE);
		}
		if (m->path && strcmp(m->path, "[vdso]") == 0)
			grab(t, s, memfd, m->start, m->end - m->start);
	}
	/* The dynamic linker's and libc's writable data with the .bss after it, and their
	 * RELRO (relocated, so it differs from the file): r_debug, _rtld_global, the thread
	 * lists libthread_db walks. */
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		if (!is_runtime_lib(m->path, ldso))
			continue;
		if (m->offset == 0) {
			struct elfinfo ei;
			if (elf_info(t, m->start, 0, &ei) && ei.relrosz)
				grab_missing(t, s, memfd, ei.relro, ei.relrosz);
		}
		if (m->perms[1] != 'w')
			continue;
		grab(t, s, memfd, m->start, m->end - m->start);
		const struct mapping *n = i + 1 < s->nmaps ? &s->maps[i + 1] : NULL;
		if (n && n->start == m->end && !n->path && n->perms[0] == 'r' && n->perms[1] == 'w')
			grab(t, s, memfd, n->start, n->end - n->start);
	}
	/* The executable's dynamic section holds DT_DEBUG, gdb's way to r_debug. */
	const struct mapping *em = at_phdr ? map_at(s, at_phdr) : NULL;
	if (em) {
		uint64_t base = em->start - em->offset;
		const struct mapping *b0 = map_at(s, base);
		struct elfinfo ei;
		if (b0 && b0->offset == 0)
			grab_missing(t, s, memfd, at_phdr, 64 * sizeof(Elf64_Phdr));
		if (b0 && elf_info(t, base, at_phdr, &ei) && ei.dynsz) {
			grab_missing(t, s, memfd, ei.dyn, ei.dynsz);
			for (uint64_t a = ei.dyn; a + 16 <= ei.dyn + ei.dynsz; a += 16) {
				uint64_t d[2];
				if (memimage_read(&t->mem, a, d, 16) != 16 || d[0] == DT_NULL)
					break;
				if (d[0] == DT_DEBUG && d[1])
					grab_link_map(t, s, memfd, d[1]);
			}
		}
	}
	/* Each thread's TCB (struct pthread) and static TLS: libthread_db maps LWPs to
	 * threads through them. Other threads have theirs at the top of the stack copied
	 * already; the main thread's lies in memory the dynamic linker allocated. */
	/* What is missing is listed first and copied after: a copy unsorts the image, and
	 * re-sorting it for every one of thousands of threads would double the pause. */
	struct ival *miss = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*miss));
	size_t nmiss = 0;
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *k = &s->tasks[i];
		if (!k->have_regs || !k->regs.fs_base)
			continue;
		uint64_t fs = k->regs.fs_base;
		const struct mapping *m = map_at(s, fs);
		if (!m)
			continue;
		uint64_t lo = fs - m->start > TCB_BELOW ? fs - TCB_BELOW : m->start;
		/* on a thread's own stack, what lies below SP is dead: only the TLS above it counts */
		uint64_t sp = k->regs.rsp - COPY_RED_ZONE;
		if (map_at(s, k->regs.rsp) == m && sp < fs && sp > lo)
			lo = sp;
		uint64_t hi = m->end - fs > TCB_ABOVE ? fs + TCB_ABOVE : m->end;
		uint64_t a = covered_to(&t->mem, lo, hi);
		if (a < hi)
			miss[nmiss++] = (struct ival){ a, hi };
	}
	for (size_t i = 0; i < nmiss; i++)
		grab(t, s, memfd, miss[i].start, miss[i].end - miss[i].start);
	free(miss);
}

/* /proc/PID/smaps facts the kernel's dump filter uses, per mapping start. */
struct smaps_info {
	uint64_t start;
	bool anon_pages, io, dontdump;
};

static int smaps_cmp(const void *x, const void *y)
{
	const struct smaps_info *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

static struct smaps_info *read_smaps(pid_t pid, size_t *count)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*count = 0;
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 20, len = 0;
	char *text = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			text = xrealloc(text, cap *= 2);
		ssize_t k = read(fd, text + len, cap - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	text[len] = 0;
	struct smaps_info *v = NULL;
	size_t n = 0, vcap = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned long long a, b;
		char c;
		if (sscanf(line, "%llx-%llx %c", &a, &b, &c) == 3) {
			VEC_RESERVE(v, vcap, n + 1);
			v[n++] = (struct smaps_info){ .start = a };
		} else if (n && strncmp(line, "Anonymous:", 10) == 0) {
			v[n - 1].anon_pages = strtoull(line + 10, NULL, 10) > 0;
		} else if (n && strncmp(line, "VmFlags:", 8) == 0) {
			for (char *f = line + 8; *f;) {
				while (*f == ' ')
					f++;
				if (strncmp(f, "io", 2) == 0 && (f[2] == ' ' || !f[2]))
					v[n - 1].io = true;
				if (strncmp(f, "dd", 2) == 0 && (f[2] == ' ' || !f[2]))
					v[n - 1].dontdump = true;
				while (*f && *f != ' ')
					f++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	qsort(v, n, sizeof(*v), smaps_cmp);
	*count = n;
	return v;
}

static bool anon_like(const char *p)
{
	return !p || p[0] == '[' || strncmp(p, "/memfd:", 7) == 0 || strncmp(p, "/SYSV", 5) == 0 ||
	       strncmp(p, "/dev/zero", 9) == 0 || strncmp(p, "/dev/shm/", 9) == 0;
}

/* How many bytes of mapping m a full core holds, as the kernel decides with the default
 * coredump_filter (and gcore alike): anonymous memory, private file mappings that were
 * written to, and the first page of mapped ELF files; never device memory, what
 * MADV_DONTDUMP excluded, or what cannot be read. */
static uint64_t full_dump_size(const struct core_save *cs, const struct mapping *m, const struct smaps_info *si,
			       size_t nsi, int memfd)
{
	uint64_t size = m->end - m->start;
	if (m->perms[0] != 'r')
		return 0;
	if (m->path && (strcmp(m->path, "[vvar]") == 0 || strcmp(m->path, "[vsyscall]") == 0 ||
			strncmp(m->path, "[vvar", 5) == 0))
		return 0;
	const struct smaps_info key = { .start = m->start };
	const struct smaps_info *i = nsi ? bsearch(&key, si, nsi, sizeof(*si), smaps_cmp) : NULL;
	if (i && (i->io || i->dontdump))
		return 0;
	if (anon_like(m->path))
		return size;
	if (strncmp(m->path, "/dev/", 5) == 0)
		return 0;
	if (m->perms[3] == 'p' && (i ? i->anon_pages : m->perms[1] == 'w'))
		return size;
	unsigned char mg[4];
	if (m->offset == 0 && read_mem(cs->pid, memfd, m->start, mg, 4) == 4 && memcmp(mg, ELFMAG, SELFMAG) == 0)
		return PAGE < size ? PAGE : size;
	return 0;
}

/* Stream [start, start+len) of the stopped process into the core; pages that cannot be
 * read (beyond a file's end, a racing munmap) are written as zeros, as the kernel does. */
static int stream_range(struct cout *o, pid_t pid, int memfd, uint64_t start, uint64_t len, unsigned char *buf)
{
	uint64_t a = start, end = start + len;
	while (a < end) {
		size_t k = end - a < STAGE ? (size_t)(end - a) : STAGE;
		size_t got = read_mem(pid, memfd, a, buf, k);
		if (got < k) {
			/* salvage page by page after the first fault */
			size_t pos = got & ~(size_t)(PAGE - 1);
			while (pos < k) {
				size_t pk = k - pos < PAGE ? k - pos : PAGE;
				size_t g = read_mem(pid, memfd, a + pos, buf + pos, pk);
				if (g < pk)
					memset(buf + pos + g, 0, pk - g);
				pos += pk;
			}
		}
		if (cout_put(o, buf, k) != 0)
			return -1;
		a += k;
	}
	return 0;
}

static void write_full(struct core_save *cs, struct snapshot *s, int memfd)
{
	size_t nsi;
	struct smaps_info *si = read_smaps(cs->pid, &nsi);
	struct seg *segs = xcalloc(s->nmaps ? s->nmaps : 1, sizeof(*segs));
	size_t n = 0;
	for (size_t i = 0; i < s->nmaps; i++) {
		const struct mapping *m = &s->maps[i];
		segs[n++] = (struct seg){ .start = m->start, .memsz = m->end - m->start,
					  .filesz = full_dump_size(cs, m, si, nsi, memfd), .flags = pflags(m->perms) };
	}
	free(si);
	struct buf notes = { 0 };
	build_notes(&notes, cs, s);
	struct cout o;
	uint64_t data_off;
	unsigned char *buf = xmalloc(STAGE);
	int r = cout_open(&o, &cs->out, cs->comp, cs->out.path, &cs->err);
	if (r == 0)
		r = write_headers(&o, &notes, segs, n, &data_off);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (segs[i].filesz)
			r = stream_range(&o, cs->pid, memfd, segs[i].start, segs[i].filesz, buf);
	uint64_t size;
	if (cout_close(&o, &size) != 0)
		r = -1;
	cs->file_size = size;
	cs->written = r == 0;
	free(buf);
	free(notes.p);
	free(segs);
}

static int ival_cmp(const void *x, const void *y)
{
	const struct ival *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

/* The mini core's segments: the image's copied regions, merged where they touch or
 * overlap and cut where a mapping ends (each segment has one mapping's permissions). */
static struct seg *mini_segments(struct target *t, const struct snapshot *s, size_t *count)
{
	size_t nr = t->mem.n, k = 0;
	struct ival *iv = xcalloc(nr ? nr : 1, sizeof(*iv));
	for (size_t i = 0; i < nr; i++)
		if (t->mem.r[i].len)
			iv[k++] = (struct ival){ t->mem.r[i].start, t->mem.r[i].start + t->mem.r[i].len };
	qsort(iv, k, sizeof(*iv), ival_cmp);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m && iv[i].start <= iv[m - 1].end) {
			if (iv[i].end > iv[m - 1].end)
				iv[m - 1].end = iv[i].end;
		} else {
			iv[m++] = iv[i];
		}
	}
	struct seg *segs = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < m; i++) {
		uint64_t a = iv[i].start;
		while (a < iv[i].end) {
			const struct mapping *mp = map_at(s, a);
			uint64_t e = iv[i].end;
			uint32_t fl = PF_R | PF_W;
			if (mp) {
				if (mp->end < e)
					e = mp->end;
				fl = pflags(mp->perms);
			} else {
				/* no mapping here: cut at the next one that starts inside */
				for (size_t j = 0; j < s->nmaps; j++)
					if (s->maps[j].start > a && s->maps[j].start < e) {
						e = s->maps[j].start;
						break;
					}
			}
			VEC_RESERVE(segs, cap, n + 1);
			segs[n++] = (struct seg){ .start = a, .memsz = e - a, .filesz = e - a, .flags = fl };
			a = e;
		}
	}
	free(iv);
	*count = n;
	return segs;
}

static int write_mini(struct core_save *cs, struct target *t, struct snapshot *s, struct err *e)
{
	size_t n;
	struct seg *segs = mini_segments(t, s, &n);
	struct buf notes = { 0 };
	build_notes(&notes, cs, s);
	struct cout o;
	uint64_t data_off;
	unsigned char *buf = xmalloc(STAGE);
	int r = cout_open(&o, &cs->out, cs->comp, cs->out.path, e);
	if (r == 0)
		r = write_headers(&o, &notes, segs, n, &data_off);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t a = segs[i].start, end = a + segs[i].filesz;
		while (r == 0 && a < end) {
			size_t k = end - a < STAGE ? (size_t)(end - a) : STAGE;
			size_t got = memimage_read(&t->mem, a, buf, k);
			memset(buf + got, 0, k - got);
			r = cout_put(&o, buf, k);
			a += k;
		}
	}
	uint64_t size;
	if (cout_close(&o, &size) != 0)
		r = -1;
	cs->file_size = size;
	free(buf);
	free(notes.p);
	free(segs);
	return r;
}

/* ---- the process facts read before the freeze ---- */

static void read_process(struct core_save *cs)
{
	char path[64], buf[4096];
	pid_t pid = cs->pid;
	struct elf_prpsinfo *ps = &cs->ps;
	ps->pr_pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs_read(path, buf, sizeof(buf)) > 0) {
		char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
		if (lp && rp && rp > lp) {
			size_t cl = (size_t)(rp - lp - 1);
			memcpy(ps->pr_fname, lp + 1, cl < sizeof(ps->pr_fname) - 1 ? cl : sizeof(ps->pr_fname) - 1);
			char st;
			int ppid, pgrp, sid, tty, tpgid;
			unsigned flags;
			long nice;
			/* fields 3.. of stat; nice is field 19 */
			if (sscanf(rp + 2, "%c %d %d %d %d %d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld", &st, &ppid, &pgrp,
				   &sid, &tty, &tpgid, &flags, &nice) == 8) {
				static const char states[] = "RSDTZW";
				const char *p = strchr(states, st);
				ps->pr_sname = st;
				ps->pr_state = p ? (char)(p - states) : 0;
				ps->pr_zomb = st == 'Z';
				ps->pr_nice = (char)nice;
				ps->pr_flag = flags;
				ps->pr_ppid = cs->ppid = ppid;
				ps->pr_pgrp = cs->pgrp = pgrp;
				ps->pr_sid = cs->sid = sid;
			}
		}
	}
	char v[64];
	if (procfs_status_field(pid, "Uid", v, sizeof(v)))
		ps->pr_uid = (unsigned)strtoul(v, NULL, 10);
	if (procfs_status_field(pid, "Gid", v, sizeof(v)))
		ps->pr_gid = (unsigned)strtoul(v, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t n = procfs_read(path, buf, sizeof(ps->pr_psargs));
	for (ssize_t i = 0; i < n; i++)
		ps->pr_psargs[i] = buf[i] ? buf[i] : ' ';
	while (n > 0 && ps->pr_psargs[n - 1] == ' ')
		ps->pr_psargs[--n] = 0;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		unsigned char a[4096];
		ssize_t k = read(fd, a, sizeof(a));
		if (k > 0) {
			cs->auxv_len = (size_t)k - (size_t)k % 16;
			cs->auxv = xmalloc(cs->auxv_len ? cs->auxv_len : 1);
			memcpy(cs->auxv, a, cs->auxv_len);
		}
		close(fd);
	}
}

/* ---- the file ---- */

static void free_save(struct core_save *cs)
{
	outfile_abort(&cs->out);	/* nothing once committed */
	free(cs->auxv);
	free(cs->fp);
	free(cs->names);
	free(cs);
}

static int prename_cmp(const void *a, const void *b)
{
	const struct prename *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static void read_names(struct core_save *cs)
{
	pid_t *tids = NULL;
	ssize_t n = procfs_list_tasks(cs->pid, &tids);
	if (n <= 0) {
		free(tids);
		return;
	}
	cs->names = xcalloc((size_t)n, sizeof(*cs->names));
	for (ssize_t i = 0; i < n; i++) {
		char path[96], buf[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)cs->pid, (int)tids[i]);
		if (procfs_read(path, buf, sizeof(buf)) <= 0)
			continue;
		buf[strcspn(buf, "\n")] = 0;
		struct prename *p = &cs->names[cs->nnames++];
		p->tid = tids[i];
		snprintf(p->name, sizeof(p->name), "%s", buf);
	}
	free(tids);
	qsort(cs->names, cs->nnames, sizeof(*cs->names), prename_cmp);
}


struct core_save *core_save_begin(pid_t pid, const char *path, bool full, struct err *e)
{
	struct core_save *cs = xcalloc(1, sizeof(*cs));
	cs->pid = pid;
	cs->full = full;
	cs->comp = comp_of(path);
	if (outfile_open(&cs->out, path, e) != 0) {
		err_prefix(e, "--save-core ");
		free_save(cs);
		return NULL;
	}
	read_process(cs);
	if (full)
		read_names(cs);
	return cs;
}

void core_save_frozen(struct core_save *cs, struct target *t, struct snapshot *s, int memfd)
{
	uint64_t t0 = mono_ns();
	cs->fp = xcalloc(s->ntasks ? s->ntasks : 1, sizeof(*cs->fp));
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct task *k = &s->tasks[i];
		if (!k->have_regs)
			continue;
		struct fpregs *f = &cs->fp[cs->nfp++];
		f->tid = k->tid;
		f->valid = ptrace(PTRACE_GETFPREGS, k->tid, 0, &f->fp) == 0;
	}
	qsort(cs->fp, cs->nfp, sizeof(*cs->fp), fp_cmp);
	if (cs->full)
		write_full(cs, s, memfd);
	else
		gather_mini(cs, t, s, memfd);
	cs->pause_ns = mono_ns() - t0;
}

int core_save_finish(struct core_save *cs, struct target *t, struct snapshot *s, struct err *e)
{
	struct saved_core *sc = ARENA_NEW(&s->arena, struct saved_core, 1);
	sc->path = arena_strdup(&s->arena, cs->out.path);
	sc->size_kind = cs->full ? "full" : "mini";
	sc->pause_ns = cs->pause_ns;
	s->saved_core = sc;
	/* SIGINT and SIGTERM wait until the file is complete and named, or removed. */
	sigset_t old;
	signals_defer(&old);
	int r;
	if (cs->full) {
		r = cs->written ? 0 : -1;
		if (r != 0)
			*e = cs->err;
	} else {
		r = write_mini(cs, t, s, e);
	}
	if (r == 0) {
		r = outfile_commit(&cs->out, e);
		if (r != 0)
			err_prefix(e, "--save-core ");
	}
	sc->size = cs->file_size;
	if (r != 0)
		sc->error = arena_strdup(&s->arena, e->msg);
	free_save(cs);
	signals_restore(&old);
	return r;
}

void core_save_abort(struct core_save *cs)
{
	if (cs)
		free_save(cs);
}
