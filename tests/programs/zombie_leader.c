/* The main thread exits with pthread_exit while the others keep running: the thread-group
 * leader stays a zombie task that can never stop, and a worker waits forever. */
#include <pthread.h>
#include <stdio.h>
#include "ready.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *worker(void *a)
{
	pthread_mutex_lock(&mu);
	ready_arrive();
	for (;;)
		pthread_cond_wait(&never, &mu);
	return a;
}

int main(void)
{
	pthread_t t;
	for (int i = 0; i < 2; i++)
		pthread_create(&t, NULL, worker, NULL);
	ready_wait_and_announce(2);
	pthread_exit(NULL);
}
