#include "image/memimage.h"
#include "util/xalloc.h"
#include "util/bsearch.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int region_cmp(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static void add(struct region **v, size_t *n, size_t *cap, bool *sorted, struct region r)
{
	if (r.len == 0)
		return;
	VEC_RESERVE(*v, *cap, *n + 1);
	if (*n && (*v)[*n - 1].start > r.start)
		*sorted = false;
	(*v)[(*n)++] = r;
}

void memimage_add_buf(struct memimage *m, uint64_t start, unsigned char *buf, uint64_t len)
{
	if (m->n == 0)
		m->sorted = true;
	add(&m->r, &m->n, &m->cap, &m->sorted,
	    (struct region){ .start = start, .len = len, .src = REGION_BUF, .buf = buf, .fd = -1 });
	m->bytes_copied += len;
}

void memimage_add_pooled(struct memimage *m, uint64_t start, unsigned char *buf, uint64_t len)
{
	if (m->n == 0)
		m->sorted = true;
	add(&m->r, &m->n, &m->cap, &m->sorted,
	    (struct region){ .start = start, .len = len, .src = REGION_BUF, .buf = buf, .fd = -1,
			     .pooled = true });
	m->bytes_copied += len;
}

void memimage_reserve_pool(struct memimage *m, size_t bytes)
{
	if (m->pool || bytes == 0)
		return;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return;
	m->pool = p;
	m->pool_size = bytes;
	m->pool_used = 0;
}

unsigned char *memimage_pool_alloc(struct memimage *m, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!m->pool || m->pool_size - m->pool_used < n)
		return NULL;
	unsigned char *b = m->pool + m->pool_used;
	m->pool_used += n;
	return b;
}

void memimage_pool_shrink(struct memimage *m, unsigned char *buf, size_t had, size_t keep)
{
	had = (had + 15) & ~(size_t)15;
	keep = (keep + 15) & ~(size_t)15;
	if (buf + had == m->pool + m->pool_used && keep <= had)
		m->pool_used -= had - keep;
}

void memimage_add_file(struct memimage *m, uint64_t start, uint64_t len, int fd,
		       uint64_t file_off, uint64_t file_len)
{
	if (m->n == 0)
		m->sorted = true;
	add(&m->r, &m->n, &m->cap, &m->sorted,
	    (struct region){ .start = start, .len = len, .src = REGION_FILE, .fd = fd,
			     .file_off = file_off, .file_len = file_len });
}

void memimage_add_fallback(struct memimage *m, uint64_t start, uint64_t len, int fd,
			   uint64_t file_off, uint64_t file_len, bool stale)
{
	if (m->nfb == 0)
		m->fbsorted = true;
	add(&m->fb, &m->nfb, &m->capfb, &m->fbsorted,
	    (struct region){ .start = start, .len = len, .src = REGION_FILE, .fd = fd,
			     .file_off = file_off, .file_len = file_len, .stale = stale });
}

/* The region containing addr: the last region starting at or below addr, searched among
 * regions sorted by start. Overlapping regions are rare (a stack copy and a lock word);
 * scanning back a little finds an earlier region that still covers addr. */
static int cmp_addr_region(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, a = ((const struct region *)elem)->start;
	return (k > a) - (k < a);
}

static const struct region *find(struct region *v, size_t n, bool *sorted, uint64_t addr)
{
	if (!n)
		return NULL;
	if (!*sorted) {
		qsort(v, n, sizeof(*v), region_cmp);
		*sorted = true;
	}
	/* lo = first region starting above addr */
	size_t lo = upper_bound(v, n, sizeof(*v), &addr, cmp_addr_region);
	for (size_t i = lo, steps = 0; i > 0 && steps < 64; i--, steps++) {
		const struct region *r = &v[i - 1];
		if (addr - r->start < r->len)
			return r;
	}
	return NULL;
}

#define PC_SLOTS 512
#define PC_PAGE 4096
#define PC_MAX_READ (4 * PC_PAGE)	/* larger reads go straight to the file */

struct page_cache {
	struct pc_tag {
		int fd;
		uint32_t len;	/* bytes the file had there (short at its end) */
		uint64_t off;	/* page-aligned file offset; UINT64_MAX when empty */
	} tag[PC_SLOTS];
	unsigned char data[PC_SLOTS][PC_PAGE];
};

