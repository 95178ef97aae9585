/* pprof labels: g.labels points at a runtime/pprof labelMap, a map[string]string, so at a
 * pointer to its hmap (Go 1.18 to 1.23; 1.24 replaced both maps and labelMap). Buckets of
 * that map hold 8 tophash bytes, 8 string keys, 8 string values and an overflow pointer.
 * Children inherit their parent's labels pointer, so each distinct map is decoded once. */
#include "go/internal.h"
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

static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *rune)
{
	unsigned char c = p[0];
	if (c < 0x80) {
		*rune = c;
		return 1;
	}
	size_t need;
	uint32_t r, min;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, r = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, r = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, r = c & 0x07, min = 0x10000;
	else
		return 0;
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		r = (r << 6) | (p[k] & 0x3f);
	}
	if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		return 0;
	*rune = r;
	return need + 1;
}

/* unicode.IsPrint for runes above ASCII, close enough for label text: the controls,
 * format characters and separators Go escapes. */
static bool is_print(uint32_t r)
{
	if (r < 0xa1)
		return r >= 0x20 && r < 0x7f;
	if (r == 0xad || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
	    (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) ||
	    (r >= 0xe000 && r <= 0xf8ff) || r >= 0xf0000 || (r & 0xfffe) == 0xfffe)
		return false;
	return true;
}

char *go_quote(struct arena *a, const char *s, size_t len)
{
	size_t cap = len * 10 + 3, o = 0;
	char *out = xmalloc(cap);
	const unsigned char *p = (const unsigned char *)s;
	out[o++] = '"';
	for (size_t i = 0; i < len;) {
		uint32_t r;
		size_t n = utf8_decode(p + i, len - i, &r);
		if (n == 0) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
			i++;
			continue;
		}
		const char *esc = NULL;
		switch (r) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		case '\\': esc = "\\\\"; break;
		case '"': esc = "\\\""; break;
		default: break;
		}
		if (esc)
			o += (size_t)snprintf(out + o, cap - o, "%s", esc);
		else if (is_print(r)) {
			memcpy(out + o, p + i, n);
			o += n;
		} else if (r < 0x80)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", r);
		else if (r < 0x10000)
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", r);
		else
			o += (size_t)snprintf(out + o, cap - o, "\\U%08x", r);
		i += n;
	}
	out[o++] = '"';
	char *res = arena_strndup(a, out, o);
	free(out);
	return res;
}

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

void go_read_labels(struct goreader *r, uint64_t labels, struct goroutine_info *gi)
{
	const struct go_layout *L = &r->L;
	uint64_t hm;
	if (!labels || L->hmap_count == GO_NOFIELD || L->hmap_b == GO_NOFIELD || L->hmap_buckets == GO_NOFIELD ||
	    !go_u64(r, labels, &hm))
		return;
	struct arena *a = &r->s->arena;
	struct lab v[MAX_LABELS];
	int n = 0;
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
