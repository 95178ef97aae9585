/* N philosophers each take their left fork, then (once all hold one) their right: a ring
 * of N threads, each waiting for forks[i+1] held by the next. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "ready.h"

#define MAXN 64

pthread_mutex_t forks[MAXN];
static pthread_barrier_t all_hold;
static int n = 5;

__attribute__((noinline)) static void take_fork(int i)
{
	pthread_mutex_lock(&forks[i % n]);
	__asm__ volatile("" ::: "memory");
}

static void *philosopher(void *arg)
{
	int i = (int)(long)arg;
	char name[16];
	snprintf(name, sizeof(name), "philo-%d", i);
	pthread_setname_np(pthread_self(), name);
	take_fork(i);
	pthread_barrier_wait(&all_hold);
	ready_arrive();
	take_fork(i + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 2 || n > MAXN)
		return 2;
	pthread_t t[MAXN];
	pthread_barrier_init(&all_hold, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		pthread_mutex_init(&forks[i], NULL);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, philosopher, (void *)(long)i);
	ready_wait_and_announce(n);
	pause();
	return 0;
}
