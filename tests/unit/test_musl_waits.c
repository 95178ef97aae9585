/* musl's lock words, decoded by the waiting function on a musl target (analyzers/musl_waits.c):
 * words laid out as musl 1.2 keeps them, in a synthetic image, with the frames musl's functions
 * leave. A normal mutex's EBUSY is never an owner, TID-recording mutexes name theirs, a dead
 * owner's mutex is abandoned, and nothing is claimed without musl's function for the type or
 * on a target whose C library is glibc. */
#include "analyzers/analyze.h"
#include "analyzers/musl_waits.h"
#include "analyzers/waits.h"
#include "image/target.h"
#include "tests/unit/synthetic.h"
#include "tests/unit/unit.h"
#include "util/arch.h"
#include "util/xalloc.h"

#define BASE 0x600000ull
#define STACK 0x7ff000000000ull

static struct module libc_mod = { .name = "/lib/ld-musl-x86_64.so.1" };
static struct module app_mod = { .name = "/srv/app" };

static struct snapshot *new_snap(enum libc_kind libc)
{
	struct snapshot *s = snapshot_new(SOURCE_ATTACH);
	s->arch = &arch_x86_64;	/* the tasks below are x86_64's, whatever the host */
	s->tasks = ARENA_NEW(&s->arena, struct task, 32);
	s->target = xcalloc(1, sizeof(*s->target));
	s->libc = libc;
	return s;
}

static void free_snap(struct snapshot *s)
{
	target_close(s->target);
	snapshot_free(s);
}

static struct task *add_task(struct snapshot *s, pid_t tid, uint64_t uaddr, unsigned op, uint32_t val)
{
	struct task *t = &s->tasks[s->ntasks++];
	t->tid = tid;
	t->name = "t";
	t->kstate = 'S';
	t->syscall_nr = uaddr ? 202 : 34;
	t->syscall_args[0] = uaddr;
	t->syscall_args[1] = op;
	t->syscall_args[2] = val;
	t->have_regs = true;
	t->regs.arch = &arch_x86_64;
	t->regs.x.orig_rax = (unsigned long long)t->syscall_nr;
	t->regs.x.rax = (unsigned long long)-512;	/* -ERESTARTSYS: still in the call */
	t->regs.x.fs_base = STACK + (uint64_t)tid * 0x10000;
	return t;
}

/* Frames innermost first; names before "|" in libc, after it in the program. */
static void frames(struct snapshot *s, struct task *t, const char *const *names)
{
	set_named_stack(s, t, &libc_mod, &app_mod, names);
}

static void put(struct snapshot *s, uint64_t addr, const void *words, size_t len)
{
	unsigned char *b = xcalloc(1, len);
	memcpy(b, words, len);
	memimage_add_buf(&s->target->mem, addr, b, len);
}

static const char *const mutex_stack[] = { "__syscall_cp_c", "__timedwait_cp", "__timedwait",
	"__pthread_mutex_timedlock", "|", "take", NULL };

/* A pthread_mutex_t (40 bytes): _m_type, _m_lock, _m_waiters, ..., _m_count at 20. */
static struct task *mutex_waiter(struct snapshot *s, pid_t tid, uint64_t m, uint32_t type, uint32_t lock,
				 uint32_t count)
{
	uint32_t w[10] = { type, lock, 1, 0, 0, count };
	put(s, m, w, sizeof(w));
	struct task *t = add_task(s, tid, m + MUSL_MUTEX_LOCK, 128 /* FUTEX_WAIT_PRIVATE */, lock);
	frames(s, t, mutex_stack);
	return t;
}

