/* A cycle through an rwlock writer and a mutex: "indexer" write-locks index_lock and then
 * wants stats_lock; "reporter" holds stats_lock and wants to read index_lock. */
#include <pthread.h>
#include <stdio.h>
#include "ready.h"

pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

__attribute__((noinline)) static void update_stats(void)
{
	ready_arrive();
	pthread_mutex_lock(&stats_lock);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void read_index(void)
{
	ready_arrive();
	pthread_rwlock_rdlock(&index_lock);
	__asm__ volatile("" ::: "memory");
}

static void *indexer(void *arg)
{
	pthread_setname_np(pthread_self(), "indexer");
	pthread_rwlock_wrlock(&index_lock);
	pthread_barrier_wait(&both_hold);
	update_stats();
	return arg;
}

static void *reporter(void *arg)
{
	pthread_setname_np(pthread_self(), "reporter");
	pthread_mutex_lock(&stats_lock);
	pthread_barrier_wait(&both_hold);
	read_index();
	return arg;
}

int main(void)
{
	pthread_t a, b;
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&a, NULL, indexer, NULL);
	pthread_create(&b, NULL, reporter, NULL);
	ready_wait_and_announce(2);
	pause();
	return 0;
}
