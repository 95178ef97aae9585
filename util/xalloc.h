/* Allocation that cannot return NULL: running out of memory while diagnosing is reported
 * in one line and ends chang, rather than threading ENOMEM through every stage. */
#ifndef CHANG_XALLOC_H
#define CHANG_XALLOC_H
#include <stddef.h>
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

/* Grow *vec so that it holds at least need elements; *cap tracks the capacity. */
#define VEC_RESERVE(vec, cap, need) do { \
	if ((size_t)(need) > (size_t)(cap)) { \
		size_t nc__ = (cap) ? (size_t)(cap) * 2 : 16; \
		while (nc__ < (size_t)(need)) nc__ *= 2; \
		(vec) = xreallocarray((vec), nc__, sizeof(*(vec))); \
		(cap) = nc__; \
	} } while (0)
#endif