static void mutexes(void)
{
	struct snapshot *s = new_snap(LIBC_MUSL);
	add_task(s, 100, 0, 0, 0);	/* the owner, in pause() */
	struct task *normal = mutex_waiter(s, 110, BASE, 0, MUSL_WAITERS_BIT | MUSL_EBUSY, 0);
	struct task *rec = mutex_waiter(s, 111, BASE + 0x40, 1, MUSL_WAITERS_BIT | 100, 2);
	struct task *errc = mutex_waiter(s, 112, BASE + 0x80, 2, MUSL_WAITERS_BIT | 100, 0);
	struct task *robust = mutex_waiter(s, 113, BASE + 0xc0, MUSL_MUTEX_ROBUST, MUSL_WAITERS_BIT | 113, 0);
	struct task *dead = mutex_waiter(s, 114, BASE + 0x100, 2, MUSL_WAITERS_BIT | MUSL_OWNER_DIED, 0);
	/* the same normal mutex with no musl function waiting: a bare futex */
	struct task *own = add_task(s, 115, BASE + 4, 128, MUSL_WAITERS_BIT | MUSL_EBUSY);
	frames(s, own, (const char *const[]){ "syscall", "|", "my_lock", NULL });
	/* musl's function, but a word no musl mutex holds: the type without an owner */
	struct task *odd = mutex_waiter(s, 116, BASE + 0x140, 0, 2, 0);
	analyze_snapshot(s, NULL);

	CHECKF(normal->wait->kind == WAIT_MUTEX && normal->wait->owner_tid == 0 && !normal->wait->owner_known &&
	       normal->wait->holder_inferable && normal->wait->address == BASE &&
	       strstr(normal->wait->detail, "not recorded"), "normal: %s owner %d", wait_kind_name(normal->wait->kind),
	       (int)normal->wait->owner_tid);
	CHECKF(rec->wait->kind == WAIT_MUTEX && rec->wait->owner_tid == 100 && rec->wait->owner_known &&
	       strstr(rec->wait->detail, "locked 3 times"), "recursive: owner %d %s", (int)rec->wait->owner_tid,
	       rec->wait->detail);
	CHECK(errc->wait->kind == WAIT_MUTEX && errc->wait->owner_tid == 100 && strstr(errc->wait->detail, "error-checking"));
	CHECK(robust->wait->owner_tid == 113 && strstr(robust->wait->detail, "robust"));
	CHECKF(dead->wait->kind == WAIT_MUTEX && dead->wait->owner_died && dead->wait->owner_tid == 0,
	       "dead owner: died %d owner %d", dead->wait->owner_died, (int)dead->wait->owner_tid);
	CHECK(own->wait->kind == WAIT_FUTEX && own->wait->owner_tid == 0);
	CHECKF(odd->wait->kind == WAIT_MUTEX && odd->wait->owner_tid == 0 && strstr(odd->wait->detail, "does not match"),
	       "odd: %s", odd->wait->detail);
	/* findings: the self-deadlock on the robust mutex and the abandoned one */
	int self = 0, abandoned = 0;
	for (size_t i = 0; i < s->nfindings; i++) {
		self += s->findings[i].kind == FINDING_SELF_DEADLOCK && s->findings[i].tids[0] == 113;
		abandoned += s->findings[i].kind == FINDING_ABANDONED_LOCK && s->findings[i].locks[0].address == BASE + 0x100;
	}
	CHECK(self == 1 && abandoned == 1);
	free_snap(s);
}

/* glibc's target with musl's words: no owner 16, no barrier. */
static void glibc_target(void)
{
	struct snapshot *s = new_snap(LIBC_GLIBC);
	struct task *t = mutex_waiter(s, 110, BASE, 0, MUSL_WAITERS_BIT | MUSL_EBUSY, 0);
	analyze_snapshot(s, NULL);
	CHECKF(t->wait->owner_tid != MUSL_EBUSY && t->wait->kind != WAIT_BARRIER, "glibc: %s owner %d",
	       wait_kind_name(t->wait->kind), (int)t->wait->owner_tid);
	free_snap(s);
}

