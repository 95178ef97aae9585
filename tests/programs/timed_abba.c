/* An AB-BA deadlock through pthread_mutex_timedlock with an hour's timeout, as services
 * that never wait forever are written: each look after the first finds both waits
 * restarted (restart_syscall), and the cycle must still be found from the owners. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include "ready.h"

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void timed_lock(pthread_mutex_t *m)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3600;
	while (pthread_mutex_timedlock(m, &ts) == ETIMEDOUT)
		;
}

static void *take(void *arg)
{
	pthread_mutex_t **order = arg;
	timed_lock(order[0]);
	pthread_barrier_wait(&both);
	ready_arrive();
	timed_lock(order[1]);
	return NULL;
}

int main(void)
{
	static pthread_mutex_t *ab[] = { &lock_a, &lock_b }, *ba[] = { &lock_b, &lock_a };
	pthread_barrier_init(&both, NULL, 2);
	pthread_t t1, t2;
	pthread_create(&t1, NULL, take, ab);
	pthread_create(&t2, NULL, take, ba);
	pthread_setname_np(t1, "ab");
	pthread_setname_np(t2, "ba");
	ready_wait_and_announce(2);
	pthread_join(t1, NULL);
	return 0;
}
