/* A sparse image of an address space: sorted, non-overlapping regions whose bytes live in
 * memory (copied from a live process) or in a file (a core's segments, a mapped ELF).
 * Lookups are binary searches, so reads cost log(regions) whatever the image's size;
 * this is what keeps a 700 MiB core from being read whole or scanned linearly. */
#ifndef CHANG_MEMIMAGE_H
#define CHANG_MEMIMAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum region_src { REGION_BUF, REGION_FILE };

struct region {
	uint64_t start, len;
	enum region_src src;
	const unsigned char *buf;	/* REGION_BUF: owned by the image */
	int fd;				/* REGION_FILE */
	uint64_t file_off;
	uint64_t file_len;		/* bytes present in the file; the rest reads as zero */
	bool stale;			/* a writable mapping's file bytes: may differ from memory */
	bool pooled;			/* buf lives in the image's pool, not on the heap */
};

struct memimage {
	struct region *r;
	size_t n, cap;
	bool sorted;
	/* Second tier, tried when no primary region covers an address: file-backed
	 * mappings read from the ELF files on disk (text, rodata, eh_frame). */
	struct region *fb;
	size_t nfb, capfb;
	bool fbsorted;
	uint64_t bytes_copied;
	/* Memory for copies, mapped and faulted in before a freeze so that copying while the
	 * target is stopped does not also pay for page faults. */
	unsigned char *pool;
	size_t pool_size, pool_used;
	/* Recently read pages of file-backed regions: unwinders read a core's stacks eight
	 * bytes at a time, and a pread for each was most of a core's unwinding. */
	struct page_cache *pages;
};

/* Map and pre-fault a pool of this many bytes (best effort). */
void memimage_reserve_pool(struct memimage *m, size_t bytes);
/* n bytes from the pool, or NULL when it is exhausted (use the heap then). */
unsigned char *memimage_pool_alloc(struct memimage *m, size_t n);
/* Hand back the unused tail of the last pool allocation. */
void memimage_pool_shrink(struct memimage *m, unsigned char *buf, size_t had, size_t keep);
/* Like memimage_add_buf for a buffer from the pool. */
void memimage_add_pooled(struct memimage *m, uint64_t start, unsigned char *buf, uint64_t len);

/* Takes ownership of buf (malloc'ed). Regions should not overlap; where they do, a read
 * may be served by either. */
void memimage_add_buf(struct memimage *m, uint64_t start, unsigned char *buf, uint64_t len);
void memimage_add_file(struct memimage *m, uint64_t start, uint64_t len, int fd,
		       uint64_t file_off, uint64_t file_len);
void memimage_add_fallback(struct memimage *m, uint64_t start, uint64_t len, int fd,
			   uint64_t file_off, uint64_t file_len, bool stale);
bool memimage_covers(struct memimage *m, uint64_t addr);
size_t memimage_read(struct memimage *m, uint64_t addr, void *buf, size_t len);
/* Also serve stale fallback bytes (a writable data mapping read from its file): good enough
 * for an unwinder dereferencing a CIE's personality pointer, never for lock words. */
size_t memimage_read_stale_ok(struct memimage *m, uint64_t addr, void *buf, size_t len);
/* How far from a the primary regions (copies and core segments, not the file fallbacks)
 * reach without a gap, at most end. */
uint64_t memimage_copied_to(struct memimage *m, uint64_t a, uint64_t end);
/* The primary regions, in no particular order: their count, and region i's range. */
size_t memimage_copied_regions(const struct memimage *m);
void memimage_copied_region(const struct memimage *m, size_t i, uint64_t *start, uint64_t *len);
void memimage_free(struct memimage *m);
#endif