static size_t pread_full(int fd, unsigned char *out, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = pread(fd, out + done, n - done, (off_t)(off + done));
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	return done;
}

static size_t cached_pread(struct memimage *m, int fd, unsigned char *out, size_t n, uint64_t off)
{
	if (n > PC_MAX_READ)
		return pread_full(fd, out, n, off);
	if (!m->pages) {
		m->pages = malloc(sizeof(*m->pages));
		if (!m->pages)
			return pread_full(fd, out, n, off);
		for (size_t i = 0; i < PC_SLOTS; i++)
			m->pages->tag[i].off = UINT64_MAX;
	}
	struct page_cache *pc = m->pages;
	size_t done = 0;
	while (done < n) {
		uint64_t o = off + done, page = o & ~(uint64_t)(PC_PAGE - 1);
		size_t slot = (size_t)(((page >> 12) ^ ((uint64_t)fd * 0x9e3779b97f4a7c15ull >> 40)) % PC_SLOTS);
		struct pc_tag *t = &pc->tag[slot];
		if (t->off != page || t->fd != fd) {
			t->fd = fd;
			t->off = page;
			t->len = (uint32_t)pread_full(fd, pc->data[slot], PC_PAGE, page);
		}
		size_t in = (size_t)(o - page);
		if (in >= t->len)
			break;
		size_t take = t->len - in < n - done ? t->len - in : n - done;
		memcpy(out + done, pc->data[slot] + in, take);
		done += take;
	}
	return done;
}

static size_t read_region(struct memimage *m, const struct region *r, uint64_t addr, unsigned char *out,
			  size_t len)
{
	uint64_t off = addr - r->start;
	uint64_t avail = r->len - off;
	size_t n = len < avail ? len : (size_t)avail;
	if (r->src == REGION_BUF) {
		memcpy(out, r->buf + off, n);
		return n;
	}
	size_t done = 0;
	if (off < r->file_len) {
		uint64_t in_file = r->file_len - off;
		size_t want = n < in_file ? n : (size_t)in_file;
		done = cached_pread(m, r->fd, out, want, r->file_off + off);
		if (done < want)
			return done;
	}
	/* Past the file's bytes a segment reads as zeros (.bss, p_memsz > p_filesz). */
	memset(out + done, 0, n - done);
	return n;
}

bool memimage_covers(struct memimage *m, uint64_t addr)
{
	return find(m->r, m->n, &m->sorted, addr) || find(m->fb, m->nfb, &m->fbsorted, addr);
}

static size_t read_image(struct memimage *m, uint64_t addr, void *buf, size_t len, bool stale_ok)
{
	unsigned char *out = buf;
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		if (a < addr)
			break;	/* wrapped */
		const struct region *r = find(m->r, m->n, &m->sorted, a);
		if (!r)
			r = find(m->fb, m->nfb, &m->fbsorted, a);
		if (!r || (r->stale && !stale_ok))
			break;
		size_t k = read_region(m, r, a, out + done, len - done);
		if (k == 0)
			break;
		done += k;
	}
	return done;
}

size_t memimage_read(struct memimage *m, uint64_t addr, void *buf, size_t len)
{
	return read_image(m, addr, buf, len, false);
}

size_t memimage_read_stale_ok(struct memimage *m, uint64_t addr, void *buf, size_t len)
{
	return read_image(m, addr, buf, len, true);
}

/* Jumps region by region: it runs once per thread inside a freeze. */
uint64_t memimage_copied_to(struct memimage *m, uint64_t a, uint64_t end)
{
	while (a < end) {
		unsigned char b;
		if (memimage_read(m, a, &b, 1) != 1)	/* also sorts the regions */
			return a;
		size_t lo = upper_bound(m->r, m->n, sizeof(*m->r), &a, cmp_addr_region);
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

size_t memimage_copied_regions(const struct memimage *m)
{
	return m->n;
}

void memimage_copied_region(const struct memimage *m, size_t i, uint64_t *start, uint64_t *len)
{
	*start = m->r[i].start;
	*len = m->r[i].len;
}

void memimage_free(struct memimage *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].src == REGION_BUF && !m->r[i].pooled)
			free((void *)m->r[i].buf);
	if (m->pool)
		munmap(m->pool, m->pool_size);
	free(m->pages);
	free(m->r);
	free(m->fb);
	memset(m, 0, sizeof(*m));
}
