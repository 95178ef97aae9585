/* Threads are born and die all the time while others sleep: attach must cope with
 * threads that appear or exit during the freeze. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "ready.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *sleeper(void *arg)
{
	pthread_mutex_lock(&mu);
	ready_arrive();
	for (;;)
		pthread_cond_wait(&never, &mu);
	return arg;
}

static void *short_lived(void *arg)
{
	volatile int x = 0;
	for (int i = 0; i < 1000; i++)
		x += i;
	return arg;
}

static void *spawner(void *arg)
{
	ready_arrive();
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, NULL) == 0)
			pthread_join(t, NULL);
	}
	return arg;
}

int main(void)
{
	pthread_t t;
	for (int i = 0; i < 8; i++)
		pthread_create(&t, NULL, sleeper, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, spawner, NULL);
	ready_wait_and_announce(10);
	for (;;)
		pause();
}
