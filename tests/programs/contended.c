/* A busy, healthy program: twelve threads take turns on one mutex, each holding it for a
 * millisecond of sleep. At any instant eleven wait for the twelfth, which looks like a
 * blocking chain to a single snapshot; a moment later another holds it. Prints READY once
 * every thread has been round the loop once. */
#include <pthread.h>
#include <time.h>
#include "ready.h"

#define THREADS 12

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;

static void *turn_taker(void *a)
{
	int first = 1;
	for (;;) {
		pthread_mutex_lock(&busy);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		pthread_mutex_unlock(&busy);
		if (first)
			ready_arrive();
		first = 0;
	}
	return a;
}

int main(void)
{
	pthread_t t;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t, NULL, turn_taker, NULL);
	ready_wait_and_announce(THREADS);
	for (;;)
		pause();
}
