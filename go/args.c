/* A frame's argument words as Go's traceback prints them (runtime.printArgs): the compiler's
 * FUNCDATA_ArgInfo program lists each word's offset and size from the frame's argument
 * pointer, with markers for aggregates, "..." and offsets too large; a register argument's
 * spill slot that FUNCDATA_ArgLiveInfo (indexed by PCDATA_ArgLiveIndex at the PC) says is
 * dead there is printed with a "?", as its value may be stale. */
#include "go/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/xalloc.h"

#define FUNCDATA_ARGINFO 5
#define FUNCDATA_ARGLIVEINFO 6
#define PCDATA_ARGLIVEINDEX 3
#define ARGS_MAXLEN 171		/* abi.TraceArgsMaxLen: (5*3+2)*10+1 */
#define END_SEQ 0xff
#define START_AGG 0xfe
#define END_AGG 0xfd
#define DOTDOTDOT 0xfc
#define TOO_LARGE 0xfb

struct sbuf {
	char *p;
	size_t n, cap;
};

static void put(struct sbuf *b, const char *s)
{
	size_t l = strlen(s);
	if (b->n + l < b->cap) {
		memcpy(b->p + b->n, s, l + 1);
		b->n += l;
	}
}

/* What a PC's frame needs decoded once, whatever goroutine is there: the ArgInfo program
 * and which register-argument slots are dead at that PC. 100,000 goroutines share a few
 * PCs, and this is read inside the freeze. */
struct args_entry {
	uint64_t pc;
	bool used, ok, none;
	uint8_t start_off;
	uint64_t dead;		/* bit i: slot i is not live here */
	uint8_t len;
	uint8_t prog[ARGS_MAXLEN];
};

struct args_cache {
	struct args_entry *v;
	size_t cap, n;
};

static void decode_pc(struct goreader *r, uint64_t pc, struct args_entry *en)
{
	struct go_func f;
	en->ok = false;
	if (!go_findfunc(r, pc, &f))
		return;
	uint64_t info = go_funcdata(r, &f, FUNCDATA_ARGINFO);
	if (!info) {
		en->ok = en->none = true;
		return;
	}
	size_t plen = 0;
	while (plen < ARGS_MAXLEN && go_read(r, info + plen, en->prog + plen, 1)) {
		if (en->prog[plen++] == END_SEQ)
			break;
	}
	en->len = (uint8_t)plen;
	uint64_t live = go_funcdata(r, &f, FUNCDATA_ARGLIVEINFO);
	int32_t liveidx = go_pcdata(r, &f, PCDATA_ARGLIVEINDEX, pc);
	en->start_off = 0xff;
	en->dead = 0;
	if (live && !go_read(r, live, &en->start_off, 1))
		return;
	if (live && liveidx > 0) {
		unsigned char bits[8] = { 0 };
		for (int i = 0; i < 8; i++)
			if (!go_read(r, live + (uint64_t)liveidx + (uint64_t)i, &bits[i], 1))
				break;
		for (int slot = 0; slot < 64; slot++)
			if (!(bits[slot / 8] & (1u << (slot % 8))))
				en->dead |= 1ull << slot;
	}
	en->ok = true;
}

static const struct args_entry *entry_for(struct goreader *r, uint64_t pc)
{
	struct args_cache *c = r->argsc;
	if (!c) {
		c = r->argsc = xcalloc(1, sizeof(*c));
		c->cap = 256;
		c->v = xcalloc(c->cap, sizeof(*c->v));
	}
	if (c->n * 2 >= c->cap) {
		struct args_cache big = { xcalloc(c->cap * 2, sizeof(*c->v)), c->cap * 2, 0 };
		for (size_t i = 0; i < c->cap; i++)
			if (c->v[i].used) {
				size_t h = (size_t)(c->v[i].pc * 0x9e3779b97f4a7c15ull) & (big.cap - 1);
				while (big.v[h].used)
					h = (h + 1) & (big.cap - 1);
				big.v[h] = c->v[i];
				big.n++;
			}
		free(c->v);
		*c = big;
	}
	size_t h = (size_t)(pc * 0x9e3779b97f4a7c15ull) & (c->cap - 1);
	while (c->v[h].used && c->v[h].pc != pc)
		h = (h + 1) & (c->cap - 1);
	struct args_entry *en = &c->v[h];
	if (!en->used) {
		en->used = true;
		en->pc = pc;
		decode_pc(r, pc, en);
		c->n++;
	}
	return en;
}

void go_argscache_free(struct goreader *r)
{
	if (!r->argsc)
		return;
	free(r->argsc->v);
	free(r->argsc);
	r->argsc = NULL;
}

const char *go_args_text(struct goreader *r, uint64_t pc, uint64_t argp)
{
	const struct args_entry *en = entry_for(r, pc);
	if (!en->ok)
		return NULL;
	if (en->none)
		return "";
	const unsigned char *p = en->prog;
	size_t plen = en->len;
	uint8_t start_off = en->start_off;
	char out[1024];
	struct sbuf b = { out, 0, sizeof(out) };
	out[0] = 0;
	bool start = true;
	uint8_t slot = 0;
	for (size_t pi = 0; pi < plen;) {
		uint8_t o = p[pi++];
		if (o == END_SEQ)
			return arena_strdup(&r->s->arena, out);
		if (o == START_AGG) {
			if (!start)
				put(&b, ", ");
			put(&b, "{");
			start = true;
			continue;
		}
		if (o == END_AGG) {
			put(&b, "}");
		} else if (o == DOTDOTDOT) {
			if (!start)
				put(&b, ", ");
			put(&b, "...");
		} else if (o == TOO_LARGE) {
			if (!start)
				put(&b, ", ");
			put(&b, "_");
		} else {
			if (!start)
				put(&b, ", ");
			if (pi >= plen)
				return NULL;
			uint8_t sz = p[pi++];
			unsigned char w[8];
			if (!go_read(r, argp + o, w, sizeof(w)))
				return NULL;
			uint64_t x = go_le64(w);
			if (sz < 8)
				x = x << (64 - sz * 8) >> (64 - sz * 8);
			char num[24];
			snprintf(num, sizeof(num), "%#llx", (unsigned long long)x);
			put(&b, x ? num : "0x0");
			if (o >= start_off && slot < 64 && (en->dead >> slot) & 1)
				put(&b, "?");
			if (o >= start_off)
				slot++;
		}
		start = false;
	}
	return NULL;	/* no end marker within the longest program the compiler writes */
}
