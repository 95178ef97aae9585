/* Channel waits: a goroutine parked in chansend/chanrecv has g.waiting = its sudog, whose c
 * is the channel; in select, g.waiting lists one sudog per case through waitlink. Each
 * channel is read once: fill, capacity, closed, element type, and the lengths of its
 * send and receive queues. */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define MAX_SELECT_CASES 1024
#define NAMED_CHANNELS 64

struct chan_memo {
	struct go_object **v;
	size_t cap, n;
};

static int queue_len(struct goreader *r, uint64_t first)
{
	const struct go_layout *L = &r->L;
	int n = 0;
	/* a queue holds at most one sudog per goroutine */
	for (uint64_t sg = first; sg && (size_t)n <= r->ngs + 16; n++)
		if (!go_u64(r, sg + L->sudog_next, &sg))
			break;
	return n;
}

static struct go_object *read_chan(struct goreader *r, uint64_t c)
{
	const struct go_layout *L = &r->L;
	struct go_object *o = ARENA_NEW(&r->s->arena, struct go_object, 1);
	o->kind = WAIT_CHANNEL;
	o->address = c;
	uint64_t qcount = 0, cap = 0, et = 0, rq = 0, sq = 0;
	uint32_t closed = 0;
	go_u64(r, c + L->hchan_qcount, &qcount);
	go_u64(r, c + L->hchan_dataqsiz, &cap);
	go_u32(r, c + L->hchan_closed, &closed);
	go_u64(r, c + L->hchan_elemtype, &et);
	go_u64(r, c + L->hchan_recvq, &rq);
	go_u64(r, c + L->hchan_sendq, &sq);
	o->qcount = qcount;
	o->capacity = cap;
	o->closed = closed != 0;
	const char *en = go_type_name(r, et);
	o->type = arena_printf(&r->s->arena, "chan %s", en ? en : "?");
	o->senders = queue_len(r, sq);
	o->receivers = queue_len(r, rq);
	return o;
}

static uint64_t hash_addr(uint64_t a)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

static struct go_object *chan_at(struct goreader *r, struct chan_memo *m, uint64_t c)
{
	if (m->n * 2 >= m->cap) {
		struct go_object **old = m->v;
		size_t oc = m->cap;
		m->cap = oc ? oc * 2 : 256;
		m->v = xcalloc(m->cap, sizeof(*m->v));
		for (size_t i = 0; i < oc; i++) {
			if (!old[i])
				continue;
			size_t h = hash_addr(old[i]->address) & (m->cap - 1);
			while (m->v[h])
				h = (h + 1) & (m->cap - 1);
			m->v[h] = old[i];
		}
		free(old);
	}
	size_t h = hash_addr(c) & (m->cap - 1);
	while (m->v[h]) {
		if (m->v[h]->address == c)
			return m->v[h];
		h = (h + 1) & (m->cap - 1);
	}
	m->n++;
	return m->v[h] = read_chan(r, c);
}

/* The global variable holding channel c: its address (which code that uses the channel
 * loads, stripped or not) and its name ("main.logCh") from .symtab; stripped binaries would
 * only give a section offset, which names nothing for a reader. */
static void find_holder(struct goreader *r, const unsigned char *const *bufs, const struct go_section *const *secs,
			int nsecs, struct go_object *o)
{
	for (int k = 0; k < nsecs; k++) {
		if (!bufs[k])
			continue;
		for (uint64_t off = 0; off + 8 <= secs[k]->size; off += 8) {
			if (go_le64(bufs[k] + off) != o->address)
				continue;
			const char *n = r->elf.nobjs ? go_data_name(r, secs[k]->addr + off) : NULL;
			if (n && n[0] == '.')
				continue;
			o->holder = secs[k]->addr + off;
			o->symbol = n;
			return;
		}
	}
}

static int cmp_waiters(const void *a, const void *b)
{
	const struct go_object *x = *(struct go_object *const *)a, *y = *(struct go_object *const *)b;
	int wx = x->senders + x->receivers, wy = y->senders + y->receivers;
	return (wx < wy) - (wx > wy);
}