static void others(void)
{
	struct snapshot *s = new_snap(LIBC_MUSL);
	struct task *joined = add_task(s, 101, 0, 0, 0);
	/* rwlocks: write-locked (0x7fffffff) and read by 2 */
	uint32_t rw_w[14] = { MUSL_WAITERS_BIT | MUSL_RW_WRITER, 1, 128 };
	uint32_t rw_r[14] = { MUSL_WAITERS_BIT | 2, 1, 128 };
	put(s, BASE, rw_w, sizeof(rw_w));
	put(s, BASE + 0x40, rw_r, sizeof(rw_r));
	struct task *rd = add_task(s, 120, BASE, 128, MUSL_WAITERS_BIT | MUSL_RW_WRITER);
	frames(s, rd, (const char *const[]){ "__syscall_cp_c", "__timedwait_cp", "__timedwait",
		"__pthread_rwlock_timedrdlock", "|", "reader", NULL });
	struct task *wr = add_task(s, 121, BASE + 0x40, 128, MUSL_WAITERS_BIT | 2);
	frames(s, wr, (const char *const[]){ "__syscall_cp_c", "__timedwait_cp", "__timedwait",
		"__pthread_rwlock_timedwrlock", "|", "writer", NULL });
	/* a reader never waits on a word held by readers */
	struct task *rd_bad = add_task(s, 122, BASE + 0x40, 128, MUSL_WAITERS_BIT | 2);
	frames(s, rd_bad, (const char *const[]){ "__timedwait", "pthread_rwlock_rdlock", "|", "reader", NULL });
	/* a semaphore of value 0 with 1 waiter, private (1.2.3 sleeps on -1) */
	uint32_t sem[8] = { 0xffffffffu, 1, 128 };
	put(s, BASE + 0x80, sem, sizeof(sem));
	struct task *sw = add_task(s, 123, BASE + 0x80, 128, 0xffffffffu);
	frames(s, sw, (const char *const[]){ "__syscall_cp_c", "__timedwait_cp", "sem_timedwait", "|", "get", NULL });
	/* pthread_join of thread 101: its descriptor (fs_base) holds tid and detach_state */
	uint32_t desc[16] = { 0 };
	desc[MUSL_PTHREAD_TID / 4] = 101;
	desc[MUSL_PTHREAD_DETACH_STATE / 4] = 2;
	put(s, joined->regs.x.fs_base, desc, sizeof(desc));
	struct task *jw = add_task(s, 124, joined->regs.x.fs_base + MUSL_PTHREAD_DETACH_STATE, 0, 2);
	frames(s, jw, (const char *const[]){ "__syscall_cp_c", "__timedwait_cp", "__pthread_timedjoin_np", "|",
		"main", NULL });
	/* a condvar waiter's record on its stack: prev, next, state 0, barrier 2 */
	uint64_t node = STACK + 0x100;
	uint32_t rec[8] = { 0, 0, 0, 0, 0, 2 };
	put(s, node, rec, sizeof(rec));
	struct task *cw = add_task(s, 125, node + MUSL_COND_NODE_BARRIER, 128, 2);
	frames(s, cw, (const char *const[]){ "__syscall_cp_c", "__timedwait_cp", "__pthread_cond_timedwait",
		"|", "consume", NULL });
	/* a barrier instance on the first arriver's stack: count 1 (one more arrived) */
	uint64_t inst = STACK + 0x200;
	uint32_t in[4] = { 1, 0, 1, 1 };
	put(s, inst, in, sizeof(in));
	struct task *bw = add_task(s, 126, inst + MUSL_BARRIER_INST_LAST, 128, 0);
	frames(s, bw, (const char *const[]){ "__wait", "pthread_barrier_wait", "|", "phase", NULL });
	struct task *bf = add_task(s, 127, inst + MUSL_BARRIER_INST_FINISHED, 0, 1);
	frames(s, bf, (const char *const[]){ "pthread_barrier_wait", "|", "phase", NULL });
	analyze_snapshot(s, NULL);

	CHECK(rd->wait->kind == WAIT_RWLOCK && rd->wait->owner_tid == 0 && strstr(rd->wait->detail, "wants to read"));
	CHECK(wr->wait->kind == WAIT_RWLOCK && strstr(wr->wait->detail, "2 readers"));
	CHECK(rd_bad->wait->kind == WAIT_RWLOCK && strstr(rd_bad->wait->detail, "does not match"));
	CHECK(sw->wait->kind == WAIT_SEMAPHORE && sw->wait->address == BASE + 0x80 && strstr(sw->wait->detail, "1 waiter"));
	CHECKF(jw->wait->kind == WAIT_JOIN && jw->wait->owner_tid == 101 && jw->wait->owner_known, "join: %s %d",
	       wait_kind_name(jw->wait->kind), (int)jw->wait->owner_tid);
	CHECK(cw->wait->kind == WAIT_CONDVAR && cw->wait->owner_tid == 0);
	CHECKF(bw->wait->kind == WAIT_BARRIER && bf->wait->kind == WAIT_BARRIER && bw->wait->address == inst &&
	       bf->wait->address == inst && strstr(bw->wait->detail, "2 threads"), "barrier: %s / %s",
	       bw->wait->detail, bf->wait->detail);
	free_snap(s);
}

static void wait_function(void)
{
	struct snapshot *s = new_snap(LIBC_MUSL);
	struct task *t = add_task(s, 130, BASE, 128, 0);
	/* unnamed internal frames (a libc.so with only .dynsym) are passed over */
	frames(s, t, (const char *const[]){ "__syscall_cp_c", "|", "f", NULL });
	CHECK(musl_wait_function(t) == MUSL_FN_NONE);
	struct task *u = add_task(s, 131, BASE, 128, 0);
	frames(s, u, (const char *const[]){ "__timedwait", "pthread_mutex_lock", "__pthread_cond_timedwait", NULL });
	CHECK(musl_wait_function(u) == MUSL_FN_MUTEX);	/* relocking after the wait */
	free_snap(s);
}

static void unit_tests(void)
{
	mutexes();
	glibc_target();
	others();
	wait_function();
}
