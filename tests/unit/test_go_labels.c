/* pprof labels as Go prints them: strconv.Quote's escaping, and a labelMap (a pointer to a
 * map[string]string) decoded from a hand-built hmap with its buckets in a target image,
 * sorted and joined as labelMap.String() does. */
#include "tests/unit/unit.h"
#include "go/internal.h"
#include "util/goquote.h"
#include "util/xalloc.h"
#include <stdlib.h>

#define LABELS 0xc000010000ull
#define HMAP 0xc000020000ull
#define BUCKETS 0xc000030000ull
#define STRINGS 0xc000040000ull

static void add(struct target *t, uint64_t addr, const void *p, size_t n)
{
	unsigned char *b = xmalloc(n);
	memcpy(b, p, n);
	memimage_add_buf(&t->mem, addr, b, n);
}

static void quote(struct arena *a, const char *in, size_t n, const char *want)
{
	const char *got = go_quote(a, in, n);
	CHECKF(strcmp(got, want) == 0, "quote: got %s want %s", got, want);
}

static void put_str(unsigned char *at, uint64_t ptr, uint64_t len)
{
	memcpy(at, &ptr, 8);
	memcpy(at + 8, &len, 8);
}

static void unit_tests(void)
{
	struct snapshot *s = snapshot_new(SOURCE_CORE);
	struct arena *a = &s->arena;
	/* outputs of Go's fmt.Sprintf("%q", ...) */
	quote(a, "ingest", 6, "\"ingest\"");
	quote(a, "a\tb\n\"c\\", 7, "\"a\\tb\\n\\\"c\\\\\"");
	quote(a, "\x01\x7f", 2, "\"\\x01\\x7f\"");
	quote(a, "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");		/* printable UTF-8 stays */
	quote(a, "\xff" "x", 2, "\"\\xffx\"");			/* invalid byte */
	quote(a, "\xe2\x80\x8b", 3, "\"\\u200b\"");		/* zero width space: not printable */
	quote(a, "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");	/* U+1F600 is printable */
	quote(a, "\xef\xbb\xbf", 3, "\"\\ufeff\"");
	quote(a, "\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\"");	/* a surrogate is not UTF-8 */

	struct target t = { 0 };
	t.snap = s;
	struct goreader r = { .t = &t, .s = s };
	r.L.hmap_count = 0;
	r.L.hmap_b = 9;
	r.L.hmap_buckets = 16;
	r.L.hmap_oldbuckets = 24;

	/* g.labels -> *hmap; B=1: two buckets, the second with an overflow bucket */
	uint64_t hp = HMAP;
	add(&t, LABELS, &hp, 8);
	unsigned char hm[48] = { 0 };
	uint64_t count = 3, buckets = BUCKETS;
	memcpy(hm, &count, 8);
	hm[9] = 1;
	memcpy(hm + 16, &buckets, 8);
	add(&t, HMAP, hm, sizeof(hm));
	const char strings[] = "shard7componentingestz\"q";
	add(&t, STRINGS, strings, sizeof(strings));
	unsigned char b[3][272];
	memset(b, 0, sizeof(b));
	/* bucket 0: cell 2 = shard:7, cell 3 empty (tophash 1) */
	b[0][2] = 0x80;
	b[0][3] = 1;
	put_str(b[0] + 8 + 2 * 16, STRINGS, 5);
	put_str(b[0] + 8 + 128 + 2 * 16, STRINGS + 5, 1);
	/* bucket 1: overflow to a third bucket holding component:ingest and z:"q */
	uint64_t ovf = BUCKETS + 2 * 272;
	memcpy(b[1] + 264, &ovf, 8);
	b[2][0] = 0x10;
	put_str(b[2] + 8, STRINGS + 6, 9);
	put_str(b[2] + 8 + 128, STRINGS + 15, 6);
	b[2][7] = 5;
	put_str(b[2] + 8 + 7 * 16, STRINGS + 21, 1);
	put_str(b[2] + 8 + 128 + 7 * 16, STRINGS + 22, 2);
	add(&t, BUCKETS, b, sizeof(b));

	struct goroutine_info gi = { 0 };
	go_read_labels(&r, LABELS, &gi);
	CHECKF(gi.labels_text && strcmp(gi.labels_text, "{\"component\":\"ingest\", \"shard\":\"7\", \"z\":\"\\\"q\"}") == 0,
	       "labels %s", gi.labels_text ? gi.labels_text : "(null)");
	CHECK(gi.nlabels == 3 && strcmp(gi.labels[0].key, "component") == 0 && strcmp(gi.labels[2].value, "\"q") == 0);

	/* an empty labelMap prints as {} (Go: labels set, none in it) */
	uint64_t nil = 0;
	add(&t, LABELS + 0x100, &nil, 8);
	struct goroutine_info empty = { 0 };
	go_read_labels(&r, LABELS + 0x100, &empty);
	CHECK(empty.labels_text && strcmp(empty.labels_text, "{}") == 0 && empty.nlabels == 0);

	/* an implausible map (B far too large) gives no labels rather than a long walk */
	unsigned char bad[48] = { 0 };
	bad[9] = 40;
	add(&t, HMAP + 0x1000, bad, sizeof(bad));
	uint64_t badp = HMAP + 0x1000;
	add(&t, LABELS + 0x200, &badp, 8);
	struct goroutine_info none = { 0 };
	go_read_labels(&r, LABELS + 0x200, &none);
	CHECK(!none.labels_text);
	/* unreadable labels pointer: nothing */
	go_read_labels(&r, 0xdead0000, &none);
	CHECK(!none.labels_text);

	go_cache_free(&r);
	memimage_free(&t.mem);
	snapshot_free(s);
}
