#include "symbols/inflate.h"
#include <elf.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif

/* Sections chang never reads: left out of the inflated image. */
static bool section_unused(const char *name)
{
	/* Location lists describe locals, macros the preprocessor: chang shows neither, and in
	 * glibc's debug file they are a fifth of what there is to inflate. */
	static const char *const unused[] = { ".debug_loc", ".debug_loclists", ".debug_macro",
					      ".debug_macinfo", ".debug_pubnames", ".debug_pubtypes",
					      ".debug_gnu_pubnames", ".debug_gnu_pubtypes" };
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		if (strcmp(name, unused[i]) == 0)
			return true;
	return false;
}

struct job {
	size_t shndx;
	uint32_t type;
	const unsigned char *src;
	size_t srclen;
	uint64_t out_off, out_len, align;
	bool ok;
};

struct pool {
	struct job *jobs;
	size_t n;
	unsigned char *image;
	atomic_size_t next;
};

static void run_jobs(struct pool *p)
{
	struct libdeflate_decompressor *zd = NULL;
	ZSTD_DCtx *zs = NULL;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		struct job *j = &p->jobs[i];
		unsigned char *dst = p->image + j->out_off;
		if (j->type == ELFCOMPRESS_ZLIB) {
			if (!zd)
				zd = libdeflate_alloc_decompressor();
			size_t got = 0;
			j->ok = zd && libdeflate_zlib_decompress(zd, j->src, j->srclen, dst, j->out_len, &got) ==
					      LIBDEFLATE_SUCCESS && got == j->out_len;
		} else {
			if (!zs)
				zs = ZSTD_createDCtx();
			size_t r = zs ? ZSTD_decompressDCtx(zs, dst, j->out_len, j->src, j->srclen) : 0;
			j->ok = zs && !ZSTD_isError(r) && r == j->out_len;
		}
	}
	if (zd)
		libdeflate_free_decompressor(zd);
	if (zs)
		ZSTD_freeDCtx(zs);
}

static void *worker(void *arg)
{
	run_jobs(arg);
	return NULL;
}

/* Largest first, so the CPUs finish together. */
static int cmp_job_size(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	return (x->out_len < y->out_len) - (x->out_len > y->out_len);
}

