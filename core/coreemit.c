#include "core/coreemit.h"
#include "core/elfcore.h"
#include "util/xalloc.h"
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

_Static_assert(sizeof(elf_gregset_t) <= sizeof(((struct regs *)0)->w), "pr_reg fits struct regs");

#define PAGE 4096ULL
/* Output is staged and flushed in multiples of HOLE_BLOCK from offset 0, so that all-zero
 * blocks of an uncompressed core become holes (thread stacks are mostly zeros). */
#define HOLE_BLOCK 4096
#define STAGE (1024 * 1024)

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n > k && strcmp(s + n - k, suf) == 0;
}

/* ---- the output stream: sparse file, gzip or zstd ---- */

struct cout {
	int fd;
	bool seq;		/* not seekable (a FIFO, a device): written in order, holes as zeros */
	enum core_comp comp;
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

static int cout_open(struct cout *o, const struct outfile *f, enum core_comp comp, const char *path, struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->fd = f->fd;
	o->seq = !f->seekable;
	o->comp = comp;
	o->path = path;
	o->e = e;
	if (comp == CORE_COMP_NONE) {
		o->stage = xmalloc(STAGE);
		return 0;
	}
	o->cbuf = xmalloc(STAGE);
	/* Level 1: a full core is compressed while the target is stopped. */
	if (comp == CORE_COMP_GZIP) {
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
	if (o->comp == CORE_COMP_GZIP) {
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
	if (o->comp != CORE_COMP_NONE) {
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
	if (r == 0 && o->comp == CORE_COMP_NONE) {
		r = flush_stage(o);
		/* A core that ends in holes still has its full length. */
		if (r == 0 && !o->seq && ftruncate(o->fd, (off_t)o->file_off) != 0)
			r = err_set(o->e, ERR_FAIL, "%s: %s", o->path, strerror(errno));
	} else if (r == 0) {
		r = compress_some(o, NULL, 0, true);
	}
	if (o->comp == CORE_COMP_GZIP)
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

static bool is_file_path(const char *p)
{
	return p && p[0] == '/';
}

static void put_nt_file(struct buf *b, const struct core_desc *s)
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

static void put_thread(struct buf *b, const struct core_desc *d, const struct core_thread *t)
{
	struct elf_prstatus pr;
	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = t->tid;
	pr.pr_ppid = d->ppid;
	pr.pr_pgrp = d->pgrp;
	pr.pr_sid = d->sid;
	memcpy(&pr.pr_reg, t->regs->w, sizeof(pr.pr_reg));
	pr.pr_fpvalid = t->fp != NULL;
	put_note(b, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
}

/* Thread names, which the kernel's cores lack: chang core shows them as attach did. */
static void put_thread_names(struct buf *b, const struct core_desc *d)
{
	const size_t rec = 4 + CHANG_THREAD_NAME_LEN;
	unsigned char *p = xcalloc(d->nthreads ? d->nthreads : 1, rec);
	size_t k = 0;
	for (size_t i = 0; i < d->nthreads; i++) {
		const char *name = d->threads[i].name;
		if (!name || !name[0])
			continue;
		uint32_t tid = (uint32_t)d->threads[i].tid;
		memcpy(p + k * rec, &tid, 4);
		memcpy(p + k * rec + 4, name, strnlen(name, CHANG_THREAD_NAME_LEN));
		k++;
	}
	if (k)
		put_note(b, "CHANG", NT_CHANG_THREAD_NAMES, p, k * rec);
	free(p);
}

/* In the kernel's order: the first thread (gdb's current one), the process notes, then
 * each thread's registers. */
static void build_notes(struct buf *b, const struct core_desc *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct core_thread *t = &d->threads[i];
		put_thread(b, d, t);
		if (i == 0) {
			put_note(b, "CORE", NT_PRPSINFO, d->ps, sizeof(*d->ps));
			if (d->auxv_len)
				put_note(b, "CORE", NT_AUXV, d->auxv, d->auxv_len);
			put_nt_file(b, d);
			put_thread_names(b, d);
		}
		if (t->fp)
			put_note(b, "CORE", NT_FPREGSET, t->fp, sizeof(*t->fp));
	}
}

/* ---- segments and the file ---- */

uint32_t core_seg_flags(const char perms[5])
{
	return (perms[0] == 'r' ? PF_R : 0) | (perms[1] == 'w' ? PF_W : 0) | (perms[2] == 'x' ? PF_X : 0);
}

/* The ELF header, the program headers (PN_XNUM past 65,534 segments) and the notes; the
 * segments' bytes follow from the returned offset, in order. */
static int write_headers(struct cout *o, const struct buf *notes, const struct core_seg *segs, size_t nsegs,
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
	eh.e_machine = arch_host()->e_machine;	/* the notes are the host's */
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

enum core_comp core_comp_of(const char *path)
{
	if (ends_with(path, ".gz"))
		return CORE_COMP_GZIP;
	if (ends_with(path, ".zst"))
		return CORE_COMP_ZSTD;
	return CORE_COMP_NONE;
}

int core_emit(const struct outfile *f, enum core_comp comp, const struct core_desc *d, const struct core_seg *segs,
	      size_t nsegs, core_fill_fn fill, void *arg, uint64_t *size, struct err *e)
{
	struct buf notes = { 0 };
	build_notes(&notes, d);
	struct cout o;
	uint64_t data_off;
	unsigned char *buf = xmalloc(STAGE);
	int r = cout_open(&o, f, comp, f->path, e);
	if (r == 0)
		r = write_headers(&o, &notes, segs, nsegs, &data_off);
	for (size_t i = 0; r == 0 && i < nsegs; i++) {
		uint64_t a = segs[i].start, end = a + segs[i].filesz;
		while (r == 0 && a < end) {
			size_t k = end - a < STAGE ? (size_t)(end - a) : STAGE;
			fill(arg, a, buf, k);
			r = cout_put(&o, buf, k);
			a += k;
		}
	}
	if (cout_close(&o, size) != 0)
		r = -1;
	free(buf);
	free(notes.p);
	return r;
}
