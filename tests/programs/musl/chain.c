/* A blocking chain through locks that may record no owner: "holder" takes db_lock and then
 * sleeps in read() on a pipe nobody writes; "filler" takes cache_lock and then waits for
 * db_lock; four "reader"s wait for cache_lock. With musl's normal mutexes no owner is
 * recorded, so each holder is inferred; built with glibc the same chain is proven.
 * "moving" (argv[1]): the same threads contend briefly and move on: no finding is due. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../ready.h"

pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t db_taken, cache_taken;
static int never[2];
static int moving;

static void brief(void)
{
	struct timespec ts = { 0, 200 * 1000 };
	nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void slow_query(void)
{
	char c;
	pthread_mutex_lock(&db_lock);
	sem_post(&db_taken);
	ready_arrive();
	if (read(never[0], &c, 1) < 0)	/* nobody ever writes */
		perror("read");
	pthread_mutex_unlock(&db_lock);
}

__attribute__((noinline)) static void fill_cache(void)
{
	pthread_mutex_lock(&cache_lock);
	sem_post(&cache_taken);
	sem_post(&cache_taken);
	sem_post(&cache_taken);
	sem_post(&cache_taken);
	ready_arrive();
	pthread_mutex_lock(&db_lock);
	__asm__ volatile("" ::: "memory");
	pthread_mutex_unlock(&db_lock);
	pthread_mutex_unlock(&cache_lock);
}

__attribute__((noinline)) static void read_cache(void)
{
	ready_arrive();
	pthread_mutex_lock(&cache_lock);
	__asm__ volatile("" ::: "memory");
	pthread_mutex_unlock(&cache_lock);
}

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	if (!moving) {
		slow_query();
		return arg;
	}
	ready_arrive();
	for (;;) {
		pthread_mutex_lock(&db_lock);
		brief();
		pthread_mutex_unlock(&db_lock);
		brief();
	}
}

static void *filler(void *arg)
{
	pthread_setname_np(pthread_self(), "filler");
	if (!moving) {
		sem_wait(&db_taken);
		fill_cache();
		return arg;
	}
	ready_arrive();
	for (;;) {
		pthread_mutex_lock(&cache_lock);
		pthread_mutex_lock(&db_lock);
		brief();
		pthread_mutex_unlock(&db_lock);
		pthread_mutex_unlock(&cache_lock);
		brief();
	}
}

static void *reader(void *arg)
{
	pthread_setname_np(pthread_self(), "reader");
	if (!moving) {
		sem_wait(&cache_taken);
		read_cache();
		return arg;
	}
	ready_arrive();
	for (;;) {
		pthread_mutex_lock(&cache_lock);
		brief();
		pthread_mutex_unlock(&cache_lock);
		brief();
	}
}

int main(int argc, char **argv)
{
	moving = argc > 1 && strcmp(argv[1], "moving") == 0;
	if (pipe(never) != 0)
		return 1;
	sem_init(&db_taken, 0, 0);
	sem_init(&cache_taken, 0, 0);
	pthread_t t[6];
	pthread_create(&t[0], NULL, holder, NULL);
	pthread_create(&t[1], NULL, filler, NULL);
	for (int i = 2; i < 6; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	ready_wait_and_announce(6);
	pause();
	return 0;
}
