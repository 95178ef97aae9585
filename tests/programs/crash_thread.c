/* A crash in a thread other than the main one, on the test's word: every thread blocks
 * SIGUSR1; the thread "crasher" waits for it with sigwait() and then writes through a null
 * pointer, so the kernel's SIGSEGV (SEGV_MAPERR at address 0) is taken by that thread while
 * the main thread and a worker sleep. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include "ready.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

__attribute__((noinline)) static void write_through_null(volatile int *p)
{
	*p = 1;
	__asm__ volatile("" ::: "memory");
}

static void *crasher(void *arg)
{
	pthread_setname_np(pthread_self(), "crasher");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ready_arrive();
	int sig;
	sigwait(&set, &sig);
	write_through_null((volatile int *)arg);
	return NULL;
}

static void *sleeper(void *arg)
{
	pthread_setname_np(pthread_self(), "sleeper");
	pthread_mutex_lock(&mu);
	ready_arrive();
	for (;;)
		pthread_cond_wait(&never, &mu);
	return arg;
}

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t a, b;
	pthread_create(&a, NULL, crasher, NULL);
	pthread_create(&b, NULL, sleeper, NULL);
	ready_wait_and_announce(2);
	pthread_join(a, NULL);
	return 0;
}
