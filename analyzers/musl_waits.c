/* musl 1.2's waits, from its source (src/thread/pthread_mutex_timedlock.c,
 * pthread_mutex_trylock.c, pthread_cond_timedwait.c, pthread_rwlock_timedrdlock.c,
 * pthread_rwlock_timedwrlock.c, pthread_barrier_wait.c, sem_timedwait.c, pthread_join.c,
 * src/internal/pthread_impl.h), checked against Debian's musl 1.2.3 by the tests:
 * - a normal mutex's lock word is EBUSY while taken (| 0x80000000 with waiters): it records
 *   no owner; recursive, error-checking, robust and PI mutexes store the owner's TID (with
 *   the owner-died and waiters bits);
 * - an rwlock's word counts its readers, 0x7fffffff for a writer, and records neither;
 * - a private condvar's waiter sleeps on a record on its own stack (value 2), linked into
 *   the condvar's list; a process-shared one on the condvar's sequence word;
 * - a barrier's waiters sleep on an instance record on the first arriver's stack;
 * - a semaphore's waiters on its value word (-1 in 1.2.3, 0x80000000 from 1.2.4);
 * - pthread_join on the joined thread's detach_state, beside its tid. */
#include "analyzers/musl_waits.h"
#include "analyzers/describe.h"
#include "analyzers/waits.h"
#include "symbols/symbols.h"
#include "image/target.h"
#include "util/arch.h"
#include <string.h>

#define MUSL_FRAMES 10

/* musl's functions between a wait's syscall and the function that waits. */
static const char *const helpers[] = { "syscall_cp_c", "syscall_cp_asm", "syscall_cp", "sccp",
	"timedwait_cp", "timedwait", "wait", "futexwait", "futex4_cp", "futex4", NULL };

static const struct {
	const char *name;
	enum musl_fn fn;
} waiters[] = {
	{ "pthread_mutex_timedlock", MUSL_FN_MUTEX }, { "pthread_mutex_lock", MUSL_FN_MUTEX },
	{ "pthread_mutex_clocklock", MUSL_FN_MUTEX }, { "mtx_lock", MUSL_FN_MUTEX },
	{ "mtx_timedlock", MUSL_FN_MUTEX },
	{ "pthread_cond_timedwait", MUSL_FN_COND }, { "pthread_cond_wait", MUSL_FN_COND },
	{ "pthread_cond_clockwait", MUSL_FN_COND }, { "cnd_wait", MUSL_FN_COND },
	{ "cnd_timedwait", MUSL_FN_COND },
	{ "pthread_rwlock_timedrdlock", MUSL_FN_RDLOCK }, { "pthread_rwlock_rdlock", MUSL_FN_RDLOCK },
	{ "pthread_rwlock_clockrdlock", MUSL_FN_RDLOCK },
	{ "pthread_rwlock_timedwrlock", MUSL_FN_WRLOCK }, { "pthread_rwlock_wrlock", MUSL_FN_WRLOCK },
	{ "pthread_rwlock_clockwrlock", MUSL_FN_WRLOCK },
	{ "pthread_barrier_wait", MUSL_FN_BARRIER },
	{ "sem_timedwait", MUSL_FN_SEM }, { "sem_wait", MUSL_FN_SEM }, { "sem_clockwait", MUSL_FN_SEM },
	{ "pthread_join", MUSL_FN_JOIN }, { "pthread_timedjoin_np", MUSL_FN_JOIN },
	{ "pthread_clockjoin_np", MUSL_FN_JOIN }, { "thrd_join", MUSL_FN_JOIN },
};

static bool is_helper(const char *fn)
{
	for (const char *const *h = helpers; *h; h++)
		if (strcmp(fn, *h) == 0)
			return true;
	return false;
}

enum musl_fn musl_wait_function(const struct task *t)
{
	if (!t->syms)
		return MUSL_FN_NONE;
	char buf[128];
	for (int i = 0; i < t->npcs && i < MUSL_FRAMES; i++) {
		const struct pcsym *ps = t->syms[i];
		for (int k = 0; ps && k < ps->nframes; k++) {
			/* unnamed: an internal function of a libc with only .dynsym (Debian's
			 * libc.so names none of __timedwait_cp, __syscall_cp_c) */
			if (!ps->frames[k].function)
				continue;
			const char *fn = describe_plain_function(ps->frames[k].function, buf, sizeof(buf));
			if (is_helper(fn))
				continue;
			for (size_t w = 0; w < sizeof(waiters) / sizeof(*waiters); w++)
				if (strcmp(fn, waiters[w].name) == 0)
					return waiters[w].fn;
			return MUSL_FN_NONE;	/* the first other function is not one of them */
		}
	}
	return MUSL_FN_NONE;
}

