/* A bounded queue whose only consumer died: it took a few jobs and exited. Hundreds of
 * producers now wait on jobs.not_full, which nobody will ever signal. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "ready.h"

#define CAP 8

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_full;
	pthread_cond_t not_empty;
	int items[CAP];
	int head, count;
};

struct queue jobs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
		      PTHREAD_COND_INITIALIZER, { 0 }, 0, 0 };
static int producers = 300;

__attribute__((noinline)) static void queue_put(struct queue *q, int v)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == CAP) {
		ready_arrive();
		pthread_cond_wait(&q->not_full, &q->lock);
	}
	q->items[(q->head + q->count++) % CAP] = v;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

__attribute__((noinline)) static int queue_get(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0)
		pthread_cond_wait(&q->not_empty, &q->lock);
	int v = q->items[q->head];
	q->head = (q->head + 1) % CAP;
	q->count--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return v;
}

static void *consumer(void *arg)
{
	for (int i = 0; i < 3; i++)
		queue_get(&jobs);
	return arg;	/* the bug: the consumer quits */
}

static void *producer(void *arg)
{
	pthread_setname_np(pthread_self(), "producer");
	for (int i = 0;; i++)
		queue_put(&jobs, i);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		producers = atoi(argv[1]);
	pthread_t c, p;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&c, NULL, consumer, NULL);
	for (int i = 0; i < producers; i++)
		if (pthread_create(&p, &attr, producer, NULL) != 0)
			return 1;
	pthread_join(c, NULL);
	ready_wait_and_announce(producers);
	pause();
	return 0;
}
