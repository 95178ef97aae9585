/* sync.Mutex / RWMutex / WaitGroup waiters. semacquire does not set g.waiting, so the
 * waiters come from runtime.semtable: 251 roots, each a treap of sudogs (prev/next are
 * the children) keyed by semaphore address, same-address waiters chained by waitlink.
 * A sudog's elem is the semaphore; the waiter's first sync.(*T) frame tells which object
 * holds it and where (Mutex.sema, RWMutex.writerSem/readerSem, WaitGroup.sema). */
#include "go/internal.h"
#include "util/xalloc.h"
#include <stdlib.h>
#include <string.h>

#define SEMTAB_SIZE 251
#define ROOT_TREAP 8		/* semaRoot{lock mutex; treap *sudog; nwait atomic.Uint32} */
#define RW_MAX_READERS (1 << 30)

enum sync_kind { SK_MUTEX, SK_RLOCK, SK_WLOCK, SK_WAITGROUP, SK_OTHER };

struct obj_memo {
	struct go_object **v;
	size_t n, cap;
};

static enum sync_kind kind_of(const struct task *t)
{
	for (int i = 0; i < t->npcs; i++) {
		const struct pcsym *ps = t->syms ? t->syms[i] : NULL;
		const char *f = ps && ps->nframes ? ps->frames[0].function : NULL;
		if (!f || strncmp(f, "sync.(*", 7) != 0)
			continue;
		if (strncmp(f, "sync.(*Mutex).", 14) == 0)
			return SK_MUTEX;
		if (strcmp(f, "sync.(*RWMutex).RLock") == 0)
			return SK_RLOCK;
		if (strncmp(f, "sync.(*RWMutex).", 16) == 0)
			return SK_WLOCK;
		if (strncmp(f, "sync.(*WaitGroup).", 18) == 0)
			return SK_WAITGROUP;
		return SK_OTHER;
	}
	return SK_OTHER;
}

static void describe(struct goreader *r, struct go_object *o, enum sync_kind k)
{
	const struct go_layout *L = &r->L;
	struct arena *a = &r->s->arena;
	uint32_t st = 0;
	switch (k) {
	case SK_MUTEX:
		if (!go_u32(r, o->address + L->mutex_state, &st))
			return;
		o->locked = st & 1;
		o->state = arena_printf(a, "%s%s%s, %u waiter%s (state %#x)", st & 1 ? "locked" : "unlocked",
					st & 2 ? ", woken" : "", st & 4 ? ", starving" : "", st >> 3,
					st >> 3 == 1 ? "" : "s", st);
		break;
	case SK_RLOCK:
	case SK_WLOCK: {
		uint32_t rc = 0, rw = 0;
		if (!go_u32(r, o->address + L->rw_w + L->mutex_state, &st) ||
		    !go_u32(r, o->address + L->rw_readercount, &rc) || !go_u32(r, o->address + L->rw_readerwait, &rw))
			return;
		int32_t count = (int32_t)rc, wait = (int32_t)rw;
		o->locked = count != 0 || (st & 1);
		if (count < 0) {
			int64_t inside = (int64_t)count + RW_MAX_READERS;
			o->state = arena_printf(a, "a writer is waiting for %d active reader%s to leave; %lld reader%s "
						"queued behind it (readerCount %d, readerWait %d)", wait,
						wait == 1 ? "" : "s", (long long)(inside - wait),
						inside - wait == 1 ? "" : "s", count, wait);
		} else {
			o->state = arena_printf(a, "%d active reader%s%s (readerCount %d, writer lock state %#x)", count,
						count == 1 ? "" : "s", st & 1 ? ", write-locked" : "", count, st);
		}
		break;
	}
	case SK_WAITGROUP: {
		uint64_t v = 0;
		if (!go_u64(r, o->address + L->wg_state, &v))
			return;
		o->locked = (v >> 32) != 0;
		o->state = arena_printf(a, "counter %u, %u waiter%s", (uint32_t)(v >> 32), (uint32_t)v,
					(uint32_t)v == 1 ? "" : "s");
		break;
	}
	case SK_OTHER:
		if (go_u32(r, o->address, &st))
			o->state = arena_printf(a, "semaphore count %u", st);
		break;
	}
}

