/* A busy, healthy program: threads that spin, threads that sleep and wake, a producer and
 * a consumer handing work over a condvar. chang watch must not call this a hang. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "ready.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int items;

static void *spinner(void *a)
{
	ready_arrive();
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return a;
}

static void *napper(void *a)
{
	ready_arrive();
	struct timespec ts = { 0, 50 * 1000000 };
	for (;;)
		nanosleep(&ts, NULL);
	return a;
}

static void *producer(void *a)
{
	ready_arrive();
	struct timespec ts = { 0, 20 * 1000000 };
	for (;;) {
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&mu);
		items++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
	return a;
}

static void *consumer(void *a)
{
	ready_arrive();
	for (;;) {
		pthread_mutex_lock(&mu);
		while (items == 0)
			pthread_cond_wait(&cv, &mu);
		items--;
		pthread_mutex_unlock(&mu);
	}
	return a;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, napper, NULL);
	pthread_create(&t, NULL, producer, NULL);
	pthread_create(&t, NULL, consumer, NULL);
	ready_wait_and_announce(6);
	for (;;)
		pause();
}
