/* A SIGHUP handler that logs: it re-enters log_line, whose mutex the interrupted code holds,
 * and deadlocks on itself. The main thread takes log_lock in log_line, raises SIGHUP there
 * (as a hang-up arriving at that moment would), and the handler blocks on log_lock. With
 * "other" as argument, a thread "holder" keeps log_lock and the main thread's handler blocks
 * on it: a handler blocked in pthread_mutex_lock, which it must not call. Prints
 * "READY <pid>" from the "announcer" thread once the main thread is inside its handler. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ready.h"

pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t in_handler;

__attribute__((noinline)) static void log_line(const char *msg, int hup)
{
	pthread_mutex_lock(&log_lock);
	if (hup)
		raise(SIGHUP);	/* the signal lands while log_lock is held */
	fprintf(stderr, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

static void on_hup(int sig, siginfo_t *info, void *uc)
{
	in_handler = 1;
	log_line("reloading configuration", 0);
	(void)sig, (void)info, (void)uc;
}

static void *announcer(void *arg)
{
	pthread_setname_np(pthread_self(), "announcer");
	while (!in_handler)
		usleep(1000);
	ready_arrive();
	ready_wait_and_announce(1);
	pause();
	return arg;
}

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&log_lock);
	ready_arrive();
	pause();
	return arg;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_hup, .sa_flags = SA_SIGINFO };
	sigaction(SIGHUP, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, announcer, NULL);
	if (argc > 1 && strcmp(argv[1], "other") == 0) {
		pthread_t h;
		pthread_create(&h, NULL, holder, NULL);
		pthread_mutex_lock(&ready_mu);
		while (ready_count < 1)
			pthread_cond_wait(&ready_cv, &ready_mu);
		ready_count = 0;
		pthread_mutex_unlock(&ready_mu);
		raise(SIGHUP);
	} else {
		log_line("serving", 1);
	}
	pthread_join(t, NULL);
	return 0;
}
