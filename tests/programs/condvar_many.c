/* Many worker threads wait on one condition variable that is never signalled: a queue
 * whose producer is gone. Thread count from argv[1] (default 50). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "ready.h"

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty;
	int items;
} jobs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

__attribute__((noinline)) static int queue_pop(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	ready_arrive();
	while (q->items == 0)
		pthread_cond_wait(&q->not_empty, &q->mu);
	int v = --q->items;
	pthread_mutex_unlock(&q->mu);
	return v;
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "pool-worker");
	for (;;)
		queue_pop(&jobs);
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 64 * 1024);
		if (pthread_create(&t, &at, worker, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
		pthread_attr_destroy(&at);
	}
	ready_wait_and_announce(n);
	pause();
	return 0;
}
