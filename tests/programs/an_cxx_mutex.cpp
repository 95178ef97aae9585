// A std::mutex AB-BA in C++: std::thread, std::lock_guard, member mutexes of a global.
#include <pthread.h>
#include <mutex>
#include <thread>
#include <unistd.h>
#include "ready.h"

struct Account {
	std::mutex mu;
	long balance = 100;
};

Account alice, bob;
static pthread_barrier_t both_hold;

namespace bank {
__attribute__((noinline)) void transfer(Account &from, Account &to, long amount)
{
	std::lock_guard<std::mutex> first(from.mu);
	pthread_barrier_wait(&both_hold);
	ready_arrive();
	std::lock_guard<std::mutex> second(to.mu);
	from.balance -= amount;
	to.balance += amount;
}
}

int main()
{
	pthread_barrier_init(&both_hold, nullptr, 2);
	std::thread t1([] { pthread_setname_np(pthread_self(), "pay-bob"); bank::transfer(alice, bob, 10); });
	std::thread t2([] { pthread_setname_np(pthread_self(), "pay-alice"); bank::transfer(bob, alice, 20); });
	ready_wait_and_announce(2);
	t1.join();
	t2.join();
	return 0;
}