struct mctx {
	struct snapshot *s;
	struct task *t;
	struct wait *w;
	uint64_t uaddr;
	unsigned cmd;
	bool private_op;
	uint32_t val;
};

static bool rd32(const struct mctx *c, uint64_t addr, uint32_t *v)
{
	return c->s->target && target_read_u32(c->s->target, addr, v);
}

static void set_object(struct mctx *c, enum wait_kind kind, uint64_t base)
{
	c->w->kind = kind;
	c->w->address = base;
	char *name = c->s->symbolizer ? (char *)symbolizer_data_name(c->s->symbolizer, base, &c->s->arena) : NULL;
	char *inner = name ? strstr(name, ".__") : NULL;	/* lock_a, not lock_a.__u */
	if (inner && inner != name)
		*inner = 0;
	c->w->symbol = name;
}

static bool waiting_op(const struct mctx *c)
{
	return c->cmd == FUTEX_OP_WAIT || c->cmd == FUTEX_OP_WAIT_BITSET;
}

static bool decode_mutex(struct mctx *c)
{
	uint64_t base = c->uaddr - MUSL_MUTEX_LOCK;
	uint32_t type, lock, count;
	bool pi = c->cmd == FUTEX_OP_LOCK_PI || c->cmd == FUTEX_OP_LOCK_PI2;
	if ((base & 3) || (!waiting_op(c) && !pi) || !rd32(c, base + MUSL_MUTEX_TYPE, &type) ||
	    !rd32(c, base + MUSL_MUTEX_LOCK, &lock) || !rd32(c, base + MUSL_MUTEX_COUNT, &count))
		return false;
	if ((type & ~(uint32_t)(MUSL_MUTEX_TYPE_KIND | MUSL_MUTEX_ROBUST | MUSL_MUTEX_PI | MUSL_MUTEX_SHARED)) ||
	    (type & MUSL_MUTEX_TYPE_KIND) == 3 || pi != !!(type & MUSL_MUTEX_PI))
		return false;
	static const char *const kinds[] = { "normal", "recursive", "error-checking" };
	const char *kind = kinds[type & MUSL_MUTEX_TYPE_KIND];
	const char *rob = type & MUSL_MUTEX_ROBUST ? "robust " : "";
	const char *proto = pi ? "priority-inheritance " : "";
	if ((type & 15) == 0) {
		/* pthread_mutex_timedlock sleeps on the word it saw, EBUSY with the waiters bit */
		if ((c->val & ~MUSL_WAITERS_BIT) != MUSL_EBUSY)
			return false;
		set_object(c, WAIT_MUTEX, base);
		c->w->holder_inferable = true;
		c->w->detail = "a musl normal mutex, whose lock word holds EBUSY while taken: the owner is "
			       "not recorded";
		return true;
	}
	/* the owner's TID, as the word holds it now (the frozen image) or as the waiter saw it */
	uint32_t word = (lock & MUSL_TID_MASK) ? lock : c->val;
	pid_t owner = (pid_t)(word & MUSL_TID_MASK);
	if (!pi && !(c->val & MUSL_WAITERS_BIT))
		return false;
	set_object(c, WAIT_MUTEX, base);
	c->w->owner_tid = owner ? snapshot_tid_from_target(c->s, owner) : 0;
	c->w->owner_known = owner != 0;
	if (!owner && (word & MUSL_OWNER_DIED) && !(type & MUSL_MUTEX_ROBUST)) {
		/* pthread_exit released it so: lock word 0x40000000, which a non-robust mutex's
		 * trylock reads as taken for ever */
		c->w->owner_died = true;
		c->w->detail = arena_printf(&c->s->arena, "a musl %s%s mutex whose owner exited holding it: musl "
					    "left the owner-died bit and cleared the owner's TID, and a mutex that "
					    "is not robust is never free again", proto, kind);
	} else if (!owner)
		c->w->detail = "the mutex records no owner (it is being released or handed over)";
	else if ((type & MUSL_MUTEX_TYPE_KIND) == 1)
		c->w->detail = arena_printf(&c->s->arena, "a musl %s%srecursive mutex, locked %u time%s by its owner",
					    rob, proto, count + 1, count ? "s" : "");
	else
		c->w->detail = arena_printf(&c->s->arena, "a musl %s%s%s mutex%s", rob, proto, kind,
					    word & MUSL_OWNER_DIED ? "; its owner died holding it" : "");
	return true;
}

