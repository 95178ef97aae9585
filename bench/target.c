/* The benchmark's target: N threads in a realistic mix of waits, plus a heartbeat thread
 * that measures the longest gap between its clock readings, i.e. the pause it saw.
 * Mix: 70% idle pool on a condvar, 10% mutex convoy behind a sleeping holder, 10% pipe
 * readers, the rest sleepers, and one AB-BA pair. SIGUSR2 prints "GAP <max us>" and resets. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t convoy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t ab_barrier;
static int pipefd[2];
static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready;
static volatile sig_atomic_t gap_asked;

static void arrive(void)
{
	pthread_mutex_lock(&ready_mu);
	ready++;
	pthread_cond_signal(&ready_cv);
	pthread_mutex_unlock(&ready_mu);
}

__attribute__((noinline)) static void pool_wait(void)
{
	pthread_mutex_lock(&pool_mu);
	arrive();
	for (;;)
		pthread_cond_wait(&pool_cv, &pool_mu);
}

static void *pool_worker(void *a) { pool_wait(); return a; }

__attribute__((noinline)) static void convoy_enter(void)
{
	arrive();
	pthread_mutex_lock(&convoy_mu);
	pthread_mutex_unlock(&convoy_mu);
}

static void *convoy_worker(void *a) { convoy_enter(); return a; }

static void *convoy_holder(void *a)
{
	pthread_mutex_lock(&convoy_mu);
	arrive();
	for (;;)
		pause();
	return a;
}

__attribute__((noinline)) static void read_reply(void)
{
	char c;
	arrive();
	while (read(pipefd[0], &c, 1) != 0)
		;
}

static void *pipe_reader(void *a) { read_reply(); return a; }

__attribute__((noinline)) static void nap(void)
{
	arrive();
	for (;;)
		sleep(3600);
}

static void *sleeper(void *a) { nap(); return a; }

static void *ab(void *a)
{
	pthread_mutex_lock(a ? &lock_a : &lock_b);
	pthread_barrier_wait(&ab_barrier);
	arrive();
	pthread_mutex_lock(a ? &lock_b : &lock_a);
	return a;
}

static void on_usr2(int s) { (void)s; gap_asked = 1; }

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	if (pipe(pipefd) != 0)
		return 1;
	pthread_barrier_init(&ab_barrier, NULL, 2);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 * 1024);
	int started = 0;
	int npool = n * 70 / 100, nconvoy = n / 10, npipe = n / 10;
	struct { void *(*fn)(void *); int count; } kinds[] = {
		{ pool_worker, npool }, { convoy_worker, nconvoy }, { pipe_reader, npipe },
		{ sleeper, n - npool - nconvoy - npipe - 3 },
	};
	pthread_t t;
	pthread_create(&t, &at, convoy_holder, NULL);
	/* the holder must own the convoy's lock before any worker queues on it, or a worker
	 * that came first would take it and leave */
	pthread_mutex_lock(&ready_mu);
	while (ready < 1)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	pthread_create(&t, &at, ab, (void *)1);
	pthread_create(&t, &at, ab, NULL);
	started = 3;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++)
		for (int i = 0; i < kinds[k].count; i++) {
			if (pthread_create(&t, &at, kinds[k].fn, NULL) != 0) {
				perror("pthread_create");
				return 1;
			}
			started++;
		}
	pthread_mutex_lock(&ready_mu);
	while (ready < started)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	signal(SIGUSR2, on_usr2);
	printf("READY %d %d\n", (int)getpid(), started + 1);
	fflush(stdout);
	/* heartbeat: the main thread */
	double last = now_us(), maxgap = 0;
	struct timespec tick = { 0, 200000 };
	for (;;) {
		nanosleep(&tick, NULL);
		double t1 = now_us();
		if (t1 - last > maxgap)
			maxgap = t1 - last;
		last = t1;
		if (gap_asked) {
			gap_asked = 0;
			printf("GAP %.0f\n", maxgap);
			fflush(stdout);
			maxgap = 0;
			last = now_us();
		}
	}
}
