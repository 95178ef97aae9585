/* What one task waits on, decoded from facts that hold without debug info: the syscall and
 * its arguments (registers or /proc/N/task/T/syscall), the lock words in the frozen memory,
 * and owner TIDs. Frame names only break ties between lock types sharing a futex shape. */
#ifndef CHANG_WAITS_H
#define CHANG_WAITS_H
#include "model/snapshot.h"

/* glibc 2.36 x86_64 layouts (offsets inside each object); tests/unit/test_glibc_waits.c
 * checks every one of them against the glibc the tests run on. */
#define GLIBC_MUTEX_LOCK 0		/* futex word: 0 free, 1 locked, 2 contended */
#define GLIBC_MUTEX_COUNT 4		/* recursion depth */
#define GLIBC_MUTEX_OWNER 8		/* TID of the holder */
#define GLIBC_MUTEX_KIND 16
#define GLIBC_MUTEX_KIND_TYPE 3		/* normal, recursive, errorcheck, adaptive */
#define GLIBC_MUTEX_KIND_ROBUST 16
#define GLIBC_MUTEX_KIND_PI 32
#define GLIBC_MUTEX_KIND_PP 64
#define GLIBC_MUTEX_KIND_PSHARED 128
#define GLIBC_MUTEX_KIND_VALID 0x3f3u	/* every bit glibc sets in __kind */
#define GLIBC_RW_READERS 0
#define GLIBC_RW_WRPHASE_FUTEX 8
#define GLIBC_RW_WRITERS_FUTEX 12
#define GLIBC_RW_PAD3 16
#define GLIBC_RW_CUR_WRITER 24
#define GLIBC_RW_SHARED 28
#define GLIBC_RW_PAD2 40
#define GLIBC_RW_FLAGS 48
#define GLIBC_RW_RWAITING 4		/* __readers bit: readers wait on __readers itself */
#define GLIBC_RW_FUTEX_USED 2		/* set in a writer futex word that has sleepers */
#define GLIBC_COND_WREFS 36		/* waiters << 3 */
#define GLIBC_COND_G_SIGNALS 40		/* two words: __g_signals[0], [1] */
#define GLIBC_SEM_NWAITERS 4		/* high half of the 64-bit value word */
#define GLIBC_SEM_PRIVATE 8
#define GLIBC_BARRIER_ROUND 4		/* waiters sleep on current_round */
#define GLIBC_BARRIER_COUNT 8
#define GLIBC_BARRIER_SHARED 12
/* struct pthread.tid, which pthread_join sleeps on: after x86_64's tcbhead_t (with its
 * saved SSE registers) 0x2d0; after aarch64's 24-word header 0xd0 (glibc 2.36: measured,
 * the tid field of pthread_self()'s descriptor under qemu-aarch64). */
#define GLIBC_PTHREAD_TID 0x2d0
#define GLIBC_PTHREAD_TID_AARCH64 0xd0
#define GLIBC_IO_LOCK_CNT 4		/* _IO_lock_t: recursion count */
#define GLIBC_IO_LOCK_OWNER 8		/* _IO_lock_t: the holder's struct pthread (its fs_base) */

/* No TID exceeds the kernel's PID_MAX_LIMIT on 64-bit: a larger "owner" is not one. */
#define TID_MAX 4194304

#define FUTEX_OP_WAIT 0
#define FUTEX_OP_LOCK_PI 6
#define FUTEX_OP_WAIT_BITSET 9
#define FUTEX_OP_WAIT_REQUEUE_PI 11
#define FUTEX_OP_LOCK_PI2 13
#define FUTEX_OP_PRIVATE 128
#define FUTEX_OP_CLOCK_REALTIME 256
#define FUTEX_WORD_WAITERS 0x80000000u
#define FUTEX_WORD_OWNER_DIED 0x40000000u
#define FUTEX_WORD_TID_MASK 0x3fffffffu

/* Set t->state and t->wait (arena-allocated, NULL when the task waits on nothing). */
void wait_decode_task(struct snapshot *s, struct task *t);
/* A wait on fd w->fd that go/ set (a goroutine in the netpoller): what the fd is, from the
 * live target's fd table (fd_target, fd_file); nothing when unknown. */
void wait_describe_fd(struct snapshot *s, struct wait *w);
#endif
