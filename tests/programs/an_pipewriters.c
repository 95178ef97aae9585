/* Many writers on a full pipe whose reader never reads: the pipe buffer is filled first,
 * then forty threads block in write() on it. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ready.h"

#define WRITERS 40

static int log_pipe[2];

__attribute__((noinline)) static void emit_log(const char *buf, size_t n)
{
	ready_arrive();
	if (write(log_pipe[1], buf, n) < 0)
		perror("write");
	__asm__ volatile("" ::: "memory");
}

static void *writer(void *arg)
{
	char line[512];
	memset(line, 'x', sizeof(line));
	pthread_setname_np(pthread_self(), "logger");
	emit_log(line, sizeof(line));
	return arg;
}

int main(void)
{
	if (pipe(log_pipe) != 0)
		return 1;
	int fl = fcntl(log_pipe[1], F_GETFL);
	fcntl(log_pipe[1], F_SETFL, fl | O_NONBLOCK);
	char buf[4096] = { 0 };
	while (write(log_pipe[1], buf, sizeof(buf)) > 0)
		;
	while (write(log_pipe[1], buf, 1) > 0)
		;
	fcntl(log_pipe[1], F_SETFL, fl);
	printf("PIPE %d %d\n", log_pipe[0], log_pipe[1]);
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, writer, NULL);
	ready_wait_and_announce(WRITERS);
	pause();
	return 0;
}
