/* Which fd a goroutine in "IO wait" waits on. The runtime registers every fd with its epoll
 * instance under the fd's pollDesc (Go 1.19-1.20: the pointer itself; 1.21 on: a tagged
 * pointer, the pointer shifted left above a tag of the low bits of pd.fdseq: 19 tag bits
 * through 1.24, 18 from 1.26, whose addresses may use a 49th bit), and a
 * goroutine parked on the fd leaves its g's address in pd.rg (reading) or pd.wg (writing).
 * attach/ read the registrations from /proc before the freeze; the pollDescs are read here,
 * inside it. A registration is believed only when its pollDesc's own fd field names the
 * same fd (a pollDesc reused since for another fd fails it), and a goroutine only when its
 * g is in rg or wg: otherwise it keeps the plain "IO wait" with no fd. */
#include "go/internal.h"
#include <string.h>

/* pollDesc: link *pollDesc, fd uintptr, [fdseq uintptr,] atomicInfo uint32, rg, wg */
struct pd_layout {
	unsigned tag_bits;	/* 0: a plain pointer */
	unsigned fdseq, rg, wg;
};
static const struct pd_layout layouts[] = {
	{ 0, 0, 24, 32 },	/* 1.19, 1.20 */
	{ 19, 16, 32, 40 },	/* 1.21-1.24: 48 address bits + 3 alignment bits (runtime/tagptr_64bit.go) */
	{ 18, 16, 32, 40 },	/* 1.26 on: 49 address bits */
};

static uint64_t untag(uint64_t v, unsigned bits)
{
	return bits ? (uint64_t)((int64_t)v >> bits << 3) : v;
}

static void park(struct goreader *r, uint64_t slot, uint64_t gaddr, enum wait_kind kind, int fd)
{
	struct task *t = gaddr > 0xfff ? go_task_by_g(r, gaddr) : NULL;
	if (!t || !t->go || !t->go->status || strcmp(t->go->status, "IO wait") != 0 || t->wait)
		return;
	struct wait *w = ARENA_NEW(&r->s->arena, struct wait, 1);
	w->kind = kind;
	w->fd = fd;
	w->fd_file = fd;
	w->detail = "the runtime's netpoller";
	t->wait = w;
	/* while it waits there, the slot holds its g (a second look re-reads it) */
	go_watch_add(r, t, slot, 8, ~0ull);
}

void go_netpoll_waits(struct goreader *r)
{
	const struct snapshot *s = r->s;
	if (!s->nepoll_regs)
		return;
	bool any = false;
	for (size_t i = 0; i < r->ngs && !any; i++)
		any = r->gs[i].go && r->gs[i].go->status && strcmp(r->gs[i].go->status, "IO wait") == 0;
	if (!any)
		return;
	for (size_t i = 0; i < s->nepoll_regs; i++) {
		const struct epoll_reg *g = &s->epoll_regs[i];
		for (size_t k = 0; k < sizeof(layouts) / sizeof(*layouts); k++) {
			const struct pd_layout *L = &layouts[k];
			uint64_t pd = untag(g->data, L->tag_bits), tagmask = (1ull << L->tag_bits) - 1;
			unsigned char b[48];
			if (pd < 0x1000 || (pd & 7) || !go_read(r, pd, b, sizeof(b)) || go_le64(b + 8) != (uint64_t)g->fd)
				continue;
			/* the tag is pd.fdseq's low bits: a reused pollDesc fails it */
			if (L->tag_bits && (go_le64(b + L->fdseq) & tagmask) != (g->data & tagmask))
				continue;
			park(r, pd + L->rg, go_le64(b + L->rg), WAIT_READ, g->fd);
			park(r, pd + L->wg, go_le64(b + L->wg), WAIT_WRITE, g->fd);
			break;
		}
	}
}
