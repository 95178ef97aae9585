/* What the libFuzzer targets in tests/fuzz/ share. Each target includes this once.
 * FUZZ_CHECK aborts: a broken invariant is a finding like any sanitizer report, and
 * libFuzzer saves the input that caused it. */
#ifndef CHANG_FUZZ_H
#define CHANG_FUZZ_H
#include "core/decompress.h"
#include "image/target.h"
#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} } while (0)

/* With FUZZ_VERBOSE set in the environment, say where an input stopped (reproducing one
 * input by hand); quiet otherwise, as libFuzzer's output is the one that matters. */
static inline bool fuzz_verbose(void)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	return verbose;
}

static inline void fuzz_note(const char *what, const char *msg)
{
	if (fuzz_verbose())
		fprintf(stderr, "%s: %s\n", what, msg);
}

/* Where reports go: nowhere, or with FUZZ_VERBOSE the text report to stderr. */
static inline FILE *fuzz_sink(bool text)
{
	static FILE *devnull;
	if (text && fuzz_verbose())
		return stderr;
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	return devnull;
}

/* The input as a file, for readers that take a path or an fd: a memfd, so that nothing
 * touches the disk and /proc/self/fd/N names a regular file. Returns the fd or -1. */
static inline int fuzz_memfd(const char *name, const uint8_t *data, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t k = write(fd, data + done, size - done);
		if (k <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)k;
	}
	return fd;
}

/* A core input as a file for core_target_open: a memfd named in path (/proc/self/fd/N).
 * Returns the fd, or -1 for a compressed input, which is fuzz_decompress's: here it would
 * decode up to the default 256 GiB bound into a temporary file on disk. */
static inline int fuzz_core_file(const uint8_t *data, size_t size, char *path, size_t cap)
{
	if (decompress_detect(data, size) != COMPRESS_NONE)
		return -1;
	int fd = fuzz_memfd("core", data, size);
	if (fd < 0)
		abort();
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

/* What any core the reader accepts is made into: tasks by ascending tid, mappings
 * non-empty, sorted and disjoint. */
static inline void fuzz_check_core_snapshot(const struct snapshot *s)
{
	FUZZ_CHECK(s->ntasks > 0);
	for (size_t i = 1; i < s->ntasks; i++)
		FUZZ_CHECK(s->tasks[i].tid > s->tasks[i - 1].tid);
	for (size_t i = 0; i < s->nmaps; i++) {
		FUZZ_CHECK(s->maps[i].start < s->maps[i].end);
		FUZZ_CHECK(i == 0 || s->maps[i].start >= s->maps[i - 1].end);
	}
}

/* The input as a NUL-terminated string (text parsers read up to a NUL). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* A little-endian u32 from the front of the input, consumed; 0 when too short. */
static inline uint32_t fuzz_take_u32(const uint8_t **data, size_t *size)
{
	uint32_t v = 0;
	if (*size < 4)
		return 0;
	memcpy(&v, *data, 4);
	*data += 4;
	*size -= 4;
	return v;
}
#define FUZZ_PIE_BASE 0x555555554000ull
#define FUZZ_MAX_LOADS 16

/* The input as an ELF executable mapped the way the loader would (a PIE at a fixed base):
 * each PT_LOAD becomes a mapping of path in s and file-backed memory of t, the part past
 * the file reading as zeros. Segments the loader would refuse are left out. Returns how
 * many were mapped; 0 when the ELF header is unusable. */
static inline size_t fuzz_map_elf(const uint8_t *data, size_t size, int fd, const char *path,
				  struct target *t, struct snapshot *s)
{
	Elf64_Ehdr eh;
	if (size < sizeof(eh))
		return 0;
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff >= size)
		return 0;
	uint64_t bias = eh.e_type == ET_DYN ? FUZZ_PIE_BASE : 0;
	size_t n = 0, fit = (size - (size_t)eh.e_phoff) / sizeof(Elf64_Phdr);
	struct mapping *maps = ARENA_NEW(&s->arena, struct mapping, FUZZ_MAX_LOADS);
	for (size_t i = 0; i < eh.e_phnum && i < fit && n < FUZZ_MAX_LOADS; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0 || ph.p_memsz > (1ull << 32) ||
		    ph.p_vaddr > (1ull << 46) || ph.p_offset > size)
			continue;
		uint64_t pad = ph.p_vaddr & 0xfff;
		if ((ph.p_offset & 0xfff) != pad || ph.p_offset < pad)
			continue;
		uint64_t start = bias + ph.p_vaddr - pad;
		uint64_t end = (bias + ph.p_vaddr + ph.p_memsz + 0xfff) & ~0xfffull;
		if (n && start < maps[n - 1].end)
			continue;
		uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		uint64_t have = size - ph.p_offset < filesz ? size - ph.p_offset : filesz;
		memimage_add_file(&t->mem, start, end - start, fd, ph.p_offset - pad, have + pad);
		struct mapping *m = &maps[n++];
		m->start = start;
		m->end = end;
		m->offset = ph.p_offset - pad;
		memcpy(m->perms, ph.p_flags & PF_X ? "r-xp" : ph.p_flags & PF_W ? "rw-p" : "r--p", 5);
		m->path = path;
		m->dumped = true;
	}
	s->maps = maps;
	s->nmaps = n;
	return n;
}
#endif
