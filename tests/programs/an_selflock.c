/* A thread locks a normal (non-recursive) mutex it already holds, and two more threads
 * wait behind it. glibc neither detects nor reports this: the thread sleeps forever. */
#include <pthread.h>
#include <stdio.h>
#include "ready.h"

pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void reload_config(void)
{
	pthread_mutex_lock(&config_lock);
	__asm__ volatile("" ::: "memory");
	pthread_mutex_unlock(&config_lock);
}

__attribute__((noinline)) static void apply_settings(void)
{
	pthread_mutex_lock(&config_lock);
	ready_arrive();
	reload_config();	/* locks config_lock again */
	pthread_mutex_unlock(&config_lock);
}

static void *relocker(void *arg)
{
	pthread_setname_np(pthread_self(), "relocker");
	apply_settings();
	return arg;
}

static void *reader(void *arg)
{
	pthread_setname_np(pthread_self(), "reader");
	ready_arrive();
	reload_config();
	return arg;
}

int main(void)
{
	pthread_t r, w[2];
	pthread_create(&r, NULL, relocker, NULL);
	pthread_mutex_lock(&ready_mu);
	while (ready_count < 1)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, reader, NULL);
	ready_wait_and_announce(3);
	pause();
	return 0;
}
