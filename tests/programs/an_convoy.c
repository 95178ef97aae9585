/* A convoy: "holder" takes db_lock and then blocks in read() on a pipe nobody writes to;
 * fifty threads queue on db_lock behind it, and main joins the holder. A blocking chain
 * with one root, and no deadlock. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "ready.h"

#define WAITERS 50

pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static int reply_pipe[2];

__attribute__((noinline)) static void wait_for_reply(void)
{
	char c;
	ready_arrive();
	if (read(reply_pipe[0], &c, 1) < 0)
		perror("read");
	__asm__ volatile("" ::: "memory");
}

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&db_lock);
	wait_for_reply();
	pthread_mutex_unlock(&db_lock);
	return arg;
}

__attribute__((noinline)) static void query_db(void)
{
	ready_arrive();
	pthread_mutex_lock(&db_lock);
	__asm__ volatile("" ::: "memory");
	pthread_mutex_unlock(&db_lock);
}

static void *client(void *arg)
{
	pthread_setname_np(pthread_self(), "client");
	query_db();
	return arg;
}

int main(void)
{
	pthread_t h, c[WAITERS];
	if (pipe(reply_pipe) != 0)
		return 1;
	pthread_create(&h, NULL, holder, NULL);
	pthread_mutex_lock(&ready_mu);
	while (ready_count < 1)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&c[i], NULL, client, NULL);
	ready_wait_and_announce(WAITERS + 1);
	pthread_join(h, NULL);
	return 0;
}
