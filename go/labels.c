/* pprof labels: g.labels points at a runtime/pprof labelMap. To Go 1.23 that is a
 * map[string]string, so a pointer to its hmap, whose buckets hold 8 tophash bytes, 8 string
 * keys, 8 string values and an overflow pointer. From 1.24 it is a struct whose first field
 * is a slice of {key, value string}, sorted by key. */
#include "go/internal.h"
#include "util/goquote.h"
#include "util/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_CNT 8
#define BUCKET_SIZE (8 + BUCKET_CNT * 16 * 2 + 8)
#define MIN_TOPHASH 5
#define MAX_B 10
#define MAX_CHAIN 64
#define MAX_LABELS 256
#define MAX_STR 4096

struct lab {
	const char *k, *v;
	char *entry;		/* %q:%q, what Go sorts */
};

static int cmp_entry(const void *x, const void *y)
{
	return strcmp(((const struct lab *)x)->entry, ((const struct lab *)y)->entry);
}

static int cmp_key(const void *x, const void *y)
{
	return strcmp(((const struct go_label *)x)->key, ((const struct go_label *)y)->key);
}

static int add_cells(struct goreader *r, const unsigned char *b, struct lab *v, int n)
{
	struct arena *a = &r->s->arena;
	for (int j = 0; j < BUCKET_CNT && n < MAX_LABELS; j++) {
		if (b[j] < MIN_TOPHASH)
			continue;
		const unsigned char *kh = b + 8 + j * 16, *vh = b + 8 + BUCKET_CNT * 16 + j * 16;
		const char *k = go_read_string(r, go_le64(kh), go_le64(kh + 8), MAX_STR);
		const char *val = go_read_string(r, go_le64(vh), go_le64(vh + 8), MAX_STR);
		if (!k || !val)
			continue;
		char *qk = go_quote(a, k, strlen(k)), *qv = go_quote(a, val, strlen(val));
		v[n].k = k;
		v[n].v = val;
		v[n].entry = arena_printf(a, "%s:%s", qk, qv);
		n++;
	}
	return n;
}

static int walk_buckets(struct goreader *r, uint64_t base, uint64_t nb, struct lab *v, int n)
{
	unsigned char b[BUCKET_SIZE];
	for (uint64_t i = 0; i < nb && n < MAX_LABELS; i++) {
		uint64_t at = base + i * BUCKET_SIZE;
		for (int depth = 0; at && depth < MAX_CHAIN && n < MAX_LABELS; depth++) {
			if (!go_read(r, at, b, sizeof(b)))
				break;
			n = add_cells(r, b, v, n);
			at = go_le64(b + BUCKET_SIZE - 8);
		}
	}
	return n;
}

/* 1.24+: labelMap{Set{list []Label}}: the slice's pointer and length. */
static int read_slice(struct goreader *r, uint64_t labels, struct lab *v)
{
	unsigned char hdr[16], cell[32];
	if (!go_read(r, labels, hdr, sizeof(hdr)))
		return 0;
	uint64_t arr = go_le64(hdr), len = go_le64(hdr + 8);
	if (len > MAX_LABELS)
		return 0;
	struct arena *a = &r->s->arena;
	int n = 0;
	for (uint64_t i = 0; i < len; i++) {
		if (!go_read(r, arr + i * 32, cell, sizeof(cell)))
			break;
		const char *k = go_read_string(r, go_le64(cell), go_le64(cell + 8), MAX_STR);
		const char *val = go_read_string(r, go_le64(cell + 16), go_le64(cell + 24), MAX_STR);
		if (!k || !val)
			continue;
		char *qk = go_quote(a, k, strlen(k)), *qv = go_quote(a, val, strlen(val));
		v[n++] = (struct lab){ k, val, arena_printf(a, "%s:%s", qk, qv) };
	}
	return n;
}

void go_read_labels(struct goreader *r, uint64_t labels, struct goroutine_info *gi)
{
	const struct go_layout *L = &r->L;
	uint64_t hm;
	struct lab v[MAX_LABELS];
	int n = 0;
	if (labels && L->labels_slice) {
		n = read_slice(r, labels, v);
		goto format;
	}
	if (!labels || L->hmap_count == GO_NOFIELD || L->hmap_b == GO_NOFIELD || L->hmap_buckets == GO_NOFIELD ||
	    !go_u64(r, labels, &hm))
		return;
	if (hm) {
		uint64_t count, buckets, old = 0;
		unsigned char B;
		if (!go_u64(r, hm + L->hmap_count, &count) || !go_read(r, hm + L->hmap_b, &B, 1) ||
		    !go_u64(r, hm + L->hmap_buckets, &buckets) || B > MAX_B || count > MAX_LABELS)
			return;
		if (L->hmap_oldbuckets != GO_NOFIELD)
			go_u64(r, hm + L->hmap_oldbuckets, &old);
		n = walk_buckets(r, buckets, 1ull << B, v, n);
		if (old && B > 0)
			n = walk_buckets(r, old, 1ull << (B - 1), v, n);
	}
format:;
	struct arena *a = &r->s->arena;
	qsort(v, (size_t)n, sizeof(*v), cmp_entry);
	size_t len = 3;
	for (int i = 0; i < n; i++)
		len += strlen(v[i].entry) + 2;
	char *text = xmalloc(len), *p = text;
	*p++ = '{';
	for (int i = 0; i < n; i++) {
		if (i) {
			*p++ = ',';
			*p++ = ' ';
		}
		size_t l = strlen(v[i].entry);
		memcpy(p, v[i].entry, l);
		p += l;
	}
	*p++ = '}';
	*p = 0;
	gi->labels_text = arena_strdup(a, text);
	free(text);
	gi->nlabels = n;
	gi->labels = ARENA_NEW(a, struct go_label, n ? n : 1);
	for (int i = 0; i < n; i++)
		gi->labels[i] = (struct go_label){ v[i].k, v[i].v };
	qsort(gi->labels, (size_t)n, sizeof(*gi->labels), cmp_key);
}