static bool decode_rwlock(struct mctx *c, bool writer)
{
	uint32_t lock, shared;
	if ((c->uaddr & 3) || !waiting_op(c) || !(c->val & MUSL_WAITERS_BIT) ||
	    !rd32(c, c->uaddr + MUSL_RW_LOCK, &lock) || !rd32(c, c->uaddr + MUSL_RW_SHARED, &shared) ||
	    (shared != 0 && shared != 128))
		return false;
	uint32_t held = c->val & ~MUSL_WAITERS_BIT;
	if (held == 0 || (!writer && held != MUSL_RW_WRITER))
		return false;	/* a reader waits only for a writer; anyone only while it is held */
	set_object(c, WAIT_RWLOCK, c->uaddr);
	c->w->holder_inferable = true;
	if (held == MUSL_RW_WRITER)
		c->w->detail = writer ? "wants to write; held by a writer, whom musl's rwlock does not record"
				      : "wants to read; held by a writer, whom musl's rwlock does not record";
	else
		c->w->detail = arena_printf(&c->s->arena, "wants to write; held by %u reader%s, whom musl's rwlock "
					    "does not record", held, held == 1 ? "" : "s");
	return true;
}

static bool decode_cond(struct mctx *c)
{
	uint64_t shared_flag;
	if (!waiting_op(c))
		return false;
	/* a process-shared condvar: _c_shared (-1) then its sequence word, slept on */
	if (!c->private_op && c->s->target && target_read_u64(c->s->target, c->uaddr - 8, &shared_flag) &&
	    shared_flag == ~0ull) {
		set_object(c, WAIT_CONDVAR, c->uaddr - 8);
		c->w->detail = "a process-shared musl condvar; nothing records who would signal it";
		return true;
	}
	uint32_t state;
	uint64_t node = c->uaddr - MUSL_COND_NODE_BARRIER, next;
	if (c->val != 2 || (c->uaddr & 3) || !rd32(c, node + MUSL_COND_NODE_STATE, &state) || state > 2)
		return false;
	/* its waiters' records form a list (next: the earlier waiters); its end is the record
	 * every waiter of this condvar reaches, which stands for the condvar */
	int n = 1;
	uint64_t last = node;
	while (n < 4096 && c->s->target && target_read_u64(c->s->target, last + 8, &next) && next) {
		last = next;
		n++;
	}
	c->w->kind = WAIT_CONDVAR;
	c->w->address = last;
	c->w->detail = arena_printf(&c->s->arena, "a musl condvar: the thread sleeps on its own waiter record "
				    "(at %#llx, on its stack), behind %d earlier waiter%s; the condvar itself, "
				    "and who would signal it, are not recorded there",
				    (unsigned long long)node, n - 1, n - 1 == 1 ? "" : "s");
	return true;
}

static bool decode_barrier(struct mctx *c)
{
	uint32_t count, word;
	if (!waiting_op(c) || (c->uaddr & 3) || !rd32(c, c->uaddr, &word))
		return false;
	uint64_t inst;
	if (c->val == 0 && c->private_op)
		inst = c->uaddr - MUSL_BARRIER_INST_LAST;	/* a later arriver */
	else if (c->val == 1)
		inst = c->uaddr - MUSL_BARRIER_INST_FINISHED;	/* the first arriver */
	else
		return false;
	if (word != c->val || !rd32(c, inst + MUSL_BARRIER_INST_COUNT, &count) || count > 1u << 20)
		return false;
	c->w->kind = WAIT_BARRIER;
	c->w->address = inst;
	c->w->detail = arena_printf(&c->s->arena, "a musl barrier that %u thread%s reached so far (counted on "
				    "the first arriver's stack at %#llx; the barrier's own count is not read)",
				    count + 1, count ? "s have" : " has", (unsigned long long)inst);
	return true;
}

