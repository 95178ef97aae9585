/* Counts real-time signals (each one is queued, none may be lost) while worker threads
 * sleep on a condvar; SIGUSR1 asks it to print "COUNT n". */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include "ready.h"

static volatile sig_atomic_t rt_count, report_asked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void on_rt(int sig) { (void)sig; rt_count++; }
static void on_usr1(int sig) { (void)sig; report_asked = 1; }

static void *worker(void *arg)
{
	pthread_mutex_lock(&mu);
	ready_arrive();
	for (;;)
		pthread_cond_wait(&never, &mu);
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGRTMIN + 1);
	sigaddset(&mask, SIGUSR1);
	/* workers inherit the blocked mask: every signal is handled by main */
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	struct sigaction sa = { .sa_handler = on_rt };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, worker, NULL);
	}
	ready_wait_and_announce(n);
	sigset_t empty;
	sigemptyset(&empty);
	for (;;) {
		sigsuspend(&empty);
		if (report_asked) {
			report_asked = 0;
			printf("COUNT %d\n", (int)rt_count);
			fflush(stdout);
		}
	}
}
