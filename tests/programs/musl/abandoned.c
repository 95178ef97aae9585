/* A thread takes an error-checking mutex and exits without unlocking it; another thread then
 * waits for it forever. musl's lock word still holds the dead thread's TID: an abandoned
 * lock. */
#include <pthread.h>
#include <stdio.h>
#include "../ready.h"

pthread_mutex_t orphan_lock;

static void *take_and_leave(void *arg)
{
	pthread_mutex_lock(&orphan_lock);
	return arg;
}

static void *waiter(void *arg)
{
	pthread_setname_np(pthread_self(), "waiter");
	ready_arrive();
	pthread_mutex_lock(&orphan_lock);
	return arg;
}

int main(void)
{
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&orphan_lock, &ma);
	pthread_t gone, w;
	pthread_create(&gone, NULL, take_and_leave, NULL);
	pthread_join(gone, NULL);
	pthread_create(&w, NULL, waiter, NULL);
	ready_wait_and_announce(1);
	pthread_join(w, NULL);
	return 0;
}
