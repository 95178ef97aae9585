/* AB-BA between two threads, with a tail: three more threads queue on lock_a behind the
 * cycle. chang must report the one cycle once, with the tail as waiters, not as cycles. */
#include <pthread.h>
#include <stdio.h>
#include "ready.h"

#define TAIL 3

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

__attribute__((noinline)) static void lock_second(pthread_mutex_t *m)
{
	ready_arrive();
	pthread_mutex_lock(m);
	__asm__ volatile("" ::: "memory");
}

static void *ab(void *arg)
{
	pthread_setname_np(pthread_self(), "ab");
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold);
	lock_second(&lock_b);
	return arg;
}

static void *ba(void *arg)
{
	pthread_setname_np(pthread_self(), "ba");
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold);
	lock_second(&lock_a);
	return arg;
}

static void *tail(void *arg)
{
	pthread_setname_np(pthread_self(), "tail");
	lock_second(&lock_a);
	return arg;
}

int main(void)
{
	pthread_t a, b, t[TAIL];
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_create(&a, NULL, ab, NULL);
	pthread_create(&b, NULL, ba, NULL);
	/* The tail starts once lock_a is surely taken by "ab". */
	pthread_mutex_lock(&ready_mu);
	while (ready_count < 2)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	for (int i = 0; i < TAIL; i++)
		pthread_create(&t[i], NULL, tail, NULL);
	ready_wait_and_announce(2 + TAIL);
	pause();
	return 0;
}
