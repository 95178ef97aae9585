// An -O2 C++ program whose blocking call sits under inlined functions and namespaces:
// the report must show the inlined frames and demangled names.
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>
#include <unistd.h>
extern "C" {
#include "ready.h"
}

namespace shop {
struct Inventory {
	std::mutex mu;
	std::condition_variable restocked;
	int stock = 0;

	// inlined into reserve(): the wait happens "inside" wait_for_stock
	inline void wait_for_stock(std::unique_lock<std::mutex> &lk)
	{
		restocked.wait(lk, [this] { return stock > 0; });
	}

	__attribute__((noinline)) int reserve(int n)
	{
		std::unique_lock<std::mutex> lk(mu);
		ready_arrive();
		wait_for_stock(lk);
		stock -= n;
		return stock;
	}
};
}  // namespace shop

static shop::Inventory inventory;

__attribute__((noinline)) static void customer(int id)
{
	int left = inventory.reserve(id);
	std::printf("%d\n", left);
}

int main()
{
	std::vector<std::thread> ts;
	for (int i = 1; i <= 3; i++)
		ts.emplace_back(customer, i);
	ready_wait_and_announce(3);
	for (auto &t : ts)
		t.join();
}