static struct go_object *object_for(struct goreader *r, struct obj_memo *m, uint64_t sema, enum sync_kind k)
{
	const struct go_layout *L = &r->L;
	static const char *const types[] = { "sync.Mutex", "sync.RWMutex", "sync.RWMutex", "sync.WaitGroup", "semaphore" };
	static const enum wait_kind kinds[] = { WAIT_MUTEX, WAIT_RWLOCK, WAIT_RWLOCK, WAIT_JOIN, WAIT_SEMAPHORE };
	uint64_t off = k == SK_MUTEX ? L->mutex_sema : k == SK_RLOCK ? L->rw_readersem
					: k == SK_WLOCK ? L->rw_writersem : k == SK_WAITGROUP ? L->wg_sema : 0;
	uint64_t addr = sema >= off ? sema - off : sema;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->address == addr && m->v[i]->kind == kinds[k])
			return m->v[i];
	struct go_object *o = ARENA_NEW(&r->s->arena, struct go_object, 1);
	o->kind = kinds[k];
	o->type = types[k];
	o->address = addr;
	o->symbol = go_data_name(r, addr);
	describe(r, o, k);
	VEC_RESERVE(m->v, m->cap, m->n + 1);
	m->v[m->n++] = o;
	return o;
}

static void waiter(struct goreader *r, struct obj_memo *m, uint64_t sg)
{
	const struct go_layout *L = &r->L;
	uint64_t g = 0, elem = 0;
	if (!go_u64(r, sg + L->sudog_g, &g) || !go_u64(r, sg + L->sudog_elem, &elem) || !elem)
		return;
	struct task *t = go_task_by_g(r, g);
	if (!t || t->go->object)
		return;
	enum sync_kind k = kind_of(t);
	struct go_object *o = object_for(r, m, elem, k);
	o->sema_waiters++;
	static const char *const ops[] = { "locking", "read-locking", "write-locking", "waiting on", "acquiring" };
	struct goroutine_info *gi = (struct goroutine_info *)t->go;
	gi->object = o;
	gi->object_op = ops[k];
	struct wait *w = ARENA_NEW(&r->s->arena, struct wait, 1);
	w->kind = o->kind;
	w->fd = -1;
	w->address = o->address;
	w->symbol = o->symbol;
	w->detail = o->state;
	t->wait = w;
}

void go_sema_waits(struct goreader *r)
{
	const struct go_layout *L = &r->L;
	if (!r->semtable_addr || L->sudog_g == GO_NOFIELD || L->sudog_elem == GO_NOFIELD ||
	    L->sudog_prev == GO_NOFIELD || L->sudog_next == GO_NOFIELD || L->sudog_waitlink == GO_NOFIELD)
		return;
	size_t limit = r->ngs + 64, visited = 0;
	uint64_t *stack = xmalloc(sizeof(uint64_t) * (limit + 2));
	struct obj_memo m = { 0 };
	for (int i = 0; i < SEMTAB_SIZE && visited < limit; i++) {
		uint64_t treap = 0;
		if (!go_u64(r, r->semtable_addr + (uint64_t)i * r->semtab_stride + ROOT_TREAP, &treap) || !treap)
			continue;
		size_t sp = 0;
		stack[sp++] = treap;
		while (sp && visited < limit) {
			uint64_t node = stack[--sp];
			/* same-address waiters hang off waitlink */
			for (uint64_t w = node; w && visited < limit;) {
				waiter(r, &m, w);
				visited++;
				if (!go_u64(r, w + L->sudog_waitlink, &w))
					break;
			}
			uint64_t kids[2] = { 0, 0 };
			go_u64(r, node + L->sudog_prev, &kids[0]);
			go_u64(r, node + L->sudog_next, &kids[1]);
			for (int k = 0; k < 2; k++)
				if (kids[k] && sp < limit)
					stack[sp++] = kids[k];
		}
	}
	free(stack);
	free(m.v);
}
