/* The words a live second look re-reads (commands/second_look.c) for each goroutine a
 * finding can be about (one blocked on an object or an fd): read here from the frozen image,
 * read again from the running process later. Its g's trackingSeq counts every time it
 * stopped running (Go 1.19 on): unchanged, with the same status, wait reason, PC and SP,
 * it never ran in between, however busy the object (new waiters arriving at a hung mutex
 * change its state word, not the old waiters). Without that field, the object's state
 * words stand in: a goroutine that woke and parked again at the same place leaves them
 * changed (a mutex's waiter count, a channel's queue). */
#include "go/internal.h"
#include <string.h>

#define WATCH_MAX 12
#define G_SCAN 0x1000u		/* the GC's scan bit in atomicstatus, set while it scans */

void go_watch_add(struct goreader *r, struct task *t, uint64_t addr, unsigned size, uint64_t mask)
{
	struct goroutine_info *gi = (struct goroutine_info *)t->go;
	if (!gi || addr < 0x1000 || (gi->watch && gi->nwatch >= WATCH_MAX))
		return;
	unsigned char b[8] = { 0 };
	if (!go_read(r, addr, b, size))
		return;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	if (!gi->watch)
		gi->watch = ARENA_NEW(&r->s->arena, struct watch_word, WATCH_MAX);
	gi->watch[gi->nwatch++] = (struct watch_word){ addr, v & mask, mask, size };
}

void go_watch_waits(struct goreader *r)
{
	const struct go_layout *L = &r->L;
	for (size_t i = 0; i < r->ngs; i++) {
		struct task *t = &r->gs[i];
		const struct goroutine_info *gi = t->go;
		const struct go_object *o = gi ? gi->object : NULL;
		/* netpoll.c watched the fd's pollDesc already; a goroutine on a nil channel or in
		 * an empty select has no object but can be a chain's root: its g is watched */
		if (!gi || (!o && !gi->nwatch && !gi->object_op))
			continue;
		uint64_t g = gi->g;
		go_watch_add(r, t, g + L->g_status, 4, ~(uint64_t)G_SCAN);
		go_watch_add(r, t, g + L->g_waitreason, 1, 0xff);
		go_watch_add(r, t, g + L->g_sched_sp, 8, ~0ull);
		go_watch_add(r, t, g + L->g_sched_pc, 8, ~0ull);
		if (L->g_waiting != GO_NOFIELD)
			go_watch_add(r, t, g + L->g_waiting, 8, ~0ull);
		if (L->g_trackingseq != GO_NOFIELD) {
			go_watch_add(r, t, g + L->g_trackingseq, 1, 0xff);
			continue;
		}
		if (!o)
			continue;
		if (o->kind == WAIT_CHANNEL) {
			go_watch_add(r, t, o->address + L->hchan_qcount, 8, ~0ull);
			go_watch_add(r, t, o->address + L->hchan_recvq, 8, ~0ull);
			go_watch_add(r, t, o->address + L->hchan_sendq, 8, ~0ull);
			go_watch_add(r, t, o->address + L->hchan_closed, 4, ~0ull);
		} else {
			/* sync.Mutex {state, sema}, an RWMutex's inner Mutex, a WaitGroup's
			 * counters, a semaphore's count */
			go_watch_add(r, t, o->address, o->kind == WAIT_SEMAPHORE ? 4 : 8, ~0ull);
			if (o->kind == WAIT_RWLOCK && L->rw_readercount != GO_NOFIELD)
				go_watch_add(r, t, o->address + L->rw_readercount, 4, ~0ull);
		}
	}
}
