/* A thread takes a mutex (and another the write side of an rwlock) and exits without
 * unlocking. The owner fields keep the dead TIDs; the waiters sleep forever. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "ready.h"

#define WAITERS 3

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static volatile int gone_mutex_tid, gone_rw_tid;

static void *leaver(void *arg)
{
	pthread_mutex_lock(&state_lock);
	gone_mutex_tid = (int)syscall(SYS_gettid);
	return arg;	/* exits holding state_lock */
}

static void *rw_leaver(void *arg)
{
	pthread_rwlock_wrlock(&table_lock);
	gone_rw_tid = (int)syscall(SYS_gettid);
	return arg;
}

__attribute__((noinline)) static void update_state(void)
{
	ready_arrive();
	pthread_mutex_lock(&state_lock);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void read_table(void)
{
	ready_arrive();
	pthread_rwlock_rdlock(&table_lock);
	__asm__ volatile("" ::: "memory");
}

static void *waiter(void *arg)
{
	pthread_setname_np(pthread_self(), "waiter");
	update_state();
	return arg;
}

static void *table_reader(void *arg)
{
	pthread_setname_np(pthread_self(), "table-reader");
	read_table();
	return arg;
}

int main(void)
{
	pthread_t l, lr, w[WAITERS], tr;
	pthread_create(&l, NULL, leaver, NULL);
	pthread_create(&lr, NULL, rw_leaver, NULL);
	pthread_join(l, NULL);
	pthread_join(lr, NULL);
	printf("GONE %d %d\n", gone_mutex_tid, gone_rw_tid);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&w[i], NULL, waiter, NULL);
	pthread_create(&tr, NULL, table_reader, NULL);
	ready_wait_and_announce(WAITERS + 1);
	pause();
	return 0;
}
