/* 2,000 threads: a worker pool idling on its condvar, an epoll event loop, and among them
 * one AB-BA cycle. chang must find the one cycle and call the rest idle. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include "ready.h"

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t has_work;
	int pending;
};

struct pool pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t journal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static int nthreads = 2000;

__attribute__((noinline)) static int wait_for_job(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	ready_arrive();
	while (p->pending == 0)
		pthread_cond_wait(&p->has_work, &p->lock);
	p->pending--;
	pthread_mutex_unlock(&p->lock);
	return 1;
}

static void *worker(void *arg)
{
	for (;;)
		wait_for_job(&pool);
	return arg;
}

static void *event_loop(void *arg)
{
	pthread_setname_np(pthread_self(), "event-loop");
	int ep = epoll_create1(0);
	struct epoll_event ev[8];
	ready_arrive();
	for (;;)
		epoll_wait(ep, ev, 8, -1);
	return arg;
}

__attribute__((noinline)) static void flush_cache(void)
{
	pthread_mutex_lock(&cache_lock);
	pthread_barrier_wait(&both_hold);
	ready_arrive();
	pthread_mutex_lock(&journal_lock);
	__asm__ volatile("" ::: "memory");	/* no tail call: keep this frame */
}

__attribute__((noinline)) static void write_journal(void)
{
	pthread_mutex_lock(&journal_lock);
	pthread_barrier_wait(&both_hold);
	ready_arrive();
	pthread_mutex_lock(&cache_lock);
	__asm__ volatile("" ::: "memory");
}

static void *flusher(void *arg)
{
	pthread_setname_np(pthread_self(), "flusher");
	flush_cache();
	return arg;
}

static void *journaler(void *arg)
{
	pthread_setname_np(pthread_self(), "journaler");
	write_journal();
	return arg;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	int workers = nthreads - 4;	/* main, the loop and the two in the cycle */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_barrier_init(&both_hold, NULL, 2);
	pthread_t t;
	for (int i = 0; i < workers / 2; i++)
		if (pthread_create(&t, &attr, worker, NULL) != 0)
			return 1;
	pthread_create(&t, &attr, flusher, NULL);
	pthread_create(&t, &attr, event_loop, NULL);
	pthread_create(&t, &attr, journaler, NULL);
	for (int i = workers / 2; i < workers; i++)
		if (pthread_create(&t, &attr, worker, NULL) != 0)
			return 1;
	ready_wait_and_announce(workers + 3);
	pause();
	return 0;
}
