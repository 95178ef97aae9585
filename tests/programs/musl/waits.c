/* One thread blocked in each of musl's waits (argv[1] "healthy": none of them blocks, and
 * every thread sleeps in nanosleep instead). A holder takes the locks first and sleeps;
 * then each waiter blocks on one object:
 *   w-normal      pthread_mutex_timedlock on a normal mutex (lock word EBUSY, no owner)
 *   w-recursive   pthread_mutex_lock on a recursive mutex the holder took twice
 *   w-errcheck    pthread_mutex_lock on an error-checking mutex
 *   w-cond        pthread_cond_wait that nobody signals
 *   w-rdlock      pthread_rwlock_rdlock on a write-locked rwlock
 *   w-wrlock      pthread_rwlock_wrlock on a read-locked rwlock
 *   w-barrier     pthread_barrier_wait on a barrier for 3 threads (w-barrier2 the other)
 *   w-sem         sem_wait on a semaphore of value 0
 *   w-join        pthread_join of the holder, which never ends */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../ready.h"

pthread_mutex_t m_normal = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t m_recursive, m_errcheck;
pthread_mutex_t cv_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
pthread_rwlock_t rw_written = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t rw_read = PTHREAD_RWLOCK_INITIALIZER;
pthread_barrier_t barrier;
sem_t sem;
static pthread_t holder_thread;
static pthread_barrier_t holder_ready;
static int healthy;

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&m_normal);
	pthread_mutex_lock(&m_recursive);
	pthread_mutex_lock(&m_recursive);
	pthread_mutex_lock(&m_errcheck);
	pthread_rwlock_wrlock(&rw_written);
	pthread_rwlock_rdlock(&rw_read);
	pthread_barrier_wait(&holder_ready);
	for (;;)
		pause();
	return arg;
}

static void nap(void)
{
	struct timespec ts = { 3600, 0 };
	for (;;)
		nanosleep(&ts, NULL);
}

#define WAITER(fn, name, body) \
	static void *fn(void *arg) \
	{ \
		pthread_setname_np(pthread_self(), name); \
		ready_arrive(); \
		if (healthy) \
			nap(); \
		body; \
		return arg; \
	}

WAITER(w_normal, "w-normal", {
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += 3600;
	pthread_mutex_timedlock(&m_normal, &at);
})
WAITER(w_recursive, "w-recursive", pthread_mutex_lock(&m_recursive))
WAITER(w_errcheck, "w-errcheck", pthread_mutex_lock(&m_errcheck))
WAITER(w_cond, "w-cond", {
	pthread_mutex_lock(&cv_mutex);
	for (;;)
		pthread_cond_wait(&cv, &cv_mutex);
})
WAITER(w_rdlock, "w-rdlock", pthread_rwlock_rdlock(&rw_written))
WAITER(w_wrlock, "w-wrlock", pthread_rwlock_wrlock(&rw_read))
WAITER(w_barrier, "w-barrier", pthread_barrier_wait(&barrier))
WAITER(w_barrier2, "w-barrier2", pthread_barrier_wait(&barrier))
WAITER(w_sem, "w-sem", sem_wait(&sem))
WAITER(w_join, "w-join", pthread_join(holder_thread, NULL))

int main(int argc, char **argv)
{
	healthy = argc > 1 && strcmp(argv[1], "healthy") == 0;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m_recursive, &ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m_errcheck, &ma);
	pthread_barrier_init(&barrier, NULL, 3);
	pthread_barrier_init(&holder_ready, NULL, 2);
	sem_init(&sem, 0, 0);
	if (!healthy) {
		pthread_create(&holder_thread, NULL, holder, NULL);
		pthread_barrier_wait(&holder_ready);
	} else {
		pthread_create(&holder_thread, NULL, (void *(*)(void *))nap, NULL);
	}
	void *(*const fns[])(void *) = { w_normal, w_recursive, w_errcheck, w_cond, w_rdlock, w_wrlock,
					 w_barrier, w_barrier2, w_sem, w_join };
	int n = (int)(sizeof(fns) / sizeof(*fns));
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, fns[i], NULL);
	}
	ready_wait_and_announce(n);
	nap();
	return 0;
}
