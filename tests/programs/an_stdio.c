/* A logger holds a stdio FILE's lock while blocked writing to a pipe nobody reads; ten
 * threads block in fprintf behind it. The FILE lock is glibc-internal (_IO_lock_t), and
 * it names its holder only by struct pthread pointer. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ready.h"

#define CLIENTS 10

static FILE *log_file;

__attribute__((noinline)) static void flush_batch(void)
{
	static char batch[1 << 20];
	memset(batch, 'x', sizeof(batch));
	flockfile(log_file);	/* held before anyone else may log, so they all queue */
	ready_arrive();
	fwrite(batch, 1, sizeof(batch), log_file);	/* fills the pipe, blocks holding the lock */
	fflush(log_file);
	funlockfile(log_file);
}

static void *logger(void *arg)
{
	pthread_setname_np(pthread_self(), "logger");
	flush_batch();
	return arg;
}

__attribute__((noinline)) static void log_line(int i)
{
	ready_arrive();
	fprintf(log_file, "client %d\n", i);
	__asm__ volatile("" ::: "memory");
}

static void *client(void *arg)
{
	pthread_setname_np(pthread_self(), "client");
	log_line((int)(long)arg);
	return arg;
}

int main(void)
{
	int p[2];
	if (pipe(p) != 0)
		return 1;
	log_file = fdopen(p[1], "w");
	pthread_t l, c[CLIENTS];
	pthread_create(&l, NULL, logger, NULL);
	pthread_mutex_lock(&ready_mu);
	while (ready_count < 1)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&c[i], NULL, client, (void *)(long)i);
	ready_wait_and_announce(CLIENTS + 1);
	pause();
	return 0;
}
