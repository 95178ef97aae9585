/* musl's waits (1.2.x, as Debian's musl 1.2.3 and Alpine build it; the offsets below are
 * x86_64's, and only x86_64 targets are decoded), decoded only when the
 * target's C library is musl and the waiting function is musl's function for the type: its
 * objects are laid out otherwise than glibc's, and most record no owner. */
#ifndef CHANG_MUSL_WAITS_H
#define CHANG_MUSL_WAITS_H
#include "model/snapshot.h"

/* Offsets (x86_64) from src/internal/pthread_impl.h: the public types are unions of int
 * arrays (__u.__i[], __u.__p[]) whose members musl names with macros. */
#define MUSL_MUTEX_TYPE 0	/* _m_type = __i[0]: PTHREAD_MUTEX_* | 4 robust | 8 PI | 128 shared */
#define MUSL_MUTEX_LOCK 4	/* _m_lock = __i[1]: the futex word */
#define MUSL_MUTEX_WAITERS 8	/* _m_waiters = __i[2] */
#define MUSL_MUTEX_COUNT 20	/* _m_count = __i[5]: recursive locks beyond the first */
#define MUSL_MUTEX_TYPE_KIND 3	/* normal 0, recursive 1, errorcheck 2 */
#define MUSL_MUTEX_ROBUST 4
#define MUSL_MUTEX_PI 8
#define MUSL_MUTEX_SHARED 128
#define MUSL_EBUSY 16		/* a normal mutex's lock word while taken: no owner */
#define MUSL_WAITERS_BIT 0x80000000u
#define MUSL_OWNER_DIED 0x40000000u
#define MUSL_TID_MASK 0x3fffffffu
#define MUSL_RW_LOCK 0		/* _rw_lock: 0x7fffffff write-locked, else the readers */
#define MUSL_RW_WAITERS 4
#define MUSL_RW_SHARED 8	/* 0 or 128 */
#define MUSL_RW_WRITER 0x7fffffffu
#define MUSL_SEM_WAITERS 4	/* __val[1]; waiters sleep on __val[0] */
#define MUSL_SEM_PRIVATE 8	/* __val[2]: 128 private, 0 shared */
/* struct pthread (x86_64: TLS below the thread pointer, so fs_base is the struct):
 * self, dtv, prev, next, sysinfo, canary, then tid and errno_val, detach_state. */
#define MUSL_PTHREAD_TID 48
#define MUSL_PTHREAD_DETACH_STATE 56	/* pthread_join sleeps on it: DT_EXITING 1, DT_JOINABLE 2 */
/* pthread_cond_timedwait's waiter record, on the waiter's own stack: prev, next, state,
 * barrier (slept on, value 2), notify. */
#define MUSL_COND_NODE_STATE 16
#define MUSL_COND_NODE_BARRIER 20
/* pthread_barrier_wait's instance, on the stack of the first thread to arrive: count (of
 * the others arrived), last (slept on by the others), waiters, finished (slept on by the
 * first). */
#define MUSL_BARRIER_INST_COUNT 0
#define MUSL_BARRIER_INST_LAST 4
#define MUSL_BARRIER_INST_FINISHED 12

/* The wait a musl function makes, told by the first frame above musl's wait helpers. */
enum musl_fn {
	MUSL_FN_NONE, MUSL_FN_MUTEX, MUSL_FN_COND, MUSL_FN_RDLOCK, MUSL_FN_WRLOCK, MUSL_FN_BARRIER,
	MUSL_FN_SEM, MUSL_FN_JOIN
};
enum musl_fn musl_wait_function(const struct task *t);

/* Decode t's futex wait (s->libc is musl) into w: true when a musl wait function waits. */
bool musl_wait(struct snapshot *s, struct task *t, struct wait *w);
#endif
