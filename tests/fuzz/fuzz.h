/* What the libFuzzer targets in tests/fuzz/ share. Each target includes this once.
 * FUZZ_CHECK aborts: a broken invariant is a finding like any sanitizer report, and
 * libFuzzer saves the input that caused it. */
#ifndef CHANG_FUZZ_H
#define CHANG_FUZZ_H
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
static inline void fuzz_note(const char *what, const char *msg)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%s: %s\n", what, msg);
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
#endif
