/* One thread per timed wait that the kernel restarts after a ptrace stop, each on an object
 * a test can name: a timed condvar wait, pthread_mutex_timedlock on a mutex main holds, poll
 * and ppoll on a pipe nobody writes, nanosleep, clock_nanosleep, select and pselect6 on that
 * pipe, and epoll_wait in a retry loop (it returns EINTR after a stop and is called again).
 * Every timeout is an hour: each thread stays in its wait for the whole test.
 * Prints "OBJ name 0x..." for the objects, then READY. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#include "ready.h"

pthread_mutex_t timed_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t timed_cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2];
static int epfd;

#define HOUR 3600

static struct timespec in_an_hour(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += HOUR;
	return ts;
}

static void *cond_waiter(void *a)
{
	pthread_mutex_lock(&cond_mu);
	ready_arrive();
	struct timespec ts = in_an_hour(CLOCK_REALTIME);
	while (pthread_cond_timedwait(&timed_cv, &cond_mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&cond_mu);
	return a;
}

static void *mutex_waiter(void *a)
{
	ready_arrive();
	struct timespec ts = in_an_hour(CLOCK_REALTIME);
	while (pthread_mutex_timedlock(&timed_mu, &ts) != 0)
		;
	return a;
}

static void *poller(void *a)
{
	ready_arrive();
	struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
	for (;;)
		poll(&p, 1, HOUR * 1000);
	return a;
}

static void *ppoller(void *a)
{
	ready_arrive();
	struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
	struct timespec ts = { HOUR, 0 };
	for (;;)
		ppoll(&p, 1, &ts, NULL);
	return a;
}

static void *sleeper(void *a)
{
	ready_arrive();
	for (;;) {
		struct timespec ts = { HOUR, 0 };
		nanosleep(&ts, NULL);
	}
	return a;
}

static void *clock_sleeper(void *a)
{
	ready_arrive();
	for (;;) {
		struct timespec ts = { HOUR, 0 };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	}
	return a;
}

static void *selecter(void *a)
{
	ready_arrive();
	for (;;) {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(pipefd[0], &r);
		struct timeval tv = { HOUR, 0 };
		select(pipefd[0] + 1, &r, NULL, NULL, &tv);
	}
	return a;
}

static void *pselecter(void *a)
{
	ready_arrive();
	for (;;) {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(pipefd[0], &r);
		struct timespec ts = { HOUR, 0 };
		pselect(pipefd[0] + 1, &r, NULL, NULL, &ts, NULL);
	}
	return a;
}

static void *epoller(void *a)
{
	ready_arrive();
	struct epoll_event ev;
	for (;;)
		if (epoll_wait(epfd, &ev, 1, HOUR * 1000) < 0 && errno != EINTR)
			abort();
	return a;
}

int main(void)
{
	if (pipe(pipefd) != 0)
		return 1;
	epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = pipefd[0] };
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev) != 0)
		return 1;
	pthread_mutex_lock(&timed_mu);
	void *(*fns[])(void *) = { cond_waiter, mutex_waiter, poller, ppoller, sleeper, clock_sleeper,
				   selecter, pselecter, epoller };
	const char *names[] = { "cond", "mutex", "poll", "ppoll", "nanosleep", "clocksleep",
				"select", "pselect", "epoll" };
	int n = (int)(sizeof(fns) / sizeof(*fns));
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, fns[i], NULL);
		pthread_setname_np(t, names[i]);
	}
	printf("OBJ timed_mu %p\nOBJ timed_cv %p\nOBJ pipe %d\nOBJ epoll %d\n", (void *)&timed_mu,
	       (void *)&timed_cv, pipefd[0], epfd);
	ready_wait_and_announce(n);
	for (;;)
		pause();
}