static void run_pool(struct pool *p, size_t helpers)
{
	if (helpers > 7)
		helpers = 7;
	if (helpers > p->n - 1)
		helpers = p->n - 1;
	pthread_t th[7];
	size_t started = 0;
	/* Helpers take no signals: chang's own handling stays on the thread that set it up. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (size_t i = 0; i < helpers; i++)
		if (pthread_create(&th[started], NULL, worker, p) == 0)
			started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	run_jobs(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int inflate_elf_memory(const unsigned char *f, size_t size, uint64_t max_bytes, unsigned threads, int out_fd)
{
	Elf64_Ehdr eh;
	if (size < sizeof(eh))
		return -1;
	memcpy(&eh, f, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff == 0)
		return -1;
	Elf64_Shdr first;
	if (!range_ok(eh.e_shoff, sizeof(first), size))
		return -1;
	memcpy(&first, f + eh.e_shoff, sizeof(first));
	uint64_t shnum = eh.e_shnum ? eh.e_shnum : first.sh_size;
	uint64_t shstrndx = eh.e_shstrndx == SHN_XINDEX ? first.sh_link : eh.e_shstrndx;
	if (shnum == 0 || shnum > size / sizeof(Elf64_Shdr) ||
	    !range_ok(eh.e_shoff, shnum * sizeof(Elf64_Shdr), size) || shstrndx >= shnum)
		return -1;
	Elf64_Shdr *sh = malloc(shnum * sizeof(*sh));
	struct job *jobs = malloc(shnum * sizeof(*jobs));
	if (!sh || !jobs) {
		free(sh);
		free(jobs);
		return -1;
	}
	memcpy(sh, f + eh.e_shoff, shnum * sizeof(*sh));
	const Elf64_Shdr *ss = &sh[shstrndx];
	const char *strtab = NULL;
	uint64_t strsize = 0;
	if (ss->sh_type != SHT_NOBITS && range_ok(ss->sh_offset, ss->sh_size, size)) {
		strtab = (const char *)f + ss->sh_offset;
		strsize = ss->sh_size;
	}

	size_t njobs = 0;
	uint64_t out = (size + 7) & ~(uint64_t)7, total = 0;
	int memfd = -1;
	for (uint64_t i = 1; i < shnum && strtab; i++) {
		Elf64_Shdr *s = &sh[i];
		if (s->sh_type == SHT_NOBITS || !(s->sh_flags & SHF_COMPRESSED) || (s->sh_flags & SHF_ALLOC) ||
		    s->sh_size < sizeof(Elf64_Chdr) || !range_ok(s->sh_offset, s->sh_size, size) ||
		    s->sh_name >= strsize || !memchr(strtab + s->sh_name, 0, strsize - s->sh_name))
			continue;
		if (section_unused(strtab + s->sh_name)) {
			s->sh_type = SHT_NOBITS;
			continue;
		}
		Elf64_Chdr ch;
		memcpy(&ch, f + s->sh_offset, sizeof(ch));
		uint64_t align = ch.ch_addralign ? ch.ch_addralign : 1;
		if ((ch.ch_type != ELFCOMPRESS_ZLIB && ch.ch_type != ELFCOMPRESS_ZSTD) || ch.ch_size == 0 ||
		    (align & (align - 1)) != 0 || align > 4096 || ch.ch_size > max_bytes - total ||
		    total > max_bytes)
			continue;
		out = (out + align - 1) & ~(align - 1);
		jobs[njobs++] = (struct job){ .shndx = i, .type = ch.ch_type, .src = f + s->sh_offset + sizeof(ch),
					      .srclen = s->sh_size - sizeof(ch), .out_off = out,
					      .out_len = ch.ch_size, .align = ch.ch_addralign };
		out += ch.ch_size;
		total += ch.ch_size;
	}
	if (njobs == 0)
		goto done;	/* nothing libdw would inflate slowly: use the file as it is */

	/* Blocks are reserved up front: a write through the mapping into a file whose disk
	 * filled up would be a SIGBUS, not an error. */
	if (out_fd >= 0 && fallocate(out_fd, 0, 0, (off_t)out) == 0)
		memfd = out_fd;
	else if ((memfd = memfd_create("chang-debuginfo", MFD_CLOEXEC)) < 0 || ftruncate(memfd, (off_t)out) != 0)
		goto fail;
	unsigned char *img = mmap(NULL, out, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (img == MAP_FAILED)
		goto fail;
	memcpy(img, f, size);
	qsort(jobs, njobs, sizeof(*jobs), cmp_job_size);
	struct pool p = { .jobs = jobs, .n = njobs, .image = img };
	atomic_init(&p.next, 0);
	run_pool(&p, threads > 1 ? threads - 1 : 0);
	for (size_t k = 0; k < njobs; k++) {
		/* A section that does not inflate keeps its compressed form: libdw says what is
		 * wrong with it when (if) it is read. */
		if (!jobs[k].ok)
			continue;
		Elf64_Shdr *s = &sh[jobs[k].shndx];
		s->sh_offset = jobs[k].out_off;
		s->sh_size = jobs[k].out_len;
		s->sh_flags &= ~(uint64_t)SHF_COMPRESSED;
		s->sh_addralign = jobs[k].align;
	}
	memcpy(img + eh.e_shoff, sh, shnum * sizeof(*sh));
	munmap(img, out);
	goto done;
fail:
	if (memfd >= 0 && memfd != out_fd)
		close(memfd);
	memfd = -1;
done:
	free(sh);
	free(jobs);
	return memfd;
}

int inflate_elf(int fd, uint64_t max_bytes, unsigned threads, int out_fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -1;
	void *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		return -1;
	int r = inflate_elf_memory(f, (size_t)st.st_size, max_bytes, threads, out_fd);
	munmap(f, (size_t)st.st_size);
	return r;
}
