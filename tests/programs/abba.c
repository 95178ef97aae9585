/* Two threads take two mutexes in opposite orders: the classic AB-BA deadlock. A barrier
 * makes sure each holds its first lock before trying the second, so it always hangs. */
#include <pthread.h>
#include <stdio.h>
#include "ready.h"

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

__attribute__((noinline)) static void take_second(pthread_mutex_t *m)
{
	ready_arrive();
	pthread_mutex_lock(m);
	__asm__ volatile("" ::: "memory");	/* keep the call from becoming a tail call */
}

__attribute__((noinline)) static void transfer_ab(void)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold);
	take_second(&lock_b);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
}

__attribute__((noinline)) static void transfer_ba(void)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold);
	take_second(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
}

static void *worker_ab(void *arg)
{
	pthread_setname_np(pthread_self(), "worker-ab");
	transfer_ab();
	return arg;
}

static void *worker_ba(void *arg)
{
	pthread_setname_np(pthread_self(), "worker-ba");
	transfer_ba();
	return arg;
}

int main(void)
{
	pthread_t a, b;
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&a, NULL, worker_ab, NULL);
	pthread_create(&b, NULL, worker_ba, NULL);
	ready_wait_and_announce(2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 0;
}
