/* AB-BA between two pthread spinlocks: "ab" holds spin_a and spins on spin_b, "ba" holds
 * spin_b and spins on spin_a; both run forever (state R), in pthread_spin_lock. With
 * "healthy" as argument, "ab" and "ba" take spin_a briefly, over and over: contention that
 * moves. Prints "READY <pid>" once both threads are about to spin (or have run a while). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "ready.h"

pthread_spinlock_t spin_a, spin_b;
static pthread_barrier_t both_hold;
static volatile unsigned long counter;

__attribute__((noinline)) static void take_second(pthread_spinlock_t *l)
{
	ready_arrive();
	pthread_spin_lock(l);
	__asm__ volatile("" ::: "memory");
}

static void *ab(void *arg)
{
	pthread_setname_np(pthread_self(), "ab");
	pthread_spin_lock(&spin_a);
	pthread_barrier_wait(&both_hold);
	take_second(&spin_b);
	return arg;
}

static void *ba(void *arg)
{
	pthread_setname_np(pthread_self(), "ba");
	pthread_spin_lock(&spin_b);
	pthread_barrier_wait(&both_hold);
	take_second(&spin_a);
	return arg;
}

static void *brief(void *arg)
{
	pthread_setname_np(pthread_self(), (const char *)arg);
	for (unsigned long n = 0;; n++) {
		pthread_spin_lock(&spin_a);
		counter++;
		pthread_spin_unlock(&spin_a);
		if (n == 100000)
			ready_arrive();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	pthread_spin_init(&spin_a, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&spin_b, PTHREAD_PROCESS_PRIVATE);
	pthread_barrier_init(&both_hold, NULL, 2);
	if (argc > 1 && strcmp(argv[1], "healthy") == 0) {
		pthread_create(&a, NULL, brief, "ab");
		pthread_create(&b, NULL, brief, "ba");
	} else {
		pthread_create(&a, NULL, ab, NULL);
		pthread_create(&b, NULL, ba, NULL);
	}
	ready_wait_and_announce(2);
	pause();
	return 0;
}
