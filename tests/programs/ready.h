/* The ready handshake of every test program: once each of its threads has reached the
 * point where it blocks, the program writes "READY <pid>" on stdout. The test harness
 * waits for that line (never a fixed sleep), then for the threads to sit in the kernel. */
#ifndef READY_H
#define READY_H
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready_count;

/* Called by a thread just before it blocks. */
static inline void ready_arrive(void)
{
	pthread_mutex_lock(&ready_mu);
	ready_count++;
	pthread_cond_broadcast(&ready_cv);
	pthread_mutex_unlock(&ready_mu);
}

/* Called by main: wait for n arrivals, then announce readiness. */
static inline void ready_wait_and_announce(int n)
{
	pthread_mutex_lock(&ready_mu);
	while (ready_count < n)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
}
#endif
