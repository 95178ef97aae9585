/* Reading the target. Everything goes through target_read (a live process during its freeze,
 * or a core); bulk ranges (every g, every stack) are coalesced and copied once into the
 * target's memory image, so a process with 100,000 goroutines costs a few large reads
 * instead of hundreds of thousands of small ones, and later readers find the bytes there. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

uint64_t go_le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

uint32_t go_le32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

bool go_read(struct goreader *r, uint64_t addr, void *buf, size_t len)
{
	return target_read(r->t, addr, buf, len) == len;
}

bool go_u64(struct goreader *r, uint64_t addr, uint64_t *v)
{
	return go_read(r, addr, v, 8);
}

bool go_u32(struct goreader *r, uint64_t addr, uint32_t *v)
{
	return go_read(r, addr, v, 4);
}

const char *go_read_string(struct goreader *r, uint64_t ptr, uint64_t len, uint64_t max)
{
	if (len > max)
		return NULL;
	char *buf = xmalloc((size_t)len + 1);
	if (len && !go_read(r, ptr, buf, (size_t)len)) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	const char *s = arena_strndup(&r->s->arena, buf, (size_t)len);
	free(buf);
	return s;
}

static int cmp_range(const void *a, const void *b)
{
	const struct go_range *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Regions this large are read in pieces so one unmapped page costs little. */
#define PREFETCH_CHUNK (64ull << 20)

static void fetch(struct goreader *r, uint64_t lo, uint64_t hi, const struct go_range *parts, size_t nparts)
{
	while (lo < hi) {
		uint64_t end = hi - lo > PREFETCH_CHUNK ? lo + PREFETCH_CHUNK : hi;
		size_t len = (size_t)(end - lo);
		unsigned char *buf = xmalloc(len);
		size_t got = target_read(r->t, lo, buf, len);
		if (got == len) {
			memimage_add_buf(&r->t->mem, lo, buf, len);
		} else {
			/* A hole inside the merged range: keep what came, then the pieces one by one. */
			free(buf);
			for (size_t i = 0; i < nparts; i++) {
				uint64_t a = parts[i].lo > lo ? parts[i].lo : lo;
				uint64_t b = parts[i].hi < end ? parts[i].hi : end;
				if (a >= b)
					continue;
				unsigned char *pb = xmalloc((size_t)(b - a));
				size_t k = target_read(r->t, a, pb, (size_t)(b - a));
				if (k)
					memimage_add_buf(&r->t->mem, a, xrealloc(pb, k), k);
				else
					free(pb);
			}
		}
		lo = end;
	}
}

void go_prefetch(struct goreader *r, struct go_range *v, size_t n, uint64_t max_gap)
{
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_range);
	size_t i = 0;
	while (i < n) {
		uint64_t lo = v[i].lo, hi = v[i].hi;
		size_t j = i + 1;
		while (j < n && v[j].lo <= hi + max_gap) {
			if (v[j].hi > hi)
				hi = v[j].hi;
			j++;
		}
		if (hi > lo)
			fetch(r, lo, hi, &v[i], j - i);
		i = j;
	}
}
