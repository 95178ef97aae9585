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

/* The mutexes' type, from CHANG_TEST_MUTEX_TYPE: normal (the default; musl's lock word then
 * holds EBUSY and no owner), recursive, errorcheck or robust (whose words hold the owner's
 * TID); the musl tests build this program with musl-gcc. Set before main, and written below
 * it so that the lines the tests check stay where they are. */
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void set_mutex_type(void)
{
	const char *type = getenv("CHANG_TEST_MUTEX_TYPE");
	if (!type)
		return;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	if (strcmp(type, "recursive") == 0)
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	else if (strcmp(type, "errorcheck") == 0)
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	else if (strcmp(type, "robust") == 0)
		pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&lock_a, &ma);
	pthread_mutex_init(&lock_b, &ma);
}