static void name_channels(struct goreader *r, struct chan_memo *m)
{
	if (!m->n)
		return;
	struct go_object **v = xmalloc(sizeof(*v) * m->n);
	size_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i])
			v[n++] = m->v[i];
	qsort(v, n, sizeof(*v), cmp_waiters);
	static const char *const names[] = { ".data", ".bss", ".noptrdata", ".noptrbss" };
	const struct go_section *secs[4];
	unsigned char *bufs[4] = { 0 };
	int ns = 0;
	for (int k = 0; k < 4; k++) {
		const struct go_section *sc = go_section(r, names[k]);
		if (!sc || !sc->addr || sc->size > (64u << 20))
			continue;
		secs[ns] = sc;
		bufs[ns] = xmalloc((size_t)sc->size + 1);
		if (!go_read(r, sc->addr, bufs[ns], (size_t)sc->size)) {
			free(bufs[ns]);
			bufs[ns] = NULL;
		}
		ns++;
	}
	for (size_t i = 0; i < n && i < NAMED_CHANNELS; i++)
		find_holder(r, (const unsigned char *const *)bufs, secs, ns, v[i]);
	for (int k = 0; k < ns; k++)
		free(bufs[k]);
	free(v);
}

static void set_wait(struct goreader *r, struct task *t, const struct go_object *o, const char *op)
{
	struct goroutine_info *gi = (struct goroutine_info *)t->go;
	struct wait *w = ARENA_NEW(&r->s->arena, struct wait, 1);
	w->kind = WAIT_CHANNEL;
	w->fd = -1;
	w->address = o ? o->address : 0;
	gi->object = o;
	gi->object_op = op;
	t->wait = w;
}

void go_chan_waits(struct goreader *r)
{
	const struct go_layout *L = &r->L;
	if (L->sudog_c == GO_NOFIELD || L->hchan_qcount == GO_NOFIELD || L->hchan_recvq == GO_NOFIELD ||
	    L->sudog_waitlink == GO_NOFIELD || L->g_waiting == GO_NOFIELD)
		return;
	struct chan_memo m = { 0 };
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *t = &r->gs[i];
		const char *why = t->go->wait_reason;
		if (!why)
			continue;
		bool send = strcmp(why, "chan send") == 0, recv = strcmp(why, "chan receive") == 0;
		bool sel = strcmp(why, "select") == 0;
		if (strcmp(why, "chan send (nil chan)") == 0 || strcmp(why, "chan receive (nil chan)") == 0) {
			set_wait(r, t, NULL, why[5] == 's' ? "sending on a nil channel" : "receiving from a nil channel");
			continue;
		}
		if (strcmp(why, "select (no cases)") == 0) {
			set_wait(r, t, NULL, "in select with no cases");
			continue;
		}
		if (!send && !recv && !sel)
			continue;
		uint64_t sg = 0;
		if (!go_u64(r, t->go->g + L->g_waiting, &sg) || !sg)
			continue;
		uint64_t c = 0;
		if (!go_u64(r, sg + L->sudog_c, &c) || !c)
			continue;
		struct go_object *o = chan_at(r, &m, c);
		if (!sel) {
			set_wait(r, t, o, send ? "sending on" : "receiving from");
			continue;
		}
		/* select: every case's channel gets counted; the goroutine is shown on the first */
		int cases = 1;
		uint64_t next = sg;
		while (cases < MAX_SELECT_CASES && go_u64(r, next + L->sudog_waitlink, &next) && next) {
			uint64_t cc;
			if (go_u64(r, next + L->sudog_c, &cc) && cc)
				chan_at(r, &m, cc);
			cases++;
		}
		set_wait(r, t, o, "selecting on");
	}
	name_channels(r, &m);
	/* names came last: give them (and the channel's facts) to every waiter */
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *t = &r->gs[i];
		const struct go_object *o = t->go->object;
		if (!o || o->kind != WAIT_CHANNEL || !t->wait)
			continue;
		t->wait->symbol = o->symbol;
		t->wait->detail = arena_printf(&r->s->arena, "%s, %llu/%llu buffered%s, %d sender%s and %d receiver%s waiting",
					       o->type, (unsigned long long)o->qcount, (unsigned long long)o->capacity,
					       o->closed ? ", closed" : "", o->senders, o->senders == 1 ? "" : "s",
					       o->receivers, o->receivers == 1 ? "" : "s");
	}
	free(m.v);
}
