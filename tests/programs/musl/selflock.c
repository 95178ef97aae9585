/* A thread locks a robust mutex it already holds: musl's robust mutexes record their
 * owner's TID, so the thread is seen waiting for itself (a self-deadlock, proven). A
 * second thread does the same on a normal mutex, whose lock word records no owner. */
#include <pthread.h>
#include <stdio.h>
#include "../ready.h"

pthread_mutex_t robust_lock, plain_lock = PTHREAD_MUTEX_INITIALIZER;

static void *again(void *arg)
{
	pthread_mutex_t *m = arg;
	pthread_setname_np(pthread_self(), m == &robust_lock ? "self-robust" : "self-plain");
	pthread_mutex_lock(m);
	ready_arrive();
	pthread_mutex_lock(m);
	return arg;
}

int main(void)
{
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust_lock, &ma);
	pthread_t a, b;
	pthread_create(&a, NULL, again, &robust_lock);
	pthread_create(&b, NULL, again, &plain_lock);
	ready_wait_and_announce(2);
	pthread_join(a, NULL);
	return 0;
}
