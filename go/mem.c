/* Reading the target. Everything goes through target_read (the live process during its
 * freeze, or a core), but rarely byte by byte: every g and every stack top are fetched in a
 * few coalesced reads (go_prefetch), and the pointer chasing that remains (sudogs, channel
 * queues, the semaphore treaps) reads whole aligned blocks, which heap neighbours share.
 * A live process with 100,000 goroutines then costs a few hundred reads, not a million.
 * The copies are private to go/ and freed when capture ends: nothing after it needs them. */
#include "go/internal.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOCK_SHIFT 13		/* 8 KiB: one heap span of small objects */
#define BLOCK_SIZE (1u << BLOCK_SHIFT)
#define BLOCK_BUDGET (64u << 20)
#define PREFETCH_CHUNK (64ull << 20)
#define PREFETCH_BUDGET (2ull << 30)

struct chunk {
	uint64_t lo, hi;
	unsigned char *buf;
	bool owned;		/* else inside a slab */
};

struct block {
	uint64_t idx;
	unsigned char *buf;	/* NULL: slot empty */
	uint32_t len;		/* bytes readable from the block's start */
};

struct go_cache {
	struct chunk *c;
	size_t n, cap;
	struct go_range *slabs;	/* [lo = address, hi = length) of each mapping */
	size_t nslabs, capslabs;
	unsigned char *scratch;
	size_t scratch_len;
	const struct chunk *last;
	struct block *b;
	size_t nb, capb;
	size_t block_bytes;
};

/* Bulk buffers of tens of megabytes, mapped directly so they go back whole when capture
 * ends (huge pages were tried: compaction stalls made the pause longer, not shorter). */
static unsigned char *big_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

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

static struct go_cache *cache(struct goreader *r)
{
	if (!r->cache)
		r->cache = xcalloc(1, sizeof(*r->cache));
	return r->cache;
}

static int cmp_addr_chunk(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct chunk *)elem)->lo;
	return (k > a) - (k < a);
}

static const struct chunk *chunk_at(const struct go_cache *c, uint64_t addr)
{
	size_t lo = upper_bound(c->c, c->n, sizeof(*c->c), &addr, cmp_addr_chunk);
	return lo && addr < c->c[lo - 1].hi ? &c->c[lo - 1] : NULL;
}

static uint64_t hash_idx(uint64_t i)
{
	uint64_t h = i * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static struct block *block_get(struct goreader *r, uint64_t idx)
{
	struct go_cache *c = cache(r);
	if (c->nb * 2 >= c->capb) {
		struct block *old = c->b;
		size_t oc = c->capb;
		c->capb = oc ? oc * 2 : 1024;
		c->b = xcalloc(c->capb, sizeof(*c->b));
		for (size_t i = 0; i < oc; i++) {
			if (!old[i].buf)
				continue;
			size_t h = hash_idx(old[i].idx) & (c->capb - 1);
			while (c->b[h].buf)
				h = (h + 1) & (c->capb - 1);
			c->b[h] = old[i];
		}
		free(old);
	}
	size_t h = hash_idx(idx) & (c->capb - 1);
	while (c->b[h].buf) {
		if (c->b[h].idx == idx)
			return &c->b[h];
		h = (h + 1) & (c->capb - 1);
	}
	if (c->block_bytes >= BLOCK_BUDGET)
		return NULL;
	unsigned char *buf = xmalloc(BLOCK_SIZE);
	size_t got = target_read(r->t, idx << BLOCK_SHIFT, buf, BLOCK_SIZE);
	c->b[h] = (struct block){ idx, buf, (uint32_t)got };
	c->nb++;
	c->block_bytes += BLOCK_SIZE;
	return &c->b[h];
}

/* go_prepare's reads: from the section of the executable's file that holds addr (never
 * .bss, which the file does not hold), as much as that section has. */
static size_t file_read(struct goreader *r, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < r->elf.nsecs; i++) {
		const struct go_section *sc = &r->elf.secs[i];
		if (!sc->addr || sc->type == SHT_NOBITS || addr < sc->addr || addr - sc->addr >= sc->size)
			continue;
		uint64_t avail = sc->size - (addr - sc->addr);
		size_t want = len < avail ? len : (size_t)avail;
		uint64_t off = sc->offset + (addr - sc->addr);
		/* the mapping for many small reads, one pread for a whole table */
		if (r->file && want < (64u << 10)) {
			if (off > r->file_len || want > r->file_len - off)
				return 0;
			memcpy(buf, r->file + off, want);
			return want;
		}
		ssize_t got = pread(r->exe_fd, buf, want, (off_t)(sc->offset + (addr - sc->addr)));
		return got > 0 ? (size_t)got : 0;
	}
	return 0;
}

size_t go_read_some(struct goreader *r, uint64_t addr, void *buf, size_t len)
{
	return r->from_file ? file_read(r, addr, buf, len) : target_read(r->t, addr, buf, len);
}

