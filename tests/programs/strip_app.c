/* The executable of the stripped-frames tests: two threads blocked in libchangstrip.so's
 * lib_wait_outer (a pipe nobody writes), called through static functions of its own,
 * which a stripped executable's .dynsym cannot name. */
#include "ready.h"
#include <pthread.h>
#include <stdlib.h>

int lib_wait_outer(int fd);

static int pipefd[2];

static __attribute__((noinline, noclone)) int app_block(void)
{
	ready_arrive();
	int r = lib_wait_outer(pipefd[0]);
	return r + 1;	/* not a tail call */
}

static __attribute__((noinline, noclone)) void *app_worker(void *arg)
{
	int r = app_block();
	return (void *)(long)(r + (arg != NULL));
}

int main(void)
{
	if (pipe(pipefd) != 0)
		return 1;
	pthread_t t;
	if (pthread_create(&t, NULL, app_worker, NULL) != 0)
		return 1;
	ready_wait_and_announce(1);	/* the worker; then main blocks the same way */
	int r = app_block();
	pthread_join(t, NULL);
	return r == 12345;
}
