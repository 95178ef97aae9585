/* The main thread sits in vfork() until its child exits (it never does on its own): a
 * thread that cannot be stopped by ptrace until then. Another thread sleeps normally. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "ready.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *sleeper(void *arg)
{
	pthread_mutex_lock(&mu);
	ready_arrive();
	for (;;)
		pthread_cond_wait(&never, &mu);
	return arg;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, sleeper, NULL);
	ready_wait_and_announce(1);
	pid_t c = vfork();
	if (c == 0) {
		/* only async-signal-safe calls in a vfork child: pause() until killed */
		for (;;)
			pause();
	}
	return 0;
}