static bool decode_sem(struct mctx *c)
{
	uint32_t waiters, priv;
	if (!waiting_op(c) || (c->uaddr & 3) || (c->val != 0xffffffffu && c->val != MUSL_WAITERS_BIT) ||
	    !rd32(c, c->uaddr + MUSL_SEM_WAITERS, &waiters) || !rd32(c, c->uaddr + MUSL_SEM_PRIVATE, &priv) ||
	    waiters == 0 || (priv != 0 && priv != 128))
		return false;
	set_object(c, WAIT_SEMAPHORE, c->uaddr);
	c->w->detail = arena_printf(&c->s->arena, "value 0, %u waiter%s; a semaphore records no owner", waiters,
				    waiters == 1 ? "" : "s");
	return true;
}

static bool decode_join(struct mctx *c)
{
	uint64_t th = c->uaddr - MUSL_PTHREAD_DETACH_STATE;
	uint32_t tid;
	if (!waiting_op(c) || (c->val != 1 && c->val != 2) || !rd32(c, th + MUSL_PTHREAD_TID, &tid) ||
	    !tid || tid > TID_MAX)
		return false;
	/* the joined thread's descriptor is its thread pointer (fs_base) */
	const struct task *joined = NULL;
	for (size_t i = 0; i < c->s->ntasks; i++)
		if (c->s->tasks[i].have_regs && c->s->tasks[i].regs.arch->id == ARCH_X86_64 &&
		    c->s->tasks[i].regs.x.fs_base == th)
			joined = &c->s->tasks[i];
	pid_t host = snapshot_tid_from_target(c->s, (pid_t)tid);
	if (!joined)
		joined = snapshot_find_task(c->s, host);
	c->w->kind = WAIT_JOIN;
	c->w->address = th;
	c->w->owner_tid = joined ? joined->tid : 0;
	c->w->owner_known = joined != NULL;
	if (!joined)
		c->w->detail = arena_printf(&c->s->arena, "joins thread %u, which is not in the process", tid);
	return true;
}

bool musl_wait(struct snapshot *s, struct task *t, struct wait *w)
{
	enum musl_fn fn = musl_wait_function(t);
	if (fn == MUSL_FN_NONE)
		return false;
	unsigned op = (unsigned)t->syscall_args[1];
	struct mctx c = { .s = s, .t = t, .w = w, .uaddr = t->syscall_args[0],
			  .cmd = op & ~(unsigned)(FUTEX_OP_PRIVATE | FUTEX_OP_CLOCK_REALTIME),
			  .private_op = op & FUTEX_OP_PRIVATE, .val = (uint32_t)t->syscall_args[2] };
	bool ok = false;
	enum wait_kind kind = WAIT_FUTEX;
	const char *type = "";
	switch (fn) {
	case MUSL_FN_MUTEX: ok = decode_mutex(&c); kind = WAIT_MUTEX; type = "mutex"; break;
	case MUSL_FN_COND: ok = decode_cond(&c); kind = WAIT_CONDVAR; type = "condvar"; break;
	case MUSL_FN_RDLOCK: ok = decode_rwlock(&c, false); kind = WAIT_RWLOCK; type = "rwlock"; break;
	case MUSL_FN_WRLOCK: ok = decode_rwlock(&c, true); kind = WAIT_RWLOCK; type = "rwlock"; break;
	case MUSL_FN_BARRIER: ok = decode_barrier(&c); kind = WAIT_BARRIER; type = "barrier"; break;
	case MUSL_FN_SEM: ok = decode_sem(&c); kind = WAIT_SEMAPHORE; type = "semaphore"; break;
	case MUSL_FN_JOIN: ok = decode_join(&c); kind = WAIT_JOIN; type = "pthread_join"; break;
	default: return false;
	}
	if (ok)
		return true;
	/* The function says which type, but the words do not fit musl 1.2's layout: keep the
	 * type, claim nothing else. */
	w->kind = kind;
	w->address = c.uaddr;
	w->owner_tid = 0;
	w->owner_known = false;
	w->detail = arena_printf(&s->arena, "its futex word at %#llx (value %#x slept on) does not match musl "
				 "1.2's %s layout, so its owner is not known", (unsigned long long)c.uaddr,
				 c.val, type);
	return true;
}