bool go_read(struct goreader *r, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return true;
	if (addr + len < addr)
		return false;
	if (r->from_file)
		return file_read(r, addr, buf, len) == len;
	struct go_cache *c = cache(r);
	/* reads come in runs (one g, one stack): try the chunk of the last read first */
	const struct chunk *ch = c->last && addr >= c->last->lo && addr < c->last->hi ? c->last : chunk_at(c, addr);
	if (ch && len <= ch->hi - addr) {
		c->last = ch;
		memcpy(buf, ch->buf + (addr - ch->lo), len);
		return true;
	}
	if (len > 4 * BLOCK_SIZE)
		return target_read(r->t, addr, buf, len) == len;
	unsigned char *out = buf;
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		struct block *b = block_get(r, a >> BLOCK_SHIFT);
		if (!b)
			return target_read(r->t, addr, buf, len) == len;
		uint32_t off = (uint32_t)(a & (BLOCK_SIZE - 1));
		if (off >= b->len)
			return target_read(r->t, addr, buf, len) == len;	/* a hole in the block */
		size_t k = b->len - off < len - done ? b->len - off : len - done;
		memcpy(out + done, b->buf + off, k);
		done += k;
	}
	return true;
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

static int cmp_chunk(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

static void keep(struct go_cache *c, uint64_t lo, unsigned char *buf, size_t len, bool owned)
{
	c->last = NULL;	/* the array may move */
	VEC_RESERVE(c->c, c->cap, c->n + 1);
	c->c[c->n++] = (struct chunk){ lo, lo + len, buf, owned };
}

/* Read the merged span [lo, hi) once into scratch and keep only the parts that were asked
 * for, packed into slab: bridging small gaps saves system calls, packing saves memory. */
static unsigned char *fetch(struct goreader *r, uint64_t lo, uint64_t hi, const struct go_range *parts,
			    size_t nparts, unsigned char *slab)
{
	struct go_cache *c = cache(r);
	size_t len = (size_t)(hi - lo), got = 0;
	if (len > c->scratch_len) {
		if (c->scratch)
			munmap(c->scratch, c->scratch_len);
		c->scratch = big_alloc(len);
		c->scratch_len = c->scratch ? len : 0;
	}
	if (c->scratch)
		got = target_read(r->t, lo, c->scratch, len);
	for (size_t i = 0; i < nparts; i++) {
		size_t plen = (size_t)(parts[i].hi - parts[i].lo), off = (size_t)(parts[i].lo - lo);
		size_t have = off + plen <= got ? plen : 0;
		if (!have)
			have = target_read(r->t, parts[i].lo, slab, plen);	/* a hole in the span */
		else
			memcpy(slab, c->scratch + off, plen);
		if (have)
			keep(c, parts[i].lo, slab, have, false);
		slab += plen;
	}
	return slab;
}

void go_prefetch(struct goreader *r, struct go_range *v, size_t n, uint64_t max_gap)
{
	if (!n || r->from_file)
		return;
	struct go_cache *c = cache(r);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct chunk *ch = chunk_at(c, v[i].lo);
		if (v[i].hi > v[i].lo && !(ch && v[i].hi <= ch->hi))
			v[k++] = v[i];
	}
	n = k;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_range);
	/* overlapping parts become one, so no two chunks overlap */
	k = 0;
	for (size_t i = 1; i < n; i++) {
		if (v[i].lo <= v[k].hi) {
			if (v[i].hi > v[k].hi)
				v[k].hi = v[i].hi;
		} else {
			v[++k] = v[i];
		}
	}
	n = k + 1;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += (size_t)(v[i].hi - v[i].lo);
	/* nonsense ranges from a damaged image must not become a giant allocation; what is
	 * not prefetched is still read, block by block */
	if (total > PREFETCH_BUDGET)
		return;
	unsigned char *slab = big_alloc(total), *at = slab;
	if (!slab)
		return;
	VEC_RESERVE(c->slabs, c->capslabs, c->nslabs + 1);
	c->slabs[c->nslabs++] = (struct go_range){ (uint64_t)(uintptr_t)slab, total };
	size_t i = 0;
	while (i < n) {
		uint64_t lo = v[i].lo, hi = v[i].hi;
		size_t j = i + 1;
		while (j < n && v[j].lo <= hi + max_gap && v[j].hi - lo <= PREFETCH_CHUNK) {
			hi = v[j].hi;
			j++;
		}
		at = fetch(r, lo, hi, &v[i], j - i, at);
		i = j;
	}
	/* when nothing could be read there is no array to sort (qsort's NULL is undefined) */
	if (c->n > 1)
		qsort(c->c, c->n, sizeof(*c->c), cmp_chunk);
	c->last = NULL;
}

void go_cache_free(struct goreader *r)
{
	struct go_cache *c = r->cache;
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->c[i].owned)
			free(c->c[i].buf);
	for (size_t i = 0; i < c->nslabs; i++)
		munmap((void *)(uintptr_t)c->slabs[i].lo, (size_t)c->slabs[i].hi);
	free(c->slabs);
	if (c->scratch)
		munmap(c->scratch, c->scratch_len);
	for (size_t i = 0; i < c->capb; i++)
		free(c->b[i].buf);
	free(c->c);
	free(c->b);
	free(c);
	r->cache = NULL;
}
